//! Compaction beside ingestion: does a pass over a backlog of old sessions hold up the
//! inserts that ingestion makes meanwhile? Side by side in one run:
//!
//!     cargo bench -p wages-store --features testing --bench compaction
//!
//! A database is filled with `BENCH_OLD_SESSIONS` old sessions (default 1000, 301
//! readings each: a 30 s extraction at 10 Hz). Then, as the pipeline does, batches of
//! 500 readings are inserted, one transaction each, back to back: first alone
//! (baseline), then while one compaction pass runs over the whole backlog. Reported:
//! insert throughput and batch latency p50/p99/max for both, and the pass's own rate.
//! `BENCH_DATABASE=postgres` runs on a database of its own on `WAGES_TEST_POSTGRES_URL`
//! (as the tests do); the default is SQLite with full sync in a temporary directory.

#![allow(clippy::print_stdout, clippy::expect_used, clippy::cast_precision_loss)]

use std::time::{Duration, Instant};

use wages_codec::{ClientId, Grams, Reading, SessionId, Timestamp};
use wages_store::{Registry, Retention};

const DAY_MS: u64 = 86_400_000;
const NOW: u64 = 1_800_000_000_000;
const BATCH: usize = 500;

fn reading(client: &str, session: &str, t: u64, grams: f64) -> Reading {
    Reading::new(
        ClientId::parse(client).expect("id"),
        SessionId::parse(session).expect("id"),
        Grams::new(grams).expect("grams"),
        Timestamp::from_millis(t).expect("time"),
    )
}

/// `n` new readings for live ingestion, from reading number `from` on.
fn live_batch(from: u64) -> Vec<Reading> {
    (from..from + BATCH as u64)
        .map(|i| reading(&format!("live-{}", i % 8), &format!("now-{}", i / 3000), NOW - 60_000 + i, 18.0))
        .collect()
}

struct Inserts {
    readings: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

async fn insert_until(store: &wages_store::SqlReadings, from: &mut u64, done: impl Fn(u64) -> bool) -> Inserts {
    let start = Instant::now();
    let mut latencies = Vec::new();
    let mut readings = 0;
    while !done(readings) {
        let batch = live_batch(*from);
        *from += BATCH as u64;
        let t = Instant::now();
        readings += store.insert(&batch).await.expect("insert");
        latencies.push(t.elapsed());
        tokio::task::yield_now().await;
    }
    Inserts { readings, elapsed: start.elapsed(), latencies }
}

fn report(name: &str, mut i: Inserts) {
    i.latencies.sort();
    let at = |p: f64| i.latencies[((i.latencies.len() - 1) as f64 * p) as usize].as_secs_f64() * 1000.0;
    println!(
        "{name:<32} {:>9.0} readings/s   batch p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms  ({} batches)",
        i.readings as f64 / i.elapsed.as_secs_f64(),
        at(0.5),
        at(0.99),
        at(1.0),
        i.latencies.len()
    );
}

async fn bench() {
    let old_sessions: u64 = std::env::var("BENCH_OLD_SESSIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = match std::env::var("BENCH_DATABASE").as_deref() {
        Ok("postgres") => wages_store::testing::postgres_database().await,
        _ => format!("sqlite://{}/bench.db", dir.path().display()),
    };
    let registry = Registry::connect(&url).await.expect("database");
    let store = registry.readings();
    let fill = Instant::now();
    for s in 0..old_sessions {
        let t0 = NOW - 100 * DAY_MS + s * 60_000;
        let session: Vec<Reading> = (0..301)
            .map(|i| reading(&format!("old-{}", s % 20), &format!("s{s}"), t0 + i * 100, i as f64 * 0.12))
            .collect();
        store.insert(&session).await.expect("fill");
    }
    println!(
        "{:?} backlog: {old_sessions} old sessions, {} readings (filled in {:.1} s)",
        registry.backend(),
        old_sessions * 301,
        fill.elapsed().as_secs_f64()
    );
    let mut from = 0;
    // Warm up, then the baseline.
    insert_until(&store, &mut from, |n| n >= 20 * BATCH as u64).await;
    report("inserts alone", insert_until(&store, &mut from, |n| n >= 200 * BATCH as u64).await);

    let retention = Retention { raw_after_ms: 90 * DAY_MS, bucket_ms: 1000, graph_after_ms: None };
    let compacting = {
        let store = store.clone();
        tokio::spawn(async move {
            let t = Instant::now();
            let report = store.compact(&retention, NOW).await.expect("compact");
            (report, t.elapsed())
        })
    };
    let during = insert_until(&store, &mut from, |_| compacting.is_finished()).await;
    let (pass, took) = compacting.await.expect("pass");
    report("inserts during a compaction pass", during);
    println!(
        "compaction pass: {} sessions, {} readings into {} buckets in {:.2} s ({:.0} sessions/s, {:.0} readings/s)",
        pass.sessions,
        pass.readings,
        pass.buckets,
        took.as_secs_f64(),
        pass.sessions as f64 / took.as_secs_f64(),
        pass.readings as f64 / took.as_secs_f64()
    );
    assert_eq!(pass.sessions, old_sessions, "every old session compacted");
    registry.close().await;
}

fn main() {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime").block_on(bench());
}
