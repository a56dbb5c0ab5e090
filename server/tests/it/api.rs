//! The devices API over HTTP, on SQLite and on PostgreSQL: statuses, error bodies,
//! validation of every field, duplicates, unknown ids, body bounds, OpenAPI and Swagger UI.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use wages_testkit::{Db, TestServer};

async fn body(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    let text = res.text().await.expect("body");
    let value = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (status, value)
}

async fn post(server: &TestServer, path: &str, json: &Value) -> (StatusCode, Value) {
    body(server.http().post(server.url(path)).json(json).send().await.expect("post")).await
}

async fn patch(server: &TestServer, path: &str, json: &Value) -> (StatusCode, Value) {
    body(server.http().patch(server.url(path)).json(json).send().await.expect("patch")).await
}

async fn get(server: &TestServer, path: &str) -> (StatusCode, Value) {
    body(server.http().get(server.url(path)).send().await.expect("get")).await
}

async fn delete(server: &TestServer, path: &str) -> (StatusCode, Value) {
    body(server.http().delete(server.url(path)).send().await.expect("delete")).await
}

/// Asserts an error response: its status, code, and (for 422) the field it names.
fn assert_error(got: &(StatusCode, Value), status: u16, code: &str, field: Option<&str>) {
    assert_eq!(got.0.as_u16(), status, "{got:?}");
    assert_eq!(got.1["error"]["code"], code, "{got:?}");
    assert!(got.1["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{got:?}");
    assert_eq!(got.1["error"]["field"].as_str(), field, "{got:?}");
}

async fn crud(db: Db, base: &str) {
    let server = TestServer::builder().base(base).db(db).start().await;

    let (status, list) = get(&server, "/api/devices").await;
    assert_eq!((status.as_u16(), list), (200, json!([])));

    let (status, created) = post(&server, "/api/devices", &json!({"client_id": "scale-01", "name": "Bar, left"})).await;
    assert_eq!(status.as_u16(), 201);
    assert_eq!(created["client_id"], "scale-01");
    assert_eq!(created["name"], "Bar, left");
    assert_eq!(created["online"], false);
    assert_eq!(created["last_seen_at"], Value::Null);
    assert_eq!(created["firmware_version"], Value::Null);
    assert!(created["created_at"].as_i64().is_some_and(|t| t > 1_700_000_000_000));
    assert_eq!(created["created_at"], created["updated_at"]);
    // The MQTT login comes with the registration only; reads show the device alone.
    assert_eq!(created["mqtt_username"], "scale-01");
    assert!(created["mqtt_password"].as_str().is_some_and(|p| p.len() == 48), "{created}");
    let mut created = created;
    created.as_object_mut().map(|o| (o.remove("mqtt_username"), o.remove("mqtt_password")));

    post(&server, "/api/devices", &json!({"client_id": "home_2", "name": "Kitchen"})).await;
    let (_, list) = get(&server, "/api/devices").await;
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    let (_, found) = get(&server, "/api/devices?q=KITCH").await;
    assert_eq!(found[0]["client_id"], "home_2");
    assert_eq!(found.as_array().map(Vec::len), Some(1));
    let (_, limited) = get(&server, "/api/devices?limit=1").await;
    assert_eq!(limited.as_array().map(Vec::len), Some(1));

    let (status, one) = get(&server, "/api/devices/scale-01").await;
    assert_eq!((status.as_u16(), &one), (200, &created));

    let (status, renamed) = patch(&server, "/api/devices/scale-01", &json!({"name": "Window"})).await;
    assert_eq!(status.as_u16(), 200);
    assert_eq!(renamed["name"], "Window");
    assert_eq!(get(&server, "/api/devices/scale-01").await.1["name"], "Window");

    let (status, nothing) = delete(&server, "/api/devices/scale-01").await;
    assert_eq!((status.as_u16(), nothing), (204, Value::Null));
    assert_error(&get(&server, "/api/devices/scale-01").await, 404, "not_found", None);

    server.stop().await;
}

#[tokio::test]
async fn crud_on_sqlite() {
    crud(Db::Sqlite, "").await;
}

#[tokio::test]
async fn crud_on_postgres() {
    crud(Db::Postgres, "").await;
}

#[tokio::test]
async fn crud_under_a_base_path_on_postgres() {
    crud(Db::Postgres, "/wages").await;
}

async fn refusals(db: Db) {
    let server = TestServer::builder().db(db).start().await;
    post(&server, "/api/devices", &json!({"client_id": "scale-01", "name": "Bar"})).await;

    // A duplicate client_id.
    let dup = post(&server, "/api/devices", &json!({"client_id": "scale-01", "name": "Other"})).await;
    assert_error(&dup, 409, "conflict", None);
    assert!(dup.1["error"]["message"].as_str().is_some_and(|m| m.contains("scale-01")));

    // Every field, every rule.
    let long_id = "x".repeat(65);
    let long_name = "n".repeat(101);
    let invalid = [
        (json!({"client_id": "", "name": "Bar"}), "client_id"),
        (json!({"client_id": long_id, "name": "Bar"}), "client_id"),
        (json!({"client_id": "scale.01", "name": "Bar"}), "client_id"),
        (json!({"client_id": "scale 01", "name": "Bar"}), "client_id"),
        (json!({"client_id": 42, "name": "Bar"}), "client_id"),
        (json!({"name": "Bar"}), "client_id"),
        (json!({"client_id": "scale-02", "name": ""}), "name"),
        (json!({"client_id": "scale-02", "name": "   "}), "name"),
        (json!({"client_id": "scale-02", "name": long_name}), "name"),
        (json!({"client_id": "scale-02", "name": "two\nlines"}), "name"),
        (json!({"client_id": "scale-02", "name": null}), "name"),
        (json!({"client_id": "scale-02"}), "name"),
        (json!({"client_id": "scale-02", "name": "Bar", "colour": "red"}), "colour"),
    ];
    for (payload, field) in invalid {
        assert_error(&post(&server, "/api/devices", &payload).await, 422, "invalid", Some(field));
    }
    assert_error(&patch(&server, "/api/devices/scale-01", &json!({"name": ""})).await, 422, "invalid", Some("name"));
    assert_error(&patch(&server, "/api/devices/scale-01", &json!({})).await, 422, "invalid", Some("name"));
    assert_eq!(get(&server, "/api/devices").await.1.as_array().map(Vec::len), Some(1), "nothing invalid was stored");

    // Unknown ids.
    assert_error(&get(&server, "/api/devices/ghost").await, 404, "not_found", None);
    assert_error(&patch(&server, "/api/devices/ghost", &json!({"name": "X"})).await, 404, "not_found", None);
    assert_error(&delete(&server, "/api/devices/ghost").await, 404, "not_found", None);
    assert_error(&get(&server, "/api/devices/not.an.id").await, 404, "not_found", None);
    assert_error(&get(&server, "/api/nothing/here").await, 404, "not_found", None);

    // Bodies: not JSON, no JSON content type, too large.
    let client = server.http();
    let res =
        client.post(server.url("/api/devices")).header("content-type", "application/json").body("{oops").send().await;
    assert_error(&body(res.expect("post")).await, 400, "bad_request", None);
    let res = client.post(server.url("/api/devices")).body(r#"{"client_id":"a","name":"b"}"#).send().await;
    assert_error(&body(res.expect("post")).await, 415, "unsupported_media_type", None);
    let huge = json!({"client_id": "scale-03", "name": "x".repeat(20_000)});
    assert_error(&post(&server, "/api/devices", &huge).await, 413, "payload_too_large", None);

    // A body is an object: serde alone would read a struct from an array of its fields.
    let put = |path: &str, json: Value| {
        let request = client.put(server.url(path)).json(&json);
        async move { body(request.send().await.expect("put")).await }
    };
    let array = put("/api/devices/scale-01/recipe", json!([null, null])).await;
    assert_error(&array, 400, "bad_request", None);
    assert!(array.1["error"]["message"].as_str().is_some_and(|m| m.contains("object")), "{array:?}");

    // A site id as the document's pattern says: not empty, not in capitals; `null` is none.
    for site in [json!(""), json!("COM1"), json!(" soho")] {
        let refused = put("/api/devices/scale-01/site", json!({ "site": site })).await;
        assert_error(&refused, 422, "invalid", Some("site"));
    }
    assert_eq!(put("/api/devices/scale-01/site", json!({"site": null})).await.0, StatusCode::OK);
    for path in ["/api/devices?site=COM1", "/api/firmware?site=COM1", "/api/shots?site=Soho"] {
        assert_error(&get(&server, path).await, 422, "invalid", Some("site"));
    }
    assert_eq!(get(&server, "/api/devices?site=").await.0, StatusCode::OK, "an empty filter is none");

    // Query bounds.
    assert_error(&get(&server, "/api/devices?limit=0").await, 422, "invalid", Some("limit"));
    assert_error(&get(&server, "/api/devices?limit=1001").await, 422, "invalid", Some("limit"));
    assert_error(&get(&server, "/api/devices?limit=many").await, 400, "bad_request", None);

    server.stop().await;
}

#[tokio::test]
async fn refusals_on_sqlite() {
    refusals(Db::Sqlite).await;
}

#[tokio::test]
async fn refusals_on_postgres() {
    refusals(Db::Postgres).await;
}

#[tokio::test]
async fn openapi_describes_the_api_and_swagger_ui_is_served_offline() {
    let server = TestServer::builder().base("/wages").start().await;
    let (status, doc) = get(&server, "/api/openapi.json").await;
    assert_eq!(status.as_u16(), 200);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{doc}");
    assert_eq!(doc["servers"][0]["url"], "/wages");
    for path in [
        "/api/devices",
        "/api/devices/{client_id}",
        "/api/devices/{client_id}/sessions",
        "/api/devices/{client_id}/sessions/{session_id}/readings",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    for method in ["get", "post"] {
        assert!(doc["paths"]["/api/devices"][method].is_object());
    }
    for method in ["get", "patch", "delete"] {
        assert!(doc["paths"]["/api/devices/{client_id}"][method].is_object());
    }
    assert!(doc["components"]["schemas"]["Device"].is_object());
    // A shot's suggestion for the next one, with the changes it can name.
    let change = &doc["components"]["schemas"]["Change"]["enum"];
    assert!(change.as_array().is_some_and(|c| c.contains(&json!("grind_finer")) && c.len() == 7), "{change}");
    assert!(doc["components"]["schemas"]["Suggestion"]["properties"]["reason"].is_object());

    let res = server.http().get(server.url("/api/docs/")).send().await.expect("docs");
    assert_eq!(res.status().as_u16(), 200);
    let html = res.text().await.expect("html");
    assert!(html.contains("swagger-ui"), "Swagger UI page");
    let (status, _) = server.get("/api/docs/swagger-ui.css").await;
    assert_eq!(status, 200, "Swagger UI's assets come from the binary");
    server.stop().await;
}

async fn sessions(db: Db) {
    use wages_codec::{ClientId, Grams, Reading, SessionId, Timestamp};
    let server = TestServer::builder().base("/wages").db(db).start().await;
    post(&server, "/api/devices", &json!({"client_id": "scale-01", "name": "Bar"})).await;
    let now = wages_codec::clock::now_ms();
    let pour = |session: &str, start: u64| -> Vec<Reading> {
        (0..=300u64)
            .map(|i| {
                Reading::new(
                    ClientId::parse("scale-01").expect("valid"),
                    SessionId::parse(session).expect("valid"),
                    Grams::new(i as f64 * 0.12).expect("in range"),
                    Timestamp::from_millis(start + i * 100).expect("in range"),
                )
            })
            .collect()
    };
    let readings = server.registry.readings();
    readings.insert(&pour("brew-1", now - 3_600_000)).await.expect("stored");
    readings.insert(&pour("brew-2", now - 29_000)).await.expect("stored");

    let (status, list) = get(&server, "/api/devices/scale-01/sessions").await;
    assert_eq!(status.as_u16(), 200);
    let ids: Vec<_> = list.as_array().expect("array").iter().map(|s| s["session_id"].clone()).collect();
    assert_eq!(ids, [json!("brew-2"), json!("brew-1")], "newest first");
    let latest = &list[0];
    assert_eq!((latest["count"].as_u64(), latest["duration_ms"].as_u64()), (Some(301), Some(30_000)));
    assert_eq!(latest["live"], true);
    assert_eq!(list[1]["live"], false);
    assert!((latest["final_weight"].as_f64().expect("number") - 36.0).abs() < 1e-9);
    assert!((latest["mean_flow"].as_f64().expect("number") - 1.2).abs() < 1e-9);
    assert!((latest["peak_flow"].as_f64().expect("number") - 1.2).abs() < 1e-9);

    let before = latest["started_at"].as_u64().expect("started_at");
    let (_, page) = get(&server, &format!("/api/devices/scale-01/sessions?limit=1&before={before}")).await;
    assert_eq!(
        page.as_array().map(|a| a.iter().map(|s| s["session_id"].clone()).collect::<Vec<_>>()),
        Some(vec![json!("brew-1")])
    );

    let (status, one) = get(&server, "/api/devices/scale-01/sessions/brew-1").await;
    assert_eq!((status.as_u16(), one["count"].as_u64()), (200, Some(301)));

    let (status, rows) = get(&server, "/api/devices/scale-01/sessions/brew-1/readings").await;
    assert_eq!(status.as_u16(), 200);
    let rows = rows.as_array().expect("array");
    assert_eq!(rows.len(), 301);
    assert_eq!(
        rows[1],
        json!({"client_id": "scale-01", "session_id": "brew-1", "value": 0.12, "tstamp": now - 3_600_000 + 100})
    );

    let res = server
        .http()
        .get(server.url("/api/devices/scale-01/sessions/brew-1/readings?format=csv"))
        .send()
        .await
        .expect("csv");
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(res.headers()["content-disposition"].to_str().expect("ascii").contains("scale-01-brew-1.csv"));
    let csv = res.text().await.expect("body");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 302, "a header and one row per reading");
    assert_eq!(lines[0], "client_id,session_id,value,tstamp");
    assert_eq!(lines[2], format!("scale-01,brew-1,0.12,{}", now - 3_600_000 + 100));

    assert_error(&get(&server, "/api/devices/ghost/sessions").await, 404, "not_found", None);
    assert_error(&get(&server, "/api/devices/scale-01/sessions/nope").await, 404, "not_found", None);
    assert_error(&get(&server, "/api/devices/scale-01/sessions/nope/readings").await, 404, "not_found", None);
    assert_error(&get(&server, "/api/devices/scale-01/sessions?limit=0").await, 422, "invalid", Some("limit"));
    assert_error(&get(&server, "/api/devices/scale-01/sessions?limit=101").await, 422, "invalid", Some("limit"));
    assert_error(&get(&server, "/api/devices/scale-01/sessions?before=yesterday").await, 400, "bad_request", None);
    assert_error(
        &get(&server, "/api/devices/scale-01/sessions/brew-1/readings?format=xml").await,
        422,
        "invalid",
        Some("format"),
    );
    server.stop().await;
}

#[tokio::test]
async fn sessions_on_sqlite() {
    sessions(Db::Sqlite).await;
}

#[tokio::test]
async fn sessions_on_postgres() {
    sessions(Db::Postgres).await;
}

/// Beans, a scale's recipe, a shot's fields and the shot search over JSON: what is
/// stored comes back, every bad field is refused by name and changes nothing.
async fn brews(db: Db) {
    use wages_codec::{ClientId, Grams, Reading, SessionId, Timestamp};
    let server = TestServer::builder().base("/wages").db(db).start().await;
    post(&server, "/api/devices", &json!({"client_id": "scale-01", "name": "Bar"})).await;

    let (status, kenya) = post(
        &server,
        "/api/beans",
        &json!({"roaster": "April", "name": "Kenya", "roast_date": "2026-11-20", "roast_level": "light"}),
    )
    .await;
    assert_eq!(status.as_u16(), 201, "{kenya}");
    let beans_id = kenya["id"].as_i64().expect("an id");
    assert_eq!((kenya["roast_date"].as_str(), kenya["archived"].as_bool()), (Some("2026-11-20"), Some(false)));
    for (body, field) in [
        (json!({"roaster": "", "name": "X"}), "roaster"),
        (json!({"roaster": "R", "name": "X", "roast_date": "2026-02-30"}), "roast_date"),
        (json!({"roaster": "R", "name": "X", "roast_level": "burnt"}), "roast_level"),
        (json!({"roaster": "R", "name": "x".repeat(101)}), "name"),
    ] {
        assert_error(&post(&server, "/api/beans", &body).await, 422, "invalid", Some(field));
    }
    assert_error(
        &post(&server, "/api/beans", &json!({"roaster": "R", "name": "X", "colour": 1})).await,
        422,
        "invalid",
        Some("colour"),
    );
    assert_eq!(get(&server, "/api/beans").await.1.as_array().map(Vec::len), Some(1), "nothing refused was kept");
    let (status, patched) = patch(&server, &format!("/api/beans/{beans_id}"), &json!({"origin": "Nyeri"})).await;
    assert_eq!(
        (status.as_u16(), patched["origin"].as_str(), patched["name"].as_str()),
        (200, Some("Nyeri"), Some("Kenya"))
    );
    assert_error(&get(&server, "/api/beans/999").await, 404, "not_found", None);
    assert_error(&get(&server, "/api/beans/abc").await, 404, "not_found", None);

    let recipe = json!({"method": "espresso", "beans_id": beans_id, "grinder": "Niche", "grind_setting": "12", "dose": 18.0, "target_yield": 36.0});
    let (status, set) =
        body(server.http().put(server.url("/api/devices/scale-01/recipe")).json(&recipe).send().await.expect("put"))
            .await;
    assert_eq!((status.as_u16(), &set), (200, &recipe));
    assert_eq!(get(&server, "/api/devices/scale-01/recipe").await.1, recipe);
    let put_bad = |sent: Value| {
        let http = server.http();
        let url = server.url("/api/devices/scale-01/recipe");
        async move { body(http.put(url).json(&sent).send().await.expect("put")).await }
    };
    assert_error(&put_bad(json!({"dose": 0})).await, 422, "invalid", Some("dose"));
    assert_error(&put_bad(json!({"beans_id": 4242})).await, 404, "not_found", None);
    assert_error(&put_bad(json!({"method": "french-press"})).await, 422, "invalid", Some("method"));
    assert_eq!(get(&server, "/api/devices/scale-01/recipe").await.1, recipe, "refusals changed nothing");
    assert_error(&get(&server, "/api/devices/ghost/recipe").await, 404, "not_found", None);
    // Beans on a recipe are not deleted.
    assert_error(&delete(&server, &format!("/api/beans/{beans_id}")).await, 409, "conflict", None);

    let pour: Vec<Reading> = (0..=300u64)
        .map(|i| {
            Reading::new(
                ClientId::parse("scale-01").expect("valid"),
                SessionId::parse("brew-1").expect("valid"),
                Grams::new(i as f64 * 0.12).expect("in range"),
                Timestamp::from_millis(1_764_000_000_000 + i * 100).expect("in range"),
            )
        })
        .collect();
    server.registry.readings().insert(&pour).await.expect("stored");

    let (_, shot) = get(&server, "/api/devices/scale-01/sessions/brew-1").await;
    assert_eq!(
        (shot["method"].as_str(), shot["dose"].as_f64(), shot["beans_id"].as_i64()),
        (Some("espresso"), Some(18.0), Some(beans_id))
    );
    assert_eq!(
        (shot["count"].as_u64(), shot["yield"].clone(), shot["effective_yield"].as_f64()),
        (Some(301), Value::Null, Some(36.0))
    );
    assert_eq!((shot["ratio"].as_f64(), shot["brewed_by"].as_str()), (Some(2.0), Some("admin (token tests)")));
    assert_eq!(shot["beans"]["name"], "Kenya");
    // 30 s for 1:2: an espresso on target.
    assert_eq!(shot["next"]["change"], "keep_it", "{shot}");
    assert_eq!(shot["next"]["reason"], "ran 30 s for 1:2.0, on target: keep it, and say how it tasted");

    let path = "/api/devices/scale-01/sessions/brew-1";
    let (status, edited) = patch(&server, path, &json!({"rating": 88, "tags": ["Sweet", "juicy"], "notes": "like cherries", "tds": 9.5, "yield": 38.0, "starred": true})).await;
    assert_eq!(status.as_u16(), 200, "{edited}");
    assert_eq!(
        (edited["rating"].as_i64(), edited["tags"].clone(), edited["starred"].as_bool()),
        (Some(88), json!(["sweet", "juicy"]), Some(true))
    );
    assert!((edited["extraction_yield"].as_f64().expect("ey") - 9.5 * 38.0 / 18.0).abs() < 1e-9);
    assert_eq!(
        (edited["dose"].as_f64(), edited["edited_by"].as_str()),
        (Some(18.0), Some("admin (token tests)")),
        "left-out fields stay"
    );
    for (body, field) in [
        (json!({"rating": 101}), Some("rating")),
        (json!({"dose": -1}), Some("dose")),
        (json!({"tds": 40}), Some("tds")),
        (json!({"water_temp": 150}), Some("water_temp")),
        (json!({"tags": ["a;b"]}), Some("tags")),
        // Thirteen tags as sent are past the bound, even when each is empty.
        (json!({"tags": vec![""; 13]}), Some("tags")),
        (json!({"notes": "n".repeat(2001)}), Some("notes")),
        (json!({"grade": "A"}), Some("grade")),
    ] {
        assert_error(&patch(&server, path, &body).await, 422, "invalid", field);
    }
    // Beans that are not in the library are not found, as any id that names nothing.
    assert_error(&patch(&server, path, &json!({"beans_id": 4242})).await, 404, "not_found", None);
    assert_eq!(get(&server, path).await.1["rating"].as_i64(), Some(88), "refusals changed nothing");
    // A long pour: what to change next follows the edited yield.
    let (_, long) = patch(&server, path, &json!({"yield": 45.0})).await;
    assert_eq!(long["next"], json!({"change": "lower_ratio", "reason": "1:2.5 for a 1:2.0 target: stop at 36 g"}));
    let (_, cold) = patch(&server, path, &json!({"method": "cold-brew"})).await;
    assert_eq!(cold["next"], Value::Null, "no target for cold brew: {cold}");
    assert_eq!(patch(&server, path, &json!({"method": "espresso"})).await.0.as_u16(), 200);
    let (_, cleared) = patch(&server, path, &json!({"yield": null})).await;
    assert_eq!(cleared["effective_yield"].as_f64(), Some(36.0), "null goes back to the scale's weight");
    assert_error(
        &patch(&server, "/api/devices/scale-01/sessions/nope", &json!({"rating": 1})).await,
        404,
        "not_found",
        None,
    );

    // The list carries the fields; the search finds the shot by tag, beans, text and rating.
    let (_, list) = get(&server, "/api/devices/scale-01/sessions").await;
    assert_eq!(list[0]["tags"], json!(["sweet", "juicy"]));
    for query in [
        "tag=sweet",
        &format!("beans_id={beans_id}"),
        "q=CHERR",
        "min_rating=80&starred=true",
        "method=espresso&scale=scale-01",
    ] {
        let (status, found) = get(&server, &format!("/api/shots?{query}")).await;
        assert_eq!(status.as_u16(), 200, "{query}: {found}");
        assert_eq!(found["shots"].as_array().map(Vec::len), Some(1), "{query}: {found}");
        assert_eq!(found["next_cursor"], Value::Null);
    }
    let (_, none) = get(&server, "/api/shots?tag=bitter").await;
    assert_eq!(none["shots"], json!([]));
    assert_error(&get(&server, "/api/shots?limit=0").await, 422, "invalid", Some("limit"));
    assert_error(&get(&server, "/api/shots?min_rating=300").await, 422, "invalid", Some("min_rating"));
    assert_error(&get(&server, "/api/shots?method=latte").await, 422, "invalid", Some("method"));
    assert_error(&get(&server, "/api/shots?cursor=garbage").await, 422, "invalid", Some("cursor"));
    assert_error(&get(&server, "/api/shots?page=2").await, 400, "bad_request", None);
    server.stop().await;
}

#[tokio::test]
async fn brews_on_sqlite() {
    brews(Db::Sqlite).await;
}

#[tokio::test]
async fn brews_on_postgres() {
    brews(Db::Postgres).await;
}

/// A shot exported in Beanconqueror's shape and imported into another, empty Wages is
/// the same shot: readings, summary, recipe, taste and beans. Bad files are refused by
/// field and leave nothing behind.
async fn shots_in_and_out(db: Db) {
    use wages_codec::{ClientId, Grams, Reading, SessionId, Timestamp};
    let bar = TestServer::builder().db(db).start().await;
    bar.register("scale-01").await;
    let (_, beans) = post(
        &bar,
        "/api/beans",
        &json!({"roaster": "Origin", "name": "Kenya AA", "origin": "Nyeri", "process": "washed", "roast_level": "light", "roast_date": "2025-11-10", "notes": "blackcurrant"}),
    )
    .await;
    let recipe = json!({"method": "espresso", "beans_id": beans["id"], "grinder": "Niche", "grind_setting": "12", "dose": 18.0, "target_yield": 36.0});
    bar.http().put(bar.url("/api/devices/scale-01/recipe")).json(&recipe).send().await.expect("recipe");
    let pour: Vec<Reading> = (0..=280u64)
        .map(|i| {
            Reading::new(
                ClientId::parse("scale-01").expect("valid"),
                SessionId::parse("brew-1").expect("valid"),
                Grams::new((i as f64 * 0.131).min(36.2) - 0.3).expect("in range"),
                Timestamp::from_millis(1_764_000_000_007 + i * 100 + i % 7).expect("in range"),
            )
        })
        .collect();
    bar.registry.readings().insert(&pour).await.expect("stored");
    let shot_path = "/api/devices/scale-01/sessions/brew-1";
    let taste = json!({"rating": 86, "tags": ["guest", "sweet"], "notes": "cherry\nlong finish", "tds": 9.2, "yield": 36.5, "water_temp": 93.5, "starred": true});
    assert_eq!(patch(&bar, shot_path, &taste).await.0.as_u16(), 200);
    let (_, original) = get(&bar, shot_path).await;

    let res =
        bar.http().get(bar.url(&format!("{shot_path}/export?format=beanconqueror"))).send().await.expect("export");
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        res.headers()["content-disposition"].to_str().ok(),
        Some("attachment; filename=\"scale-01-brew-1.beanconqueror.json\"")
    );
    let file = res.text().await.expect("body");
    let exported: Value = serde_json::from_str(&file).expect("JSON");
    assert_eq!(
        (exported["bean"]["roaster"].as_str(), exported["mill"]["name"].as_str()),
        (Some("Origin"), Some("Niche"))
    );
    assert_eq!(exported["brewFlow"]["weight"].as_array().map(Vec::len), Some(281));
    assert_eq!(exported["brew"]["grind_weight"].as_f64(), Some(18.0));
    let (status, ours) = get(&bar, &format!("{shot_path}/export?format=json")).await;
    assert_eq!(
        (status.as_u16(), ours["readings"].as_array().map(Vec::len), ours["rating"].as_i64()),
        (200, Some(281), Some(86))
    );
    let csv = bar.http().get(bar.url(&format!("{shot_path}/export?format=csv"))).send().await.expect("csv");
    assert_eq!(csv.text().await.expect("csv").lines().count(), 282);
    assert_error(&get(&bar, &format!("{shot_path}/export?format=xml")).await, 422, "invalid", Some("format"));
    assert_error(&get(&bar, "/api/devices/scale-01/sessions/nope/export").await, 404, "not_found", None);

    // Into an empty Wages with one scale.
    let home = TestServer::builder().db(db).start().await;
    home.register("kitchen").await;
    let import = |server: &TestServer, query: &str, file: Vec<u8>| {
        let request = server.http().post(server.url(&format!("/api/shots/import?{query}"))).body(file);
        async move { body(request.send().await.expect("import")).await }
    };
    let (status, imported) = import(&home, "scale=kitchen", file.clone().into_bytes()).await;
    assert_eq!(status.as_u16(), 201, "{imported}");
    assert_eq!(imported["session_id"], "brew-1");
    for field in [
        "started_at",
        "ended_at",
        "duration_ms",
        "count",
        "final_weight",
        "max_weight",
        "peak_flow",
        "mean_flow",
        "method",
        "grinder",
        "grind_setting",
        "dose",
        "target_yield",
        "yield",
        "water_temp",
        "tds",
        "rating",
        "notes",
        "tags",
        "starred",
        "effective_yield",
        "ratio",
        "extraction_yield",
        "days_off_roast",
    ] {
        assert_eq!(imported[field], original[field], "{field}");
    }
    for field in ["roaster", "name", "origin", "process", "roast_level", "roast_date", "notes"] {
        assert_eq!(imported["beans"][field], original["beans"][field], "beans {field}");
    }
    let (_, there) = get(&home, "/api/devices/kitchen/sessions/brew-1/readings").await;
    let (_, here) = get(&bar, "/api/devices/scale-01/sessions/brew-1/readings").await;
    let curve = |v: &Value| {
        v.as_array().expect("readings").iter().map(|r| (r["tstamp"].clone(), r["value"].clone())).collect::<Vec<_>>()
    };
    assert_eq!(curve(&there), curve(&here));

    // The same file again: the session is taken, unless it gets another id; the beans are found, not added twice.
    assert_error(&import(&home, "scale=kitchen", file.clone().into_bytes()).await, 409, "conflict", None);
    let (status, again) = import(&home, "scale=kitchen&session_id=brew-1b", file.clone().into_bytes()).await;
    assert_eq!((status.as_u16(), again["beans_id"].clone()), (201, imported["beans_id"].clone()));
    assert_eq!(get(&home, "/api/beans").await.1.as_array().map(Vec::len), Some(1));

    // Refusals name the field and store nothing.
    let mut bad = exported.clone();
    bad["brewFlow"]["weight"][2]["actual_weight"] = json!("heavy");
    bad["meta"]["wages"]["session_id"] = json!("brew-bad");
    for (query, file, status, code, field) in [
        ("scale=ghost", file.clone().into_bytes(), 404, "not_found", None),
        ("scale=kitchen", bad.to_string().into_bytes(), 422, "invalid", Some("brewFlow.weight[2].actual_weight")),
        ("scale=kitchen", b"{\"hello\": 1}".to_vec(), 422, "invalid", Some("file")),
        ("scale=kitchen", b"not json".to_vec(), 422, "invalid", Some("file")),
        ("scale=kitchen&session_id=no%20spaces", file.clone().into_bytes(), 422, "invalid", Some("session_id")),
        ("scale=kitchen", vec![b' '; 11 * 1024 * 1024], 413, "payload_too_large", None),
        ("", file.clone().into_bytes(), 400, "bad_request", None),
    ] {
        assert_error(&import(&home, query, file).await, status, code, field);
    }
    let (_, sessions) = get(&home, "/api/devices/kitchen/sessions").await;
    assert_eq!(sessions.as_array().map(Vec::len), Some(2), "refusals stored nothing: {sessions}");

    // A Visualizer shot, through the import page's form.
    let visualizer = json!({
        "id": "0f2b", "start_time": "2025-11-30T07:15:00.000Z", "bean_brand": "Origin", "bean_type": "Kenya AA",
        "bean_weight": "18.0", "drink_weight": "40.0", "espresso_enjoyment": 70, "tags": ["Long"],
        "timeframe": ["0.0", "0.5", "1.0", "1.5"], "data": { "espresso_weight": ["0.0", "2.0", "5.5", "9.0"] },
    });
    let boundary = "wagesboundary";
    let form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"scale\"\r\n\r\nkitchen\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"session_id\"\r\n\r\n\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"shot.json\"\r\nContent-Type: application/json\r\n\r\n{visualizer}\r\n\
         --{boundary}--\r\n"
    );
    let upload = |body: String| {
        home.http()
            .post(home.url("/shots/import/upload"))
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body)
            .send()
    };
    let res = upload(form.clone()).await.expect("upload");
    assert_eq!((res.status().as_u16(), res.url().path()), (200, "/devices/kitchen/sessions/visualizer-0f2b"));
    let (_, shot) = get(&home, "/api/devices/kitchen/sessions/visualizer-0f2b").await;
    assert_eq!(
        (shot["count"].as_u64(), shot["rating"].as_i64(), shot["yield"].as_f64(), shot["tags"].clone()),
        (Some(4), Some(70), Some(40.0), json!(["long"]))
    );
    assert_eq!(shot["beans_id"], imported["beans_id"], "the library's beans, by roaster and name");
    // The same upload again goes back to the form, with the problem and the scale kept.
    let res = upload(form).await.expect("upload");
    assert_eq!(res.url().path(), "/shots/import");
    let query = res.url().query().unwrap_or_default().to_owned();
    assert!(query.starts_with("scale=kitchen&field=&error=scale%20kitchen%20already%20has"), "{query}");
    bar.stop().await;
    home.stop().await;
}

/// Shot files from machines and other apps (the store's fixtures, written by them) come
/// in with their series; the same file twice is one shot; a shot exported in
/// Beanconqueror's shape and imported again keeps every series.
async fn machine_shots_in_and_out(db: Db) {
    let bar = TestServer::builder().db(db).start().await;
    bar.register("de1").await;
    bar.register("other").await;
    let fixture = |name: &str| {
        std::fs::read(format!("{}/../store/tests/fixtures/shot_files/{name}", env!("CARGO_MANIFEST_DIR")))
            .expect("fixture")
    };
    let import = |query: String, file: Vec<u8>| {
        let request = bar.http().post(bar.url(&format!("/api/shots/import?{query}"))).body(file);
        async move { body(request.send().await.expect("import")).await }
    };
    let (status, shot) = import("scale=de1".into(), fixture("20210921T085910.shot")).await;
    assert_eq!(status.as_u16(), 201, "{shot}");
    assert_eq!(
        (shot["session_id"].as_str(), shot["count"].as_u64(), shot["dose"].as_f64(), shot["yield"].as_f64()),
        (Some("de1-1632207550"), Some(100), Some(18.0), Some(38.8))
    );
    assert_eq!(shot["beans"]["roaster"], "Banibeans");
    // The same file again is the same shot.
    assert_error(&import("scale=de1".into(), fixture("20210921T085910.shot")).await, 409, "conflict", None);
    let path = "/api/devices/de1/sessions/de1-1632207550";
    let (status, ours) = get(&bar, &format!("{path}/export?format=json")).await;
    assert_eq!(status.as_u16(), 200, "{}", ours.to_string().chars().take(400).collect::<String>());
    let series = |v: &Value| -> Vec<(String, usize)> {
        v.as_array()
            .unwrap_or_else(|| panic!("series: {v}"))
            .iter()
            .map(|s| (s["kind"].as_str().unwrap_or_default().to_owned(), s["points"].as_array().map_or(0, Vec::len)))
            .collect()
    };
    let kinds: Vec<String> = series(&ours["series"]).into_iter().map(|(k, _)| k).collect();
    assert_eq!(kinds, ["pressure", "flow", "water_temperature", "basket_temperature", "water_dispensed"]);
    let csv = bar.http().get(bar.url(&format!("{path}/export?format=csv"))).send().await.expect("csv");
    let csv = csv.text().await.expect("csv");
    assert_eq!(
        csv.lines().next(),
        Some("client_id,session_id,value,tstamp,pressure,flow,water_temperature,basket_temperature,water_dispensed")
    );
    assert_eq!(csv.lines().count(), 101);

    // Out in Beanconqueror's shape and in again: the same readings and series.
    let res = bar.http().get(bar.url(&format!("{path}/export?format=beanconqueror"))).send().await.expect("export");
    let file = res.bytes().await.expect("body").to_vec();
    let (status, again) = import("scale=other".into(), file).await;
    assert_eq!(status.as_u16(), 201, "{again}");
    let (_, theirs) = get(&bar, "/api/devices/other/sessions/de1-1632207550/export?format=json").await;
    assert_eq!(theirs["series"], ours["series"]);
    assert_eq!(theirs["readings"].as_array().map(Vec::len), Some(100));
    let curve = |v: &Value| -> Vec<(Value, Value)> {
        v["readings"].as_array().expect("readings").iter().map(|r| (r["tstamp"].clone(), r["value"].clone())).collect()
    };
    assert_eq!(curve(&theirs), curve(&ours));

    // A machine without a scale: pressure, temperature and water, no weight readings.
    let (status, sanremo) = import("scale=de1".into(), fixture("beanconqueror_water_dispensed.json")).await;
    assert_eq!(status.as_u16(), 201, "{sanremo}");
    assert_eq!((sanremo["count"].as_u64(), sanremo["yield"].as_f64()), (Some(0), Some(40.2)));
    let sid = sanremo["session_id"].as_str().expect("session").to_owned();
    let (status, exported) = get(&bar, &format!("/api/devices/de1/sessions/{sid}/export?format=json")).await;
    assert_eq!(status.as_u16(), 200, "{exported}");
    assert_eq!(
        series(&exported["series"]),
        [("pressure".to_owned(), 241), ("water_temperature".to_owned(), 241), ("water_dispensed".to_owned(), 241)]
    );

    // Every other file as its app wrote it.
    for (n, name) in [
        "20211019T100744.json",
        "pyde.faketcl",
        "invalid_machine.shot",
        "beanconqueror_negative.json",
        "beanconqueror_missing_values.json",
        "gaggiuino-1020.json",
        "gaggimate-v1.json",
        "meticulous.shot.json",
        "sharebrew_tsp.csv",
        "pressensor.csv",
    ]
    .into_iter()
    .enumerate()
    {
        let (status, shot) = import(format!("scale=other&session_id=file-{n}"), fixture(name)).await;
        assert_eq!(status.as_u16(), 201, "{name}: {shot}");
    }
    assert_error(&import("scale=other".into(), fixture("invalid_file.something")).await, 422, "invalid", Some("file"));

    // Several files through the import page's form (sent before its script takes over):
    // each imported on its own, and the form hears what came of them.
    bar.register("form").await;
    let boundary = "wagesboundary";
    let mut form =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"scale\"\r\n\r\nform\r\n").into_bytes();
    for name in ["20210921T085910.shot", "gaggiuino-1020.json", "invalid_file.something"] {
        form.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .into_bytes(),
        );
        form.extend(fixture(name));
        form.extend(b"\r\n");
    }
    form.extend(format!("--{boundary}--\r\n").into_bytes());
    let upload = || {
        bar.http()
            .post(bar.url("/shots/import/upload"))
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(form.clone())
            .send()
    };
    let res = upload().await.expect("upload");
    assert_eq!(res.url().path(), "/shots/import");
    let query = res.url().query().unwrap_or_default().to_owned();
    assert!(
        query.starts_with("scale=form&imported=2&there=0&refused=1&error=invalid_file.something%3A%20file%20is%20not"),
        "{query}"
    );
    let res = upload().await.expect("upload again");
    let query = res.url().query().unwrap_or_default().to_owned();
    assert!(query.starts_with("scale=form&imported=0&there=2&refused=1&"), "{query}");
    assert_eq!(get(&bar, "/api/devices/form/sessions").await.1.as_array().map(Vec::len), Some(2));
    bar.stop().await;
}

#[tokio::test]
async fn machine_shots_in_and_out_on_sqlite() {
    machine_shots_in_and_out(Db::Sqlite).await;
}

#[tokio::test]
async fn machine_shots_in_and_out_on_postgres() {
    machine_shots_in_and_out(Db::Postgres).await;
}

#[tokio::test]
async fn shots_in_and_out_on_sqlite() {
    shots_in_and_out(Db::Sqlite).await;
}

#[tokio::test]
async fn shots_in_and_out_on_postgres() {
    shots_in_and_out(Db::Postgres).await;
}
