//! Wires the broker (embedded or external) to the ingest pipeline, and stops them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use wages_store::{InfluxReadings, ReadingsStore, Registry};

use tokio::sync::mpsc;
use wages_store::pipeline::PipelineSettings;

use crate::config::{Config, Database, Mqtt, ReadingsSource, Timeseries};
use crate::hub::Hub;
use crate::mqtt::broker;
use crate::mqtt::gate::{self, Gate};
use crate::pipeline::{self, Control, Parts, Stats, Target};

/// The running ingestion: what the API shows of it, and how to stop it.
pub struct Ingest {
    /// Figures, dead letters and reconfiguration, for the API and the pages.
    pub control: Arc<Control>,
    /// Stored readings as they come, per device.
    pub hub: Arc<Hub>,
    /// Where the pipeline stores readings, for the API and pages to read them.
    pub readings: ReadingsStore,
    /// The embedded broker's front door, if the broker is embedded.
    pub gate: Option<Arc<Gate>>,
    /// Where outside MQTT clients connect over TCP (`WAGES_MQTT_LISTEN`), if anywhere.
    pub mqtt_listen: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    /// Accepts on `WAGES_MQTT_LISTEN`.
    listener: Option<JoinHandle<()>>,
    /// Publishes state, summaries and aggregates back to the broker.
    published: Option<JoinHandle<()>>,
    /// Compacts old sessions (`WAGES_RETENTION_*`, readings in SQL only).
    compaction: Option<JoinHandle<()>>,
    /// Keeps the embedded broker's lease on the database, and gives it up at the end.
    lease: Option<JoinHandle<()>>,
    /// Live readings and device changes shared with other nodes (see [`crate::cluster`]).
    cluster: Vec<JoinHandle<()>>,
}

/// The lease that makes this node the only one with an embedded broker on its database.
const EMBEDDED_BROKER: &str = "embedded-broker";

/// Claims the embedded broker's lease, or says plainly why this node must not start.
async fn claim_embedded_broker(registry: &Registry, config: &Config) -> Result<wages_store::Lease, String> {
    let address = format!("http://{}{}", config.site_addr, config.base_path.home());
    match registry.claim_lease(EMBEDDED_BROKER, &address).await {
        Ok(Ok(lease)) => Ok(lease),
        Ok(Err(held)) => Err(format!(
            "another Wages node with an embedded MQTT broker uses this database ({} on {}): two embedded brokers \
             would split the scales between them and each node would miss the other's readings. Stop that node, \
             or run every node against one external broker with WAGES_MQTT_URL (docs/operations.md). If it has \
             just stopped, its claim runs out in {} s",
            held.address,
            held.host,
            held.expires_in.as_secs() + 1
        )),
        Err(e) => Err(format!("cannot check for another node with an embedded broker on this database: {e}")),
    }
}

/// Renews the lease until `stop`, then releases it (`true`); `false` once it is lost
/// (it could not be renewed in time and another node may hold it now).
async fn keep_lease(lease: wages_store::Lease, stop: &mut watch::Receiver<bool>) -> bool {
    loop {
        tokio::select! {
            () = tokio::time::sleep(wages_store::LEASE_RENEW) => {}
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
        match lease.renew().await {
            Ok(true) => {}
            Ok(false) => return false,
            Err(e) => tracing::warn!(error = %e, "could not renew a lease on the database; retrying"),
        }
    }
    if let Err(e) = lease.release().await {
        tracing::warn!(error = %e, "could not release a lease on the database; it runs out by itself");
    }
    true
}

/// The lease of the one node that publishes aggregates when several share a broker.
const AGGREGATES: &str = "aggregates";

/// With several nodes, one of them publishes what [`crate::aggregates`] publishes (from
/// every node's readings, see [`crate::cluster`]): whichever holds the lease; another
/// takes over within [`wages_store::LEASE_TTL`] of its end.
async fn aggregates_from_one_node(
    settings: crate::aggregates::Settings,
    parts: (Target, Arc<Hub>, ReadingsStore, Registry),
    address: String,
    mut stop: watch::Receiver<bool>,
) {
    let (target, hub, readings, registry) = parts;
    loop {
        match registry.claim_lease(AGGREGATES, &address).await {
            Ok(Ok(lease)) => {
                tracing::info!("this node publishes the aggregates back to the broker");
                let (quit, quitting) = watch::channel(false);
                let (target, settings, hub, readings, registry) =
                    (target.clone(), settings.clone(), hub.clone(), readings.clone(), registry.clone());
                let task = tokio::spawn(crate::aggregates::run(target, settings, hub, readings, registry, quitting));
                let stopped = keep_lease(lease, &mut stop).await;
                let _ = quit.send(true);
                let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
                if stopped {
                    return;
                }
                tracing::warn!("this node lost the aggregates' lease; another node publishes them now");
            }
            Ok(Err(_)) => {}
            Err(e) => tracing::warn!(error = %e, "cannot check which node publishes the aggregates; retrying"),
        }
        tokio::select! {
            () = tokio::time::sleep(wages_store::LEASE_RENEW) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
    }
}

/// How long start-up waits for the pipeline to subscribe.
const SUBSCRIBE_WAIT: Duration = Duration::from_secs(10);

/// Starts the broker (when embedded) and the pipeline, and waits until readings can
/// arrive (so nothing published right after start-up is missed); one readable line on
/// failure. An external broker that is not there yet is waited for in the background.
pub async fn start(config: &Config, registry: Registry) -> Result<Ingest, String> {
    let readings = match &config.timeseries {
        Timeseries::Sql => ReadingsStore::Sql(registry.readings()),
        Timeseries::InfluxDb2(influx) => ReadingsStore::Influx(Box::new(InfluxReadings::new(
            &influx.url,
            &influx.org,
            &influx.bucket,
            &influx.token,
        ))),
    };
    let (mut gate, mut listener, mut mqtt_listen, mut lease) = (None, None, None, None);
    let (mut client_id, mut source) = ("wages-ingest".to_owned(), pipeline::Readings::Mqtt { share: None });
    let (target, broker) = match &config.mqtt {
        Mqtt::Embedded { tcp } => {
            let claimed = claim_embedded_broker(&registry, config).await?;
            let embedded = match broker::start(*tcp, config.mqtt_buffer_mb) {
                Ok(embedded) => embedded,
                Err(e) => {
                    let _ = claimed.release().await;
                    return Err(e);
                }
            };
            lease = Some(claimed);
            let front = Gate::new(embedded.tcp, registry.clone(), embedded.secret.clone());
            let shown = match embedded.public {
                Some(public) => {
                    let public =
                        tokio::net::TcpListener::from_std(public).map_err(|e| format!("WAGES_MQTT_LISTEN: {e}"))?;
                    let addr = public.local_addr().map_err(|e| format!("WAGES_MQTT_LISTEN: {e}"))?;
                    mqtt_listen = Some(addr);
                    listener = Some(tokio::spawn(gate::accept(public, front.clone())));
                    format!("embedded, TCP {addr}")
                }
                None => "embedded, no public TCP listener".to_owned(),
            };
            gate = Some(front);
            let target = Target {
                host: embedded.tcp.ip().to_string(),
                port: embedded.tcp.port(),
                username: Some(crate::mqtt::INTERNAL_USER.to_owned()),
                password: Some(embedded.secret),
                tls: None,
            };
            (target, shown)
        }
        Mqtt::External(ext) => {
            let target = Target {
                host: ext.host.clone(),
                port: ext.port,
                username: ext.username.clone(),
                password: ext.password.clone(),
                tls: if ext.tls { Some(crate::tls::client_config()?) } else { None },
            };
            let scheme = if ext.tls { "mqtts" } else { "mqtt" };
            // One client id per node: two nodes under one id would take the session off each other.
            client_id = format!("wages-ingest-{}", config.node_id);
            let mut shown = format!("external, {scheme}://{}:{}", ext.host, ext.port);
            source = match &ext.readings {
                ReadingsSource::Mqtt => pipeline::Readings::Mqtt { share: None },
                ReadingsSource::Shared(group) => {
                    shown.push_str(&format!(", shared subscription {group}"));
                    pipeline::Readings::Mqtt { share: Some(group.clone()) }
                }
                ReadingsSource::Amqp(url) => {
                    let at =
                        url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
                    shown.push_str(&format!(", readings from AMQP queue {} on {at}", pipeline::amqp::QUEUE));
                    pipeline::Readings::Amqp(url.clone())
                }
            };
            (target, shown)
        }
    };
    let settings = PipelineSettings::default();
    let stats = Arc::new(Stats::new(settings));
    let hub = Arc::new(Hub::default());
    let (stop, stopped) = watch::channel(false);
    let (requests, requested) = mpsc::channel(4);
    // Several nodes can only share PostgreSQL and an external broker; then they talk.
    let several = matches!((&config.database, &config.mqtt), (Database::Postgres(_), Mqtt::External(_)));
    let cluster = match &config.database {
        Database::Postgres(url) if several => {
            crate::cluster::start(url, config.node_id.clone(), hub.clone(), registry.clone(), stop.subscribe()).await?
        }
        _ => Vec::new(),
    };
    let published = config.aggregates.clone().map(|settings| {
        let parts = (target.clone(), hub.clone(), readings.clone(), registry.clone());
        if several {
            let address = format!("{} (http://{})", config.node_id, config.site_addr);
            tokio::spawn(aggregates_from_one_node(settings, parts, address, stop.subscribe()))
        } else {
            let (target, hub, readings, registry) = parts;
            tokio::spawn(crate::aggregates::run(target, settings, hub, readings, registry, stop.subscribe()))
        }
    });
    let lease = lease.map(|lease| {
        let mut stop = stop.subscribe();
        tokio::spawn(async move {
            if !keep_lease(lease, &mut stop).await {
                tracing::error!(
                    "this node lost the embedded broker's lease on the database (it could not renew it in time): \
                     another node may now run an embedded broker on it too"
                );
            }
        })
    });
    let compaction = match (&readings, config.retention) {
        (ReadingsStore::Sql(sql), Some(settings)) => {
            Some(tokio::spawn(crate::retention::run(sql.clone(), settings, stop.subscribe())))
        }
        (ReadingsStore::Influx(_), Some(_)) => {
            tracing::info!(
                "readings are in InfluxDB: WAGES_RETENTION_* does not apply; set the bucket's retention in InfluxDB"
            );
            None
        }
        _ => None,
    };
    let task = tokio::spawn(pipeline::run(Parts {
        target: target.clone(),
        client_id,
        readings: source,
        node_id: config.node_id.clone(),
        storage: readings.clone(),
        registry,
        hub: hub.clone(),
        auto_register: config.auto_register,
        settings,
        stats: stats.clone(),
        requests: requested,
        stop: stopped,
    }));
    let deadline = tokio::time::Instant::now() + SUBSCRIBE_WAIT;
    while !stats.subscribed() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if !stats.subscribed() {
        if gate.is_some() {
            return Err("the ingest pipeline could not subscribe to the embedded MQTT broker".into());
        }
        tracing::warn!(broker = %broker, "the external MQTT broker is not reachable yet; retrying in the background");
    }
    let control = Arc::new(Control { stats, broker, requests, target });
    Ok(Ingest {
        control,
        hub,
        readings,
        gate,
        mqtt_listen,
        stop,
        task,
        listener,
        published,
        compaction,
        lease,
        cluster,
    })
}

impl Ingest {
    /// Stops taking messages, stores and acknowledges what is in flight (a few seconds at most).
    pub async fn stop(self) {
        if let Some(listener) = &self.listener {
            listener.abort();
        }
        let _ = self.stop.send(true);
        if let Some(published) = self.published {
            let _ = tokio::time::timeout(Duration::from_secs(1), published).await;
        }
        if let Some(compaction) = self.compaction {
            let _ = tokio::time::timeout(Duration::from_secs(1), compaction).await;
        }
        if let Some(lease) = self.lease {
            let _ = tokio::time::timeout(Duration::from_secs(2), lease).await;
        }
        for task in self.cluster {
            let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
        }
        if tokio::time::timeout(Duration::from_secs(5), self.task).await.is_err() {
            tracing::warn!("the ingest pipeline did not stop within 5 s");
        }
    }
}
