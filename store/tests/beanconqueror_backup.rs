//! Beanconqueror backups: Beanconqueror's own test backup (2,000 brews, GPL-3.0,
//! `fixtures/beanconqueror_backup`) packed as the app packs `Beanconqueror.zip`, with one
//! of its flow profile files; and the brew exports of `fixtures/shot_files` (MIT) laid
//! out as a backup, each brew reading the same as from its own file.

use std::io::Write;

use serde_json::{Value, json};
use wages_store::series::SeriesKind;
use wages_store::shot_file::{Backup, parse};

fn fixture(dir: &str, name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{dir}/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A zip of `files`, deflated, as zip.js writes Beanconqueror.zip.
fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        writer.start_file(*name, options).expect("ok");
        writer.write_all(bytes).expect("ok");
    }
    writer.finish().expect("ok").into_inner()
}

/// The backup split as the app's export splits it: the first 500 brews and beans in
/// `Beanconqueror.json`, the rest in `Beanconqueror_Brews_N.json` chunks of 500.
fn chunked(mut data: Value) -> Vec<(String, Vec<u8>)> {
    let brews = data["BREWS"].as_array().expect("ok").clone();
    let mut chunks = brews.chunks(500);
    data["BREWS"] = Value::Array(chunks.next().unwrap_or_default().to_vec());
    let mut files = vec![("Beanconqueror.json".to_owned(), data.to_string().into_bytes())];
    for (i, chunk) in chunks.enumerate() {
        files.push((
            format!("Beanconqueror_Brews_{}.json", i + 1),
            Value::Array(chunk.to_vec()).to_string().into_bytes(),
        ));
    }
    files
}

#[test]
fn beanconquerors_own_test_backup_brings_every_brew_its_beans_and_a_flow() {
    let data: Value =
        serde_json::from_slice(&fixture("beanconqueror_backup", "BeanconquerorTestData.json")).expect("ok");
    let first = data["BREWS"][0]["config"]["uuid"].as_str().expect("ok").to_owned();
    let mut files = chunked(data);
    assert_eq!(files.len(), 4, "2,000 brews: the main file and three chunks");
    files.push((
        format!("brews/{first}_flow_profile.json"),
        fixture("beanconqueror_backup", "BeanconquerorFlowTestData.json"),
    ));
    let entries: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    let archive = zip(&entries);
    let mut backup = Backup::read(&[("Beanconqueror.zip".to_owned(), &archive)]).expect("ok");
    assert_eq!(backup.len(), 2000);
    let beans = backup.beans();
    assert_eq!(beans.len(), 1);
    let test_beans = beans[0].1.as_ref().expect("ok");
    assert_eq!((test_beans.roaster.as_str(), test_beans.name.as_str()), ("Unknown roaster", "Test"));

    let with_flow = backup.brew(0);
    let shot = with_flow.shot.expect("ok");
    assert_eq!(shot.session_id.as_deref(), Some(first.as_str()));
    assert_eq!(with_flow.beans_uuid.as_deref(), Some("021c6ab8-d55d-49b6-a264-1c522f4e2eeb"));
    // The flow profile: 332 weight samples ending at 43.1 g, and the machine's pressure.
    assert_eq!(shot.samples.last().map(|s| s.1), Some(43.1));
    assert!(shot.samples.len() > 300, "{}", shot.samples.len());
    assert!(shot.series.iter().any(|s| s.kind == SeriesKind::Pressure));
    assert_eq!(shot.details.grinder.as_deref(), Some("Test"));
    assert_eq!(shot.details.method, Some(wages_store::Method::Immersion), "an Aeropress");
    assert_eq!(shot.span, None);

    let mut sessions = std::collections::HashSet::new();
    for i in 0..backup.len() {
        let brew = backup.brew(i);
        let shot = brew.shot.unwrap_or_else(|e| panic!("{}: {e}", brew.label));
        assert!(sessions.insert(shot.session_id.clone().expect("ok")), "{} repeats a session", brew.label);
        if i > 0 {
            // Brews written down without a scale: no curve, the brew's time kept.
            assert!(shot.samples.is_empty() && shot.series.is_empty());
            let (start, end) = shot.span.expect("ok");
            assert!((1_731_445_292_000..=1_731_445_477_000).contains(&start) && end == start, "{}", brew.label);
        }
    }
}

#[test]
fn each_brew_of_a_backup_reads_as_its_own_brew_export() {
    // The exports whose brews have uuids of their own (others share one).
    let exports = [
        "beanconqueror.json",
        "beanconqueror_beverage_weight.json",
        "beanconqueror_missing_values.json",
        "beanconqueror_water_dispensed.json",
    ];
    let mut data =
        json!({ "BEANS": [], "MILL": [], "PREPARATION": [], "BREWS": [], "SETTINGS": [{ "brew_rating": 5 }] });
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, name) in exports.iter().enumerate() {
        let export: Value = serde_json::from_slice(&fixture("shot_files", name)).expect("ok");
        let mut brew = export["brew"].clone();
        for (key, list) in [("bean", "BEANS"), ("mill", "MILL"), ("preparation", "PREPARATION")] {
            let mut object = export[key].clone();
            if object.is_object() {
                let uuid = format!("{key}-{i}");
                object["config"] = json!({ "uuid": uuid });
                data[list].as_array_mut().expect("ok").push(object);
                brew[if key == "preparation" { "method_of_preparation" } else { key }] = json!(uuid);
            }
        }
        let uuid = brew["config"]["uuid"].as_str().expect("ok").to_owned();
        data["BREWS"].as_array_mut().expect("ok").push(brew);
        files.push((format!("brews/{uuid}_flow_profile.json"), export["brewFlow"].to_string().into_bytes()));
    }
    files.push(("Beanconqueror.json".to_owned(), data.to_string().into_bytes()));
    // As a folder would send them: the files unpacked, side by side.
    let loose: Vec<(String, &[u8])> = files.iter().map(|(n, b)| (n.clone(), b.as_slice())).collect();
    let mut backup = Backup::read(&loose).expect("ok");
    assert_eq!(backup.len(), exports.len());
    for (i, name) in exports.iter().enumerate() {
        let alone = parse(&fixture("shot_files", name)).expect("ok");
        let from_backup = backup.brew(i).shot.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(from_backup, alone, "{name}");
    }
}

#[test]
fn a_backup_with_a_problem_names_it() {
    let refused = |files: &[(String, &[u8])]| match Backup::read(files) {
        Ok(_) => panic!("read"),
        Err(e) => e.to_string(),
    };
    let shot = fixture("shot_files", "beanconqueror.json");
    let e = refused(&[("beanconqueror.json".to_owned(), &shot)]);
    assert!(e.contains("needs Beanconqueror.json"), "{e}");
    let e = refused(&[("Beanconqueror.zip".to_owned(), b"PK\x03\x04 not really")]);
    assert!(e.contains("is not a readable zip"), "{e}");
    let e = refused(&[("Beanconqueror.json".to_owned(), b"{\"BREWS\": [1,")]);
    assert!(e.contains("Beanconqueror.json") && e.contains("line 1"), "{e}");

    // A brew that cannot be read is named, and the others still read.
    let data = json!({ "BREWS": [
        { "config": { "uuid": "good", "unix_timestamp": 1_731_445_292 }, "grind_weight": 18 },
        { "config": { "uuid": "bad", "unix_timestamp": 1_731_445_300 }, "grind_weight": "lots" },
    ]})
    .to_string();
    let mut backup = Backup::read(&[("Beanconqueror.json".to_owned(), data.as_bytes())]).expect("ok");
    assert_eq!(backup.brew(0).shot.expect("ok").details.dose, Some(18.0));
    let bad = backup.brew(1);
    assert_eq!(bad.label, "brew 2 (bad)");
    assert!(bad.shot.expect_err("refused").to_string().contains("brew.grind_weight"));

    // A shot import given a backup points to the backup import.
    let archive = zip(&[("Beanconqueror.json", data.as_bytes())]);
    assert!(parse(&archive).expect_err("refused").to_string().contains("/api/shots/import/backup"));
    assert!(parse(data.as_bytes()).expect_err("refused").to_string().contains("Beanconqueror.json"));
}

#[test]
fn a_zip_entry_bigger_than_it_says_is_refused_not_read_whole() {
    // A flow profile of 11 MiB (one byte over the bound each shot file has), zipped small.
    let big = format!("{{\"weight\": [], \"pad\": \"{}\"}}", " ".repeat(11 << 20));
    let data = json!({ "BREWS": [{ "config": { "uuid": "u1", "unix_timestamp": 1_731_445_292 } }] }).to_string();
    let archive = zip(&[("Beanconqueror.json", data.as_bytes()), ("brews/u1_flow_profile.json", big.as_bytes())]);
    assert!(archive.len() < 1 << 20);
    let mut backup = Backup::read(&[("Beanconqueror.zip".to_owned(), &archive)]).expect("ok");
    let e = backup.brew(0).shot.expect_err("refused").to_string();
    assert!(e.contains("at most 10 MiB unpacked"), "{e}");
}
