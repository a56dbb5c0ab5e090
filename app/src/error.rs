//! The error server functions return: it crosses the wire as JSON and reads well.

use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
use wages_store::RegistryError;

/// What went wrong, in words for the person using the app.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AppError {
    /// A form field breaks a rule; forms show `message` next to `field`.
    #[error("{field} {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    NotFound(String),
    /// The caller may not do this (for example a token managing tokens).
    #[error("{0}")]
    Forbidden(String),
    /// The change would break what depends on it (beans still on shots).
    #[error("{0}")]
    Conflict(String),
    /// A part of the server this call needs is not working.
    #[error("{0}")]
    Unavailable(String),
    /// The call did not reach the server or its answer could not be read.
    #[error("could not reach the server: {0}")]
    Transport(String),
}

impl AppError {
    /// The message for the field `field`, if this error is about it.
    pub fn for_field(&self, field: &str) -> Option<String> {
        match self {
            AppError::Invalid { field: f, message } if f == field => Some(format!("{f} {message}")),
            _ => None,
        }
    }
}

/// Gives a failed server function a fitting HTTP status (422 for invalid input, 404,
/// 503) instead of the default 500, so a form's rejection is not reported as a crash.
pub fn with_status<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    #[cfg(feature = "ssr")]
    if let Err(e) = &result
        && let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
    {
        response.set_status(match e {
            AppError::Invalid { .. } => http::StatusCode::UNPROCESSABLE_ENTITY,
            AppError::NotFound(_) => http::StatusCode::NOT_FOUND,
            AppError::Forbidden(_) => http::StatusCode::FORBIDDEN,
            AppError::Conflict(_) => http::StatusCode::CONFLICT,
            AppError::Unavailable(_) | AppError::Transport(_) => http::StatusCode::SERVICE_UNAVAILABLE,
        });
    }
    result
}

impl FromServerFnError for AppError {
    type Encoder = crate::json::JsonText;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

impl From<wages_store::pipeline::PipelineError> for AppError {
    fn from(e: wages_store::pipeline::PipelineError) -> Self {
        use wages_store::pipeline::PipelineError;
        match e {
            PipelineError::Invalid(message) => AppError::Invalid { field: "settings".into(), message },
            PipelineError::Stopped | PipelineError::StillStoring | PipelineError::Broker(_) => {
                AppError::Unavailable(e.to_string())
            }
        }
    }
}

impl From<RegistryError> for AppError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::Invalid { field, message } => AppError::Invalid { field, message },
            // In a form, a taken id is a problem with the id field.
            RegistryError::Duplicate(_) => {
                AppError::Invalid { field: "client_id".into(), message: "is already registered".into() }
            }
            RegistryError::NotFound(_) | RegistryError::Unknown(_) => AppError::NotFound(e.to_string()),
            RegistryError::Conflict(message) => AppError::Conflict(message),
            RegistryError::Database(_) | RegistryError::Influx(_) => AppError::Unavailable(e.to_string()),
        }
    }
}
