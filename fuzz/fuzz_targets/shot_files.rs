//! Shot files as people upload them: any bytes to the reader of every format, and to the
//! Beanconqueror backup reader (as a zip, or as `Beanconqueror.json`). What either
//! accepts is a shot Wages can store: curves in time order, values in their bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wages_store::shot_file::{Backup, ImportedShot, MAX_IMPORT_SAMPLES, parse};

/// Most brews of one input read: the rest read the same way.
const BREWS_READ: usize = 64;

fn check(shot: &ImportedShot) {
    let spans = shot.span.is_some_and(|(start, end)| start <= end);
    assert!(!shot.samples.is_empty() || !shot.series.is_empty() || spans, "a shot with no curve and no time");
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
}

fuzz_target!(|input: &[u8]| {
    if let Ok(shot) = parse(input) {
        check(&shot);
    }
    if let Ok(mut backup) = Backup::read(&[("Beanconqueror.json".to_owned(), input)]) {
        for i in 0..backup.len().min(BREWS_READ) {
            if let Ok(shot) = backup.brew(i).shot {
                check(&shot);
            }
        }
    }
});
