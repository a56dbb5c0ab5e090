//! A shot shared by a link: `{base}/s/{code}` shows that shot alone to anyone, without
//! logging in, as a plain page (no script, no WASM, no link anywhere else); its graph is
//! `{base}/s/{code}/preview.png`, drawn here, which is also the Open Graph image a chat
//! shows; `{base}/s/{code}/readings.csv` is its readings.
//!
//! Every code that shares nothing (never made, malformed, withdrawn, its shot deleted)
//! gets the same 404 page after the same single lookup, so codes cannot be probed.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use leptos::prelude::*;
use wages_codec::{ClientId, SessionId};
use wages_store::Shot;

use crate::api::ApiError;
use crate::state::AppState;

/// The preview's size: what chats and social sites show best (1.91:1).
const WIDTH: u32 = 1200;
const HEIGHT: u32 = 630;

/// A shared shot: what it was, and its curve as (seconds from the start, grams).
struct Shared {
    shot: Shot,
    curve: Vec<(f64, f64)>,
}

/// The shot `code` shares, with its readings, or `None` for every kind of absence.
async fn shared(state: &AppState, code: &str) -> Result<Option<Shared>, ApiError> {
    let Some(share) = state.registry.shares().shared(code).await? else { return Ok(None) };
    let (Ok(client), Ok(session)) = (ClientId::parse(&share.client_id), SessionId::parse(&share.session_id)) else {
        return Ok(None);
    };
    let now = wages_codec::clock::now_ms();
    let Some(shot) = state.registry.brews().shot(&client, &session, now).await? else { return Ok(None) };
    let start = shot.summary.started_at;
    let seconds = |t: u64| t.saturating_sub(start) as f64 / 1000.0;
    let readings = state.readings.readings(&client, &session).await?;
    let curve = if readings.is_empty() {
        // Compacted: its buckets' means.
        state.readings.buckets(&client, &session).await?.iter().map(|b| (seconds(b.start), b.mean)).collect()
    } else {
        readings.iter().map(|r| (seconds(r.tstamp.millis()), r.value.get())).collect()
    };
    Ok(Some(Shared { shot, curve }))
}

/// The answer to a code that shares nothing: always this, whatever the reason.
fn not_shared() -> Response {
    let html = document(
        "Not shared",
        view! {
            <h1>"This shot is not shared"</h1>
            <p>"The link is wrong, or whoever shared the shot has withdrawn it."</p>
        },
        "",
    );
    (StatusCode::NOT_FOUND, headers_for_page(), html).into_response()
}

fn headers_for_page() -> [(header::HeaderName, HeaderValue); 3] {
    [
        (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
        // Never in search engines, whatever the page's meta says to a crawler.
        (header::HeaderName::from_static("x-robots-tag"), HeaderValue::from_static("noindex")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ]
}

/// A whole page around `body`, with the shared page's own small style.
fn document(title: &str, body: impl IntoView + 'static, head: &str) -> String {
    let title = title.to_owned();
    let page = Owner::new().with(move || {
        view! {
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="robots" content="noindex" />
                <title>{format!("{title} · Wages")}</title>
                <style>{STYLE}</style>
            </head>
            <body>
                <main class="shared">{body}</main>
                <footer>"Shared from Wages, connected coffee scales"</footer>
            </body>
        }
        .to_html()
    });
    // The head's Open Graph tags, already escaped, go in before the page's own.
    let page = page.replacen("<head>", &format!("<head>{head}"), 1);
    format!("<!DOCTYPE html><html lang=\"en\">{page}</html>")
}

const STYLE: &str = "body{margin:0;font:16px/1.5 system-ui,sans-serif;background:#faf6f0;color:#2b2118}\
main{max-width:60rem;margin:0 auto;padding:1rem}h1{font-size:1.5rem;margin:.5rem 0}\
img{width:100%;height:auto;border-radius:.5rem;background:#fff}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{color:#6b5a4a}dd{margin:0}\
.axes{display:flex;justify-content:space-between;color:#6b5a4a;font-size:.875rem}\
a{color:#8a4b22}footer{max-width:60rem;margin:0 auto;padding:1rem;color:#6b5a4a;font-size:.875rem}";

/// Escapes text for an HTML attribute.
fn attr(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The shot's headline: method, dose → yield, time.
fn headline(shot: &Shot) -> String {
    let method = shot.details.method.map_or("Shot", |m| m.label());
    let seconds = shot.summary.duration_ms as f64 / 1000.0;
    match shot.details.dose {
        Some(dose) => format!("{method}: {dose:.1} g → {:.1} g in {seconds:.1} s", shot.effective_yield),
        None => format!("{method}: {:.1} g in {seconds:.1} s", shot.effective_yield),
    }
}

/// The shot's beans, as one line.
fn beans_line(shot: &Shot) -> Option<String> {
    shot.beans.as_ref().map(|b| format!("{} {}", b.roaster, b.name))
}

/// This server's address as the browser reached it, for the absolute URL Open Graph wants.
fn origin(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    let https = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https");
    format!("{}://{host}", if https { "https" } else { "http" })
}

/// `GET {base}/s/{code}`: the shared shot's page.
pub async fn page(State(state): State<AppState>, Path(code): Path<String>, headers: HeaderMap) -> Response {
    let shared = match shared(&state, &code).await {
        Ok(Some(shared)) => shared,
        Ok(None) => return not_shared(),
        Err(e) => return e.into_response(),
    };
    let shot = shared.shot;
    let title = headline(&shot);
    let here = format!("{}{}/s/{code}", origin(&headers), state.base.as_str());
    let description = [beans_line(&shot), shot.details.notes.clone()].into_iter().flatten().collect::<Vec<_>>();
    let description = description.join(" · ").chars().take(200).collect::<String>();
    let head = format!(
        "<meta property=\"og:type\" content=\"article\"><meta property=\"og:title\" content=\"{}\">\
         <meta property=\"og:description\" content=\"{}\"><meta property=\"og:url\" content=\"{}\">\
         <meta property=\"og:image\" content=\"{}/preview.png\"><meta property=\"og:image:width\" content=\"{WIDTH}\">\
         <meta property=\"og:image:height\" content=\"{HEIGHT}\"><meta name=\"twitter:card\" content=\"summary_large_image\">",
        attr(&title),
        attr(&description),
        attr(&here),
        attr(&here)
    );
    let max = shared.curve.iter().map(|p| p.1).fold(0.0_f64, f64::max);
    let seconds = shot.summary.duration_ms as f64 / 1000.0;
    let started = format!("{} UTC", app::clock::civil(shot.summary.started_at));
    let figure = |label: &'static str, value: Option<String>| value.map(|v| view! { <dt>{label}</dt><dd>{v}</dd> });
    let d = &shot.details;
    let rows = vec![
        figure("Brewed", Some(started)),
        figure("Beans", beans_line(&shot)),
        figure("Method", d.method.map(|m| m.label().to_owned())),
        figure("Dose", d.dose.map(|g| format!("{g:.1} g"))),
        figure("Yield", Some(format!("{:.1} g", shot.effective_yield))),
        figure("Ratio", shot.ratio.map(|r| format!("1:{r:.2}"))),
        figure("Time", Some(format!("{seconds:.1} s"))),
        figure("Grinder", d.grinder.clone()),
        figure("Grind", d.grind_setting.clone()),
        figure("Water", d.water_temp.map(|t| format!("{t:.0} °C"))),
        figure("TDS", d.tds.map(|t| format!("{t:.2} %"))),
        figure("Extraction", shot.extraction_yield.map(|e| format!("{e:.1} %"))),
        figure("Rating", d.rating.map(|r| format!("{r} / 100"))),
        figure("Tags", (!d.tags.is_empty()).then(|| d.tags.join(", "))),
        figure("Brewed by", d.brewed_by.clone()),
    ];
    let notes = d.notes.clone();
    let image = format!("{code}/preview.png");
    let csv = format!("{code}/readings.csv");
    let body = view! {
        <h1>{title.clone()}</h1>
        <div class="axes"><span>{format!("Weight in the cup, up to {max:.1} g")}</span></div>
        <img src=image alt="The weight in the cup over the shot's time" width=WIDTH height=HEIGHT />
        <div class="axes"><span>"0 s"</span><span>{format!("{seconds:.1} s")}</span></div>
        <dl>{rows}</dl>
        {notes.map(|n| view! { <h2>"Notes"</h2><p style="white-space:pre-wrap">{n}</p> })}
        <p><a href=csv download="">"The readings (CSV)"</a></p>
    };
    // The page's relative links resolve under `{base}/s/`.
    let html = document(&title, body, &head);
    (headers_for_page(), html).into_response()
}

/// `GET {base}/s/{code}/preview.png`: the shot's curve as an image.
pub async fn preview(State(state): State<AppState>, Path(code): Path<String>) -> Response {
    let shared = match shared(&state, &code).await {
        Ok(Some(shared)) => shared,
        Ok(None) => return not_shared(),
        Err(e) => return e.into_response(),
    };
    let png = match tokio::task::spawn_blocking(move || draw(&shared.curve)).await {
        Ok(Ok(png)) => png,
        Ok(Err(e)) => return ApiError::Unavailable(format!("drawing the graph failed: {e}")).into_response(),
        Err(e) => return ApiError::Unavailable(format!("drawing the graph failed: {e}")).into_response(),
    };
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    (headers, png).into_response()
}

/// `GET {base}/s/{code}/readings.csv`: seconds from the start and grams, one per line.
pub async fn readings(State(state): State<AppState>, Path(code): Path<String>) -> Response {
    let shared = match shared(&state, &code).await {
        Ok(Some(shared)) => shared,
        Ok(None) => return not_shared(),
        Err(e) => return e.into_response(),
    };
    let mut csv = String::from("seconds,grams\n");
    for (t, g) in &shared.curve {
        csv.push_str(&format!("{t:.3},{g:.2}\n"));
    }
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"shot.csv\"")),
    ];
    (headers, csv).into_response()
}

/// The curve drawn into a PNG: weight over time, with light lines every 5 s and 10 g.
fn draw(curve: &[(f64, f64)]) -> Result<Vec<u8>, String> {
    use plotters::prelude::*;
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&RGBColor(0xfa, 0xf6, 0xf0)).map_err(|e| e.to_string())?;
        let end = curve.iter().map(|p| p.0).fold(1.0_f64, f64::max);
        let top = curve.iter().map(|p| p.1).fold(1.0_f64, f64::max) * 1.1;
        let mut chart =
            ChartBuilder::on(&root).margin(24).build_cartesian_2d(0.0..end, 0.0..top).map_err(|e| e.to_string())?;
        let grid = RGBColor(0xe4, 0xd9, 0xcc);
        let mut t = 0.0;
        while t <= end {
            chart
                .draw_series(LineSeries::new([(t, 0.0), (t, top)], grid.stroke_width(1)))
                .map_err(|e| e.to_string())?;
            t += 5.0;
        }
        let mut g = 0.0;
        while g <= top {
            chart
                .draw_series(LineSeries::new([(0.0, g), (end, g)], grid.stroke_width(1)))
                .map_err(|e| e.to_string())?;
            g += 10.0;
        }
        let coffee = RGBColor(0x8a, 0x4b, 0x22);
        chart.draw_series(AreaSeries::new(curve.iter().copied(), 0.0, coffee.mix(0.15))).map_err(|e| e.to_string())?;
        chart.draw_series(LineSeries::new(curve.iter().copied(), coffee.stroke_width(5))).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(&rgb).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preview_is_a_png_of_the_curve() {
        let curve: Vec<(f64, f64)> = (0..300).map(|i| (f64::from(i) / 10.0, f64::from(i) / 8.0)).collect();
        let png = draw(&curve).expect("drawn");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let reader = decoder.read_info().expect("a PNG");
        assert_eq!((reader.info().width, reader.info().height), (WIDTH, HEIGHT));
        // An empty shot draws an empty graph, not an error.
        assert!(draw(&[]).is_ok());
    }

    #[test]
    fn attributes_are_escaped() {
        assert_eq!(attr("a\"<b>&"), "a&quot;&lt;b&gt;&amp;");
    }
}
