//! Shots in and out as files other coffee apps read: Beanconqueror's brew export (the
//! JSON Beanconqueror uploads to Visualizer.coffee, and which Visualizer imports), and
//! Visualizer's own shot JSON (`/api/shots/{id}/download`). Pure: the API and the
//! import page share it.
//!
//! A Beanconqueror export keeps the weight curve in `brewFlow.weight` with a time of
//! day per sample and the brew's time in `brew.config.unix_timestamp` (seconds); what
//! Beanconqueror has no field for (the method, target yield, tags, an exact rating)
//! travels in `meta.wages`, which other readers ignore, so a round trip through Wages
//! gives back the same shot.

use serde_json::{Map, Value, json};
use wages_codec::{Grams, Reading};

use crate::brew::{BeansInput, Method, ROAST_LEVELS, Shot, ShotDetails, days_from_date};
use crate::error::RegistryError;

/// Largest file an import reads.
pub const MAX_IMPORT_BYTES: usize = 512 * 1024;
/// Most weight samples one imported shot may have.
pub const MAX_IMPORT_SAMPLES: usize = 10_000;

const DAY_MS: u64 = 86_400_000;

/// Which app's file a shot came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShotFormat {
    Beanconqueror,
    Visualizer,
}

/// A shot read from a file, checked: ready to store on a scale.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedShot {
    pub format: ShotFormat,
    /// The session id the file names, if it is one Wages can use.
    pub session_id: Option<String>,
    /// The weight curve: ms since the epoch and grams, in time order, one per ms.
    pub samples: Vec<(u64, f64)>,
    /// What was brewed (its `beans_id` is left to the library lookup).
    pub details: ShotDetails,
    /// The beans, to find in the library or add to it.
    pub beans: Option<BeansInput>,
}

// Export ------------------------------------------------------------------------------

/// The shot as Beanconqueror's brew export.
pub fn beanconqueror(shot: &Shot, readings: &[Reading]) -> Value {
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
        "brewFlow": { "weight": weight },
        "meta": { "wages": {
            "client_id": shot.summary.client_id.as_str(),
            "session_id": shot.summary.session_id.as_str(),
            "method": d.method.map(Method::as_str),
            "target_yield": d.target_yield,
            "yield": d.yield_grams,
            "rating": d.rating,
            "tags": d.tags,
        }},
    })
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

/// Reads a Beanconqueror brew export or a Visualizer shot; each problem names the
/// file's field (`brewFlow.weight[3].actual_weight`).
pub fn parse(bytes: &[u8]) -> Result<ImportedShot, RegistryError> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(RegistryError::invalid("file", format!("must be at most {} KiB", MAX_IMPORT_BYTES / 1024)));
    }
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| RegistryError::invalid("file", format!("is not JSON: {e}")))?;
    let Some(root) = value.as_object() else {
        return Err(RegistryError::invalid("file", "must be a JSON object"));
    };
    let root = Fields { map: root, path: String::new() };
    if root.map.contains_key("brew") {
        beanconqueror_shot(&root)
    } else if ["timeframe", "espresso_enjoyment", "bean_brand", "start_time"].iter().any(|k| root.map.contains_key(*k))
    {
        visualizer_shot(&root)
    } else {
        Err(RegistryError::invalid(
            "file",
            "is neither a Beanconqueror brew export (bean, brew, brewFlow) nor a Visualizer shot (start_time, timeframe, data)",
        ))
    }
}

fn beanconqueror_shot(root: &Fields) -> Result<ImportedShot, RegistryError> {
    let brew = root.object("brew")?.unwrap_or_else(|| root.empty("brew"));
    let config = brew.object("config")?.unwrap_or_else(|| brew.empty("config"));
    let meta = root.object("meta")?.and_then(|m| m.object("wages").transpose()).transpose()?;
    let unix = config.number("unix_timestamp")?.filter(|t| *t > 0.0).ok_or_else(|| {
        RegistryError::invalid(&config.at("unix_timestamp"), "must be the brew's time in seconds since the epoch")
    })?;
    let start_second = whole_ms(unix.floor() * 1000.0, &config.at("unix_timestamp"))?;
    let samples = match root.object("brewFlow")? {
        Some(flow) => flow_samples(&flow, start_second)?,
        // Visualizer's own download in this shape carries the curve as timeframe and data.
        None => timeframe_samples(root, start_second)?,
    };
    let last = samples.last().map_or(0.0, |s| s.1);
    let preparation = root.object("preparation")?;
    let method = match meta.as_ref().map(|m| m.text("method")).transpose()?.flatten() {
        Some(m) => Some(Method::parse(&m).map_err(|e| rename(e, &meta_paths(meta.as_ref())))?),
        None => preparation.as_ref().map(preparation_method).transpose()?.flatten(),
    };
    let rating = match meta.as_ref().and_then(|m| m.map.get("rating")) {
        Some(_) => meta.as_ref().map(|m| m.integer("rating")).transpose()?.flatten(),
        None => match brew.number("rating")?.filter(|r| *r != 0.0) {
            Some(r) if (0.0..=5.0).contains(&r) => Some(round_i64(r * 20.0)),
            Some(_) => return Err(RegistryError::invalid(&brew.at("rating"), "must be between 0 and 5")),
            None => None,
        },
    };
    let yield_grams = match meta.as_ref().and_then(|m| m.map.get("yield")) {
        Some(_) => meta.as_ref().map(|m| m.number("yield")).transpose()?.flatten(),
        None => brew.number("brew_beverage_quantity")?.filter(|q| *q != 0.0 && (*q - last).abs() > 1e-9),
    };
    let details = ShotDetails {
        method,
        grinder: root.object("mill")?.map(|m| m.text("name")).transpose()?.flatten(),
        grind_setting: brew.text("grind_size")?,
        dose: brew.number("grind_weight")?.filter(|g| *g != 0.0),
        target_yield: meta.as_ref().map(|m| m.number("target_yield")).transpose()?.flatten(),
        yield_grams,
        water_temp: brew.number("brew_temperature")?.filter(|t| *t != 0.0),
        tds: brew.number("tds")?.filter(|t| *t != 0.0),
        rating,
        notes: brew.text("note")?,
        tags: meta.as_ref().map(|m| m.strings("tags")).transpose()?.unwrap_or_default(),
        starred: brew.boolean("favourite")?.unwrap_or(false),
        ..ShotDetails::default()
    };
    let mut paths = vec![
        ("grinder", "mill.name".to_owned()),
        ("grind_setting", brew.at("grind_size")),
        ("dose", brew.at("grind_weight")),
        ("yield", brew.at("brew_beverage_quantity")),
        ("water_temp", brew.at("brew_temperature")),
        ("tds", brew.at("tds")),
        ("notes", brew.at("note")),
    ];
    paths.extend(meta_paths(meta.as_ref()));
    let details = details.check().map_err(|e| rename(e, &paths))?;
    let session_id = meta
        .as_ref()
        .map(|m| m.text("session_id"))
        .transpose()?
        .flatten()
        .or(config.text("uuid")?)
        .filter(|s| wages_codec::SessionId::parse(s).is_ok());
    let beans = root.object("bean")?.map(|b| beanconqueror_beans(&b)).transpose()?.flatten();
    Ok(ImportedShot { format: ShotFormat::Beanconqueror, session_id, samples, details, beans })
}

/// Where the rules' fields come from in `meta.wages`.
fn meta_paths(meta: Option<&Fields>) -> Vec<(&'static str, String)> {
    let Some(meta) = meta else { return Vec::new() };
    ["method", "target_yield", "yield", "rating", "tags"].into_iter().map(|f| (f, meta.at(f))).collect()
}

/// Beanconqueror's preparation by our method's label, or by its preparation type.
fn preparation_method(preparation: &Fields) -> Result<Option<Method>, RegistryError> {
    let name = preparation.text("name")?.unwrap_or_default().to_lowercase();
    if let Some(m) = Method::ALL.into_iter().find(|m| m.label().to_lowercase() == name || m.as_str() == name) {
        return Ok(Some(m));
    }
    let kind = preparation.text("type")?.unwrap_or_default().to_uppercase();
    Ok(match kind.as_str() {
        "PORTAFILTER" | "ESPRESSO" | "MOKA" => Some(Method::Espresso),
        "V60" | "CHEMEX" | "KALITA_WAVE" | "ORIGAMI" | "BEEHOUSE" | "MELITTA" | "POUR_OVER" => Some(Method::PourOver),
        "AEROPRESS" | "FRENCH_PRESS" | "CLEVER" | "SIPHON" => Some(Method::Immersion),
        "COLD_DRIP" | "COLD_BREW" => Some(Method::ColdBrew),
        "" => None,
        _ => Some(Method::Other),
    })
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
    let line = format!("Roast date: {raw}");
    *notes = Some(notes.take().map_or(line.clone(), |n| format!("{n}\n{line}")));
    None
}

fn beanconqueror_beans(bean: &Fields) -> Result<Option<BeansInput>, RegistryError> {
    let (roaster, name) = (bean.text("roaster")?, bean.text("name")?);
    if roaster.is_none() && name.is_none() {
        return Ok(None);
    }
    let info = match bean.map.get("bean_information") {
        Some(Value::Array(items)) => match items.first() {
            Some(Value::Object(first)) => Some(Fields { map: first, path: bean.at("bean_information[0]") }),
            _ => None,
        },
        _ => None,
    };
    let mut notes = bean.text("note")?;
    let input = BeansInput {
        roaster: roaster.unwrap_or_else(|| "Unknown roaster".to_owned()),
        name: name.unwrap_or_else(|| "Unknown beans".to_owned()),
        origin: info.as_ref().map(|i| i.text("country")).transpose()?.flatten(),
        process: info.as_ref().map(|i| i.text("processing")).transpose()?.flatten(),
        roast_level: bean.text("roast")?.as_deref().and_then(roast_level),
        roast_date: roast_date(bean.text("roastingDate")?, &mut notes),
        notes,
        archived: false,
    };
    let info_at = |f: &str| format!("{}.{f}", bean.at("bean_information[0]"));
    let paths = [
        ("roaster", bean.at("roaster")),
        ("name", bean.at("name")),
        ("origin", info_at("country")),
        ("process", info_at("processing")),
        ("notes", bean.at("note")),
    ];
    input.check().map(Some).map_err(|e| rename(e, &paths))
}

fn visualizer_shot(root: &Fields) -> Result<ImportedShot, RegistryError> {
    let start = match root.map.get("start_time") {
        Some(Value::Number(n)) => whole_ms(n.as_f64().unwrap_or(-1.0) * 1000.0, "start_time")?,
        Some(Value::String(s)) => iso_millis(s)
            .ok_or_else(|| RegistryError::invalid("start_time", "must be a date and time as 2026-12-02T08:30:00Z"))?,
        _ => return Err(RegistryError::invalid("start_time", "must be the shot's date and time")),
    };
    let samples = timeframe_samples(root, start)?;
    let last = samples.last().map_or(0.0, |s| s.1);
    let rating = match root.number("espresso_enjoyment")?.filter(|r| *r != 0.0) {
        Some(r) if (0.0..=100.0).contains(&r) => Some(round_i64(r)),
        Some(_) => return Err(RegistryError::invalid("espresso_enjoyment", "must be between 0 and 100")),
        None => None,
    };
    let details = ShotDetails {
        method: Some(Method::Espresso),
        grinder: root.text("grinder_model")?,
        grind_setting: root.text("grinder_setting")?,
        dose: root.number("bean_weight")?.filter(|g| *g != 0.0),
        yield_grams: root.number("drink_weight")?.filter(|q| *q != 0.0 && (*q - last).abs() > 1e-9),
        tds: root.number("drink_tds")?.filter(|t| *t != 0.0),
        rating,
        notes: root.text("espresso_notes")?,
        tags: root.strings("tags")?,
        brewed_by: root.text("barista")?,
        ..ShotDetails::default()
    };
    if details.brewed_by.as_ref().is_some_and(|b| b.chars().count() > crate::brew::MAX_SHORT_TEXT) {
        return Err(RegistryError::invalid("barista", "must be at most 100 characters"));
    }
    let paths = [
        ("grinder", "grinder_model".to_owned()),
        ("grind_setting", "grinder_setting".to_owned()),
        ("dose", "bean_weight".to_owned()),
        ("yield", "drink_weight".to_owned()),
        ("tds", "drink_tds".to_owned()),
        ("notes", "espresso_notes".to_owned()),
    ];
    let details = details.check().map_err(|e| rename(e, &paths))?;
    let (roaster, name) = (root.text("bean_brand")?, root.text("bean_type")?);
    let beans = if roaster.is_none() && name.is_none() {
        None
    } else {
        let mut notes = root.text("bean_notes")?;
        let input = BeansInput {
            roaster: roaster.unwrap_or_else(|| "Unknown roaster".to_owned()),
            name: name.unwrap_or_else(|| "Unknown beans".to_owned()),
            roast_level: root.text("roast_level")?.as_deref().and_then(roast_level),
            roast_date: roast_date(root.text("roast_date")?, &mut notes),
            notes,
            ..BeansInput::default()
        };
        let paths = [
            ("roaster", "bean_brand".to_owned()),
            ("name", "bean_type".to_owned()),
            ("notes", "bean_notes".to_owned()),
        ];
        Some(input.check().map_err(|e| rename(e, &paths))?)
    };
    let session_id =
        root.text("id")?.map(|id| format!("visualizer-{id}")).filter(|s| wages_codec::SessionId::parse(s).is_ok());
    Ok(ImportedShot { format: ShotFormat::Visualizer, session_id, samples, details, beans })
}

/// `brewFlow.weight`: a time of day per sample; the first one's milliseconds complete
/// the brew's time in seconds.
fn flow_samples(flow: &Fields, start_second: u64) -> Result<Vec<(u64, f64)>, RegistryError> {
    let field = flow.at("weight");
    let items = flow.array("weight")?.unwrap_or(&[]);
    check_count(&field, items.len())?;
    let mut samples = Vec::with_capacity(items.len());
    let (mut previous_of_day, mut offset) = (None, 0u64);
    for (i, item) in items.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let Value::Object(map) = item else { return Err(RegistryError::invalid(&at, "must be an object")) };
        let sample = Fields { map, path: at.clone() };
        let stamp = sample.text("timestamp")?.unwrap_or_default();
        let of_day = parse_time_of_day(&stamp)
            .ok_or_else(|| RegistryError::invalid(&sample.at("timestamp"), "must be a time of day as HH:mm:ss.SSS"))?;
        if let Some(previous) = previous_of_day {
            let step = (of_day + DAY_MS - previous) % DAY_MS;
            if step > DAY_MS / 2 {
                return Err(RegistryError::invalid(&sample.at("timestamp"), "goes back in time"));
            }
            offset += step;
        } else {
            offset = of_day % 1000;
        }
        previous_of_day = Some(of_day);
        let grams = sample.grams("actual_weight")?;
        samples.push((start_second + offset, grams));
    }
    Ok(dedupe(samples))
}

/// `timeframe` (seconds from the start) and `data.espresso_weight` (grams), as Visualizer
/// keeps a shot's curve.
fn timeframe_samples(root: &Fields, start: u64) -> Result<Vec<(u64, f64)>, RegistryError> {
    let times = root.array("timeframe")?.unwrap_or(&[]);
    let data = root.object("data")?.unwrap_or_else(|| root.empty("data"));
    let weights = data.array("espresso_weight")?.unwrap_or(&[]);
    check_count("timeframe", times.len())?;
    if weights.len() != times.len() {
        return Err(RegistryError::invalid(
            "data.espresso_weight",
            format!("must have as many values as timeframe ({}), not {}", times.len(), weights.len()),
        ));
    }
    let mut samples = Vec::with_capacity(times.len());
    for (i, (time, weight)) in times.iter().zip(weights).enumerate() {
        let at = format!("timeframe[{i}]");
        let seconds = number(time)
            .filter(|s| *s >= 0.0)
            .ok_or_else(|| RegistryError::invalid(&at, "must be the seconds from the start of the shot, 0 or more"))?;
        let at_ms = start + whole_ms(seconds * 1000.0, &at)?;
        if samples.last().is_some_and(|(t, _)| at_ms < *t) {
            return Err(RegistryError::invalid(&at, "goes back in time"));
        }
        let grams = number(weight)
            .and_then(|g| Grams::new(g).ok())
            .ok_or_else(|| RegistryError::invalid(&format!("data.espresso_weight[{i}]"), grams_rule()))?;
        samples.push((at_ms, grams.get()));
    }
    Ok(dedupe(samples))
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

    fn grams(&self, key: &str) -> Result<f64, RegistryError> {
        self.map
            .get(key)
            .and_then(number)
            .and_then(|g| Grams::new(g).ok())
            .map(Grams::get)
            .ok_or_else(|| RegistryError::invalid(&self.at(key), grams_rule()))
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
        let many: Vec<u32> = (0..=10_000).collect();
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
        bad["brewFlow"]["weight"][2]["timestamp"] = json!("09:29:00.000");
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
            .map(|i| Reading {
                client_id,
                session_id,
                value: Grams::new(f64::from(i) * 0.123 - 0.2).expect("grams"),
                tstamp: Timestamp::from_millis(start + u64::from(i) * 100 + u64::from(i % 3)).expect("time"),
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
        let file = beanconqueror(&shot, &readings).to_string();
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
        let back = parse(beanconqueror(&shot, &readings).to_string().as_bytes()).expect("reads back");
        assert_eq!((back.details, back.beans), (edited, None));
    }
}
