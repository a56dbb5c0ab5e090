//! The ingest pipeline's shared shapes: its settings with their bounds, its figures and
//! its dead letters, and [`PipelineControl`], what the server's pipeline offers the API
//! and the pages. Pure, so the pipeline (in the server) and the Pipeline page (in the
//! app) share them without depending on each other.

use std::collections::BTreeMap;
use std::future::Future;
use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

/// Readings per stored batch: a batch is stored once it holds this many.
pub const BATCH_SIZE: RangeInclusive<u32> = 1..=10_000;
/// How long a batch waits for more readings before it is stored anyway.
pub const BATCH_TIMEOUT_MS: RangeInclusive<u32> = 1..=10_000;
/// Workers storing batches in parallel; each device always goes to the same one.
pub const CONCURRENCY: RangeInclusive<u32> = 1..=16;

/// How the pipeline batches and stores; `PUT /api/pipeline/config` changes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PipelineSettings {
    /// Readings per stored batch (1–10000).
    #[serde(deserialize_with = "crate::brew::whole")]
    pub batch_size: u32,
    /// Milliseconds a batch waits for more readings (1–10000).
    #[serde(deserialize_with = "crate::brew::whole")]
    pub batch_timeout_ms: u32,
    /// Workers storing batches in parallel (1–16).
    #[serde(deserialize_with = "crate::brew::whole")]
    pub concurrency: u32,
}

impl Default for PipelineSettings {
    fn default() -> Self {
        Self { batch_size: 2000, batch_timeout_ms: 50, concurrency: 1 }
    }
}

impl PipelineSettings {
    /// Every setting out of its bounds: `(field, "must be between …")`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let fields = [
            ("batch_size", self.batch_size, BATCH_SIZE),
            ("batch_timeout_ms", self.batch_timeout_ms, BATCH_TIMEOUT_MS),
            ("concurrency", self.concurrency, CONCURRENCY),
        ];
        fields
            .into_iter()
            .filter(|(_, value, range)| !range.contains(value))
            .map(|(field, value, range)| {
                (field, format!("must be between {} and {}, not {value}", range.start(), range.end()))
            })
            .collect()
    }

    /// The settings, or all their problems in one message.
    pub fn checked(self) -> Result<Self, PipelineError> {
        let problems = self.problems();
        if problems.is_empty() {
            return Ok(self);
        }
        Err(PipelineError::Invalid(
            problems.into_iter().map(|(f, m)| format!("{f} {m}")).collect::<Vec<_>>().join("; "),
        ))
    }
}

/// Running figures of one device's stored readings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceFigures {
    pub client_id: String,
    /// Readings stored for it since the server started (a redelivered message counts again).
    pub readings: u64,
    /// Grams.
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    /// The latest stored reading's value and timestamp (ms since the epoch, device clock).
    pub last_value: f64,
    pub last_tstamp: u64,
}

/// What the pipeline has done since the server started (`GET /api/pipeline`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PipelineFigures {
    /// Where readings come from, for people: `embedded, TCP 127.0.0.1:1883` or `external, mqtt://host:1883`.
    pub broker: String,
    /// Connected to the broker with the readings subscription in place.
    pub connected: bool,
    pub settings: PipelineSettings,
    /// MQTT messages received.
    pub messages: u64,
    /// Readings stored (new ones; redelivered ones count under `duplicates`).
    pub stored: u64,
    pub duplicates: u64,
    pub batches: u64,
    /// Readings stored per second over the last 10 seconds.
    pub readings_per_second: f64,
    /// Time to store the last batch, and the mean over all, in milliseconds.
    pub last_batch_ms: f64,
    pub mean_batch_ms: f64,
    /// Readings per stored batch, on average.
    pub mean_batch_size: f64,
    /// Messages received and not yet acknowledged.
    pub in_flight: u64,
    /// Rejected lines by reason code.
    pub rejected: BTreeMap<String, u64>,
    /// Per device, by client id.
    pub devices: Vec<DeviceFigures>,
}

/// A rejected line (or message), as `GET /api/dead-letters` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeadLetter {
    /// When it arrived, ms since the epoch (the server's clock).
    pub received_at: u64,
    pub topic: String,
    /// The rejected line, cut to 256 characters (the start of the payload for a message refused whole).
    pub line: String,
    /// Why, in words: `line 2, byte 31: expected a number for value, found "abc"`.
    pub reason: String,
}

/// Why the running pipeline could not do what it was asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PipelineError {
    /// The settings break their bounds (every problem, in one line).
    #[error("{0}")]
    Invalid(String),
    /// The pipeline is stopping with the server.
    #[error("the ingest pipeline is shutting down")]
    Stopped,
    /// The batches in flight were not stored within the wait (storage is slow or down).
    #[error(
        "the pipeline is still storing the batches in flight (is storage down?); the new settings apply once they are stored"
    )]
    StillStoring,
    /// The broker did not take a message: refused, unreachable, or no acknowledgement in time.
    #[error("the MQTT broker did not take it: {0}")]
    Broker(String),
}

/// What [`PipelineControl`]'s asynchronous requests return.
pub type Pending<'a> = std::pin::Pin<Box<dyn Future<Output = Result<(), PipelineError>> + Send + 'a>>;

/// The running pipeline, as the server gives it to server functions and the API.
///
/// A trait because the pipeline lives in the server crate, which the pages' crate cannot
/// depend on; the pages reach it through the Leptos context.
pub trait PipelineControl: Send + Sync {
    fn figures(&self) -> PipelineFigures;
    /// The most recent rejections, newest first.
    fn dead_letters(&self) -> Vec<DeadLetter>;
    /// Drains what is in flight and restarts with `settings` (already checked).
    fn reconfigure(&self, settings: PipelineSettings) -> Pending<'_>;
    /// The fleet's firmware offer as the broker holds it (retained on `wages/firmware`).
    fn firmware_offer(&self) -> Option<wages_codec::FirmwareOffer>;
    /// Publishes `offer`, retained, to the fleet or to one scale; done once the broker has it.
    fn offer_firmware(
        &self,
        offer: wages_codec::FirmwareOffer,
        client_id: Option<wages_codec::ClientId>,
    ) -> Pending<'_>;
    /// Publishes a scale's target (`wages/devices/{client_id}/target`), retained, or
    /// clears it (`None`); done once the broker has it.
    fn publish_target(&self, client_id: wages_codec::ClientId, target: Option<crate::brew::Target>) -> Pending<'_>;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn settings_out_of_bounds_are_named() {
        assert_eq!(PipelineSettings::default().checked(), Ok(PipelineSettings::default()));
        let bad = PipelineSettings { batch_size: 0, batch_timeout_ms: 50, concurrency: 17 };
        assert_eq!(
            bad.checked(),
            Err(PipelineError::Invalid(
                "batch_size must be between 1 and 10000, not 0; concurrency must be between 1 and 16, not 17".into()
            ))
        );
    }
}
