//! Buckets on known samples, and properties on generated ones: nothing is lost or
//! counted twice, whichever way the samples are split and merged.

use proptest::prelude::*;
use wages_codec::{ClientId, Grams, Reading, SessionId, Timestamp};
use wages_sessions::{Bucket, buckets, merge_late, summarize};

fn reading(t: u64, grams: f64) -> Reading {
    Reading::new(
        ClientId::parse("scale-01").expect("valid"),
        SessionId::parse("brew-1").expect("valid"),
        Grams::new(grams).expect("in range"),
        Timestamp::from_millis(t).expect("in range"),
    )
}

#[test]
fn a_ten_hertz_pour_folds_into_one_bucket_a_second() {
    let samples: Vec<(u64, f64)> = (0..300).map(|i| (1_000_000 + i * 100, i as f64 * 0.2)).collect();
    let b = buckets(samples, 1000);
    assert_eq!(b.len(), 30);
    assert!(b.iter().all(|b| b.count == 10 && b.start % 1000 == 0));
    // The first second holds 0.0, 0.2 … 1.8.
    assert!((b[0].mean - 0.9).abs() < 1e-9, "{}", b[0].mean);
    assert_eq!((b[0].min, b[0].max), (0.0, 0.2 * 9.0));
}

#[test]
fn buckets_are_aligned_to_the_epoch_not_to_the_first_sample() {
    let b = buckets([(1_250, 1.0), (1_950, 2.0), (2_050, 3.0)], 100);
    let starts: Vec<u64> = b.iter().map(|b| b.start).collect();
    assert_eq!(starts, [1_200, 1_900, 2_000]);
}

#[test]
fn late_readings_widen_the_summary_and_keep_the_count_exact() {
    let first: Vec<Reading> = (0..100).map(|i| reading(10_000 + i * 100, i as f64)).collect();
    let late = [reading(30_000, 150.0), reading(30_100, 151.0)];
    let stored = summarize(&first, 0).expect("summary");
    let merged = merge_late(&stored, &summarize(&late, 0).expect("summary"));
    assert_eq!(merged.count, 102);
    assert_eq!((merged.started_at, merged.ended_at, merged.duration_ms), (10_000, 30_100, 20_100));
    assert_eq!((merged.final_weight, merged.max_weight), (151.0, 151.0));
    assert_eq!(merged.mean_flow, stored.mean_flow, "flows stay those first computed");
}

fn total(b: &[Bucket]) -> (u64, f64) {
    (b.iter().map(|b| b.count).sum(), b.iter().map(|b| b.mean * b.count as f64).sum())
}

proptest! {
    #[test]
    fn every_sample_lands_in_exactly_one_bucket(
        samples in prop::collection::vec((0u64..100_000, -100.0f64..1000.0), 0..500),
        width in 1u64..5000,
    ) {
        let b = buckets(samples.iter().copied(), width);
        let (count, sum) = total(&b);
        prop_assert_eq!(count, samples.len() as u64);
        let expected: f64 = samples.iter().map(|(_, g)| g).sum();
        prop_assert!((sum - expected).abs() < 1e-6 * (1.0 + expected.abs()));
        for pair in b.windows(2) {
            prop_assert!(pair[0].start < pair[1].start);
        }
        for bucket in &b {
            prop_assert_eq!(bucket.start % width, 0);
            let inside: Vec<f64> = samples.iter().filter(|(t, _)| t - t % width == bucket.start).map(|(_, g)| *g).collect();
            prop_assert_eq!(inside.len() as u64, bucket.count);
            prop_assert_eq!(inside.iter().copied().fold(f64::INFINITY, f64::min), bucket.min);
            prop_assert_eq!(inside.iter().copied().fold(f64::NEG_INFINITY, f64::max), bucket.max);
            prop_assert!(bucket.min <= bucket.mean + 1e-9 && bucket.mean <= bucket.max + 1e-9);
        }
    }

    #[test]
    fn merging_split_buckets_equals_bucketing_everything(
        samples in prop::collection::vec((0u64..20_000, 0.0f64..100.0), 1..300),
        split in 0usize..300,
        width in 1u64..3000,
    ) {
        let split = split.min(samples.len());
        let whole = buckets(samples.iter().copied(), width);
        let mut merged = buckets(samples[..split].iter().copied(), width);
        for late in buckets(samples[split..].iter().copied(), width) {
            match merged.iter_mut().find(|b| b.start == late.start) {
                Some(b) => b.merge(&late),
                None => merged.push(late),
            }
        }
        merged.sort_by_key(|b| b.start);
        prop_assert_eq!(merged.len(), whole.len());
        for (m, w) in merged.iter().zip(&whole) {
            prop_assert_eq!((m.start, m.count, m.min, m.max), (w.start, w.count, w.min, w.max));
            prop_assert!((m.mean - w.mean).abs() < 1e-9 * (1.0 + w.mean.abs()));
        }
    }
}
