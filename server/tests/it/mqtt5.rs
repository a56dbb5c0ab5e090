//! MQTT 5 at the embedded broker's gate, beside MQTT 3.1.1: rumqttc's v5 client over TCP
//! and WebSocket, and `mosquitto_pub -V mqttv5`, a client nobody here wrote.

use std::time::Duration;

use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{ConnectReturnCode, Packet, PubAckReason, SubscribeReasonCode};
use rumqttc::v5::{AsyncClient, ConnectionError, Event, EventLoop, MqttOptions};
use wages_testkit::TestServer;

fn reading(id: &str, session: &str, tstamp: u64) -> String {
    format!("client_id={id};session_id={session};value=18.5;tstamp={tstamp}")
}

/// An MQTT 5 client of the gate as scale `id` with `password`, over TCP or WebSocket.
fn client(server: &TestServer, id: &str, password: &str, websocket: bool) -> (AsyncClient, EventLoop) {
    let mut options = if websocket {
        let mut options = MqttOptions::new(id, format!("ws://{}/mqtt", server.addr), server.addr.port());
        options.set_transport(rumqttc::Transport::Ws);
        options
    } else {
        let addr = server.mqtt.expect("embedded broker");
        MqttOptions::new(id, addr.ip().to_string(), addr.port())
    };
    options.set_credentials(id, password);
    AsyncClient::new(options, 100)
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

async fn stored(server: &TestServer, id: &str, session: &str) -> usize {
    let readings = server.json(&format!("/api/devices/{id}/sessions/{session}/readings")).await;
    readings.as_array().map_or(0, Vec::len)
}

async fn a_scale_speaks_mqtt_5(websocket: bool) {
    let server = TestServer::start().await;
    let id = if websocket { "five-ws" } else { "five-tcp" };
    let password = server.register(id).await;
    server.register("other").await;
    let (scale, mut events) = client(&server, id, &password, websocket);

    // The CONNACK tells the scale how many messages it may have in flight.
    let Packet::ConnAck(ack) = until(&mut events, |p| matches!(p, Packet::ConnAck(_))).await else { unreachable!() };
    assert_eq!(ack.code, ConnectReturnCode::Success);
    let properties = ack.properties.expect("CONNACK properties");
    assert_eq!(properties.receive_max, Some(wages_server::mqtt::v5::RECEIVE_MAXIMUM));
    assert_eq!(properties.topic_alias_max, Some(0));

    // Readings: acknowledged with success once stored.
    let topic = format!("wages/devices/{id}/readings");
    for t in 1..=3 {
        scale.publish(&topic, QoS::AtLeastOnce, false, reading(id, "s", t)).await.expect("publish");
        let Packet::PubAck(ack) = until(&mut events, |p| matches!(p, Packet::PubAck(_))).await else { unreachable!() };
        assert_eq!(ack.reason, PubAckReason::Success);
    }
    assert_eq!(stored(&server, id, "s").await, 3, "PUBACK means stored");

    // Nothing in the message to store: the reason says why, and the connection stays.
    scale.publish(&topic, QoS::AtLeastOnce, false, "not a reading").await.expect("publish");
    let Packet::PubAck(ack) = until(&mut events, |p| matches!(p, Packet::PubAck(_))).await else { unreachable!() };
    assert_eq!(ack.reason, PubAckReason::PayloadFormatInvalid);

    // Another scale's topic: not authorised, told, not cut off.
    let theirs = "wages/devices/other/readings";
    scale.publish(theirs, QoS::AtLeastOnce, false, reading("other", "s", 1)).await.expect("publish");
    let Packet::PubAck(ack) = until(&mut events, |p| matches!(p, Packet::PubAck(_))).await else { unreachable!() };
    assert_eq!(ack.reason, PubAckReason::NotAuthorized);
    assert_eq!(stored(&server, "other", "s").await, 0);
    scale.subscribe("wages/devices/other/readings", QoS::AtLeastOnce).await.expect("subscribe");
    let Packet::SubAck(ack) = until(&mut events, |p| matches!(p, Packet::SubAck(_))).await else { unreachable!() };
    assert_eq!(ack.return_codes, vec![SubscribeReasonCode::NotAuthorized]);

    // Its own firmware topic: granted; an offer published there arrives in MQTT 5's form.
    scale.subscribe(format!("wages/devices/{id}/firmware"), QoS::AtLeastOnce).await.expect("subscribe");
    let Packet::SubAck(ack) = until(&mut events, |p| matches!(p, Packet::SubAck(_))).await else { unreachable!() };
    assert_eq!(ack.return_codes, vec![SubscribeReasonCode::Success(QoS::AtLeastOnce)]);
    let offer = serde_json::json!({"version": "5.0.0", "url": "https://fw.example/5.bin", "sha256": "ab".repeat(32), "client_id": id});
    let res = server.http().post(server.url("/api/firmware")).json(&offer).send().await.expect("offer");
    assert_eq!(res.status().as_u16(), 201);
    let Packet::Publish(publish) = until(&mut events, |p| matches!(p, Packet::Publish(_))).await else {
        unreachable!()
    };
    assert!(String::from_utf8_lossy(&publish.payload).starts_with("version=5.0.0;"));

    // Still there: one more reading goes in.
    scale.publish(&topic, QoS::AtLeastOnce, false, reading(id, "s", 4)).await.expect("publish");
    let Packet::PubAck(ack) = until(&mut events, |p| matches!(p, Packet::PubAck(_))).await else { unreachable!() };
    assert_eq!(ack.reason, PubAckReason::Success);
    assert_eq!(stored(&server, id, "s").await, 4);
    server.stop().await;
}

#[tokio::test]
async fn a_scale_speaks_mqtt_5_over_tcp() {
    a_scale_speaks_mqtt_5(false).await;
}

#[tokio::test]
async fn a_scale_speaks_mqtt_5_over_websocket() {
    a_scale_speaks_mqtt_5(true).await;
}

#[tokio::test]
async fn a_wrong_password_gets_mqtt_5s_reason_code() {
    let server = TestServer::start().await;
    server.register("five-bad").await;
    let (_scale, mut events) = client(&server, "five-bad", "not its password", false);
    loop {
        match tokio::time::timeout(Duration::from_secs(10), events.poll()).await.expect("an answer in time") {
            Err(ConnectionError::ConnectionRefused(code)) => {
                assert_eq!(code, ConnectReturnCode::BadUserNamePassword);
                break;
            }
            Ok(Event::Incoming(Packet::ConnAck(ack))) => panic!("accepted: {ack:?}"),
            Ok(_) => {}
            Err(e) => panic!("neither accepted nor refused: {e:?}"),
        }
    }
    server.stop().await;
}

/// `mosquitto_pub -V mqttv5` as scale `side-m`, one QoS 1 message, off the test's thread
/// (the server runs on it).
async fn mosquitto_pub(port: &str, password: &str, message: &str) -> std::process::Output {
    let args: Vec<String> =
        ["-V", "mqttv5", "-h", "127.0.0.1", "-p", port, "-i", "side-m", "-u", "side-m", "-P", password]
            .into_iter()
            .chain(["-q", "1", "-t", "wages/devices/side-m/readings", "-m", message])
            .map(str::to_owned)
            .collect();
    let run = move || std::process::Command::new("mosquitto_pub").args(&args).output();
    tokio::task::spawn_blocking(run)
        .await
        .expect("joined")
        .expect("mosquitto_pub runs (Debian package mosquitto-clients)")
}

/// MQTT 5 and 3.1.1 scales side by side, and a client nobody here wrote.
#[tokio::test]
async fn mqtt_5_and_3_1_1_side_by_side_with_mosquitto_pub() {
    let server = TestServer::start().await;
    let five = server.register("side-5").await;
    let three = server.register("side-3").await;
    let mosquitto = server.register("side-m").await;
    let (v5, mut v5_events) = client(&server, "side-5", &five, false);
    let addr = server.mqtt.expect("embedded broker");
    let mut options = rumqttc::MqttOptions::new("side-3", addr.ip().to_string(), addr.port());
    options.set_credentials("side-3", &three);
    let (v3, mut v3_events) = rumqttc::AsyncClient::new(options, 100);
    for t in 1..=50 {
        v5.publish("wages/devices/side-5/readings", QoS::AtLeastOnce, false, reading("side-5", "s", t))
            .await
            .expect("v5");
        v3.publish("wages/devices/side-3/readings", rumqttc::QoS::AtLeastOnce, false, reading("side-3", "s", t))
            .await
            .expect("v3");
    }
    let five_acks = async {
        let mut n = 0;
        while n < 50 {
            if let Packet::PubAck(ack) = until(&mut v5_events, |p| matches!(p, Packet::PubAck(_))).await {
                assert_eq!(ack.reason, PubAckReason::Success);
                n += 1;
            }
        }
    };
    let three_acks = async {
        let mut n = 0;
        while n < 50 {
            let event = tokio::time::timeout(Duration::from_secs(10), v3_events.poll()).await.expect("in time");
            if let rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_)) = event.expect("connected") {
                n += 1;
            }
        }
    };
    tokio::join!(five_acks, three_acks);
    assert_eq!((stored(&server, "side-5", "s").await, stored(&server, "side-3", "s").await), (50, 50));

    let port = addr.port().to_string();
    let out = mosquitto_pub(&port, &mosquitto, &reading("side-m", "s", 1)).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stored(&server, "side-m", "s").await, 1, "mosquitto_pub's PUBACK came once stored");
    let refused = mosquitto_pub(&port, "wrong", "x").await;
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr).to_lowercase();
    assert!(said.contains("bad user name or password"), "{said}");
    server.stop().await;
}

/// PUBACKs keep the order of the PUBLISHes on a connection, whether the gate answers
/// (readings, once stored) or the broker does (status messages), with a subscription
/// in between.
#[tokio::test]
async fn answers_keep_the_order_of_what_asked_for_them() {
    let server = TestServer::start().await;
    let password = server.register("order-1").await;
    let addr = server.mqtt.expect("embedded broker");
    let mut options = rumqttc::MqttOptions::new("order-1", addr.ip().to_string(), addr.port());
    options.set_credentials("order-1", &password).set_inflight(100);
    let (scale, mut events) = rumqttc::AsyncClient::new(options, 200);
    for t in 1..=60u64 {
        let (topic, payload) = if t % 3 == 0 {
            ("wages/devices/order-1/status".to_owned(), "online;firmware=1.0.0".to_owned())
        } else {
            ("wages/devices/order-1/readings".to_owned(), reading("order-1", "s", t))
        };
        scale.publish(topic, rumqttc::QoS::AtLeastOnce, t % 3 == 0, payload).await.expect("publish");
        if t == 30 {
            scale.subscribe("wages/devices/order-1/firmware", rumqttc::QoS::AtLeastOnce).await.expect("subscribe");
        }
    }
    let (mut sent, mut acked) = (Vec::new(), Vec::new());
    while acked.len() < 60 {
        let event = tokio::time::timeout(Duration::from_secs(10), events.poll()).await.expect("in time");
        match event.expect("connected") {
            rumqttc::Event::Outgoing(rumqttc::Outgoing::Publish(pkid)) => sent.push(pkid),
            rumqttc::Event::Incoming(rumqttc::Packet::PubAck(ack)) => acked.push(ack.pkid),
            _ => {}
        }
    }
    assert_eq!(acked, sent, "PUBACKs in the order the PUBLISHes went out");
    assert_eq!(stored(&server, "order-1", "s").await, 40);
    server.stop().await;
}
