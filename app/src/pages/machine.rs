//! What a machine measured beside the weight, as a card of its own: pressure, flow,
//! temperatures and water dispensed on one graph, with a box to show or hide each. The
//! shot page draws a stored shot's series on it, a scale's page the live ones.

use leptos::prelude::*;
use wages_store::series::SeriesKind;

/// The card. `kinds`: the series there are, in order (the card shows once there is one);
/// `shown`: those drawn, which the boxes change; the owner draws on `canvas` whenever
/// either changes. `test_id` names the canvas for tests.
#[component]
pub fn MachineCard(
    kinds: Signal<Vec<SeriesKind>>,
    shown: RwSignal<Vec<SeriesKind>>,
    canvas: NodeRef<leptos::html::Canvas>,
    test_id: &'static str,
) -> impl IntoView {
    let names = move || kinds.get().iter().map(|k| k.as_str()).collect::<Vec<_>>().join(" ");
    let label = |kind: SeriesKind| match kind {
        // Drawn at a tenth, against the bar and ml/s axis.
        SeriesKind::WaterDispensed => format!("{} (ml ÷ 10)", kind.label()),
        kind => format!("{} ({})", kind.label(), kind.unit()),
    };
    let (title_id, labelled_by) = (format!("{test_id}-title"), format!("{test_id}-title"));
    view! {
        <section class="card wide" aria-labelledby=labelled_by hidden=move || kinds.read().is_empty()>
            <h2 id=title_id>"Machine"</h2>
            <canvas
                node_ref=canvas
                class="graph"
                width="960"
                height="300"
                data-testid=test_id
                data-series=names
                aria-label="Pressure, flow and temperatures of the extraction"
            ></canvas>
            <fieldset class="machine-series">
                <legend class="visually-hidden">"Curves to show"</legend>
                {move || kinds.get().into_iter().map(|kind| view! {
                    <label data-series=kind.as_str()>
                        <input
                            type="checkbox"
                            prop:checked=move || shown.read().contains(&kind)
                            on:change=move |_| shown.update(|s| match s.iter().position(|k| *k == kind) {
                                Some(i) => { s.remove(i); }
                                None => s.push(kind),
                            })
                        />
                        " " <span class=format!("swatch machine-{}", kind.as_str().replace('_', "-"))></span>" "{label(kind)}
                    </label>
                }).collect_view()}
            </fieldset>
        </section>
    }
}
