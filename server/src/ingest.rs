//! Wires the broker (embedded or external) to the ingest pipeline, and stops them.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use wages_store::Registry;

use crate::broker;
use crate::config::{Config, Mqtt, Timeseries};
use crate::pipeline::{self, Stats, Target};

/// The running ingestion: what the API shows of it, and how to stop it.
pub struct Ingest {
    /// Counters and dead letters, shared with the API.
    pub stats: Arc<Stats>,
    /// Where readings arrive, for people: `embedded, tcp 127.0.0.1:1883` or the external host.
    pub broker: String,
    /// The embedded broker's TCP address, if the broker is embedded.
    pub embedded_tcp: Option<std::net::SocketAddr>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// How long start-up waits for the pipeline to subscribe.
const SUBSCRIBE_WAIT: Duration = Duration::from_secs(10);

/// Starts the broker (when embedded) and the pipeline, and waits until readings can
/// arrive (so nothing published right after start-up is missed); one readable line on
/// failure. An external broker that is not there yet is waited for in the background.
pub async fn start(config: &Config, registry: Registry) -> Result<Ingest, String> {
    if let Timeseries::InfluxDb2(_) = config.timeseries {
        // Better to refuse than to store readings somewhere the operator did not ask for.
        return Err("WAGES_TIMESERIES=influxdb2: this build stores readings in SQL only (InfluxDB 2 is planned); \
                    set WAGES_TIMESERIES=sql"
            .into());
    }
    let (target, broker, embedded_tcp) = match &config.mqtt {
        Mqtt::Embedded { tcp } => {
            let embedded = broker::start(*tcp)?;
            let shown = match tcp {
                Some(_) => format!("embedded, TCP {}", embedded.tcp),
                None => "embedded, no public TCP listener".to_owned(),
            };
            let target = Target {
                host: embedded.tcp.ip().to_string(),
                port: embedded.tcp.port(),
                username: None,
                password: None,
            };
            (target, shown, Some(embedded.tcp))
        }
        Mqtt::External(ext) => {
            if ext.tls {
                return Err(
                    "WAGES_MQTT_URL=mqtts://…: this build connects to brokers without TLS only; use mqtt://".into()
                );
            }
            let target = Target {
                host: ext.host.clone(),
                port: ext.port,
                username: ext.username.clone(),
                password: ext.password.clone(),
            };
            (target, format!("external, mqtt://{}:{}", ext.host, ext.port), None)
        }
    };
    let stats = Arc::new(Stats::default());
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(pipeline::run(target, registry, config.auto_register, stats.clone(), stopped));
    let deadline = tokio::time::Instant::now() + SUBSCRIBE_WAIT;
    while !stats.subscribed() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if !stats.subscribed() {
        if embedded_tcp.is_some() {
            return Err("the ingest pipeline could not subscribe to the embedded MQTT broker".into());
        }
        tracing::warn!(broker = %broker, "the external MQTT broker is not reachable yet; retrying in the background");
    }
    Ok(Ingest { stats, broker, embedded_tcp, stop, task })
}

impl Ingest {
    /// Stops taking messages, stores and acknowledges what is in flight (a few seconds at most).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(Duration::from_secs(5), self.task).await.is_err() {
            tracing::warn!("the ingest pipeline did not stop within 5 s");
        }
    }
}
