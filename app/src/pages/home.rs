//! `{base}/`: what Wages is, the server's status, how a scale talks to it, and a
//! payload checker running the shared codec.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::checker::{EXAMPLE, PayloadReport, check_payload};
use crate::status::{format_uptime, server_status};

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="" />
        <section class="hero">
            <h1>"Every extraction, weighed live"</h1>
            <p>
                "Wages registers connected coffee scales, ingests their readings over MQTT, "
                "and keeps the weight curve of every brew."
            </p>
        </section>
        <div class="grid">
            <StatusCard />
            <ProtocolCard />
        </div>
        <PayloadChecker />
    }
}

/// Version and uptime, fetched from the server; "Check again" calls it once more.
#[component]
fn StatusCard() -> impl IntoView {
    let checks = RwSignal::new(0u32);
    let status = Resource::new(move || checks.get(), |_| server_status());
    view! {
        <section class="card" id="server-status" aria-labelledby="server-status-title">
            <h2 id="server-status-title">"Server"</h2>
            <Transition fallback=|| view! { <p class="muted">"Asking the server…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(s) => {
                            let base = if s.base_path.is_empty() { "/ (root)".to_owned() } else { s.base_path };
                            view! {
                                <dl class="facts">
                                    <dt>"Version"</dt>
                                    <dd data-testid="version">{s.version}</dd>
                                    <dt>"Up for"</dt>
                                    <dd data-testid="uptime">{format_uptime(s.uptime_ms)}</dd>
                                    <dt>"Served under"</dt>
                                    <dd data-testid="base-path">{base}</dd>
                                </dl>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <button type="button" class="secondary" data-testid="refresh-status" on:click=move |_| checks.update(|n| *n += 1)>
                "Check again"
            </button>
        </section>
    }
}

/// The topics of SPEC §2, for whoever wires up a scale.
#[component]
fn ProtocolCard() -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="protocol-title">
            <h2 id="protocol-title">"How a scale talks to Wages"</h2>
            <table class="topics">
                <thead>
                    <tr><th>"Topic"</th><th>"Payload"</th></tr>
                </thead>
                <tbody>
                    <tr><td><code>"wages/devices/{client_id}/readings"</code></td><td>"one or more readings, QoS 1"</td></tr>
                    <tr><td><code>"wages/devices/{client_id}/status"</code></td><td><code>"online"</code>" or "<code>"offline"</code>", retained"</td></tr>
                    <tr><td><code>"wages/firmware"</code></td><td>"the fleet's firmware offer, retained"</td></tr>
                </tbody>
            </table>
            <p class="muted">
                "A reading: "<code>"client_id=scale-01;session_id=brew-0042;value=18.25;tstamp=1763805600123"</code>
                ", or the same keys as JSON. Up to 1000 per message, one per line."
            </p>
        </section>
    }
}

/// Percent-encodes `text` for a URL query value.
fn query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A textarea checked with the shared codec: live as you type once the WASM runs,
/// and by the server when the form is submitted before that.
#[component]
fn PayloadChecker() -> impl IntoView {
    let query = use_query_map();
    let submitted = move || query.read().get("payload").unwrap_or_default();
    let draft = RwSignal::new(query.read_untracked().get("payload").unwrap_or_default());
    // A submitted form or the example link changes the query: show what it carries.
    Effect::watch(submitted, move |payload, _, _| draft.set(payload.clone()), false);
    let report = Memo::new(move |_| draft.with(|d| (!d.trim().is_empty()).then(|| check_payload(d))));
    let example_href = format!("?payload={}#checker", query_value(EXAMPLE));
    let checker_action = expect_context::<crate::base::BasePath>().home();

    view! {
        <section class="card wide" id="checker" aria-labelledby="checker-title">
            <h2 id="checker-title">"Check a payload"</h2>
            <p class="muted">
                "Paste what a scale publishes. Each line is checked on its own, exactly as the ingest pipeline will."
            </p>
            // A plain GET form: leptos_router's <Form> prefixes the base path twice.
            <form method="get" action=checker_action>
                <label class="visually-hidden" for="payload">"Payload"</label>
                <textarea
                    id="payload"
                    name="payload"
                    rows="5"
                    spellcheck="false"
                    placeholder="client_id=scale-01;session_id=brew-0042;value=18.25;tstamp=1763805600123"
                    prop:value=move || draft.get()
                    on:input:target=move |ev| draft.set(ev.target().value())
                >
                    {draft.get_untracked()}
                </textarea>
                <div class="actions">
                    <button type="submit">"Check"</button>
                    <a href=example_href data-testid="example">"Try an example"</a>
                </div>
            </form>
            {move || report.get().map(|report| view! { <Report report /> })}
        </section>
    }
}

/// The verdict: refused message, readings table, line errors.
#[component]
fn Report(report: PayloadReport) -> impl IntoView {
    let PayloadReport { readings, errors, refused } = report;
    let (accepted, rejected) = (readings.len(), errors.len());
    let summary = format!(
        "{} reading{} accepted, {} line{} refused",
        readings.len(),
        if readings.len() == 1 { "" } else { "s" },
        errors.len(),
        if errors.len() == 1 { "" } else { "s" },
    );
    view! {
        <div class="report" data-testid="report" data-accepted=accepted data-refused=rejected>
            {refused.map(|why| view! { <p class="error" role="alert">"The whole message is refused: " {why}</p> })}
            <p class="summary">{summary}</p>
            {(!readings.is_empty()).then(|| view! {
                <table class="readings">
                    <thead>
                        <tr><th>"Scale"</th><th>"Session"</th><th class="num">"Weight (g)"</th><th class="num">"Time (ms)"</th></tr>
                    </thead>
                    <tbody>
                        {readings.into_iter().map(|r| view! {
                            <tr>
                                <td>{r.client_id.to_string()}</td>
                                <td>{r.session_id.to_string()}</td>
                                <td class="num">{r.value.to_string()}</td>
                                <td class="num">{r.tstamp.to_string()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            {(!errors.is_empty()).then(|| view! {
                <ul class="line-errors">
                    {errors.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}
                </ul>
            })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::query_value;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(query_value("a=b;c\nd é"), "a%3Db%3Bc%0Ad%20%C3%A9");
    }
}
