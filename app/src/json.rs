//! JSON for server functions' answers, read as text. Resources that cross from the
//! server-rendered page into the WASM are read from text too, so the browser carries
//! one JSON reader per type instead of a text one and a byte one (serde_json builds a
//! separate reader for each); the server writes exactly the same JSON either way.

use leptos::server_fn::codec::Post;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::Serialize;
use serde::de::{DeserializeOwned, Error as _};

/// `application/json`, decoded with [`serde_json::from_str`].
pub struct JsonText;

/// The output codec of every server function: a POST answered with JSON.
pub type Json = Post<JsonText>;

impl ContentType for JsonText {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonText {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonText {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonText {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(|_| serde_json::Error::custom("the answer is not UTF-8"))?;
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_encoded_decodes_the_same() {
        let value = vec![("scale-01".to_owned(), 18.25_f64)];
        let bytes = <JsonText as Encodes<_>>::encode(&value).expect("a tuple list encodes");
        assert_eq!(&bytes[..], br#"[["scale-01",18.25]]"#);
        let back: Vec<(String, f64)> = <JsonText as Decodes<_>>::decode(bytes).expect("what was encoded decodes");
        assert_eq!(back, value);
    }

    #[test]
    fn an_answer_that_is_not_utf8_is_an_error_not_a_panic() {
        let result: Result<String, _> = <JsonText as Decodes<_>>::decode(Bytes::from_static(b"\"\xff\""));
        assert!(result.expect_err("bad UTF-8 is refused").to_string().contains("not UTF-8"));
    }
}
