//! Readings in over MQTT, for real: a rumqttc client publishes to the embedded broker,
//! the pipeline stores what is valid, rejects the rest line by line, and stores a
//! redelivered reading once. On SQLite and on PostgreSQL.

use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::json;
use wages_testkit::{Db, TestServer};

fn line(id: &str, session: &str, t: u64, grams: f64) -> String {
    format!("client_id={id};session_id={session};value={grams};tstamp={t}")
}

async fn valid_lines_are_stored_and_bad_ones_rejected(db: Db) {
    let server = TestServer::builder().db(db).start().await;
    server.register("scale-01").await;
    let mqtt = server.mqtt_client("test-scale-01").await;
    let payload = [
        line("scale-01", "brew-1", 1000, 0.5),
        "client_id=scale-01;session_id=brew-1;value=heavy;tstamp=1100".to_owned(),
        line("scale-01", "brew-1", 1200, 1.5),
        line("scale-02", "brew-1", 1300, 2.5), // another device's id in this device's topic
        r#"{"client_id":"scale-01","session_id":"brew-1","value":2.0,"tstamp":1400}"#.to_owned(),
    ]
    .join("\n");
    mqtt.publish("wages/devices/scale-01/readings", QoS::AtLeastOnce, false, payload.clone()).await.expect("publish");

    let rows = server
        .eventually("/api/devices/scale-01/sessions/brew-1/readings", |v| v.as_array().is_some_and(|a| a.len() == 3))
        .await;
    let times: Vec<_> = rows.as_array().expect("array").iter().map(|r| r["tstamp"].as_u64()).collect();
    assert_eq!(times, [Some(1000), Some(1200), Some(1400)]);

    let dead = server.eventually("/api/dead-letters", |v| v.as_array().is_some_and(|a| a.len() == 2)).await;
    assert_eq!(dead[1]["line"], "client_id=scale-01;session_id=brew-1;value=heavy;tstamp=1100");
    assert_eq!(dead[1]["reason"], r#"line 2, byte 43: expected a number for value, found "heavy""#);
    assert_eq!(dead[1]["topic"], "wages/devices/scale-01/readings");
    assert!(dead[0]["reason"].as_str().is_some_and(|r| r.contains("does not match")));

    // The same message again (as a redelivery would bring it): stored once.
    mqtt.publish("wages/devices/scale-01/readings", QoS::AtLeastOnce, false, payload).await.expect("publish");
    let figures = server.eventually("/api/pipeline", |v| v["messages"] == 2 && v["duplicates"] == 3).await;
    assert_eq!(figures["stored"], 3);
    assert_eq!(figures["rejected"]["syntax"], 2);
    assert_eq!(figures["rejected"]["client_id_mismatch"], 2);
    assert!(figures["broker"].as_str().is_some_and(|b| b.starts_with("embedded")));
    let rows = server.json("/api/devices/scale-01/sessions/brew-1/readings").await;
    assert_eq!(rows.as_array().map(Vec::len), Some(3));
    server.stop().await;
}

#[tokio::test]
async fn valid_lines_are_stored_and_bad_ones_rejected_on_sqlite() {
    valid_lines_are_stored_and_bad_ones_rejected(Db::Sqlite).await;
}

#[tokio::test]
async fn valid_lines_are_stored_and_bad_ones_rejected_on_postgres() {
    valid_lines_are_stored_and_bad_ones_rejected(Db::Postgres).await;
}

#[tokio::test]
async fn unknown_devices_are_rejected_unless_auto_registration_is_on() {
    let server = TestServer::start().await;
    let mqtt = server.mqtt_client("test-stranger").await;
    mqtt.publish("wages/devices/stranger/readings", QoS::AtLeastOnce, false, line("stranger", "s", 1, 1.0))
        .await
        .expect("publish");
    let dead = server.eventually("/api/dead-letters", |v| v.as_array().is_some_and(|a| a.len() == 1)).await;
    assert!(dead[0]["reason"].as_str().is_some_and(|r| r.contains("not registered")));
    let figures = server.json("/api/pipeline").await;
    assert_eq!((figures["stored"].as_u64(), figures["rejected"]["unknown_device"].as_u64()), (Some(0), Some(1)));
    server.stop().await;

    let server = TestServer::builder().auto_register().start().await;
    let mqtt = server.mqtt_client("test-newcomer").await;
    mqtt.publish("wages/devices/newcomer/readings", QoS::AtLeastOnce, false, line("newcomer", "s", 1, 1.0))
        .await
        .expect("publish");
    server
        .eventually("/api/devices/newcomer/sessions/s/readings", |v| v.as_array().is_some_and(|a| a.len() == 1))
        .await;
    assert_eq!(server.json("/api/devices/newcomer").await["name"], "newcomer");
    server.stop().await;
}

/// The pipeline keeps its own note of the scales it found registered; a deletion ends it.
#[tokio::test]
async fn a_deleted_scales_next_readings_are_refused() {
    let server = TestServer::start().await;
    server.register("scale-01").await;
    let mqtt = server.mqtt_client("test-scale-01").await;
    for t in [1, 2] {
        mqtt.publish("wages/devices/scale-01/readings", QoS::AtLeastOnce, false, line("scale-01", "s", t, 1.0))
            .await
            .expect("publish");
    }
    server.eventually("/api/pipeline", |v| v["stored"] == 2).await;
    let deleted = server.http().delete(server.url("/api/devices/scale-01")).send().await.expect("delete");
    assert_eq!(deleted.status().as_u16(), 204);
    mqtt.publish("wages/devices/scale-01/readings", QoS::AtLeastOnce, false, line("scale-01", "s", 3, 1.0))
        .await
        .expect("publish");
    let figures = server.eventually("/api/pipeline", |v| v["rejected"]["unknown_device"] == 1).await;
    assert_eq!(figures["stored"], 2);
    server.stop().await;
}

#[tokio::test]
async fn every_reading_of_many_messages_is_stored_exactly_once() {
    let server = TestServer::start().await;
    server.register("scale-01").await;
    let mqtt = server.mqtt_client("test-scale-01").await;
    // 200 messages of 10 readings: one 10 Hz extraction of 200 s.
    for m in 0..200u64 {
        let payload: Vec<String> =
            (0..10).map(|i| line("scale-01", "long", (m * 10 + i) * 100, (m * 10 + i) as f64 / 10.0)).collect();
        mqtt.publish("wages/devices/scale-01/readings", QoS::AtLeastOnce, false, payload.join("\n"))
            .await
            .expect("publish");
    }
    server.eventually("/api/pipeline", |v| v["stored"] == 2000).await;
    let summary = server.json("/api/devices/scale-01/sessions/long").await;
    assert_eq!((summary["count"].as_u64(), summary["duration_ms"].as_u64()), (Some(2000), Some(199_900)));
    let dead = server.json("/api/dead-letters").await;
    assert_eq!(dead, json!([]));
    server.stop().await;
}

#[tokio::test]
async fn a_message_over_the_bounds_is_refused_whole() {
    let server = TestServer::start().await;
    server.register("scale-01").await;
    let mqtt = server.mqtt_client("test-scale-01").await;
    let many: Vec<String> = (0..1001).map(|i| line("scale-01", "big", i, 1.0)).collect();
    mqtt.publish("wages/devices/scale-01/readings", QoS::AtLeastOnce, false, many.join("\n")).await.expect("publish");
    mqtt.publish("wages/devices/scale-01/readings", QoS::AtLeastOnce, false, line("scale-01", "after", 1, 1.0))
        .await
        .expect("publish");
    let figures = server.eventually("/api/pipeline", |v| v["stored"] == 1).await;
    assert_eq!(figures["rejected"]["too_many_readings"], 1);
    server.stop().await;
}

#[tokio::test]
async fn readings_arrive_over_websocket_at_the_base_path() {
    let server = TestServer::builder().base("/wages").start().await;
    let password = server.register("tab-01").await;
    let url = format!("ws://{}/wages/mqtt", server.addr);
    let mut options = MqttOptions::new("tab-01", url, server.addr.port());
    options.set_transport(rumqttc::Transport::Ws);
    options.set_credentials("tab-01", password);
    let (client, mut eventloop) = AsyncClient::new(options, 10);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    let payload: Vec<String> = (0..10).map(|i| line("tab-01", "ws", 1000 + i * 100, i as f64)).collect();
    client
        .publish("wages/devices/tab-01/readings", QoS::AtLeastOnce, false, payload.join("\n"))
        .await
        .expect("publish");
    server
        .eventually("/api/devices/tab-01/sessions/ws/readings", |v| v.as_array().is_some_and(|a| a.len() == 10))
        .await;

    // Not a WebSocket, or outside the base path: refused.
    let plain = reqwest::get(server.url("/mqtt")).await.expect("get");
    assert!(plain.status().is_client_error());
    let outside = reqwest::get(format!("http://{}/mqtt", server.addr)).await.expect("get");
    assert_eq!(outside.status().as_u16(), 404);
    server.stop().await;
}

/// Publishes `messages` messages of `per_message` readings for each device, a few at a time.
async fn load(mqtt: AsyncClient, devices: &[&'static str], messages: u64, per_message: u64) {
    for m in 0..messages {
        for id in devices {
            let lines: Vec<String> =
                (0..per_message).map(|i| line(id, "load", m * per_message + i, (m * per_message + i) as f64)).collect();
            mqtt.publish(format!("wages/devices/{id}/readings"), QoS::AtLeastOnce, false, lines.join("\n"))
                .await
                .expect("publish");
        }
        if m % 10 == 9 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}

async fn put_config(server: &TestServer, body: serde_json::Value) -> (u16, serde_json::Value) {
    let res = server.http().put(server.url("/api/pipeline/config")).json(&body).send().await.expect("put");
    (res.status().as_u16(), res.json().await.expect("json"))
}

#[tokio::test]
async fn a_reconfiguration_under_load_loses_nothing() {
    let server = TestServer::start().await;
    const DEVICES: [&str; 3] = ["bar-1", "bar-2", "bar-3"];
    let devices = &DEVICES;
    for id in devices {
        server.register(id).await;
    }
    let publishing = tokio::spawn(load(server.mqtt_client("test-loader").await, devices, 300, 5));
    server.eventually("/api/pipeline", |v| v["stored"].as_u64() >= Some(500)).await;
    let faster = json!({"batch_size": 50, "batch_timeout_ms": 5, "concurrency": 4});
    assert_eq!(put_config(&server, faster.clone()).await, (200, faster));
    server.eventually("/api/pipeline", |v| v["stored"].as_u64() >= Some(2000)).await;
    let bigger = json!({"batch_size": 2000, "batch_timeout_ms": 200, "concurrency": 2});
    assert_eq!(put_config(&server, bigger.clone()).await, (200, bigger.clone()));
    publishing.await.expect("publisher");

    let figures = server.eventually("/api/pipeline", |v| v["stored"] == 4500).await;
    assert_eq!(figures["settings"], bigger);
    assert_eq!(figures["rejected"], json!({}));
    for id in devices {
        let summary = server.json(&format!("/api/devices/{id}/sessions/load")).await;
        assert_eq!((summary["count"].as_u64(), summary["ended_at"].as_u64()), (Some(1500), Some(1499)), "{id}");
        let device = figures["devices"].as_array().and_then(|d| d.iter().find(|d| d["client_id"] == *id)).cloned();
        let device = device.expect("per-device figures");
        assert_eq!((device["min"].as_f64(), device["max"].as_f64()), (Some(0.0), Some(1499.0)), "{device}");
    }
    server.stop().await;
}

#[tokio::test]
async fn settings_out_of_bounds_are_refused_and_change_nothing() {
    let server = TestServer::start().await;
    let (status, body) = put_config(&server, json!({"batch_size": 0, "batch_timeout_ms": 50, "concurrency": 1})).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["field"], "batch_size");
    assert_eq!(body["error"]["message"], "batch_size must be between 1 and 10000, not 0");
    let (status, body) = put_config(&server, json!({"batch_size": 10, "concurrency": 1})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("batch_timeout_ms")), "{body}");
    let (status, _) = put_config(&server, json!({"batch_size": -1, "batch_timeout_ms": 50, "concurrency": 1})).await;
    assert_eq!(status, 422);
    let figures = server.json("/api/pipeline").await;
    assert_eq!(figures["settings"], json!({"batch_size": 2000, "batch_timeout_ms": 50, "concurrency": 1}));
    server.stop().await;
}

#[tokio::test]
async fn while_storage_is_locked_messages_wait_unacknowledged_in_the_client_then_all_are_stored() {
    use sqlx::Connection;
    let server = TestServer::start().await;
    server.register("slow-1").await;
    // Another connection holds the write lock: every insert waits, then fails and is retried.
    let mut blocker = sqlx::SqliteConnection::connect(&server.database).await.expect("second connection");
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut blocker).await.expect("lock");
    let publishing = tokio::spawn(load(server.mqtt_client("test-slow").await, &["slow-1"], 5000, 1));
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let held = server.json("/api/pipeline").await;
    assert_eq!(held["stored"], 0);
    // Nothing stored, nothing acknowledged: the client's window is full and the rest
    // waits in the client, not in the server.
    let in_flight = held["in_flight"].as_u64().expect("in_flight");
    assert!(in_flight > 0 && in_flight <= 4096, "{held}");
    assert!(held["messages"].as_u64() < Some(5000), "{held}");
    assert!(!publishing.is_finished(), "the client could hand over everything while nothing was stored");

    sqlx::query("ROLLBACK").execute(&mut blocker).await.expect("unlock");
    publishing.await.expect("publisher");
    let figures = server.eventually("/api/pipeline", |v| v["stored"] == 5000).await;
    assert_eq!(figures["in_flight"], 0);
    let summary = server.json("/api/devices/slow-1/sessions/load").await;
    assert_eq!(summary["count"], 5000);
    server.stop().await;
}

#[tokio::test]
async fn every_rejection_reason_is_counted_and_the_good_lines_beside_it_are_stored() {
    let server = TestServer::start().await;
    server.register("rej-1").await;
    let mqtt = server.mqtt_client("test-rej-1").await;
    let good = |t: u64| line("rej-1", "good", t, 1.0);
    let topic = "wages/devices/rej-1/readings";
    // (topic, payload, the reason its bad part is counted under)
    let cases: Vec<(&str, String, &str)> = vec![
        (topic, format!("{}\nclient_id=rej-1;session_id=good;value=;tstamp=2", good(1)), "syntax"),
        (topic, format!("{}\nclient_id=rej-1;session_id=no.dots;value=1;tstamp=4", good(3)), "invalid_field"),
        (topic, format!("{}\nclient_id=rej-1;session_id=good;value=200000;tstamp=6", good(5)), "invalid_field"),
        (topic, format!("{}\nclient_id=rej-1;session_id=good;tstamp=8", good(7)), "missing_field"),
        (topic, format!("{}\nclient_id=rej-1;session_id=good;value=1;value=2;tstamp=10", good(9)), "duplicate_field"),
        (topic, format!("{}\n{}", good(11), "x".repeat(1100)), "line_too_long"),
        (topic, format!("{}\n{}", good(13), line("rej-2", "good", 14, 1.0)), "client_id_mismatch"),
        (topic, format!("{}\n{{\"client_id\":\"rej-1\",", good(15)), "syntax"),
        (
            topic,
            format!("{}\n{}", good(17), "client_id=rej-1;session_id=good;value=1;tstamp=99999999999999999"),
            "invalid_field",
        ),
        (topic, (0..1001).map(|i| line("rej-1", "big", i, 1.0)).collect::<Vec<_>>().join("\n"), "too_many_readings"),
        (topic, format!("{}\n{}", good(19), " ".repeat(256_100)), "payload_too_large"),
        ("wages/devices/no.dots/readings", good(21), "bad_topic"),
        ("wages/devices/stranger/readings", line("stranger", "s", 1, 1.0), "unknown_device"),
    ];
    for (topic, payload, _) in &cases {
        mqtt.publish(*topic, QoS::AtLeastOnce, false, payload.clone()).await.expect("publish");
    }
    let figures = server.eventually("/api/pipeline", |v| v["messages"] == cases.len()).await;
    let mut expected = std::collections::BTreeMap::<&str, u64>::new();
    for (_, _, reason) in &cases {
        *expected.entry(reason).or_default() += 1;
    }
    assert_eq!(figures["rejected"], json!(expected), "{figures}");
    // Every good line beside a bad one is stored: t = 1, 3, …, 17.
    let rows = server
        .eventually("/api/devices/rej-1/sessions/good/readings", |v| v.as_array().is_some_and(|a| a.len() == 9))
        .await;
    let times: Vec<u64> = rows.as_array().expect("rows").iter().filter_map(|r| r["tstamp"].as_u64()).collect();
    assert_eq!(times, [1, 3, 5, 7, 9, 11, 13, 15, 17]);
    let dead = server.json("/api/dead-letters").await;
    assert_eq!(dead.as_array().map(Vec::len), Some(cases.len()));
    server.stop().await;
}

#[tokio::test]
async fn protobuf_readings_are_stored_and_bad_ones_dead_lettered() {
    let server = TestServer::start().await;
    let password = server.register("pb-01").await;
    // The scale itself, with its own password: the Protobuf topic is under its own prefix.
    let (scale, mut eventloop) = AsyncClient::new(server.scale_options("pb-01", &password), 10);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    let reading = |t: u64, grams: f64| wages_codec::ProtoReading {
        client_id: "pb-01".into(),
        session_id: "shot".into(),
        value: Some(grams),
        tstamp: Some(t),
        ..wages_codec::ProtoReading::default()
    };
    let mut message =
        wages_codec::ProtoReadings { readings: (0..10).map(|i| reading(1000 + i * 100, i as f64)).collect() };
    message.readings.push(reading(3000, 1e9));
    let payload = prost::Message::encode_to_vec(&message);
    scale.publish("wages/devices/pb-01/readings/protobuf", QoS::AtLeastOnce, false, payload).await.expect("publish");
    scale
        .publish("wages/devices/pb-01/readings/protobuf", QoS::AtLeastOnce, false, "not protobuf")
        .await
        .expect("publish");

    let rows = server
        .eventually("/api/devices/pb-01/sessions/shot/readings", |v| v.as_array().is_some_and(|a| a.len() == 10))
        .await;
    assert_eq!(rows[9]["value"], 9.0);
    let dead = server.eventually("/api/dead-letters", |v| v.as_array().is_some_and(|a| a.len() == 2)).await;
    let reasons: Vec<&str> = dead.as_array().expect("array").iter().filter_map(|d| d["reason"].as_str()).collect();
    assert!(reasons.iter().any(|r| r.starts_with("line 11, byte 0: value must be between")), "{dead}");
    assert!(reasons.iter().any(|r| r.starts_with("not a wages.v1.Readings Protobuf message")), "{dead}");
    assert!(
        dead.as_array()
            .expect("array")
            .iter()
            .any(|d| d["line"] == "client_id=pb-01;session_id=shot;value=1000000000;tstamp=3000")
    );
    server.stop().await;
}

/// The pipeline on the broker: its figures retained on `wages/pipeline/{node}/figures`,
/// its settings changed by a write token publishing on `wages/pipeline/config`, with the
/// API's bounds; a scale may not.
#[tokio::test]
async fn the_pipeline_publishes_its_figures_and_takes_settings_over_mqtt() {
    let server = TestServer::start().await;
    let (client, mut events) = AsyncClient::new(server.mqtt_options("test-pipeline-ops"), 100);
    client.subscribe("wages/pipeline/+/figures", QoS::AtLeastOnce).await.expect("subscribe");
    let figures = loop {
        let event =
            tokio::time::timeout(std::time::Duration::from_secs(10), events.poll()).await.expect("figures in time");
        if let rumqttc::Event::Incoming(rumqttc::Packet::Publish(p)) = event.expect("connected") {
            break serde_json::from_slice::<serde_json::Value>(&p.payload).expect("JSON figures");
        }
    };
    assert_eq!(figures["settings"]["batch_size"], 2000, "{figures}");
    assert_eq!(figures["connected"], true, "the retained figures are from a running pipeline: {figures}");
    assert!(figures["broker"].as_str().is_some_and(|b| b.starts_with("embedded")), "{figures}");
    tokio::spawn(async move { while events.poll().await.is_ok() {} });

    let faster = json!({"batch_size": 50, "batch_timeout_ms": 5, "concurrency": 2});
    client.publish("wages/pipeline/config", QoS::AtLeastOnce, false, faster.to_string()).await.expect("publish");
    server.eventually("/api/pipeline", |v| v["settings"] == faster).await;

    // Out of bounds: a dead letter, the settings as they were.
    let zero = json!({"batch_size": 0, "batch_timeout_ms": 5, "concurrency": 2});
    client.publish("wages/pipeline/config", QoS::AtLeastOnce, false, zero.to_string()).await.expect("publish");
    server.eventually("/api/pipeline", |v| v["rejected"]["bad_pipeline_config"] == 1).await;
    assert_eq!(server.json("/api/pipeline").await["settings"], faster);

    // A scale's login may not publish there at all.
    let password = server.register("ops-scale").await;
    let (scale, mut scale_events) = AsyncClient::new(server.scale_options("ops-scale", &password), 10);
    let defaults = json!({"batch_size": 2000, "batch_timeout_ms": 50, "concurrency": 1});
    scale.publish("wages/pipeline/config", QoS::AtLeastOnce, false, defaults.to_string()).await.expect("publish");
    loop {
        let event =
            tokio::time::timeout(std::time::Duration::from_secs(10), scale_events.poll()).await.expect("cut in time");
        if event.is_err() {
            break;
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(server.json("/api/pipeline").await["settings"], faster, "a scale changed the pipeline");
    server.stop().await;
}

/// The series of `session` of `scale`, by kind, as its JSON export has them.
async fn series_of(server: &TestServer, scale: &str, session: &str) -> serde_json::Map<String, serde_json::Value> {
    let export = server.json(&format!("/api/devices/{scale}/sessions/{session}/export?format=json")).await;
    let series = export["series"].as_array().cloned().unwrap_or_default();
    series.into_iter().map(|s| (s["kind"].as_str().unwrap_or_default().to_owned(), s["points"].clone())).collect()
}

/// What a machine measures rides on its readings into the shot's series: a message of
/// one shot (stored straight into its tables) and one of many shots' readings at once
/// (on SQLite a thin batch, journaled first), in the text, JSON and Protobuf forms.
async fn measures_become_the_shots_series(db: Db) {
    let server = TestServer::builder().db(db).start().await;
    server.register("de1").await;
    let mqtt = server.mqtt_client("test-de1").await;
    let one_shot = [
        line("de1", "shot", 1000, 0.0) + ";pressure=2.5;flow=4.1;water_temperature=92.8;basket_temperature=86",
        line("de1", "shot", 1100, 0.2) + ";pressure=3;flow=3.9;water_dispensed=1.5",
        r#"{"client_id":"de1","session_id":"shot","value":0.5,"tstamp":1200,"pressure":3.5,"flow":null}"#.to_owned(),
        line("de1", "shot", 1300, 0.9),
        // Out of range: this line is rejected, the others stand.
        line("de1", "shot", 1400, 1.2) + ";pressure=31",
    ]
    .join("\n");
    mqtt.publish("wages/devices/de1/readings", QoS::AtLeastOnce, false, one_shot).await.expect("publish");
    let protobuf = wages_codec::ProtoReadings {
        readings: vec![wages_codec::ProtoReading {
            client_id: "de1".into(),
            session_id: "shot".into(),
            value: Some(1.5),
            tstamp: Some(1500),
            pressure: Some(8.75),
            ..wages_codec::ProtoReading::default()
        }],
    };
    let bytes = prost::Message::encode_to_vec(&protobuf);
    mqtt.publish("wages/devices/de1/readings/protobuf", QoS::AtLeastOnce, false, bytes).await.expect("publish");
    server.eventually("/api/pipeline", |v| v["stored"] == 5).await;
    // Twenty shots a reading each in one message.
    let many: Vec<String> =
        (0..20).map(|k| line("de1", &format!("s{k}"), 5000 + k, 1.0) + &format!(";pressure={k}")).collect();
    mqtt.publish("wages/devices/de1/readings", QoS::AtLeastOnce, false, many.join("\n")).await.expect("publish");

    server.eventually("/api/pipeline", |v| v["stored"] == 25).await;
    let dead = server.json("/api/dead-letters").await;
    assert_eq!(dead[0]["reason"], r#"line 5, byte 61: pressure must be between 0 and 30, found "31""#);
    let series = series_of(&server, "de1", "shot").await;
    assert_eq!(series["pressure"], json!([[1000, 2.5], [1100, 3.0], [1200, 3.5], [1500, 8.75]]));
    assert_eq!(series["flow"], json!([[1000, 4.1], [1100, 3.9]]));
    assert_eq!(series["water_temperature"], json!([[1000, 92.8]]));
    assert_eq!(series["basket_temperature"], json!([[1000, 86.0]]));
    assert_eq!(series["water_dispensed"], json!([[1100, 1.5]]));
    for k in [0u64, 7, 19] {
        // A journaled shot is in the shots list once folded, within seconds.
        let path = format!("/api/devices/de1/sessions/s{k}/export?format=json");
        let export = server.eventually(&path, |v| v["series"].as_array().is_some_and(|a| !a.is_empty())).await;
        assert_eq!(export["series"], json!([{"kind": "pressure", "points": [[5000 + k, k as f64]]}]), "shot s{k}");
    }
    // The same messages again change nothing; the weights are stored once.
    let again = line("de1", "shot", 1000, 0.0) + ";pressure=7";
    mqtt.publish("wages/devices/de1/readings", QoS::AtLeastOnce, false, again).await.expect("publish");
    server.eventually("/api/pipeline", |v| v["duplicates"] == 1).await;
    assert_eq!(series_of(&server, "de1", "shot").await["pressure"][0], json!([1000, 2.5]), "the first value stays");
    let rows = server.json("/api/devices/de1/sessions/shot/readings").await;
    assert_eq!(rows.as_array().map(Vec::len), Some(5));
    server.stop().await;
}

#[tokio::test]
async fn measures_become_the_shots_series_on_sqlite() {
    measures_become_the_shots_series(Db::Sqlite).await;
}

#[tokio::test]
async fn measures_become_the_shots_series_on_postgres() {
    measures_become_the_shots_series(Db::Postgres).await;
}
