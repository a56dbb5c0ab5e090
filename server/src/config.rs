//! Configuration: read once at start from the environment (and `.env`) into one typed
//! struct. Nothing else in the process reads the environment. A bad value is one clear
//! line naming the variable, the value and what is expected; secrets are never echoed.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use app::base::BasePath;

/// One configuration variable, for `wages --help` and the docs.
pub struct Variable {
    pub name: &'static str,
    pub default: &'static str,
    pub meaning: &'static str,
}

/// Every variable `wages` reads, in the order `--help` lists them.
pub const VARIABLES: &[Variable] = &[
    Variable { name: "LEPTOS_SITE_ADDR", default: "127.0.0.1:3000", meaning: "web listen address" },
    Variable {
        name: "LEPTOS_SITE_ROOT",
        default: "target/site",
        meaning: "folder holding the built site (pkg/ with the WASM, JS and CSS)",
    },
    Variable {
        name: "WAGES_BASE_PATH",
        default: "(empty)",
        meaning: "URL path prefix the app is served under, e.g. /wages",
    },
    Variable {
        name: "WAGES_DATABASE_URL",
        default: "sqlite://data/wages.db",
        meaning: "device registry; postgres://… for PostgreSQL; ?synchronous=normal trades power-cut safety for SQLite write speed",
    },
    Variable {
        name: "WAGES_TIMESERIES",
        default: "sql",
        meaning: "sql stores readings in the registry database; influxdb2 uses InfluxDB",
    },
    Variable {
        name: "WAGES_INFLUX_URL",
        default: "(none)",
        meaning: "InfluxDB 2 URL, when WAGES_TIMESERIES=influxdb2",
    },
    Variable { name: "WAGES_INFLUX_ORG", default: "(none)", meaning: "InfluxDB 2 organisation" },
    Variable { name: "WAGES_INFLUX_BUCKET", default: "(none)", meaning: "InfluxDB 2 bucket" },
    Variable { name: "WAGES_INFLUX_TOKEN", default: "(none)", meaning: "InfluxDB 2 API token (never logged)" },
    Variable {
        name: "WAGES_MQTT_URL",
        default: "(none: embedded broker)",
        meaning: "external broker, mqtt://user:pass@host:1883 or mqtts://…",
    },
    Variable {
        name: "WAGES_MQTT_SHARE",
        default: "off",
        meaning: "with WAGES_MQTT_URL: a shared-subscription group (e.g. wages) so several nodes split the readings ($share/…; Mosquitto, EMQX, rumqttd); off: this node takes every reading",
    },
    Variable {
        name: "WAGES_AMQP_URL",
        default: "(none)",
        meaning: "with WAGES_MQTT_URL on RabbitMQ: amqp://user:pass@host:5672/vhost; readings are taken from the durable queue wages.readings by competing nodes instead of over MQTT",
    },
    Variable {
        name: "WAGES_NODE_ID",
        default: "(host name)",
        meaning: "this node's name among several (letters, digits, - _ .): its MQTT client id wages-ingest-{id} on an external broker, and its label in logs",
    },
    Variable {
        name: "WAGES_MQTT_LISTEN",
        default: "127.0.0.1:1883",
        meaning: "embedded broker TCP listener (0 disables TCP; WebSocket stays)",
    },
    Variable {
        name: "WAGES_AGGREGATES_SECONDS",
        default: "60",
        meaning: "how often running aggregates are published to the broker, 1 to 86400; 0 publishes nothing back (no state, summaries, aggregates or discovery)",
    },
    Variable {
        name: "WAGES_HA_DISCOVERY_PREFIX",
        default: "homeassistant",
        meaning: "Home Assistant's MQTT discovery prefix; off disables discovery",
    },
    Variable {
        name: "WAGES_MQTT_BUFFER_MB",
        default: "100",
        meaning: "memory the embedded broker keeps messages in for subscribers, 10 to 4096 MB (readings are stored before it sees them)",
    },
    Variable {
        name: "WAGES_MQTT_MAX_CONNECTIONS",
        default: "10000",
        meaning: "MQTT connections (scales, programs, simulator tabs) the embedded broker holds at once, 1 to 100000; past it a CONNECT is refused as server unavailable. Each takes three open files (see docs/operations.md)",
    },
    Variable {
        name: "WAGES_RETENTION_RAW_DAYS",
        default: "90",
        meaning: "sessions whose last reading is older than this many days are compacted into buckets (summary kept exact), 1 to 36500; 0 keeps every reading as it came. Readings in SQL only",
    },
    Variable {
        name: "WAGES_RETENTION_BUCKET_MS",
        default: "1000",
        meaning: "width of the compacted buckets (count, min, max, mean), 100 to 60000 ms",
    },
    Variable {
        name: "WAGES_RETENTION_GRAPH_DAYS",
        default: "0",
        meaning: "compacted sessions older than this many days lose their buckets too, keeping only their summary; more than WAGES_RETENTION_RAW_DAYS; 0 keeps them",
    },
    Variable {
        name: "WAGES_RETENTION_CHECK_SECONDS",
        default: "3600",
        meaning: "how often compaction looks for old sessions, 1 to 86400 seconds",
    },
    Variable {
        name: "WAGES_AUTO_REGISTER",
        default: "false",
        meaning: "register unknown devices on their first reading instead of rejecting them",
    },
    Variable {
        name: "WAGES_ADMIN_PASSWORD",
        default: "(generated)",
        meaning: "password of the admin account (8 to 1024 bytes); without it the first start prints a generated one",
    },
    Variable {
        name: "WAGES_METRICS_PUBLIC",
        default: "true",
        meaning: "false: {base}/metrics needs a login or an API token like every other page",
    },
    Variable {
        name: "WAGES_LIVE_PER_CLIENT",
        default: "100",
        meaning: "live WebSocket streams one client (a login session or an API token) may hold open, 1 to 100000",
    },
    Variable {
        name: "WAGES_TLS_CERT",
        default: "(none: HTTP)",
        meaning: "PEM certificate chain: the web port serves HTTPS (HTTP/2 offered), as Web Bluetooth on another device needs; with WAGES_TLS_KEY",
    },
    Variable { name: "WAGES_TLS_KEY", default: "(none)", meaning: "PEM private key of WAGES_TLS_CERT's certificate" },
    Variable { name: "WAGES_LOG", default: "info", meaning: "log filter (tracing EnvFilter syntax)" },
    Variable { name: "WAGES_LOG_FORMAT", default: "pretty", meaning: "pretty, or json for one JSON object per line" },
];

/// Live streams per client unless `WAGES_LIVE_PER_CLIENT` says otherwise: a browser
/// tab holds one or two.
pub const DEFAULT_LIVE_PER_CLIENT: usize = 100;

/// The embedded broker's message log unless `WAGES_MQTT_BUFFER_MB` says otherwise.
/// rumqttd keeps every message in memory until its log wraps, so this is what its
/// memory settles at once enough has passed through (at any rate, in the end).
pub const DEFAULT_MQTT_BUFFER_MB: usize = 100;

/// MQTT connections the embedded broker holds unless `WAGES_MQTT_MAX_CONNECTIONS` says
/// otherwise: a large cafe chain's scales on one node.
pub const DEFAULT_MQTT_MAX_CONNECTIONS: usize = 10_000;

/// Variables whose values are secret: errors name them but never print the value.
const SECRET: &[&str] = &["WAGES_INFLUX_TOKEN", "WAGES_ADMIN_PASSWORD"];

/// The whole configuration, typed.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the web app, API and MQTT-over-WebSocket listen.
    pub site_addr: SocketAddr,
    /// HTTPS on that port (`WAGES_TLS_CERT`, `WAGES_TLS_KEY`); `None` for HTTP.
    pub web_tls: Option<crate::https::WebTls>,
    /// The built site: `pkg/` with the WASM, JS and CSS.
    pub site_root: PathBuf,
    /// URL path prefix of every page, asset, call and socket.
    pub base_path: BasePath,
    /// The registry database.
    pub database: Database,
    /// Where readings are stored.
    pub timeseries: Timeseries,
    /// The embedded broker, or an external one.
    pub mqtt: Mqtt,
    /// This node's name among several (`WAGES_NODE_ID`).
    pub node_id: String,
    /// Register unknown devices on their first reading.
    pub auto_register: bool,
    /// The admin's password, when configured.
    pub admin_password: Option<String>,
    /// Whether `{base}/metrics` is open to all.
    pub metrics_public: bool,
    /// Live streams one client may hold open.
    pub live_per_client: usize,
    /// The embedded broker's message log, in MB.
    pub mqtt_buffer_mb: usize,
    /// MQTT connections the embedded broker holds at once.
    pub mqtt_max_connections: usize,
    /// What is published back to the broker; `None` for nothing.
    pub aggregates: Option<crate::aggregates::Settings>,
    /// Compaction of old readings; `None` keeps every reading.
    pub retention: Option<crate::retention::Settings>,
    /// Log filter, already checked to parse.
    pub log_filter: String,
    /// Log line format.
    pub log_format: LogFormat,
}

/// A registry database URL, by kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Database {
    Sqlite(String),
    Postgres(String),
}

/// Where readings go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Timeseries {
    Sql,
    InfluxDb2(Influx),
}

/// An InfluxDB 2 connection.
#[derive(Clone, PartialEq, Eq)]
pub struct Influx {
    pub url: String,
    pub org: String,
    pub bucket: String,
    pub token: String,
}

impl fmt::Debug for Influx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Influx")
            .field("url", &self.url)
            .field("org", &self.org)
            .field("bucket", &self.bucket)
            .field("token", &"***")
            .finish()
    }
}

/// The broker readings arrive through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mqtt {
    /// A broker inside the process; `tcp` is `None` when only WebSocket is wanted.
    Embedded { tcp: Option<SocketAddr> },
    /// `WAGES_MQTT_URL`, and how readings reach this node from it (`WAGES_MQTT_SHARE`,
    /// `WAGES_AMQP_URL`).
    External { broker: BrokerUrl, readings: ReadingsSource },
}

/// A broker's address and login, as an `mqtt://` or `mqtts://` URL gives them: where
/// the pipeline, the aggregates and `wages simulate` connect (see [`crate::mqtt::Target`]).
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// Where an external broker's readings are taken from.
#[derive(Clone, PartialEq, Eq)]
pub enum ReadingsSource {
    /// A plain MQTT subscription: this node takes every reading.
    Mqtt,
    /// A shared MQTT subscription in this group: the broker splits readings among nodes.
    Shared(String),
    /// A durable AMQP queue bound to `amq.topic` (RabbitMQ), at this `amqp://` URL.
    Amqp(String),
}

impl fmt::Debug for ReadingsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadingsSource::Mqtt => f.write_str("Mqtt"),
            ReadingsSource::Shared(group) => f.debug_tuple("Shared").field(group).finish(),
            ReadingsSource::Amqp(url) => f.debug_tuple("Amqp").field(&redact(url)).finish(),
        }
    }
}

impl fmt::Debug for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrokerUrl")
            .field("tls", &self.tls)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// A variable with a value that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    /// The value as given, with secrets masked; `None` when the variable was missing.
    pub value: Option<String>,
    pub expected: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, "{}={value:?}: expected {}", self.variable, self.expected),
            None => write!(f, "{} is not set: expected {}", self.variable, self.expected),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Masks the password of a URL's user info: `mqtt://u:secret@h` → `mqtt://u:***@h`.
pub fn redact(value: &str) -> String {
    match url::Url::parse(value) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => value.to_owned(),
    }
}

/// Reads variables through `lookup`, which returns a variable's value if it is set.
struct Reader<F> {
    lookup: F,
}

impl<F: Fn(&str) -> Option<String>> Reader<F> {
    /// The value, or `None` when unset or empty.
    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    fn error(&self, variable: &'static str, value: &str, expected: impl Into<String>) -> ConfigError {
        let value = if SECRET.contains(&variable) { "***".to_owned() } else { redact(value) };
        ConfigError { variable, value: Some(value), expected: expected.into() }
    }

    /// Parses a variable with `parse`, or falls back to `default` when it is unset.
    fn parse<T>(
        &self,
        variable: &'static str,
        default: T,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, ConfigError> {
        match self.get(variable) {
            None => Ok(default),
            Some(value) => parse(value.trim()).ok_or_else(|| self.error(variable, &value, expected)),
        }
    }

    fn required(&self, variable: &'static str, because: &str) -> Result<String, ConfigError> {
        self.get(variable).ok_or_else(|| ConfigError { variable, value: None, expected: because.to_owned() })
    }
}

/// `WAGES_RETENTION_*`, checked together: buckets must outlive raw readings.
fn retention(r: &Reader<impl Fn(&str) -> Option<String>>) -> Result<Option<crate::retention::Settings>, ConfigError> {
    const DAY_MS: u64 = 86_400_000;
    let days = |v: &str| v.parse::<u64>().ok().filter(|n| *n <= 36_500);
    let raw_days = r.parse("WAGES_RETENTION_RAW_DAYS", 90, "a whole number of days from 0 to 36500", days)?;
    let bucket_ms = r.parse("WAGES_RETENTION_BUCKET_MS", 1000, "a whole number of ms from 100 to 60000", |v| {
        v.parse().ok().filter(|n| (100..=60_000).contains(n))
    })?;
    let graph_days = r.parse("WAGES_RETENTION_GRAPH_DAYS", 0, "a whole number of days from 0 to 36500", days)?;
    let every = r.parse("WAGES_RETENTION_CHECK_SECONDS", 3600, "a whole number of seconds from 1 to 86400", |v| {
        v.parse().ok().filter(|n| (1..=86_400).contains(n))
    })?;
    if graph_days > 0 && (raw_days == 0 || graph_days <= raw_days) {
        let value = r.get("WAGES_RETENTION_GRAPH_DAYS").unwrap_or_default();
        let expected = if raw_days == 0 {
            "0 while WAGES_RETENTION_RAW_DAYS=0 (nothing is compacted)".to_owned()
        } else {
            format!("0, or more days than WAGES_RETENTION_RAW_DAYS ({raw_days}): buckets are what compaction leaves")
        };
        return Err(r.error("WAGES_RETENTION_GRAPH_DAYS", &value, expected));
    }
    Ok((raw_days > 0).then(|| crate::retention::Settings {
        retention: wages_store::Retention {
            raw_after_ms: raw_days * DAY_MS,
            bucket_ms,
            graph_after_ms: (graph_days > 0).then_some(graph_days * DAY_MS),
        },
        every: std::time::Duration::from_secs(every),
    }))
}

/// `WAGES_MQTT_SHARE` and `WAGES_AMQP_URL`, checked together: one way for readings to come.
fn readings_source(r: &Reader<impl Fn(&str) -> Option<String>>) -> Result<ReadingsSource, ConfigError> {
    let share =
        r.parse("WAGES_MQTT_SHARE", None, "off, or a group name of 1 to 64 letters, digits, - or _", |v| match v {
            "off" => Some(None),
            _ if (1..=64).contains(&v.len())
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                Some(Some(v.to_owned()))
            }
            _ => None,
        })?;
    let amqp = match r.get("WAGES_AMQP_URL") {
        None => None,
        Some(v) => {
            let url = url::Url::parse(v.trim())
                .ok()
                .filter(|u| matches!(u.scheme(), "amqp" | "amqps") && u.host_str().is_some_and(|h| !h.is_empty()));
            Some(url.map(|_| v.trim().to_owned()).ok_or_else(|| {
                r.error("WAGES_AMQP_URL", &v, "amqp://[user:password@]host[:port][/vhost] or amqps://…")
            })?)
        }
    };
    match (share, amqp) {
        (Some(group), Some(url)) => Err(r.error(
            "WAGES_AMQP_URL",
            &url,
            format!("to be unset while WAGES_MQTT_SHARE={group}: readings come either from a shared MQTT subscription or from RabbitMQ's queue"),
        )),
        (Some(group), None) => Ok(ReadingsSource::Shared(group)),
        (None, Some(url)) => Ok(ReadingsSource::Amqp(url)),
        (None, None) => Ok(ReadingsSource::Mqtt),
    }
}

fn parse_node_id(v: &str) -> Option<String> {
    let ok = (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    ok.then(|| v.to_owned())
}

/// The machine's name (a pod's name on Kubernetes), as a node id; `wages` if it has none usable.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .and_then(|h| parse_node_id(h.trim()))
        .unwrap_or_else(|| "wages".to_owned())
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn parse_database(v: &str) -> Option<Database> {
    if let Some(path) = v.strip_prefix("sqlite:") {
        let path = path.trim_start_matches("//");
        let checked = !path.is_empty() && wages_store::sqlite_synchronous(v).is_ok();
        return checked.then(|| Database::Sqlite(v.to_owned()));
    }
    let url = url::Url::parse(v).ok()?;
    let postgres = matches!(url.scheme(), "postgres" | "postgresql");
    (postgres && url.host_str().is_some_and(|h| !h.is_empty())).then(|| Database::Postgres(v.to_owned()))
}

fn parse_http_url(v: &str) -> Option<String> {
    let url = url::Url::parse(v).ok()?;
    (matches!(url.scheme(), "http" | "https") && url.host_str().is_some()).then(|| v.trim_end_matches('/').to_owned())
}

/// An `mqtt://` or `mqtts://` URL with nothing after the host and port.
pub(crate) fn parse_broker(v: &str) -> Option<BrokerUrl> {
    let url = url::Url::parse(v).ok()?;
    let tls = match url.scheme() {
        "mqtt" | "tcp" => false,
        "mqtts" | "ssl" => true,
        _ => return None,
    };
    let host = url.host_str().filter(|h| !h.is_empty())?.to_owned();
    let decode = |s: &str| url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned());
    let username = Some(url.username()).filter(|u| !u.is_empty()).and_then(decode);
    let password = url.password().and_then(decode);
    let only_root_path = matches!(url.path(), "" | "/") && url.query().is_none();
    only_root_path.then(|| BrokerUrl {
        tls,
        host,
        port: url.port().unwrap_or(if tls { 8883 } else { 1883 }),
        username,
        password,
    })
}

/// `LEPTOS_SITE_ADDR`, `LEPTOS_SITE_ROOT` and `WAGES_BASE_PATH`.
fn web(r: &Reader<impl Fn(&str) -> Option<String>>) -> Result<(SocketAddr, PathBuf, BasePath), ConfigError> {
    let default_addr = SocketAddr::from(([127, 0, 0, 1], 3000));
    let site_addr =
        r.parse("LEPTOS_SITE_ADDR", default_addr, "an IP address and port, such as 127.0.0.1:3000", |v| {
            v.parse().ok()
        })?;
    let site_root =
        r.parse("LEPTOS_SITE_ROOT", PathBuf::from("target/site"), "a folder", |v| Some(PathBuf::from(v)))?;
    let base_path = match (r.lookup)("WAGES_BASE_PATH") {
        None => BasePath::default(),
        Some(v) => BasePath::parse(v.trim()).ok_or_else(|| {
            r.error("WAGES_BASE_PATH", &v, "empty, or a path such as /wages (letters, digits, - . _ ~ and /)")
        })?,
    };
    Ok((site_addr, site_root, base_path))
}

/// `WAGES_TLS_CERT` and `WAGES_TLS_KEY`: both, or neither. The files are read at start.
fn web_tls(r: &Reader<impl Fn(&str) -> Option<String>>) -> Result<Option<crate::https::WebTls>, ConfigError> {
    match (r.get("WAGES_TLS_CERT"), r.get("WAGES_TLS_KEY")) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => {
            Ok(Some(crate::https::WebTls { cert: PathBuf::from(cert.trim()), key: PathBuf::from(key.trim()) }))
        }
        (Some(_), None) => {
            r.required("WAGES_TLS_KEY", "the certificate's PEM private key, since WAGES_TLS_CERT is set").map(|_| None)
        }
        (None, Some(_)) => {
            r.required("WAGES_TLS_CERT", "a PEM certificate chain, since WAGES_TLS_KEY is set").map(|_| None)
        }
    }
}

/// `WAGES_TIMESERIES` and, for InfluxDB, its four `WAGES_INFLUX_*`.
fn timeseries(r: &Reader<impl Fn(&str) -> Option<String>>) -> Result<Timeseries, ConfigError> {
    let influx = r.parse("WAGES_TIMESERIES", false, "sql or influxdb2", |v| match v {
        "sql" => Some(false),
        "influxdb2" => Some(true),
        _ => None,
    })?;
    let timeseries = if influx {
        let need = "a value when WAGES_TIMESERIES=influxdb2";
        let url = r.required("WAGES_INFLUX_URL", need)?;
        Timeseries::InfluxDb2(Influx {
            url: parse_http_url(&url).ok_or_else(|| r.error("WAGES_INFLUX_URL", &url, "an http:// or https:// URL"))?,
            org: r.required("WAGES_INFLUX_ORG", need)?,
            bucket: r.required("WAGES_INFLUX_BUCKET", need)?,
            token: r.required("WAGES_INFLUX_TOKEN", need)?,
        })
    } else {
        Timeseries::Sql
    };
    Ok(timeseries)
}

/// The broker: embedded (`WAGES_MQTT_LISTEN`) or external (`WAGES_MQTT_URL`, with
/// `WAGES_MQTT_SHARE` or `WAGES_AMQP_URL`).
fn mqtt(r: &Reader<impl Fn(&str) -> Option<String>>) -> Result<Mqtt, ConfigError> {
    let default_listen = Some(SocketAddr::from(([127, 0, 0, 1], 1883)));
    let listen = r.parse(
        "WAGES_MQTT_LISTEN",
        default_listen,
        "an IP address and port such as 127.0.0.1:1883, or 0 to disable TCP",
        |v| {
            if v == "0" { Some(None) } else { v.parse().ok().map(Some) }
        },
    )?;
    let mqtt = match r.get("WAGES_MQTT_URL") {
        None => {
            for variable in ["WAGES_MQTT_SHARE", "WAGES_AMQP_URL"] {
                if let Some(v) = r.get(variable).filter(|v| !(variable == "WAGES_MQTT_SHARE" && v.trim() == "off")) {
                    return Err(r.error(variable, &v, "to be unset with the embedded broker (it serves one node); set WAGES_MQTT_URL to share an external broker"));
                }
            }
            Mqtt::Embedded { tcp: listen }
        }
        Some(v) => {
            let broker = parse_broker(v.trim())
                .ok_or_else(|| r.error("WAGES_MQTT_URL", &v, "mqtt://[user:password@]host[:port] or mqtts://…"))?;
            Mqtt::External { broker, readings: readings_source(r)? }
        }
    };
    Ok(mqtt)
}

/// `WAGES_NODE_ID`, the host name by default.
fn node_id(r: &Reader<impl Fn(&str) -> Option<String>>) -> Result<String, ConfigError> {
    let node_id = match r.get("WAGES_NODE_ID") {
        Some(v) => {
            parse_node_id(v.trim()).ok_or_else(|| r.error("WAGES_NODE_ID", &v, "1 to 64 letters, digits, - _ or ."))?
        }
        None => host_name(),
    };
    Ok(node_id)
}

/// `WAGES_ADMIN_PASSWORD`, when set.
fn admin_password(r: &Reader<impl Fn(&str) -> Option<String>>) -> Result<Option<String>, ConfigError> {
    let admin_password = match r.get("WAGES_ADMIN_PASSWORD") {
        None => None,
        Some(p) if (8..=wages_store::account::MAX_PASSWORD_BYTES).contains(&p.len()) => Some(p),
        Some(p) => return Err(r.error("WAGES_ADMIN_PASSWORD", &p, "8 to 1024 bytes")),
    };
    Ok(admin_password)
}

/// `WAGES_AGGREGATES_SECONDS` and `WAGES_HA_DISCOVERY_PREFIX`; `None` publishes nothing back.
fn aggregates(r: &Reader<impl Fn(&str) -> Option<String>>) -> Result<Option<crate::aggregates::Settings>, ConfigError> {
    let every = r.parse("WAGES_AGGREGATES_SECONDS", 60u64, "a whole number of seconds from 0 to 86400", |v| {
        v.parse().ok().filter(|n| *n <= 86_400)
    })?;
    let discovery_prefix = r.parse(
        "WAGES_HA_DISCOVERY_PREFIX",
        Some("homeassistant".to_owned()),
        "off, or an MQTT topic prefix such as homeassistant",
        |v| match v {
            "off" => Some(None),
            _ if !v.is_empty()
                && v.len() <= 100
                && !v.contains(['+', '#'])
                && !v.starts_with('/')
                && !v.ends_with('/') =>
            {
                Some(Some(v.to_owned()))
            }
            _ => None,
        },
    )?;
    let aggregates = (every > 0)
        .then(|| crate::aggregates::Settings { every: std::time::Duration::from_secs(every), discovery_prefix });
    Ok(aggregates)
}

/// `WAGES_LOG` and `WAGES_LOG_FORMAT`.
fn logging(r: &Reader<impl Fn(&str) -> Option<String>>) -> Result<(String, LogFormat), ConfigError> {
    let log_filter =
        r.parse("WAGES_LOG", "info".to_owned(), "a tracing filter such as info or wages_server=debug,warn", |v| {
            tracing_subscriber::EnvFilter::try_new(v).ok().map(|_| v.to_owned())
        })?;
    let log_format = r.parse("WAGES_LOG_FORMAT", LogFormat::Pretty, "pretty or json", |v| match v {
        "pretty" => Some(LogFormat::Pretty),
        "json" => Some(LogFormat::Json),
        _ => None,
    })?;
    Ok((log_filter, log_format))
}

impl Config {
    /// Reads the process environment (after `.env` has been loaded into it).
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()))
    }

    /// Reads variables through `lookup`; tests pass a map instead of the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let r = Reader { lookup };
        let (site_addr, site_root, base_path) = web(&r)?;
        let web_tls = web_tls(&r)?;
        let database = r.parse(
            "WAGES_DATABASE_URL",
            Database::Sqlite("sqlite://data/wages.db".to_owned()),
            "sqlite://path/to/file.db (optionally ?synchronous=normal) or postgres://user:password@host:5432/database",
            parse_database,
        )?;
        let timeseries = timeseries(&r)?;
        let mqtt = mqtt(&r)?;
        let node_id = node_id(&r)?;
        let auto_register = r.parse("WAGES_AUTO_REGISTER", false, "true or false", parse_bool)?;
        let admin_password = admin_password(&r)?;
        let metrics_public = r.parse("WAGES_METRICS_PUBLIC", true, "true or false", parse_bool)?;
        let live_per_client =
            r.parse("WAGES_LIVE_PER_CLIENT", DEFAULT_LIVE_PER_CLIENT, "a whole number from 1 to 100000", |v| {
                v.parse().ok().filter(|n| (1..=100_000).contains(n))
            })?;
        let mqtt_buffer_mb =
            r.parse("WAGES_MQTT_BUFFER_MB", DEFAULT_MQTT_BUFFER_MB, "a whole number of MB from 10 to 4096", |v| {
                v.parse().ok().filter(|n| (10..=4096).contains(n))
            })?;
        let mqtt_max_connections = r.parse(
            "WAGES_MQTT_MAX_CONNECTIONS",
            DEFAULT_MQTT_MAX_CONNECTIONS,
            "a whole number from 1 to 100000",
            |v| v.parse().ok().filter(|n| (1..=100_000).contains(n)),
        )?;
        let aggregates = aggregates(&r)?;
        let retention = retention(&r)?;
        let (log_filter, log_format) = logging(&r)?;
        Ok(Config {
            site_addr,
            web_tls,
            site_root,
            base_path,
            database,
            timeseries,
            mqtt,
            node_id,
            auto_register,
            admin_password,
            metrics_public,
            live_per_client,
            mqtt_buffer_mb,
            mqtt_max_connections,
            aggregates,
            retention,
            log_filter,
            log_format,
        })
    }

    /// The `--help` text: usage and every variable with its default.
    pub fn help() -> String {
        let mut out = String::from(
            "wages: connected coffee scales: registry, MQTT ingestion, live graphs\n\n\
             Usage: wages [--help | --version]\n\
             \x20      wages simulate [OPTIONS]   simulated scales (see wages simulate --help)\n\n\
             Configuration comes from environment variables (a .env file is read if present):\n\n",
        );
        let width = VARIABLES.iter().map(|v| v.name.len()).max().unwrap_or(0);
        for v in VARIABLES {
            out.push_str(&format!("  {:width$}  {} (default: {})\n", v.name, v.meaning, v.default));
        }
        out
    }
}

/// `wages simulate`'s API token (`WAGES_TOKEN`), if set: how it registers scales and logs
/// in to Wages's broker. An environment variable rather than a flag, so it stays out of
/// the process list.
pub fn simulator_token() -> Option<String> {
    std::env::var("WAGES_TOKEN").ok().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn with(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    fn error(vars: &[(&str, &str)]) -> String {
        with(vars).expect_err("should be refused").to_string()
    }

    #[test]
    fn no_configuration_gives_the_embedded_defaults() {
        let c = with(&[]).expect("defaults are valid");
        assert_eq!(c.site_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.site_root, PathBuf::from("target/site"));
        assert_eq!(c.base_path.as_str(), "");
        assert_eq!(c.database, Database::Sqlite("sqlite://data/wages.db".into()));
        assert_eq!(c.timeseries, Timeseries::Sql);
        assert_eq!(c.mqtt, Mqtt::Embedded { tcp: Some("127.0.0.1:1883".parse().expect("addr")) });
        assert!(!c.auto_register);
        assert_eq!(c.log_filter, "info");
        assert_eq!(c.log_format, LogFormat::Pretty);
    }

    #[test]
    fn site_addr() {
        assert_eq!(with(&[("LEPTOS_SITE_ADDR", "0.0.0.0:8080")]).expect("valid").site_addr.port(), 8080);
        assert_eq!(
            error(&[("LEPTOS_SITE_ADDR", "localhost")]),
            r#"LEPTOS_SITE_ADDR="localhost": expected an IP address and port, such as 127.0.0.1:3000"#
        );
    }

    #[test]
    fn site_root() {
        assert_eq!(with(&[("LEPTOS_SITE_ROOT", "/srv/site")]).expect("valid").site_root, PathBuf::from("/srv/site"));
    }

    #[test]
    fn base_path() {
        assert_eq!(with(&[("WAGES_BASE_PATH", "/wages/")]).expect("valid").base_path.as_str(), "/wages");
        assert_eq!(with(&[("WAGES_BASE_PATH", "")]).expect("valid").base_path.as_str(), "");
        assert_eq!(
            error(&[("WAGES_BASE_PATH", "wages")]),
            r#"WAGES_BASE_PATH="wages": expected empty, or a path such as /wages (letters, digits, - . _ ~ and /)"#
        );
    }

    #[test]
    fn database_url() {
        let pg = "postgres://wages:pw@127.0.0.1:5432/wages";
        assert_eq!(with(&[("WAGES_DATABASE_URL", pg)]).expect("valid").database, Database::Postgres(pg.into()));
        assert_eq!(
            with(&[("WAGES_DATABASE_URL", "sqlite::memory:")]).expect("valid").database,
            Database::Sqlite("sqlite::memory:".into())
        );
        assert_eq!(
            error(&[("WAGES_DATABASE_URL", "mysql://root:hunter2@db/wages")]),
            r#"WAGES_DATABASE_URL="mysql://root:***@db/wages": expected sqlite://path/to/file.db (optionally ?synchronous=normal) or postgres://user:password@host:5432/database"#
        );
        assert!(with(&[("WAGES_DATABASE_URL", "sqlite://")]).is_err());
        let normal = "sqlite://data/wages.db?synchronous=normal";
        assert_eq!(with(&[("WAGES_DATABASE_URL", normal)]).expect("valid").database, Database::Sqlite(normal.into()));
        assert!(error(&[("WAGES_DATABASE_URL", "sqlite://w.db?synchronous=off")]).contains("?synchronous=normal"));
    }

    #[test]
    fn timeseries_and_influx() {
        assert_eq!(error(&[("WAGES_TIMESERIES", "influx")]), r#"WAGES_TIMESERIES="influx": expected sql or influxdb2"#);
        assert_eq!(
            error(&[("WAGES_TIMESERIES", "influxdb2")]),
            "WAGES_INFLUX_URL is not set: expected a value when WAGES_TIMESERIES=influxdb2"
        );
        let full = [
            ("WAGES_TIMESERIES", "influxdb2"),
            ("WAGES_INFLUX_URL", "http://127.0.0.1:8086/"),
            ("WAGES_INFLUX_ORG", "cafe"),
            ("WAGES_INFLUX_BUCKET", "readings"),
            ("WAGES_INFLUX_TOKEN", "s3cret"),
        ];
        let c = with(&full).expect("valid");
        let Timeseries::InfluxDb2(influx) = c.timeseries else { panic!("influx expected") };
        assert_eq!(influx.url, "http://127.0.0.1:8086");
        assert!(!format!("{influx:?}").contains("s3cret"), "the token must never be printed");
        let mut bad_url = full;
        bad_url[1] = ("WAGES_INFLUX_URL", "127.0.0.1:8086");
        assert_eq!(error(&bad_url), r#"WAGES_INFLUX_URL="127.0.0.1:8086": expected an http:// or https:// URL"#);
        for missing in ["WAGES_INFLUX_ORG", "WAGES_INFLUX_BUCKET", "WAGES_INFLUX_TOKEN"] {
            let vars: Vec<_> = full.iter().copied().filter(|(k, _)| *k != missing).collect();
            assert!(error(&vars).starts_with(&format!("{missing} is not set")));
        }
    }

    #[test]
    fn mqtt_url() {
        let c = with(&[("WAGES_MQTT_URL", "mqtts://scale%40cafe:p%3Ass@broker.local")]).expect("valid");
        let Mqtt::External { broker: b, .. } = c.mqtt else { panic!("external expected") };
        assert_eq!((b.tls, b.host.as_str(), b.port), (true, "broker.local", 8883));
        assert_eq!((b.username.as_deref(), b.password.as_deref()), (Some("scale@cafe"), Some("p:ss")));
        assert!(!format!("{b:?}").contains("p:ss"), "the password must never be printed");
        let plain = with(&[("WAGES_MQTT_URL", "mqtt://127.0.0.1:1884")]).expect("valid");
        assert_eq!(
            plain.mqtt,
            Mqtt::External {
                broker: BrokerUrl { tls: false, host: "127.0.0.1".into(), port: 1884, username: None, password: None },
                readings: ReadingsSource::Mqtt,
            }
        );
        assert_eq!(
            error(&[("WAGES_MQTT_URL", "http://u:secret@broker")]),
            r#"WAGES_MQTT_URL="http://u:***@broker/": expected mqtt://[user:password@]host[:port] or mqtts://…"#
        );
        assert!(with(&[("WAGES_MQTT_URL", "mqtt://broker/some/path")]).is_err());
    }

    #[test]
    fn several_nodes_split_readings_one_way_or_the_other() {
        let broker = |vars: &[(&str, &str)]| {
            let mut all = vec![("WAGES_MQTT_URL", "mqtt://127.0.0.1:1883")];
            all.extend_from_slice(vars);
            match with(&all).map(|c| c.mqtt) {
                Ok(Mqtt::External { readings, .. }) => Ok(readings),
                Ok(other) => panic!("external expected, got {other:?}"),
                Err(e) => Err(e.to_string()),
            }
        };
        assert_eq!(broker(&[]), Ok(ReadingsSource::Mqtt));
        assert_eq!(broker(&[("WAGES_MQTT_SHARE", "off")]), Ok(ReadingsSource::Mqtt));
        assert_eq!(broker(&[("WAGES_MQTT_SHARE", "wages")]), Ok(ReadingsSource::Shared("wages".into())));
        let amqp = "amqp://wages:s3cret@rabbit:5672/%2f";
        assert_eq!(broker(&[("WAGES_AMQP_URL", amqp)]), Ok(ReadingsSource::Amqp(amqp.into())));
        let both = broker(&[("WAGES_AMQP_URL", amqp), ("WAGES_MQTT_SHARE", "wages")]).expect_err("one way only");
        assert!(both.starts_with(r#"WAGES_AMQP_URL="amqp://wages:***@rabbit:5672/%2f": expected to be unset while WAGES_MQTT_SHARE=wages"#), "{both}");
        assert!(!format!("{:?}", ReadingsSource::Amqp(amqp.into())).contains("s3cret"));
        assert_eq!(
            broker(&[("WAGES_MQTT_SHARE", "a/b")]),
            Err(r#"WAGES_MQTT_SHARE="a/b": expected off, or a group name of 1 to 64 letters, digits, - or _"#.into())
        );
        assert_eq!(
            broker(&[("WAGES_AMQP_URL", "http://rabbit")]),
            Err(r#"WAGES_AMQP_URL="http://rabbit": expected amqp://[user:password@]host[:port][/vhost] or amqps://…"#
                .into())
        );
        // The embedded broker serves one node: sharing it is a mistake worth saying.
        assert!(error(&[("WAGES_MQTT_SHARE", "wages")]).contains("to be unset with the embedded broker"));
        assert!(error(&[("WAGES_AMQP_URL", amqp)]).contains("to be unset with the embedded broker"));
        assert!(with(&[("WAGES_MQTT_SHARE", "off")]).is_ok());
    }

    #[test]
    fn node_id() {
        assert_eq!(with(&[("WAGES_NODE_ID", "wages-1")]).expect("valid").node_id, "wages-1");
        assert!(!with(&[]).expect("valid").node_id.is_empty(), "the host name by default");
        assert_eq!(
            error(&[("WAGES_NODE_ID", "a b")]),
            r#"WAGES_NODE_ID="a b": expected 1 to 64 letters, digits, - _ or ."#
        );
        assert!(error(&[("WAGES_NODE_ID", &"n".repeat(65))]).contains("1 to 64"));
    }

    #[test]
    fn retention() {
        let on = with(&[]).expect("valid").retention.expect("on by default");
        assert_eq!(on.retention.raw_after_ms, 90 * 86_400_000);
        assert_eq!((on.retention.bucket_ms, on.retention.graph_after_ms), (1000, None));
        assert_eq!(on.every, std::time::Duration::from_secs(3600));
        assert!(with(&[("WAGES_RETENTION_RAW_DAYS", "0")]).expect("valid").retention.is_none());
        let set = with(&[
            ("WAGES_RETENTION_RAW_DAYS", "30"),
            ("WAGES_RETENTION_BUCKET_MS", "100"),
            ("WAGES_RETENTION_GRAPH_DAYS", "365"),
            ("WAGES_RETENTION_CHECK_SECONDS", "1"),
        ])
        .expect("valid")
        .retention
        .expect("on");
        assert_eq!(set.retention.graph_after_ms, Some(365 * 86_400_000));
        assert_eq!((set.retention.bucket_ms, set.every.as_secs()), (100, 1));
        assert_eq!(
            error(&[("WAGES_RETENTION_BUCKET_MS", "10")]),
            r#"WAGES_RETENTION_BUCKET_MS="10": expected a whole number of ms from 100 to 60000"#
        );
        assert_eq!(
            error(&[("WAGES_RETENTION_GRAPH_DAYS", "30")]),
            r#"WAGES_RETENTION_GRAPH_DAYS="30": expected 0, or more days than WAGES_RETENTION_RAW_DAYS (90): buckets are what compaction leaves"#
        );
        assert!(
            error(&[("WAGES_RETENTION_RAW_DAYS", "0"), ("WAGES_RETENTION_GRAPH_DAYS", "5")])
                .contains("nothing is compacted")
        );
        assert!(error(&[("WAGES_RETENTION_RAW_DAYS", "-1")]).contains("0 to 36500"));
        assert!(error(&[("WAGES_RETENTION_CHECK_SECONDS", "0")]).contains("1 to 86400"));
    }

    #[test]
    fn mqtt_listen() {
        assert_eq!(with(&[("WAGES_MQTT_LISTEN", "0")]).expect("valid").mqtt, Mqtt::Embedded { tcp: None });
        assert_eq!(
            with(&[("WAGES_MQTT_LISTEN", "0.0.0.0:1884")]).expect("valid").mqtt,
            Mqtt::Embedded { tcp: Some("0.0.0.0:1884".parse().expect("addr")) }
        );
        assert_eq!(
            error(&[("WAGES_MQTT_LISTEN", "1883")]),
            r#"WAGES_MQTT_LISTEN="1883": expected an IP address and port such as 127.0.0.1:1883, or 0 to disable TCP"#
        );
    }

    #[test]
    fn admin_password_and_metrics() {
        let c = with(&[("WAGES_ADMIN_PASSWORD", "correct horse")]).expect("valid");
        assert_eq!(c.admin_password.as_deref(), Some("correct horse"));
        assert!(c.metrics_public);
        assert_eq!(
            error(&[("WAGES_ADMIN_PASSWORD", "short")]),
            r#"WAGES_ADMIN_PASSWORD="***": expected 8 to 1024 bytes"#
        );
        assert!(!with(&[("WAGES_METRICS_PUBLIC", "false")]).expect("valid").metrics_public);
        assert!(with(&[("WAGES_METRICS_PUBLIC", "maybe")]).is_err());
        let published = with(&[]).expect("valid").aggregates.expect("on by default");
        assert_eq!(published.every, std::time::Duration::from_secs(60));
        assert_eq!(published.discovery_prefix.as_deref(), Some("homeassistant"));
        assert!(with(&[("WAGES_AGGREGATES_SECONDS", "0")]).expect("valid").aggregates.is_none());
        let off = with(&[("WAGES_HA_DISCOVERY_PREFIX", "off")]).expect("valid").aggregates.expect("on");
        assert_eq!(off.discovery_prefix, None);
        for bad in ["ha/#", "/ha", "ha/"] {
            assert!(error(&[("WAGES_HA_DISCOVERY_PREFIX", bad)]).contains("topic prefix"), "{bad:?}");
        }
        assert!(error(&[("WAGES_AGGREGATES_SECONDS", "86401")]).contains("0 to 86400"));
        assert_eq!(with(&[]).expect("valid").mqtt_buffer_mb, 100);
        assert_eq!(with(&[("WAGES_MQTT_BUFFER_MB", "1024")]).expect("valid").mqtt_buffer_mb, 1024);
        for bad in ["9", "4097", "1GB"] {
            assert!(error(&[("WAGES_MQTT_BUFFER_MB", bad)]).contains("10 to 4096"), "{bad}");
        }
        assert_eq!(with(&[]).expect("valid").mqtt_max_connections, 10_000);
        assert_eq!(with(&[("WAGES_MQTT_MAX_CONNECTIONS", "50000")]).expect("valid").mqtt_max_connections, 50_000);
        for bad in ["0", "100001", "-1", "many"] {
            assert!(error(&[("WAGES_MQTT_MAX_CONNECTIONS", bad)]).contains("1 to 100000"), "{bad}");
        }
        assert_eq!(with(&[]).expect("valid").live_per_client, 100);
        assert_eq!(with(&[("WAGES_LIVE_PER_CLIENT", "20000")]).expect("valid").live_per_client, 20_000);
        for bad in ["0", "100001", "many"] {
            assert!(error(&[("WAGES_LIVE_PER_CLIENT", bad)]).contains("1 to 100000"), "{bad}");
        }
    }

    #[test]
    fn auto_register() {
        for (v, want) in [("true", true), ("1", true), ("YES", true), ("off", false), ("false", false)] {
            assert_eq!(with(&[("WAGES_AUTO_REGISTER", v)]).expect("valid").auto_register, want, "{v}");
        }
        assert_eq!(
            error(&[("WAGES_AUTO_REGISTER", "maybe")]),
            r#"WAGES_AUTO_REGISTER="maybe": expected true or false"#
        );
    }

    #[test]
    fn log_filter() {
        assert_eq!(
            with(&[("WAGES_LOG", "wages_server=debug,warn")]).expect("valid").log_filter,
            "wages_server=debug,warn"
        );
        assert_eq!(
            error(&[("WAGES_LOG", "info,=[")]),
            r#"WAGES_LOG="info,=[": expected a tracing filter such as info or wages_server=debug,warn"#
        );
    }

    #[test]
    fn log_format() {
        assert_eq!(with(&[("WAGES_LOG_FORMAT", "json")]).expect("valid").log_format, LogFormat::Json);
        assert_eq!(error(&[("WAGES_LOG_FORMAT", "xml")]), r#"WAGES_LOG_FORMAT="xml": expected pretty or json"#);
    }

    #[test]
    fn help_lists_every_variable() {
        let help = Config::help();
        for v in VARIABLES {
            assert!(help.contains(v.name), "{}", v.name);
        }
    }

    #[test]
    fn the_readme_table_names_every_variable_and_no_other() {
        let readme = include_str!("../../README.md");
        let rows =
            readme.lines().skip_while(|l| !l.starts_with("| variable |")).skip(2).take_while(|l| l.starts_with('|'));
        // The first cell names one or more variables, each in backticks.
        let mut documented: Vec<&str> =
            rows.flat_map(|row| row.split('|').nth(1).unwrap_or_default().split('`').skip(1).step_by(2)).collect();
        let mut declared: Vec<&str> = VARIABLES.iter().map(|v| v.name).collect();
        documented.sort_unstable();
        declared.sort_unstable();
        assert_eq!(documented, declared, "README's configuration table and VARIABLES differ");
    }

    /// A default written as a value (not "(none)" or "(generated)") is the same in the
    /// README's table, in `.env.example` (`# NAME=default`) and in `VARIABLES`.
    #[test]
    fn the_defaults_agree_everywhere() {
        let readme = include_str!("../../README.md");
        let example = include_str!("../../.env.example");
        for v in VARIABLES.iter().filter(|v| !v.default.starts_with('(')) {
            let row = readme
                .lines()
                .find(|l| {
                    l.starts_with("| `") && l.split('|').nth(1).is_some_and(|c| c.contains(&format!("`{}`", v.name)))
                })
                .unwrap_or_else(|| panic!("README has no row for {}", v.name));
            let readme_default = row.split('|').nth(2).unwrap_or_default();
            assert!(readme_default.contains(&format!("`{}`", v.default)), "README's default for {}: {row}", v.name);
            assert!(
                example.lines().any(|l| l == format!("# {}={}", v.name, v.default)),
                ".env.example does not show {}={}",
                v.name,
                v.default
            );
        }
    }

    /// Setting a variable to the default `VARIABLES` declares for it changes nothing: the
    /// declared default is the parser's.
    #[test]
    fn the_declared_defaults_are_the_parsers() {
        let unset = format!("{:?}", with(&[]).expect("defaults are valid"));
        for v in VARIABLES.iter().filter(|v| !v.default.starts_with('(')) {
            let set = with(&[(v.name, v.default)]).unwrap_or_else(|e| panic!("{}={}: {e}", v.name, v.default));
            assert_eq!(format!("{set:?}"), unset, "{}={} is not what leaving it unset gives", v.name, v.default);
        }
    }

    #[test]
    fn env_example_documents_every_variable() {
        let example = include_str!("../../.env.example");
        for v in VARIABLES {
            assert!(example.contains(v.name), ".env.example lacks {}", v.name);
        }
    }
}
