//! Wages's own exports, read back: the JSON export (the shot as the API gives it, with
//! `readings` and `series`) and the CSV export (`client_id,session_id,value,tstamp`, then
//! a column per series). A shot exported from one Wages and imported into another is
//! the same shot.

use serde_json::Value;

use super::{Channel, Fields, ImportedShot, ShotFormat, check_count, dedupe, grams_rule, number, whole_ms};
use crate::brew::{BeansInput, ShotDetails};
use crate::error::RegistryError;
use crate::series::{Series, SeriesKind};

/// The first line of the CSV export.
pub(super) const CSV_HEADER: &str = "client_id,session_id,value,tstamp";

/// Whether a JSON object is the JSON export.
pub(super) fn is_json_export(root: &Fields) -> bool {
    ["client_id", "session_id", "readings", "started_at"].iter().all(|k| root.map.contains_key(*k))
}

pub(super) fn json_shot(root: &Fields) -> Result<ImportedShot, RegistryError> {
    let session_id = root.text("session_id")?.filter(|s| wages_codec::SessionId::parse(s).is_ok());
    let readings = super::objects(root, "readings").or_else(|e| match root.array("readings") {
        // A shot from a machine without a scale has no readings.
        Ok(Some([])) => Ok(Vec::new()),
        _ => Err(e),
    })?;
    let mut samples = Vec::with_capacity(readings.len());
    for r in &readings {
        let at =
            r.number("tstamp")?.ok_or_else(|| RegistryError::invalid(&r.at("tstamp"), "must be ms since the epoch"))?;
        let at = whole_ms(at, &r.at("tstamp"))?;
        let grams = r
            .number("value")?
            .and_then(|g| wages_codec::Grams::new(g).ok())
            .ok_or_else(|| RegistryError::invalid(&r.at("value"), grams_rule()))?;
        samples.push((at, grams.get()));
    }
    samples.sort_by_key(|s| s.0);
    let samples = dedupe(samples);
    let mut series = Vec::new();
    for s in super::objects(root, "series").or_else(|e| match root.array("series") {
        Ok(None | Some([])) => Ok(Vec::new()),
        _ => Err(e),
    })? {
        let kind = s.text("kind")?.unwrap_or_default();
        let kind = SeriesKind::parse(&kind).ok_or_else(|| {
            RegistryError::invalid(
                &s.at("kind"),
                "must be pressure, flow, water_temperature, basket_temperature or water_dispensed",
            )
        })?;
        let points = s.array("points")?.unwrap_or(&[]);
        check_count(&s.at("points"), points.len())?;
        let points = points.iter().filter_map(|p| {
            let p = p.as_array()?;
            Some((p.first()?.as_u64()?, number(p.get(1)?)?))
        });
        series.extend(Series::from_points(kind, points));
    }
    series.sort_by_key(|s| s.kind);
    // The details are our own fields, by our own names; who edited it last is this
    // server's to record.
    let details: ShotDetails = serde_json::from_value(Value::Object(root.map.clone()))
        .map_err(|e| RegistryError::invalid("file", format!("is a Wages export with a field out of shape: {e}")))?;
    let details = ShotDetails { beans_id: None, edited_by: None, edited_at: None, ..details }.check()?;
    let beans = match root.object("beans")? {
        Some(b) => {
            let mut known = b.map.clone();
            known.retain(|k, _| {
                ["roaster", "name", "origin", "process", "roast_level", "roast_date", "notes", "archived"]
                    .contains(&k.as_str())
            });
            let input: BeansInput = serde_json::from_value(Value::Object(known))
                .map_err(|e| RegistryError::invalid(&b.path, format!("must be beans: {e}")))?;
            Some(input.check()?)
        }
        None => None,
    };
    let span = (samples.is_empty() && series.is_empty())
        .then(|| Some((root.number("started_at").ok()??, root.number("ended_at").ok()??)))
        .flatten()
        .and_then(|(s, e)| Some((whole_ms(s, "started_at").ok()?, whole_ms(e, "ended_at").ok()?)))
        .filter(|(s, e)| s <= e);
    if samples.is_empty() && series.is_empty() && span.is_none() {
        return Err(RegistryError::invalid("readings", "must have at least one sample"));
    }
    Ok(ImportedShot { format: ShotFormat::Wages, session_id, samples, series, details, beans, span })
}

/// The CSV export: the weight (`value`) and every series column on the row's `tstamp`
/// (ms since the epoch); an empty cell is no value there.
pub(super) fn csv_shot(text: &str) -> Result<ImportedShot, RegistryError> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| csv_error(&e))?.clone();
    let mut columns: Vec<(Channel, Vec<Option<f64>>)> = vec![(Channel::Weight, Vec::new())];
    for name in headers.iter().skip(4) {
        let kind = SeriesKind::parse(name)
            .ok_or_else(|| RegistryError::invalid("file", format!("line 1: {name:?} is not a series Wages keeps")))?;
        columns.push((Channel::Series(kind, 1.0), Vec::new()));
    }
    let (mut times, mut session_id) = (Vec::new(), None);
    for (i, row) in reader.records().enumerate() {
        let row = row.map_err(|e| csv_error(&e))?;
        let line = i + 2;
        check_count("file", i + 1)?;
        if session_id.is_none() {
            session_id = row.get(1).filter(|s| wages_codec::SessionId::parse(s).is_ok()).map(str::to_owned);
        }
        let cell = |c: usize| -> Result<Option<f64>, RegistryError> {
            match row.get(c).map(str::trim).unwrap_or_default() {
                "" => Ok(None),
                v => v.parse::<f64>().map(Some).map_err(|_| {
                    RegistryError::invalid("file", format!("line {line}, column {}: {v:?} is not a number", c + 1))
                }),
            }
        };
        let at = cell(3)?.ok_or_else(|| RegistryError::invalid("file", format!("line {line}: tstamp is empty")))?;
        times.push(Some(at / 1000.0));
        for (c, (_, values)) in columns.iter_mut().enumerate() {
            values.push(if c == 0 { cell(2)? } else { cell(c + 3)? });
        }
    }
    let start = times.iter().flatten().fold(f64::INFINITY, |a, t| a.min(*t));
    if !start.is_finite() {
        return Err(RegistryError::invalid("file", "has no rows"));
    }
    // Seconds from the first row, which TimedSeries puts back on the epoch.
    let start_ms = whole_ms((start * 1000.0).floor(), "tstamp")?;
    let offsets: Vec<Option<f64>> = times.iter().map(|t| t.map(|t| t - start_ms as f64 / 1000.0)).collect();
    let timed = super::TimedSeries::from_columns(start_ms, &offsets, "tstamp", columns)?;
    Ok(ImportedShot {
        format: ShotFormat::Wages,
        session_id,
        samples: timed.weight,
        series: timed.series,
        details: ShotDetails::default(),
        beans: None,
        span: None,
    })
}

fn csv_error(e: &csv::Error) -> RegistryError {
    let line = e.position().map_or(String::new(), |p| format!("line {}: ", p.line()));
    RegistryError::invalid("file", format!("{line}is not a row of Wages's CSV: {e}"))
}
