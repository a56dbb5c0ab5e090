//! The live stream, for real: a WebSocket client follows a scale while a rumqttc client
//! publishes its readings; a viewer that never reads does not hold anything up.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rumqttc::{AsyncClient, QoS};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use wages_testkit::TestServer;

fn live_url(server: &TestServer, id: &str) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    server.ws_request(&format!("/api/devices/{id}/live"))
}

async fn publish(mqtt: &AsyncClient, id: &str, from: u64, count: u64, per_message: u64) {
    for m in 0..count / per_message {
        let lines: Vec<String> = (0..per_message)
            .map(|i| {
                let t = from + m * per_message + i;
                format!("client_id={id};session_id=live;value={};tstamp={t}", t as f64 / 10.0)
            })
            .collect();
        mqtt.publish(format!("wages/devices/{id}/readings"), QoS::AtLeastOnce, false, lines.join("\n"))
            .await
            .expect("publish");
    }
}

async fn live_readings_arrive_in_order(base: &str) {
    let server = TestServer::builder().base(base).start().await;
    server.register("live-1").await;
    let (mut viewer, _) = tokio_tungstenite::connect_async(live_url(&server, "live-1")).await.expect("WebSocket");
    let mqtt = server.mqtt_client("live-pub").await;
    publish(&mqtt, "live-1", 1000, 15, 5).await;
    let mut frames = Vec::new();
    while frames.len() < 15 {
        let frame = tokio::time::timeout(Duration::from_secs(10), viewer.next()).await.expect("a frame in time");
        let Some(Ok(Message::Text(text))) = frame else { panic!("unexpected frame {frame:?}") };
        frames.push(serde_json::from_str::<Value>(&text).expect("JSON"));
    }
    assert_eq!(frames[0], json!({"client_id": "live-1", "session_id": "live", "value": 100.0, "tstamp": 1000}));
    let times: Vec<u64> = frames.iter().filter_map(|f| f["tstamp"].as_u64()).collect();
    assert_eq!(times, (1000..1015).collect::<Vec<_>>());
    server.stop().await;
}

#[tokio::test]
async fn live_readings_arrive_in_order_at_the_root() {
    live_readings_arrive_in_order("").await;
}

#[tokio::test]
async fn live_readings_arrive_in_order_under_a_base_path() {
    live_readings_arrive_in_order("/wages").await;
}

#[tokio::test]
async fn unknown_scales_and_plain_requests_are_refused() {
    let server = TestServer::start().await;
    let refused = tokio_tungstenite::connect_async(live_url(&server, "nobody")).await.expect_err("refused");
    let tokio_tungstenite::tungstenite::Error::Http(response) = refused else { panic!("{refused:?}") };
    assert_eq!(response.status().as_u16(), 404);
    server.register("live-2").await;
    let (status, body) = server.get("/api/devices/live-2/live").await;
    assert_eq!(status, 400, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn a_viewer_that_never_reads_holds_up_neither_ingestion_nor_other_viewers() {
    let server = TestServer::start().await;
    server.register("live-3").await;
    // Connected, then never read from: its socket buffers fill, then it falls behind.
    let (_stalled, _) = tokio_tungstenite::connect_async(live_url(&server, "live-3")).await.expect("WebSocket");
    let (mut active, _) = tokio_tungstenite::connect_async(live_url(&server, "live-3")).await.expect("WebSocket");
    let mqtt = server.mqtt_client("live-pub-3").await;
    publish(&mqtt, "live-3", 0, 20_000, 100).await;

    // The active viewer reaches the last reading (skipping ahead if it ever fell behind).
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = 0;
    loop {
        let frame = tokio::time::timeout_at(deadline.into(), active.next()).await.expect("the last reading in time");
        let Some(Ok(Message::Text(text))) = frame else { panic!("unexpected frame {frame:?}") };
        seen += 1;
        if serde_json::from_str::<Value>(&text).expect("JSON")["tstamp"] == 19_999 {
            break;
        }
    }
    assert!(seen > 1000, "the active viewer saw {seen} readings");
    server.eventually("/api/pipeline", |v| v["stored"] == 20_000).await;
    server.stop().await;
}

#[tokio::test]
async fn the_fleet_stream_brings_each_scales_newest_reading() {
    let server = TestServer::builder().base("/wages").start().await;
    server.register("fleet-a").await;
    server.register("fleet-b").await;
    let url = server.ws_request("/api/live");
    let (mut viewer, _) = tokio_tungstenite::connect_async(url).await.expect("WebSocket");
    let mqtt = server.mqtt_client("fleet-pub").await;
    publish(&mqtt, "fleet-a", 0, 50, 50).await;
    publish(&mqtt, "fleet-b", 100, 10, 10).await;
    // However the two messages were batched, each scale's last frame is its newest reading.
    let mut newest = std::collections::HashMap::new();
    while newest.get("fleet-a") != Some(&49) || newest.get("fleet-b") != Some(&109) {
        let frame = tokio::time::timeout(Duration::from_secs(10), viewer.next()).await.expect("a frame in time");
        let Some(Ok(Message::Text(text))) = frame else { panic!("unexpected frame {frame:?}") };
        let reading: Value = serde_json::from_str(&text).expect("JSON");
        let id = reading["client_id"].as_str().expect("client_id").to_owned();
        let t = reading["tstamp"].as_u64().expect("tstamp");
        assert!(newest.insert(id, t).is_none_or(|before| before < t), "in order: {reading}");
    }
    let (status, body) = server.get("/api/live").await;
    assert_eq!(status, 400, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn live_readings_carry_what_the_machine_measured() {
    let server = TestServer::start().await;
    server.register("live-de1").await;
    let (mut viewer, _) = tokio_tungstenite::connect_async(live_url(&server, "live-de1")).await.expect("WebSocket");
    let mqtt = server.mqtt_client("live-de1-pub").await;
    let lines = "client_id=live-de1;session_id=s;value=1.5;tstamp=1000;pressure=9.1;water_temperature=93\n\
                 client_id=live-de1;session_id=s;value=1.7;tstamp=1100";
    mqtt.publish("wages/devices/live-de1/readings", QoS::AtLeastOnce, false, lines).await.expect("publish");
    let mut frames = Vec::new();
    while frames.len() < 2 {
        let frame = tokio::time::timeout(Duration::from_secs(10), viewer.next()).await.expect("a frame in time");
        let Some(Ok(Message::Text(text))) = frame else { panic!("unexpected frame {frame:?}") };
        frames.push(serde_json::from_str::<Value>(&text).expect("JSON"));
    }
    assert_eq!(
        frames,
        [
            json!({"client_id": "live-de1", "session_id": "s", "value": 1.5, "tstamp": 1000,
                   "pressure": 9.1, "water_temperature": 93.0}),
            json!({"client_id": "live-de1", "session_id": "s", "value": 1.7, "tstamp": 1100}),
        ]
    );
    server.stop().await;
}
