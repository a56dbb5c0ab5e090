//! Devices on the embedded broker: every connection (TCP and WebSocket) logs in, a scale
//! with its own password, and may publish only under its own topics and subscribe only
//! to its firmware topics. What a scale sends outside them is never acknowledged and
//! never reaches the broker.

use std::time::Duration;

use rumqttc::{AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, MqttOptions, Packet, QoS};
use serde_json::Value;
use wages_testkit::TestServer;

fn reading(id: &str, session: &str, tstamp: u64) -> String {
    format!("client_id={id};session_id={session};value=18.5;tstamp={tstamp}")
}

/// An MQTT client of the server's TCP listener as `client_id`, logged in if `login`.
fn client(server: &TestServer, client_id: &str, login: Option<(&str, &str)>) -> (AsyncClient, EventLoop) {
    let addr = server.mqtt.expect("embedded broker");
    let mut options = MqttOptions::new(client_id, addr.ip().to_string(), addr.port());
    if let Some((user, password)) = login {
        options.set_credentials(user, password);
    }
    AsyncClient::new(options, 10)
}

/// The broker's answer to the CONNECT: accepted, or the refusal's code.
async fn connack(eventloop: &mut EventLoop) -> Result<(), ConnectReturnCode> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), eventloop.poll()).await.expect("an answer in time") {
            Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
            Ok(_) => {}
            Err(ConnectionError::ConnectionRefused(code)) => return Err(code),
            Err(e) => panic!("neither accepted nor refused: {e:?}"),
        }
    }
}

/// Polls until the connection drops; the packets that came in meanwhile.
async fn until_cut(eventloop: &mut EventLoop) -> Vec<Packet> {
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), eventloop.poll()).await.expect("cut within 10 s") {
            Ok(Event::Incoming(packet)) => seen.push(packet),
            Ok(Event::Outgoing(_)) => {}
            Err(_) => return seen,
        }
    }
}

/// Polls until `wanted` comes in, failing if the connection drops first.
async fn until(eventloop: &mut EventLoop, wanted: impl Fn(&Packet) -> bool) -> Packet {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), eventloop.poll()).await.expect("in time");
        if let Event::Incoming(packet) = event.expect("still connected")
            && wanted(&packet)
        {
            return packet;
        }
    }
}

/// `wages_mqtt_refused_total{reason="…"}` from `/metrics`.
async fn refused(server: &TestServer, reason: &str) -> u64 {
    let (_, metrics) = server.get("/metrics").await;
    let line = format!("wages_mqtt_refused_total{{reason=\"{reason}\"}} ");
    metrics.lines().find_map(|l| l.strip_prefix(&line)).and_then(|n| n.parse().ok()).expect("the counter")
}

async fn stored(server: &TestServer, id: &str, session: &str) -> usize {
    let readings = server.json(&format!("/api/devices/{id}/sessions/{session}/readings")).await;
    readings.as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_scale_logs_in_with_its_own_password_only() {
    let server = TestServer::start().await;
    let a = server.register("auth-a").await;
    let b = server.register("auth-b").await;

    let (_c, mut anonymous) = client(&server, "auth-a", None);
    assert_eq!(connack(&mut anonymous).await, Err(ConnectReturnCode::NotAuthorized), "no credentials");
    let (_c, mut wrong) = client(&server, "auth-a", Some(("auth-a", &b)));
    assert_eq!(connack(&mut wrong).await, Err(ConnectReturnCode::BadUserNamePassword), "B's password for A");
    let (_c, mut posing) = client(&server, "auth-b", Some(("auth-a", &a)));
    assert_eq!(connack(&mut posing).await, Err(ConnectReturnCode::NotAuthorized), "A's login with B's client id");
    let (_c, mut own) = client(&server, "auth-a", Some(("auth-a", &a)));
    assert_eq!(connack(&mut own).await, Ok(()));

    // A new password replaces the old one at once.
    let res = server.http().post(server.url("/api/devices/auth-a/credential")).send().await.expect("rotate");
    assert_eq!(res.status().as_u16(), 200);
    let rotated: Value = res.json().await.expect("JSON");
    let new = rotated["mqtt_password"].as_str().expect("password").to_owned();
    assert_eq!(rotated["mqtt_username"], "auth-a");
    let (_c, mut old) = client(&server, "auth-a-old", Some(("auth-a", &a)));
    assert_eq!(connack(&mut old).await, Err(ConnectReturnCode::BadUserNamePassword));
    let (_c, mut fresh) = client(&server, "auth-a", Some(("auth-a", &new)));
    assert_eq!(connack(&mut fresh).await, Ok(()));
    let res = server.http().post(server.url("/api/devices/nobody/credential")).send().await.expect("rotate");
    assert_eq!(res.status().as_u16(), 404);

    assert_eq!(refused(&server, "no_credentials").await, 1);
    assert_eq!(refused(&server, "bad_credentials").await, 2);
    assert_eq!(refused(&server, "client_id_mismatch").await, 1);
    server.stop().await;
}

#[tokio::test]
async fn scale_a_cannot_publish_as_scale_b() {
    let server = TestServer::start().await;
    let a = server.register("conf-a").await;
    server.register("conf-b").await;
    // A watcher with the server's token sees everything that reaches the broker.
    let (watcher, mut watching) = AsyncClient::new(server.mqtt_options("watcher"), 10);
    watcher.subscribe("wages/devices/+/readings", QoS::AtLeastOnce).await.expect("subscribe");
    until(&mut watching, |p| matches!(p, Packet::SubAck(_))).await;

    let (scale, mut eventloop) = client(&server, "conf-a", Some(("conf-a", &a)));
    connack(&mut eventloop).await.expect("A logs in");
    scale
        .publish("wages/devices/conf-a/readings", QoS::AtLeastOnce, false, reading("conf-a", "own", 1000))
        .await
        .expect("publish");
    until(&mut eventloop, |p| matches!(p, Packet::PubAck(_))).await;
    // Now as B: the gate cuts A off before the broker sees the message.
    scale
        .publish("wages/devices/conf-b/readings", QoS::AtLeastOnce, false, reading("conf-b", "forged", 2000))
        .await
        .expect("publish");
    let seen = until_cut(&mut eventloop).await;
    assert!(!seen.iter().any(|p| matches!(p, Packet::PubAck(_))), "never acknowledged: {seen:?}");

    server
        .eventually("/api/devices/conf-a/sessions/own/readings", |r| r.as_array().is_some_and(|a| a.len() == 1))
        .await;
    let delivered = until(&mut watching, |p| matches!(p, Packet::Publish(_))).await;
    let Packet::Publish(delivered) = delivered else { unreachable!() };
    assert_eq!(delivered.topic, "wages/devices/conf-a/readings", "the watcher saw A's own reading");
    assert!(
        tokio::time::timeout(Duration::from_millis(500), until(&mut watching, |p| matches!(p, Packet::Publish(_))))
            .await
            .is_err(),
        "the forged reading never reached the broker"
    );
    assert_eq!(stored(&server, "conf-b", "forged").await, 0);
    assert_eq!(refused(&server, "publish_topic").await, 1);
    server.stop().await;
}

#[tokio::test]
async fn a_scale_subscribes_to_its_firmware_topics_only_and_wills_its_own_status() {
    let server = TestServer::start().await;
    let a = server.register("sub-a").await;
    let (scale, mut eventloop) = client(&server, "sub-a", Some(("sub-a", &a)));
    connack(&mut eventloop).await.expect("A logs in");
    scale.subscribe("wages/firmware", QoS::AtLeastOnce).await.expect("subscribe");
    scale.subscribe("wages/devices/sub-a/firmware", QoS::AtLeastOnce).await.expect("subscribe");
    for _ in 0..2 {
        let Packet::SubAck(ack) = until(&mut eventloop, |p| matches!(p, Packet::SubAck(_))).await else {
            unreachable!()
        };
        assert!(ack.return_codes.iter().all(|c| matches!(c, rumqttc::SubscribeReasonCode::Success(_))));
    }
    scale.subscribe("wages/devices/+/readings", QoS::AtLeastOnce).await.expect("subscribe");
    until_cut(&mut eventloop).await;
    assert_eq!(refused(&server, "subscribe_filter").await, 1);

    // A last will on another scale's status topic is refused at the door.
    let mut options = server.scale_options("sub-a", &a);
    options.set_last_will(rumqttc::LastWill::new("wages/devices/other/status", "offline", QoS::AtLeastOnce, true));
    let (_c, mut willing) = AsyncClient::new(options, 10);
    assert_eq!(connack(&mut willing).await, Err(ConnectReturnCode::NotAuthorized));
    assert_eq!(refused(&server, "will_topic").await, 1);
    server.stop().await;
}

#[tokio::test]
async fn a_read_token_subscribes_but_never_publishes() {
    let server = TestServer::start().await;
    let (_, read) = server
        .registry
        .accounts()
        .create_token("dashboard", wages_store::Scope::Read, "admin")
        .await
        .expect("a read token");
    let (reader, mut eventloop) = client(&server, "dashboard", Some(("dashboard", &read)));
    connack(&mut eventloop).await.expect("the token logs in");
    reader.subscribe("wages/#", QoS::AtLeastOnce).await.expect("subscribe");
    until(&mut eventloop, |p| matches!(p, Packet::SubAck(_))).await;
    reader.publish("wages/devices/x/readings", QoS::AtLeastOnce, false, reading("x", "s", 1)).await.expect("publish");
    let seen = until_cut(&mut eventloop).await;
    assert!(!seen.iter().any(|p| matches!(p, Packet::PubAck(_))), "{seen:?}");
    let (_c, mut revoked) = client(&server, "dashboard", Some(("dashboard", "wages_0000_0000")));
    assert_eq!(connack(&mut revoked).await, Err(ConnectReturnCode::BadUserNamePassword));
    server.stop().await;
}

#[tokio::test]
async fn websocket_clients_pass_the_same_gate() {
    let server = TestServer::builder().base("/wages").start().await;
    let a = server.register("ws-a").await;
    server.register("ws-b").await;
    let ws = |client_id: &str, login: Option<(&str, &str)>| {
        let url = format!("ws://{}/wages/mqtt", server.addr);
        let mut options = MqttOptions::new(client_id, url, server.addr.port());
        options.set_transport(rumqttc::Transport::Ws);
        if let Some((user, password)) = login {
            options.set_credentials(user, password);
        }
        AsyncClient::new(options, 10)
    };
    let (_c, mut anonymous) = ws("ws-a", None);
    assert_eq!(connack(&mut anonymous).await, Err(ConnectReturnCode::NotAuthorized));
    let (scale, mut eventloop) = ws("ws-a", Some(("ws-a", &a)));
    connack(&mut eventloop).await.expect("A logs in over WebSocket");
    scale
        .publish("wages/devices/ws-b/readings", QoS::AtLeastOnce, false, reading("ws-b", "forged", 1))
        .await
        .expect("publish");
    let seen = until_cut(&mut eventloop).await;
    assert!(!seen.iter().any(|p| matches!(p, Packet::PubAck(_))), "{seen:?}");
    assert_eq!(stored(&server, "ws-b", "forged").await, 0);
    assert_eq!(refused(&server, "publish_topic").await, 1);
    server.stop().await;
}
