//! Logging: one place sets up `tracing`, pretty for people or JSON for machines.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber. `filter` has already been checked by the config.
///
/// The embedded broker logs every connection at `info`; unless the filter names
/// `rumqttd`, it says only warnings, so a fleet of scales does not drown the log.
pub fn init(filter: &str, format: LogFormat) {
    let filter = if filter.contains("rumqttd") { filter.to_owned() } else { format!("{filter},rumqttd=warn") };
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(true);
    let installed = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    // A second call (as in tests) keeps the first subscriber.
    drop(installed);
}
