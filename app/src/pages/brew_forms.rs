//! The brew forms of the scale and shot pages: a scale's current recipe (every new shot
//! on it starts with it) and what one shot was. Both post as plain HTML before the WASM
//! loads and show each field's error beside it.

use leptos::prelude::*;
use wages_store::{Beans, Method, Shot};

use crate::brews::{EditShot, RecipeView, SetRecipe, ratio_text};
use crate::error::AppError;
use crate::form::BasedActionForm;

/// A field's error beside it, from the last answer of `value`.
fn field_error<T: Clone + Send + Sync + 'static>(
    value: impl Get<Value = Option<Result<T, AppError>>> + Copy + Send + Sync + 'static,
    field: &'static str,
) -> impl Fn() -> Option<AnyView> + Send + Sync + 'static {
    move || {
        value
            .get()
            .and_then(Result::err)
            .and_then(|e| e.for_field(field))
            .map(|e| view! { <p class="field-error" role="alert" data-field=field>{e}</p> }.into_any())
    }
}

/// Any other failure of the last answer, for the form's status line.
fn other_error<T: Clone + Send + Sync + 'static>(
    value: impl Get<Value = Option<Result<T, AppError>>> + Copy + Send + Sync + 'static,
) -> impl Fn() -> Option<String> + Send + Sync + 'static {
    move || {
        value.get().and_then(Result::err).and_then(|e| match e {
            AppError::Invalid { .. } => None,
            other => Some(other.to_string()),
        })
    }
}

fn number(v: Option<f64>) -> String {
    v.map(|v| format!("{v}")).unwrap_or_default()
}

#[component]
fn MethodSelect(chosen: Option<Method>) -> impl IntoView {
    view! {
        <select id="method" name="method">
            <option value="" selected=chosen.is_none()>"–"</option>
            {Method::ALL.into_iter().map(|m| view! {
                <option value=m.as_str() selected=chosen == Some(m)>{m.label()}</option>
            }).collect_view()}
        </select>
    }
}

#[component]
fn BeansSelect(beans: Vec<Beans>, chosen: Option<i64>, on_shot: Option<Beans>) -> impl IntoView {
    // Archived beans a shot names stay selectable on it.
    let mut all = beans;
    if let Some(b) = on_shot
        && !all.iter().any(|x| x.id == b.id)
    {
        all.push(b);
    }
    view! {
        <select id="beans_id" name="beans_id">
            <option value="" selected=chosen.is_none()>"–"</option>
            {all.into_iter().map(|b| {
                let selected = chosen == Some(b.id);
                view! { <option value=b.id.to_string() selected=selected>{b.label()}</option> }
            }).collect_view()}
        </select>
    }
}

/// The scale's current recipe, on its page.
#[component]
pub fn RecipeCard(client_id: String, view: RecipeView) -> impl IntoView {
    let set = ServerAction::<SetRecipe>::new();
    let value = set.value();
    // The live graph draws the target as read, then as saved.
    if let Some(target) = use_context::<crate::brews::TargetYield>() {
        target.0.set(view.recipe.target_yield);
        Effect::new(move || {
            if let Some(Ok(saved)) = value.get() {
                target.0.set(saved.target_yield);
            }
        });
    }
    let saved = move || value.get().and_then(Result::ok).map(|_| "Saved: the next shot on this scale starts with it.");
    let r = view.recipe;
    view! {
        <section class="card wide" aria-labelledby="recipe-title">
            <h2 id="recipe-title">"Recipe"</h2>
            <p class="muted">"What this scale brews now. Every new shot on it starts with this; change it when the hopper changes."</p>
            <BasedActionForm action=set class="fields" testid="recipe-form">
                <input type="hidden" name="client_id" value=client_id />
                <label for="method">"Method"<MethodSelect chosen=r.method /></label>
                <label for="beans_id">"Beans"<BeansSelect beans=view.beans chosen=r.beans_id on_shot=None /></label>
                <label for="grinder">"Grinder"<input id="grinder" name="grinder" maxlength="100" value=r.grinder.unwrap_or_default() /></label>
                <label for="grind_setting">"Setting"<input id="grind_setting" name="grind_setting" maxlength="40" value=r.grind_setting.unwrap_or_default() /></label>
                <label for="dose">"Dose g"<input id="dose" name="dose" inputmode="decimal" value=number(r.dose) /></label>
                <label for="target_yield">"Target yield g"<input id="target_yield" name="target_yield" inputmode="decimal" value=number(r.target_yield) /></label>
                {move || ["method", "beans_id", "grinder", "grind_setting", "dose", "target_yield"].map(|field| field_error(value, field)()).into_iter().flatten().collect_view()}
                <div class="actions span-all">
                    <button type="submit" disabled=move || set.pending().get()>"Set recipe"</button>
                    {move || saved().map(|m| view! { <span class="ok" role="status">{m}</span> })}
                    {move || other_error(value)().map(|m| view! { <span class="error" role="alert">{m}</span> })}
                </div>
            </BasedActionForm>
        </section>
    }
}

/// What a shot was: its recipe, result and taste, with the figures that follow.
#[component]
pub fn ShotCard(client_id: String, session_id: String, shot: Shot, beans: Vec<Beans>) -> impl IntoView {
    let edit = ServerAction::<EditShot>::new();
    let value = edit.value();
    // After a save, the figures follow what was saved.
    let details = RwSignal::new(shot.details.clone());
    Effect::new(move || {
        if let Some(Ok(saved)) = value.get() {
            details.set(saved);
        }
    });
    let summary = shot.summary.clone();
    let on_shot = shot.beans.clone();
    let figures = move || {
        let now = Shot::new(summary.clone(), details.get(), on_shot.clone());
        (
            ratio_text(now.ratio),
            now.extraction_yield.map_or_else(|| "–".into(), |e| format!("{e:.1} %")),
            now.effective_yield,
            now.next,
        )
    };
    let d = shot.details.clone();
    let brewed = d.brewed_by.clone().map(|who| format!("Recipe set by {who}."));
    let edited = d.edited_by.clone().map(|who| format!("Last edited by {who}."));
    let off_roast = shot.days_off_roast.map(|days| format!("{days} days off roast"));
    let saved = move || value.get().and_then(Result::ok).map(|_| "Saved.");
    let figures2 = figures.clone();
    let viewer = crate::clock::Viewer::current();
    let figures3 = figures.clone();
    let figures4 = figures.clone();
    view! {
        <section class="card wide" aria-labelledby="shot-title">
            <h2 id="shot-title">"The shot"</h2>
            <div class="live-figures">
                {move || super::tile("brew ratio", "ratio", figures().0)}
                {move || super::tile(if viewer.ounces { "ounces out" } else { "grams out" }, "yield", viewer.weight_number(figures2().2))}
                {move || super::tile("extraction yield", "extraction-yield", figures3().1)}
            </div>
            // What to change next, from the figures as they are edited (wages_sessions::dial_in).
            {move || figures4().3.map(|next| view! {
                <p class="next-shot" data-testid="next-shot" data-change=format!("{:?}", next.change)>
                    <strong>"Next shot: "</strong>{next.reason}
                </p>
            })}
            <p class="muted">
                {shot.beans.as_ref().map(|b| format!("{}. ", b.label()))}
                {off_roast.map(|o| format!("{o}. "))}
                {brewed}" "{edited}
            </p>
            <BasedActionForm action=edit class="fields" testid="shot-form" keep_offline=format!("shot {client_id}/{session_id}")>
                <input type="hidden" name="client_id" value=client_id />
                <input type="hidden" name="session_id" value=session_id />
                <label for="method">"Method"<MethodSelect chosen=d.method /></label>
                <label for="beans_id">"Beans"<BeansSelect beans chosen=d.beans_id on_shot=shot.beans.clone() /></label>
                <label for="grinder">"Grinder"<input id="grinder" name="grinder" maxlength="100" value=d.grinder.clone().unwrap_or_default() /></label>
                <label for="grind_setting">"Setting"<input id="grind_setting" name="grind_setting" maxlength="40" value=d.grind_setting.clone().unwrap_or_default() /></label>
                <label for="dose">"Dose g"<input id="dose" name="dose" inputmode="decimal" value=number(d.dose) /></label>
                <label for="target_yield">"Target yield g"<input id="target_yield" name="target_yield" inputmode="decimal" value=number(d.target_yield) /></label>
                <label for="yield_grams">"Yield g"<input id="yield_grams" name="yield_grams" inputmode="decimal"
                    placeholder=format!("{:.1} (from the scale)", shot.summary.final_weight) value=number(d.yield_grams) /></label>
                <label for="water_temp">"Water °C"<input id="water_temp" name="water_temp" inputmode="decimal" value=number(d.water_temp) /></label>
                <label for="tds">"TDS %"<input id="tds" name="tds" inputmode="decimal" value=number(d.tds) /></label>
                <label for="rating">"Rating 0–100"<input id="rating" name="rating" type="number" min="0" max="100" inputmode="numeric" value=d.rating.map(|r| r.to_string()).unwrap_or_default() /></label>
                <label for="tags" class="span-2">"Tags"<input id="tags" name="tags" placeholder="sweet, dialing in" value=d.tags.join(", ") /></label>
                <label for="notes" class="span-all">"Notes"<textarea id="notes" name="notes" rows="3" maxlength="2000">{d.notes.clone().unwrap_or_default()}</textarea></label>
                <label class="check"><input type="checkbox" name="starred" value="on" checked=d.starred />" ★ Starred"</label>
                {move || ["method", "beans_id", "grinder", "grind_setting", "dose", "target_yield", "yield", "water_temp", "tds", "rating", "tags", "notes"].map(|field| field_error(value, field)()).into_iter().flatten().collect_view()}
                <div class="actions span-all">
                    <button type="submit" disabled=move || edit.pending().get()>"Save the shot"</button>
                    {move || saved().map(|m| view! { <span class="ok" role="status">{m}</span> })}
                    {move || other_error(value)().map(|m| view! { <span class="error" role="alert">{m}</span> })}
                </div>
            </BasedActionForm>
        </section>
    }
}
