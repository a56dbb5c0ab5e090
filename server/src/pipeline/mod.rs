//! The ingest pipeline: receive → check → validate → partition → batch → store → acknowledge.
//!
//! Readings arrive one of three ways: with the embedded broker, straight from its gate,
//! which holds the scale's PUBACK until the pipeline says the message is stored
//! ([`Delivery::from_gate`], [`crate::mqtt::relay`]); with an external broker, through
//! one MQTT client subscribed at QoS 1 with a persistent session and manual acks (or
//! a shared subscription); or from RabbitMQ's queue over AMQP ([`amqp`]). Each
//! message is checked (see [`check`]) and its devices looked up in arrival order; its
//! valid readings go to the worker of its device (`client_id` hashed over `concurrency`
//! workers, so order per device holds). A worker stores a batch when it is full or its
//! timeout passes, in one write (see [`worker`]). A message is acknowledged once all its
//! readings are stored: a crash loses nothing acknowledged, and the broker redelivers the
//! rest, which storage takes once. Acknowledgements to a broker or RabbitMQ go out in
//! arrival order; the gate's are answered by the worker as soon as the message's batch
//! is stored, since its relay keeps each scale's answers in that scale's order, so one
//! scale never waits for another's batch.
//!
//! Every queue is bounded: at most [`MAX_IN_FLIGHT`] messages (and [`MAX_IN_FLIGHT_BYTES`])
//! are between arrival and acknowledgement. When storage is slow the pipeline stops
//! reading from the broker (or the gate from the scales' sockets), so unacknowledged
//! messages wait there, not in memory.

pub mod amqp;
pub mod check;
mod in_flight;
pub mod stats;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use tokio::sync::{mpsc, oneshot, watch};
use wages_codec::topic::{self, Channel, PROTOBUF_FILTER, READINGS_FILTER, STATUS_FILTER};
use wages_codec::{ClientId, Reading};
use wages_store::pipeline::{DeadLetter, Pending, PipelineControl, PipelineError, PipelineFigures, PipelineSettings};
use wages_store::{NewDevice, ReadingsStore, Registry, RegistryError};

pub use check::{Checked, Form, check_message, topic_client_id, topic_status_client_id};
pub use stats::{MAX_DEAD_LETTERS, Stats};

use crate::hub::Hub;
use crate::mqtt::{MAX_PACKET_BYTES, Target};
use in_flight::{Ack, Acks, InFlight};
use worker::{Done, Shared, Work, Worker};

/// How often the pipeline publishes its figures, retained, on
/// `wages/pipeline/{node_id}/figures`.
const FIGURES_EVERY: Duration = Duration::from_secs(5);
/// How often the registry hears which scales sent readings (`last_seen_at`): often
/// enough for people, rarely enough to keep storage at one write per batch.
const SEEN_EVERY: Duration = Duration::from_secs(5);
/// How long publishing a firmware offer may wait for the broker's acknowledgement.
const OFFER_WAIT: Duration = Duration::from_secs(10);
/// Messages between arrival and acknowledgement, at most.
pub const MAX_IN_FLIGHT: usize = 4096;
/// Payload bytes between arrival and acknowledgement, at most.
pub const MAX_IN_FLIGHT_BYTES: usize = 64 * 1024 * 1024;
/// How long a reconfiguration may wait for the batches in flight to be stored.
const RECONFIGURE_WAIT: Duration = Duration::from_secs(30);

/// How readings reach this node's pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readings {
    /// Handed over by the embedded broker's gate, through [`front_door`].
    Gate,
    /// Subscribed over MQTT; in this shared-subscription group when `Some`.
    Mqtt { share: Option<String> },
    /// Consumed from RabbitMQ's durable queue at this `amqp://` URL (see [`amqp`]).
    Amqp(String),
}

/// Messages waiting for the pipeline to take them from the gate or the AMQP consumer;
/// past it, they wait in the scales' sockets or in RabbitMQ.
const DELIVERIES: usize = 1024;

/// One whole message from outside the MQTT subscription, and how to acknowledge it.
pub struct Delivery {
    /// The MQTT topic it was published on.
    topic: String,
    payload: bytes::Bytes,
    ack: Ack,
}

/// What became of a message the gate handed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Taken {
    /// Its valid readings are stored (lines beside them may have been rejected).
    Stored,
    /// It held no reading to store; the code of its first rejection (`syntax`,
    /// `unknown_device`, `too_many_readings`, …), recorded as a dead letter.
    Rejected(&'static str),
}

impl Delivery {
    /// A message the gate took from a scale: the receiver answers once its readings are
    /// stored (or its rejections recorded), and is dropped unanswered if they never are.
    pub fn from_gate(topic: String, payload: bytes::Bytes) -> (Delivery, oneshot::Receiver<Taken>) {
        let (stored, answer) = oneshot::channel();
        (Delivery { topic, payload, ack: Ack::Gate(stored) }, answer)
    }
}

/// The queue from the gate into the pipeline: the gate sends, [`Parts::deliveries`] takes.
pub fn front_door() -> (mpsc::Sender<Delivery>, mpsc::Receiver<Delivery>) {
    mpsc::channel(DELIVERIES)
}

impl Readings {
    /// The MQTT subscriptions for readings (none when they come over AMQP).
    fn filters(&self) -> Vec<String> {
        match self {
            Readings::Mqtt { share: None } => vec![READINGS_FILTER.to_owned(), PROTOBUF_FILTER.to_owned()],
            Readings::Mqtt { share: Some(group) } => {
                [READINGS_FILTER, PROTOBUF_FILTER].map(|f| format!("$share/{group}/{f}")).to_vec()
            }
            Readings::Gate | Readings::Amqp(_) => Vec::new(),
        }
    }

    /// The plain readings subscriptions when they are not wanted: a persistent session
    /// keeps its subscriptions, so a node that took every reading before (one node, then
    /// several) would otherwise go on getting them all besides its share.
    fn unwanted(&self) -> Vec<String> {
        match self {
            // The embedded broker keeps no session across a restart.
            Readings::Gate | Readings::Mqtt { share: None } => Vec::new(),
            _ => vec![READINGS_FILTER.to_owned(), PROTOBUF_FILTER.to_owned()],
        }
    }
}

/// Everything the pipeline runs with.
pub struct Parts {
    pub target: Target,
    /// The MQTT client id: stable per node, so a persistent session outlives a restart.
    pub client_id: String,
    pub readings: Readings,
    /// The gate's messages, with [`Readings::Gate`].
    pub deliveries: Option<mpsc::Receiver<Delivery>>,
    /// This node's name, for the AMQP connection's and its figures' topic.
    pub node_id: String,
    /// The broker in words, for the figures.
    pub broker: String,
    pub registry: Registry,
    pub storage: ReadingsStore,
    pub hub: Arc<Hub>,
    pub auto_register: bool,
    pub settings: PipelineSettings,
    pub stats: Arc<Stats>,
    pub requests: mpsc::Receiver<Reconfigure>,
    pub stop: watch::Receiver<bool>,
}

/// A request to drain and restart with new settings; `applied` answers once done.
pub struct Reconfigure {
    pub settings: PipelineSettings,
    pub applied: oneshot::Sender<()>,
}

/// The running pipeline as the API and the pages reach it.
pub struct Control {
    pub stats: Arc<Stats>,
    pub broker: String,
    pub requests: mpsc::Sender<Reconfigure>,
    /// The broker, for publishing firmware offers.
    pub target: Target,
}

impl PipelineControl for Control {
    fn figures(&self) -> PipelineFigures {
        self.stats.figures(&self.broker)
    }

    fn dead_letters(&self) -> Vec<DeadLetter> {
        self.stats.dead_letters()
    }

    fn reconfigure(&self, settings: PipelineSettings) -> Pending<'_> {
        Box::pin(async move {
            let settings = settings.checked()?;
            let (applied, answer) = oneshot::channel();
            self.requests.send(Reconfigure { settings, applied }).await.map_err(|_| PipelineError::Stopped)?;
            match tokio::time::timeout(RECONFIGURE_WAIT, answer).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(_)) => Err(PipelineError::Stopped),
                Err(_) => Err(PipelineError::StillStoring),
            }
        })
    }

    fn firmware_offer(&self) -> Option<wages_codec::FirmwareOffer> {
        self.stats.firmware_offer()
    }

    fn offer_firmware(&self, offer: wages_codec::FirmwareOffer, client_id: Option<ClientId>) -> Pending<'_> {
        let topic = topic::firmware(client_id.as_ref());
        Box::pin(async move {
            publish_retained(&self.target, topic, offer.to_string()).await?;
            if client_id.is_none() {
                // Known at once, not only when the broker sends it back.
                self.stats.set_firmware_offer(Some(offer));
            }
            Ok(())
        })
    }

    fn publish_target(&self, client_id: ClientId, target: Option<wages_store::brew::Target>) -> Pending<'_> {
        // An empty retained message removes the retained target.
        let payload = target.map(|t| serde_json::to_string(&t).unwrap_or_default()).unwrap_or_default();
        Box::pin(publish_retained(&self.target, topic::device(&client_id, Channel::Target), payload))
    }
}

/// Publishes one retained QoS 1 message with a short-lived client of its own, and waits
/// for the broker's acknowledgement.
async fn publish_retained(target: &Target, topic: String, payload: String) -> Result<(), PipelineError> {
    static PUBLISHERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = PUBLISHERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut options = mqtt_options(target, &format!("wages-publish-{}-{n}", std::process::id()));
    options.set_clean_session(true);
    let (client, mut eventloop) = AsyncClient::new(options, 4);
    client.publish(topic, QoS::AtLeastOnce, true, payload).await.map_err(|e| PipelineError::Broker(e.to_string()))?;
    let acknowledged = async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(PipelineError::Broker(e.to_string())),
            }
        }
    };
    let result = match tokio::time::timeout(OFFER_WAIT, acknowledged).await {
        Ok(result) => result,
        Err(_) => Err(PipelineError::Broker(format!("no acknowledgement within {} s", OFFER_WAIT.as_secs()))),
    };
    let _ = client.try_disconnect();
    let _ = tokio::time::timeout(Duration::from_secs(1), async { while eventloop.poll().await.is_ok() {} }).await;
    result
}

/// FNV-1a over the id: the same device always lands on the same worker.
fn partition(client_id: &ClientId, workers: usize) -> usize {
    let hash = client_id
        .as_str()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    (hash % workers as u64) as usize
}

pub(crate) fn mqtt_options(target: &Target, client_id: &str) -> MqttOptions {
    let mut options = target.options(client_id);
    options.set_clean_session(false).set_manual_acks(true).set_keep_alive(Duration::from_secs(30));
    options.set_max_packet_size(MAX_PACKET_BYTES, MAX_PACKET_BYTES);
    options.set_inflight(1000);
    options
}

/// Runs until `stop` turns true, then stores and acknowledges what it holds.
pub async fn run(parts: Parts) {
    let Parts {
        target,
        client_id,
        readings: source,
        deliveries,
        node_id,
        broker,
        registry,
        storage,
        hub,
        auto_register,
        mut settings,
        stats,
        mut requests,
        mut stop,
    } = parts;
    // Acknowledgements wait in the client's queue until the event loop sends them.
    let (client, mut eventloop) = AsyncClient::new(mqtt_options(&target, &client_id), MAX_IN_FLIGHT + 64);
    let amqp = amqp(&source, deliveries, &client, &node_id, &stats);
    let Amqp { mut delivered, deliver, acks, tasks: amqp_tasks, stop: stop_amqp } = amqp;
    // Each entry holds at least one message in flight, so it never holds more than
    // MAX_IN_FLIGHT of them.
    let (done, mut finished) = mpsc::channel(MAX_IN_FLIGHT);
    let shared = Shared { storage, stats: stats.clone(), hub: hub.clone(), done, stop: stop.clone() };
    let start = |settings: PipelineSettings| -> Vec<Worker> {
        (0..settings.concurrency).map(|_| worker::spawn(settings, shared.clone(), MAX_IN_FLIGHT)).collect()
    };
    let mut workers = start(settings);
    let mut flight = InFlight::default();
    let mut registered = Registered::default();
    let mut backoff = Duration::from_millis(100);
    // Subscribed once the broker has answered every SUBSCRIBE of this connection.
    let mut subacks_due = 0;
    let mut remember = tokio::time::interval(SEEN_EVERY);
    remember.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // The first figures once connected and running for a while, not at start.
    let mut figures = tokio::time::interval_at(tokio::time::Instant::now() + FIGURES_EVERY, FIGURES_EVERY);
    figures.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let figures_topic = topic::pipeline_figures(&node_id);

    loop {
        stats.set_in_flight(flight.len());
        tokio::select! {
            _ = stop.changed() => break,
            _ = remember.tick() => drop(tokio::spawn(remember_seen(registry.clone(), stats.clone()))),
            _ = figures.tick() => {
                let json = serde_json::to_string(&published_figures(&stats, &broker)).unwrap_or_default();
                let _ = client.try_publish(figures_topic.as_str(), QoS::AtMostOnce, true, json);
            }
            Some(seqs) = finished.recv() => flight.finish(&seqs, &acks),
            Some(request) = requests.recv() => {
                drain(std::mem::take(&mut workers), &mut finished, &mut flight, &acks).await;
                settings = request.settings;
                stats.set_settings(settings);
                workers = start(settings);
                tracing::info!(?settings, "pipeline restarted with new settings");
                let _ = request.applied.send(());
            }
            Some(delivery) = delivered.recv(), if flight.has_room() => {
                // What else is waiting is taken in the same turn: a fleet's messages come
                // one by one from thousands of connections, and a turn of this loop (its
                // every branch polled again) costs more than taking one.
                let mut next = Some(delivery);
                let mut taken = 0;
                while let Some(delivery) = next.take() {
                    let ctx = Ingest { registry: &registry, auto_register, stats: &stats, workers: &workers, acks: &acks };
                    ctx.take(delivery, &mut flight, &mut registered).await;
                    taken += 1;
                    if taken < DELIVERIES_PER_TURN && flight.has_room() {
                        next = delivered.try_recv().ok();
                    }
                }
            }
            event = eventloop.poll(), if flight.has_room() => match event {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    backoff = Duration::from_millis(100);
                    tracing::info!(host = %target.broker.host, port = target.broker.port, session_present = ack.session_present, "ingest connected to the broker");
                    subacks_due = subscribe(&client, &source);
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    subacks_due -= 1;
                    if subacks_due <= 0 {
                        stats.set_subscribed(true);
                    }
                }
                Ok(Event::Incoming(Packet::Publish(publish))) if publish.topic == topic::FIRMWARE => {
                    firmware_offer(&publish, &stats);
                    let seq = flight.push(Ack::Mqtt(publish), 0);
                    flight.finish(&[seq], &acks);
                }
                Ok(Event::Incoming(Packet::Publish(publish))) if publish.topic == topic::PIPELINE_CONFIG => {
                    if let Some(new) = settings_from(&publish, &stats) {
                        drain(std::mem::take(&mut workers), &mut finished, &mut flight, &acks).await;
                        settings = new;
                        stats.set_settings(settings);
                        workers = start(settings);
                        tracing::info!(?settings, "pipeline restarted with settings from {}", topic::PIPELINE_CONFIG);
                    }
                    let seq = flight.push(Ack::Mqtt(publish), 0);
                    flight.finish(&[seq], &acks);
                }
                Ok(Event::Incoming(Packet::Publish(publish))) if topic_status_client_id(&publish.topic).is_some() => {
                    presence(&publish, &registry, auto_register, &stats, &hub).await;
                    let seq = flight.push(Ack::Mqtt(publish), 0);
                    flight.finish(&[seq], &acks);
                }
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    let from = (&registry, &mut registered);
                    let (readings, _) = accept(&publish.topic, &publish.payload, from, auto_register, &stats).await;
                    let len = publish.payload.len();
                    dispatch(readings, flight.push(Ack::Mqtt(publish), len), &workers, &mut flight, &acks).await;
                }
                Ok(_) => {}
                Err(e) => {
                    stats.set_subscribed(false);
                    flight.forget_connection();
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis(), "ingest lost the broker; reconnecting");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
    drain(workers, &mut finished, &mut flight, &acks).await;
    remember_seen(registry.clone(), stats.clone()).await;
    close(Amqp { delivered, deliver, acks, tasks: amqp_tasks, stop: stop_amqp }, eventloop).await;
}

/// Scales whose running figures go out with the pipeline's figures over MQTT: those heard
/// from last. All of a large fleet's would outgrow an MQTT packet (5,000 scales make
/// 700 KB); `GET /api/pipeline` has them all.
const PUBLISHED_DEVICES: usize = 100;

/// The figures as published on `wages/pipeline/{node_id}/figures`.
fn published_figures(stats: &Stats, broker: &str) -> PipelineFigures {
    let mut figures = stats.figures(broker);
    if figures.devices.len() > PUBLISHED_DEVICES {
        figures.devices.sort_by_key(|d| std::cmp::Reverse(d.last_tstamp));
        figures.devices.truncate(PUBLISHED_DEVICES);
        figures.devices.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    }
    figures
}

/// Whole messages from outside the MQTT subscription: the gate's, or over AMQP, when
/// configured, a consumer feeding `delivered` and an acknowledger sending acks in
/// order. Otherwise `delivered` never yields and acks go to MQTT.
struct Amqp {
    delivered: mpsc::Receiver<Delivery>,
    /// Held so that `delivered` stays open (and pending) without AMQP.
    deliver: mpsc::Sender<Delivery>,
    acks: Acks,
    /// The consumer, then the acknowledger.
    tasks: Vec<tokio::task::JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

fn amqp(
    source: &Readings,
    from_gate: Option<mpsc::Receiver<Delivery>>,
    client: &AsyncClient,
    node_id: &str,
    stats: &Arc<Stats>,
) -> Amqp {
    let (deliver, mut delivered) = front_door();
    if let Some(from_gate) = from_gate {
        delivered = from_gate;
    }
    let (stop, stopped) = watch::channel(false);
    let (mut tasks, mut acks) = (Vec::new(), Acks { client: client.clone(), amqp: None });
    if let Readings::Amqp(url) = source {
        // One acker per delivery RabbitMQ has out to us, at most its prefetch.
        let (ackers, to_ack) = mpsc::channel(usize::from(amqp::PREFETCH));
        acks.amqp = Some(ackers);
        stats.set_queue_up(false);
        let consume = amqp::consume(url.clone(), node_id.to_owned(), deliver.clone(), stats.clone(), stopped);
        tasks.push(tokio::spawn(consume));
        tasks.push(tokio::spawn(amqp::acknowledge(to_ack)));
    }
    Amqp { delivered, deliver, acks, tasks, stop }
}

/// Sends the last acknowledgements, AMQP's before its connection closes, then MQTT's
/// before disconnecting.
async fn close(amqp: Amqp, mut eventloop: rumqttc::EventLoop) {
    let Amqp { delivered, deliver, acks, mut tasks, stop } = amqp;
    let client = acks.client.clone();
    drop(acks);
    drop((delivered, deliver));
    if let Some(acknowledger) = tasks.pop() {
        let _ = tokio::time::timeout(Duration::from_secs(2), acknowledger).await;
    }
    let _ = stop.send(true);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    }
    let _ = client.try_disconnect();
    let sent = async { while eventloop.poll().await.is_ok() {} };
    let _ = tokio::time::timeout(Duration::from_secs(2), sent).await;
}

/// Subscribes this connection to what the pipeline reads (and unsubscribes what an
/// earlier run of this node read but this one must not); how many SUBACKs are due.
///
/// Subscribed on every connection, even when the broker says the session is still
/// there: rumqttd has answered `session_present` on a fresh broker (two servers starting
/// at once in one test process), and then nothing arrived. Subscribing again to the same
/// filters is harmless. Subscribed first, then unsubscribed: RabbitMQ 3.10 ignores an
/// UNSUBSCRIBE of a filter this connection has not subscribed itself, and keeps the old
/// session's binding (found by the cluster tests).
fn subscribe(client: &AsyncClient, source: &Readings) -> i32 {
    let unwanted = source.unwanted();
    let mut subacks_due = 1;
    if !unwanted.is_empty() {
        subacks_due += 1;
        let again = unwanted.iter().map(|f| rumqttc::SubscribeFilter::new(f.clone(), QoS::AtLeastOnce));
        let _ = client.try_subscribe_many(again);
        for filter in unwanted {
            let _ = client.try_unsubscribe(filter);
        }
    }
    let filters = source
        .filters()
        .into_iter()
        // Status is retained, so on subscribing the broker sends each scale's latest; the
        // firmware offer tells the current version.
        .chain([STATUS_FILTER.to_owned(), topic::FIRMWARE.to_owned(), topic::PIPELINE_CONFIG.to_owned()])
        .map(|f| rumqttc::SubscribeFilter::new(f, QoS::AtLeastOnce));
    let _ = client.try_subscribe_many(filters);
    subacks_due
}

/// Closes the workers' queues, waits until they have stored what they hold, and
/// acknowledges those messages.
async fn drain(workers: Vec<Worker>, finished: &mut mpsc::Receiver<Vec<u64>>, flight: &mut InFlight, acks: &Acks) {
    for Worker { work, task } in workers {
        drop(work);
        let _ = task.await;
    }
    while let Ok(seqs) = finished.try_recv() {
        flight.finish(&seqs, acks);
    }
}

/// Messages from the gate or AMQP taken in one turn of the pipeline's loop, at most.
const DELIVERIES_PER_TURN: usize = 256;

/// What taking a delivered message needs.
struct Ingest<'a> {
    registry: &'a Registry,
    auto_register: bool,
    stats: &'a Arc<Stats>,
    workers: &'a [Worker],
    acks: &'a Acks,
}

impl Ingest<'_> {
    /// Checks a message from the gate or AMQP and hands its readings to their worker.
    async fn take(&self, delivery: Delivery, flight: &mut InFlight, registered: &mut Registered) {
        let Delivery { topic, payload, ack } = delivery;
        let from = (self.registry, registered);
        let (readings, rejected) = accept(&topic, &payload, from, self.auto_register, self.stats).await;
        match ack {
            Ack::Gate(answer) => hand_over(readings, rejected, answer, self.workers, self.stats).await,
            ack => {
                let seq = flight.push(ack, payload.len());
                if let (true, Some(code)) = (readings.is_empty(), rejected) {
                    flight.rejected(seq, code);
                }
                dispatch(readings, seq, self.workers, flight, self.acks).await;
            }
        }
    }
}

/// Hands a message's readings to their device's worker; a message without any is done.
async fn dispatch(readings: Vec<Reading>, seq: u64, workers: &[Worker], flight: &mut InFlight, acks: &Acks) {
    match readings.first().map(|r| partition(&r.client_id, workers.len())) {
        Some(i) => {
            if workers[i].work.send(Work { done: Done::Seq(seq), readings }).await.is_err() {
                tracing::error!("a pipeline worker stopped; the broker will redeliver");
            }
        }
        None => flight.finish(&[seq], acks),
    }
}

/// Hands a message from the gate to its device's worker, which answers the gate itself
/// once the readings are stored; a message without any is answered now.
async fn hand_over(
    readings: Vec<Reading>,
    rejected: Option<&'static str>,
    answer: oneshot::Sender<Taken>,
    workers: &[Worker],
    stats: &Stats,
) {
    let Some(i) = readings.first().map(|r| partition(&r.client_id, workers.len())) else {
        let _ = answer.send(rejected.map_or(Taken::Stored, Taken::Rejected));
        return;
    };
    stats.gate_taken();
    if let Err(unsent) = workers[i].work.send(Work { done: Done::Gate(answer), readings }).await {
        // Dropped unanswered: the scale is cut off without its PUBACK and sends it again.
        drop(unsent);
        stats.gate_answered(1);
        tracing::error!("a pipeline worker stopped; the scale will send its message again");
    }
}

/// Checks one message: its valid readings of a known device, the rest rejected; and
/// the code of its first rejection, if any.
async fn accept(
    topic: &str,
    payload: &[u8],
    (registry, registered): (&Registry, &mut Registered),
    auto_register: bool,
    stats: &Stats,
) -> (Vec<Reading>, Option<&'static str>) {
    stats.message();
    let checked = check_message(topic, payload);
    for (line, code, why) in &checked.rejected {
        stats.reject(topic, line, code, why.clone());
    }
    let first_rejection = checked.rejected.first().map(|(_, code, _)| *code);
    let (Some(client_id), false) = (checked.client_id, checked.readings.is_empty()) else {
        return (Vec::new(), first_rejection);
    };
    match registered.check(registry, client_id, auto_register).await {
        Ok(true) => (checked.readings, first_rejection),
        Ok(false) => {
            for r in &checked.readings {
                let why = format!("device {client_id} is not registered (WAGES_AUTO_REGISTER is off)");
                stats.reject(topic, r.to_string().as_bytes(), "unknown_device", why);
            }
            (Vec::new(), Some("unknown_device"))
        }
        Err(e) => {
            // The registry is down: keep the readings (they will be stored or redelivered).
            tracing::warn!(error = %e, "device lookup failed; accepting readings for {client_id}");
            (checked.readings, first_rejection)
        }
    }
}

/// Tells the registry when each scale's readings last arrived.
async fn remember_seen(registry: Registry, stats: Arc<Stats>) {
    let seen: Vec<(ClientId, i64)> = stats
        .take_seen()
        .into_iter()
        .map(|(client_id, at)| (client_id, i64::try_from(at).unwrap_or(i64::MAX)))
        .collect();
    if seen.is_empty() {
        return;
    }
    if let Err(e) = registry.touch_all(&seen).await {
        tracing::warn!(error = %e, scales = seen.len(), "could not record when scales were last seen");
    }
}

/// Settings published on `wages/pipeline/config`, checked as `PUT /api/pipeline/config`
/// checks them; settings that do not read or break a bound are a dead letter.
fn settings_from(publish: &Publish, stats: &Stats) -> Option<PipelineSettings> {
    let checked = serde_json::from_slice::<PipelineSettings>(&publish.payload)
        .map_err(|e| e.to_string())
        .and_then(|s| s.checked().map_err(|e| e.to_string()));
    match checked {
        Ok(settings) => Some(settings),
        Err(why) => {
            stats.reject(&publish.topic, &publish.payload, "bad_pipeline_config", why);
            None
        }
    }
}

/// Takes note of the fleet's firmware offer (an empty payload withdraws it); one that does
/// not read is a dead letter.
fn firmware_offer(publish: &Publish, stats: &Stats) {
    if publish.payload.is_empty() {
        return stats.set_firmware_offer(None);
    }
    match wages_codec::decode_offer(&publish.payload) {
        Ok(offer) => stats.set_firmware_offer(Some(offer)),
        Err(why) => stats.reject(&publish.topic, &publish.payload, "bad_firmware_offer", why.to_string()),
    }
}

/// Records a scale's status message (docs/protocol.md) in the registry and tells the fleet's
/// viewers; a refused one is a dead letter. An empty payload (a retained status being
/// cleared) is let be.
async fn presence(publish: &Publish, registry: &Registry, auto_register: bool, stats: &Stats, hub: &Hub) {
    let Some(client_id) = topic_status_client_id(&publish.topic) else { return };
    if publish.payload.is_empty() {
        return;
    }
    let status = match wages_codec::decode_status(&publish.payload) {
        Ok(status) => status,
        Err(e) => return stats.reject(&publish.topic, &publish.payload, "bad_status", e.to_string()),
    };
    let updated = match known(registry, client_id, auto_register).await {
        Ok(true) => registry.set_presence(&client_id, &status).await,
        Ok(false) => {
            let why = format!("device {client_id} is not registered (WAGES_AUTO_REGISTER is off)");
            return stats.reject(&publish.topic, &publish.payload, "unknown_device", why);
        }
        Err(e) => Err(e),
    };
    match updated {
        Ok(device) => hub.presence(&device),
        Err(e) => tracing::warn!(error = %e, client_id = %client_id, "the status of a scale could not be recorded"),
    }
}

/// Scales known to be registered, so that a fleet's every message does not go to the
/// registry's cache: its bookkeeping per lookup cost more than the rest of the
/// pipeline's work on a message. Dropped whenever the registry may have forgotten a
/// device ([`Registry::forgetting`]).
#[derive(Default)]
struct Registered {
    ids: std::collections::HashSet<ClientId>,
    forgetting: u64,
}

/// Scales [`Registered`] keeps, at most (a larger fleet asks the cache for the rest).
const REGISTERED_KEPT: usize = 100_000;

impl Registered {
    /// Whether `client_id` is registered, registering it first when `auto_register` is on.
    async fn check(
        &mut self,
        registry: &Registry,
        client_id: ClientId,
        auto_register: bool,
    ) -> Result<bool, RegistryError> {
        let forgetting = registry.forgetting();
        if forgetting != self.forgetting {
            self.ids.clear();
            self.forgetting = forgetting;
        }
        if self.ids.contains(&client_id) {
            return Ok(true);
        }
        let registered = known(registry, client_id, auto_register).await?;
        if registered && self.ids.len() < REGISTERED_KEPT {
            self.ids.insert(client_id);
        }
        Ok(registered)
    }
}

/// Whether the device is registered, registering it first when `auto_register` is on.
async fn known(registry: &Registry, client_id: ClientId, auto_register: bool) -> Result<bool, RegistryError> {
    if registry.is_registered(&client_id).await? {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn devices_spread_over_workers_and_stay_put() {
        let ids: Vec<ClientId> = (0..64).map(|i| ClientId::parse(&format!("scale-{i}")).unwrap()).collect();
        let mut used = [0; 4];
        for id in &ids {
            let p = partition(id, 4);
            assert_eq!(p, partition(id, 4));
            used[p] += 1;
        }
        assert!(used.iter().all(|&n| n > 4), "{used:?}");
        assert!(ids.iter().all(|id| partition(id, 1) == 0));
    }
}
