//! TLS for `mqtts://` brokers: rustls with the ring provider, trusting the system's
//! certificate authorities (`/etc/ssl/certs`; `SSL_CERT_FILE` or `SSL_CERT_DIR` point
//! elsewhere, as for OpenSSL).

use std::sync::Arc;

use rustls::ClientConfig;

/// Why no TLS client could be made for an `mqtts://` broker.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// No certificate authority could be loaded; `why` is the first loader error, if any.
    #[error(
        "WAGES_MQTT_URL=mqtts://…: no certificate authority to check the broker against{why} \
         (install ca-certificates, or set SSL_CERT_FILE)"
    )]
    NoAuthority { why: String },
    #[error("TLS set-up failed: {0}")]
    Setup(#[from] rustls::Error),
}

/// The client configuration, trusting the system's certificate authorities.
pub fn client_config() -> Result<Arc<ClientConfig>, TlsError> {
    let loaded = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(loaded.certs);
    if added == 0 {
        let why = loaded.errors.first().map(|e| format!(": {e}")).unwrap_or_default();
        return Err(TlsError::NoAuthority { why });
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
