//! `{base}/devices`: list and search scales, register one, rename one, delete one after
//! a confirmation. The forms post to server functions: as plain HTML before the WASM
//! loads, and without a page load once it has (see `form`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use wages_store::Device;

use crate::devices::{DeleteDevice, RegisterDevice, RenameDevice, list_devices};
use crate::error::AppError;
use crate::form::{BasedActionForm, successes};

#[component]
pub fn DevicesPage() -> impl IntoView {
    let register = ServerAction::<RegisterDevice>::new();
    let rename = ServerAction::<RenameDevice>::new();
    let delete = ServerAction::<DeleteDevice>::new();
    let query = use_query_map();
    let search = move || query.read().get("q").unwrap_or_default();
    let register_done = successes(register);
    let rename_done = successes(rename);
    let delete_done = successes(delete);
    let devices = Resource::new(
        move || (search(), register_done.get(), rename_done.get(), delete_done.get()),
        |(q, ..)| list_devices(q),
    );
    let search_action = expect_context::<crate::base::BasePath>().join("/devices");
    let register_value = register.value();
    let field_error = move |field: &str| register_value.get().and_then(Result::err).and_then(|e| e.for_field(field));
    let registered =
        move || register_value.get().and_then(Result::ok).map(|r| format!("Registered {}.", r.device.client_id));
    let credential = move || register_value.get().and_then(Result::ok).map(|r| r.credential);
    let other_error = move || {
        let failed = |e: AppError| match e {
            AppError::Invalid { .. } => None,
            other => Some(other.to_string()),
        };
        register_value.get().and_then(Result::err).and_then(failed)
    };
    let rename_error = move || rename.value().get().and_then(Result::err).map(|e| format!("Not renamed: {e}"));
    let delete_error = move || delete.value().get().and_then(Result::err).map(|e| format!("Not deleted: {e}"));

    let bluetooth_href = expect_context::<crate::base::BasePath>().join("/bluetooth");
    view! {
        <Title text="Scales" />
        <h1>"Scales"</h1>
        <p class="muted">
            "A Bluetooth scale (Decent, Acaia, Felicita, Bookoo) joins through a browser tab: "
            <a href=bluetooth_href data-testid="bt-bridge-link">"Connect a Bluetooth scale"</a>"."
        </p>
        <div class="grid">
            <section class="card" aria-labelledby="register-title">
                <h2 id="register-title">"Register a scale"</h2>
                <BasedActionForm action=register class="stacked" testid="register-form">
                    <label for="client_id">"Client id"</label>
                    <input id="client_id" name="client_id" autocomplete="off" placeholder="scale-01" required />
                    <p class="hint">"What the scale uses in its MQTT topics: letters, digits, - and _, up to 64."</p>
                    {move || field_error("client_id").map(|e| view! { <p class="field-error" role="alert" data-field="client_id">{e}</p> })}
                    <label for="name">"Name"</label>
                    <input id="name" name="name" autocomplete="off" placeholder="Bar, left group" required />
                    {move || field_error("name").map(|e| view! { <p class="field-error" role="alert" data-field="name">{e}</p> })}
                    <div class="actions">
                        <button type="submit" disabled=move || register.pending().get()>"Register"</button>
                        {move || registered().map(|m| view! { <span class="ok" role="status">{m}</span> })}
                        {move || other_error().map(|m| view! { <span class="error" role="alert">{m}</span> })}
                    </div>
                </BasedActionForm>
                {move || credential().map(|c| view! { <crate::pages::device::ShownOnce credential=c /> })}
            </section>
            <section class="card" aria-labelledby="search-title">
                <h2 id="search-title">"Find a scale"</h2>
                // A plain GET form: leptos_router's <Form> prefixes the base path twice.
                <form method="get" action=search_action>
                    <label for="q" class="visually-hidden">"Search"</label>
                    <div class="search">
                        <input id="q" type="search" name="q" placeholder="Id or name" value=search />
                        <button type="submit" class="secondary">"Search"</button>
                    </div>
                </form>
                <p class="muted">"Matches any part of the id or the name, ignoring case."</p>
            </section>
        </div>
        {move || rename_error().map(|m| view! { <p class="error banner" role="alert">{m}</p> })}
        {move || delete_error().map(|m| view! { <p class="error banner" role="alert">{m}</p> })}
        <section class="card wide" aria-labelledby="list-title">
            <h2 id="list-title">"Registered scales"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading scales…"</p> }>
                {move || Suspend::new(async move {
                    match devices.await {
                        Ok(list) if list.is_empty() && search().is_empty() => view! {
                            <p class="empty" data-testid="empty">"No scales yet. Register one above with the client id its firmware uses."</p>
                        }.into_any(),
                        Ok(list) if list.is_empty() => view! {
                            <p class="empty" data-testid="empty">"No scale matches \u{201c}" {search()} "\u{201d}."</p>
                        }.into_any(),
                        Ok(list) => view! { <DeviceTable devices=list rename delete /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn DeviceTable(
    devices: Vec<Device>,
    rename: ServerAction<RenameDevice>,
    delete: ServerAction<DeleteDevice>,
) -> impl IntoView {
    let base = expect_context::<crate::base::BasePath>();
    // Presence as the fleet's live stream reports it, over what the page was rendered with.
    let presence = RwSignal::new(std::collections::HashMap::<String, Device>::new());
    #[cfg(feature = "hydrate")]
    {
        let path = base.join("/api/live");
        // A frame is always news; a catch-up read only when no newer frame came meanwhile.
        let seen = move |device: Device| {
            presence.update(|p| {
                p.insert(device.client_id.to_string(), device);
            });
        };
        let caught_up = move |device: Device| {
            presence.update(|p| {
                let key = device.client_id.to_string();
                if p.get(&key).is_none_or(|known| known.last_seen_at <= device.last_seen_at) {
                    p.insert(key, device);
                }
            });
        };
        Effect::new(move || {
            // Caught up when the stream opens: statuses that came after the render.
            let catch_up = move || {
                leptos::task::spawn_local(async move {
                    if let Ok(devices) = list_devices(String::new()).await {
                        devices.into_iter().for_each(caught_up);
                    }
                });
            };
            crate::live_socket::follow_and_catch_up(&path, catch_up, move |frame: crate::devices::FleetFrame| {
                if let crate::devices::FleetFrame::Device { device } = frame {
                    seen(device);
                }
            });
        });
    }
    view! {
        <table class="devices" data-testid="devices">
            <thead>
                <tr><th>"Client id"</th><th>"Name"</th><th>"State"</th><th>"Firmware"</th><th></th></tr>
            </thead>
            <tbody>
                {devices.into_iter().map(|d| {
                    // ClientId is Copy: each use below makes its own text.
                    let id = d.client_id;
                    let (name, name_in_question) = (d.name.clone(), d.name);
                    let rendered = (d.online, d.firmware_version);
                    let key = id.to_string();
                    let now = move || {
                        presence.with(|p| p.get(&key).map(|d| (d.online, d.firmware_version.clone()))).unwrap_or_else(|| rendered.clone())
                    };
                    let now_too = now.clone();
                    let online = move || now().0;
                    let firmware = move || now_too().1.unwrap_or_else(|| "—".to_owned());
                    view! {
                        <tr data-client-id=id.to_string()>
                            <td><a href=base.join(&format!("/devices/{id}")) class="scale-link"><code>{id.to_string()}</code></a></td>
                            <td>
                                <BasedActionForm action=rename class="inline">
                                    <input type="hidden" name="client_id" value=id.to_string() />
                                    <label class="visually-hidden" for=format!("name-{id}")>"Name of " {id.to_string()}</label>
                                    <input id=format!("name-{id}") name="name" value=name required />
                                    <button type="submit" class="secondary">"Rename"</button>
                                </BasedActionForm>
                            </td>
                            <td>
                                <span class="badge" class:online=online.clone() class:offline=move || !online() data-testid="state">
                                    {let online = online.clone(); move || if online() { "online" } else { "offline" }}
                                </span>
                            </td>
                            <td data-testid="firmware">{firmware}</td>
                            <td class="row-actions">
                                <details class="confirm">
                                    <summary>"Delete…"</summary>
                                    <div class="confirm-box">
                                        <p>"Delete " <strong>{name_in_question}</strong> " (" {id.to_string()} ")? It can be registered again later."</p>
                                        <BasedActionForm action=delete>
                                            <input type="hidden" name="client_id" value=id.to_string() />
                                            <button type="submit" class="danger">"Delete " {id.to_string()}</button>
                                        </BasedActionForm>
                                    </div>
                                </details>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
