//! What Wages publishes back to the broker for other consumers (docs/protocol.md), all
//! retained; what the next message replaces (state, aggregates) at QoS 0, the rest at
//! QoS 1:
//!
//! - `wages/devices/{id}/state`: the scale's weight and flow now, at most once a second
//!   while it sends readings;
//! - `wages/devices/{id}/session`: the summary of its last session, once the session
//!   has ended (no reading for [`LIVE_FOR_MS`], or a new session started);
//! - `wages/devices/{id}/aggregates`: running figures since the server started, every
//!   `WAGES_AGGREGATES_SECONDS`;
//! - `{prefix}/sensor/wages_{id}_{weight,flow}/config`: Home Assistant's MQTT discovery,
//!   once per scale, with availability from the scale's status topic.
//!
//! It follows the hub's stored batches (every node's, see [`crate::cluster`]) as a viewer does; a session's summary is read back
//! from storage, so it is exact even if this fell behind.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, QoS};
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use wages_codec::topic::{self, Channel};
use wages_codec::{ClientId, Reading, SessionId};
use wages_sessions::{LIVE_FOR_MS, Session};
use wages_store::{ReadingsStore, Registry};

use crate::hub::Hub;
use crate::mqtt::Target;

/// What to publish, from the configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How often running aggregates go out.
    pub every: Duration,
    /// Home Assistant's discovery prefix; `None`: no discovery.
    pub discovery_prefix: Option<String>,
}

/// A scale's weight and flow now (`wages/devices/{id}/state`).
#[derive(Serialize)]
struct State {
    client_id: ClientId,
    session_id: SessionId,
    /// Grams.
    weight: f64,
    /// Grams per second, once the session has a second of curve.
    flow: Option<f64>,
    tstamp: u64,
}

/// Running figures of one scale since the server started (`wages/devices/{id}/aggregates`).
#[derive(Serialize, Clone, Default)]
struct Aggregates {
    client_id: String,
    /// Readings stored.
    readings: u64,
    /// Sessions ended and summarised.
    sessions: u64,
    mean_final_weight: Option<f64>,
    mean_duration_ms: Option<f64>,
    last_session_id: Option<String>,
    since: u64,
}

/// What this keeps per scale.
struct Scale {
    session: SessionId,
    figures: Session,
    last: Reading,
    state_due: bool,
    summarised: bool,
    aggregates: Aggregates,
    final_weights: f64,
    durations_ms: f64,
}

use wages_codec::clock::now_ms;

/// Publishes until `stop` turns true.
pub async fn run(
    target: Target,
    settings: Settings,
    hub: Arc<Hub>,
    storage: ReadingsStore,
    registry: Registry,
    mut stop: watch::Receiver<bool>,
) {
    let mut options = crate::pipeline::mqtt_options(&target, &format!("wages-aggregates-{}", std::process::id()));
    // It only publishes: a session kept on the broker would be left behind at every restart.
    options.set_clean_session(true);
    let (client, mut eventloop) = AsyncClient::new(options, 4096);
    let connection = tokio::spawn(async move {
        loop {
            if eventloop.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    });
    let mut out =
        Outbox { client, settings, storage, registry, scales: HashMap::new(), since: now_ms(), broker_away: false };
    out.discover_registered().await;
    let mut batches = hub.subscribe_everywhere();
    let mut second = tokio::time::interval(Duration::from_secs(1));
    let mut aggregates = tokio::time::interval(out.settings.every);
    aggregates.tick().await;
    loop {
        tokio::select! {
            batch = batches.recv() => match batch {
                Ok(batch) => {
                    for reading in batch.iter() {
                        out.take(reading).await;
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(batches = n, "aggregates fell behind; live state skips ahead (summaries come from storage)");
                }
                Err(RecvError::Closed) => break,
            },
            _ = second.tick() => {
                out.broker_away = false;
                out.every_second(now_ms()).await;
            }
            _ = aggregates.tick() => {
                out.broker_away = false;
                out.publish_aggregates().await;
            }
            _ = stop.changed() => break,
        }
    }
    connection.abort();
}

struct Outbox {
    client: AsyncClient,
    settings: Settings,
    storage: ReadingsStore,
    registry: Registry,
    scales: HashMap<ClientId, Scale>,
    since: u64,
    /// Set when the broker took nothing for [`ROOM_WAIT`]; cleared at each turn.
    broker_away: bool,
}

/// How long a full queue of messages to the broker is waited on before the broker is taken
/// as away.
const ROOM_WAIT: Duration = Duration::from_millis(500);

impl Outbox {
    /// Retained. A fleet's states go out in one burst, larger than the client's queue: a
    /// full queue is waited on while the broker takes them, up to [`ROOM_WAIT`]; past that
    /// the broker is taken as away and the rest of the turn is dropped (the next state or
    /// aggregate replaces it), so a missing broker never holds this loop up for long.
    async fn publish(&mut self, topic: String, qos: QoS, payload: &impl Serialize) {
        let Ok(json) = serde_json::to_vec(payload) else { return };
        if self.broker_away {
            return;
        }
        let Err(rumqttc::ClientError::TryRequest(_)) = self.client.try_publish(topic.clone(), qos, true, json.clone())
        else {
            return;
        };
        let waited = tokio::time::timeout(ROOM_WAIT, self.client.publish(topic, qos, true, json)).await;
        if !matches!(waited, Ok(Ok(()))) {
            tracing::debug!("the broker takes nothing: the rest of this turn's figures are dropped");
            self.broker_away = true;
        }
    }

    async fn discover_registered(&mut self) {
        if self.settings.discovery_prefix.is_none() {
            return;
        }
        match self.registry.list(None, wages_store::MAX_LIST).await {
            Ok(devices) => {
                for device in devices {
                    self.discover(&device.client_id, &device.name, device.firmware_version.as_deref()).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "Home Assistant discovery: cannot list the scales"),
        }
    }

    /// A scale's first reading since start: its discovery configs, unless it was
    /// discovered with the registered ones already.
    async fn take(&mut self, reading: &Reading) {
        let id = reading.client_id;
        if !self.scales.contains_key(&id) {
            if self.settings.discovery_prefix.is_some() {
                let device = self.registry.get(&id).await.ok().flatten();
                let name = device.as_ref().map_or_else(|| id.to_string(), |d| d.name.clone());
                self.discover(&id, &name, device.as_ref().and_then(|d| d.firmware_version.as_deref())).await;
            }
            let aggregates = Aggregates { client_id: id.to_string(), since: self.since, ..Aggregates::default() };
            let scale = Scale {
                session: reading.session_id,
                figures: Session::default(),
                last: *reading,
                state_due: true,
                summarised: false,
                aggregates,
                final_weights: 0.0,
                durations_ms: 0.0,
            };
            self.scales.insert(id, scale);
        }
        let mut ended = None;
        if let Some(scale) = self.scales.get_mut(&id) {
            if scale.session != reading.session_id {
                if !scale.summarised {
                    ended = Some(scale.session);
                }
                scale.session = reading.session_id;
                scale.figures = Session::default();
                scale.summarised = false;
            }
            scale.figures.push(reading);
            if reading.tstamp.millis() >= scale.last.tstamp.millis() || scale.last.session_id != reading.session_id {
                scale.last = *reading;
            }
            scale.aggregates.readings += 1;
            scale.state_due = true;
        }
        if let Some(session) = ended {
            self.summarise(id, session, now_ms()).await;
        }
    }

    async fn every_second(&mut self, now: u64) {
        let mut ended = Vec::new();
        let mut states = Vec::new();
        for (id, scale) in &mut self.scales {
            if scale.state_due {
                scale.state_due = false;
                let state = State {
                    client_id: *id,
                    session_id: scale.session,
                    weight: scale.last.value.get(),
                    flow: scale.figures.flow(),
                    tstamp: scale.last.tstamp.millis(),
                };
                states.push((topic::device(id, Channel::State), state));
            }
            if !scale.summarised && now.saturating_sub(scale.last.tstamp.millis()) > LIVE_FOR_MS {
                scale.summarised = true;
                ended.push((*id, scale.session));
            }
        }
        for (topic, state) in states {
            self.publish(topic, QoS::AtMostOnce, &state).await;
        }
        for (id, session) in ended {
            self.summarise(id, session, now).await;
        }
    }

    /// Publishes an ended session as `GET …/sessions/{session_id}` answers it: its
    /// summary read back from storage, what was brewed and what to change next.
    async fn summarise(&mut self, id: ClientId, session: SessionId, now: u64) {
        let summary = match self.storage.session(&id, &session, now).await {
            Ok(Some(summary)) => summary,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, client_id = %id, "a session's summary could not be read for publishing");
                return;
            }
        };
        let (details, beans) = match self.registry.brews().details(&id, &session).await {
            Ok(brewed) => brewed.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %e, client_id = %id, "a shot's recipe could not be read; its summary goes alone");
                Default::default()
            }
        };
        let shot = wages_store::Shot::new(summary, details, beans);
        let summary = &shot.summary;
        self.publish(topic::device(&id, Channel::Session), QoS::AtLeastOnce, &shot).await;
        if let Some(scale) = self.scales.get_mut(&id) {
            let a = &mut scale.aggregates;
            a.sessions += 1;
            scale.final_weights += summary.final_weight;
            #[allow(clippy::cast_precision_loss)]
            {
                scale.durations_ms += summary.duration_ms as f64;
                a.mean_final_weight = Some(scale.final_weights / a.sessions as f64);
                a.mean_duration_ms = Some(scale.durations_ms / a.sessions as f64);
            }
            a.last_session_id = Some(session.to_string());
        }
    }

    async fn publish_aggregates(&mut self) {
        let all: Vec<_> = self.scales.iter().map(|(id, scale)| (*id, scale.aggregates.clone())).collect();
        for (id, aggregates) in all {
            self.publish(format!("wages/devices/{id}/aggregates"), QoS::AtMostOnce, &aggregates).await;
        }
    }

    /// Home Assistant's MQTT discovery: a weight and a flow sensor per scale, one device.
    async fn discover(&mut self, id: &ClientId, name: &str, firmware: Option<&str>) {
        let Some(prefix) = self.settings.discovery_prefix.clone() else { return };
        for config in discovery(id, name, firmware) {
            let topic = format!("{prefix}/sensor/{}/config", config.unique_id);
            self.publish(topic, QoS::AtLeastOnce, &config).await;
        }
    }
}

/// One Home Assistant MQTT sensor's discovery config.
#[derive(Serialize)]
struct SensorConfig {
    name: &'static str,
    unique_id: String,
    object_id: String,
    state_topic: String,
    value_template: &'static str,
    unit_of_measurement: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_class: Option<&'static str>,
    state_class: &'static str,
    suggested_display_precision: u8,
    availability_topic: String,
    /// A scale's status is `online` or `offline`, optionally followed by `;firmware=…`.
    availability_template: &'static str,
    device: HaDevice,
}

#[derive(Serialize)]
struct HaDevice {
    identifiers: Vec<String>,
    name: String,
    manufacturer: &'static str,
    model: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sw_version: Option<String>,
}

fn discovery(id: &ClientId, name: &str, firmware: Option<&str>) -> [SensorConfig; 2] {
    let device = || HaDevice {
        identifiers: vec![format!("wages_{id}")],
        name: name.to_owned(),
        manufacturer: "Wages",
        model: "Connected coffee scale",
        sw_version: firmware.map(str::to_owned),
    };
    let sensor = |what: &str, name, template, unit, class| SensorConfig {
        name,
        unique_id: format!("wages_{id}_{what}"),
        object_id: format!("wages_{id}_{what}"),
        state_topic: topic::device(id, Channel::State),
        value_template: template,
        unit_of_measurement: unit,
        device_class: class,
        state_class: "measurement",
        suggested_display_precision: 1,
        availability_topic: format!("wages/devices/{id}/status"),
        availability_template: "{{ 'online' if value.startswith('online') else 'offline' }}",
        device: device(),
    };
    [
        sensor("weight", "Weight", "{{ value_json.weight }}", "g", Some("weight")),
        sensor("flow", "Flow", "{{ value_json.flow | default(0, true) }}", "g/s", None),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_names_the_state_and_status_topics() {
        let id = ClientId::parse("scale-01").expect("id");
        let [weight, flow] = discovery(&id, "Bar", Some("1.2.0"));
        let weight = serde_json::to_value(&weight).expect("JSON");
        assert_eq!(weight["unique_id"], "wages_scale-01_weight");
        assert_eq!(weight["state_topic"], "wages/devices/scale-01/state");
        assert_eq!(weight["availability_topic"], "wages/devices/scale-01/status");
        assert_eq!(weight["unit_of_measurement"], "g");
        assert_eq!(weight["device_class"], "weight");
        assert_eq!(weight["device"]["identifiers"][0], "wages_scale-01");
        assert_eq!(weight["device"]["sw_version"], "1.2.0");
        let flow = serde_json::to_value(&flow).expect("JSON");
        assert_eq!(flow["unit_of_measurement"], "g/s");
        assert!(flow.get("device_class").is_none(), "Home Assistant has no mass-flow class");
    }
}
