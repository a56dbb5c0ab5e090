//! The `wages` server: one process serving the web app and the API, the embedded MQTT
//! broker and the ingestion pipeline. docs/architecture.md draws how they fit.
//!
//! # Layout
//!
//! - [`startup`]: the composition root. [`startup::Application::build`] assembles
//!   everything from the configuration and `run_until` serves until a shutdown future
//!   completes, so tests start servers on `127.0.0.1:0` and stop them at will.
//! - [`state`]: what every handler reaches; [`routes`]: every route, in one place.
//! - [`config`]: every environment variable, parsed once into [`config::Config`].
//! - [`telemetry`]: logging setup (pretty or JSON).
//! - [`http`]: health, readiness, metrics, server functions, static files.
//! - [`metrics`]: the counters that belong to no other part, and the one renderer of
//!   `{base}/metrics` that every part writes its figures through.
//! - [`auth`]: login sessions and API tokens, and the layer that requires one.
//! - [`security`]: security headers on every response, with the pages' CSP.
//! - [`api`]: the JSON API under `{base}/api`, its OpenAPI document and Swagger UI.
//! - [`mqtt`]: the embedded MQTT broker (rumqttd), its gate, and MQTT over WebSocket.
//! - [`pipeline`]: readings in over MQTT: decode, validate, batch, store, acknowledge.
//! - [`hub`]: stored readings as they come, per device, for live viewers.
//! - [`aggregates`]: live state, session summaries, running aggregates and Home Assistant
//!   discovery, published back to the broker for other consumers.
//! - [`retention`]: compacts old sessions in the background (`WAGES_RETENTION_*`).
//! - [`tls`]: TLS for `mqtts://` brokers.
//! - [`ingest`]: starts the broker and the pipeline together, and stops them.

#![recursion_limit = "256"]

pub mod aggregates;
pub mod api;
pub mod auth;
pub mod bundle;
pub mod cluster;
pub mod config;
pub mod http;
pub mod https;
pub mod hub;
pub mod ingest;
pub mod metrics;
pub mod mqtt;
pub mod offline;
pub mod pipeline;
pub mod retention;
pub mod routes;
pub mod security;
pub mod share;
pub mod simulate;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod tls;

use std::future::Future;

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
