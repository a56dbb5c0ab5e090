//! The server's facts for the overview page, fetched with a server function.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What a person may want to know about the running server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// The `wages` version.
    pub version: String,
    /// Milliseconds since the server started.
    pub uptime_ms: u64,
    /// The URL path prefix, empty at the root.
    pub base_path: String,
}

/// Facts the server provides as context to server functions.
#[cfg(feature = "ssr")]
#[derive(Clone, Debug)]
pub struct ServerFacts {
    /// When the server process started.
    pub started_at: std::time::Instant,
}

/// The server's version, uptime and modes.
#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn server_status() -> Result<StatusReport, AppError> {
    let facts = use_context::<ServerFacts>().ok_or_else(|| AppError::Unavailable("server facts missing".into()))?;
    let base = expect_context::<crate::base::BasePath>();
    Ok(StatusReport {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        uptime_ms: u64::try_from(facts.started_at.elapsed().as_millis()).unwrap_or(u64::MAX),
        base_path: base.as_str().to_owned(),
    })
}

/// `3 h 12 min`, `4 min 05 s`, `12 s`: an uptime a person reads at a glance.
pub fn format_uptime(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        3600..86_400 => format!("{} h {:02} min", s / 3600, s / 60 % 60),
        _ => format!("{} d {} h", s / 86_400, s / 3600 % 24),
    }
}

#[cfg(test)]
mod tests {
    use super::format_uptime;

    #[test]
    fn uptime_reads_naturally() {
        assert_eq!(format_uptime(999), "0 s");
        assert_eq!(format_uptime(12_000), "12 s");
        assert_eq!(format_uptime(245_000), "4 min 05 s");
        assert_eq!(format_uptime(3_600_000 * 3 + 60_000 * 12), "3 h 12 min");
        assert_eq!(format_uptime(86_400_000 * 2 + 3_600_000 * 5), "2 d 5 h");
    }
}
