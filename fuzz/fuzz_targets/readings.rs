//! A readings message (text lines or JSON, docs/protocol.md) as the pipeline gets it from MQTT.
//! Besides "no panic": every reading accepted comes back equal through both encodings,
//! and every rejection can be put into words.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wages_codec::{decode_line, decode_message, encode_json, encode_text};

fuzz_target!(|payload: &[u8]| {
    let lines = match decode_message(payload) {
        Ok(lines) => lines,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    for line in lines {
        match line {
            Ok(reading) => {
                let mut text = String::new();
                encode_text(std::slice::from_ref(&reading), &mut text);
                let again = decode_line(text.trim_end().as_bytes()).expect("the canonical text decodes");
                assert_eq!(again, reading, "text round trip of {text:?}");
                let mut json = String::new();
                encode_json(std::slice::from_ref(&reading), &mut json);
                let from_json: Vec<_> = decode_message(json.as_bytes()).expect("bounds").collect();
                assert_eq!(from_json.len(), 1, "{json}");
                assert_eq!(from_json[0].as_ref().expect("the JSON form decodes"), &reading, "JSON round trip of {json}");
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
});
