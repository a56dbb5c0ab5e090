//! A scale's status message (`online;firmware=1.4.2`), as the pipeline reads it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wages_codec::decode_status;

fuzz_target!(|payload: &[u8]| {
    match decode_status(payload) {
        Ok(status) => {
            let again = decode_status(status.to_string().as_bytes()).expect("what we write, we read");
            assert_eq!(again, status);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
