//! `wages simulate`: scales without hardware, for demos and load. Each simulated scale
//! is its own MQTT client (its `client_id` as MQTT client id, `offline` as its last will),
//! announces itself `online;firmware=…` (retained), then brews: every session is a
//! realistic extraction from [`wages_sessions::simulate`] (the curve the browser's
//! simulator tab uses too), one reading per QoS 1 message at the given rate, in real time;
//! with `--machine` each reading carries what an espresso machine measures beside it.
//! A scale whose recipe names a target yield (retained on `wages/devices/{id}/target`)
//! stops by weight, as firmware would: at the target minus the drip its flow predicts.

use std::fmt::Write as _;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, LastWill, Outgoing, Packet, QoS};
use wages_codec::ClientId;
use wages_codec::topic::{self, Channel};
use wages_sessions::simulate::Extraction;
use wages_store::brew::Target;

use crate::config::BrokerUrl;
use crate::mqtt::Target as Connection;

/// The firmware simulated scales report.
pub const FIRMWARE: &str = concat!("sim-", env!("CARGO_PKG_VERSION"));

/// What to simulate, from the command line.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub broker: BrokerUrl,
    pub devices: u32,
    /// Readings per second per scale.
    pub rate: u32,
    /// Sessions per scale, one after the other.
    pub sessions: u32,
    pub seconds: u32,
    pub grams: f64,
    /// `http://host:port{base}` of a Wages server to register the scales with first.
    pub register: Option<String>,
    /// Scales are `{prefix}-01`, `{prefix}-02`, …
    pub prefix: String,
    /// An API token with the write scope (`WAGES_TOKEN`, read by the configuration):
    /// how `--register` registers the scales, and the scales' login to Wages's broker.
    pub token: Option<String>,
    /// Each reading also carries what an espresso machine measures (pressure, flow,
    /// temperatures, water), as a scale built into a machine would send.
    pub machine: bool,
}

/// A mistake on the command line.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum UsageError {
    #[error("{0} needs a value; see wages simulate --help")]
    NoValue(String),
    #[error("{name} {value:?}: expected {expected}")]
    Invalid { name: String, value: String, expected: String },
    #[error("unknown option {0:?}; see wages simulate --help")]
    Unknown(String),
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error("--register needs an API token with the write scope in WAGES_TOKEN (create one on the Tokens page)")]
    NoToken,
    #[error("WAGES_TOKEN: not a token (wages_…)")]
    BadToken,
    #[error("cannot make an HTTP client: {0}")]
    Http(reqwest::Error),
    #[error("cannot register {id} at {server}: {source}")]
    Unreachable { id: String, server: String, source: reqwest::Error },
    #[error("registering {id} at {server}: {status} {text}")]
    Refused { id: String, server: String, status: reqwest::StatusCode, text: String },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("a simulated scale stopped: {0}")]
    Stopped(#[from] tokio::task::JoinError),
    /// The client could not queue a packet (its event loop is gone).
    #[error("{id}: {source}")]
    Client { id: ClientId, source: rumqttc::ClientError },
    #[error("{id}: the broker: {source}{}", login_hint(.source))]
    Broker { id: ClientId, source: rumqttc::ConnectionError },
    #[error("{id}: the connection ended early")]
    EndedEarly { id: ClientId },
    #[error("{id}: the broker did not take the last messages within 30 s")]
    Unfinished { id: ClientId },
}

/// What to do when the broker refused the login.
fn login_hint(e: &rumqttc::ConnectionError) -> &'static str {
    match e {
        rumqttc::ConnectionError::ConnectionRefused(_) => {
            "; a Wages broker needs a login: a write token in WAGES_TOKEN, or user:password in --url"
        }
        _ => "",
    }
}

pub const HELP: &str = "\
wages simulate: publishes realistic extractions from simulated scales

Usage: wages simulate [OPTIONS]

Options:
  --url URL         broker to publish to, mqtt:// or mqtts:// [default: mqtt://127.0.0.1:1883]
  --devices N       scales, 1 to 10000 [default: 4]
  --rate HZ         readings per second per scale, 1 to 1000 [default: 10]
  --sessions N      extractions per scale, one after another, 1 to 1000 [default: 1]
  --seconds S       length of an extraction, 1 to 600 [default: 30]
  --grams G         weight in the cup at the end, 1 to 1000 [default: 36]; a scale
                    whose recipe has a target yield stops by weight at that instead
  --prefix P        scales are named P-01, P-02, … [default: sim]
  --machine         each reading also carries what an espresso machine measures:
                    pressure, flow, water and basket temperature, water dispensed
  --register URL    register the scales first with the Wages server at URL
                    (e.g. http://127.0.0.1:3000, with its base path if it has one),
                    sending the API token (write scope) from the WAGES_TOKEN variable

Wages's embedded broker admits the scales with the same token (WAGES_TOKEN) when
--url carries no user and password (mqtt://user:password@host:port).
";

impl Options {
    /// Reads `--name value` pairs.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, UsageError> {
        let mut options = Options {
            broker: BrokerUrl { tls: false, host: "127.0.0.1".into(), port: 1883, username: None, password: None },
            devices: 4,
            rate: 10,
            sessions: 1,
            seconds: 30,
            grams: 36.0,
            register: None,
            prefix: "sim".into(),
            token: None,
            machine: false,
        };
        let mut args = args.into_iter();
        while let Some(name) = args.next() {
            if name == "--machine" {
                options.machine = true;
                continue;
            }
            let value = args.next().ok_or_else(|| UsageError::NoValue(name.clone()))?;
            let invalid = |expected: &str| UsageError::Invalid {
                name: name.clone(),
                value: value.clone(),
                expected: expected.to_owned(),
            };
            let number = |low: u32, high: u32| -> Result<u32, UsageError> {
                let expected = format!("a whole number from {low} to {high}");
                value.parse().ok().filter(|n| (low..=high).contains(n)).ok_or_else(|| invalid(&expected))
            };
            match name.as_str() {
                "--url" => {
                    options.broker = crate::config::parse_broker(&value)
                        .ok_or_else(|| invalid("mqtt://host[:port] or mqtts://host[:port]"))?;
                }
                "--devices" => options.devices = number(1, 10_000)?,
                "--rate" => options.rate = number(1, 1000)?,
                "--sessions" => options.sessions = number(1, 1000)?,
                "--seconds" => options.seconds = number(1, 600)?,
                "--grams" => options.grams = f64::from(number(1, 1000)?),
                "--prefix" => {
                    // The longest scale name, `{prefix}-10000`, must still be a client_id.
                    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_');
                    if value.is_empty() || value.len() > 58 || !value.chars().all(valid) {
                        return Err(invalid("1 to 58 of A-Z a-z 0-9 - _"));
                    }
                    options.prefix = value;
                }
                "--register" => {
                    let url = url::Url::parse(&value).ok().filter(|u| matches!(u.scheme(), "http" | "https"));
                    url.ok_or_else(|| invalid("http://host:port[/base]"))?;
                    options.register = Some(value.trim_end_matches('/').to_owned());
                }
                _ => return Err(UsageError::Unknown(name)),
            }
        }
        Ok(options)
    }

    fn device(&self, n: u32) -> String {
        format!("{}-{n:02}", self.prefix)
    }

    /// Scale `n`'s `client_id`.
    #[allow(clippy::expect_used)]
    fn client_id(&self, n: u32) -> ClientId {
        // `--prefix` is checked so that every scale's name is a valid client_id.
        ClientId::parse(&self.device(n)).expect("--prefix makes valid client ids")
    }
}

/// What a run published.
#[derive(Debug, PartialEq)]
pub struct Published {
    pub devices: u32,
    pub sessions: u64,
    pub readings: u64,
}

/// Registers the scales (when asked), then runs them all until their sessions are done.
pub async fn run(options: &Options) -> Result<Published, SimulateError> {
    if let Some(server) = &options.register {
        register(server, options).await?;
    }
    // Wages's embedded broker admits a write token for every scale; an external broker
    // takes the user and password of --url.
    let mut options = options.clone();
    if options.broker.username.is_none()
        && let Some(token) = &options.token
    {
        options.broker.username = Some("wages-simulate".to_owned());
        options.broker.password = Some(token.clone());
    }
    let options = &options;
    let connection = Connection::new(options.broker.clone())?;
    let run_id = now_ms() / 1000;
    let scales: Vec<_> = (1..=options.devices)
        .map(|n| tokio::spawn(scale(options.clone(), options.client_id(n), n, run_id, connection.clone())))
        .collect();
    let mut published = Published { devices: options.devices, sessions: 0, readings: 0 };
    for scale in scales {
        let readings = scale.await??;
        published.sessions += u64::from(options.sessions);
        published.readings += readings;
    }
    Ok(published)
}

async fn register(server: &str, options: &Options) -> Result<(), SimulateError> {
    let token = options.token.as_ref().ok_or(SimulateError::NoToken)?;
    let mut headers = reqwest::header::HeaderMap::new();
    let bearer =
        reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| SimulateError::BadToken)?;
    headers.insert(reqwest::header::AUTHORIZATION, bearer);
    let http = reqwest::Client::builder().default_headers(headers).build().map_err(SimulateError::Http)?;
    for n in 1..=options.devices {
        let id = options.device(n);
        let body = serde_json::json!({"client_id": id, "name": format!("Simulated scale {n}")});
        let response = http
            .post(format!("{server}/api/devices"))
            .json(&body)
            .send()
            .await
            .map_err(|source| SimulateError::Unreachable { id: id.clone(), server: server.to_owned(), source })?;
        // 409: registered already, by an earlier run.
        if !(response.status().is_success() || response.status().as_u16() == 409) {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            return Err(SimulateError::Refused { id, server: server.to_owned(), status, text });
        }
    }
    Ok(())
}

/// One scale: connect, announce, brew every session, say goodbye. Returns the readings sent.
async fn scale(options: Options, id: ClientId, n: u32, run_id: u64, broker: Connection) -> Result<u64, SimulateError> {
    let status_topic = topic::device(&id, Channel::Status);
    let mut mqtt = broker.options(id.as_str());
    mqtt.set_keep_alive(Duration::from_secs(30)).set_inflight(100);
    mqtt.set_last_will(LastWill::new(&status_topic, "offline", QoS::AtLeastOnce, true));
    let (client, mut eventloop) = AsyncClient::new(mqtt, 1000);
    let target_topic = topic::device(&id, Channel::Target);
    // What the scale's recipe says to stop at, as the broker last told it.
    let (targets, target) = tokio::sync::watch::channel(None::<Target>);
    let (subscribed, heard_back) = tokio::sync::oneshot::channel::<()>();
    // The event loop runs beside the brewing; it ends once the DISCONNECT has gone out.
    let connection = tokio::spawn({
        let target_topic = target_topic.clone();
        let mut subscribed = Some(subscribed);
        async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Outgoing(Outgoing::Disconnect)) => return Ok(()),
                    Ok(Event::Incoming(Packet::Publish(p))) if p.topic == target_topic => {
                        targets.send_replace(Target::decode(&p.payload));
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        subscribed.take().map(|s| s.send(()));
                    }
                    Ok(_) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    });
    let online = format!("online;firmware={FIRMWARE}");
    let announce = client.publish(&status_topic, QoS::AtLeastOnce, true, online).await;
    let queued = |source| SimulateError::Client { id, source };
    announce.map_err(queued)?;
    client.subscribe(&target_topic, QoS::AtLeastOnce).await.map_err(queued)?;
    // A retained target follows the SUBACK; a broker that never answers only costs the wait.
    if tokio::time::timeout(Duration::from_secs(2), heard_back).await.is_ok() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let readings_topic = topic::device(&id, Channel::Readings);
    let mut sent = 0;
    'sessions: for k in 1..=options.sessions {
        let stop_at = target.borrow().as_ref().map(|t| t.target_yield);
        let shot = Extraction {
            // Stopping by weight, the pump would run on past the target.
            target_grams: stop_at.map_or(options.grams, |t| t * 1.25),
            duration_ms: u64::from(options.seconds) * 1000,
            rate_hz: options.rate,
            seed: u64::from(n) << 32 | u64::from(k),
        };
        let samples = match stop_at {
            Some(grams) => shot.stopping_at(grams),
            None => shot.samples().collect(),
        };
        let pump_stop = stop_at.and_then(|grams| shot.stop_ms(grams)).unwrap_or(shot.duration_ms);
        let session = format!("sim-{run_id}-{k}");
        let mut ticks = tokio::time::interval(Duration::from_micros(1_000_000 / u64::from(options.rate)));
        // Reading times follow the curve's own clock, so no two share a millisecond.
        let start = now_ms();
        for (t, grams) in samples {
            ticks.tick().await;
            if connection.is_finished() {
                // The connection failed: its error is the answer.
                break 'sessions;
            }
            let tstamp = start + t;
            let mut line = format!("client_id={id};session_id={session};value={grams};tstamp={tstamp}");
            if options.machine {
                for (kind, v) in shot.machine_at(t, pump_stop).iter() {
                    let _ = write!(line, ";{kind}={v}");
                }
            }
            client.publish(&readings_topic, QoS::AtLeastOnce, false, line).await.map_err(queued)?;
            sent += 1;
        }
    }
    if connection.is_finished() {
        return match connection.await {
            Ok(Err(source)) => Err(SimulateError::Broker { id, source }),
            _ => Err(SimulateError::EndedEarly { id }),
        };
    }
    let offline = client.publish(&status_topic, QoS::AtLeastOnce, true, "offline").await;
    offline.map_err(queued)?;
    client.disconnect().await.map_err(queued)?;
    match tokio::time::timeout(Duration::from_secs(30), connection).await {
        Ok(Ok(Ok(()))) => Ok(sent),
        Ok(Ok(Err(source))) => Err(SimulateError::Broker { id, source }),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(SimulateError::Unfinished { id }),
    }
}

use wages_codec::clock::now_ms;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse(args.iter().map(|s| (*s).to_owned())).map_err(|e| e.to_string())
    }

    #[test]
    fn options_have_defaults_and_bounds() {
        let o = parse(&[]).unwrap();
        assert_eq!((o.devices, o.rate, o.sessions, o.seconds, o.grams), (4, 10, 1, 30, 36.0));
        assert_eq!((o.broker.host.as_str(), o.broker.port, o.register), ("127.0.0.1", 1883, None));
        let o = parse(&["--url", "mqtts://b.local", "--devices", "3", "--register", "http://h:3000/wages/"]).unwrap();
        assert_eq!((o.broker.tls, o.broker.port, o.devices), (true, 8883, 3));
        assert_eq!(o.register.as_deref(), Some("http://h:3000/wages"));
        assert_eq!(o.device(3), "sim-03");
        assert_eq!(parse(&["--rate", "0"]).unwrap_err(), "--rate \"0\": expected a whole number from 1 to 1000");
        assert_eq!(parse(&["--devices"]).unwrap_err(), "--devices needs a value; see wages simulate --help");
        assert!(parse(&["--url", "http://x"]).unwrap_err().starts_with("--url"));
        assert!(parse(&["--prefix", "a b"]).unwrap_err().starts_with("--prefix"));
        assert!(parse(&["--colour", "red"]).unwrap_err().starts_with("unknown option"));
        assert!(!o.machine);
        let o = parse(&["--machine", "--devices", "2"]).unwrap();
        assert!(o.machine && o.devices == 2, "a flag without a value: {o:?}");
    }
}
