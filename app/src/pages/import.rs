//! `{base}/shots/import`: shots from other apps and machines onto a scale. A plain
//! multipart form (it works before the WASM loads) posting to `{base}/shots/import`'s
//! upload; for one file the server answers with the new shot's page, or back here with
//! `?error=&field=` and the scale kept, so the person sees what in the file was wrong; for
//! several, back here with how many were `imported`, `there` already or `refused`. Once
//! the page has loaded, the form takes many files (picked, a folder, or dropped on it)
//! and sends them one by one to the API, with a progress bar and a summary: imported,
//! already there, refused and why. One file goes straight to its shot. A Beanconqueror
//! backup among them (`Beanconqueror.zip`, or its files unpacked, with the flow profiles
//! of an Android export folder) goes whole to the backup import, and its brews count in
//! the summary.

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
    // What several files sent with the form (before the script took over) came to.
    let done = move || {
        let q = query.read();
        let count = |k: &str| q.get(k).and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
        q.get("imported").map(|_| {
            format!("{} imported, {} already there, {} refused", count("imported"), count("there"), count("refused"))
        })
    };
    let batch = Batch::default();
    // A problem found in the browser (set once the page has loaded), before the server's.
    let problem = RwSignal::new(None::<String>);
    let form = NodeRef::<leptos::html::Form>::new();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        #[cfg(feature = "hydrate")]
        browser::submit(&ev, form, batch, problem);
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, form, problem);
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        browser::dropped(&ev, form, batch, problem);
    };
    view! {
        <Title text="Import a shot" />
        <h1>"Import a shot"</h1>
        <section class="card" aria-labelledby="import-title">
            <h2 id="import-title">"From another app or a machine"</h2>
            <p class="muted">
                "A shot file as its app wrote it: a Beanconqueror brew export, a shot from Visualizer.coffee, \
                 a Decent DE1 .shot or JSON shot (pyDE1's too), a Gaggiuino, GaggiMate or Meticulous shot, \
                 a Smart Espresso Profiler, Pressensor or Coffee Flow CSV, or a shot exported from a Wages. Its weight curve, pressure, \
                 flow, temperatures, recipe, beans and notes become a shot on the scale you pick. \
                 Up to 10 MiB. Beans are matched in the library by roaster and name, or added; \
                 the same file imported twice is one shot. A whole Beanconqueror backup \
                 (Beanconqueror.zip, or its export folder with the flow profiles) brings every brew \
                 and its beans at once."
            </p>
            {move || done().map(|d| view! { <p class="banner" role="status" data-testid="import-done">{d}</p> })}
            {move || problem.get().or_else(error).filter(|e| !e.is_empty()).map(|e| view! { <p class="error banner" role="alert" data-testid="import-error">{e}</p> })}
            <form
                method="post"
                enctype="multipart/form-data"
                action=action.clone()
                class="fields"
                data-testid="import-form"
                node_ref=form
                on:submit=on_submit
                on:dragover=|ev: leptos::ev::DragEvent| ev.prevent_default()
                on:drop=on_drop
            >
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
                <label class="span-all">"Shot files (or drop them here)"
                    <input type="file" name="file" multiple accept=ACCEPT data-testid="import-file" />
                </label>
                <label class="span-all">"Or a whole folder"
                    <input type="file" name="folder" webkitdirectory="" data-testid="import-folder" />
                </label>
                <div class="actions span-all"><button type="submit" data-testid="import-submit">"Import"</button></div>
            </form>
            <BatchReport batch />
        </section>
    }
}

/// The file types the picker offers (any file may still be given: the content decides).
const ACCEPT: &str = ".json,.shot,.csv,.tcl,.faketcl,.zip,application/json,text/csv,text/plain,application/zip";

/// How one file of a batch went.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))] // made in the browser only
enum Outcome {
    /// Stored: the new shot's page.
    Imported(String),
    /// The scale has this shot already.
    AlreadyThere,
    /// Refused, and why.
    Refused(String),
    /// A backup's brews: how many were imported and there already, and each refusal.
    Backup { imported: usize, there: usize, refused: Vec<String> },
}

impl Outcome {
    /// Shots imported, already there, refused.
    fn counts(&self) -> (usize, usize, usize) {
        match self {
            Outcome::Imported(_) => (1, 0, 0),
            Outcome::AlreadyThere => (0, 1, 0),
            Outcome::Refused(_) => (0, 0, 1),
            Outcome::Backup { imported, there, refused } => (*imported, *there, refused.len()),
        }
    }
}

/// A batch of files under way: how many there are, and how each went so far.
#[derive(Clone, Copy, Default)]
struct Batch {
    total: RwSignal<usize>,
    /// A backup is among the files.
    backup: RwSignal<bool>,
    done: RwSignal<Vec<(String, Outcome)>>,
}

/// The progress bar while files go, then the summary and each file's outcome.
#[component]
fn BatchReport(batch: Batch) -> impl IntoView {
    let counts = move || {
        batch.done.read().iter().map(|(_, o)| o.counts()).fold((0, 0, 0), |a, c| (a.0 + c.0, a.1 + c.1, a.2 + c.2))
    };
    move || {
        let total = batch.total.get();
        (total > 1 || batch.backup.get()).then(|| {
            let done = batch.done.get();
            let (imported, there, refused) = counts();
            view! {
                <div class="import-batch" aria-live="polite">
                    <progress max=total value=done.len() data-testid="import-progress"></progress>
                    <p data-testid="import-summary">
                        {format!("{} of {total} files: {imported} imported, {there} already there, {refused} refused", done.len())}
                    </p>
                    <ul class="import-results" data-testid="import-results">
                        {done.into_iter().map(|(name, outcome)| match outcome {
                            Outcome::Imported(href) => view! {
                                <li data-outcome="imported"><a href=href>{name}</a>" imported"</li>
                            }.into_any(),
                            Outcome::AlreadyThere => view! {
                                <li data-outcome="there">{name}" is there already"</li>
                            }.into_any(),
                            Outcome::Refused(why) => view! {
                                <li data-outcome="refused" class="error">{name}": "{why}</li>
                            }.into_any(),
                            Outcome::Backup { imported, there, refused } => {
                                let line = format!(
                                    "{name}: {} brews, {imported} imported, {there} already there, {} refused",
                                    imported + there + refused.len(),
                                    refused.len()
                                );
                                view! {
                                    <li data-outcome="backup">{line}
                                        <ul>
                                            {refused.into_iter().map(|why| view! { <li class="error">{why}</li> }).collect_view()}
                                        </ul>
                                    </li>
                                }.into_any()
                            }
                        }).collect_view()}
                    </ul>
                </div>
            }
        })
    }
}

/// Sending the files to the API, in the browser.
#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    use web_sys::js_sys;

    use super::{Batch, Outcome};

    /// The form's submit: its files (or a folder's) one by one, unless there are none
    /// (the browser then says the field is missing).
    pub(super) fn submit(
        ev: &leptos::ev::SubmitEvent,
        form: NodeRef<leptos::html::Form>,
        batch: Batch,
        problem: RwSignal<Option<String>>,
    ) {
        let Some(form) = form.get() else { return };
        let files = ["file", "folder"]
            .iter()
            .filter_map(|name| form.query_selector(&format!("input[name={name}]")).ok().flatten())
            .filter_map(|input| input.dyn_into::<web_sys::HtmlInputElement>().ok())
            .filter_map(|input| input.files())
            .flat_map(|list| (0..list.length()).filter_map(move |i| list.get(i)))
            .collect::<Vec<_>>();
        ev.prevent_default();
        start(&form, files, batch, problem);
    }

    /// Files dropped on the form.
    pub(super) fn dropped(
        ev: &leptos::ev::DragEvent,
        form: NodeRef<leptos::html::Form>,
        batch: Batch,
        problem: RwSignal<Option<String>>,
    ) {
        let (Some(form), Some(list)) = (form.get(), ev.data_transfer().and_then(|d| d.files())) else { return };
        start(&form, (0..list.length()).filter_map(|i| list.get(i)).collect(), batch, problem);
    }

    fn field(form: &web_sys::HtmlFormElement, name: &str) -> String {
        web_sys::FormData::new_with_form(form)
            .ok()
            .and_then(|d| d.get(name).as_string())
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    }

    fn start(
        form: &web_sys::HtmlFormElement,
        files: Vec<web_sys::File>,
        batch: Batch,
        problem: RwSignal<Option<String>>,
    ) {
        let (scale, session) = (field(form, "scale"), field(form, "session_id"));
        let base = expect_context::<crate::base::BasePath>();
        if files.is_empty() {
            batch.total.set(0);
            problem.set(Some("file: pick one or more shot files, or a folder".into()));
            return;
        }
        if scale.is_empty() {
            problem.set(Some("scale: pick the scale the shots go onto".into()));
            return;
        }
        // Hidden: the server's problem of an earlier try is not this one's.
        problem.set(Some(String::new()));
        let (backup, files) = backup_files(files);
        batch.total.set(files.len() + usize::from(!backup.is_empty()));
        batch.backup.set(!backup.is_empty());
        batch.done.set(Vec::new());
        let single = files.len() == 1 && backup.is_empty();
        leptos::task::spawn_local(async move {
            if let Some(first) = backup.first() {
                let name = first.name();
                let outcome = send_backup(&base, &scale, &backup).await;
                batch.done.update(|d| d.push((name, outcome)));
            }
            for file in files {
                let name = file.name();
                let outcome = send(&base, &scale, single.then_some(session.as_str()), &file).await;
                if single {
                    match &outcome {
                        Outcome::Imported(href) => {
                            let _ = window().location().set_href(href);
                        }
                        Outcome::AlreadyThere | Outcome::Refused(_) | Outcome::Backup { .. } => {}
                    }
                    if let Outcome::Refused(why) = &outcome {
                        problem.set(Some(why.clone()));
                    }
                }
                batch.done.update(|d| d.push((name, outcome)));
            }
        });
    }

    /// The files of a Beanconqueror backup among `files` (its zip or `Beanconqueror.json`,
    /// chunk files and flow profiles), and the others; none are a backup's without the
    /// zip or the main file.
    fn backup_files(files: Vec<web_sys::File>) -> (Vec<web_sys::File>, Vec<web_sys::File>) {
        let is_main = |f: &web_sys::File| {
            let name = f.name();
            name.to_lowercase().ends_with(".zip") || name == "Beanconqueror.json"
        };
        if !files.iter().any(is_main) {
            return (Vec::new(), files);
        }
        files.into_iter().partition(|f| {
            let name = f.name();
            is_main(f) || name.ends_with("_flow_profile.json") || name.starts_with("Beanconqueror_")
        })
    }

    /// A backup's files, as one form, to `POST /api/shots/import/backup`.
    async fn send_backup(base: &crate::base::BasePath, scale: &str, files: &[web_sys::File]) -> Outcome {
        let url = base.join(&format!("/api/shots/import/backup?scale={}", crate::clock::query_escape(scale)));
        let Ok(form) = web_sys::FormData::new() else { return Outcome::Refused("the form could not be made".into()) };
        for file in files {
            // Inside a picked folder the path says whether it is `brews/` or `importedGraph/`.
            let path = js_sys::Reflect::get(file, &"webkitRelativePath".into())
                .ok()
                .and_then(|p| p.as_string())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| file.name());
            let _ = form.append_with_blob_and_filename("file", file, &path);
        }
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_body(&form);
        let (status, body) = match fetch(&url, &init).await {
            Ok(answer) => answer,
            Err(why) => return Outcome::Refused(why),
        };
        let get = |v: &wasm_bindgen::JsValue, k: &str| js_sys::Reflect::get(v, &k.into()).ok();
        let count = |k: &str| body.as_ref().and_then(|b| get(b, k)).and_then(|v| v.as_f64()).unwrap_or(0.0) as usize;
        match status {
            200 => {
                let refused = body
                    .as_ref()
                    .and_then(|b| get(b, "refused"))
                    .map(|list| js_sys::Array::from(&list).iter().collect::<Vec<_>>())
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| {
                        let text = |k: &str| get(&r, k).and_then(|v| v.as_string()).unwrap_or_default();
                        match get(&r, "field").and_then(|v| v.as_string()) {
                            Some(field) => format!("{}: {field} {}", text("item"), text("message")),
                            None => format!("{}: {}", text("item"), text("message")),
                        }
                    })
                    .collect();
                Outcome::Backup { imported: count("imported"), there: count("there"), refused }
            }
            _ => Outcome::Refused(error_message(body.as_ref(), status)),
        }
    }

    /// A request's status and JSON body, or why it did not reach the server.
    async fn fetch(url: &str, init: &web_sys::RequestInit) -> Result<(u16, Option<wasm_bindgen::JsValue>), String> {
        let response = match JsFuture::from(window().fetch_with_str_and_init(url, init)).await {
            Ok(r) => r.unchecked_into::<web_sys::Response>(),
            Err(_) => return Err("the server could not be reached".into()),
        };
        let body = match response.json() {
            Ok(p) => JsFuture::from(p).await.ok(),
            Err(_) => None,
        };
        Ok((response.status(), body))
    }

    /// The API's error message (which names the field already).
    fn error_message(body: Option<&wasm_bindgen::JsValue>, status: u16) -> String {
        body.and_then(|b| js_sys::Reflect::get(b, &"error".into()).ok())
            .and_then(|e| js_sys::Reflect::get(&e, &"message".into()).ok())
            .and_then(|v| v.as_string())
            .unwrap_or_else(|| format!("the server answered {status}"))
    }

    /// One file to `POST /api/shots/import`.
    async fn send(base: &crate::base::BasePath, scale: &str, session: Option<&str>, file: &web_sys::File) -> Outcome {
        let mut url = base.join(&format!("/api/shots/import?scale={}", crate::clock::query_escape(scale)));
        if let Some(s) = session.filter(|s| !s.is_empty()) {
            url.push_str(&format!("&session_id={}", crate::clock::query_escape(s)));
        }
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_body(file);
        let (status, body) = match fetch(&url, &init).await {
            Ok(answer) => answer,
            Err(why) => return Outcome::Refused(why),
        };
        match status {
            201 => {
                let get = |k: &str| {
                    body.as_ref().and_then(|b| js_sys::Reflect::get(b, &k.into()).ok()).and_then(|v| v.as_string())
                };
                let (client, session) = (get("client_id").unwrap_or_default(), get("session_id").unwrap_or_default());
                Outcome::Imported(base.join(&format!("/devices/{client}/sessions/{session}")))
            }
            409 if session.is_none() => Outcome::AlreadyThere,
            _ => Outcome::Refused(error_message(body.as_ref(), status)),
        }
    }
}
