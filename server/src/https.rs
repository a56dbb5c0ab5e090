//! HTTPS on the web port (`WAGES_TLS_CERT`, `WAGES_TLS_KEY`): rustls with the ring
//! provider, HTTP/2 offered by ALPN beside HTTP/1.1. A browser on the LAN needs it for
//! Web Bluetooth, which only runs in a secure context; pages, API, live streams and MQTT
//! over WebSocket all go through the same listener.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// The certificate and key files, as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebTls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Why the web port cannot serve HTTPS: each names the variable to fix.
#[derive(Debug, thiserror::Error)]
pub enum HttpsError {
    #[error("WAGES_TLS_CERT={path:?}: {why}")]
    Cert { path: PathBuf, why: String },
    #[error("WAGES_TLS_KEY={path:?}: {why}")]
    Key { path: PathBuf, why: String },
    #[error("WAGES_TLS_CERT and WAGES_TLS_KEY do not go together: {0}")]
    Mismatch(rustls::Error),
}

/// TLS handshakes under way at most; past that, new connections wait in the backlog.
const HANDSHAKING: usize = 512;
/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIME: Duration = Duration::from_secs(10);

/// Reads the PEM files and makes the server's TLS configuration, offering HTTP/2.
pub fn server_config(tls: &WebTls) -> Result<Arc<ServerConfig>, HttpsError> {
    let cert_error = |why: String| HttpsError::Cert { path: tls.cert.clone(), why };
    let key_error = |why: String| HttpsError::Key { path: tls.key.clone(), why };
    let chain = CertificateDer::pem_file_iter(&tls.cert)
        .map_err(|e| cert_error(pem_problem(&e, "certificate")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cert_error(pem_problem(&e, "certificate")))?;
    if chain.is_empty() {
        return Err(cert_error("no PEM certificate in the file".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&tls.key).map_err(|e| key_error(pem_problem(&e, "private key")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(HttpsError::Mismatch)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| match e {
            rustls::Error::General(_) | rustls::Error::InconsistentKeys(_) => HttpsError::Mismatch(e),
            other => key_error(format!("cannot use the key: {other}")),
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn pem_problem(e: &rustls::pki_types::pem::Error, what: &str) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::Io(io) if io.kind() == io::ErrorKind::NotFound => "no such file".into(),
        Error::Io(io) => format!("cannot read it: {io}"),
        Error::NoItemsFound => format!("no PEM {what} in the file"),
        other => format!("not a PEM {what}: {other}"),
    }
}

/// Accepts TCP connections and hands on those whose TLS handshake succeeded. Handshakes
/// run side by side, so a slow or silent client holds up nobody else.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshakes: JoinSet<Option<(TlsStream<TcpStream>, SocketAddr)>>,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> TlsListener {
        TlsListener { tcp, acceptor: TlsAcceptor::from(config), handshakes: JoinSet::new() }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            tokio::select! {
                accepted = self.tcp.accept(), if self.handshakes.len() < HANDSHAKING => match accepted {
                    Ok((tcp, peer)) => {
                        // Live frames are small and must leave at once.
                        let _ = tcp.set_nodelay(true);
                        let acceptor = self.acceptor.clone();
                        self.handshakes.spawn(async move {
                            match tokio::time::timeout(HANDSHAKE_TIME, acceptor.accept(tcp)).await {
                                Ok(Ok(tls)) => Some((tls, peer)),
                                Ok(Err(e)) => {
                                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                    None
                                }
                                Err(_) => None,
                            }
                        });
                    }
                    // Out of file descriptors and the like: as axum's own listener does.
                    Err(e) => {
                        tracing::error!(error = %e, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                },
                Some(done) = self.handshakes.join_next(), if !self.handshakes.is_empty() => {
                    if let Ok(Some(ready)) = done {
                        return ready;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
