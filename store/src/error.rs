//! What can go wrong in the registry.

use serde::{Deserialize, Serialize};

/// A registry failure, by kind: the API maps each to one HTTP status.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum RegistryError {
    /// A field breaks its rule; `field` names it for the form or the API client.
    #[error("{field} {message}")]
    Invalid { field: String, message: String },
    #[error("a device with client_id {0} is already registered")]
    Duplicate(String),
    #[error("no device with client_id {0}")]
    NotFound(String),
    /// Something else that is not there (beans, a session), said in full.
    #[error("{0}")]
    Unknown(String),
    /// The change would break something that depends on what it changes, said in full.
    #[error("{0}")]
    Conflict(String),
    /// The database (`WAGES_DATABASE_URL`) failed; the text is for logs and operators.
    #[error("the database is unavailable: {0}")]
    Database(String),
    /// InfluxDB, where readings are kept with `WAGES_TIMESERIES=influxdb2`, failed.
    #[error("InfluxDB is unavailable: {0}")]
    Influx(String),
}

impl RegistryError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        RegistryError::Invalid { field: field.to_owned(), message: message.into() }
    }
}

#[cfg(feature = "db")]
impl From<sqlx::Error> for RegistryError {
    fn from(e: sqlx::Error) -> Self {
        RegistryError::Database(e.to_string())
    }
}

#[cfg(feature = "db")]
impl From<sqlx::migrate::MigrateError> for RegistryError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        match e {
            sqlx::migrate::MigrateError::VersionMissing(version) => RegistryError::Database(format!(
                "the database was upgraded by a newer Wages (its migration {version} is unknown to this one): \
                 run that version or newer, or restore the backup taken before the upgrade"
            )),
            e => RegistryError::Database(format!("migration failed: {e}")),
        }
    }
}
