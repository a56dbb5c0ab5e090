//! Ingestion from an external broker, for real: a private Mosquitto and a private
//! RabbitMQ with its MQTT plugin, started by scripts/test.sh (`WAGES_TEST_MOSQUITTO_URL`,
//! `WAGES_TEST_RABBITMQ_URL`). Readings published by a rumqttc client and by
//! `mosquitto_pub` (a third-party client) are stored exactly once.

use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::json;
use std::process::Command;
use wages_testkit::TestServer;

fn broker_url(variable: &str, script: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| {
        panic!("{variable} is not set: run scripts/test.sh, or scripts/{script} start DIR and export the URL it prints")
    })
}

#[tokio::test]
async fn readings_from_mosquitto_are_stored_exactly_once() {
    stored_exactly_once(&broker_url("WAGES_TEST_MOSQUITTO_URL", "mosquitto.sh")).await;
}

#[tokio::test]
async fn readings_from_rabbitmq_are_stored_exactly_once() {
    stored_exactly_once(&broker_url("WAGES_TEST_RABBITMQ_URL", "rabbitmq.sh")).await;
}

async fn stored_exactly_once(url: &str) {
    let server = TestServer::builder().external_broker(url).start().await;
    let res = server
        .http()
        .post(server.url("/api/devices"))
        .json(&json!({"client_id": "mq-01", "name": "Mosquitto scale"}))
        .send()
        .await;
    assert_eq!(res.expect("register").status().as_u16(), 201);

    let figures = server.json("/api/pipeline").await;
    let port = url.rsplit(':').next().expect("port");
    assert_eq!(figures["broker"], format!("external, mqtt://127.0.0.1:{port}"));
    let ready = server.json("/readyz").await;
    assert_eq!(ready["checks"]["broker"], "ok");

    // A rumqttc client: 50 messages of 10 readings.
    let mut options = MqttOptions::new("test-mq-01", "127.0.0.1", port.parse().expect("port number"));
    options.set_max_packet_size(300_000, 300_000);
    let (client, mut eventloop) = AsyncClient::new(options, 100);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    for m in 0..50u64 {
        let lines: Vec<String> = (0..10)
            .map(|i| format!("client_id=mq-01;session_id=pour;value={};tstamp={}", m * 10 + i, (m * 10 + i) * 100))
            .collect();
        client
            .publish("wages/devices/mq-01/readings", QoS::AtLeastOnce, false, lines.join("\n"))
            .await
            .expect("publish");
    }
    server.eventually("/api/pipeline", |v| v["stored"] == 500).await;

    // mosquitto_pub, another client altogether; the second copy is a duplicate.
    for _ in 0..2 {
        let status = Command::new("mosquitto_pub")
            .args(["-p", port, "-h", "127.0.0.1", "-q", "1", "-t", "wages/devices/mq-01/readings"])
            .args(["-m", "client_id=mq-01;session_id=cli;value=18.25;tstamp=1763805600123"])
            .status()
            .expect("mosquitto_pub runs (Debian package mosquitto-clients)");
        assert!(status.success());
    }
    let figures = server.eventually("/api/pipeline", |v| v["stored"] == 501 && v["duplicates"] == 1).await;
    assert_eq!(figures["messages"], 52);
    let summary = server.json("/api/devices/mq-01/sessions/pour").await;
    assert_eq!(summary["count"], 500);

    // The browser's WebSocket bridge belongs to the embedded broker.
    let ws = reqwest::get(server.url("/mqtt")).await.expect("get");
    assert_eq!(ws.status().as_u16(), 404);
    server.stop().await;
}
