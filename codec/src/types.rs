//! Domain newtypes that can only be built valid: a value of one of these types has
//! passed every rule of the device protocol (docs/protocol.md), so code holding one never checks again.

use std::fmt;

use arrayvec::ArrayString;

use crate::error::InvalidValue;
use crate::measures::Measures;

/// Longest `client_id` or `session_id`, in bytes (they are ASCII).
pub const MAX_ID_LEN: usize = 64;
/// Lightest weight a scale may report, in grams (tare drift makes small negatives normal).
pub const MIN_GRAMS: f64 = -10_000.0;
/// Heaviest weight a scale may report, in grams.
pub const MAX_GRAMS: f64 = 100_000.0;
/// Latest timestamp accepted: 9999-12-31T23:59:59.999Z, in ms since the Unix epoch.
pub const MAX_TSTAMP_MS: u64 = 253_402_300_799_999;

/// `ID_BYTES[b]` tells whether byte `b` is in the identifier alphabet (a table: this
/// check runs for every byte of every id the pipeline reads).
const ID_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
        b += 1;
    }
    table
};

/// Whether `b` may appear in a `client_id` or `session_id`: `A-Z a-z 0-9 _ -`.
pub fn is_id_byte(b: u8) -> bool {
    ID_BYTES[usize::from(b)]
}

/// Checks an identifier and copies it inline, in one pass over its bytes.
fn check_id(bytes: &[u8]) -> Result<ArrayString<MAX_ID_LEN>, InvalidValue> {
    if bytes.is_empty() {
        return Err(InvalidValue::Empty);
    }
    if bytes.len() > MAX_ID_LEN {
        return Err(InvalidValue::TooLong { max: MAX_ID_LEN });
    }
    if let Some(pos) = bytes.iter().position(|&b| !is_id_byte(b)) {
        return Err(InvalidValue::BadChar { pos });
    }
    #[allow(unsafe_code)]
    // SAFETY: every byte was just checked to be in `A-Z a-z 0-9 _ -`, which is ASCII,
    // so the bytes are valid UTF-8. Skipping the second check is measurable: ids are
    // read twice per reading on the ingest path.
    let text = unsafe { std::str::from_utf8_unchecked(bytes) };
    // The length was checked above, so this cannot fail.
    ArrayString::from(text).map_err(|_| InvalidValue::TooLong { max: MAX_ID_LEN })
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Stored inline (no heap allocation), 1 to 64 bytes of `A-Z a-z 0-9 _ -`.
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(ArrayString<MAX_ID_LEN>);

        impl $name {
            /// Checks `s` against the identifier rules.
            pub fn parse(s: &str) -> Result<Self, InvalidValue> {
                check_id(s.as_bytes()).map(Self)
            }

            /// Checks raw bytes (as they arrive in a payload) against the identifier rules.
            pub fn parse_bytes(bytes: &[u8]) -> Result<Self, InvalidValue> {
                check_id(bytes).map(Self)
            }

            /// Builds an id the caller has already checked, byte by byte, while scanning.
            ///
            /// # Safety
            /// `bytes` must be 1 to 64 bytes, each in `A-Z a-z 0-9 _ -`.
            #[allow(unsafe_code)]
            pub(crate) unsafe fn from_checked(bytes: &[u8]) -> Self {
                debug_assert!(check_id(bytes).is_ok());
                // SAFETY: the alphabet is ASCII, so the bytes are UTF-8 (the caller's promise).
                let text = unsafe { std::str::from_utf8_unchecked(bytes) };
                Self(ArrayString::from(text).unwrap_or_default())
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidValue;
            fn from_str(s: &str) -> Result<Self, InvalidValue> {
                Self::parse(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("1 to 64 characters of A-Z a-z 0-9 _ -")
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        $name::parse(v).map_err(E::custom)
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

id_type!(
    /// A scale's identity, unique in the registry; also the `{client_id}` of its topics.
    ClientId
);
id_type!(
    /// One extraction of one scale, chosen by the device.
    SessionId
);

/// A weight in grams: finite, between [`MIN_GRAMS`] and [`MAX_GRAMS`].
#[derive(Clone, Copy, PartialEq, PartialOrd, serde::Serialize)]
#[serde(transparent)]
pub struct Grams(f64);

impl Grams {
    /// Checks that `g` is finite and within bounds.
    pub fn new(g: f64) -> Result<Self, InvalidValue> {
        if !g.is_finite() {
            return Err(InvalidValue::NotFinite);
        }
        if !(MIN_GRAMS..=MAX_GRAMS).contains(&g) {
            return Err(InvalidValue::OutOfRange { min: "-10000", max: "100000" });
        }
        Ok(Self(g))
    }

    /// The weight as a number of grams.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl fmt::Display for Grams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Rust prints the shortest text that parses back to the same f64.
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Grams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}g", self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Grams {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Grams::new(f64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// When a sample was taken, by the device's clock: milliseconds since the Unix epoch,
/// from 1970 up to the end of year 9999.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Timestamp(u64);

impl Timestamp {
    /// Checks that `ms` is no later than [`MAX_TSTAMP_MS`].
    pub fn from_millis(ms: u64) -> Result<Self, InvalidValue> {
        if ms > MAX_TSTAMP_MS {
            return Err(InvalidValue::OutOfRange { min: "0", max: "253402300799999 (year 9999)" });
        }
        Ok(Self(ms))
    }

    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Timestamp::from_millis(u64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// One weight sample of one extraction, with what the machine measured beside it at the
/// same moment, if anything. Its text form (its `Display`) is the protocol's line, and its
/// JSON form is the API's `{"client_id","session_id","value","tstamp"}`, with a key for
/// each measure it carries.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reading {
    /// The scale that took the sample.
    pub client_id: ClientId,
    /// The extraction it belongs to.
    pub session_id: SessionId,
    /// Weight in the cup.
    pub value: Grams,
    /// When it was taken.
    pub tstamp: Timestamp,
    /// Pressure, flow, temperatures and water at the same moment, those sent.
    #[serde(flatten, default, skip_serializing_if = "Measures::is_empty")]
    pub measures: Measures,
}

impl Reading {
    /// A reading of weight alone.
    pub fn new(client_id: ClientId, session_id: SessionId, value: Grams, tstamp: Timestamp) -> Reading {
        Reading { client_id, session_id, value, tstamp, measures: Measures::NONE }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_the_alphabet_up_to_64_bytes() {
        assert!(ClientId::parse("scale-01_A").is_ok());
        assert!(ClientId::parse(&"a".repeat(64)).is_ok());
        assert_eq!(ClientId::parse(&"a".repeat(65)), Err(InvalidValue::TooLong { max: 64 }));
        assert_eq!(SessionId::parse(""), Err(InvalidValue::Empty));
        assert_eq!(ClientId::parse("scale.01"), Err(InvalidValue::BadChar { pos: 5 }));
        assert_eq!(ClientId::parse("scale 01"), Err(InvalidValue::BadChar { pos: 5 }));
        assert_eq!(ClientId::parse("café"), Err(InvalidValue::BadChar { pos: 3 }));
    }

    #[test]
    fn grams_are_finite_and_bounded() {
        assert!(Grams::new(-10_000.0).is_ok());
        assert!(Grams::new(100_000.0).is_ok());
        assert!(Grams::new(100_000.1).is_err());
        assert!(Grams::new(-10_000.1).is_err());
        assert_eq!(Grams::new(f64::NAN), Err(InvalidValue::NotFinite));
        assert_eq!(Grams::new(f64::INFINITY), Err(InvalidValue::NotFinite));
    }

    #[test]
    fn timestamps_end_with_year_9999() {
        assert!(Timestamp::from_millis(0).is_ok());
        assert!(Timestamp::from_millis(MAX_TSTAMP_MS).is_ok());
        assert!(Timestamp::from_millis(MAX_TSTAMP_MS + 1).is_err());
    }

    #[test]
    fn serde_refuses_invalid_values() {
        let bad = r#"{"client_id":"a.b","session_id":"s","value":1,"tstamp":1}"#;
        assert!(serde_json::from_str::<Reading>(bad).is_err());
        let bad = r#"{"client_id":"a","session_id":"s","value":1e9,"tstamp":1}"#;
        assert!(serde_json::from_str::<Reading>(bad).is_err());
        let good = r#"{"client_id":"a","session_id":"s","value":1.5,"tstamp":1}"#;
        let r: Reading = serde_json::from_str(good).expect("valid reading");
        assert_eq!(serde_json::to_string(&r).expect("serializes"), good);
    }
}
