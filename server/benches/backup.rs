//! A whole Beanconqueror history in one step: how long importing 2,000 brews takes
//! through the HTTP API, on a server of its own (SQLite with full sync in a temporary
//! directory, or PostgreSQL with `BENCH_DATABASE=postgres` on `WAGES_TEST_POSTGRES_URL`).
//! Side by side in one run:
//!
//!     cargo bench -p server --bench backup
//!
//! - Beanconqueror's own test backup (`BeanconquerorTestData.json`: 2,000 brews written
//!   down without a scale), packed as the app packs `Beanconqueror.zip`, to
//!   `POST /api/shots/import/backup`;
//! - the same backup with a flow profile for every brew (Beanconqueror's
//!   `BeanconquerorFlowTestData.json`: 332 weight and 488 pressure samples): 2,000
//!   espresso shots with their curves, 1.6 million samples;
//! - each beside its baseline: the same 2,000 brews sent one by one as brew exports to
//!   `POST /api/shots/import`, as a person would without the backup import (one request
//!   after the other, each answered with its shot).
//!
//! Time is from the request sent to the answer read, the zip made beforehand.
//! `BENCH_BREWS` (default 2,000) takes the first so many brews.

#![allow(clippy::print_stdout, clippy::expect_used, clippy::cast_precision_loss)]

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wages_testkit::{Db, TestServer};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../store/tests/fixtures/beanconqueror_backup/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).expect("fixture")
}

/// `Beanconqueror.zip` of `data` (the first 500 brews in the main file, then chunks of
/// 500), with `flow` as every brew's flow profile when given.
fn backup_zip(data: &Value, flow: Option<&[u8]>) -> Vec<u8> {
    let brews = data["BREWS"].as_array().expect("brews").clone();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut main = data.clone();
    main["BREWS"] = Value::Array(brews.iter().take(500).cloned().collect());
    zip.start_file("Beanconqueror.json", options).expect("zip");
    zip.write_all(main.to_string().as_bytes()).expect("zip");
    for (i, chunk) in brews.chunks(500).enumerate().skip(1) {
        zip.start_file(format!("Beanconqueror_Brews_{i}.json"), options).expect("zip");
        zip.write_all(Value::Array(chunk.to_vec()).to_string().as_bytes()).expect("zip");
    }
    if let Some(flow) = flow {
        for brew in &brews {
            let uuid = brew["config"]["uuid"].as_str().expect("uuid");
            zip.start_file(format!("brews/{uuid}_flow_profile.json"), options).expect("zip");
            zip.write_all(flow).expect("zip");
        }
    }
    zip.finish().expect("zip").into_inner()
}

async fn server(db: Db) -> TestServer {
    let server = TestServer::builder().db(db).start().await;
    server.register("home").await;
    server
}

fn report(name: &str, brews: usize, took: Duration, answer: &str) {
    let secs = took.as_secs_f64();
    println!("{name:<58} {brews:>6} brews {secs:>8.2} s {:>9.0} brews/s   {answer}", brews as f64 / secs);
}

#[tokio::main]
async fn main() {
    let postgres = std::env::var("BENCH_DATABASE").is_ok_and(|d| d == "postgres");
    let db = if postgres { Db::Postgres } else { Db::Sqlite };
    let mut data: Value = serde_json::from_slice(&fixture("BeanconquerorTestData.json")).expect("json");
    let wanted = std::env::var("BENCH_BREWS").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let brews: Vec<Value> = data["BREWS"].as_array().expect("brews").iter().take(wanted).cloned().collect();
    data["BREWS"] = Value::Array(brews.clone());
    let n = brews.len();
    println!("{n} brews of Beanconqueror's test backup, on {}", if postgres { "PostgreSQL" } else { "SQLite" });

    let flow_file = fixture("BeanconquerorFlowTestData.json");
    let flow_value: Value = serde_json::from_slice(&flow_file).expect("flow");
    for flow in [None, Some(&flow_file[..])] {
        let with = if flow.is_some() { ", a flow profile per brew" } else { "" };
        // The baseline: one by one, each as its own brew export.
        let bar = server(db).await;
        let (bean, mill, preparation) = (&data["BEANS"][0], &data["MILL"][0], &data["PREPARATION"][0]);
        let files: Vec<Vec<u8>> = brews
            .iter()
            .map(|brew| {
                let mut file = json!({ "brew": brew, "bean": bean, "mill": mill, "preparation": preparation });
                if flow.is_some() {
                    file["brewFlow"] = flow_value.clone();
                }
                file.to_string().into_bytes()
            })
            .collect();
        let started = Instant::now();
        for file in files {
            let res = bar.http().post(bar.url("/api/shots/import?scale=home")).body(file).send().await.expect("import");
            assert_eq!(res.status().as_u16(), 201, "{}", res.text().await.unwrap_or_default());
        }
        report(&format!("one brew export per request{with}"), n, started.elapsed(), "");
        bar.stop().await;

        // The backup in one request.
        let zip = backup_zip(&data, flow);
        let bar = server(db).await;
        let started = Instant::now();
        let res = bar
            .http()
            .post(bar.url("/api/shots/import/backup?scale=home"))
            .body(zip.clone())
            .send()
            .await
            .expect("backup");
        let status = res.status().as_u16();
        let answer = res.text().await.expect("answer");
        let took = started.elapsed();
        assert_eq!(status, 200, "{answer}");
        let answer: Value = serde_json::from_str(&answer).expect("report");
        assert_eq!(answer["imported"].as_u64(), Some(n as u64), "{answer}");
        report(&format!("Beanconqueror.zip{with}"), n, took, &format!("zip {:.1} MB", zip.len() as f64 / 1e6));
        bar.stop().await;
    }
}
