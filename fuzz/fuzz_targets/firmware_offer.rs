//! A firmware offer (`version=…;url=…;sha256=…`), as scales and the server after a
//! restart read it from the retained topic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wages_codec::decode_offer;

fuzz_target!(|payload: &[u8]| {
    if let Ok(offer) = decode_offer(payload) {
        let again = decode_offer(offer.to_string().as_bytes()).expect("what we publish, we read");
        assert_eq!(again, offer);
    }
});
