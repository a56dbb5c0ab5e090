//! The `wages` binary against a Mosquitto of the test's own, with the failures a real
//! deployment meets: `kill -9` in the middle of a load loses nothing the broker accepted,
//! a broker restart is ridden out, and `mqtts://` checks the broker's certificate.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
use serde_json::Value;
use wages_testkit::mosquitto::{Mosquitto, TlsFiles};

/// A running `wages` process with a SQLite database in `dir`.
struct Wages {
    child: Child,
    base: String,
    log: std::path::PathBuf,
    /// The admin's session cookie (`wages_session=…`).
    cookie: String,
}

impl Wages {
    async fn start(dir: &Path, vars: &[(&str, &str)]) -> Wages {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wages"));
        cmd.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default()).current_dir(dir);
        cmd.env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("WAGES_DATABASE_URL", format!("sqlite://{}/wages.db", dir.display()))
            .env("WAGES_AUTO_REGISTER", "true")
            .env("WAGES_ADMIN_PASSWORD", "process test password")
            .env("WAGES_LOG_FORMAT", "json");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let log = std::fs::File::create(dir.join("wages.log")).expect("log file");
        let child = cmd.stdout(log.try_clone().expect("log file")).stderr(log).spawn().expect("wages runs");
        let mut wages = Wages {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log: dir.join("wages.log"),
            cookie: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while reqwest::get(format!("{}/healthz", wages.base)).await.is_err() {
            assert!(Instant::now() < deadline, "wages did not start: see {}/wages.log", dir.display());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        wages.cookie = wages.log_in().await;
        wages
    }

    /// Logs in as the admin, as the login form does; returns the session cookie.
    async fn log_in(&self) -> String {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        let form = [("username", "admin"), ("password", "process test password")];
        let res = client.post(format!("{}/login", self.base)).form(&form).send().await.expect("login");
        assert_eq!(res.status().as_u16(), 303, "login answers with a redirect");
        let cookie = res.headers().get("set-cookie").and_then(|v| v.to_str().ok()).expect("a session cookie");
        cookie.split(';').next().unwrap_or_default().to_owned()
    }

    async fn json(&self, path: &str) -> Value {
        let res = reqwest::Client::new().get(format!("{}{path}", self.base)).header("cookie", &self.cookie).send();
        res.await.expect("get").json().await.expect("json")
    }

    /// Polls `path` until `done` holds for its JSON, or fails after `secs` seconds.
    async fn eventually(&self, path: &str, secs: u64, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let value = self.json(path).await;
            if done(&value) {
                return value;
            }
            if Instant::now() > deadline {
                let mut log = std::fs::read_to_string(&self.log).unwrap_or_default();
                if let Some(broker) = self.log.parent().map(|d| d.join("mosquitto.log")) {
                    log += &std::fs::read_to_string(broker).unwrap_or_default();
                }
                panic!("{path} never got there: {value}\nthe server's log:\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }
}

impl Drop for Wages {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Publishes `messages` messages of `per_message` readings at QoS 1, a few at a time,
/// and returns once the broker has acknowledged every one.
async fn publish(port: u16, client_id: &str, session: &str, messages: u64, per_message: u64) {
    let mut options = MqttOptions::new(format!("pub-{client_id}-{session}"), "127.0.0.1", port);
    options.set_inflight(50);
    let (client, mut eventloop) = AsyncClient::new(options, 100);
    let (client_id, session) = (client_id.to_owned(), session.to_owned());
    let sender = tokio::spawn(async move {
        for m in 0..messages {
            let lines: Vec<String> = (0..per_message)
                .map(|i| format!("client_id={client_id};session_id={session};value={i};tstamp={}", m * per_message + i))
                .collect();
            client
                .publish(format!("wages/devices/{client_id}/readings"), QoS::AtLeastOnce, false, lines.join("\n"))
                .await
                .expect("publish");
            if m % 20 == 19 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    });
    let mut acked = 0;
    while acked < messages {
        match eventloop.poll().await.expect("broker connection") {
            Event::Incoming(Packet::PubAck(_)) => acked += 1,
            Event::Outgoing(Outgoing::Publish(_)) | Event::Incoming(_) | Event::Outgoing(_) => {}
        }
    }
    sender.await.expect("sender");
}

#[tokio::test]
async fn kill_9_in_the_middle_of_a_load_loses_nothing_the_broker_accepted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = Mosquitto::start(dir.path(), None);
    let url = format!("mqtt://127.0.0.1:{}", broker.port);
    let wages = Wages::start(dir.path(), &[("WAGES_MQTT_URL", &url)]).await;

    // 2,000 messages of 5 readings, published over about a second.
    let load = tokio::spawn(publish(broker.port, "crash-01", "s", 2000, 5));
    wages.eventually("/api/pipeline", 20, |v| v["stored"].as_u64() >= Some(1000)).await;
    wages.kill_9();
    load.await.expect("every message accepted by the broker");

    // The same database and the same persistent session: the broker delivers the rest.
    let wages = Wages::start(dir.path(), &[("WAGES_MQTT_URL", &url)]).await;
    let summary = wages.eventually("/api/devices/crash-01/sessions/s", 30, |v| v["count"] == 10_000).await;
    assert_eq!(summary["started_at"], 0);
    assert_eq!(summary["ended_at"], 9999);
}

/// A private PostgreSQL (scripts/pg.sh) that the test can stop and start again.
struct Postgres {
    dir: std::path::PathBuf,
    url: String,
}

impl Postgres {
    fn script(args: &[&str]) -> String {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pg.sh");
        let out = Command::new("bash").arg(script).args(args).output().expect("scripts/pg.sh runs");
        assert!(out.status.success(), "pg.sh {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn start(dir: &Path) -> Postgres {
        let dir = dir.join("pg");
        let url = Self::script(&["start", &dir.to_string_lossy()]);
        Postgres { dir, url }
    }

    fn stop(&self) {
        Self::script(&["stop", &self.dir.to_string_lossy()]);
    }

    fn resume(&self) {
        Self::script(&["resume", &self.dir.to_string_lossy()]);
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test]
async fn postgres_stopped_for_30_s_mid_load_loses_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pg = Postgres::start(dir.path());
    let broker = Mosquitto::start(dir.path(), None);
    let url = format!("mqtt://127.0.0.1:{}", broker.port);
    let wages = Wages::start(dir.path(), &[("WAGES_MQTT_URL", &url), ("WAGES_DATABASE_URL", &pg.url)]).await;

    // 2,000 messages of 5 readings; the database goes away in the middle of them.
    let load = tokio::spawn(publish(broker.port, "pg-01", "s", 2000, 5));
    wages.eventually("/api/pipeline", 20, |v| v["stored"].as_u64() >= Some(1000)).await;
    pg.stop();
    let down = wages.eventually("/readyz", 15, |v| v["status"] != "ready").await;
    assert!(down["checks"]["database"] != "ok", "{down}");
    load.await.expect("every message accepted by the broker while the database is down");
    tokio::time::sleep(Duration::from_secs(30)).await;

    // Back: the pipeline stores what it held and what the broker kept, once each.
    pg.resume();
    wages.eventually("/readyz", 30, |v| v["status"] == "ready").await;
    let summary = wages.eventually("/api/devices/pg-01/sessions/s", 60, |v| v["count"] == 10_000).await;
    assert_eq!((summary["started_at"].as_u64(), summary["ended_at"].as_u64()), (Some(0), Some(9999)));
    let dead = wages.json("/api/dead-letters").await;
    assert_eq!(dead, serde_json::json!([]), "nothing was rejected for the outage");
}

#[tokio::test]
async fn the_pipeline_rides_out_a_broker_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut broker = Mosquitto::start(dir.path(), None);
    let url = format!("mqtt://127.0.0.1:{}", broker.port);
    let wages = Wages::start(dir.path(), &[("WAGES_MQTT_URL", &url)]).await;
    publish(broker.port, "bounce-01", "before", 20, 5).await;
    wages.eventually("/api/pipeline", 15, |v| v["stored"] == 100).await;

    broker.stop();
    let ready = wages.eventually("/readyz", 15, |v| v["status"] != "ready").await;
    assert!(ready["checks"]["broker"].as_str().is_some_and(|b| b.starts_with("not connected")), "{ready}");

    broker.restart();
    publish(broker.port, "bounce-01", "after", 20, 5).await;
    wages.eventually("/api/pipeline", 20, |v| v["stored"] == 200).await;
    wages.eventually("/readyz", 15, |v| v["status"] == "ready").await;
}

#[tokio::test]
async fn readings_arrive_over_mqtts_from_a_broker_the_server_trusts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tls = TlsFiles::make(dir.path());
    let broker = Mosquitto::start(dir.path(), Some(&tls));
    let url = format!("mqtts://localhost:{}", broker.port);
    let ca = tls.ca.to_string_lossy().into_owned();
    let wages = Wages::start(dir.path(), &[("WAGES_MQTT_URL", &url), ("SSL_CERT_FILE", &ca)]).await;
    wages.eventually("/readyz", 15, |v| v["status"] == "ready").await;

    let port = broker.port.to_string();
    let status = Command::new("mosquitto_pub")
        .args(["--cafile", &ca, "-h", "localhost", "-p", &port, "-q", "1", "-t", "wages/devices/tls-01/readings"])
        .args(["-m", "client_id=tls-01;session_id=secure;value=18.25;tstamp=1763805600123"])
        .status()
        .expect("mosquitto_pub runs (Debian package mosquitto-clients)");
    assert!(status.success());
    let figures = wages.eventually("/api/pipeline", 15, |v| v["stored"] == 1).await;
    assert_eq!(figures["broker"], format!("external, mqtts://localhost:{port}"));
    drop(wages);

    // Trusting only the system's authorities, the server refuses this broker's certificate.
    let other = tempfile::tempdir().expect("temp dir");
    let untrusting = Wages::start(other.path(), &[("WAGES_MQTT_URL", &url)]).await;
    let ready = untrusting.json("/readyz").await;
    assert_ne!(ready["status"], "ready", "{ready}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = std::fs::read_to_string(other.path().join("wages.log")).expect("log");
    assert!(log.contains("certificate"), "{log}");
}

impl Wages {
    /// Registers scale `id` as the admin; its MQTT password.
    async fn register(&self, id: &str) -> String {
        let res = reqwest::Client::new()
            .post(format!("{}/api/devices", self.base))
            .header("cookie", &self.cookie)
            .json(&serde_json::json!({"client_id": id, "name": id}))
            .send()
            .await
            .expect("register");
        assert_eq!(res.status().as_u16(), 201, "registering {id}");
        let body: Value = res.json().await.expect("json");
        body["mqtt_password"].as_str().expect("a password").to_owned()
    }

    /// Registers scales `{prefix}-01` … `{prefix}-{n}`; each with its MQTT password.
    async fn register_scales(&self, prefix: &str, n: u32) -> Vec<(String, String)> {
        let mut scales = Vec::new();
        for k in 1..=n {
            let id = format!("{prefix}-{k:02}");
            let password = self.register(&id).await;
            scales.push((id, password));
        }
        scales
    }

    /// One unlabelled figure from `/metrics`.
    async fn metric(&self, name: &str) -> f64 {
        let res = reqwest::Client::new().get(format!("{}/metrics", self.base)).header("cookie", &self.cookie).send();
        let text = res.await.expect("get").text().await.expect("text");
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("{name} in {text}"));
        line.trim().parse().expect("a number")
    }

    /// The readings' times of one session, as stored.
    async fn tstamps(&self, id: &str, session: &str) -> std::collections::BTreeSet<u64> {
        let readings = self.json(&format!("/api/devices/{id}/sessions/{session}/readings")).await;
        readings.as_array().map(|r| r.iter().filter_map(|r| r["tstamp"].as_u64()).collect()).unwrap_or_default()
    }

    /// The process's resident memory, in MiB.
    fn rss_mib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().split(' ').next()?.parse().ok());
        kib.unwrap_or(0) / 1024
    }
}

/// Each scale publishes readings `0..per_scale` of session `s` in the background,
/// counting its PUBACKs (see [`publish_counting`]).
fn spawn_loads(port: u16, scales: &[(String, String)], per_scale: u64) -> Vec<tokio::task::JoinHandle<u64>> {
    spawn_paced_loads(port, scales, &(0..per_scale).collect::<Vec<_>>(), Duration::ZERO)
}

/// As [`spawn_loads`], readings `tstamps`, a message every `every` (as fast as answered
/// for zero).
fn spawn_paced_loads(
    port: u16,
    scales: &[(String, String)],
    tstamps: &[u64],
    every: Duration,
) -> Vec<tokio::task::JoinHandle<u64>> {
    scales
        .iter()
        .map(|(id, pw)| {
            let (id, pw, tstamps) = (id.clone(), pw.clone(), tstamps.to_vec());
            tokio::spawn(async move { publish_paced(port, &id, &pw, "s", tstamps, every).await })
        })
        .collect()
}

/// A free TCP port on loopback.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port()
}

/// Scale `id` publishes one-reading QoS 1 messages `from..to` (the reading's time is its
/// number) to the embedded broker on `port`, and counts the PUBACKs it gets until the
/// connection ends or all are answered. PUBACKs come in publishing order, so the first
/// `n` messages are the acknowledged ones.
async fn publish_counting(port: u16, id: &str, password: &str, session: &str, from: u64, to: u64) -> u64 {
    publish_paced(port, id, password, session, (from..to).collect(), Duration::ZERO).await
}

/// As [`publish_counting`], a message every `every` (as fast as answered for zero), as
/// a scale does while brewing.
async fn publish_paced(port: u16, id: &str, password: &str, session: &str, tstamps: Vec<u64>, every: Duration) -> u64 {
    let to = tstamps.len() as u64;
    let mut options = MqttOptions::new(id, "127.0.0.1", port);
    options.set_credentials(id, password).set_inflight(100).set_keep_alive(Duration::from_secs(60));
    let (client, mut eventloop) = AsyncClient::new(options, 200);
    let (id, session) = (id.to_owned(), session.to_owned());
    let sender = tokio::spawn(async move {
        let mut tick = (!every.is_zero()).then(|| tokio::time::interval(every));
        for t in tstamps {
            if let Some(tick) = tick.as_mut() {
                tick.tick().await;
            }
            let line = format!("client_id={id};session_id={session};value=1.5;tstamp={t}");
            if client.publish(format!("wages/devices/{id}/readings"), QoS::AtLeastOnce, false, line).await.is_err() {
                return;
            }
        }
    });
    let mut acked = 0;
    while acked < to {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::PubAck(_))) => acked += 1,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    sender.abort();
    acked
}

/// With the embedded broker, a PUBACK means stored: four scales publish as fast as
/// they are answered, the server dies with SIGKILL in the middle, and after a restart
/// every reading a scale was told was taken is there. The scales then send everything
/// again and each reading is stored once.
#[tokio::test]
async fn kill_9_with_the_embedded_broker_loses_no_acknowledged_reading() {
    const PER_SCALE: u64 = 12_000;
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let vars = [("WAGES_MQTT_LISTEN", listen.as_str()), ("WAGES_AUTO_REGISTER", "false")];
    let wages = Wages::start(dir.path(), &vars).await;
    let scales = wages.register_scales("kill", 4).await;
    let loads = spawn_loads(port, &scales, PER_SCALE);
    wages.eventually("/api/pipeline", 30, |v| v["stored"].as_u64() >= Some(8_000)).await;
    wages.kill_9();
    let mut acked = Vec::new();
    for load in loads {
        acked.push(load.await.expect("publisher"));
    }
    assert!(acked.iter().any(|n| *n < PER_SCALE), "the kill came after every PUBACK: {acked:?}");

    let wages = Wages::start(dir.path(), &vars).await;
    for ((id, _), n) in scales.iter().zip(&acked) {
        let stored = wages.tstamps(id, "s").await;
        let lost: Vec<u64> = (0..*n).filter(|t| !stored.contains(t)).collect();
        assert!(
            lost.is_empty(),
            "{id}: {} acknowledged readings lost, the first {:?}",
            lost.len(),
            &lost[..lost.len().min(5)]
        );
    }
    // Everything again, as a scale does after reconnecting: each reading once.
    for (id, pw) in &scales {
        assert_eq!(publish_counting(port, id, pw, "s", 0, PER_SCALE).await, PER_SCALE);
    }
    for (id, _) in &scales {
        let path = format!("/api/devices/{id}/sessions/s");
        wages.eventually(&path, 30, |v| v["count"] == PER_SCALE).await;
        assert_eq!(wages.tstamps(id, "s").await.len() as u64, PER_SCALE);
    }
}

/// A fleet's shape through the readings journal: 1,000 scales, each its own connection
/// sending a reading every 100 ms, and the server killed with SIGKILL while the journal
/// holds their readings. After a restart every reading a scale was told was taken is
/// there; once every scale has sent everything again, each shot counts each reading once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_with_a_thousand_scales_publishing_loses_no_acknowledged_reading() {
    const SCALES: u32 = 1000;
    const PER_SCALE: u64 = 60;
    // A connection each, in this process too.
    rlimit::increase_nofile_limit(8192).expect("open files");
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let vars = [("WAGES_MQTT_LISTEN", listen.as_str()), ("WAGES_AUTO_REGISTER", "false")];
    let wages = Wages::start(dir.path(), &vars).await;
    let scales = wages.register_scales("fleet", SCALES).await;
    // Shots of today, a reading every 100 ms: nothing for compaction to take.
    let start = wages_codec::clock::now_ms();
    let tstamps = |n: u64| (0..n).map(move |i| start + i * 100);
    let all: Vec<u64> = tstamps(PER_SCALE).collect();
    let loads = spawn_paced_loads(port, &scales, &all, Duration::from_millis(100));
    wages.eventually("/api/pipeline", 60, |v| v["stored"].as_u64() >= Some(u64::from(SCALES) * 20)).await;
    let journaled = wages.metric("wages_readings_journaled").await;
    assert!(journaled > 0.0, "the fleet's readings go through the journal");
    wages.kill_9();
    let mut acked = Vec::new();
    for load in loads {
        acked.push(load.await.expect("publisher"));
    }
    assert!(acked.iter().any(|n| *n < PER_SCALE), "the kill came after every PUBACK");
    assert!(acked.iter().sum::<u64>() > u64::from(SCALES) * 20, "{acked:?}");

    let wages = Wages::start(dir.path(), &vars).await;
    for ((id, _), n) in scales.iter().zip(&acked) {
        let stored = wages.tstamps(id, "s").await;
        let lost: Vec<u64> = tstamps(*n).filter(|t| !stored.contains(t)).collect();
        assert!(
            lost.is_empty(),
            "{id}: {} acknowledged readings lost, the first {:?}",
            lost.len(),
            &lost[..lost.len().min(5)]
        );
    }
    // Everything again, as the scales do after reconnecting: each reading once.
    let again = spawn_paced_loads(port, &scales, &all, Duration::ZERO);
    for load in again {
        assert_eq!(load.await.expect("publisher"), PER_SCALE);
    }
    for (id, _) in scales.iter().step_by(97) {
        let path = format!("/api/devices/{id}/sessions/s");
        wages.eventually(&path, 30, |v| v["count"] == PER_SCALE).await;
    }
    for (id, _) in &scales {
        assert_eq!(wages.tstamps(id, "s").await, tstamps(PER_SCALE).collect(), "{id}");
    }
}

/// With the embedded broker and SQLite, another process holds the database locked for
/// 30 s while scales publish: their PUBACKs stop (nothing acknowledged is lost, nothing
/// dropped), the server's memory stays bounded, and everything is stored after.
#[tokio::test]
async fn a_database_locked_for_30_s_holds_the_scales_back_and_loses_nothing() {
    const PER_SCALE: u64 = 6_000;
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let wages = Wages::start(dir.path(), &[("WAGES_MQTT_LISTEN", listen.as_str())]).await;
    let scales = wages.register_scales("lock", 3).await;
    publish_counting(port, &scales[0].0, &scales[0].1, "warm-up", 0, 10).await;

    let db = dir.path().join("wages.db");
    let mut lock = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys,time; c=sqlite3.connect(sys.argv[1], isolation_level=None); \
                      c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(30)",
        ])
        .arg(&db)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut said = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(lock.stdout.as_mut().expect("stdout")), &mut said)
        .expect("lock taken");
    assert_eq!(said.trim(), "locked");
    let before = wages.json("/api/pipeline").await["stored"].as_u64().unwrap_or(0);

    let loads = spawn_loads(port, &scales, PER_SCALE);
    // While the lock holds, nothing new is stored, so nothing new is acknowledged.
    let mut peak = 0;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        peak = peak.max(wages.rss_mib());
    }
    assert_eq!(wages.json("/api/pipeline").await["stored"].as_u64().unwrap_or(0), before, "stored through a lock");
    assert!(peak < 400, "the server grew to {peak} MiB while storage was locked");
    lock.wait().expect("the lock ends");

    for load in loads {
        assert_eq!(load.await.expect("publisher"), PER_SCALE, "every message is acknowledged once stored");
    }
    for (id, _) in &scales {
        assert_eq!(wages.tstamps(id, "s").await.len() as u64, PER_SCALE, "{id}");
    }
    let dead = wages.json("/api/dead-letters").await;
    assert_eq!(dead, serde_json::json!([]), "nothing was rejected for the lock");
}

/// With the embedded broker and PostgreSQL, the database stops for 30 s while scales
/// publish: no PUBACK comes while it is down, memory stays bounded, and once it is back
/// every reading is stored and acknowledged.
#[tokio::test]
async fn postgres_stopped_for_30_s_with_the_embedded_broker_holds_the_scales_back() {
    const PER_SCALE: u64 = 4_000;
    let dir = tempfile::tempdir().expect("temp dir");
    let pg = Postgres::start(dir.path());
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let vars = [("WAGES_MQTT_LISTEN", listen.as_str()), ("WAGES_DATABASE_URL", pg.url.as_str())];
    let wages = Wages::start(dir.path(), &vars).await;
    let scales = wages.register_scales("pgdown", 2).await;
    let loads = spawn_loads(port, &scales, PER_SCALE);
    wages.eventually("/api/pipeline", 20, |v| v["stored"].as_u64() >= Some(500)).await;
    pg.stop();
    wages.eventually("/readyz", 15, |v| v["status"] != "ready").await;
    let stored_when_down = wages.json("/api/pipeline").await["stored"].as_u64().unwrap_or(0);
    let mut peak = 0;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        peak = peak.max(wages.rss_mib());
    }
    assert!(peak < 400, "the server grew to {peak} MiB while the database was down");
    assert!(loads.iter().all(|l| !l.is_finished()), "a scale had every PUBACK while nothing could be stored");
    let stored_after_30_s = wages.json("/api/pipeline").await["stored"].as_u64().unwrap_or(0);
    assert_eq!(stored_after_30_s, stored_when_down, "stored while the database was down");

    pg.resume();
    wages.eventually("/readyz", 30, |v| v["status"] == "ready").await;
    for load in loads {
        assert_eq!(load.await.expect("publisher"), PER_SCALE, "every message acknowledged once stored");
    }
    for (id, _) in &scales {
        assert_eq!(wages.tstamps(id, "s").await.len() as u64, PER_SCALE, "{id}");
    }
    assert_eq!(wages.json("/api/dead-letters").await, serde_json::json!([]), "nothing rejected for the outage");
}
