//! Compaction and retention in the background (`WAGES_RETENTION_*`): every
//! `WAGES_RETENTION_CHECK_SECONDS` one pass of [`SqlReadings::compact`], a short
//! transaction per session so ingestion is never held up for long, counted on `/metrics`.
//! Readings in InfluxDB are left to InfluxDB's own bucket retention.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use wages_store::{Retention, SqlReadings};

/// How compaction runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    pub retention: Retention,
    /// Time between passes.
    pub every: Duration,
}

/// The first pass waits this long (or `every`, if shorter), so start-up is not slowed.
const FIRST_PASS_AFTER: Duration = Duration::from_secs(10);

static PASSES: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);
static SESSIONS: AtomicU64 = AtomicU64::new(0);
static READINGS: AtomicU64 = AtomicU64::new(0);
static BUCKETS: AtomicU64 = AtomicU64::new(0);
static GRAPHS: AtomicU64 = AtomicU64::new(0);

use wages_codec::clock::now_ms;

/// Runs passes until `stop` turns true. A pass cut short by stopping rolls back the
/// session it was on; the next start picks it up again.
pub async fn run(readings: SqlReadings, settings: Settings, mut stop: watch::Receiver<bool>) {
    let mut wait = FIRST_PASS_AFTER.min(settings.every);
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        let pass = readings.compact(&settings.retention, now_ms());
        let done = tokio::select! {
            done = pass => done,
            _ = stop.wait_for(|stopped| *stopped) => return,
        };
        PASSES.fetch_add(1, Ordering::Relaxed);
        match done {
            Ok(report) => {
                SESSIONS.fetch_add(report.sessions, Ordering::Relaxed);
                READINGS.fetch_add(report.readings, Ordering::Relaxed);
                BUCKETS.fetch_add(report.buckets, Ordering::Relaxed);
                GRAPHS.fetch_add(report.graphs_removed, Ordering::Relaxed);
                if report.sessions > 0 || report.graphs_removed > 0 {
                    tracing::info!(
                        sessions = report.sessions,
                        readings = report.readings,
                        buckets = report.buckets,
                        graphs_removed = report.graphs_removed,
                        "compacted old sessions"
                    );
                }
            }
            Err(e) => {
                FAILED.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "a compaction pass failed; the next one tries again");
            }
        }
        wait = settings.every;
    }
}

/// The counters, in Prometheus text format (process-wide).
pub fn prometheus(out: &mut String) {
    let counters = [
        ("wages_compaction_passes_total", "Compaction passes completed.", &PASSES),
        ("wages_compaction_failures_total", "Compaction passes that failed.", &FAILED),
        ("wages_compacted_sessions_total", "Sessions compacted into buckets.", &SESSIONS),
        ("wages_compacted_readings_total", "Readings folded into buckets and removed.", &READINGS),
        ("wages_compacted_buckets_total", "Buckets written by compaction.", &BUCKETS),
        ("wages_compacted_graphs_removed_total", "Compacted sessions whose buckets expired.", &GRAPHS),
    ];
    for (name, help, value) in counters {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
            value.load(Ordering::Relaxed)
        ));
    }
}
