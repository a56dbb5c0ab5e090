//! Readings a tab holds until Wages has stored them, kept in the browser's IndexedDB
//! too, so a tab closed or crashed before its PUBACKs came loses none: the next visit
//! finds them and sends them first. Each reading is one record, its key a number that
//! grows with every reading the tab keeps, so the records come back in the order they
//! came; an acknowledged batch is deleted by its keys' range.

use wages_codec::Reading;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::{Closure, JsValue};
use web_sys::js_sys::{Array, Promise};
use web_sys::{IdbDatabase, IdbKeyRange, IdbOpenDbRequest, IdbRequest, IdbTransactionMode};

const DATABASE: &str = "wages-bridge";
const STORE: &str = "waiting";

/// The tab's store of waiting readings.
pub struct Waiting {
    db: IdbDatabase,
}

/// Waits for an IndexedDB request to succeed.
async fn done(request: &IdbRequest) -> Result<JsValue, JsValue> {
    let promise = Promise::new(&mut |resolve, reject| {
        let ok = Closure::once_into_js(move |event: JsValue| {
            let result = web_sys::js_sys::Reflect::get(&event, &"target".into())
                .and_then(|t| web_sys::js_sys::Reflect::get(&t, &"result".into()))
                .unwrap_or(JsValue::UNDEFINED);
            let _ = resolve.call1(&JsValue::NULL, &result);
        });
        let failed = Closure::once_into_js(move |event: JsValue| {
            let _ = reject.call1(&JsValue::NULL, &event);
        });
        request.set_onsuccess(Some(ok.unchecked_ref()));
        request.set_onerror(Some(failed.unchecked_ref()));
    });
    wasm_bindgen_futures::JsFuture::from(promise).await
}

impl Waiting {
    /// Opens (and on the first visit creates) the store.
    pub async fn open() -> Result<Waiting, JsValue> {
        let factory = web_sys::window().ok_or("no window")?.indexed_db()?.ok_or("no IndexedDB")?;
        let opening: IdbOpenDbRequest = factory.open_with_u32(DATABASE, 1)?;
        let upgrade = Closure::once_into_js(move |event: JsValue| {
            let db = web_sys::js_sys::Reflect::get(&event, &"target".into())
                .and_then(|t| web_sys::js_sys::Reflect::get(&t, &"result".into()))
                .and_then(JsCast::dyn_into::<IdbDatabase>);
            if let Ok(db) = db {
                let _ = db.create_object_store(STORE);
            }
        });
        opening.set_onupgradeneeded(Some(upgrade.unchecked_ref()));
        let db = done(&opening).await?.dyn_into::<IdbDatabase>()?;
        Ok(Waiting { db })
    }

    fn store(&self, mode: IdbTransactionMode) -> Result<web_sys::IdbObjectStore, JsValue> {
        self.db.transaction_with_str_and_mode(STORE, mode)?.object_store(STORE)
    }

    /// Every reading kept, with its key, oldest first.
    pub async fn all(&self) -> Result<Vec<(f64, Reading)>, JsValue> {
        let store = self.store(IdbTransactionMode::Readonly)?;
        let keys: Array = done(&store.get_all_keys()?).await?.dyn_into()?;
        let values: Array = done(&store.get_all()?).await?.dyn_into()?;
        let mut kept = Vec::new();
        for (key, value) in keys.iter().zip(values.iter()) {
            let (Some(key), Some(line)) = (key.as_f64(), value.as_string()) else { continue };
            if let Ok(reading) = wages_codec::decode_line(line.as_bytes()) {
                kept.push((key, reading));
            }
        }
        Ok(kept)
    }

    /// Keeps `reading` under `key` (greater than every key before).
    pub fn keep(&self, key: f64, reading: &Reading) {
        let mut line = String::new();
        wages_codec::encode_text(std::slice::from_ref(reading), &mut line);
        let kept = self
            .store(IdbTransactionMode::Readwrite)
            .and_then(|s| s.put_with_key(&line.trim_end().into(), &key.into()));
        if let Err(e) = kept {
            leptos::logging::warn!("cannot keep a waiting reading in IndexedDB: {e:?}");
        }
    }

    /// Forgets the readings kept under `first..=last`: they are stored.
    pub fn forget(&self, first: f64, last: f64) {
        let forgotten = IdbKeyRange::bound(&first.into(), &last.into())
            .and_then(|range| self.store(IdbTransactionMode::Readwrite)?.delete(&range));
        if let Err(e) = forgotten {
            leptos::logging::warn!("cannot forget stored readings in IndexedDB: {e:?}");
        }
    }
}
