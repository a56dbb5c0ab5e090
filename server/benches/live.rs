//! Live-stream benchmark: publish → WebSocket viewer latency, and fan-out to many
//! viewers, against the real `wages` binary (cargo builds it for the bench), so the RSS
//! reported is the server's own and not the viewers'.
//!
//!     cargo bench -p server --bench live --features app/ssr
//!
//! 1. Latency at 1,000 readings/s: one scale publishes one reading per QoS 1 message
//!    every millisecond; one viewer follows `{base}/api/devices/{id}/live`. Side by side,
//!    in the same run, the baseline: a plain MQTT subscriber on the same broker, which is
//!    what a dashboard reading the broker directly would see (no storage, no check).
//! 2. Fan-out: 1,000 and 10,000 viewers follow one scale brewing at 10 readings/s (a
//!    real scale's rate). Latency over every frame every viewer got, frames missed, and
//!    the server's RSS with the viewers connected, and its peak.
//! 3. A fleet: 1,000 scales brewing at 10 readings/s, each over its own MQTT connection,
//!    each followed by a viewer of its own. The same figures.
//!
//! Latency is publish call → frame parsed by the viewer, over every reading. Publishers
//! and viewers run in this process, on the same 2 cores as the server: their work is in
//! the figures. Environment: `BENCH_SECONDS` (per run, default 10), `BENCH_VIEWERS`
//! (comma-separated fan-outs, default `1000,10000`), `BENCH_FLEET` (comma-separated
//! fleet sizes, default `1000`; empty for none).

// A benchmark reports on stdout and stops on the first broken part.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::expect_used, clippy::panic, clippy::cast_precision_loss)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// When each reading was handed to the publisher, in ns since the run started (+1; 0 = not yet).
struct Clock {
    start: Instant,
    sent: Vec<AtomicU64>,
    /// The first reading's `tstamp` and the step between readings, in ms.
    t0: u64,
    step: u64,
}

impl Clock {
    fn new(readings: usize, step: u64) -> Arc<Clock> {
        let t0 = wages_codec::clock::now_ms();
        Arc::new(Clock { start: Instant::now(), sent: (0..readings).map(|_| AtomicU64::new(0)).collect(), t0, step })
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX) + 1
    }

    /// µs since reading `tstamp` was published, if it was.
    fn latency_us(&self, tstamp: u64) -> Option<u64> {
        let i = usize::try_from(tstamp.checked_sub(self.t0)? / self.step).ok()?;
        let sent = self.sent.get(i)?.load(Ordering::Relaxed);
        (sent > 0).then(|| self.now().saturating_sub(sent) / 1000)
    }
}

/// The `wages` binary on its own ports and SQLite file, stopped on drop.
struct Server {
    child: Child,
    web: String,
    /// The admin's session cookie (`wages_session=…`): the API and live streams need a login.
    cookie: String,
    mqtt_port: u16,
    /// A write token: the MQTT publisher and the baseline subscriber log in with it.
    token: String,
    _dir: tempfile::TempDir,
}

/// The admin's password on the benchmarked server.
const ADMIN_PASSWORD: &str = "bench admin password";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port()
}

impl Server {
    async fn start() -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let (web_port, mqtt_port) = (free_port(), free_port());
        let database = format!("sqlite://{}/wages.db", dir.path().display());
        // The token goes into the database before the server starts on it.
        let registry = wages_store::Registry::connect(&database).await.expect("database");
        let (_, token) =
            registry.accounts().create_token("bench", wages_store::Scope::Write, "admin").await.expect("a token");
        registry.close().await;
        let child = Command::new(env!("CARGO_BIN_EXE_wages"))
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{web_port}"))
            .env("WAGES_DATABASE_URL", database)
            .env("WAGES_MQTT_LISTEN", format!("127.0.0.1:{mqtt_port}"))
            .env("WAGES_LOG", "warn")
            .env("WAGES_ADMIN_PASSWORD", ADMIN_PASSWORD)
            // Every viewer here is the same logged-in client.
            .env("WAGES_LIVE_PER_CLIENT", "100000")
            .stdout(Stdio::null())
            .spawn()
            .expect("the wages binary starts");
        let web = format!("127.0.0.1:{web_port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !http.get(format!("http://{web}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            assert!(Instant::now() < deadline, "wages did not get ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let no_redirects =
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        let login = no_redirects
            .post(format!("http://{web}/login"))
            .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
            .send()
            .await
            .expect("login");
        let cookie = login.headers().get("set-cookie").and_then(|v| v.to_str().ok()).expect("a session cookie");
        let cookie = cookie.split(';').next().unwrap_or_default().to_owned();
        Server { child, web, cookie, mqtt_port, token, _dir: dir }
    }

    async fn register(&self, id: &str) {
        let created = reqwest::Client::new()
            .post(format!("http://{}/api/devices", self.web))
            .header("cookie", &self.cookie)
            .json(&serde_json::json!({"client_id": id, "name": id}))
            .send()
            .await
            .expect("register");
        assert_eq!(created.status().as_u16(), 201);
    }

    /// CPU time the server has used so far (user + system), in seconds.
    fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).expect("/proc stat");
        // Fields after the command name (which is in parentheses): utime and stime are the 12th and 13th.
        let fields: Vec<&str> = stat.rsplit_once(')').expect("stat").1.split_whitespace().collect();
        let ticks: f64 = fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
        ticks / 100.0
    }

    /// `VmRSS` and `VmHWM` (peak) in MiB.
    fn rss_mib(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("/proc status");
        let kib = |key: &str| {
            let line = status.lines().find(|l| l.starts_with(key)).expect("field");
            line.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()).expect("kB")
        };
        (kib("VmRSS:") / 1024.0, kib("VmHWM:") / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.child.kill());
        drop(self.child.wait());
    }
}

fn mqtt(name: &str, port: u16, token: &str) -> (AsyncClient, rumqttc::EventLoop) {
    let mut options = MqttOptions::new(name, "127.0.0.1", port);
    options.set_inflight(1000).set_keep_alive(Duration::from_secs(30));
    options.set_credentials("bench", token);
    AsyncClient::new(options, 10_000)
}

/// Publishes `clock.sent.len()` readings of `id`, one per message, one every `every`.
async fn publish(server: &Server, id: &str, session: &str, clock: Arc<Clock>, every: Duration) {
    let connected = publisher((server.mqtt_port, &server.token), session).await;
    publish_on(connected, id, session, clock, every).await;
}

/// An MQTT client logged in with `token`, once the broker has answered its CONNECT (so a
/// first reading's latency is not the connection's), and the task driving it.
async fn publisher((port, token): (u16, &str), name: &str) -> (AsyncClient, tokio::task::JoinHandle<()>) {
    let (client, mut eventloop) = mqtt(&format!("bench-pub-{name}"), port, token);
    loop {
        match eventloop.poll().await.expect("the publisher connects") {
            Event::Incoming(Packet::ConnAck(_)) => break,
            _ => continue,
        }
    }
    (client, tokio::spawn(async move { while eventloop.poll().await.is_ok() {} }))
}

/// [`publish`] on a connected publisher.
async fn publish_on(
    (client, driver): (AsyncClient, tokio::task::JoinHandle<()>),
    id: &str,
    session: &str,
    clock: Arc<Clock>,
    every: Duration,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for i in 0..clock.sent.len() {
        ticks.tick().await;
        let t = clock.t0 + i as u64 * clock.step;
        let payload = format!("client_id={id};session_id={session};value={:.1};tstamp={t}", i as f64 / 100.0);
        clock.sent[i].store(clock.now(), Ordering::Relaxed);
        client
            .publish(format!("wages/devices/{id}/readings"), QoS::AtLeastOnce, false, payload)
            .await
            .expect("publish");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    drop(client.disconnect().await);
    driver.abort();
}

/// Latencies of every reading an MQTT subscriber of `id`'s topic gets, until `expected` or `within`.
async fn mqtt_viewer(
    (port, token): (u16, String),
    id: &str,
    clock: Arc<Clock>,
    ready: Arc<AtomicUsize>,
    expected: usize,
) -> Vec<u64> {
    let (client, mut eventloop) = mqtt(&format!("bench-sub-{id}"), port, &token);
    client.subscribe(format!("wages/devices/{id}/readings"), QoS::AtLeastOnce).await.expect("subscribe");
    let mut latencies = Vec::with_capacity(expected);
    while latencies.len() < expected {
        match tokio::time::timeout(Duration::from_secs(5), eventloop.poll()).await {
            Ok(Ok(Event::Incoming(Packet::SubAck(_)))) => {
                ready.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) => {
                let text = std::str::from_utf8(&p.payload).expect("UTF-8");
                let t = text.rsplit("tstamp=").next().and_then(|t| t.parse().ok()).expect("tstamp");
                latencies.extend(clock.latency_us(t));
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("MQTT viewer: {e}"),
            Err(_) => break,
        }
    }
    latencies
}

/// Latencies of every frame one WebSocket viewer gets, until `expected` or 5 s of silence.
async fn ws_viewer(
    (url, cookie): (String, String),
    clock: Arc<Clock>,
    ready: Arc<AtomicUsize>,
    expected: usize,
) -> Vec<u64> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let mut request = url.into_client_request().expect("WebSocket URL");
    request.headers_mut().insert("cookie", cookie.parse().expect("header value"));
    let (mut socket, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(config), false).await.expect("WebSocket");
    ready.fetch_add(1, Ordering::Relaxed);
    let mut latencies = Vec::with_capacity(expected);
    while latencies.len() < expected {
        // The first frame waits for every other viewer to connect; after it, 5 s of silence ends the run.
        let silence = if latencies.is_empty() { Duration::from_secs(180) } else { Duration::from_secs(5) };
        match tokio::time::timeout(silence, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                latencies.extend(tstamp(&text).and_then(|t| clock.latency_us(t)));
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(e))) => panic!("viewer: {e}"),
            Ok(None) | Err(_) => break,
        }
    }
    latencies
}

/// Viewers connecting at once, at most: a few hundred, as a crowd of tablets would.
const CONNECTING: usize = 200;

/// A [`ws_viewer`] in the background, connecting once `connecting` lets it.
fn spawn_viewer(
    url: (String, String),
    clock: Arc<Clock>,
    ready: Arc<AtomicUsize>,
    connecting: &Arc<Semaphore>,
    expected: usize,
) -> tokio::task::JoinHandle<Vec<u64>> {
    let connecting = connecting.clone();
    tokio::spawn(async move {
        let permit = connecting.acquire_owned().await.expect("semaphore");
        let viewer = ws_viewer(url, clock, ready, expected);
        drop(permit);
        viewer.await
    })
}

/// The `tstamp` of a frame, `{"client_id":…,"tstamp":N}`: read directly, so that 10,000
/// viewers in this process cost the server's 2 cores as little as they can.
fn tstamp(frame: &str) -> Option<u64> {
    let digits = frame.split_once("\"tstamp\":")?.1;
    digits[..digits.find(|c: char| !c.is_ascii_digit())?].parse().ok()
}

fn percentile_ms(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
}

fn row(name: &str, viewers: usize, expected: usize, mut latencies: Vec<u64>, server: Option<(f64, f64, f64)>) {
    latencies.sort_unstable();
    let missed = expected.saturating_sub(latencies.len());
    let server = server
        .map_or_else(|| " | | ".to_owned(), |(cpu, now, peak)| format!("{:.0} % | {now:.0} | {peak:.0}", cpu * 100.0));
    println!(
        "| {name} | {viewers} | {} | {missed} | {:.1} | {:.1} | {:.1} | {server} |",
        latencies.len(),
        percentile_ms(&latencies, 0.5),
        percentile_ms(&latencies, 0.99),
        latencies.last().map_or(f64::NAN, |&m| m as f64 / 1000.0),
    );
}

async fn wait_for(ready: &AtomicUsize, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while ready.load(Ordering::Relaxed) < n {
        assert!(Instant::now() < deadline, "only {} of {n} viewers connected", ready.load(Ordering::Relaxed));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One scale at 1,000 readings/s: a WebSocket viewer of Wages next to a plain MQTT subscriber.
async fn latency(server: &Server, seconds: u64) {
    let id = "bench-latency";
    server.register(id).await;
    let readings = usize::try_from(seconds * 1000).expect("readings");
    let clock = Clock::new(readings, 1);
    let ready = Arc::new(AtomicUsize::new(0));
    let url = (format!("ws://{}/api/devices/{id}/live", server.web), server.cookie.clone());
    let ws = tokio::spawn(ws_viewer(url, clock.clone(), ready.clone(), readings));
    let sub =
        tokio::spawn(mqtt_viewer((server.mqtt_port, server.token.clone()), id, clock.clone(), ready.clone(), readings));
    wait_for(&ready, 2).await;
    let (cpu, started) = (server.cpu_seconds(), Instant::now());
    publish(server, id, "latency", clock, Duration::from_millis(1)).await;
    let cpu = (server.cpu_seconds() - cpu) / started.elapsed().as_secs_f64();
    let (rss, peak) = server.rss_mib();
    row("MQTT subscriber (baseline)", 1, readings, sub.await.expect("subscriber"), None);
    row("Wages live WebSocket", 1, readings, ws.await.expect("viewer"), Some((cpu, rss, peak)));
}

/// `viewers` WebSocket viewers of one scale brewing at 10 readings/s.
async fn fan_out(server: &Server, viewers: usize, seconds: u64) {
    let id = format!("bench-fan-{viewers}");
    server.register(&id).await;
    let readings = usize::try_from(seconds * 10).expect("readings");
    let clock = Clock::new(readings, 100);
    let ready = Arc::new(AtomicUsize::new(0));
    let url = (format!("ws://{}/api/devices/{id}/live", server.web), server.cookie.clone());
    let connecting = Arc::new(Semaphore::new(CONNECTING));
    let tasks: Vec<_> =
        (0..viewers).map(|_| spawn_viewer(url.clone(), clock.clone(), ready.clone(), &connecting, readings)).collect();
    wait_for(&ready, viewers).await;
    let (connected, _) = server.rss_mib();
    let (cpu, started) = (server.cpu_seconds(), Instant::now());
    publish(server, &id, &format!("fan-{viewers}"), clock, Duration::from_millis(100)).await;
    let cpu = (server.cpu_seconds() - cpu) / started.elapsed().as_secs_f64();
    let mut latencies = Vec::with_capacity(viewers * readings);
    for task in tasks {
        latencies.extend(task.await.expect("viewer"));
    }
    let (_, peak) = server.rss_mib();
    row("Wages live WebSocket", viewers, viewers * readings, latencies, Some((cpu, connected, peak)));
}

/// A fleet: `scales` scales brewing at 10 readings/s, each over its own MQTT connection,
/// their phases spread over the 100 ms, and each followed by a WebSocket viewer of its
/// own, as a cafe chain's tablets would each follow their bar's scale.
async fn fleet(server: &Server, scales: usize, seconds: u64) {
    let readings = usize::try_from(seconds * 10).expect("readings");
    let ids: Vec<String> = (0..scales).map(|i| format!("bench-fleet-{i}")).collect();
    for id in &ids {
        server.register(id).await;
    }
    let clocks: Vec<Arc<Clock>> = ids.iter().map(|_| Clock::new(readings, 100)).collect();
    let ready = Arc::new(AtomicUsize::new(0));
    let connecting = Arc::new(Semaphore::new(CONNECTING));
    let viewers: Vec<_> = ids
        .iter()
        .zip(&clocks)
        .map(|(id, clock)| {
            let url = (format!("ws://{}/api/devices/{id}/live", server.web), server.cookie.clone());
            spawn_viewer(url, clock.clone(), ready.clone(), &connecting, readings)
        })
        .collect();
    wait_for(&ready, scales).await;
    let (connected, _) = server.rss_mib();
    let (cpu, started) = (server.cpu_seconds(), Instant::now());
    // Every scale connects first; then they brew, their phases spread over the 100 ms.
    let all_connected = Arc::new(tokio::sync::Barrier::new(scales));
    let publishers: Vec<_> = ids
        .iter()
        .zip(&clocks)
        .enumerate()
        .map(|(i, (id, clock))| {
            let (id, clock, token, port) = (id.clone(), clock.clone(), server.token.clone(), server.mqtt_port);
            let (phase, all_connected) =
                (Duration::from_micros(100_000 * i as u64 / scales as u64), all_connected.clone());
            tokio::spawn(async move {
                let session = format!("fleet-{id}");
                let connected = publisher((port, &token), &session).await;
                all_connected.wait().await;
                tokio::time::sleep(phase).await;
                publish_on(connected, &id, &session, clock, Duration::from_millis(100)).await;
            })
        })
        .collect();
    for publisher in publishers {
        publisher.await.expect("publisher");
    }
    let cpu = (server.cpu_seconds() - cpu) / started.elapsed().as_secs_f64();
    let mut latencies = Vec::with_capacity(scales * readings);
    for viewer in viewers {
        latencies.extend(viewer.await.expect("viewer"));
    }
    let (_, peak) = server.rss_mib();
    row("Wages live WebSocket, a viewer per scale", scales, scales * readings, latencies, Some((cpu, connected, peak)));
}

async fn bench() {
    let seconds: u64 = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let fan_outs: Vec<usize> = std::env::var("BENCH_VIEWERS")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .map(|v| v.trim().parse().expect("BENCH_VIEWERS: whole numbers"))
        .collect();
    let fleets: Vec<usize> = std::env::var("BENCH_FLEET")
        .unwrap_or_else(|_| "1000".into())
        .split(',')
        .filter(|v| !v.trim().is_empty())
        .map(|v| v.trim().parse().expect("BENCH_FLEET: whole numbers"))
        .collect();
    let server = Server::start().await;
    let (idle, _) = server.rss_mib();
    println!("wages (release, embedded broker, SQLite) idle RSS: {idle:.0} MiB; {seconds} s per run\n");
    println!("| path | viewers | frames | missed | p50 ms | p99 ms | max ms | server CPU | RSS MiB | peak RSS MiB |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    latency(&server, seconds).await;
    for viewers in fan_outs {
        fan_out(&server, viewers, seconds).await;
    }
    for scales in fleets {
        fleet(&server, scales, seconds).await;
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(bench());
}
