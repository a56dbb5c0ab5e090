//! Gaggiuino's shot export (`/api/shots/{id}`): `timestamp` in seconds since the epoch,
//! and `datapoints`, each with its `timeInShot` in milliseconds and `waterPumped` in
//! millilitres.

use super::{Channel, Fields, ImportedShot, ShotFormat, TimedSeries, number};
use crate::error::RegistryError;
use crate::series::SeriesKind;

const COLUMNS: [(&str, Channel); 5] = [
    ("shotWeight", Channel::Weight),
    ("pressure", Channel::Series(SeriesKind::Pressure, 1.0)),
    ("pumpFlow", Channel::Series(SeriesKind::Flow, 1.0)),
    ("temperature", Channel::Series(SeriesKind::WaterTemperature, 1.0)),
    ("waterPumped", Channel::Series(SeriesKind::WaterDispensed, 1.0)),
];

pub(super) fn shot(root: &Fields) -> Result<ImportedShot, RegistryError> {
    let start = super::epoch_ms(root, "timestamp")?;
    let points = super::objects(root, "datapoints")?;
    let times: Vec<Option<f64>> =
        points.iter().map(|p| p.map.get("timeInShot").and_then(number).map(|ms| ms / 1000.0)).collect();
    let columns = COLUMNS
        .iter()
        .map(|(key, channel)| (*channel, points.iter().map(|p| p.map.get(*key).and_then(number)).collect()))
        .collect();
    let timed = TimedSeries::from_columns(start, &times, "datapoints[].timeInShot", columns)?;
    Ok(super::machine_shot(ShotFormat::Gaggiuino, "gaggiuino", root.text("id")?, timed))
}
