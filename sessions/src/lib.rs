//! Session maths: what the readings of one extraction add up to.
//!
//! All readings of one device with one `session_id` form a session. Its summary holds
//! the first and last timestamp, duration, reading count, final and maximum weight, peak
//! and mean flow rate, and whether it is live. The same code runs in the ingest pipeline,
//! behind the API, and in the browser under the live graph.
//!
//! # Flow rate
//!
//! The flow at a sample is the weight gained over the [`FLOW_WINDOW_MS`] before it,
//! divided by the time that actually spans: a one-second moving difference, which
//! smooths a 10 Hz scale's noise (±0.1 g per sample would otherwise read as ±1 g/s).
//! Until the window spans at least [`MIN_FLOW_SPAN_MS`] there is no flow yet.
//! The mean flow is the weight gained from the first to the last sample over the whole
//! duration, the figure baristas quote ("36 g in 30 s").
//!
//! ```
//! use wages_codec::decode_message;
//! use wages_sessions::Session;
//!
//! let payload = "client_id=s1;session_id=b1;value=0;tstamp=1000\n\
//!                client_id=s1;session_id=b1;value=2;tstamp=2000\n\
//!                client_id=s1;session_id=b1;value=6;tstamp=3000";
//! let mut session = Session::default();
//! for reading in decode_message(payload.as_bytes()).unwrap() {
//!     session.push(&reading.unwrap());
//! }
//! let summary = session.summary(3_500).unwrap();
//! assert_eq!((summary.count, summary.duration_ms, summary.final_weight), (3, 2000, 6.0));
//! assert_eq!((summary.peak_flow, summary.mean_flow), (4.0, 3.0));
//! assert!(summary.live);
//! ```

pub mod compact;
pub mod dial_in;
pub mod simulate;
pub mod watch;

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use wages_codec::{ClientId, Reading, SessionId};

pub use compact::{Bucket, Compaction, buckets, merge_late};

/// How far back the flow rate looks, in milliseconds.
pub const FLOW_WINDOW_MS: u64 = 1000;
/// The least time a flow rate is computed over, in milliseconds.
pub const MIN_FLOW_SPAN_MS: u64 = 500;
/// A session is live while its last reading is at most this old, in milliseconds.
pub const LIVE_FOR_MS: u64 = 10_000;

/// One session's figures. Times are milliseconds since the epoch,
/// weights grams, flows grams per second.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub client_id: ClientId,
    pub session_id: SessionId,
    pub started_at: u64,
    pub ended_at: u64,
    pub duration_ms: u64,
    pub count: u64,
    pub final_weight: f64,
    pub max_weight: f64,
    pub peak_flow: f64,
    pub mean_flow: f64,
    pub live: bool,
    /// Set once the session's readings were compacted into buckets; absent while every
    /// reading is kept as it came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compacted: Option<Compaction>,
}

/// A sample as the flow rate needs it.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Sample {
    t: u64,
    grams: f64,
}

/// Folds a session's readings, in time order, into its running figures. Memory stays
/// bounded: only the last [`FLOW_WINDOW_MS`] of samples are kept.
#[derive(Clone, Debug, Default)]
pub struct Session {
    ids: Option<(ClientId, SessionId)>,
    first: Option<Sample>,
    last: Option<Sample>,
    count: u64,
    max_weight: f64,
    peak_flow: f64,
    /// Samples of the last flow window, oldest first.
    window: VecDeque<Sample>,
    /// The flow at the last sample, once the window spans enough time.
    flow: Option<f64>,
}

impl Session {
    /// Adds the next reading. A reading older than the last one counts towards the
    /// count and the maximum but not the flow, which needs time to move forward.
    pub fn push(&mut self, reading: &Reading) {
        let sample = Sample { t: reading.tstamp.millis(), grams: reading.value.get() };
        self.ids.get_or_insert((reading.client_id, reading.session_id));
        self.count += 1;
        self.max_weight = if self.count == 1 { sample.grams } else { self.max_weight.max(sample.grams) };
        if self.first.is_none_or(|f| sample.t < f.t) {
            self.first = Some(sample);
        }
        if self.last.is_some_and(|l| sample.t <= l.t) {
            return;
        }
        self.last = Some(sample);
        self.window.push_back(sample);
        // Keep the newest sample at least FLOW_WINDOW_MS back as the window's start.
        while self.window.len() > 2 && sample.t - self.window[1].t >= FLOW_WINDOW_MS {
            self.window.pop_front();
        }
        self.flow = self.window.front().and_then(|start| {
            let span = sample.t - start.t;
            #[allow(clippy::cast_precision_loss)] // spans are far below 2^53 ms
            (span >= MIN_FLOW_SPAN_MS).then(|| (sample.grams - start.grams) * 1000.0 / span as f64)
        });
        if let Some(flow) = self.flow {
            self.peak_flow = self.peak_flow.max(flow);
        }
    }

    /// The flow rate at the last reading, once there is enough of a curve.
    pub fn flow(&self) -> Option<f64> {
        self.flow
    }

    /// The summary so far; `now_ms` decides whether the session is live.
    /// `None` before the first reading.
    pub fn summary(&self, now_ms: u64) -> Option<Summary> {
        let ((client_id, session_id), first, last) = (self.ids?, self.first?, self.last?);
        let duration_ms = last.t - first.t;
        #[allow(clippy::cast_precision_loss)]
        let mean_flow = if duration_ms == 0 { 0.0 } else { (last.grams - first.grams) * 1000.0 / duration_ms as f64 };
        Some(Summary {
            client_id,
            session_id,
            started_at: first.t,
            ended_at: last.t,
            duration_ms,
            count: self.count,
            final_weight: last.grams,
            max_weight: self.max_weight,
            peak_flow: self.peak_flow,
            mean_flow,
            live: now_ms.saturating_sub(last.t) <= LIVE_FOR_MS,
            compacted: None,
        })
    }
}

/// The summary of readings already in time order (as storage returns them).
pub fn summarize<'a>(readings: impl IntoIterator<Item = &'a Reading>, now_ms: u64) -> Option<Summary> {
    let mut session = Session::default();
    for reading in readings {
        session.push(reading);
    }
    session.summary(now_ms)
}

/// One point of the extraction graph: seconds since the session started, the weight,
/// and the flow rate there (none until the curve spans enough time).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphPoint {
    pub seconds: f64,
    pub grams: f64,
    pub flow: Option<f64>,
}

/// Where a running extraction stands against its target yield.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ToTarget {
    /// Not flowing yet (or too slowly to say when it gets there).
    Waiting,
    /// At the current flow, the target is reached in this many seconds.
    StopIn(f64),
    Reached,
}

/// Flows below this (g/s) are too slow to predict from.
pub const MIN_PREDICTING_FLOW: f64 = 0.05;

/// How far `grams` flowing at `flow` is from `target`: "stop in 3.1 s", then reached.
pub fn to_target(grams: f64, flow: Option<f64>, target: f64) -> ToTarget {
    if grams >= target {
        return ToTarget::Reached;
    }
    match flow {
        Some(flow) if flow >= MIN_PREDICTING_FLOW => ToTarget::StopIn((target - grams) / flow),
        _ => ToTarget::Waiting,
    }
}

/// Grams above the first reading that count as the first drop in the cup.
pub const FIRST_DROP_GRAMS: f64 = 0.5;

/// Seconds from the start of a curve to its first drop in the cup: the first point
/// [`FIRST_DROP_GRAMS`] above where it began. `None` for a curve that never rises.
pub fn first_drop(points: &[GraphPoint]) -> Option<f64> {
    let start = points.first()?.grams;
    points.iter().find(|p| p.grams - start >= FIRST_DROP_GRAMS).map(|p| p.seconds)
}

/// The curve moved `by` seconds earlier (so that `by` becomes 0).
pub fn shifted(points: &[GraphPoint], by: f64) -> Vec<GraphPoint> {
    points.iter().map(|p| GraphPoint { seconds: p.seconds - by, ..*p }).collect()
}

/// The weight and flow curve of readings in time order, for drawing.
pub fn graph<'a>(readings: impl IntoIterator<Item = &'a Reading>) -> Vec<GraphPoint> {
    let mut session = Session::default();
    let mut start = None;
    let mut points = Vec::new();
    for reading in readings {
        session.push(reading);
        let t = reading.tstamp.millis();
        let start = *start.get_or_insert(t);
        #[allow(clippy::cast_precision_loss)]
        let seconds = t.saturating_sub(start) as f64 / 1000.0;
        points.push(GraphPoint { seconds, grams: reading.value.get(), flow: session.flow() });
    }
    points
}
