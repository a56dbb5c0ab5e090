//! What Wages publishes back to the broker, seen by a real MQTT subscriber: a scale's
//! live state, its session's summary once the session ends, running aggregates, and
//! Home Assistant's discovery configs (docs/protocol.md).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, EventLoop, Packet, QoS};
use serde_json::Value;
use wages_codec::clock::now_ms;
use wages_testkit::TestServer;

/// Retained messages by topic until `done` holds for what arrived, or 20 s pass.
async fn collect(eventloop: &mut EventLoop, done: impl Fn(&HashMap<String, Value>) -> bool) -> HashMap<String, Value> {
    let mut seen = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done(&seen) {
        assert!(Instant::now() < deadline, "never got there; seen: {seen:#?}");
        let Ok(event) = tokio::time::timeout(Duration::from_secs(1), eventloop.poll()).await else { continue };
        if let Event::Incoming(Packet::Publish(p)) = event.expect("connected") {
            let value =
                serde_json::from_slice(&p.payload).unwrap_or_else(|_| Value::String(format!("{:?}", p.payload)));
            seen.insert(p.topic.clone(), value);
        }
    }
    seen
}

#[tokio::test]
async fn summaries_state_aggregates_and_home_assistant_discovery_reach_subscribers() {
    let server = TestServer::builder().var("WAGES_AGGREGATES_SECONDS", "1").start().await;
    server.register("agg-1").await;
    let recipe = serde_json::json!({"method": "espresso", "dose": 15.0});
    let set = server.http().put(server.url("/api/devices/agg-1/recipe")).json(&recipe).send().await.expect("recipe");
    assert_eq!(set.status().as_u16(), 200);
    let (watcher, mut watching) = AsyncClient::new(server.mqtt_options("watcher"), 100);
    watcher.subscribe("wages/devices/agg-1/+", QoS::AtLeastOnce).await.expect("subscribe");
    watcher.subscribe("homeassistant/sensor/+/config", QoS::AtLeastOnce).await.expect("subscribe");

    // A finished 3 s extraction (it ended 20 s ago): 31 readings, 0 to 30 g.
    let t0 = now_ms() - 23_000;
    let lines: Vec<String> =
        (0..=30).map(|i| format!("client_id=agg-1;session_id=shot-1;value={i};tstamp={}", t0 + i * 100)).collect();
    let scale = server.mqtt_client("agg-publisher").await;
    scale.publish("wages/devices/agg-1/readings", QoS::AtLeastOnce, false, lines.join("\n")).await.expect("publish");

    let seen = collect(&mut watching, |s| {
        s.contains_key("wages/devices/agg-1/session")
            && s.get("wages/devices/agg-1/aggregates").is_some_and(|a| a["sessions"] == 1)
            && s.contains_key("homeassistant/sensor/wages_agg-1_flow/config")
    })
    .await;
    let summary = &seen["wages/devices/agg-1/session"];
    assert_eq!(summary["session_id"], "shot-1");
    assert_eq!(summary["count"], 31);
    assert_eq!(summary["final_weight"], 30.0);
    assert_eq!(summary["duration_ms"], 3000);
    assert_eq!(summary["live"], false);
    // The shot as brewed, and what to change on the next one: 3 s is far too fast.
    assert_eq!((summary["method"].as_str(), summary["dose"].as_f64()), (Some("espresso"), Some(15.0)));
    assert_eq!(summary["next"]["change"], "grind_finer", "{summary}");
    assert_eq!(summary["next"]["reason"], "ran 3 s for 1:2.0, under the 25–35 s aimed at: grind finer");
    let state = &seen["wages/devices/agg-1/state"];
    assert_eq!((state["weight"].as_f64(), state["session_id"].as_str()), (Some(30.0), Some("shot-1")));
    assert!(state["flow"].as_f64().is_some_and(|f| (f - 10.0).abs() < 0.5), "{state}");
    let aggregates = &seen["wages/devices/agg-1/aggregates"];
    assert_eq!(aggregates["readings"], 31);
    assert_eq!(aggregates["mean_final_weight"], 30.0);
    assert_eq!(aggregates["last_session_id"], "shot-1");
    let weight = &seen["homeassistant/sensor/wages_agg-1_weight/config"];
    assert_eq!(weight["state_topic"], "wages/devices/agg-1/state");
    assert_eq!(weight["availability_topic"], "wages/devices/agg-1/status");
    assert_eq!(weight["unit_of_measurement"], "g");
    assert_eq!(weight["device"]["name"], "agg-1");

    // A second session starting ends nothing new until it, too, goes quiet; its live state
    // comes at once. Everything above was retained: a newcomer gets it on subscribing.
    let (late, mut arriving) = AsyncClient::new(server.mqtt_options("late"), 100);
    late.subscribe("wages/devices/agg-1/session", QoS::AtLeastOnce).await.expect("subscribe");
    let retained = collect(&mut arriving, |s| s.contains_key("wages/devices/agg-1/session")).await;
    assert_eq!(retained["wages/devices/agg-1/session"]["session_id"], "shot-1");
    server.stop().await;
}

#[tokio::test]
async fn nothing_is_published_back_when_turned_off() {
    let server = TestServer::builder().var("WAGES_AGGREGATES_SECONDS", "0").start().await;
    server.register("quiet-1").await;
    let (watcher, mut watching) = AsyncClient::new(server.mqtt_options("watcher"), 100);
    watcher.subscribe("wages/devices/quiet-1/+", QoS::AtLeastOnce).await.expect("subscribe");
    watcher.subscribe("homeassistant/#", QoS::AtLeastOnce).await.expect("subscribe");
    let t0 = now_ms() - 20_000;
    let line = format!("client_id=quiet-1;session_id=s;value=1;tstamp={t0}");
    server
        .mqtt_client("p")
        .await
        .publish("wages/devices/quiet-1/readings", QoS::AtLeastOnce, false, line)
        .await
        .expect("publish");
    server.eventually("/api/devices/quiet-1/sessions/s/readings", |r| r.as_array().is_some_and(|a| a.len() == 1)).await;
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok(event) = tokio::time::timeout(Duration::from_millis(200), watching.poll()).await
            && let Event::Incoming(Packet::Publish(p)) = event.expect("connected")
        {
            assert_eq!(p.topic, "wages/devices/quiet-1/readings", "only the scale's own message");
        }
    }
    server.stop().await;
}

/// A fleet's figures all go out, none dropped in the burst: each of 6,000 scales heard
/// from gets its retained state and its running aggregates, which go out for all of them
/// at once.
#[tokio::test]
async fn every_scale_of_a_large_fleet_gets_its_state_and_aggregates() {
    const SCALES: usize = 6_000;
    let server = TestServer::builder()
        .auto_register()
        .var("WAGES_HA_DISCOVERY_PREFIX", "off")
        .var("WAGES_AGGREGATES_SECONDS", "2")
        .start()
        .await;
    let (watcher, mut watching) = AsyncClient::new(server.mqtt_options("watcher"), 100);
    watcher.subscribe("wages/devices/+/state", QoS::AtMostOnce).await.expect("subscribe");
    watcher.subscribe("wages/devices/+/aggregates", QoS::AtMostOnce).await.expect("subscribe");
    let publisher = server.mqtt_client("fleet-publisher").await;
    let t0 = now_ms();
    for i in 0..SCALES {
        let line = format!("client_id=fleet-{i};session_id=s;value={i};tstamp={t0}");
        publisher
            .publish(format!("wages/devices/fleet-{i}/readings"), QoS::AtMostOnce, false, line)
            .await
            .expect("publish");
    }
    let mut states = std::collections::HashSet::new();
    let mut aggregates = std::collections::HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while (states.len() < SCALES || aggregates.len() < SCALES) && Instant::now() < deadline {
        let Ok(event) = tokio::time::timeout(Duration::from_secs(1), watching.poll()).await else { continue };
        if let Event::Incoming(Packet::Publish(p)) = event.expect("connected") {
            if p.topic.ends_with("/state") {
                states.insert(p.topic.clone());
            } else {
                aggregates.insert(p.topic.clone());
            }
        }
    }
    assert_eq!((states.len(), aggregates.len()), (SCALES, SCALES), "states and aggregates that arrived");
    server.stop().await;
}
