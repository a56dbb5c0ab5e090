//! Where the pipeline stores readings (`WAGES_TIMESERIES`).

use wages_codec::Reading;
use wages_store::SqlReadings;

/// The readings store the pipeline writes to. Cheap to clone.
#[derive(Clone)]
pub enum Storage {
    /// The registry's database (`sql`).
    Sql(SqlReadings),
}

impl Storage {
    /// Stores `readings` durably and idempotently; returns how many were new (as far
    /// as the store can tell).
    pub async fn insert(&self, readings: &[Reading]) -> Result<u64, String> {
        match self {
            Storage::Sql(sql) => sql.insert(readings).await.map_err(|e| e.to_string()),
        }
    }
}
