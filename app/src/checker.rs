//! Checks a pasted MQTT payload with the shared codec: the same verdict a scale's
//! message gets from the ingest pipeline, computed in the browser as you type, or on
//! the server when the form is submitted before the WASM has loaded.

use wages_codec::{Reading, decode_message};

/// The verdict on one payload.
#[derive(Clone, Debug, PartialEq)]
pub struct PayloadReport {
    /// Readings that would be stored, in order.
    pub readings: Vec<Reading>,
    /// One message per refused line, naming the line and byte.
    pub errors: Vec<String>,
    /// Set when the whole message is refused (too large, too many readings).
    pub refused: Option<String>,
}

/// Decodes `payload` line by line.
pub fn check_payload(payload: &str) -> PayloadReport {
    let mut report = PayloadReport { readings: Vec::new(), errors: Vec::new(), refused: None };
    match decode_message(payload.as_bytes()) {
        Ok(lines) => {
            for line in lines {
                match line {
                    Ok(reading) => report.readings.push(reading),
                    Err(e) => report.errors.push(e.to_string()),
                }
            }
        }
        Err(e) => report.refused = Some(e.to_string()),
    }
    report
}

/// A short example a person can try: two good readings and one with a typo.
pub const EXAMPLE: &str = "client_id=scale-01;session_id=brew-0042;value=18.25;tstamp=1763805600123\n\
{\"client_id\":\"scale-01\",\"session_id\":\"brew-0042\",\"value\":18.9,\"tstamp\":\"2025-11-22T10:00:00.223Z\"}\n\
client_id=scale-01;session_id=brew-0042;value=19,4;tstamp=1763805600323";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_has_two_readings_and_one_error() {
        let report = check_payload(EXAMPLE);
        assert_eq!(report.readings.len(), 2);
        assert_eq!(report.errors, vec![r#"line 3, byte 46: expected a number for value, found "19,4""#.to_owned()]);
        assert_eq!(report.refused, None);
    }

    #[test]
    fn an_oversized_message_is_refused_whole() {
        let big = "x".repeat(wages_codec::MAX_MESSAGE_BYTES + 1);
        assert!(check_payload(&big).refused.is_some());
    }
}
