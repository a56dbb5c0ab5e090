//! The readings journal, on SQLite: where thin batches are stored first.
//!
//! A batch from a fleet holds about one reading of each of thousands of shots. Stored
//! straight into the readings table (clustered on its key) and the shots table, it
//! writes a page per shot, and SQLite's write-ahead log takes whole pages: at 5,000
//! scales the commit wrote megabytes for kilobytes of readings. Such a batch is appended
//! to this journal instead, a table in arrival order where a batch fills a few pages,
//! and committed there: the readings are stored when that returns. About once a second
//! the journal is folded into the readings and shots tables, many readings of each shot
//! at a time, in slices short enough that appends wait little for them.
//!
//! While the journal holds rows, every batch joins it, so each session's readings are
//! folded in the order they came. Reads of a session's readings see the journal too; a
//! shot's summary follows within a fold. A restart folds what a crash left.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sqlx::{AnyPool, Row};
use wages_codec::{ClientId, Reading, SessionId};

use crate::error::RegistryError;
use crate::readings::{SqlReadings, placeholders};

/// How often the journal is folded while it holds rows.
pub const FOLD_EVERY: Duration = Duration::from_secs(1);
/// Readings folded in one transaction (whole sessions, so about 25 of a fleet's shots):
/// an append waits for at most one such slice, a few milliseconds.
const SLICE_ROWS: usize = 250;
/// Rows read from the journal per fold: a backlog is folded a second's worth at a time.
const FOLD_ROWS: i64 = 100_000;
/// A batch goes to the journal when it holds more than this many sessions…
const THIN_SESSIONS: usize = 16;
/// …with fewer than this many readings each on average.
const THIN_READINGS_PER_SESSION: usize = 8;

const CREATE: &str = "CREATE TABLE IF NOT EXISTS readings_journal (seq INTEGER PRIMARY KEY, \
    client_id TEXT NOT NULL, session_id TEXT NOT NULL, tstamp BIGINT NOT NULL, value DOUBLE PRECISION NOT NULL)";

/// The journal's state in memory, shared by every readings handle of one registry.
#[derive(Default)]
pub(crate) struct Journal {
    /// Rows in the table: appended and not yet deleted by a fold.
    rows: AtomicU64,
    /// Whether the folding task runs.
    folding: AtomicBool,
    /// Held by the fold under way: one at a time (the task's, a stop's, compaction's).
    fold_turn: tokio::sync::Mutex<()>,
    /// Rows were appended.
    appended: tokio::sync::Notify,
}

/// Whether `readings` make a thin batch: many sessions, few readings of each.
pub(crate) fn is_thin(readings: &[Reading]) -> bool {
    if readings.len() <= THIN_SESSIONS {
        return false;
    }
    let mut sessions = std::collections::HashSet::new();
    for r in readings {
        sessions.insert((r.client_id, r.session_id));
    }
    sessions.len() > THIN_SESSIONS && readings.len() < sessions.len() * THIN_READINGS_PER_SESSION
}

impl Journal {
    /// Creates the table if missing and counts what a crash left in it.
    pub(crate) async fn open(pool: &AnyPool) -> Result<Journal, RegistryError> {
        sqlx::query(CREATE).execute(pool).await?;
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM readings_journal").fetch_one(pool).await?;
        let journal = Journal::default();
        journal.rows.store(u64::try_from(rows).unwrap_or(0), Ordering::SeqCst);
        Ok(journal)
    }

    /// Rows waiting to be folded.
    pub(crate) fn rows(&self) -> u64 {
        self.rows.load(Ordering::SeqCst)
    }

    /// Whether `readings` go to the journal: while it holds rows every batch does.
    pub(crate) fn takes(&self, readings: &[Reading]) -> bool {
        self.rows() > 0 || is_thin(readings)
    }
}

impl SqlReadings {
    /// Appends `readings` to the journal in one transaction (the caller holds the write
    /// turn), and makes sure they will be folded.
    pub(crate) async fn append(&self, journal: &Arc<Journal>, readings: &[Reading]) -> Result<(), RegistryError> {
        let mut tx = self.writer.begin().await?;
        for chunk in readings.chunks(crate::readings::ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO readings_journal (client_id, session_id, tstamp, value) VALUES {}",
                placeholders(self.backend, chunk.len(), 4)
            );
            crate::readings::bind_rows(sqlx::query(&sql), chunk).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        journal.rows.fetch_add(readings.len() as u64, Ordering::SeqCst);
        journal.appended.notify_one();
        if !journal.folding.swap(true, Ordering::SeqCst) {
            tokio::spawn(self.clone().fold_forever(journal.clone()));
        }
        Ok(())
    }

    /// Folds the journal once a second while it holds rows, until the database closes.
    async fn fold_forever(self, journal: Arc<Journal>) {
        loop {
            if journal.rows() == 0 {
                journal.appended.notified().await;
            }
            tokio::time::sleep(FOLD_EVERY).await;
            if self.writer.is_closed() {
                return;
            }
            if let Err(e) = self.fold_journal().await {
                tracing::warn!(error = %e, "cannot fold the readings journal yet; its readings stay stored there");
            }
        }
    }

    /// Folds every row the journal holds now into the readings and shots tables, and
    /// empties it of them. Nothing to do on PostgreSQL, which has no journal.
    pub async fn fold_journal(&self) -> Result<(), RegistryError> {
        let Some(journal) = self.journal.clone() else { return Ok(()) };
        let _fold = journal.fold_turn.lock().await;
        while journal.rows() > 0 {
            self.fold_some(&journal).await?;
        }
        Ok(())
    }

    /// Folds the journal's first rows (up to [`FOLD_ROWS`]), slice by slice.
    async fn fold_some(&self, journal: &Journal) -> Result<(), RegistryError> {
        let rows =
            sqlx::query("SELECT seq, client_id, session_id, tstamp, value FROM readings_journal ORDER BY seq LIMIT $1")
                .bind(FOLD_ROWS)
                .fetch_all(&self.pool)
                .await?;
        let Some(last) = rows.last() else {
            journal.rows.store(0, Ordering::SeqCst);
            return Ok(());
        };
        let upto: i64 = last.try_get("seq")?;
        // Each session's readings in the order they came, sessions in order of their first.
        let mut order: Vec<(ClientId, SessionId)> = Vec::new();
        let mut sessions: HashMap<(ClientId, SessionId), Vec<Reading>> = HashMap::new();
        for row in &rows {
            let r = crate::readings::reading(row)?;
            sessions
                .entry((r.client_id, r.session_id))
                .or_insert_with(|| {
                    order.push((r.client_id, r.session_id));
                    Vec::new()
                })
                .push(r);
        }
        let mut slice = Vec::with_capacity(SLICE_ROWS);
        for key in order {
            slice.extend(sessions.remove(&key).unwrap_or_default());
            if slice.len() >= SLICE_ROWS {
                let _turn = self.write_turn().await;
                self.store(&slice).await?;
                slice.clear();
            }
        }
        let _turn = self.write_turn().await;
        if !slice.is_empty() {
            self.store(&slice).await?;
        }
        sqlx::query("DELETE FROM readings_journal WHERE seq <= $1").bind(upto).execute(&self.writer).await?;
        journal.rows.fetch_sub(rows.len() as u64, Ordering::SeqCst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wages_codec::{Grams, Timestamp};

    fn reading(scale: usize, session: usize, t: u64) -> Reading {
        Reading {
            client_id: ClientId::parse(&format!("scale-{scale}")).expect("id"),
            session_id: SessionId::parse(&format!("s{session}")).expect("id"),
            value: Grams::new(1.0).expect("grams"),
            tstamp: Timestamp::from_millis(t).expect("time"),
        }
    }

    #[test]
    fn a_batch_of_many_sessions_with_a_reading_or_two_each_is_thin() {
        let fleet: Vec<_> = (0..100).map(|s| reading(s, 0, 1)).collect();
        assert!(is_thin(&fleet));
        let few_scales: Vec<_> = (0..2000).map(|i| reading(i % 4, 0, i as u64)).collect();
        assert!(!is_thin(&few_scales), "four sessions");
        let deep: Vec<_> = (0..2000).map(|i| reading(i % 100, 0, i as u64)).collect();
        assert!(!is_thin(&deep), "twenty readings of each of 100 sessions");
        let small: Vec<_> = (0..10).map(|s| reading(s, 0, 1)).collect();
        assert!(!is_thin(&small));
    }
}
