//! Several nodes on one PostgreSQL and one external broker: each ingests its share of the
//! readings, and this keeps the rest right on all of them, through PostgreSQL's
//! LISTEN/NOTIFY (every node already holds a connection to it; nothing else to run):
//!
//! - readings this node stored go out on [`READINGS_CHANNEL`], and readings the others
//!   stored come in and reach this node's live viewers ([`Hub::relay`]);
//! - a device changed anywhere ([`wages_store::DEVICES_CHANNEL`], sent by the registry)
//!   leaves this node's cache, so the next lookup reads it afresh.
//!
//! Presence and firmware need nothing here: every node subscribes to the scales' status
//! and the firmware offer itself (plain subscriptions, not shared).
//!
//! Notifications are not stored: when the listening connection drops, this node forgets
//! its whole device cache, and live viewers miss what came meanwhile (as a slow viewer
//! skips ahead); stored readings are never affected.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use wages_codec::{ClientId, Reading};
use wages_store::Registry;

use crate::hub::Hub;

/// PostgreSQL's notification channel for stored readings: `{node}\n` then one reading a line.
pub const READINGS_CHANNEL: &str = "wages_readings";
/// PostgreSQL refuses payloads of 8000 bytes or more; stay well under.
const MAX_PAYLOAD: usize = 7800;

/// Why this node could not join the others' notifications on PostgreSQL.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot connect to PostgreSQL for the nodes' notifications: {0}")]
    Connect(sqlx::Error),
    #[error("cannot listen to the nodes' notifications on PostgreSQL: {0}")]
    Listen(sqlx::Error),
}

/// Starts relaying between the nodes on `database_url`; runs until `stop`.
pub async fn start(
    database_url: &str,
    node_id: String,
    hub: Arc<Hub>,
    registry: Registry,
    stop: watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, ClusterError> {
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(10))
        .connect(database_url)
        .await
        .map_err(ClusterError::Connect)?;
    let mut listener = PgListener::connect_with(&pool).await.map_err(ClusterError::Listen)?;
    listener.listen_all([READINGS_CHANNEL, wages_store::DEVICES_CHANNEL]).await.map_err(ClusterError::Listen)?;
    tracing::info!(node = %node_id, "sharing live readings and device changes with other nodes through PostgreSQL");
    let out = tokio::spawn(send_stored(pool, node_id.clone(), hub.subscribe_batches(), stop.clone()));
    let inbound = tokio::spawn(receive(listener, node_id, hub, registry, stop));
    Ok(vec![out, inbound])
}

/// Sends every batch this node stores to the other nodes.
async fn send_stored(
    pool: PgPool,
    node_id: String,
    mut batches: broadcast::Receiver<Arc<[Reading]>>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let batch = tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => return,
            batch = batches.recv() => batch,
        };
        match batch {
            Ok(batch) => {
                let payloads = payloads(&node_id, &batch);
                let sent = sqlx::query("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p")
                    .bind(READINGS_CHANNEL)
                    .bind(&payloads)
                    .execute(&pool)
                    .await;
                if let Err(e) = sent {
                    tracing::warn!(error = %e, "could not pass stored readings to the other nodes' live views");
                }
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(batches = n, "too slow to pass every stored batch to the other nodes' live views");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// The batch as notification payloads: each `{node}\n` and whole lines, under [`MAX_PAYLOAD`].
fn payloads(node_id: &str, batch: &[Reading]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for reading in batch {
        let line = reading.to_string();
        if !current.is_empty() && current.len() + 1 + line.len() > MAX_PAYLOAD {
            out.push(std::mem::take(&mut current));
        }
        if current.is_empty() {
            current.push_str(node_id);
        }
        current.push('\n');
        current.push_str(&line);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Takes in the other nodes' notifications until `stop`.
async fn receive(
    mut listener: PgListener,
    node_id: String,
    hub: Arc<Hub>,
    registry: Registry,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let notification = tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => return,
            n = listener.try_recv() => n,
        };
        match notification {
            Ok(Some(n)) if n.channel() == READINGS_CHANNEL => {
                if !hub.has_followers() {
                    continue;
                }
                let readings = readings_from(&node_id, n.payload());
                if !readings.is_empty() {
                    hub.relay(&readings);
                }
            }
            Ok(Some(n)) => {
                for id in n.payload().split(',') {
                    match ClientId::parse(id) {
                        Ok(client_id) => registry.forget(&client_id).await,
                        Err(_) => tracing::warn!(payload = n.payload(), "a device notice that names no device"),
                    }
                }
            }
            Ok(None) => {
                // The connection dropped and comes back on the next call: notices may be lost.
                tracing::warn!("lost PostgreSQL's notifications for a moment; forgetting every cached device");
                registry.forget_all();
            }
            Err(e) => {
                tracing::warn!(error = %e, "PostgreSQL's notifications failed; retrying in 1 s");
                registry.forget_all();
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Another node's stored readings; none from this node's own notifications.
fn readings_from(node_id: &str, payload: &str) -> Vec<Reading> {
    let mut lines = payload.split('\n');
    if lines.next() == Some(node_id) {
        return Vec::new();
    }
    lines.filter_map(|line| wages_codec::decode_line(line.as_bytes()).ok()).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn reading(t: u64) -> Reading {
        wages_codec::decode_line(format!("client_id=scale-{t};session_id=espresso;value=1.5;tstamp={t}").as_bytes())
            .unwrap()
    }

    #[test]
    fn batches_split_into_payloads_postgres_takes_and_come_back_whole() {
        let batch: Vec<Reading> = (0..500).map(reading).collect();
        let payloads = payloads("node-a", &batch);
        assert!(payloads.len() > 1);
        assert!(payloads.iter().all(|p| p.len() < MAX_PAYLOAD && p.starts_with("node-a\n")));
        let back: Vec<Reading> = payloads.iter().flat_map(|p| readings_from("node-b", p)).collect();
        assert_eq!(back, batch);
        assert!(payloads.iter().all(|p| readings_from("node-a", p).is_empty()), "a node skips its own");
        assert!(super::payloads("node-a", &[]).is_empty());
    }
}
