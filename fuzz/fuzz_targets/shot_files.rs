//! Shot files as people upload them: any bytes to the reader of every format. What it
//! accepts is a shot Wages can store: curves in time order, values in their bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wages_store::shot_file::{MAX_IMPORT_SAMPLES, parse};

fuzz_target!(|input: &[u8]| {
    let Ok(shot) = parse(input) else { return };
    assert!(!shot.samples.is_empty() || !shot.series.is_empty(), "a shot with no curve at all");
    assert!(shot.samples.len() <= MAX_IMPORT_SAMPLES);
    assert!(shot.samples.windows(2).all(|w| w[0].0 < w[1].0), "weight samples out of order");
    assert!(shot.samples.iter().all(|s| wages_codec::Grams::new(s.1).is_ok()), "a weight out of bounds");
    for s in &shot.series {
        assert!(!s.points.is_empty() && s.points.len() <= MAX_IMPORT_SAMPLES);
        assert!(s.points.windows(2).all(|w| w[0].0 < w[1].0), "{:?} out of order", s.kind);
        assert!(s.points.iter().all(|p| s.kind.range().contains(&p.1)), "{:?} out of bounds", s.kind);
    }
    if let Some(id) = &shot.session_id {
        assert!(wages_codec::SessionId::parse(id).is_ok(), "{id}");
    }
});
