//! What the OpenAPI document says beyond the types: every bound the checks of request
//! bodies enforce, written in from the same constants the checks use, and the statuses
//! every route can answer (no login, a read token writing, a body that is not JSON). A
//! client generated from the document sends nothing the server refuses;
//! `scripts/api-check.sh` tries that against a running server.

use serde_json::{Value, json};
use wages_store::brew::{
    MAX_DOSE, MAX_NOTES, MAX_SETTING, MAX_SHORT_TEXT, MAX_TAG_CHARS, MAX_TAGS, MAX_TDS, MAX_YIELD,
};

/// One line of text: no control characters.
const TEXT: &str = r"^[^\x00-\x1F\x7F-\x9F]*$";
/// One line of text with something in it besides spaces.
const REQUIRED_TEXT: &str = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$";
/// Text over several lines: tabs and line breaks, no other control characters.
const NOTES: &str = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$";
/// A `client_id` (and a `session_id`): the codec's alphabet and length.
pub const CLIENT_ID: &str = "^[A-Za-z0-9_-]{1,64}$";
/// A date as `YYYY-MM-DD` between 1900 and 2999, or empty for none.
const DATE: &str = r"^$|^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])$";
/// A roast level, or empty for none.
const ROAST_LEVEL: &str = "^$|^(light|medium-light|medium|medium-dark|dark)$";
/// A site's id.
const SITE: &str = "^[a-z0-9-]{1,32}$";
/// A user name as the server keeps it.
const USERNAME: &str = "^[a-z0-9._-]{1,50}$";
/// A tag: letters, digits, `-` and spaces.
const TAG: &str = "^[A-Za-z0-9 -]*$";

/// Writes the bounds and the common statuses into `doc`.
pub fn write(doc: &mut Value) {
    bodies(doc);
    statuses(doc);
}

fn text(max: usize) -> Value {
    json!({ "pattern": TEXT, "maxLength": max })
}

fn required_text(max: usize) -> Value {
    json!({ "pattern": REQUIRED_TEXT, "minLength": 1, "maxLength": max })
}

/// More than 0 and at most `max` grams.
fn grams(max: f64) -> Value {
    json!({ "exclusiveMinimum": 0, "maximum": max })
}

fn bodies(doc: &mut Value) {
    let beans = [
        ("roaster", required_text(MAX_SHORT_TEXT)),
        ("name", required_text(MAX_SHORT_TEXT)),
        ("origin", text(MAX_SHORT_TEXT)),
        ("process", text(MAX_SETTING)),
        ("roast_level", json!({ "pattern": ROAST_LEVEL })),
        ("roast_date", json!({ "pattern": DATE })),
        ("notes", json!({ "pattern": NOTES, "maxLength": MAX_NOTES })),
    ];
    let recipe = [
        ("grinder", text(MAX_SHORT_TEXT)),
        ("grind_setting", text(MAX_SETTING)),
        ("dose", grams(MAX_DOSE)),
        ("target_yield", grams(MAX_YIELD)),
    ];
    let shot = [
        ("yield", grams(MAX_YIELD)),
        ("water_temp", json!({ "minimum": 0, "maximum": 100 })),
        ("tds", json!({ "minimum": 0, "maximum": MAX_TDS })),
        ("rating", json!({ "minimum": 0, "maximum": 100 })),
        ("notes", json!({ "pattern": NOTES, "maxLength": MAX_NOTES })),
        (
            "tags",
            json!({ "maxItems": MAX_TAGS, "items": { "type": "string", "pattern": TAG, "maxLength": MAX_TAG_CHARS } }),
        ),
    ];
    let name = required_text(wages_store::device::MAX_NAME_CHARS);
    let pipeline = |range: std::ops::RangeInclusive<u32>| json!({ "minimum": range.start(), "maximum": range.end() });
    let password = json!({ "minLength": 8, "maxLength": wages_store::account::MAX_PASSWORD_CHARS });
    let display_name = text(wages_store::device::MAX_NAME_CHARS);
    let sites = json!({ "maxItems": wages_store::site::MAX_SITES, "items": { "type": "string", "pattern": SITE } });
    // Any IANA zone the server knows is taken; the document names a few so that a
    // generated client sends only zones every server knows.
    let zones = json!({ "enum": ["UTC", "Europe/London", "Europe/Berlin", "America/New_York", "Asia/Tokyo"] });
    let fields: Vec<(&str, Vec<(&str, Value)>)> = vec![
        (
            "NewPerson",
            vec![
                ("username", json!({ "pattern": USERNAME })),
                ("display_name", display_name.clone()),
                ("password", password.clone()),
                ("sites", sites.clone()),
            ],
        ),
        ("PersonPatch", vec![("display_name", display_name.clone()), ("password", password), ("sites", sites.clone())]),
        ("SiteBody", vec![("site", json!({ "pattern": SITE }))]),
        (
            "SiteInput",
            vec![
                ("id", json!({ "pattern": SITE })),
                ("name", required_text(wages_store::device::MAX_NAME_CHARS)),
                ("time_zone", zones.clone()),
            ],
        ),
        ("SitePatch", vec![("name", required_text(wages_store::device::MAX_NAME_CHARS)), ("time_zone", zones)]),
        ("Registration", vec![("client_id", json!({ "pattern": CLIENT_ID })), ("name", name.clone())]),
        ("Rename", vec![("name", name)]),
        ("BeansInput", beans.to_vec()),
        ("BeansPatch", beans.to_vec()),
        ("Recipe", recipe.to_vec()),
        ("ShotPatch", recipe.iter().cloned().chain(shot).collect()),
        (
            "OfferBody",
            vec![
                ("version", json!({ "pattern": "^[A-Za-z0-9._+-]{1,32}$" })),
                (
                    "url",
                    // Printable ASCII but `;` (so characters are bytes, as the bound counts them).
                    json!({ "pattern": "^https?://[!-:<-~]+$", "maxLength": wages_codec::MAX_FIRMWARE_URL_LEN }),
                ),
                ("sha256", json!({ "pattern": "^[0-9a-fA-F]{64}$" })),
                ("client_id", json!({ "pattern": CLIENT_ID })),
            ],
        ),
        (
            "PipelineSettings",
            vec![
                ("batch_size", pipeline(wages_store::pipeline::BATCH_SIZE)),
                ("batch_timeout_ms", pipeline(wages_store::pipeline::BATCH_TIMEOUT_MS)),
                ("concurrency", pipeline(wages_store::pipeline::CONCURRENCY)),
            ],
        ),
    ];
    for (schema, bounds) in fields {
        for (field, bound) in bounds {
            let property = &mut doc["components"]["schemas"][schema]["properties"][field];
            assert!(property.is_object(), "the OpenAPI document has no {schema}.{field}");
            merge(property, bound);
        }
    }
}

/// Adds `bound`'s keys to `property`. A nullable property (`Option`) keeps `null`: the
/// bounds apply to the value when there is one.
fn merge(property: &mut Value, bound: Value) {
    let target = match property.get("oneOf").and_then(Value::as_array).map(Vec::len) {
        Some(_) => return, // an enum by reference: its values are its bounds
        None => property,
    };
    if let (Some(target), Value::Object(bound)) = (target.as_object_mut(), bound) {
        for (key, value) in bound {
            target.insert(key, value);
        }
    }
}

/// The statuses any route can answer, besides its own.
fn statuses(doc: &mut Value) {
    let error = |description: &str| {
        json!({
            "description": description,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } }
        })
    };
    let Some(paths) = doc["paths"].as_object_mut() else { return };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for operation in item.values_mut() {
            let has_body = operation.get("requestBody").is_some();
            let has_params = operation.get("parameters").is_some();
            let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) else { continue };
            let mut add = |status: &str, description: &str| {
                responses.entry(status).or_insert_with(|| error(description));
            };
            add("401", "No login and no API token (`Authorization: Bearer wages_…`)");
            add(
                "403",
                "The role of the person (or of the token's person) does not allow this; a read token only reads",
            );
            if has_params || has_body {
                add("400", "A parameter or the body cannot be read; `message` says which");
                add("422", "A parameter or a field is out of its bounds; `field` names it");
            }
            if has_body {
                add("413", "The body is larger than the route takes");
                add("415", "The body is not sent as `application/json`");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wages_store::brew::BeansInput;

    /// Whether the beans' checks take `value` in `field` (the others valid).
    fn beans_take(field: &str, value: &str) -> bool {
        let mut input = BeansInput { roaster: "Square Mile".into(), name: "Red Brick".into(), ..BeansInput::default() };
        match field {
            "roaster" => input.roaster = value.into(),
            "origin" => input.origin = Some(value.into()),
            "notes" => input.notes = Some(value.into()),
            "roast_date" => input.roast_date = Some(value.into()),
            "roast_level" => input.roast_level = Some(value.into()),
            _ => unreachable!("no such field"),
        }
        input.check().is_ok()
    }

    /// Every value the document's pattern allows, the server takes: checked on values
    /// at the edges of each rule.
    #[test]
    fn what_a_pattern_allows_the_checks_take() {
        let samples = [
            "",
            " ",
            "Bar, left group",
            " padded ",
            "a\nb",
            "a\tb",
            "a\rb",
            "a\u{85}b",
            "a\u{7f}",
            "\u{0}",
            "ß8\u{1F600}",
            "2026-11-28",
            "1900-01-01",
            "2999-12-28",
            "1899-12-31",
            "3000-01-01",
            "2026-13-01",
            "2026-02-30",
            "2026-1-01",
            "light",
            "medium-dark",
            "Dark",
            "dark roast",
        ];
        for (field, pattern) in [
            ("roaster", REQUIRED_TEXT),
            ("origin", TEXT),
            ("notes", NOTES),
            ("roast_date", DATE),
            ("roast_level", ROAST_LEVEL),
        ] {
            let regex = regex::Regex::new(pattern).expect("the pattern compiles");
            for sample in samples {
                if regex.is_match(sample) {
                    assert!(
                        beans_take(field, sample),
                        "{field}: the document allows {sample:?}, the server refuses it"
                    );
                }
            }
        }
        for pattern in [CLIENT_ID, TAG] {
            regex::Regex::new(pattern).expect("the pattern compiles");
        }
    }
}
