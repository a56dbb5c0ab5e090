//! Hostile input over HTTP and MQTT, against a real server: each gets a clean error, and
//! nothing else is disturbed (after each, the server still registers, reads and stores).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use rumqttc::QoS;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use wages_testkit::TestServer;

/// The server still does its everyday work.
async fn still_works(server: &TestServer, id: &str) {
    server.register(id).await;
    assert_eq!(server.json(&format!("/api/devices/{id}")).await["client_id"], id);
    let (status, body) = server.get("/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
}

/// POSTs raw bytes as JSON to the registration endpoint; the status and the JSON error.
async fn post_raw(server: &TestServer, body: Vec<u8>) -> (StatusCode, Value) {
    let res = server
        .http()
        .post(server.url("/api/devices"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("post");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// `wages_api_errors_total{code="…"}` from `/metrics`.
async fn errors_counted(server: &TestServer, code: &str) -> u64 {
    let (_, metrics) = server.get("/metrics").await;
    let prefix = format!("wages_api_errors_total{{code=\"{code}\"}} ");
    metrics.lines().find_map(|l| l.strip_prefix(&prefix)).and_then(|n| n.parse().ok()).expect("the counter")
}

#[tokio::test]
async fn malformed_and_oversized_json_get_clean_errors() {
    let server = TestServer::start().await;
    let cases: Vec<(&str, Vec<u8>, StatusCode)> = vec![
        ("truncated", br#"{"client_id":"a","#.to_vec(), StatusCode::BAD_REQUEST),
        ("not an object", b"[1,2,3]".to_vec(), StatusCode::BAD_REQUEST),
        ("nested 100,000 deep", "[".repeat(100_000).into_bytes(), StatusCode::PAYLOAD_TOO_LARGE),
        ("nested 10,000 deep (under the size bound)", "[".repeat(10_000).into_bytes(), StatusCode::BAD_REQUEST),
        ("invalid UTF-8", b"{\"client_id\":\"\xff\xfe\",\"name\":\"x\"}".to_vec(), StatusCode::BAD_REQUEST),
        ("a NUL in the name", br#"{"client_id":"nul-1","name":"a\u0000b"}"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY),
        ("a NUL in the id", br#"{"client_id":"nul\u0000","name":"x"}"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY),
        (
            "over 16 KiB",
            format!(r#"{{"client_id":"big","name":"{}"}}"#, "x".repeat(20_000)).into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "an unknown field",
            br#"{"client_id":"a","name":"b","admin":true}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("empty", Vec::new(), StatusCode::BAD_REQUEST),
    ];
    let before = errors_counted(&server, "payload_too_large").await;
    for (what, body, want) in cases {
        let (status, error) = post_raw(&server, body).await;
        assert_eq!(status, want, "{what}: {error}");
        assert!(error["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: a readable error, {error}");
    }
    // Each bound past is counted (the counter is the process's; other tests may add to it).
    assert!(errors_counted(&server, "payload_too_large").await >= before + 2);
    still_works(&server, "after-json").await;
    server.stop().await;
}

#[tokio::test]
async fn sql_metacharacters_are_only_text() {
    let server = TestServer::start().await;
    let name = "Robert'); DROP TABLE devices;-- %_\\";
    let res = server.http().post(server.url("/api/devices")).json(&json!({"client_id": "sql-1", "name": name})).send();
    assert_eq!(res.await.expect("post").status(), StatusCode::CREATED);
    server.register("sql-2").await;
    assert_eq!(server.json("/api/devices/sql-1").await["name"], name);
    // Searches are literal: wildcards and quotes match only themselves.
    for (q, want) in [("' OR '1'='1", 0), ("%", 1), ("_", 1), ("DROP TABLE", 1), ("sql-", 2), ("\\", 1)] {
        let found = server.http().get(server.url("/api/devices")).query(&[("q", q)]).send().await.expect("search");
        let found: Value = found.json().await.expect("json");
        assert_eq!(found.as_array().map(Vec::len), Some(want), "search {q:?}: {found}");
    }
    still_works(&server, "after-sql").await;
    server.stop().await;
}

#[tokio::test]
async fn paths_stay_inside_the_site() {
    let server = TestServer::builder().base("/wages").start().await;
    let client = server.http();
    for path in [
        "/pkg/../../../../etc/passwd",
        "/pkg/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/pkg/..%2f..%2f..%2fetc%2fpasswd",
        "/pkg/%2e%2e%5c%2e%2e%5cetc%5cpasswd",
        "/pkg/....//....//etc/passwd",
        "/pkg/%00",
        "/../../etc/passwd",
    ] {
        let url = format!("http://{}/wages{path}", server.addr);
        let res = client.get(&url).send().await.expect("get");
        let status = res.status();
        let body = res.text().await.expect("body");
        assert!(!body.contains("root:"), "{path} served a system file");
        assert!(status.is_client_error(), "{path}: {status}");
    }
    // Ids that break the rules, however long, are simply not found; so is a 60 KB path.
    for id in ["a".repeat(65), "é".repeat(1000), "%00".into(), "..%2f..".into(), "x".repeat(60_000)] {
        let res = client.get(server.url(&format!("/api/devices/{id}"))).send().await.expect("get");
        assert!(res.status() == StatusCode::NOT_FOUND || res.status() == StatusCode::URI_TOO_LONG, "{}", res.status());
    }
    still_works(&server, "after-paths").await;
    server.stop().await;
}

#[tokio::test]
async fn a_flood_of_idle_connections_does_not_stop_service() {
    let server = TestServer::start().await;
    let mut idle = Vec::new();
    for _ in 0..500 {
        let mut stream = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
        // Half a request, never finished.
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.expect("write");
        idle.push(stream);
    }
    let started = Instant::now();
    still_works(&server, "during-flood").await;
    assert!(started.elapsed() < Duration::from_secs(10), "served beside 500 idle connections");
    drop(idle);
    still_works(&server, "after-flood").await;
    server.stop().await;
}

#[tokio::test]
async fn hostile_mqtt_payloads_are_dead_letters_and_ingestion_goes_on() {
    let server = TestServer::start().await;
    server.register("mq-1").await;
    let mqtt = server.mqtt_client("hostile-mq").await;
    let topic = "wages/devices/mq-1/readings";
    let payloads: Vec<Vec<u8>> = vec![
        b"\xff\xfe\x00\x00".to_vec(),
        b"client_id=mq-1;session_id=s\x00;value=1;tstamp=1".to_vec(),
        b"{\"client_id\":\"mq-1\",\"session_id\":\"s\",\"value\":1e999,\"tstamp\":1}".to_vec(),
        "[".repeat(5_000).into_bytes(),
        format!("client_id={};session_id=s;value=1;tstamp=1", "a".repeat(5_000)).into_bytes(),
        b"client_id=mq-1;session_id=s;value=1;tstamp=1;tstamp=2".to_vec(),
        // Blank lines only: no reading to store or to reject.
        vec![b'\n'; 200_000],
    ];
    for p in payloads {
        mqtt.publish(topic, QoS::AtLeastOnce, false, p).await.expect("publish");
    }
    // A status topic with rubbish, and a topic outside the protocol.
    mqtt.publish("wages/devices/mq-1/status", QoS::AtLeastOnce, false, b"\x00online".to_vec()).await.expect("publish");
    mqtt.publish("wages/devices/mq-1/readings/extra", QoS::AtLeastOnce, false, b"x".to_vec()).await.expect("publish");
    // Then a good reading: it is stored, after all of the above.
    let good = "client_id=mq-1;session_id=good;value=1.5;tstamp=1000";
    mqtt.publish(topic, QoS::AtLeastOnce, false, good).await.expect("publish");
    server.eventually("/api/devices/mq-1/sessions/good/readings", |v| v.as_array().is_some_and(|a| a.len() == 1)).await;
    // One dead letter per hostile reading payload but the blank one, and the status.
    let dead = server.eventually("/api/dead-letters", |v| v.as_array().is_some_and(|a| a.len() == 7)).await;
    for d in dead.as_array().expect("array") {
        assert!(d["reason"].as_str().is_some_and(|r| !r.is_empty()), "every rejection says why: {d}");
    }
    let figures = server.json("/api/pipeline").await;
    assert_eq!(figures["stored"], 1, "{figures}");
    still_works(&server, "after-mqtt").await;
    server.stop().await;
}

#[tokio::test]
async fn live_streams_per_client_are_bounded() {
    let server = TestServer::builder().var("WAGES_LIVE_PER_CLIENT", "2").start().await;
    let (first, _) = tokio_tungstenite::connect_async(server.ws_request("/api/live")).await.expect("first");
    let (_second, _) = tokio_tungstenite::connect_async(server.ws_request("/api/live")).await.expect("second");
    let third = tokio_tungstenite::connect_async(server.ws_request("/api/live")).await;
    let Err(tokio_tungstenite::tungstenite::Error::Http(refused)) = third else { panic!("a third stream: {third:?}") };
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = serde_json::from_slice(refused.body().as_deref().unwrap_or_default()).expect("JSON error");
    assert_eq!(body["error"]["code"], "too_many_requests", "{body}");
    // Another client is not affected.
    let (_, other) =
        server.registry.accounts().create_token("other", wages_store::Scope::Read, "admin").await.expect("token");
    let mut request = server.ws_request("/api/live");
    request.headers_mut().insert("authorization", format!("Bearer {other}").parse().expect("header"));
    assert!(tokio_tungstenite::connect_async(request).await.is_ok(), "another client's stream");
    // Closing one makes room again.
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio_tungstenite::connect_async(server.ws_request("/api/live")).await.is_err() {
        assert!(Instant::now() < deadline, "the closed stream never made room");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Counted: the third stream, and any refused while the closed one was going away.
    let (_, metrics) = server.get("/metrics").await;
    let refused = metrics
        .lines()
        .find_map(|l| l.strip_prefix("wages_live_streams_refused_total "))
        .and_then(|n| n.parse::<u64>().ok());
    assert!(refused.is_some_and(|n| n >= 1), "{metrics}");
    server.stop().await;
}

/// Reads from a WebSocket until it ends; true when the server closed it within 10 s.
async fn closed_by_server<S>(socket: &mut S) -> bool
where
    S: futures_util::Stream<
            Item = Result<tokio_tungstenite::tungstenite::Message, tokio_tungstenite::tungstenite::Error>,
        > + Unpin,
{
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => return false,
            Ok(None | Some(Err(_))) => return true,
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_)))) => return true,
            Ok(Some(Ok(_))) => {}
        }
    }
}

#[tokio::test]
async fn oversized_websocket_frames_close_only_their_socket() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let server = TestServer::builder().base("/wages").start().await;
    let counted = || async {
        let (_, metrics) = server.get("/metrics").await;
        let line = metrics.lines().find_map(|l| l.strip_prefix("wages_websocket_errors_total ")).map(str::to_owned);
        line.and_then(|n| n.parse::<u64>().ok()).expect("the counter")
    };
    let before = counted().await;
    // MQTT over WebSocket: one frame past the largest MQTT packet the broker takes.
    let mqtt_url = format!("ws://{}/wages/mqtt", server.addr);
    let (mut big, _) = tokio_tungstenite::connect_async(&mqtt_url).await.expect("WebSocket");
    let (mut bystander, _) = tokio_tungstenite::connect_async(&mqtt_url).await.expect("WebSocket");
    let frame = vec![0u8; wages_server::mqtt::MAX_PACKET_BYTES + 1];
    let _ = big.send(Message::Binary(frame.into())).await;
    assert!(closed_by_server(&mut big).await, "an oversized MQTT frame closes its socket");
    // The other socket still speaks MQTT: CONNECT (3.1.1, clean session, client id "b") → a
    // CONNACK (refusing it: no login).
    let connect = [0x10, 0x0d, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x01, b'b'];
    bystander.send(Message::Binary(connect.to_vec().into())).await.expect("send CONNECT");
    let answer = tokio::time::timeout(Duration::from_secs(10), futures_util::StreamExt::next(&mut bystander)).await;
    let Ok(Some(Ok(Message::Binary(connack)))) = answer else { panic!("no CONNACK: {answer:?}") };
    assert_eq!(connack.first(), Some(&0x20), "CONNACK");

    // A live viewer only listens: more than 4 KiB from it closes it.
    let (mut chatty, _) = tokio_tungstenite::connect_async(server.ws_request("/api/live")).await.expect("WebSocket");
    let _ = chatty.send(Message::Text("x".repeat(5000).into())).await;
    assert!(closed_by_server(&mut chatty).await, "an oversized viewer message closes its socket");
    // Both counted (the counter is the process's: other tests may add to it).
    assert!(counted().await >= before + 2);
    let (_quiet, _) = tokio_tungstenite::connect_async(server.ws_request("/api/live")).await.expect("a new viewer");
    still_works(&server, "after-frames").await;
    server.stop().await;
}
