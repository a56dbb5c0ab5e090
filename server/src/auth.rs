//! Who is asking, and the layer that lets each through to what their role allows.
//!
//! People log in at `{base}/login` and get a session cookie (HttpOnly, SameSite=Lax, so
//! other sites' forms and sockets do not carry it). Programs send an API token as
//! `Authorization: Bearer wages_…`; a token may do what its person's role allows, a
//! `read` token no more than a viewer. What each route takes is the table in
//! [`app::rights`]; successful changes it marks are written to the audit list.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Form, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use wages_store::Identity;

use crate::api::ApiError;
use crate::state::AppState;
use app::rights::{self, Need, Rule};

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
        return Ok(accounts.token(secret).await?.map(|(info, role, sites)| Identity::Token(info, role, sites)));
    }
    match session_cookie(headers) {
        Some(secret) => {
            let owner = accounts.session_user(secret).await?;
            Ok(owner.map(|owner| Identity::Person {
                user: owner.username,
                // The session's key for limits: a short digest, never the secret itself.
                session: wages_store::session_key(secret),
                role: owner.role,
                must_change_password: owner.must_change_password,
                sites: owner.sites,
            }))
        }
        None => Ok(None),
    }
}

/// The rule for a request: from the table, under the base path; outside it only the
/// bare root (a redirect home) is served, and leptos_axum's own mount of the server
/// functions, which must not be a way in.
fn rule_for(state: &AppState, method: &Method, path: &str) -> Rule {
    let Some(rest) = path.strip_prefix(state.base.as_str()) else {
        return match path.strip_prefix("/api/fn/") {
            Some(name) => rights::server_fn_rule(name).unwrap_or(rights::fallback(method.as_str())),
            None if path.starts_with("/api/") => rights::fallback(method.as_str()),
            None => Rule { need: Need::Open, first_login: true, audit: None },
        };
    };
    if rest == "/metrics" && state.metrics_public {
        return Rule { need: Need::Open, first_login: true, audit: None };
    }
    rights::lookup(method.as_str(), rest).unwrap_or(rights::fallback(method.as_str()))
}

/// Why `identity` may not use a route of `rule`, if it may not.
fn refusal(identity: &Identity, rule: &Rule) -> Option<String> {
    let need = rule.need.role()?;
    if matches!(rule.need, Need::Person(_)) && matches!(identity, Identity::Token(..)) {
        return Some("only a person who logged in may do this, not a token".into());
    }
    if identity.role() < need {
        let what = match identity {
            Identity::Token(t, ..) if t.scope == wages_store::Scope::Read => "this token may only read".to_owned(),
            Identity::Token(..) => format!("this token's person is a {}", identity.role().as_str()),
            Identity::Person { .. } => format!("you are a {}", identity.role().as_str()),
        };
        return Some(format!("this needs the {} role; {what}", need.as_str()));
    }
    if let Identity::Person { must_change_password: true, .. } = identity
        && !rule.first_login
    {
        return Some("choose your own password first, on your account page".into());
    }
    None
}

/// The middleware: lets each request through when the table's rule for it allows who
/// is asking, and records the audited changes that succeed.
pub async fn require_login(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let base = state.base.as_str();
    let path = req.uri().path().to_owned();
    let rule = rule_for(&state, req.method(), &path);
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if rule.need == Need::Open {
        return next.run(req).await;
    }
    let reads = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    match identify(&state, req.headers()).await {
        Ok(Some(identity)) => match refusal(&identity, &rule) {
            None => {
                req.extensions_mut().insert(identity.clone());
                // Someone limited to some sites reaches only those sites' scales.
                let req = match identity.sites().limited() {
                    Some(_) => match within_sites(&state, req, &identity).await {
                        Ok(req) => req,
                        Err(refused) => return refused.into_response(),
                    },
                    None => req,
                };
                match rule.audit {
                    Some(action) => audited(&state, req, next, &identity, action).await,
                    None => next.run(req).await,
                }
            }
            // A person who must choose a password is taken there from any page.
            Some(_)
                if reads && wants_html && matches!(identity, Identity::Person { must_change_password: true, .. }) =>
            {
                Redirect::to(&format!("{base}/me")).into_response()
            }
            Some(why) => ApiError::Forbidden(why).into_response(),
        },
        Ok(None) => {
            let rest = path.strip_prefix(base).unwrap_or(&path);
            // A person's browser goes to the login form; programs get a 401.
            if reads && wants_html && !rest.starts_with("/api/") {
                let next_path = req.uri().path_and_query().map_or(path.as_str(), |pq| pq.as_str());
                let to = format!("{base}/login?next={}", url_escape(next_path));
                return Redirect::to(&to).into_response();
            }
            ApiError::Unauthorized("log in, or send an API token as Authorization: Bearer wages_…".into())
                .into_response()
        }
        Err(e) => ApiError::Unavailable(e.to_string()).into_response(),
    }
}

/// The request when the scale it names (in its path, or a server function's
/// `client_id`) is within `identity`'s sites or unknown; a 404 as for an unknown scale
/// otherwise.
async fn within_sites(state: &AppState, req: Request, identity: &Identity) -> Result<Request, ApiError> {
    let rest = req.uri().path().strip_prefix(state.base.as_str()).unwrap_or(req.uri().path()).to_owned();
    let method = req.method().as_str().to_owned();
    let (req, named) = if rest.starts_with("/api/fn/") {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, SERVER_FN_BODY_BYTES)
            .await
            .map_err(|_| ApiError::PayloadTooLarge(format!("at most {SERVER_FN_BODY_BYTES} bytes")))?;
        let named = url::form_urlencoded::parse(&bytes).find(|(k, _)| k == "client_id").map(|(_, v)| v.into_owned());
        (Request::from_parts(parts, Body::from(bytes)), named)
    } else {
        let named = rights::scale_parameter(&method, &rest);
        (req, named)
    };
    let Some(raw) = named else { return Ok(req) };
    let Ok(client_id) = wages_codec::ClientId::parse(&raw) else { return Ok(req) };
    match state.registry.get(&client_id).await {
        Ok(Some(device)) if !identity.sites().allows(device.site.as_deref()) => {
            Err(ApiError::NotFound(format!("no device with client_id {client_id}")))
        }
        Ok(_) => Ok(req),
        Err(e) => Err(ApiError::Unavailable(e.to_string())),
    }
}

/// Largest server function body read to find the scale it names (axum's own default
/// bound for a body).
const SERVER_FN_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Largest body an audited request may have: its fields are read for the audit list.
const AUDITED_BODY_BYTES: usize = 64 * 1024;

/// Fields of an audited request's body that say what it changed (never secrets).
const AUDITED_FIELDS: &[&str] =
    &["client_id", "username", "id", "name", "version", "role", "disabled", "display_name", "scope"];

/// Runs an audited request and records it when it succeeds: who, the table's name for
/// it, and what it changed (the path's parameters and the body's telling fields).
async fn audited(state: &AppState, req: Request, next: Next, identity: &Identity, action: &str) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, AUDITED_BODY_BYTES).await else {
        return ApiError::PayloadTooLarge(format!("this request's body may be at most {AUDITED_BODY_BYTES} bytes"))
            .into_response();
    };
    let rest = parts.uri.path().strip_prefix(state.base.as_str()).unwrap_or(parts.uri.path());
    let mut target = rights::parameters(parts.method.as_str(), rest);
    target.extend(telling_fields(&bytes));
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    if response.status().is_success()
        && let Err(e) = state.registry.shares().record(&identity.who(), action, &target.join(", ")).await
    {
        tracing::warn!(error = %e, action, "a change was made but could not be written to the audit list");
    }
    response
}

/// `key=value` for each of [`AUDITED_FIELDS`] in a JSON object or a form.
fn telling_fields(body: &[u8]) -> Vec<String> {
    let pairs: Vec<(String, String)> = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) => {
            map.into_iter().map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_owned))).collect()
        }
        _ => url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect(),
    };
    pairs
        .into_iter()
        .filter(|(k, v)| AUDITED_FIELDS.contains(&k.as_str()) && !v.is_empty() && v != "null")
        .map(|(k, v)| format!("{k}={}", v.chars().take(100).collect::<String>()))
        .collect()
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

/// The session cookie; `secure` over HTTPS, so the browser never sends it in clear.
fn cookie(base: &str, value: &str, max_age_s: u64, secure: bool) -> HeaderValue {
    let path = if base.is_empty() { "/" } else { base };
    let secure = if secure { "; Secure" } else { "" };
    let text = format!("{COOKIE}={value}; Path={path}; Max-Age={max_age_s}; HttpOnly; SameSite=Lax{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

/// Failed logins counted per user name and per address, to slow down guessing.
pub struct LoginThrottle {
    failures: std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, u32)>>,
}

/// How long failed logins count.
const THROTTLE_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// Failed logins for one user name in a window before the next are refused.
const FAILURES_PER_USER: u32 = 10;
/// Failed logins from one address in a window before the next are refused.
const FAILURES_PER_ADDRESS: u32 = 30;
/// Most keys kept; beyond them the oldest windows are forgotten first.
const MAX_THROTTLE_KEYS: usize = 100_000;

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle { failures: std::sync::Mutex::new(std::collections::HashMap::new()) }
    }
}

impl LoginThrottle {
    /// How long `keys` (with their limits) must wait, if any is over its limit.
    fn wait(&self, keys: &[(&str, u32)]) -> Option<std::time::Duration> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter()
            .filter_map(|(key, limit)| {
                let (since, count) = failures.get(*key)?;
                let left = THROTTLE_WINDOW.checked_sub(since.elapsed())?;
                (*count >= *limit).then_some(left)
            })
            .max()
    }

    /// Counts a failed login against each of `keys`.
    fn failed(&self, keys: &[(&str, u32)]) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= MAX_THROTTLE_KEYS {
            failures.retain(|_, (since, _)| since.elapsed() < THROTTLE_WINDOW);
        }
        for (key, _) in keys {
            let entry = failures.entry((*key).to_owned()).or_insert((std::time::Instant::now(), 0));
            if entry.0.elapsed() >= THROTTLE_WINDOW {
                *entry = (std::time::Instant::now(), 0);
            }
            entry.1 += 1;
        }
    }
}

/// `POST {base}/login`: checks the password, starts a session, goes where the person
/// was headed. A failure goes back to the form, saying so; too many failures for one
/// user name or from one address get 429 until their window ends.
pub async fn login(
    State(state): State<AppState>,
    connection: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let base = state.base.as_str();
    let accounts = state.registry.accounts();
    let next = safe_next(base, form.next.as_deref());
    let username = form.username.trim().to_lowercase();
    let user_key = format!("user {}", username.chars().take(100).collect::<String>());
    let address_key = format!("address {}", connection.map_or_else(String::new, |c| c.0.0.ip().to_string()));
    let keys = [(user_key.as_str(), FAILURES_PER_USER), (address_key.as_str(), FAILURES_PER_ADDRESS)];
    if let Some(wait) = state.login_throttle.wait(&keys) {
        let seconds = wait.as_secs().max(1);
        let mut response = (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many failed logins. Try again in {} minutes.", seconds.div_ceil(60)),
        )
            .into_response();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return response;
    }
    match accounts.verify_password(&username, &form.password).await {
        Ok(true) => {
            let agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default();
            match accounts.start_session(&username, agent).await {
                Ok(secret) => {
                    let mut response = Redirect::to(&next).into_response();
                    let max_age = wages_store::SESSION_LIFETIME.as_secs();
                    response.headers_mut().insert(header::SET_COOKIE, cookie(base, &secret, max_age, state.https));
                    response
                }
                Err(e) => ApiError::Unavailable(e.to_string()).into_response(),
            }
        }
        Ok(false) => {
            state.login_throttle.failed(&keys);
            tracing::warn!(username = %username.chars().take(100).collect::<String>(), "a login failed");
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
    response.headers_mut().insert(header::SET_COOKIE, cookie(base, "", 0, state.https));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_paths_are_few() {
        let open = |path: &str| rights::lookup("GET", path).is_some_and(|r| r.need == Need::Open);
        for path in [
            "/healthz",
            "/readyz",
            "/login",
            "/pkg/wages.wasm",
            "/mqtt",
            "/manifest.webmanifest",
            "/sw.js",
            "/icon-512.png",
        ] {
            assert!(open(path), "{path}");
        }
        for closed in ["/", "/devices", "/api/devices", "/api/fn/x", "/loginx", "/pkg", "/tokens", "/metrics", "/me"] {
            assert!(!open(closed), "{closed}");
        }
    }

    #[test]
    fn audit_records_what_changed_but_no_secret() {
        let json = br#"{"client_id":"scale-01","name":"Bar","password":"hunter22","disabled":true}"#;
        assert_eq!(telling_fields(json), vec!["client_id=scale-01", "disabled=true", "name=Bar"]);
        assert_eq!(telling_fields(b"username=sam&password=x&role=barista"), vec!["username=sam", "role=barista"]);
        assert!(telling_fields(b"").is_empty());
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
