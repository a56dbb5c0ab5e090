//! The server's figures for `{base}/metrics`. [`Metrics`] holds the counters that belong
//! to no other part (API errors, WebSocket errors, compaction), one per server, owned by
//! the state; the parts with figures of their own (the pipeline's [`Stats`], the gate,
//! the registry's cache, the live-stream limits) keep them. Every figure is written
//! through one renderer, [`Exposition`], in Prometheus's text format.
//!
//! [`Stats`]: crate::pipeline::Stats

use std::fmt::{Display, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::api::error::{ErrorCode, ErrorCounts};

/// Prometheus's text format, written a family at a time.
#[derive(Default)]
pub struct Exposition {
    text: String,
}

impl Exposition {
    fn family(&mut self, name: &str, help: &str, kind: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    /// A counter without labels.
    pub fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.family(name, help, "counter");
        let _ = writeln!(self.text, "{name} {value}");
    }

    /// A counter with one label, a sample per value of it.
    pub fn counters<L: Display>(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        samples: impl IntoIterator<Item = (L, u64)>,
    ) {
        self.family(name, help, "counter");
        for (value, n) in samples {
            let _ = writeln!(self.text, "{name}{{{label}=\"{value}\"}} {n}");
        }
    }

    pub fn gauge(&mut self, name: &str, help: &str, value: impl Display) {
        self.family(name, help, "gauge");
        let _ = writeln!(self.text, "{name} {value}");
    }

    /// A histogram from each bucket's own count (not yet cumulative) by upper bound, the
    /// sum of what was observed and how many observations there were in all.
    pub fn histogram(
        &mut self,
        name: &str,
        help: &str,
        buckets: impl IntoIterator<Item = (f64, u64)>,
        sum: f64,
        count: u64,
    ) {
        self.family(name, help, "histogram");
        let mut cumulative = 0;
        for (le, n) in buckets {
            cumulative += n;
            let _ = writeln!(self.text, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let _ = writeln!(self.text, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(self.text, "{name}_sum {sum}\n{name}_count {count}");
    }

    pub fn into_text(self) -> String {
        self.text
    }
}

/// What compaction has done since start (see [`crate::retention`]).
#[derive(Default)]
pub struct Compaction {
    pub passes: AtomicU64,
    pub failed: AtomicU64,
    pub sessions: AtomicU64,
    pub readings: AtomicU64,
    pub buckets: AtomicU64,
    pub graphs: AtomicU64,
}

impl Compaction {
    fn write(&self, out: &mut Exposition) {
        let counters = [
            ("wages_compaction_passes_total", "Compaction passes completed.", &self.passes),
            ("wages_compaction_failures_total", "Compaction passes that failed.", &self.failed),
            ("wages_compacted_sessions_total", "Sessions compacted into buckets.", &self.sessions),
            ("wages_compacted_readings_total", "Readings folded into buckets and removed.", &self.readings),
            ("wages_compacted_buckets_total", "Buckets written by compaction.", &self.buckets),
            ("wages_compacted_graphs_removed_total", "Compacted sessions whose buckets expired.", &self.graphs),
        ];
        for (name, help, value) in counters {
            out.counter(name, help, value.load(Ordering::Relaxed));
        }
    }
}

/// The counters that belong to no other part; one per server.
#[derive(Default)]
pub struct Metrics {
    /// API error responses since start, by code.
    pub api_errors: ErrorCounts,
    /// WebSockets (live streams and MQTT over WebSocket) closed because what the client
    /// sent broke the protocol or a bound (a frame or message too large, say).
    pub websocket_errors: AtomicU64,
    pub compaction: Compaction,
}

impl Metrics {
    pub fn websocket_error(&self) {
        self.websocket_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Writes its counters.
    pub fn write(&self, out: &mut Exposition) {
        out.counter(
            "wages_websocket_errors_total",
            "WebSockets closed for what their client sent (frames past their bound, protocol errors).",
            self.websocket_errors.load(Ordering::Relaxed),
        );
        out.counters(
            "wages_api_errors_total",
            "API error responses by code (bounds, bad input, missing things).",
            "code",
            self.api_errors.counts(),
        );
        self.compaction.write(out);
    }
}

/// Counts each API error response by its code, which [`crate::api::ApiError`] leaves in
/// the response's extensions (an error does not know the state it is counted in).
pub async fn count_api_errors(State(metrics): State<std::sync::Arc<Metrics>>, req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    if let Some(ErrorCode(code)) = response.extensions().get::<ErrorCode>() {
        metrics.api_errors.count(code);
    }
    response
}
