//! The server functions of the `{base}/pipeline` page. The shapes they carry are
//! `wages_store::pipeline`'s; the pipeline itself runs in the server crate and reaches
//! these functions through [`PipelineHandle`] in the Leptos context.

use leptos::prelude::*;

use crate::error::AppError;

pub use wages_store::pipeline::{
    BATCH_SIZE, BATCH_TIMEOUT_MS, CONCURRENCY, DeadLetter, DeviceFigures, PipelineControl, PipelineFigures,
    PipelineSettings,
};

/// The running pipeline in the Leptos context.
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct PipelineHandle(pub std::sync::Arc<dyn PipelineControl>);

#[cfg(feature = "ssr")]
pub(crate) fn handle() -> Result<PipelineHandle, AppError> {
    use_context::<PipelineHandle>().ok_or_else(|| AppError::Unavailable("ingestion is not running".into()))
}

/// The pipeline's figures and its most recent rejections.
#[server(prefix = "/api/fn", output = crate::json::Json)]
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
#[server(prefix = "/api/fn", output = crate::json::Json)]
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
            handle()?.0.reconfigure(settings).await?;
            Ok(settings)
        }
        .await,
    )
}
