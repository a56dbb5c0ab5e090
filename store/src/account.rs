//! People and API tokens: the shapes and rules the pages and the API share.

use serde::{Deserialize, Serialize};

use crate::error::RegistryError;

/// Longest password accepted at login, in bytes: argon2 would hash megabytes too.
pub const MAX_PASSWORD_BYTES: usize = 1024;
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

/// Who a request comes from: the server puts it in each request's extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// Someone logged in: the user name, and which login session (a browser).
    Person {
        user: String,
        session: String,
    },
    Token(TokenInfo),
}

impl Identity {
    /// Who this is, as recorded on what they change: the person, or the person who
    /// made the token with its name.
    pub fn who(&self) -> String {
        match self {
            Identity::Person { user, .. } => user.clone(),
            Identity::Token(t) => format!("{} (token {})", t.created_by, t.name),
        }
    }
}

impl Identity {
    /// Whether it may change things: people may, and tokens with the write scope.
    pub fn may_write(&self) -> bool {
        match self {
            Identity::Person { .. } => true,
            Identity::Token(t) => t.scope == Scope::Write,
        }
    }

    /// Tells one client from another: a login session (each browser has its own) or a
    /// token. Limits such as live streams per client count by it.
    pub fn client_key(&self) -> String {
        match self {
            Identity::Person { session, .. } => format!("session {session}"),
            Identity::Token(t) => format!("token {}", t.id),
        }
    }
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
}
