//! `{base}/devices/{client_id}/sessions/{session_id}`: one extraction, whole: its graph,
//! its summary, another session overlaid (aligned at their starts, `?compare=
//! client_id/session_id`), and its readings to download as CSV or JSON.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::device::{format_duration, format_utc};
use super::tile;
use crate::devices::{SessionView, read_session};

#[component]
pub fn SessionPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let key = move || {
        let p = params.read();
        (
            p.get("client_id").unwrap_or_default(),
            p.get("session_id").unwrap_or_default(),
            query.read().get("compare").unwrap_or_default(),
        )
    };
    let view = Resource::new(key, |(id, sid, compare)| read_session(id, sid, compare));
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading the session…"</p> }>
            {move || Suspend::new(async move {
                let (client_id, session_id, compare) = key();
                match view.await {
                    Ok(v) => view! { <Session client_id session_id compare view=v /> }.into_any(),
                    Err(e) => view! {
                        <Title text="Session not found" />
                        <h1>"No such session"</h1>
                        <p class="error banner" role="alert">{e.to_string()}</p>
                    }
                        .into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Session(client_id: String, session_id: String, compare: String, view: SessionView) -> impl IntoView {
    let base = expect_context::<crate::base::BasePath>();
    let SessionView { device_name, shot, beans, points, others, compared } = view;
    let summary = shot.summary.clone();
    let series = if compared.is_some() { 2 } else { 1 };
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    #[cfg(feature = "hydrate")]
    {
        let (points, compared) = (points.clone(), compared.clone());
        Effect::new(move || {
            if let Some(canvas) = canvas.get() {
                let mut all: Vec<&[wages_sessions::GraphPoint]> = vec![&points];
                if let Some((_, other)) = &compared {
                    all.push(other);
                }
                crate::graph::draw(&canvas, &all);
            }
        });
    }
    let compacted = summary
        .compacted
        .map(|c| compaction_note(c, &base.join(&format!("/api/devices/{client_id}/sessions/{session_id}/buckets"))));
    let page = base.join(&format!("/devices/{client_id}/sessions/{session_id}"));
    let readings = base.join(&format!("/api/devices/{client_id}/sessions/{session_id}/readings"));
    let device_page = base.join(&format!("/devices/{client_id}"));
    view! {
        <Title text=format!("{session_id} · {device_name}") />
        <header class="device-head">
            <h1>{session_id.clone()}</h1>
            <p class="muted">
                <a href=device_page>{device_name}</a>" · started "{format_utc(summary.started_at)}
            </p>
        </header>
        <section class="card wide" aria-labelledby="graph-title">
            <h2 id="graph-title">"Extraction"</h2>
            <div class="live-figures">
                {tile("duration", "duration", format_duration(summary.duration_ms))}
                {tile("grams at the end", "final-weight", format!("{:.1}", summary.final_weight))}
                {tile("g/s peak flow", "peak-flow", format!("{:.2}", summary.peak_flow))}
                {tile("g/s mean flow", "mean-flow", format!("{:.2}", summary.mean_flow))}
                {tile("readings", "count", summary.count.to_string())}
            </div>
            {compacted}
            <canvas
                hidden=points.is_empty()
                node_ref=canvas
                class="graph"
                width="960"
                height="360"
                data-testid="session-graph"
                data-points=points.len().to_string()
                data-series=series.to_string()
                aria-label="Weight and flow of the extraction"
            ></canvas>
            <p class="muted legend">
                <span class="swatch weight"></span>" "{session_id.clone()}" weight (g) "
                <span class="swatch flow"></span>" flow (g/s)"
                {compared.as_ref().map(|(label, _)| view! {
                    " · " <span class="swatch weight-2"></span>" "{label.clone()}" weight "
                    <span class="swatch flow-2"></span>" flow"
                })}
            </p>
            <p>
                "Download the readings: "
                <a href=format!("{readings}?format=csv") rel="external" data-testid="export-csv">"CSV"</a>
                " · "
                <a href=readings.clone() rel="external" data-testid="export-json">"JSON"</a>
            </p>
        </section>
        <super::brew_forms::ShotCard client_id=client_id.clone() session_id=session_id.clone() shot beans />
        <section class="card wide" aria-labelledby="compare-title">
            <h2 id="compare-title">"Compare"</h2>
            {if others.is_empty() {
                view! { <p class="muted">"This scale has no other session yet."</p> }.into_any()
            } else {
                view! {
                    <p>"Overlay another session of this scale, aligned at the start: "
                        {others.into_iter().map(|other| {
                            let href = format!("{page}?compare={client_id}/{other}");
                            let label = other.clone();
                            view! { <a class="chip" href=href data-compare=other>{label}</a>" " }
                        }).collect_view()}
                    </p>
                }.into_any()
            }}
            // A plain GET form: it works before the WASM loads, and under any base path.
            <form method="get" action=page.clone() class="search">
                <label for="compare" class="visually-hidden">"Session to compare"</label>
                <input id="compare" name="compare" placeholder="client_id/session_id, any scale" value=compare />
                <button type="submit" class="secondary">"Compare"</button>
            </form>
        </section>
    }
}

/// A bucket width as people say it: `1 s`, `100 ms`.
fn width(ms: u64) -> String {
    if ms.is_multiple_of(1000) { format!("{} s", ms / 1000) } else { format!("{ms} ms") }
}

/// What the page says about a compacted session: the graph is of bucket means, or gone.
fn compaction_note(c: wages_sessions::Compaction, buckets: &str) -> impl IntoView + use<> {
    let when = format_utc(c.at);
    let text = if c.graph_kept {
        format!(
            "Compacted on {when}: the graph shows the mean of each {} bucket; the figures above were computed \
             from every reading before compaction.",
            width(c.bucket_ms)
        )
    } else {
        format!(
            "Only the summary is kept: this session was compacted on {when} and its graph has since been removed, \
             as configured (WAGES_RETENTION_GRAPH_DAYS)."
        )
    };
    let link = c.graph_kept.then(|| {
        view! { " " <a href=buckets.to_owned() rel="external" data-testid="export-buckets">"Buckets with min and max (JSON)"</a> }
    });
    view! { <p class="notice" data-testid="compacted" role="note">{text}{link}</p> }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bucket_widths_read_naturally() {
        assert_eq!(super::width(1000), "1 s");
        assert_eq!(super::width(60_000), "60 s");
        assert_eq!(super::width(100), "100 ms");
        assert_eq!(super::width(1500), "1500 ms");
    }
}
