//! Shots in and out as files other coffee apps write and read. In: every format
//! Visualizer.coffee imports, recognised by what the file holds (not its name), one
//! module each: Beanconqueror's brew export, Visualizer's own shot JSON, the Decent
//! DE1's `.shot` (Tcl lists, also pyDE1's) and JSON shots, Gaggiuino, GaggiMate,
//! Meticulous, and the CSV of Smart Espresso Profiler (and Pressensor, Coffee Flow); and
//! Wages's own JSON and CSV exports. A whole Beanconqueror backup is read by [`Backup`].
//! Out: Beanconqueror's brew export with every series. Pure: the API and the import
//! page share it.

use serde_json::{Map, Value, json};
use wages_codec::{Grams, Reading};

use crate::brew::{BeansInput, Method, ROAST_LEVELS, Shot, ShotDetails, days_from_date};
use crate::error::RegistryError;
use crate::series::{Series, SeriesKind};

pub use backup::{Backup, BackupBrew, MAX_BACKUP_BREWS, MAX_BACKUP_BYTES};

mod backup;
mod beanconqueror;
mod decent;
mod gaggimate;
mod gaggiuino;
mod meticulous;
mod sep_csv;
mod tcl;
mod visualizer;
mod wages;

/// Largest file an import reads: a long filter brew with every series at 10 Hz is a few
/// megabytes.
pub const MAX_IMPORT_BYTES: usize = 10 * 1024 * 1024;
/// Most samples one series of an imported shot may have (over an hour at 10 Hz).
pub const MAX_IMPORT_SAMPLES: usize = 50_000;

const DAY_MS: u64 = 86_400_000;

/// Which app's file a shot came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShotFormat {
    Beanconqueror,
    Visualizer,
    /// The DE1 app's `.shot` file (Tcl lists), or pyDE1's.
    DecentTcl,
    /// The DE1 app's JSON shot (version 2).
    DecentJson,
    Gaggiuino,
    Gaggimate,
    Meticulous,
    /// Smart Espresso Profiler's CSV, also written by Pressensor and Coffee Flow.
    SepCsv,
    /// Wages's own JSON or CSV export.
    Wages,
}

impl ShotFormat {
    /// For people: "Decent DE1 .shot".
    pub fn label(self) -> &'static str {
        match self {
            ShotFormat::Beanconqueror => "Beanconqueror",
            ShotFormat::Visualizer => "Visualizer",
            ShotFormat::DecentTcl => "Decent DE1 .shot",
            ShotFormat::DecentJson => "Decent DE1 JSON",
            ShotFormat::Gaggiuino => "Gaggiuino",
            ShotFormat::Gaggimate => "GaggiMate",
            ShotFormat::Meticulous => "Meticulous",
            ShotFormat::SepCsv => "Smart Espresso Profiler CSV",
            ShotFormat::Wages => "Wages",
        }
    }
}

/// A shot read from a file, checked: ready to store on a scale.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedShot {
    pub format: ShotFormat,
    /// The session id the file names, or one made from what it holds (its time), so the
    /// same file imported twice names the same shot; `None` only when neither is usable.
    pub session_id: Option<String>,
    /// The weight curve: ms since the epoch and grams, in time order, one per ms; empty
    /// when the file has other series but no weight.
    pub samples: Vec<(u64, f64)>,
    /// The other series the file carries (pressure, flow, temperatures, water).
    pub series: Vec<Series>,
    /// What was brewed (its `beans_id` is left to the library lookup).
    pub details: ShotDetails,
    /// The beans, to find in the library or add to it.
    pub beans: Option<BeansInput>,
    /// When the file has no curve at all (a brew written down, not recorded): its start
    /// and end, ms since the epoch, from the file's time and duration.
    pub span: Option<(u64, u64)>,
}

// Export ------------------------------------------------------------------------------

/// The shot as Beanconqueror's brew export, with every series: pressure, water
/// temperature and water dispensed where Beanconqueror keeps them, the machine's flow and
/// the basket's temperature (which it has no place for) in `meta.wages.series`.
pub fn beanconqueror(shot: &Shot, readings: &[Reading], series: &[Series]) -> Value {
    let d = &shot.details;
    let start = readings.first().map_or(shot.summary.started_at, |r| r.tstamp.millis());
    let mut previous = 0.0;
    let weight: Vec<Value> = readings
        .iter()
        .map(|r| {
            let (t, grams) = (r.tstamp.millis(), r.value.get());
            let sample = json!({
                "timestamp": time_of_day(t),
                "brew_time": format!("{:.3}", seconds(t.saturating_sub(start))),
                "actual_weight": grams,
                "old_weight": previous,
                "actual_smoothed_weight": grams,
                "old_smoothed_weight": previous,
                "not_mutated_weight": grams,
            });
            previous = grams;
            sample
        })
        .collect();
    let bean = shot.beans.as_ref().map_or_else(
        || json!({}),
        |b| {
            json!({
                "name": b.name,
                "roaster": b.roaster,
                "roast": b.roast_level.as_deref().unwrap_or("UNKNOWN"),
                "roastingDate": b.roast_date.as_ref().map_or(String::new(), |d| format!("{d}T00:00:00.000Z")),
                "note": b.notes.as_deref().unwrap_or(""),
                "bean_information": [{
                    "country": b.origin.as_deref().unwrap_or(""),
                    "processing": b.process.as_deref().unwrap_or(""),
                }],
            })
        },
    );
    let duration = shot.summary.duration_ms;
    json!({
        "bean": bean,
        "mill": d.grinder.as_ref().map_or_else(|| json!({}), |g| json!({ "name": g })),
        "preparation": d.method.map_or_else(|| json!({}), |m| json!({ "name": m.label() })),
        "water": {},
        "brew": {
            "grind_size": d.grind_setting.as_deref().unwrap_or(""),
            "grind_weight": d.dose.unwrap_or(0.0),
            "brew_beverage_quantity": shot.effective_yield,
            "brew_beverage_quantity_type": "GR",
            "brew_temperature": d.water_temp.unwrap_or(0.0),
            "brew_time": duration / 1000,
            "brew_time_milliseconds": duration % 1000,
            "note": d.notes.as_deref().unwrap_or(""),
            "rating": d.rating.map_or(0.0, rating_to_five),
            "tds": d.tds.unwrap_or(0.0),
            "ey": shot.extraction_yield.unwrap_or(0.0),
            "favourite": d.starred,
            "config": { "uuid": shot.summary.session_id.as_str(), "unix_timestamp": start / 1000 },
        },
        "brewFlow": brew_flow(weight, series, start),
        "meta": { "wages": {
            "client_id": shot.summary.client_id.as_str(),
            "session_id": shot.summary.session_id.as_str(),
            "method": d.method.map(Method::as_str),
            "target_yield": d.target_yield,
            "yield": d.yield_grams,
            "rating": d.rating,
            "tags": d.tags,
            "series": series
                .iter()
                .filter(|s| !BEANCONQUEROR_SERIES.iter().any(|(_, kind, _)| *kind == s.kind))
                .map(|s| (s.kind.as_str().to_owned(), json!(s.points)))
                .collect::<Map<String, Value>>(),
        }},
    })
}

/// The series Beanconqueror keeps in `brewFlow`, and the field of a sample's value.
const BEANCONQUEROR_SERIES: [(&str, SeriesKind, &str); 3] = [
    ("pressureFlow", SeriesKind::Pressure, "actual_pressure"),
    ("temperatureFlow", SeriesKind::WaterTemperature, "actual_temperature"),
    ("waterDispensed", SeriesKind::WaterDispensed, "actual"),
];

/// `brewFlow`: the weight's samples and those of the series Beanconqueror keeps.
fn brew_flow(weight: Vec<Value>, series: &[Series], start: u64) -> Value {
    let mut flow = Map::new();
    flow.insert("weight".into(), Value::Array(weight));
    for (key, kind, field) in BEANCONQUEROR_SERIES {
        let points = series.iter().find(|s| s.kind == kind).map_or(&[][..], |s| &s.points[..]);
        let mut previous = 0.0;
        let samples = points
            .iter()
            .map(|&(t, v)| {
                let old = field.replacen("actual", "old", 1);
                let sample = json!({
                    "timestamp": time_of_day(t),
                    "brew_time": format!("{:.3}", seconds(t.saturating_sub(start))),
                    field: v,
                    old: previous,
                });
                previous = v;
                sample
            })
            .collect();
        flow.insert(key.into(), Value::Array(samples));
    }
    Value::Object(flow)
}

#[allow(clippy::cast_precision_loss)] // a shot's milliseconds are far below 2^53
fn seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

#[allow(clippy::cast_precision_loss)] // ratings are 0 to 100
fn rating_to_five(rating: i64) -> f64 {
    rating as f64 / 20.0
}

/// `HH:mm:ss.SSS` in UTC, as Beanconqueror writes a sample's time.
fn time_of_day(ms: u64) -> String {
    let of_day = ms % DAY_MS;
    let (h, m, s, milli) = (of_day / 3_600_000, of_day / 60_000 % 60, of_day / 1000 % 60, of_day % 1000);
    format!("{h:02}:{m:02}:{s:02}.{milli:03}")
}

// Import ------------------------------------------------------------------------------

/// Reads a shot file of any format Wages knows, telling them apart by what they hold;
/// each problem names its place in the file (`brewFlow.weight[3].actual_weight`, or a
/// line).
pub fn parse(bytes: &[u8]) -> Result<ImportedShot, RegistryError> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(RegistryError::invalid("file", format!("must be at most {} MiB", MAX_IMPORT_BYTES / 1024 / 1024)));
    }
    if backup::is_zip(bytes) {
        return Err(RegistryError::invalid("file", BACKUP_HINT));
    }
    // Older DE1 apps wrote bytes that are not UTF-8 into a `.shot`'s machine block.
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with('{') {
        return json_shot(text);
    }
    let first_word = text.split_whitespace().next().unwrap_or_default();
    match first_word {
        "clock" | "sequence_id" | "filename" | "local_time" => decent::tcl_shot(text),
        _ if text.starts_with("information_type") => sep_csv::shot(text),
        _ if text.starts_with(wages::CSV_HEADER) => wages::csv_shot(text),
        _ => Err(RegistryError::invalid("file", format!("is not a shot file Wages reads: {}", KNOWN))),
    }
}

/// A backup posted as one shot.
const BACKUP_HINT: &str = "is a zip: a Beanconqueror backup (Beanconqueror.zip) is imported whole through \
    POST /api/shots/import/backup, or on the import page";

/// The formats, for an error that says what a file could have been.
const KNOWN: &str = "a Beanconqueror brew, a Visualizer shot, a Decent DE1 .shot or JSON shot, a pyDE1 shot, \
    a Gaggiuino, GaggiMate or Meticulous shot, a Smart Espresso Profiler / Pressensor CSV, or a Wages JSON or CSV export";

fn json_shot(text: &str) -> Result<ImportedShot, RegistryError> {
    // The DE1 app has written raw line breaks and tabs inside strings (a profile's notes),
    // which JSON does not allow: without control characters, such a file reads.
    let value: Value = serde_json::from_str(text)
        .or_else(|e| {
            let cleaned: String = text.chars().filter(|c| !c.is_control()).collect();
            serde_json::from_str(&cleaned).map_err(|_| e)
        })
        .map_err(|e| {
            RegistryError::invalid("file", format!("line {}, column {}: is not JSON: {e}", e.line(), e.column()))
        })?;
    let Some(root) = value.as_object() else {
        return Err(RegistryError::invalid("file", "must be a JSON object"));
    };
    let root = Fields { map: root, path: String::new() };
    let has = |k: &str| root.map.contains_key(k);
    if has("BREWS") {
        return Err(RegistryError::invalid("file", BACKUP_HINT.replacen("is a zip", "is Beanconqueror.json", 1)));
    }
    if wages::is_json_export(&root) {
        wages::json_shot(&root)
    } else if has("brew") || has("brewFlow") || has("mill") {
        beanconqueror::shot(&root)
    } else if has("datapoints") {
        gaggiuino::shot(&root)
    } else if has("samples") {
        gaggimate::shot(&root)
    } else if has("profile_name") && has("data") {
        meticulous::shot(&root)
    } else if has("elapsed") && (has("totals") || has("pressure")) {
        decent::json_shot(&root)
    } else if ["timeframe", "espresso_enjoyment", "bean_brand", "start_time"].iter().any(|k| has(k)) {
        visualizer::shot(&root)
    } else {
        Err(RegistryError::invalid("file", format!("is JSON, but not a shot file Wages reads: {KNOWN}")))
    }
}

/// Which of the weight or a series a file's column is, for [`TimedSeries`].
#[derive(Clone, Copy, Debug)]
enum Channel {
    Weight,
    /// A series, and what the file's values are multiplied by.
    Series(SeriesKind, f64),
}

/// A shot's curves from columns on one time frame (seconds from `start`, ms since the
/// epoch), as machines write them.
struct TimedSeries {
    start: u64,
    weight: Vec<(u64, f64)>,
    series: Vec<Series>,
}

impl TimedSeries {
    /// Columns may be shorter or longer than the times (extra values are dropped); an
    /// empty value, a time that is missing, negative or before the last one, and a value
    /// out of its series' range are left out. Unusable only when nothing is left.
    fn from_columns(
        start: u64,
        times: &[Option<f64>],
        times_field: &str,
        columns: Vec<(Channel, Vec<Option<f64>>)>,
    ) -> Result<TimedSeries, RegistryError> {
        check_count(times_field, times.len())?;
        let at: Vec<Option<u64>> = times
            .iter()
            .map(|t| {
                t.filter(|s| s.is_finite() && *s >= 0.0 && *s < 86_400.0)
                    .map(|s| start + round_i64(s * 1000.0).unsigned_abs())
            })
            .collect();
        let (mut weight, mut series) = (Vec::new(), Vec::new());
        for (channel, values) in columns {
            let points = at.iter().zip(&values).filter_map(|(t, v)| Some(((*t)?, (*v)?)));
            match channel {
                Channel::Weight => {
                    let mut w: Vec<(u64, f64)> = points.filter(|(_, g)| Grams::new(*g).is_ok()).collect();
                    w.sort_by_key(|p| p.0);
                    weight = dedupe(w);
                }
                Channel::Series(kind, scale) => {
                    series.extend(Series::from_points(kind, points.map(|(t, v)| (t, v * scale))));
                }
            }
        }
        if weight.is_empty() && series.is_empty() {
            return Err(RegistryError::invalid(times_field, "has no sample with a time and a value"));
        }
        Ok(TimedSeries { start, weight, series })
    }
}

/// A shot from a machine's own file (an espresso; no beans or recipe in it), named
/// `{prefix}-{id}` when the file's id makes a session id, else by its time.
fn machine_shot(format: ShotFormat, prefix: &str, id: Option<String>, timed: TimedSeries) -> ImportedShot {
    let session_id = id
        .map(|id| format!("{prefix}-{id}"))
        .filter(|s| wages_codec::SessionId::parse(s).is_ok())
        .unwrap_or_else(|| format!("{prefix}-{}", timed.start / 1000));
    ImportedShot {
        format,
        session_id: Some(session_id),
        samples: timed.weight,
        series: timed.series,
        details: ShotDetails { method: Some(Method::Espresso), ..ShotDetails::default() },
        beans: None,
        span: None,
    }
}

/// `key` of `root`: seconds since the epoch (a number or its text), in milliseconds.
fn epoch_ms(root: &Fields, key: &str) -> Result<u64, RegistryError> {
    root.number(key)?
        .filter(|s| *s > 946_684_800.0 && *s < 253_402_300_800.0)
        .map(|s| (s * 1000.0).floor())
        .map(|ms| whole_ms(ms, &root.at(key)))
        .transpose()?
        .ok_or_else(|| RegistryError::invalid(&root.at(key), "must be the shot's time in seconds since the epoch"))
}

/// `key` of `root`: an array of objects (points), each with its path.
fn objects<'a>(root: &Fields<'a>, key: &str) -> Result<Vec<Fields<'a>>, RegistryError> {
    let items = root.array(key)?.unwrap_or(&[]);
    check_count(&root.at(key), items.len())?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(map) => Ok(Fields { map, path: format!("{}[{i}]", root.at(key)) }),
            _ => Err(RegistryError::invalid(&format!("{}[{i}]", root.at(key)), "must be an object")),
        })
        .collect()
}

/// The beans a file names by roaster and name (either may be missing, not both), with
/// its roast level, roast date and notes as written; `fields`: the file's fields for
/// `roaster`, `name` and `notes`, to name them in a problem.
fn named_beans(
    (roaster, name): (Option<String>, Option<String>),
    roast: Option<&str>,
    date: Option<String>,
    mut notes: Option<String>,
    fields: [&str; 3],
) -> Result<Option<BeansInput>, RegistryError> {
    if roaster.is_none() && name.is_none() {
        return Ok(None);
    }
    let input = BeansInput {
        roaster: roaster.unwrap_or_else(|| "Unknown roaster".to_owned()),
        name: name.unwrap_or_else(|| "Unknown beans".to_owned()),
        roast_level: roast.and_then(roast_level),
        roast_date: roast_date(date, &mut notes),
        notes,
        ..BeansInput::default()
    };
    let paths = [("roaster", fields[0].to_owned()), ("name", fields[1].to_owned()), ("notes", fields[2].to_owned())];
    input.check().map(Some).map_err(|e| rename(e, &paths))
}

/// Beanconqueror's roast (its enum, or one of our levels), as our roast level.
fn roast_level(roast: &str) -> Option<String> {
    let level = roast.trim().to_lowercase().replace([' ', '_'], "-");
    if ROAST_LEVELS.contains(&level.as_str()) {
        return Some(level);
    }
    let mapped = match roast.trim().to_uppercase().as_str() {
        "CINNAMON_ROAST" | "AMERICAN_ROAST" | "NEW_ENGLAND_ROAST" => "light",
        "HALF_CITY_ROAST" | "MODERATE_LIGHT_ROAST" => "medium-light",
        "CITY_ROAST" | "CITY_PLUS_ROAST" => "medium",
        "FULL_CITY_ROAST" | "FULL_CITY_PLUS_ROAST" => "medium-dark",
        "ITALIAN_ROAST" | "VIEANNA_ROAST" | "VIENNA_ROAST" | "FRENCH_ROAST" => "dark",
        _ => return None,
    };
    Some(mapped.to_owned())
}

/// A roast date from the first ten characters of a date or an ISO time; other text
/// (a date as someone typed it) is kept in the notes rather than lost.
fn roast_date(raw: Option<String>, notes: &mut Option<String>) -> Option<String> {
    let raw = raw?;
    if let Some(date) = raw.get(..10).filter(|d| days_from_date(d).is_some()) {
        return Some(date.to_owned());
    }
    // 2021.09.11 or 2021/09/11, and the day first with dots as the DE1 app writes it: 11.09.2021.
    let parts: Vec<&str> = raw.trim().split(['.', '/', '-']).collect();
    let iso = match parts.as_slice() {
        [y, m, d] if y.len() == 4 && m.len() <= 2 && d.len() <= 2 => Some(format!("{y}-{m:0>2}-{d:0>2}")),
        [d, m, y] if y.len() == 4 && d.len() <= 2 && m.len() <= 2 && raw.contains('.') => {
            Some(format!("{y}-{m:0>2}-{d:0>2}"))
        }
        _ => None,
    };
    if let Some(date) = iso.filter(|d| days_from_date(d).is_some()) {
        return Some(date);
    }
    let line = format!("Roast date: {raw}");
    *notes = Some(notes.take().map_or(line.clone(), |n| format!("{n}\n{line}")));
    None
}

fn check_count(field: &str, n: usize) -> Result<(), RegistryError> {
    if n == 0 {
        return Err(RegistryError::invalid(field, "must have at least one sample"));
    }
    if n > MAX_IMPORT_SAMPLES {
        return Err(RegistryError::invalid(field, format!("must have at most {MAX_IMPORT_SAMPLES} samples, not {n}")));
    }
    Ok(())
}

/// Samples at the same millisecond: the last one is kept, as storage keeps one reading
/// per device, session and time.
fn dedupe(samples: Vec<(u64, f64)>) -> Vec<(u64, f64)> {
    let mut out: Vec<(u64, f64)> = Vec::with_capacity(samples.len());
    for s in samples {
        match out.last_mut() {
            Some(last) if last.0 == s.0 => *last = s,
            _ => out.push(s),
        }
    }
    out
}

fn grams_rule() -> &'static str {
    "must be a weight in grams between -10000 and 100000"
}

/// A non-negative whole number of milliseconds within the readings' time range.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
fn whole_ms(ms: f64, field: &str) -> Result<u64, RegistryError> {
    if ms.is_finite() && ms >= 0.0 && ms <= wages_codec::MAX_TSTAMP_MS as f64 {
        return Ok(ms.round() as u64);
    }
    Err(RegistryError::invalid(field, "is out of range"))
}

#[allow(clippy::cast_possible_truncation)] // callers bound the value to 0..=100
fn round_i64(v: f64) -> i64 {
    v.round() as i64
}

/// Ms of the day of `HH:mm:ss`, `HH:mm:ss.S…`.
fn parse_time_of_day(s: &str) -> Option<u64> {
    let (clock, fraction) = s.trim().split_once('.').map_or((s.trim(), ""), |(c, f)| (c, f));
    let mut parts = clock.split(':').map(|p| p.parse::<u64>().ok().filter(|_| p.len() == 2));
    let (h, m, sec) = (parts.next()??, parts.next()??, parts.next()??);
    if parts.next().is_some() || h > 23 || m > 59 || sec > 59 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let milli = format!("{fraction:0<3}").get(..3)?.parse::<u64>().ok()?;
    Some(((h * 60 + m) * 60 + sec) * 1000 + milli)
}

/// Ms since the epoch of an ISO 8601 time: `2026-12-02T08:30:00(.123)(Z|+01:00)`.
fn iso_millis(s: &str) -> Option<u64> {
    let s = s.trim();
    let days = days_from_date(s.get(..10)?)?;
    let rest = s.get(10..)?.strip_prefix(['T', ' '])?;
    let zone_at = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let of_day = parse_time_of_day(&rest[..zone_at])?;
    let zone = &rest[zone_at..];
    let offset_min: i64 = match zone.as_bytes().first() {
        None | Some(b'Z' | b'z') if zone.len() <= 1 => 0,
        Some(sign @ (b'+' | b'-')) => {
            let digits: String = zone[1..].chars().filter(char::is_ascii_digit).collect();
            if digits.len() != 4 {
                return None;
            }
            let (h, m): (i64, i64) = (digits[..2].parse().ok()?, digits[2..].parse().ok()?);
            if *sign == b'+' { h * 60 + m } else { -(h * 60 + m) }
        }
        _ => return None,
    };
    let ms = days * 86_400_000 + i64::try_from(of_day).ok()? - offset_min * 60_000;
    u64::try_from(ms).ok()
}

/// A field name of the pure rules (`dose`) replaced by the file's (`brew.grind_weight`).
fn rename(e: RegistryError, paths: &[(&str, String)]) -> RegistryError {
    match e {
        RegistryError::Invalid { field, message } => {
            let field = paths.iter().find(|(ours, _)| *ours == field).map_or(field, |(_, theirs)| theirs.clone());
            RegistryError::Invalid { field, message }
        }
        e => e,
    }
}

/// A number, or a string holding one (Visualizer writes weights as strings).
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// One object of the file, with its path for errors.
struct Fields<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

impl<'a> Fields<'a> {
    fn at(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_owned() } else { format!("{}.{key}", self.path) }
    }

    fn empty(&self, key: &str) -> Fields<'static> {
        Fields { map: &EMPTY, path: self.at(key) }
    }

    fn object(&self, key: &str) -> Result<Option<Fields<'a>>, RegistryError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Fields { map, path: self.at(key) })),
            Some(_) => Err(RegistryError::invalid(&self.at(key), "must be an object")),
        }
    }

    fn array(&self, key: &str) -> Result<Option<&'a [Value]>, RegistryError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(_) => Err(RegistryError::invalid(&self.at(key), "must be an array")),
        }
    }

    /// Text (a number is taken as its text); empty is `None`.
    fn text(&self, key: &str) -> Result<Option<String>, RegistryError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(RegistryError::invalid(&self.at(key), "must be text")),
        }
    }

    fn number(&self, key: &str) -> Result<Option<f64>, RegistryError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(v) => number(v).map(Some).ok_or_else(|| RegistryError::invalid(&self.at(key), "must be a number")),
        }
    }

    fn integer(&self, key: &str) -> Result<Option<i64>, RegistryError> {
        match self.number(key)? {
            #[allow(clippy::cast_possible_truncation)] // bounded just before
            Some(v) if v.fract() == 0.0 && (0.0..=100.0).contains(&v) => Ok(Some(v as i64)),
            Some(_) => Err(RegistryError::invalid(&self.at(key), "must be a whole number between 0 and 100")),
            None => Ok(None),
        }
    }

    fn boolean(&self, key: &str) -> Result<Option<bool>, RegistryError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(RegistryError::invalid(&self.at(key), "must be true or false")),
        }
    }

    fn strings(&self, key: &str) -> Result<Vec<String>, RegistryError> {
        let Some(items) = self.array(key)? else { return Ok(Vec::new()) };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                // Visualizer's older downloads list tags as objects with a name.
                Value::Object(o) if o.get("name").is_some_and(Value::is_string) => {
                    Ok(o["name"].as_str().unwrap_or_default().to_owned())
                }
                _ => Err(RegistryError::invalid(&format!("{}[{i}]", self.at(key)), "must be text")),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day_and_iso_times_parse() {
        assert_eq!(parse_time_of_day("08:30:05.250"), Some(30_605_250));
        assert_eq!(parse_time_of_day("23:59:59"), Some(DAY_MS - 1000));
        assert_eq!(parse_time_of_day("8:30:05"), None);
        assert_eq!(parse_time_of_day("24:00:00"), None);
        assert_eq!(time_of_day(1_764_664_205_250), "08:30:05.250");
        assert_eq!(iso_millis("2025-12-02T08:30:05.250Z"), Some(1_764_664_205_250));
        assert_eq!(iso_millis("2025-12-02T09:30:05.250+01:00"), Some(1_764_664_205_250));
        assert_eq!(iso_millis("2025-12-02 08:30:05"), Some(1_764_664_205_000));
        assert_eq!(iso_millis("yesterday"), None);
    }

    fn visualizer(extra: Value) -> Value {
        let mut shot = json!({
            "id": "7f6e5d4c-0000-4000-8000-000000000001",
            "start_time": "2025-12-02T08:30:00.000Z",
            "bean_brand": "Square Mile", "bean_type": "Red Brick", "roast_level": "Medium",
            "roast_date": "2025-11-20", "bean_weight": "18.0", "drink_weight": "36.4",
            "grinder_model": "Niche Zero", "grinder_setting": "14", "drink_tds": "9.1",
            "espresso_enjoyment": 80, "espresso_notes": "Sweet, a little short", "tags": ["morning"],
            "timeframe": ["0.0", "0.25", "0.5"],
            "data": { "espresso_weight": [0.0, 1.5, 3.25], "espresso_pressure": [0, 2, 9] },
        });
        if let (Some(shot), Value::Object(extra)) = (shot.as_object_mut(), extra) {
            shot.extend(extra);
        }
        shot
    }

    #[test]
    fn a_visualizer_shot_gives_its_curve_recipe_and_beans() {
        let shot = parse(visualizer(json!({})).to_string().as_bytes()).expect("parses");
        assert_eq!(shot.format, ShotFormat::Visualizer);
        assert_eq!(shot.samples, vec![(1_764_664_200_000, 0.0), (1_764_664_200_250, 1.5), (1_764_664_200_500, 3.25)]);
        let d = &shot.details;
        assert_eq!(
            (d.method, d.dose, d.yield_grams, d.tds, d.rating),
            (Some(Method::Espresso), Some(18.0), Some(36.4), Some(9.1), Some(80))
        );
        assert_eq!((d.grinder.as_deref(), d.grind_setting.as_deref()), (Some("Niche Zero"), Some("14")));
        assert_eq!(d.tags, vec!["morning"]);
        let beans = shot.beans.expect("beans");
        assert_eq!((beans.roaster.as_str(), beans.name.as_str()), ("Square Mile", "Red Brick"));
        assert_eq!((beans.roast_level.as_deref(), beans.roast_date.as_deref()), (Some("medium"), Some("2025-11-20")));
        assert_eq!(shot.session_id.as_deref(), Some("visualizer-7f6e5d4c-0000-4000-8000-000000000001"));
    }

    #[test]
    fn each_problem_names_the_files_field() {
        let problem = |extra: Value| match parse(visualizer(extra).to_string().as_bytes()) {
            Err(RegistryError::Invalid { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        };
        assert_eq!(problem(json!({"bean_weight": "-3"})), "bean_weight");
        assert_eq!(problem(json!({"bean_weight": "lots"})), "bean_weight");
        assert_eq!(problem(json!({"espresso_enjoyment": 400})), "espresso_enjoyment");
        assert_eq!(problem(json!({"timeframe": ["0", "x", "1"]})), "timeframe[1]");
        assert_eq!(problem(json!({"timeframe": ["0", "1"]})), "data.espresso_weight");
        assert_eq!(problem(json!({"data": {"espresso_weight": [0, 1e9, 2]}})), "data.espresso_weight[1]");
        assert_eq!(problem(json!({"start_time": "soon"})), "start_time");
        assert_eq!(problem(json!({"tags": ["ok", 3]})), "tags[1]");
        assert_eq!(problem(json!({"tags": ["no/slashes"]})), "tags");
        assert_eq!(problem(json!({"timeframe": [], "data": {"espresso_weight": []}})), "timeframe");
        let many: Vec<u32> = (0..=50_000).collect();
        assert_eq!(problem(json!({"timeframe": many, "data": {"espresso_weight": many}})), "timeframe");
        for junk in [&b"[1,2]"[..], b"{\"x\":1}", b"not json", &vec![b' '; MAX_IMPORT_BYTES + 1]] {
            assert!(matches!(parse(junk), Err(RegistryError::Invalid { field, .. }) if field == "file"));
        }
    }

    #[test]
    fn a_beanconqueror_export_without_wages_meta_reads_its_standard_fields() {
        let file = json!({
            "bean": { "name": "Red Brick", "roaster": "Square Mile", "roast": "CITY_ROAST", "roastingDate": "2025-11-20T07:00:00.000Z",
                      "bean_information": [{ "country": "Brazil", "processing": "Natural" }] },
            "mill": { "name": "Niche Zero" },
            "preparation": { "name": "My Linea", "type": "PORTAFILTER" },
            "water": {},
            "brew": { "grind_size": "14", "grind_weight": 18, "brew_beverage_quantity": 36, "brew_temperature": 93,
                      "rating": 4, "tds": 0, "note": "good", "favourite": true,
                      "config": { "uuid": "2b8c5f0e-6f2d-4d8a-9d1e-0c9f4f7b6a11", "unix_timestamp": 1_764_664_230 } },
            "brewFlow": { "weight": [
                { "timestamp": "09:29:59.900", "actual_weight": 0 },
                { "timestamp": "09:30:00.000", "actual_weight": 0.4 },
                { "timestamp": "09:30:00.100", "actual_weight": 0.9 } ] },
        });
        let shot = parse(file.to_string().as_bytes()).expect("parses");
        // The times of day are the phone's (an hour ahead here): only their steps count.
        assert_eq!(shot.samples, vec![(1_764_664_230_900, 0.0), (1_764_664_231_000, 0.4), (1_764_664_231_100, 0.9)]);
        let d = &shot.details;
        assert_eq!(
            (d.method, d.dose, d.yield_grams, d.water_temp, d.tds),
            (Some(Method::Espresso), Some(18.0), Some(36.0), Some(93.0), None)
        );
        assert_eq!((d.rating, d.starred, d.notes.as_deref()), (Some(80), true, Some("good")));
        let beans = shot.beans.expect("beans");
        assert_eq!((beans.origin.as_deref(), beans.process.as_deref()), (Some("Brazil"), Some("Natural")));
        assert_eq!((beans.roast_level.as_deref(), beans.roast_date.as_deref()), (Some("medium"), Some("2025-11-20")));
        assert_eq!(shot.session_id.as_deref(), Some("2b8c5f0e-6f2d-4d8a-9d1e-0c9f4f7b6a11"));

        let mut bad = file.clone();
        bad["brewFlow"]["weight"][2]["timestamp"] = json!("half past nine");
        assert!(
            matches!(parse(bad.to_string().as_bytes()), Err(RegistryError::Invalid { field, .. }) if field == "brewFlow.weight[2].timestamp")
        );
        bad = file.clone();
        bad["brew"]["grind_weight"] = json!(5000);
        assert!(
            matches!(parse(bad.to_string().as_bytes()), Err(RegistryError::Invalid { field, .. }) if field == "brew.grind_weight")
        );
        bad = file;
        bad["brew"]["rating"] = json!(9);
        assert!(
            matches!(parse(bad.to_string().as_bytes()), Err(RegistryError::Invalid { field, .. }) if field == "brew.rating")
        );
    }

    #[test]
    fn a_shot_exported_and_read_back_is_the_same_shot() {
        use crate::brew::Beans;
        use wages_codec::{ClientId, SessionId, Timestamp};
        let (client_id, session_id) = (ClientId::parse("bar-1").expect("id"), SessionId::parse("brew-7").expect("id"));
        // 30 s at 10 Hz across midnight UTC, with a tared negative start.
        let start = 1_764_633_585_437;
        let readings: Vec<Reading> = (0..300u32)
            .map(|i| {
                Reading::new(
                    client_id,
                    session_id,
                    Grams::new(f64::from(i) * 0.123 - 0.2).expect("grams"),
                    Timestamp::from_millis(start + u64::from(i) * 100 + u64::from(i % 3)).expect("time"),
                )
            })
            .collect();
        let summary = wages_sessions::summarize(&readings, start).expect("summary");
        let details = ShotDetails {
            method: Some(Method::PourOver),
            beans_id: Some(4),
            grinder: Some("Comandante".into()),
            grind_setting: Some("24 clicks".into()),
            dose: Some(15.0),
            target_yield: Some(250.0),
            yield_grams: None,
            water_temp: Some(94.5),
            tds: Some(1.35),
            rating: Some(87),
            notes: Some("Jammy.\nLonger bloom next time".into()),
            tags: vec!["v60".into(), "guest".into()],
            starred: true,
            ..ShotDetails::default()
        };
        let beans = Beans {
            id: 4,
            roaster: "Tim Wendelboe".into(),
            name: "Finca Tamana".into(),
            origin: Some("Colombia".into()),
            process: Some("Washed".into()),
            roast_level: Some("light".into()),
            roast_date: Some("2025-11-25".into()),
            notes: Some("Red apple".into()),
            archived: false,
            created_at: 0,
            updated_at: 0,
        };
        let shot = Shot::new(summary, details.clone(), Some(beans.clone()));
        let file = beanconqueror(&shot, &readings, &[]).to_string();
        let back = parse(file.as_bytes()).expect("reads back");
        let samples: Vec<(u64, f64)> = readings.iter().map(|r| (r.tstamp.millis(), r.value.get())).collect();
        assert_eq!(back.samples, samples);
        assert_eq!(back.details, ShotDetails { beans_id: None, ..details.clone() });
        assert_eq!(back.session_id.as_deref(), Some("brew-7"));
        let input = BeansInput {
            roaster: beans.roaster,
            name: beans.name,
            origin: beans.origin,
            process: beans.process,
            roast_level: beans.roast_level,
            roast_date: beans.roast_date,
            notes: beans.notes,
            archived: false,
        };
        assert_eq!(back.beans, Some(input));

        // A yield set by hand, no rating and no beans travel too.
        let edited = ShotDetails { yield_grams: Some(240.0), rating: None, beans_id: None, ..details };
        let shot = Shot::new(shot.summary, edited.clone(), None);
        let back = parse(beanconqueror(&shot, &readings, &[]).to_string().as_bytes()).expect("reads back");
        assert_eq!((back.details, back.beans), (edited, None));
    }
}
