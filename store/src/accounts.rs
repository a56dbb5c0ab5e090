//! Accounts in the registry's database: passwords (argon2), browser login sessions and
//! API tokens (opaque random secrets, stored as SHA-256, looked up by their public id).
//!
//! Why opaque tokens and not JWTs: every request can reach the database anyway, and a
//! revoked token must stop working at once; a JWT would need a deny-list to do that.

use std::sync::OnceLock;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{AnyPool, Row};

use crate::account::{ADMIN, MAX_PASSWORD_BYTES, Scope, TokenInfo, token_name};
use crate::error::RegistryError;
use crate::store::now_ms;

/// How long a login lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// Most tokens one listing returns.
pub const MAX_TOKENS: i64 = 1000;

/// People, their login sessions and API tokens. Cheap to clone.
#[derive(Clone)]
pub struct Accounts {
    pub(crate) pool: AnyPool,
}

/// `bytes` random bytes, hex.
fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn hash_password(password: &str) -> Result<String, RegistryError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| RegistryError::Database(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| RegistryError::Database(format!("hashing a password failed: {e}")))
}

/// What unknown users' passwords are checked against, so the time a failed login takes
/// does not tell whether the user exists. Made at start-up by [`Accounts::ensure_admin`].
fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("no such user").unwrap_or_default())
}

/// A password worth storing: 8 to 1024 bytes.
fn check_password(password: &str) -> Result<(), RegistryError> {
    if password.len() < 8 {
        return Err(RegistryError::invalid("password", "must be at least 8 characters"));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(RegistryError::invalid("password", format!("must be at most {MAX_PASSWORD_BYTES} bytes")));
    }
    Ok(())
}

fn token_info(row: &sqlx::any::AnyRow) -> Result<TokenInfo, RegistryError> {
    let scope: String = row.try_get("scope")?;
    Ok(TokenInfo {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        scope: Scope::parse(&scope).map_err(|e| RegistryError::Database(format!("stored scope: {e}")))?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Accounts {
    /// Makes sure the admin account exists. With `password`, the admin's password is set
    /// to it (so `WAGES_ADMIN_PASSWORD` stays the way back in); without one, a first
    /// start generates a password and returns it, to be shown once.
    pub async fn ensure_admin(&self, password: Option<&str>) -> Result<Option<String>, RegistryError> {
        tokio_blocking(|| Ok(decoy().len())).await?;
        let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE username = $1")
            .bind(ADMIN)
            .fetch_one(&self.pool)
            .await?;
        let (password, generated) = match (password, exists > 0) {
            (None, true) => return Ok(None),
            (Some(p), _) => (p.to_owned(), None),
            (None, false) => {
                let p = random_hex(12);
                (p.clone(), Some(p))
            }
        };
        check_password(&password)?;
        let hash = tokio_blocking(move || hash_password(&password)).await?;
        sqlx::query(
            "INSERT INTO users (username, password_hash, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash",
        )
        .bind(ADMIN)
        .bind(hash)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(generated)
    }

    /// Whether `password` is `username`'s. Unknown users cost the same hash as known ones.
    pub async fn verify_password(&self, username: &str, password: &str) -> Result<bool, RegistryError> {
        if password.len() > MAX_PASSWORD_BYTES || username.len() > 100 {
            return Ok(false);
        }
        let stored: Option<String> = sqlx::query_scalar("SELECT password_hash FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        let password = password.to_owned();
        tokio_blocking(move || {
            let hash = stored.as_deref().unwrap_or_else(|| decoy());
            let ok = PasswordHash::new(hash)
                .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok());
            Ok(ok && stored.is_some())
        })
        .await
    }

    /// Starts a login session; returns the cookie's secret.
    pub async fn start_session(&self, username: &str) -> Result<String, RegistryError> {
        let secret = random_hex(32);
        let now = now_ms();
        let lifetime = i64::try_from(SESSION_LIFETIME.as_millis()).unwrap_or(i64::MAX);
        sqlx::query("DELETE FROM login_sessions WHERE expires_at < $1").bind(now).execute(&self.pool).await?;
        sqlx::query(
            "INSERT INTO login_sessions (secret_hash, username, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(sha256_hex(&secret))
        .bind(username)
        .bind(now)
        .bind(now.saturating_add(lifetime))
        .execute(&self.pool)
        .await?;
        Ok(secret)
    }

    /// Who the session cookie `secret` belongs to, while it has not expired.
    pub async fn session_user(&self, secret: &str) -> Result<Option<String>, RegistryError> {
        if secret.len() != 64 {
            return Ok(None);
        }
        let user = sqlx::query_scalar("SELECT username FROM login_sessions WHERE secret_hash = $1 AND expires_at > $2")
            .bind(sha256_hex(secret))
            .bind(now_ms())
            .fetch_optional(&self.pool)
            .await?;
        Ok(user)
    }

    /// Ends a login session (logout).
    pub async fn end_session(&self, secret: &str) -> Result<(), RegistryError> {
        sqlx::query("DELETE FROM login_sessions WHERE secret_hash = $1")
            .bind(sha256_hex(secret))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Creates a token; returns it as listed and its secret, which is shown once.
    pub async fn create_token(&self, name: &str, scope: Scope, by: &str) -> Result<(TokenInfo, String), RegistryError> {
        let name = token_name(name)?;
        let id = random_hex(6);
        let secret = format!("wages_{id}_{}", random_hex(24));
        let info = TokenInfo { id, name, scope, created_by: by.to_owned(), created_at: now_ms() };
        sqlx::query(
            "INSERT INTO api_tokens (id, name, scope, secret_hash, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&info.id)
        .bind(&info.name)
        .bind(info.scope.as_str())
        .bind(sha256_hex(&secret))
        .bind(&info.created_by)
        .bind(info.created_at)
        .execute(&self.pool)
        .await?;
        Ok((info, secret))
    }

    /// The token whose secret this is, unless revoked or wrong.
    pub async fn token(&self, secret: &str) -> Result<Option<TokenInfo>, RegistryError> {
        let Some(id) = secret.strip_prefix("wages_").and_then(|rest| rest.split_once('_')).map(|(id, _)| id) else {
            return Ok(None);
        };
        if id.len() != 12 || secret.len() > 100 {
            return Ok(None);
        }
        let row =
            sqlx::query("SELECT id, name, scope, secret_hash, created_by, created_at FROM api_tokens WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let Some(row) = row else { return Ok(None) };
        let stored: String = row.try_get("secret_hash")?;
        if stored != sha256_hex(secret) {
            return Ok(None);
        }
        token_info(&row).map(Some)
    }

    /// Every token, newest first.
    pub async fn tokens(&self) -> Result<Vec<TokenInfo>, RegistryError> {
        let rows = sqlx::query(
            "SELECT id, name, scope, created_by, created_at FROM api_tokens ORDER BY created_at DESC, id LIMIT $1",
        )
        .bind(MAX_TOKENS)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token_info).collect()
    }

    /// Revokes a token: it stops working with the next request. False if there was none.
    pub async fn revoke_token(&self, id: &str) -> Result<bool, RegistryError> {
        let gone = sqlx::query("DELETE FROM api_tokens WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(gone.rows_affected() > 0)
    }
}

/// Runs CPU-heavy hashing off the async threads.
async fn tokio_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, RegistryError> + Send + 'static,
) -> Result<T, RegistryError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| RegistryError::Database(format!("hashing stopped: {e}")))?
}
