//! The API's one error type: every failure becomes a status and a JSON body,
//! `{"error":{"code":"not_found","message":"…"}}` (plus `"field"` for invalid input).

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use wages_store::RegistryError;
use wages_store::pipeline::PipelineError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    /// No login and no API token.
    #[error("{0}")]
    Unauthorized(String),
    /// A login or token that may not do this (a read token writing).
    #[error("{0}")]
    Forbidden(String),
    #[error("{field} {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    TooManyRequests(String),
}

/// The JSON body of every error response.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: `bad_request`, `unauthorized`, `forbidden`, `invalid`, `not_found`, `conflict`, `payload_too_large`, `unsupported_media_type`, `unavailable`, `too_many_requests`.
    code: &'static str,
    /// For people.
    message: String,
    /// The invalid field, for `invalid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

/// Every code an error response can carry.
const CODES: [&str; 10] = [
    "bad_request",
    "unauthorized",
    "forbidden",
    "invalid",
    "not_found",
    "conflict",
    "payload_too_large",
    "unsupported_media_type",
    "unavailable",
    "too_many_requests",
];

/// An error response's code, left in its extensions for [`crate::metrics`] to count.
#[derive(Clone, Copy, Debug)]
pub struct ErrorCode(pub &'static str);

/// Error responses since start, by code: each bound the API enforces (body size, JSON
/// shape and depth, field lengths, query limits, live streams per client) answers with
/// one of these codes.
#[derive(Default)]
pub struct ErrorCounts([AtomicU64; CODES.len()]);

impl ErrorCounts {
    pub fn count(&self, code: &str) {
        if let Some(n) = CODES.iter().position(|c| *c == code) {
            self.0[n].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Every code with its count, zeros too.
    pub fn counts(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        CODES.iter().copied().zip(self.0.iter().map(|n| n.load(Ordering::Relaxed)))
    }
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if status.is_server_error() {
            tracing::warn!(error = %self, "API request failed");
        }
        let field = match &self {
            ApiError::Invalid { field, .. } => Some(field.clone()),
            _ => None,
        };
        let body = ErrorBody { error: ErrorDetail { code, message: self.to_string(), field } };
        let mut response = (status, Json(body)).into_response();
        response.extensions_mut().insert(ErrorCode(code));
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"wages\""),
            );
        }
        response
    }
}

impl From<PipelineError> for ApiError {
    fn from(e: PipelineError) -> Self {
        match e {
            PipelineError::Invalid(message) => ApiError::Invalid { field: "settings".into(), message },
            PipelineError::Stopped | PipelineError::StillStoring | PipelineError::Broker(_) => {
                ApiError::Unavailable(e.to_string())
            }
        }
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::Invalid { field, message } => ApiError::Invalid { field, message },
            RegistryError::Duplicate(_) => ApiError::Conflict(e.to_string()),
            RegistryError::NotFound(_) | RegistryError::Unknown(_) => ApiError::NotFound(e.to_string()),
            RegistryError::Conflict(_) => ApiError::Conflict(e.to_string()),
            RegistryError::Database(_) | RegistryError::Influx(_) => ApiError::Unavailable(e.to_string()),
        }
    }
}

/// The field a body error is about: axum reports the path first (`name: invalid
/// type…`), and serde names missing and unknown fields in backticks.
fn field_in(message: &str) -> Option<String> {
    let is_field = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if let Some((path, _)) = message.split_once(": ")
        && is_field(path)
    {
        return Some(path.to_owned());
    }
    let rest = message.strip_prefix("missing field `").or_else(|| message.strip_prefix("unknown field `"))?;
    rest.split_once('`').map(|(field, _)| field.to_owned())
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => {
                let message = e.body_text();
                let message = message
                    .strip_prefix("Failed to deserialize the JSON body into the target type: ")
                    .unwrap_or(&message);
                match field_in(message) {
                    Some(field) => ApiError::Invalid { field, message: format!("is invalid: {message}") },
                    None => ApiError::BadRequest(format!("the JSON body does not fit: {message}")),
                }
            }
            JsonRejection::JsonSyntaxError(e) => {
                ApiError::BadRequest(format!("the body is not valid JSON: {}", e.body_text()))
            }
            JsonRejection::MissingJsonContentType(_) => {
                ApiError::UnsupportedMediaType("send the body as JSON, with Content-Type: application/json".into())
            }
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::PayloadTooLarge(format!(
                    "the body is larger than the {} bytes allowed",
                    super::MAX_BODY_BYTES
                ))
            }
            other => ApiError::BadRequest(other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::BadRequest(format!("bad query string: {}", rejection.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}

#[cfg(test)]
mod tests {
    use super::field_in;

    #[test]
    fn finds_the_field_serde_names() {
        assert_eq!(field_in("missing field `name` at line 1 column 2").as_deref(), Some("name"));
        assert_eq!(field_in("unknown field `nme`, expected `client_id` or `name`").as_deref(), Some("nme"));
        assert_eq!(field_in("name: invalid type: integer `5`, expected a string").as_deref(), Some("name"));
        assert_eq!(field_in("invalid type: integer `5`, expected a string"), None);
        assert_eq!(field_in("no backticks"), None);
    }
}
