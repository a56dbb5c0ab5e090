//! What every handler and server function can reach, built once and complete.

use std::sync::Arc;
use std::time::Instant;

use app::base::BasePath;
use app::status::ServerFacts;
use axum::extract::FromRef;
use leptos::prelude::*;
use wages_store::Registry;

use crate::config::Config;
use crate::ingest::Ingest;
use crate::metrics::Metrics;

/// What every handler and server function can reach.
#[derive(Clone)]
pub struct AppState {
    /// Leptos's own options: site root, output name, address.
    pub leptos_options: LeptosOptions,
    /// The URL path prefix everything is served under.
    pub base: BasePath,
    /// Facts for the status page.
    pub facts: ServerFacts,
    /// The devices, with their lookup cache.
    pub registry: Registry,
    /// Where readings are stored (`WAGES_TIMESERIES`).
    pub readings: wages_store::ReadingsStore,
    /// The ingest pipeline: figures, dead letters, reconfiguration, publishing.
    pub control: Arc<crate::pipeline::Control>,
    /// Stored readings as they come, for live viewers.
    pub hub: Arc<crate::hub::Hub>,
    /// The embedded broker's front door, which `{base}/mqtt` passes through; `None` with
    /// an external broker.
    pub gate: Option<Arc<crate::mqtt::gate::Gate>>,
    /// Whether `{base}/metrics` is open to all (`WAGES_METRICS_PUBLIC`).
    pub metrics_public: bool,
    /// Live streams open per client (`WAGES_LIVE_PER_CLIENT`).
    pub streams: Arc<crate::api::StreamLimits>,
    /// The counters that belong to no other part, for `{base}/metrics`.
    pub metrics: Arc<Metrics>,
    /// Failed logins, per user name and per address.
    pub login_throttle: Arc<crate::auth::LoginThrottle>,
    /// Whether the site is served over HTTPS, so its session cookie is `Secure`.
    pub https: bool,
    /// The lazy pages' parts, each page's in one answer; `None` for a site built without
    /// `--split`.
    pub bundle: Option<Arc<crate::bundle::Bundle>>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    /// Everything the handlers reach, from the configuration, the registry and the
    /// running ingestion: complete from the start, nothing set afterwards.
    pub fn new(config: &Config, registry: Registry, ingest: &Ingest, metrics: Arc<Metrics>) -> Self {
        let leptos_options = crate::startup::leptos_options(config);
        Self {
            bundle: crate::startup::bundle(&leptos_options).map(Arc::new),
            leptos_options,
            base: config.base_path.clone(),
            facts: ServerFacts { started_at: Instant::now() },
            registry,
            readings: ingest.readings.clone(),
            control: ingest.control.clone(),
            hub: ingest.hub.clone(),
            gate: ingest.gate.clone(),
            metrics_public: config.metrics_public,
            https: config.web_tls.is_some(),
            login_throttle: Arc::default(),
            streams: crate::api::StreamLimits::new(config.live_per_client),
            metrics,
        }
    }

    /// Puts the state into the Leptos context of a render or server function call, and
    /// gives a page its Content-Security-Policy with the render's nonce.
    pub(crate) fn provide(&self) {
        if let (Some(nonce), Some(response)) = (use_nonce(), use_context::<leptos_axum::ResponseOptions>())
            && let Ok(policy) = axum::http::HeaderValue::from_str(&crate::security::page_policy(&nonce))
        {
            response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, policy);
        }
        provide_context(self.base.clone());
        provide_context(self.facts.clone());
        provide_context(self.registry.clone());
        provide_context(self.registry.accounts());
        provide_context(self.readings.clone());
        provide_context(app::pipeline::PipelineHandle(self.control.clone()));
    }
}
