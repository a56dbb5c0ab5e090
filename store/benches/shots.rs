//! Finding shots among many: how long one page of the Shots search takes with 100,000
//! shots stored, filtered in the ways people filter, and deep in the list. Side by side
//! in one run:
//!
//!     cargo bench -p wages-store --features testing --bench shots
//!
//! `BENCH_SHOTS` shots (default 100,000) over 20 scales, a minute apart, are stored the
//! way the pipeline stores them (three readings each, in batches of 200 shots, so every
//! shot's row is kept by the readings' transactions); 2 % are edited (a rating, tags,
//! notes, a star), scale 00's shots in one batch in ten name beans. Then each query below runs `BENCH_QUERIES`
//! times (default 200, after 40 unmeasured) for a page of 25, and p50/p99/max are
//! reported. The newest page
//! with no filter is the baseline; "page 400" starts from a cursor 10,000 shots deep.
//! `BENCH_DATABASE=postgres` runs on a database of its own on `WAGES_TEST_POSTGRES_URL`;
//! the default is SQLite with full sync in a temporary directory.

#![allow(clippy::print_stdout, clippy::expect_used, clippy::cast_precision_loss)]

use std::time::{Duration, Instant};

use wages_codec::{ClientId, Grams, Reading, SessionId, Timestamp};
use wages_store::{BeansInput, Cursor, Method, Recipe, Registry, ShotDetails, ShotFilter};

const START: u64 = 1_700_000_000_000;
const SCALES: u64 = 20;
const PAGE: u32 = 25;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn ids(i: u64) -> (ClientId, SessionId) {
    (
        ClientId::parse(&format!("scale-{:02}", i % SCALES)).expect("id"),
        SessionId::parse(&format!("shot-{i:06}")).expect("id"),
    )
}

fn shot_readings(i: u64) -> Vec<Reading> {
    let (client_id, session_id) = ids(i);
    let start = START + i * 60_000;
    (0..3u64)
        .map(|k| {
            Reading::new(
                client_id,
                session_id,
                Grams::new(k as f64 * 18.0).expect("grams"),
                Timestamp::from_millis(start + k * 15_000).expect("time"),
            )
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let shots = env("BENCH_SHOTS", 100_000);
    let queries = env("BENCH_QUERIES", 200);
    let postgres = std::env::var("BENCH_DATABASE").is_ok_and(|d| d == "postgres");
    let dir = tempfile::tempdir().expect("temp dir");
    let url = if postgres {
        wages_store::testing::postgres_database().await
    } else {
        format!("sqlite://{}/bench.db", dir.path().display())
    };
    let registry = Registry::connect(&url).await.expect("registry");
    let brews = registry.brews();
    let store = registry.readings();
    for s in 0..SCALES {
        let new = wages_store::NewDevice::parse(&format!("scale-{s:02}"), "Bench").expect("device");
        registry.create(&new).await.expect("device");
    }
    let beans = brews
        .add_beans(
            &BeansInput { roaster: "Bench".into(), name: "Blend".into(), ..BeansInput::default() }
                .check()
                .expect("beans"),
        )
        .await
        .expect("beans");

    let fill = Instant::now();
    let mut batch = Vec::new();
    for i in 0..shots {
        if i % 200 == 0 {
            // Scale 00's recipe names the beans (espresso) for one batch in ten.
            let recipe = Recipe { method: Some(Method::Espresso), beans_id: Some(beans.id), ..Recipe::default() };
            let on = if (i / 200) % 10 == 0 { recipe } else { Recipe::default() };
            brews.set_recipe(&ids(0).0, &on, "bench").await.expect("recipe");
        }
        batch.extend(shot_readings(i));
        if batch.len() >= 600 {
            store.insert(&batch).await.expect("insert");
            batch.clear();
        }
    }
    if !batch.is_empty() {
        store.insert(&batch).await.expect("insert");
    }
    let filled = fill.elapsed();
    for i in (0..shots).step_by(50) {
        let (client_id, session_id) = ids(i);
        let details = ShotDetails {
            rating: Some(i64::try_from(i % 101).expect("rating")),
            tags: vec!["sweet".into(), format!("batch {}", i / 1000)],
            notes: Some(format!("bench note {i}, blueberry")),
            starred: i % 100 == 0,
            ..ShotDetails::default()
        };
        brews.edit(&client_id, &session_id, &details, "bench").await.expect("edit");
    }
    println!(
        "{} with {shots} shots ({} readings) stored in {:.1} s; 2 % edited\n",
        if postgres { "PostgreSQL" } else { "SQLite" },
        shots * 3,
        filled.as_secs_f64()
    );

    let deep = {
        let mut cursor = None;
        for _ in 0..400 {
            let page = brews.search(&ShotFilter::default(), cursor.as_ref(), PAGE, 0).await.expect("page");
            cursor = page.next_cursor.map(|c| Cursor::parse(&c).expect("cursor"));
        }
        cursor.expect("10,000 shots deep")
    };
    let cases: Vec<(&str, ShotFilter, Option<Cursor>)> = vec![
        ("newest page, no filter (baseline)", ShotFilter::default(), None),
        ("page 400 (10,000 shots deep)", ShotFilter::default(), Some(deep)),
        ("one scale", ShotFilter { scale: Some("scale-07".into()), ..ShotFilter::default() }, None),
        ("tag \"sweet\" (2 % of shots)", ShotFilter { tag: Some("sweet".into()), ..ShotFilter::default() }, None),
        ("tag \"batch 7\" (20 shots)", ShotFilter { tag: Some("batch 7".into()), ..ShotFilter::default() }, None),
        ("text \"blueberry\"", ShotFilter { q: Some("blueberry".into()), ..ShotFilter::default() }, None),
        ("rated ≥ 90 and starred", ShotFilter { min_rating: Some(90), starred: true, ..ShotFilter::default() }, None),
        (
            "beans and method",
            ShotFilter { beans_id: Some(beans.id), method: Some(Method::Espresso), ..ShotFilter::default() },
            None,
        ),
        (
            "a day's shots",
            ShotFilter {
                from: Some(START + 50_000 * 60_000),
                to: Some(START + 50_000 * 60_000 + 86_400_000),
                ..ShotFilter::default()
            },
            None,
        ),
    ];
    println!("| query (page of {PAGE}) | shots found | p50 | p99 | max |");
    println!("|---|---:|---:|---:|---:|");
    for (name, filter, cursor) in cases {
        let mut times = Vec::new();
        let mut found = 0;
        // Unmeasured runs first, on every pooled connection: PostgreSQL plans a prepared
        // statement anew for its first executions on each connection, then settles.
        for _ in 0..40 {
            brews.search(&filter, cursor.as_ref(), PAGE, 0).await.expect("search");
        }
        for _ in 0..queries {
            let t = Instant::now();
            let page = brews.search(&filter, cursor.as_ref(), PAGE, 0).await.expect("search");
            times.push(t.elapsed());
            found = page.shots.len();
        }
        times.sort();
        let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
        println!(
            "| {name} | {found} | {} | {} | {} |",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            ms(*times.last().expect("timed"))
        );
    }
}
