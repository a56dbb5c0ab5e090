//! The ingest pipeline: subscribe → decode → validate → batch → store → acknowledge.
//!
//! One MQTT client subscribes at QoS 1 with a persistent session and manual acks.
//! Messages are checked one by one (in arrival order, so order per device holds),
//! their valid readings gathered into a batch, and the batch stored in one transaction
//! when it is full or its timeout passes. Only then are its messages acknowledged: a
//! crash loses nothing acknowledged, and the broker redelivers the rest, which storage
//! takes once. While storage fails, the pipeline stops reading, so unacknowledged
//! messages pile up in the broker, not in memory.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use serde::Serialize;
use tokio::sync::watch;
use wages_codec::{ClientId, Reading, decode_message};
use wages_store::{NewDevice, Registry, RegistryError};

use crate::broker::MAX_PACKET_BYTES;

/// The topic filter readings arrive on.
pub const READINGS_FILTER: &str = "wages/devices/+/readings";
/// Readings per stored batch, at most.
pub const BATCH_SIZE: usize = 500;
/// How long a batch waits for more readings before it is stored anyway.
pub const BATCH_TIMEOUT: Duration = Duration::from_millis(50);
/// Rejected lines kept for `GET /api/dead-letters`.
pub const MAX_DEAD_LETTERS: usize = 1000;
/// Characters of a rejected line kept in its dead letter.
const DEAD_LINE_CHARS: usize = 256;

/// Where the pipeline's MQTT client connects.
#[derive(Clone, Debug)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// A rejected line (or message), as `GET /api/dead-letters` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeadLetter {
    /// When it arrived, ms since the epoch (the server's clock).
    pub received_at: u64,
    pub topic: String,
    /// The rejected line, cut to 256 characters (the whole payload's start for a message refused whole).
    pub line: String,
    /// Why, in words: `line 2, byte 31: expected a number for value, found "abc"`.
    pub reason: String,
}

/// What the pipeline has done since start.
#[derive(Default)]
pub struct Stats {
    /// Connected to the broker with the readings subscription in place.
    subscribed: std::sync::atomic::AtomicBool,
    messages: AtomicU64,
    stored: AtomicU64,
    duplicates: AtomicU64,
    batches: AtomicU64,
    last_batch_us: AtomicU64,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    dead_letters: Mutex<VecDeque<DeadLetter>>,
}

/// The figures of `GET /api/pipeline`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Figures {
    /// MQTT messages received.
    pub messages: u64,
    /// Readings stored (new ones; redeliveries are counted under `duplicates`).
    pub stored: u64,
    pub duplicates: u64,
    pub batches: u64,
    /// Time to store the last batch, in milliseconds.
    pub last_batch_ms: f64,
    /// Rejected lines by reason code.
    pub rejected: BTreeMap<String, u64>,
    pub batch_size: u64,
    pub batch_timeout_ms: u64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn now_ms() -> u64 {
    u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()).unwrap_or(u64::MAX)
}

impl Stats {
    /// Whether readings can arrive now: connected and subscribed.
    pub fn subscribed(&self) -> bool {
        self.subscribed.load(Ordering::Relaxed)
    }

    pub fn figures(&self) -> Figures {
        #[allow(clippy::cast_precision_loss)]
        let last_batch_ms = self.last_batch_us.load(Ordering::Relaxed) as f64 / 1000.0;
        Figures {
            messages: self.messages.load(Ordering::Relaxed),
            stored: self.stored.load(Ordering::Relaxed),
            duplicates: self.duplicates.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            last_batch_ms,
            rejected: lock(&self.rejected).iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            batch_size: BATCH_SIZE as u64,
            batch_timeout_ms: u64::try_from(BATCH_TIMEOUT.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// The most recent rejections, newest first.
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        lock(&self.dead_letters).iter().rev().cloned().collect()
    }

    fn reject(&self, topic: &str, line: &[u8], code: &'static str, reason: String) {
        let line: String = String::from_utf8_lossy(line).chars().take(DEAD_LINE_CHARS).collect();
        tracing::warn!(topic, code, %reason, "reading rejected");
        *lock(&self.rejected).entry(code).or_default() += 1;
        let mut dead = lock(&self.dead_letters);
        if dead.len() == MAX_DEAD_LETTERS {
            dead.pop_front();
        }
        dead.push_back(DeadLetter { received_at: now_ms(), topic: topic.to_owned(), line, reason });
    }
}

/// The `{client_id}` of `wages/devices/{client_id}/readings`.
pub fn topic_client_id(topic: &str) -> Option<ClientId> {
    let id = topic.strip_prefix("wages/devices/")?.strip_suffix("/readings")?;
    ClientId::parse(id).ok()
}

/// The outcome of checking one message before the registry is asked.
#[derive(Debug, Default, PartialEq)]
pub struct Checked {
    /// The device the topic names, if it names one.
    pub client_id: Option<ClientId>,
    pub readings: Vec<Reading>,
    /// Rejected lines: the line, its reason code, and the reason in words.
    pub rejected: Vec<(Vec<u8>, &'static str, String)>,
}

/// Decodes a message and checks each line against its topic. Pure, for unit tests.
pub fn check_message(topic: &str, payload: &[u8]) -> Checked {
    let head = || payload[..payload.len().min(DEAD_LINE_CHARS)].to_vec();
    let Some(client_id) = topic_client_id(topic) else {
        let why = format!("topic {topic:?} is not wages/devices/{{client_id}}/readings");
        return Checked { rejected: vec![(head(), "bad_topic", why)], ..Checked::default() };
    };
    let lines = match decode_message(payload) {
        Ok(lines) => lines,
        Err(e) => {
            return Checked {
                client_id: Some(client_id),
                rejected: vec![(head(), e.code(), e.to_string())],
                ..Checked::default()
            };
        }
    };
    let raw_lines: Vec<&[u8]> = payload.split(|&b| b == b'\n').collect();
    let mut checked = Checked { client_id: Some(client_id), ..Checked::default() };
    let raw = |n: u32| raw_lines.get(n as usize - 1).copied().unwrap_or_default().to_vec();
    for line in lines {
        match line {
            Ok(reading) if reading.client_id == client_id => {
                checked.readings.push(reading);
            }
            Ok(reading) => {
                let why = format!("client_id {} does not match the topic's {}", reading.client_id, client_id);
                checked.rejected.push((reading.to_string().into_bytes(), "client_id_mismatch", why));
            }
            Err(e) => checked.rejected.push((raw(e.line), e.problem.code(), e.to_string())),
        }
    }
    checked
}

/// Runs until `stop` turns true, then stores and acknowledges what it holds.
pub async fn run(
    target: Target,
    registry: Registry,
    auto_register: bool,
    stats: Arc<Stats>,
    mut stop: watch::Receiver<bool>,
) {
    let mut options = MqttOptions::new("wages-ingest", target.host.clone(), target.port);
    options.set_clean_session(false).set_manual_acks(true).set_keep_alive(Duration::from_secs(30));
    options.set_max_packet_size(MAX_PACKET_BYTES, MAX_PACKET_BYTES);
    options.set_inflight(100);
    if let (Some(user), Some(pass)) = (&target.username, &target.password) {
        options.set_credentials(user, pass);
    }
    // Acks go through this channel; it holds a full batch's worth.
    let (client, mut eventloop) = AsyncClient::new(options, BATCH_SIZE * 2 + 16);
    let mut batch: Vec<Reading> = Vec::with_capacity(BATCH_SIZE);
    let mut unacked: Vec<Publish> = Vec::new();
    let mut deadline: Option<tokio::time::Instant> = None;
    let mut backoff = Duration::from_millis(100);

    loop {
        let timeout = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.changed() => break,
            () = timeout => {
                flush(&registry, &client, &stats, &mut batch, &mut unacked, &mut stop).await;
                deadline = None;
            }
            event = eventloop.poll() => match event {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    backoff = Duration::from_millis(100);
                    tracing::info!(host = %target.host, port = target.port, session_present = ack.session_present, "ingest connected to the broker");
                    if ack.session_present {
                        stats.subscribed.store(true, Ordering::Relaxed);
                    } else {
                        let _ = client.try_subscribe(READINGS_FILTER, QoS::AtLeastOnce);
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    stats.subscribed.store(true, Ordering::Relaxed);
                }
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    stats.messages.fetch_add(1, Ordering::Relaxed);
                    accept(&publish, &registry, auto_register, &stats, &mut batch).await;
                    unacked.push(publish);
                    deadline.get_or_insert_with(|| tokio::time::Instant::now() + BATCH_TIMEOUT);
                    if batch.len() >= BATCH_SIZE || unacked.len() >= BATCH_SIZE {
                        flush(&registry, &client, &stats, &mut batch, &mut unacked, &mut stop).await;
                        deadline = None;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    stats.subscribed.store(false, Ordering::Relaxed);
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis(), "ingest lost the broker; reconnecting");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
    flush(&registry, &client, &stats, &mut batch, &mut unacked, &mut stop).await;
    // Let the acknowledgements leave before disconnecting.
    let _ = client.try_disconnect();
    let drain = async { while eventloop.poll().await.is_ok() {} };
    let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
}

/// Checks one message and adds its valid readings to the batch.
async fn accept(publish: &Publish, registry: &Registry, auto_register: bool, stats: &Stats, batch: &mut Vec<Reading>) {
    let checked = check_message(&publish.topic, &publish.payload);
    for (line, code, why) in &checked.rejected {
        stats.reject(&publish.topic, line, code, why.clone());
    }
    let (Some(client_id), false) = (checked.client_id, checked.readings.is_empty()) else {
        return;
    };
    match known(registry, client_id, auto_register).await {
        Ok(true) => batch.extend(checked.readings),
        Ok(false) => {
            for r in &checked.readings {
                let why = format!("device {client_id} is not registered (WAGES_AUTO_REGISTER is off)");
                stats.reject(&publish.topic, r.to_string().as_bytes(), "unknown_device", why);
            }
        }
        Err(e) => {
            // The registry is down: keep the readings (they will be stored or redelivered).
            tracing::warn!(error = %e, "device lookup failed; accepting readings for {client_id}");
            batch.extend(checked.readings);
        }
    }
}

/// Whether the device is registered, registering it first when `auto_register` is on.
async fn known(registry: &Registry, client_id: ClientId, auto_register: bool) -> Result<bool, RegistryError> {
    if registry.get(&client_id).await?.is_some() {
        return Ok(true);
    }
    if !auto_register {
        return Ok(false);
    }
    let new = NewDevice::parse(client_id.as_str(), client_id.as_str())?;
    match registry.create(&new).await {
        Ok(_) | Err(RegistryError::Duplicate(_)) => {
            tracing::info!(client_id = %client_id, "device registered on its first reading");
            Ok(true)
        }
        Err(e) => Err(e),
    }
}

/// Stores the batch, retrying while storage fails, then acknowledges its messages.
async fn flush(
    registry: &Registry,
    client: &AsyncClient,
    stats: &Stats,
    batch: &mut Vec<Reading>,
    unacked: &mut Vec<Publish>,
    stop: &mut watch::Receiver<bool>,
) {
    if unacked.is_empty() {
        return;
    }
    let store = registry.readings();
    let mut backoff = Duration::from_millis(100);
    loop {
        let started = Instant::now();
        match store.insert(batch).await {
            Ok(new) => {
                let elapsed = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                stats.last_batch_us.store(elapsed, Ordering::Relaxed);
                stats.batches.fetch_add(1, Ordering::Relaxed);
                stats.stored.fetch_add(new, Ordering::Relaxed);
                stats.duplicates.fetch_add(batch.len() as u64 - new, Ordering::Relaxed);
                break;
            }
            Err(e) => {
                tracing::error!(error = %e, readings = batch.len(), "storing a batch failed; retrying, messages stay unacknowledged");
                if *stop.borrow() {
                    // Shutting down: leave them to the broker's redelivery.
                    batch.clear();
                    unacked.clear();
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
    for publish in unacked.drain(..) {
        if let Err(e) = client.try_ack(&publish) {
            tracing::warn!(error = %e, "acknowledgement not sent; the broker will redeliver");
        }
    }
    batch.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_name_their_device() {
        assert_eq!(topic_client_id("wages/devices/scale-01/readings").map(|c| c.to_string()), Some("scale-01".into()));
        assert_eq!(topic_client_id("wages/devices/a.b/readings"), None);
        assert_eq!(topic_client_id("wages/devices/scale-01/status"), None);
        assert_eq!(topic_client_id("other/scale-01/readings"), None);
    }

    #[test]
    fn bad_lines_are_rejected_beside_good_ones() {
        let payload = b"client_id=s1;session_id=b;value=1;tstamp=1\nclient_id=s1;session_id=b;value=x;tstamp=2\nclient_id=s2;session_id=b;value=3;tstamp=3";
        let checked = check_message("wages/devices/s1/readings", payload);
        assert_eq!(checked.readings.len(), 1);
        let codes: Vec<_> = checked.rejected.iter().map(|(_, code, _)| *code).collect();
        assert_eq!(codes, ["syntax", "client_id_mismatch"]);
        assert_eq!(checked.rejected[0].0, b"client_id=s1;session_id=b;value=x;tstamp=2");
        assert_eq!(checked.rejected[0].2, r#"line 2, byte 32: expected a number for value, found "x""#);
    }

    #[test]
    fn whole_messages_are_refused_for_their_topic_or_size() {
        let checked = check_message("wages/devices/s1/status", b"online");
        assert_eq!((checked.client_id, checked.rejected[0].1), (None, "bad_topic"));
        let many = "client_id=s1;session_id=b;value=1;tstamp=1\n".repeat(1001);
        let checked = check_message("wages/devices/s1/readings", many.as_bytes());
        assert_eq!(checked.rejected.len(), 1);
        assert_eq!(checked.rejected[0].1, "too_many_readings");
        assert!(checked.readings.is_empty());
    }
}
