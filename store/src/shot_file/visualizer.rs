//! Visualizer.coffee's own shot JSON (`/api/shots/{id}/download`): `start_time`,
//! `timeframe` (seconds from the start) and `data` (`espresso_weight` and the rest, one
//! value per time), with what was brewed beside them.

use serde_json::Value;

use super::{
    Fields, ImportedShot, ShotFormat, check_count, dedupe, grams_rule, iso_millis, number, rename, round_i64, whole_ms,
};
use crate::brew::{Method, ShotDetails};
use crate::error::RegistryError;
use wages_codec::Grams;

pub(super) fn shot(root: &Fields) -> Result<ImportedShot, RegistryError> {
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
    let beans = super::named_beans(
        (root.text("bean_brand")?, root.text("bean_type")?),
        root.text("roast_level")?.as_deref(),
        root.text("roast_date")?,
        root.text("bean_notes")?,
        ["bean_brand", "bean_type", "bean_notes"],
    )?;
    let session_id =
        root.text("id")?.map(|id| format!("visualizer-{id}")).filter(|s| wages_codec::SessionId::parse(s).is_ok());
    Ok(ImportedShot {
        format: ShotFormat::Visualizer,
        session_id,
        samples,
        series: Vec::new(),
        details,
        beans,
        span: None,
    })
}

/// `timeframe` (seconds from the start) and `data.espresso_weight` (grams), as Visualizer
/// keeps a shot's curve.
pub(super) fn timeframe_samples(root: &Fields, start: u64) -> Result<Vec<(u64, f64)>, RegistryError> {
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
