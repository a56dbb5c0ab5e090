//! The embedded MQTT broker (rumqttd): the default when no `WAGES_MQTT_URL` is set.
//!
//! It runs on its own threads and listens on a private loopback port only, admitting
//! only holders of a secret made at start: the ingest pipeline (an ordinary MQTT client,
//! with real QoS 1 acknowledgements, as with any other broker) and the gate
//! ([`crate::mqtt::gate`]), through which every outside client comes, on
//! `WAGES_MQTT_LISTEN` and at `{base}/mqtt`.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use super::{INTERNAL_USER, MAX_PACKET_BYTES};
use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

/// Unacknowledged QoS 1 messages the broker sends one client before waiting.
const MAX_INFLIGHT: usize = 1000;

/// Why the embedded broker could not start.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("WAGES_MQTT_LISTEN={addr}: the address is already in use; stop what is using it, choose another, or set 0")]
    InUse { addr: SocketAddr },
    #[error("WAGES_MQTT_LISTEN={addr}: cannot listen: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    /// No loopback port for the private listener (the system's, or none left unused).
    #[error("cannot find a free loopback port for the embedded MQTT broker{}", .0.as_ref().map(|e| format!(": {e}")).unwrap_or_default())]
    NoPrivatePort(Option<std::io::Error>),
    #[error("cannot start the embedded MQTT broker: {0}")]
    Thread(std::io::Error),
}

/// A running embedded broker.
#[derive(Debug)]
pub struct EmbeddedBroker {
    /// Its private loopback listener.
    pub tcp: SocketAddr,
    /// The password of [`crate::mqtt::gate::INTERNAL_USER`] there.
    pub secret: String,
    /// `WAGES_MQTT_LISTEN`, bound, for the gate to accept on (`None` for `0`).
    pub public: Option<TcpListener>,
}

/// A free port on loopback, for the private listener. rumqttd binds it a moment later, so
/// the kernel could offer the same port to another broker of this process meanwhile (the
/// tests run many servers at once): a port is handed out once per process.
fn free_loopback_port() -> Result<SocketAddr, BrokerError> {
    static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    for _ in 0..100 {
        let no_port = |e| BrokerError::NoPrivatePort(Some(e));
        let probe = TcpListener::bind("127.0.0.1:0").map_err(no_port)?;
        let addr = probe.local_addr().map_err(no_port)?;
        let mut handed_out = HANDED_OUT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !handed_out.contains(&addr.port()) {
            handed_out.push(addr.port());
            return Ok(addr);
        }
    }
    Err(BrokerError::NoPrivatePort(None))
}

/// Compares in time independent of where the texts differ.
fn same_secret(given: &str, expected: &str) -> bool {
    given.len() == expected.len() && given.bytes().zip(expected.bytes()).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
}

/// Open files each MQTT connection through the gate takes: the client's socket, and the
/// gate's socket to the broker with the broker's end of it.
pub const FILES_PER_CONNECTION: u64 = 3;
/// Open files kept for everything else: the database, HTTP, logs, the broker's own.
const FILES_FOR_THE_REST: u64 = 1024;

/// The MQTT connections this process can hold, at most `wanted`: raises the open-files
/// limit to the system's hard limit, and when even that is too low for `wanted`, says so
/// once in the log and holds fewer, so that past the limit a scale is refused with a
/// reason instead of its socket failing.
pub fn connections_within_open_files(wanted: usize) -> usize {
    let needed = wanted as u64 * FILES_PER_CONNECTION + FILES_FOR_THE_REST;
    let limit = match rlimit::increase_nofile_limit(needed) {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the open-files limit; WAGES_MQTT_MAX_CONNECTIONS is taken as it is");
            return wanted;
        }
    };
    if limit >= needed {
        return wanted;
    }
    let fits = usize::try_from(limit.saturating_sub(FILES_FOR_THE_REST) / FILES_PER_CONNECTION).unwrap_or(usize::MAX);
    let fits = fits.clamp(1, wanted);
    tracing::warn!(
        "open files: WAGES_MQTT_MAX_CONNECTIONS={wanted} needs {needed} (three per MQTT connection and {FILES_FOR_THE_REST} \
         besides), but this process may open {limit}: the node holds {fits} MQTT connections. Raise the limit \
         (ulimit -n, or LimitNOFILE= in a systemd unit) or lower WAGES_MQTT_MAX_CONNECTIONS"
    );
    fits
}

/// Segments of the broker's message log; the oldest is dropped when a new one is needed.
const SEGMENTS: usize = 10;

/// Clients of the broker besides the gate's: the pipeline, the publishers of aggregates
/// and offers.
const INTERNAL_CONNECTIONS: usize = 64;

/// Starts the broker; `listen` is `WAGES_MQTT_LISTEN` (`None` for `0`), `buffer_mb`
/// is `WAGES_MQTT_BUFFER_MB`, `gate_connections` the most the gate holds.
pub fn start(
    listen: Option<SocketAddr>,
    buffer_mb: usize,
    gate_connections: usize,
) -> Result<EmbeddedBroker, BrokerError> {
    let public = match listen {
        Some(addr) => {
            let listener = TcpListener::bind(addr).map_err(|source| match source.kind() {
                std::io::ErrorKind::AddrInUse => BrokerError::InUse { addr },
                _ => BrokerError::Listen { addr, source },
            })?;
            listener.set_nonblocking(true).map_err(|source| BrokerError::Listen { addr, source })?;
            Some(listener)
        }
        None => None,
    };
    let addr = free_loopback_port()?;
    let secret = {
        let mut bytes = [0u8; 24];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let expected = secret.clone();
    let connections = ConnectionSettings {
        connection_timeout_ms: 60_000,
        max_payload_size: MAX_PACKET_BYTES,
        max_inflight_count: MAX_INFLIGHT,
        auth: None,
        external_auth: Some(Arc::new(move |_client_id, user: String, password: String| {
            let admitted = user == INTERNAL_USER && same_secret(&password, &expected);
            Box::pin(async move { admitted })
        })),
        dynamic_filters: true,
    };
    let server =
        ServerSettings { name: "wages-tcp".into(), listen: addr, tls: None, next_connection_delay_ms: 0, connections };
    let config = Config {
        id: 0,
        router: RouterConfig {
            max_connections: gate_connections + INTERNAL_CONNECTIONS,
            max_outgoing_packet_count: 200,
            // rumqttd keeps each message in memory until its segment is dropped: this log
            // is what its memory settles at (1 GB once made the server 1.45 GB).
            max_segment_size: buffer_mb * 1024 * 1024 / SEGMENTS,
            max_segment_count: SEGMENTS,
            custom_segment: None,
            initialized_filters: None,
            shared_subscriptions_strategy: Default::default(),
        },
        v4: Some(HashMap::from([("wages-tcp".to_owned(), server)])),
        v5: None,
        ws: None,
        cluster: None,
        console: None,
        bridge: None,
        prometheus: None,
        metrics: None,
    };
    std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            let mut broker = Broker::new(config);
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "the embedded MQTT broker stopped");
            }
        })
        .map_err(BrokerError::Thread)?;
    // Readiness is the pipeline's subscription, which `ingest::start` waits for: probing
    // the port here would make rumqttd log an aborted connection.
    let shown = public.as_ref().and_then(|l| l.local_addr().ok());
    tracing::info!(private = %addr, public = ?shown, "embedded MQTT broker listening");
    Ok(EmbeddedBroker { tcp: addr, secret, public })
}
