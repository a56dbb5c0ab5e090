//! The server over a real socket: pages, server functions, health, assets and the
//! base path, each under `/` and under `/wages`.

use leptos::server_fn::ServerFn;
use tokio::net::TcpListener;
use wages_server::config::Config;
use wages_testkit::TestServer;

async fn serves_everything_under(base: &str) {
    let server = TestServer::builder().base(base).start().await;

    let (status, body) = server.get("/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 200);
    let ready: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(ready, serde_json::json!({"status": "ready", "checks": {"database": "ok", "broker": "ok"}}));

    let (status, page) = server.get("/").await;
    assert_eq!(status, 200);
    assert!(page.contains("Every extraction, weighed live"), "home page rendered on the server");
    assert!(
        page.contains(&format!(r#"<meta name="wages-base-path" content="{base}">"#)),
        "base path handed to the browser"
    );
    assert!(page.contains(&format!("{base}/pkg/wages.js")), "hydration script follows the base path");
    assert!(page.contains(&format!(r#"href="{base}/pkg/wages.css""#)), "stylesheet follows the base path");
    assert!(page.contains(r#"data-testid="version""#), "server status rendered before the WASM loads");

    let (status, css) = server.get("/pkg/wages.css").await;
    assert_eq!((status, css.as_str()), (200, "body{}"));

    let (status, page) = server.get("/no/such/page").await;
    assert_eq!(status, 404);
    assert!(page.contains("Nothing here"));

    // The payload checker works without the WASM: the server renders the verdict.
    let (status, page) = server.get("/?payload=client_id%3Da%3Bsession_id%3Db%3Bvalue%3Dx%3Btstamp%3D1").await;
    assert_eq!(status, 200);
    assert!(page.contains("expected a number for value"), "verdict rendered on the server");

    let (status, metrics) = server.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(metrics.contains("wages_store_lookups_total{result=\"hit\"}"), "{metrics}");

    // The server function answers at {base}/api/fn/…, as the browser calls it.
    let url = server.url(<app::status::ServerStatus as ServerFn>::PATH);
    let res = server
        .http()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .expect("server fn call");
    assert_eq!(res.status().as_u16(), 200);
    let report: serde_json::Value = res.json().await.expect("json");
    assert_eq!(report["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(report["base_path"], base);

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_everything_at_the_root() {
    serves_everything_under("").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_everything_under_a_base_path() {
    serves_everything_under("/wages").await;
}

/// Files go out precompressed when the browser takes it and are revalidated by date;
/// pages and JSON are compressed on the fly and never kept by shared caches.
async fn sends_less(base: &str) {
    let server = TestServer::builder().base(base).start().await;
    let http = server.http();
    let get = |path: &str, headers: &[(&'static str, &str)]| {
        let mut req = http.get(server.url(path));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.send()
    };
    let header = |res: &reqwest::Response, name: &str| {
        res.headers().get(name).map(|v| v.to_str().expect("text").to_owned()).unwrap_or_default()
    };

    let res = get("/pkg/wages.css", &[("accept-encoding", "gzip, deflate, br")]).await.expect("css");
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-encoding"), "br");
    assert_eq!(header(&res, "content-type"), "text/css");
    assert_eq!(header(&res, "cache-control"), "no-cache");
    assert_eq!(header(&res, "vary"), "accept-encoding");
    let modified = header(&res, "last-modified");
    assert!(!modified.is_empty(), "a date to revalidate by");
    assert_eq!(res.text().await.expect("body"), "brotli of body{}");

    // Only the plain file for a browser that takes neither, and no gzip copy is made up.
    for accepts in [None, Some("gzip")] {
        let headers: Vec<_> = accepts.map(|a| ("accept-encoding", a)).into_iter().collect();
        let res = get("/pkg/wages.css", &headers).await.expect("css");
        assert_eq!((res.status().as_u16(), header(&res, "content-encoding")), (200, String::new()), "{accepts:?}");
        assert_eq!(res.text().await.expect("body"), "body{}");
    }

    // Unchanged since the browser's copy: 304 and no body.
    let res = get("/pkg/wages.css", &[("if-modified-since", modified.as_str())]).await.expect("css");
    assert_eq!(res.status(), 304);
    assert_eq!(res.text().await.expect("body"), "");

    // A page and a JSON document, compressed for a browser that takes gzip.
    for path in ["/", "/api/openapi.json"] {
        let res = get(path, &[("accept-encoding", "gzip")]).await.expect("page");
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(header(&res, "content-encoding"), "gzip", "{path}");
        assert_eq!(header(&res, "cache-control"), "private, no-cache", "{path}");
        let plain = get(path, &[]).await.expect("page");
        assert_eq!(header(&plain, "content-encoding"), "", "{path}");
        let (zipped, plain) = (res.bytes().await.expect("body").len(), plain.bytes().await.expect("body").len());
        assert!(zipped * 2 < plain, "{path}: {zipped} bytes gzipped, {plain} plain");
    }

    // A range it cannot read is the file's refusal, not the app's page.
    let res = get("/pkg/wages.css", &[("range", "bytes=abc")]).await.expect("css");
    assert_eq!(res.status(), 416);

    // A missing file is still the app's own 404 page.
    let res = get("/pkg/nothing.js", &[]).await.expect("404");
    assert_eq!(res.status(), 404);
    assert!(res.text().await.expect("body").contains("Nothing here"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_less_at_the_root() {
    sends_less("").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_less_under_a_base_path() {
    sends_less("/wages").await;
}

#[tokio::test]
async fn under_a_base_path_nothing_leaks_to_the_root() {
    let server = TestServer::builder().base("/wages").start().await;
    let root = |p: &str| format!("http://{}{p}", server.addr);
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    assert_eq!(client.get(root("/healthz")).send().await.expect("get").status().as_u16(), 404);
    assert_eq!(client.get(root("/pkg/wages.css")).send().await.expect("get").status().as_u16(), 404);
    let res = client.get(root("/")).send().await.expect("get");
    assert_eq!(res.status().as_u16(), 307);
    assert_eq!(res.headers()["location"], "/wages");
    server.stop().await;
}

#[tokio::test]
async fn a_port_in_use_is_one_clear_line() {
    let taken = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let config = Config::from_lookup(|name| (name == "LEPTOS_SITE_ADDR").then(|| addr.clone())).expect("valid");
    let err = wages_server::startup::bind(&config).await.expect_err("port is taken");
    assert_eq!(
        err.to_string(),
        format!("LEPTOS_SITE_ADDR={addr}: the address is already in use; stop what is using it or choose another")
    );
    assert_eq!(err.exit_code(), 2, "the configuration must change");
}
