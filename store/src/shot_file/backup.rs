//! Beanconqueror's backup, a whole history at once. `Beanconqueror.zip` holds
//! `Beanconqueror.json` (beans, mills, preparations, brews, settings) with the first 500
//! brews and beans, the rest in `Beanconqueror_Brews_N.json` and `Beanconqueror_Beans_N.json`
//! (N from 1). A brew's curves are in `brews/{uuid}_flow_profile.json`, which the Android
//! app exports beside the zip (and which may be put into it). The backup may come as the
//! zip, as its files unpacked, or as both side by side (a folder): files are told apart
//! by their names inside and out of zips.
//!
//! Each brew is put into the shape of Beanconqueror's single-brew export (its bean, mill
//! and preparation beside it, its flow as `brewFlow`) and read by that reader, so a brew
//! reads the same from a backup as from its own file.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use serde_json::{Map, Value};

use super::{Fields, ImportedShot};
use crate::brew::BeansInput;
use crate::error::RegistryError;

/// Largest backup upload: the zip and any flow profiles beside it.
pub const MAX_BACKUP_BYTES: usize = 256 * 1024 * 1024;
/// Largest `Beanconqueror.json` or chunk, unpacked (2,000 brews take about 3.3 MB).
const MAX_DATA_FILE_BYTES: u64 = 128 * 1024 * 1024;
/// Most brews in one backup.
pub const MAX_BACKUP_BREWS: usize = 100_000;
/// Most files in one backup's zips.
const MAX_ENTRIES: usize = 2 * MAX_BACKUP_BREWS + 100;

/// What `Beanconqueror.json` and its chunks hold, ready to read brew by brew; the flow
/// profiles are read from their files as each brew is.
pub struct Backup<'a> {
    beans: Vec<(String, Result<BeansInput, RegistryError>)>,
    brews: Vec<Value>,
    /// By uuid: the objects a brew refers to.
    bean_objects: HashMap<String, Value>,
    mills: HashMap<String, Value>,
    preparations: HashMap<String, Value>,
    /// The brews' ratings are out of this (the app's setting; 5 unless changed).
    rating_max: f64,
    flows: HashMap<String, Place>,
    loose: Vec<&'a [u8]>,
    zips: Vec<zip::ZipArchive<Cursor<&'a [u8]>>>,
}

/// Where a file of the backup is: given as it is, or inside a zip.
#[derive(Clone, Copy)]
enum Place {
    Loose(usize),
    Zipped(usize, usize),
}

/// One brew of a backup, read: a shot to store, or why it cannot be.
pub struct BackupBrew {
    /// For people: "brew 12 (af21d84f-…)".
    pub label: String,
    pub shot: Result<ImportedShot, RegistryError>,
    /// The uuid of its beans in the backup, whose library entry [`Backup::beans`] gives.
    pub beans_uuid: Option<String>,
}

impl<'a> Backup<'a> {
    /// Reads a backup from its files as `(name, bytes)`: zips, `Beanconqueror.json`, its
    /// chunks and flow profiles. Other files are passed over.
    pub fn read(files: &[(String, &'a [u8])]) -> Result<Backup<'a>, RegistryError> {
        let total: usize = files.iter().map(|(_, b)| b.len()).sum();
        if total > MAX_BACKUP_BYTES {
            return Err(RegistryError::invalid(
                "file",
                format!("a backup must be at most {} MiB", MAX_BACKUP_BYTES >> 20),
            ));
        }
        let mut places: Vec<(String, Place)> = Vec::new();
        let (mut loose, mut zips) = (Vec::new(), Vec::new());
        for (name, bytes) in files {
            if is_zip(bytes) {
                let archive = zip::ZipArchive::new(Cursor::new(*bytes))
                    .map_err(|e| RegistryError::invalid("file", format!("{name}: is not a readable zip: {e}")))?;
                if archive.len() > MAX_ENTRIES {
                    return Err(RegistryError::invalid("file", format!("{name}: has more than {MAX_ENTRIES} files")));
                }
                for i in 0..archive.len() {
                    if let Some(entry) = archive.name_for_index(i) {
                        places.push((entry.to_owned(), Place::Zipped(zips.len(), i)));
                    }
                }
                zips.push(archive);
            } else {
                places.push((name.clone(), Place::Loose(loose.len())));
                loose.push(*bytes);
            }
        }
        let mut backup = Backup {
            beans: Vec::new(),
            brews: Vec::new(),
            bean_objects: HashMap::new(),
            mills: HashMap::new(),
            preparations: HashMap::new(),
            rating_max: 5.0,
            flows: HashMap::new(),
            loose,
            zips,
        };
        let mut main = None;
        let mut chunks: Vec<(&str, usize, String, Place)> = Vec::new();
        for (name, place) in &places {
            let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
            if base == "Beanconqueror.json" {
                main.get_or_insert((name.clone(), *place));
            } else if let Some((kind, n)) = chunk(base) {
                chunks.push((kind, n, name.clone(), *place));
            } else if let Some(uuid) = base.strip_suffix("_flow_profile.json") {
                // `importedGraph/` holds reference curves from elsewhere, not the brew's own.
                if !name.contains("importedGraph") {
                    backup.flows.entry(uuid.to_owned()).or_insert(*place);
                }
            }
        }
        let Some((main_name, main_place)) = main else {
            return Err(RegistryError::invalid(
                "file",
                "is not a Beanconqueror backup: it needs Beanconqueror.json (in Beanconqueror.zip, or unpacked)",
            ));
        };
        let data = backup.json(&main_name, main_place, MAX_DATA_FILE_BYTES)?;
        let Value::Object(mut data) = data else {
            return Err(RegistryError::invalid(&main_name, "must be a JSON object"));
        };
        if !data.contains_key("BREWS") && !data.contains_key("BEANS") {
            return Err(RegistryError::invalid(&main_name, "is not a Beanconqueror backup: it has no BREWS or BEANS"));
        }
        chunks.sort_by_key(|(kind, n, _, _)| (*kind, *n));
        for (kind, _, name, place) in chunks {
            let Value::Array(items) = backup.json(&name, place, MAX_DATA_FILE_BYTES)? else {
                return Err(RegistryError::invalid(&name, "must be a JSON array"));
            };
            match data.get_mut(kind) {
                Some(Value::Array(all)) => all.extend(items),
                _ => {
                    data.insert(kind.to_owned(), Value::Array(items));
                }
            }
        }
        backup.rating_max = data
            .get("SETTINGS")
            .and_then(|s| s.get(0))
            .and_then(|s| s.get("brew_rating"))
            .and_then(Value::as_f64)
            .filter(|m| *m > 0.0 && m.is_finite())
            .unwrap_or(5.0);
        for (key, into) in [("MILL", &mut backup.mills), ("PREPARATION", &mut backup.preparations)] {
            for item in list(&mut data, key, &main_name)? {
                if let Some(uuid) = uuid_of(&item) {
                    into.insert(uuid, item);
                }
            }
        }
        for (i, bean) in list(&mut data, "BEANS", &main_name)?.into_iter().enumerate() {
            let Some(uuid) = uuid_of(&bean) else { continue };
            let read = match &bean {
                Value::Object(map) => super::beanconqueror::beans(&Fields { map, path: format!("BEANS[{i}]") })
                    .map(|b| b.map(|b| BeansInput { archived: bean.get("finished") == Some(&Value::Bool(true)), ..b })),
                _ => Err(RegistryError::invalid(&format!("BEANS[{i}]"), "must be an object")),
            };
            // Beans with neither roaster nor name are no library entry.
            if let Some(read) = read.transpose() {
                backup.beans.push((uuid.clone(), read));
            }
            backup.bean_objects.insert(uuid, bean);
        }
        backup.brews = list(&mut data, "BREWS", &main_name)?;
        if backup.brews.len() > MAX_BACKUP_BREWS {
            return Err(RegistryError::invalid("BREWS", format!("a backup may hold at most {MAX_BACKUP_BREWS} brews")));
        }
        Ok(backup)
    }

    /// The beans of the backup, by their uuid there, each for the library or with why not.
    pub fn beans(&self) -> &[(String, Result<BeansInput, RegistryError>)] {
        &self.beans
    }

    /// How many brews the backup holds.
    pub fn len(&self) -> usize {
        self.brews.len()
    }

    pub fn is_empty(&self) -> bool {
        self.brews.is_empty()
    }

    /// Brew `i`, read with its bean, mill, preparation and flow profile.
    pub fn brew(&mut self, i: usize) -> BackupBrew {
        let brew = self.brews.get(i).cloned().unwrap_or(Value::Null);
        let uuid = uuid_of(&brew);
        let label = match &uuid {
            Some(u) => format!("brew {} ({u})", i + 1),
            None => format!("brew {}", i + 1),
        };
        let refers = |key: &str| brew.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
        let beans_uuid = refers("bean");
        let mut root = Map::new();
        let linked = [
            ("bean", &self.bean_objects, "bean"),
            ("mill", &self.mills, "mill"),
            ("preparation", &self.preparations, "method_of_preparation"),
        ];
        for (key, objects, field) in linked {
            if let Some(object) = refers(field).and_then(|u| objects.get(&u)) {
                root.insert(key.to_owned(), object.clone());
            }
        }
        let mut brew = brew;
        if let Some(rating) = brew.get("rating").and_then(Value::as_f64).filter(|_| self.rating_max != 5.0) {
            brew["rating"] = Value::from(rating * 5.0 / self.rating_max);
        }
        root.insert("brew".to_owned(), brew);
        let shot = match uuid.as_ref().and_then(|u| self.flows.get(u).copied()) {
            Some(place) => {
                let name = format!("brews/{}_flow_profile.json", uuid.as_deref().unwrap_or_default());
                self.json(&name, place, super::MAX_IMPORT_BYTES as u64).map(|flow| {
                    root.insert("brewFlow".to_owned(), flow);
                })
            }
            None => Ok(()),
        }
        .and_then(|()| super::beanconqueror::shot(&Fields { map: &root, path: String::new() }));
        BackupBrew { label, shot, beans_uuid }
    }

    /// A file of the backup as JSON, at most `limit` bytes unpacked.
    fn json(&mut self, name: &str, place: Place, limit: u64) -> Result<Value, RegistryError> {
        let too_big = || RegistryError::invalid(name, format!("must be at most {} MiB unpacked", limit >> 20));
        let bytes: Vec<u8> = match place {
            Place::Loose(i) => {
                let bytes = self.loose[i];
                if bytes.len() as u64 > limit {
                    return Err(too_big());
                }
                bytes.to_vec()
            }
            Place::Zipped(z, i) => {
                let entry = self.zips[z]
                    .by_index(i)
                    .map_err(|e| RegistryError::invalid(name, format!("cannot be unpacked: {e}")))?;
                if entry.size() > limit {
                    return Err(too_big());
                }
                // The size in the zip's directory may be wrong: the reading is bounded too.
                let mut bytes = Vec::new();
                entry
                    .take(limit + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| RegistryError::invalid(name, format!("cannot be unpacked: {e}")))?;
                if bytes.len() as u64 > limit {
                    return Err(too_big());
                }
                bytes
            }
        };
        let text = String::from_utf8_lossy(&bytes);
        serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
            RegistryError::invalid(name, format!("line {}, column {}: is not JSON: {e}", e.line(), e.column()))
        })
    }
}

/// A zip file begins with a local file header, or is an empty archive.
pub(super) fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// `Beanconqueror_Brews_3.json` → ("BREWS", 3).
fn chunk(name: &str) -> Option<(&'static str, usize)> {
    let rest = name.strip_prefix("Beanconqueror_")?.strip_suffix(".json")?;
    let (kind, n) = rest.rsplit_once('_')?;
    let kind = match kind {
        "Brews" => "BREWS",
        "Beans" => "BEANS",
        _ => return None,
    };
    Some((kind, n.parse().ok()?))
}

fn uuid_of(item: &Value) -> Option<String> {
    item.get("config")?.get("uuid")?.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// `data[key]`, an array (missing is empty), taken out of `data`.
fn list(data: &mut Map<String, Value>, key: &str, file: &str) -> Result<Vec<Value>, RegistryError> {
    match data.remove(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(RegistryError::invalid(&format!("{file}: {key}"), "must be an array")),
    }
}
