//! Readings in InfluxDB, against real servers started by scripts/test.sh: the write path
//! (the `influxdb2` crate on `/api/v2/write`) into VictoriaMetrics, which accepts InfluxDB
//! 2's write API (`WAGES_TEST_VM_URL`), and the read path (InfluxQL on `/query`) against
//! Debian's InfluxDB 1.6 (`WAGES_TEST_INFLUXDB1_URL`). No InfluxDB 2 server can be
//! installed here; docs/operations.md says what that leaves untested.

use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, QoS};
use serde_json::{Value, json};
use wages_codec::{ClientId, Reading, SessionId};
use wages_store::{InfluxReadings, ReadingsStore, line_protocol};
use wages_testkit::TestServer;

fn url(variable: &str, script: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| {
        panic!("{variable} is not set: run scripts/test.sh, or scripts/{script} start DIR and export the URL it prints")
    })
}

fn reading(id: &str, session: &str, t: u64, grams: f64) -> Reading {
    let line = format!("client_id={id};session_id={session};value={grams};tstamp={t}");
    wages_codec::decode_line(line.as_bytes()).expect("valid reading")
}

/// VictoriaMetrics' JSON-lines export of `readings_value` for one device: (session, values, times).
async fn exported(vm: &str, client_id: &str) -> Vec<(String, Vec<f64>, Vec<u64>)> {
    let http = reqwest::Client::new();
    http.get(format!("{vm}/internal/force_flush")).send().await.expect("flush");
    let body = http
        .post(format!("{vm}/api/v1/export"))
        .form(&[("match[]", format!("readings_value{{client_id=\"{client_id}\"}}"))])
        .send()
        .await
        .expect("export")
        .text()
        .await
        .expect("body");
    body.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("JSON line");
            let floats = |k: &str| v[k].as_array().expect(k).iter().map(|x| x.as_f64().expect("number")).collect();
            let times: Vec<f64> = floats("timestamps");
            (
                v["metric"]["session_id"].as_str().expect("tag").to_owned(),
                floats("values"),
                times.iter().map(|t| *t as u64).collect(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_pipeline_writes_readings_through_the_influxdb2_write_api() {
    let vm = url("WAGES_TEST_VM_URL", "victoria-metrics.sh");
    let server = TestServer::builder().influx(&vm, "wages").start().await;
    let ready = server.json("/readyz").await;
    assert_eq!(ready["checks"]["timeseries"], "ok", "{ready}");

    let id = format!("vm-{}", std::process::id());
    let (client, mut eventloop) = AsyncClient::new(server.mqtt_options("test-vm"), 100);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    for m in 0..20u64 {
        let lines: Vec<String> = (0..10)
            .map(|i| reading(&id, "shot", 1_000 + (m * 10 + i) * 100, (m * 10 + i) as f64 / 4.0).to_string())
            .collect();
        client
            .publish(format!("wages/devices/{id}/readings"), QoS::AtLeastOnce, false, lines.join("\n"))
            .await
            .expect("publish");
    }
    // The first message again, as a redelivery: the same points, stored once.
    let again: Vec<String> =
        (0..10).map(|i| reading(&id, "shot", 1_000 + i * 100, i as f64 / 4.0).to_string()).collect();
    client
        .publish(format!("wages/devices/{id}/readings"), QoS::AtLeastOnce, false, again.join("\n"))
        .await
        .expect("publish");
    server
        .eventually("/api/pipeline", |v| v["messages"] == 21 && v["in_flight"] == 0 && v["batches"].as_u64() > Some(0))
        .await;

    let deadline = Instant::now() + Duration::from_secs(15);
    let series = loop {
        let series = exported(&vm, &id).await;
        if series.first().is_some_and(|s| s.1.len() == 200) || Instant::now() > deadline {
            break series;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(series.len(), 1, "{series:?}");
    let (session, values, times) = &series[0];
    assert_eq!(session, "shot");
    assert_eq!(values.len(), 200);
    assert_eq!((times[0], times[199]), (1_000, 20_900));
    assert_eq!((values[0], values[199]), (0.0, 49.75));
    server.stop().await;
}

#[tokio::test]
async fn sessions_are_read_back_with_influxql() {
    let influx = url("WAGES_TEST_INFLUXDB1_URL", "influxdb1.sh");
    let db = format!("wages_{}", std::process::id());
    let http = reqwest::Client::new();
    let created = http.post(format!("{influx}/query")).form(&[("q", format!("CREATE DATABASE {db}"))]).send().await;
    let created = created.expect("create database").text().await.expect("body");
    assert!(!created.contains("error"), "CREATE DATABASE {db}: {created}");
    // Written as InfluxDB 1.x takes it, in exactly the line protocol the pipeline sends.
    let mut points = vec![
        reading("ix-1", "first", 1_000, 0.0),
        reading("ix-1", "first", 2_000, 2.0),
        reading("ix-1", "first", 3_000, 6.0),
    ];
    points.extend((0..5).map(|i| reading("ix-1", "second", 60_000 + i * 500, i as f64)));
    points.push(reading("ix-2", "other", 1_000, 9.0));
    // A machine's shot: what it measured rides on the readings as fields of their points.
    let machine = |t: u64, grams: f64, measures: &str| {
        let line = format!("client_id=ix-3;session_id=pulled;value={grams};tstamp={t};{measures}");
        wages_codec::decode_line(line.as_bytes()).expect("valid reading")
    };
    points.push(machine(1_000, 0.0, "pressure=3;water_temperature=92.5"));
    points.push(machine(1_100, 0.4, "pressure=8.75;flow=2.1"));
    points.push(machine(1_200, 0.9, ""));
    let written = http
        .post(format!("{influx}/write?db={db}&precision=ms"))
        .body(line_protocol(&points))
        .send()
        .await
        .expect("write");
    let status = written.status().as_u16();
    assert_eq!(status, 204, "write into {db}: {}", written.text().await.unwrap_or_default());

    let store = ReadingsStore::Influx(Box::new(InfluxReadings::new(&influx, "cafe", &db, "token")));
    let (id, first) = (ClientId::parse("ix-1").expect("id"), SessionId::parse("first").expect("session"));
    let readings = store.readings(&id, &first).await.expect("readings");
    assert_eq!(readings, points[..3]);
    let sessions = store.sessions(&id, 10, None, 100_000).await.expect("sessions");
    let names: Vec<&str> = sessions.iter().map(|s| s.session_id.as_str()).collect();
    assert_eq!(names, ["second", "first"]);
    assert_eq!((sessions[0].count, sessions[1].count, sessions[1].final_weight), (5, 3, 6.0));
    let older = store.sessions(&id, 10, Some(60_000), 100_000).await.expect("sessions");
    assert_eq!(older.len(), 1);
    assert!(store.ping().await.is_some_and(|answer| answer.is_ok()));
    let (ix3, pulled) = (ClientId::parse("ix-3").expect("id"), SessionId::parse("pulled").expect("session"));
    let series = store.series(&ix3, &pulled).await.expect("series");
    let series: Vec<(&str, &[(u64, f64)])> = series.iter().map(|s| (s.kind.as_str(), s.points.as_slice())).collect();
    assert_eq!(
        series,
        [
            ("pressure", &[(1_000, 3.0), (1_100, 8.75)][..]),
            ("flow", &[(1_100, 2.1)][..]),
            ("water_temperature", &[(1_000, 92.5)][..]),
        ]
    );

    // The API of a server keeping readings there reads the same.
    let server = TestServer::builder().influx(&influx, &db).start().await;
    let body = json!({"client_id": "ix-1", "name": "Influx scale"});
    let registered = server.http().post(server.url("/api/devices")).json(&body).send().await;
    assert_eq!(registered.expect("register").status().as_u16(), 201);
    let listed = server.json("/api/devices/ix-1/sessions").await;
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
    assert_eq!(listed[0]["session_id"], "second");
    let rows = server.json("/api/devices/ix-1/sessions/first/readings").await;
    assert_eq!(
        rows,
        json!([
            {"client_id": "ix-1", "session_id": "first", "value": 0.0, "tstamp": 1000},
            {"client_id": "ix-1", "session_id": "first", "value": 2.0, "tstamp": 2000},
            {"client_id": "ix-1", "session_id": "first", "value": 6.0, "tstamp": 3000}
        ])
    );
    server.stop().await;

    // A database that is not there is a readable error, not a crash.
    let missing = InfluxReadings::new(&influx, "cafe", "no_such_db", "token");
    let err = missing.readings(&id, &first).await.expect_err("no database");
    assert!(err.to_string().contains("database not found"), "{err}");
}
