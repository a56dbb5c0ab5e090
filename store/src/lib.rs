//! Storage: the device registry (the scales a cafe owns, registered, renamed, deleted,
//! and looked up by every incoming message) and their readings, in SQL or InfluxDB.
//!
//! # Layout
//!
//! - [`device`]: the [`Device`] object of the API and the rules for its fields
//!   ([`DeviceName`], [`NewDevice`]); pure, so the browser checks forms the same way.
//! - `store` (feature `db`): [`Registry`], the devices table in SQLite or PostgreSQL
//!   through sqlx's `Any` driver, with migrations; lookups by `client_id` are served
//!   from memory (one hour, dropped at once on change), with hit and miss counters.
//! - `readings` (feature `db`): [`SqlReadings`], the readings table in the same
//!   database: idempotent batched inserts, sessions and their readings; `journal`: on
//!   SQLite, where thin batches (a reading of each of many shots) are appended first and
//!   folded into the readings and shots every few seconds.
//! - `compaction` (feature `db`): [`Retention`], old sessions' readings folded into
//!   buckets with min, max and mean, their summaries kept for good (`WAGES_RETENTION_*`).
//! - `influx` (feature `db`): [`InfluxReadings`], readings in InfluxDB: line protocol
//!   through the `influxdb2` crate, read back with InfluxQL.
//! - `timeseries` (feature `db`): [`ReadingsStore`], whichever of the two is configured.
//! - [`brew`]: beans, a scale's recipe and what a shot was: shapes and rules; `brews`
//!   (feature `db`): [`Brews`], the beans library, recipes and the `shots` table (one row
//!   per session, its summary kept as readings are stored).
//! - [`account`]: API token scopes and listings, shared with the pages; `accounts`
//!   (feature `db`): [`Accounts`], people and their roles, passwords, login sessions and
//!   tokens, stored hashed; `shares` (feature `db`): [`Shares`], shots shared by a link,
//!   and the audit list.
//! - `credentials` (feature `db`): [`DeviceCredentials`], devices' MQTT passwords and the
//!   simulator's short-lived tickets.
//! - `lease` (feature `db`): [`Lease`], a role one node holds at a time (the embedded
//!   broker), renewed while it runs.
//! - [`pipeline`]: the ingest pipeline's settings, figures and dead letters, shared by
//!   the server's pipeline and the Pipeline page.
//! - [`series`]: what a shot measures beside the weight (pressure, flow, temperatures,
//!   water), with units and bounds; [`shot_file`]: shots in and out as other apps' files.
//! - [`error`]: what can go wrong, by kind, for the API to map to statuses.
//! - `testing` (feature `testing`, for tests and benchmarks only): a database of one's own
//!   on the test PostgreSQL.

pub mod account;
pub mod brew;
pub mod device;
pub mod error;
pub mod pipeline;
pub mod series;
pub mod shot_file;
pub mod site;

#[cfg(feature = "db")]
mod accounts;
#[cfg(feature = "db")]
mod brews;
#[cfg(feature = "db")]
mod compaction;
#[cfg(feature = "db")]
mod credentials;
#[cfg(feature = "db")]
mod influx;
#[cfg(feature = "db")]
mod journal;
#[cfg(feature = "db")]
mod lease;
#[cfg(feature = "db")]
mod readings;
#[cfg(feature = "db")]
mod shares;
#[cfg(feature = "db")]
mod shot_series;
#[cfg(feature = "db")]
mod sites;
#[cfg(feature = "db")]
mod store;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "db")]
mod timeseries;
#[cfg(feature = "db")]
mod writing;

pub use account::{AuditEntry, Identity, LoginSession, NewPerson, Person, PersonPatch, Role, Scope, Share, TokenInfo};
#[cfg(feature = "db")]
pub use accounts::{Accounts, SESSION_LIFETIME, SessionOwner, session_key};
pub use brew::{
    Beans, BeansInput, BeansPatch, Cursor, Method, Recipe, Shot, ShotDetails, ShotFilter, ShotPage, ShotPatch,
};
#[cfg(feature = "db")]
pub use brews::{Brews, MAX_SHOT_PAGE};
#[cfg(feature = "db")]
pub use compaction::{CompactionReport, Retention};
#[cfg(feature = "db")]
pub use credentials::{DeviceCredentials, TICKET_LIFETIME};
pub use device::{Device, DeviceName, MqttCredential, NewDevice, Registered, Registration, Rename};
pub use error::RegistryError;
#[cfg(feature = "db")]
pub use influx::{InfluxReadings, line_protocol};
#[cfg(feature = "db")]
pub use journal::FOLD_EVERY;
#[cfg(feature = "db")]
pub use lease::{HeldElsewhere, LEASE_RENEW, LEASE_TTL, Lease};
#[cfg(feature = "db")]
pub use readings::{MAX_READINGS, MAX_SESSIONS, ShotImport, SqlReadings};
#[cfg(feature = "db")]
pub use shares::{AUDIT_KEPT, MAX_AUDIT_PAGE, Shares};
pub use site::{Site, SiteInput, SitePatch, Sites};
#[cfg(feature = "db")]
pub use store::{Backend, CacheStats, DEVICES_CHANNEL, MAX_LIST, Registry, Synchronous, sqlite_synchronous};
#[cfg(feature = "db")]
pub use timeseries::ReadingsStore;
