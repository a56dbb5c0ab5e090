//! What a shot measures beside the weight, as series: the machine's pressure and flow,
//! the water's and the basket's temperature, the water dispensed (the kinds are the
//! codec's, which readings carry them in). Each series is a list of points (ms since the
//! epoch, value) on the shot's clock.

use serde::{Deserialize, Serialize};

pub use wages_codec::SeriesKind;

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

/// Puts the points of `series` back on `readings` (one session's, in time order) taken
/// at the same moments, as the measures they came with: what a reading carried over
/// MQTT is stored as points of its shot's series.
pub fn restore_measures(readings: &mut [wages_codec::Reading], series: &[Series]) {
    for s in series {
        for &(t, v) in &s.points {
            if let Ok(i) = readings.binary_search_by_key(&t, |r| r.tstamp.millis()) {
                // Stored points were in range when they came; one that is not stays out.
                let _ = readings[i].measures.set(s.kind, v);
            }
        }
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
    }

    #[test]
    fn measures_go_back_on_the_readings_of_their_moments() {
        let line = |t: u64| format!("client_id=s;session_id=b;value=1;tstamp={t}");
        let mut readings: Vec<_> =
            [1, 2, 3].into_iter().map(|t| wages_codec::decode_line(line(t).as_bytes()).expect("valid")).collect();
        let pressure = Series { kind: SeriesKind::Pressure, points: vec![(2, 9.0), (3, 8.5), (4, 8.0)] };
        restore_measures(&mut readings, &[pressure]);
        let got: Vec<_> = readings.iter().map(|r| r.measures.get(SeriesKind::Pressure)).collect();
        assert_eq!(got, [None, Some(9.0), Some(8.5)]);
        for kind in SeriesKind::ALL {
            assert_eq!(SeriesKind::parse(kind.as_str()), Some(kind));
        }
    }
}
