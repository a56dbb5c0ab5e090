//! The Mosquitto ACL we document for external brokers (deploy/mosquitto/wages.acl),
//! applied by a real Mosquitto of the test's own: scales log in with their own user,
//! reach only their own topics, and Wages, as `wages-server`, ingests and publishes back.

use std::path::Path;
use std::time::Duration;

use rumqttc::{AsyncClient, ConnectionError, Event, EventLoop, MqttOptions, Packet, QoS};
use wages_testkit::TestServer;
use wages_testkit::mosquitto::Mosquitto;

fn scale(port: u16, user: &str, password: &str) -> (AsyncClient, EventLoop) {
    let mut options = MqttOptions::new(user, "127.0.0.1", port);
    options.set_credentials(user, password);
    AsyncClient::new(options, 10)
}

fn line(id: &str, session: &str, t: u64) -> String {
    format!("client_id={id};session_id={session};value=1;tstamp={t}")
}

/// Publishes at QoS 1 and waits for the broker's PUBACK (Mosquitto acknowledges what
/// its ACL denies too, and drops it).
async fn publish(client: &AsyncClient, eventloop: &mut EventLoop, topic: &str, payload: String) {
    client.publish(topic, QoS::AtLeastOnce, false, payload).await.expect("publish");
    loop {
        match tokio::time::timeout(Duration::from_secs(10), eventloop.poll()).await.expect("in time") {
            Ok(Event::Incoming(Packet::PubAck(_))) => return,
            Ok(_) => {}
            Err(e) => panic!("connection: {e:?}"),
        }
    }
}

#[tokio::test]
async fn the_documented_mosquitto_acl_confines_each_scale() {
    let dir = tempfile::tempdir().expect("temp dir");
    let acl = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/mosquitto/wages.acl");
    let users = [("wages-server", "server secret"), ("acl-a", "a secret"), ("acl-b", "b secret")];
    let broker = Mosquitto::start_with_acl(dir.path(), &acl, &users);
    let url = format!("mqtt://wages-server:server%20secret@127.0.0.1:{}", broker.port);
    let server = TestServer::builder().external_broker(&url).start().await;
    server.register("acl-a").await;
    server.register("acl-b").await;

    // Without a login, or with another's password: refused.
    let (_c, mut anonymous) = AsyncClient::new(MqttOptions::new("acl-a", "127.0.0.1", broker.port), 10);
    let refused = tokio::time::timeout(Duration::from_secs(10), anonymous.poll()).await.expect("an answer");
    assert!(matches!(refused, Err(ConnectionError::ConnectionRefused(_))), "{refused:?}");

    let (a, mut a_loop) = scale(broker.port, "acl-a", "a secret");
    // Forged first, then its own: once its own is stored, the forged one would have been too.
    publish(&a, &mut a_loop, "wages/devices/acl-b/readings", line("acl-b", "forged", 1000)).await;
    publish(&a, &mut a_loop, "wages/devices/acl-a/readings", line("acl-a", "own", 1000)).await;
    server.eventually("/api/devices/acl-a/sessions/own/readings", |r| r.as_array().is_some_and(|a| a.len() == 1)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let forged = server.json("/api/devices/acl-b/sessions/forged/readings").await;
    assert_eq!(forged["error"]["code"], "not_found", "nothing stored for B: {forged}");

    // B's own readings go through, and the server publishes back what it may.
    let (b, mut b_loop) = scale(broker.port, "acl-b", "b secret");
    publish(&b, &mut b_loop, "wages/devices/acl-b/readings", line("acl-b", "own", 2000)).await;
    server.eventually("/api/devices/acl-b/sessions/own/readings", |r| r.as_array().is_some_and(|a| a.len() == 1)).await;
    // A scale may read its firmware topics, not another scale's readings.
    a.subscribe("wages/devices/acl-b/readings", QoS::AtLeastOnce).await.expect("subscribe");
    a.subscribe("wages/devices/acl-a/firmware", QoS::AtLeastOnce).await.expect("subscribe");
    publish(&b, &mut b_loop, "wages/devices/acl-b/readings", line("acl-b", "own", 3000)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while tokio::time::Instant::now() < deadline {
        if let Ok(event) = tokio::time::timeout(Duration::from_millis(200), a_loop.poll()).await
            && let Event::Incoming(Packet::Publish(p)) = event.expect("connected")
        {
            panic!("scale A received {} from scale B", p.topic);
        }
    }
    server.stop().await;
}
