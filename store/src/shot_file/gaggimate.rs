//! GaggiMate's shot history export: `timestamp` in seconds since the epoch and
//! `samples`, each with `t` in milliseconds from the start, `cp` pressure, `fl` pump flow,
//! `ct` temperature, and the weight as `v` from a scale or `ev` as estimated without one.

use super::{Channel, Fields, ImportedShot, ShotFormat, TimedSeries, number};
use crate::error::RegistryError;
use crate::series::SeriesKind;

pub(super) fn shot(root: &Fields) -> Result<ImportedShot, RegistryError> {
    let start = super::epoch_ms(root, "timestamp")?;
    let points = super::objects(root, "samples")?;
    let value = |p: &Fields, key: &str| p.map.get(key).and_then(number);
    // A scale was there when any sample weighs something; else the machine's estimate.
    let weight_key = if points.iter().any(|p| value(p, "v").is_some_and(|v| v > 0.0)) { "v" } else { "ev" };
    let times: Vec<Option<f64>> = points.iter().map(|p| value(p, "t").map(|ms| ms / 1000.0)).collect();
    let columns = [
        (weight_key, Channel::Weight),
        ("cp", Channel::Series(SeriesKind::Pressure, 1.0)),
        ("fl", Channel::Series(SeriesKind::Flow, 1.0)),
        ("ct", Channel::Series(SeriesKind::WaterTemperature, 1.0)),
    ]
    .into_iter()
    .map(|(key, channel)| (channel, points.iter().map(|p| value(p, key)).collect()))
    .collect();
    let timed = TimedSeries::from_columns(start, &times, "samples[].t", columns)?;
    // Its ids count from 1 on each machine: the time keeps them apart.
    let id = root.text("id")?.map(|id| format!("{id}-{}", timed.start / 1000));
    Ok(super::machine_shot(ShotFormat::Gaggimate, "gaggimate", id, timed))
}
