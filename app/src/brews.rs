//! Server functions for brews: the beans library, a scale's recipe, what a shot was, and
//! finding shots. Forms post plain strings; the rules are `wages_store::brew`'s, so a
//! form and the API reject the same input with the same words.

// Form server functions take one argument per field.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use wages_store::{Beans, Method, Recipe, ShotDetails, ShotFilter, ShotPage};

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::error::with_status;

/// Who is calling, as recorded on what they change.
#[cfg(feature = "ssr")]
fn who() -> String {
    crate::people::identity().map_or_else(|_| "unknown".into(), |i| i.who())
}

/// A number typed in a form: empty is none; a decimal comma is taken as a point.
pub fn number(field: &str, typed: &str) -> Result<Option<f64>, AppError> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    typed
        .replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(Some)
        .ok_or_else(|| AppError::Invalid { field: field.into(), message: "must be a number".into() })
}

fn whole(field: &str, typed: &str) -> Result<Option<i64>, AppError> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    typed
        .parse()
        .map(Some)
        .map_err(|_| AppError::Invalid { field: field.into(), message: "must be a whole number".into() })
}

fn optional_method(typed: &str) -> Result<Option<Method>, AppError> {
    let typed = typed.trim();
    if typed.is_empty() { Ok(None) } else { Ok(Some(Method::parse(typed)?)) }
}

fn text(typed: String) -> Option<String> {
    Some(typed).filter(|t| !t.trim().is_empty())
}

/// The beans library; archived beans too when asked.
#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn list_beans(archived: bool) -> Result<Vec<Beans>, AppError> {
    let registry = expect_context::<wages_store::Registry>();
    with_status(registry.brews().beans(archived).await.map_err(AppError::from))
}

/// Adds beans, or (with an `id`) replaces their fields.
#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn save_beans(
    #[server(default)] id: String,
    roaster: String,
    name: String,
    #[server(default)] origin: String,
    #[server(default)] process: String,
    #[server(default)] roast_level: String,
    #[server(default)] roast_date: String,
    #[server(default)] notes: String,
    #[server(default)] archived: Option<String>,
) -> Result<Beans, AppError> {
    let saved = async {
        let input = wages_store::BeansInput {
            roaster,
            name,
            origin: text(origin),
            process: text(process),
            roast_level: text(roast_level),
            roast_date: text(roast_date),
            notes: text(notes),
            archived: archived.is_some(),
        }
        .check()?;
        let brews = expect_context::<wages_store::Registry>().brews();
        match whole("id", &id)? {
            None => Ok(brews.add_beans(&input).await?),
            Some(id) => Ok(brews.update_beans(id, &input).await?),
        }
    };
    with_status(saved.await)
}

/// A scale's recipe from the recipe form's fields.
pub fn recipe_of(
    method: &str,
    beans_id: &str,
    grinder: String,
    grind_setting: String,
    dose: &str,
    target_yield: &str,
) -> Result<Recipe, AppError> {
    Ok(Recipe {
        method: optional_method(method)?,
        beans_id: whole("beans_id", beans_id)?,
        grinder: text(grinder),
        grind_setting: text(grind_setting),
        dose: number("dose", dose)?,
        target_yield: number("target_yield", target_yield)?,
    }
    .check()?)
}

/// A scale's target yield as its recipe says, shared on its page by the recipe card
/// (which sets it) and the live graph (which draws it and counts down to it).
#[derive(Clone, Copy)]
pub struct TargetYield(pub RwSignal<Option<f64>>);

/// A scale's current recipe and the beans to pick from, for its page (in [`crate::devices::ScaleHistory`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecipeView {
    pub recipe: Recipe,
    pub beans: Vec<Beans>,
}

/// Sets what a scale brews now; the next shot on it starts with it.
#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn set_recipe(
    client_id: String,
    #[server(default)] method: String,
    #[server(default)] beans_id: String,
    #[server(default)] grinder: String,
    #[server(default)] grind_setting: String,
    #[server(default)] dose: String,
    #[server(default)] target_yield: String,
) -> Result<Recipe, AppError> {
    let set = async {
        let id = wages_codec::ClientId::parse(&client_id)
            .map_err(|_| AppError::NotFound(format!("no device with client_id {client_id}")))?;
        let registry = expect_context::<wages_store::Registry>();
        registry.require(&id).await?;
        let recipe = recipe_of(&method, &beans_id, grinder, grind_setting, &dose, &target_yield)?;
        let saved = registry.brews().set_recipe(&id, &recipe, &who()).await?;
        crate::pipeline::handle()?.0.publish_target(id, saved.target()).await.map_err(|e| {
            AppError::Unavailable(format!("the recipe is saved, but the scale's target could not be published: {e}"))
        })?;
        Ok(saved)
    };
    with_status(set.await)
}

/// Saves what a shot was, from the shot page's form (every field; empty clears).
#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn edit_shot(
    client_id: String,
    session_id: String,
    #[server(default)] method: String,
    #[server(default)] beans_id: String,
    #[server(default)] grinder: String,
    #[server(default)] grind_setting: String,
    #[server(default)] dose: String,
    #[server(default)] target_yield: String,
    #[server(default)] yield_grams: String,
    #[server(default)] water_temp: String,
    #[server(default)] tds: String,
    #[server(default)] rating: String,
    #[server(default)] notes: String,
    #[server(default)] tags: String,
    #[server(default)] starred: Option<String>,
) -> Result<ShotDetails, AppError> {
    let saved = async {
        let missing = || AppError::NotFound(format!("no session {session_id} of scale {client_id}"));
        let (Ok(id), Ok(sid)) = (wages_codec::ClientId::parse(&client_id), wages_codec::SessionId::parse(&session_id))
        else {
            return Err(missing());
        };
        let brews = expect_context::<wages_store::Registry>().brews();
        let (current, _) = brews.details(&id, &sid).await?.ok_or_else(missing)?;
        let details = ShotDetails {
            method: optional_method(&method)?,
            beans_id: whole("beans_id", &beans_id)?,
            grinder: text(grinder),
            grind_setting: text(grind_setting),
            dose: number("dose", &dose)?,
            target_yield: number("target_yield", &target_yield)?,
            yield_grams: number("yield", &yield_grams)?,
            water_temp: number("water_temp", &water_temp)?,
            tds: number("tds", &tds)?,
            rating: whole("rating", &rating)?,
            notes: text(notes),
            tags: wages_store::brew::split_tags(&tags),
            starred: starred.is_some(),
            ..current
        }
        .check()?;
        brews.edit(&id, &sid, &details, &who()).await?;
        Ok(details)
    };
    with_status(saved.await)
}

/// What the Shots page filters by, as typed in its form (all strings: a plain GET form
/// fills them before the WASM loads).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShotQuery {
    pub scale: String,
    pub beans_id: String,
    pub method: String,
    pub tag: String,
    pub min_rating: String,
    pub starred: bool,
    /// `YYYY-MM-DD`, from the start of that day (UTC) / to its end.
    pub from: String,
    pub to: String,
    pub q: String,
    /// A site's id: its scales' shots only.
    #[serde(default)]
    pub site: String,
    pub cursor: String,
}

impl ShotQuery {
    /// The filter, or the first field that does not read.
    pub fn filter(&self) -> Result<(ShotFilter, Option<wages_store::Cursor>), AppError> {
        let day = |field: &str, typed: &str| -> Result<Option<u64>, AppError> {
            let typed = typed.trim();
            if typed.is_empty() {
                return Ok(None);
            }
            let days = wages_store::brew::days_from_date(typed).ok_or_else(|| AppError::Invalid {
                field: field.into(),
                message: "must be a date as YYYY-MM-DD".into(),
            })?;
            Ok(u64::try_from(days).ok().map(|d| d * 86_400_000))
        };
        let min_rating = whole("min_rating", &self.min_rating)?;
        if min_rating.is_some_and(|r| !(0..=100).contains(&r)) {
            return Err(AppError::Invalid { field: "min_rating".into(), message: "must be between 0 and 100".into() });
        }
        let filter = ShotFilter {
            scale: text(self.scale.trim().to_owned()),
            beans_id: whole("beans_id", &self.beans_id)?,
            method: optional_method(&self.method)?,
            tag: text(self.tag.trim().to_owned()),
            min_rating,
            starred: self.starred,
            from: day("from", &self.from)?,
            to: day("to", &self.to)?.map(|t| t + 86_400_000),
            q: text(self.q.trim().chars().take(100).collect()),
            site: text(self.site.trim().to_owned()),
            within: wages_store::Sites::all(),
        };
        let cursor = text(self.cursor.clone()).map(|c| wages_store::Cursor::parse(&c)).transpose()?;
        Ok((filter, cursor))
    }
}

/// Shots the Shots page lists per page.
pub const SHOTS_PER_PAGE: u32 = 25;

/// A page of shots and the beans and scales to filter by.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShotsView {
    pub page: ShotPage,
    pub beans: Vec<Beans>,
    pub scales: Vec<(String, String)>,
    /// The sites to filter by: those the asker sees.
    pub sites: Vec<wages_store::Site>,
}

#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn find_shots(query: ShotQuery) -> Result<ShotsView, AppError> {
    let found = async {
        let (mut filter, cursor) = query.filter()?;
        filter.within = crate::people::within(filter.site.as_deref().unwrap_or_default())?;
        let registry = expect_context::<wages_store::Registry>();
        let brews = registry.brews();
        let now = wages_codec::clock::now_ms();
        let page = brews.search(&filter, cursor.as_ref(), SHOTS_PER_PAGE, now).await?;
        let scales = registry
            .list_in(None, wages_store::MAX_LIST, &crate::people::within("")?)
            .await?
            .into_iter()
            .map(|d| (d.client_id.to_string(), d.name))
            .collect();
        let mine = crate::people::within("")?;
        let sites = registry.sites().await?.into_iter().filter(|s| mine.allows(Some(&s.id))).collect();
        Ok(ShotsView { page, beans: brews.beans(true).await?, scales, sites })
    };
    with_status(found.await)
}

/// Today, as days since 1970-01-01 (UTC), on the server or in the browser.
pub fn today() -> i64 {
    wages_codec::clock::now_ms_i64() / 86_400_000
}

/// `1:2.0`, or a dash without a dose.
pub fn ratio_text(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "–".into(), |r| format!("1:{r:.1}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_type_them() {
        assert_eq!(number("dose", " 18,5 "), Ok(Some(18.5)));
        assert_eq!(number("dose", ""), Ok(None));
        assert!(matches!(number("dose", "eighteen"), Err(AppError::Invalid { field, .. }) if field == "dose"));
        assert!(number("dose", "NaN").is_err());
        assert_eq!(ratio_text(Some(2.04)), "1:2.0");
    }

    #[test]
    fn shot_queries_name_the_broken_field() {
        let q = ShotQuery { from: "2026-11-01".into(), to: "2026-11-01".into(), ..Default::default() };
        let (filter, _) = q.filter().expect("valid");
        assert_eq!(filter.to.zip(filter.from).map(|(t, f)| t - f), Some(86_400_000));
        let bad = ShotQuery { min_rating: "200".into(), ..Default::default() };
        assert!(matches!(bad.filter(), Err(AppError::Invalid { field, .. }) if field == "min_rating"));
        let bad = ShotQuery { cursor: "nope".into(), ..Default::default() };
        assert!(matches!(bad.filter(), Err(AppError::Invalid { field, .. }) if field == "cursor"));
    }
}
