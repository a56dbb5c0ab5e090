//! Compaction and retention of readings kept in SQL (`WAGES_RETENTION_*`).
//!
//! A session whose last reading is older than [`Retention::raw_after_ms`] is compacted
//! in one transaction of its own: its readings are deleted (`DELETE … RETURNING`, so a
//! reading is either compacted or still there, never both or neither), folded into
//! buckets of [`Retention::bucket_ms`] with count, min, max and mean, and its summary,
//! computed from every reading first, is kept in `session_summaries` for good. Once a
//! compacted session is older than [`Retention::graph_after_ms`] its buckets go too and
//! only the summary stays (its series, pressure and the rest, are kept as they came until
//! then, and go with it). Readings that arrive for a session after it was compacted
//! are folded into it by the next pass ([`wages_sessions::merge_late`]).
//!
//! One short transaction per session, so ingestion's inserts wait at most for one
//! session's worth of work.

use sqlx::Row;
use sqlx::any::AnyRow;
use wages_codec::{ClientId, SessionId};
use wages_sessions::{Bucket, Compaction, LIVE_FOR_MS, Summary, buckets, merge_late, summarize};

use crate::error::RegistryError;
use crate::readings::{SqlReadings, millis, reading};
use crate::store::Backend;

/// Sessions looked at per query while scanning for old ones.
const SCAN_PAGE: i64 = 500;
/// Sessions whose buckets are removed per transaction.
const REMOVE_PAGE: i64 = 100;
/// Bucket rows per INSERT statement (7 parameters each).
const BUCKETS_PER_STATEMENT: usize = 50;

/// How long readings are kept as they came, and what is kept after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Sessions whose last reading is older than this (ms) are compacted.
    pub raw_after_ms: u64,
    /// Width of the buckets, ms.
    pub bucket_ms: u64,
    /// Compacted sessions that ended longer ago than this (ms) lose their buckets too;
    /// `None` keeps them.
    pub graph_after_ms: Option<u64>,
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompactionReport {
    /// Sessions compacted (or folded late readings into).
    pub sessions: u64,
    /// Readings removed, now inside buckets.
    pub readings: u64,
    /// Buckets written.
    pub buckets: u64,
    /// Compacted sessions whose buckets were removed, leaving the summary.
    pub graphs_removed: u64,
}

fn parse_ids(client_id: &str, session_id: &str) -> Result<(ClientId, SessionId), RegistryError> {
    let bad = |e: &dyn std::fmt::Display| RegistryError::Database(format!("stored id is invalid: {e}"));
    Ok((ClientId::parse(client_id).map_err(|e| bad(&e))?, SessionId::parse(session_id).map_err(|e| bad(&e))?))
}

fn unsigned(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn summary_row(row: &AnyRow, now_ms: u64) -> Result<Summary, RegistryError> {
    let (client_id, session_id) =
        parse_ids(&row.try_get::<String, _>("client_id")?, &row.try_get::<String, _>("session_id")?)?;
    let started_at = unsigned(row.try_get("started_at")?);
    let ended_at = unsigned(row.try_get("ended_at")?);
    let removed: Option<i64> = row.try_get("graph_removed_at")?;
    Ok(Summary {
        client_id,
        session_id,
        started_at,
        ended_at,
        duration_ms: ended_at.saturating_sub(started_at),
        count: unsigned(row.try_get("reading_count")?),
        final_weight: row.try_get("final_weight")?,
        max_weight: row.try_get("max_weight")?,
        peak_flow: row.try_get("peak_flow")?,
        mean_flow: row.try_get("mean_flow")?,
        live: now_ms.saturating_sub(ended_at) <= LIVE_FOR_MS,
        compacted: Some(Compaction {
            bucket_ms: unsigned(row.try_get("bucket_ms")?),
            at: unsigned(row.try_get("compacted_at")?),
            graph_kept: removed.is_none(),
        }),
    })
}

fn bucket_row(row: &AnyRow) -> Result<Bucket, RegistryError> {
    Ok(Bucket {
        start: unsigned(row.try_get("tstamp")?),
        count: unsigned(row.try_get("reading_count")?),
        min: row.try_get("min_value")?,
        max: row.try_get("max_value")?,
        mean: row.try_get("mean_value")?,
    })
}

const SUMMARY_COLUMNS: &str = "client_id, session_id, started_at, ended_at, reading_count, final_weight, \
     max_weight, peak_flow, mean_flow, bucket_ms, compacted_at, graph_removed_at";

impl SqlReadings {
    /// One pass over every session: compacts those old enough, then removes the buckets
    /// of those past [`Retention::graph_after_ms`]. Safe to run on several nodes at once.
    /// It works on folded readings, so it folds the journal first.
    pub async fn compact(&self, retention: &Retention, now_ms: u64) -> Result<CompactionReport, RegistryError> {
        self.fold_journal().await?;
        let mut report = CompactionReport::default();
        let cutoff = millis(now_ms.saturating_sub(retention.raw_after_ms));
        // Walks the sessions in key order, a page per query, so no query scans it all.
        let mut after = (String::new(), String::new());
        loop {
            let rows = sqlx::query(
                "SELECT client_id, session_id, MAX(tstamp) AS last FROM readings \
                 WHERE (client_id, session_id) > ($1, $2) \
                 GROUP BY client_id, session_id ORDER BY client_id, session_id LIMIT $3",
            )
            .bind(&after.0)
            .bind(&after.1)
            .bind(SCAN_PAGE)
            .fetch_all(&self.pool)
            .await?;
            for row in &rows {
                let (client_id, session_id): (String, String) = (row.try_get("client_id")?, row.try_get("session_id")?);
                let last: i64 = row.try_get("last")?;
                if last < cutoff {
                    let (readings, written) =
                        self.compact_session(&client_id, &session_id, retention.bucket_ms, now_ms).await?;
                    if readings > 0 {
                        report.sessions += 1;
                        report.readings += readings;
                        report.buckets += written;
                    }
                    // Ingestion's next insert goes first.
                    tokio::task::yield_now().await;
                }
                after = (client_id, session_id);
            }
            if i64::try_from(rows.len()).unwrap_or(i64::MAX) < SCAN_PAGE {
                break;
            }
        }
        if let Some(graph_after) = retention.graph_after_ms {
            report.graphs_removed = self.remove_graphs(millis(now_ms.saturating_sub(graph_after)), now_ms).await?;
        }
        Ok(report)
    }

    /// Compacts one session; returns how many readings it folded and buckets it wrote.
    async fn compact_session(
        &self,
        client_id: &str,
        session_id: &str,
        bucket_ms: u64,
        now_ms: u64,
    ) -> Result<(u64, u64), RegistryError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            // Two nodes compacting one session at once would each miss the other's
            // summary; SQLite has one writer anyway.
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind(format!("wages-compaction/{client_id}/{session_id}"))
                .execute(&mut *tx)
                .await?;
        }
        let rows = sqlx::query(
            "DELETE FROM readings WHERE client_id = $1 AND session_id = $2 \
             RETURNING client_id, session_id, tstamp, value",
        )
        .bind(client_id)
        .bind(session_id)
        .fetch_all(&mut *tx)
        .await?;
        let mut readings = rows.iter().map(reading).collect::<Result<Vec<_>, _>>()?;
        readings.sort_by_key(|r| r.tstamp);
        let Some(fresh) = summarize(&readings, now_ms) else {
            // Another node compacted it first.
            return Ok((0, 0));
        };
        let stored = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM session_summaries WHERE client_id = $1 AND session_id = $2"
        ))
        .bind(client_id)
        .bind(session_id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| summary_row(&row, now_ms))
        .transpose()?;
        // Late readings go into the buckets the session already has, of the width it has.
        let (summary, width) = match &stored {
            Some(s) => (merge_late(s, &fresh), s.compacted.map_or(bucket_ms, |c| c.bucket_ms)),
            None => (fresh, bucket_ms),
        };
        let mut new = buckets(readings.iter().map(|r| (r.tstamp.millis(), r.value.get())), width);
        if stored.is_some() {
            let (first, last) = (new.first().map_or(0, |b| b.start), new.last().map_or(0, |b| b.start));
            let old = sqlx::query(
                "SELECT tstamp, reading_count, min_value, max_value, mean_value FROM reading_buckets \
                 WHERE client_id = $1 AND session_id = $2 AND tstamp >= $3 AND tstamp <= $4",
            )
            .bind(client_id)
            .bind(session_id)
            .bind(millis(first))
            .bind(millis(last))
            .fetch_all(&mut *tx)
            .await?;
            for row in &old {
                let old = bucket_row(row)?;
                if let Some(b) = new.iter_mut().find(|b| b.start == old.start) {
                    b.merge(&old);
                }
            }
        }
        for chunk in new.chunks(BUCKETS_PER_STATEMENT) {
            let placeholders: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let n = i * 7;
                    format!("(${}, ${}, ${}, ${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4, n + 5, n + 6, n + 7)
                })
                .collect();
            let sql = format!(
                "INSERT INTO reading_buckets (client_id, session_id, tstamp, reading_count, min_value, max_value, mean_value) \
                 VALUES {} ON CONFLICT (client_id, session_id, tstamp) DO UPDATE SET reading_count = excluded.reading_count, \
                 min_value = excluded.min_value, max_value = excluded.max_value, mean_value = excluded.mean_value",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for b in chunk {
                query = query
                    .bind(client_id)
                    .bind(session_id)
                    .bind(millis(b.start))
                    .bind(millis(b.count))
                    .bind(b.min)
                    .bind(b.max)
                    .bind(b.mean);
            }
            query.execute(&mut *tx).await?;
        }
        sqlx::query(&format!(
            "INSERT INTO session_summaries ({SUMMARY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL) \
             ON CONFLICT (client_id, session_id) DO UPDATE SET started_at = excluded.started_at, \
             ended_at = excluded.ended_at, reading_count = excluded.reading_count, final_weight = excluded.final_weight, \
             max_weight = excluded.max_weight, peak_flow = excluded.peak_flow, mean_flow = excluded.mean_flow"
        ))
        .bind(client_id)
        .bind(session_id)
        .bind(millis(summary.started_at))
        .bind(millis(summary.ended_at))
        .bind(millis(summary.count))
        .bind(summary.final_weight)
        .bind(summary.max_weight)
        .bind(summary.peak_flow)
        .bind(summary.mean_flow)
        .bind(millis(width))
        .bind(millis(now_ms))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((readings.len() as u64, new.len() as u64))
    }

    /// Removes the buckets of compacted sessions that ended before `cutoff`, a page of
    /// sessions per transaction; their summaries stay. Returns how many sessions.
    async fn remove_graphs(&self, cutoff: i64, now_ms: u64) -> Result<u64, RegistryError> {
        let mut removed = 0;
        loop {
            let turn = self.write_turn().await;
            let mut tx = self.pool.begin().await?;
            let rows = sqlx::query(
                "SELECT client_id, session_id FROM session_summaries \
                 WHERE ended_at < $1 AND graph_removed_at IS NULL ORDER BY ended_at LIMIT $2",
            )
            .bind(cutoff)
            .bind(REMOVE_PAGE)
            .fetch_all(&mut *tx)
            .await?;
            for row in &rows {
                let (client_id, session_id): (String, String) = (row.try_get("client_id")?, row.try_get("session_id")?);
                for table in ["reading_buckets", "shot_series"] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE client_id = $1 AND session_id = $2"))
                        .bind(&client_id)
                        .bind(&session_id)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(
                    "UPDATE session_summaries SET graph_removed_at = $1 \
                     WHERE client_id = $2 AND session_id = $3 AND graph_removed_at IS NULL",
                )
                .bind(millis(now_ms))
                .bind(&client_id)
                .bind(&session_id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            drop(turn);
            removed += rows.len() as u64;
            if i64::try_from(rows.len()).unwrap_or(i64::MAX) < REMOVE_PAGE {
                return Ok(removed);
            }
            tokio::task::yield_now().await;
        }
    }

    /// The summary kept when the session was compacted, if it was.
    pub(crate) async fn stored_summary(
        &self,
        client_id: &ClientId,
        session_id: &SessionId,
        now_ms: u64,
    ) -> Result<Option<Summary>, RegistryError> {
        sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM session_summaries WHERE client_id = $1 AND session_id = $2"
        ))
        .bind(client_id.as_str())
        .bind(session_id.as_str())
        .fetch_optional(&self.pool)
        .await?
        .map(|row| summary_row(&row, now_ms))
        .transpose()
    }

    /// A compacted session's buckets in time order.
    pub async fn buckets(&self, client_id: &ClientId, session_id: &SessionId) -> Result<Vec<Bucket>, RegistryError> {
        let rows = sqlx::query(
            "SELECT tstamp, reading_count, min_value, max_value, mean_value FROM reading_buckets \
             WHERE client_id = $1 AND session_id = $2 ORDER BY tstamp LIMIT $3",
        )
        .bind(client_id.as_str())
        .bind(session_id.as_str())
        .bind(i64::from(crate::MAX_READINGS))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(bucket_row).collect()
    }
}
