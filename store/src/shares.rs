//! Shots shared by a link, and the audit list of changes, in the registry's database.

use sqlx::{AnyPool, Row};

use crate::account::{AuditEntry, Share};
use crate::accounts::random_hex;
use crate::error::RegistryError;
use crate::store::now_ms;

/// Most shares one listing returns.
pub const MAX_SHARES: i64 = 1000;
/// How many changes the audit list keeps; older ones are dropped.
pub const AUDIT_KEPT: i64 = 10_000;
/// Most changes one page of the audit list holds.
pub const MAX_AUDIT_PAGE: i64 = 200;

/// Shots shared by a link. Cheap to clone.
#[derive(Clone)]
pub struct Shares {
    pub(crate) pool: AnyPool,
}

fn share(row: &sqlx::any::AnyRow) -> Result<Share, RegistryError> {
    Ok(Share {
        code: row.try_get("code")?,
        client_id: row.try_get("client_id")?,
        session_id: row.try_get("session_id")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Whether `code` could be a share's code: 32 lower-case hex digits.
fn well_formed(code: &str) -> bool {
    code.len() == 32 && code.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Shares {
    /// Shares a stored shot: its link's code, made now or kept from before (one per shot).
    pub async fn share(&self, client_id: &str, session_id: &str, by: &str) -> Result<Share, RegistryError> {
        let shot: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM shots WHERE client_id = $1 AND session_id = $2")
            .bind(client_id)
            .bind(session_id)
            .fetch_one(&self.pool)
            .await?;
        if shot == 0 {
            return Err(RegistryError::Unknown(format!("no shot {session_id} on scale {client_id}")));
        }
        sqlx::query(
            "INSERT INTO shot_shares (code, client_id, session_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (client_id, session_id) DO NOTHING",
        )
        .bind(random_hex(16))
        .bind(client_id)
        .bind(session_id)
        .bind(by)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT * FROM shot_shares WHERE client_id = $1 AND session_id = $2")
            .bind(client_id)
            .bind(session_id)
            .fetch_one(&self.pool)
            .await?;
        share(&row)
    }

    /// The shot a code shares, if it does and the shot is still stored. A code never
    /// made, malformed or withdrawn are all `None`, after the same one lookup.
    pub async fn shared(&self, code: &str) -> Result<Option<Share>, RegistryError> {
        // Looked up even when malformed, so the answer takes the same time.
        let code = if well_formed(code) { code } else { "" };
        let row = sqlx::query(
            "SELECT h.* FROM shot_shares h JOIN shots s ON s.client_id = h.client_id AND s.session_id = h.session_id \
             WHERE h.code = $1",
        )
        .bind(code)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(share).transpose()
    }

    /// The share of one shot, if it has one.
    pub async fn of_shot(&self, client_id: &str, session_id: &str) -> Result<Option<Share>, RegistryError> {
        let row = sqlx::query("SELECT * FROM shot_shares WHERE client_id = $1 AND session_id = $2")
            .bind(client_id)
            .bind(session_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(share).transpose()
    }

    /// Withdraws a share: its link stops at once. Only its owner may, or anyone when
    /// `by` is `None` (an admin). False if there was no such share of theirs.
    pub async fn withdraw(&self, code: &str, by: Option<&str>) -> Result<bool, RegistryError> {
        let gone = match by {
            Some(owner) => {
                sqlx::query("DELETE FROM shot_shares WHERE code = $1 AND created_by = $2")
                    .bind(code)
                    .bind(owner)
                    .execute(&self.pool)
                    .await?
            }
            None => sqlx::query("DELETE FROM shot_shares WHERE code = $1").bind(code).execute(&self.pool).await?,
        };
        Ok(gone.rows_affected() > 0)
    }

    /// What `by` shares, newest first; everything shared when `by` is `None`.
    pub async fn list(&self, by: Option<&str>) -> Result<Vec<Share>, RegistryError> {
        let rows = match by {
            Some(owner) => {
                sqlx::query("SELECT * FROM shot_shares WHERE created_by = $1 ORDER BY created_at DESC LIMIT $2")
                    .bind(owner)
                    .bind(MAX_SHARES)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("SELECT * FROM shot_shares ORDER BY created_at DESC LIMIT $1")
                    .bind(MAX_SHARES)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(share).collect()
    }

    /// Records a change in the audit list, and keeps the list bounded.
    pub async fn record(&self, who: &str, action: &str, target: &str) -> Result<(), RegistryError> {
        let clip = |s: &str, n: usize| s.chars().filter(|c| !c.is_control()).take(n).collect::<String>();
        let id = random_hex(8);
        sqlx::query("INSERT INTO audit (id, at, who, action, target) VALUES ($1, $2, $3, $4, $5)")
            .bind(&id)
            .bind(now_ms())
            .bind(clip(who, 200))
            .bind(clip(action, 100))
            .bind(clip(target, 200))
            .execute(&self.pool)
            .await?;
        // One in 64 records trims the list: bounded, without a count per change.
        if id.ends_with("00") || id.ends_with("40") || id.ends_with("80") || id.ends_with("c0") {
            sqlx::query(
                "DELETE FROM audit WHERE at < (SELECT at FROM audit ORDER BY at DESC, id DESC LIMIT 1 OFFSET $1)",
            )
            .bind(AUDIT_KEPT)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// A page of the audit list, newest first, from before `before` (`at`, `id`) if given.
    pub async fn audit(&self, before: Option<(i64, &str)>, limit: i64) -> Result<Vec<AuditEntry>, RegistryError> {
        let limit = limit.clamp(1, MAX_AUDIT_PAGE);
        let (at, id) = before.unwrap_or((i64::MAX, ""));
        let rows = sqlx::query(
            "SELECT id, at, who, action, target FROM audit WHERE at < $1 OR (at = $1 AND id < $2) \
             ORDER BY at DESC, id DESC LIMIT $3",
        )
        .bind(at)
        .bind(id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: row.try_get("id")?,
                    at: row.try_get("at")?,
                    who: row.try_get("who")?,
                    action: row.try_get("action")?,
                    target: row.try_get("target")?,
                })
            })
            .collect()
    }
}
