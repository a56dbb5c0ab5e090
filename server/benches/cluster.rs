//! Scale-out benchmark: 1, 2 and 3 `wages` processes sharing one PostgreSQL and one
//! broker, side by side in one run (one node is the baseline), on Mosquitto with a shared
//! subscription and on RabbitMQ with its AMQP queue.
//!
//!     bash -c '. scripts/lib.sh; . scripts/services.sh; start_test_services; cargo bench -p server --bench cluster'
//!
//! Four MQTT clients publish QoS 1 messages of 10 readings as fast as the broker takes
//! them, each as its own scale. Meanwhile a fifth scale publishes one reading every 20 ms
//! and a live viewer on node 0 follows it: with several nodes most of those readings are
//! stored by another node and reach the viewer through PostgreSQL's notifications, so the
//! latency is the cross-node one. Reported per run: readings per second (first publish to
//! the last reading in the database), the viewer's publish→seen latency p50/p99, and
//! whether exactly every reading was stored, and where the CPU went: how busy the
//! machine was, and CPU time per reading in the `wages` processes and in the rest (the
//! broker, PostgreSQL, the publishers).
//!
//! Environment: `BENCH_MESSAGES` (messages per publisher, default 5000); the services'
//! `WAGES_TEST_POSTGRES_URL`, `WAGES_TEST_MOSQUITTO_URL`, `WAGES_TEST_RABBITMQ_URL`,
//! `WAGES_TEST_RABBITMQ_AMQP_URL`.

// A benchmark reports on stdout and stops on the first broken part.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::expect_used, clippy::panic, clippy::cast_precision_loss)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use wages_testkit::{Node, forget_session};

const PUBLISHERS: usize = 4;
const PER_MESSAGE: u64 = 10;

struct Broker {
    name: &'static str,
    mqtt_url: String,
    readings: (&'static str, String),
}

struct Outcome {
    readings: u64,
    elapsed: Duration,
    stored: i64,
    latencies_ms: Vec<f64>,
    /// The machine's CPU time in use during the run, in seconds (of 2 cores × elapsed).
    busy_s: f64,
    /// CPU seconds the `wages` processes used.
    nodes_s: f64,
}

/// Clock ticks per second of /proc's CPU times (Linux's USER_HZ).
const TICKS: f64 = 100.0;

/// Busy and total CPU ticks of the whole machine, from /proc/stat.
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").expect("/proc/stat");
    let cpu: Vec<u64> =
        stat.lines().next().expect("cpu line").split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    let total: u64 = cpu.iter().take(8).sum();
    let idle = cpu[3] + cpu[4];
    (total - idle, total)
}

/// User and system CPU ticks a process has used, from /proc/{pid}/stat.
fn process_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command's closing parenthesis: state is field 3, utime 14, stime 15.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = after.split_whitespace().skip(11).take(2).filter_map(|v| v.parse().ok()).collect();
    fields.iter().sum()
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run under scripts/services.sh (see the top)"))
}

fn client(mqtt_url: &str, name: &str) -> (AsyncClient, rumqttc::EventLoop) {
    let url = url::Url::parse(mqtt_url).expect("broker URL");
    let mut options = MqttOptions::new(name, url.host_str().expect("host"), url.port().expect("port"));
    options.set_inflight(100).set_max_packet_size(1 << 20, 1 << 20);
    AsyncClient::new(options, 100)
}

async fn run(broker: &Broker, nodes: usize, messages: u64, round: usize) -> Outcome {
    let database = wages_store::testing::postgres_database().await;
    let db = sqlx::PgPool::connect(&database).await.expect("PostgreSQL");
    let share_group = format!("bench{}x{round}", std::process::id());
    let value = if broker.readings.0 == "WAGES_MQTT_SHARE" { share_group.clone() } else { broker.readings.1.clone() };
    let vars: Vec<(String, String)> = [
        ("WAGES_DATABASE_URL", database.as_str()),
        ("WAGES_MQTT_URL", broker.mqtt_url.as_str()),
        (broker.readings.0, value.as_str()),
        ("WAGES_LOG", "warn,wages_server=info"),
        ("WAGES_AGGREGATES_SECONDS", "0"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .to_vec();
    let ids: Vec<String> = (0..nodes).map(|i| format!("bench-{}-{round}-{i}", std::process::id())).collect();
    let started: Vec<Node> = ids.iter().map(|id| Node::start(id, &vars)).collect();
    let registry = wages_store::Registry::connect(&database).await.expect("registry");
    let (_, token) =
        registry.accounts().create_token("bench", wages_store::Scope::Write, "admin").await.expect("token");
    let prefix = format!("b{round}");

    // The probe scale and its viewer on node 0.
    let probe = format!("{prefix}-probe");
    let res = reqwest::Client::new()
        .post(format!("http://{}/api/devices", started[0].addr))
        .bearer_auth(&token)
        .json(&serde_json::json!({"client_id": probe, "name": "probe"}))
        .send()
        .await
        .expect("register");
    assert_eq!(res.status().as_u16(), 201);
    let mut request =
        format!("ws://{}/api/devices/{probe}/live", started[0].addr).into_client_request().expect("WebSocket URL");
    request.headers_mut().insert("authorization", format!("Bearer {token}").parse().expect("header"));
    let (mut viewer, _) = tokio_tungstenite::connect_async(request).await.expect("WebSocket");
    let sent: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let seen = {
        let sent = sent.clone();
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            while let Some(Ok(Message::Text(text))) = viewer.next().await {
                let reading: serde_json::Value = serde_json::from_str(&text).expect("JSON");
                let t = reading["tstamp"].as_u64().expect("tstamp");
                if let Some(at) = sent.lock().expect("lock").get(&t) {
                    latencies.push(at.elapsed().as_secs_f64() * 1000.0);
                }
            }
            latencies
        })
    };

    let pids: Vec<u32> = started.iter().map(|n| n.child.id()).collect();
    let nodes_before: u64 = pids.iter().map(|&p| process_ticks(p)).sum();
    let machine_before = machine_ticks();
    let begin = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..PUBLISHERS {
        let (scale, mut eventloop) = client(&broker.mqtt_url, &format!("{prefix}-pub-{p}"));
        let id = format!("{prefix}-scale-{p}");
        tasks.push(tokio::spawn(async move {
            let publishing = async {
                for m in 0..messages {
                    let lines: Vec<String> = (0..PER_MESSAGE)
                        .map(|i| format!("client_id={id};session_id=bench;value=18.5;tstamp={}", m * PER_MESSAGE + i))
                        .collect();
                    scale
                        .publish(format!("wages/devices/{id}/readings"), QoS::AtLeastOnce, false, lines.join("\n"))
                        .await
                        .expect("publish");
                }
            };
            let acked = async {
                let mut acks = 0;
                while acks < messages {
                    if let Event::Incoming(Packet::PubAck(_)) = eventloop.poll().await.expect("broker") {
                        acks += 1;
                    }
                }
            };
            tokio::join!(publishing, acked);
        }));
    }
    let (probe_client, mut probe_loop) = client(&broker.mqtt_url, &format!("{prefix}-probe-pub"));
    tokio::spawn(async move { while probe_loop.poll().await.is_ok() {} });
    let probing = {
        let (sent, probe) = (sent.clone(), probe.clone());
        tokio::spawn(async move {
            for t in 0.. {
                let line = format!("client_id={probe};session_id=probe;value=1.5;tstamp={t}");
                sent.lock().expect("lock").insert(t, Instant::now());
                if probe_client
                    .publish(format!("wages/devices/{probe}/readings"), QoS::AtLeastOnce, false, line)
                    .await
                    .is_err()
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    for task in tasks {
        task.await.expect("publisher");
    }
    let readings = PUBLISHERS as u64 * messages * PER_MESSAGE;
    let deadline = Instant::now() + Duration::from_secs(300);
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM readings WHERE session_id = 'bench'")
            .fetch_one(&db)
            .await
            .expect("count")
    };
    let mut stored = count().await;
    while stored < readings as i64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        stored = count().await;
    }
    let elapsed = begin.elapsed();
    let machine_after = machine_ticks();
    let nodes_s = (pids.iter().map(|&p| process_ticks(p)).sum::<u64>() - nodes_before) as f64 / TICKS;
    let busy_s = (machine_after.0 - machine_before.0) as f64 / TICKS;
    probing.abort();
    tokio::time::sleep(Duration::from_millis(500)).await;
    for node in started {
        node.stop();
    }
    for id in &ids {
        forget_session(&broker.mqtt_url, id).await;
    }
    let latencies_ms = seen.await.expect("viewer");
    registry.close().await;
    db.close().await;
    Outcome { readings, elapsed, stored, latencies_ms, busy_s, nodes_s }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let messages: u64 = std::env::var("BENCH_MESSAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(5000);
    let brokers = [
        Broker {
            name: "Mosquitto, shared subscription",
            mqtt_url: env("WAGES_TEST_MOSQUITTO_URL"),
            readings: ("WAGES_MQTT_SHARE", String::new()),
        },
        Broker {
            name: "RabbitMQ, AMQP queue",
            mqtt_url: env("WAGES_TEST_RABBITMQ_URL"),
            readings: ("WAGES_AMQP_URL", env("WAGES_TEST_RABBITMQ_AMQP_URL")),
        },
    ];
    println!(
        "{PUBLISHERS} publishers × {messages} messages × {PER_MESSAGE} readings; probe every 20 ms, viewer on node 0\n"
    );
    println!(
        "| broker | nodes | readings/s | vs 1 node | viewer p50 ms | viewer p99 ms | stored | CPU busy | wages CPU µs/reading | rest CPU µs/reading |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut round = 0;
    for broker in &brokers {
        let mut baseline = None;
        for nodes in 1..=3 {
            round += 1;
            let o = run(broker, nodes, messages, round).await;
            let rate = o.readings as f64 / o.elapsed.as_secs_f64();
            let base = *baseline.get_or_insert(rate);
            let mut lat = o.latencies_ms;
            lat.sort_by(f64::total_cmp);
            let exact = if o.stored == o.readings as i64 {
                "all".to_owned()
            } else {
                format!("{} of {}", o.stored, o.readings)
            };
            let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
            let per_reading = |s: f64| s * 1e6 / o.readings as f64;
            println!(
                "| {} | {nodes} | {rate:.0} | {:.2}× | {:.1} | {:.1} | {exact} | {:.0} % | {:.1} | {:.1} |",
                broker.name,
                rate / base,
                percentile(&lat, 0.5),
                percentile(&lat, 0.99),
                100.0 * o.busy_s / (cores * o.elapsed.as_secs_f64()),
                per_reading(o.nodes_s),
                per_reading(o.busy_s - o.nodes_s),
            );
        }
    }
}
