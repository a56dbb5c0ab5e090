//! `wages simulate`, the real binary, against a real server's embedded broker: it
//! registers its scales, they announce themselves, brew, and go offline; storage holds
//! exactly the sessions and readings asked for.

use std::process::Command;

use wages_testkit::TestServer;

/// Runs `wages simulate` with these options against the server's embedded broker,
/// registering its scales there with the server's write token; panics unless it
/// succeeds, and answers what it printed.
async fn simulate(server: &TestServer, options: &[&str]) -> String {
    let broker = server.mqtt.expect("embedded broker");
    let mut args = vec!["simulate".to_owned(), "--url".to_owned(), format!("mqtt://{broker}")];
    args.extend(options.iter().map(|o| (*o).to_owned()));
    args.extend(["--register".to_owned(), server.url("")]);
    let token = server.token.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_wages")).args(args).env("WAGES_TOKEN", token).output().expect("runs")
    })
    .await
    .expect("joined");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    stdout.into_owned()
}

#[tokio::test]
async fn simulated_scales_land_in_storage_with_exact_counts() {
    let server = TestServer::builder().base("/wages").start().await;
    // The first scale's recipe says to stop at 30 g: it stops by weight, the others run to 36 g.
    let scale = serde_json::json!({"client_id": "simt-01", "name": "Simulated scale 1"});
    let added = server.http().post(server.url("/api/devices")).json(&scale).send().await.expect("register");
    assert_eq!(added.status().as_u16(), 201);
    let recipe = serde_json::json!({"method": "espresso", "dose": 15.0, "target_yield": 30.0});
    let set = server.http().put(server.url("/api/devices/simt-01/recipe")).json(&recipe).send().await.expect("recipe");
    assert_eq!(set.status().as_u16(), 200);
    let options = ["--devices", "3", "--rate", "50", "--seconds", "2", "--sessions", "2", "--prefix", "simt"];
    let stdout = simulate(&server, &options).await;
    let published: u64 = stdout
        .trim()
        .strip_prefix("published ")
        .and_then(|rest| rest.strip_suffix(" readings in 6 sessions from 3 scales"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{stdout}"));

    let by_weight = server
        .eventually("/api/devices/simt-01/sessions", |s| {
            let counts: Option<u64> = s.as_array().map(|a| a.iter().filter_map(|s| s["count"].as_u64()).sum());
            counts == Some(published - 400)
        })
        .await;
    for shot in by_weight.as_array().expect("sessions") {
        let final_weight = shot["final_weight"].as_f64().expect("final weight");
        assert!((28.5..=31.5).contains(&final_weight), "stopped by weight near 30 g: {by_weight}");
        assert_eq!(shot["target_yield"].as_f64(), Some(30.0));
    }
    for n in 1..=3 {
        let path = format!("/api/devices/simt-0{n}/sessions");
        let sessions = server
            .eventually(&path, |s| {
                s.as_array().is_some_and(|a| a.len() == 2 && (n == 1 || a.iter().all(|s| s["count"] == 100)))
            })
            .await;
        let final_weight = sessions[0]["final_weight"].as_f64().expect("final weight");
        assert!(n == 1 || (35.0..=37.0).contains(&final_weight), "{sessions}");
        let device = server.eventually(&format!("/api/devices/simt-0{n}"), |d| d["online"] == false).await;
        assert_eq!(device["firmware_version"], wages_server::simulate::FIRMWARE);
        assert_eq!(device["name"], format!("Simulated scale {n}"));
    }
    server.stop().await;
}

#[test]
fn bad_options_get_one_readable_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_wages")).args(["simulate", "--rate", "fast"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "wages simulate: --rate \"fast\": expected a whole number from 1 to 1000"
    );
    let help = Command::new(env!("CARGO_BIN_EXE_wages")).args(["simulate", "--help"]).output().expect("runs");
    assert!(String::from_utf8_lossy(&help.stdout).contains("--register URL"));
}

#[tokio::test]
async fn without_a_login_the_embedded_broker_refuses_and_says_what_to_do() {
    let server = TestServer::start().await;
    let broker = server.mqtt.expect("embedded broker");
    let url = format!("mqtt://{broker}");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_wages"))
            .args(["simulate", "--url", &url, "--devices", "1", "--seconds", "1"])
            .env_remove("WAGES_TOKEN")
            .output()
            .expect("wages simulate runs")
    })
    .await
    .expect("joined");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("needs a login: a write token in WAGES_TOKEN"), "{stderr}");
    server.stop().await;
}

/// `--machine`: every reading also carries the machine's measures, which become the
/// shot's series beside its weight.
#[tokio::test]
async fn simulated_machines_send_their_measures() {
    let server = TestServer::start().await;
    simulate(&server, &["--devices", "1", "--seconds", "2", "--prefix", "simm", "--machine"]).await;
    let sessions = server.eventually("/api/devices/simm-01/sessions", |s| s[0]["count"] == 20).await;
    let session = sessions[0]["session_id"].as_str().expect("a session id");
    let export = server.json(&format!("/api/devices/simm-01/sessions/{session}/export?format=json")).await;
    let kinds: Vec<&str> =
        export["series"].as_array().expect("series").iter().filter_map(|s| s["kind"].as_str()).collect();
    assert_eq!(kinds, ["pressure", "flow", "water_temperature", "basket_temperature", "water_dispensed"]);
    for series in export["series"].as_array().expect("series") {
        assert_eq!(series["points"].as_array().map(Vec::len), Some(20), "{series}");
    }
    server.stop().await;
}
