//! Readings in InfluxDB (`WAGES_TIMESERIES=influxdb2`).
//!
//! Writes are line protocol through the `influxdb2` crate (InfluxDB 2's `/api/v2/write`,
//! millisecond precision): measurement `readings`, tags `client_id` and `session_id`,
//! field `value` and a field for each measure the reading carries (`pressure`, …), the
//! reading's `tstamp` as the point's time. A point with the same
//! series and time replaces the old one, so a redelivered reading is stored once.
//!
//! Reads are InfluxQL on `/query` (served by InfluxDB 1.8+, by 2.x through its automatic
//! database mapping of each bucket, and by 3.x), with the bucket as the database.

use influxdb2::api::write::TimestampPrecision;
use serde::Deserialize;
use wages_codec::{ClientId, Grams, Reading, SessionId, Timestamp};

use crate::error::RegistryError;
use crate::readings::{MAX_READINGS, MAX_SESSIONS};

/// The measurement readings are written to.
pub const MEASUREMENT: &str = "readings";

/// Where readings go in InfluxDB. Cheap to clone.
#[derive(Clone)]
pub struct InfluxReadings {
    client: influxdb2::Client,
    http: reqwest::Client,
    url: String,
    org: String,
    bucket: String,
    token: String,
}

/// Readings as InfluxDB line protocol, one point per line, times in milliseconds.
///
/// Ids only hold `A-Z a-z 0-9 _ -`, so tag values need no escaping.
pub fn line_protocol(readings: &[Reading]) -> String {
    let mut body = String::with_capacity(readings.len() * 80);
    for r in readings {
        use std::fmt::Write as _;
        let _ = write!(
            body,
            "{MEASUREMENT},client_id={},session_id={} value={:?}",
            r.client_id,
            r.session_id,
            r.value.get()
        );
        for (kind, v) in r.measures.iter() {
            let _ = write!(body, ",{kind}={v:?}");
        }
        let _ = writeln!(body, " {}", r.tstamp.millis());
    }
    body
}

fn failed(what: &str, e: impl std::fmt::Display) -> RegistryError {
    RegistryError::Influx(format!("{what}: {e}"))
}

#[derive(Deserialize)]
#[serde(bound = "S: serde::de::DeserializeOwned")]
struct QueryResponse<S> {
    #[serde(default = "Vec::new")]
    results: Vec<StatementResult<S>>,
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(bound = "S: serde::de::DeserializeOwned")]
struct StatementResult<S> {
    #[serde(default = "Vec::new")]
    series: Vec<S>,
    error: Option<String>,
}

/// A series of an answer with several columns, the time first.
#[derive(Deserialize)]
struct Rows {
    #[serde(default)]
    values: Vec<Vec<Option<f64>>>,
}

#[derive(Deserialize)]
struct Series {
    #[serde(default)]
    tags: std::collections::HashMap<String, String>,
    #[serde(default)]
    values: Vec<(i64, Option<f64>)>,
}

impl InfluxReadings {
    pub fn new(url: &str, org: &str, bucket: &str, token: &str) -> Self {
        let url = url.trim_end_matches('/').to_owned();
        Self {
            client: influxdb2::Client::new(&url, org, token),
            http: reqwest::Client::new(),
            url,
            org: org.to_owned(),
            bucket: bucket.to_owned(),
            token: token.to_owned(),
        }
    }

    /// Stores `readings` in one write. InfluxDB cannot tell new points from replaced
    /// ones, so all count as new.
    pub async fn insert(&self, readings: &[Reading]) -> Result<u64, RegistryError> {
        if readings.is_empty() {
            return Ok(0);
        }
        self.client
            .write_line_protocol_with_precision(
                &self.org,
                &self.bucket,
                line_protocol(readings),
                TimestampPrecision::Milliseconds,
            )
            .await
            .map_err(|e| failed("write", e))?;
        Ok(readings.len() as u64)
    }

    /// Whether the server answers `/ping`.
    pub async fn ping(&self) -> Result<(), RegistryError> {
        let res = self.http.get(format!("{}/ping", self.url)).send().await.map_err(|e| failed("ping", e))?;
        if res.status().is_success() { Ok(()) } else { Err(failed("ping", res.status())) }
    }

    async fn query(&self, q: &str) -> Result<Vec<Series>, RegistryError> {
        self.query_as(q).await
    }

    /// [`InfluxReadings::query`] for rows of several columns (the time first), any of
    /// them empty.
    async fn query_rows(&self, q: &str) -> Result<Vec<Rows>, RegistryError> {
        self.query_as(q).await
    }

    async fn query_as<S: serde::de::DeserializeOwned>(&self, q: &str) -> Result<Vec<S>, RegistryError> {
        let res = self
            .http
            .get(format!("{}/query", self.url))
            .header("Authorization", format!("Token {}", self.token))
            .query(&[("db", self.bucket.as_str()), ("epoch", "ms"), ("q", q)])
            .send()
            .await
            .map_err(|e| failed("query", e))?;
        let status = res.status();
        let body: QueryResponse<S> = res.json().await.map_err(|e| failed(&format!("query ({status})"), e))?;
        if let Some(e) = body.error {
            return Err(failed("query", e));
        }
        let mut series = Vec::new();
        for result in body.results {
            if let Some(e) = result.error {
                return Err(failed("query", e));
            }
            series.extend(result.series);
        }
        Ok(series)
    }

    /// One session's readings in time order (at most [`MAX_READINGS`]).
    pub async fn readings(&self, client_id: &ClientId, session_id: &SessionId) -> Result<Vec<Reading>, RegistryError> {
        // Ids only hold `A-Z a-z 0-9 _ -`: safe inside InfluxQL string literals.
        let q = format!(
            "SELECT value FROM {MEASUREMENT} WHERE client_id = '{client_id}' AND session_id = '{session_id}' \
             ORDER BY time ASC LIMIT {MAX_READINGS}"
        );
        let bad = |what: &str, e: &dyn std::fmt::Display| failed("answer", format!("stored {what} is invalid: {e}"));
        let mut readings = Vec::new();
        for series in self.query(&q).await? {
            for (time, value) in series.values {
                let Some(value) = value else { continue };
                let tstamp = u64::try_from(time)
                    .map_err(|e| bad("time", &e))
                    .and_then(|t| Timestamp::from_millis(t).map_err(|e| bad("time", &e)))?;
                let value = Grams::new(value).map_err(|e| bad("value", &e))?;
                readings.push(Reading::new(*client_id, *session_id, value, tstamp));
            }
        }
        Ok(readings)
    }

    /// One session's series beside the weight, from the measures its readings carried,
    /// each in time order.
    pub async fn series(
        &self,
        client_id: &ClientId,
        session_id: &SessionId,
    ) -> Result<Vec<crate::series::Series>, RegistryError> {
        use crate::series::{Series as Points, SeriesKind};
        let columns: Vec<&str> = SeriesKind::ALL.iter().map(|k| k.as_str()).collect();
        let q = format!(
            "SELECT {} FROM {MEASUREMENT} WHERE client_id = '{client_id}' AND session_id = '{session_id}' \
             ORDER BY time ASC LIMIT {MAX_READINGS}",
            columns.join(", ")
        );
        let mut points: Vec<Vec<(u64, f64)>> = vec![Vec::new(); SeriesKind::ALL.len()];
        for series in self.query_rows(&q).await? {
            for row in series.values {
                let Some(&Some(time)) = row.first() else { continue };
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // whole ms since 1970
                let time = time as u64;
                for (i, v) in row.iter().skip(1).enumerate().take(SeriesKind::ALL.len()) {
                    if let Some(v) = v {
                        points[i].push((time, *v));
                    }
                }
            }
        }
        Ok(SeriesKind::ALL.into_iter().zip(points).filter_map(|(kind, p)| Points::from_points(kind, p)).collect())
    }

    /// A device's sessions, newest first by start, at most `limit`; `before` (ms) pages back.
    pub async fn session_ids(
        &self,
        client_id: &ClientId,
        limit: u32,
        before: Option<u64>,
    ) -> Result<Vec<SessionId>, RegistryError> {
        let q = format!("SELECT first(value) FROM {MEASUREMENT} WHERE client_id = '{client_id}' GROUP BY session_id");
        let mut starts: Vec<(u64, SessionId)> = Vec::new();
        for series in self.query(&q).await? {
            let (Some(session), Some((time, _))) = (series.tags.get("session_id"), series.values.first()) else {
                continue;
            };
            let (Ok(session), Ok(start)) = (SessionId::parse(session), u64::try_from(*time)) else { continue };
            if before.is_none_or(|b| start < b) {
                starts.push((start, session));
            }
        }
        starts.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.as_str().cmp(b.1.as_str())));
        starts.truncate(limit.min(MAX_SESSIONS) as usize);
        Ok(starts.into_iter().map(|(_, id)| id).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_become_one_point_each() {
        let readings: Vec<Reading> = [
            "client_id=s1;session_id=b;value=18.25;tstamp=1763805600123",
            "client_id=s1;session_id=b;value=-1;tstamp=1",
        ]
        .iter()
        .map(|l| wages_codec::decode_line(l.as_bytes()).expect("valid"))
        .collect();
        assert_eq!(
            line_protocol(&readings),
            "readings,client_id=s1,session_id=b value=18.25 1763805600123\nreadings,client_id=s1,session_id=b value=-1.0 1\n"
        );
    }
}
