//! The devices table, in SQLite or PostgreSQL, behind a lookup cache.
//!
//! One implementation serves both databases through sqlx's `Any` driver: the SQL is
//! portable (`$n` parameters, `ON CONFLICT`, `LIKE … ESCAPE`), and so is the migration.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use moka::future::Cache;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use wages_codec::ClientId;

use crate::device::{Device, DeviceName, NewDevice};
use crate::error::RegistryError;

/// How long a looked-up device stays in memory unless it changes first.
pub const CACHE_TTL: Duration = Duration::from_secs(3600);
/// Most devices kept in the lookup cache.
pub const CACHE_CAPACITY: u64 = 100_000;
/// Most devices one list or search returns.
pub const MAX_LIST: u32 = 1000;
/// PostgreSQL's notification channel for changed devices: the payload is a `client_id`,
/// or several joined by commas.
/// Every node sharing the database drops that device from its cache on hearing it.
pub const DEVICES_CHANNEL: &str = "wages_devices";
/// Scales one statement of [`Registry::touch_all`] names (two parameters each).
const TOUCHED_PER_STATEMENT: usize = 100;

/// Which database the registry lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Lookup cache counters, for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    /// Lookups that reached the database.
    pub queries: u64,
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    queries: AtomicU64,
}

/// The device registry. Cheap to clone: clones share the pool, cache and counters.
#[derive(Clone)]
pub struct Registry {
    pub(crate) pool: AnyPool,
    /// Where readings are written: on SQLite one connection of its own, so its page
    /// cache stays warm from batch to batch (SQLite writes one transaction at a time
    /// anyway, and a connection drops its cache when another one wrote); on PostgreSQL
    /// the pool.
    writer: AnyPool,
    backend: Backend,
    /// `client_id` → the device, or `None` for "not registered" (so unknown scales
    /// sending every second do not reach the database either).
    cache: Cache<ClientId, Option<Arc<Device>>>,
    /// Counts the times a device may have stopped existing for this node: deleted here,
    /// changed on another node, or every device forgotten (see [`Registry::forgetting`]).
    forgotten: Arc<AtomicU64>,
    counters: Arc<Counters>,
    /// Signs simulator tickets (see [`crate::DeviceCredentials`]).
    ticket_key: Arc<[u8; 32]>,
    /// Readings' writers take turns here on SQLite (see [`crate::SqlReadings`]).
    write_turns: crate::readings::WriteTurns,
    /// Sessions' last second of readings, shared by every readings handle.
    tails: crate::brews::Tails,
    /// The readings journal, on SQLite (see [`crate::journal`]).
    journal: Option<Arc<crate::journal::Journal>>,
    /// The thread SQLite's readings are written from (see [`crate::writing`]).
    writing: Option<Arc<crate::writing::WritingThread>>,
    /// The thread passwords are hashed on.
    hasher: Arc<crate::accounts::Hasher>,
}

pub(crate) use wages_codec::clock::now_ms_i64 as now_ms;

/// How SQLite flushes a commit: `?synchronous=` on a `sqlite://` URL.
///
/// `full` (the default) syncs the write-ahead log on every commit, so a stored batch
/// survives a power cut. `normal` leaves that to the operating system: a killed process
/// still loses nothing, a power cut may lose the last seconds of commits. It is the
/// faster choice when the embedded broker already holds unacknowledged messages in
/// memory only (docs/benchmarks.md measures both).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Synchronous {
    #[default]
    Full,
    Normal,
}

/// A `synchronous` parameter other than `full` or `normal`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("synchronous={0} is not full or normal")]
pub struct UnknownSynchronous(pub String);

/// A `sqlite:` URL's `synchronous` parameter, checked.
pub fn sqlite_synchronous(url: &str) -> Result<Synchronous, UnknownSynchronous> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let mut chosen = Synchronous::default();
    for (key, value) in query.split('&').filter_map(|p| p.split_once('=')) {
        if key == "synchronous" {
            chosen = match value.to_ascii_lowercase().as_str() {
                "full" => Synchronous::Full,
                "normal" => Synchronous::Normal,
                _ => return Err(UnknownSynchronous(value.to_owned())),
            };
        }
    }
    Ok(chosen)
}

/// `sqlite://data/wages.db` → a URL for sqlx that creates the file (and its folder) if
/// missing, without our own `synchronous` parameter, which sqlx does not know.
fn sqlite_url(url: &str) -> Result<String, RegistryError> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path == ":memory:" {
        return Ok(url.to_owned());
    }
    if let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| RegistryError::Database(format!("cannot create the folder {}: {e}", dir.display())))?;
    }
    let mut params: Vec<&str> = query.split('&').filter(|p| !p.is_empty() && !p.starts_with("synchronous=")).collect();
    if !params.iter().any(|p| p.starts_with("mode=")) {
        params.push("mode=rwc");
    }
    Ok(format!("sqlite://{path}?{}", params.join("&")))
}

fn device(row: &AnyRow) -> Result<Device, RegistryError> {
    let client_id: String = row.try_get("client_id")?;
    Ok(Device {
        client_id: ClientId::parse(&client_id)
            .map_err(|e| RegistryError::Database(format!("stored client_id {client_id:?} {e}")))?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        online: row.try_get::<i64, _>("online")? != 0,
        last_seen_at: row.try_get("last_seen_at")?,
        firmware_version: row.try_get("firmware_version")?,
        site: row.try_get("site_id")?,
    })
}

const COLUMNS: &str = "client_id, name, created_at, updated_at, online, last_seen_at, firmware_version, site_id";

/// `%text%` for LIKE, with LIKE's own wildcards in `text` taken literally.
pub(crate) fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

fn pool_options() -> AnyPoolOptions {
    AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10))
}

/// Pages of its own the readings writer keeps in memory (SQLite's `cache_size`, in KiB
/// when negative). A fleet's open sessions each end on a page of their own in the readings'
/// key: 5,000 of them need about 20 MB, which SQLite's default of 2 MB would read back
/// from the file at every batch.
const WRITER_CACHE: &str = "PRAGMA cache_size = -65536";
/// Pages the write-ahead log grows to before it is copied into the database (SQLite's
/// default is 1,000): a batch of a large fleet alone dirties more than that, and each copy
/// writes a page once however often it changed since the last.
const WRITER_CHECKPOINT: &str = "PRAGMA wal_autocheckpoint = 8000";

/// A pool of `connections` to SQLite, each in WAL mode and flushing commits as `synchronous`
/// says; `writer`: the one that stores readings, with room for a fleet.
fn sqlite_pool(connections: u32, synchronous: Synchronous, writer: bool) -> AnyPoolOptions {
    let synchronous = match synchronous {
        Synchronous::Full => "PRAGMA synchronous = FULL",
        Synchronous::Normal => "PRAGMA synchronous = NORMAL",
    };
    // A connection to a local file has nothing to check before each use: the check is a
    // round trip to its thread.
    pool_options().max_connections(connections).test_before_acquire(false).after_connect(move |conn, _| {
        Box::pin(async move {
            sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
            sqlx::query("PRAGMA busy_timeout = 5000").execute(&mut *conn).await?;
            sqlx::query(synchronous).execute(&mut *conn).await?;
            if writer {
                sqlx::query(WRITER_CACHE).execute(&mut *conn).await?;
                sqlx::query(WRITER_CHECKPOINT).execute(&mut *conn).await?;
            }
            Ok(())
        })
    })
}

impl Registry {
    /// Connects to `url` (`sqlite://…` or `postgres://…`) and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Registry, RegistryError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") { Backend::Sqlite } else { Backend::Postgres };
        let mut synchronous = Synchronous::Full;
        let (pool, writer) = match backend {
            Backend::Sqlite => {
                synchronous = sqlite_synchronous(url).map_err(|e| RegistryError::Database(e.to_string()))?;
                let url = sqlite_url(url)?;
                // An in-memory database exists once per connection: keep just one.
                let in_memory = url.contains(":memory:");
                let pool = sqlite_pool(if in_memory { 1 } else { 4 }, synchronous, false).connect(&url).await?;
                let writer =
                    if in_memory { pool.clone() } else { sqlite_pool(1, synchronous, true).connect(&url).await? };
                (pool, writer)
            }
            Backend::Postgres => {
                let pool = pool_options().max_connections(8).connect(url).await?;
                (pool.clone(), pool)
            }
        };
        sqlx::migrate!("./migrations").run(&pool).await?;
        if backend == Backend::Sqlite && crate::readings::cluster_on_sqlite(&pool).await? {
            tracing::info!("readings are now kept in a table clustered on their key");
        }
        let journal = match backend {
            Backend::Sqlite => {
                Some(Arc::new(crate::journal::Journal::open(&pool, synchronous == Synchronous::Full).await?))
            }
            Backend::Postgres => None,
        };
        let writing = match backend {
            Backend::Sqlite => Some(Arc::new(crate::writing::WritingThread::start()?)),
            Backend::Postgres => None,
        };
        let filled = crate::Brews { pool: pool.clone() }.fill_peak_flows().await?;
        if filled > 0 {
            tracing::info!(shots = filled, "worked out the peak flow of shots stored before shots had their own table");
        }
        let cache = Cache::builder().max_capacity(CACHE_CAPACITY).time_to_live(CACHE_TTL).build();
        let mut ticket_key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut ticket_key);
        let registry = Registry {
            pool,
            backend,
            cache,
            forgotten: Arc::default(),
            counters: Arc::default(),
            ticket_key: Arc::new(ticket_key),
            writer,
            write_turns: Arc::default(),
            tails: crate::brews::tails(),
            journal,
            writing,
            hasher: Arc::new(crate::accounts::Hasher::start()?),
        };
        let left = registry.journal.as_ref().map_or(0, |j| j.rows());
        if left > 0 {
            tracing::info!(readings = left, "folding the readings journal left by the last run into the shots");
            registry.readings().fold_journal().await?;
        }
        Ok(registry)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Accounts and tokens, in the same database.
    pub fn accounts(&self) -> crate::Accounts {
        crate::Accounts { pool: self.pool.clone(), hasher: self.hasher.clone() }
    }

    /// Shots shared by a link and the audit list, in the same database.
    pub fn shares(&self) -> crate::Shares {
        crate::Shares { pool: self.pool.clone() }
    }

    /// Beans, scales' recipes and shots, in the same database.
    pub fn brews(&self) -> crate::Brews {
        crate::Brews { pool: self.pool.clone() }
    }

    /// Devices' MQTT passwords, in the same database.
    pub fn credentials(&self) -> crate::DeviceCredentials {
        crate::DeviceCredentials { pool: self.pool.clone(), ticket_key: self.ticket_key.clone() }
    }

    /// The readings table of the same database.
    pub fn readings(&self) -> crate::SqlReadings {
        crate::SqlReadings {
            pool: self.pool.clone(),
            writer: self.writer.clone(),
            backend: self.backend,
            write_turns: self.write_turns.clone(),
            tails: self.tails.clone(),
            journal: self.journal.clone(),
            writing: self.writing.as_ref().map(|w| w.handle()),
        }
    }

    /// Claims `role` for this process; `Err` says who holds it (see [`crate::Lease`]).
    pub async fn claim_lease(
        &self,
        role: &str,
        address: &str,
    ) -> Result<Result<crate::Lease, crate::HeldElsewhere>, RegistryError> {
        crate::Lease::claim(&self.pool, role, address).await
    }

    /// Whether the database answers, for `/readyz`.
    pub async fn ping(&self) -> Result<(), RegistryError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Devices ordered by `client_id`; `search` matches id or name, ignoring case.
    pub async fn list(&self, search: Option<&str>, limit: u32) -> Result<Vec<Device>, RegistryError> {
        self.list_in(search, limit, &crate::Sites::all()).await
    }

    /// Devices of `sites` ordered by `client_id`; `search` matches id or name, ignoring case.
    pub async fn list_in(
        &self,
        search: Option<&str>,
        limit: u32,
        sites: &crate::Sites,
    ) -> Result<Vec<Device>, RegistryError> {
        let limit = i64::from(limit.min(MAX_LIST));
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        let mut conditions = Vec::new();
        if search.is_some() {
            conditions.push("(lower(client_id) LIKE $1 ESCAPE '\\' OR lower(name) LIKE $1 ESCAPE '\\')".to_owned());
        }
        let first_site = if search.is_some() { 2 } else { 1 };
        let only = sites.limited().unwrap_or_default();
        if sites.limited().is_some() {
            let marks: Vec<String> = (0..only.len()).map(|i| format!("${}", first_site + i)).collect();
            conditions.push(format!("site_id IN ({})", marks.join(", ")));
        }
        let filter = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        let sql =
            format!("SELECT {COLUMNS} FROM devices {filter} ORDER BY client_id LIMIT ${}", first_site + only.len());
        let mut query = sqlx::query(&sql);
        if let Some(text) = search {
            query = query.bind(like_pattern(text));
        }
        for site in only {
            query = query.bind(site.clone());
        }
        let rows = query.bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(device).collect()
    }

    /// Looks a device up in the database, bypassing the cache.
    async fn fetch(&self, client_id: &ClientId) -> Result<Option<Device>, RegistryError> {
        self.counters.queries.fetch_add(1, Ordering::Relaxed);
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM devices WHERE client_id = $1"))
            .bind(client_id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(device).transpose()
    }

    /// The device with this `client_id`, from memory when it was looked up within the
    /// hour and has not changed since. Concurrent misses for one id share one query.
    pub async fn get(&self, client_id: &ClientId) -> Result<Option<Device>, RegistryError> {
        Ok(self.cached(client_id).await?.map(|device| (*device).clone()))
    }

    /// Whether a device with this `client_id` is registered, as [`Registry::get`] knows
    /// it: the ingest pipeline asks this for every message, so it copies nothing.
    pub async fn is_registered(&self, client_id: &ClientId) -> Result<bool, RegistryError> {
        Ok(self.cached(client_id).await?.is_some())
    }

    /// The device from the cache, or from the database on a miss.
    async fn cached(&self, client_id: &ClientId) -> Result<Option<Arc<Device>>, RegistryError> {
        if let Some(cached) = self.cache.get(client_id).await {
            self.counters.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(cached);
        }
        self.counters.misses.fetch_add(1, Ordering::Relaxed);
        let fetch = async { Ok(self.fetch(client_id).await?.map(Arc::new)) };
        self.cache.try_get_with(*client_id, fetch).await.map_err(|e: Arc<RegistryError>| (*e).clone())
    }

    /// The device, or [`RegistryError::NotFound`].
    pub async fn require(&self, client_id: &ClientId) -> Result<Device, RegistryError> {
        self.get(client_id).await?.ok_or_else(|| RegistryError::NotFound(client_id.to_string()))
    }

    /// Registers a device; a taken `client_id` is [`RegistryError::Duplicate`].
    pub async fn create(&self, new: &NewDevice) -> Result<Device, RegistryError> {
        let now = now_ms();
        let inserted = sqlx::query(
            "INSERT INTO devices (client_id, name, created_at, updated_at, online) VALUES ($1, $2, $3, $3, 0) \
             ON CONFLICT (client_id) DO NOTHING",
        )
        .bind(new.client_id.as_str())
        .bind(new.name.as_str())
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.changed(&new.client_id).await;
        if inserted.rows_affected() == 0 {
            return Err(RegistryError::Duplicate(new.client_id.to_string()));
        }
        Ok(Device {
            client_id: new.client_id,
            name: new.name.as_str().to_owned(),
            created_at: now,
            updated_at: now,
            online: false,
            last_seen_at: None,
            firmware_version: None,
            site: None,
        })
    }

    /// Registers a device and issues its MQTT password. Should issuing fail, the device
    /// stays registered and a password can be issued again (rotated) later.
    pub async fn register(&self, new: &NewDevice) -> Result<crate::Registered, RegistryError> {
        let device = self.create(new).await?;
        let credential = self.credentials().rotate(&device.client_id).await?;
        Ok(crate::Registered { device, credential })
    }

    /// Renames a device.
    pub async fn rename(&self, client_id: &ClientId, name: &DeviceName) -> Result<Device, RegistryError> {
        let updated = sqlx::query("UPDATE devices SET name = $1, updated_at = $2 WHERE client_id = $3")
            .bind(name.as_str())
            .bind(now_ms())
            .bind(client_id.as_str())
            .execute(&self.pool)
            .await?;
        self.updated(client_id, updated.rows_affected()).await
    }

    /// Records what a scale's status message says: online or not, its firmware when it
    /// names one (kept otherwise), and that it was seen now. The device as it is now.
    pub async fn set_presence(
        &self,
        client_id: &ClientId,
        status: &wages_codec::Status,
    ) -> Result<Device, RegistryError> {
        let updated = sqlx::query(
            "UPDATE devices SET online = $1, firmware_version = COALESCE($2, firmware_version), last_seen_at = $3 \
             WHERE client_id = $4",
        )
        .bind(i64::from(status.online))
        .bind(status.firmware.as_deref())
        .bind(now_ms())
        .bind(client_id.as_str())
        .execute(&self.pool)
        .await?;
        self.updated(client_id, updated.rows_affected()).await
    }

    /// After an UPDATE of one device: drops its cache entry, and reads it back (a 404 when
    /// no row matched).
    pub(crate) async fn updated(&self, client_id: &ClientId, rows: u64) -> Result<Device, RegistryError> {
        self.changed(client_id).await;
        if rows == 0 {
            return Err(RegistryError::NotFound(client_id.to_string()));
        }
        self.require(client_id).await
    }

    /// Notes that readings of `client_id` arrived at `at` (ms), unless it was seen later.
    pub async fn touch(&self, client_id: &ClientId, at: i64) -> Result<(), RegistryError> {
        self.touch_all(&[(*client_id, at)]).await
    }

    /// Notes when each scale's readings last arrived (ms), unless it was seen later: a
    /// whole fleet in one transaction, so thousands of scales cost one commit, not one
    /// each. This node's cached devices are brought up to date in place (a fleet's worth
    /// of cache misses would follow otherwise); other nodes are told, a notice per
    /// statement.
    pub async fn touch_all(&self, seen: &[(ClientId, i64)]) -> Result<(), RegistryError> {
        let mut tx = self.pool.begin().await?;
        for chunk in seen.chunks(TOUCHED_PER_STATEMENT) {
            let sql = format!(
                "UPDATE devices SET last_seen_at = v.column2 FROM (VALUES {}) AS v \
                 WHERE devices.client_id = v.column1 AND (devices.last_seen_at IS NULL OR devices.last_seen_at < v.column2)",
                crate::readings::placeholders(self.backend, chunk.len(), 2)
            );
            let mut query = sqlx::query(&sql);
            for (client_id, at) in chunk {
                query = query.bind(client_id.as_str()).bind(*at);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        for (client_id, at) in seen {
            if let Some(Some(device)) = self.cache.get(client_id).await
                && device.last_seen_at.is_none_or(|before| before < *at)
            {
                let device = Device { last_seen_at: Some(*at), ..(*device).clone() };
                self.cache.insert(*client_id, Some(Arc::new(device))).await;
            }
        }
        if self.backend == Backend::Postgres {
            for chunk in seen.chunks(TOUCHED_PER_STATEMENT) {
                let ids: Vec<&str> = chunk.iter().map(|(client_id, _)| client_id.as_str()).collect();
                self.notify_changed(&ids.join(",")).await;
            }
        }
        Ok(())
    }

    /// Deletes a device.
    pub async fn delete(&self, client_id: &ClientId) -> Result<(), RegistryError> {
        let deleted = sqlx::query("DELETE FROM devices WHERE client_id = $1")
            .bind(client_id.as_str())
            .execute(&self.pool)
            .await?;
        self.forgotten.fetch_add(1, Ordering::SeqCst);
        self.changed(client_id).await;
        if deleted.rows_affected() == 0 {
            return Err(RegistryError::NotFound(client_id.to_string()));
        }
        Ok(())
    }

    /// A device changed: drops it from this node's cache and, on PostgreSQL, tells the
    /// other nodes to (see [`DEVICES_CHANNEL`]). A lost notice costs freshness, not data:
    /// it is logged, and the entry still expires after [`CACHE_TTL`].
    async fn changed(&self, client_id: &ClientId) {
        self.cache.invalidate(client_id).await;
        if self.backend == Backend::Postgres {
            self.notify_changed(client_id.as_str()).await;
        }
    }

    /// Tells the other nodes that the devices `ids` (comma-separated) changed.
    async fn notify_changed(&self, ids: &str) {
        let notified =
            sqlx::query("SELECT pg_notify($1, $2)::text").bind(DEVICES_CHANNEL).bind(ids).execute(&self.pool).await;
        if let Err(e) = notified {
            tracing::warn!(error = %e, devices = ids, "could not tell the other nodes that devices changed");
        }
    }

    /// Another node changed this device: the next lookup reads it from the database.
    pub async fn forget(&self, client_id: &ClientId) {
        self.forgotten.fetch_add(1, Ordering::SeqCst);
        self.cache.invalidate(client_id).await;
    }

    /// Forgets every cached device (after notices may have been missed).
    pub fn forget_all(&self) {
        self.forgotten.fetch_add(1, Ordering::SeqCst);
        self.cache.invalidate_all();
    }

    /// A number that changes whenever a device may have stopped being registered as far
    /// as this node knows (a deletion, another node's change, a lost notice). Whoever
    /// keeps its own note of registered devices drops it when this changes, read before
    /// the lookups the note comes from.
    pub fn forgetting(&self) -> u64 {
        self.forgotten.load(Ordering::SeqCst)
    }

    /// Lookup counters since start.
    pub fn cache_stats(&self) -> CacheStats {
        CacheStats {
            hits: self.counters.hits.load(Ordering::Relaxed),
            misses: self.counters.misses.load(Ordering::Relaxed),
            queries: self.counters.queries.load(Ordering::Relaxed),
        }
    }

    /// Folds the readings journal, then closes the pools, waiting for connections in use.
    pub async fn close(&self) {
        if let Err(e) = self.readings().fold_journal().await {
            tracing::warn!(error = %e, "cannot fold the readings journal; the next start folds it");
        }
        // The writer's connection goes back to its pool, which waits for it.
        self.write_turns.lock().await.take();
        self.writer.close().await;
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_create_their_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sub/wages.db");
        let url = sqlite_url(&format!("sqlite://{}", path.display())).expect("valid");
        assert_eq!(url, format!("sqlite://{}?mode=rwc", path.display()));
        assert!(path.parent().is_some_and(std::path::Path::exists));
        assert_eq!(sqlite_url("sqlite::memory:").expect("valid"), "sqlite::memory:");
        assert_eq!(sqlite_url("sqlite://x.db?mode=ro").expect("valid"), "sqlite://x.db?mode=ro");
        assert_eq!(sqlite_url("sqlite://x.db?cache=shared").expect("valid"), "sqlite://x.db?cache=shared&mode=rwc");
        assert_eq!(sqlite_url("sqlite://x.db?synchronous=normal").expect("valid"), "sqlite://x.db?mode=rwc");
    }

    /// The pragma reaches every pooled connection: 2 = FULL, 1 = NORMAL.
    #[tokio::test]
    async fn synchronous_reaches_the_connections() {
        let dir = tempfile::tempdir().expect("temp dir");
        for (query, expected) in [("", 2), ("?synchronous=normal", 1)] {
            let url = format!("sqlite://{}/s{expected}.db{query}", dir.path().display());
            let registry = Registry::connect(&url).await.expect("registry");
            let level: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(&registry.pool).await.expect("pragma");
            assert_eq!(level, expected, "{url}");
        }
        let bad = Registry::connect(&format!("sqlite://{}/x.db?synchronous=off", dir.path().display())).await;
        assert!(matches!(bad, Err(RegistryError::Database(e)) if e.contains("synchronous=off")));
    }

    #[test]
    fn synchronous_is_full_unless_asked() {
        assert_eq!(sqlite_synchronous("sqlite://x.db"), Ok(Synchronous::Full));
        assert_eq!(sqlite_synchronous("sqlite://x.db?mode=rwc&synchronous=NORMAL"), Ok(Synchronous::Normal));
        assert_eq!(sqlite_synchronous("sqlite://x.db?synchronous=full"), Ok(Synchronous::Full));
        assert_eq!(sqlite_synchronous("sqlite://x.db?synchronous=off"), Err(UnknownSynchronous("off".into())));
    }

    #[test]
    fn like_patterns_take_wildcards_literally() {
        assert_eq!(like_pattern("Bar"), "%bar%");
        assert_eq!(like_pattern("50%_x\\"), "%50\\%\\_x\\\\%");
    }
}
