//! What can be wrong with a message or a line, in words a device developer can act on.

use std::fmt;

/// The keys of a reading: the four it must have, and the measures it may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    ClientId,
    SessionId,
    Value,
    Tstamp,
    Measure(crate::SeriesKind),
}

impl Field {
    /// The key as it is written in a payload.
    pub fn key(self) -> &'static str {
        match self {
            Field::ClientId => "client_id",
            Field::SessionId => "session_id",
            Field::Value => "value",
            Field::Tstamp => "tstamp",
            Field::Measure(kind) => kind.as_str(),
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Why a value cannot become one of the domain newtypes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidValue {
    Empty,
    TooLong {
        max: usize,
    },
    /// The byte at `pos` is outside `A-Z a-z 0-9 _ -`.
    BadChar {
        pos: usize,
    },
    NotFinite,
    OutOfRange {
        min: &'static str,
        max: &'static str,
    },
}

impl fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidValue::Empty => f.write_str("must not be empty"),
            InvalidValue::TooLong { max } => write!(f, "must be at most {max} characters"),
            InvalidValue::BadChar { .. } => f.write_str("may only contain A-Z a-z 0-9 _ -"),
            InvalidValue::NotFinite => f.write_str("must be a finite number"),
            InvalidValue::OutOfRange { min, max } => write!(f, "must be between {min} and {max}"),
        }
    }
}

impl std::error::Error for InvalidValue {}

/// What is wrong at the position a [`DecodeError`] points to.
#[derive(Clone, Debug, PartialEq)]
pub enum Problem {
    /// The grammar wanted something else here, e.g. "a key" or "'=' after the key".
    Expected(&'static str),
    /// The text of `value` (or of a measure) is not a decimal number.
    NotANumber(Field),
    /// The text of `tstamp` is neither milliseconds nor an RFC 3339 date-time;
    /// the detail says which part of the date-time is wrong.
    BadTimestamp(&'static str),
    /// The field is well-formed but breaks a rule (length, alphabet, range).
    Invalid(Field, InvalidValue),
    Missing(Field),
    Duplicate(Field),
    LineTooLong {
        max: usize,
    },
    /// The JSON form is not well-formed JSON; serde_json's own words.
    Json(String),
}

impl Problem {
    /// A stable, machine-readable name for counting rejections by reason.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::Expected(_) | Problem::NotANumber(_) | Problem::BadTimestamp(_) | Problem::Json(_) => "syntax",
            Problem::Invalid(..) => "invalid_field",
            Problem::Missing(_) => "missing_field",
            Problem::Duplicate(_) => "duplicate_field",
            Problem::LineTooLong { .. } => "line_too_long",
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Expected(what) => write!(f, "expected {what}"),
            Problem::NotANumber(field) => write!(f, "expected a number for {field}"),
            Problem::BadTimestamp("") => f.write_str("expected milliseconds or an RFC 3339 date-time for tstamp"),
            Problem::BadTimestamp(detail) => {
                write!(f, "expected milliseconds or an RFC 3339 date-time for tstamp ({detail})")
            }
            Problem::Invalid(field, why) => write!(f, "{field} {why}"),
            Problem::Missing(field) => write!(f, "missing {field}"),
            Problem::Duplicate(field) => write!(f, "{field} given more than once"),
            Problem::LineTooLong { max } => write!(f, "line longer than {max} bytes"),
            Problem::Json(msg) => write!(f, "invalid JSON: {msg}"),
        }
    }
}

/// A line that could not be decoded.
///
/// Displays as `line 1, byte 46: expected a number for value, found "abc"`. `line`
/// counts from 1; `byte` is the offset from the start of that line, counting from 0.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodeError {
    pub line: u32,
    pub byte: u32,
    pub problem: Problem,
    /// The offending text, cut to 32 bytes; absent where nothing was there.
    pub found: Option<String>,
}

/// How much of the offending text an error quotes.
const FOUND_MAX: usize = 32;

impl DecodeError {
    pub(crate) fn new(line: u32, byte: usize, problem: Problem, found: Option<&[u8]>) -> Self {
        let found = found.map(|text| {
            let cut = &text[..text.len().min(FOUND_MAX)];
            let mut s = String::from_utf8_lossy(cut).into_owned();
            if text.len() > FOUND_MAX {
                s.push('…');
            }
            s
        });
        Self { line, byte: u32::try_from(byte).unwrap_or(u32::MAX), problem, found }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, byte {}: {}", self.line, self.byte, self.problem)?;
        match &self.found {
            Some(found) if found.is_empty() => f.write_str(", found nothing"),
            Some(found) => write!(f, ", found {found:?}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for DecodeError {}

/// A message refused as a whole, before any line is read (bounds before work).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageError {
    TooLarge {
        size: usize,
        max: usize,
    },
    TooManyReadings {
        max: usize,
    },
    /// A payload on the Protobuf topic that is not a `wages.v1.Readings`; prost's words.
    NotProtobuf(String),
}

impl MessageError {
    /// A stable, machine-readable name for counting rejections by reason.
    pub fn code(&self) -> &'static str {
        match self {
            MessageError::TooLarge { .. } => "payload_too_large",
            MessageError::TooManyReadings { .. } => "too_many_readings",
            MessageError::NotProtobuf(_) => "syntax",
        }
    }
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageError::TooLarge { size, max } => {
                write!(f, "payload of {size} bytes is larger than the {max}-byte limit")
            }
            MessageError::TooManyReadings { max } => {
                write!(f, "message carries more than {max} readings")
            }
            MessageError::NotProtobuf(why) => write!(f, "not a wages.v1.Readings Protobuf message: {why}"),
        }
    }
}

impl std::error::Error for MessageError {}
