//! `{base}/devices/{client_id}/sessions/{session_id}`: one extraction, whole: its graph,
//! its summary, another session overlaid (aligned at their starts, `?compare=
//! client_id/session_id`), and the shot to download: Beanconqueror's brew export, JSON, CSV.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::device::{format_duration, format_time};
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
            query.read().get("align").unwrap_or_default(),
        )
    };
    let view = Resource::new(key, |(id, sid, compare, align)| read_session(id, sid, compare, align));
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading the session…"</p> }>
            {move || Suspend::new(async move {
                let (client_id, session_id, compare, _) = key();
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
    let SessionView { device_name, shot, beans, points, others, compared, at_first_drop, share, machine } = view;
    let shot = shot.shot();
    let summary = shot.summary.clone();
    let series = 1 + compared.len();
    let viewer = crate::clock::Viewer::current();
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    #[cfg(feature = "hydrate")]
    {
        let (points, compared) = (points.clone(), compared.clone());
        Effect::new(move || {
            if let Some(canvas) = canvas.get() {
                let mut all: Vec<&[wages_sessions::GraphPoint]> = vec![&points];
                all.extend(compared.iter().map(|c| c.points.as_slice()));
                crate::graph::draw(&canvas, &all, None);
            }
        });
    }
    let compacted = summary
        .compacted
        .map(|c| compaction_note(c, &base.join(&format!("/api/devices/{client_id}/sessions/{session_id}/buckets"))));
    let page = base.join(&format!("/devices/{client_id}/sessions/{session_id}"));
    let export = base.join(&format!("/api/devices/{client_id}/sessions/{session_id}/export"));
    let device_page = base.join(&format!("/devices/{client_id}"));
    let compared_labels: Vec<String> = compared.iter().map(|c| c.label.clone()).collect();
    let align_query = if at_first_drop { "&align=drop" } else { "" };
    let align_link =
        format!("{page}?compare={}{}", compared_labels.join(","), if at_first_drop { "" } else { "&align=drop" });
    let shot_for_table = shot.clone();
    view! {
        <Title text=format!("{session_id} · {device_name}") />
        <header class="device-head">
            <h1>{session_id.clone()}</h1>
            <p class="muted">
                <a href=device_page>{device_name}</a>" · started "{format_time(summary.started_at)}
            </p>
        </header>
        <section class="card wide" aria-labelledby="graph-title">
            <h2 id="graph-title">"Extraction"</h2>
            <div class="live-figures">
                {tile("duration", "duration", format_duration(summary.duration_ms))}
                {tile(if viewer.ounces { "ounces at the end" } else { "grams at the end" }, "final-weight", viewer.weight_number(summary.final_weight))}
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
                {compared.iter().enumerate().map(|(i, c)| view! {
                    " · " <span class=format!("swatch weight-{}", i + 2)></span>" "{c.label.clone()}" weight "
                    <span class=format!("swatch flow-{}", i + 2)></span>" flow"
                }).collect_view()}
            </p>
            <p>
                "Download the shot: "
                <a href=format!("{export}?format=beanconqueror") rel="external" download data-testid="export-beanconqueror">"Beanconqueror (for Visualizer)"</a>
                " · "
                <a href=format!("{export}?format=json") rel="external" download data-testid="export-json">"JSON"</a>
                " · "
                <a href=format!("{export}?format=csv") rel="external" download data-testid="export-csv">"CSV"</a>
            </p>
        </section>
        {(!machine.is_empty()).then(|| view! { <StoredMachine machine=machine.clone() points=points.clone() /> })}
        <super::brew_forms::ShotCard client_id=client_id.clone() session_id=session_id.clone() shot beans />
        {crate::people::may(wages_store::Role::Barista).then(|| view! {
            <ShareCard client_id=client_id.clone() session_id=session_id.clone() share />
        })}
        <section class="card wide" aria-labelledby="compare-title">
            <h2 id="compare-title">"Compare"</h2>
            <CompareTable this=shot_for_table this_machine=machine.clone() compared=compared.clone() />
            <p class="muted" data-testid="alignment">
                {if at_first_drop { "Aligned at the first drop in the cup. " } else { "Aligned at the start. " }}
                <a href=align_link data-testid="align-toggle">
                    {if at_first_drop { "Align at the start" } else { "Align at the first drop" }}
                </a>
            </p>
            {if others.is_empty() {
                view! { <p class="muted">"This scale has no other session yet."</p> }.into_any()
            } else {
                view! {
                    <p>"Overlay another session of this scale (up to four shots on the graph): "
                        {others.into_iter().map(|other| {
                            let mut list = compared_labels.clone();
                            let label = format!("{client_id}/{other}");
                            if !list.contains(&label) {
                                if list.len() >= crate::devices::MAX_COMPARED {
                                    list.pop();
                                }
                                list.push(label);
                            }
                            let href = format!("{page}?compare={}{align_query}", list.join(","));
                            let text = other.clone();
                            view! { <a class="chip" href=href data-compare=other>{text}</a>" " }
                        }).collect_view()}
                    </p>
                }.into_any()
            }}
            // A plain GET form: it works before the WASM loads, and under any base path.
            <form method="get" action=page.clone() class="search">
                <label for="compare" class="visually-hidden">"Session to compare"</label>
                <input id="compare" name="compare" placeholder="client_id/session_id, any scale; up to three, separated by commas" value=compare />
                {at_first_drop.then(|| view! { <input type="hidden" name="align" value="drop" /> })}
                <button type="submit" class="secondary">"Compare"</button>
            </form>
        </section>
    }
}

/// What the machine measured beside the weight: pressure, flow, temperatures, water
/// dispensed, on the weight graph's seconds; each can be hidden.
#[component]
fn StoredMachine(machine: Vec<crate::devices::MachineCurve>, points: Vec<wages_sessions::GraphPoint>) -> impl IntoView {
    let kinds: Vec<wages_store::series::SeriesKind> = machine.iter().map(|c| c.kind).collect();
    let shown = RwSignal::new(kinds.clone());
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let times = machine.iter().flat_map(|c| c.points.iter().map(|p| p.0)).chain(points.iter().map(|p| p.seconds));
    let seconds = times.fold((0.0f64, 30.0f64), |(a, b), t| (a.min(t), b.max(t)));
    #[cfg(feature = "hydrate")]
    Effect::new(move || {
        let shown = shown.get();
        if let Some(canvas) = canvas.get() {
            crate::graph::draw_machine(&canvas, &machine, &shown, seconds);
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (seconds, machine);
    view! { <super::machine::MachineCard kinds=Signal::stored(kinds) shown canvas test_id="machine-graph" /> }
}

/// Share the shot by a link anyone can open without logging in, or withdraw it.
#[component]
fn ShareCard(client_id: String, session_id: String, share: Option<String>) -> impl IntoView {
    let base = expect_context::<crate::base::BasePath>();
    let make = ServerAction::<crate::people::ShareShot>::new();
    let withdraw = ServerAction::<crate::people::WithdrawShare>::new();
    // The share's code as read with the page, then as the last answer left it.
    let current = RwSignal::new(share);
    Effect::new(move || {
        if let Some(Ok(made)) = make.value().get() {
            current.set(Some(made));
        }
    });
    Effect::new(move || {
        if let Some(Ok(())) = withdraw.value().get() {
            current.set(None);
        }
    });
    let failed = move || {
        let error = |e: crate::error::AppError| e.to_string();
        make.value()
            .get()
            .and_then(Result::err)
            .map(error)
            .or_else(|| withdraw.value().get().and_then(Result::err).map(error))
    };
    view! {
        <section class="card wide" aria-labelledby="share-title">
            <h2 id="share-title">"Share"</h2>
            {move || match current.get() {
                Some(code) => {
                    let link = base.join(&format!("/s/{code}"));
                    let full = format!("{}{link}", crate::people::origin());
                    view! {
                        <p>"Anyone with this link sees this shot, its graph, recipe and notes, and nothing else:"</p>
                        <p><a href=link.clone() rel="external" class="share-link" data-testid="share-link">{full}</a></p>
                        <crate::form::BasedActionForm action=withdraw class="inline" testid="withdraw-form">
                            <input type="hidden" name="code" value=code />
                            <button type="submit" class="danger">"Stop sharing"</button>
                        </crate::form::BasedActionForm>
                    }.into_any()
                }
                None => {
                    let (client_id, session_id) = (client_id.clone(), session_id.clone());
                    view! {
                        <p class="muted">"Make a link that shows this shot alone to anyone, without a login."</p>
                        <crate::form::BasedActionForm action=make class="inline" testid="share-form">
                            <input type="hidden" name="client_id" value=client_id />
                            <input type="hidden" name="session_id" value=session_id />
                            <button type="submit">"Share"</button>
                        </crate::form::BasedActionForm>
                    }.into_any()
                }
            }}
            {move || failed().map(|m| view! { <p class="error" role="alert">{m}</p> })}
        </section>
    }
}

/// The shots on the graph side by side: what they were and what they gave.
#[component]
fn CompareTable(
    this: wages_store::Shot,
    this_machine: Vec<crate::devices::MachineCurve>,
    compared: Vec<crate::devices::Compared>,
) -> impl IntoView {
    use wages_store::series::SeriesKind;
    if compared.is_empty() {
        return None;
    }
    let mut machines = vec![this_machine];
    machines.extend(compared.iter().map(|c| c.machine.clone()));
    let mut shots = vec![(this.summary.session_id.to_string(), this)];
    shots.extend(compared.into_iter().map(|c| (c.label, c.shot.shot())));
    // What the machines measured, for the shots that have it: the peak pressure, the
    // mean water temperature.
    let figure = |kind: SeriesKind, of: fn(&[(f64, f64)]) -> f64| -> Option<Vec<String>> {
        let cells: Vec<Option<f64>> = machines
            .iter()
            .map(|m| m.iter().find(|c| c.kind == kind).filter(|c| !c.points.is_empty()).map(|c| of(&c.points)))
            .collect();
        cells
            .iter()
            .any(Option::is_some)
            .then(|| cells.iter().map(|v| v.map_or_else(|| "–".into(), |v| format!("{v:.1}"))).collect())
    };
    #[allow(clippy::cast_precision_loss)] // a shot has far fewer than 2^53 points
    let machine_rows = [
        ("Peak bar", figure(SeriesKind::Pressure, |p| p.iter().map(|p| p.1).fold(0.0, f64::max))),
        ("Water °C", figure(SeriesKind::WaterTemperature, |p| p.iter().map(|p| p.1).sum::<f64>() / p.len() as f64)),
    ];
    let row = |label: &'static str, cell: fn(&wages_store::Shot) -> String, shots: &[(String, wages_store::Shot)]| {
        view! {
            <tr><th scope="row">{label}</th>{shots.iter().map(|(_, s)| view! { <td class="num">{cell(s)}</td> }).collect_view()}</tr>
        }
    };
    Some(view! {
        <div class="table-scroll">
        <table class="compact" data-testid="compare-table">
            <thead><tr><th></th>{shots.iter().enumerate().map(|(i, (label, _))| view! {
                <th class="num"><span class=format!("swatch weight{}", if i == 0 { String::new() } else { format!("-{}", i + 1) })></span>" "{label.clone()}</th>
            }).collect_view()}</tr></thead>
            <tbody>
                {row("Beans", |s| s.beans.as_ref().map(wages_store::Beans::label).unwrap_or_else(|| "–".into()), &shots)}
                {row("Method", |s| s.details.method.map_or("–", wages_store::Method::label).to_owned(), &shots)}
                {row("Grind", |s| s.details.grind_setting.clone().unwrap_or_else(|| "–".into()), &shots)}
                {row("Dose g", |s| s.details.dose.map_or_else(|| "–".into(), |v| format!("{v:.1}")), &shots)}
                {row("Yield g", |s| format!("{:.1}", s.effective_yield), &shots)}
                {row("Ratio", |s| crate::brews::ratio_text(s.ratio), &shots)}
                {row("Time", |s| format_duration(s.summary.duration_ms), &shots)}
                {row("Peak g/s", |s| format!("{:.2}", s.summary.peak_flow), &shots)}
                {row("EY %", |s| s.extraction_yield.map_or_else(|| "–".into(), |v| format!("{v:.1}")), &shots)}
                {row("Rating", |s| s.details.rating.map_or_else(|| "–".into(), |r| r.to_string()), &shots)}
                {machine_rows.into_iter().filter_map(|(label, cells)| cells.map(|cells| view! {
                    <tr><th scope="row">{label}</th>{cells.into_iter().map(|c| view! { <td class="num">{c}</td> }).collect_view()}</tr>
                })).collect_view()}
            </tbody>
        </table>
        </div>
    })
}

/// A bucket width as people say it: `1 s`, `100 ms`.
fn width(ms: u64) -> String {
    if ms.is_multiple_of(1000) { format!("{} s", ms / 1000) } else { format!("{ms} ms") }
}

/// What the page says about a compacted session: the graph is of bucket means, or gone.
fn compaction_note(c: wages_sessions::Compaction, buckets: &str) -> impl IntoView + use<> {
    let when = format_time(c.at);
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
