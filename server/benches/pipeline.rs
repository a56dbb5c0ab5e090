//! Ingestion benchmark: publishers → (the embedded broker's gate, or an external broker)
//! → pipeline → store, side by side in the same run with the broker's raw pass-through (a
//! subscriber that only counts), directly and through the same gate.
//!
//!     cargo bench -p server --bench pipeline
//!
//! Four MQTT clients publish QoS 1 messages as fast as the broker takes them, each as its
//! own registered scale, at 1 and at 10 readings per message. Reported per run: readings
//! per second (first publish to last reading stored, or counted), publish→stored (or
//! publish→received) latency p50/p99 per message, publish→PUBACK p50/p99, and whether
//! every reading arrived.
//! Stored readings are counted in the database at the end: zero loss means exactly N.
//!
//! Environment: `BENCH_MESSAGES` (messages per run, default 100000); `BENCH_BATCH_SIZE`,
//! `BENCH_BATCH_TIMEOUT_MS`, `BENCH_CONCURRENCY` (pipeline settings); `BENCH_DATABASE_URL`
//! (default: SQLite in a temporary directory, run once with the default `synchronous=full`
//! and once with `synchronous=normal`; `postgres://…` creates its own database),
//! `BENCH_MQTT_URL` (default: the embedded broker; `mqtt://host:port` for an external one).

// A benchmark reports on stdout and stops on the first broken part.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::expect_used, clippy::panic, clippy::cast_precision_loss)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use wages_codec::ClientId;
use wages_server::config::Config;
use wages_store::{NewDevice, Scope};

const PUBLISHERS: usize = 4;

/// When each message was handed to its publisher, in ns since the run started (+1; 0 = not yet).
struct Clock {
    start: Instant,
    sent: Vec<AtomicU64>,
}

impl Clock {
    fn new(messages: usize) -> Arc<Clock> {
        Arc::new(Clock { start: Instant::now(), sent: (0..messages).map(|_| AtomicU64::new(0)).collect() })
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX) + 1
    }

    /// Latency of message `m` now, in µs.
    fn latency_us(&self, m: usize) -> Option<u64> {
        let sent = self.sent.get(m)?.load(Ordering::Relaxed);
        (sent > 0).then(|| self.now().saturating_sub(sent) / 1000)
    }
}

struct Outcome {
    readings: u64,
    elapsed: Duration,
    latencies_us: Vec<u64>,
    /// Publish → PUBACK per message, µs.
    puback_us: Vec<u64>,
    stored: Option<u64>,
}

fn device(run: &str, p: usize) -> String {
    format!("bench-{run}-{p}")
}

/// Publishes `messages` messages of `per_message` readings over [`PUBLISHERS`] clients;
/// reading `i` of message `m` has `tstamp = m * per_message + i`. Returns once the broker
/// acknowledged them all, with each message's publish → PUBACK time in µs (PUBACKs come
/// in publishing order on each connection).
/// `pace`: the interval between one publisher's messages, or as fast as possible.
async fn publish_all(run: &Run<'_>, name: &str, clock: Arc<Clock>) -> Vec<u64> {
    let Run { host, port, messages, per_message, pace, root, login } = *run;
    let mut tasks = Vec::new();
    for p in 0..PUBLISHERS {
        let mut options = MqttOptions::new(format!("pub-{name}-{p}"), host, port);
        options.set_inflight(500).set_max_packet_size(1 << 20, 1 << 20);
        if let Some((user, password)) = login {
            options.set_credentials(user, password);
        }
        let (client, mut eventloop) = AsyncClient::new(options, 1000);
        let (id, clock) = (device(name, p), clock.clone());
        let topic = format!("{root}/devices/{id}/readings");
        let mine: Vec<usize> = (p..messages).step_by(PUBLISHERS).collect();
        let order = mine.clone();
        let acks_clock = clock.clone();
        let sender = tokio::spawn(async move {
            let mut ticks = pace.map(tokio::time::interval);
            for m in mine {
                if let Some(ticks) = &mut ticks {
                    ticks.tick().await;
                }
                let lines: Vec<String> = (0..per_message)
                    .map(|i| format!("client_id={id};session_id=bench;value={i};tstamp={}", m * per_message + i))
                    .collect();
                clock.sent[m].store(clock.now(), Ordering::Relaxed);
                client.publish(&topic, QoS::AtLeastOnce, false, lines.join("\n")).await.expect("publish");
            }
            client
        });
        tasks.push(tokio::spawn(async move {
            let mut pubacks = Vec::with_capacity(order.len());
            while pubacks.len() < order.len() {
                if let Event::Incoming(Packet::PubAck(_)) = eventloop.poll().await.expect("publisher connection") {
                    pubacks.push(acks_clock.latency_us(order[pubacks.len()]).unwrap_or(0));
                }
            }
            drop(sender.await);
            pubacks
        }));
    }
    let mut pubacks = Vec::new();
    for t in tasks {
        pubacks.extend(t.await.expect("publisher"));
    }
    pubacks
}

fn first_tstamp(payload: &[u8]) -> Option<usize> {
    let at = payload.windows(7).position(|w| w == b"tstamp=")? + 7;
    let digits = payload[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&payload[at..at + digits]).ok()?.parse().ok()
}

/// One benchmark run's load.
#[derive(Clone, Copy)]
struct Run<'a> {
    host: &'a str,
    port: u16,
    messages: usize,
    per_message: usize,
    pace: Option<Duration>,
    /// The topic root: `wages` for the pipeline; the pass-through uses its own, so an
    /// external broker does not queue its messages for the pipeline's persistent session.
    root: &'a str,
    /// User name and password: the embedded broker's own secret for the pass-through,
    /// a write token through Wages's gate for the pipeline.
    login: Option<(&'a str, &'a str)>,
}

/// The broker alone: one subscriber at QoS 1 that counts readings (lines).
async fn pass_through(load: Run<'_>) -> Outcome {
    let Run { host, port, messages, per_message, pace, login, .. } = load;
    let load = Run { root: "bench", ..load };
    let run = format!("raw{per_message}x{}{}", std::process::id(), pace.map_or("", |_| "p"));
    let mut options = MqttOptions::new(format!("sink-{run}"), host, port);
    options.set_max_packet_size(1 << 20, 1 << 20);
    if let Some((user, password)) = login {
        options.set_credentials(user, password);
    }
    let (client, mut eventloop) = AsyncClient::new(options, 100);
    client.subscribe("bench/devices/+/readings", QoS::AtLeastOnce).await.expect("subscribe");
    // The embedded broker starts listening on its own thread: retry for a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::SubAck(_))) => break,
            Ok(_) => {}
            Err(e) if Instant::now() < deadline => {
                drop(e);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("the broker is not there: {e}"),
        }
    }
    let clock = Clock::new(messages);
    let total = (messages * per_message) as u64;
    let sink = {
        let clock = clock.clone();
        tokio::spawn(async move {
            let (mut readings, mut latencies) = (0u64, Vec::with_capacity(messages));
            while readings < total {
                if let Event::Incoming(Packet::Publish(p)) = eventloop.poll().await.expect("sink connection") {
                    readings += p.payload.split(|&b| b == b'\n').count() as u64;
                    if let Some(lat) = first_tstamp(&p.payload).and_then(|t| clock.latency_us(t / per_message)) {
                        latencies.push(lat);
                    }
                }
            }
            (readings, latencies, clock.start.elapsed())
        })
    };
    let puback_us = publish_all(&load, &run, clock).await;
    let (readings, latencies_us, elapsed) = sink.await.expect("sink");
    let _ = client.disconnect().await;
    Outcome { readings, elapsed, latencies_us, puback_us, stored: None }
}

/// The whole pipeline, storing into `database`; `load`'s host and port are ignored
/// for the embedded broker, which the pipeline starts itself.
async fn pipeline(database: &str, mqtt_url: Option<&str>, load: Run<'_>) -> Outcome {
    let Run { messages, per_message, pace, .. } = load;
    let run = format!("wp{per_message}x{}{}", std::process::id(), pace.map_or("", |_| "p"));
    let (database, mqtt_url) = (database.to_owned(), mqtt_url.map(str::to_owned));
    let config = Config::from_lookup(move |name| match name {
        "WAGES_DATABASE_URL" => Some(database.clone()),
        "WAGES_MQTT_LISTEN" => Some("127.0.0.1:0".to_owned()),
        "WAGES_MQTT_URL" => mqtt_url.clone(),
        "WAGES_LOG" => Some("warn".to_owned()),
        // The readings are from 1970: no compaction pass may fold them away mid-run.
        "WAGES_RETENTION_RAW_DAYS" => Some("0".to_owned()),
        _ => None,
    })
    .expect("bench configuration");
    let registry = wages_server::startup::open_registry(&config).await.expect("registry");
    for p in 0..PUBLISHERS {
        let id = device(&run, p);
        registry.create(&NewDevice::parse(&id, &id).expect("device")).await.expect("register");
    }
    let ingest = wages_server::ingest::start(&config, registry.clone(), Default::default()).await.expect("ingest");
    if let Some(settings) = settings_from_env() {
        use app::pipeline::PipelineControl;
        ingest.control.reconfigure(settings).await.expect("BENCH_* settings apply");
    }
    let (host, port) = match (ingest.mqtt_listen, &config.mqtt) {
        (Some(addr), _) => (addr.ip().to_string(), addr.port()),
        (None, wages_server::config::Mqtt::External { broker, .. }) => (broker.host.clone(), broker.port),
        (None, _) => unreachable!("an embedded broker has an address"),
    };
    // Publishers come in through the gate with a write token, as `wages simulate` does.
    let token = match ingest.gate {
        Some(_) => {
            // A token acts for its person: the admin, as a server makes at its first start.
            registry.accounts().ensure_admin(None).await.expect("the admin");
            Some(registry.accounts().create_token("bench", Scope::Write, "admin").await.expect("token").1)
        }
        None => None,
    };
    let login = token.as_deref().map(|t| ("bench", t));
    let clock = Clock::new(messages);
    let total = (messages * per_message) as u64;
    // Latency: when the last reading of each message reaches the hub, right after its
    // batch is stored. Counted from the hub's stored batches (what the cluster relay
    // reads), not as a live viewer: a viewer's JSON and wake-up per reading are the live
    // bench's subject, and here they took a tenth of the machine away from ingestion.
    let stored_count = Arc::new(AtomicU64::new(0));
    let mut batches = ingest.hub.subscribe_batches();
    let watcher = {
        let (clock, stored_count) = (clock.clone(), stored_count.clone());
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                match batches.recv().await {
                    Ok(batch) => {
                        stored_count.fetch_add(batch.len() as u64, Ordering::Relaxed);
                        for r in batch.iter() {
                            let t = usize::try_from(r.tstamp.millis()).unwrap_or(usize::MAX);
                            if t % per_message == per_message - 1
                                && let Some(lat) = clock.latency_us(t / per_message)
                            {
                                latencies.push(lat);
                            }
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        panic!("the bench's counter fell {n} batches behind the hub")
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return latencies,
                }
            }
        })
    };
    let puback_us = publish_all(&Run { host: &host, port, login, ..load }, &run, clock.clone()).await;
    let deadline = Instant::now() + Duration::from_secs(300);
    while stored_count.load(Ordering::Relaxed) < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = clock.start.elapsed();
    let readings = stored_count.load(Ordering::Relaxed);
    let hub = ingest.hub.clone();
    let figures = wages_server::pipeline::Stats::figures(&ingest.control.stats, "");
    eprintln!(
        "  pipeline: {} batches, {:.1} readings per batch, {:.2} ms per batch",
        figures.batches, figures.mean_batch_size, figures.mean_batch_ms
    );
    ingest.stop().await;
    drop(hub);
    // The hub closes once the pipeline has stopped.
    let latencies_us = match tokio::time::timeout(Duration::from_secs(5), watcher).await {
        Ok(Ok(latencies)) => latencies,
        _ => Vec::new(),
    };
    let store = registry.readings();
    let mut stored = 0;
    for p in 0..PUBLISHERS {
        let id = ClientId::parse(&device(&run, p)).expect("id");
        stored += store.count(&id).await.expect("count stored readings");
    }
    registry.close().await;
    Outcome { readings, elapsed, latencies_us, puback_us, stored: Some(stored) }
}

/// `BENCH_BATCH_SIZE`, `BENCH_BATCH_TIMEOUT_MS`, `BENCH_CONCURRENCY` over the defaults.
fn settings_from_env() -> Option<app::pipeline::PipelineSettings> {
    let var = |name: &str| std::env::var(name).ok().map(|v| v.parse::<u32>().expect("a whole number"));
    let (size, timeout, concurrency) =
        (var("BENCH_BATCH_SIZE"), var("BENCH_BATCH_TIMEOUT_MS"), var("BENCH_CONCURRENCY"));
    if size.is_none() && timeout.is_none() && concurrency.is_none() {
        return None;
    }
    let d = app::pipeline::PipelineSettings::default();
    Some(app::pipeline::PipelineSettings {
        batch_size: size.unwrap_or(d.batch_size),
        batch_timeout_ms: timeout.unwrap_or(d.batch_timeout_ms),
        concurrency: concurrency.unwrap_or(d.concurrency),
    })
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn report(name: &str, per_message: usize, expected: u64, mut o: Outcome) -> f64 {
    o.latencies_us.sort_unstable();
    o.puback_us.sort_unstable();
    let rate = o.readings as f64 / o.elapsed.as_secs_f64();
    let complete = match o.stored {
        Some(n) if n == expected => format!("{n} stored = all"),
        Some(n) => format!("{n} stored of {expected}: LOSS"),
        None if o.readings == expected => format!("{} received = all", o.readings),
        None => format!("{} received of {expected}", o.readings),
    };
    println!(
        "| {name} | {per_message} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {complete} |",
        rate,
        percentile(&o.latencies_us, 0.5),
        percentile(&o.latencies_us, 0.99),
        percentile(&o.puback_us, 0.5),
        percentile(&o.puback_us, 0.99)
    );
    rate
}

async fn bench() {
    let messages: usize = std::env::var("BENCH_MESSAGES").ok().and_then(|m| m.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let mqtt_url = std::env::var("BENCH_MQTT_URL").ok();
    let external = mqtt_url.as_deref().map(|u| u.trim_start_matches("mqtt://").to_owned());
    let embedded = match &external {
        None => Some(
            wages_server::mqtt::broker::start(None, wages_server::config::DEFAULT_MQTT_BUFFER_MB, 1000)
                .expect("embedded broker"),
        ),
        Some(_) => None,
    };
    let (host, port) = match (&embedded, &external) {
        (Some(b), _) => (b.tcp.ip().to_string(), b.tcp.port()),
        (None, Some(hp)) => {
            let (h, p) = hp.rsplit_once(':').expect("BENCH_MQTT_URL is mqtt://host:port");
            (h.to_owned(), p.parse().expect("port"))
        }
        (None, None) => unreachable!(),
    };
    let sqlite = std::env::var("BENCH_DATABASE_URL").is_err();
    let database = |label: &str| match std::env::var("BENCH_DATABASE_URL") {
        Ok(url) => url,
        Err(_) => format!("sqlite://{}/bench-{label}.db", dir.path().display()),
    };
    println!(
        "{messages} messages per run, {PUBLISHERS} publishers; broker: {}; readings: {}",
        mqtt_url.as_deref().unwrap_or("embedded (rumqttd)"),
        std::env::var("BENCH_DATABASE_URL").map(|_| "BENCH_DATABASE_URL").unwrap_or("SQLite")
    );
    println!(
        "\n| path | readings/message | readings/s | p50 ms | p99 ms | PUBACK p50 ms | PUBACK p99 ms | complete |\n|---|---:|---:|---:|---:|---:|---:|---|"
    );
    let url = match &embedded {
        Some(_) => None,
        None => mqtt_url.as_deref(),
    };
    // The pass-through talks to rumqttd directly, with the secret the gate would present.
    let internal = embedded.as_ref().map(|b| (wages_server::mqtt::INTERNAL_USER, b.secret.as_str()));
    // And once more through a gate in front of it, as every outside client comes in.
    let gated = match &embedded {
        Some(broker) => {
            let registry = wages_store::Registry::connect(&database("gate")).await.expect("registry");
            registry.accounts().ensure_admin(None).await.expect("the admin");
            let (_, token) = registry.accounts().create_token("bench", Scope::Write, "admin").await.expect("token");
            // The pass-through's topics are not readings: the gate passes them on to the broker.
            let (front_door, deliveries) = wages_server::pipeline::front_door();
            std::mem::forget(deliveries);
            let gate =
                wages_server::mqtt::gate::Gate::new(broker.tcp, registry, broker.secret.clone(), front_door, 1000);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("gate port");
            let addr = listener.local_addr().expect("gate address");
            tokio::spawn(wages_server::mqtt::gate::accept(listener, gate));
            Some((addr.port(), token))
        }
        None => None,
    };
    for per_message in [1, 10] {
        let load = Run { host: &host, port, messages, per_message, pace: None, root: "wages", login: internal };
        let expected = (messages * per_message) as u64;
        let raw = report("broker pass-through", per_message, expected, pass_through(load).await);
        // What a scale's messages are compared with: the same path through the gate.
        let mut baseline = ("the pass-through", raw);
        if let Some((gate_port, token)) = &gated {
            let through = Run { port: *gate_port, login: Some(("bench", token.as_str())), ..load };
            let label = "broker pass-through, all clients through the gate";
            let gate = report(label, per_message, expected, pass_through(through).await);
            println!("| ratio to the pass-through | {per_message} | {:.2}x | | | | | |", gate / raw);
            baseline = ("the gated pass-through", gate);
        }
        let (against, base) = baseline;
        let db = database(&format!("{per_message}"));
        let full = report("pipeline → store", per_message, expected, pipeline(&db, url, load).await);
        println!("| ratio to {against} | {per_message} | {:.2}x | | | | | |", full / base);
        if sqlite {
            // The same on SQLite without a sync per commit: the operator's opt-in.
            let db = format!("{}?synchronous=normal", database(&format!("{per_message}-normal")));
            let label = "pipeline → store, synchronous=normal";
            let normal = report(label, per_message, expected, pipeline(&db, url, load).await);
            println!("| ratio to {against} | {per_message} | {:.2}x | | | | | |", normal / base);
        }
    }
    // Latency as a person sees it: a steady 1,000 messages (10,000 readings) a second for 5 s.
    let paced = Run {
        host: &host,
        port,
        messages: 5000,
        per_message: 10,
        pace: Some(Duration::from_millis(4)),
        root: "wages",
        login: internal,
    };
    report("paced 1,000 msg/s: broker pass-through", 10, 50_000, pass_through(paced).await);
    report("paced 1,000 msg/s: pipeline → store", 10, 50_000, pipeline(&database("paced"), url, paced).await);
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM")).map(str::to_owned))
        .unwrap_or_default();
    println!(
        "\npeak RSS of the whole bench process (publishers, broker, pipeline): {}",
        peak.trim_start_matches("VmHWM:").trim()
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(bench());
}
