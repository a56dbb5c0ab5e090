//! Readings in over MQTT, for real: a rumqttc client publishes to the embedded broker,
//! the pipeline stores what is valid, rejects the rest line by line, and stores a
//! redelivered reading once. On SQLite and on PostgreSQL.

mod common;

use common::{Db, TestServer};
use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::json;

/// A publishing scale: a real MQTT client with its event loop polled in the background.
async fn scale(server: &TestServer, id: &str) -> AsyncClient {
    let addr = server.mqtt.expect("embedded broker");
    let mut options = MqttOptions::new(format!("test-{id}"), addr.ip().to_string(), addr.port());
    options.set_max_packet_size(300_000, 300_000);
    let (client, mut eventloop) = AsyncClient::new(options, 100);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    client
}

async fn register(server: &TestServer, id: &str) {
    let res = reqwest::Client::new()
        .post(server.url("/api/devices"))
        .json(&json!({"client_id": id, "name": id}))
        .send()
        .await;
    assert_eq!(res.expect("post").status().as_u16(), 201);
}

fn line(id: &str, session: &str, t: u64, grams: f64) -> String {
    format!("client_id={id};session_id={session};value={grams};tstamp={t}")
}

async fn valid_lines_are_stored_and_bad_ones_rejected(db: Db) {
    let server = TestServer::start_with("", db).await;
    register(&server, "scale-01").await;
    let mqtt = scale(&server, "scale-01").await;
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
    let server = TestServer::start_with("", Db::Sqlite).await;
    let mqtt = scale(&server, "stranger").await;
    mqtt.publish("wages/devices/stranger/readings", QoS::AtLeastOnce, false, line("stranger", "s", 1, 1.0))
        .await
        .expect("publish");
    let dead = server.eventually("/api/dead-letters", |v| v.as_array().is_some_and(|a| a.len() == 1)).await;
    assert!(dead[0]["reason"].as_str().is_some_and(|r| r.contains("not registered")));
    let figures = server.json("/api/pipeline").await;
    assert_eq!((figures["stored"].as_u64(), figures["rejected"]["unknown_device"].as_u64()), (Some(0), Some(1)));
    server.stop().await;

    let server = TestServer::start_full("", Db::Sqlite, true).await;
    let mqtt = scale(&server, "newcomer").await;
    mqtt.publish("wages/devices/newcomer/readings", QoS::AtLeastOnce, false, line("newcomer", "s", 1, 1.0))
        .await
        .expect("publish");
    server
        .eventually("/api/devices/newcomer/sessions/s/readings", |v| v.as_array().is_some_and(|a| a.len() == 1))
        .await;
    assert_eq!(server.json("/api/devices/newcomer").await["name"], "newcomer");
    server.stop().await;
}

#[tokio::test]
async fn every_reading_of_many_messages_is_stored_exactly_once() {
    let server = TestServer::start_with("", Db::Sqlite).await;
    register(&server, "scale-01").await;
    let mqtt = scale(&server, "scale-01").await;
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
    let server = TestServer::start_with("", Db::Sqlite).await;
    register(&server, "scale-01").await;
    let mqtt = scale(&server, "scale-01").await;
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
    let server = TestServer::start_with("/wages", Db::Sqlite).await;
    register(&server, "tab-01").await;
    let url = format!("ws://{}/wages/mqtt", server.addr);
    let mut options = MqttOptions::new("test-ws", url, server.addr.port());
    options.set_transport(rumqttc::Transport::Ws);
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
