//! Readings in the registry's database (`WAGES_TIMESERIES=sql`): batched idempotent
//! inserts, and the sessions and readings the API and pages read back.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;

use sqlx::any::AnyRow;
use sqlx::pool::PoolConnection;
use sqlx::{AnyConnection, AnyPool, Connection as _, Row};
use wages_codec::{ClientId, Grams, Reading, SessionId, Timestamp};
use wages_sessions::Summary;

use crate::error::RegistryError;
use crate::store::Backend;

/// Rows per INSERT statement: 4 parameters each stays far below SQLite's and
/// PostgreSQL's parameter limits.
pub(crate) const ROWS_PER_STATEMENT: usize = 1000;
/// Most sessions one listing returns.
pub const MAX_SESSIONS: u32 = 100;
/// Most readings one session returns (over an hour at 10 Hz).
pub const MAX_READINGS: u32 = 50_000;

/// A shot read from a file, as [`SqlReadings::import_shot`] stores it.
#[derive(Clone, Copy)]
pub struct ShotImport<'a> {
    pub readings: &'a [Reading],
    pub series: &'a [crate::series::Series],
    /// Start and end (ms since the epoch) of a shot with no curve at all.
    pub span: Option<(u64, u64)>,
    pub details: &'a crate::ShotDetails,
}

/// The readings table. Cheap to clone.
#[derive(Clone)]
pub struct SqlReadings {
    pub(crate) pool: AnyPool,
    /// Where readings are written (see [`crate::Registry`]).
    pub(crate) writer: AnyPool,
    pub(crate) backend: Backend,
    /// SQLite has one writer at a time, and a writer that finds it busy sleeps and
    /// retries (up to 100 ms a sleep): compaction's back-to-back transactions starved
    /// ingestion's inserts that way (a batch waited 1.3 s). Taking turns on this fair
    /// lock instead, an insert waits for one session's compaction at most. The lock
    /// keeps the writer pool's one connection once taken (see [`Writer`]).
    pub(crate) write_turns: WriteTurns,
    /// Sessions' last second of readings, for their flows (see [`crate::brews`]).
    pub(crate) tails: crate::brews::Tails,
    /// Where thin batches go first, on SQLite (see [`crate::journal`]).
    pub(crate) journal: Option<Arc<crate::journal::Journal>>,
    /// Where readings are written from, on SQLite (see [`crate::writing`]).
    pub(crate) writing: Option<tokio::runtime::Handle>,
}

/// The turn to write on SQLite, holding the writer's connection between turns.
pub(crate) type WriteTurns = Arc<tokio::sync::Mutex<Option<PoolConnection<sqlx::Any>>>>;

/// A connection to write readings on, for one turn. On SQLite it is the writer pool's
/// only connection, taken from the pool once and kept in the turn: every statement run
/// on the pool itself takes the connection out and gives it back through a task of its
/// own, and among a fleet's thousands of connection tasks that task waited milliseconds
/// for its turn on the runtime, a wait each statement of a batch paid again. On
/// PostgreSQL it is any of the pool's connections.
pub(crate) enum Writer<'a> {
    Held(tokio::sync::MutexGuard<'a, Option<PoolConnection<sqlx::Any>>>),
    Pooled(PoolConnection<sqlx::Any>),
}

impl std::ops::Deref for Writer<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            #[allow(clippy::expect_used)] // `SqlReadings::writer` puts it there before it returns.
            Writer::Held(held) => held.as_ref().expect("the writer's connection is taken with the turn"),
            Writer::Pooled(conn) => conn,
        }
    }
}

impl std::ops::DerefMut for Writer<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            #[allow(clippy::expect_used)] // `SqlReadings::writer` puts it there before it returns.
            Writer::Held(held) => held.as_mut().expect("the writer's connection is taken with the turn"),
            Writer::Pooled(conn) => conn,
        }
    }
}

pub(crate) fn reading(row: &AnyRow) -> Result<Reading, RegistryError> {
    let bad = |what: &str, e: &dyn std::fmt::Display| RegistryError::Database(format!("stored {what} is invalid: {e}"));
    let client_id: String = row.try_get("client_id")?;
    let session_id: String = row.try_get("session_id")?;
    let tstamp: i64 = row.try_get("tstamp")?;
    let value: f64 = row.try_get("value")?;
    Ok(Reading::new(
        ClientId::parse(&client_id).map_err(|e| bad("client_id", &e))?,
        SessionId::parse(&session_id).map_err(|e| bad("session_id", &e))?,
        Grams::new(value).map_err(|e| bad("value", &e))?,
        u64::try_from(tstamp)
            .map_err(|e| bad("tstamp", &e))
            .and_then(|t| Timestamp::from_millis(t).map_err(|e| bad("tstamp", &e)))?,
    ))
}

/// On SQLite, readings live in a table clustered on their key (`WITHOUT ROWID`): one
/// B-tree to write per reading instead of a table and its key's index, which takes a
/// fifth off each batch's insert. Migrations are portable SQL, so a database without it
/// is rebuilt so here, once, in one transaction. Returns whether it was.
pub(crate) async fn cluster_on_sqlite(pool: &AnyPool) -> Result<bool, RegistryError> {
    let sql: Option<String> =
        sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'readings'")
            .fetch_optional(pool)
            .await?;
    if sql.is_none_or(|sql| sql.to_ascii_uppercase().contains("WITHOUT ROWID")) {
        return Ok(false);
    }
    tracing::info!("clustering the readings table on its key, once (about 3 s per million readings)");
    let mut tx = pool.begin().await?;
    for step in [
        "CREATE TABLE readings_clustered (client_id TEXT NOT NULL, session_id TEXT NOT NULL, tstamp BIGINT NOT NULL, \
           value DOUBLE PRECISION NOT NULL, PRIMARY KEY (client_id, session_id, tstamp)) WITHOUT ROWID",
        "INSERT INTO readings_clustered (client_id, session_id, tstamp, value) \
           SELECT client_id, session_id, tstamp, value FROM readings",
        "DROP TABLE readings",
        "ALTER TABLE readings_clustered RENAME TO readings",
    ] {
        sqlx::query(step).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// `rows` parenthesised rows of `columns` parameters each, for a VALUES list.
pub(crate) fn placeholders(backend: Backend, rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 4);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            match backend {
                // Anonymous parameters: sqlx looks up each numbered one by name in
                // SQLite, a scan per parameter that took a tenth of the ingest's CPU.
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => {
                    let _ = write!(sql, "${}", row * columns + column + 1);
                }
            }
        }
        sql.push(')');
    }
    sql
}

/// `query` with the parameters of [`SqlReadings::insert_sql`] for `chunk`.
pub(crate) fn bind_rows<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    chunk: &'q [Reading],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for r in chunk {
        query = query
            .bind(r.client_id.as_str())
            .bind(r.session_id.as_str())
            .bind(millis(r.tstamp.millis()))
            .bind(r.value.get());
    }
    query
}

pub(crate) fn millis(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

impl SqlReadings {
    /// This writer's turn on SQLite; nothing to wait for on PostgreSQL.
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, Option<PoolConnection<sqlx::Any>>>> {
        match self.backend {
            Backend::Sqlite => Some(self.write_turns.lock().await),
            Backend::Postgres => None,
        }
    }

    /// This writer's turn with a connection to write on (see [`Writer`]).
    pub(crate) async fn writer(&self) -> Result<Writer<'_>, RegistryError> {
        match self.write_turn().await {
            Some(mut held) => {
                if held.is_none() {
                    *held = Some(self.writer.acquire().await?);
                }
                Ok(Writer::Held(held))
            }
            None => Ok(Writer::Pooled(self.writer.acquire().await?)),
        }
    }

    /// Stores `readings`; readings already stored (same device, session and timestamp)
    /// are skipped. When this returns `Ok`, every reading is durably stored. A thin batch
    /// on SQLite goes to the journal (see [`crate::journal`]) and is folded into its
    /// shots within a fold (every few seconds); any other is stored and folded in one
    /// transaction. Returns how many readings were new, as far as the store can tell
    /// (the journal counts all).
    pub async fn insert(&self, readings: &[Reading]) -> Result<u64, RegistryError> {
        match &self.writing {
            // SQLite's writes go through their own thread (see [`crate::writing`]).
            Some(writing) => {
                let this = self.clone();
                let batch = readings.to_vec();
                crate::writing::run(writing, async move { this.insert_here(&batch).await }).await
            }
            None => self.insert_here(readings).await,
        }
    }

    /// [`SqlReadings::insert`], on the thread it runs on.
    async fn insert_here(&self, readings: &[Reading]) -> Result<u64, RegistryError> {
        if let Some(journal) = &self.journal {
            journal.room().await;
        }
        let mut conn = self.writer().await?;
        if let Some(journal) = self.journal.as_ref().filter(|j| j.takes(readings)) {
            // The measures first: once the append returns, the readings are stored.
            crate::shot_series::insert_measures(&mut conn, self.backend, readings).await?;
            self.append(&mut conn, journal, readings).await?;
            return Ok(readings.len() as u64);
        }
        self.store(&mut conn, readings).await
    }

    /// Stores `readings` and the measures they carry in one transaction on `conn` (the
    /// caller's turn), folding the new ones into their shots' summaries; returns how many
    /// were new.
    pub(crate) async fn store(&self, conn: &mut AnyConnection, readings: &[Reading]) -> Result<u64, RegistryError> {
        let mut attempts = 0;
        loop {
            // Nearly always all readings are new, which the inserted rows' count says
            // without reading them back; only when some were known (a redelivery) is the
            // transaction begun again, with the insert returning the new rows.
            let mut tx = conn.begin().await?;
            let new = if self.insert_all(&mut tx, readings).await? {
                Cow::Borrowed(readings)
            } else {
                tx.rollback().await?;
                tx = conn.begin().await?;
                Cow::Owned(self.insert_returning(&mut tx, readings).await?)
            };
            if self.recorded(&mut tx, &new, &mut attempts).await? {
                crate::shot_series::insert_measures(&mut tx, self.backend, readings).await?;
                tx.commit().await?;
                return Ok(new.len() as u64);
            }
        }
    }

    /// Folds `new` into their shots (see [`crate::brews::record`]); `false` when a kept
    /// tail was out of date and the transaction must begin again (it rolls back as it
    /// drops). Past a few attempts, someone else keeps writing the same sessions.
    async fn recorded(
        &self,
        tx: &mut AnyConnection,
        new: &[Reading],
        attempts: &mut u32,
    ) -> Result<bool, RegistryError> {
        use crate::brews::Recorded;
        *attempts += 1;
        match crate::brews::record(tx, self.backend, new, &self.tails).await? {
            Recorded::Done => Ok(true),
            Recorded::StaleTails if *attempts < 4 => Ok(false),
            Recorded::StaleTails => {
                Err(RegistryError::Database("the readings of these sessions keep changing under this batch".into()))
            }
        }
    }

    /// Stores a shot read from a file as a new session of `client_id`: its weight
    /// readings, its other series, its summary and what was brewed (its beans already in
    /// the library), in one transaction, as imported by `who`. A session the scale already
    /// has is refused; a shot without weight readings (a machine without a scale) spans
    /// its series' times, one without any curve its `span`.
    pub async fn import_shot(
        &self,
        client_id: &ClientId,
        session_id: &SessionId,
        shot: ShotImport<'_>,
        who: &str,
    ) -> Result<(), RegistryError> {
        let ShotImport { readings, series, span, details } = shot;
        let mut times: Vec<u64> = readings.iter().map(|r| r.tstamp.millis()).collect();
        for s in series {
            times.extend(s.points.iter().map(|p| p.0));
        }
        if let (true, Some((start, end))) = (times.is_empty(), span) {
            times.extend([start, end]);
        }
        let (Some(&start), Some(&end)) = (times.iter().min(), times.iter().max()) else {
            return Err(RegistryError::invalid("file", "must have at least one sample"));
        };
        let mut conn = self.writer().await?;
        let mut attempts = 0;
        let mut tx = loop {
            let mut tx = self.begin_writing(&mut conn).await?;
            let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM shots WHERE client_id = $1 AND session_id = $2")
                .bind(client_id.as_str())
                .bind(session_id.as_str())
                .fetch_one(&mut *tx)
                .await?;
            if taken > 0 || !self.insert_all(&mut tx, readings).await? {
                return Err(RegistryError::Conflict(format!(
                    "scale {client_id} already has a session {session_id} (this file, imported before, or another \
                     shot): import it under another session_id"
                )));
            }
            if readings.is_empty() {
                crate::brews::bare_shot(&mut tx, self.backend, client_id, session_id, start, end).await?;
                break tx;
            }
            if self.recorded(&mut tx, readings, &mut attempts).await? {
                break tx;
            }
        };
        crate::shot_series::insert(&mut tx, self, client_id, session_id, series).await?;
        let brewed_by = details.brewed_by.as_deref().unwrap_or(who);
        crate::brews::write_details(&mut tx, client_id, session_id, details, who, Some(brewed_by)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A transaction that writes after it reads. On SQLite it holds the write lock from
    /// its start (`BEGIN IMMEDIATE`): one begun as a reader fails at once when it comes to
    /// write if another connection (presence, the beans library) wrote in between.
    async fn begin_writing<'c>(
        &self,
        conn: &'c mut AnyConnection,
    ) -> Result<sqlx::Transaction<'c, sqlx::Any>, RegistryError> {
        Ok(match self.backend {
            Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => conn.begin().await?,
        })
    }

    /// Inserts `readings` in the transaction open on `conn`; `false` when some were stored
    /// before, and the transaction is to be begun again with [`SqlReadings::insert_returning`].
    async fn insert_all(&self, conn: &mut AnyConnection, readings: &[Reading]) -> Result<bool, RegistryError> {
        let mut inserted = 0;
        for chunk in readings.chunks(ROWS_PER_STATEMENT) {
            let sql = self.insert_sql(chunk.len(), "");
            inserted += bind_rows(sqlx::query(&sql), chunk).execute(&mut *conn).await?.rows_affected();
        }
        Ok(usize::try_from(inserted).ok() == Some(readings.len()))
    }

    /// Inserts `readings` in the transaction open on `conn`, returning those not stored before.
    async fn insert_returning(
        &self,
        conn: &mut AnyConnection,
        readings: &[Reading],
    ) -> Result<Vec<Reading>, RegistryError> {
        let mut new = Vec::with_capacity(readings.len());
        for chunk in readings.chunks(ROWS_PER_STATEMENT) {
            let sql = self.insert_sql(chunk.len(), " RETURNING client_id, session_id, tstamp, value");
            for row in bind_rows(sqlx::query(&sql), chunk).fetch_all(&mut *conn).await? {
                new.push(reading(&row)?);
            }
        }
        Ok(new)
    }

    /// An INSERT of `rows` readings that skips those already stored, ending with `returning`.
    /// The common one (a full chunk, nothing returned) is written once per backend.
    fn insert_sql(&self, rows: usize, returning: &str) -> Cow<'static, str> {
        static FULL_CHUNK: [std::sync::OnceLock<String>; 2] = [std::sync::OnceLock::new(), std::sync::OnceLock::new()];
        let write = || {
            format!(
                "INSERT INTO readings (client_id, session_id, tstamp, value) VALUES {} ON CONFLICT DO NOTHING{returning}",
                placeholders(self.backend, rows, 4)
            )
        };
        if rows != ROWS_PER_STATEMENT || !returning.is_empty() {
            return Cow::Owned(write());
        }
        let backend = match self.backend {
            Backend::Sqlite => 0,
            Backend::Postgres => 1,
        };
        Cow::Borrowed(FULL_CHUNK[backend].get_or_init(write))
    }

    /// Readings in the journal, not yet folded into their shots (0 on PostgreSQL).
    pub fn journaled(&self) -> u64 {
        self.journal.as_ref().map_or(0, |j| j.rows())
    }

    /// Beans, recipes and shots, in the same database.
    pub fn brews(&self) -> crate::Brews {
        crate::Brews { pool: self.pool.clone() }
    }

    /// How many readings of the device are stored, over all its sessions.
    pub async fn count(&self, client_id: &ClientId) -> Result<u64, RegistryError> {
        // Another registry on the same file may have journaled readings: always look.
        let sql = if self.journal.is_some() {
            "SELECT (SELECT COUNT(*) FROM readings WHERE client_id = $1) \
               + (SELECT COUNT(*) FROM readings_journal WHERE client_id = $1)"
        } else {
            "SELECT COUNT(*) FROM readings WHERE client_id = $1"
        };
        let n: i64 = sqlx::query_scalar(sql).bind(client_id.as_str()).fetch_one(&self.pool).await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// One session's readings in time order (at most [`MAX_READINGS`]); for a compacted
    /// session, one per bucket (its mean, at its start) beside any that came since.
    pub async fn readings(&self, client_id: &ClientId, session_id: &SessionId) -> Result<Vec<Reading>, RegistryError> {
        let sql = if self.journal.is_some() {
            // UNION, not UNION ALL: a fold stores rows before it deletes them here.
            "SELECT client_id, session_id, tstamp, value FROM readings WHERE client_id = $1 AND session_id = $2 \
             UNION SELECT client_id, session_id, tstamp, value FROM readings_journal \
               WHERE client_id = $1 AND session_id = $2 ORDER BY tstamp LIMIT $3"
        } else {
            "SELECT client_id, session_id, tstamp, value FROM readings \
             WHERE client_id = $1 AND session_id = $2 ORDER BY tstamp LIMIT $3"
        };
        let rows = sqlx::query(sql)
            .bind(client_id.as_str())
            .bind(session_id.as_str())
            .bind(i64::from(MAX_READINGS))
            .fetch_all(&self.pool)
            .await?;
        let mut readings = rows.iter().map(reading).collect::<Result<Vec<_>, _>>()?;
        let buckets = self.buckets(client_id, session_id).await?;
        if !buckets.is_empty() {
            let bad = |e: &dyn std::fmt::Display| RegistryError::Database(format!("stored bucket is invalid: {e}"));
            for b in buckets {
                readings.push(Reading::new(
                    *client_id,
                    *session_id,
                    Grams::new(b.mean).map_err(|e| bad(&e))?,
                    Timestamp::from_millis(b.start).map_err(|e| bad(&e))?,
                ));
            }
            readings.sort_by_key(|r| r.tstamp);
            readings.truncate(MAX_READINGS as usize);
        }
        Ok(readings)
    }

    /// One session's summary, from its shot's row (kept as its readings are stored, so
    /// one row is read, not every reading); `None` if there is no such session.
    pub async fn session(
        &self,
        client_id: &ClientId,
        session_id: &SessionId,
        now_ms: u64,
    ) -> Result<Option<Summary>, RegistryError> {
        Ok(self.brews().shot(client_id, session_id, now_ms).await?.map(|shot| shot.summary))
    }
}
