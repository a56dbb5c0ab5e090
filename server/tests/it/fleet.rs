//! Many thin connections through the embedded broker's gate: a scale that sends only
//! readings stays connected however long it brews (the broker behind the gate never sees
//! them), a silent one is cut off after its keep-alive and its last will told, and past
//! `WAGES_MQTT_MAX_CONNECTIONS` a scale is refused with a reason.

use std::time::Duration;

use bytes::BytesMut;
use rumqttc::mqttbytes::v4::{ConnAck, Connect, ConnectReturnCode, LastWill, Login, Publish};
use rumqttc::mqttbytes::{self, PacketType, QoS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wages_testkit::TestServer;

/// A scale speaking MQTT 3.1.1 by hand, so that it sends exactly what the test says (a
/// client library would ping on its own).
struct RawScale {
    tcp: TcpStream,
    buf: BytesMut,
}

impl RawScale {
    async fn connect(
        server: &TestServer,
        id: &str,
        password: &str,
        keep_alive: u16,
        will: bool,
    ) -> (RawScale, ConnectReturnCode) {
        let (host, port) = server.scale_options(id, password).broker_address();
        let tcp = TcpStream::connect((host.as_str(), port)).await.expect("TCP");
        let mut connect = Connect::new(id);
        connect.keep_alive = keep_alive;
        connect.login = Some(Login::new(id, password));
        if will {
            connect.last_will =
                Some(LastWill::new(format!("wages/devices/{id}/status"), "offline", QoS::AtLeastOnce, true));
        }
        let mut scale = RawScale { tcp, buf: BytesMut::new() };
        let mut out = BytesMut::new();
        connect.write(&mut out).expect("CONNECT");
        scale.tcp.write_all(&out).await.expect("send CONNECT");
        let (header, frame) = scale.packet().await.expect("CONNACK");
        let ack = ConnAck::read(header, frame.freeze()).expect("a CONNACK");
        (scale, ack.code)
    }

    /// The next whole packet, or `None` once the server has closed the connection.
    async fn packet(&mut self) -> Option<(mqttbytes::FixedHeader, BytesMut)> {
        loop {
            if let Ok(header) = mqttbytes::check(self.buf.iter(), 1 << 16) {
                return Some((header, self.buf.split_to(header.frame_length())));
            }
            match tokio::time::timeout(Duration::from_secs(10), self.tcp.read_buf(&mut self.buf)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return None,
            }
        }
    }

    async fn send(&mut self, publish: Publish) {
        let mut out = BytesMut::new();
        publish.write(&mut out).expect("PUBLISH");
        self.tcp.write_all(&out).await.expect("send");
    }
}

async fn refused(server: &TestServer, reason: &str) -> u64 {
    let (_, metrics) = server.get("/metrics").await;
    let line = format!("wages_mqtt_refused_total{{reason=\"{reason}\"}} ");
    metrics.lines().find_map(|l| l.strip_prefix(&line)).and_then(|n| n.parse().ok()).expect("the counter")
}

#[tokio::test]
async fn a_scale_sending_only_readings_outlives_its_keep_alive_and_a_silent_one_is_cut_off() {
    let server = TestServer::start().await;
    let password = server.register("thin-1").await;
    // Keep-alive 1 s: the broker behind the gate would have cut it at 1.5 s, having seen
    // nothing but the CONNECT, since readings go straight to storage.
    let (mut scale, code) = RawScale::connect(&server, "thin-1", &password, 1, true).await;
    assert_eq!(code, ConnectReturnCode::Success);
    let mut status = Publish::new("wages/devices/thin-1/status", QoS::AtLeastOnce, "online;firmware=1.0.0");
    status.retain = true;
    status.pkid = 1;
    scale.send(status).await;
    for n in 0..12u16 {
        let line = format!("client_id=thin-1;session_id=s;value={n};tstamp={}", 1000 + u64::from(n) * 100);
        let mut reading = Publish::new("wages/devices/thin-1/readings", QoS::AtLeastOnce, line);
        reading.pkid = n + 2;
        scale.send(reading).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let mut acked = 0;
    while acked < 13 {
        let (header, _) = scale.packet().await.expect("still connected after 3.6 s of readings only");
        if matches!(header.packet_type(), Ok(PacketType::PubAck)) {
            acked += 1;
        }
    }
    server.eventually("/api/devices/thin-1", |d| d["online"] == true).await;
    assert_eq!(server.json("/api/devices/thin-1/sessions/s/readings").await.as_array().map(Vec::len), Some(12));

    // Now silent: cut off after one and a half times its keep-alive, and its will tells.
    let started = std::time::Instant::now();
    assert!(scale.packet().await.is_none(), "the gate closes a silent connection");
    assert!(started.elapsed() < Duration::from_secs(5), "cut off after {:?}", started.elapsed());
    server.eventually("/api/devices/thin-1", |d| d["online"] == false).await;
    assert_eq!(refused(&server, "keep_alive").await, 1);
    server.stop().await;
}

#[tokio::test]
async fn past_its_most_connections_a_node_refuses_with_a_reason() {
    let server = TestServer::builder().var("WAGES_MQTT_MAX_CONNECTIONS", "2").start().await;
    let mut passwords = Vec::new();
    for n in 0..3 {
        passwords.push(server.register(&format!("many-{n}")).await);
    }
    let (first, code) = RawScale::connect(&server, "many-0", &passwords[0], 30, false).await;
    assert_eq!(code, ConnectReturnCode::Success);
    let (second, code) = RawScale::connect(&server, "many-1", &passwords[1], 30, false).await;
    assert_eq!(code, ConnectReturnCode::Success);
    let (_, code) = RawScale::connect(&server, "many-2", &passwords[2], 30, false).await;
    assert_eq!(code, ConnectReturnCode::ServiceUnavailable, "the third is one too many");
    assert_eq!(refused(&server, "too_many_connections").await, 1);
    let (_, metrics) = server.get("/metrics").await;
    assert!(metrics.contains("wages_mqtt_max_connections 2"), "{metrics}");

    // One leaves: there is room again.
    drop(first);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, code) = RawScale::connect(&server, "many-2", &passwords[2], 30, false).await;
        if code == ConnectReturnCode::Success {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no room after a scale left");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(second);
    server.stop().await;
}
