//! The API's JSON request bodies, parsed by the same types the handlers use, then
//! checked by the same rules: a registration, a rename, a firmware offer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wages_codec::FirmwareOffer;
use wages_store::{Registration, Rename};

fuzz_target!(|body: &[u8]| {
    if let Ok(registration) = serde_json::from_slice::<Registration>(body) {
        if let Ok(device) = registration.check() {
            assert!(!device.name.as_str().is_empty());
        }
    }
    if let Ok(rename) = serde_json::from_slice::<Rename>(body) {
        let _ = wages_store::DeviceName::parse(&rename.name);
    }
    // Offers read from JSON are checked like any other: a valid one survives its own text form.
    if let Ok(offer) = serde_json::from_slice::<FirmwareOffer>(body) {
        let again = wages_codec::decode_offer(offer.to_string().as_bytes()).expect("a checked offer");
        assert_eq!(again, offer);
    }
});
