//! A real Wages server in the test's own process, on 127.0.0.1:0, with a database and a
//! folder of its own.

use std::net::SocketAddr;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wages_server::config::Config;
use wages_server::startup::Application;

/// The admin's password on every test server.
pub const ADMIN_PASSWORD: &str = "test admin password";

pub struct TestServer {
    pub addr: SocketAddr,
    /// The embedded broker's TCP address.
    pub mqtt: Option<SocketAddr>,
    /// The server's own registry (and readings), for tests that store readings directly.
    pub registry: wages_store::Registry,
    pub base: String,
    /// `WAGES_DATABASE_URL` of this server.
    pub database: String,
    /// An API token with the write scope, sent by [`TestServer::http`].
    pub token: String,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

/// Which registry database a test server uses.
#[derive(Clone, Copy, Debug)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// How to start a [`TestServer`]: at the root, on SQLite, with the embedded broker and
/// devices registered by hand, unless told otherwise.
#[derive(Default)]
#[must_use]
pub struct Builder {
    base: String,
    db: Option<Db>,
    auto_register: bool,
    mqtt_url: Option<String>,
    influx: Option<(String, String)>,
    vars: Vec<(String, String)>,
}

impl Builder {
    /// Served under `base` (`WAGES_BASE_PATH`), e.g. `/wages`.
    pub fn base(mut self, base: &str) -> Self {
        base.clone_into(&mut self.base);
        self
    }

    /// The registry on `db`.
    pub fn db(mut self, db: Db) -> Self {
        self.db = Some(db);
        self
    }

    /// Devices registered on their first reading (`WAGES_AUTO_REGISTER`).
    pub fn auto_register(mut self) -> Self {
        self.auto_register = true;
        self
    }

    /// The pipeline reads from the external broker at `url` (`WAGES_MQTT_URL`).
    pub fn external_broker(mut self, url: &str) -> Self {
        self.mqtt_url = Some(url.to_owned());
        self
    }

    /// Readings kept in InfluxDB at `url`, in `bucket` (devices auto-registered).
    pub fn influx(mut self, url: &str, bucket: &str) -> Self {
        self.influx = Some((url.to_owned(), bucket.to_owned()));
        self.auto_register()
    }

    /// One more configuration variable, over the kit's own.
    pub fn var(mut self, name: &str, value: &str) -> Self {
        self.vars.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Starts it: the registry, an API token with the write scope, ingestion and HTTP.
    pub async fn start(self) -> TestServer {
        let Builder { base, db, auto_register, mqtt_url, influx, vars } = self;
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("site/pkg")).expect("pkg dir");
        std::fs::write(dir.path().join("site/pkg/wages.css"), "body{}").expect("css");
        // As `cargo leptos build --precompress` leaves one beside it (the server sends it as is).
        std::fs::write(dir.path().join("site/pkg/wages.css.br"), "brotli of body{}").expect("css.br");
        let site_root = dir.path().join("site").to_string_lossy().into_owned();
        let database = match db.unwrap_or(Db::Sqlite) {
            Db::Sqlite => format!("sqlite://{}/wages.db", dir.path().display()),
            Db::Postgres => wages_store::testing::postgres_database().await,
        };
        // A node id of its own: an external broker keeps each id's persistent session, and
        // an earlier run's (with whatever queued up since) must not be picked up.
        static SERVERS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = SERVERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let node_id = format!("test-{}-{n}-{}", std::process::id(), rand::random::<u32>());
        let base_owned = base.clone();
        let database_url = database.clone();
        let config = Config::from_lookup(move |name| match name {
            _ if vars.iter().any(|(k, _)| k == name) => vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
            "LEPTOS_SITE_ADDR" => Some("127.0.0.1:0".to_owned()),
            "WAGES_ADMIN_PASSWORD" => Some(ADMIN_PASSWORD.to_owned()),
            "WAGES_BASE_PATH" => Some(base_owned.clone()),
            "LEPTOS_SITE_ROOT" => Some(site_root.clone()),
            "WAGES_DATABASE_URL" => Some(database.clone()),
            "WAGES_MQTT_LISTEN" => Some("127.0.0.1:0".to_owned()),
            "WAGES_NODE_ID" => Some(node_id.clone()),
            "WAGES_AUTO_REGISTER" => Some(auto_register.to_string()),
            "WAGES_MQTT_URL" => mqtt_url.clone(),
            "WAGES_TIMESERIES" => influx.as_ref().map(|_| "influxdb2".to_owned()),
            "WAGES_INFLUX_URL" => influx.as_ref().map(|(url, _)| url.clone()),
            "WAGES_INFLUX_BUCKET" => influx.as_ref().map(|(_, bucket)| bucket.clone()),
            "WAGES_INFLUX_ORG" => influx.as_ref().map(|_| "cafe".to_owned()),
            "WAGES_INFLUX_TOKEN" => influx.as_ref().map(|_| "test-token".to_owned()),
            _ => None,
        })
        .expect("valid config");
        let app = Application::build(&config).await.expect("the server starts");
        let registry = app.registry().clone();
        let (_, token) =
            registry.accounts().create_token("tests", wages_store::Scope::Write, "admin").await.expect("a token");
        let (addr, mqtt) = (app.local_addr().expect("local addr"), app.mqtt_addr());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        TestServer { addr, mqtt, registry, base, database: database_url, token, stop: Some(stop), task, _dir: dir }
    }
}

impl TestServer {
    /// A server at the root on SQLite; [`TestServer::builder`] for anything else.
    pub async fn start() -> TestServer {
        Self::builder().start().await
    }

    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Registers a scale through the API (its name is its id); its MQTT password.
    pub async fn register(&self, id: &str) -> String {
        let body = serde_json::json!({"client_id": id, "name": id});
        let res = self.http().post(self.url("/api/devices")).json(&body).send().await.expect("register");
        assert_eq!(res.status().as_u16(), 201);
        let registered: serde_json::Value = res.json().await.expect("JSON");
        assert_eq!(registered["mqtt_username"], id);
        registered["mqtt_password"].as_str().expect("a password").to_owned()
    }

    /// Options for an MQTT client of the embedded broker, logged in with the write token
    /// (which may publish for any scale).
    pub fn mqtt_options(&self, name: &str) -> rumqttc::MqttOptions {
        let addr = self.mqtt.expect("embedded broker");
        let mut options = rumqttc::MqttOptions::new(name, addr.ip().to_string(), addr.port());
        options.set_max_packet_size(300_000, 300_000);
        options.set_credentials("tests", &self.token);
        options
    }

    /// Options for scale `id` on the embedded broker, logged in with its own password.
    pub fn scale_options(&self, id: &str, password: &str) -> rumqttc::MqttOptions {
        let addr = self.mqtt.expect("embedded broker");
        let mut options = rumqttc::MqttOptions::new(id, addr.ip().to_string(), addr.port());
        options.set_credentials(id, password);
        options
    }

    /// A real MQTT client on the embedded broker, its event loop polled in the background.
    pub async fn mqtt_client(&self, name: &str) -> rumqttc::AsyncClient {
        let options = self.mqtt_options(name);
        let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 1000);
        tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
        client
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}{path}", self.addr, self.base)
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let res = self.http().get(self.url(path)).send().await.expect("request");
        let status = res.status().as_u16();
        (status, res.text().await.expect("body"))
    }

    /// GETs `path` and reads the JSON body.
    pub async fn json(&self, path: &str) -> serde_json::Value {
        self.http().get(self.url(path)).send().await.expect("get").json().await.expect("json")
    }

    /// Polls `path` until `done` holds for its JSON, or fails after 15 s.
    pub async fn eventually(&self, path: &str, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let value = self.json(path).await;
            if done(&value) {
                return value;
            }
            assert!(std::time::Instant::now() < deadline, "{path} never got there: {value}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// An HTTP client that sends this server's write token with every request.
    pub fn http(&self) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        let bearer = format!("Bearer {}", self.token);
        headers.insert(reqwest::header::AUTHORIZATION, bearer.parse().expect("header value"));
        reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .default_headers(headers)
            .build()
            .expect("HTTP client")
    }

    /// A WebSocket request to `path` carrying the token.
    pub fn ws_request(&self, path: &str) -> tokio_tungstenite::tungstenite::handshake::client::Request {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("ws://{}{}{path}", self.addr, self.base);
        let mut request = url.into_client_request().expect("WebSocket URL");
        let bearer = format!("Bearer {}", self.token);
        request.headers_mut().insert("authorization", bearer.parse().expect("header value"));
        request
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.expect("server task").expect("clean shutdown");
    }
}

/// An HTTP client whose requests fail after 30 s: a stuck request fails its test, with
/// the request named, instead of hanging the run.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().expect("HTTP client")
}

/// The pipeline's figures (`GET {web}/api/pipeline`) of the server at `web`
/// (`http://host:port`), asked with `token`.
pub async fn pipeline_figures(web: &str, token: &str) -> serde_json::Value {
    let answer = http().get(format!("{web}/api/pipeline")).bearer_auth(token).send().await.expect("figures");
    answer.json().await.expect("the figures' JSON")
}
