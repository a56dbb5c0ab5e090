//! Shot files written by other apps and machines (`fixtures/shot_files`, from
//! Visualizer.coffee's tests, MIT): each is read with what its own tool shows for it.
//! The figures expected here are those Visualizer's tests read from the same files.

use wages_store::Method;
use wages_store::series::SeriesKind;
use wages_store::shot_file::{ImportedShot, ShotFormat, parse};

fn read(name: &str) -> ImportedShot {
    let path = format!("{}/tests/fixtures/shot_files/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Seconds from the first sample of any curve to the last.
fn duration(shot: &ImportedShot) -> f64 {
    let times = shot.samples.iter().map(|s| s.0).chain(shot.series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
    let (first, last) = times.fold((u64::MAX, 0), |(a, b), t| (a.min(t), b.max(t)));
    (last - first) as f64 / 1000.0
}

fn kinds(shot: &ImportedShot) -> Vec<SeriesKind> {
    shot.series.iter().map(|s| s.kind).collect()
}

fn series(shot: &ImportedShot, kind: SeriesKind) -> &[(u64, f64)] {
    &shot.series.iter().find(|s| s.kind == kind).unwrap_or_else(|| panic!("no {kind:?}")).points
}

fn beans(shot: &ImportedShot) -> (String, String) {
    let b = shot.beans.as_ref().expect("beans");
    (b.roaster.clone(), b.name.clone())
}

#[test]
fn a_de1_shot_file_gives_its_curves_recipe_and_beans() {
    let shot = read("20210921T085910.shot");
    assert_eq!(shot.format, ShotFormat::DecentTcl);
    // 2021-09-21 06:59:10 UTC, the first sample 44 ms in; 100 samples over 24.793 s.
    assert_eq!(shot.samples.first().map(|s| s.0), Some(1_632_207_550_044));
    assert_eq!(shot.samples.len(), 100);
    assert_eq!(shot.samples.last().map(|s| s.0), Some(1_632_207_550_000 + 24_793));
    assert_eq!(
        kinds(&shot),
        [
            SeriesKind::Pressure,
            SeriesKind::Flow,
            SeriesKind::WaterTemperature,
            SeriesKind::BasketTemperature,
            SeriesKind::WaterDispensed
        ]
    );
    assert_eq!(series(&shot, SeriesKind::Pressure)[1], (1_632_207_550_268, 1.02));
    // Written in tens of millilitres: 0.0997 is about 1 ml.
    assert!((series(&shot, SeriesKind::WaterDispensed)[1].1 - 0.9967651367187501).abs() < 1e-9);
    let d = &shot.details;
    assert_eq!((d.method, d.dose, d.yield_grams, d.rating), (Some(Method::Espresso), Some(18.0), Some(38.8), Some(70)));
    assert_eq!((d.grinder.as_deref(), d.grind_setting.as_deref()), (Some("EK43 with SSP HU"), Some("2.1")));
    assert_eq!((d.notes.as_deref(), d.brewed_by.as_deref(), d.tds), (Some("Neat."), Some("Miha Rekar"), None));
    assert_eq!(beans(&shot), ("Banibeans".into(), "Ethiopia Shantawene".into()));
    let b = shot.beans.as_ref().expect("beans");
    assert_eq!((b.roast_date.as_deref(), b.notes.as_deref()), (Some("2021-09-11"), Some("With BPlus")));
    assert_eq!(shot.session_id.as_deref(), Some("de1-1632207550"));
    // The same shot with its roast date written year first.
    let ymd = read("20210921T085910ymd.shot");
    assert_eq!(ymd.beans.and_then(|b| b.roast_date).as_deref(), Some("2021-09-11"));
}

#[test]
fn a_de1_json_shot_and_its_shot_file_are_the_same_shot() {
    let json = read("20211019T100744.json");
    let tcl = read("20211019T100744.shot");
    assert_eq!((json.format, tcl.format), (ShotFormat::DecentJson, ShotFormat::DecentTcl));
    for shot in [&json, &tcl] {
        assert_eq!(shot.session_id.as_deref(), Some("de1-1634630864"), "2021-10-19 08:07:44 UTC");
        assert_eq!(shot.samples.len(), 109);
        assert!((duration(shot) - (26.999 - 0.044)).abs() < 1e-9);
        let d = &shot.details;
        assert_eq!(
            (d.yield_grams, d.grinder.as_deref(), d.grind_setting.as_deref()),
            (Some(42.6), Some("EK43 with SSP HU"), Some("2.4"))
        );
        assert_eq!(beans(shot), ("BeBerry".into(), "Shantawene".into()));
        assert_eq!(shot.beans.as_ref().and_then(|b| b.roast_date.as_deref()), Some("2021-10-05"));
        assert_eq!(series(shot, SeriesKind::Pressure).len(), 109);
    }
    assert_eq!(json.samples, tcl.samples);
    assert_eq!(series(&json, SeriesKind::Flow), series(&tcl, SeriesKind::Flow));
    // The JSON says 0 for enjoyment; the .shot written after the app saved it says 80.
    assert_eq!((json.details.rating, tcl.details.rating), (None, Some(80)));
}

#[test]
fn de1_files_as_they_are_in_the_wild() {
    // Bytes that are not UTF-8 in a machine block that closes no brace.
    let cremina = read("invalid_machine.shot");
    assert!(!cremina.samples.is_empty());
    // A profile whose notes hold braces and brackets.
    assert!(!read("brackets.shot").samples.is_empty());
    // A dose in DSx_bean_weight only.
    assert_eq!(read("dsx_weight.shot").details.dose, Some(18.0));
    // A shot with an empty list among its series (`espresso_flow_delta_negative {}`).
    let empty_flow = read("empty_flow.shot");
    assert_eq!(empty_flow.samples.len(), 80);
    assert_eq!(kinds(&empty_flow).len(), 5);
    assert!(!read("20240202T063530.shot").samples.is_empty());
    // JSON shots with a profile or settings other tools choke on.
    assert_eq!(read("invalid_profile.json").samples.len(), 101);
    assert_eq!(read("invalid_settings.json").samples.len(), 145);
    assert_eq!(read("very_invalid_settings.json").samples.len(), 679);
}

#[test]
fn a_pyde1_shot_reads_as_a_de1_shot_file() {
    let shot = read("pyde.faketcl");
    assert_eq!(shot.format, ShotFormat::DecentTcl);
    assert_eq!(shot.session_id.as_deref(), Some("de1-1668183435"));
    assert_eq!(shot.details.yield_grams, Some(42.0));
    assert!(kinds(&shot).contains(&SeriesKind::Pressure));
    assert!(shot.samples.iter().any(|s| s.1 > 30.0));
}

#[test]
fn beanconqueror_brews_give_what_visualizer_reads_from_them() {
    // Visualizer's figures: brand, beans, dose, grind, drink weight, duration.
    let chemex = read("beanconqueror_real.json");
    assert_eq!(chemex.format, ShotFormat::Beanconqueror);
    assert_eq!(beans(&chemex), ("onoma".into(), "Holm".into()));
    let d = &chemex.details;
    assert_eq!((d.dose, d.grinder.as_deref(), d.grind_setting.as_deref()), (Some(75.0), Some("Kinu M47"), Some("4")));
    // 1,200 g of water in the Chemex: its brew_quantity, as Visualizer falls back.
    assert_eq!(d.yield_grams, Some(1200.0));
    assert_eq!(d.tds, Some(3.0));
    assert!((duration(&chemex) - 35.047).abs() < 0.01, "{}", duration(&chemex));
    assert_eq!(chemex.beans.as_ref().and_then(|b| b.roast_date.as_deref()), Some("2022-12-08"));
    assert_eq!(read("beanconqueror.json").details.yield_grams, Some(1200.0));

    let ice = read("beanconqueror_beverage_weight.json");
    assert_eq!((ice.details.dose, ice.details.yield_grams), (Some(16.2), Some(249.0)));
    assert!((duration(&ice) - 163.198).abs() < 0.01, "{}", duration(&ice));
}

#[test]
fn beanconqueror_brews_as_they_are_in_the_wild() {
    // 856 KB, a long brew whose flow goes negative (the weight curve is what Wages keeps).
    let long = read("beanconqueror_negative.json");
    assert_eq!(long.samples.len(), 1748);
    assert!((duration(&long) - 174.244).abs() < 0.01, "{}", duration(&long));
    // Weights left out of some samples.
    let gaps = read("beanconqueror_missing_values.json");
    assert_eq!(gaps.details.dose, Some(15.0));
    // Visualizer's 147.542 s counts Beanconqueror's own flow series, which end 0.1 s later.
    assert!((duration(&gaps) - 147.542).abs() < 0.2, "{}", duration(&gaps));
    // A temperature probe's curve beside the weight.
    let warm = read("beanconqueror_temperature.json");
    assert_eq!(series(&warm, SeriesKind::WaterTemperature).len(), 16);
    assert!((duration(&warm) - 17.201).abs() < 0.01, "{}", duration(&warm));
    // A machine without a scale: pressure, temperature and water dispensed, no weight.
    let sanremo = read("beanconqueror_water_dispensed.json");
    assert!(sanremo.samples.is_empty());
    assert_eq!(kinds(&sanremo), [SeriesKind::Pressure, SeriesKind::WaterTemperature, SeriesKind::WaterDispensed]);
    assert_eq!((sanremo.details.dose, sanremo.details.yield_grams), (Some(20.0), Some(40.2)));
    assert_eq!(beans(&sanremo), ("Schvarz Kaffee".into(), "Kolumbien Sugarcane".into()));
    assert!((duration(&sanremo) - 24.209).abs() < 0.2, "{}", duration(&sanremo));
}

#[test]
fn gaggiuino_gaggimate_and_meticulous_shots_give_their_curves() {
    let gaggiuino = read("gaggiuino-1020.json");
    assert_eq!(gaggiuino.format, ShotFormat::Gaggiuino);
    assert_eq!(gaggiuino.samples.first().map(|s| s.0), Some(1_728_455_970_000 + 200), "2024-10-09 06:39:30 UTC");
    assert!((duration(&gaggiuino) - 42.0).abs() < 1e-9);
    assert_eq!(series(&gaggiuino, SeriesKind::Pressure).len(), 279);
    assert!((series(&gaggiuino, SeriesKind::WaterDispensed)[42].1 - 7.4).abs() < 1e-9, "millilitres");
    assert_eq!(gaggiuino.session_id.as_deref(), Some("gaggiuino-1020"));

    let gaggimate = read("gaggimate-v1.json");
    assert_eq!(gaggimate.format, ShotFormat::Gaggimate);
    assert_eq!(gaggimate.samples.first().map(|s| s.0), Some(1_752_838_911_000 + 880), "2025-07-18 11:41:51 UTC");
    assert_eq!(series(&gaggimate, SeriesKind::Pressure).len(), 213);
    assert!((series(&gaggimate, SeriesKind::Flow)[2].1 - 9.916).abs() < 1e-9);
    assert_eq!(gaggimate.samples.last().map(|s| s.1), Some(81.73));
    // Without a scale, the machine's estimate of the weight.
    let v0 = read("gaggimate-v0.json");
    assert_eq!(v0.samples.last().map(|s| s.1), Some(238.54));
    for name in ["gaggimate2.json", "gaggimate-vf-under-one.json"] {
        assert!(!read(name).series.is_empty(), "{name}");
    }

    let meticulous = read("meticulous.shot.json");
    assert_eq!(meticulous.format, ShotFormat::Meticulous);
    assert_eq!(meticulous.samples.first().map(|s| s.0), Some(1_767_116_178_406 + 4), "2025-12-30 17:36:18 UTC");
    assert_eq!(series(&meticulous, SeriesKind::Flow)[0].1, 3.24);
    assert_eq!(series(&meticulous, SeriesKind::WaterTemperature)[0].1, 88.69);
    assert!((duration(&meticulous) - (26.278 - 0.004)).abs() < 1e-9);
}

#[test]
fn smart_espresso_profiler_csvs_give_their_curves_and_recipe() {
    let sep = read("sharebrew_tsp.csv");
    assert_eq!(sep.format, ShotFormat::SepCsv);
    assert_eq!(beans(&sep), ("Herd".into(), "Kenya".into()));
    let d = &sep.details;
    assert_eq!((d.dose, d.yield_grams), (Some(15.2), Some(31.01)));
    assert_eq!((d.grinder.as_deref(), d.grind_setting.as_deref()), (Some("Comandante Trailmaster"), Some("3 clicks")));
    assert!(d.notes.as_deref().is_some_and(|n| n.contains("Espresso Machine Brand: Flair PRO")));
    assert_eq!(sep.beans.as_ref().and_then(|b| b.roast_date.as_deref()), Some("2021-12-17"));
    assert!((duration(&sep) - (48.403 - 0.051)).abs() < 0.05, "{}", duration(&sep));

    let pressensor = read("pressensor.csv");
    assert_eq!(kinds(&pressensor), [SeriesKind::Pressure, SeriesKind::WaterTemperature]);
    assert_eq!(pressensor.details.dose, Some(16.2));
    assert!(!read("pressensor_short.csv").series.is_empty());
    let coffee_flow = read("profitec_victoria_arduino.csv");
    assert_eq!(coffee_flow.details.grinder.as_deref(), Some("Eureka Atom Specialty"));
    assert_eq!((coffee_flow.details.dose, coffee_flow.details.yield_grams), (Some(18.6), Some(38.35)));
}

#[test]
fn a_file_that_is_no_shot_says_so() {
    let path = format!("{}/tests/fixtures/shot_files/invalid_file.something", env!("CARGO_MANIFEST_DIR"));
    let e = parse(&std::fs::read(path).expect("file")).expect_err("not a shot");
    assert!(e.to_string().contains("not a shot file Wages reads"), "{e}");
    let e = parse(b"clock 1632207550\nespresso_elapsed {0.1 0.2\n").expect_err("unclosed");
    assert!(e.to_string().contains("line 2: expected a closing brace"), "{e}");
    let e = parse(b"{\"elapsed\": [1], \"totals\": ").expect_err("cut short");
    assert!(e.to_string().contains("line 1, column"), "{e}");
    let e = parse(b"information_type,elapsed\nmoment,1\n").expect_err("no metatype column");
    assert!(e.to_string().contains("expected a column metatype"), "{e}");
}

#[test]
fn weight_rows_out_of_order_come_in_time_order() {
    let csv = "information_type,elapsed,pressure,current_total_shot_weight,flow_in,flow_out,water_temperature_boiler,\
               water_temperature_in,water_temperature_basket,metatype,metadata,comment\n\
               meta,,,,,,,,,Date,2023-04-07T09:02:31.765,ISO8601 formatted date\n\
               moment,2.0,,5.0,,,,,,,,sample: weight\n\
               moment,1.0,,2.0,,,,,,,,sample: weight\n\
               moment,1.0,,2.5,,,,,,,,sample: weight\n";
    let shot = parse(csv.as_bytes()).expect("a shot");
    let start = 1_680_858_151_765;
    assert_eq!(shot.samples, [(start + 1000, 2.5), (start + 2000, 5.0)]);
}

#[test]
fn a_machine_file_whose_id_makes_no_session_id_is_named_by_its_time() {
    let shot = r#"{"id": "shot #7 / kitchen", "timestamp": 1728455970,
        "datapoints": [{"timeInShot": 200, "pressure": 2.5, "shotWeight": 0.4}]}"#;
    let shot = parse(shot.as_bytes()).expect("a shot");
    assert_eq!(shot.session_id.as_deref(), Some("gaggiuino-1728455970"));
}
