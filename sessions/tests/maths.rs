//! Session summaries and flow rates on known curves, and properties on generated ones.

use proptest::prelude::*;
use wages_codec::{ClientId, Grams, Reading, SessionId, Timestamp};
use wages_sessions::{LIVE_FOR_MS, Session, graph, summarize};

fn reading(t: u64, grams: f64) -> Reading {
    Reading::new(
        ClientId::parse("scale-01").expect("valid"),
        SessionId::parse("brew-1").expect("valid"),
        Grams::new(grams).expect("in range"),
        Timestamp::from_millis(t).expect("in range"),
    )
}

/// A steady pour: `rate` g/s sampled at 10 Hz for `seconds`.
fn pour(rate: f64, seconds: u64) -> Vec<Reading> {
    (0..=seconds * 10).map(|i| reading(1_000_000 + i * 100, rate * i as f64 / 10.0)).collect()
}

#[test]
fn a_steady_pour_has_equal_peak_and_mean_flow() {
    let s = summarize(&pour(2.0, 30), 0).expect("summary");
    assert_eq!(s.count, 301);
    assert_eq!((s.started_at, s.ended_at, s.duration_ms), (1_000_000, 1_030_000, 30_000));
    assert!((s.final_weight - 60.0).abs() < 1e-9);
    assert!((s.max_weight - 60.0).abs() < 1e-9);
    assert!((s.peak_flow - 2.0).abs() < 1e-9, "{}", s.peak_flow);
    assert!((s.mean_flow - 2.0).abs() < 1e-9, "{}", s.mean_flow);
    assert_eq!((s.client_id.as_str(), s.session_id.as_str()), ("scale-01", "brew-1"));
}

#[test]
fn noise_is_smoothed_out_of_the_flow() {
    // ±0.1 g of alternating noise on a 2 g/s pour: per-sample differences would read ±4 g/s.
    let noisy: Vec<_> = pour(2.0, 20)
        .iter()
        .enumerate()
        .map(|(i, r)| reading(r.tstamp.millis(), r.value.get() + if i % 2 == 0 { 0.1 } else { -0.1 }))
        .collect();
    let s = summarize(&noisy, 0).expect("summary");
    assert!(s.peak_flow < 2.3, "peak {} should stay near 2 g/s", s.peak_flow);
}

#[test]
fn peak_flow_finds_the_fastest_second() {
    // 1 g/s for 10 s, then 4 g/s for 5 s, then the cup stands still.
    let mut readings = Vec::new();
    let mut grams = 0.0;
    for i in 0..=250u64 {
        let rate = match i {
            0..=100 => 1.0,
            101..=150 => 4.0,
            _ => 0.0,
        };
        if i > 0 {
            grams += rate / 10.0;
        }
        readings.push(reading(i * 100, grams));
    }
    let s = summarize(&readings, 0).expect("summary");
    assert!((s.peak_flow - 4.0).abs() < 1e-9, "{}", s.peak_flow);
    assert!((s.final_weight - 30.0).abs() < 1e-9);
    assert!((s.mean_flow - 30.0 / 25.0).abs() < 1e-9);
}

#[test]
fn the_flow_waits_for_half_a_second_of_curve() {
    let mut session = Session::default();
    session.push(&reading(0, 0.0));
    session.push(&reading(100, 1.0));
    assert_eq!(session.flow(), None, "100 ms is too short to call a flow");
    for t in (200..=500).step_by(100) {
        session.push(&reading(t, t as f64 / 100.0));
    }
    assert_eq!(session.flow(), Some(10.0));
}

#[test]
fn live_means_a_reading_in_the_last_ten_seconds() {
    let readings = pour(1.0, 5);
    let end = readings.last().expect("readings").tstamp.millis();
    assert!(summarize(&readings, end + LIVE_FOR_MS).expect("summary").live);
    assert!(!summarize(&readings, end + LIVE_FOR_MS + 1).expect("summary").live);
    assert!(summarize(&readings, end - 5000).expect("summary").live, "a device clock ahead of ours is live");
}

#[test]
fn one_reading_is_a_session_without_flow() {
    let s = summarize(&[reading(5, 18.0)], 5).expect("summary");
    assert_eq!((s.count, s.duration_ms, s.final_weight, s.max_weight), (1, 0, 18.0, 18.0));
    assert_eq!((s.peak_flow, s.mean_flow), (0.0, 0.0));
    assert_eq!(summarize(&[], 0), None);
}

#[test]
fn late_readings_count_but_do_not_bend_the_flow() {
    let mut readings = pour(2.0, 3);
    readings.push(reading(1_000_050, 99.0)); // redelivered out of order, much heavier
    let s = summarize(&readings, 0).expect("summary");
    assert_eq!(s.count, 32);
    assert_eq!(s.max_weight, 99.0);
    assert!((s.peak_flow - 2.0).abs() < 1e-9);
    assert_eq!(s.ended_at, 1_003_000);
}

#[test]
fn the_graph_has_one_point_per_reading_in_seconds_since_the_start() {
    let points = graph(&pour(2.0, 2));
    assert_eq!(points.len(), 21);
    assert_eq!((points[0].seconds, points[0].grams, points[0].flow), (0.0, 0.0, None));
    let last = points[20];
    assert_eq!(last.seconds, 2.0);
    assert!((last.flow.expect("flow") - 2.0).abs() < 1e-9);
}

#[test]
fn summaries_serialize_as_the_api_names_them() {
    let json = serde_json::to_value(summarize(&pour(1.0, 1), 0).expect("summary")).expect("json");
    for key in [
        "client_id",
        "session_id",
        "started_at",
        "ended_at",
        "duration_ms",
        "count",
        "final_weight",
        "max_weight",
        "peak_flow",
        "mean_flow",
        "live",
    ] {
        assert!(json.get(key).is_some(), "{key}");
    }
}

proptest! {
    #[test]
    fn figures_stay_within_the_curve(
        steps in proptest::collection::vec((1u64..500, -5.0f64..5.0), 1..300)
    ) {
        let mut t = 0;
        let mut grams = 0.0f64;
        let mut readings = vec![reading(0, 0.0)];
        for (dt, dg) in steps {
            t += dt;
            grams = (grams + dg).clamp(-10_000.0, 100_000.0);
            readings.push(reading(t, grams));
        }
        let s = summarize(&readings, t).expect("summary");
        prop_assert_eq!(s.count, readings.len() as u64);
        prop_assert_eq!(s.duration_ms, t);
        let max = readings.iter().map(|r| r.value.get()).fold(f64::MIN, f64::max);
        prop_assert_eq!(s.max_weight, max);
        prop_assert!(s.peak_flow.is_finite() && s.mean_flow.is_finite());
        prop_assert!(s.peak_flow >= 0.0);
        // No flow can exceed the steepest change over the shortest allowed span.
        let bound = readings.windows(2).map(|w| (w[1].value.get() - w[0].value.get()).abs()).sum::<f64>() * 1000.0 / 500.0;
        prop_assert!(s.peak_flow <= bound + 1e-9);
    }
}

#[test]
fn the_first_drop_is_half_a_gram_above_the_start() {
    use wages_sessions::{GraphPoint, first_drop, shifted};
    let point = |seconds: f64, grams: f64| GraphPoint { seconds, grams, flow: None };
    let curve = vec![point(0.0, 0.2), point(1.0, 0.3), point(2.0, 0.69), point(3.0, 0.75), point(4.0, 3.0)];
    assert_eq!(first_drop(&curve), Some(3.0));
    assert_eq!(first_drop(&curve[..3]), None);
    assert_eq!(first_drop(&[]), None);
    let moved = shifted(&curve, 3.0);
    assert_eq!((moved[0].seconds, moved[3].seconds, moved[4].grams), (-3.0, 0.0, 3.0));
}

#[test]
fn the_countdown_to_the_target_follows_the_flow() {
    use wages_sessions::{ToTarget, to_target};
    assert_eq!(to_target(30.0, Some(2.0), 36.0), ToTarget::StopIn(3.0));
    assert_eq!(to_target(36.0, Some(2.0), 36.0), ToTarget::Reached);
    assert_eq!(to_target(40.0, None, 36.0), ToTarget::Reached);
    assert_eq!(to_target(0.2, Some(0.01), 36.0), ToTarget::Waiting);
    assert_eq!(to_target(0.0, None, 36.0), ToTarget::Waiting);
}
