//! Where readings are kept (`WAGES_TIMESERIES`): the registry's SQL database, or InfluxDB.
//! The pipeline writes through this, the API and the pages read through it.

use wages_codec::{ClientId, Reading, SessionId};
use wages_sessions::{Bucket, Summary, summarize};

use crate::brew::ShotFilter;
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
            Self::Influx(s) => Ok(summarize(&s.readings(client_id, session_id).await?, now_ms)),
        }
    }

    /// One session's summary and readings (for a compacted session, its buckets' means,
    /// or none once only its summary is kept); `None` if there is no such session.
    pub async fn session_with_readings(
        &self,
        client_id: &ClientId,
        session_id: &SessionId,
        now_ms: u64,
    ) -> Result<Option<(Summary, Vec<Reading>)>, RegistryError> {
        let readings = self.readings(client_id, session_id).await?;
        let summary = match self {
            Self::Sql(s) => match s.stored_summary(client_id, session_id, now_ms).await? {
                // A shot without weight readings (a machine without a scale): its row.
                None if readings.is_empty() => s.session(client_id, session_id, now_ms).await?,
                summary => summary,
            },
            Self::Influx(_) => None,
        };
        Ok(summary.or_else(|| summarize(&readings, now_ms)).map(|s| (s, readings)))
    }

    /// A shot's series beside the weight (pressure, flow, temperatures, water), each in
    /// time order.
    pub async fn series(
        &self,
        client_id: &ClientId,
        session_id: &SessionId,
    ) -> Result<Vec<crate::series::Series>, RegistryError> {
        match self {
            Self::Sql(s) => s.series(client_id, session_id).await,
            Self::Influx(s) => s.series(client_id, session_id).await,
        }
    }

    /// A compacted session's buckets (count, min, max, mean) in time order; empty when
    /// it is not compacted, or its buckets are gone.
    pub async fn buckets(&self, client_id: &ClientId, session_id: &SessionId) -> Result<Vec<Bucket>, RegistryError> {
        match self {
            Self::Sql(s) => s.buckets(client_id, session_id).await,
            Self::Influx(_) => Ok(Vec::new()),
        }
    }

    /// A device's sessions with their summaries, newest first by start; `before` (ms)
    /// pages back: only sessions that started before it.
    pub async fn sessions(
        &self,
        client_id: &ClientId,
        limit: u32,
        before: Option<u64>,
        now_ms: u64,
    ) -> Result<Vec<Summary>, RegistryError> {
        let ids = match self {
            Self::Sql(s) => {
                // One query over the shots' summaries, kept as readings are stored.
                let filter = ShotFilter { scale: Some(client_id.to_string()), to: before, ..ShotFilter::default() };
                let page = s.brews().search(&filter, None, limit.min(crate::MAX_SESSIONS), now_ms).await?;
                return Ok(page.shots.into_iter().map(|shot| shot.summary).collect());
            }
            Self::Influx(s) => s.session_ids(client_id, limit, before).await?,
        };
        let mut summaries = Vec::with_capacity(ids.len());
        for session_id in ids {
            if let Some(summary) = self.session(client_id, &session_id, now_ms).await? {
                summaries.push(summary);
            }
        }
        Ok(summaries)
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
