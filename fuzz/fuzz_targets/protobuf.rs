//! A readings message in Protobuf (`codec/proto/readings.proto`), as the pipeline gets
//! it on `wages/devices/{client_id}/readings/protobuf`. Besides "no panic": every reading
//! accepted comes back equal through the encoder, and every rejection can be put into
//! words, as can the dead letter's quote of it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wages_codec::{decode_protobuf, encode_protobuf, protobuf_as_lines};

fuzz_target!(|payload: &[u8]| {
    let readings = match decode_protobuf(payload) {
        Ok(readings) => readings,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    assert!(readings.len() <= wages_codec::MAX_READINGS_PER_MESSAGE);
    assert_eq!(protobuf_as_lines(payload).len(), readings.len(), "one quote per reading");
    for reading in readings {
        match reading {
            Ok(reading) => {
                let mut bytes = Vec::new();
                encode_protobuf(std::slice::from_ref(&reading), &mut bytes);
                let again = decode_protobuf(&bytes).expect("the encoder's output is a message");
                assert_eq!(again, vec![Ok(reading)], "round trip");
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
});
