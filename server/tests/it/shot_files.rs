//! Shots between Wages and other apps, over HTTP on SQLite and PostgreSQL: each format
//! Wages writes, imported into a fresh server, is the same shot; a Beanconqueror backup
//! (Beanconqueror's own test backup of 2,000 brews, packed as the app packs it) comes
//! in whole, and again adds nothing.

use std::io::Write;

use reqwest::Response;
use serde_json::{Value, json};
use wages_testkit::{Db, TestServer};

async fn body(res: Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn get(server: &TestServer, path: &str) -> (u16, Value) {
    body(server.http().get(server.url(path)).send().await.expect("get")).await
}

async fn post(server: &TestServer, path: &str, bytes: Vec<u8>) -> (u16, Value) {
    body(server.http().post(server.url(path)).body(bytes).send().await.expect("post")).await
}

fn fixture(dir: &str, name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../store/tests/fixtures/{dir}/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

/// What makes two shots the same: the curve, every series, and what was brewed.
fn essence(shot: &Value, export: &Value) -> Value {
    let fields =
        ["dose", "yield", "grinder", "grind_setting", "tds", "rating", "notes", "tags", "method", "water_temp"];
    json!({
        "details": fields.iter().map(|f| shot[*f].clone()).collect::<Vec<_>>(),
        "beans": [shot["beans"]["roaster"].clone(), shot["beans"]["name"].clone(), shot["beans"]["roast_date"].clone()],
        "readings": export["readings"].as_array().expect("readings").iter()
            .map(|r| (r["tstamp"].clone(), r["value"].clone())).collect::<Vec<_>>(),
        "series": export["series"].clone(),
    })
}

async fn every_export_is_the_same_shot_in_a_fresh_server(db: Db) {
    let here = TestServer::builder().db(db).start().await;
    here.register("de1").await;
    let (status, shot) =
        post(&here, "/api/shots/import?scale=de1", fixture("shot_files", "20210921T085910.shot")).await;
    assert_eq!(status, 201, "{shot}");
    let path = "/api/devices/de1/sessions/de1-1632207550";
    let edit = json!({ "rating": 85, "notes": "sweet, a little thin", "tags": ["dial-in"], "tds": 9.1 });
    let res = here.http().patch(here.url(path)).json(&edit).send().await.expect("edit");
    assert_eq!(res.status().as_u16(), 200);
    let (_, shot) = get(&here, path).await;
    let (_, export) = get(&here, &format!("{path}/export?format=json")).await;
    let ours = essence(&shot, &export);
    assert_eq!(ours["readings"].as_array().map(Vec::len), Some(100));
    assert_eq!(ours["series"].as_array().map(Vec::len), Some(5));

    let there = TestServer::builder().db(db).start().await;
    for format in ["json", "beanconqueror", "csv"] {
        let file = here.http().get(here.url(&format!("{path}/export?format={format}"))).send().await.expect("export");
        let file = file.bytes().await.expect("file").to_vec();
        there.register(format).await;
        let (status, theirs) = post(&there, &format!("/api/shots/import?scale={format}"), file).await;
        assert_eq!(status, 201, "{format}: {theirs}");
        assert_eq!(theirs["session_id"], "de1-1632207550", "{format}");
        let at = format!("/api/devices/{format}/sessions/de1-1632207550");
        let (_, export) = get(&there, &format!("{at}/export?format=json")).await;
        let same = essence(&theirs, &export);
        if format == "csv" {
            // The CSV carries the curves only.
            assert_eq!((&same["readings"], &same["series"]), (&ours["readings"], &ours["series"]), "{format}");
        } else {
            assert_eq!(same, ours, "{format}");
        }
    }
    here.stop().await;
    there.stop().await;
}

#[tokio::test]
async fn every_export_is_the_same_shot_in_a_fresh_server_on_sqlite() {
    every_export_is_the_same_shot_in_a_fresh_server(Db::Sqlite).await;
}

#[tokio::test]
async fn every_export_is_the_same_shot_in_a_fresh_server_on_postgres() {
    every_export_is_the_same_shot_in_a_fresh_server(Db::Postgres).await;
}

/// Beanconqueror's test backup as the app writes `Beanconqueror.zip`: the first 500 brews
/// in `Beanconqueror.json`, then chunks of 500; the first brew's flow profile beside it.
fn backup() -> (Vec<u8>, String, Vec<u8>) {
    let mut data: Value =
        serde_json::from_slice(&fixture("beanconqueror_backup", "BeanconquerorTestData.json")).expect("json");
    let brews = data["BREWS"].as_array().expect("brews").clone();
    let first = brews[0]["config"]["uuid"].as_str().expect("uuid").to_owned();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    data["BREWS"] = Value::Array(brews[..500].to_vec());
    zip.start_file("Beanconqueror.json", options).expect("zip");
    zip.write_all(data.to_string().as_bytes()).expect("zip");
    for (i, chunk) in brews[500..].chunks(500).enumerate() {
        zip.start_file(format!("Beanconqueror_Brews_{}.json", i + 1), options).expect("zip");
        zip.write_all(Value::Array(chunk.to_vec()).to_string().as_bytes()).expect("zip");
    }
    let flow = fixture("beanconqueror_backup", "BeanconquerorFlowTestData.json");
    (zip.finish().expect("zip").into_inner(), first, flow)
}

async fn a_beanconqueror_backup_comes_in_whole(db: Db) {
    let bar = TestServer::builder().db(db).start().await;
    bar.register("home").await;
    bar.register("folder").await;
    let (zip, first, flow) = backup();

    // The zip as the app exports it, with the flow profile put into the form beside it.
    let boundary = "wagesboundary";
    let mut form = Vec::new();
    for (name, bytes) in [("Beanconqueror.zip".to_owned(), &zip), (format!("brews/{first}_flow_profile.json"), &flow)] {
        form.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .into_bytes(),
        );
        form.extend(bytes);
        form.extend(b"\r\n");
    }
    form.extend(format!("--{boundary}--\r\n").into_bytes());
    let send = || {
        bar.http()
            .post(bar.url("/api/shots/import/backup?scale=home"))
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(form.clone())
            .send()
    };
    let (status, report) = body(send().await.expect("backup")).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report, json!({ "brews": 2000, "imported": 2000, "there": 0, "beans": 1, "refused": [] }));
    let (_, shot) = get(&bar, &format!("/api/devices/home/sessions/{first}")).await;
    assert_eq!((shot["final_weight"].as_f64(), shot["grinder"].as_str()), (Some(43.1), Some("Test")));
    assert_eq!((shot["method"].as_str(), shot["beans"]["name"].as_str()), (Some("immersion"), Some("Test")));
    let (_, export) = get(&bar, &format!("/api/devices/home/sessions/{first}/export?format=json")).await;
    assert_eq!(export["series"][0]["kind"], "pressure");
    let (_, beans) = get(&bar, "/api/beans").await;
    assert_eq!(beans.as_array().map(Vec::len), Some(1), "{beans}");

    // Again: every brew is there already, nothing is stored twice.
    let (status, report) = body(send().await.expect("again")).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!((report["imported"].as_u64(), report["there"].as_u64()), (Some(0), Some(2000)));
    let (mut shots, mut cursor) = (0, String::new());
    loop {
        let (_, page) = get(&bar, &format!("/api/shots?scale=home&limit=100{cursor}")).await;
        shots += page["shots"].as_array().map_or(0, Vec::len);
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(shots, 2000);

    // Beanconqueror.json unpacked, as the body: every brew there already.
    let main = fixture("beanconqueror_backup", "BeanconquerorTestData.json");
    let (status, report) = post(&bar, "/api/shots/import/backup?scale=home", main).await;
    assert_eq!((status, report["there"].as_u64()), (200, Some(2000)), "{report}");
    // The zip alone as the body, onto another scale; a broken one is named.
    let (status, report) = post(&bar, "/api/shots/import/backup?scale=folder", zip.clone()).await;
    assert_eq!((status, report["imported"].as_u64()), (200, Some(2000)), "{report}");
    let (status, error) = post(&bar, "/api/shots/import/backup?scale=folder", zip[..zip.len() / 2].to_vec()).await;
    assert_eq!(status, 422, "{error}");
    assert!(error["error"]["message"].as_str().unwrap_or_default().contains("zip"), "{error}");
    let (status, error) = post(&bar, "/api/shots/import/backup?scale=nobody", zip).await;
    assert_eq!(status, 404, "{error}");
    // A backup sent as one shot says where backups go.
    let (status, error) = post(&bar, "/api/shots/import?scale=folder", backup().0).await;
    assert_eq!(status, 422);
    assert!(error["error"]["message"].as_str().unwrap_or_default().contains("/api/shots/import/backup"), "{error}");
    bar.stop().await;
}

#[tokio::test]
async fn a_beanconqueror_backup_comes_in_whole_on_sqlite() {
    a_beanconqueror_backup_comes_in_whole(Db::Sqlite).await;
}

#[tokio::test]
async fn a_beanconqueror_backup_comes_in_whole_on_postgres() {
    a_beanconqueror_backup_comes_in_whole(Db::Postgres).await;
}
