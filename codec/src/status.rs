//! The status message a scale publishes on `wages/devices/{client_id}/status` (docs/protocol.md):
//! `online` or `offline`, optionally followed by `;firmware=<version>`. A scale sends
//! `online` retained when it connects and sets `offline` as its last will.

use std::fmt;

/// Characters a firmware version may have, at most.
pub const MAX_FIRMWARE_LEN: usize = 32;

/// What a status message says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub online: bool,
    /// The firmware the scale runs, when it says: 1 to [`MAX_FIRMWARE_LEN`] characters of
    /// `A-Z a-z 0-9 . _ + -`.
    pub firmware: Option<String>,
}

/// Why a status message was refused, with the text found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusError(String);

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "expected online or offline, optionally followed by ;firmware=<version> (1 to {MAX_FIRMWARE_LEN} of A-Z a-z 0-9 . _ + -), found {:?}",
            self.0
        )
    }
}

impl std::error::Error for StatusError {}

/// Reads a status payload; surrounding whitespace is ignored.
///
/// ```
/// use wages_codec::{Status, decode_status};
/// let s = decode_status(b"online;firmware=1.4.2\n").unwrap();
/// assert_eq!(s, Status { online: true, firmware: Some("1.4.2".into()) });
/// assert_eq!(decode_status(b"offline").unwrap().firmware, None);
/// assert!(decode_status(b"maybe").is_err());
/// ```
pub fn decode_status(payload: &[u8]) -> Result<Status, StatusError> {
    let refuse = || StatusError(String::from_utf8_lossy(&payload[..payload.len().min(64)]).into_owned());
    let text = std::str::from_utf8(payload).map_err(|_| refuse())?.trim();
    let (state, rest) = match text.split_once(';') {
        Some((state, rest)) => (state, Some(rest)),
        None => (text, None),
    };
    let online = match state {
        "online" => true,
        "offline" => false,
        _ => return Err(refuse()),
    };
    let firmware = match rest {
        None => None,
        Some(rest) => {
            let version = rest.strip_prefix("firmware=").ok_or_else(refuse)?;
            if !valid_firmware(version) {
                return Err(refuse());
            }
            Some(version.to_owned())
        }
    };
    Ok(Status { online, firmware })
}

/// A firmware version: 1 to [`MAX_FIRMWARE_LEN`] of `A-Z a-z 0-9 . _ + -`.
pub(crate) fn valid_firmware(version: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-');
    !version.is_empty() && version.len() <= MAX_FIRMWARE_LEN && version.chars().all(allowed)
}

impl fmt::Display for Status {
    /// The payload form: `online;firmware=1.4.2`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.online { "online" } else { "offline" })?;
        match &self.firmware {
            Some(v) => write!(f, ";firmware={v}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_and_write_back() {
        for text in ["online", "offline", "online;firmware=1.4.2", "offline;firmware=2.0.0-rc.1+b7"] {
            assert_eq!(decode_status(text.as_bytes()).unwrap().to_string(), text);
        }
        assert_eq!(decode_status(b"  online \r\n").unwrap(), Status { online: true, firmware: None });
    }

    #[test]
    fn anything_else_is_refused_with_what_was_found() {
        let long = format!("online;firmware={}", "1".repeat(MAX_FIRMWARE_LEN + 1));
        for bad in
            ["", "Online", "on line", "online;", "online;firmware=", "online;version=1", "online;firmware=1 2", &long]
        {
            assert!(decode_status(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(decode_status(b"online;firmware=\xff").is_err());
        let e = decode_status(b"sleeping").unwrap_err().to_string();
        assert!(e.starts_with("expected online or offline") && e.ends_with("found \"sleeping\""), "{e}");
    }
}
