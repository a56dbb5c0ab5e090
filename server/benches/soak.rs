//! Soak: the real `wages` binary ingesting at a steady rate for minutes, its memory
//! sampled every 10 s. Not part of CI; the figures go into docs/benchmarks.md.
//!
//!     cargo bench -p server --bench soak --features app/ssr
//!
//! Publishers (in this process) send QoS 1 messages of 10 readings through the gate of
//! the embedded broker, logged in with a write token, paced to `SOAK_RATE` readings/s
//! in total (default 138,000: half the 276,000 the pipeline bench measured at 10 readings
//! per message). Every 10 s a row: elapsed time, the server's RSS, readings published
//! (acknowledged) and stored so far. At the end, the store must hold every reading.
//! Environment: `SOAK_SECONDS` (default 600), `SOAK_RATE`.

// A benchmark reports on stdout and stops on the first broken part.
#![allow(clippy::print_stdout, clippy::expect_used, clippy::cast_precision_loss)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

const PUBLISHERS: u64 = 4;
const PER_MESSAGE: u64 = 10;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port()
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// `VmRSS` of `pid` in MiB.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
    line.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()).expect("kB") / 1024.0
}

struct Server {
    child: Child,
    web: String,
    mqtt_port: u16,
    token: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.child.kill());
        drop(self.child.wait());
    }
}

async fn start() -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let (web_port, mqtt_port) = (free_port(), free_port());
    let database = format!("sqlite://{}/wages.db", dir.path().display());
    let registry = wages_store::Registry::connect(&database).await.expect("database");
    let (_, token) = registry.accounts().create_token("soak", wages_store::Scope::Write, "admin").await.expect("token");
    for p in 0..PUBLISHERS {
        let id = format!("soak-{p}");
        registry.create(&wages_store::NewDevice::parse(&id, &id).expect("device")).await.expect("register");
    }
    registry.close().await;
    let child = Command::new(env!("CARGO_BIN_EXE_wages"))
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{web_port}"))
        .env("WAGES_DATABASE_URL", database)
        .env("WAGES_MQTT_LISTEN", format!("127.0.0.1:{mqtt_port}"))
        .env("WAGES_LOG", "warn")
        .env("WAGES_ADMIN_PASSWORD", "soak admin password")
        .stdout(Stdio::null())
        .spawn()
        .expect("the wages binary starts");
    let web = format!("127.0.0.1:{web_port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !reqwest::get(format!("http://{web}/readyz")).await.is_ok_and(|r| r.status().is_success()) {
        assert!(Instant::now() < deadline, "wages did not get ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Server { child, web, mqtt_port, token, _dir: dir }
}

/// Readings stored so far, from the pipeline's figures.
async fn stored(server: &Server) -> u64 {
    let figures = wages_testkit::pipeline_figures(&format!("http://{}", server.web), &server.token).await;
    figures["stored"].as_u64().expect("stored count")
}

/// One publisher: `rate` readings/s until `until`, counting acknowledged readings.
async fn publish(server: &Server, p: u64, rate: u64, until: Instant, acked: Arc<AtomicU64>) {
    let mut options = MqttOptions::new(format!("soak-pub-{p}"), "127.0.0.1", server.mqtt_port);
    options.set_credentials("soak", &server.token).set_inflight(500).set_keep_alive(Duration::from_secs(30));
    let (client, mut eventloop) = AsyncClient::new(options, 1000);
    let counter = acked.clone();
    let driver = tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => {
                    counter.fetch_add(PER_MESSAGE, Ordering::Relaxed);
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    let id = format!("soak-{p}");
    let topic = format!("wages/devices/{id}/readings");
    let every = Duration::from_secs_f64(PER_MESSAGE as f64 / rate as f64);
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut t = 0u64;
    while Instant::now() < until {
        ticks.tick().await;
        // A 36 g extraction every 36,000 readings, so weights stay inside their bounds.
        let lines: Vec<String> = (0..PER_MESSAGE)
            .map(|i| {
                format!(
                    "client_id={id};session_id=soak;value={:.3};tstamp={}",
                    ((t + i) % 36_000) as f64 / 1000.0,
                    t + i
                )
            })
            .collect();
        t += PER_MESSAGE;
        client.publish(&topic, QoS::AtLeastOnce, false, lines.join("\n")).await.expect("publish");
    }
    // Let the last acknowledgements in.
    tokio::time::sleep(Duration::from_secs(5)).await;
    driver.abort();
}

async fn soak() {
    let seconds = env_u64("SOAK_SECONDS", 600);
    let rate = env_u64("SOAK_RATE", 138_000);
    let server = start().await;
    let pid = server.child.id();
    println!("soak: {seconds} s at {rate} readings/s ({PER_MESSAGE}/message, {PUBLISHERS} publishers), SQLite");
    println!("\n| elapsed s | server RSS MiB | readings acknowledged | readings stored |\n|---:|---:|---:|---:|");
    println!("| 0 | {:.1} | 0 | 0 |", rss_mib(pid));
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let acked = Arc::new(AtomicU64::new(0));
    let server = Arc::new(server);
    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|p| {
            let (server, acked) = (server.clone(), acked.clone());
            tokio::spawn(async move { publish(&server, p, rate / PUBLISHERS, until, acked).await })
        })
        .collect();
    let mut samples = tokio::time::interval(Duration::from_secs(10));
    samples.tick().await;
    while Instant::now() < until {
        samples.tick().await;
        let stored = stored(&server).await;
        println!(
            "| {:.0} | {:.1} | {} | {stored} |",
            started.elapsed().as_secs_f64(),
            rss_mib(pid),
            acked.load(Ordering::Relaxed)
        );
    }
    for publisher in publishers {
        publisher.await.expect("publisher");
    }
    let acknowledged = acked.load(Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut stored_now = stored(&server).await;
    while stored_now < acknowledged && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        stored_now = stored(&server).await;
    }
    println!(
        "\nend: {acknowledged} readings acknowledged, {stored_now} stored ({}), server RSS {:.1} MiB, {:.0} readings/s acknowledged",
        if stored_now == acknowledged { "all" } else { "MISSING" },
        rss_mib(pid),
        acknowledged as f64 / seconds as f64
    );
}

fn main() {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime").block_on(soak());
}
