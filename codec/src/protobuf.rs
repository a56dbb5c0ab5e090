//! The Protobuf form of readings (`proto/readings.proto`, package `wages.v1`): one
//! `Readings` message per MQTT message, on `wages/devices/{client_id}/readings/protobuf`.
//!
//! The same rules as the text form: the message's size and reading count are checked
//! before any reading is decoded (the count by walking the top-level fields, allocating
//! nothing), then each reading is checked on its own, so one bad reading does not cost
//! the others. A reading's [`DecodeError`] gives its position in the message as `line`
//! (from 1) and `byte` 0, and quotes the field's value.
//!
//! ```
//! use wages_codec::{decode_protobuf, encode_protobuf, decode_line};
//!
//! let reading = decode_line(b"client_id=s1;session_id=b1;value=18.25;tstamp=1000").unwrap();
//! let mut bytes = Vec::new();
//! encode_protobuf(&[reading], &mut bytes);
//! assert_eq!(bytes.len(), 22); // the text form of the same reading takes 51
//! let back: Vec<_> = decode_protobuf(&bytes).unwrap().into_iter().collect();
//! assert_eq!(back, vec![Ok(reading)]);
//! ```

use std::fmt::Write as _;

use prost::Message as _;
use prost::bytes::Buf as _;
use prost::encoding::{WireType, decode_key, decode_varint};

use crate::error::{DecodeError, Field, InvalidValue, MessageError, Problem};
use crate::measures::{Measures, SeriesKind};
use crate::message::{MAX_MESSAGE_BYTES, MAX_READINGS_PER_MESSAGE};
use crate::types::{ClientId, Grams, Reading, SessionId, Timestamp};

/// `wages.v1.Reading`, as prost derives it from the schema's fields.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoReading {
    #[prost(string, tag = "1")]
    pub client_id: String,
    #[prost(string, tag = "2")]
    pub session_id: String,
    #[prost(double, optional, tag = "3")]
    pub value: Option<f64>,
    #[prost(uint64, optional, tag = "4")]
    pub tstamp: Option<u64>,
    #[prost(double, optional, tag = "5")]
    pub pressure: Option<f64>,
    #[prost(double, optional, tag = "6")]
    pub flow: Option<f64>,
    #[prost(double, optional, tag = "7")]
    pub water_temperature: Option<f64>,
    #[prost(double, optional, tag = "8")]
    pub basket_temperature: Option<f64>,
    #[prost(double, optional, tag = "9")]
    pub water_dispensed: Option<f64>,
}

impl ProtoReading {
    /// The measures as the message has them, in [`SeriesKind::ALL`]'s order.
    fn measures(&self) -> [(SeriesKind, Option<f64>); 5] {
        [
            (SeriesKind::Pressure, self.pressure),
            (SeriesKind::Flow, self.flow),
            (SeriesKind::WaterTemperature, self.water_temperature),
            (SeriesKind::BasketTemperature, self.basket_temperature),
            (SeriesKind::WaterDispensed, self.water_dispensed),
        ]
    }
}

/// `wages.v1.Readings`: one message's readings.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoReadings {
    #[prost(message, repeated, tag = "1")]
    pub readings: Vec<ProtoReading>,
}

/// Counts the top-level `readings` fields without decoding them; an error if the
/// bytes are not a well-formed message at that level.
fn count_readings(mut bytes: &[u8]) -> Result<usize, MessageError> {
    let not_protobuf = |why: &dyn std::fmt::Display| MessageError::NotProtobuf(why.to_string());
    let mut count = 0;
    while bytes.has_remaining() {
        let (tag, wire_type) = decode_key(&mut bytes).map_err(|e| not_protobuf(&e))?;
        match wire_type {
            WireType::LengthDelimited => {
                let len = usize::try_from(decode_varint(&mut bytes).map_err(|e| not_protobuf(&e))?)
                    .map_err(|_| not_protobuf(&"a field longer than the message"))?;
                if len > bytes.remaining() {
                    return Err(not_protobuf(&"a field runs past the end of the message"));
                }
                bytes.advance(len);
                count += usize::from(tag == 1);
            }
            WireType::Varint => drop(decode_varint(&mut bytes).map_err(|e| not_protobuf(&e))?),
            WireType::SixtyFourBit if bytes.remaining() >= 8 => bytes.advance(8),
            WireType::ThirtyTwoBit if bytes.remaining() >= 4 => bytes.advance(4),
            _ => return Err(not_protobuf(&format_args!("field {tag} has an unexpected wire type"))),
        }
        if tag == 1 && wire_type != WireType::LengthDelimited {
            return Err(not_protobuf(&"readings (field 1) must be messages"));
        }
    }
    Ok(count)
}

/// Decodes a Protobuf payload: the whole message is refused past its bounds or when it
/// is not a `wages.v1.Readings`; otherwise each reading is its own result.
pub fn decode_protobuf(payload: &[u8]) -> Result<Vec<Result<Reading, DecodeError>>, MessageError> {
    if payload.len() > MAX_MESSAGE_BYTES {
        return Err(MessageError::TooLarge { size: payload.len(), max: MAX_MESSAGE_BYTES });
    }
    let count = count_readings(payload)?;
    if count > MAX_READINGS_PER_MESSAGE {
        return Err(MessageError::TooManyReadings { max: MAX_READINGS_PER_MESSAGE });
    }
    let message = ProtoReadings::decode(payload).map_err(|e| MessageError::NotProtobuf(e.to_string()))?;
    Ok(message.readings.iter().zip(1u32..).map(|(reading, n)| checked(reading, n)).collect())
}

fn invalid(n: u32, field: Field, why: InvalidValue, found: &[u8]) -> DecodeError {
    DecodeError::new(n, 0, Problem::Invalid(field, why), Some(found))
}

/// One reading under the same rules as the other forms.
fn checked(reading: &ProtoReading, n: u32) -> Result<Reading, DecodeError> {
    let client_id = ClientId::parse(&reading.client_id)
        .map_err(|why| invalid(n, Field::ClientId, why, reading.client_id.as_bytes()))?;
    let session_id = SessionId::parse(&reading.session_id)
        .map_err(|why| invalid(n, Field::SessionId, why, reading.session_id.as_bytes()))?;
    let value = reading.value.ok_or_else(|| DecodeError::new(n, 0, Problem::Missing(Field::Value), None))?;
    let value = Grams::new(value).map_err(|why| invalid(n, Field::Value, why, value.to_string().as_bytes()))?;
    let tstamp = reading.tstamp.ok_or_else(|| DecodeError::new(n, 0, Problem::Missing(Field::Tstamp), None))?;
    let tstamp =
        Timestamp::from_millis(tstamp).map_err(|why| invalid(n, Field::Tstamp, why, tstamp.to_string().as_bytes()))?;
    let mut measures = Measures::NONE;
    for (kind, v) in reading.measures() {
        if let Some(v) = v {
            measures.set(kind, v).map_err(|why| invalid(n, Field::Measure(kind), why, v.to_string().as_bytes()))?;
        }
    }
    Ok(Reading { client_id, session_id, value, tstamp, measures })
}

/// Each reading of a Protobuf payload written out as a text-form line, whatever its
/// values (missing ones left empty), so a rejected one can be quoted in a dead letter.
/// Empty when the payload is not a `wages.v1.Readings`.
pub fn protobuf_as_lines(payload: &[u8]) -> Vec<String> {
    let shown = |v: Option<String>| v.unwrap_or_default();
    ProtoReadings::decode(payload)
        .map(|message| {
            message
                .readings
                .iter()
                .map(|r| {
                    let mut line = format!(
                        "client_id={};session_id={};value={};tstamp={}",
                        r.client_id,
                        r.session_id,
                        shown(r.value.map(|v| v.to_string())),
                        shown(r.tstamp.map(|t| t.to_string()))
                    );
                    for (kind, v) in r.measures() {
                        if let Some(v) = v {
                            let _ = write!(line, ";{kind}={v}");
                        }
                    }
                    line
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Appends `readings` as one `wages.v1.Readings` message to `out`.
pub fn encode_protobuf(readings: &[Reading], out: &mut Vec<u8>) {
    let message = ProtoReadings {
        readings: readings
            .iter()
            .map(|r| ProtoReading {
                client_id: r.client_id.as_str().to_owned(),
                session_id: r.session_id.as_str().to_owned(),
                value: Some(r.value.get()),
                tstamp: Some(r.tstamp.millis()),
                pressure: r.measures.get(SeriesKind::Pressure),
                flow: r.measures.get(SeriesKind::Flow),
                water_temperature: r.measures.get(SeriesKind::WaterTemperature),
                basket_temperature: r.measures.get(SeriesKind::BasketTemperature),
                water_dispensed: r.measures.get(SeriesKind::WaterDispensed),
            })
            .collect(),
    };
    out.reserve(message.encoded_len());
    // Writing into a Vec cannot run out of room.
    let _ = message.encode(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(id: &str, t: u64, grams: f64) -> ProtoReading {
        ProtoReading {
            client_id: id.into(),
            session_id: "b".into(),
            value: Some(grams),
            tstamp: Some(t),
            ..ProtoReading::default()
        }
    }

    fn bytes(readings: Vec<ProtoReading>) -> Vec<u8> {
        ProtoReadings { readings }.encode_to_vec()
    }

    #[test]
    fn the_schema_file_and_the_derived_types_agree() {
        let schema = include_str!("../proto/readings.proto");
        let fields: Vec<String> = schema
            .lines()
            .map(str::trim)
            .filter(|l| !l.starts_with("//") && !l.starts_with("syntax") && l.ends_with(';') && l.contains(" = "))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(
            fields,
            [
                "string client_id = 1;",
                "string session_id = 2;",
                "optional double value = 3;",
                "optional uint64 tstamp = 4;",
                "optional double pressure = 5;",
                "optional double flow = 6;",
                "optional double water_temperature = 7;",
                "optional double basket_temperature = 8;",
                "optional double water_dispensed = 9;",
                "repeated Reading readings = 1;",
            ]
        );
        assert!(schema.contains("package wages.v1;") && schema.contains("syntax = \"proto3\";"));
        // The derived types encode those fields with those numbers and wire types.
        let encoded = bytes(vec![reading("s", 1, 0.5)]);
        let inner = &encoded[2..];
        assert_eq!(encoded[0], 0x0a, "Readings.readings: field 1, length-delimited");
        assert_eq!(&inner[..3], &[0x0a, 1, b's'], "Reading.client_id: field 1, a string");
        assert_eq!(&inner[3..6], &[0x12, 1, b'b'], "Reading.session_id: field 2, a string");
        assert_eq!(inner[6], 0x19, "Reading.value: field 3, a double");
        assert_eq!(inner[15], 0x20, "Reading.tstamp: field 4, a varint");
    }

    #[test]
    fn each_reading_is_checked_on_its_own() {
        let mut missing = reading("s", 1, 1.0);
        missing.tstamp = None;
        let payload = bytes(vec![reading("s1", 1000, 18.25), reading("s 1", 1, 1.0), reading("s", 2, 1e9), missing]);
        let results = decode_protobuf(&payload).expect("a Readings message");
        assert_eq!(results[0].as_ref().map(|r| r.value.get()), Ok(18.25));
        let errors: Vec<String> = results[1..].iter().map(|r| r.as_ref().expect_err("rejected").to_string()).collect();
        assert_eq!(
            errors,
            [
                r#"line 2, byte 0: client_id may only contain A-Z a-z 0-9 _ -, found "s 1""#,
                r#"line 3, byte 0: value must be between -10000 and 100000, found "1000000000""#,
                "line 4, byte 0: missing tstamp",
            ]
        );
    }

    #[test]
    fn bounds_and_rubbish_refuse_the_whole_message() {
        let many = bytes((0..1001).map(|i| reading("s", i, 1.0)).collect());
        assert_eq!(decode_protobuf(&many), Err(MessageError::TooManyReadings { max: 1000 }));
        let thousand = bytes((0..1000).map(|i| reading("s", i, 1.0)).collect());
        assert_eq!(decode_protobuf(&thousand).map(|r| r.len()), Ok(1000));
        let big = vec![0u8; MAX_MESSAGE_BYTES + 1];
        assert!(matches!(decode_protobuf(&big), Err(MessageError::TooLarge { .. })));
        for rubbish in [&b"client_id=s;session_id=b;value=1;tstamp=1"[..], b"\x0a\xff", b"\x0a\x05ab", b"\x08\x01"] {
            let refused = decode_protobuf(rubbish);
            assert!(matches!(refused, Err(MessageError::NotProtobuf(_))), "{rubbish:?}: {refused:?}");
        }
        assert_eq!(decode_protobuf(b""), Ok(Vec::new()), "an empty message holds no readings");
    }
}
