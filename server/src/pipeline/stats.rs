//! What the pipeline has done: counters, rates, batch latency, rejections with their
//! dead letters, and per-device running figures. Written by the pipeline, read by the
//! API, the pipeline page and `{base}/metrics`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use wages_codec::{ClientId, Reading};
use wages_store::pipeline::{DeadLetter, DeviceFigures, PipelineFigures, PipelineSettings};

use super::check::DEAD_LINE_CHARS;
use crate::metrics::Exposition;

/// Rejected lines kept for `GET /api/dead-letters`.
pub const MAX_DEAD_LETTERS: usize = 1000;
/// Devices whose running figures are kept; readings of others are stored but not tracked.
pub const MAX_TRACKED_DEVICES: usize = 10_000;
/// Upper bounds of the batch latency histogram, in milliseconds.
const LATENCY_BUCKETS_MS: [u64; 12] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];
/// Seconds the throughput is averaged over.
const RATE_WINDOW_S: usize = 10;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) use wages_codec::clock::now_ms;

/// Counts per second over the last [`RATE_WINDOW_S`] seconds.
#[derive(Default)]
struct RateMeter {
    /// `(second, count)`, indexed by second modulo the window.
    slots: [(u64, u64); RATE_WINDOW_S],
}

impl RateMeter {
    fn add(&mut self, second: u64, n: u64) {
        let slot = &mut self.slots[(second % RATE_WINDOW_S as u64) as usize];
        if slot.0 != second {
            *slot = (second, 0);
        }
        slot.1 += n;
    }

    #[allow(clippy::cast_precision_loss)]
    fn per_second(&self, now: u64) -> f64 {
        let window = RATE_WINDOW_S as u64;
        let total: u64 = self.slots.iter().filter(|(s, _)| *s <= now && now - s < window).map(|(_, n)| n).sum();
        total as f64 / window as f64
    }
}

/// Running figures of one device.
#[derive(Clone, Copy)]
struct Running {
    readings: u64,
    min: f64,
    max: f64,
    sum: f64,
    last: Reading,
}

impl Running {
    fn new(r: &Reading) -> Self {
        let v = r.value.get();
        Self { readings: 0, min: v, max: v, sum: 0.0, last: *r }
    }

    fn add(&mut self, r: &Reading) {
        let v = r.value.get();
        self.readings += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.sum += v;
        if r.tstamp >= self.last.tstamp {
            self.last = *r;
        }
    }
}

#[derive(Default)]
pub struct Stats {
    subscribed: AtomicBool,
    /// Readings come over AMQP and that consumer is not running (see [`super::amqp`]).
    queue_down: AtomicBool,
    messages: AtomicU64,
    stored: AtomicU64,
    duplicates: AtomicU64,
    batches: AtomicU64,
    batched_readings: AtomicU64,
    last_batch_us: AtomicU64,
    total_batch_us: AtomicU64,
    in_flight: AtomicU64,
    /// Messages from the gate handed to a worker and not yet answered.
    gate_in_flight: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS_MS.len()],
    rate: Mutex<RateMeter>,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    dead_letters: Mutex<VecDeque<DeadLetter>>,
    devices: Mutex<HashMap<ClientId, Running>>,
    settings: Mutex<Option<PipelineSettings>>,
    /// The fleet's firmware offer, as last received on `wages/firmware`.
    firmware: Mutex<Option<wages_codec::FirmwareOffer>>,
    /// Devices whose readings were stored since the registry last heard of it, and when.
    seen: Mutex<HashMap<ClientId, u64>>,
}

impl Stats {
    /// The devices seen since the last call, with when; the record starts afresh.
    pub fn take_seen(&self) -> HashMap<ClientId, u64> {
        std::mem::take(&mut *lock(&self.seen))
    }

    pub fn firmware_offer(&self) -> Option<wages_codec::FirmwareOffer> {
        lock(&self.firmware).clone()
    }

    pub(super) fn set_firmware_offer(&self, offer: Option<wages_codec::FirmwareOffer>) {
        *lock(&self.firmware) = offer;
    }

    pub fn new(settings: PipelineSettings) -> Self {
        Self { settings: Mutex::new(Some(settings)), ..Self::default() }
    }

    /// Whether readings can arrive now: connected and subscribed.
    pub fn subscribed(&self) -> bool {
        self.subscribed.load(Ordering::Relaxed) && !self.queue_down.load(Ordering::Relaxed)
    }

    /// Whether the AMQP consumer of readings runs (when readings come that way).
    pub(super) fn set_queue_up(&self, up: bool) {
        self.queue_down.store(!up, Ordering::Relaxed);
    }

    pub(super) fn set_subscribed(&self, on: bool) {
        self.subscribed.store(on, Ordering::Relaxed);
    }

    pub(super) fn set_settings(&self, settings: PipelineSettings) {
        *lock(&self.settings) = Some(settings);
    }

    pub(super) fn message(&self) {
        self.messages.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn set_in_flight(&self, n: usize) {
        self.in_flight.store(n as u64, Ordering::Relaxed);
    }

    /// A message from the gate went to a worker.
    pub(super) fn gate_taken(&self) {
        self.gate_in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// `n` messages from the gate were answered (or given up on).
    pub(super) fn gate_answered(&self, n: usize) {
        self.gate_in_flight.fetch_sub(n as u64, Ordering::Relaxed);
    }

    /// Messages received and not yet acknowledged.
    fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed) + self.gate_in_flight.load(Ordering::Relaxed)
    }

    /// Records a stored batch: `new` of its readings were not stored before.
    pub(super) fn stored_batch(&self, batch: &[Reading], new: u64, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.last_batch_us.store(us, Ordering::Relaxed);
        self.total_batch_us.fetch_add(us, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.batched_readings.fetch_add(batch.len() as u64, Ordering::Relaxed);
        self.stored.fetch_add(new, Ordering::Relaxed);
        self.duplicates.fetch_add(batch.len() as u64 - new.min(batch.len() as u64), Ordering::Relaxed);
        let ms = us.div_ceil(1000);
        if let Some(i) = LATENCY_BUCKETS_MS.iter().position(|&le| ms <= le) {
            self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        lock(&self.rate).add(now_ms() / 1000, batch.len() as u64);
        let now = now_ms();
        let mut seen = lock(&self.seen);
        for r in batch {
            seen.insert(r.client_id, now);
        }
        drop(seen);
        let mut devices = lock(&self.devices);
        for r in batch {
            if !devices.contains_key(&r.client_id) && devices.len() >= MAX_TRACKED_DEVICES {
                continue;
            }
            devices.entry(r.client_id).or_insert_with(|| Running::new(r)).add(r);
        }
    }

    /// Counts a rejected line, logs it once and keeps it as a dead letter.
    pub(super) fn reject(&self, topic: &str, line: &[u8], code: &'static str, reason: String) {
        let line: String = String::from_utf8_lossy(line).chars().take(DEAD_LINE_CHARS).collect();
        tracing::warn!(topic, code, %reason, "reading rejected");
        *lock(&self.rejected).entry(code).or_default() += 1;
        let mut dead = lock(&self.dead_letters);
        if dead.len() == MAX_DEAD_LETTERS {
            dead.pop_front();
        }
        dead.push_back(DeadLetter { received_at: now_ms(), topic: topic.to_owned(), line, reason });
    }

    /// The most recent rejections, newest first.
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        lock(&self.dead_letters).iter().rev().cloned().collect()
    }

    #[allow(clippy::cast_precision_loss)]
    pub fn figures(&self, broker: &str) -> PipelineFigures {
        let batches = self.batches.load(Ordering::Relaxed);
        let per_batch = |total: f64| if batches == 0 { 0.0 } else { total / batches as f64 };
        let mut devices: Vec<DeviceFigures> = lock(&self.devices)
            .iter()
            .map(|(id, d)| DeviceFigures {
                client_id: id.to_string(),
                readings: d.readings,
                min: d.min,
                max: d.max,
                mean: d.sum / d.readings.max(1) as f64,
                last_value: d.last.value.get(),
                last_tstamp: d.last.tstamp.millis(),
            })
            .collect();
        devices.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        PipelineFigures {
            broker: broker.to_owned(),
            connected: self.subscribed(),
            settings: lock(&self.settings).unwrap_or_default(),
            messages: self.messages.load(Ordering::Relaxed),
            stored: self.stored.load(Ordering::Relaxed),
            duplicates: self.duplicates.load(Ordering::Relaxed),
            batches,
            readings_per_second: lock(&self.rate).per_second(now_ms() / 1000),
            last_batch_ms: self.last_batch_us.load(Ordering::Relaxed) as f64 / 1000.0,
            mean_batch_ms: per_batch(self.total_batch_us.load(Ordering::Relaxed) as f64 / 1000.0),
            mean_batch_size: per_batch(self.batched_readings.load(Ordering::Relaxed) as f64),
            in_flight: self.in_flight(),
            rejected: lock(&self.rejected).iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            devices,
        }
    }

    /// The pipeline's part of `{base}/metrics`.
    #[allow(clippy::cast_precision_loss)]
    pub fn write_metrics(&self, out: &mut Exposition) {
        out.counter("wages_pipeline_messages_total", "MQTT messages received.", self.messages.load(Ordering::Relaxed));
        out.counter("wages_pipeline_readings_stored_total", "Readings stored.", self.stored.load(Ordering::Relaxed));
        out.counter(
            "wages_pipeline_readings_duplicate_total",
            "Redelivered readings found already stored.",
            self.duplicates.load(Ordering::Relaxed),
        );
        let rejected: Vec<_> = lock(&self.rejected).iter().map(|(reason, n)| (*reason, *n)).collect();
        out.counters("wages_pipeline_rejected_total", "Rejected lines by reason.", "reason", rejected);
        out.gauge("wages_pipeline_in_flight", "Messages received and not yet acknowledged.", self.in_flight());
        let buckets = LATENCY_BUCKETS_MS
            .iter()
            .zip(&self.latency_buckets)
            .map(|(le, n)| (*le as f64 / 1000.0, n.load(Ordering::Relaxed)));
        let sum = self.total_batch_us.load(Ordering::Relaxed) as f64 / 1e6;
        let batches = self.batches.load(Ordering::Relaxed);
        out.histogram("wages_pipeline_batch_seconds", "Time to store one batch.", buckets, sum, batches);
        out.counter(
            "wages_pipeline_batch_readings_total",
            "Readings in stored batches.",
            self.batched_readings.load(Ordering::Relaxed),
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn reading(id: &str, value: f64, t: u64) -> Reading {
        wages_codec::decode_line(format!("client_id={id};session_id=s;value={value};tstamp={t}").as_bytes()).unwrap()
    }

    #[test]
    fn the_rate_counts_the_last_ten_seconds_only() {
        let mut meter = RateMeter::default();
        meter.add(100, 50);
        meter.add(105, 30);
        assert!((meter.per_second(105) - 8.0).abs() < 1e-9);
        assert!((meter.per_second(110) - 3.0).abs() < 1e-9);
        assert!(meter.per_second(200).abs() < 1e-9);
    }

    #[test]
    fn devices_keep_running_min_max_and_mean() {
        let stats = Stats::new(PipelineSettings::default());
        let batch = [reading("a", 2.0, 1), reading("a", 6.0, 3), reading("b", -1.0, 1), reading("a", 1.0, 2)];
        stats.stored_batch(&batch, 4, Duration::from_millis(3));
        let figures = stats.figures("test");
        let a = &figures.devices[0];
        assert_eq!((a.client_id.as_str(), a.readings, a.min, a.max, a.mean), ("a", 3, 1.0, 6.0, 3.0));
        assert_eq!((a.last_value, a.last_tstamp), (6.0, 3));
        assert_eq!(figures.devices[1].client_id, "b");
        assert_eq!((figures.batches, figures.stored, figures.mean_batch_size), (1, 4, 4.0));
        let mut out = Exposition::default();
        stats.write_metrics(&mut out);
        let text = out.into_text();
        assert!(text.contains("wages_pipeline_batch_seconds_bucket{le=\"0.005\"} 1\n"), "{text}");
        assert!(text.contains("wages_pipeline_batch_seconds_bucket{le=\"0.002\"} 0\n"), "{text}");
    }
}
