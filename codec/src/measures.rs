//! What a machine measures beside the weight: the pressure and flow at the group, the
//! water's and the basket's temperature, the water dispensed. A reading may carry any of
//! them (`pressure=9.1;flow=2.4` in the text form); shot files carry them as series.

use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};

use crate::error::InvalidValue;

/// One kind of measure beside the weight, with its unit and the values it may take.
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

    /// The name in payloads, files, the API and storage.
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

    /// The values a measure may have. In a shot file others are not measurements (a
    /// machine's "no reading" of -1, a sensor's glitch) and are left out; in a reading
    /// they are refused with the reason.
    pub fn range(self) -> std::ops::RangeInclusive<f64> {
        let (min, max) = self.bounds();
        min.1..=max.1
    }

    /// [`SeriesKind::range`]'s ends, as text for errors and as numbers.
    fn bounds(self) -> ((&'static str, f64), (&'static str, f64)) {
        match self {
            SeriesKind::Pressure => (("0", 0.0), ("30", 30.0)),
            SeriesKind::Flow => (("0", 0.0), ("50", 50.0)),
            SeriesKind::WaterTemperature | SeriesKind::BasketTemperature => (("-20", -20.0), ("150", 150.0)),
            SeriesKind::WaterDispensed => (("0", 0.0), ("10000", 10_000.0)),
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for SeriesKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The measures one reading carries beside its weight, each optional. Inline and `Copy`
/// like the reading itself: five numbers, a NaN where a measure was not sent.
#[derive(Clone, Copy)]
pub struct Measures([f64; 5]);

impl Measures {
    /// A reading of weight alone.
    pub const NONE: Measures = Measures([f64::NAN; 5]);

    /// The measure of `kind`, if the reading carries it.
    pub fn get(&self, kind: SeriesKind) -> Option<f64> {
        let v = self.0[kind.index()];
        (!v.is_nan()).then_some(v)
    }

    /// Sets the measure of `kind`, checked against its range.
    pub fn set(&mut self, kind: SeriesKind, value: f64) -> Result<(), InvalidValue> {
        if !value.is_finite() {
            return Err(InvalidValue::NotFinite);
        }
        if !kind.range().contains(&value) {
            let ((min, _), (max, _)) = kind.bounds();
            return Err(InvalidValue::OutOfRange { min, max });
        }
        self.0[kind.index()] = value;
        Ok(())
    }

    /// Those the reading carries, in [`SeriesKind::ALL`]'s order.
    pub fn iter(&self) -> impl Iterator<Item = (SeriesKind, f64)> + '_ {
        SeriesKind::ALL.into_iter().filter_map(|kind| self.get(kind).map(|v| (kind, v)))
    }

    /// Whether the reading carries weight alone.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|v| v.is_nan())
    }
}

impl Default for Measures {
    fn default() -> Self {
        Measures::NONE
    }
}

impl PartialEq for Measures {
    fn eq(&self, other: &Self) -> bool {
        SeriesKind::ALL.into_iter().all(|kind| self.get(kind) == other.get(kind))
    }
}

impl fmt::Debug for Measures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter().map(|(kind, v)| (kind.as_str(), v))).finish()
    }
}

/// As the measures it carries, by name: `{"pressure":9.1}`, or `{}`.
impl Serialize for Measures {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for (kind, v) in self.iter() {
            map.serialize_entry(kind.as_str(), &v)?;
        }
        map.end()
    }
}

/// From an object of measures by name (a `null` is one not sent); other keys are skipped.
impl<'de> Deserialize<'de> for Measures {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Measures;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("measures by name")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Measures, A::Error> {
                let mut measures = Measures::NONE;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    let Some(kind) = SeriesKind::parse(&key) else {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    };
                    if let Some(v) = map.next_value::<Option<f64>>()? {
                        measures.set(kind, v).map_err(|why| de::Error::custom(format_args!("{kind} {why}")))?;
                    }
                }
                Ok(measures)
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_are_kept_within_their_ranges() {
        let mut m = Measures::NONE;
        assert!(m.is_empty());
        m.set(SeriesKind::Pressure, 9.1).expect("in range");
        m.set(SeriesKind::WaterTemperature, -20.0).expect("in range");
        assert_eq!(m.set(SeriesKind::Pressure, 30.5), Err(InvalidValue::OutOfRange { min: "0", max: "30" }));
        assert_eq!(m.set(SeriesKind::Flow, f64::NAN), Err(InvalidValue::NotFinite));
        assert_eq!(m.get(SeriesKind::Pressure), Some(9.1));
        assert_eq!(m.get(SeriesKind::Flow), None);
        assert_eq!(m.iter().collect::<Vec<_>>(), [(SeriesKind::Pressure, 9.1), (SeriesKind::WaterTemperature, -20.0)]);
        for kind in SeriesKind::ALL {
            assert_eq!(SeriesKind::parse(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn measures_are_an_object_of_those_sent() {
        let mut m = Measures::NONE;
        m.set(SeriesKind::Flow, 2.5).expect("in range");
        assert_eq!(serde_json::to_string(&m).expect("serializes"), r#"{"flow":2.5}"#);
        let back: Measures = serde_json::from_str(r#"{"flow":2.5,"pressure":null,"battery":3}"#).expect("reads");
        assert_eq!(back, m);
        assert!(serde_json::from_str::<Measures>(r#"{"pressure":99}"#).is_err());
    }
}
