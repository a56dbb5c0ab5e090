//! Meticulous's shot file: `time` in seconds since the epoch, `profile_name`, and `data`,
//! each point with `time` in milliseconds, the `shot`'s pressure, flow and weight, and the
//! `sensors`' temperatures (`tube` is the water on its way to the puck).

use super::{Channel, Fields, ImportedShot, ShotFormat, TimedSeries, number};
use crate::error::RegistryError;
use crate::series::SeriesKind;

pub(super) fn shot(root: &Fields) -> Result<ImportedShot, RegistryError> {
    let start = super::epoch_ms(root, "time")?;
    let points = super::objects(root, "data")?;
    let inner = |p: &Fields, group: &str, key: &str| {
        p.map.get(group).and_then(|g| g.as_object()).and_then(|g| g.get(key)).and_then(number)
    };
    let times: Vec<Option<f64>> =
        points.iter().map(|p| p.map.get("time").and_then(number).map(|ms| ms / 1000.0)).collect();
    let columns = [
        ("shot", "weight", Channel::Weight),
        ("shot", "pressure", Channel::Series(SeriesKind::Pressure, 1.0)),
        ("shot", "flow", Channel::Series(SeriesKind::Flow, 1.0)),
        ("sensors", "tube", Channel::Series(SeriesKind::WaterTemperature, 1.0)),
    ]
    .into_iter()
    .map(|(group, key, channel)| (channel, points.iter().map(|p| inner(p, group, key)).collect()))
    .collect();
    let timed = TimedSeries::from_columns(start, &times, "data[].time", columns)?;
    Ok(super::machine_shot(ShotFormat::Meticulous, "meticulous", root.text("id")?, timed))
}
