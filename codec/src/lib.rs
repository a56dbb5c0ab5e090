//! The Wages reading codec: one parser for the device protocol (docs/protocol.md), shared by
//! the server, the browser simulator, the CLI simulator, benchmarks and fuzz targets.
//!
//! # Layout
//!
//! - [`types`]: newtypes that can only be built valid ([`ClientId`], [`SessionId`],
//!   [`Grams`], [`Timestamp`]) and the [`Reading`] they make up.
//! - `measures`: what a reading may carry beside the weight ([`Measures`] of each
//!   [`SeriesKind`]: pressure, flow, temperatures, water).
//! - `message`: [`decode_message`] checks a payload's bounds, then yields one result per line.
//! - `text`, `json`, `time`: the two line forms and RFC 3339 date-times (nom, serde_json).
//! - `encode`: the inverse, for simulators ([`encode_text`], [`encode_json`]).
//! - `protobuf`: the binary form, `proto/readings.proto` ([`decode_protobuf`],
//!   [`encode_protobuf`]), types derived with prost.
//! - [`topic`]: the MQTT topics, built and parsed in one place.
//! - [`clock`]: the wall clock in Unix milliseconds, native or in the browser.
//! - [`error`]: what went wrong, where, in words ([`DecodeError`], [`MessageError`]).
//!
//! # The grammar
//!
//! A reading is four `key=value` fields separated by `;`, in any order, with spaces
//! and tabs allowed around each part and a trailing `;` allowed:
//!
//! ```
//! use wages_codec::decode_line;
//!
//! let r = decode_line(b" session_id = brew-0042 ; client_id=scale-01;tstamp=1763805600123;value=18.25; ").unwrap();
//! assert_eq!(r.client_id.as_str(), "scale-01");
//! assert_eq!(r.session_id.as_str(), "brew-0042");
//! assert_eq!(r.value.get(), 18.25);
//! assert_eq!(r.tstamp.millis(), 1_763_805_600_123);
//! ```
//!
//! `value` is a decimal number of grams in `-10000..=100000`; `tstamp` is Unix
//! milliseconds or an RFC 3339 date-time. Unknown keys are ignored:
//!
//! ```
//! # use wages_codec::decode_line;
//! let r = decode_line(b"client_id=s1;session_id=b1;value=1.5e2;tstamp=2026-11-22T10:00:00.123Z;battery=87").unwrap();
//! assert_eq!((r.value.get(), r.tstamp.millis()), (150.0, 1_795_341_600_123));
//! ```
//!
//! A line starting with `{` is the JSON form, with the same keys and rules:
//!
//! ```
//! # use wages_codec::decode_line;
//! let r = decode_line(br#"{"client_id":"s1","session_id":"b1","value":-0.4,"tstamp":1000}"#).unwrap();
//! assert_eq!(r.value.get(), -0.4);
//! ```
//!
//! Errors name the line, the byte offset within it and what was expected:
//!
//! ```
//! # use wages_codec::decode_line;
//! let err = decode_line(b"client_id=s1;session_id=b1;value=abc;tstamp=1").unwrap_err();
//! assert_eq!(err.to_string(), r#"line 1, byte 33: expected a number for value, found "abc""#);
//! let err = decode_line(b"client_id=s1;value=2;tstamp=1").unwrap_err();
//! assert_eq!(err.to_string(), "line 1, byte 29: missing session_id");
//! let err = decode_line(b"client_id=s1;client_id=s2;session_id=b;value=2;tstamp=1").unwrap_err();
//! assert_eq!(err.to_string(), "line 1, byte 13: client_id given more than once");
//! ```
//!
//! A message carries up to [`MAX_READINGS_PER_MESSAGE`] readings, one per line, and
//! each line is decoded on its own (see [`decode_message`]).

pub mod clock;
mod encode;
pub mod error;
mod firmware;
mod json;
mod measures;
mod message;
mod protobuf;
mod status;
mod text;
mod time;
pub mod topic;
pub mod types;

pub use encode::{encode_json, encode_text};
pub use error::{DecodeError, Field, InvalidValue, MessageError, Problem};
pub use firmware::{BrokenField, FirmwareOffer, MAX_FIRMWARE_URL_LEN, OfferError, decode_offer};
pub use measures::{Measures, SeriesKind};
pub use message::{Lines, MAX_LINE_BYTES, MAX_MESSAGE_BYTES, MAX_READINGS_PER_MESSAGE, decode_line, decode_message};
pub use protobuf::{ProtoReading, ProtoReadings, decode_protobuf, encode_protobuf, protobuf_as_lines};
pub use status::{MAX_FIRMWARE_LEN, Status, StatusError, decode_status};
pub use types::{ClientId, Grams, MAX_ID_LEN, MAX_TSTAMP_MS, Reading, SessionId, Timestamp};
