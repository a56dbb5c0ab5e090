//! Bluetooth scales' notifications, as the browser's bridge feeds them to a decoder: the
//! first byte picks the scale family, the second how many bytes each notification
//! holds, the rest is the stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wages_scales::{Decoder, Event, FAMILIES};

fuzz_target!(|input: &[u8]| {
    let [family, chunk, stream @ ..] = input else { return };
    let mut decoder = Decoder::new(FAMILIES[usize::from(*family) % FAMILIES.len()]);
    for notification in stream.chunks(usize::from(*chunk).max(1)) {
        for event in decoder.feed(notification) {
            match event {
                Event::Weight { grams, .. } => assert!(grams.is_finite() && grams.abs() < 200_000.0, "{grams}"),
                Event::Flow { grams_per_second } => assert!(grams_per_second.is_finite()),
                Event::Battery { percent } => assert!(percent <= 100),
                Event::Timer { .. } | Event::Button(_) => {}
            }
        }
    }
});
