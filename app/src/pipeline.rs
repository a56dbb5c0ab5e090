//! The ingest pipeline as people and the API see it: its figures, its settings with
//! their bounds, and the server functions of the `{base}/pipeline` page.
//!
//! The pipeline itself runs in the server crate; it reaches these server functions
//! through [`PipelineHandle`] in the Leptos context.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Readings per stored batch: a batch is stored once it holds this many.
pub const BATCH_SIZE: RangeInclusive<u32> = 1..=10_000;
/// How long a batch waits for more readings before it is stored anyway.
pub const BATCH_TIMEOUT_MS: RangeInclusive<u32> = 1..=10_000;
/// Workers storing batches in parallel; each device always goes to the same one.
pub const CONCURRENCY: RangeInclusive<u32> = 1..=16;

/// How the pipeline batches and stores; `PUT /api/pipeline/config` changes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PipelineSettings {
    /// Readings per stored batch (1–10000).
    pub batch_size: u32,
    /// Milliseconds a batch waits for more readings (1–10000).
    pub batch_timeout_ms: u32,
    /// Workers storing batches in parallel (1–16).
    pub concurrency: u32,
}

impl Default for PipelineSettings {
    fn default() -> Self {
        Self { batch_size: 500, batch_timeout_ms: 50, concurrency: 1 }
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
    pub fn checked(self) -> Result<Self, String> {
        let problems = self.problems();
        if problems.is_empty() {
            return Ok(self);
        }
        Err(problems.into_iter().map(|(f, m)| format!("{f} {m}")).collect::<Vec<_>>().join("; "))
    }
}

/// Running figures of one device's stored readings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeadLetter {
    /// When it arrived, ms since the epoch (the server's clock).
    pub received_at: u64,
    pub topic: String,
    /// The rejected line, cut to 256 characters (the start of the payload for a message refused whole).
    pub line: String,
    /// Why, in words: `line 2, byte 31: expected a number for value, found "abc"`.
    pub reason: String,
}

/// The running pipeline, as the server gives it to server functions and the API.
///
/// A trait only because the pipeline lives in the server crate, which depends on this one.
#[cfg(feature = "ssr")]
pub trait PipelineControl: Send + Sync {
    fn figures(&self) -> PipelineFigures;
    /// The most recent rejections, newest first.
    fn dead_letters(&self) -> Vec<DeadLetter>;
    /// Drains what is in flight and restarts with `settings` (already checked).
    fn reconfigure(
        &self,
        settings: PipelineSettings,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>>;
    /// The fleet's firmware offer as the broker holds it (retained on `wages/firmware`).
    fn firmware_offer(&self) -> Option<wages_codec::FirmwareOffer>;
    /// Publishes `offer`, retained, to the fleet or to one scale; done once the broker has it.
    fn offer_firmware(
        &self,
        offer: wages_codec::FirmwareOffer,
        client_id: Option<wages_codec::ClientId>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>>;
    /// Publishes a scale's target (`wages/devices/{client_id}/target`), retained, or
    /// clears it (`None`); done once the broker has it.
    fn publish_target(
        &self,
        client_id: wages_codec::ClientId,
        target: Option<wages_store::brew::Target>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>>;
}

/// The running pipeline in the Leptos context.
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct PipelineHandle(pub std::sync::Arc<dyn PipelineControl>);

#[cfg(feature = "ssr")]
pub(crate) fn handle() -> Result<PipelineHandle, AppError> {
    use_context::<PipelineHandle>().ok_or_else(|| AppError::Unavailable("ingestion is not running".into()))
}

/// The pipeline's figures and its most recent rejections.
#[server(prefix = "/api/fn")]
pub async fn read_pipeline() -> Result<(PipelineFigures, Vec<DeadLetter>), AppError> {
    let pipeline = crate::error::with_status(handle())?;
    let mut dead = pipeline.0.dead_letters();
    dead.truncate(20);
    Ok((pipeline.0.figures(), dead))
}

/// Parses one form field as a whole number.
#[cfg(feature = "ssr")]
fn whole(field: &'static str, text: &str) -> Result<u32, AppError> {
    text.trim().parse().map_err(|_| AppError::Invalid {
        field: field.into(),
        message: format!("must be a whole number, not {text:?}"),
    })
}

/// Changes the pipeline's settings from the page's form; returns them as applied.
#[server(prefix = "/api/fn")]
pub async fn configure_pipeline(
    batch_size: String,
    batch_timeout_ms: String,
    concurrency: String,
) -> Result<PipelineSettings, AppError> {
    crate::error::with_status(
        async {
            let settings = PipelineSettings {
                batch_size: whole("batch_size", &batch_size)?,
                batch_timeout_ms: whole("batch_timeout_ms", &batch_timeout_ms)?,
                concurrency: whole("concurrency", &concurrency)?,
            };
            if let Some((field, message)) = settings.problems().into_iter().next() {
                return Err(AppError::Invalid { field: field.into(), message });
            }
            handle()?.0.reconfigure(settings).await.map_err(AppError::Unavailable)?;
            Ok(settings)
        }
        .await,
    )
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
            Err("batch_size must be between 1 and 10000, not 0; concurrency must be between 1 and 16, not 17".into())
        );
    }
}
