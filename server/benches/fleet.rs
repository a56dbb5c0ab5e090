//! Fleet: thousands of scales, each its own MQTT connection publishing one reading every
//! 100 ms at QoS 1, as the scales of a cafe chain do. Against the real `wages` binary
//! (embedded broker, SQLite with full sync) and, in the same run, the same generator
//! against Mosquitto storing nothing: the anchor, what this machine does with a broker
//! that does nothing else. Not part of CI; the figures go into docs/benchmarks.md.
//!
//!     cargo bench -p server --bench fleet --features app/ssr
//!
//! Each scale is registered with its own MQTT password first, connects as itself (MQTT
//! 3.1.1, keep-alive 30 s, at most 256 connecting at once) and, once every scale is
//! connected, publishes for `FLEET_SECONDS`, the scales' phases spread over the interval.
//! Reported per run: the time to connect them all; messages acknowledged of those sent;
//! publish → PUBACK p50, p99 and max (a message never acknowledged counts as the whole
//! run); readings stored, counted in the database after the server has stopped ("once"
//! when every scale has exactly the readings it sent); the server's peak RSS, and its
//! CPU and the generator's in cores over the publishing.
//!
//! Environment: `FLEET_SCALES` (comma-separated, default `1000,2000,5000,10000`),
//! `FLEET_SECONDS` (20), `FLEET_HZ` (10), `FLEET_TARGETS` (`mosquitto,wages`; `before`
//! runs the binary at `FLEET_BEFORE_BIN`, another build of `wages`, in the same run),
//! `FLEET_IDLE=true` (the scales connect and only keep alive: memory of idle
//! connections), `FLEET_SERVER_LOG` (a file for the server's log, at `WAGES_LOG`, warn by
//! default), `FLEET_DATABASE_URL` (`postgres://…` to record PostgreSQL; the scales'
//! ids are the run's own, so runs share the database; default: SQLite in a temporary
//! directory).

// A benchmark reports on stdout and stops on the first broken part.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::expect_used, clippy::cast_precision_loss)]

use std::collections::VecDeque;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use rumqttc::mqttbytes::v4::{ConnAck, Connect, ConnectReturnCode, Login, Publish};
use rumqttc::mqttbytes::{self, PacketType, QoS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::{Instant, MissedTickBehavior};
use wages_codec::ClientId;
use wages_store::{NewDevice, Registry};

/// Scales connecting at once, at most.
const CONNECTING: usize = 256;
/// How long after the last publish a scale waits for its PUBACKs.
const GRACE: Duration = Duration::from_secs(30);

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port()
}

/// What one run asks of every scale.
#[derive(Clone, Copy)]
struct Plan {
    addr: SocketAddr,
    messages: u64,
    every: Duration,
    idle_for: Option<Duration>,
}

/// What one scale saw.
#[derive(Default)]
struct Tally {
    sent: u64,
    acked: u64,
    puback_us: Vec<u32>,
    failed: Option<String>,
}

/// Connects as `id` (with its password, if any) and waits for the CONNACK.
async fn connect(addr: SocketAddr, id: &str, password: Option<&str>) -> Result<(TcpStream, BytesMut), String> {
    let mut tcp = TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let mut connect = Connect::new(id);
    connect.keep_alive = 30;
    connect.login = password.map(|p| Login::new(id, p));
    let mut out = BytesMut::new();
    connect.write(&mut out).map_err(|e| format!("{e:?}"))?;
    tcp.write_all(&out).await.map_err(|e| format!("CONNECT: {e}"))?;
    let mut buf = BytesMut::with_capacity(256);
    loop {
        if let Ok(header) = mqttbytes::check(buf.iter(), 1 << 16) {
            let frame = buf.split_to(header.frame_length()).freeze();
            let ack = ConnAck::read(header, frame).map_err(|e| format!("CONNACK: {e:?}"))?;
            return match ack.code {
                ConnectReturnCode::Success => Ok((tcp, buf)),
                code => Err(format!("refused: {code:?}")),
            };
        }
        if tcp.read_buf(&mut buf).await.map_err(|e| format!("CONNACK: {e}"))? == 0 {
            return Err("closed before CONNACK".into());
        }
    }
}

/// Publishes `plan.messages` readings from `start + phase` on, one every `plan.every`,
/// and times each PUBACK; or, idle, only keeps the connection alive.
async fn scale(tcp: TcpStream, mut buf: BytesMut, id: String, plan: Plan, start: Instant, phase: Duration) -> Tally {
    let (mut from, mut to) = tcp.into_split();
    let mut tally = Tally { puback_us: Vec::with_capacity(plan.messages as usize), ..Tally::default() };
    let mut ticks = tokio::time::interval_at(start + phase, plan.every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut pings = tokio::time::interval_at(start + Duration::from_secs(15), Duration::from_secs(15));
    let end = match plan.idle_for {
        Some(idle) => start + idle,
        None => start + plan.every * u32::try_from(plan.messages).unwrap_or(u32::MAX) + GRACE,
    };
    let topic = format!("wages/devices/{id}/readings");
    let origin_ms = wall_ms();
    let mut outstanding: VecDeque<(u16, Instant)> = VecDeque::new();
    let mut out = BytesMut::new();
    loop {
        tokio::select! {
            _ = ticks.tick(), if plan.idle_for.is_none() && tally.sent < plan.messages => {
                let m = tally.sent;
                let payload = format!(
                    "client_id={id};session_id=fleet;value={:.1};tstamp={}",
                    (m % 400) as f64 / 10.0,
                    origin_ms + m * 100
                );
                let mut publish = Publish::new(topic.as_str(), QoS::AtLeastOnce, payload);
                publish.pkid = u16::try_from(m % 65_535 + 1).unwrap_or(1);
                let _ = publish.write(&mut out);
                outstanding.push_back((publish.pkid, Instant::now()));
                tally.sent += 1;
                if let Err(e) = to.write_all(&out.split()).await {
                    tally.failed = Some(format!("publish: {e}"));
                    break;
                }
            }
            _ = pings.tick() => {
                if to.write_all(&[0xC0, 0x00]).await.is_err() {
                    tally.failed = Some("ping: closed".into());
                    break;
                }
            }
            read = from.read_buf(&mut buf) => {
                if !matches!(read, Ok(n) if n > 0) {
                    tally.failed = Some(format!("closed by the server after {} of {} PUBACKs", tally.acked, tally.sent));
                    break;
                }
                while let Ok(header) = mqttbytes::check(buf.iter(), 1 << 16) {
                    let frame = buf.split_to(header.frame_length());
                    if matches!(header.packet_type(), Ok(PacketType::PubAck)) && frame.len() >= 4 {
                        let pkid = u16::from_be_bytes([frame[2], frame[3]]);
                        if let Some(at) = outstanding.iter().position(|(p, _)| *p == pkid) {
                            let (_, sent) = outstanding.remove(at).expect("present");
                            tally.acked += 1;
                            tally.puback_us.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                        }
                    }
                }
            }
            () = tokio::time::sleep_until(end) => break,
        }
        if plan.idle_for.is_none() && tally.sent == plan.messages && outstanding.is_empty() {
            break;
        }
    }
    let _ = to.write_all(&[0xE0, 0x00]).await;
    tally
}

fn wall_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock after 1970");
    u64::try_from(since.as_millis()).expect("millis fit")
}

/// `VmRSS` of `pid` in MiB.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap_or("VmRSS: 0 kB");
    line.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / 1024.0
}

/// CPU time of `pid` so far (user and system), in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command's closing parenthesis; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// The broker under test, and how a scale logs in there.
struct Target {
    name: &'static str,
    child: Child,
    addr: SocketAddr,
    /// Each scale's password, by its index (Wages); none for Mosquitto.
    passwords: Vec<String>,
    /// Wages's web address and a read token there, for the pipeline's figures.
    web: Option<(String, String)>,
    database: Option<String>,
    _dir: tempfile::TempDir,
}

impl Drop for Target {
    fn drop(&mut self) {
        drop(self.child.kill());
        drop(self.child.wait());
    }
}

fn scale_id(run: &str, i: usize) -> String {
    format!("fleet-{run}-{i}")
}

async fn wait_for_port(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {addr}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn mosquitto() -> Target {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let conf = dir.path().join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\nmax_connections -1\n"
        ),
    )
    .expect("conf");
    let child = Command::new("mosquitto")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto starts (scripts/setup.sh --test installs it)");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    wait_for_port(addr).await;
    Target { name: "Mosquitto (no storage)", child, addr, passwords: Vec::new(), web: None, database: None, _dir: dir }
}

/// Wages at `binary` (this build's, or `FLEET_BEFORE_BIN` for a build to compare with).
async fn wages(run: &str, scales: usize, binary: &str, name: &'static str) -> Target {
    let dir = tempfile::tempdir().expect("temp dir");
    let database =
        std::env::var("FLEET_DATABASE_URL").unwrap_or_else(|_| format!("sqlite://{}/wages.db", dir.path().display()));
    // Registering thousands of scales skips the sync per commit; the server runs with full sync.
    let setup_url = match database.starts_with("sqlite:") {
        true => format!("{database}?synchronous=normal"),
        false => database.clone(),
    };
    let registry = Registry::connect(&setup_url).await.expect("database");
    registry.accounts().ensure_admin(None).await.expect("the admin");
    let (_, token) = registry.accounts().create_token("fleet", wages_store::Scope::Read, "admin").await.expect("token");
    let mut passwords = Vec::with_capacity(scales);
    for i in 0..scales {
        let id = scale_id(run, i);
        registry.create(&NewDevice::parse(&id, &id).expect("device")).await.expect("register");
        passwords.push(registry.credentials().issue(&ClientId::parse(&id).expect("id")).await.expect("password"));
    }
    registry.close().await;
    let (web_port, mqtt_port) = (free_port(), free_port());
    let child = Command::new(binary)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{web_port}"))
        .env("WAGES_DATABASE_URL", &database)
        .env("WAGES_MQTT_LISTEN", format!("127.0.0.1:{mqtt_port}"))
        .env("WAGES_MQTT_MAX_CONNECTIONS", (scales + 100).to_string())
        .env("WAGES_LOG", env_or("WAGES_LOG", "warn"))
        .env("WAGES_ADMIN_PASSWORD", "fleet admin password")
        .stdout(match std::env::var_os("FLEET_SERVER_LOG") {
            Some(path) => Stdio::from(std::fs::File::create(path).expect("FLEET_SERVER_LOG")),
            None => Stdio::null(),
        })
        .spawn()
        .expect("the wages binary starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let ready = format!("http://127.0.0.1:{web_port}/readyz");
    while !reqwest::get(&ready).await.is_ok_and(|r| r.status().is_success()) {
        assert!(Instant::now() < deadline, "wages did not get ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let addr = format!("127.0.0.1:{mqtt_port}").parse().expect("addr");
    let web = Some((format!("http://127.0.0.1:{web_port}"), token));
    Target { name, child, addr, passwords, web, database: Some(database), _dir: dir }
}

/// Figures of one run, for the report.
struct Outcome {
    connect_s: f64,
    sent: u64,
    acked: u64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    stored: Option<(u64, usize)>,
    rss_mib: f64,
    server_cores: f64,
    generator_cores: f64,
    failures: usize,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[at.min(sorted.len() - 1)]) / 1000.0
}

async fn drive(target: &Target, run: &str, scales: usize, plan: Plan) -> Outcome {
    let pid = target.child.id();
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(CONNECTING));
    let mut connecting = Vec::with_capacity(scales);
    for i in 0..scales {
        let (gate, id) = (gate.clone(), scale_id(run, i));
        let password = target.passwords.get(i).cloned();
        connecting.push(tokio::spawn(async move {
            let _turn = gate.acquire_owned().await.expect("semaphore");
            connect(plan.addr, &id, password.as_deref()).await.map(|c| (id, c))
        }));
    }
    let mut connected = Vec::with_capacity(scales);
    let mut failures = 0;
    for c in connecting {
        match c.await.expect("connect task") {
            Ok(c) => connected.push(c),
            Err(e) => {
                if failures < 3 {
                    eprintln!("  a scale could not connect: {e}");
                }
                failures += 1;
            }
        }
    }
    let connect_s = started.elapsed().as_secs_f64();
    let start = Instant::now() + Duration::from_millis(500);
    let count = connected.len().max(1) as u32;
    let tasks: Vec<_> = connected
        .into_iter()
        .enumerate()
        .map(|(n, (id, (tcp, buf)))| {
            let phase = plan.every * u32::try_from(n).unwrap_or(0) / count;
            tokio::spawn(scale(tcp, buf, id, plan, start, phase))
        })
        .collect();
    let (cpu0, own0) = (cpu_seconds(pid), cpu_seconds(std::process::id()));
    let peak_kib = Arc::new(AtomicU64::new(0));
    let sampler = {
        let peak_kib = peak_kib.clone();
        tokio::spawn(async move {
            loop {
                peak_kib.fetch_max((rss_mib(pid) * 1024.0) as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };
    let mut all = Vec::new();
    let (mut sent, mut acked) = (0, 0);
    let mut tallies = Vec::with_capacity(tasks.len());
    for t in tasks {
        tallies.push(t.await.expect("scale task"));
    }
    let busy = start.elapsed().as_secs_f64().max(0.001);
    let server_cores = (cpu_seconds(pid) - cpu0) / busy;
    let generator_cores = (cpu_seconds(std::process::id()) - own0) / busy;
    sampler.abort();
    let peak = rss_mib(pid).max(peak_kib.load(Ordering::Relaxed) as f64 / 1024.0);
    for (n, tally) in tallies.into_iter().enumerate() {
        if let Some(why) = &tally.failed {
            if failures < 3 {
                eprintln!("  scale {n}: {why}");
            }
            failures += 1;
        }
        sent += tally.sent;
        acked += tally.acked;
        all.extend(tally.puback_us);
        // A message never acknowledged waited the whole run.
        let unacked = tally.sent - tally.acked;
        all.extend(std::iter::repeat_n(u32::MAX, unacked as usize));
    }
    all.sort_unstable();
    Outcome {
        connect_s,
        sent,
        acked,
        p50_ms: percentile(&all, 0.50),
        p99_ms: percentile(&all, 0.99),
        max_ms: all.last().map_or(0.0, |v| f64::from(*v) / 1000.0),
        stored: None,
        rss_mib: peak,
        server_cores,
        generator_cores,
        failures,
    }
}

/// Stops the server (SIGTERM: it stores what it holds) and counts each scale's readings:
/// the total, and how many scales have exactly `per_scale`.
async fn count_stored(target: &mut Target, run: &str, scales: usize, per_scale: u64) -> (u64, usize) {
    if let Some((web, token)) = &target.web {
        let figures = wages_testkit::pipeline_figures(web, token).await;
        eprintln!(
            "  pipeline: {} batches, {:.1} readings a batch, {:.2} ms a batch",
            figures["batches"], figures["mean_batch_size"], figures["mean_batch_ms"]
        );
    }
    let _ = Command::new("kill").arg(target.child.id().to_string()).status();
    let _ = target.child.wait();
    let database = target.database.clone().expect("a database");
    let registry = Registry::connect(&database).await.expect("database");
    let (mut total, mut exact) = (0, 0);
    for i in 0..scales {
        let id = ClientId::parse(&scale_id(run, i)).expect("id");
        let n = registry.readings().count(&id).await.expect("count");
        total += n;
        exact += usize::from(n == per_scale);
    }
    registry.close().await;
    (total, exact)
}

fn ms(v: f64) -> String {
    if v >= 4_000_000.0 { "never".into() } else { format!("{v:.1}") }
}

async fn bench() {
    // Three sockets a scale in the server (the scale's, and the gate's pair to its broker).
    let (soft, hard) = rlimit::Resource::NOFILE.get().expect("getrlimit");
    let want = hard.max(200_000);
    if rlimit::Resource::NOFILE.set(want, want).is_err() {
        let _ = rlimit::Resource::NOFILE.set(hard, hard);
    }
    let (now, _) = rlimit::Resource::NOFILE.get().expect("getrlimit");
    eprintln!("open files: {soft} → {now}");
    let counts: Vec<usize> = env_or("FLEET_SCALES", "1000,2000,5000,10000")
        .split(',')
        .map(|s| s.trim().parse().expect("FLEET_SCALES: whole numbers"))
        .collect();
    let seconds: u64 = env_or("FLEET_SECONDS", "20").parse().expect("FLEET_SECONDS");
    let hz: u64 = env_or("FLEET_HZ", "10").parse().expect("FLEET_HZ");
    let idle = env_or("FLEET_IDLE", "false") == "true";
    let targets = env_or("FLEET_TARGETS", "mosquitto,wages");
    let every = Duration::from_micros(1_000_000 / hz);
    let names = match std::env::var("FLEET_DATABASE_URL") {
        Ok(_) => ["Wages (PostgreSQL)", "Wages before (PostgreSQL)"],
        Err(_) => ["Wages (SQLite, full sync)", "Wages before (SQLite, full sync)"],
    };
    println!(
        "fleet: {} s at {hz} Hz per scale, QoS 1, one reading a message{}\n",
        seconds,
        if idle { " (idle: keep-alive only)" } else { "" }
    );
    println!(
        "| broker | scales | connected in | acknowledged / sent | PUBACK p50 ms | p99 ms | max ms | stored once | server RSS MiB | server CPU cores | generator CPU cores |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for scales in counts {
        let mut anchor_p99 = None;
        for which in targets.split(',') {
            // Each target its own scales: with `FLEET_DATABASE_URL` they share a database.
            let run = format!("{}x{scales}-{}", std::process::id(), which.trim());
            let mut target = match which.trim() {
                "mosquitto" => mosquitto().await,
                "wages" => wages(&run, scales, env!("CARGO_BIN_EXE_wages"), names[0]).await,
                "before" => {
                    let binary =
                        std::env::var("FLEET_BEFORE_BIN").expect("FLEET_BEFORE_BIN: the wages binary to compare with");
                    wages(&run, scales, &binary, names[1]).await
                }
                other => panic!("FLEET_TARGETS: unknown target {other}"),
            };
            let messages = if idle { 0 } else { seconds * hz };
            let plan =
                Plan { addr: target.addr, messages, every, idle_for: idle.then(|| Duration::from_secs(seconds)) };
            let mut outcome = drive(&target, &run, scales, plan).await;
            if target.database.is_some() && !idle {
                outcome.stored = Some(count_stored(&mut target, &run, scales, messages).await);
            }
            let stored = match outcome.stored {
                Some((total, exact)) => format!("{total} ({exact} of {scales} scales exact)"),
                None => "–".into(),
            };
            println!(
                "| {} | {scales} | {:.1} s | {} / {} | {} | {} | {} | {stored} | {:.0} | {:.2} | {:.2} |",
                target.name,
                outcome.connect_s,
                outcome.acked,
                outcome.sent,
                ms(outcome.p50_ms),
                ms(outcome.p99_ms),
                ms(outcome.max_ms),
                outcome.rss_mib,
                outcome.server_cores,
                outcome.generator_cores,
            );
            if outcome.failures > 0 {
                eprintln!("  {}: {} scales failed", target.name, outcome.failures);
            }
            match (which.trim(), anchor_p99) {
                ("mosquitto", _) => anchor_p99 = Some(outcome.p99_ms),
                (_, Some(anchor)) if anchor > 0.0 && !idle => {
                    eprintln!("  p99 {:.1}× Mosquitto's at {scales} scales", outcome.p99_ms / anchor);
                }
                _ => {}
            }
            drop(target);
            // Let the sockets of the run before close.
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
}

fn main() {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime").block_on(bench());
}
