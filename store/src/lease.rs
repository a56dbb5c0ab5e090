//! Leases: a role only one node may hold at a time (the embedded broker: two embedded
//! brokers on one database would each get some of the scales, and each node's views
//! would miss the other's). The holder renews it while it runs and drops it on stop; a
//! holder that died is recognised at once when it was on this machine (its process is
//! gone), else its lease runs out after [`LEASE_TTL`].

use std::time::Duration;

use sqlx::{AnyPool, Row};

use crate::error::RegistryError;
use crate::store::now_ms;

/// How long a lease lasts unless renewed.
pub const LEASE_TTL: Duration = Duration::from_secs(15);
/// How often a holder renews its lease.
pub const LEASE_RENEW: Duration = Duration::from_secs(5);

/// Who holds a lease: machine, process, the process's start time (so a new process
/// that got the same pid, as PID 1 in a container does, is not taken for the old one)
/// and a random part (two holders in one process, as tests make, differ too).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Holder {
    host: String,
    pid: u32,
    started: String,
    nonce: String,
}

impl Holder {
    fn me() -> Self {
        let pid = std::process::id();
        Holder {
            host: hostname(),
            pid,
            started: process_start(pid).unwrap_or_default(),
            nonce: crate::accounts::random_hex(8),
        }
    }

    fn encode(&self) -> String {
        format!("{}/{}/{}/{}", self.host, self.pid, self.started, self.nonce)
    }

    fn decode(s: &str) -> Option<Self> {
        let mut parts = s.rsplitn(4, '/');
        let (nonce, started, pid, host) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        Some(Holder {
            host: host.to_owned(),
            pid: pid.parse().ok()?,
            started: started.to_owned(),
            nonce: nonce.to_owned(),
        })
    }

    /// Whether this holder's process is certainly gone: it ran on this machine and no
    /// process with its pid and start time is there any more.
    fn certainly_gone(&self) -> bool {
        if self.host != hostname() || self.started.is_empty() {
            return false;
        }
        process_start(self.pid).is_none_or(|started| started != self.started)
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map_or_else(|_| "unknown".to_owned(), |h| h.trim().to_owned())
}

/// A running process's start time in clock ticks since boot (`/proc/{pid}/stat`, field
/// 22); `None` when there is no such process, or only its zombie.
fn process_start(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count after its end.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = fields.next()?;
    if matches!(state, "Z" | "X") {
        return None;
    }
    fields.nth(18).map(str::to_owned)
}

/// Someone else holds the role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldElsewhere {
    /// The holder's own description of where it is (its web address).
    pub address: String,
    /// The holder's machine.
    pub host: String,
    /// How long until the lease runs out unless renewed.
    pub expires_in: Duration,
}

/// A held lease. Renew it every [`LEASE_RENEW`]; release it when stopping.
pub struct Lease {
    pool: AnyPool,
    role: String,
    holder: String,
}

impl Lease {
    /// Claims `role` for this process, saying `address` to whoever is refused.
    pub(crate) async fn claim(
        pool: &AnyPool,
        role: &str,
        address: &str,
    ) -> Result<Result<Lease, HeldElsewhere>, RegistryError> {
        let me = Holder::me().encode();
        let now = now_ms();
        let current = sqlx::query("SELECT holder, address, expires_at FROM leases WHERE role = $1")
            .bind(role)
            .fetch_optional(pool)
            .await?;
        // Whom the claim may replace: nobody, or a holder whose process is gone.
        let replaceable = match &current {
            None => String::new(),
            Some(row) => {
                let holder: String = row.try_get("holder")?;
                if Holder::decode(&holder).is_some_and(|h| h.certainly_gone()) { holder } else { String::new() }
            }
        };
        let ttl = i64::try_from(LEASE_TTL.as_millis()).unwrap_or(i64::MAX);
        let claimed = sqlx::query(
            "INSERT INTO leases (role, holder, address, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (role) DO UPDATE SET holder = excluded.holder, address = excluded.address, \
             expires_at = excluded.expires_at WHERE leases.expires_at < $5 OR leases.holder = $6",
        )
        .bind(role)
        .bind(&me)
        .bind(address)
        .bind(now + ttl)
        .bind(now)
        .bind(&replaceable)
        .execute(pool)
        .await?
        .rows_affected();
        if claimed == 1 {
            return Ok(Ok(Lease { pool: pool.clone(), role: role.to_owned(), holder: me }));
        }
        let row = sqlx::query("SELECT holder, address, expires_at FROM leases WHERE role = $1")
            .bind(role)
            .fetch_one(pool)
            .await?;
        let holder: String = row.try_get("holder")?;
        let expires_at: i64 = row.try_get("expires_at")?;
        Ok(Err(HeldElsewhere {
            address: row.try_get("address")?,
            host: Holder::decode(&holder).map_or_else(|| "unknown".to_owned(), |h| h.host),
            expires_in: Duration::from_millis(u64::try_from(expires_at - now).unwrap_or(0)),
        }))
    }

    /// Extends the lease; `false` if it was lost (it ran out and another node took it).
    pub async fn renew(&self) -> Result<bool, RegistryError> {
        let ttl = i64::try_from(LEASE_TTL.as_millis()).unwrap_or(i64::MAX);
        let renewed = sqlx::query("UPDATE leases SET expires_at = $1 WHERE role = $2 AND holder = $3")
            .bind(now_ms() + ttl)
            .bind(&self.role)
            .bind(&self.holder)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(renewed == 1)
    }

    /// Gives the role up, so the next node may take it at once.
    pub async fn release(self) -> Result<(), RegistryError> {
        sqlx::query("DELETE FROM leases WHERE role = $1 AND holder = $2")
            .bind(&self.role)
            .bind(&self.holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holders_survive_a_round_trip_and_know_their_own_process() {
        let me = Holder::me();
        assert_eq!(Holder::decode(&me.encode()), Some(me.clone()));
        assert!(!me.started.is_empty(), "this process's start time is readable on Linux");
        assert!(!me.certainly_gone(), "this process is running");
        let restarted = Holder { started: "1".into(), ..me.clone() };
        assert!(restarted.certainly_gone(), "same pid, other start time: a process that is gone");
        let elsewhere = Holder { host: "another-machine".into(), started: "1".into(), ..me };
        assert!(!elsewhere.certainly_gone(), "another machine's processes are not ours to judge");
        assert_eq!(Holder::decode("a/b/c"), None);
        assert_eq!(
            Holder::decode("host/with/slash/12/345/ab").map(|h| (h.host, h.pid)),
            Some(("host/with/slash".into(), 12))
        );
    }
}
