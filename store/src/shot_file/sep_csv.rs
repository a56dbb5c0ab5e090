//! Smart Espresso Profiler's CSV (also written by Pressensor and Coffee Flow): a header
//! row, `meta` rows (`metatype`, `metadata`) with what was brewed, and `moment` rows,
//! each one kind of sample (`comment`: `sample: weight`, `sample: pressure`,
//! `sample: temperature`) at `elapsed` seconds.

use super::{ImportedShot, ShotFormat};
use crate::brew::{Method, ShotDetails};
use crate::error::RegistryError;
use crate::series::{Series, SeriesKind};

pub(super) fn shot(text: &str) -> Result<ImportedShot, RegistryError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| csv_error(&e))?.clone();
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    let need = |name: &str| {
        column(name).ok_or_else(|| RegistryError::invalid("file", format!("line 1: expected a column {name}")))
    };
    let (kind, elapsed, metatype, metadata, comment) =
        (need("information_type")?, need("elapsed")?, need("metatype")?, need("metadata")?, need("comment")?);
    let (weight, pressure, temperature) =
        (column("current_total_shot_weight"), column("pressure"), column("water_temperature_in"));
    let mut meta: Vec<(String, String)> = Vec::new();
    let (mut weights, mut pressures, mut temperatures) = (Vec::new(), Vec::new(), Vec::new());
    for row in reader.records() {
        let row = row.map_err(|e| csv_error(&e))?;
        let cell = |i: usize| row.get(i).map(str::trim).unwrap_or_default();
        let number = |i: Option<usize>| i.and_then(|i| cell(i).parse::<f64>().ok()).filter(|v| v.is_finite());
        match cell(kind) {
            "meta" if !cell(metadata).is_empty() => meta.push((cell(metatype).to_owned(), cell(metadata).to_owned())),
            "moment" => {
                let Some(at) = number(Some(elapsed)).filter(|s| *s >= 0.0) else { continue };
                let target = match cell(comment) {
                    "sample: weight" => (&mut weights, number(weight)),
                    "sample: pressure" => (&mut pressures, number(pressure)),
                    "sample: temperature" => (&mut temperatures, number(temperature)),
                    _ => continue,
                };
                if let (list, Some(v)) = target {
                    list.push((at, v));
                }
            }
            _ => {}
        }
    }
    let get = |key: &str| meta.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let date =
        get("Date").ok_or_else(|| RegistryError::invalid("Date", "must be the shot's date and time (a meta row)"))?;
    let start = super::iso_millis(&date)
        .or_else(|| super::iso_millis(&format!("{date}Z")))
        .ok_or_else(|| RegistryError::invalid("Date", "must be a date and time as 2023-04-07T09:02:31.765"))?;
    let at = |s: f64| start + super::round_i64(s * 1000.0).unsigned_abs();
    let mut samples: Vec<(u64, f64)> =
        weights.iter().filter(|(_, g)| wages_codec::Grams::new(*g).is_ok()).map(|(s, g)| (at(*s), *g)).collect();
    samples.sort_by_key(|s| s.0);
    let samples = super::dedupe(samples);
    let series = [(SeriesKind::Pressure, &pressures), (SeriesKind::WaterTemperature, &temperatures)]
        .into_iter()
        .filter_map(|(kind, points)| Series::from_points(kind, points.iter().map(|(s, v)| (at(*s), *v))))
        .collect::<Vec<_>>();
    super::check_count("sample: weight", samples.len().max(series.iter().map(|s| s.points.len()).max().unwrap_or(0)))?;
    let grinder = [get("Grinder Brand"), get("Grinder Model")].into_iter().flatten().collect::<Vec<_>>().join(" ");
    let positive = |key: &str| get(key).and_then(|v| v.parse::<f64>().ok()).filter(|v| v.is_finite() && *v > 0.0);
    // What has no field of its own (the machine, the app) stays in the notes, a line each.
    let known = [
        "Name",
        "Date",
        "Roastery",
        "Beans",
        "Description",
        "Roast Color",
        "Roasting Date",
        "Operator",
        "Grinder Brand",
        "Grinder Model",
        "Grinder Setting",
        "Dose",
        "Weight",
        "Tds",
    ];
    let notes =
        meta.iter().filter(|(k, _)| !known.contains(&k.as_str())).map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>();
    let details = ShotDetails {
        method: Some(Method::Espresso),
        grinder: Some(grinder).filter(|g| !g.is_empty()),
        grind_setting: get("Grinder Setting"),
        dose: positive("Dose"),
        yield_grams: positive("Weight"),
        tds: positive("Tds"),
        notes: Some(notes.join("\n")).filter(|n| !n.is_empty()),
        brewed_by: get("Operator").filter(|o| o.chars().count() <= crate::brew::MAX_SHORT_TEXT),
        ..ShotDetails::default()
    };
    let paths = [
        ("grinder", "Grinder Model".to_owned()),
        ("grind_setting", "Grinder Setting".to_owned()),
        ("dose", "Dose".to_owned()),
        ("yield", "Weight".to_owned()),
        ("tds", "Tds".to_owned()),
    ];
    let details = details.check().map_err(|e| super::rename(e, &paths))?;
    let beans = super::named_beans(
        (get("Roastery"), get("Beans")),
        get("Roast Color").as_deref(),
        get("Roasting Date"),
        get("Description"),
        ["Roastery", "Beans", "Description"],
    )?;
    Ok(ImportedShot {
        format: ShotFormat::SepCsv,
        session_id: Some(format!("sep-{}", start / 1000)),
        samples,
        series,
        details,
        beans,
        span: None,
    })
}

fn csv_error(e: &csv::Error) -> RegistryError {
    let line = e.position().map_or(String::new(), |p| format!("line {}: ", p.line()));
    RegistryError::invalid("file", format!("{line}is not a CSV row: {e}"))
}
