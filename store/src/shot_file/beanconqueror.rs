//! Beanconqueror's brew export (what it uploads to Visualizer.coffee, and the brews in
//! its backup): the brew's time in `brew.config.unix_timestamp` (seconds), and its
//! curves in `brewFlow`, each sample with the phone's time of day (`HH:mm:ss.SSS`, no
//! date). What Beanconqueror has no field for (the method, target yield, tags, an exact
//! rating) travels in `meta.wages`, which other readers ignore.

use serde_json::Value;

use super::{
    DAY_MS, Fields, ImportedShot, ShotFormat, check_count, parse_time_of_day, rename, roast_date, roast_level,
    round_i64, whole_ms,
};
use crate::brew::{BeansInput, Method, ShotDetails};
use crate::error::RegistryError;
use crate::series::{Series, SeriesKind};

pub(super) fn shot(root: &Fields) -> Result<ImportedShot, RegistryError> {
    let brew = root.object("brew")?.unwrap_or_else(|| root.empty("brew"));
    let config = brew.object("config")?.unwrap_or_else(|| brew.empty("config"));
    let meta = root.object("meta")?.and_then(|m| m.object("wages").transpose()).transpose()?;
    let unix = config.number("unix_timestamp")?.filter(|t| *t > 0.0).ok_or_else(|| {
        RegistryError::invalid(&config.at("unix_timestamp"), "must be the brew's time in seconds since the epoch")
    })?;
    let start_second = whole_ms(unix.floor() * 1000.0, &config.at("unix_timestamp"))?;
    let (samples, series) = match root.object("brewFlow")? {
        Some(flow) => flow_samples(&flow, start_second)?,
        // Visualizer's own download in this shape carries the curve as timeframe and data.
        None if root.map.contains_key("timeframe") => {
            (super::visualizer::timeframe_samples(root, start_second)?, Vec::new())
        }
        // A brew written down without a scale: no curve, its time and duration kept.
        None => (Vec::new(), Vec::new()),
    };
    let span = (samples.is_empty() && series.is_empty()).then(|| {
        let seconds = brew.number("brew_time").ok().flatten().filter(|s| s.is_finite() && *s > 0.0).unwrap_or(0.0);
        let millis = brew.number("brew_time_milliseconds").ok().flatten().filter(|m| (0.0..1000.0).contains(m));
        let duration = whole_ms(seconds.min(86_400.0) * 1000.0 + millis.unwrap_or(0.0), "brew.brew_time").unwrap_or(0);
        (start_second, start_second + duration)
    });
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
        // The drink's weight, else the water's (a pour-over's 1,200 g), as Visualizer reads it.
        None => match brew.number("brew_beverage_quantity")?.filter(|q| *q != 0.0) {
            Some(q) => Some(q),
            None => brew.number("brew_quantity")?.filter(|q| *q != 0.0),
        }
        .filter(|q| (*q - last).abs() > 1e-9),
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
        .filter(|s| wages_codec::SessionId::parse(s).is_ok())
        // The same brew imported again is the same shot: named by its time.
        .or_else(|| Some(format!("beanconqueror-{}", start_second / 1000)));
    let beans = root.object("bean")?.map(|b| beans(&b)).transpose()?.flatten();
    // What Wages wrote of the series Beanconqueror has no place for.
    let mut series = series;
    if let Some(extra) = meta.as_ref().map(|m| m.object("series")).transpose()?.flatten() {
        for (name, points) in extra.map {
            let Some(kind) = SeriesKind::parse(name).filter(|k| series.iter().all(|s| s.kind != *k)) else { continue };
            let points = points.as_array().map_or(&[][..], Vec::as_slice).iter().filter_map(|p| {
                let p = p.as_array()?;
                Some((p.first()?.as_u64()?, super::number(p.get(1)?)?))
            });
            series.extend(Series::from_points(kind, points));
        }
        series.sort_by_key(|s| s.kind);
    }
    Ok(ImportedShot { format: ShotFormat::Beanconqueror, session_id, samples, series, details, beans, span })
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

pub(super) fn beans(bean: &Fields) -> Result<Option<BeansInput>, RegistryError> {
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

/// The weight curve (`brewFlow.weight`) and the other series. Every sample has a time
/// of day; the earliest weight sample (else the earliest of any) falls in the brew's
/// second, its milliseconds kept, and every other sample lies as far from it as its time
/// of day says, across midnight too. A weight sample without a weight (Beanconqueror
/// leaves some out) is skipped, falling back to its smoothed weight.
#[allow(clippy::type_complexity)]
fn flow_samples(flow: &Fields, start_second: u64) -> Result<(Vec<(u64, f64)>, Vec<Series>), RegistryError> {
    let timed = |key: &str| -> Result<Vec<(u64, &serde_json::Map<String, Value>, String)>, RegistryError> {
        let field = flow.at(key);
        let items = flow.array(key)?.unwrap_or(&[]);
        if items.len() > super::MAX_IMPORT_SAMPLES {
            check_count(&field, items.len())?;
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let at = format!("{field}[{i}]");
            let Value::Object(map) = item else { return Err(RegistryError::invalid(&at, "must be an object")) };
            let stamp = map.get("timestamp").and_then(Value::as_str).unwrap_or_default();
            let of_day = parse_time_of_day(stamp.trim()).ok_or_else(|| {
                RegistryError::invalid(&format!("{at}.timestamp"), "must be a time of day as HH:mm:ss.SSS")
            })?;
            out.push((of_day, map, at));
        }
        Ok(out)
    };
    let weight = timed("weight")?;
    let others: Vec<_> = super::BEANCONQUEROR_SERIES
        .iter()
        .map(|(key, kind, value)| Ok((*kind, *value, timed(key)?)))
        .collect::<Result<_, RegistryError>>()?;
    let anchor =
        weight.first().or_else(|| others.iter().filter_map(|(_, _, s)| s.first()).min_by_key(|s| s.0)).map(|s| s.0);
    let Some(anchor) = anchor else {
        return Err(RegistryError::invalid(&flow.at("weight"), "must have at least one sample"));
    };
    let base = i64::try_from(start_second + anchor % 1000).unwrap_or(i64::MAX);
    let at = |of_day: u64| -> u64 {
        let day = i64::try_from(DAY_MS).unwrap_or(i64::MAX);
        let mut diff = i64::try_from(of_day).unwrap_or(0) - i64::try_from(anchor).unwrap_or(0);
        if diff < -day / 2 {
            diff += day;
        } else if diff > day / 2 {
            diff -= day;
        }
        u64::try_from(base + diff).unwrap_or(0)
    };
    let mut samples = Vec::with_capacity(weight.len());
    for (of_day, map, path) in &weight {
        let grams = ["actual_weight", "actual_smoothed_weight"]
            .iter()
            .find_map(|k| map.get(*k).filter(|v| !v.is_null()).map(|v| (*k, v)));
        let Some((key, value)) = grams else { continue };
        let grams = super::number(value)
            .and_then(|g| wages_codec::Grams::new(g).ok())
            .ok_or_else(|| RegistryError::invalid(&format!("{path}.{key}"), super::grams_rule()))?;
        samples.push((at(*of_day), grams.get()));
    }
    samples.sort_by_key(|s| s.0);
    let samples = super::dedupe(samples);
    let series: Vec<Series> = others
        .iter()
        .filter_map(|(kind, value, points)| {
            Series::from_points(
                *kind,
                points.iter().filter_map(|(of_day, map, _)| Some((at(*of_day), super::number(map.get(*value)?)?))),
            )
        })
        .collect();
    if samples.is_empty() && series.is_empty() {
        return Err(RegistryError::invalid(&flow.at("weight"), "must have at least one sample with a weight"));
    }
    check_count(&flow.at("weight"), samples.len().max(1))?;
    Ok((samples, series))
}
