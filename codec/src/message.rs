//! A whole MQTT message: bounds checked first, then one reading per line.

use crate::error::{DecodeError, MessageError, Problem};
use crate::types::Reading;
use crate::{json, text};

/// Largest payload accepted, in bytes: 1000 readings of a generous 256 bytes each.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1000;
/// Most readings one message may carry (10 Hz for 100 s, or one message a second at 10 Hz with room to spare).
pub const MAX_READINGS_PER_MESSAGE: usize = 1000;
/// Longest line, in bytes, `\r\n` excluded.
pub const MAX_LINE_BYTES: usize = 1024;

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'))
}

/// Checks a message's bounds, then returns its lines to decode one by one.
///
/// Size and reading count are checked before any line is parsed; past either bound
/// the whole message is refused. Blank lines (such as a trailing newline) are skipped.
///
/// ```
/// use wages_codec::decode_message;
///
/// let payload = b"client_id=s1;session_id=b1;value=1.5;tstamp=1000\n\
///                 client_id=s1;session_id=b1;value=oops;tstamp=1100\n";
/// let lines: Vec<_> = decode_message(payload).unwrap().collect();
/// assert_eq!(lines[0].as_ref().unwrap().value.get(), 1.5);
/// assert_eq!(
///     lines[1].as_ref().unwrap_err().to_string(),
///     r#"line 2, byte 33: expected a number for value, found "oops""#
/// );
/// ```
pub fn decode_message(payload: &[u8]) -> Result<Lines<'_>, MessageError> {
    if payload.len() > MAX_MESSAGE_BYTES {
        return Err(MessageError::TooLarge { size: payload.len(), max: MAX_MESSAGE_BYTES });
    }
    // Counting newlines is cheap; only a message near the bound needs its blanks counted.
    let newlines = memchr::memchr_iter(b'\n', payload).count();
    if newlines >= MAX_READINGS_PER_MESSAGE {
        let readings = payload.split(|&b| b == b'\n').filter(|l| !is_blank(l)).count();
        if readings > MAX_READINGS_PER_MESSAGE {
            return Err(MessageError::TooManyReadings { max: MAX_READINGS_PER_MESSAGE });
        }
    }
    Ok(Lines { rest: Some(payload), line: 0 })
}

/// The readings of one message, each decoded on its own: a bad line does not affect
/// the others. Allocates nothing while lines are valid.
#[derive(Clone, Debug)]
pub struct Lines<'a> {
    rest: Option<&'a [u8]>,
    /// Number of the line last returned, from 1.
    line: u32,
}

impl Iterator for Lines<'_> {
    type Item = Result<Reading, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let rest = self.rest?;
            let (line, after) = match memchr::memchr(b'\n', rest) {
                Some(nl) => (&rest[..nl], Some(&rest[nl + 1..])),
                None => (rest, None),
            };
            self.rest = after;
            self.line += 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if is_blank(line) {
                continue;
            }
            return Some(decode_line_numbered(line, self.line));
        }
    }
}

/// Decodes one line, text or JSON (a line whose first non-blank byte is `{`).
///
/// ```
/// use wages_codec::decode_line;
///
/// let r = decode_line(br#"{"client_id":"s1","session_id":"b1","value":18,"tstamp":"2026-11-22T10:00:00Z"}"#).unwrap();
/// assert_eq!(r.tstamp.millis(), 1_795_341_600_000);
/// ```
pub fn decode_line(line: &[u8]) -> Result<Reading, DecodeError> {
    decode_line_numbered(line, 1)
}

#[inline]
fn decode_line_numbered(line: &[u8], n: u32) -> Result<Reading, DecodeError> {
    if line.len() > MAX_LINE_BYTES {
        return Err(DecodeError::new(n, MAX_LINE_BYTES, Problem::LineTooLong { max: MAX_LINE_BYTES }, None));
    }
    let is_json = line.iter().find(|b| !matches!(b, b' ' | b'\t')) == Some(&b'{');
    let parsed = if is_json { json::parse_line(line) } else { text::parse_line(line) };
    parsed.map_err(|p| text::error(n, p))
}
