//! Where readings are kept (`WAGES_TIMESERIES`): the registry's SQL database, or InfluxDB.
//! The pipeline writes through this, the API and the pages read through it.

use wages_codec::{ClientId, Reading, SessionId};
use wages_sessions::Summary;

use crate::error::RegistryError;
use crate::influx::InfluxReadings;
use crate::readings::SqlReadings;

/// The readings store. Cheap to clone.
#[derive(Clone)]
pub enum ReadingsStore {
    /// `sql`: the registry's SQLite or PostgreSQL.
    Sql(SqlReadings),
    /// `influxdb2`.
    Influx(Box<InfluxReadings>),
}

impl ReadingsStore {
    /// Stores `readings` durably and idempotently; returns how many were new, as far
    /// as the store can tell.
    pub async fn insert(&self, readings: &[Reading]) -> Result<u64, RegistryError> {
        match self {
            Self::Sql(s) => s.insert(readings).await,
            Self::Influx(s) => s.insert(readings).await,
        }
    }

    /// One session's readings in time order.
    pub async fn readings(&self, client_id: &ClientId, session_id: &SessionId) -> Result<Vec<Reading>, RegistryError> {
        match self {
            Self::Sql(s) => s.readings(client_id, session_id).await,
            Self::Influx(s) => s.readings(client_id, session_id).await,
        }
    }

    /// One session's summary, or `None` if it has no readings.
    pub async fn session(
        &self,
        client_id: &ClientId,
        session_id: &SessionId,
        now_ms: u64,
    ) -> Result<Option<Summary>, RegistryError> {
        match self {
            Self::Sql(s) => s.session(client_id, session_id, now_ms).await,
            Self::Influx(s) => s.session(client_id, session_id, now_ms).await,
        }
    }

    /// A device's sessions, newest first by start; `before` (ms) pages back.
    pub async fn sessions(
        &self,
        client_id: &ClientId,
        limit: u32,
        before: Option<u64>,
        now_ms: u64,
    ) -> Result<Vec<Summary>, RegistryError> {
        match self {
            Self::Sql(s) => s.sessions(client_id, limit, before, now_ms).await,
            Self::Influx(s) => s.sessions(client_id, limit, before, now_ms).await,
        }
    }

    /// For readiness checks: `None` when readings live in the registry's database
    /// (checked already), else whether InfluxDB answers.
    pub async fn ping(&self) -> Option<Result<(), RegistryError>> {
        match self {
            Self::Sql(_) => None,
            Self::Influx(s) => Some(s.ping().await),
        }
    }
}
