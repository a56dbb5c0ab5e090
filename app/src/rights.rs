//! What needs what: one table of every route and server function with the least role it
//! takes. The server's login layer reads it on every request; the pages read it too, so
//! a form a person may not use is not shown to them ([`crate::form::BasedActionForm`]).
//!
//! A route missing from the table is refused to all but admins for anything but a read,
//! and the rights test fails for it, so a new route gets its rule with it. Rows marked
//! `audit` are written to the audit list when they succeed.

use wages_store::Role;

/// Who may use a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Anyone, logged in or not.
    Open,
    /// Someone logged in, or a token, with at least this role.
    Role(Role),
    /// A person logged in with at least this role; no token (tokens cannot make tokens,
    /// nor act as a person on their own account).
    Person(Role),
}

impl Need {
    /// The role it takes, if any.
    pub fn role(self) -> Option<Role> {
        match self {
            Need::Open => None,
            Need::Role(r) | Need::Person(r) => Some(r),
        }
    }
}

/// One row of the table.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub need: Need,
    /// Allowed before a person has replaced a password an admin set.
    pub first_login: bool,
    /// What the audit list calls a successful request, if it is recorded.
    pub audit: Option<&'static str>,
}

const fn rule(need: Need) -> Rule {
    Rule { need, first_login: false, audit: None }
}

const V: Rule = rule(Need::Role(Role::Viewer));
const B: Rule = rule(Need::Role(Role::Barista));
const A: Rule = rule(Need::Role(Role::Admin));
const OPEN: Rule = rule(Need::Open);
/// Someone's own account: open to every person, also before their first password change.
const ME: Rule = Rule { need: Need::Person(Role::Viewer), first_login: true, audit: None };

const fn audited(rule: Rule, what: &'static str) -> Rule {
    Rule { audit: Some(what), ..rule }
}

const fn person(rule: Rule) -> Rule {
    match rule.need {
        Need::Role(r) => Rule { need: Need::Person(r), ..rule },
        _ => rule,
    }
}

/// Routes under the base path: method (`*` for any), path pattern (`{x}` one segment,
/// `{*x}` the rest), rule. The first match counts.
pub const ROUTES: &[(&str, &str, Rule)] = &[
    // Open to all.
    ("GET", "/healthz", OPEN),
    ("GET", "/readyz", OPEN),
    ("GET", "/login", OPEN),
    ("POST", "/login", OPEN),
    ("GET", "/mqtt", OPEN),
    ("GET", "/favicon.ico", OPEN),
    ("GET", "/manifest.webmanifest", OPEN),
    ("GET", "/sw.js", OPEN),
    ("GET", "/icon.svg", OPEN),
    ("GET", "/icon-192.png", OPEN),
    ("GET", "/icon-512.png", OPEN),
    ("GET", "/pkg/{*file}", OPEN),
    // A shared shot: its page, its preview image and its readings, nothing else.
    ("GET", "/s/{code}", OPEN),
    ("GET", "/s/{code}/preview.png", OPEN),
    ("GET", "/s/{code}/readings.csv", OPEN),
    // `/metrics` is open unless WAGES_METRICS_PUBLIC=false; then this row holds.
    ("GET", "/metrics", V),
    // One's own account.
    ("GET", "/me", ME),
    ("POST", "/logout", ME),
    ("GET", "/prefs", ME),
    // Pages.
    ("GET", "/", V),
    ("GET", "/devices", V),
    ("GET", "/devices/{client_id}", V),
    ("GET", "/devices/{client_id}/sessions/{session_id}", V),
    ("GET", "/shots", V),
    ("GET", "/shots/import", B),
    ("POST", "/shots/import/upload", B),
    ("GET", "/beans", V),
    ("GET", "/compare", V),
    ("GET", "/pipeline", V),
    ("GET", "/firmware", V),
    ("GET", "/simulator/{client_id}", B),
    // The Bluetooth bridge brews as an existing scale; registering a new one is an
    // admin's, as everywhere.
    ("GET", "/bluetooth", B),
    ("GET", "/tokens", person(A)),
    ("GET", "/people", A),
    ("GET", "/audit", A),
    // The JSON API.
    ("GET", "/api/openapi.json", V),
    ("GET", "/api/docs", V),
    ("GET", "/api/docs/{*file}", V),
    ("GET", "/api/devices", V),
    ("POST", "/api/devices", audited(A, "register scale")),
    ("GET", "/api/devices/{client_id}", V),
    ("PATCH", "/api/devices/{client_id}", audited(A, "rename scale")),
    ("DELETE", "/api/devices/{client_id}", audited(A, "delete scale")),
    ("POST", "/api/devices/{client_id}/credential", audited(A, "new scale password")),
    ("GET", "/api/devices/{client_id}/live", V),
    ("GET", "/api/live", V),
    ("GET", "/api/devices/{client_id}/sessions", V),
    ("GET", "/api/devices/{client_id}/sessions/{session_id}", V),
    ("PATCH", "/api/devices/{client_id}/sessions/{session_id}", B),
    ("GET", "/api/devices/{client_id}/sessions/{session_id}/export", V),
    ("GET", "/api/devices/{client_id}/sessions/{session_id}/readings", V),
    ("GET", "/api/devices/{client_id}/sessions/{session_id}/buckets", V),
    ("GET", "/api/devices/{client_id}/sessions/{session_id}/share", B),
    ("PUT", "/api/devices/{client_id}/sessions/{session_id}/share", B),
    ("PUT", "/api/devices/{client_id}/site", audited(A, "move scale to a site")),
    ("GET", "/api/devices/{client_id}/recipe", V),
    ("PUT", "/api/devices/{client_id}/recipe", B),
    ("GET", "/api/beans", V),
    ("POST", "/api/beans", B),
    ("GET", "/api/beans/{id}", V),
    ("PATCH", "/api/beans/{id}", B),
    ("DELETE", "/api/beans/{id}", B),
    ("GET", "/api/shots", V),
    ("POST", "/api/shots/import", B),
    ("POST", "/api/shots/import/backup", B),
    ("GET", "/api/shares", B),
    ("DELETE", "/api/shares/{code}", B),
    ("GET", "/api/pipeline", V),
    ("PUT", "/api/pipeline/config", audited(A, "change pipeline settings")),
    ("GET", "/api/dead-letters", V),
    ("GET", "/api/firmware", V),
    ("POST", "/api/firmware", audited(A, "offer firmware")),
    ("GET", "/api/people", A),
    ("POST", "/api/people", audited(A, "add person")),
    ("GET", "/api/people/{username}", A),
    ("PATCH", "/api/people/{username}", audited(A, "change person")),
    ("DELETE", "/api/people/{username}", audited(A, "delete person")),
    ("GET", "/api/audit", A),
    ("GET", "/api/sites", V),
    ("POST", "/api/sites", audited(A, "add site")),
    ("PATCH", "/api/sites/{site}", audited(A, "change site")),
    ("DELETE", "/api/sites/{site}", audited(A, "delete site")),
];

/// Server functions (`{base}/api/fn/{name}…`) by name.
pub const SERVER_FNS: &[(&str, Rule)] = &[
    ("server_status", V),
    ("list_devices", V),
    ("read_fleet", V),
    ("read_scale", V),
    ("read_scale_card", V),
    ("read_session", V),
    ("live_readings", V),
    ("register_device", audited(A, "register scale")),
    ("rename_device", audited(A, "rename scale")),
    ("delete_device", audited(A, "delete scale")),
    ("rotate_device_password", audited(A, "new scale password")),
    ("simulator_password", B),
    ("stored_readings", B),
    ("list_beans", V),
    ("save_beans", B),
    ("set_recipe", B),
    ("edit_shot", B),
    ("find_shots", V),
    ("share_shot", B),
    ("withdraw_share", B),
    ("read_pipeline", V),
    ("configure_pipeline", audited(A, "change pipeline settings")),
    ("read_rollout", V),
    ("offer_firmware", audited(A, "offer firmware")),
    ("list_tokens", person(A)),
    ("create_token", audited(person(A), "create token")),
    ("revoke_token", audited(person(A), "revoke token")),
    ("list_people", A),
    ("add_person", audited(A, "add person")),
    ("update_person", audited(A, "change person")),
    ("delete_person", audited(A, "delete person")),
    ("read_audit", A),
    ("list_sites", V),
    ("add_site", audited(A, "add site")),
    ("delete_site", audited(A, "delete site")),
    ("set_device_site", audited(A, "move scale to a site")),
    ("read_me", ME),
    ("change_own_password", ME),
    ("set_own_display_name", ME),
    ("end_own_session", ME),
];

/// The rule for `method` on `rest` (the path under the base path), if the table has one.
pub fn lookup(method: &str, rest: &str) -> Option<Rule> {
    let method = if method == "HEAD" { "GET" } else { method };
    if let Some(name) = rest.strip_prefix("/api/fn/") {
        return server_fn_rule(name);
    }
    let rest = if rest.is_empty() { "/" } else { rest };
    ROUTES
        .iter()
        .find(|(m, pattern, _)| (*m == "*" || *m == method) && matches(pattern, rest))
        .map(|(_, _, rule)| *rule)
}

/// A server function's rule from its path's last part: its name, then the digits of the
/// hash `server_fn` appends.
pub fn server_fn_rule(endpoint: &str) -> Option<Rule> {
    let name = endpoint.trim_end_matches(|c: char| c.is_ascii_digit());
    SERVER_FNS.iter().find(|(n, _)| *n == name).map(|(_, rule)| *rule)
}

/// What a route without a row takes: a read by anyone logged in (an unknown page is the
/// 404 page), anything else only by an admin.
pub fn fallback(method: &str) -> Rule {
    if matches!(method, "GET" | "HEAD" | "OPTIONS") { V } else { A }
}

/// Whether `path` fits `pattern`.
fn matches(pattern: &str, path: &str) -> bool {
    let mut want = pattern.split('/');
    let mut have = path.split('/');
    loop {
        match (want.next(), have.next()) {
            (None, None) => return true,
            (Some(w), Some(h)) if w.starts_with("{*") => return !h.is_empty() || have.next().is_some(),
            (Some(w), Some(h)) if w.starts_with('{') => {
                if h.is_empty() {
                    return false;
                }
            }
            (Some(w), Some(h)) if w == h => {}
            _ => return false,
        }
    }
}

/// Parameters of `path` named in `pattern`, in order: what the audit list records as
/// what was changed.
pub fn parameters(method: &str, rest: &str) -> Vec<String> {
    let Some((_, pattern, _)) = ROUTES.iter().find(|(m, p, _)| (*m == "*" || *m == method) && matches(p, rest)) else {
        return Vec::new();
    };
    pattern
        .split('/')
        .zip(rest.split('/'))
        .filter(|(w, _)| w.starts_with('{'))
        .map(|(_, h)| percent_decode(h))
        .collect()
}

/// The scale a route of the table names in its path (`{client_id}`), if any.
pub fn scale_parameter(method: &str, rest: &str) -> Option<String> {
    let method = if method == "HEAD" { "GET" } else { method };
    let (_, pattern, _) = ROUTES.iter().find(|(m, p, _)| (*m == "*" || *m == method) && matches(p, rest))?;
    pattern.split('/').zip(rest.split('/')).find(|(w, _)| *w == "{client_id}").map(|(_, h)| percent_decode(h))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_whole_segments() {
        assert!(matches("/devices/{id}", "/devices/scale-01"));
        assert!(!matches("/devices/{id}", "/devices/"));
        assert!(!matches("/devices/{id}", "/devices/a/b"));
        assert!(matches("/pkg/{*file}", "/pkg/a/b.wasm"));
        assert!(!matches("/pkg/{*file}", "/pkg/"));
        assert!(!matches("/pkg/{*file}", "/pkg"));
        assert!(matches("/", "/"));
        assert!(!matches("/login", "/loginx"));
    }

    #[test]
    fn rules_are_found_by_method_and_path() {
        assert_eq!(lookup("GET", "/api/devices").map(|r| r.need), Some(Need::Role(Role::Viewer)));
        assert_eq!(lookup("POST", "/api/devices").map(|r| r.need), Some(Need::Role(Role::Admin)));
        assert_eq!(lookup("HEAD", "/healthz").map(|r| r.need), Some(Need::Open));
        assert_eq!(lookup("POST", "/api/fn/edit_shot1234567").map(|r| r.need), Some(Need::Role(Role::Barista)));
        assert_eq!(lookup("POST", "/api/fn/read_scale_card99").map(|r| r.need), Some(Need::Role(Role::Viewer)));
        assert!(lookup("POST", "/api/fn/unknown").is_none());
        assert!(lookup("DELETE", "/api/pipeline").is_none());
        assert_eq!(fallback("DELETE").need, Need::Role(Role::Admin));
        assert_eq!(parameters("PATCH", "/api/people/sam%20k"), vec!["sam k".to_owned()]);
        assert_eq!(scale_parameter("GET", "/api/devices/scale-01/sessions/s1").as_deref(), Some("scale-01"));
        assert_eq!(scale_parameter("GET", "/devices/scale-01").as_deref(), Some("scale-01"));
        assert_eq!(scale_parameter("GET", "/api/shots"), None);
    }
}
