//! What a shot measures beside the weight: the machine's pressure and flow, the water's
//! and the basket's temperature, the water dispensed. Each series is a list of points
//! (ms since the epoch, value) on the shot's clock.

use serde::{Deserialize, Serialize};

/// One kind of series, with its unit and the values it may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesKind {
    /// Bar, at the group head.
    Pressure,
    /// Millilitres a second through the group, as the machine measures it (the weight's
    /// own flow is worked out from the weight).
    Flow,
    /// °C of the water on its way to the puck (the DE1's "mix").
    WaterTemperature,
    /// °C in the basket.
    BasketTemperature,
    /// Millilitres of water pumped since the start.
    WaterDispensed,
}

impl SeriesKind {
    pub const ALL: [SeriesKind; 5] = [
        SeriesKind::Pressure,
        SeriesKind::Flow,
        SeriesKind::WaterTemperature,
        SeriesKind::BasketTemperature,
        SeriesKind::WaterDispensed,
    ];

    /// The name in files, the API and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            SeriesKind::Pressure => "pressure",
            SeriesKind::Flow => "flow",
            SeriesKind::WaterTemperature => "water_temperature",
            SeriesKind::BasketTemperature => "basket_temperature",
            SeriesKind::WaterDispensed => "water_dispensed",
        }
    }

    pub fn parse(name: &str) -> Option<SeriesKind> {
        SeriesKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// For people: "Pressure".
    pub fn label(self) -> &'static str {
        match self {
            SeriesKind::Pressure => "Pressure",
            SeriesKind::Flow => "Machine flow",
            SeriesKind::WaterTemperature => "Water temperature",
            SeriesKind::BasketTemperature => "Basket temperature",
            SeriesKind::WaterDispensed => "Water dispensed",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            SeriesKind::Pressure => "bar",
            SeriesKind::Flow => "ml/s",
            SeriesKind::WaterTemperature | SeriesKind::BasketTemperature => "°C",
            SeriesKind::WaterDispensed => "ml",
        }
    }

    /// The values a point may have; others are not measurements (a machine's "no
    /// reading" of -1, a sensor's glitch) and are left out.
    pub fn range(self) -> std::ops::RangeInclusive<f64> {
        match self {
            SeriesKind::Pressure => 0.0..=30.0,
            SeriesKind::Flow => 0.0..=50.0,
            SeriesKind::WaterTemperature | SeriesKind::BasketTemperature => -20.0..=150.0,
            SeriesKind::WaterDispensed => 0.0..=10_000.0,
        }
    }
}

/// One series of a shot: its points in time order, one per millisecond.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub kind: SeriesKind,
    /// (ms since the epoch, value).
    pub points: Vec<(u64, f64)>,
}

impl Series {
    /// The series of `points` (in any order) that are measurements of `kind`, sorted, the
    /// last one kept at a repeated millisecond; `None` when none are.
    pub fn from_points(kind: SeriesKind, points: impl IntoIterator<Item = (u64, f64)>) -> Option<Series> {
        let range = kind.range();
        let mut kept: Vec<(u64, f64)> =
            points.into_iter().filter(|(_, v)| v.is_finite() && range.contains(v)).collect();
        kept.sort_by_key(|(t, _)| *t);
        let mut points: Vec<(u64, f64)> = Vec::with_capacity(kept.len());
        for p in kept {
            match points.last_mut() {
                Some(last) if last.0 == p.0 => *last = p,
                _ => points.push(p),
            }
        }
        (!points.is_empty()).then_some(Series { kind, points })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_measurements_are_kept_in_time_order() {
        let s = Series::from_points(SeriesKind::Pressure, [(3, 9.0), (1, -1.0), (2, f64::NAN), (1, 0.5), (3, 8.5)])
            .expect("some");
        assert_eq!(s.points, vec![(1, 0.5), (3, 8.5)]);
        assert!(Series::from_points(SeriesKind::Flow, [(1, -1.0)]).is_none());
        for kind in SeriesKind::ALL {
            assert_eq!(SeriesKind::parse(kind.as_str()), Some(kind));
        }
    }
}
