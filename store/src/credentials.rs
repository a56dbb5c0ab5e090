//! Devices' MQTT passwords for the embedded broker. Each device has one random secret,
//! shown once when it is issued (at registration, or rotated later) and stored as
//! SHA-256. A ticket is a second kind of device password: short-lived, signed by this
//! process and never stored, for a browser tab acting as the scale (the simulator), so
//! showing the tab never rotates the real scale's password.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::{AnyPool, Row};
use wages_codec::ClientId;

use crate::accounts::{random_hex, sha256_hex};
use crate::error::RegistryError;
use crate::store::now_ms;

/// How long a simulator ticket lets its tab connect.
pub const TICKET_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Longest device password looked at, in bytes: longer ones are simply wrong.
const MAX_PASSWORD_BYTES: usize = 256;
const TICKET_PREFIX: &str = "ticket.";

/// Issues and checks device passwords. Cheap to clone.
#[derive(Clone)]
pub struct DeviceCredentials {
    pub(crate) pool: AnyPool,
    /// Signs tickets; made at start, so tickets end with the process.
    pub(crate) ticket_key: Arc<[u8; 32]>,
}

impl DeviceCredentials {
    /// A new password for `client_id`, replacing its old one at once: shown once, only
    /// its digest is kept. [`RegistryError::NotFound`] for an unknown device.
    pub async fn issue(&self, client_id: &ClientId) -> Result<String, RegistryError> {
        let exists = sqlx::query("SELECT 1 FROM devices WHERE client_id = $1")
            .bind(client_id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        if exists.is_none() {
            return Err(RegistryError::NotFound(client_id.to_string()));
        }
        let secret = random_hex(24);
        sqlx::query(
            "INSERT INTO device_credentials (client_id, secret_hash, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (client_id) DO UPDATE SET secret_hash = excluded.secret_hash, created_at = excluded.created_at",
        )
        .bind(client_id.as_str())
        .bind(sha256_hex(&secret))
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(secret)
    }

    /// [`issue`](Self::issue), as the device's login.
    pub async fn rotate(&self, client_id: &ClientId) -> Result<crate::MqttCredential, RegistryError> {
        let password = self.issue(client_id).await?;
        Ok(crate::MqttCredential { mqtt_username: client_id.to_string(), mqtt_password: password })
    }

    /// Whether `password` lets `client_id` in: its current password, or one of this
    /// process's tickets for it that has not expired.
    pub async fn verify(&self, client_id: &ClientId, password: &str) -> Result<bool, RegistryError> {
        if password.is_empty() || password.len() > MAX_PASSWORD_BYTES {
            return Ok(false);
        }
        if let Some(ticket) = password.strip_prefix(TICKET_PREFIX) {
            return Ok(self.ticket_valid(client_id, ticket, now_ms()));
        }
        let stored: Option<String> = sqlx::query("SELECT secret_hash FROM device_credentials WHERE client_id = $1")
            .bind(client_id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .map(|row| row.try_get("secret_hash"))
            .transpose()?;
        Ok(stored.is_some_and(|stored| stored == sha256_hex(password)))
    }

    /// Whether `client_id` has a password at all (devices registered before passwords
    /// existed have none until one is issued).
    pub async fn has_password(&self, client_id: &ClientId) -> Result<bool, RegistryError> {
        let row = sqlx::query("SELECT 1 FROM device_credentials WHERE client_id = $1")
            .bind(client_id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// A password for `client_id` valid for [`TICKET_LIFETIME`] on this process.
    pub fn ticket(&self, client_id: &ClientId) -> String {
        let expires = now_ms().saturating_add(i64::try_from(TICKET_LIFETIME.as_millis()).unwrap_or(i64::MAX));
        let signature = hex(&self.sign(client_id, expires));
        format!("{TICKET_PREFIX}{expires}.{signature}")
    }

    fn sign(&self, client_id: &ClientId, expires: i64) -> Vec<u8> {
        self.mac(client_id, expires).finalize().into_bytes().to_vec()
    }

    fn mac(&self, client_id: &ClientId, expires: i64) -> Hmac<Sha256> {
        #[allow(clippy::expect_used)] // HMAC takes a key of any length
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.ticket_key[..]).expect("any key length");
        mac.update(client_id.as_str().as_bytes());
        mac.update(b"\0");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    fn ticket_valid(&self, client_id: &ClientId, ticket: &str, now: i64) -> bool {
        let Some((expires, signature)) = ticket.split_once('.') else { return false };
        let (Ok(expires), Some(signature)) = (expires.parse::<i64>(), unhex(signature)) else { return false };
        expires > now && self.mac(client_id, expires).verify_slice(&signature).is_ok()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials() -> DeviceCredentials {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new().connect_lazy("sqlite::memory:").expect("lazy pool");
        DeviceCredentials { pool, ticket_key: Arc::new([7; 32]) }
    }

    #[tokio::test]
    async fn tickets_are_bound_to_their_device_and_expire() {
        let credentials = credentials();
        let a = ClientId::parse("scale-a").expect("id");
        let b = ClientId::parse("scale-b").expect("id");
        let ticket = credentials.ticket(&a);
        assert!(credentials.verify(&a, &ticket).await.expect("verify"));
        assert!(!credentials.verify(&b, &ticket).await.expect("verify"), "a ticket is for one device");
        let body = ticket.strip_prefix(TICKET_PREFIX).expect("prefix");
        let (expires, signature) = body.split_once('.').expect("two parts");
        let expires: i64 = expires.parse().expect("number");
        assert!(!credentials.ticket_valid(&a, body, expires), "expired at its time");
        let stretched = format!("{}.{signature}", expires + 1);
        assert!(!credentials.ticket_valid(&a, &stretched, 0), "the expiry is signed");
        let other_key = DeviceCredentials { ticket_key: Arc::new([8; 32]), ..credentials.clone() };
        assert!(!other_key.verify(&a, &ticket).await.expect("verify"), "another process's ticket");
        for junk in ["ticket.", "ticket.1.", "ticket.x.00", "ticket.99999999999999.zz", "ticket.99999999999999.0"] {
            assert!(!credentials.verify(&a, junk).await.expect("verify"), "{junk}");
        }
    }
}
