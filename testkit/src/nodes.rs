//! Real `wages` processes on loopback, as several nodes of one installation: for the
//! cluster tests and the scale-out benchmark.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet};

/// The `wages` binary Cargo built for the running test or benchmark: it sits beside the
/// `deps/` folder the test's own executable is in.
pub fn wages_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let profile = exe.parent().and_then(Path::parent).expect("target/{profile}/deps/{test}");
    let binary = profile.join(format!("wages{}", std::env::consts::EXE_SUFFIX));
    assert!(binary.exists(), "{} is missing: Cargo builds it for integration tests and benches", binary.display());
    binary
}

/// One `wages` process.
pub struct Node {
    pub id: String,
    /// The variables it was started with (besides the defaults of [`Node::start`]).
    pub vars: Vec<(String, String)>,
    pub child: Child,
    /// Where it listens for HTTP.
    pub addr: String,
}

impl Node {
    /// Starts `wages` as node `id` with `vars` (over a few defaults: a free port, JSON
    /// logs, an admin password, devices registered on their first reading, no
    /// compaction) and waits
    /// until it listens.
    pub fn start(id: &str, vars: &[(String, String)]) -> Node {
        let mut cmd = Command::new(wages_binary());
        cmd.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default()).current_dir(std::env::temp_dir());
        cmd.envs([
            ("LEPTOS_SITE_ADDR", "127.0.0.1:0"),
            ("WAGES_LOG_FORMAT", "json"),
            ("WAGES_NODE_ID", id),
            ("WAGES_ADMIN_PASSWORD", "nodes admin password"),
            ("WAGES_AUTO_REGISTER", "true"),
            // Tests and benches publish readings stamped in 1970: keep them as they are,
            // or a compaction pass 10 s after start folds them away mid-test.
            ("WAGES_RETENTION_RAW_DAYS", "0"),
        ]);
        cmd.envs(vars.iter().map(|(k, v)| (k, v)));
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("wages starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut addr = None;
        for line in lines.by_ref() {
            let log: Value = serde_json::from_str(&line.expect("log line")).expect("a JSON log line");
            if log["message"].as_str().is_some_and(|m| m.starts_with("wages is listening")) {
                addr = log["address"].as_str().map(str::to_owned);
                break;
            }
        }
        // Keep reading its log so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Node { id: id.to_owned(), vars: vars.to_vec(), child, addr: addr.expect("the node logged its address") }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// GETs `path` with `token` and reads the JSON body; a non-2xx status fails.
    pub async fn get(&self, token: &str, path: &str) -> Value {
        let res = crate::http().get(self.url(path)).bearer_auth(token).send().await.expect("GET");
        assert!(res.status().is_success(), "GET {path} on {}: {}", self.id, res.status());
        res.json().await.expect("JSON")
    }

    /// GETs `path` until `done` holds (10 s at most).
    pub async fn eventually(&self, token: &str, path: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let value = self.get(token, path).await;
            if done(&value) {
                return value;
            }
            assert!(Instant::now() < deadline, "{path} on {} is still {value}", self.id);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill -9");
        let _ = self.child.wait();
    }

    /// SIGTERM, and waits for it to stop.
    pub fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Ends a node's persistent session on the broker (a clean connect under its client id),
/// so what it subscribed does not go on collecting messages after the run.
pub async fn forget_session(mqtt_url: &str, node_id: &str) {
    let url = url::Url::parse(mqtt_url).expect("broker URL");
    let mut options =
        MqttOptions::new(format!("wages-ingest-{node_id}"), url.host_str().expect("host"), url.port().expect("port"));
    options.set_clean_session(true);
    let (client, mut eventloop) = AsyncClient::new(options, 10);
    let connected = tokio::time::timeout(Duration::from_secs(5), async {
        while !matches!(eventloop.poll().await, Ok(Event::Incoming(Packet::ConnAck(_))) | Err(_)) {}
    });
    let _ = connected.await;
    let _ = client.disconnect().await;
    let _ = tokio::time::timeout(Duration::from_secs(1), async { while eventloop.poll().await.is_ok() {} }).await;
}
