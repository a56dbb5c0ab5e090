//! The readings journal, on SQLite: where thin batches are stored first.
//!
//! A batch from a fleet holds about one reading of each of thousands of shots. Stored
//! straight into the readings table (clustered on its key) and the shots table, it
//! writes a page per shot, and SQLite's write-ahead log takes whole pages: at 5,000
//! scales the commit wrote megabytes for kilobytes of readings. Such a batch is appended
//! to this journal instead, a table in arrival order where a batch fills a few pages,
//! and committed there: the readings are stored when that returns. Every few seconds
//! the journal is folded into the readings and shots tables, many readings of each shot
//! at a time (each shot's page is then written once for fifty readings, not for one),
//! in slices short enough that appends wait little for them.
//!
//! The fold works from this process's copy of what it appended, kept in memory until
//! folded: reading a fleet's rows back through the pool cost seconds under load. Rows a
//! crash left (or another process appended) are read from the table, at the next start
//! or when the database closes.
//!
//! While the journal holds rows, every batch joins it, so each session's readings are
//! folded in the order they came. Reads of a session's readings see the journal too; a
//! shot's summary follows within a fold. When a fleet sends faster than folding goes,
//! appends wait once the journal holds [`JOURNAL_MOST`] rows, and the scales' PUBACKs
//! with them.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sqlx::{AnyPool, Row};
use wages_codec::{ClientId, Measures, Reading, SessionId};

use crate::error::RegistryError;
use crate::readings::{SqlReadings, placeholders};

/// How long readings gather in the journal before a fold, unless a backlog waits: about
/// fifty readings of each shot of a fleet.
pub const FOLD_EVERY: Duration = Duration::from_secs(5);
/// Readings folded in one transaction (whole sessions: about 100 of a fleet's shots).
/// An append waits for at most one such slice, about 10 ms of SQLite's work; each slice
/// costs a handful of round trips to SQLite's thread, so fewer, larger slices fold faster.
const SLICE_ROWS: usize = 5_000;
/// Rows folded at a time: a backlog is folded this many at once, without waiting.
const FOLD_ROWS: usize = 200_000;
/// Rows the journal holds at most before appends wait for the fold: twelve seconds of
/// 5,000 scales at 10 Hz (and about 90 MB of memory for this process's copy).
const JOURNAL_MOST: u64 = 3 * FOLD_ROWS as u64;
/// Rows appended in one statement: 4 parameters each stays below SQLite's 32,766.
const APPEND_ROWS: usize = 8_000;
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
    /// What this process appended and has not folded yet, in the order it came.
    unfolded: std::sync::Mutex<Unfolded>,
    /// Whether the folding task runs.
    folding: AtomicBool,
    /// Held by the fold under way: one at a time (the task's, a stop's, compaction's).
    fold_turn: tokio::sync::Mutex<()>,
    /// Rows were appended.
    appended: tokio::sync::Notify,
    /// Rows were folded.
    folded: tokio::sync::Notify,
    /// Whether the writer flushes every commit (`synchronous=full`).
    full_sync: bool,
}

/// Appended readings not folded yet, and their rows' `seq`s, as ranges.
#[derive(Default)]
struct Unfolded {
    readings: Vec<Reading>,
    seqs: Vec<(i64, i64)>,
}

impl Unfolded {
    fn push(&mut self, readings: &[Reading], seqs: (i64, i64)) {
        // Their measures are stored already, beside the append: the fold has the weights to do.
        self.readings.extend(readings.iter().map(|r| Reading { measures: Measures::NONE, ..*r }));
        match self.seqs.last_mut() {
            Some(last) if last.1 + 1 == seqs.0 => last.1 = seqs.1,
            _ => self.seqs.push(seqs),
        }
    }

    /// Puts `earlier` (taken for a fold that failed) back in front.
    fn restore(&mut self, mut earlier: Unfolded) {
        earlier.readings.append(&mut self.readings);
        earlier.seqs.append(&mut self.seqs);
        *self = earlier;
    }
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
    /// Creates the table if missing and counts what a crash left in it; `full_sync`: the
    /// writer flushes every commit.
    pub(crate) async fn open(pool: &AnyPool, full_sync: bool) -> Result<Journal, RegistryError> {
        sqlx::query(CREATE).execute(pool).await?;
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM readings_journal").fetch_one(pool).await?;
        let journal = Journal { full_sync, ..Journal::default() };
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

    /// Waits while the journal holds [`JOURNAL_MOST`] rows or more, for the fold to catch
    /// up: a fleet that sends faster than folding goes is pushed back on, through its
    /// PUBACKs, instead of growing the journal without end.
    pub(crate) async fn room(&self) {
        loop {
            let folded = self.folded.notified();
            tokio::pin!(folded);
            folded.as_mut().enable();
            if self.rows() < JOURNAL_MOST {
                return;
            }
            folded.await;
        }
    }

    /// `n` rows are gone from the table.
    fn forget(&self, n: u64) {
        let _ = self.rows.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |rows| Some(rows.saturating_sub(n)));
        self.folded.notify_waiters();
    }

    fn unfolded(&self) -> std::sync::MutexGuard<'_, Unfolded> {
        self.unfolded.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes up to [`FOLD_ROWS`] of what this process appended, oldest first (whole
    /// appends, so their rows' ranges go with them).
    fn take_unfolded(&self) -> Unfolded {
        let mut unfolded = self.unfolded();
        if unfolded.readings.len() <= FOLD_ROWS {
            return std::mem::take(&mut *unfolded);
        }
        // A backlog: the ranges are in the readings' order, one row each.
        let mut taken = Unfolded::default();
        let mut count = 0;
        while let Some(&(first, last)) = unfolded.seqs.first() {
            let n = usize::try_from(last - first + 1).unwrap_or(usize::MAX);
            if count > 0 && count + n > FOLD_ROWS {
                break;
            }
            taken.seqs.push(unfolded.seqs.remove(0));
            count += n;
        }
        let count = count.min(unfolded.readings.len());
        taken.readings = unfolded.readings.drain(..count).collect();
        taken
    }
}

impl SqlReadings {
    /// Appends `readings` to the journal on `conn` (the caller's turn), and makes sure
    /// they will be folded. Each statement of up to [`APPEND_ROWS`] rows commits on its
    /// own: a batch of a fleet is one statement, one round trip to SQLite's thread, which
    /// among thousands of connections' tasks is what an append waits for most.
    pub(crate) async fn append(
        &self,
        conn: &mut sqlx::AnyConnection,
        journal: &Arc<Journal>,
        readings: &[Reading],
    ) -> Result<(), RegistryError> {
        for chunk in readings.chunks(APPEND_ROWS) {
            // sqlx's `Any` driver does not pass SQLite's last rowid on: the statement after
            // the insert reads it, in the same round trip.
            let sql = format!(
                "INSERT INTO readings_journal (client_id, session_id, tstamp, value) VALUES {}; \
                 SELECT last_insert_rowid()",
                placeholders(self.backend, chunk.len(), 4)
            );
            let rows = crate::readings::bind_rows(sqlx::query(&sql), chunk).fetch_all(&mut *conn).await?;
            // One writer holds the database while the statement runs: its rows have the
            // `seq`s up to the last one inserted, one after the other.
            let last: i64 = rows
                .last()
                .ok_or_else(|| RegistryError::Database("SQLite gave no rowid for the journal's rows".into()))?
                .try_get(0)?;
            let first = last - i64::try_from(chunk.len()).unwrap_or(i64::MAX) + 1;
            journal.unfolded().push(chunk, (first, last));
            journal.rows.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        }
        journal.appended.notify_one();
        if !journal.folding.swap(true, Ordering::SeqCst) {
            tokio::spawn(self.clone().fold_forever(journal.clone()));
        }
        Ok(())
    }

    /// Folds what this process appended while the journal holds rows, until the
    /// database closes: what gathered over [`FOLD_EVERY`] at a time, so each shot's
    /// readings are folded many at once, or at once while a backlog of [`FOLD_ROWS`]
    /// waits.
    async fn fold_forever(self, journal: Arc<Journal>) {
        loop {
            if journal.rows() == 0 {
                journal.appended.notified().await;
            }
            if journal.unfolded().readings.len() < FOLD_ROWS {
                tokio::time::sleep(FOLD_EVERY).await;
            }
            if self.writer.is_closed() {
                return;
            }
            let _fold = journal.fold_turn.lock().await;
            if let Err(e) = self.fold_unfolded(&journal, true).await {
                tracing::warn!(error = %e, "cannot fold the readings journal yet; its readings stay stored there");
                tokio::time::sleep(FOLD_EVERY).await;
            }
        }
    }

    /// Folds every row the journal holds now into the readings and shots tables, and
    /// empties it of them: this process's from memory, any other's from the table.
    /// Nothing to do on PostgreSQL, which has no journal.
    ///
    /// Rows appended meanwhile are left to the folding task: while a fleet sends, folding
    /// "until empty" would never end, and would keep the folding task from its larger
    /// folds (compaction's pass at start-up brought a 5,000-scale fleet down to a fold of
    /// one batch at a time that way).
    pub async fn fold_journal(&self) -> Result<(), RegistryError> {
        let Some(journal) = self.journal.clone() else { return Ok(()) };
        let _fold = journal.fold_turn.lock().await;
        let (mut left, oldest_ours) = {
            let unfolded = journal.unfolded();
            (unfolded.readings.len(), unfolded.seqs.first().map(|s| s.0))
        };
        while left > 0 {
            let folded = self.fold_unfolded(&journal, false).await?;
            if folded == 0 {
                break;
            }
            left = left.saturating_sub(folded);
        }
        // Rows of another process or a crash: those before the oldest this process
        // appended, or before any appended from now on.
        let below = match oldest_ours {
            Some(seq) => seq,
            None => {
                sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(seq), 0) + 1 FROM readings_journal")
                    .fetch_one(&self.pool)
                    .await?
            }
        };
        while self.fold_from_table(&journal, below).await? {}
        // In the write turn, so that no append comes between the look and the count.
        let _turn = self.write_turn().await;
        if journal.unfolded().readings.is_empty() {
            // Nothing of this process's is waiting: the count starts again from the table.
            let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM readings_journal").fetch_one(&self.pool).await?;
            journal.rows.store(u64::try_from(rows).unwrap_or(0), Ordering::SeqCst);
        }
        Ok(())
    }

    /// Folds up to [`FOLD_ROWS`] of what this process appended, from memory (`paced`: see
    /// [`SqlReadings::fold`]); on failure they go back, to be folded again (storage takes
    /// a reading once).
    async fn fold_unfolded(&self, journal: &Journal, paced: bool) -> Result<usize, RegistryError> {
        let taken = journal.take_unfolded();
        if taken.readings.is_empty() {
            return Ok(0);
        }
        match self.fold(journal, &taken.readings, &taken.seqs, paced).await {
            Ok(()) => {
                journal.forget(taken.readings.len() as u64);
                Ok(taken.readings.len())
            }
            Err(e) => {
                journal.unfolded().restore(taken);
                Err(e)
            }
        }
    }

    /// Folds the table's first rows (up to [`FOLD_ROWS`]) with a `seq` below `below`: what
    /// a crash left, or another process appended. `false` when there are none.
    async fn fold_from_table(&self, journal: &Journal, below: i64) -> Result<bool, RegistryError> {
        let rows = sqlx::query(
            "SELECT seq, client_id, session_id, tstamp, value FROM readings_journal WHERE seq < $1 ORDER BY seq LIMIT $2",
        )
        .bind(below)
        .bind(i64::try_from(FOLD_ROWS).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            return Ok(false);
        };
        let seqs = [(first.try_get("seq")?, last.try_get("seq")?)];
        let readings = rows.iter().map(crate::readings::reading).collect::<Result<Vec<_>, _>>()?;
        self.fold(journal, &readings, &seqs, false).await?;
        journal.forget(rows.len() as u64);
        Ok(true)
    }

    /// Folds `readings` (in the order they came) into the readings and shots tables, a
    /// slice of whole sessions at a time, then deletes their journal rows, `seqs`.
    /// `paced`, without a backlog, the slices are spread over half of [`FOLD_EVERY`]: back
    /// to back they would take the processor from the scales' connections in bursts.
    async fn fold(
        &self,
        journal: &Journal,
        readings: &[Reading],
        seqs: &[(i64, i64)],
        paced: bool,
    ) -> Result<(), RegistryError> {
        // Each session's readings in the order they came, sessions in order of their first.
        let mut order: Vec<(ClientId, SessionId)> = Vec::new();
        let mut sessions: HashMap<(ClientId, SessionId), Vec<Reading>> = HashMap::new();
        for r in readings {
            sessions
                .entry((r.client_id, r.session_id))
                .or_insert_with(|| {
                    order.push((r.client_id, r.session_id));
                    Vec::new()
                })
                .push(*r);
        }
        let slices = u32::try_from(readings.len() / SLICE_ROWS).unwrap_or(u32::MAX).max(1);
        let pause = (paced && journal.rows() < FOLD_ROWS as u64).then(|| FOLD_EVERY / 2 / slices);
        let mut slice = Vec::with_capacity(SLICE_ROWS);
        for key in order {
            slice.extend(sessions.remove(&key).unwrap_or_default());
            if slice.len() >= SLICE_ROWS {
                self.fold_slice(journal, &slice, &[]).await?;
                slice.clear();
                if let Some(pause) = pause {
                    tokio::time::sleep(pause).await;
                }
            }
        }
        self.fold_slice(journal, &slice, seqs).await
    }

    /// Stores one slice of the journal (and deletes the rows `seqs`, at the end) in the
    /// write turn, its commits not flushed to disk one by one even with
    /// `synchronous=full`: what a fold writes is already stored in the journal. The
    /// write-ahead log keeps commits in order, so the next append's flush carries every
    /// fold commit before it, and a fold that a power cut loses loses the deletion of its
    /// journal rows with it: they are folded again, and storage takes a reading once.
    async fn fold_slice(&self, journal: &Journal, slice: &[Reading], seqs: &[(i64, i64)]) -> Result<(), RegistryError> {
        let mut conn = self.writer().await?;
        if journal.full_sync {
            sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *conn).await?;
        }
        let folded = async {
            if !slice.is_empty() {
                self.store(&mut conn, slice).await?;
            }
            for (first, last) in seqs {
                sqlx::query("DELETE FROM readings_journal WHERE seq BETWEEN $1 AND $2")
                    .bind(*first)
                    .bind(*last)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok::<_, RegistryError>(())
        }
        .await;
        if journal.full_sync {
            // Appends flush every commit again.
            sqlx::query("PRAGMA synchronous = FULL").execute(&mut *conn).await?;
        }
        folded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wages_codec::{Grams, Timestamp};

    fn reading(scale: usize, session: usize, t: u64) -> Reading {
        Reading::new(
            ClientId::parse(&format!("scale-{scale}")).expect("id"),
            SessionId::parse(&format!("s{session}")).expect("id"),
            Grams::new(1.0).expect("grams"),
            Timestamp::from_millis(t).expect("time"),
        )
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
