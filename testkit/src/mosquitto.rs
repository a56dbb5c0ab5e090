//! A Mosquitto of a test's own (Debian's `mosquitto`), for tests that stop, restart or
//! configure the broker and so cannot share the one scripts/test.sh starts.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Mosquitto {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

/// TLS files for a listener: a throwaway certificate authority and a server
/// certificate for `localhost` and 127.0.0.1, made with `openssl`.
pub struct TlsFiles {
    pub ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

impl TlsFiles {
    pub fn make(dir: &Path) -> TlsFiles {
        let ca = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2"];
        openssl(dir, &[&ca[..], &["-subj", "/CN=Wages test CA"]].concat());
        std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").expect("san");
        let csr = ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr"];
        openssl(dir, &[&csr[..], &["-subj", "/CN=localhost"]].concat());
        openssl(
            dir,
            &["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"]
                .into_iter()
                .chain(["-out", "server.pem", "-days", "2", "-extfile", "san.ext"])
                .collect::<Vec<_>>(),
        );
        TlsFiles { ca: dir.join("ca.pem"), cert: dir.join("server.pem"), key: dir.join("server.key") }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}

impl Mosquitto {
    /// Starts a broker that admits only `users` (name, password) and applies the ACL
    /// in `acl` (a Mosquitto acl_file).
    pub fn start_with_acl(dir: &Path, acl: &Path, users: &[(&str, &str)]) -> Mosquitto {
        let passwords = dir.join("passwords");
        for (n, (user, password)) in users.iter().enumerate() {
            let create: &[&str] = if n == 0 { &["-c"] } else { &[] };
            let out = Command::new("mosquitto_passwd")
                .args(create)
                .args(["-b", &passwords.to_string_lossy(), user, password])
                .output()
                .expect("mosquitto_passwd runs (Debian package mosquitto)");
            assert!(out.status.success(), "mosquitto_passwd: {}", String::from_utf8_lossy(&out.stderr));
        }
        let extra =
            format!("allow_anonymous false\npassword_file {}\nacl_file {}\n", passwords.display(), acl.display());
        Self::start_conf(dir, None, &extra)
    }

    /// Starts a broker that keeps sessions and queued messages on disk across restarts.
    pub fn start(dir: &Path, tls: Option<&TlsFiles>) -> Mosquitto {
        Self::start_conf(dir, tls, "allow_anonymous true\n")
    }

    fn start_conf(dir: &Path, tls: Option<&TlsFiles>, access: &str) -> Mosquitto {
        // `user root`: run as whoever starts it (as root it would switch to `mosquitto`,
        // which cannot write in the test's directory); ignored when not root.
        let mut conf = format!(
            "user root\nper_listener_settings false\n{access}persistence true\npersistence_location {dir}/\n\
             max_queued_messages 1000000\nmax_inflight_messages 1000\nlog_dest file {dir}/mosquitto.log\n",
            dir = dir.display()
        );
        let port = free_port();
        conf.push_str(&format!("listener {port} 127.0.0.1\n"));
        if let Some(tls) = tls {
            conf.push_str(&format!(
                "cafile {}\ncertfile {}\nkeyfile {}\n",
                tls.ca.display(),
                tls.cert.display(),
                tls.key.display()
            ));
        }
        std::fs::write(dir.join("mosquitto.conf"), conf).expect("mosquitto.conf");
        let mut broker = Mosquitto { port, dir: dir.to_owned(), child: None };
        broker.restart();
        broker
    }

    /// Starts it (again), on the same port with the same data.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(self.dir.join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto runs (Debian package mosquitto; scripts/setup.sh --test installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "mosquitto did not start: see {}/mosquitto.log", self.dir.display());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops it gracefully (SIGTERM), so it writes its sessions to disk.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
