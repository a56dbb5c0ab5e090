//! Brews in the registry's database: the beans library, each scale's current recipe, and
//! the `shots` table, one row per session with its summary (kept by the pipeline in the
//! same transaction as the readings it stores) and what was brewed.

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};
use wages_codec::{ClientId, Grams, Reading, SessionId, Timestamp};
use wages_sessions::{Compaction, LIVE_FOR_MS, Session, Summary};

use crate::brew::{Beans, BeansInput, Cursor, Method, Recipe, Shot, ShotDetails, ShotFilter, ShotPage};
use crate::error::RegistryError;
use crate::readings::{millis, placeholders};
use crate::store::Backend;
use crate::store::{like_pattern, now_ms};

/// Writes what a shot was, edited by `who` now; `brewed_by`, when given, replaces who
/// brewed it. Fails if the session has no shot row.
pub(crate) async fn write_details(
    tx: &mut AnyConnection,
    client_id: &ClientId,
    session_id: &SessionId,
    details: &ShotDetails,
    who: &str,
    brewed_by: Option<&str>,
) -> Result<(), RegistryError> {
    // Not kept prepared: sqlx's `Any` driver declares a missing number (`None`) as a
    // 4-byte float on PostgreSQL, so a statement prepared with one refuses the 8-byte
    // float of the next call on that connection ("incorrect binary data format").
    let updated = sqlx::query(
        "UPDATE shots SET method = $1, beans_id = $2, grinder = $3, grind_setting = $4, dose = $5, target_yield = $6, \
         yield_grams = $7, water_temp = $8, tds = $9, rating = $10, notes = $11, tags = $12, starred = $13, \
         edited_by = $14, edited_at = $15, brewed_by = COALESCE($16, brewed_by, $14) WHERE client_id = $17 AND session_id = $18",
    )
    .bind(details.method.map(Method::as_str))
    .bind(details.beans_id)
    .bind(details.grinder.as_deref())
    .bind(details.grind_setting.as_deref())
    .bind(details.dose)
    .bind(details.target_yield)
    .bind(details.yield_grams)
    .bind(details.water_temp)
    .bind(details.tds)
    .bind(details.rating)
    .bind(details.notes.as_deref())
    .bind(stored_tags(&details.tags))
    .bind(i64::from(details.starred))
    .bind(who)
    .bind(now_ms())
    .bind(brewed_by)
    .bind(client_id.as_str())
    .bind(session_id.as_str())
    .persistent(false)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(RegistryError::Unknown(format!("no session {session_id} for device {client_id}")));
    }
    sqlx::query("DELETE FROM shot_tags WHERE client_id = $1 AND session_id = $2")
        .bind(client_id.as_str())
        .bind(session_id.as_str())
        .execute(&mut *tx)
        .await?;
    for tag in &details.tags {
        sqlx::query("INSERT INTO shot_tags (tag, client_id, session_id) VALUES ($1, $2, $3)")
            .bind(tag)
            .bind(client_id.as_str())
            .bind(session_id.as_str())
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// The last second of readings of each session stored lately (time, grams), so that a
/// new batch's flows are worked out without reading that second back: checked against
/// the table by counting (cheap) before it is trusted, so a reading stored elsewhere
/// (another node, a rolled-back batch) sends the fold back to the table.
pub(crate) type Tails = moka::future::Cache<(ClientId, SessionId), std::sync::Arc<Tail>>;

/// A session's last second of readings, and its shot's reading count when they were
/// stored: while the count is the same, nobody else has stored readings of the session.
pub(crate) struct Tail {
    count: i64,
    samples: Vec<(u64, f64)>,
}

/// Sessions whose last second is kept in memory.
const TAILS_KEPT: u64 = 10_000;

pub(crate) fn tails() -> Tails {
    moka::future::Cache::builder().max_capacity(TAILS_KEPT).time_to_idle(std::time::Duration::from_secs(600)).build()
}

/// Most shots one page of a search returns.
pub const MAX_SHOT_PAGE: u32 = 100;
/// Most beans in the library one listing returns.
pub const MAX_BEANS: i64 = 1000;

/// Beans, recipes and shots. Cheap to clone.
#[derive(Clone)]
pub struct Brews {
    pub(crate) pool: AnyPool,
}

const BEANS_COLUMNS: &str =
    "id, roaster, name, origin, process, roast_level, roast_date, notes, archived, created_at, updated_at";

fn beans_row(row: &AnyRow, prefix: &str) -> Result<Beans, RegistryError> {
    let col = |name: &str| format!("{prefix}{name}");
    Ok(Beans {
        id: row.try_get(col("id").as_str())?,
        roaster: row.try_get(col("roaster").as_str())?,
        name: row.try_get(col("name").as_str())?,
        origin: row.try_get(col("origin").as_str())?,
        process: row.try_get(col("process").as_str())?,
        roast_level: row.try_get(col("roast_level").as_str())?,
        roast_date: row.try_get(col("roast_date").as_str())?,
        notes: row.try_get(col("notes").as_str())?,
        archived: row.try_get::<i64, _>(col("archived").as_str())? != 0,
        created_at: row.try_get(col("created_at").as_str())?,
        updated_at: row.try_get(col("updated_at").as_str())?,
    })
}

/// Binds the beans' fields as `$1` to `$8`: roaster, name, origin, process, roast level,
/// roast date, notes, archived.
fn bind_beans<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    input: &'q BeansInput,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(&input.roaster)
        .bind(&input.name)
        .bind(input.origin.as_deref())
        .bind(input.process.as_deref())
        .bind(input.roast_level.as_deref())
        .bind(input.roast_date.as_deref())
        .bind(input.notes.as_deref())
        .bind(i64::from(input.archived))
}

fn method(stored: Option<String>) -> Result<Option<Method>, RegistryError> {
    stored
        .map(|m| Method::parse(&m).map_err(|_| RegistryError::Database(format!("stored method {m:?} is unknown"))))
        .transpose()
}

/// Tags as stored: `,a,b,` (empty for none).
fn stored_tags(tags: &[String]) -> String {
    if tags.is_empty() { String::new() } else { format!(",{},", tags.join(",")) }
}

fn unsigned(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// The columns of a shot row as [`shot_row`] reads them, from `shots s` joined with
/// `session_summaries c` and `beans b`.
const SHOT_COLUMNS: &str = "s.client_id, s.session_id, s.started_at, s.ended_at, s.reading_count, s.first_weight, \
     s.final_weight, s.max_weight, s.peak_flow, s.method, s.beans_id, s.grinder, s.grind_setting, s.dose, \
     s.target_yield, s.yield_grams, s.water_temp, s.tds, s.rating, s.notes, s.tags, s.starred, s.brewed_by, \
     s.edited_by, s.edited_at, c.bucket_ms, c.compacted_at, c.graph_removed_at, \
     b.id AS b_id, b.roaster AS b_roaster, b.name AS b_name, b.origin AS b_origin, b.process AS b_process, \
     b.roast_level AS b_roast_level, b.roast_date AS b_roast_date, b.notes AS b_notes, b.archived AS b_archived, \
     b.created_at AS b_created_at, b.updated_at AS b_updated_at";

const SHOT_FROM: &str = "FROM shots s \
     LEFT JOIN session_summaries c ON c.client_id = s.client_id AND c.session_id = s.session_id \
     LEFT JOIN beans b ON b.id = s.beans_id";

fn details_row(row: &AnyRow) -> Result<ShotDetails, RegistryError> {
    let tags: String = row.try_get("tags")?;
    Ok(ShotDetails {
        method: method(row.try_get("method")?)?,
        beans_id: row.try_get("beans_id")?,
        grinder: row.try_get("grinder")?,
        grind_setting: row.try_get("grind_setting")?,
        dose: row.try_get("dose")?,
        target_yield: row.try_get("target_yield")?,
        yield_grams: row.try_get("yield_grams")?,
        water_temp: row.try_get("water_temp")?,
        tds: row.try_get("tds")?,
        rating: row.try_get("rating")?,
        notes: row.try_get("notes")?,
        tags: tags.split(',').filter(|t| !t.is_empty()).map(str::to_owned).collect(),
        starred: row.try_get::<i64, _>("starred")? != 0,
        brewed_by: row.try_get("brewed_by")?,
        edited_by: row.try_get("edited_by")?,
        edited_at: row.try_get("edited_at")?,
    })
}

fn shot_row(row: &AnyRow, now_ms: u64) -> Result<Shot, RegistryError> {
    let bad = |e: &dyn std::fmt::Display| RegistryError::Database(format!("stored shot is invalid: {e}"));
    let client_id: String = row.try_get("client_id")?;
    let session_id: String = row.try_get("session_id")?;
    let (started_at, ended_at) = (unsigned(row.try_get("started_at")?), unsigned(row.try_get("ended_at")?));
    let duration_ms = ended_at.saturating_sub(started_at);
    let (first, last): (f64, f64) = (row.try_get("first_weight")?, row.try_get("final_weight")?);
    #[allow(clippy::cast_precision_loss)] // durations are far below 2^53 ms
    let mean_flow = if duration_ms == 0 { 0.0 } else { (last - first) * 1000.0 / duration_ms as f64 };
    let compacted = match row.try_get::<Option<i64>, _>("bucket_ms")? {
        Some(bucket_ms) => Some(Compaction {
            bucket_ms: unsigned(bucket_ms),
            at: unsigned(row.try_get::<Option<i64>, _>("compacted_at")?.unwrap_or(0)),
            graph_kept: row.try_get::<Option<i64>, _>("graph_removed_at")?.is_none(),
        }),
        None => None,
    };
    let summary = Summary {
        client_id: ClientId::parse(&client_id).map_err(|e| bad(&e))?,
        session_id: SessionId::parse(&session_id).map_err(|e| bad(&e))?,
        started_at,
        ended_at,
        duration_ms,
        count: unsigned(row.try_get("reading_count")?),
        final_weight: last,
        max_weight: row.try_get("max_weight")?,
        peak_flow: row.try_get::<Option<f64>, _>("peak_flow")?.unwrap_or(0.0),
        mean_flow,
        live: now_ms.saturating_sub(ended_at) <= LIVE_FOR_MS,
        compacted,
    };
    let beans = match row.try_get::<Option<i64>, _>("b_id")? {
        Some(_) => Some(beans_row(row, "b_")?),
        None => None,
    };
    Ok(Shot::new(summary, details_row(row)?, beans))
}

/// What one batch's new readings add to one session's row.
struct Fold {
    /// The new readings as (time, grams).
    new: Vec<(u64, f64)>,
    count: i64,
    first: (u64, f64),
    last: (u64, f64),
    max_weight: f64,
    /// The highest flow at the new readings.
    peak: f64,
    /// The session's last second after them, when worked out in memory.
    tail: Option<Vec<(u64, f64)>>,
}

/// What [`record`] found of the tails it trusted.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// Every session's figures are folded in.
    Done,
    /// A kept tail was out of date (readings of its session were stored elsewhere: by
    /// another node, or in a batch rolled back); those tails are forgotten, and the
    /// transaction must be rolled back and the batch stored again.
    StaleTails,
}

/// Folds newly stored readings into their sessions' rows of `shots`, inside the
/// transaction that stored them: counts, first and last times and weights, the maximum,
/// and the peak flow, computed over the new readings with the stored second before them
/// (so a session's figures are exact however its readings were batched). A new session
/// starts with its scale's current recipe. However many sessions the readings are of,
/// this is one upsert in the common case: a statement's round trip to the database costs
/// more than its work here. The second before comes from the tails kept in memory,
/// trusted at first and checked after the upsert: a shot's reading count must have grown
/// from the tail's by just this batch's, or the batch is stored again without that tail
/// ([`Recorded::StaleTails`]).
pub(crate) async fn record(
    conn: &mut AnyConnection,
    backend: Backend,
    new: &[Reading],
    tails: &Tails,
) -> Result<Recorded, RegistryError> {
    let mut sessions: BTreeMap<(ClientId, SessionId), Fold> = BTreeMap::new();
    for r in new {
        let (t, v) = (r.tstamp.millis(), r.value.get());
        let fold = sessions.entry((r.client_id, r.session_id)).or_insert(Fold {
            new: Vec::new(),
            count: 0,
            first: (t, v),
            last: (t, v),
            max_weight: v,
            peak: 0.0,
            tail: None,
        });
        fold.count += 1;
        fold.new.push((t, v));
        if t < fold.first.0 {
            fold.first = (t, v);
        }
        if t >= fold.last.0 {
            fold.last = (t, v);
        }
        fold.max_weight = fold.max_weight.max(v);
    }
    // The kept tails that end before the new readings: their shot's count before this batch.
    let mut trusted = BTreeMap::new();
    for (key @ (client_id, session_id), fold) in &mut sessions {
        fold.new.sort_by_key(|(t, _)| *t);
        let kept = tails.get(key).await.filter(|tail| tail.samples.last().is_some_and(|l| l.0 < fold.first.0));
        let before = match kept {
            Some(tail) => {
                trusted.insert(*key, tail.count);
                Some(tail.samples.clone())
            }
            None => stored_second_before(conn, client_id, session_id, &fold.new).await?,
        };
        match before {
            Some(before) => {
                let (peak, tail) = fold_flows(client_id, session_id, &before, &fold.new);
                (fold.peak, fold.tail) = (peak, Some(tail));
            }
            None => fold.peak = peak_flow(conn, client_id, session_id, fold.first.0, fold.last.0).await?,
        }
    }
    let counts = upsert_shots(conn, backend, &sessions).await?;
    let mut stale = false;
    for (key, count_before) in &trusted {
        let grown = sessions.get(key).map(|fold| count_before + fold.count);
        if counts.get(key).copied() != grown {
            tails.invalidate(key).await;
            stale = true;
        }
    }
    if stale {
        return Ok(Recorded::StaleTails);
    }
    for (key, fold) in sessions {
        match (fold.tail, counts.get(&key)) {
            (Some(samples), Some(&count)) => tails.insert(key, std::sync::Arc::new(Tail { count, samples })).await,
            _ => tails.invalidate(&key).await,
        }
    }
    Ok(Recorded::Done)
}

/// A shot's row without weight readings (imported from a machine without a scale),
/// from `start` to `end`, starting with its scale's recipe like any other.
pub(crate) async fn bare_shot(
    conn: &mut AnyConnection,
    backend: Backend,
    client_id: &ClientId,
    session_id: &SessionId,
    start: u64,
    end: u64,
) -> Result<(), RegistryError> {
    let fold = Fold {
        new: Vec::new(),
        count: 0,
        first: (start, 0.0),
        last: (end, 0.0),
        max_weight: 0.0,
        peak: 0.0,
        tail: None,
    };
    upsert_shots(conn, backend, &BTreeMap::from([((*client_id, *session_id), fold)])).await?;
    Ok(())
}

/// Most sessions one statement of [`record`] names (9 parameters each).
const SESSIONS_PER_STATEMENT: usize = 100;

/// Adds the folded readings to their shots' rows, a new row starting with its scale's
/// recipe; returns each shot's reading count after.
async fn upsert_shots(
    conn: &mut AnyConnection,
    backend: Backend,
    sessions: &BTreeMap<(ClientId, SessionId), Fold>,
) -> Result<BTreeMap<(ClientId, SessionId), i64>, RegistryError> {
    let sessions: Vec<_> = sessions.iter().collect();
    let mut counts = BTreeMap::new();
    for chunk in sessions.chunks(SESSIONS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO shots (client_id, session_id, started_at, ended_at, reading_count, first_weight, final_weight, \
               max_weight, peak_flow, method, beans_id, grinder, grind_setting, dose, target_yield, brewed_by) \
             SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, v.column8, v.column9, \
               r.method, r.beans_id, r.grinder, r.grind_setting, r.dose, r.target_yield, r.set_by \
             FROM (VALUES {}) AS v LEFT JOIN device_recipes r ON r.client_id = v.column1 WHERE 1 = 1 \
             ON CONFLICT (client_id, session_id) DO UPDATE SET \
               reading_count = shots.reading_count + excluded.reading_count, \
               first_weight = CASE WHEN excluded.started_at < shots.started_at THEN excluded.first_weight ELSE shots.first_weight END, \
               started_at = CASE WHEN excluded.started_at < shots.started_at THEN excluded.started_at ELSE shots.started_at END, \
               final_weight = CASE WHEN excluded.ended_at >= shots.ended_at THEN excluded.final_weight ELSE shots.final_weight END, \
               ended_at = CASE WHEN excluded.ended_at > shots.ended_at THEN excluded.ended_at ELSE shots.ended_at END, \
               max_weight = CASE WHEN excluded.max_weight > shots.max_weight THEN excluded.max_weight ELSE shots.max_weight END, \
               peak_flow = CASE WHEN shots.peak_flow IS NULL OR excluded.peak_flow > shots.peak_flow \
                 THEN excluded.peak_flow ELSE shots.peak_flow END \
             RETURNING client_id, session_id, reading_count",
            placeholders(backend, chunk.len(), 9)
        );
        let mut query = sqlx::query(&sql);
        for ((client_id, session_id), fold) in chunk {
            query = query
                .bind(client_id.as_str())
                .bind(session_id.as_str())
                .bind(millis(fold.first.0))
                .bind(millis(fold.last.0))
                .bind(fold.count)
                .bind(fold.first.1)
                .bind(fold.last.1)
                .bind(fold.max_weight)
                .bind(fold.peak);
        }
        for row in query.fetch_all(&mut *conn).await? {
            counts.insert(shot_key(&row)?, row.try_get::<i64, _>("reading_count")?);
        }
    }
    Ok(counts)
}

/// The `(client_id, session_id)` of a row of `shots`.
fn shot_key(row: &AnyRow) -> Result<(ClientId, SessionId), RegistryError> {
    let bad = |e: &dyn std::fmt::Display| RegistryError::Database(format!("stored shot key is invalid: {e}"));
    let client_id: String = row.try_get("client_id")?;
    let session_id: String = row.try_get("session_id")?;
    Ok((ClientId::parse(&client_id).map_err(|e| bad(&e))?, SessionId::parse(&session_id).map_err(|e| bad(&e))?))
}

/// The stored second before `new` (sorted, all after every stored reading of the
/// session), read from the table: the readings from the last one at least a flow window
/// before the first new one. `None` when stored readings lie among the new ones (late
/// readings), for [`peak_flow`] to work out from the table.
async fn stored_second_before(
    conn: &mut AnyConnection,
    client_id: &ClientId,
    session_id: &SessionId,
    new: &[(u64, f64)],
) -> Result<Option<Vec<(u64, f64)>>, RegistryError> {
    let (Some(&(from, _)), Some(&(to, _))) = (new.first(), new.last()) else { return Ok(Some(Vec::new())) };
    // The second before `from`, and (as tstamp -1) how many stored readings lie in the new range.
    let rows = sqlx::query(
        "SELECT tstamp, value FROM readings WHERE client_id = $1 AND session_id = $2 AND tstamp < $3 AND tstamp >= \
           COALESCE((SELECT MAX(tstamp) FROM readings WHERE client_id = $1 AND session_id = $2 AND tstamp <= $4), 0) \
         UNION ALL \
         SELECT -1 AS tstamp, CAST(COUNT(*) AS DOUBLE PRECISION) AS value FROM readings \
           WHERE client_id = $1 AND session_id = $2 AND tstamp >= $3 AND tstamp <= $5 \
         ORDER BY tstamp",
    )
    .bind(client_id.as_str())
    .bind(session_id.as_str())
    .bind(millis(from))
    .bind(millis(from.saturating_sub(wages_sessions::FLOW_WINDOW_MS)))
    .bind(millis(to))
    .fetch_all(&mut *conn)
    .await?;
    let mut before = Vec::with_capacity(rows.len());
    for row in &rows {
        let (t, v): (i64, f64) = (row.try_get("tstamp")?, row.try_get("value")?);
        if t < 0 {
            #[allow(clippy::cast_precision_loss)] // a batch's readings, far below 2^53
            if v != new.len() as f64 {
                return Ok(None);
            }
        } else {
            before.push((unsigned(t), v));
        }
    }
    Ok(Some(before))
}

/// The peak flow at the `new` readings, each over the second before it as [`Session`]
/// computes it from `before` and them; and the session's last second to keep.
fn fold_flows(
    client_id: &ClientId,
    session_id: &SessionId,
    before: &[(u64, f64)],
    new: &[(u64, f64)],
) -> (f64, Vec<(u64, f64)>) {
    let mut session = Session::default();
    let mut peak: f64 = 0.0;
    let all = before.iter().map(|s| (s, false)).chain(new.iter().map(|s| (s, true)));
    for (&(t, v), is_new) in all {
        let (Ok(tstamp), Ok(value)) = (Timestamp::from_millis(t), Grams::new(v)) else { continue };
        session.push(&Reading::new(*client_id, *session_id, value, tstamp));
        if is_new && let Some(flow) = session.flow() {
            peak = peak.max(flow);
        }
    }
    // From the last reading at least a flow window before the newest one, on.
    let last = new.last().or(before.last()).map_or(0, |s| s.0);
    let all: Vec<(u64, f64)> = before.iter().chain(new).copied().collect();
    let start = all.iter().rposition(|s| s.0 + wages_sessions::FLOW_WINDOW_MS <= last).unwrap_or(0);
    (peak, all[start..].to_vec())
}

/// The highest flow at the stored readings from `from` to `to` (ms), each over the
/// second before it as [`Session`] computes it: the readings are read back from the
/// last one at least a flow window before `from`.
async fn peak_flow(
    conn: &mut AnyConnection,
    client_id: &ClientId,
    session_id: &SessionId,
    from: u64,
    to: u64,
) -> Result<f64, RegistryError> {
    let rows = sqlx::query(
        "SELECT tstamp, value FROM readings WHERE client_id = $1 AND session_id = $2 AND tstamp <= $4 AND tstamp >= \
           COALESCE((SELECT MAX(tstamp) FROM readings WHERE client_id = $1 AND session_id = $2 AND tstamp <= $3), 0) \
         ORDER BY tstamp",
    )
    .bind(client_id.as_str())
    .bind(session_id.as_str())
    .bind(millis(from.saturating_sub(wages_sessions::FLOW_WINDOW_MS)))
    .bind(millis(to))
    .fetch_all(&mut *conn)
    .await?;
    let mut session = Session::default();
    let mut peak: f64 = 0.0;
    for row in &rows {
        let (t, v): (i64, f64) = (row.try_get("tstamp")?, row.try_get("value")?);
        let (Ok(tstamp), Ok(value)) = (Timestamp::from_millis(unsigned(t)), Grams::new(v)) else { continue };
        session.push(&Reading::new(*client_id, *session_id, value, tstamp));
        if unsigned(t) >= from
            && let Some(flow) = session.flow()
        {
            peak = peak.max(flow);
        }
    }
    Ok(peak)
}

/// A bind value of a query built at run time.
enum Bind {
    Text(String),
    Int(i64),
}

impl Brews {
    // Beans ---------------------------------------------------------------------------

    /// The library, by roaster and name; archived beans only when asked.
    pub async fn beans(&self, include_archived: bool) -> Result<Vec<Beans>, RegistryError> {
        let rows = sqlx::query(&format!(
            "SELECT {BEANS_COLUMNS} FROM beans WHERE archived = 0 OR $1 = 1 ORDER BY archived, lower(roaster), lower(name), id LIMIT $2"
        ))
        .bind(i64::from(include_archived))
        .bind(MAX_BEANS)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| beans_row(r, "")).collect()
    }

    /// One bag of beans, or [`RegistryError::Unknown`].
    pub async fn bean(&self, id: i64) -> Result<Beans, RegistryError> {
        let row = sqlx::query(&format!("SELECT {BEANS_COLUMNS} FROM beans WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| beans_row(&r, ""))
            .transpose()?
            .ok_or_else(|| RegistryError::Unknown(format!("no beans with id {id}")))
    }

    /// Adds beans (checked by the caller with [`BeansInput::check`]).
    pub async fn add_beans(&self, input: &BeansInput) -> Result<Beans, RegistryError> {
        let now = now_ms();
        // The next id; two adding at once on PostgreSQL may collide: the loser tries again.
        for _ in 0..5 {
            let added = bind_beans(sqlx::query(
                "INSERT INTO beans (id, roaster, name, origin, process, roast_level, roast_date, notes, archived, created_at, updated_at) \
                 SELECT COALESCE(MAX(id), 0) + 1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $9 FROM beans \
                 RETURNING id",
            ), input)
            .bind(now)
            .fetch_one(&self.pool)
            .await;
            match added {
                Ok(row) => return self.bean(row.try_get("id")?).await,
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(RegistryError::Database("could not pick an id for the beans: too many added at once".into()))
    }

    /// Replaces every field of beans (checked by the caller).
    pub async fn update_beans(&self, id: i64, input: &BeansInput) -> Result<Beans, RegistryError> {
        let updated = bind_beans(
            sqlx::query(
                "UPDATE beans SET roaster = $1, name = $2, origin = $3, process = $4, roast_level = $5, roast_date = $6, \
                 notes = $7, archived = $8, updated_at = $9 WHERE id = $10",
            ),
            input,
        )
        .bind(now_ms())
        .bind(id)
        .execute(&self.pool)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(RegistryError::Unknown(format!("no beans with id {id}")));
        }
        self.bean(id).await
    }

    /// Deletes beans no shot and no recipe names; others are archived instead.
    pub async fn delete_beans(&self, id: i64) -> Result<(), RegistryError> {
        self.bean(id).await?;
        let used: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM shots WHERE beans_id = $1) + (SELECT COUNT(*) FROM device_recipes WHERE beans_id = $1)",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        if used > 0 {
            return Err(RegistryError::Conflict(format!(
                "beans {id} are on {used} shots or recipes: archive them instead (\"archived\": true)"
            )));
        }
        sqlx::query("DELETE FROM beans WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(())
    }

    /// A `beans_id` a person chose must be in the library: beans that are not there are
    /// not found (as any other id that names nothing).
    async fn known_beans(&self, beans_id: Option<i64>) -> Result<(), RegistryError> {
        if let Some(id) = beans_id
            && self.bean(id).await.is_err()
        {
            return Err(RegistryError::Unknown(format!("no beans {id} in the library")));
        }
        Ok(())
    }

    /// How many readings of the scale are stored, over all its sessions, read from the
    /// sessions' summaries (kept with every stored batch, wherever readings live).
    pub async fn stored_readings(&self, client_id: &ClientId) -> Result<u64, RegistryError> {
        let n: i64 = sqlx::query_scalar("SELECT COALESCE(SUM(reading_count), 0) FROM shots WHERE client_id = $1")
            .bind(client_id.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    // Recipes -------------------------------------------------------------------------

    /// The scale's current recipe (empty until set).
    pub async fn recipe(&self, client_id: &ClientId) -> Result<Recipe, RegistryError> {
        let row = sqlx::query(
            "SELECT method, beans_id, grinder, grind_setting, dose, target_yield FROM device_recipes WHERE client_id = $1",
        )
        .bind(client_id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(Recipe::default()) };
        Ok(Recipe {
            method: method(row.try_get("method")?)?,
            beans_id: row.try_get("beans_id")?,
            grinder: row.try_get("grinder")?,
            grind_setting: row.try_get("grind_setting")?,
            dose: row.try_get("dose")?,
            target_yield: row.try_get("target_yield")?,
        })
    }

    /// Sets the scale's recipe (checked by the caller, beans checked here): every shot
    /// that starts on it from now on begins with it, brewed by `who`.
    pub async fn set_recipe(&self, client_id: &ClientId, recipe: &Recipe, who: &str) -> Result<Recipe, RegistryError> {
        self.known_beans(recipe.beans_id).await?;
        sqlx::query(
            "INSERT INTO device_recipes (client_id, method, beans_id, grinder, grind_setting, dose, target_yield, set_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (client_id) DO UPDATE SET method = excluded.method, beans_id = excluded.beans_id, \
               grinder = excluded.grinder, grind_setting = excluded.grind_setting, dose = excluded.dose, \
               target_yield = excluded.target_yield, set_by = excluded.set_by, updated_at = excluded.updated_at",
        )
        .bind(client_id.as_str())
        .bind(recipe.method.map(Method::as_str))
        .bind(recipe.beans_id)
        .bind(recipe.grinder.as_deref())
        .bind(recipe.grind_setting.as_deref())
        .bind(recipe.dose)
        .bind(recipe.target_yield)
        .bind(who)
        .bind(now_ms())
        // Not kept prepared: a missing number, see `write_details`.
        .persistent(false)
        .execute(&self.pool)
        .await?;
        self.recipe(client_id).await
    }

    // Shots ---------------------------------------------------------------------------

    /// One shot from its row, or `None` when the session has none.
    pub async fn shot(
        &self,
        client_id: &ClientId,
        session_id: &SessionId,
        now_ms: u64,
    ) -> Result<Option<Shot>, RegistryError> {
        let row =
            sqlx::query(&format!("SELECT {SHOT_COLUMNS} {SHOT_FROM} WHERE s.client_id = $1 AND s.session_id = $2"))
                .bind(client_id.as_str())
                .bind(session_id.as_str())
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| shot_row(&r, now_ms)).transpose()
    }

    /// What a shot was, to go with a summary worked out elsewhere (`None`: no row yet).
    pub async fn details(
        &self,
        client_id: &ClientId,
        session_id: &SessionId,
    ) -> Result<Option<(ShotDetails, Option<Beans>)>, RegistryError> {
        Ok(self.shot(client_id, session_id, 0).await?.map(|s| (s.details, s.beans)))
    }

    /// Replaces what a shot was (checked by the caller, beans checked here), as edited by
    /// `who`; the recipe it started with is kept as `brewed_by` says.
    pub async fn edit(
        &self,
        client_id: &ClientId,
        session_id: &SessionId,
        details: &ShotDetails,
        who: &str,
    ) -> Result<(), RegistryError> {
        self.known_beans(details.beans_id).await?;
        let mut tx = self.pool.begin().await?;
        write_details(&mut tx, client_id, session_id, details, who, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The library's beans of this roaster and name (ignoring case), or these beans
    /// added to it: an imported shot names beans the library may already have.
    pub async fn find_or_add_beans(&self, input: &BeansInput) -> Result<Beans, RegistryError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM beans WHERE LOWER(roaster) = LOWER($1) AND LOWER(name) = LOWER($2) ORDER BY archived, id LIMIT 1",
        )
        .bind(&input.roaster)
        .bind(&input.name)
        .fetch_optional(&self.pool)
        .await?;
        match found {
            Some(id) => self.bean(id).await,
            None => self.add_beans(input).await,
        }
    }

    /// Shots newest first (by start, then ids), filtered, `limit` after `cursor`.
    pub async fn search(
        &self,
        filter: &ShotFilter,
        cursor: Option<&Cursor>,
        limit: u32,
        now_ms: u64,
    ) -> Result<ShotPage, RegistryError> {
        let mut conditions: Vec<String> = Vec::new();
        let mut binds: Vec<Bind> = Vec::new();
        let param = |binds: &mut Vec<Bind>, value: Bind| {
            binds.push(value);
            format!("${}", binds.len())
        };
        if let Some(scale) = &filter.scale {
            let p = param(&mut binds, Bind::Text(scale.clone()));
            conditions.push(format!("s.client_id = {p}"));
        }
        if let Some(id) = filter.beans_id {
            let p = param(&mut binds, Bind::Int(id));
            conditions.push(format!("s.beans_id = {p}"));
        }
        if let Some(m) = filter.method {
            let p = param(&mut binds, Bind::Text(m.as_str().to_owned()));
            conditions.push(format!("s.method = {p}"));
        }
        // A tag is looked up in `shot_tags` (its key starts with the tag), then sorted.
        let mut from = SHOT_FROM.to_owned();
        if let Some(tag) = filter.tag.as_deref().map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty()) {
            let p = param(&mut binds, Bind::Text(tag));
            from.push_str(&format!(
                " JOIN shot_tags t ON t.client_id = s.client_id AND t.session_id = s.session_id AND t.tag = {p}"
            ));
        }
        if let Some(sites) = filter.within.limited() {
            let marks: Vec<String> = sites.iter().map(|site| param(&mut binds, Bind::Text(site.clone()))).collect();
            conditions.push(format!(
                "s.client_id IN (SELECT client_id FROM devices WHERE site_id IN ({}))",
                marks.join(", ")
            ));
        }
        if let Some(r) = filter.min_rating {
            let p = param(&mut binds, Bind::Int(r));
            conditions.push(format!("s.rating >= {p}"));
        }
        if filter.starred {
            conditions.push("s.starred = 1".into());
        }
        if let Some(from) = filter.from {
            let p = param(&mut binds, Bind::Int(millis(from)));
            conditions.push(format!("s.started_at >= {p}"));
        }
        if let Some(to) = filter.to {
            let p = param(&mut binds, Bind::Int(millis(to)));
            conditions.push(format!("s.started_at < {p}"));
        }
        if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let p = param(&mut binds, Bind::Text(like_pattern(q)));
            conditions.push(format!(
                "(lower(COALESCE(s.notes, '')) LIKE {p} ESCAPE '\\' OR s.tags LIKE {p} ESCAPE '\\' \
                  OR lower(COALESCE(b.roaster, '')) LIKE {p} ESCAPE '\\' OR lower(COALESCE(b.name, '')) LIKE {p} ESCAPE '\\')"
            ));
        }
        if let Some(c) = cursor {
            let t = param(&mut binds, Bind::Int(millis(c.started_at)));
            let id = param(&mut binds, Bind::Text(c.client_id.clone()));
            let sid = param(&mut binds, Bind::Text(c.session_id.clone()));
            conditions.push(format!(
                "(s.started_at < {t} OR (s.started_at = {t} AND (s.client_id < {id} OR (s.client_id = {id} AND s.session_id < {sid}))))"
            ));
        }
        let limit = limit.clamp(1, MAX_SHOT_PAGE);
        let lim = param(&mut binds, Bind::Int(i64::from(limit) + 1));
        let filter_sql =
            if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        let sql = format!(
            "SELECT {SHOT_COLUMNS} {from} {filter_sql} \
             ORDER BY s.started_at DESC, s.client_id DESC, s.session_id DESC LIMIT {lim}"
        );
        let mut query = sqlx::query(&sql);
        for b in binds {
            query = match b {
                Bind::Text(t) => query.bind(t),
                Bind::Int(i) => query.bind(i),
            };
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut shots = rows.iter().map(|r| shot_row(r, now_ms)).collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if shots.len() > limit as usize {
            shots.truncate(limit as usize);
            shots.last().map(|s| Cursor::of(&s.summary).to_string())
        } else {
            None
        };
        Ok(ShotPage { shots, next_cursor })
    }

    /// Works out the peak flow of shots whose sessions were stored before the `shots`
    /// table existed, from their readings. Returns how many.
    pub async fn fill_peak_flows(&self) -> Result<u64, RegistryError> {
        let mut filled = 0;
        loop {
            let rows = sqlx::query("SELECT client_id, session_id FROM shots WHERE peak_flow IS NULL LIMIT 100")
                .fetch_all(&self.pool)
                .await?;
            if rows.is_empty() {
                return Ok(filled);
            }
            for row in &rows {
                let (cid, sid): (String, String) = (row.try_get("client_id")?, row.try_get("session_id")?);
                let peak = match (ClientId::parse(&cid), SessionId::parse(&sid)) {
                    (Ok(c), Ok(s)) => {
                        let mut conn = self.pool.acquire().await?;
                        peak_flow(&mut conn, &c, &s, 0, u64::MAX >> 12).await?
                    }
                    _ => 0.0,
                };
                sqlx::query("UPDATE shots SET peak_flow = $1 WHERE client_id = $2 AND session_id = $3")
                    .bind(peak)
                    .bind(&cid)
                    .bind(&sid)
                    .execute(&self.pool)
                    .await?;
                filled += 1;
            }
        }
    }
}
