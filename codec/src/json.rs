//! The JSON form of a reading: `{"client_id":"scale-01","session_id":"brew-0042","value":18.25,"tstamp":1763805600123}`.
//!
//! serde_json does the JSON; the visitors below apply the same rules as the text form
//! (each key once, the measures optional, unknown keys skipped, the same newtypes), borrowing strings from the
//! input so a line allocates nothing unless it fails.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use crate::error::{Field, InvalidValue, Problem};
use crate::measures::{Measures, SeriesKind};
use crate::text::{LineProblem, tstamp as text_tstamp};
use crate::types::{ClientId, Grams, Reading, SessionId, Timestamp};

/// Parses one line that holds a JSON object.
pub(crate) fn parse_line(line: &[u8]) -> Result<Reading, LineProblem<'_>> {
    let mut typed = None;
    let mut de = serde_json::Deserializer::from_slice(line);
    let parsed = ReadingSeed { problem: &mut typed }.deserialize(&mut de).and_then(|r| de.end().map(|()| r));
    parsed.map_err(|e| {
        let at = e.column().saturating_sub(1).min(line.len());
        let problem = typed.unwrap_or_else(|| Problem::Json(without_position(&e)));
        (at, problem, None)
    })
}

/// serde_json's message without its " at line 1 column 5" tail (we report the position).
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

/// Deserializes a reading, leaving the typed problem behind when a rule is broken.
struct ReadingSeed<'p> {
    problem: &'p mut Option<Problem>,
}

impl ReadingSeed<'_> {
    fn fail<E: de::Error>(self, problem: Problem) -> E {
        let err = E::custom(&problem);
        *self.problem = Some(problem);
        err
    }
}

impl<'de> DeserializeSeed<'de> for ReadingSeed<'_> {
    type Value = Reading;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Reading, D::Error> {
        d.deserialize_map(self)
    }
}

enum Key {
    Known(Field),
    Other,
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "client_id" => Key::Known(Field::ClientId),
                    "session_id" => Key::Known(Field::SessionId),
                    "value" => Key::Known(Field::Value),
                    "tstamp" => Key::Known(Field::Tstamp),
                    _ => SeriesKind::parse(v).map_or(Key::Other, |kind| Key::Known(Field::Measure(kind))),
                })
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}

impl<'de> Visitor<'de> for ReadingSeed<'_> {
    type Value = Reading;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object with client_id, session_id, value and tstamp")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Reading, A::Error> {
        let (mut client_id, mut session_id, mut value, mut tstamp) = (None, None, None, None);
        // The measures seen so far (a `null` counts: it is the key given), and their values.
        let (mut measured, mut measures) = ([false; SeriesKind::ALL.len()], Measures::NONE);
        while let Some(key) = map.next_key::<Key>()? {
            let Key::Known(field) = key else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let seen = match field {
                Field::ClientId => client_id.is_some(),
                Field::SessionId => session_id.is_some(),
                Field::Value => value.is_some(),
                Field::Tstamp => tstamp.is_some(),
                Field::Measure(kind) => std::mem::replace(&mut measured[kind as usize], true),
            };
            if seen {
                return Err(self.fail(Problem::Duplicate(field)));
            }
            let checked = match field {
                Field::ClientId => {
                    map.next_value_seed(Id { field, parse: ClientId::parse }).map(|r| r.map(|v| client_id = Some(v)))
                }
                Field::SessionId => {
                    map.next_value_seed(Id { field, parse: SessionId::parse }).map(|r| r.map(|v| session_id = Some(v)))
                }
                Field::Value => map.next_value_seed(Decimal { field, nullable: false }).map(|v| match v {
                    Some(v) => Grams::new(v).map(|g| value = Some(g)).map_err(|why| Problem::Invalid(field, why)),
                    None => Ok(()),
                }),
                Field::Tstamp => map.next_value_seed(Millis).map(|r| r.map(|v| tstamp = Some(v))),
                Field::Measure(kind) => map.next_value_seed(Decimal { field, nullable: true }).map(|v| match v {
                    Some(v) => measures.set(kind, v).map_err(|why| Problem::Invalid(field, why)),
                    None => Ok(()),
                }),
            }?;
            if let Err(problem) = checked {
                return Err(self.fail(problem));
            }
        }
        let missing = [
            (client_id.is_none(), Field::ClientId),
            (session_id.is_none(), Field::SessionId),
            (value.is_none(), Field::Value),
            (tstamp.is_none(), Field::Tstamp),
        ];
        match (client_id, session_id, value, tstamp) {
            (Some(client_id), Some(session_id), Some(value), Some(tstamp)) => {
                Ok(Reading { client_id, session_id, value, tstamp, measures })
            }
            _ => {
                let field = missing.iter().find(|(gone, _)| *gone).map_or(Field::ClientId, |(_, f)| *f);
                Err(self.fail(Problem::Missing(field)))
            }
        }
    }
}

/// A string value checked by an identifier newtype's `parse`.
struct Id<T> {
    field: Field,
    parse: fn(&str) -> Result<T, InvalidValue>,
}

impl<'de, T> DeserializeSeed<'de> for Id<T> {
    type Value = Result<T, Problem>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<T> Visitor<'_> for Id<T> {
    type Value = Result<T, Problem>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string of A-Z a-z 0-9 _ -")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok((self.parse)(v).map_err(|why| Problem::Invalid(self.field, why)))
    }
}

/// `value` or a measure: any JSON number, checked by the caller against the field's
/// range; `null` too where the field may be left out (a measure: not sent).
struct Decimal {
    field: Field,
    nullable: bool,
}

impl<'de> DeserializeSeed<'de> for Decimal {
    type Value = Option<f64>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl Visitor<'_> for Decimal {
    type Value = Option<f64>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or_null = if self.nullable { " or null" } else { "" };
        write!(f, "a number{or_null} for {}", self.field)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    #[allow(clippy::cast_precision_loss)] // numbers past 2^53 are out of every range anyway
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.visit_f64(v as f64)
    }
    #[allow(clippy::cast_precision_loss)]
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.visit_f64(v as f64)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        if self.nullable { Ok(None) } else { Err(E::invalid_type(de::Unexpected::Unit, &self)) }
    }
}

/// `tstamp`: whole milliseconds as a number, or an RFC 3339 string.
struct Millis;

impl<'de> DeserializeSeed<'de> for Millis {
    type Value = Result<Timestamp, Problem>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl Visitor<'_> for Millis {
    type Value = Result<Timestamp, Problem>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("milliseconds or an RFC 3339 date-time for tstamp")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Timestamp::from_millis(v).map_err(|why| Problem::Invalid(Field::Tstamp, why)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Ok(Err(Problem::Invalid(
                Field::Tstamp,
                InvalidValue::OutOfRange { min: "0", max: "253402300799999 (year 9999)" },
            ))),
        }
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Err(Problem::BadTimestamp("whole milliseconds, without a fraction")))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(text_tstamp(v.as_bytes(), 0).map_err(|(_, problem, _)| problem))
    }
}
