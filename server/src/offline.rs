//! `GET {base}/sw.js`: the service worker that opens the installed app when the network is
//! gone (offline.js says what it keeps). The server fills in the release, the base path
//! and this release's first files from the site's `hash.txt`, so each release's worker
//! differs from the last and the browser installs it on the next visit.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

const TEMPLATE: &str = include_str!("offline.js");

/// The service worker, for this release and base path.
pub(crate) async fn service_worker(State(state): State<AppState>) -> Response {
    let options = &state.leptos_options;
    let hashes = if options.hash_files {
        tokio::fs::read_to_string(options.hash_file.as_ref()).await.unwrap_or_default()
    } else {
        String::new()
    };
    let pkg = format!("{}/{}", state.base.as_str(), options.site_pkg_dir);
    let script = worker_script(state.base.as_str(), &pkg, &options.output_name, &hashes);
    let mut response = script.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    // The browser checks for a new worker on its own; no cache on the way may hold it back.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// offline.js with its blanks filled in. `hashes` is `hash.txt` (`js: …`, `wasm: …`,
/// `css: …`, `split: …`, `manifest: …`); without it the release is the version and
/// nothing is fetched ahead.
fn worker_script(base: &str, pkg: &str, output: &str, hashes: &str) -> String {
    let hash = |kind: &str| {
        hashes
            .lines()
            .find_map(|line| line.strip_prefix(kind)?.strip_prefix(':').map(str::trim))
            .filter(|h| !h.is_empty())
    };
    let shell: Vec<String> = [
        hash("js").map(|h| format!("{pkg}/{output}.{h}.js")),
        hash("wasm").map(|h| format!("{pkg}/{output}.{h}.wasm")),
        hash("css").map(|h| format!("{pkg}/{output}.{h}.css")),
        hash("split").map(|h| format!("{pkg}/__wasm_split.{h}.js")),
        hash("manifest").map(|h| format!("{pkg}/__wasm_split_manifest.{h}.json")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let release = match (hash("wasm"), hash("css")) {
        (Some(wasm), Some(css)) => format!("{wasm}-{css}"),
        _ => env!("CARGO_PKG_VERSION").to_owned(),
    };
    let text = |s: &str| serde_json::Value::from(s).to_string();
    TEMPLATE.replacen("__RELEASE__", &text(&release), 1).replacen("__BASE__", &text(base), 1).replacen(
        "__SHELL__",
        &serde_json::Value::from(shell).to_string(),
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worker_knows_its_release_base_and_first_files() {
        let hashes = "js: J1\nwasm: W1\ncss: C1\nmanifest: M1\nsplit: S1\n";
        let script = worker_script("/wages", "/wages/pkg", "wages", hashes);
        assert!(script.contains(r#"const RELEASE = "W1-C1";"#), "{script}");
        assert!(script.contains(r#"const BASE = "/wages";"#));
        assert!(script.contains(
            r#"const SHELL = ["/wages/pkg/wages.J1.js","/wages/pkg/wages.W1.wasm","/wages/pkg/wages.C1.css","/wages/pkg/__wasm_split.S1.js","/wages/pkg/__wasm_split_manifest.M1.json"];"#
        ));
        let other = worker_script("/wages", "/wages/pkg", "wages", &hashes.replace("W1", "W2"));
        assert_ne!(script, other, "a new release is a new worker");
        let unhashed = worker_script("", "/pkg", "wages", "");
        assert!(unhashed.contains("const SHELL = [];") && unhashed.contains(r#"const BASE = "";"#));
        for blank in ["__RELEASE__", "__BASE__", "__SHELL__"] {
            assert!(!unhashed.contains(blank), "{blank} filled");
        }
    }
}
