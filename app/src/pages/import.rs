//! `{base}/shots/import`: a shot from another app onto a scale. A plain multipart form
//! (it works before the WASM loads) posting to `{base}/shots/import`'s upload; the server
//! answers with the new shot's page, or back here with `?error=&field=` and the scale
//! kept, so the person sees what in the file was wrong.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::devices::list_devices;

#[component]
pub fn ShotImportPage() -> impl IntoView {
    let query = use_query_map();
    let scales = Resource::new(|| (), |()| list_devices(String::new()));
    let base = expect_context::<crate::base::BasePath>();
    let action = base.join("/shots/import/upload");
    let error = move || {
        let q = query.read();
        q.get("error").filter(|e| !e.is_empty()).map(|e| match q.get("field").filter(|f| !f.is_empty()) {
            Some(field) => format!("{field}: {e}"),
            None => e,
        })
    };
    let chosen = move || query.read().get("scale").unwrap_or_default();
    view! {
        <Title text="Import a shot" />
        <h1>"Import a shot"</h1>
        <section class="card" aria-labelledby="import-title">
            <h2 id="import-title">"From another app or a machine"</h2>
            <p class="muted">
                "A shot file as its app wrote it: a Beanconqueror brew export, a shot from Visualizer.coffee, \
                 a Decent DE1 .shot or JSON shot (pyDE1's too), a Gaggiuino, GaggiMate or Meticulous shot, \
                 or a Smart Espresso Profiler, Pressensor or Coffee Flow CSV. Its weight curve, pressure, \
                 flow, temperatures, recipe, beans and notes become a shot on the scale you pick. \
                 Up to 10 MiB. Beans are matched in the library by roaster and name, or added; \
                 the same file imported twice is one shot."
            </p>
            {move || error().map(|e| view! { <p class="error banner" role="alert" data-testid="import-error">{e}</p> })}
            <form method="post" enctype="multipart/form-data" action=action.clone() class="fields" data-testid="import-form">
                <label class="span-2">"Scale"
                    <Transition fallback=|| view! { <select name="scale" required><option value="">"Loading scales…"</option></select> }>
                        {move || Suspend::new(async move {
                            let list = scales.await.unwrap_or_default();
                            let chosen = chosen();
                            view! {
                                <select name="scale" required data-testid="import-scale">
                                    <option value="">"pick a scale"</option>
                                    {list.into_iter().map(|d| {
                                        let id = d.client_id.to_string();
                                        let selected = id == chosen;
                                        let label = format!("{} ({id})", d.name);
                                        view! { <option value=id selected=selected>{label}</option> }
                                    }).collect_view()}
                                </select>
                            }
                        })}
                    </Transition>
                </label>
                <label class="span-2">"Session id (optional)"
                    <input name="session_id" maxlength="64" pattern="[A-Za-z0-9_\\-]+" placeholder="the file's, else one from its time" />
                </label>
                <label class="span-all">"Shot file"
                    <input type="file" name="file" accept=".json,.shot,.csv,.tcl,.faketcl,application/json,text/csv,text/plain" required data-testid="import-file" />
                </label>
                <div class="actions span-all"><button type="submit" data-testid="import-submit">"Import"</button></div>
            </form>
        </section>
    }
}
