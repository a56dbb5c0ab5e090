//! Accounts in the registry's database: passwords (argon2), browser login sessions and
//! API tokens (opaque random secrets, stored as SHA-256, looked up by their public id).
//!
//! Why opaque tokens and not JWTs: every request can reach the database anyway, and a
//! revoked token must stop working at once; a JWT would need a deny-list to do that.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{AnyPool, Row};

use crate::account::{
    ADMIN, LoginSession, MAX_PASSWORD_BYTES, MAX_PASSWORD_CHARS, NewPerson, Person, PersonPatch, Role, Scope,
    TokenInfo, display_name, token_name, token_role, username,
};
use crate::error::RegistryError;
use crate::store::now_ms;

/// How long a login lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// Most tokens one listing returns.
pub const MAX_TOKENS: i64 = 1000;
/// Most people one listing returns, and most accounts an installation holds.
pub const MAX_PEOPLE: i64 = 1000;
/// Longest `User-Agent` kept with a login session, in characters.
const MAX_USER_AGENT_CHARS: usize = 200;

/// Who a login session belongs to, while it lasts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionOwner {
    pub username: String,
    pub role: Role,
    pub must_change_password: bool,
    pub sites: crate::Sites,
}

const PERSON_COLUMNS: &str = "username, display_name, role, must_change_password, disabled, created_at";

fn person(row: &sqlx::any::AnyRow) -> Result<Person, RegistryError> {
    let role: String = row.try_get("role")?;
    let username: String = row.try_get("username")?;
    let display: String = row.try_get("display_name")?;
    Ok(Person {
        display_name: if display.is_empty() { username.clone() } else { display },
        username,
        role: Role::parse(&role).map_err(|e| RegistryError::Database(format!("stored role: {e}")))?,
        must_change_password: row.try_get::<i64, _>("must_change_password")? != 0,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        sites: Vec::new(),
        created_at: row.try_get("created_at")?,
    })
}

/// People, their login sessions and API tokens. Cheap to clone.
#[derive(Clone)]
pub struct Accounts {
    pub(crate) pool: AnyPool,
    pub(crate) hasher: Arc<Hasher>,
}

/// `bytes` random bytes, hex.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A login session's key for per-client limits and logs: 16 hex digits of its digest.
pub fn session_key(secret: &str) -> String {
    sha256_hex(secret)[..16].to_owned()
}

pub(crate) fn sha256_hex(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

thread_local! {
    /// argon2's working memory (19 MiB with the default parameters), kept by the hasher
    /// thread and reused by every hash: allocated afresh each time, the allocator kept a
    /// copy per login up to four (the idle server went from 40 to 119 MiB).
    static MEMORY: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// argon2 into `out`, in the hasher thread's memory.
fn argon2_into(
    argon: &Argon2,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    blocks: usize,
) -> Result<(), argon2::Error> {
    MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
    })
}

/// An argon2id hash of `password` with a fresh salt, as a PHC string.
fn hash_password(password: &str) -> Result<String, RegistryError> {
    let failed = |e: &dyn std::fmt::Display| RegistryError::Database(format!("hashing a password failed: {e}"));
    let mut salt_bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| failed(&e))?;
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2_into(&argon, password.as_bytes(), &salt_bytes, &mut out, params.block_count()).map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `stored` (compared in constant time).
fn password_matches(stored: &str, password: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else { return false };
    let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(hash.algorithm), Params::try_from(&hash)) else {
        return false;
    };
    let version = hash.version.map_or(Ok(Version::V0x13), Version::try_from);
    let (Ok(version), Some(salt), Some(expected)) = (version, hash.salt, hash.hash) else { return false };
    let mut salt_buf = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else { return false };
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params.clone());
    argon2_into(&argon, password.as_bytes(), salt_bytes, &mut out, params.block_count()).is_ok()
        && Output::new(&out).is_ok_and(|computed| computed == expected)
}

/// A password a person chooses or is given: 8 to 256 characters.
fn check_person_password(password: &str) -> Result<(), RegistryError> {
    let chars = password.chars().count();
    if chars < 8 {
        return Err(RegistryError::invalid("password", "must be at least 8 characters"));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(RegistryError::invalid("password", format!("must be at most {MAX_PASSWORD_CHARS} characters")));
    }
    Ok(())
}

/// The first admin's password (`WAGES_ADMIN_PASSWORD`): 8 to 1024 bytes.
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
        let decoy = self.hasher.decoy.clone();
        self.hasher.run(move || Ok(decoy.get().len())).await?;
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
        let hash = self.hasher.run(move || hash_password(&password)).await?;
        sqlx::query(
            "INSERT INTO users (username, password_hash, created_at, role) VALUES ($1, $2, $3, 'admin') \
             ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, role = 'admin', \
             disabled = 0, must_change_password = 0",
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
        let stored: Option<String> =
            sqlx::query_scalar("SELECT password_hash FROM users WHERE username = $1 AND disabled = 0")
                .bind(username)
                .fetch_optional(&self.pool)
                .await?;
        let password = password.to_owned();
        let decoy = self.hasher.decoy.clone();
        self.hasher
            .run(move || {
                let hash = stored.as_deref().unwrap_or_else(|| decoy.get());
                Ok(password_matches(hash, &password) && stored.is_some())
            })
            .await
    }

    /// Starts a login session from a browser saying `user_agent`; returns the cookie's secret.
    pub async fn start_session(&self, username: &str, user_agent: &str) -> Result<String, RegistryError> {
        let secret = random_hex(32);
        let now = now_ms();
        let lifetime = i64::try_from(SESSION_LIFETIME.as_millis()).unwrap_or(i64::MAX);
        sqlx::query("DELETE FROM login_sessions WHERE expires_at < $1").bind(now).execute(&self.pool).await?;
        sqlx::query(
            "INSERT INTO login_sessions (secret_hash, username, created_at, expires_at, user_agent) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(sha256_hex(&secret))
        .bind(username)
        .bind(now)
        .bind(now.saturating_add(lifetime))
        .bind(user_agent.chars().filter(|c| !c.is_control()).take(MAX_USER_AGENT_CHARS).collect::<String>())
        .execute(&self.pool)
        .await?;
        Ok(secret)
    }

    /// Who the session cookie `secret` belongs to, while it has not expired and its
    /// person is neither disabled nor deleted.
    pub async fn session_user(&self, secret: &str) -> Result<Option<SessionOwner>, RegistryError> {
        if secret.len() != 64 {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT u.username, u.role, u.must_change_password FROM login_sessions s \
             JOIN users u ON u.username = s.username \
             WHERE s.secret_hash = $1 AND s.expires_at > $2 AND u.disabled = 0",
        )
        .bind(sha256_hex(secret))
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let role: String = row.try_get("role")?;
        let username: String = row.try_get("username")?;
        Ok(Some(SessionOwner {
            sites: self.sites_of(&username).await?,
            username,
            role: Role::parse(&role).map_err(|e| RegistryError::Database(format!("stored role: {e}")))?,
            must_change_password: row.try_get::<i64, _>("must_change_password")? != 0,
        }))
    }

    /// The sites `username` is limited to (every site when none).
    pub async fn sites_of(&self, username: &str) -> Result<crate::Sites, RegistryError> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT site_id FROM person_sites WHERE username = $1 ORDER BY site_id")
                .bind(username)
                .fetch_all(&self.pool)
                .await?;
        Ok(crate::Sites::only(ids))
    }

    /// A person's login sessions, newest first; `current` is the asking session's key
    /// ([`session_key`]).
    pub async fn sessions_of(&self, username: &str, current: &str) -> Result<Vec<LoginSession>, RegistryError> {
        let rows = sqlx::query(
            "SELECT secret_hash, created_at, expires_at, user_agent FROM login_sessions \
             WHERE username = $1 AND expires_at > $2 ORDER BY created_at DESC LIMIT 100",
        )
        .bind(username)
        .bind(now_ms())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let hash: String = row.try_get("secret_hash")?;
                Ok(LoginSession {
                    current: hash.starts_with(current) && !current.is_empty(),
                    id: hash,
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                    user_agent: row.try_get("user_agent")?,
                })
            })
            .collect()
    }

    /// Ends one of `username`'s sessions by its listed id. False if there was none.
    pub async fn end_session_of(&self, username: &str, id: &str) -> Result<bool, RegistryError> {
        let gone = sqlx::query("DELETE FROM login_sessions WHERE secret_hash = $1 AND username = $2")
            .bind(id)
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(gone.rows_affected() > 0)
    }

    /// Every account, by user name.
    pub async fn people(&self) -> Result<Vec<Person>, RegistryError> {
        let rows = sqlx::query(&format!("SELECT {PERSON_COLUMNS} FROM users ORDER BY username LIMIT $1"))
            .bind(MAX_PEOPLE)
            .fetch_all(&self.pool)
            .await?;
        let limits =
            sqlx::query("SELECT username, site_id FROM person_sites ORDER BY site_id").fetch_all(&self.pool).await?;
        let mut people = rows.iter().map(person).collect::<Result<Vec<_>, _>>()?;
        for limit in &limits {
            let (user, site): (String, String) = (limit.try_get("username")?, limit.try_get("site_id")?);
            if let Some(p) = people.iter_mut().find(|p| p.username == user) {
                p.sites.push(site);
            }
        }
        Ok(people)
    }

    /// One account.
    pub async fn person(&self, username: &str) -> Result<Person, RegistryError> {
        let row = sqlx::query(&format!("SELECT {PERSON_COLUMNS} FROM users WHERE username = $1"))
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => {
                let mut found = person(&row)?;
                found.sites = self.sites_of(username).await?.limited().map(<[String]>::to_vec).unwrap_or_default();
                Ok(found)
            }
            None => Err(RegistryError::Unknown(format!("no person with user name {username}"))),
        }
    }

    /// Adds an account; its password must be changed at the first login.
    pub async fn add_person(&self, new: &NewPerson) -> Result<Person, RegistryError> {
        let name = username(&new.username)?;
        let display = display_name(&new.display_name)?;
        check_person_password(&new.password)?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?;
        if count >= MAX_PEOPLE {
            return Err(RegistryError::Conflict(format!("an installation holds at most {MAX_PEOPLE} accounts")));
        }
        let password = new.password.clone();
        let hash = self.hasher.run(move || hash_password(&password)).await?;
        let added = sqlx::query(
            "INSERT INTO users (username, password_hash, created_at, display_name, role, must_change_password) \
             VALUES ($1, $2, $3, $4, $5, 1) ON CONFLICT (username) DO NOTHING",
        )
        .bind(&name)
        .bind(hash)
        .bind(now_ms())
        .bind(&display)
        .bind(new.role.as_str())
        .execute(&self.pool)
        .await?;
        if added.rows_affected() == 0 {
            return Err(RegistryError::Conflict(format!("there is already a person with user name {name}")));
        }
        if let Err(e) = self.set_sites(&name, &new.sites).await {
            sqlx::query("DELETE FROM users WHERE username = $1").bind(&name).execute(&self.pool).await?;
            return Err(e);
        }
        self.person(&name).await
    }

    /// Changes an account as the admin `by` asks. Never leaves no enabled admin, and
    /// no admin changes their own role or disables themselves (another admin may).
    pub async fn update_person(&self, username: &str, patch: &PersonPatch, by: &str) -> Result<Person, RegistryError> {
        let before = self.person(username).await?;
        if username == by && (patch.role.is_some_and(|r| r != before.role) || patch.disabled == Some(true)) {
            return Err(RegistryError::Conflict(
                "you cannot change your own role or disable yourself: another admin can".into(),
            ));
        }
        let display = patch.display_name.as_deref().map(display_name).transpose()?;
        if let Some(password) = &patch.password {
            check_person_password(password)?;
        }
        let role = patch.role.unwrap_or(before.role);
        let disabled = patch.disabled.unwrap_or(before.disabled);
        if before.role == Role::Admin && !before.disabled && (role != Role::Admin || disabled) {
            self.keep_an_admin(username).await?;
        }
        if let Some(password) = patch.password.clone() {
            let hash = self.hasher.run(move || hash_password(&password)).await?;
            sqlx::query("UPDATE users SET password_hash = $1, must_change_password = 1 WHERE username = $2")
                .bind(hash)
                .bind(username)
                .execute(&self.pool)
                .await?;
            self.end_sessions(username).await?;
        }
        sqlx::query("UPDATE users SET display_name = $1, role = $2, disabled = $3 WHERE username = $4")
            .bind(display.unwrap_or_else(|| {
                if before.display_name == before.username { String::new() } else { before.display_name.clone() }
            }))
            .bind(role.as_str())
            .bind(i64::from(disabled))
            .bind(username)
            .execute(&self.pool)
            .await?;
        if disabled {
            self.end_sessions(username).await?;
        }
        if let Some(sites) = &patch.sites {
            self.set_sites(username, sites).await?;
        }
        self.person(username).await
    }

    /// Limits `username` to `sites` (ids of existing sites; none: every site).
    async fn set_sites(&self, username: &str, sites: &[String]) -> Result<(), RegistryError> {
        if sites.len() > crate::site::MAX_SITES {
            return Err(RegistryError::invalid("sites", format!("at most {}", crate::site::MAX_SITES)));
        }
        let mut ids = Vec::with_capacity(sites.len());
        for raw in sites {
            let id = crate::site::site_id(raw)
                .map_err(|_| RegistryError::invalid("sites", format!("{raw} is not a site id")))?;
            let known: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM sites WHERE id = $1").bind(&id).fetch_one(&self.pool).await?;
            if known == 0 {
                return Err(RegistryError::Unknown(format!("there is no site {id}")));
            }
            ids.push(id);
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM person_sites WHERE username = $1").bind(username).execute(&mut *tx).await?;
        for id in ids {
            sqlx::query("INSERT INTO person_sites (username, site_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(username)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes an account, its sessions and its tokens, as the admin `by` asks. Never the
    /// last enabled admin, and never `by` themselves.
    pub async fn delete_person(&self, username: &str, by: &str) -> Result<(), RegistryError> {
        let before = self.person(username).await?;
        if username == by {
            return Err(RegistryError::Conflict("you cannot delete yourself: another admin can".into()));
        }
        if before.role == Role::Admin && !before.disabled {
            self.keep_an_admin(username).await?;
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM users WHERE username = $1").bind(username).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM login_sessions WHERE username = $1").bind(username).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM api_tokens WHERE created_by = $1").bind(username).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM person_sites WHERE username = $1").bind(username).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Refuses when `username` is the only enabled admin.
    async fn keep_an_admin(&self, username: &str) -> Result<(), RegistryError> {
        let others: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0 AND username <> $1")
                .bind(username)
                .fetch_one(&self.pool)
                .await?;
        if others == 0 {
            return Err(RegistryError::Conflict(format!(
                "{username} is the last admin: make someone else an admin first"
            )));
        }
        Ok(())
    }

    async fn end_sessions(&self, username: &str) -> Result<(), RegistryError> {
        sqlx::query("DELETE FROM login_sessions WHERE username = $1").bind(username).execute(&self.pool).await?;
        Ok(())
    }

    /// A person changes their own password: the current one must match; their other
    /// sessions end (`keep` is this session's key, [`session_key`]).
    pub async fn change_password(
        &self,
        username: &str,
        current: &str,
        new: &str,
        keep: &str,
    ) -> Result<(), RegistryError> {
        check_person_password(new)?;
        if !self.verify_password(username, current).await? {
            return Err(RegistryError::invalid("current_password", "is not your password"));
        }
        if current == new {
            return Err(RegistryError::invalid("password", "must differ from the current one"));
        }
        let new = new.to_owned();
        let hash = self.hasher.run(move || hash_password(&new)).await?;
        sqlx::query("UPDATE users SET password_hash = $1, must_change_password = 0 WHERE username = $2")
            .bind(hash)
            .bind(username)
            .execute(&self.pool)
            .await?;
        let sessions = self.sessions_of(username, keep).await?;
        for other in sessions.iter().filter(|s| !s.current) {
            self.end_session_of(username, &other.id).await?;
        }
        Ok(())
    }

    /// A person changes their own display name.
    pub async fn set_display_name(&self, username: &str, name: &str) -> Result<Person, RegistryError> {
        let name = display_name(name)?;
        sqlx::query("UPDATE users SET display_name = $1 WHERE username = $2")
            .bind(name)
            .bind(username)
            .execute(&self.pool)
            .await?;
        self.person(username).await
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

    /// The token whose secret this is and what it may do, unless revoked or wrong or
    /// its person is disabled or gone.
    pub async fn token(&self, secret: &str) -> Result<Option<(TokenInfo, Role, crate::Sites)>, RegistryError> {
        let Some(id) = secret.strip_prefix("wages_").and_then(|rest| rest.split_once('_')).map(|(id, _)| id) else {
            return Ok(None);
        };
        if id.len() != 12 || secret.len() > 100 {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT t.id, t.name, t.scope, t.secret_hash, t.created_by, t.created_at, u.role FROM api_tokens t \
             JOIN users u ON u.username = t.created_by WHERE t.id = $1 AND u.disabled = 0",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let stored: String = row.try_get("secret_hash")?;
        if stored != sha256_hex(secret) {
            return Ok(None);
        }
        let owner: String = row.try_get("role")?;
        let owner = Role::parse(&owner).map_err(|e| RegistryError::Database(format!("stored role: {e}")))?;
        let info = token_info(&row)?;
        let role = token_role(info.scope, owner);
        let sites = self.sites_of(&info.created_by).await?;
        Ok(Some((info, role, sites)))
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

/// Passwords waiting for the hashing thread; past that, a login waits for room.
const HASH_QUEUE: usize = 64;

type HashJob = Box<dyn FnOnce() + Send>;

/// Runs password hashing on one thread of its own, one hash at a time.
///
/// Each argon2 hash works in 19 MiB. Spread over the blocking pool's threads, every
/// thread's allocator arena kept its own 19 MiB: six logins took the idle server from
/// 41 to 119 MiB. On one thread the memory is reused. One at a time also bounds how
/// fast anyone can guess passwords (about 40 tries a second on this machine). The thread
/// ends when the last handle to it is dropped.
pub(crate) struct Hasher {
    jobs: tokio::sync::mpsc::Sender<HashJob>,
    /// What unknown users' passwords are checked against.
    decoy: Arc<Decoy>,
}

/// The hash unknown users' passwords are checked against, so the time a failed login
/// takes does not tell whether the user exists. Made on the hashing thread when first
/// needed ([`Accounts::ensure_admin`] does that at start-up).
#[derive(Default)]
struct Decoy(OnceLock<String>);

impl Decoy {
    fn get(&self) -> &str {
        self.0.get_or_init(|| hash_password("no such user").unwrap_or_default())
    }
}

impl Hasher {
    pub(crate) fn start() -> Result<Hasher, RegistryError> {
        let (jobs, mut queue) = tokio::sync::mpsc::channel::<HashJob>(HASH_QUEUE);
        std::thread::Builder::new()
            .name("wages-hasher".into())
            .spawn(move || {
                while let Some(job) = queue.blocking_recv() {
                    job();
                }
            })
            .map_err(|e| RegistryError::Database(format!("cannot start the password hashing thread: {e}")))?;
        Ok(Hasher { jobs, decoy: Arc::default() })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, RegistryError> + Send + 'static,
    ) -> Result<T, RegistryError> {
        let stopped = || RegistryError::Database("the password hashing thread stopped".into());
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: HashJob = Box::new(move || {
            let _ = answer.send(f());
        });
        self.jobs.send(job).await.map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    /// Our hashes are what the argon2 crate itself makes and checks, and the other way round.
    #[test]
    fn hashes_are_standard_phc_strings() {
        let ours = hash_password("correct horse").expect("hash");
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ours}");
        let parsed = PasswordHash::new(&ours).expect("PHC");
        assert!(Argon2::default().verify_password(b"correct horse", &parsed).is_ok());
        assert!(password_matches(&ours, "correct horse"));
        let salt = SaltString::encode_b64(b"0123456789abcdef").expect("salt");
        let theirs = Argon2::default().hash_password(b"battery staple", &salt).expect("hash").to_string();
        assert!(password_matches(&theirs, "battery staple"));
        assert!(!password_matches(&theirs, "battery stapler"));
        assert!(!password_matches("not a hash", "x"));
    }
}
