//! People and their roles, through real HTTP against a real server on SQLite and
//! PostgreSQL: every row of the rights table tried by every role, an account's life, the
//! last admin, tokens losing rights with their person, login throttling, the audit list,
//! and a shot shared by a link that shows nothing else.

use app::rights::{self, Need, ROUTES, SERVER_FNS};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use wages_store::{NewPerson, PersonPatch, Role, Scope};
use wages_testkit::{ADMIN_PASSWORD, Db, TestServer};

const PASSWORD: &str = "a password of their own";

/// A client that shows redirects instead of following them, and sends no credentials.
fn anonymous() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().expect("client")
}

/// Logs `user` in; the `wages_session=…` pair.
async fn log_in(server: &TestServer, user: &str, password: &str) -> String {
    let form = [("username", user), ("password", password)];
    let res = anonymous().post(server.url("/login")).form(&form).send().await.expect("login");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = res.headers().get("set-cookie").unwrap_or_else(|| panic!("{user} could not log in"));
    cookie.to_str().expect("ascii").split(';').next().expect("pair").to_owned()
}

/// Adds a person with `role` who has already chosen their own password.
async fn person(server: &TestServer, user: &str, role: Role) -> String {
    let accounts = server.registry.accounts();
    let new = NewPerson {
        username: user.into(),
        display_name: String::new(),
        role,
        password: "first password".into(),
        sites: Vec::new(),
    };
    accounts.add_person(&new).await.expect("added");
    accounts.change_password(user, "first password", PASSWORD, "").await.expect("own password");
    log_in(server, user, PASSWORD).await
}

/// The server function paths the app registers (name and hash).
fn server_fn_paths() -> Vec<String> {
    leptos::server_fn::axum::server_fn_paths().map(|(path, _)| path.to_owned()).collect()
}

/// A path of the table with every parameter filled by something that does not exist,
/// so an allowed request changes nothing.
fn filled(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|segment| match segment {
            "{code}" => "0".repeat(32),
            s if s.starts_with("{*") => "nothing.txt".to_owned(),
            s if s.starts_with('{') => "nope-1".to_owned(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether the login layer refused the request for the role (not the handler).
async fn refused_for_role(res: reqwest::Response) -> bool {
    if res.status() != StatusCode::FORBIDDEN {
        return false;
    }
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    let message = body["error"]["message"].as_str().unwrap_or_default().to_owned();
    message.contains("role") || message.contains("only a person")
}

#[tokio::test]
async fn every_route_has_a_rule() {
    // Pages.
    for path in wages_server::routes::page_paths() {
        let path = path.replace(":client_id", "{client_id}").replace(":session_id", "{session_id}");
        assert!(rights::lookup("GET", &filled(&path)).is_some(), "the page {path} has no rule in app::rights");
    }
    // Server functions.
    let paths = server_fn_paths();
    assert!(paths.len() >= SERVER_FNS.len(), "{paths:?}");
    for path in &paths {
        let name = path.rsplit('/').next().expect("a name");
        assert!(rights::server_fn_rule(name).is_some(), "the server function {path} has no rule in app::rights");
    }
    // The JSON API, as its document lists it.
    let doc = wages_server::api::openapi("");
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("methods").keys() {
            let method = method.to_uppercase();
            assert!(rights::lookup(&method, &filled(path)).is_some(), "{method} {path} has no rule in app::rights");
        }
    }
}

#[tokio::test]
async fn each_role_gets_exactly_what_the_table_gives_it() {
    for db in [Db::Sqlite, Db::Postgres] {
        // With /metrics behind the login, as its row says.
        let server = TestServer::builder().db(db).var("WAGES_METRICS_PUBLIC", "false").start().await;
        let viewer = person(&server, "vic", Role::Viewer).await;
        let barista = person(&server, "bea", Role::Barista).await;
        let admin = log_in(&server, "admin", ADMIN_PASSWORD).await;
        let roles = [(Role::Viewer, viewer), (Role::Barista, barista), (Role::Admin, admin)];
        let client = anonymous();
        let send = |method: &str, path: &str, cookie: Option<&str>| {
            let mut req = client.request(method.parse().expect("method"), server.url(path));
            if let Some(cookie) = cookie {
                req = req.header("cookie", cookie);
            }
            if method != "GET" {
                req = req.header("content-type", "application/json").body("{}");
            }
            req.send()
        };
        for (method, pattern, rule) in ROUTES {
            // Logging out would end the session the next rows use; it is tried last.
            if *pattern == "/logout" || *pattern == "/login" {
                continue;
            }
            let method = if *method == "*" { "GET" } else { method };
            let path = filled(pattern);
            let anonymous_status = send(method, &path, None).await.expect("request").status();
            match rule.need {
                Need::Open => assert_ne!(anonymous_status, StatusCode::UNAUTHORIZED, "{method} {pattern}"),
                _ => assert!(
                    [StatusCode::UNAUTHORIZED, StatusCode::SEE_OTHER].contains(&anonymous_status),
                    "{method} {pattern} without a login: {anonymous_status}"
                ),
            }
            for (role, cookie) in &roles {
                let res = send(method, &path, Some(cookie)).await.expect("request");
                let status = res.status();
                let refused = refused_for_role(res).await;
                let allowed = rule.need.role().is_none_or(|need| *role >= need);
                assert_eq!(refused, !allowed, "{method} {pattern} as {role:?}: {status}");
            }
        }
        for path in server_fn_paths() {
            let name = path.rsplit('/').next().expect("a name").to_owned();
            let rule = rights::server_fn_rule(&name).expect("a rule");
            for (role, cookie) in &roles {
                let res = client
                    .post(server.url(&path))
                    .header("cookie", cookie)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .send()
                    .await
                    .expect("request");
                let status = res.status();
                let refused = refused_for_role(res).await;
                let allowed = rule.need.role().is_none_or(|need| *role >= need);
                assert_eq!(refused, !allowed, "server function {name} as {role:?}: {status}");
            }
        }
        // A token may do what its person may, a read token no more than a viewer, and
        // no token what only a person may.
        let accounts = server.registry.accounts();
        let (_, barista_write) = accounts.create_token("bea's", Scope::Write, "bea").await.expect("token");
        let (_, admin_read) = accounts.create_token("reader", Scope::Read, "admin").await.expect("token");
        let with = |token: &str, method: &str, path: &str| {
            client
                .request(method.parse().expect("method"), server.url(path))
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body("{}")
                .send()
        };
        assert!(!refused_for_role(with(&barista_write, "POST", "/api/beans").await.expect("post")).await);
        assert!(refused_for_role(with(&barista_write, "POST", "/api/devices").await.expect("post")).await);
        assert!(refused_for_role(with(&admin_read, "POST", "/api/beans").await.expect("post")).await);
        assert!(!refused_for_role(with(&admin_read, "GET", "/api/shots").await.expect("get")).await);
        assert!(refused_for_role(with(&admin_read, "GET", "/api/people").await.expect("get")).await);
        assert!(refused_for_role(with(&server.token, "GET", "/tokens").await.expect("get")).await);
        // Logging out is for everyone logged in.
        for (_, cookie) in &roles {
            let res = client.post(server.url("/logout")).header("cookie", cookie).send().await.expect("logout");
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn an_account_from_first_login_to_deletion() {
    let server = TestServer::builder().base("/wages").start().await;
    let api = server.http();
    // An admin adds a barista over the API.
    let body = serde_json::json!({"username": "Sam", "display_name": "Sam K.", "role": "barista", "password": "first password"});
    let res = api.post(server.url("/api/people")).json(&body).send().await.expect("add");
    assert_eq!(res.status(), StatusCode::CREATED);
    let sam: serde_json::Value = res.json().await.expect("json");
    assert_eq!((sam["username"].as_str(), sam["must_change_password"].as_bool()), (Some("sam"), Some(true)));
    let res = api.post(server.url("/api/people")).json(&body).send().await.expect("again");
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let bad = serde_json::json!({"username": "a b", "role": "barista", "password": "first password"});
    let res = api.post(server.url("/api/people")).json(&bad).send().await.expect("bad");
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Until Sam chooses a password, every page leads to /me and the rest is refused.
    let cookie = log_in(&server, "sam", "first password").await;
    let client = anonymous();
    let page = client.get(server.url("/shots")).header("cookie", &cookie).header("accept", "text/html").send();
    let res = page.await.expect("page");
    assert_eq!((res.status(), res.headers()["location"].to_str().ok()), (StatusCode::SEE_OTHER, Some("/wages/me")));
    let res = client.get(server.url("/api/shots")).header("cookie", &cookie).send().await.expect("api");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = client.get(server.url("/me")).header("cookie", &cookie).send().await.expect("me");
    assert_eq!(res.status(), StatusCode::OK);
    let me = res.text().await.expect("html");
    assert!(me.contains("must-change") && me.contains("Sam K."), "{me}");
    let change = server_fn_paths().into_iter().find(|p| p.contains("change_own_password")).expect("the function");
    let form = [("current_password", "first password"), ("password", PASSWORD)];
    let res = client.post(server.url(&change)).header("cookie", &cookie).form(&form).send().await.expect("change");
    assert!(res.status().is_success(), "{}", res.status());
    let res = client.get(server.url("/api/shots")).header("cookie", &cookie).send().await.expect("api");
    assert_eq!(res.status(), StatusCode::OK);

    // A token of Sam's stops with Sam's rights.
    let accounts = server.registry.accounts();
    let (_, token) = accounts.create_token("sam's", Scope::Write, "sam").await.expect("token");
    let beans = serde_json::json!({"roaster": "Square Mile", "name": "Red Brick"});
    let as_sam = |body: &serde_json::Value| client.post(server.url("/api/beans")).bearer_auth(&token).json(body).send();
    assert_eq!(as_sam(&beans).await.expect("beans").status(), StatusCode::CREATED);
    let demote = serde_json::json!({"role": "viewer"});
    let res = api.patch(server.url("/api/people/sam")).json(&demote).send().await.expect("demote");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(as_sam(&beans).await.expect("beans").status(), StatusCode::FORBIDDEN);
    let disable = serde_json::json!({"disabled": true});
    let res = api.patch(server.url("/api/people/sam")).json(&disable).send().await.expect("disable");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(as_sam(&beans).await.expect("beans").status(), StatusCode::UNAUTHORIZED);
    let res = client.get(server.url("/api/shots")).header("cookie", &cookie).send().await.expect("api");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "a disabled person's session stops at once");
    let form = [("username", "sam"), ("password", PASSWORD)];
    let res = client.post(server.url("/login")).form(&form).send().await.expect("login");
    assert!(res.headers().get("set-cookie").is_none(), "a disabled person cannot log in");

    // Never the last admin.
    for (method, body) in [("PATCH", r#"{"role":"barista"}"#), ("PATCH", r#"{"disabled":true}"#), ("DELETE", "")] {
        let req = api.request(method.parse().expect("method"), server.url("/api/people/admin"));
        let req = if body.is_empty() { req } else { req.header("content-type", "application/json").body(body) };
        assert_eq!(req.send().await.expect("request").status(), StatusCode::CONFLICT, "{method} {body}");
    }
    accounts
        .update_person(
            "sam",
            &PersonPatch { role: Some(Role::Admin), disabled: Some(false), ..Default::default() },
            "admin",
        )
        .await
        .expect("sam an admin");
    // With another admin, still nobody demotes, disables or deletes themselves.
    for (method, body) in [("PATCH", r#"{"role":"viewer"}"#), ("PATCH", r#"{"disabled":true}"#), ("DELETE", "")] {
        let req = api.request(method.parse().expect("method"), server.url("/api/people/admin"));
        let req = if body.is_empty() { req } else { req.header("content-type", "application/json").body(body) };
        let res = req.send().await.expect("request");
        assert_eq!(res.status(), StatusCode::CONFLICT, "{method} {body}");
        assert!(res.text().await.expect("body").contains("another admin can"));
    }
    let res = api.delete(server.url("/api/people/sam")).send().await.expect("delete");
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(api.get(server.url("/api/people/sam")).send().await.expect("get").status(), StatusCode::NOT_FOUND);

    // The audit list saw all of it, newest first, and no password.
    let audit: serde_json::Value = server.json("/api/audit").await;
    let actions: Vec<&str> = audit.as_array().expect("list").iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions.first(), Some(&"delete person"), "{audit}");
    assert!(actions.contains(&"add person") && actions.contains(&"change person"), "{audit}");
    assert!(audit.to_string().contains("role=viewer"), "{audit}");
    assert!(!audit.to_string().contains("first password"), "{audit}");
    assert_eq!(audit[0]["who"], "admin (token tests)");
    server.stop().await;
}

#[tokio::test]
async fn failed_logins_are_throttled_per_user_name() {
    let server = TestServer::start().await;
    let client = anonymous();
    let try_login = |password: &'static str| {
        client.post(server.url("/login")).form(&[("username", "admin"), ("password", password)]).send()
    };
    for _ in 0..10 {
        assert_eq!(try_login("wrong password").await.expect("login").status(), StatusCode::SEE_OTHER);
    }
    let res = try_login("wrong password").await.expect("login");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = res.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=900).contains(&wait), "{wait}");
    // Even the right password waits: the user name is what is being guessed.
    assert_eq!(try_login(ADMIN_PASSWORD).await.expect("login").status(), StatusCode::TOO_MANY_REQUESTS);
    // Another user name is not held up by it.
    let other = client.post(server.url("/login")).form(&[("username", "nobody"), ("password", "x")]).send();
    assert_eq!(other.await.expect("login").status(), StatusCode::SEE_OTHER);
    server.stop().await;
}

#[tokio::test]
async fn a_shared_shot_shows_that_shot_and_nothing_else() {
    let links = regex::Regex::new(r#"(?:href|src|content)="([^"]+)""#).expect("regex");
    for base in ["", "/wages"] {
        let server = TestServer::builder().base(base).start().await;
        server.register("scale-07").await;
        let api = server.http();
        let shot = r#"{"id":"0f2b","start_time":"2026-11-30T07:15:00.000Z","bean_brand":"Square Mile",
            "bean_type":"Red Brick","bean_weight":"18.0","timeframe":["0.0","0.5","1.0","1.5"],
            "data":{"espresso_weight":["0.0","2.0","5.5","9.0"]}}"#;
        let url = server.url("/api/shots/import?scale=scale-07&session_id=brew-0042");
        let res = api.post(url).header("content-type", "application/json").body(shot).send().await.expect("import");
        assert!(res.status().is_success(), "{}", res.status());
        let res = api.put(server.url("/api/devices/scale-07/sessions/brew-0042/share")).send().await.expect("share");
        assert_eq!(res.status(), StatusCode::OK);
        let share: serde_json::Value = res.json().await.expect("json");
        let code = share["code"].as_str().expect("code").to_owned();
        assert_eq!(code.len(), 32, "128 bits, hex");
        // Sharing again keeps the link.
        let again: serde_json::Value = api
            .put(server.url("/api/devices/scale-07/sessions/brew-0042/share"))
            .send()
            .await
            .expect("share")
            .json()
            .await
            .expect("json");
        assert_eq!(again["code"], share["code"]);
        // The shot's page tells the link to whoever may share, and not to a viewer.
        let read_session = server_fn_paths().into_iter().find(|p| p.contains("/read_session")).expect("the function");
        for (user, role, told) in
            [("bea", Role::Barista, serde_json::json!(code)), ("vic", Role::Viewer, serde_json::Value::Null)]
        {
            let cookie = person(&server, user, role).await;
            let form = [("client_id", "scale-07"), ("session_id", "brew-0042"), ("compare", ""), ("align", "")];
            let res = anonymous().post(server.url(&read_session)).header("cookie", &cookie).form(&form).send();
            let view: serde_json::Value = res.await.expect("post").json().await.expect("json");
            assert_eq!(view["share"], told, "{user}: {view}");
        }

        // Anyone, logged out, sees the shot.
        let client = anonymous();
        let page_url = server.url(&format!("/s/{code}"));
        let res = client.get(&page_url).send().await.expect("page");
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["x-robots-tag"], "noindex");
        let html = res.text().await.expect("html");
        assert!(html.contains(r#"<meta name="robots" content="noindex""#), "{html}");
        assert!(html.contains("og:image") && html.contains("/preview.png"), "{html}");
        assert!(html.contains("Square Mile Red Brick") && html.contains("18.0 g"), "{html}");
        assert!(!html.contains("scale-07"), "no scale id on a shared page: {html}");
        assert!(!html.contains("<script"), "{html}");

        // A crawler from the shared page reaches the shot's own parts and nothing else.
        let mut reached = Vec::new();
        for found in links.captures_iter(&html) {
            let link = &found[1];
            let absolute = if link.starts_with("http") {
                link.to_owned()
            } else if link.starts_with('/') {
                server.url(link.strip_prefix(base).unwrap_or(link))
            } else if link.starts_with(&code) {
                format!("{}/{link}", server.url("/s"))
            } else {
                continue; // a meta tag's words, not a link
            };
            if !absolute.starts_with(&format!("http://{}", server.addr)) {
                continue;
            }
            let res = client.get(&absolute).send().await.expect("get");
            assert_eq!(res.status(), StatusCode::OK, "{absolute}");
            assert!(absolute.contains(&format!("{base}/s/{code}")), "the shared page leads elsewhere: {absolute}");
            let body = res.bytes().await.expect("body");
            assert!(!String::from_utf8_lossy(&body).contains("scale-07"), "{absolute}");
            reached.push(absolute);
        }
        assert!(reached.iter().any(|l| l.ends_with("/preview.png")), "{reached:?}");
        assert!(reached.iter().any(|l| l.ends_with("/readings.csv")), "{reached:?}");
        let png = client.get(format!("{page_url}/preview.png")).send().await.expect("png");
        assert_eq!(png.headers()["content-type"], "image/png");
        // Logged out, nothing else answers.
        for path in
            ["/api/shots", "/devices/scale-07/sessions/brew-0042", "/api/devices/scale-07/sessions/brew-0042/readings"]
        {
            let status = client.get(server.url(path)).send().await.expect("get").status();
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        }

        // Withdrawn, the link answers exactly as a code never made does.
        let res = api.delete(server.url(&format!("/api/shares/{code}"))).send().await.expect("withdraw");
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let withdrawn = client.get(&page_url).send().await.expect("page");
        let guessed = client.get(server.url(&format!("/s/{}", "a".repeat(32)))).send().await.expect("page");
        let malformed = client.get(server.url("/s/guess")).send().await.expect("page");
        assert_eq!(withdrawn.status(), StatusCode::NOT_FOUND);
        assert_eq!(guessed.status(), StatusCode::NOT_FOUND);
        assert_eq!(malformed.status(), StatusCode::NOT_FOUND);
        let (a, b, c) = (
            withdrawn.text().await.expect("body"),
            guessed.text().await.expect("body"),
            malformed.text().await.expect("body"),
        );
        assert!(a == b && b == c && a.contains("not shared"), "{a}");
        let png = client.get(format!("{page_url}/preview.png")).send().await.expect("png");
        assert_eq!(png.status(), StatusCode::NOT_FOUND);
        server.stop().await;
    }
}

#[tokio::test]
async fn a_person_limited_to_a_site_sees_only_its_scales() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    for db in [Db::Sqlite, Db::Postgres] {
        let server = TestServer::builder().db(db).start().await;
        let api = server.http();
        for (id, name) in [("soho", "Soho"), ("leeds", "Leeds")] {
            let site = serde_json::json!({"id": id, "name": name, "time_zone": "Europe/London"});
            assert_eq!(
                api.post(server.url("/api/sites")).json(&site).send().await.expect("site").status(),
                StatusCode::CREATED
            );
        }
        let bad = serde_json::json!({"id": "mars", "name": "Mars", "time_zone": "Mars/Olympus_Mons"});
        let res = api.post(server.url("/api/sites")).json(&bad).send().await.expect("site");
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let shot = r#"{"id":"0f2b","start_time":"2026-11-30T07:15:00.000Z","timeframe":["0.0","0.5"],
            "data":{"espresso_weight":["0.0","2.0"]}}"#;
        for (scale, site) in [("scale-s1", "soho"), ("scale-l1", "leeds")] {
            server.register(scale).await;
            let res = api
                .put(server.url(&format!("/api/devices/{scale}/site")))
                .json(&serde_json::json!({"site": site}))
                .send();
            assert_eq!(res.await.expect("site").status(), StatusCode::OK);
            let url = server.url(&format!("/api/shots/import?scale={scale}&session_id=shot-1"));
            let res = api.post(url).header("content-type", "application/json").body(shot).send().await.expect("import");
            assert!(res.status().is_success(), "{}", res.status());
        }
        let cookie = person(&server, "bea", Role::Barista).await;
        let limit = serde_json::json!({"sites": ["soho"]});
        let res = api.patch(server.url("/api/people/bea")).json(&limit).send().await.expect("limit");
        assert_eq!(res.status(), StatusCode::OK);
        let client = anonymous();
        let get = |path: String| client.get(server.url(&path)).header("cookie", &cookie).send();
        let json = |path: &'static str| {
            let res = get(path.to_owned());
            async move { res.await.expect("get").json::<serde_json::Value>().await.expect("json") }
        };
        let ids = |list: &serde_json::Value, key: &str| -> Vec<String> {
            list.as_array().expect("list").iter().filter_map(|d| d[key].as_str().map(str::to_owned)).collect()
        };
        assert_eq!(ids(&json("/api/devices").await, "client_id"), vec!["scale-s1"]);
        assert_eq!(ids(&json("/api/shots").await["shots"], "client_id"), vec!["scale-s1"]);
        assert_eq!(ids(&json("/api/firmware").await["devices"], "client_id"), vec!["scale-s1"]);
        assert_eq!(ids(&json("/api/sites").await, "id"), vec!["soho"]);
        for path in [
            "/api/devices/scale-l1",
            "/api/devices/scale-l1/sessions/shot-1",
            "/api/shots?site=leeds",
            "/devices/scale-l1",
        ] {
            assert_eq!(get(path.to_owned()).await.expect("get").status(), StatusCode::NOT_FOUND, "{path}");
        }
        let read_scale = server_fn_paths().into_iter().find(|p| p.contains("/read_scale_card")).expect("the function");
        let res =
            client.post(server.url(&read_scale)).header("cookie", &cookie).form(&[("client_id", "scale-l1")]).send();
        assert_eq!(res.await.expect("post").status(), StatusCode::NOT_FOUND);
        let res =
            client.post(server.url(&read_scale)).header("cookie", &cookie).form(&[("client_id", "scale-s1")]).send();
        assert_eq!(res.await.expect("post").status(), StatusCode::OK);
        // Everyone else still sees every scale, and can narrow to a site.
        let all: serde_json::Value = server.json("/api/devices").await;
        assert_eq!(ids(&all, "client_id"), vec!["scale-l1", "scale-s1"]);
        let leeds: serde_json::Value = server.json("/api/shots?site=leeds").await;
        assert_eq!(ids(&leeds["shots"], "client_id"), vec!["scale-l1"]);
        // A site with scales stays until they move.
        assert_eq!(
            api.delete(server.url("/api/sites/leeds")).send().await.expect("delete").status(),
            StatusCode::CONFLICT
        );

        // The fleet's live stream brings only the site's scales.
        let mut request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{}/api/live",
            server.addr
        ))
        .expect("request");
        request.headers_mut().insert("cookie", cookie.parse().expect("header"));
        let (mut viewer, _) = tokio_tungstenite::connect_async(request).await.expect("WebSocket");
        let mqtt = server.mqtt_client("site-pub").await;
        for scale in ["scale-l1", "scale-s1", "scale-l1"] {
            let line = format!("client_id={scale};session_id=live;value=5;tstamp={}", wages_codec::clock::now_ms());
            mqtt.publish(format!("wages/devices/{scale}/readings"), rumqttc::QoS::AtLeastOnce, false, line)
                .await
                .expect("publish");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let mut seen = Vec::new();
        while let Ok(Some(Ok(Message::Text(text)))) =
            tokio::time::timeout(std::time::Duration::from_secs(2), viewer.next()).await
        {
            let frame: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            seen.push(
                frame["client_id"].as_str().or(frame["device"]["client_id"].as_str()).unwrap_or_default().to_owned(),
            );
        }
        assert!(seen.contains(&"scale-s1".to_owned()), "{seen:?}");
        assert!(!seen.contains(&"scale-l1".to_owned()), "{seen:?}");
        server.stop().await;
    }
}
