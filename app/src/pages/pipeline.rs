//! `{base}/pipeline`: what ingestion is doing (throughput, batch latency, rejections by
//! reason, the latest dead letters, per-device running figures), refreshed every two
//! seconds once the WASM runs, and the form that changes batch size, batch timeout and
//! concurrency (the pipeline drains and restarts with them).

use leptos::prelude::*;
use leptos_meta::Title;

use super::tile;
use crate::error::AppError;
use crate::form::{BasedActionForm, successes};
use crate::pipeline::{
    BATCH_SIZE, BATCH_TIMEOUT_MS, CONCURRENCY, ConfigurePipeline, DeadLetter, PipelineFigures, read_pipeline,
};

/// How often the figures refresh in the browser, in milliseconds.
#[cfg(feature = "hydrate")]
const REFRESH_MS: u64 = 2000;

#[component]
pub fn PipelinePage() -> impl IntoView {
    let configure = ServerAction::<ConfigurePipeline>::new();
    let ticks = RwSignal::new(0u64);
    #[cfg(feature = "hydrate")]
    Effect::new(move || {
        let handle =
            set_interval_with_handle(move || ticks.update(|t| *t += 1), std::time::Duration::from_millis(REFRESH_MS));
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    });
    let configure_done = successes(configure);
    let live = Resource::new(move || (ticks.get(), configure_done.get()), |_| read_pipeline());
    // The form's values come from their own fetch, so the refresh never overwrites typing.
    let current = Resource::new(move || configure_done.get(), |_| read_pipeline());

    view! {
        <Title text="Pipeline" />
        <h1>"Pipeline"</h1>
        <p class="muted">
            "Readings come in over MQTT, are checked, batched, stored, then acknowledged. "
            "These figures count since the server started."
        </p>
        <Transition fallback=|| view! { <p class="muted">"Asking the pipeline…"</p> }>
            {move || Suspend::new(async move {
                match live.await {
                    Ok((figures, dead)) => view! { <Figures figures dead /> }.into_any(),
                    Err(e) => view! { <p class="error banner" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
        <section class="card wide" aria-labelledby="settings-title">
            <h2 id="settings-title">"Settings"</h2>
            <Transition fallback=|| view! { <p class="muted">"…"</p> }>
                {move || Suspend::new(async move {
                    let settings = current.await.map(|(f, _)| f.settings).unwrap_or_default();
                    view! { <SettingsForm configure settings /> }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn SettingsForm(
    configure: ServerAction<ConfigurePipeline>,
    settings: crate::pipeline::PipelineSettings,
) -> impl IntoView {
    let value = configure.value();
    let field_error = move |field: &str| value.get().and_then(Result::err).and_then(|e| e.for_field(field));
    let applied = move || {
        value.get().and_then(Result::ok).map(|s| {
            format!(
                "Applied: batches of {} readings, {} ms timeout, {} workers.",
                s.batch_size, s.batch_timeout_ms, s.concurrency
            )
        })
    };
    let other_error = move || {
        value.get().and_then(Result::err).and_then(|e| match e {
            AppError::Invalid { .. } => None,
            other => Some(other.to_string()),
        })
    };
    let field = move |name: &'static str, label: &'static str, hint: String, current: u32| {
        view! {
            <div class="setting">
                <label for=name>{label}</label>
                <input id=name name=name type="number" inputmode="numeric" value=current.to_string() required />
                <p class="hint">{hint}</p>
                {move || field_error(name).map(|e| view! { <p class="field-error" role="alert" data-field=name>{e}</p> })}
            </div>
        }
    };
    let range = |r: &std::ops::RangeInclusive<u32>, unit: &str| format!("{} to {}{unit}", r.start(), r.end());
    view! {
        <BasedActionForm action=configure class="settings" testid="pipeline-settings">
            <div class="setting-fields">
                {field("batch_size", "Batch size", format!("Readings stored per write: {}.", range(&BATCH_SIZE, "")), settings.batch_size)}
                {field("batch_timeout_ms", "Batch timeout", format!("Longest wait for a fuller batch: {}.", range(&BATCH_TIMEOUT_MS, " ms")), settings.batch_timeout_ms)}
                {field("concurrency", "Workers", format!("Batches stored in parallel: {}. Each scale keeps its order.", range(&CONCURRENCY, "")), settings.concurrency)}
            </div>
            <div class="actions">
                <button type="submit" disabled=move || configure.pending().get()>"Apply"</button>
                {move || configure.pending().get().then(|| view! { <span class="muted">"Draining and restarting…"</span> })}
                {move || applied().map(|m| view! { <span class="ok" role="status">{m}</span> })}
                {move || other_error().map(|m| view! { <span class="error" role="alert">{m}</span> })}
            </div>
            <p class="hint">"Applying stores and acknowledges every reading in flight first; nothing is lost."</p>
        </BasedActionForm>
    }
}

/// A figure with one decimal, or none for whole numbers.
fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 { format!("{x:.0}") } else { format!("{x:.1}") }
}

#[component]
fn Figures(figures: PipelineFigures, dead: Vec<DeadLetter>) -> impl IntoView {
    let PipelineFigures { broker, connected, devices, rejected, .. } = figures.clone();
    view! {
        <section class="card wide" aria-labelledby="flow-title">
            <h2 id="flow-title">"Flow"</h2>
            <p class="broker">
                {if connected {
                    view! { <span class="badge online" data-testid="connected">"connected"</span> }.into_any()
                } else {
                    view! { <span class="badge offline" data-testid="connected">"not connected"</span> }.into_any()
                }}
                " " {broker}
            </p>
            <div class="tiles">
                {tile("readings/s (last 10 s)", "readings-per-second", number(figures.readings_per_second))}
                {tile("readings stored", "stored", figures.stored.to_string())}
                {tile("messages", "messages", figures.messages.to_string())}
                {tile("redelivered, stored once", "duplicates", figures.duplicates.to_string())}
                {tile("batches", "batches", figures.batches.to_string())}
                {tile("readings per batch", "mean-batch-size", number(figures.mean_batch_size))}
                {tile("ms last batch", "last-batch-ms", format!("{:.1}", figures.last_batch_ms))}
                {tile("ms per batch, mean", "mean-batch-ms", format!("{:.1}", figures.mean_batch_ms))}
                {tile("messages in flight", "in-flight", figures.in_flight.to_string())}
            </div>
        </section>
        <div class="grid">
            <section class="card" aria-labelledby="rejections-title">
                <h2 id="rejections-title">"Rejections"</h2>
                {if rejected.is_empty() {
                    view! { <p class="empty" data-testid="no-rejections">"Nothing rejected. Every line so far was valid."</p> }.into_any()
                } else {
                    view! {
                        <table class="compact" data-testid="rejections">
                            <thead><tr><th>"Reason"</th><th class="num">"Lines"</th></tr></thead>
                            <tbody>
                                {rejected.into_iter().map(|(reason, n)| view! {
                                    <tr><td><code>{reason}</code></td><td class="num">{n}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
            </section>
            <section class="card" aria-labelledby="dead-title">
                <h2 id="dead-title">"Latest rejected lines"</h2>
                {if dead.is_empty() {
                    view! { <p class="empty">"None."</p> }.into_any()
                } else {
                    view! {
                        <ol class="dead-letters" data-testid="dead-letters">
                            {dead.into_iter().map(|d| view! {
                                <li>
                                    <code class="line">{d.line}</code>
                                    <span class="reason">{d.reason}</span>
                                </li>
                            }).collect_view()}
                        </ol>
                    }.into_any()
                }}
            </section>
        </div>
        <section class="card wide" aria-labelledby="per-device-title">
            <h2 id="per-device-title">"Per scale"</h2>
            {if devices.is_empty() {
                view! { <p class="empty">"No readings stored yet. Once a scale publishes, its running figures appear here."</p> }.into_any()
            } else {
                view! {
                    <table class="compact" data-testid="per-device">
                        <thead>
                            <tr>
                                <th>"Client id"</th><th class="num">"Readings"</th><th class="num">"Min g"</th>
                                <th class="num">"Max g"</th><th class="num">"Mean g"</th><th class="num">"Last g"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {devices.into_iter().map(|d| view! {
                                <tr data-client-id=d.client_id.clone()>
                                    <td><code>{d.client_id.clone()}</code></td>
                                    <td class="num">{d.readings}</td>
                                    <td class="num">{format!("{:.1}", d.min)}</td>
                                    <td class="num">{format!("{:.1}", d.max)}</td>
                                    <td class="num">{format!("{:.1}", d.mean)}</td>
                                    <td class="num">{format!("{:.1}", d.last_value)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}
