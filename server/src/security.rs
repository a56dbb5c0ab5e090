//! Security headers on every response.
//!
//! Pages get a Content-Security-Policy with the render's nonce (set while rendering, in
//! [`page_policy`]): scripts only from this origin or inline with that nonce (Leptos's
//! hydration and resource scripts carry it), WebAssembly allowed, sockets and fetches
//! only to this origin. Everything else (JSON, assets, Swagger UI) gets
//! [`DEFAULT_POLICY`]. Nothing may frame the app.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The policy for responses that are not rendered pages.
pub const DEFAULT_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
     frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

/// The policy of a rendered page whose inline scripts carry `nonce`. Inline `style`
/// attributes stay allowed: the pages set widths and colours with them.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )
}

/// Adds the headers every response carries; keeps a page's own CSP.
pub async fn headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    };
    set(headers, header::CONTENT_SECURITY_POLICY, DEFAULT_POLICY);
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "same-origin");
    response
}
