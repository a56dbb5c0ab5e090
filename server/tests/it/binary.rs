//! The `wages` binary as a person runs it: help, configuration errors, a port in use,
//! and a graceful stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn wages(vars: &[(&str, &str)], args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wages"));
    cmd.args(args).env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
    // An in-memory registry: these tests leave no files behind.
    cmd.env("WAGES_DATABASE_URL", "sqlite::memory:");
    // Run from an empty folder so no .env file of the developer's leaks in.
    cmd.current_dir(std::env::temp_dir());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

fn run(vars: &[(&str, &str)], args: &[&str]) -> Output {
    wages(vars, args).output().expect("wages runs")
}

#[test]
fn help_lists_the_configuration() {
    let out = run(&[], &["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for name in ["LEPTOS_SITE_ADDR", "WAGES_BASE_PATH", "WAGES_DATABASE_URL", "WAGES_MQTT_URL", "WAGES_LOG_FORMAT"] {
        assert!(help.contains(name), "--help lacks {name}");
    }
}

#[test]
fn a_bad_value_stops_start_up_with_one_line() {
    let out = run(&[("WAGES_LOG_FORMAT", "xml")], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "wages: WAGES_LOG_FORMAT=\"xml\": expected pretty or json\n");
}

#[test]
fn an_unknown_argument_is_refused() {
    let out = run(&[], &["--frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown argument"));
}

#[test]
fn a_port_in_use_is_reported_not_panicked() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let out = run(&[("LEPTOS_SITE_ADDR", &addr)], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&format!("LEPTOS_SITE_ADDR={addr}: the address is already in use")), "{stderr}");
}

/// Starts `wages` and waits until it logs that it is listening; the child and its address.
fn start_listening(vars: &[(&str, &str)]) -> (std::process::Child, String) {
    let mut all = vec![("LEPTOS_SITE_ADDR", "127.0.0.1:0"), ("WAGES_LOG_FORMAT", "json"), ("WAGES_MQTT_LISTEN", "0")];
    all.extend_from_slice(vars);
    let mut child = wages(&all, &[]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("wages starts");
    // JSON logs name the bound address; read lines until the listening one.
    let stdout = child.stdout.take().expect("stdout");
    let mut address = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("log line");
        let log: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
        let web = log["message"].as_str().is_some_and(|m| m.starts_with("wages is listening"));
        if let (true, Some(addr)) = (web, log["address"].as_str()) {
            address = Some(addr.to_owned());
            break;
        }
    }
    (child, address.expect("the server logged its address"))
}

#[test]
fn sigterm_stops_the_server_gracefully() {
    let (mut child, address) = start_listening(&[]);
    let health = std::net::TcpStream::connect(&address).is_ok();
    assert!(health, "listening on {address}");

    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs").success());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "exit status after SIGTERM: {status}");
            break;
        }
        assert!(Instant::now() < deadline, "wages did not stop within 5 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_broker_port_in_use_is_reported_not_panicked() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let out = run(&[("LEPTOS_SITE_ADDR", "127.0.0.1:0"), ("WAGES_MQTT_LISTEN", &addr)], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.ends_with(&format!(
            "WAGES_MQTT_LISTEN={addr}: the address is already in use; stop what is using it, choose another, or set 0\n"
        )),
        "{stderr}"
    );
}

#[test]
fn a_second_embedded_broker_on_one_database_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}/wages.db", dir.path().display());
    let (mut first, _) = start_listening(&[("WAGES_DATABASE_URL", &db)]);
    let out = run(&[("LEPTOS_SITE_ADDR", "127.0.0.1:0"), ("WAGES_MQTT_LISTEN", "0"), ("WAGES_DATABASE_URL", &db)], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("another Wages node with an embedded MQTT broker uses this database"), "{stderr}");
    assert!(stderr.contains("WAGES_MQTT_URL"), "it says what to do instead: {stderr}");

    // A node killed outright is known to be gone (its process is): the next starts at once.
    first.kill().expect("kill -9");
    first.wait().expect("reaped");
    let (mut second, _) = start_listening(&[("WAGES_DATABASE_URL", &db)]);
    // One stopped gracefully gives the role up for the next.
    let pid = second.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs").success());
    assert!(second.wait().expect("stops").success());
    let (mut third, _) = start_listening(&[("WAGES_DATABASE_URL", &db)]);
    third.kill().expect("kill");
    third.wait().expect("reaped");
}
