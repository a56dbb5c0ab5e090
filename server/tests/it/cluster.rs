//! Three `wages` processes on loopback sharing one PostgreSQL and one broker, for real:
//! Mosquitto with a shared subscription, and RabbitMQ with its durable AMQP queue.
//! Readings from real MQTT clients are split between the nodes and stored exactly once;
//! a viewer on any node sees every node's readings; a rename or a deletion on one node
//! reaches the others' caches within a second; presence, firmware and the published
//! aggregates agree; `kill -9` of a node under load loses nothing the
//! broker acknowledged, while the others carry on.

use wages_testkit::nodes::{Node, forget_session};

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A broker for the test: its MQTT address and how nodes take readings from it.
struct Setup {
    mqtt_url: String,
    readings: (&'static str, String),
    /// Whether a killed node's share waits for it to come back (Mosquitto keeps routing
    /// to a persistent session), or goes to the others at once (RabbitMQ's queue).
    waits_for_the_killed_node: bool,
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run scripts/test.sh, which starts the services"))
}

#[tokio::test]
async fn three_nodes_share_mosquitto_through_a_shared_subscription() {
    let group = format!("wages{}", std::process::id());
    three_nodes(Setup {
        mqtt_url: env("WAGES_TEST_MOSQUITTO_URL"),
        readings: ("WAGES_MQTT_SHARE", group),
        waits_for_the_killed_node: true,
    })
    .await;
}

#[tokio::test]
async fn three_nodes_share_rabbitmq_through_its_amqp_queue() {
    three_nodes(Setup {
        mqtt_url: env("WAGES_TEST_RABBITMQ_URL"),
        readings: ("WAGES_AMQP_URL", env("WAGES_TEST_RABBITMQ_AMQP_URL")),
        waits_for_the_killed_node: false,
    })
    .await;
}

/// A publisher like a scale's: QoS 1, and it knows what the broker acknowledged.
async fn publisher(mqtt_url: &str, name: &str) -> (AsyncClient, tokio::sync::watch::Receiver<u64>) {
    let url = url::Url::parse(mqtt_url).expect("broker URL");
    let mut options = MqttOptions::new(name, url.host_str().expect("host"), url.port().expect("port"));
    options.set_inflight(100);
    let (client, mut eventloop) = AsyncClient::new(options, 100);
    let (acked, acks) = tokio::sync::watch::channel(0u64);
    tokio::spawn(async move {
        while let Ok(event) = eventloop.poll().await {
            if let Event::Incoming(Packet::PubAck(_)) = event {
                acked.send_modify(|n| *n += 1);
            }
        }
    });
    (client, acks)
}

/// `messages` messages of 10 readings for `device`, its timestamps from `from`.
async fn publish(client: &AsyncClient, device: &str, from: u64, messages: u64) {
    for m in 0..messages {
        let lines: Vec<String> = (0..10)
            .map(|i| {
                let t = from + m * 10 + i;
                format!("client_id={device};session_id=shared;value={}.5;tstamp={t}", t % 500)
            })
            .collect();
        client
            .publish(format!("wages/devices/{device}/readings"), QoS::AtLeastOnce, false, lines.join("\n"))
            .await
            .expect("publish");
    }
}

async fn wait_acked(acks: &mut tokio::sync::watch::Receiver<u64>, n: u64) {
    let acked = tokio::time::timeout(Duration::from_secs(60), acks.wait_for(|a| *a >= n)).await.is_ok();
    assert!(acked, "the broker acknowledged {} of {n} messages", *acks.borrow());
}

/// Rows in the readings table for this test's scales (its primary key makes a second
/// copy impossible; what this checks is that none is missing).
async fn stored_in_database(db: &sqlx::PgPool, prefix: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM readings WHERE client_id LIKE $1")
        .bind(format!("{prefix}-%"))
        .fetch_one(db)
        .await
        .expect("count")
}

async fn eventually_stored(db: &sqlx::PgPool, prefix: &str, n: i64, why: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stored = stored_in_database(db, prefix).await;
        if stored == n {
            return;
        }
        assert!(stored < n, "{stored} readings stored, more than the {n} published ({why})");
        assert!(Instant::now() < deadline, "{stored} of {n} readings stored after 60 s ({why})");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Each node's readings stored (new ones), and the duplicates of them all, so far.
async fn counts(nodes: &[Node], token: &str) -> (Vec<u64>, u64) {
    let (mut stored, mut duplicates) = (Vec::new(), 0);
    for node in nodes {
        let figures = node.get(token, "/api/pipeline").await;
        stored.push(figures["stored"].as_u64().expect("stored"));
        duplicates += figures["duplicates"].as_u64().expect("duplicates");
    }
    (stored, duplicates)
}

async fn three_nodes(setup: Setup) {
    let database = wages_store::testing::postgres_database().await;
    let vars = vec![
        ("WAGES_DATABASE_URL".to_owned(), database.clone()),
        ("WAGES_MQTT_URL".to_owned(), setup.mqtt_url.clone()),
        (setup.readings.0.to_owned(), setup.readings.1.clone()),
        ("WAGES_AGGREGATES_SECONDS".to_owned(), "1".to_owned()),
        ("WAGES_HA_DISCOVERY_PREFIX".to_owned(), "off".to_owned()),
    ];
    // A node id unique to this run, so a persistent session of an earlier run is not reused.
    let run = format!("{}-{}", std::process::id(), setup.readings.0.len());
    let ids: Vec<String> = (0..3).map(|i| format!("node{i}-{run}")).collect();
    // Node 0 ran alone before, taking every reading: its broker session remembers that
    // subscription, which must not survive into sharing (each reading would come twice).
    let alone = [vars[0].clone(), vars[1].clone(), ("WAGES_MQTT_SHARE".to_owned(), "off".to_owned())];
    Node::start(&ids[0], &alone).kill();
    let mut nodes: Vec<Node> = ids.iter().map(|id| Node::start(id, &vars)).collect();
    let db = sqlx::PgPool::connect(&database).await.expect("PostgreSQL");
    let registry = wages_store::Registry::connect(&database).await.expect("registry");
    let (_, token) =
        registry.accounts().create_token("cluster", wages_store::Scope::Write, "admin").await.expect("token");
    let prefix = format!("c{}", setup.readings.0.len());
    for node in &nodes {
        let ready = node.get(&token, "/readyz").await;
        assert_eq!(ready["checks"]["broker"], "ok", "{}: {ready}", node.id);
    }

    // Every node's viewers see a scale's readings, whichever node stored them.
    let watched = format!("{prefix}-watched");
    let res = wages_testkit::http()
        .post(nodes[0].url("/api/devices"))
        .bearer_auth(&token)
        .json(&json!({"client_id": watched, "name": "Bar"}))
        .send()
        .await
        .expect("register");
    assert_eq!(res.status().as_u16(), 201);
    let mut viewers = Vec::new();
    for node in &nodes {
        let mut request =
            format!("ws://{}/api/devices/{watched}/live", node.addr).into_client_request().expect("WebSocket URL");
        request.headers_mut().insert("authorization", format!("Bearer {token}").parse().expect("header"));
        viewers.push(tokio_tungstenite::connect_async(request).await.expect("WebSocket").0);
    }
    let (scale, mut acks) = publisher(&setup.mqtt_url, &format!("{prefix}-watched-scale")).await;
    publish(&scale, &watched, 1000, 6).await;
    wait_acked(&mut acks, 6).await;
    for (viewer, node) in viewers.iter_mut().zip(&nodes) {
        let mut times = Vec::new();
        while times.len() < 60 {
            let frame = tokio::time::timeout(Duration::from_secs(10), viewer.next()).await;
            let Ok(Some(Ok(Message::Text(text)))) = frame else {
                panic!("{}'s viewer got {} of 60 readings, then {frame:?}", node.id, times.len())
            };
            let reading: Value = serde_json::from_str(&text).expect("JSON");
            times.push(reading["tstamp"].as_u64().expect("tstamp"));
        }
        times.sort_unstable();
        assert_eq!(times, (1000..1060).collect::<Vec<_>>(), "{}'s viewer", node.id);
    }

    // A rename on one node reaches another node's cache within a second.
    let before = nodes[2].get(&token, &format!("/api/devices/{watched}")).await;
    assert_eq!(before["name"], "Bar");
    let res = wages_testkit::http()
        .patch(nodes[0].url(&format!("/api/devices/{watched}")))
        .bearer_auth(&token)
        .json(&json!({"name": "Window bar"}))
        .send()
        .await
        .expect("rename");
    assert!(res.status().is_success());
    let renamed_at = Instant::now();
    loop {
        let now = nodes[2].get(&token, &format!("/api/devices/{watched}")).await;
        if now["name"] == "Window bar" {
            break;
        }
        assert!(renamed_at.elapsed() < Duration::from_secs(1), "node 2 still shows {now} a second after the rename");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Presence and firmware agree on every node: each follows the scales' status and the
    // fleet's offer itself.
    let status = format!("wages/devices/{watched}/status");
    scale.publish(&status, QoS::AtLeastOnce, true, "online;firmware=2.0.0").await.expect("status");
    for node in &nodes {
        let device = node.eventually(&token, &format!("/api/devices/{watched}"), |d| d["online"] == true).await;
        assert_eq!(device["firmware_version"], "2.0.0", "{}", node.id);
    }
    let offer = json!({"version": "2.1.0", "url": "https://firmware.example/2.1.0.bin", "sha256": "ab".repeat(32)});
    let res = wages_testkit::http().post(nodes[1].url("/api/firmware")).bearer_auth(&token).json(&offer).send().await;
    assert_eq!(res.expect("offer").status().as_u16(), 201);
    for node in &nodes {
        let rollout = node.eventually(&token, "/api/firmware", |r| r["offer"]["version"] == "2.1.0").await;
        let state = rollout["devices"].as_array().expect("devices").iter().find(|d| d["client_id"] == watched.as_str());
        assert_eq!(state.expect("the watched scale")["state"], "pending", "{}: {rollout}", node.id);
    }
    // Retained messages outlive the test on a shared broker: clear them.
    scale.publish(&status, QoS::AtLeastOnce, true, "").await.expect("clear status");
    scale.publish("wages/firmware", QoS::AtLeastOnce, true, "").await.expect("clear offer");

    // Phase 1: 6 scales × 50 messages × 10 readings, split between the nodes, each once.
    let (stored_before, duplicates_before) = counts(&nodes, &token).await;
    let scales: Vec<String> = (0..6).map(|i| format!("{prefix}-scale-{i}")).collect();
    let mut publishers = Vec::new();
    for s in &scales {
        publishers.push(publisher(&setup.mqtt_url, &format!("{s}-pub")).await);
    }
    for (s, (client, _)) in scales.iter().zip(&publishers) {
        publish(client, s, 0, 50).await;
    }
    for (_, acks) in &mut publishers {
        wait_acked(acks, 50).await;
    }
    let first = 60 + 6 * 500;
    eventually_stored(&db, &prefix, first, "phase 1").await;
    let (stored, duplicates) = counts(&nodes, &token).await;
    let shares: Vec<u64> = stored.iter().zip(&stored_before).map(|(now, before)| now - before).collect();
    assert_eq!(shares.iter().sum::<u64>(), 3000, "each reading stored by one node only: {shares:?}");
    assert_eq!(duplicates, duplicates_before, "no node was handed a reading another one took");
    assert!(shares.iter().all(|&s| s > 0), "every node took a share: {shares:?}");

    // One node publishes each scale's running aggregates, counting every node's readings.
    let (follower, mut events) = {
        let url = url::Url::parse(&setup.mqtt_url).expect("broker URL");
        let options =
            MqttOptions::new(format!("{prefix}-follower"), url.host_str().expect("host"), url.port().expect("port"));
        AsyncClient::new(options, 100)
    };
    follower.subscribe(format!("wages/devices/{}/aggregates", scales[0]), QoS::AtLeastOnce).await.expect("subscribe");
    let mut counted = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut settled_at = None;
    while tokio::time::Instant::now() < settled_at.unwrap_or(deadline) {
        let Ok(event) = tokio::time::timeout_at(settled_at.unwrap_or(deadline), events.poll()).await else { break };
        if let Event::Incoming(Packet::Publish(p)) = event.expect("follower") {
            let figures: Value = serde_json::from_slice(&p.payload).expect("aggregates JSON");
            let readings = figures["readings"].as_u64().expect("readings");
            counted.push(readings);
            if readings == 500 && settled_at.is_none() {
                settled_at = Some(tokio::time::Instant::now() + Duration::from_millis(2500));
            }
        }
    }
    assert!(counted.contains(&500), "aggregates of {} seen: {counted:?}", scales[0]);
    let after = counted.iter().skip_while(|&&n| n != 500).copied().collect::<Vec<_>>();
    assert!(after.iter().all(|&n| n == 500), "one publisher, every node's readings: {counted:?}");
    // Every second by one node: two or three in 2.5 s (three nodes would send 7 to 9).
    assert!((2..=4).contains(&after.len()), "published every second by one node: {counted:?}");

    // Phase 2: kill -9 one node while 6 scales publish 200 messages each.
    let tasks: Vec<_> = scales
        .iter()
        .zip(&publishers)
        .map(|(s, (client, _))| {
            let (client, s) = (client.clone(), s.clone());
            tokio::spawn(async move {
                for chunk in 0..10 {
                    publish(&client, &s, 10_000 + chunk * 200, 20).await;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    nodes[0].kill();
    let killed_at = Instant::now();
    for task in tasks {
        task.await.expect("publisher");
    }
    for (_, acks) in &mut publishers {
        wait_acked(acks, 250).await;
    }
    let total = first + 6 * 2000;
    // The others carry on: they keep storing while node 0 is gone.
    let carried: u64 = {
        let mut sum = 0;
        for node in &nodes[1..] {
            sum += node.get(&token, "/api/pipeline").await["stored"].as_u64().expect("stored");
        }
        sum
    };
    let before_kill = stored_before[1] + shares[1] + stored_before[2] + shares[2];
    assert!(carried > before_kill, "the surviving nodes stored nothing after the kill");
    if setup.waits_for_the_killed_node {
        // Mosquitto keeps node 0's share in its persistent session until it is back.
        let (id, vars) = (nodes[0].id.clone(), nodes[0].vars.clone());
        nodes[0] = Node::start(&id, &vars);
    }
    eventually_stored(&db, &prefix, total, "after kill -9").await;
    eprintln!("every acknowledged reading stored {:?} after the kill", killed_at.elapsed());
    if !setup.waits_for_the_killed_node {
        // RabbitMQ gave node 0's unacknowledged messages to the others; it may come back.
        let (id, vars) = (nodes[0].id.clone(), nodes[0].vars.clone());
        nodes[0] = Node::start(&id, &vars);
    }
    let ready = nodes[0].get(&token, "/readyz").await;
    assert_eq!(ready["checks"]["broker"], "ok");

    // A scale deleted on one node is gone from another's cache within a second.
    let path = format!("/api/devices/{}", scales[0]);
    nodes[2].get(&token, &path).await;
    let res = wages_testkit::http().delete(nodes[1].url(&path)).bearer_auth(&token).send().await.expect("delete");
    assert!(res.status().is_success(), "delete: {}", res.status());
    let deleted_at = Instant::now();
    loop {
        let res = wages_testkit::http().get(nodes[2].url(&path)).bearer_auth(&token).send().await.expect("GET");
        if res.status().as_u16() == 404 {
            break;
        }
        assert!(
            deleted_at.elapsed() < Duration::from_secs(1),
            "node 2 still has the scale a second after its deletion"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(nodes);
    for id in &ids {
        forget_session(&setup.mqtt_url, id).await;
    }
    registry.close().await;
    db.close().await;
}
