//! Compaction: an old session's readings folded into fixed-width time buckets holding
//! the count, minimum, maximum and mean weight, so history shrinks while its curve and
//! its summary stay (`WAGES_RETENTION_*`).
//!
//! ```
//! use wages_sessions::buckets;
//!
//! let samples = [(1_000, 1.0), (1_400, 3.0), (2_100, 5.0)];
//! let b = buckets(samples, 1000);
//! assert_eq!(b.len(), 2);
//! assert_eq!((b[0].start, b[0].count, b[0].min, b[0].max, b[0].mean), (1_000, 2, 1.0, 3.0, 2.0));
//! assert_eq!((b[1].start, b[1].count), (2_000, 1));
//! ```

use serde::{Deserialize, Serialize};

use crate::Summary;

/// How a compacted session is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compaction {
    /// Width of the buckets its readings were folded into, in milliseconds.
    pub bucket_ms: u64,
    /// When it was compacted, ms since the epoch.
    pub at: u64,
    /// Whether the buckets are still kept; once they are removed too, only the summary is.
    pub graph_kept: bool,
}

/// The readings of one time bucket of one session.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// Start of the bucket, ms since the epoch, a multiple of the bucket width.
    pub start: u64,
    /// Readings folded in.
    pub count: u64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
}

impl Bucket {
    fn of(start: u64, grams: f64) -> Self {
        Self { start, count: 1, min: grams, max: grams, mean: grams }
    }

    /// Folds `other` (the same bucket, from readings compacted later) into this one.
    pub fn merge(&mut self, other: &Bucket) {
        let total = self.count + other.count;
        #[allow(clippy::cast_precision_loss)] // counts are far below 2^53
        let mean = (self.mean * self.count as f64 + other.mean * other.count as f64) / total as f64;
        self.mean = mean;
        self.count = total;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

/// Folds samples (ms since the epoch, grams) into buckets `bucket_ms` wide, aligned to
/// the epoch, in time order. The samples may come in any order.
pub fn buckets(samples: impl IntoIterator<Item = (u64, f64)>, bucket_ms: u64) -> Vec<Bucket> {
    let width = bucket_ms.max(1);
    let mut sorted: Vec<(u64, f64)> = samples.into_iter().collect();
    sorted.sort_by_key(|(t, _)| *t);
    let mut out: Vec<Bucket> = Vec::new();
    for (t, grams) in sorted {
        let start = t - t % width;
        match out.last_mut() {
            Some(last) if last.start == start => last.merge(&Bucket::of(start, grams)),
            _ => out.push(Bucket::of(start, grams)),
        }
    }
    out
}

/// Merges the summary of readings that arrived after their session was compacted into
/// the stored one: counts add up, times and weights widen, the final weight is the
/// later one's. The flows stay those first computed, since the readings under them
/// are no longer there to recompute from.
pub fn merge_late(stored: &Summary, late: &Summary) -> Summary {
    let mut merged = stored.clone();
    merged.count += late.count;
    merged.max_weight = merged.max_weight.max(late.max_weight);
    merged.peak_flow = merged.peak_flow.max(late.peak_flow);
    if late.ended_at > merged.ended_at {
        merged.ended_at = late.ended_at;
        merged.final_weight = late.final_weight;
    }
    merged.started_at = merged.started_at.min(late.started_at);
    merged.duration_ms = merged.ended_at - merged.started_at;
    merged
}
