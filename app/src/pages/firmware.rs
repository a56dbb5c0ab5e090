//! `{base}/firmware`: publish a firmware offer to the whole fleet, and follow the rollout
//! scale by scale (updated, pending, offline) with the share done. The rollout is read
//! again whenever a scale's status arrives on the fleet's live stream.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::error::AppError;
use crate::firmware::{OfferFirmware, Rollout, RolloutState, read_rollout};
use crate::form::{BasedActionForm, successes};

#[component]
pub fn FirmwarePage() -> impl IntoView {
    let offer = ServerAction::<OfferFirmware>::new();
    // Bumped by presence on the fleet stream, once hydrated.
    let seen = RwSignal::new(0u32);
    #[cfg(feature = "hydrate")]
    {
        let path = expect_context::<crate::base::BasePath>().join("/api/live");
        Effect::new(move || {
            crate::live_socket::follow_and_catch_up(
                &path,
                move || seen.update(|n| *n += 1),
                move |frame: crate::devices::FleetFrame| {
                    if matches!(frame, crate::devices::FleetFrame::Device { .. }) {
                        seen.update(|n| *n += 1);
                    }
                },
            );
        });
    }
    let site = super::site_in_query();
    let offer_done = successes(offer);
    let rollout = Resource::new(move || (offer_done.get(), seen.get(), site.get()), |(_, _, site)| read_rollout(site));
    view! {
        <Title text="Firmware" />
        <h1>"Firmware"</h1>
        <section class="card" aria-labelledby="offer-title">
            <h2 id="offer-title">"Offer firmware to every scale"</h2>
            <OfferForm offer />
        </section>
        <section class="card" aria-labelledby="rollout-title">
            <h2 id="rollout-title">"Rollout"</h2>
            <super::SitePicker />
            <Transition fallback=|| view! { <p class="muted">"Reading the fleet…"</p> }>
                {move || Suspend::new(async move {
                    match rollout.await {
                        Ok(r) => view! { <RolloutView rollout=r /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn OfferForm(offer: ServerAction<OfferFirmware>) -> impl IntoView {
    let value = offer.value();
    let field_error = move |field: &str| value.get().and_then(Result::err).and_then(|e| e.for_field(field));
    let published =
        move || value.get().and_then(Result::ok).map(|o| format!("Offered {} to every scale.", o.version()));
    let other_error = move || {
        value.get().and_then(Result::err).and_then(|e| match e {
            AppError::Invalid { .. } => None,
            other => Some(other.to_string()),
        })
    };
    let field = move |name: &'static str, label: &'static str, hint: &'static str, placeholder: &'static str| {
        view! {
            <label for=name>{label}</label>
            <input id=name name=name autocomplete="off" spellcheck="false" placeholder=placeholder required />
            <p class="hint">{hint}</p>
            {move || field_error(name).map(|e| view! { <p class="field-error" role="alert" data-field=name>{e}</p> })}
        }
    };
    view! {
        <BasedActionForm action=offer class="stacked" testid="offer-form">
            {field("version", "Version", "What scales report once they run it: 1 to 32 of A-Z a-z 0-9 . _ + -", "1.5.0")}
            {field("url", "Download URL", "Where scales fetch the image: http:// or https://", "https://firmware.example/scale-1.5.0.bin")}
            {field("sha256", "SHA-256", "Of the image, 64 hexadecimal digits; scales check it before installing.", "")}
            <div class="actions">
                <button type="submit" disabled=move || offer.pending().get()>"Publish offer"</button>
                {move || published().map(|m| view! { <span class="ok" role="status">{m}</span> })}
                {move || other_error().map(|m| view! { <span class="error" role="alert">{m}</span> })}
            </div>
            <p class="hint">
                "The offer is retained on "<code>"wages/firmware"</code>
                ": scales online get it now, the others when they next connect."
            </p>
        </BasedActionForm>
    }
}

#[component]
fn RolloutView(rollout: Rollout) -> impl IntoView {
    let Rollout { offer, devices, updated, total } = rollout;
    let Some(offer) = offer else {
        return view! {
            <p class="empty" data-testid="no-offer">"No firmware offered yet. Publish one above and follow it here, scale by scale."</p>
        }
        .into_any();
    };
    #[allow(clippy::cast_precision_loss)]
    let share = if total == 0 { 0.0 } else { updated as f64 * 100.0 / total as f64 };
    view! {
        <p class="rollout-offer">
            "Offered: "<strong data-testid="offer-version">{offer.version().to_owned()}</strong>" · "
            <a href=offer.url().to_owned()>{offer.url().to_owned()}</a>
        </p>
        <div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax=total aria-valuenow=updated>
            <div class="progress-done" style=format!("width: {share:.1}%")></div>
        </div>
        <p class="rollout-share" data-testid="rollout-share" data-updated=updated data-total=total>
            {format!("{updated}/{total} scales updated ({share:.0} %)")}
        </p>
        <table class="compact" data-testid="rollout">
            <thead>
                <tr><th>"Scale"</th><th>"Runs"</th><th>"State"</th></tr>
            </thead>
            <tbody>
                {devices.into_iter().map(|d| {
                    let (label, class) = match d.state {
                        RolloutState::Updated => ("updated", "badge online"),
                        RolloutState::Pending => ("pending", "badge pending"),
                        RolloutState::Offline => ("offline", "badge offline"),
                    };
                    let id = d.client_id.clone();
                    view! {
                        <tr data-client-id=id data-state=label>
                            <td>{d.name}" "<code>{d.client_id}</code></td>
                            <td>{d.firmware_version.unwrap_or_else(|| "unknown".into())}</td>
                            <td><span class=class>{label}</span></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
