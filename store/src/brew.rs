//! What was brewed: beans, a scale's current recipe, and what a shot was (method, beans,
//! grind, dose, yield, taste). The shapes and rules the API, the pages and storage share;
//! pure, so the browser checks forms the same way.

use serde::{Deserialize, Deserializer, Serialize};
use wages_sessions::Summary;
use wages_sessions::dial_in::{self, Suggestion};

use crate::error::RegistryError;

/// Longest roaster, bean name, origin or grinder, in characters.
pub const MAX_SHORT_TEXT: usize = 100;
/// Longest notes, in characters.
pub const MAX_NOTES: usize = 2000;
/// Longest grinder setting and process, in characters.
pub const MAX_SETTING: usize = 40;
/// Most tags on one shot, and the longest tag in characters.
pub const MAX_TAGS: usize = 12;
pub const MAX_TAG_CHARS: usize = 32;
/// Bounds of the weights a person types, in grams.
pub const MAX_DOSE: f64 = 1000.0;
pub const MAX_YIELD: f64 = 5000.0;
/// Total dissolved solids, in percent.
pub const MAX_TDS: f64 = 30.0;

/// How a shot was brewed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    Espresso,
    PourOver,
    Immersion,
    ColdBrew,
    Other,
}

impl Method {
    pub const ALL: [Method; 5] =
        [Method::Espresso, Method::PourOver, Method::Immersion, Method::ColdBrew, Method::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Espresso => "espresso",
            Method::PourOver => "pour-over",
            Method::Immersion => "immersion",
            Method::ColdBrew => "cold-brew",
            Method::Other => "other",
        }
    }

    /// As people read it: "Pour-over".
    pub fn label(self) -> &'static str {
        match self {
            Method::Espresso => "Espresso",
            Method::PourOver => "Pour-over",
            Method::Immersion => "Immersion",
            Method::ColdBrew => "Cold brew",
            Method::Other => "Other",
        }
    }

    pub fn parse(s: &str) -> Result<Method, RegistryError> {
        Method::ALL.into_iter().find(|m| m.as_str() == s).ok_or_else(|| {
            RegistryError::invalid("method", "must be espresso, pour-over, immersion, cold-brew or other")
        })
    }
}

/// How dark the beans are roasted.
pub const ROAST_LEVELS: [&str; 5] = ["light", "medium-light", "medium", "medium-dark", "dark"];

/// Beans in the library. Times are ms since the epoch; `roast_date` is `YYYY-MM-DD`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Beans {
    pub id: i64,
    #[cfg_attr(feature = "openapi", schema(example = "Square Mile"))]
    pub roaster: String,
    #[cfg_attr(feature = "openapi", schema(example = "Red Brick"))]
    pub name: String,
    pub origin: Option<String>,
    pub process: Option<String>,
    /// light, medium-light, medium, medium-dark or dark.
    pub roast_level: Option<String>,
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-20"))]
    pub roast_date: Option<String>,
    pub notes: Option<String>,
    /// Archived beans stay on their shots but leave the pickers.
    pub archived: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Beans {
    /// "Square Mile · Red Brick".
    pub fn label(&self) -> String {
        format!("{} · {}", self.roaster, self.name)
    }
}

/// Beans as a person enters them (`POST /api/beans`, the form); [`BeansInput::check`]
/// applies the rules. `PATCH /api/beans/{id}` takes any of these fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BeansInput {
    /// 1 to 100 characters.
    pub roaster: String,
    /// 1 to 100 characters.
    pub name: String,
    #[serde(default)]
    pub origin: Option<String>,
    #[serde(default)]
    pub process: Option<String>,
    #[serde(default)]
    pub roast_level: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub roast_date: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub archived: bool,
}

/// Changes to beans: a field left out stays as it is, `null` clears it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BeansPatch {
    pub roaster: Option<String>,
    pub name: Option<String>,
    #[serde(default, deserialize_with = "some")]
    pub origin: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    pub process: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    pub roast_level: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    pub roast_date: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    pub notes: Option<Option<String>>,
    pub archived: Option<bool>,
}

impl BeansPatch {
    /// `current` with these changes, not yet checked.
    pub fn apply(self, current: &Beans) -> BeansInput {
        BeansInput {
            roaster: self.roaster.unwrap_or_else(|| current.roaster.clone()),
            name: self.name.unwrap_or_else(|| current.name.clone()),
            origin: self.origin.unwrap_or_else(|| current.origin.clone()),
            process: self.process.unwrap_or_else(|| current.process.clone()),
            roast_level: self.roast_level.unwrap_or_else(|| current.roast_level.clone()),
            roast_date: self.roast_date.unwrap_or_else(|| current.roast_date.clone()),
            notes: self.notes.unwrap_or_else(|| current.notes.clone()),
            archived: self.archived.unwrap_or(current.archived),
        }
    }
}

/// A field that is present in JSON: `Some(None)` for `null`, `Some(Some(v))` for a value.
fn some<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A whole number in JSON, also when it is written with a zero fraction (`63.0`): JSON
/// counts that as the same number, and so does the API's document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Whole<T>(pub T);

impl<'de, T: TryFrom<i64>> Deserialize<'de> for Whole<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor<T>(std::marker::PhantomData<T>);
        impl<T: TryFrom<i64>> serde::de::Visitor<'_> for Visitor<T> {
            type Value = Whole<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a whole number")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                T::try_from(v).map(Whole).map_err(|_| E::custom(format!("{v} is out of range")))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                let v = i64::try_from(v).map_err(|_| E::custom(format!("{v} is out of range")))?;
                self.visit_i64(v)
            }
            #[allow(clippy::cast_possible_truncation, clippy::float_cmp)]
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
                // Exactly representable as i64: |v| < 2^63 and no fraction.
                if v.fract() != 0.0 || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&v) {
                    return Err(E::custom(format!("expected a whole number, found {v}")));
                }
                self.visit_i64(v as i64)
            }
        }
        d.deserialize_any(Visitor(std::marker::PhantomData))
    }
}

/// `#[serde(deserialize_with)]` for a whole number that may be written `63.0`.
pub fn whole<'de, T: TryFrom<i64>, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    Whole::<T>::deserialize(d).map(|w| w.0)
}

/// [`whole`] for an optional field.
pub fn whole_or_null<'de, T: TryFrom<i64>, D: Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<Whole<T>>::deserialize(d).map(|o| o.map(|w| w.0))
}

/// [`whole`] for a patched field: present (`Some`), maybe `null`.
fn some_whole<'de, T: TryFrom<i64>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    whole_or_null(d).map(Some)
}

/// Trimmed text of at most `max` characters without control characters (line breaks
/// allowed where `multiline`); empty becomes `None`.
fn text(field: &str, value: Option<&str>, max: usize, multiline: bool) -> Result<Option<String>, RegistryError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    if value.chars().count() > max {
        return Err(RegistryError::invalid(field, format!("must be at most {max} characters")));
    }
    if value.chars().any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'))) {
        return Err(RegistryError::invalid(field, "must not contain control characters"));
    }
    Ok(Some(value.to_owned()))
}

fn required(field: &str, value: &str, max: usize) -> Result<String, RegistryError> {
    text(field, Some(value), max, false)?.ok_or_else(|| RegistryError::invalid(field, "must not be empty"))
}

impl BeansInput {
    /// The input with every field checked, trimmed and normalised.
    pub fn check(&self) -> Result<BeansInput, RegistryError> {
        let roast_level = text("roast_level", self.roast_level.as_deref(), MAX_SETTING, false)?
            .map(|l| l.to_lowercase())
            .map(|l| {
                if ROAST_LEVELS.contains(&l.as_str()) {
                    Ok(l)
                } else {
                    Err(RegistryError::invalid(
                        "roast_level",
                        "must be light, medium-light, medium, medium-dark or dark",
                    ))
                }
            })
            .transpose()?;
        let roast_date = text("roast_date", self.roast_date.as_deref(), 10, false)?
            .map(|d| {
                days_from_date(&d)
                    .map(|_| d)
                    .ok_or_else(|| RegistryError::invalid("roast_date", "must be a date as YYYY-MM-DD"))
            })
            .transpose()?;
        Ok(BeansInput {
            roaster: required("roaster", &self.roaster, MAX_SHORT_TEXT)?,
            name: required("name", &self.name, MAX_SHORT_TEXT)?,
            origin: text("origin", self.origin.as_deref(), MAX_SHORT_TEXT, false)?,
            process: text("process", self.process.as_deref(), MAX_SETTING, false)?,
            roast_level,
            roast_date,
            notes: text("notes", self.notes.as_deref(), MAX_NOTES, true)?,
            archived: self.archived,
        })
    }
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date between 1900 and 2999, or `None`.
pub fn days_from_date(date: &str) -> Option<i64> {
    let b = date.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| date.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1900..=2999).contains(&y) || !(1..=12).contains(&m) || d < 1 || d > month_days[(m - 1) as usize] {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// What a scale brews now: every new shot on it starts with this.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recipe {
    #[serde(default)]
    pub method: Option<Method>,
    /// An id from the beans library.
    #[serde(default, deserialize_with = "whole_or_null")]
    pub beans_id: Option<i64>,
    #[serde(default)]
    pub grinder: Option<String>,
    #[serde(default)]
    pub grind_setting: Option<String>,
    /// Coffee in, grams.
    #[serde(default)]
    pub dose: Option<f64>,
    /// The weight to stop at, grams.
    #[serde(default)]
    pub target_yield: Option<f64>,
}

/// What a scale is told to stop at, retained on `wages/devices/{client_id}/target`
/// (docs/protocol.md): `{"target_yield":36.0,"dose":18.0}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// Grams in the cup to stop at.
    pub target_yield: f64,
    /// Coffee in, grams, when the recipe says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dose: Option<f64>,
}

impl Target {
    /// A retained target as a scale reads it; `None` when it is cleared (empty) or not
    /// a target within bounds.
    pub fn decode(payload: &[u8]) -> Option<Target> {
        let target: Target = serde_json::from_slice(payload).ok()?;
        let bounded = target.target_yield.is_finite() && target.target_yield > 0.0 && target.target_yield <= MAX_YIELD;
        bounded.then_some(target)
    }
}

impl Recipe {
    /// The target this recipe gives its scale, if it names a yield.
    pub fn target(&self) -> Option<Target> {
        self.target_yield.map(|target_yield| Target { target_yield, dose: self.dose })
    }
}

/// A weight a person typed: finite, above 0 and at most `max` grams.
fn grams(field: &str, value: Option<f64>, max: f64) -> Result<Option<f64>, RegistryError> {
    match value {
        Some(v) if !v.is_finite() || v <= 0.0 || v > max => {
            Err(RegistryError::invalid(field, format!("must be more than 0 and at most {max} g")))
        }
        v => Ok(v),
    }
}

fn within(field: &str, value: Option<f64>, low: f64, high: f64, unit: &str) -> Result<Option<f64>, RegistryError> {
    match value {
        Some(v) if !v.is_finite() || v < low || v > high => {
            Err(RegistryError::invalid(field, format!("must be between {low} and {high}{unit}")))
        }
        v => Ok(v),
    }
}

impl Recipe {
    /// The recipe with every field checked and trimmed (beans are checked against the
    /// library by storage).
    pub fn check(&self) -> Result<Recipe, RegistryError> {
        Ok(Recipe {
            method: self.method,
            beans_id: self.beans_id,
            grinder: text("grinder", self.grinder.as_deref(), MAX_SHORT_TEXT, false)?,
            grind_setting: text("grind_setting", self.grind_setting.as_deref(), MAX_SETTING, false)?,
            dose: grams("dose", self.dose, MAX_DOSE)?,
            target_yield: grams("target_yield", self.target_yield, MAX_YIELD)?,
        })
    }
}

/// What a shot was, as kept with it: the recipe it started with, and what a person
/// added (yield by hand, water temperature, TDS, rating, notes, tags, a star).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShotDetails {
    pub method: Option<Method>,
    pub beans_id: Option<i64>,
    pub grinder: Option<String>,
    pub grind_setting: Option<String>,
    /// Coffee in, grams.
    pub dose: Option<f64>,
    /// Grams.
    pub target_yield: Option<f64>,
    /// The drink's weight in grams when set by hand; `null` follows the readings' final weight.
    #[serde(rename = "yield")]
    pub yield_grams: Option<f64>,
    /// Water temperature, °C.
    pub water_temp: Option<f64>,
    /// Total dissolved solids, percent.
    pub tds: Option<f64>,
    /// 0 to 100.
    pub rating: Option<i64>,
    pub notes: Option<String>,
    /// Lower case, each 1 to 32 characters.
    pub tags: Vec<String>,
    pub starred: bool,
    /// Who was logged in when the scale's recipe was set (the shot's recipe).
    pub brewed_by: Option<String>,
    /// Who edited the shot last, and when (ms since the epoch).
    pub edited_by: Option<String>,
    pub edited_at: Option<i64>,
}

impl ShotDetails {
    /// The details with every field checked and normalised (tags lower case, trimmed,
    /// without repeats).
    pub fn check(&self) -> Result<ShotDetails, RegistryError> {
        let recipe = Recipe {
            method: self.method,
            beans_id: self.beans_id,
            grinder: self.grinder.clone(),
            grind_setting: self.grind_setting.clone(),
            dose: self.dose,
            target_yield: self.target_yield,
        }
        .check()?;
        if let Some(r) = self.rating
            && !(0..=100).contains(&r)
        {
            return Err(RegistryError::invalid("rating", "must be between 0 and 100"));
        }
        Ok(ShotDetails {
            method: recipe.method,
            beans_id: recipe.beans_id,
            grinder: recipe.grinder,
            grind_setting: recipe.grind_setting,
            dose: recipe.dose,
            target_yield: recipe.target_yield,
            yield_grams: grams("yield", self.yield_grams, MAX_YIELD)?,
            water_temp: within("water_temp", self.water_temp, 0.0, 100.0, " °C")?,
            tds: within("tds", self.tds, 0.0, MAX_TDS, " %")?,
            rating: self.rating,
            notes: text("notes", self.notes.as_deref(), MAX_NOTES, true)?,
            tags: tags(&self.tags)?,
            starred: self.starred,
            brewed_by: self.brewed_by.clone(),
            edited_by: self.edited_by.clone(),
            edited_at: self.edited_at,
        })
    }
}

/// Tags checked and normalised: trimmed, lower case, no repeats, at most [`MAX_TAGS`].
pub fn tags(raw: &[String]) -> Result<Vec<String>, RegistryError> {
    let mut out: Vec<String> = Vec::new();
    for tag in raw.iter().map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty()) {
        if tag.chars().count() > MAX_TAG_CHARS {
            return Err(RegistryError::invalid("tags", format!("each tag must be at most {MAX_TAG_CHARS} characters")));
        }
        if !tag.chars().all(|c| c.is_alphanumeric() || c == '-' || c == ' ') {
            return Err(RegistryError::invalid("tags", "may only contain letters, digits, - and spaces"));
        }
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(RegistryError::invalid("tags", format!("must be at most {MAX_TAGS}")));
    }
    Ok(out)
}

/// Tags as typed in one box: separated by commas.
pub fn split_tags(typed: &str) -> Vec<String> {
    typed.split(',').map(str::to_owned).collect()
}

/// Changes to a shot (`PATCH …/sessions/{session_id}`): a field left out stays as it is,
/// `null` clears it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShotPatch {
    #[serde(default, deserialize_with = "some")]
    pub method: Option<Option<Method>>,
    #[serde(default, deserialize_with = "some_whole")]
    pub beans_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "some")]
    pub grinder: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    pub grind_setting: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    pub dose: Option<Option<f64>>,
    #[serde(default, deserialize_with = "some")]
    pub target_yield: Option<Option<f64>>,
    #[serde(default, rename = "yield", deserialize_with = "some")]
    pub yield_grams: Option<Option<f64>>,
    #[serde(default, deserialize_with = "some")]
    pub water_temp: Option<Option<f64>>,
    #[serde(default, deserialize_with = "some")]
    pub tds: Option<Option<f64>>,
    #[serde(default, deserialize_with = "some_whole")]
    pub rating: Option<Option<i64>>,
    #[serde(default, deserialize_with = "some")]
    pub notes: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub starred: Option<bool>,
}

impl ShotPatch {
    /// `current` with these changes, not yet checked.
    pub fn apply(self, current: &ShotDetails) -> ShotDetails {
        let c = current.clone();
        ShotDetails {
            method: self.method.unwrap_or(c.method),
            beans_id: self.beans_id.unwrap_or(c.beans_id),
            grinder: self.grinder.unwrap_or(c.grinder),
            grind_setting: self.grind_setting.unwrap_or(c.grind_setting),
            dose: self.dose.unwrap_or(c.dose),
            target_yield: self.target_yield.unwrap_or(c.target_yield),
            yield_grams: self.yield_grams.unwrap_or(c.yield_grams),
            water_temp: self.water_temp.unwrap_or(c.water_temp),
            tds: self.tds.unwrap_or(c.tds),
            rating: self.rating.unwrap_or(c.rating),
            notes: self.notes.unwrap_or(c.notes),
            tags: self.tags.unwrap_or(c.tags),
            starred: self.starred.unwrap_or(c.starred),
            ..c
        }
    }
}

/// A shot: its summary from the readings, what was brewed, and what follows from both.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shot {
    #[serde(flatten)]
    pub summary: Summary,
    #[serde(flatten)]
    pub details: ShotDetails,
    /// The beans, when the shot names some.
    pub beans: Option<Beans>,
    /// The yield by hand, else the final weight, grams.
    pub effective_yield: f64,
    /// Yield ÷ dose (a brew ratio of 1:x), when the dose is known.
    pub ratio: Option<f64>,
    /// Extraction yield in percent: TDS × yield ÷ dose, when all three are known.
    pub extraction_yield: Option<f64>,
    /// Whole days from the roast date to the shot, when the beans have a roast date.
    pub days_off_roast: Option<i64>,
    /// What to change on the next shot, from this one's figures and its method's target
    /// (`wages_sessions::dial_in`); none while the shot runs, or for a method without a
    /// target (cold brew, other).
    pub next: Option<Suggestion>,
}

impl Shot {
    /// The shot with its figures worked out.
    pub fn new(summary: Summary, details: ShotDetails, beans: Option<Beans>) -> Shot {
        let effective_yield = details.yield_grams.unwrap_or(summary.final_weight);
        let ratio = details.dose.filter(|d| *d > 0.0).map(|d| effective_yield / d);
        let extraction_yield = ratio.zip(details.tds).map(|(r, tds)| tds * r);
        let days_off_roast =
            beans.as_ref().and_then(|b| b.roast_date.as_deref()).and_then(days_from_date).map(|roast| {
                let day = i64::try_from(summary.started_at / 86_400_000).unwrap_or(i64::MAX);
                day - roast
            });
        let next = next_shot(&summary, &details, effective_yield);
        Shot { summary, details, beans, effective_yield, ratio, extraction_yield, days_off_roast, next }
    }
}

/// The suggestion for the shot after a finished one, by its method's target.
fn next_shot(summary: &Summary, details: &ShotDetails, yield_grams: f64) -> Option<Suggestion> {
    let target = dial_in::Target::for_method(details.method?.as_str())?;
    if summary.live {
        return None;
    }
    let shot = dial_in::Shot {
        dose: details.dose,
        yield_grams,
        // Milliseconds in a u64 hold exactly in an f64 well past any shot's length.
        #[allow(clippy::cast_precision_loss)]
        seconds: summary.duration_ms as f64 / 1000.0,
        taste: None,
        strength: None,
    };
    Some(dial_in::suggest(&shot, None, &target))
}

/// What `/shots` and `GET /api/shots` filter by; every field optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShotFilter {
    /// One scale's `client_id`.
    pub scale: Option<String>,
    pub beans_id: Option<i64>,
    pub method: Option<Method>,
    /// Shots carrying this tag.
    pub tag: Option<String>,
    /// Shots rated at least this.
    pub min_rating: Option<i64>,
    /// Only starred shots.
    pub starred: bool,
    /// Started at or after / before these times, ms since the epoch.
    pub from: Option<u64>,
    pub to: Option<u64>,
    /// Text in the notes, the tags, or the beans' roaster or name, ignoring case.
    pub q: Option<String>,
    /// Shots of this site's scales.
    #[serde(default)]
    pub site: Option<String>,
    /// The sites whose shots the asker may see, `site` applied: set by the server.
    #[serde(skip)]
    pub within: crate::Sites,
}

/// A place in the shot list, newest first: the last shot of a page. Written as
/// `{started_at}.{client_id}.{session_id}` (ids never contain a dot).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub started_at: u64,
    pub client_id: String,
    pub session_id: String,
}

impl Cursor {
    pub fn of(summary: &Summary) -> Cursor {
        Cursor {
            started_at: summary.started_at,
            client_id: summary.client_id.to_string(),
            session_id: summary.session_id.to_string(),
        }
    }

    pub fn parse(raw: &str) -> Result<Cursor, RegistryError> {
        let bad = || RegistryError::invalid("cursor", "must be a next_cursor from an earlier page");
        let mut parts = raw.splitn(3, '.');
        let started_at = parts.next().and_then(|t| t.parse().ok()).ok_or_else(bad)?;
        let client_id = wages_codec::ClientId::parse(parts.next().ok_or_else(bad)?).map_err(|_| bad())?;
        let session_id = wages_codec::SessionId::parse(parts.next().ok_or_else(bad)?).map_err(|_| bad())?;
        Ok(Cursor { started_at, client_id: client_id.to_string(), session_id: session_id.to_string() })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.started_at, self.client_id, self.session_id)
    }
}

/// One page of shots, and where the next starts (none on the last page).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShotPage {
    pub shots: Vec<Shot>,
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_shot_says_what_to_change_next_by_its_methods_target() {
        let summary = |live: bool| Summary {
            client_id: wages_codec::ClientId::parse("scale-01").expect("id"),
            session_id: wages_codec::SessionId::parse("brew-1").expect("id"),
            started_at: 1_764_000_000_000,
            ended_at: 1_764_000_019_000,
            duration_ms: 19_000,
            count: 191,
            final_weight: 36.0,
            max_weight: 36.2,
            peak_flow: 3.0,
            mean_flow: 1.9,
            live,
            compacted: None,
        };
        let details = |method: Option<Method>| ShotDetails { method, dose: Some(18.0), ..ShotDetails::default() };
        let fast = Shot::new(summary(false), details(Some(Method::Espresso)), None);
        let next = fast.next.expect("a suggestion");
        assert_eq!(next.change, dial_in::Change::GrindFiner);
        assert_eq!(next.reason, "ran 19 s for 1:2.0, under the 25–35 s aimed at: grind finer");
        // Not while it runs, nor without a method that has a target.
        assert_eq!(Shot::new(summary(true), details(Some(Method::Espresso)), None).next, None);
        assert_eq!(Shot::new(summary(false), details(Some(Method::ColdBrew)), None).next, None);
        assert_eq!(Shot::new(summary(false), details(None), None).next, None);
    }

    #[test]
    fn dates_count_days_from_the_epoch() {
        assert_eq!(days_from_date("1970-01-01"), Some(0));
        assert_eq!(days_from_date("2026-11-29"), Some(20_786));
        assert_eq!(days_from_date("2024-02-29"), Some(19_782));
        for bad in ["2023-02-29", "2026-13-01", "2026-00-10", "26-11-29", "2026/11/29", "1800-01-01", "2026-11-3x"] {
            assert_eq!(days_from_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn beans_name_the_broken_field() {
        let ok = BeansInput { roaster: " Square Mile ".into(), name: "Red Brick".into(), ..Default::default() };
        assert_eq!(ok.check().map(|b| b.roaster), Ok("Square Mile".to_owned()));
        let field = |b: BeansInput| match b.check() {
            Err(RegistryError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(BeansInput { roaster: String::new(), ..ok.clone() }), "roaster");
        assert_eq!(field(BeansInput { name: "x".repeat(101), ..ok.clone() }), "name");
        assert_eq!(field(BeansInput { roast_date: Some("2026-02-30".into()), ..ok.clone() }), "roast_date");
        assert_eq!(field(BeansInput { roast_level: Some("burnt".into()), ..ok.clone() }), "roast_level");
        assert_eq!(field(BeansInput { notes: Some("n".repeat(2001)), ..ok.clone() }), "notes");
        let level = BeansInput { roast_level: Some("Medium-Light".into()), origin: Some("  ".into()), ..ok };
        let checked = level.check().expect("valid");
        assert_eq!((checked.roast_level.as_deref(), checked.origin), (Some("medium-light"), None));
    }

    #[test]
    fn shot_details_are_bounded() {
        let field = |d: ShotDetails| match d.check() {
            Err(RegistryError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        let base = ShotDetails::default();
        assert_eq!(field(ShotDetails { dose: Some(0.0), ..base.clone() }), "dose");
        assert_eq!(field(ShotDetails { dose: Some(1000.5), ..base.clone() }), "dose");
        assert_eq!(field(ShotDetails { yield_grams: Some(-1.0), ..base.clone() }), "yield");
        assert_eq!(field(ShotDetails { rating: Some(101), ..base.clone() }), "rating");
        assert_eq!(field(ShotDetails { tds: Some(31.0), ..base.clone() }), "tds");
        assert_eq!(field(ShotDetails { water_temp: Some(120.0), ..base.clone() }), "water_temp");
        assert_eq!(field(ShotDetails { tags: vec!["a,b;c".into()], ..base.clone() }), "tags");
        assert_eq!(field(ShotDetails { tags: (0..13).map(|i| format!("t{i}")).collect(), ..base.clone() }), "tags");
        assert_eq!(field(ShotDetails { grinder: Some("g".repeat(101)), ..base.clone() }), "grinder");
        let tagged = ShotDetails { tags: split_tags(" Sweet , sweet,Dialing in,"), ..base }.check().expect("valid");
        assert_eq!(tagged.tags, ["sweet", "dialing in"]);
    }

    #[test]
    fn ratio_and_extraction_yield_follow_from_dose_yield_and_tds() {
        let summary: Summary = serde_json::from_value(serde_json::json!({
            "client_id": "s1", "session_id": "b1", "started_at": 1_764_374_400_000_u64, "ended_at": 1_764_374_430_000_u64,
            "duration_ms": 30_000, "count": 300, "final_weight": 36.0, "max_weight": 36.4,
            "peak_flow": 2.1, "mean_flow": 1.2, "live": false
        }))
        .expect("summary");
        let details = ShotDetails { dose: Some(18.0), tds: Some(9.0), ..Default::default() };
        let beans = Beans {
            id: 1,
            roaster: "R".into(),
            name: "N".into(),
            origin: None,
            process: None,
            roast_level: None,
            roast_date: Some("2025-11-19".into()),
            notes: None,
            archived: false,
            created_at: 0,
            updated_at: 0,
        };
        let shot = Shot::new(summary.clone(), details.clone(), Some(beans));
        assert_eq!((shot.effective_yield, shot.ratio), (36.0, Some(2.0)));
        assert_eq!(shot.extraction_yield, Some(18.0));
        assert_eq!(shot.days_off_roast, Some(10));
        let by_hand = Shot::new(summary, ShotDetails { yield_grams: Some(40.0), ..details }, None);
        assert_eq!((by_hand.effective_yield, by_hand.ratio, by_hand.days_off_roast), (40.0, Some(40.0 / 18.0), None));
    }

    #[test]
    fn patches_leave_out_what_they_do_not_name() {
        let current =
            ShotDetails { dose: Some(18.0), notes: Some("sour".into()), rating: Some(60), ..Default::default() };
        let patch: ShotPatch = serde_json::from_str(r#"{"notes": null, "rating": 80}"#).expect("patch");
        let next = patch.apply(&current);
        assert_eq!((next.dose, next.notes, next.rating), (Some(18.0), None, Some(80)));
        assert!(serde_json::from_str::<ShotPatch>(r#"{"dosage": 1}"#).is_err());
    }

    #[test]
    fn cursors_read_back() {
        let c = Cursor { started_at: 17, client_id: "scale-01".into(), session_id: "brew_2".into() };
        assert_eq!(Cursor::parse(&c.to_string()), Ok(c));
        assert!(Cursor::parse("x.scale.b").is_err());
        assert!(Cursor::parse("17.scale").is_err());
    }
}
