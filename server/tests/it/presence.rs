//! Presence, for real: scales publish their status (`online;firmware=…`, retained, and
//! `offline` as a last will) to the embedded broker; the registry keeps it, the API shows
//! it, the fleet's live stream tells viewers, and bad statuses become dead letters.

use std::time::Duration;

use futures_util::StreamExt;
use rumqttc::{AsyncClient, EventLoop, LastWill, QoS};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use wages_testkit::TestServer;

async fn status(mqtt: &AsyncClient, id: &str, payload: &str) {
    mqtt.publish(format!("wages/devices/{id}/status"), QoS::AtLeastOnce, true, payload).await.expect("publish");
}

#[tokio::test]
async fn status_messages_keep_presence_and_firmware_and_reach_the_fleet_stream() {
    let server = TestServer::builder().base("/wages").start().await;
    server.register("p-1").await;
    let url = server.ws_request("/api/live");
    let (mut fleet, _) = tokio_tungstenite::connect_async(url).await.expect("WebSocket");
    let mqtt = server.mqtt_client("presence-pub").await;

    status(&mqtt, "p-1", "online;firmware=1.4.2").await;
    let device = server.eventually("/api/devices/p-1", |d| d["online"] == true).await;
    assert_eq!(device["firmware_version"], "1.4.2");
    assert!(device["last_seen_at"].as_i64().is_some(), "{device}");
    let frame = tokio::time::timeout(Duration::from_secs(10), fleet.next()).await.expect("a frame in time");
    let Some(Ok(Message::Text(text))) = frame else { panic!("unexpected frame {frame:?}") };
    let frame: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!((&frame["device"]["client_id"], &frame["device"]["online"]), (&"p-1".into(), &true.into()), "{frame}");

    // Offline keeps the firmware it knew.
    status(&mqtt, "p-1", "offline").await;
    let device = server.eventually("/api/devices/p-1", |d| d["online"] == false).await;
    assert_eq!(device["firmware_version"], "1.4.2");

    // Refused: a status nobody can read, and one of a scale not registered.
    status(&mqtt, "p-1", "asleep").await;
    status(&mqtt, "p-ghost", "online").await;
    let pipeline = server.eventually("/api/pipeline", |p| p["rejected"]["unknown_device"] == 1).await;
    assert_eq!(pipeline["rejected"]["bad_status"], 1, "{pipeline}");
    let letters = server.json("/api/dead-letters").await;
    let reasons: Vec<&str> = letters.as_array().expect("list").iter().filter_map(|l| l["line"].as_str()).collect();
    assert!(reasons.contains(&"asleep") && reasons.contains(&"online"), "{letters}");
    assert_eq!(server.json("/api/devices/p-1").await["online"], false, "a bad status changes nothing");
    server.stop().await;
}

#[tokio::test]
async fn a_scale_that_vanishes_goes_offline_by_its_last_will() {
    let server = TestServer::start().await;
    let password = server.register("p-2").await;
    let mut options = server.scale_options("p-2", &password);
    options.set_keep_alive(Duration::from_secs(5));
    options.set_last_will(LastWill::new("wages/devices/p-2/status", "offline", QoS::AtLeastOnce, true));
    let (scale, mut eventloop): (AsyncClient, EventLoop) = AsyncClient::new(options, 10);
    let driver = tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    status(&scale, "p-2", "online;firmware=2.0.0").await;
    server.eventually("/api/devices/p-2", |d| d["online"] == true).await;
    // Gone without a DISCONNECT: the broker publishes the will.
    driver.abort();
    drop(scale);
    let device = server.eventually("/api/devices/p-2", |d| d["online"] == false).await;
    assert_eq!(device["firmware_version"], "2.0.0");
    server.stop().await;
}

#[tokio::test]
async fn readings_keep_last_seen_at() {
    let server = TestServer::start().await;
    server.register("p-3").await;
    assert!(server.json("/api/devices/p-3").await["last_seen_at"].is_null());
    let mqtt = server.mqtt_client("p-3-pub").await;
    let before = wages_codec::clock::now_ms();
    let line = "client_id=p-3;session_id=s;value=1;tstamp=1000";
    mqtt.publish("wages/devices/p-3/readings", QoS::AtLeastOnce, false, line).await.expect("publish");
    // The registry hears of it within the pipeline's 5 s rhythm.
    let device = server.eventually("/api/devices/p-3", |d| d["last_seen_at"].is_i64()).await;
    let seen = u64::try_from(device["last_seen_at"].as_i64().expect("ms")).expect("positive");
    assert!(seen >= before, "{device}");
    server.stop().await;
}
