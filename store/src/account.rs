//! People, roles, shares and API tokens: the shapes and rules the pages and the API share.

use serde::{Deserialize, Serialize};

use crate::error::RegistryError;
use crate::site::Sites;

/// Longest password accepted at login, in bytes: argon2 would hash megabytes too.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Longest password a person may choose or be given, in characters (at most 1,024 bytes).
pub const MAX_PASSWORD_CHARS: usize = 256;
/// The account created at first start.
pub const ADMIN: &str = "admin";

/// What an API token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// GET only: pages' data, the API's reads, live streams.
    Read,
    /// Everything a logged-in person may do.
    Write,
}

impl Scope {
    pub fn parse(s: &str) -> Result<Scope, RegistryError> {
        match s {
            "read" => Ok(Scope::Read),
            "write" => Ok(Scope::Write),
            _ => Err(RegistryError::invalid("scope", "must be read or write")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }
}

/// An API token as listed: never its secret. Times are milliseconds since the epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Public part of the token, also the first part of its secret (`wages_{id}_…`).
    pub id: String,
    pub name: String,
    pub scope: Scope,
    pub created_by: String,
    pub created_at: i64,
}

/// What a person may do. Each role may do everything the ones before it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything, changes nothing.
    Viewer,
    /// Brews: edits shots, beans and recipes, imports shots, uses the simulator tab.
    Barista,
    /// Also scales, firmware, tokens, people and the pipeline's settings.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Barista, Role::Admin];

    pub fn parse(s: &str) -> Result<Role, RegistryError> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "barista" => Ok(Role::Barista),
            "admin" => Ok(Role::Admin),
            _ => Err(RegistryError::invalid("role", "must be viewer, barista or admin")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Barista => "barista",
            Role::Admin => "admin",
        }
    }
}

/// Someone who logs in, as listed. Times are milliseconds since the epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Person {
    pub username: String,
    /// What the pages call them; their user name when they have not chosen one.
    pub display_name: String,
    pub role: Role,
    /// Set by an admin's new account or reset: the person must choose a password first.
    pub must_change_password: bool,
    /// A disabled person cannot log in; their sessions and tokens stop at once.
    pub disabled: bool,
    /// The sites whose scales they see; empty: every scale.
    #[serde(default)]
    pub sites: Vec<String>,
    pub created_at: i64,
}

/// A new account, as an admin fills it in.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewPerson {
    /// 1 to 50 characters of `a-z 0-9 . _ -`, lower case.
    #[cfg_attr(feature = "openapi", schema(example = "sam"))]
    pub username: String,
    /// Up to 100 characters; the user name when empty.
    #[serde(default)]
    pub display_name: String,
    pub role: Role,
    /// 8 to 256 characters; the person replaces it at their first login.
    pub password: String,
    /// The sites whose scales they see (ids); empty or absent: every scale.
    #[serde(default)]
    pub sites: Vec<String>,
}

/// A change to an account by an admin: only the fields given change.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonPatch {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    /// A new password, which the person must replace at their next login; their
    /// sessions end.
    pub password: Option<String>,
    /// The sites whose scales they see (ids); empty: every scale.
    pub sites: Option<Vec<String>>,
}

/// One of a person's login sessions (a browser), as they see it listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginSession {
    /// Names the session for ending it; not the cookie, and no way to make one.
    pub id: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// The browser's `User-Agent` when it logged in, shortened.
    pub user_agent: String,
    /// The session this page was asked from.
    pub current: bool,
}

/// A shot shared by a link: `{base}/s/{code}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Share {
    /// 128 random bits, hex.
    pub code: String,
    pub client_id: String,
    pub session_id: String,
    pub created_by: String,
    pub created_at: i64,
}

/// One change in the audit list: who did what to what, when (ms since the epoch).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: String,
    pub at: i64,
    pub who: String,
    pub action: String,
    pub target: String,
}

/// Who a request comes from: the server puts it in each request's extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// Someone logged in: the user name, which login session (a browser), their role,
    /// whether they must choose a new password before anything else, and whose scales
    /// they see.
    Person { user: String, session: String, role: Role, must_change_password: bool, sites: Sites },
    /// A token, and what it may do: its owner's role (no more than viewer for a read
    /// token) and sites.
    Token(TokenInfo, Role, Sites),
}

impl Identity {
    /// Who this is, as recorded on what they change: the person, or the person who
    /// made the token with its name.
    pub fn who(&self) -> String {
        match self {
            Identity::Person { user, .. } => user.clone(),
            Identity::Token(t, ..) => format!("{} (token {})", t.created_by, t.name),
        }
    }

    /// The person behind it: who logged in, or who made the token.
    pub fn user(&self) -> &str {
        match self {
            Identity::Person { user, .. } => user,
            Identity::Token(t, ..) => &t.created_by,
        }
    }

    /// What it may do.
    pub fn role(&self) -> Role {
        match self {
            Identity::Person { role, .. } | Identity::Token(_, role, _) => *role,
        }
    }

    /// Whose scales it sees.
    pub fn sites(&self) -> &Sites {
        match self {
            Identity::Person { sites, .. } | Identity::Token(_, _, sites) => sites,
        }
    }

    /// The login session's key, for a person.
    pub fn session(&self) -> Option<&str> {
        match self {
            Identity::Person { session, .. } => Some(session),
            Identity::Token(..) => None,
        }
    }

    /// Tells one client from another: a login session (each browser has its own) or a
    /// token. Limits such as live streams per client count by it.
    pub fn client_key(&self) -> String {
        match self {
            Identity::Person { session, .. } => format!("session {session}"),
            Identity::Token(t, ..) => format!("token {}", t.id),
        }
    }
}

/// What a token may do: its owner's role, at most viewer when it may only read.
pub fn token_role(scope: Scope, owner: Role) -> Role {
    match scope {
        Scope::Read => Role::Viewer,
        Scope::Write => owner,
    }
}

/// Longest user name, in characters.
pub const MAX_USERNAME_CHARS: usize = 50;

/// A user name: trimmed, lower case, 1 to 50 of `a-z 0-9 . _ -`.
pub fn username(name: &str) -> Result<String, RegistryError> {
    let name = name.trim().to_lowercase();
    if name.is_empty() || name.chars().count() > MAX_USERNAME_CHARS {
        return Err(RegistryError::invalid("username", format!("must be 1 to {MAX_USERNAME_CHARS} characters")));
    }
    if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')) {
        return Err(RegistryError::invalid("username", "may only hold letters a-z, digits, '.', '_' and '-'"));
    }
    Ok(name)
}

/// A display name: up to 100 characters, no line breaks; empty means the user name.
pub fn display_name(name: &str) -> Result<String, RegistryError> {
    if name.trim().is_empty() {
        return Ok(String::new());
    }
    crate::device::checked_name(name).map(str::to_owned).map_err(|e| match e {
        RegistryError::Invalid { message, .. } => RegistryError::invalid("display_name", message),
        other => other,
    })
}

/// A token name: the same rules as a scale's name.
pub fn token_name(name: &str) -> Result<String, RegistryError> {
    crate::device::checked_name(name).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_and_names_are_checked() {
        assert_eq!(Scope::parse("read"), Ok(Scope::Read));
        assert_eq!(Scope::parse("write").map(Scope::as_str), Ok("write"));
        assert!(Scope::parse("admin").is_err());
        assert_eq!(token_name("  grafana "), Ok("grafana".to_owned()));
        assert!(token_name(" ").is_err());
        assert!(token_name(&"x".repeat(101)).is_err());
        assert!(token_name("a\nb").is_err());
    }

    #[test]
    fn roles_are_ordered_and_tokens_never_exceed_their_owner() {
        assert!(Role::Viewer < Role::Barista && Role::Barista < Role::Admin);
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
            assert_eq!(token_role(Scope::Read, role), Role::Viewer);
            assert_eq!(token_role(Scope::Write, role), role);
        }
        assert!(Role::parse("root").is_err());
    }

    #[test]
    fn user_names_are_plain() {
        assert_eq!(username(" Sam.K "), Ok("sam.k".to_owned()));
        assert!(username("").is_err());
        assert!(username("sam k").is_err());
        assert!(username("sam/../x").is_err());
        assert!(username(&"a".repeat(51)).is_err());
        assert_eq!(display_name("  "), Ok(String::new()));
        assert!(display_name("a\nb").is_err());
    }
}
