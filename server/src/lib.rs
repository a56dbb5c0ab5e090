//! The `wages` server: one process serving the web app and the API, the embedded MQTT
//! broker and the ingestion pipeline. docs/architecture.md draws how they fit.
//!
//! # Layout
//!
//! - [`config`]: every environment variable, parsed once into [`config::Config`].
//! - [`telemetry`]: logging setup (pretty or JSON).
//! - [`http`]: the axum router: Leptos pages and server functions, health, metrics, assets.
//! - [`auth`]: login sessions and API tokens, and the layer that requires one.
//! - [`security`]: security headers on every response, with the pages' CSP.
//! - [`api`]: the JSON API under `{base}/api`, its OpenAPI document and Swagger UI.
//! - [`broker`]: the embedded MQTT broker (rumqttd).
//! - [`pipeline`]: readings in over MQTT: decode, validate, batch, store, acknowledge.
//! - [`hub`]: stored readings as they come, per device, for live viewers.
//! - [`aggregates`]: live state, session summaries, running aggregates and Home Assistant
//!   discovery, published back to the broker for other consumers.
//! - [`retention`]: compacts old sessions in the background (`WAGES_RETENTION_*`).
//! - [`tls`]: TLS for `mqtts://` brokers.
//! - [`ingest`]: starts the broker and the pipeline together, and stops them.
//! - [`mqtt_gate`]: the embedded broker's front door: device passwords, topic confinement.
//! - [`mqtt_ws`]: MQTT over WebSocket at `{base}/mqtt`, through the gate.
//! - [`run`] serves on a listener until a shutdown future completes, so tests bind
//!   `127.0.0.1:0` and stop the server at will; `main.rs` only wires the process.

#![recursion_limit = "256"]

pub mod aggregates;
pub mod api;
pub mod auth;
pub mod broker;
pub mod cluster;
pub mod config;
pub mod http;
pub mod hub;
pub mod ingest;
pub mod mqtt_gate;
pub mod mqtt_ws;
pub mod pipeline;
pub mod retention;
pub mod security;
pub mod simulate;
pub mod telemetry;
pub mod tls;

use std::future::Future;
use std::io;

use leptos::config::LeptosOptions;
use tokio::net::TcpListener;

use wages_store::Registry;

use crate::config::{Config, Database};
use crate::http::AppState;

/// Leptos's options from our configuration. The output name is baked in by cargo-leptos.
pub fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(option_env!("LEPTOS_OUTPUT_NAME").unwrap_or("wages"))
        .site_root(config.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(config.site_addr)
        .build()
}

/// Binds the web listener, turning the usual failures into one readable line.
pub async fn bind(config: &Config) -> Result<TcpListener, String> {
    let addr = config.site_addr;
    TcpListener::bind(addr).await.map_err(|e| match e.kind() {
        io::ErrorKind::AddrInUse => {
            format!("LEPTOS_SITE_ADDR={addr}: the address is already in use; stop what is using it or choose another")
        }
        io::ErrorKind::PermissionDenied => {
            format!("LEPTOS_SITE_ADDR={addr}: permission denied; choose a port above 1023")
        }
        io::ErrorKind::AddrNotAvailable => format!("LEPTOS_SITE_ADDR={addr}: no such address on this machine"),
        _ => format!("LEPTOS_SITE_ADDR={addr}: cannot listen: {e}"),
    })
}

/// Opens the device registry named by `WAGES_DATABASE_URL`, as one readable line on failure.
pub async fn open_registry(config: &Config) -> Result<Registry, String> {
    let url = match &config.database {
        Database::Sqlite(url) | Database::Postgres(url) => url,
    };
    Registry::connect(url)
        .await
        .map_err(|e| format!("WAGES_DATABASE_URL={}: cannot open the device registry: {e}", config::redact(url)))
}

/// Serves until `shutdown` completes, then finishes the requests in flight.
pub async fn run(
    config: &Config,
    registry: Registry,
    ingest: ingest::Ingest,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    // Server-rendered forms post to server functions by URL: they must carry the base path
    // too. The setting is process-wide; one process serves one base path.
    let server_url: &'static str = Box::leak(config.base_path.as_str().to_owned().into_boxed_str());
    let _ = leptos::server_fn::client::try_set_server_url(server_url);
    let shown_once =
        registry.accounts().ensure_admin(config.admin_password.as_deref()).await.map_err(io::Error::other)?;
    if let Some(password) = shown_once {
        // Once, on the first start without WAGES_ADMIN_PASSWORD: nothing stores it in clear.
        tracing::warn!(
            "first start: log in as admin with the password {password} (shown only this once; set WAGES_ADMIN_PASSWORD to choose one)"
        );
    }
    let app = http::router(AppState::new(config, registry.clone(), &ingest));
    let local = listener.local_addr()?;
    tracing::info!(address = %local, base_path = config.base_path.as_str(), "wages is listening: http://{local}{}", config.base_path.home());
    // Live frames are small and must leave at once, not wait for Nagle's algorithm.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| drop(tcp.set_nodelay(true)));
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    ingest.stop().await;
    registry.close().await;
    served
}

/// Completes on Ctrl-C or SIGTERM. The handlers are installed when this is called, not
/// when the future is first polled, so a signal that comes early still stops gracefully.
/// Call it inside the runtime, before anything starts.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let mut signals = {
        use tokio::signal::unix::{SignalKind, signal};
        (signal(SignalKind::interrupt()).ok(), signal(SignalKind::terminate()).ok())
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let (interrupt, terminate) = (signals.0.take(), signals.1.take());
            tokio::select! {
                () = wait(interrupt) => {},
                () = wait(terminate) => {},
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing requests in flight");
    }
}
