//! TLS for `mqtts://` brokers: rustls with the ring provider, trusting the system's
//! certificate authorities (`/etc/ssl/certs`; `SSL_CERT_FILE` or `SSL_CERT_DIR` point
//! elsewhere, as for OpenSSL).

use std::sync::Arc;

use rustls::ClientConfig;

/// The client configuration, or one readable line when no authority can be loaded.
pub fn client_config() -> Result<Arc<ClientConfig>, String> {
    let loaded = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(loaded.certs);
    if added == 0 {
        let why = loaded.errors.first().map(|e| format!(": {e}")).unwrap_or_default();
        return Err(format!(
            "WAGES_MQTT_URL=mqtts://…: no certificate authority to check the broker against{why} \
             (install ca-certificates, or set SSL_CERT_FILE)"
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
