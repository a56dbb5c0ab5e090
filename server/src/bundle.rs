//! A lazy page's WASM in one response. `cargo leptos build --split` leaves a page's code
//! in many files (its group's own file and every chunk it shares with other groups) and
//! its chunk loader fetches each on its own: about twenty requests for a scale's page,
//! each a round trip on a phone, each compressed apart. This serves the loader with a
//! few lines in front (`bundle.js`) that gather the parts it asks for in one turn and
//! fetch them together from `{base}/pkg/parts?want=…`, compressed as one file; a page's
//! HTML preloads that address (`app/src/pages/lazy.rs`).
//!
//! A group's whole set, what a first load asks for, is compressed at brotli's best
//! ahead of the first request; a smaller set (what a page needs once another page's
//! parts are in) is compressed quickly when first asked for, and kept.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};

/// What goes in front of the loader.
const PRELUDE: &str = include_str!("bundle.js");
/// How the loader fetches a part, and what it calls instead.
const LOADER_FETCH: &str = "fetch(new URL(";
const BUNDLE_FETCH: &str = "wagesPart(new URL(";
/// Where the parts are asked for, under the site's pkg folder.
const PARTS_PATH: &str = "parts";
/// brotli's quality for a group's whole set (computed ahead), and for other sets.
const BEST: u32 = 11;
const QUICK: u32 = 5;
/// Sets other than the groups' whole ones kept compressed, at most.
const MAX_OTHER_SETS: usize = 64;

/// The site's lazy parts and their loader, as this process serves them.
pub struct Bundle {
    /// The folder under the site root (`pkg`).
    pkg: String,
    /// Every part's bytes, by its name (`chunk_8.<hash>`, `split_….<hash>`).
    parts: HashMap<String, Bytes>,
    /// The loader's file name and its text with the prelude in front.
    loader: (String, Arc<Encoded>),
    /// Sets asked for, by their `want` (sorted, comma-separated); the groups' whole sets
    /// from the start.
    sets: Mutex<HashMap<String, Arc<Encoded>>>,
    /// The groups' whole sets' `want`s.
    whole: Vec<String>,
}

/// One answer's bytes, and its compressed forms once made.
struct Encoded {
    raw: Bytes,
    quality: u32,
    br: OnceLock<Bytes>,
    gzip: OnceLock<Bytes>,
}

impl Encoded {
    fn new(raw: Bytes, quality: u32) -> Arc<Self> {
        Arc::new(Encoded { raw, quality, br: OnceLock::new(), gzip: OnceLock::new() })
    }

    /// The body in `encoding`, compressed now if it was not yet.
    fn body(&self, encoding: Encoding) -> Bytes {
        match encoding {
            Encoding::Brotli => self.br.get_or_init(|| brotli(&self.raw, self.quality)).clone(),
            Encoding::Gzip => self.gzip.get_or_init(|| gzip(&self.raw)).clone(),
            Encoding::Identity => self.raw.clone(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

impl Encoding {
    /// The best the request takes (`Accept-Encoding`, a `q=0` refusing).
    fn accepted(headers: &HeaderMap) -> Self {
        let offered = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let takes = |name: &str| {
            offered.split(',').any(|item| {
                let mut fields = item.split(';').map(str::trim);
                let refused =
                    |param: &str| param.strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()) == Some(0.0);
                fields.next().is_some_and(|coding| coding.eq_ignore_ascii_case(name)) && !fields.any(refused)
            })
        };
        if takes("br") {
            Encoding::Brotli
        } else if takes("gzip") {
            Encoding::Gzip
        } else {
            Encoding::Identity
        }
    }

    fn header(self) -> Option<HeaderValue> {
        match self {
            Encoding::Brotli => Some(HeaderValue::from_static("br")),
            Encoding::Gzip => Some(HeaderValue::from_static("gzip")),
            Encoding::Identity => None,
        }
    }
}

fn brotli(raw: &[u8], quality: u32) -> Bytes {
    let mut out = Vec::with_capacity(raw.len() / 3);
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 64 * 1024, quality, 22);
        // Writing into memory does not fail.
        let _ = writer.write_all(raw);
    }
    out.into()
}

fn gzip(raw: &[u8]) -> Bytes {
    let mut writer = flate2::write::GzEncoder::new(Vec::with_capacity(raw.len() / 3), flate2::Compression::best());
    let _ = writer.write_all(raw);
    writer.finish().unwrap_or_default().into()
}

impl Bundle {
    /// The lazy parts of the site at `site_root`, from its split manifest and loader
    /// (named by `hashes`, the site's `hash.txt`, when the build hashed its file names).
    /// `None` when the site was built without `--split` or its loader is not of the form
    /// this knows: then its files are served as they are.
    pub fn load(site_root: &Path, pkg: &str, hashes: Option<&str>) -> Option<Bundle> {
        let hash = |kind: &str| {
            hashes?
                .lines()
                .find_map(|line| line.strip_prefix(kind)?.strip_prefix(':').map(|h| format!(".{}", h.trim())))
        };
        let folder = site_root.join(pkg);
        let manifest_file = format!("__wasm_split_manifest{}.json", hash("manifest").unwrap_or_default());
        let loader_file = format!("__wasm_split{}.js", hash("split").unwrap_or_default());
        let manifest = std::fs::read_to_string(folder.join(&manifest_file)).ok()?;
        let groups: BTreeMap<String, Vec<String>> = match serde_json::from_str(&manifest) {
            Ok(groups) => groups,
            Err(e) => {
                tracing::warn!("{manifest_file}: not a split manifest ({e}); its parts are served one by one");
                return None;
            }
        };
        let loader = std::fs::read_to_string(folder.join(&loader_file)).ok()?;
        if !loader.contains(LOADER_FETCH) {
            tracing::warn!("{loader_file}: no part fetched as this server knows; its parts are served one by one");
            return None;
        }
        let loader = format!("{PRELUDE}\n{}", loader.replace(LOADER_FETCH, BUNDLE_FETCH));
        let mut parts = HashMap::new();
        for name in groups.values().flatten() {
            if !parts.contains_key(name) {
                let bytes = std::fs::read(folder.join(format!("{name}.wasm"))).ok()?;
                parts.insert(name.clone(), Bytes::from(bytes));
            }
        }
        let mut sets = HashMap::new();
        let mut whole = Vec::new();
        for names in groups.values() {
            let mut names: Vec<&str> = names.iter().map(String::as_str).collect();
            names.sort_unstable();
            names.dedup();
            let want = names.join(",");
            let raw = join(&parts, &names);
            sets.insert(want.clone(), Encoded::new(raw, BEST));
            whole.push(want);
        }
        Some(Bundle {
            pkg: pkg.to_owned(),
            parts,
            loader: (loader_file, Encoded::new(Bytes::from(loader), BEST)),
            sets: Mutex::new(sets),
            whole,
        })
    }

    /// Compresses the loader and the groups' whole sets in brotli, on a thread of their
    /// own, so the first pages need not wait for it.
    pub fn warm(self: &Arc<Self>) {
        let bundle = Arc::clone(self);
        let spawned = std::thread::Builder::new().name("bundle-warm".into()).spawn(move || {
            bundle.loader.1.body(Encoding::Brotli);
            for want in &bundle.whole {
                if let Some(set) = bundle.set(want) {
                    set.body(Encoding::Brotli);
                }
            }
        });
        if let Err(e) = spawned {
            tracing::warn!("the lazy parts are compressed when first asked for: {e}");
        }
    }

    /// The answer to a request for `path` (under the site root: `/pkg/…`) with `query`,
    /// if it is the loader or the parts; `None` for every other file.
    pub async fn answer(self: &Arc<Self>, path: &str, query: Option<&str>, headers: &HeaderMap) -> Option<Response> {
        let file = path.strip_prefix('/')?.strip_prefix(self.pkg.as_str())?.strip_prefix('/')?;
        let (encoded, kind) = if file == self.loader.0 {
            (Arc::clone(&self.loader.1), "text/javascript; charset=utf-8")
        } else if file == PARTS_PATH {
            match self.wanted(query.unwrap_or_default()) {
                Ok(set) => (set, "application/octet-stream"),
                Err((status, why)) => return Some((status, why).into_response()),
            }
        } else {
            return None;
        };
        let encoding = Encoding::accepted(headers);
        let body = tokio::task::spawn_blocking(move || encoded.body(encoding)).await.ok()?;
        let mut response = body.into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
        if let Some(value) = encoding.header() {
            headers.insert(header::CONTENT_ENCODING, value);
        }
        Some(response)
    }

    /// The set a `want=…` query names: this build's parts, sorted, each once.
    fn wanted(&self, query: &str) -> Result<Arc<Encoded>, (StatusCode, String)> {
        let bad = |why: &str| (StatusCode::BAD_REQUEST, format!("want: {why}"));
        let want = query.strip_prefix("want=").filter(|w| !w.is_empty() && !w.contains('&'));
        let want = want.ok_or_else(|| bad("one `want=` naming parts, comma-separated"))?;
        let names: Vec<&str> = want.split(',').collect();
        if names.len() > self.parts.len() || !names.windows(2).all(|pair| pair[0] < pair[1]) {
            return Err(bad("each part once, the names sorted"));
        }
        if let Some(unknown) = names.iter().find(|name| !self.parts.contains_key(**name)) {
            // A page of an earlier build asking after its parts: the page reloads whole.
            return Err((StatusCode::NOT_FOUND, format!("want: no part {unknown} in this build")));
        }
        if let Some(set) = self.set(want) {
            return Ok(set);
        }
        let set = Encoded::new(join(&self.parts, &names), QUICK);
        let mut sets = self.sets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if sets.len() < self.whole.len() + MAX_OTHER_SETS {
            sets.insert(want.to_owned(), Arc::clone(&set));
        }
        Ok(set)
    }

    fn set(&self, want: &str) -> Option<Arc<Encoded>> {
        self.sets.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(want).cloned()
    }
}

/// The parts `names` one after another, each after its length (4 bytes, little-endian).
fn join(parts: &HashMap<String, Bytes>, names: &[&str]) -> Bytes {
    let mut out = BytesMut::new();
    for name in names {
        let part = parts.get(*name).map(Bytes::as_ref).unwrap_or_default();
        out.put_u32_le(u32::try_from(part.len()).unwrap_or(u32::MAX));
        out.put_slice(part);
    }
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(value: &str) -> Encoding {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).expect("header"));
        Encoding::accepted(&headers)
    }

    #[test]
    fn the_encoding_is_the_best_the_browser_takes() {
        assert_eq!(accepts("gzip, deflate, br, zstd"), Encoding::Brotli);
        assert_eq!(accepts("gzip, deflate"), Encoding::Gzip);
        assert_eq!(accepts("br;q=0, gzip"), Encoding::Gzip);
        assert_eq!(accepts("br;q=0.5"), Encoding::Brotli);
        assert_eq!(accepts("identity"), Encoding::Identity);
        assert_eq!(Encoding::accepted(&HeaderMap::new()), Encoding::Identity);
    }

    /// A site with two groups sharing a chunk, as `cargo leptos build --split` lays it out.
    fn site() -> (tempfile::TempDir, Bundle) {
        let dir = tempfile::tempdir().expect("dir");
        let pkg = dir.path().join("pkg");
        std::fs::create_dir(&pkg).expect("pkg");
        let manifest = r#"{"a":["chunk_1.H1","split_a.HA"],"b":["chunk_1.H1","chunk_2.H2","split_b.HB"]}"#;
        std::fs::write(pkg.join("__wasm_split_manifest.M.json"), manifest).expect("manifest");
        let loader = r#"const c = () => fetch(new URL("./chunk_1.H1.wasm", import.meta.url));"#;
        std::fs::write(pkg.join("__wasm_split.S.js"), loader).expect("loader");
        for (name, bytes) in [("chunk_1.H1", "one"), ("chunk_2.H2", "two!"), ("split_a.HA", "A"), ("split_b.HB", "BB")]
        {
            std::fs::write(pkg.join(format!("{name}.wasm")), bytes).expect("part");
        }
        let bundle = Bundle::load(dir.path(), "pkg", Some("js: J\nmanifest: M\nsplit: S\n")).expect("a split site");
        (dir, bundle)
    }

    #[test]
    fn a_set_is_its_parts_each_after_its_length() {
        let (_dir, bundle) = site();
        let set = bundle.wanted("want=chunk_1.H1,chunk_2.H2,split_b.HB").expect("known parts");
        assert_eq!(&set.raw[..], b"\x03\0\0\0one\x04\0\0\0two!\x02\0\0\0BB");
        // The groups' whole sets are there from the start, compressed at the best.
        assert_eq!(bundle.whole, ["chunk_1.H1,split_a.HA", "chunk_1.H1,chunk_2.H2,split_b.HB"]);
        assert_eq!(set.quality, BEST);
        let part = bundle.wanted("want=chunk_2.H2").expect("one part");
        assert_eq!(&part.raw[..], b"\x04\0\0\0two!");
        assert_eq!(part.quality, QUICK);
    }

    #[test]
    fn a_set_names_this_builds_parts_sorted_once() {
        let (_dir, bundle) = site();
        for (query, status) in [
            ("want=split_a.HA,chunk_1.H1", StatusCode::BAD_REQUEST),
            ("want=chunk_1.H1,chunk_1.H1", StatusCode::BAD_REQUEST),
            ("want=", StatusCode::BAD_REQUEST),
            ("", StatusCode::BAD_REQUEST),
            ("want=chunk_1.H1&want=chunk_2.H2", StatusCode::BAD_REQUEST),
            ("want=chunk_1.OLD", StatusCode::NOT_FOUND),
            ("want=../hash.txt", StatusCode::NOT_FOUND),
        ] {
            assert_eq!(bundle.wanted(query).err().map(|e| e.0), Some(status), "{query}");
        }
    }

    #[test]
    fn the_loader_fetches_through_the_prelude() {
        let (_dir, bundle) = site();
        let text = std::str::from_utf8(&bundle.loader.1.raw).expect("text").to_owned();
        assert!(text.starts_with(PRELUDE));
        assert!(text.ends_with(r#"const c = () => wagesPart(new URL("./chunk_1.H1.wasm", import.meta.url));"#));
        assert_eq!(bundle.loader.0, "__wasm_split.S.js");
    }

    #[test]
    fn compressed_forms_read_back_to_the_set() {
        let raw = Bytes::from_static(b"the same bytes, the same bytes, the same bytes");
        let set = Encoded::new(raw.clone(), QUICK);
        let mut unpacked = Vec::new();
        brotli::BrotliDecompress(&mut &set.body(Encoding::Brotli)[..], &mut unpacked).expect("brotli");
        assert_eq!(unpacked, raw);
        let mut unpacked = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&set.body(Encoding::Gzip)[..]), &mut unpacked)
            .expect("gzip");
        assert_eq!(unpacked, raw);
    }

    #[test]
    fn a_site_built_without_split_is_served_as_it_is() {
        let dir = tempfile::tempdir().expect("dir");
        assert!(Bundle::load(dir.path(), "pkg", None).is_none());
    }
}
