//! The composition root: [`Application::build`] assembles the whole server from its
//! configuration (the web listener bound, the registry open, the admin account there,
//! ingestion running, the state complete and every route mounted), and
//! [`Application::run_until`] serves until a shutdown future completes, then stops
//! everything in order. `main.rs` and the tests start the server only through here.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::serve::ListenerExt;
use leptos::config::LeptosOptions;
use tokio::net::TcpListener;
use wages_store::{Registry, RegistryError};

use crate::config::{self, Config, Database};
use crate::ingest::{self, Ingest, IngestError};
use crate::metrics::Metrics;
use crate::routes;
use crate::state::AppState;

/// Why the server could not start, in one line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The web listener (`LEPTOS_SITE_ADDR`): in use, not allowed, no such address.
    #[error("LEPTOS_SITE_ADDR={addr}: {}", listen_problem(.source))]
    Listen { addr: SocketAddr, source: io::Error },
    /// The registry's database (`WAGES_DATABASE_URL`, shown without its password) could
    /// not be opened or prepared.
    #[error("WAGES_DATABASE_URL={url}: cannot open the device registry: {source}")]
    Registry { url: String, source: RegistryError },
    #[error("cannot prepare the admin account: {0}")]
    Admin(RegistryError),
    /// The broker or the pipeline (`WAGES_MQTT_*`, another node's lease).
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// The certificate or key for HTTPS (`WAGES_TLS_CERT`, `WAGES_TLS_KEY`).
    #[error(transparent)]
    Https(#[from] crate::https::HttpsError),
}

/// What a failed bind means for the operator.
fn listen_problem(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::AddrInUse => "the address is already in use; stop what is using it or choose another".into(),
        io::ErrorKind::PermissionDenied => "permission denied; choose a port above 1023".into(),
        io::ErrorKind::AddrNotAvailable => "no such address on this machine".into(),
        _ => format!("cannot listen: {e}"),
    }
}

impl StartError {
    /// The process's exit status: 2 for what the configuration must change, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            StartError::Listen { .. } | StartError::Ingest(_) | StartError::Https(_) => 2,
            StartError::Registry { .. } | StartError::Admin(_) => 1,
        }
    }
}

/// The whole server, built and ready to serve.
pub struct Application {
    listener: TcpListener,
    /// HTTPS, when configured.
    tls: Option<Arc<rustls::ServerConfig>>,
    router: Router,
    registry: Registry,
    ingest: Ingest,
    /// `WAGES_BASE_PATH`, for the line that says where it listens.
    base: app::base::BasePath,
}

impl Application {
    /// Binds the web listener, opens the registry, makes sure the admin account exists,
    /// starts ingestion (the broker, the pipeline and the background tasks) and mounts
    /// every route on a complete state.
    pub async fn build(config: &Config) -> Result<Application, StartError> {
        let tls = config.web_tls.as_ref().map(crate::https::server_config).transpose()?;
        let listener = bind(config).await?;
        let registry = open_registry(config).await?;
        ensure_admin(&registry, config).await?;
        // Server-rendered forms post to server functions by URL: they must carry the base
        // path too. The setting is process-wide; one process serves one base path.
        let server_url: &'static str = Box::leak(config.base_path.as_str().to_owned().into_boxed_str());
        let _ = leptos::server_fn::client::try_set_server_url(server_url);
        let metrics = Arc::new(Metrics::default());
        let ingest = ingest::start(config, registry.clone(), metrics.clone()).await?;
        let state = AppState::new(config, registry.clone(), &ingest, metrics);
        if let Some(bundle) = &state.bundle {
            bundle.warm();
        }
        let router = routes::router(state);
        Ok(Application { listener, tls, router, registry, ingest, base: config.base_path.clone() })
    }

    /// Where it serves HTTP (the port, when `LEPTOS_SITE_ADDR` asked for port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where outside MQTT clients reach the embedded broker over TCP, if anywhere.
    pub fn mqtt_addr(&self) -> Option<SocketAddr> {
        self.ingest.mqtt_listen
    }

    /// The registry it serves, for tests that prepare data beside the API.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Serves until `shutdown` completes, finishes the requests in flight, then stops
    /// ingestion (storing and acknowledging what it holds) and closes the registry.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> io::Result<()> {
        let Application { listener, tls, router, registry, ingest, base } = self;
        let local = listener.local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        tracing::info!(address = %local, base_path = base.as_str(), "wages is listening: {scheme}://{local}{}", base.home());
        let app = router.into_make_service_with_connect_info::<SocketAddr>();
        let served = match tls {
            Some(tls) => {
                // Tapped only for its connection info: the listener sets TCP_NODELAY itself.
                let listener = ListenerExt::tap_io(crate::https::TlsListener::new(listener, tls), |_| {});
                axum::serve(listener, app).with_graceful_shutdown(shutdown).await
            }
            None => {
                // Live frames are small and must leave at once, not wait for Nagle's algorithm.
                let listener = ListenerExt::tap_io(listener, |tcp| drop(tcp.set_nodelay(true)));
                axum::serve(listener, app).with_graceful_shutdown(shutdown).await
            }
        };
        ingest.stop().await;
        registry.close().await;
        served
    }
}

/// Creates the admin account on the first start (printing its generated password once,
/// unless `WAGES_ADMIN_PASSWORD` sets it), or sets its password from the variable.
async fn ensure_admin(registry: &Registry, config: &Config) -> Result<(), StartError> {
    let shown_once =
        registry.accounts().ensure_admin(config.admin_password.as_deref()).await.map_err(StartError::Admin)?;
    if let Some(password) = shown_once {
        // Once, on the first start without WAGES_ADMIN_PASSWORD: nothing stores it in clear.
        tracing::warn!(
            "first start: log in as admin with the password {password} (shown only this once; set WAGES_ADMIN_PASSWORD to choose one)"
        );
    }
    Ok(())
}

/// Leptos's options from our configuration. The output name is baked in by cargo-leptos.
/// A site built with hashed file names (`wages.<hash>.wasm`) has their hashes in
/// `hash.txt` at its root (Cargo.toml's `hash-file-name`), which goes wherever the site
/// goes; Leptos reads it by a path it joins to the binary's folder, so an absolute one.
pub fn leptos_options(config: &Config) -> LeptosOptions {
    let hash_file = std::path::absolute(config.site_root.join(HASH_FILE)).unwrap_or_else(|_| HASH_FILE.into());
    LeptosOptions::builder()
        .output_name(option_env!("LEPTOS_OUTPUT_NAME").unwrap_or("wages"))
        .site_root(config.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(config.site_addr)
        .hash_files(hash_file.is_file())
        .hash_file(hash_file.to_string_lossy().into())
        .build()
}

/// The site's lazy parts, if it was built with `--split`.
pub fn bundle(options: &LeptosOptions) -> Option<crate::bundle::Bundle> {
    let hashes = options.hash_files.then(|| std::fs::read_to_string(options.hash_file.as_ref()).ok()).flatten();
    crate::bundle::Bundle::load(Path::new(options.site_root.as_ref()), &options.site_pkg_dir, hashes.as_deref())
}

/// Where a site built with hashed file names lists them, under its root.
const HASH_FILE: &str = "hash.txt";

/// Binds the web listener (`LEPTOS_SITE_ADDR`).
pub async fn bind(config: &Config) -> Result<TcpListener, StartError> {
    let addr = config.site_addr;
    TcpListener::bind(addr).await.map_err(|source| StartError::Listen { addr, source })
}

/// Opens the device registry named by `WAGES_DATABASE_URL`.
pub async fn open_registry(config: &Config) -> Result<Registry, StartError> {
    let url = match &config.database {
        Database::Sqlite(url) | Database::Postgres(url) => url,
    };
    Registry::connect(url).await.map_err(|source| StartError::Registry { url: config::redact(url), source })
}
