//! Wires the broker (embedded or external) to the ingest pipeline, and stops them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use wages_store::{InfluxReadings, ReadingsStore, Registry};

use tokio::sync::mpsc;
use wages_store::pipeline::PipelineSettings;

use crate::config::{BrokerUrl, Config, Database, Mqtt, ReadingsSource, Timeseries};
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::mqtt::Target;
use crate::mqtt::broker;
use crate::mqtt::gate::{self, Gate};
use crate::pipeline::{self, Control, Parts, Stats};

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

/// Why ingestion could not start, in one line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(
        "another Wages node with an embedded MQTT broker uses this database ({} on {}): two embedded brokers \
         would split the scales between them and each node would miss the other's readings. Stop that node, \
         or run every node against one external broker with WAGES_MQTT_URL (docs/operations.md). If it has \
         just stopped, its claim runs out in {} s",
        .0.address, .0.host, .0.expires_in.as_secs() + 1
    )]
    BrokerElsewhere(wages_store::HeldElsewhere),
    #[error("cannot check for another node with an embedded broker on this database: {0}")]
    Lease(wages_store::RegistryError),
    #[error(transparent)]
    Broker(#[from] broker::BrokerError),
    #[error("WAGES_MQTT_LISTEN: {0}")]
    Listen(std::io::Error),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    #[error("the ingest pipeline could not subscribe to the embedded MQTT broker")]
    NotSubscribed,
}

/// The lease that makes this node the only one with an embedded broker on its database.
const EMBEDDED_BROKER: &str = "embedded-broker";

/// Claims the embedded broker's lease, or says plainly why this node must not start.
async fn claim_embedded_broker(registry: &Registry, config: &Config) -> Result<wages_store::Lease, IngestError> {
    let address = format!("http://{}{}", config.site_addr, config.base_path.home());
    match registry.claim_lease(EMBEDDED_BROKER, &address).await {
        Ok(Ok(lease)) => Ok(lease),
        Ok(Err(held)) => Err(IngestError::BrokerElsewhere(held)),
        Err(e) => Err(IngestError::Lease(e)),
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

/// Where readings are stored: SQL (the registry's database) or InfluxDB.
fn readings_store(config: &Config, registry: &Registry) -> ReadingsStore {
    match &config.timeseries {
        Timeseries::Sql => ReadingsStore::Sql(registry.readings()),
        Timeseries::InfluxDb2(influx) => ReadingsStore::Influx(Box::new(InfluxReadings::new(
            &influx.url,
            &influx.org,
            &influx.bucket,
            &influx.token,
        ))),
    }
}

/// The broker the pipeline reads from, as connected at start.
struct Broker {
    /// Where the pipeline's client connects.
    target: Target,
    /// The broker in words, for the Pipeline page and the log.
    shown: String,
    /// The pipeline's MQTT client id.
    client_id: String,
    /// How readings reach the pipeline: from the gate, MQTT (maybe shared) or an AMQP queue.
    source: pipeline::Readings,
    /// The gate's messages for the pipeline, with the embedded broker.
    deliveries: Option<mpsc::Receiver<pipeline::Delivery>>,
    /// The embedded broker's front door, and its TCP listener's address and task.
    gate: Option<Arc<Gate>>,
    mqtt_listen: Option<SocketAddr>,
    listener: Option<JoinHandle<()>>,
    /// The embedded broker's lease on the database.
    lease: Option<wages_store::Lease>,
}

/// Starts the embedded broker (after claiming its lease) and its gate, with the gate
/// listening on `WAGES_MQTT_LISTEN` when it is set.
async fn embedded_broker(config: &Config, registry: &Registry, tcp: Option<SocketAddr>) -> Result<Broker, IngestError> {
    let claimed = claim_embedded_broker(registry, config).await?;
    let connections = broker::connections_within_open_files(config.mqtt_max_connections);
    let embedded = match broker::start(tcp, config.mqtt_buffer_mb, connections) {
        Ok(embedded) => embedded,
        Err(e) => {
            let _ = claimed.release().await;
            return Err(e.into());
        }
    };
    let (front_door, deliveries) = pipeline::front_door();
    let front = Gate::new(embedded.tcp, registry.clone(), embedded.secret.clone(), front_door, connections);
    let (mut mqtt_listen, mut listener) = (None, None);
    let shown = match embedded.public {
        Some(public) => {
            let public = tokio::net::TcpListener::from_std(public).map_err(IngestError::Listen)?;
            let addr = public.local_addr().map_err(IngestError::Listen)?;
            mqtt_listen = Some(addr);
            listener = Some(tokio::spawn(gate::accept(public, front.clone())));
            format!("embedded, TCP {addr}")
        }
        None => "embedded, no public TCP listener".to_owned(),
    };
    let target = Target::new(BrokerUrl {
        tls: false,
        host: embedded.tcp.ip().to_string(),
        port: embedded.tcp.port(),
        username: Some(crate::mqtt::INTERNAL_USER.to_owned()),
        password: Some(embedded.secret),
    })?;
    Ok(Broker {
        target,
        shown,
        client_id: "wages-ingest".to_owned(),
        source: pipeline::Readings::Gate,
        deliveries: Some(deliveries),
        gate: Some(front),
        mqtt_listen,
        listener,
        lease: Some(claimed),
    })
}

/// An external broker (`WAGES_MQTT_URL`), with readings from it directly, through a
/// shared subscription, or from RabbitMQ's AMQP queue.
fn external_broker(config: &Config, url: &BrokerUrl, readings: &ReadingsSource) -> Result<Broker, IngestError> {
    let target = Target::new(url.clone())?;
    let scheme = if url.tls { "mqtts" } else { "mqtt" };
    let mut shown = format!("external, {scheme}://{}:{}", url.host, url.port);
    let source = match readings {
        ReadingsSource::Mqtt => pipeline::Readings::Mqtt { share: None },
        ReadingsSource::Shared(group) => {
            shown.push_str(&format!(", shared subscription {group}"));
            pipeline::Readings::Mqtt { share: Some(group.clone()) }
        }
        ReadingsSource::Amqp(url) => {
            let at = url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
            shown.push_str(&format!(", readings from AMQP queue {} on {at}", pipeline::amqp::QUEUE));
            pipeline::Readings::Amqp(url.clone())
        }
    };
    Ok(Broker {
        target,
        shown,
        // One client id per node: two nodes under one id would take the session off each other.
        client_id: format!("wages-ingest-{}", config.node_id),
        source,
        deliveries: None,
        gate: None,
        mqtt_listen: None,
        listener: None,
        lease: None,
    })
}

/// The tasks beside the pipeline, each stopping when `stop` says so.
struct Background {
    published: Option<JoinHandle<()>>,
    compaction: Option<JoinHandle<()>>,
    lease: Option<JoinHandle<()>>,
    cluster: Vec<JoinHandle<()>>,
}

/// Starts what runs beside the pipeline: sharing with other nodes, publishing state and
/// aggregates back to the broker, keeping the embedded broker's lease, compaction.
async fn background(
    config: &Config,
    parts: (&Target, &Arc<Hub>, &ReadingsStore, &Registry),
    lease: Option<wages_store::Lease>,
    metrics: Arc<Metrics>,
    stop: &watch::Sender<bool>,
) -> Result<Background, IngestError> {
    let (target, hub, readings, registry) = parts;
    // Several nodes can only share PostgreSQL and an external broker; then they talk.
    let several = matches!((&config.database, &config.mqtt), (Database::Postgres(_), Mqtt::External { .. }));
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
    let compaction = match (readings, config.retention) {
        (ReadingsStore::Sql(sql), Some(settings)) => {
            Some(tokio::spawn(crate::retention::run(sql.clone(), settings, metrics, stop.subscribe())))
        }
        (ReadingsStore::Influx(_), Some(_)) => {
            tracing::info!(
                "readings are in InfluxDB: WAGES_RETENTION_* does not apply; set the bucket's retention in InfluxDB"
            );
            None
        }
        _ => None,
    };
    Ok(Background { published, compaction, lease, cluster })
}

/// Waits until the pipeline has subscribed, so nothing published right after start-up
/// is missed. The embedded broker must answer; an external one is waited for in the
/// background.
async fn wait_until_subscribed(stats: &Stats, embedded: bool, shown: &str) -> Result<(), IngestError> {
    let deadline = tokio::time::Instant::now() + SUBSCRIBE_WAIT;
    while !stats.subscribed() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if !stats.subscribed() {
        if embedded {
            return Err(IngestError::NotSubscribed);
        }
        tracing::warn!(broker = %shown, "the external MQTT broker is not reachable yet; retrying in the background");
    }
    Ok(())
}

/// Starts the broker (when embedded), the pipeline and what runs beside it, and waits
/// until readings can arrive; one readable line on failure.
pub async fn start(config: &Config, registry: Registry, metrics: Arc<Metrics>) -> Result<Ingest, IngestError> {
    let readings = readings_store(config, &registry);
    let broker = match &config.mqtt {
        Mqtt::Embedded { tcp } => embedded_broker(config, &registry, *tcp).await?,
        Mqtt::External { broker, readings } => external_broker(config, broker, readings)?,
    };
    let Broker { target, shown, client_id, source, deliveries, gate, mqtt_listen, listener, lease } = broker;
    let settings = PipelineSettings::default();
    let stats = Arc::new(Stats::new(settings));
    let hub = Arc::new(Hub::default());
    let (stop, stopped) = watch::channel(false);
    let (requests, requested) = mpsc::channel(4);
    let Background { published, compaction, lease, cluster } =
        background(config, (&target, &hub, &readings, &registry), lease, metrics, &stop).await?;
    let task = tokio::spawn(pipeline::run(Parts {
        target: target.clone(),
        client_id,
        readings: source,
        deliveries,
        node_id: config.node_id.clone(),
        broker: shown.clone(),
        storage: readings.clone(),
        registry,
        hub: hub.clone(),
        auto_register: config.auto_register,
        settings,
        stats: stats.clone(),
        requests: requested,
        stop: stopped,
    }));
    wait_until_subscribed(&stats, gate.is_some(), &shown).await?;
    let control = Arc::new(Control { stats, broker: shown, requests, target });
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
