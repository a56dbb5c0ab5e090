//! The Decent DE1's shots: the app's `.shot` file (Tcl lists, also what pyDE1 writes)
//! and its JSON shot (version 2). Both keep every series on one time frame (seconds
//! from the shot's start, `clock` in seconds since the epoch) and what was brewed in the
//! app's settings.

use std::collections::HashMap;

use serde_json::Value;

use super::{Channel, Fields, ImportedShot, ShotFormat, TimedSeries, number, tcl};
use crate::brew::{Method, ShotDetails};
use crate::error::RegistryError;
use crate::series::SeriesKind;

/// The app's series and what each is in Wages; `espresso_water_dispensed` is in tens of
/// millilitres ("scaled by 10 for legacy compatibility", as pyDE1 writes beside it).
const TCL_SERIES: [(&str, Channel); 6] = [
    ("espresso_weight", Channel::Weight),
    ("espresso_pressure", Channel::Series(SeriesKind::Pressure, 1.0)),
    ("espresso_flow", Channel::Series(SeriesKind::Flow, 1.0)),
    ("espresso_temperature_mix", Channel::Series(SeriesKind::WaterTemperature, 1.0)),
    ("espresso_temperature_basket", Channel::Series(SeriesKind::BasketTemperature, 1.0)),
    ("espresso_water_dispensed", Channel::Series(SeriesKind::WaterDispensed, 10.0)),
];

/// Reads a `.shot` file. A `machine` block that does not parse (older apps wrote bytes
/// there that close no brace) is left out, as nothing of the shot is in it.
pub(super) fn tcl_shot(text: &str) -> Result<ImportedShot, RegistryError> {
    let pairs = match tcl::pairs(text) {
        Ok(pairs) => pairs,
        Err(e) => match text.find("\nmachine {") {
            Some(cut) => tcl::pairs(&text[..cut]).map_err(|_| tcl_error(text, &e))?,
            None => return Err(tcl_error(text, &e)),
        },
    };
    let mut lists: HashMap<&str, (usize, String)> = HashMap::new();
    let mut settings = HashMap::new();
    let mut clock = None;
    for (name, at, value) in &pairs {
        match name.as_ref() {
            "clock" => clock = Some((at, value.trim().to_owned())),
            "settings" => {
                let inner = tcl::pairs(value).map_err(|e| tcl_error(text, &shifted(e, at + 1)))?;
                for (key, _, v) in inner {
                    settings.insert(key.into_owned(), v.trim().to_owned());
                }
            }
            key if key == "espresso_elapsed" || TCL_SERIES.iter().any(|(k, _)| *k == key) => {
                lists.insert(
                    TCL_SERIES.iter().map(|(k, _)| *k).find(|k| *k == key).unwrap_or("espresso_elapsed"),
                    (*at, value.to_string()),
                );
            }
            _ => {}
        }
    }
    let (clock_at, clock) = clock.ok_or_else(|| {
        RegistryError::invalid(
            "clock",
            "must be the shot's time in seconds since the epoch (a .shot file starts with it)",
        )
    })?;
    let start = clock_ms(&clock)
        .ok_or_else(|| at_line(text, *clock_at, "clock", "must be the shot's time in seconds since the epoch"))?;
    let (elapsed_at, elapsed) = lists
        .get("espresso_elapsed")
        .ok_or_else(|| RegistryError::invalid("espresso_elapsed", "must list the seconds of each sample"))?;
    let times = tcl_numbers(text, *elapsed_at, elapsed)?;
    let mut columns = Vec::new();
    for (key, channel) in TCL_SERIES {
        if let Some((at, list)) = lists.get(key) {
            columns.push((channel, tcl_numbers(text, *at, list)?));
        }
    }
    let timed = TimedSeries::from_columns(start, &times, "espresso_elapsed", columns)?;
    decent_shot(timed, &settings, ShotFormat::DecentTcl)
}

/// The numbers of a Tcl list; an item that is not one (an empty reading) is `None`.
fn tcl_numbers(text: &str, at: usize, list: &str) -> Result<Vec<Option<f64>>, RegistryError> {
    let words = tcl::words(list).map_err(|e| tcl_error(text, &shifted(e, at + 1)))?;
    Ok(words.iter().map(|(_, w)| w.trim().parse::<f64>().ok().filter(|v| v.is_finite())).collect())
}

fn shifted(e: tcl::TclError, by: usize) -> tcl::TclError {
    tcl::TclError { offset: e.offset + by, ..e }
}

fn tcl_error(text: &str, e: &tcl::TclError) -> RegistryError {
    RegistryError::invalid(
        "file",
        format!("line {}: expected {} (a Decent .shot file is Tcl lists)", e.line(text), e.problem),
    )
}

fn at_line(text: &str, at: usize, field: &str, message: &str) -> RegistryError {
    let line = tcl::TclError { offset: at, problem: "" }.line(text);
    RegistryError::invalid(field, format!("{message} (line {line})"))
}

/// Seconds since the epoch, as text, in milliseconds.
fn clock_ms(text: &str) -> Option<u64> {
    let seconds = text.trim().parse::<f64>().ok().filter(|s| s.is_finite() && *s > 0.0 && *s < 253_402_300_800.0)?;
    super::whole_ms(seconds.floor() * 1000.0, "clock").ok()
}

/// Reads a DE1 JSON shot (`version` 2: `elapsed`, `pressure`, `flow`, `temperature`,
/// `totals`, and the app's settings in `app.data.settings`).
pub(super) fn json_shot(root: &Fields) -> Result<ImportedShot, RegistryError> {
    let clock = root
        .text("timestamp")?
        .or(root.text("clock")?)
        .ok_or_else(|| RegistryError::invalid("timestamp", "must be the shot's time in seconds since the epoch"))?;
    let start = clock_ms(&clock).ok_or_else(|| {
        RegistryError::invalid(&root.at("timestamp"), "must be the shot's time in seconds since the epoch")
    })?;
    let times = json_numbers(root, "elapsed")?
        .ok_or_else(|| RegistryError::invalid("elapsed", "must list the seconds of each sample"))?;
    let nested = |group: &str, key: &str| -> Result<Option<Vec<Option<f64>>>, RegistryError> {
        match root.object(group)? {
            Some(g) => json_numbers(&g, key),
            None => Ok(None),
        }
    };
    let mut columns = Vec::new();
    for (group, key, channel) in [
        ("totals", "weight", Channel::Weight),
        ("pressure", "pressure", Channel::Series(SeriesKind::Pressure, 1.0)),
        ("flow", "flow", Channel::Series(SeriesKind::Flow, 1.0)),
        ("temperature", "mix", Channel::Series(SeriesKind::WaterTemperature, 1.0)),
        ("temperature", "basket", Channel::Series(SeriesKind::BasketTemperature, 1.0)),
        ("totals", "water_dispensed", Channel::Series(SeriesKind::WaterDispensed, 10.0)),
    ] {
        if let Some(values) = nested(group, key)? {
            columns.push((channel, values));
        }
    }
    let timed = TimedSeries::from_columns(start, &times, "elapsed", columns)?;
    let mut settings = HashMap::new();
    if let Some(s) = root
        .object("app")?
        .and_then(|a| a.object("data").ok().flatten())
        .and_then(|d| d.object("settings").ok().flatten())
    {
        for (k, v) in s.map {
            let text = match v {
                Value::String(s) => s.trim().to_owned(),
                Value::Number(n) => n.to_string(),
                _ => continue,
            };
            settings.insert(k.clone(), text);
        }
    }
    decent_shot(timed, &settings, ShotFormat::DecentJson)
}

/// A JSON array of numbers (or numbers as text, as the app writes them); an item that is
/// not one is `None`.
fn json_numbers(fields: &Fields, key: &str) -> Result<Option<Vec<Option<f64>>>, RegistryError> {
    Ok(fields.array(key)?.map(|items| items.iter().map(number).collect()))
}

/// The shot from its series and the app's settings.
fn decent_shot(
    timed: TimedSeries,
    settings: &HashMap<String, String>,
    format: ShotFormat,
) -> Result<ImportedShot, RegistryError> {
    let get = |k: &str| settings.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let positive = |k: &str| get(k).and_then(|v| v.parse::<f64>().ok()).filter(|v| v.is_finite() && *v > 0.0);
    let method = match get("beverage_type").unwrap_or_default().to_lowercase().as_str() {
        "pourover" | "pour over" => Some(Method::PourOver),
        "tea_portafilter" | "tea" | "cleaning" | "calibrate" | "manual" => Some(Method::Other),
        _ => Some(Method::Espresso),
    };
    let rating = get("espresso_enjoyment")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|r| *r > 0.0 && *r <= 100.0)
        .map(super::round_i64);
    let details = ShotDetails {
        method,
        grinder: get("grinder_model"),
        grind_setting: get("grinder_setting"),
        dose: ["grinder_dose_weight", "DSx_bean_weight", "bean_weight"].into_iter().find_map(positive),
        yield_grams: positive("drink_weight"),
        tds: positive("drink_tds"),
        rating,
        notes: get("espresso_notes"),
        brewed_by: get("my_name"),
        ..ShotDetails::default()
    };
    let paths = [
        ("grinder", "settings.grinder_model".to_owned()),
        ("grind_setting", "settings.grinder_setting".to_owned()),
        ("dose", "settings.grinder_dose_weight".to_owned()),
        ("yield", "settings.drink_weight".to_owned()),
        ("tds", "settings.drink_tds".to_owned()),
        ("notes", "settings.espresso_notes".to_owned()),
    ];
    let mut details = details.check().map_err(|e| super::rename(e, &paths))?;
    details.brewed_by = details.brewed_by.filter(|b| b.chars().count() <= crate::brew::MAX_SHORT_TEXT);
    let beans = super::named_beans(
        (get("bean_brand"), get("bean_type")),
        get("roast_level").as_deref(),
        get("roast_date"),
        get("bean_notes"),
        ["settings.bean_brand", "settings.bean_type", "settings.bean_notes"],
    )?;
    let session_id = Some(format!("de1-{}", timed.start / 1000));
    Ok(ImportedShot { format, session_id, samples: timed.weight, series: timed.series, details, beans, span: None })
}
