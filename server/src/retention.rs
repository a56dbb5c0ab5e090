//! Compaction and retention in the background (`WAGES_RETENTION_*`): every
//! `WAGES_RETENTION_CHECK_SECONDS` one pass of [`SqlReadings::compact`], a short
//! transaction per session so ingestion is never held up for long, counted on `/metrics`
//! ([`crate::metrics::Compaction`]).
//! Readings in InfluxDB are left to InfluxDB's own bucket retention.

use std::sync::Arc;
use std::sync::atomic::Ordering;
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

use wages_codec::clock::now_ms;

/// Runs passes until `stop` turns true. A pass cut short by stopping rolls back the
/// session it was on; the next start picks it up again.
pub async fn run(
    readings: SqlReadings,
    settings: Settings,
    metrics: Arc<crate::metrics::Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let counted = &metrics.compaction;
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
        counted.passes.fetch_add(1, Ordering::Relaxed);
        match done {
            Ok(report) => {
                counted.sessions.fetch_add(report.sessions, Ordering::Relaxed);
                counted.readings.fetch_add(report.readings, Ordering::Relaxed);
                counted.buckets.fetch_add(report.buckets, Ordering::Relaxed);
                counted.graphs.fetch_add(report.graphs_removed, Ordering::Relaxed);
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
                counted.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "a compaction pass failed; the next one tries again");
            }
        }
        wait = settings.every;
    }
}
