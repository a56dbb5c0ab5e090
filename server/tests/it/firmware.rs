//! Firmware rollout, for real: an offer published through the API is retained on the
//! embedded broker (a scale subscribing later still gets it), scales report the version
//! they run, and the rollout counts them.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, Packet, QoS};
use serde_json::{Value, json};
use wages_testkit::TestServer;

/// What a scale subscribing to `topic` now receives first: the retained message.
async fn retained(server: &TestServer, topic: &str) -> String {
    let options = server.mqtt_options(&format!("fw-sub-{}", topic.len()));
    let (client, mut eventloop) = AsyncClient::new(options, 10);
    client.subscribe(topic, QoS::AtLeastOnce).await.expect("subscribe");
    let received = async {
        loop {
            if let Event::Incoming(Packet::Publish(p)) = eventloop.poll().await.expect("broker") {
                assert!(p.retain, "the offer is retained");
                return String::from_utf8(p.payload.to_vec()).expect("UTF-8");
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), received).await.expect("the retained offer arrives")
}

async fn post(server: &TestServer, body: Value) -> (u16, Value) {
    let res = server.http().post(server.url("/api/firmware")).json(&body).send().await.expect("post");
    (res.status().as_u16(), res.json().await.expect("json"))
}

#[tokio::test]
async fn an_offer_reaches_the_fleet_and_the_rollout_counts_who_took_it() {
    let server = TestServer::builder().base("/wages").start().await;
    for id in ["fw-1", "fw-2"] {
        server.register(id).await;
    }
    let mqtt = server.mqtt_client("fw-scales").await;
    let status = |id: &'static str, s: &'static str| {
        let mqtt = mqtt.clone();
        async move {
            mqtt.publish(format!("wages/devices/{id}/status"), QoS::AtLeastOnce, true, s).await.expect("status");
        }
    };
    status("fw-1", "online;firmware=1.4.2").await;
    server.eventually("/api/devices/fw-1", |d| d["online"] == true).await;

    let sha = "C0FFEE00".repeat(8);
    let (code, published) =
        post(&server, json!({"version": "1.5.0", "url": "https://fw.example/1.5.0.bin", "sha256": sha})).await;
    assert_eq!(code, 201, "{published}");
    assert_eq!(published["topic"], "wages/firmware");
    let expected = format!("version=1.5.0;url=https://fw.example/1.5.0.bin;sha256={}", sha.to_lowercase());
    assert_eq!(retained(&server, "wages/firmware").await, expected);

    let rollout = server.json("/api/firmware").await;
    assert_eq!(rollout["offer"]["version"], "1.5.0");
    assert_eq!((rollout["updated"].as_u64(), rollout["total"].as_u64()), (Some(0), Some(2)));
    let states: Vec<(&str, &str)> = rollout["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .map(|d| (d["client_id"].as_str().unwrap_or(""), d["state"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(states, [("fw-1", "pending"), ("fw-2", "offline")]);

    // fw-1 takes it and reports the new version.
    status("fw-1", "online;firmware=1.5.0").await;
    let rollout = server.eventually("/api/firmware", |r| r["updated"] == 1).await;
    assert_eq!(rollout["devices"][1]["client_id"], "fw-1");
    assert_eq!(rollout["devices"][1]["state"], "updated");

    // One scale only: its own topic; the fleet's offer stays.
    let (code, published) = post(
        &server,
        json!({"version": "1.6.0-beta", "url": "https://fw.example/b.bin", "sha256": sha, "client_id": "fw-2"}),
    )
    .await;
    assert_eq!((code, published["topic"].as_str()), (201, Some("wages/devices/fw-2/firmware")));
    assert!(retained(&server, "wages/devices/fw-2/firmware").await.starts_with("version=1.6.0-beta;"));
    assert_eq!(server.json("/api/firmware").await["offer"]["version"], "1.5.0");
    server.stop().await;
}

#[tokio::test]
async fn bad_offers_are_refused_field_by_field() {
    let server = TestServer::start().await;
    let sha = "ab".repeat(32);
    for (body, field) in [
        (json!({"version": "1 5", "url": "https://x", "sha256": sha}), "version"),
        (json!({"version": "1.5", "url": "ftp://x", "sha256": sha}), "url"),
        (json!({"version": "1.5", "url": "https://x", "sha256": "abc"}), "sha256"),
    ] {
        let (code, error) = post(&server, body).await;
        assert_eq!((code, error["error"]["field"].as_str()), (422, Some(field)), "{error}");
    }
    let (code, error) =
        post(&server, json!({"version": "1.5", "url": "https://x", "sha256": sha, "client_id": "nobody"})).await;
    assert_eq!(code, 404, "{error}");
    let (code, _) = post(&server, json!({"version": "1.5"})).await;
    assert_eq!(code, 422);
    assert!(server.json("/api/firmware").await["offer"].is_null(), "nothing was published");
    server.stop().await;
}

/// A scale's recipe target, retained on its own target topic, read with its own login;
/// a recipe without a target clears it.
#[tokio::test]
async fn a_scale_reads_its_target_from_its_recipe() {
    let server = TestServer::start().await;
    let password = server.register("tg-1").await;
    let put = |body: Value| {
        let request = server.http().put(server.url("/api/devices/tg-1/recipe")).json(&body);
        async move { request.send().await.expect("put").status().as_u16() }
    };
    assert_eq!(put(json!({"dose": 18.0, "target_yield": 36.5})).await, 200);
    let first_message = |options: rumqttc::MqttOptions| async move {
        let (client, mut eventloop) = AsyncClient::new(options, 10);
        client.subscribe("wages/devices/tg-1/target", QoS::AtLeastOnce).await.expect("subscribe");
        let received = async {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        return Some(String::from_utf8(p.payload.to_vec()).expect("UTF-8"));
                    }
                    Ok(_) => {}
                    Err(_) => return None,
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(2), received).await.ok().flatten()
    };
    let target = first_message(server.scale_options("tg-1", &password)).await.expect("the retained target");
    assert_eq!(serde_json::from_str::<Value>(&target).expect("JSON"), json!({"target_yield": 36.5, "dose": 18.0}));
    assert_eq!(put(json!({"dose": 18.0})).await, 200);
    assert_eq!(first_message(server.scale_options("tg-1", &password)).await, None, "no target: nothing retained");
    server.stop().await;
}
