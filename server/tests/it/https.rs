//! HTTPS on the web port (`WAGES_TLS_CERT`, `WAGES_TLS_KEY`), for real: a certificate
//! made for the test, clients that trust only it, HTTP/2 and HTTP/1.1 on the same port,
//! MQTT over WebSocket over TLS publishing a scale's readings while its live stream
//! shows them over TLS, and the errors an
//! operator sees for a missing file, a file that is not PEM and a key of another
//! certificate.

use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, MqttOptions, QoS, TlsConfiguration, Transport};
use wages_codec::ClientId;
use wages_server::config::Config;
use wages_server::startup::Application;
use wages_store::NewDevice;
use wages_testkit::TestServer;

/// A certificate for `localhost` and 127.0.0.1 and its key, as PEM.
fn certificate() -> (String, String) {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).expect("cert");
    (cert.pem(), signing_key.serialize_pem())
}

fn write_pems(dir: &std::path::Path, (cert, key): &(String, String)) -> (String, String) {
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert).expect("cert file");
    std::fs::write(&key_path, key).expect("key file");
    (cert_path.to_string_lossy().into_owned(), key_path.to_string_lossy().into_owned())
}

fn client(cert_pem: &str, http1: bool) -> reqwest::Client {
    let root = reqwest::Certificate::from_pem(cert_pem.as_bytes()).expect("root");
    let builder = reqwest::Client::builder().use_rustls_tls().tls_built_in_root_certs(false).add_root_certificate(root);
    let builder = if http1 { builder.http1_only() } else { builder };
    builder.build().expect("client")
}

#[tokio::test]
async fn pages_api_and_mqtt_over_websocket_are_served_over_https() {
    let pems = certificate();
    let dir = tempfile::tempdir().expect("dir");
    let (cert, key) = write_pems(dir.path(), &pems);
    let server =
        TestServer::builder().base("/wages").var("WAGES_TLS_CERT", &cert).var("WAGES_TLS_KEY", &key).start().await;
    let https = format!("https://localhost:{}/wages", server.addr.port());

    // HTTP/2 where the client offers it (ALPN), HTTP/1.1 where it does not.
    for (http1, version) in [(false, reqwest::Version::HTTP_2), (true, reqwest::Version::HTTP_11)] {
        let health = client(&pems.0, http1).get(format!("{https}/healthz")).send().await.expect("health over TLS");
        assert_eq!((health.status().as_u16(), health.version()), (200, version));
        let page = client(&pems.0, http1).get(format!("{https}/login")).send().await.expect("page");
        assert_eq!(page.status().as_u16(), 200);
        assert!(page.text().await.expect("body").contains("<form"), "the login page");
        let api = client(&pems.0, http1)
            .get(format!("{https}/api/devices"))
            .bearer_auth(&server.token)
            .send()
            .await
            .expect("API");
        assert_eq!(api.status().as_u16(), 200);
    }

    // Logging in over HTTPS gives a session cookie the browser only sends over HTTPS.
    let no_redirects = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pems.0.as_bytes()).expect("root"))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let login = no_redirects
        .post(format!("{https}/login"))
        .form(&[("username", "admin"), ("password", wages_testkit::ADMIN_PASSWORD)])
        .send()
        .await
        .expect("login");
    let cookie = login.headers().get("set-cookie").expect("a session cookie").to_str().expect("text");
    assert!(cookie.contains("HttpOnly") && cookie.ends_with("; Secure"), "{cookie}");

    // Plain HTTP on the HTTPS port gets no page; a client that does not trust the
    // certificate gets no connection.
    assert!(reqwest::get(format!("http://{}/wages/healthz", server.addr)).await.is_err());
    assert!(
        reqwest::Client::builder()
            .use_rustls_tls()
            .build()
            .expect("client")
            .get(format!("{https}/healthz"))
            .send()
            .await
            .is_err()
    );

    // A browser tab's path: MQTT over WebSocket over TLS, as the scale itself, while a
    // viewer follows the scale's live stream over TLS too.
    let id = ClientId::parse("tab-tls").expect("id");
    server.registry.create(&NewDevice::parse("tab-tls", "Tablet").expect("device")).await.expect("register");
    let password = server.registry.credentials().issue(&id).await.expect("password");
    let mut roots = rustls::RootCertStore::empty();
    let der = rustls::pki_types::pem::PemObject::from_pem_slice(pems.0.as_bytes()).expect("DER");
    roots.add(der).expect("root");
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(server.addr).await.expect("TCP");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let stream = tokio_rustls::TlsConnector::from(Arc::new(tls.clone())).connect(name, tcp).await.expect("TLS");
    let mut live = {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("wss://localhost:{}/wages/api/devices/tab-tls/live", server.addr.port());
        let mut request = url.into_client_request().expect("request");
        let bearer = format!("Bearer {}", server.token).parse().expect("header");
        request.headers_mut().insert("authorization", bearer);
        tokio_tungstenite::client_async(request, stream).await.expect("live stream over TLS").0
    };
    let mut options =
        MqttOptions::new("tab-tls", format!("wss://localhost:{}/wages/mqtt", server.addr.port()), server.addr.port());
    options.set_transport(Transport::wss_with_config(TlsConfiguration::Rustls(Arc::new(tls))));
    options.set_credentials("tab-tls", password);
    let (mqtt, mut eventloop) = AsyncClient::new(options, 10);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    let lines: Vec<String> =
        (0..20).map(|i| format!("client_id=tab-tls;session_id=tls;value={}.5;tstamp={}", i, 1_000 + i * 100)).collect();
    mqtt.publish("wages/devices/tab-tls/readings", QoS::AtLeastOnce, false, lines.join("\n")).await.expect("publish");
    let frame = tokio::time::timeout(Duration::from_secs(10), futures_util::StreamExt::next(&mut live))
        .await
        .expect("a live frame in time");
    let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) = frame else { panic!("{frame:?}") };
    assert!(text.contains("\"session_id\":\"tls\""), "{text}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let stored = server.registry.readings().count(&id).await.expect("count");
        if stored == 20 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{stored} of 20 readings stored over wss");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}

/// What `wages` says when the certificate or key cannot be used: one line naming the
/// variable and what is wrong, before anything listens.
#[tokio::test]
async fn unusable_certificates_stop_start_up_with_a_clear_line() {
    let dir = tempfile::tempdir().expect("dir");
    let (cert, key) = write_pems(dir.path(), &certificate());
    let other = tempfile::tempdir().expect("dir");
    let (_, other_key) = write_pems(other.path(), &certificate());
    let not_pem = dir.path().join("notes.txt");
    std::fs::write(&not_pem, "not a certificate").expect("file");
    let not_pem = not_pem.to_string_lossy().into_owned();
    let missing = dir.path().join("missing.pem").to_string_lossy().into_owned();
    let database = format!("sqlite://{}/wages.db", dir.path().display());
    let start = |cert: String, key: String| {
        let database = database.clone();
        async move {
            let config = Config::from_lookup(move |name| match name {
                "LEPTOS_SITE_ADDR" | "WAGES_MQTT_LISTEN" => Some("127.0.0.1:0".to_owned()),
                "WAGES_DATABASE_URL" => Some(database.clone()),
                "WAGES_ADMIN_PASSWORD" => Some("an admin password".to_owned()),
                "WAGES_TLS_CERT" => Some(cert.clone()),
                "WAGES_TLS_KEY" => Some(key.clone()),
                _ => None,
            })
            .expect("config");
            match Application::build(&config).await {
                Ok(_) => panic!("started with an unusable certificate"),
                Err(e) => (e.to_string(), e.exit_code()),
            }
        }
    };
    let (line, code) = start(missing.clone(), key.clone()).await;
    assert_eq!((line, code), (format!("WAGES_TLS_CERT={missing:?}: no such file"), 2));
    let (line, _) = start(not_pem.clone(), key.clone()).await;
    assert_eq!(line, format!("WAGES_TLS_CERT={not_pem:?}: no PEM certificate in the file"));
    let (line, _) = start(cert.clone(), not_pem.clone()).await;
    assert_eq!(line, format!("WAGES_TLS_KEY={not_pem:?}: no PEM private key in the file"));
    let (line, _) = start(cert.clone(), other_key).await;
    assert!(line.starts_with("WAGES_TLS_CERT and WAGES_TLS_KEY do not go together"), "{line}");

    // Only one of the two: the configuration says which is missing.
    let half = Config::from_lookup(|name| (name == "WAGES_TLS_CERT").then(|| cert.clone())).expect_err("half");
    assert_eq!(
        half.to_string(),
        "WAGES_TLS_KEY is not set: expected the certificate's PEM private key, since WAGES_TLS_CERT is set"
    );
}
