//! Extractors and input checks whose rejections are [`ApiError`]s, so every error is the
//! same JSON.

use axum::body::{Body, Bytes};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// `axum::Json`, rejecting with a JSON error that names the field where it can. A body
/// is a JSON object: serde would also read a struct from an array of its fields in
/// order (`[null, null]`), which the API's document does not allow.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|e| ApiError::from(JsonRejection::from(e)))?;
        let is_object = bytes.trim_ascii_start().first() == Some(&b'{');
        let req = Request::from_parts(parts, Body::from(bytes));
        let axum::Json(value) = axum::Json::<T>::from_request(req, state).await?;
        if !is_object {
            return Err(ApiError::BadRequest("the JSON body must be an object".into()));
        }
        Ok(ApiJson(value))
    }
}

/// A site id a program sent: exactly as the API's document says, 1 to 32 of `a-z`,
/// `0-9` and `-` (the pages' forms also take one with spaces around or in capitals; a
/// program sends the id itself). `None` stays none.
pub fn site_id(field: &str, raw: Option<String>) -> Result<Option<String>, ApiError> {
    match raw {
        Some(raw) if wages_store::site::site_id(&raw).ok().as_ref() != Some(&raw) => Err(ApiError::Invalid {
            field: field.into(),
            message: format!("must be 1 to 32 of a-z, 0-9 and '-', found {raw:?}"),
        }),
        raw => Ok(raw),
    }
}

/// A `?site=` filter: empty is no filter, anything else a site id ([`site_id`]).
pub fn site_filter(raw: Option<String>) -> Result<Option<String>, ApiError> {
    site_id("site", raw.filter(|s| !s.is_empty()))
}
