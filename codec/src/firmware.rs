//! The firmware offer the server publishes, retained, on `wages/firmware` (the whole
//! fleet) or `wages/devices/{client_id}/firmware` (one scale), docs/protocol.md:
//! `version=<v>;url=<u>;sha256=<hex>`. A scale that takes it reports the new version in
//! its next status message.

use std::fmt;

use crate::status::valid_firmware;

/// Characters a firmware URL may have, at most.
pub const MAX_FIRMWARE_URL_LEN: usize = 1024;

/// An offer's field that breaks its rule: its name and what it must be (`"must be …"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokenField {
    pub field: &'static str,
    pub rule: String,
}

impl fmt::Display for BrokenField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.field, self.rule)
    }
}

impl std::error::Error for BrokenField {}

fn broken(field: &'static str, rule: impl Into<String>) -> BrokenField {
    BrokenField { field, rule: rule.into() }
}

/// Why an offer payload was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OfferError {
    NotUtf8,
    /// Not `version=…;url=…;sha256=…` in that order; the start of what came.
    Shape(String),
    Field(BrokenField),
}

impl fmt::Display for OfferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OfferError::NotUtf8 => f.write_str("the offer is not UTF-8"),
            OfferError::Shape(found) => write!(f, "expected version=<v>;url=<u>;sha256=<hex>, found {found:?}"),
            OfferError::Field(broken) => broken.fmt(f),
        }
    }
}

impl std::error::Error for OfferError {}

/// A firmware offer; only built valid, also when read from JSON.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "OfferFields")]
pub struct FirmwareOffer {
    version: String,
    url: String,
    sha256: String,
}

/// An offer's fields as they arrive, before [`FirmwareOffer::new`] checks them.
#[derive(serde::Deserialize)]
struct OfferFields {
    version: String,
    url: String,
    sha256: String,
}

impl TryFrom<OfferFields> for FirmwareOffer {
    type Error = BrokenField;

    fn try_from(f: OfferFields) -> Result<Self, BrokenField> {
        FirmwareOffer::new(&f.version, &f.url, &f.sha256)
    }
}

impl FirmwareOffer {
    /// Checks each field; the error names the first that breaks its rule.
    pub fn new(version: &str, url: &str, sha256: &str) -> Result<Self, BrokenField> {
        let version = version.trim();
        if !valid_firmware(version) {
            return Err(broken("version", "must be 1 to 32 of A-Z a-z 0-9 . _ + -"));
        }
        let url = url.trim();
        let web = url.starts_with("https://") || url.starts_with("http://");
        if !web
            || url.len() > MAX_FIRMWARE_URL_LEN
            || url.contains(|c: char| c == ';' || c.is_whitespace() || c.is_control())
        {
            return Err(broken(
                "url",
                format!(
                    "must be an http:// or https:// address of at most {MAX_FIRMWARE_URL_LEN} characters, without ; or spaces"
                ),
            ));
        }
        let sha256 = sha256.trim().to_ascii_lowercase();
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(broken("sha256", "must be 64 hexadecimal digits"));
        }
        Ok(FirmwareOffer { version: version.to_owned(), url: url.to_owned(), sha256 })
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

impl fmt::Display for FirmwareOffer {
    /// The payload form: `version=1.5.0;url=https://…;sha256=…`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "version={};url={};sha256={}", self.version, self.url, self.sha256)
    }
}

/// Reads an offer payload (what a scale, or the server after a restart, receives).
///
/// ```
/// use wages_codec::decode_offer;
/// let sha = "ab".repeat(32);
/// let offer = decode_offer(format!("version=1.5.0;url=https://fw.example/1.5.0.bin;sha256={sha}").as_bytes()).unwrap();
/// assert_eq!((offer.version(), offer.url()), ("1.5.0", "https://fw.example/1.5.0.bin"));
/// assert!(decode_offer(b"version=1.5.0").is_err());
/// ```
pub fn decode_offer(payload: &[u8]) -> Result<FirmwareOffer, OfferError> {
    let text = std::str::from_utf8(payload).map_err(|_| OfferError::NotUtf8)?.trim();
    let mut fields = text.split(';').map(|kv| kv.split_once('=').unwrap_or((kv, "")));
    match (fields.next(), fields.next(), fields.next(), fields.next()) {
        (Some(("version", v)), Some(("url", u)), Some(("sha256", s)), None) => {
            FirmwareOffer::new(v, u, s).map_err(OfferError::Field)
        }
        _ => Err(OfferError::Shape(first_chars(text, 64).to_owned())),
    }
}

/// At most `n` bytes of `text`, cut at a character boundary (what an error may quote).
fn first_chars(text: &str, n: usize) -> &str {
    let mut end = text.len().min(n);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Found by `cargo fuzz run firmware_offer`: quoting a long bad offer cut a
    /// character in two and panicked (the pipeline reads offers from the broker).
    #[test]
    fn a_long_bad_offer_is_quoted_whole_characters() {
        let payload = format!("version=1.5.0;url={}Ú;sha256=x;extra", "a".repeat(45));
        let err = decode_offer(payload.as_bytes()).unwrap_err().to_string();
        assert!(err.starts_with("expected version=<v>;url=<u>;sha256=<hex>, found"), "{err}");
        assert_eq!(first_chars("aÚ", 2), "a");
    }

    #[test]
    fn offers_from_json_are_checked_too() {
        let sha = "ab".repeat(32);
        let good = format!(r#"{{"version":"1.5.0","url":"https://fw.example/a.bin","sha256":"{sha}"}}"#);
        let offer: FirmwareOffer = serde_json::from_str(&good).unwrap();
        assert_eq!(serde_json::from_str::<FirmwareOffer>(&serde_json::to_string(&offer).unwrap()).unwrap(), offer);
        let bad = format!(r#"{{"version":"1.5.0","url":"ftp://fw.example/a.bin","sha256":"{sha}"}}"#);
        assert!(serde_json::from_str::<FirmwareOffer>(&bad).unwrap_err().to_string().starts_with("url must be"));
    }

    #[test]
    fn offers_are_checked_field_by_field_and_read_back() {
        let sha = "0123456789ABCDEF".repeat(4);
        let offer = FirmwareOffer::new(" 1.5.0 ", "https://fw.example/1.5.0.bin", &sha).unwrap();
        assert_eq!(offer.sha256(), sha.to_ascii_lowercase());
        assert_eq!(decode_offer(offer.to_string().as_bytes()).unwrap(), offer);
        assert_eq!(FirmwareOffer::new("1 5", "https://x", &sha).unwrap_err().field, "version");
        assert_eq!(FirmwareOffer::new("1.5", "ftp://x", &sha).unwrap_err().field, "url");
        assert_eq!(FirmwareOffer::new("1.5", "https://x;y", &sha).unwrap_err().field, "url");
        assert_eq!(FirmwareOffer::new("1.5", "https://x", "abc").unwrap_err().field, "sha256");
        assert!(decode_offer(b"url=https://x;version=1;sha256=00").is_err());
        assert!(decode_offer(format!("version=1;url=https://x;sha256={sha};extra=1").as_bytes()).is_err());
    }
}
