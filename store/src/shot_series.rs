//! A shot's series beside the weight (see [`crate::series`]) in the `shot_series` table:
//! from a shot file, or from the measures its readings carried.

use sqlx::{AnyConnection, Row};
use wages_codec::{ClientId, Reading, SessionId};

use crate::error::RegistryError;
use crate::readings::{SqlReadings, millis, placeholders};
use crate::series::{Series, SeriesKind};
use crate::store::Backend;

/// Points per INSERT statement (5 parameters each).
const POINTS_PER_STATEMENT: usize = 200;

/// Stores `series` of one shot in the transaction open on `conn`; a point already stored
/// (same series and time) keeps its value.
pub(crate) async fn insert(
    conn: &mut AnyConnection,
    readings: &SqlReadings,
    client_id: &ClientId,
    session_id: &SessionId,
    series: &[Series],
) -> Result<(), RegistryError> {
    for s in series {
        for chunk in s.points.chunks(POINTS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO shot_series (client_id, session_id, series, tstamp, value) VALUES {} ON CONFLICT DO NOTHING",
                placeholders(readings.backend, chunk.len(), 5)
            );
            let mut query = sqlx::query(&sql);
            for (t, v) in chunk {
                query = query
                    .bind(client_id.as_str())
                    .bind(session_id.as_str())
                    .bind(s.kind.as_str())
                    .bind(millis(*t))
                    .bind(*v);
            }
            query.execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// Stores the measures `readings` carry (pressure, flow, …) as points of their shots'
/// series, on `conn` (in the caller's transaction, if one is open); a point already
/// stored keeps its value, so a message sent again adds nothing. Readings of weight alone
/// cost a look at each.
pub(crate) async fn insert_measures(
    conn: &mut AnyConnection,
    backend: Backend,
    readings: &[Reading],
) -> Result<(), RegistryError> {
    let points: Vec<(&Reading, SeriesKind, f64)> =
        readings.iter().flat_map(|r| r.measures.iter().map(move |(kind, v)| (r, kind, v))).collect();
    for chunk in points.chunks(POINTS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO shot_series (client_id, session_id, series, tstamp, value) VALUES {} ON CONFLICT DO NOTHING",
            placeholders(backend, chunk.len(), 5)
        );
        let mut query = sqlx::query(&sql);
        for (r, kind, v) in chunk {
            query = query
                .bind(r.client_id.as_str())
                .bind(r.session_id.as_str())
                .bind(kind.as_str())
                .bind(millis(r.tstamp.millis()))
                .bind(*v);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

impl SqlReadings {
    /// One shot's series beside the weight, each in time order (none for a shot that has
    /// only its weight).
    pub async fn series(&self, client_id: &ClientId, session_id: &SessionId) -> Result<Vec<Series>, RegistryError> {
        let rows = sqlx::query(
            "SELECT series, tstamp, value FROM shot_series WHERE client_id = $1 AND session_id = $2 \
             ORDER BY series, tstamp LIMIT $3",
        )
        .bind(client_id.as_str())
        .bind(session_id.as_str())
        .bind(i64::from(crate::MAX_READINGS) * 5)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<Series> = Vec::new();
        for row in rows {
            let name: String = row.try_get("series")?;
            let Some(kind) = SeriesKind::parse(&name) else { continue };
            let t: i64 = row.try_get("tstamp")?;
            let point = (u64::try_from(t).unwrap_or(0), row.try_get::<f64, _>("value")?);
            match out.last_mut() {
                Some(last) if last.kind == kind => last.points.push(point),
                _ => out.push(Series { kind, points: vec![point] }),
            }
        }
        out.sort_by_key(|s| s.kind);
        Ok(out)
    }
}
