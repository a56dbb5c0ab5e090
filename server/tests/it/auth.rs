//! Logins, tokens and security headers, through real HTTP against a real server.

use reqwest::StatusCode;
use reqwest::redirect::Policy;
use wages_testkit::{ADMIN_PASSWORD, TestServer};

/// A client that shows redirects instead of following them, and sends no credentials.
fn anonymous() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().expect("client")
}

/// Logs in through the form's POST; returns the `wages_session=…` pair and the redirect.
async fn log_in(server: &TestServer, password: &str, next: &str) -> (Option<String>, String) {
    let form = [("username", "admin"), ("password", password), ("next", next)];
    let res = anonymous().post(server.url("/login")).form(&form).send().await.expect("login");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()["location"].to_str().expect("ascii").to_owned();
    let cookie = res.headers().get("set-cookie").map(|v| v.to_str().expect("ascii").to_owned());
    if let Some(c) = &cookie {
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax"), "{c}");
        assert!(c.contains(&format!("Path={}", if server.base.is_empty() { "/" } else { &server.base })), "{c}");
    }
    (cookie.map(|c| c.split(';').next().unwrap_or_default().to_owned()), location)
}

#[tokio::test]
async fn logged_out_people_and_programs_get_nothing_private() {
    for base in ["", "/wages"] {
        let server = TestServer::builder().base(base).start().await;
        let client = anonymous();
        // Pages send people to the login form, and back afterwards.
        let page = |path: &str| client.get(server.url(path)).header("accept", "text/html,*/*").send();
        let res = page("/devices?q=bar").await.expect("get");
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            res.headers()["location"],
            format!("{base}/login?next={}%2Fdevices%3Fq%3Dbar", base.replace('/', "%2F"))
        );
        for path in ["/", "/tokens", "/firmware", "/devices/scale-01"] {
            assert_eq!(page(path).await.expect("get").status(), StatusCode::SEE_OTHER, "{path}");
            // A program asking for the same page gets a 401 it can act on.
            let res = client.get(server.url(path)).send().await.expect("get");
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path}");
        }
        // The API and server functions answer 401 in the API's JSON shape.
        for (method, path) in [
            ("GET", "/api/devices"),
            ("POST", "/api/devices"),
            ("GET", "/api/pipeline"),
            ("PUT", "/api/pipeline/config"),
            ("GET", "/api/openapi.json"),
            ("POST", "/api/fn/server_status"),
        ] {
            let res = client.request(method.parse().expect("method"), server.url(path)).send().await.expect("request");
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
            assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"wages\"");
            let body: serde_json::Value = res.json().await.expect("json");
            assert_eq!(body["error"]["code"], "unauthorized", "{body}");
        }
        // Live streams too.
        let url = format!("ws://{}{base}/api/live", server.addr);
        assert!(tokio_tungstenite::connect_async(url).await.is_err(), "a socket without a login");
        // Open: health, readiness, the login page, metrics (by default).
        for path in ["/healthz", "/readyz", "/login", "/metrics"] {
            let res = client.get(server.url(path)).send().await.expect("get");
            assert_eq!(res.status(), StatusCode::OK, "{path}");
        }
        // The same server functions outside the base path are not a way around it.
        if !base.is_empty() {
            let res = client.post(format!("http://{}/api/fn/server_status", server.addr)).send().await.expect("post");
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn people_log_in_and_out() {
    let server = TestServer::builder().base("/wages").start().await;
    let (cookie, location) = log_in(&server, "wrong password", "/wages/devices").await;
    assert_eq!(cookie, None);
    assert_eq!(location, "/wages/login?failed=1&next=%2Fwages%2Fdevices");

    // Elsewhere is not a place to go after logging in.
    let (cookie, location) = log_in(&server, ADMIN_PASSWORD, "https://evil.example/").await;
    assert_eq!(location, "/wages");
    let (cookie2, location) = log_in(&server, ADMIN_PASSWORD, "/wages/devices").await;
    assert_eq!(location, "/wages/devices");
    let (cookie, cookie2) = (cookie.expect("a session"), cookie2.expect("a session"));

    let client = anonymous();
    let page = client.get(server.url("/devices")).header("cookie", &cookie).send().await.expect("get");
    assert_eq!(page.status(), StatusCode::OK);
    let res = client
        .post(server.url("/api/devices"))
        .header("cookie", &cookie)
        .json(&serde_json::json!({"client_id": "by-cookie", "name": "Logged in"}))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::CREATED);

    // People make tokens through the Tokens page's server function; tokens cannot.
    let create = server.url(<app::tokens::CreateToken as leptos::server_fn::ServerFn>::PATH);
    let form = [("name", "from the page"), ("scope", "read")];
    let res = client.post(&create).header("cookie", &cookie).form(&form).send().await.expect("create");
    assert_eq!(res.status(), StatusCode::OK);
    let made: serde_json::Value = res.json().await.expect("json");
    let secret = made["secret"].as_str().expect("the secret, once").to_owned();
    let res = client.get(server.url("/api/devices")).bearer_auth(&secret).send().await.expect("get");
    assert_eq!(res.status(), StatusCode::OK);
    let res = server.http().post(&create).form(&form).send().await.expect("create with a token");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = client.post(&create).bearer_auth(&secret).form(&form).send().await.expect("create with a read token");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let res = client.post(server.url("/logout")).header("cookie", &cookie).send().await.expect("logout");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(res.headers()["set-cookie"].to_str().expect("ascii").contains("Max-Age=0"));
    let page = client.get(server.url("/devices")).header("cookie", &cookie).send().await.expect("get");
    assert_eq!(page.status(), StatusCode::UNAUTHORIZED, "the session ended");
    let other = client.get(server.url("/devices")).header("cookie", &cookie2).send().await.expect("get");
    assert_eq!(other.status(), StatusCode::OK, "another session goes on");
    server.stop().await;
}

#[tokio::test]
async fn tokens_are_scoped_and_revocable() {
    let server = TestServer::start().await;
    let accounts = server.registry.accounts();
    let (read, read_secret) =
        accounts.create_token("dashboard", wages_store::Scope::Read, "admin").await.expect("token");
    let bearer = |s: &str| format!("Bearer {s}");
    let client = anonymous();
    let get = client.get(server.url("/api/devices")).header("authorization", bearer(&read_secret)).send();
    assert_eq!(get.await.expect("get").status(), StatusCode::OK);
    let post = client
        .post(server.url("/api/devices"))
        .header("authorization", bearer(&read_secret))
        .json(&serde_json::json!({"client_id": "x-1", "name": "x"}))
        .send()
        .await
        .expect("post");
    assert_eq!(post.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = post.json().await.expect("json");
    assert_eq!(body["error"]["code"], "forbidden");

    let forged = format!("{}x", &read_secret[..read_secret.len() - 1]);
    let res = client.get(server.url("/api/devices")).header("authorization", bearer(&forged)).send().await;
    assert_eq!(res.expect("get").status(), StatusCode::UNAUTHORIZED);

    assert!(accounts.revoke_token(&read.id).await.expect("revoke"));
    let res = client.get(server.url("/api/devices")).header("authorization", bearer(&read_secret)).send().await;
    assert_eq!(res.expect("get").status(), StatusCode::UNAUTHORIZED, "revoked at once");
    server.stop().await;
}

#[tokio::test]
async fn metrics_can_be_closed() {
    let server = TestServer::builder().var("WAGES_METRICS_PUBLIC", "false").start().await;
    let res = anonymous().get(server.url("/metrics")).send().await.expect("get");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = server.http().get(server.url("/metrics")).send().await.expect("get");
    assert_eq!(res.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn pages_carry_a_policy_their_scripts_satisfy() {
    let server = TestServer::builder().base("/wages").start().await;
    let res = server.http().get(server.url("/devices")).send().await.expect("get");
    assert_eq!(res.status(), StatusCode::OK);
    let headers = res.headers().clone();
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let policy = headers["content-security-policy"].to_str().expect("ascii").to_owned();
    let nonce = policy.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce");
    assert!(policy.contains("frame-ancestors 'none'") && policy.contains("'wasm-unsafe-eval'"), "{policy}");
    let html = res.text().await.expect("body");
    let scripts = html.matches("<script").count();
    assert!(scripts > 0, "the page has scripts");
    assert_eq!(html.matches(&format!("nonce=\"{nonce}\"")).count(), scripts, "every script has the nonce: {html}");
    // The next page gets another nonce.
    let again = server.http().get(server.url("/devices")).send().await.expect("get");
    assert!(!again.headers()["content-security-policy"].to_str().expect("ascii").contains(nonce));
    // JSON gets the default policy and the same headers.
    let api = server.http().get(server.url("/api/devices")).send().await.expect("get");
    assert_eq!(api.headers()["content-security-policy"], wages_server::security::DEFAULT_POLICY);
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
    server.stop().await;
}
