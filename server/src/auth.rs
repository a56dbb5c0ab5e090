//! Who is asking, and the layer that turns everyone else away.
//!
//! People log in at `{base}/login` and get a session cookie (HttpOnly, SameSite=Lax, so
//! other sites' forms and sockets do not carry it). Programs send an API token as
//! `Authorization: Bearer wages_…`; a `read` token may only GET. Open to all: health,
//! readiness, the login page, static assets, `{base}/mqtt` (scales authenticate to the
//! broker, not here) and `{base}/metrics` unless `WAGES_METRICS_PUBLIC=false`.

use axum::extract::{Form, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use wages_store::Identity;

use crate::api::ApiError;
use crate::state::AppState;

/// The login session cookie.
pub const COOKIE: &str = "wages_session";

/// The session cookie's value, if the request has one.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

async fn identify(state: &AppState, headers: &HeaderMap) -> Result<Option<Identity>, wages_store::RegistryError> {
    let accounts = state.registry.accounts();
    if let Some(bearer) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let secret = bearer.strip_prefix("Bearer ").unwrap_or_default().trim();
        return Ok(accounts.token(secret).await?.map(Identity::Token));
    }
    match session_cookie(headers) {
        Some(secret) => {
            let user = accounts.session_user(secret).await?;
            // The session's key for limits: a short digest, never the secret itself.
            Ok(user.map(|user| Identity::Person { user, session: wages_store::session_key(secret) }))
        }
        None => Ok(None),
    }
}

/// Paths anyone may reach, relative to the base path.
fn is_public(rest: &str, metrics_public: bool) -> bool {
    matches!(rest, "/healthz" | "/readyz" | "/login" | "/mqtt" | "/favicon.ico")
        // What a browser fetches to install the app, without the person's cookie.
        || matches!(rest, "/manifest.webmanifest" | "/icon.svg" | "/icon-192.png" | "/icon-512.png")
        || rest.starts_with("/pkg/")
        || (rest == "/metrics" && metrics_public)
}

/// The middleware: lets public paths through, and everything else only with a login or
/// a token whose scope allows the method.
pub async fn require_login(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let base = state.base.as_str();
    let path = req.uri().path();
    let public = match path.strip_prefix(base) {
        Some(rest) => is_public(rest, state.metrics_public),
        // Outside the base path only the bare root (a redirect home) is served, and
        // leptos_axum's own mount of the server functions, which must not be a way in.
        None => !path.starts_with("/api/"),
    };
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if public {
        return next.run(req).await;
    }
    let reads = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    match identify(&state, req.headers()).await {
        Ok(Some(identity)) if reads || identity.may_write() => {
            req.extensions_mut().insert(identity);
            next.run(req).await
        }
        Ok(Some(_)) => ApiError::Forbidden("this token may only read (its scope is read)".into()).into_response(),
        Ok(None) => {
            let rest = path.strip_prefix(base).unwrap_or(path);
            // A person's browser goes to the login form; programs get a 401.
            if reads && wants_html && !rest.starts_with("/api/") {
                let next_path = req.uri().path_and_query().map_or(path, |pq| pq.as_str());
                let to = format!("{base}/login?next={}", url_escape(next_path));
                return Redirect::to(&to).into_response();
            }
            ApiError::Unauthorized("log in, or send an API token as Authorization: Bearer wages_…".into())
                .into_response()
        }
        Err(e) => ApiError::Unavailable(e.to_string()).into_response(),
    }
}

/// Percent-encodes what a query value must not carry raw.
fn url_escape(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Where to go after logging in: a path under the base, never another site.
fn safe_next(base: &str, next: Option<&str>) -> String {
    let home = if base.is_empty() { "/".to_owned() } else { base.to_owned() };
    match next {
        Some(n) if n.starts_with(&format!("{base}/")) && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => home,
    }
}

fn cookie(base: &str, value: &str, max_age_s: u64) -> HeaderValue {
    let path = if base.is_empty() { "/" } else { base };
    let text = format!("{COOKIE}={value}; Path={path}; Max-Age={max_age_s}; HttpOnly; SameSite=Lax");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

/// `POST {base}/login`: checks the password, starts a session, goes where the person
/// was headed. A failure goes back to the form, saying so.
pub async fn login(State(state): State<AppState>, Form(form): Form<LoginForm>) -> Response {
    let base = state.base.as_str();
    let accounts = state.registry.accounts();
    let next = safe_next(base, form.next.as_deref());
    match accounts.verify_password(form.username.trim(), &form.password).await {
        Ok(true) => match accounts.start_session(form.username.trim()).await {
            Ok(secret) => {
                let mut response = Redirect::to(&next).into_response();
                let max_age = wages_store::SESSION_LIFETIME.as_secs();
                response.headers_mut().insert(header::SET_COOKIE, cookie(base, &secret, max_age));
                response
            }
            Err(e) => ApiError::Unavailable(e.to_string()).into_response(),
        },
        Ok(false) => {
            tracing::warn!(username = %form.username.chars().take(100).collect::<String>(), "a login failed");
            Redirect::to(&format!("{base}/login?failed=1&next={}", url_escape(&next))).into_response()
        }
        Err(e) => ApiError::Unavailable(e.to_string()).into_response(),
    }
}

/// `POST {base}/logout`: ends the session and forgets the cookie.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = state.base.as_str();
    if let Some(secret) = session_cookie(&headers)
        && let Err(e) = state.registry.accounts().end_session(secret).await
    {
        return ApiError::Unavailable(e.to_string()).into_response();
    }
    let mut response = Redirect::to(&format!("{base}/login")).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie(base, "", 0));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_paths_are_few() {
        for open in
            ["/healthz", "/readyz", "/login", "/pkg/wages.wasm", "/mqtt", "/manifest.webmanifest", "/icon-512.png"]
        {
            assert!(is_public(open, false), "{open}");
        }
        for closed in ["/", "/devices", "/api/devices", "/api/fn/x", "/loginx", "/pkg", "/tokens"] {
            assert!(!is_public(closed, true), "{closed}");
        }
        assert!(is_public("/metrics", true));
        assert!(!is_public("/metrics", false));
    }

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next("/wages", Some("/wages/devices?q=1")), "/wages/devices?q=1");
        assert_eq!(safe_next("/wages", Some("https://evil.example/")), "/wages");
        assert_eq!(safe_next("", Some("//evil.example/")), "/");
        assert_eq!(safe_next("", Some("/\\evil.example")), "/");
        assert_eq!(safe_next("", None), "/");
        assert_eq!(safe_next("", Some("/devices")), "/devices");
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; wages_session=abc; b=2"));
        assert_eq!(session_cookie(&headers), Some("abc"));
        assert_eq!(session_cookie(&HeaderMap::new()), None);
    }
}
