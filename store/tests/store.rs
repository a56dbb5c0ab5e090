//! The registry and the readings table on both backends, for real: SQLite in a temporary file and PostgreSQL
//! in a database of its own per test (the server comes from `WAGES_TEST_POSTGRES_URL`,
//! which scripts/test.sh sets after starting a private PostgreSQL).
//!
//! Run with `--features testing`.
#![cfg(feature = "testing")]

use wages_codec::ClientId;
use wages_codec::{Grams, Reading, SessionId, Timestamp};
use wages_sessions::Summary;
use wages_store::{
    Backend, BeansInput, CompactionReport, Cursor, DeviceName, Method, NewDevice, ReadingsStore, Recipe, Registry,
    RegistryError, Retention, Scope, ShotDetails, ShotFilter,
};

/// A registry and whatever must live as long as it (the SQLite file's folder).
struct Fixture {
    registry: Registry,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/nested/wages.db", dir.path().display());
    Fixture { registry: Registry::connect(&url).await.expect("sqlite registry"), _dir: Some(dir) }
}

async fn postgres() -> Fixture {
    let url = wages_store::testing::postgres_database().await;
    Fixture { registry: Registry::connect(&url).await.expect("postgres registry"), _dir: None }
}

fn id(s: &str) -> ClientId {
    ClientId::parse(s).expect("valid id")
}

fn new(client_id: &str, name: &str) -> NewDevice {
    NewDevice::parse(client_id, name).expect("valid device")
}

/// Generates one test per backend from an async fn taking the registry.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let f = super::sqlite().await;
                assert_eq!(f.registry.backend(), super::Backend::Sqlite);
                super::$name(&f.registry).await;
            })*
        }
        mod postgres_backend {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let f = super::postgres().await;
                assert_eq!(f.registry.backend(), super::Backend::Postgres);
                super::$name(&f.registry).await;
            })*
        }
    };
}

on_both!(
    registers_and_reads_back,
    refuses_a_duplicate_client_id,
    renames_and_deletes,
    presence_is_kept,
    unknown_devices_are_not_found,
    lists_and_searches,
    ten_thousand_lookups_make_one_query,
    changes_reach_the_next_lookup_at_once,
    readings_are_stored_once_in_batches,
    sessions_are_listed_newest_first_with_summaries,
    readings_come_back_in_time_order,
    the_admin_logs_in_with_the_password_shown_once,
    tokens_work_until_revoked,
    device_passwords_rotate_and_go_with_their_device,
    old_sessions_are_compacted_and_keep_their_summaries,
    late_readings_are_folded_into_a_compacted_session,
    compacted_graphs_expire_and_summaries_stay,
    a_shots_series_stay_through_compaction_and_go_with_its_graph,
    compaction_beside_ingestion_loses_nothing,
    a_lease_is_held_by_one_node_at_a_time,
    shot_summaries_are_exact_however_readings_are_batched,
    beans_are_kept_checked_and_archived,
    a_new_shot_starts_with_its_scales_recipe,
    shots_are_edited_and_found,
    a_number_left_out_then_given_is_stored_on_every_connection,
);

async fn registers_and_reads_back(r: &Registry) {
    let created = r.create(&new("scale-01", "  Bar, left  ")).await.expect("created");
    assert_eq!(created.name, "Bar, left");
    assert_eq!(created.created_at, created.updated_at);
    assert!(!created.online);
    assert_eq!((created.last_seen_at, created.firmware_version.as_deref()), (None, None));
    let read = r.require(&id("scale-01")).await.expect("found");
    assert_eq!(read, created);
    r.ping().await.expect("database answers");
}

async fn refuses_a_duplicate_client_id(r: &Registry) {
    r.create(&new("scale-01", "First")).await.expect("created");
    let err = r.create(&new("scale-01", "Second")).await.expect_err("duplicate");
    assert_eq!(err, RegistryError::Duplicate("scale-01".into()));
    assert_eq!(r.require(&id("scale-01")).await.expect("found").name, "First", "the first one is kept");
}

async fn renames_and_deletes(r: &Registry) {
    let created = r.create(&new("scale-01", "Old")).await.expect("created");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let renamed = r.rename(&id("scale-01"), &DeviceName::parse("New").expect("valid")).await.expect("renamed");
    assert_eq!(renamed.name, "New");
    assert_eq!(renamed.created_at, created.created_at);
    assert!(renamed.updated_at > created.updated_at);
    r.delete(&id("scale-01")).await.expect("deleted");
    assert_eq!(r.get(&id("scale-01")).await.expect("lookup"), None);
}

async fn presence_is_kept(r: &Registry) {
    use wages_codec::decode_status;
    r.create(&new("scale-01", "Bar")).await.expect("created");
    let before = r.require(&id("scale-01")).await.expect("found");
    assert_eq!((before.online, before.last_seen_at, before.firmware_version), (false, None, None));
    let online = r.set_presence(&id("scale-01"), &decode_status(b"online;firmware=1.4.2").expect("status")).await;
    let online = online.expect("updated");
    assert_eq!((online.online, online.firmware_version.as_deref()), (true, Some("1.4.2")));
    assert!(online.last_seen_at.is_some());
    // The cache sees it at once; `offline` without a version keeps the one known.
    let offline = r.set_presence(&id("scale-01"), &decode_status(b"offline").expect("status")).await.expect("updated");
    assert_eq!((offline.online, offline.firmware_version.as_deref()), (false, Some("1.4.2")));
    assert_eq!(r.get(&id("scale-01")).await.expect("lookup"), Some(offline.clone()));
    // Readings move last_seen_at forward, never back.
    let seen = offline.last_seen_at.expect("seen");
    r.touch(&id("scale-01"), seen + 1000).await.expect("touched");
    r.touch(&id("scale-01"), seen - 1000).await.expect("touched");
    assert_eq!(r.require(&id("scale-01")).await.expect("found").last_seen_at, Some(seen + 1000));
    let ghost = r.set_presence(&id("ghost"), &decode_status(b"online").expect("status")).await;
    assert_eq!(ghost, Err(RegistryError::NotFound("ghost".into())));
}

async fn unknown_devices_are_not_found(r: &Registry) {
    let name = DeviceName::parse("X").expect("valid");
    assert_eq!(r.rename(&id("ghost"), &name).await, Err(RegistryError::NotFound("ghost".into())));
    assert_eq!(r.delete(&id("ghost")).await, Err(RegistryError::NotFound("ghost".into())));
    assert_eq!(r.require(&id("ghost")).await, Err(RegistryError::NotFound("ghost".into())));
}

async fn lists_and_searches(r: &Registry) {
    for (client_id, name) in [("scale-02", "Bar, right"), ("scale-01", "Bar, left"), ("home_1", "Kitchen 100%")] {
        r.create(&new(client_id, name)).await.expect("created");
    }
    let ids =
        |devices: Vec<wages_store::Device>| devices.into_iter().map(|d| d.client_id.to_string()).collect::<Vec<_>>();
    assert_eq!(ids(r.list(None, 100).await.expect("list")), ["home_1", "scale-01", "scale-02"]);
    assert_eq!(ids(r.list(Some("BAR"), 100).await.expect("search")), ["scale-01", "scale-02"], "names, any case");
    assert_eq!(ids(r.list(Some("scale-02"), 100).await.expect("search")), ["scale-02"], "ids");
    assert_eq!(ids(r.list(Some("100%"), 100).await.expect("search")), ["home_1"], "% is literal");
    assert_eq!(ids(r.list(Some("_"), 100).await.expect("search")), ["home_1"], "_ is literal");
    assert_eq!(ids(r.list(Some("  "), 100).await.expect("blank")).len(), 3, "a blank search lists all");
    assert_eq!(ids(r.list(None, 2).await.expect("limit")).len(), 2);
}

async fn ten_thousand_lookups_make_one_query(r: &Registry) {
    r.create(&new("scale-01", "Bar")).await.expect("created");
    let before = r.cache_stats();
    for _ in 0..10_000 {
        assert!(r.get(&id("scale-01")).await.expect("lookup").is_some());
    }
    let after = r.cache_stats();
    assert_eq!(after.queries - before.queries, 1, "one database query for 10,000 lookups");
    assert_eq!(after.misses - before.misses, 1);
    assert_eq!(after.hits - before.hits, 9_999);
    // Unknown devices are remembered as unknown too.
    for _ in 0..100 {
        assert!(r.get(&id("ghost")).await.expect("lookup").is_none());
    }
    assert_eq!(r.cache_stats().queries - after.queries, 1);
}

async fn changes_reach_the_next_lookup_at_once(r: &Registry) {
    assert!(r.get(&id("scale-01")).await.expect("lookup").is_none(), "cached as unknown");
    r.create(&new("scale-01", "Bar")).await.expect("created");
    assert_eq!(r.require(&id("scale-01")).await.expect("found").name, "Bar", "a registration is seen at once");
    r.rename(&id("scale-01"), &DeviceName::parse("Window").expect("valid")).await.expect("renamed");
    assert_eq!(r.require(&id("scale-01")).await.expect("found").name, "Window", "a rename is seen at once");
    r.delete(&id("scale-01")).await.expect("deleted");
    assert_eq!(r.get(&id("scale-01")).await.expect("lookup"), None, "a delete is seen at once");
}

#[tokio::test]
async fn data_outlives_the_process_and_migrations_run_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/wages.db", dir.path().display());
    let first = Registry::connect(&url).await.expect("first start");
    first.create(&new("scale-01", "Bar")).await.expect("created");
    first.close().await;
    let second = Registry::connect(&url).await.expect("second start");
    assert_eq!(second.require(&id("scale-01")).await.expect("kept").name, "Bar");
}

#[tokio::test]
async fn readings_of_an_older_sqlite_database_move_to_a_clustered_table_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/wages.db", dir.path().display());
    Registry::connect(&url).await.expect("first start").close().await;
    // The table as databases made before it was clustered on its key have it.
    let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.expect("SQLite");
    for step in [
        "DROP TABLE readings",
        "CREATE TABLE readings (client_id TEXT NOT NULL, session_id TEXT NOT NULL, tstamp BIGINT NOT NULL, \
           value DOUBLE PRECISION NOT NULL, PRIMARY KEY (client_id, session_id, tstamp))",
        "INSERT INTO readings VALUES ('scale-01', 'old', 1000, 1.5), ('scale-01', 'old', 1100, 2.5)",
    ] {
        sqlx::query(step).execute(&mut db).await.expect(step);
    }
    let schema = "SELECT sql FROM sqlite_master WHERE name = 'readings'";
    let before: String = sqlx::query_scalar(schema).fetch_one(&mut db).await.expect("schema");
    assert!(!before.contains("WITHOUT ROWID"), "{before}");
    drop(db);
    for _ in 0..2 {
        let r = Registry::connect(&url).await.expect("upgraded");
        let kept = r.readings().readings(&id("scale-01"), &SessionId::parse("old").expect("id")).await.expect("read");
        assert_eq!(kept.iter().map(|r| r.tstamp.millis()).collect::<Vec<_>>(), vec![1000, 1100]);
        r.close().await;
    }
    let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.expect("SQLite");
    let after: String = sqlx::query_scalar(schema).fetch_one(&mut db).await.expect("schema");
    assert!(after.contains("WITHOUT ROWID"), "{after}");
}

#[tokio::test]
async fn an_older_binary_refuses_a_database_a_newer_one_migrated() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/wages.db", dir.path().display());
    Registry::connect(&url).await.expect("first start").close().await;
    let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.expect("SQLite");
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) \
         VALUES (20991231000001, 'from the future', CURRENT_TIMESTAMP, 1, x'00', 0)",
    )
    .execute(&mut db)
    .await
    .expect("a newer migration");
    let refused = Registry::connect(&url).await.err().expect("refused").to_string();
    assert!(refused.contains("upgraded by a newer Wages (its migration 20991231000001 is unknown"), "{refused}");
}

fn reading(client_id: &str, session_id: &str, t: u64, grams: f64) -> Reading {
    Reading::new(
        id(client_id),
        SessionId::parse(session_id).expect("valid"),
        Grams::new(grams).expect("in range"),
        Timestamp::from_millis(t).expect("in range"),
    )
}

/// A 2 g/s pour at 10 Hz from `start` for `seconds`.
fn pour(client_id: &str, session_id: &str, start: u64, seconds: u64) -> Vec<Reading> {
    (0..=seconds * 10).map(|i| reading(client_id, session_id, start + i * 100, 0.2 * i as f64)).collect()
}

async fn readings_are_stored_once_in_batches(r: &Registry) {
    let store = r.readings();
    let batch = pour("scale-01", "brew-1", 1_000_000, 60); // 601 readings: three statements
    assert_eq!(store.insert(&batch).await.expect("stored"), 601);
    // Redelivered, in part or whole: nothing is stored twice.
    assert_eq!(store.insert(&batch[100..300]).await.expect("stored"), 0);
    let mut more = batch[590..].to_vec();
    more.push(reading("scale-01", "brew-1", 2_000_000, 120.5));
    assert_eq!(store.insert(&more).await.expect("stored"), 1);
    // The same reading twice in one batch is stored once.
    let twice = [reading("scale-01", "brew-1", 3_000_000, 1.0), reading("scale-01", "brew-1", 3_000_000, 1.0)];
    assert_eq!(store.insert(&twice).await.expect("stored"), 1);
    assert_eq!(
        store.readings(&id("scale-01"), &SessionId::parse("brew-1").expect("valid")).await.expect("read").len(),
        603
    );
    assert_eq!(store.insert(&[]).await.expect("nothing to store"), 0);
}

async fn sessions_are_listed_newest_first_with_summaries(r: &Registry) {
    let store = ReadingsStore::Sql(r.readings());
    store.insert(&pour("scale-01", "morning", 1_000_000, 30)).await.expect("stored");
    store.insert(&pour("scale-01", "noon", 5_000_000, 20)).await.expect("stored");
    store.insert(&pour("scale-01", "evening", 9_000_000, 10)).await.expect("stored");
    store.insert(&pour("scale-02", "other", 9_500_000, 10)).await.expect("stored");
    let now = 9_010_000;
    let sessions = store.sessions(&id("scale-01"), 10, None, now).await.expect("listed");
    let names: Vec<_> = sessions.iter().map(|s| s.session_id.to_string()).collect();
    assert_eq!(names, ["evening", "noon", "morning"]);
    let evening = &sessions[0];
    assert_eq!(
        (evening.started_at, evening.ended_at, evening.duration_ms, evening.count),
        (9_000_000, 9_010_000, 10_000, 101)
    );
    assert!((evening.final_weight - 20.0).abs() < 1e-9);
    assert!((evening.peak_flow - 2.0).abs() < 1e-9 && (evening.mean_flow - 2.0).abs() < 1e-9);
    assert!(evening.live && !sessions[1].live);
    // Paging back: sessions that started before a time, and a limit.
    let older = store.sessions(&id("scale-01"), 1, Some(9_000_000), now).await.expect("listed");
    assert_eq!(older.iter().map(|s| s.session_id.to_string()).collect::<Vec<_>>(), ["noon"]);
    assert!(store.sessions(&id("nobody"), 10, None, now).await.expect("listed").is_empty());
    let one = store.session(&id("scale-01"), &SessionId::parse("noon").expect("valid"), now).await.expect("read");
    assert_eq!(one.map(|s| s.count), Some(201));
    let none = store.session(&id("scale-01"), &SessionId::parse("nope").expect("valid"), now).await.expect("read");
    assert_eq!(none, None);
}

async fn readings_come_back_in_time_order(r: &Registry) {
    let store = r.readings();
    let mut shuffled = pour("scale-01", "b", 0, 2);
    shuffled.reverse();
    store.insert(&shuffled).await.expect("stored");
    let back = store.readings(&id("scale-01"), &SessionId::parse("b").expect("valid")).await.expect("read");
    let times: Vec<u64> = back.iter().map(|r| r.tstamp.millis()).collect();
    assert_eq!(times, (0..=20).map(|i| i * 100).collect::<Vec<_>>());
    assert_eq!(back[20].value.get(), 4.0, "values survive exactly");
}

async fn the_admin_logs_in_with_the_password_shown_once(r: &Registry) {
    let accounts = r.accounts();
    let shown = accounts.ensure_admin(None).await.expect("first start").expect("a generated password");
    assert_eq!(accounts.ensure_admin(None).await.expect("second start"), None, "shown only once");
    assert!(accounts.verify_password("admin", &shown).await.expect("verify"));
    assert!(!accounts.verify_password("admin", "wrong password").await.expect("verify"));
    assert!(!accounts.verify_password("nobody", &shown).await.expect("verify"));
    // The configured password replaces it.
    accounts.ensure_admin(Some("correct horse")).await.expect("configured");
    assert!(accounts.verify_password("admin", "correct horse").await.expect("verify"));
    assert!(!accounts.verify_password("admin", &shown).await.expect("verify"));
    assert!(accounts.ensure_admin(Some("short")).await.is_err(), "8 characters at least");

    let cookie = accounts.start_session("admin", "test").await.expect("login");
    let owner = accounts.session_user(&cookie).await.expect("lookup").expect("a session");
    assert_eq!((owner.username.as_str(), owner.role), ("admin", wages_store::Role::Admin));
    assert_eq!(accounts.session_user(&"0".repeat(64)).await.expect("lookup"), None);
    accounts.end_session(&cookie).await.expect("logout");
    assert_eq!(accounts.session_user(&cookie).await.expect("lookup"), None);
}

async fn device_passwords_rotate_and_go_with_their_device(r: &Registry) {
    let credentials = r.credentials();
    let scale = id("scale-01");
    assert!(matches!(credentials.issue(&scale).await, Err(RegistryError::NotFound(_))), "registered devices only");
    r.create(&new("scale-01", "Bar")).await.expect("created");
    assert!(!credentials.has_password(&scale).await.expect("lookup"));
    let first = credentials.issue(&scale).await.expect("issued");
    assert!(credentials.has_password(&scale).await.expect("lookup"));
    assert!(credentials.verify(&scale, &first).await.expect("verify"));
    assert!(!credentials.verify(&id("scale-02"), &first).await.expect("verify"), "one device's only");
    assert!(!credentials.verify(&scale, "").await.expect("verify"));
    let second = credentials.issue(&scale).await.expect("rotated");
    assert_ne!(first, second);
    assert!(!credentials.verify(&scale, &first).await.expect("verify"), "the old one stops at once");
    assert!(credentials.verify(&scale, &second).await.expect("verify"));
    // A deleted device's password does not come back with a new device of the same id.
    r.delete(&scale).await.expect("deleted");
    r.create(&new("scale-01", "Bar again")).await.expect("created");
    assert!(!credentials.verify(&scale, &second).await.expect("verify"));
    assert!(!credentials.has_password(&scale).await.expect("lookup"));
}

async fn tokens_work_until_revoked(r: &Registry) {
    let accounts = r.accounts();
    accounts.ensure_admin(Some("the admin's password")).await.expect("admin");
    let (info, secret) = accounts.create_token("Grafana", Scope::Read, "admin").await.expect("create");
    assert!(secret.starts_with(&format!("wages_{}_", info.id)));
    assert_eq!(
        accounts.token(&secret).await.expect("lookup"),
        Some((info.clone(), wages_store::Role::Viewer, wages_store::Sites::all()))
    );
    assert_eq!(accounts.tokens().await.expect("list"), vec![info.clone()]);
    // The same secret with its last digit changed (to another digit, always).
    let last = if secret.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &secret[..secret.len() - 1]);
    assert_ne!(forged, secret);
    assert_eq!(accounts.token(&forged).await.expect("lookup"), None);
    assert_eq!(accounts.token("wages_x_y").await.expect("lookup"), None);
    assert!(accounts.create_token(" ", Scope::Write, "admin").await.is_err());
    assert!(accounts.revoke_token(&info.id).await.expect("revoke"));
    assert!(!accounts.revoke_token(&info.id).await.expect("revoke again"));
    assert_eq!(accounts.token(&secret).await.expect("lookup"), None);
}

const DAY_MS: u64 = 86_400_000;
/// "Now" for compaction tests: a fixed time, so ages are exact.
const NOW: u64 = 1_800_000_000_000;

fn retention(graph_after_days: Option<u64>) -> Retention {
    Retention { raw_after_ms: 90 * DAY_MS, bucket_ms: 1000, graph_after_ms: graph_after_days.map(|d| d * DAY_MS) }
}

fn sid(s: &str) -> SessionId {
    SessionId::parse(s).expect("valid")
}

async fn old_sessions_are_compacted_and_keep_their_summaries(r: &Registry) {
    let sql = r.readings();
    let store = ReadingsStore::Sql(sql.clone());
    let old = NOW - 100 * DAY_MS;
    store.insert(&pour("scale-01", "old-a", old, 30)).await.expect("stored"); // 301 readings
    store.insert(&pour("scale-01", "old-b", old + 3_600_000, 20)).await.expect("stored"); // 201
    store.insert(&pour("scale-01", "recent", NOW - DAY_MS, 10)).await.expect("stored"); // 101
    store.insert(&pour("scale-02", "old-c", old, 5)).await.expect("stored"); // 51
    let before = store.session(&id("scale-01"), &sid("old-a"), NOW).await.expect("read").expect("there");

    let report = sql.compact(&retention(None), NOW).await.expect("compacted");
    assert_eq!((report.sessions, report.readings, report.graphs_removed), (3, 301 + 201 + 51, 0));
    assert_eq!(report.buckets, 31 + 21 + 6, "one bucket a second, the last second's sample alone");

    // The summary is the one computed from every reading, and says it is compacted.
    let after = store.session(&id("scale-01"), &sid("old-a"), NOW).await.expect("read").expect("kept");
    let compaction = after.compacted.expect("marked compacted");
    assert_eq!((compaction.bucket_ms, compaction.at, compaction.graph_kept), (1000, NOW, true));
    assert_eq!(Summary { compacted: None, ..after.clone() }, before);
    // The readings are its buckets' means now; the raw ones are gone.
    let points = store.readings(&id("scale-01"), &sid("old-a")).await.expect("read");
    assert_eq!(points.len(), 31);
    assert!((points[0].value.get() - 0.9).abs() < 1e-9, "mean of 0.0 … 1.8 g: {}", points[0].value);
    let buckets = store.buckets(&id("scale-01"), &sid("old-a")).await.expect("read");
    assert_eq!(buckets.iter().map(|b| b.count).sum::<u64>(), 301);
    assert_eq!((buckets[29].min, buckets[29].max), (0.2 * 290.0, 0.2 * 299.0));
    // The recent session is as it was; listings and paging see compacted ones alike.
    assert_eq!(store.readings(&id("scale-01"), &sid("recent")).await.expect("read").len(), 101);
    let listed = store.sessions(&id("scale-01"), 10, None, NOW).await.expect("listed");
    let names: Vec<_> = listed.iter().map(|s| s.session_id.to_string()).collect();
    assert_eq!(names, ["recent", "old-b", "old-a"]);
    let paged = store.sessions(&id("scale-01"), 1, Some(old + 3_600_000), NOW).await.expect("listed");
    assert_eq!(paged.iter().map(|s| s.session_id.to_string()).collect::<Vec<_>>(), ["old-a"]);
    let (summary, points) =
        store.session_with_readings(&id("scale-02"), &sid("old-c"), NOW).await.expect("read").expect("there");
    assert_eq!((summary.count, points.len()), (51, 6));
    // A second pass finds nothing more to do.
    assert_eq!(sql.compact(&retention(None), NOW).await.expect("compacted"), CompactionReport::default());
}

async fn late_readings_are_folded_into_a_compacted_session(r: &Registry) {
    let sql = r.readings();
    let store = ReadingsStore::Sql(sql.clone());
    let old = NOW - 100 * DAY_MS;
    store.insert(&pour("scale-01", "brew", old, 10)).await.expect("stored"); // 101, 0 … 20 g
    sql.compact(&retention(None), NOW).await.expect("compacted");
    // Redelivered long after: one reading inside an existing bucket, one past the end.
    let late = [reading("scale-01", "brew", old + 550, 1.0), reading("scale-01", "brew", old + 12_000, 25.0)];
    assert_eq!(store.insert(&late).await.expect("stored"), 2);
    let report = sql.compact(&retention(None), NOW).await.expect("compacted");
    assert_eq!((report.sessions, report.readings), (1, 2));
    let summary = store.session(&id("scale-01"), &sid("brew"), NOW).await.expect("read").expect("kept");
    assert_eq!((summary.count, summary.ended_at, summary.final_weight), (103, old + 12_000, 25.0));
    let buckets = store.buckets(&id("scale-01"), &sid("brew")).await.expect("read");
    assert_eq!(buckets.iter().map(|b| b.count).sum::<u64>(), 103);
    // 0.0 … 1.8 g, and 1.0 g folded in: eleven readings, mean (9.0 + 1.0) / 11.
    assert_eq!(buckets[0].count, 11);
    assert!((buckets[0].mean - 10.0 / 11.0).abs() < 1e-9, "{}", buckets[0].mean);
    assert_eq!(buckets.last().map(|b| (b.start, b.count)), Some((old + 12_000, 1)));
}

/// Pressure and the other series of an imported shot are kept as they came when its
/// readings are compacted into buckets, and go when its graph does.
async fn a_shots_series_stay_through_compaction_and_go_with_its_graph(r: &Registry) {
    use wages_store::ShotImport;
    use wages_store::series::{Series, SeriesKind};
    let sql = r.readings();
    let store = ReadingsStore::Sql(sql.clone());
    let details = ShotDetails::default();
    for (name, start) in [("old", NOW - 100 * DAY_MS), ("ancient", NOW - 400 * DAY_MS)] {
        let readings = pour("scale-01", name, start, 10);
        let pressure =
            Series::from_points(SeriesKind::Pressure, (0..=100u64).map(|i| (start + i * 100, 9.0))).expect("a series");
        let shot =
            ShotImport { readings: &readings, series: std::slice::from_ref(&pressure), span: None, details: &details };
        sql.import_shot(&id("scale-01"), &sid(name), shot, "tests").await.expect("imported");
    }
    let report = sql.compact(&retention(Some(365)), NOW).await.expect("compacted");
    assert_eq!((report.sessions, report.graphs_removed), (2, 1));
    let kept = store.series(&id("scale-01"), &sid("old")).await.expect("read");
    assert_eq!(kept.len(), 1);
    assert_eq!((kept[0].kind, kept[0].points.len()), (SeriesKind::Pressure, 101), "every point, not buckets");
    assert!(store.series(&id("scale-01"), &sid("ancient")).await.expect("read").is_empty(), "gone with the graph");
}

async fn compacted_graphs_expire_and_summaries_stay(r: &Registry) {
    let sql = r.readings();
    let store = ReadingsStore::Sql(sql.clone());
    store.insert(&pour("scale-01", "ancient", NOW - 400 * DAY_MS, 10)).await.expect("stored");
    store.insert(&pour("scale-01", "old", NOW - 100 * DAY_MS, 10)).await.expect("stored");
    let report = sql.compact(&retention(Some(365)), NOW).await.expect("compacted");
    assert_eq!((report.sessions, report.graphs_removed), (2, 1));
    let (summary, points) =
        store.session_with_readings(&id("scale-01"), &sid("ancient"), NOW).await.expect("read").expect("kept");
    assert_eq!(summary.count, 101);
    assert!(!summary.compacted.expect("compacted").graph_kept);
    assert!(points.is_empty(), "only the summary is left");
    let kept = store.session(&id("scale-01"), &sid("old"), NOW).await.expect("read").expect("kept");
    assert!(kept.compacted.expect("compacted").graph_kept);
    assert_eq!(store.readings(&id("scale-01"), &sid("old")).await.expect("read").len(), 11);
    let listed = store.sessions(&id("scale-01"), 10, None, NOW).await.expect("listed");
    assert_eq!(listed.len(), 2);
}

async fn compaction_beside_ingestion_loses_nothing(r: &Registry) {
    let sql = r.readings();
    let store = ReadingsStore::Sql(sql.clone());
    let old = NOW - 100 * DAY_MS;
    for s in 0..40 {
        store.insert(&pour("scale-01", &format!("s{s:02}"), old + s * 60_000, 10)).await.expect("stored");
    }
    // While compaction runs, late readings keep arriving for the same sessions.
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut stored = 0;
            for round in 0..20u64 {
                let batch: Vec<Reading> = (0..40u64)
                    .map(|s| reading("scale-01", &format!("s{s:02}"), old + s * 60_000 + 20_000 + round, 50.0))
                    .collect();
                stored += store.insert(&batch).await.expect("stored while compacting");
            }
            stored
        })
    };
    let first = sql.compact(&retention(None), NOW).await.expect("compacted");
    let late = writer.await.expect("writer");
    assert_eq!(late, 800);
    let second = sql.compact(&retention(None), NOW).await.expect("compacted");
    assert_eq!(first.readings + second.readings, 40 * 101 + 800, "{first:?} then {second:?}");
    let mut total = 0;
    for s in 0..40 {
        let summary =
            store.session(&id("scale-01"), &sid(&format!("s{s:02}")), NOW).await.expect("read").expect("kept");
        let buckets = store.buckets(&id("scale-01"), &sid(&format!("s{s:02}"))).await.expect("read");
        assert_eq!(summary.count, buckets.iter().map(|b| b.count).sum::<u64>());
        total += summary.count;
    }
    assert_eq!(total, 40 * 101 + 800);
}

async fn a_lease_is_held_by_one_node_at_a_time(r: &Registry) {
    let first = r.claim_lease("embedded-broker", "http://node-a:3000/").await.expect("query").expect("claimed");
    let refused = r.claim_lease("embedded-broker", "http://node-b:3000/").await.expect("query");
    let held = refused.err().expect("held by the first");
    assert_eq!(held.address, "http://node-a:3000/");
    assert!(held.expires_in <= wages_store::LEASE_TTL && held.expires_in.as_secs() >= 10, "{held:?}");
    // Another role is another matter.
    let other = r.claim_lease("something-else", "http://node-b:3000/").await.expect("query").expect("claimed");
    assert!(first.renew().await.expect("renewed"));
    first.release().await.expect("released");
    let second = r.claim_lease("embedded-broker", "http://node-b:3000/").await.expect("query").expect("free again");
    assert!(second.renew().await.expect("renewed"));
    other.release().await.expect("released");
}

/// A pour whose flow changes: slow, fast, then dripping, with noise.
fn uneven_pour(client_id: &str, session_id: &str, start: u64) -> Vec<Reading> {
    let mut grams: f64 = 0.0;
    (0..400u64)
        .map(|i| {
            grams += match i {
                0..=49 => 0.05,
                50..=199 => 0.25 + (i % 7) as f64 * 0.02,
                _ => 0.08,
            };
            reading(client_id, session_id, start + i * 100 + (i % 3) * 7, grams)
        })
        .collect()
}

async fn shot_summaries_are_exact_however_readings_are_batched(r: &Registry) {
    r.create(&new("scale-01", "Bar")).await.expect("created");
    let store = r.readings();
    let pour = uneven_pour("scale-01", "brew-1", 5_000_000);
    let whole = wages_sessions::summarize(&pour, 0).expect("summary");
    // One reading at a time for a while, then batches of odd sizes, some redelivered.
    for one in &pour[..37] {
        store.insert(std::slice::from_ref(one)).await.expect("stored");
    }
    let mut at = 37;
    for size in [3, 50, 1, 120, 9].into_iter().cycle() {
        if at >= pour.len() {
            break;
        }
        let end = (at + size).min(pour.len());
        store.insert(&pour[at.saturating_sub(2)..end]).await.expect("stored");
        at = end;
    }
    let shot = r.brews().shot(&id("scale-01"), &SessionId::parse("brew-1").expect("id"), 0).await.expect("read");
    let got = shot.expect("a shot row").summary;
    assert_eq!((got.count, got.started_at, got.ended_at), (whole.count, whole.started_at, whole.ended_at));
    assert!((got.final_weight - whole.final_weight).abs() < 1e-9, "{got:?} {whole:?}");
    assert!((got.max_weight - whole.max_weight).abs() < 1e-9);
    assert!((got.peak_flow - whole.peak_flow).abs() < 1e-9, "peak {} vs {}", got.peak_flow, whole.peak_flow);
    assert!((got.mean_flow - whole.mean_flow).abs() < 1e-9);
    // The listing reads the same row.
    let listed = ReadingsStore::Sql(store).sessions(&id("scale-01"), 10, None, 0).await.expect("listed");
    assert_eq!(listed, vec![got]);
}

/// Two nodes storing readings of the same session by turns, each keeping its own tails in
/// memory: each notices what the other stored, and the summary stays exact.
async fn shot_summaries_stay_exact_with_two_writers(url: &str) {
    let (a, b) = (Registry::connect(url).await.expect("node a"), Registry::connect(url).await.expect("node b"));
    a.create(&new("scale-01", "Bar")).await.expect("created");
    let pour = uneven_pour("scale-01", "brew-1", 5_000_000);
    let whole = wages_sessions::summarize(&pour, 0).expect("summary");
    for (turn, chunk) in pour.chunks(7).enumerate() {
        let node = if turn % 3 == 0 { &b } else { &a };
        node.readings().insert(chunk).await.expect("stored");
    }
    let shot = b.brews().shot(&id("scale-01"), &SessionId::parse("brew-1").expect("id"), 0).await.expect("read");
    let got = shot.expect("a shot row").summary;
    assert_eq!(got.count, whole.count);
    assert!((got.peak_flow - whole.peak_flow).abs() < 1e-9, "peak {} vs {}", got.peak_flow, whole.peak_flow);
    assert!((got.final_weight - whole.final_weight).abs() < 1e-9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shot_summaries_stay_exact_with_two_writers_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    shot_summaries_stay_exact_with_two_writers(&format!("sqlite://{}/wages.db", dir.path().display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shot_summaries_stay_exact_with_two_writers_on_postgres() {
    shot_summaries_stay_exact_with_two_writers(&wages_store::testing::postgres_database().await).await;
}

fn beans(roaster: &str, name: &str) -> BeansInput {
    BeansInput { roaster: roaster.into(), name: name.into(), ..BeansInput::default() }
}

async fn beans_are_kept_checked_and_archived(r: &Registry) {
    let brews = r.brews();
    let mut input = beans("Square Mile", "Red Brick");
    input.roast_date = Some("2026-11-20".into());
    input.origin = Some("Blend".into());
    let red = brews.add_beans(&input.check().expect("valid")).await.expect("added");
    let other = brews.add_beans(&beans("April", "Kenya").check().expect("valid")).await.expect("added");
    assert_ne!(red.id, other.id);
    assert_eq!(
        (red.roast_date.as_deref(), red.origin.as_deref(), red.archived),
        (Some("2026-11-20"), Some("Blend"), false)
    );
    assert_eq!(
        brews.beans(false).await.expect("listed").iter().map(|b| b.name.as_str()).collect::<Vec<_>>(),
        ["Kenya", "Red Brick"]
    );
    let mut archived = input.clone();
    archived.archived = true;
    let updated = brews.update_beans(red.id, &archived.check().expect("valid")).await.expect("updated");
    assert!(updated.archived && updated.updated_at >= red.updated_at);
    assert_eq!(brews.beans(false).await.expect("listed").len(), 1);
    assert_eq!(brews.beans(true).await.expect("listed").len(), 2);
    assert!(matches!(brews.bean(9999).await, Err(RegistryError::Unknown(_))));
    assert!(matches!(brews.update_beans(9999, &input).await, Err(RegistryError::Unknown(_))));
    // Beans on a recipe stay; unused ones may go.
    r.create(&new("scale-01", "Bar")).await.expect("created");
    let recipe = Recipe { beans_id: Some(other.id), ..Recipe::default() };
    brews.set_recipe(&id("scale-01"), &recipe, "ana").await.expect("set");
    assert!(matches!(brews.delete_beans(other.id).await, Err(RegistryError::Conflict(_))));
    brews.delete_beans(red.id).await.expect("deleted");
    assert!(matches!(brews.bean(red.id).await, Err(RegistryError::Unknown(_))));
}

async fn a_new_shot_starts_with_its_scales_recipe(r: &Registry) {
    let brews = r.brews();
    r.create(&new("scale-01", "Bar")).await.expect("created");
    let kenya = brews.add_beans(&beans("April", "Kenya").check().expect("valid")).await.expect("added");
    let recipe = Recipe {
        method: Some(Method::Espresso),
        beans_id: Some(kenya.id),
        grinder: Some("Niche".into()),
        grind_setting: Some("12".into()),
        dose: Some(18.0),
        target_yield: Some(36.0),
    };
    let bad = Recipe { beans_id: Some(kenya.id + 100), ..recipe.clone() };
    assert!(
        matches!(brews.set_recipe(&id("scale-01"), &bad, "ana").await, Err(RegistryError::Unknown(why)) if why.contains("no beans"))
    );
    assert_eq!(brews.recipe(&id("scale-01")).await.expect("read"), Recipe::default());
    assert_eq!(brews.set_recipe(&id("scale-01"), &recipe, "ana").await.expect("set"), recipe);
    r.readings().insert(&pour("scale-01", "brew-1", 1_000_000, 3)).await.expect("stored");
    // Changing the recipe later does not change a shot already started.
    brews.set_recipe(&id("scale-01"), &Recipe { dose: Some(20.0), ..recipe.clone() }, "ben").await.expect("set");
    r.readings().insert(&pour("scale-01", "brew-1", 1_004_000, 1)).await.expect("stored");
    let shot =
        brews.shot(&id("scale-01"), &SessionId::parse("brew-1").expect("id"), 0).await.expect("read").expect("shot");
    let d = &shot.details;
    assert_eq!(
        (d.method, d.beans_id, d.dose, d.target_yield),
        (Some(Method::Espresso), Some(kenya.id), Some(18.0), Some(36.0))
    );
    assert_eq!(
        (d.grinder.as_deref(), d.grind_setting.as_deref(), d.brewed_by.as_deref()),
        (Some("Niche"), Some("12"), Some("ana"))
    );
    assert_eq!(shot.beans.map(|b| b.name), Some("Kenya".to_owned()));
    assert_eq!(shot.ratio, Some(shot.summary.final_weight / 18.0));
    // The next shot takes the new recipe.
    r.readings().insert(&pour("scale-01", "brew-2", 2_000_000, 1)).await.expect("stored");
    let next =
        brews.shot(&id("scale-01"), &SessionId::parse("brew-2").expect("id"), 0).await.expect("read").expect("shot");
    assert_eq!((next.details.dose, next.details.brewed_by.as_deref()), (Some(20.0), Some("ben")));
}

/// A shot's water temperature (and a recipe's dose) left out, then given: every pooled
/// connection sees both, which PostgreSQL refused when the statement was kept prepared.
async fn a_number_left_out_then_given_is_stored_on_every_connection(r: &Registry) {
    let brews = r.brews();
    r.create(&new("scale-01", "Bar")).await.expect("created");
    r.readings().insert(&pour("scale-01", "b1", 10_000_000, 2)).await.expect("stored");
    let sid = SessionId::parse("b1").expect("id");
    for water_temp in [None; 10].into_iter().chain([Some(93.5); 10]) {
        let details = ShotDetails { water_temp, ..ShotDetails::default() };
        brews.edit(&id("scale-01"), &sid, &details, "ana").await.expect("edited");
        let shot = brews.shot(&id("scale-01"), &sid, 0).await.expect("read").expect("shot");
        assert_eq!(shot.details.water_temp, water_temp);
    }
    for dose in [None; 10].into_iter().chain([Some(18.0); 10]) {
        let recipe = Recipe { dose, ..Recipe::default() };
        assert_eq!(brews.set_recipe(&id("scale-01"), &recipe, "ana").await.expect("set").dose, dose);
    }
}

async fn shots_are_edited_and_found(r: &Registry) {
    let brews = r.brews();
    r.create(&new("scale-01", "Bar")).await.expect("created");
    r.create(&new("scale-02", "Window")).await.expect("created");
    let kenya = brews.add_beans(&beans("April", "Kenya").check().expect("valid")).await.expect("added");
    // 30 shots, a minute apart, alternating scales.
    for i in 0..30u64 {
        let scale = if i % 2 == 0 { "scale-01" } else { "scale-02" };
        r.readings().insert(&pour(scale, &format!("b{i:02}"), 10_000_000 + i * 60_000, 2)).await.expect("stored");
    }
    let sid = |s: &str| SessionId::parse(s).expect("id");
    let details = ShotDetails {
        beans_id: Some(kenya.id),
        method: Some(Method::PourOver),
        rating: Some(85),
        tags: vec!["Sweet".into(), "dialing in".into()],
        notes: Some("Juicy, a bit of 100% cocoa".into()),
        starred: true,
        tds: Some(1.4),
        dose: Some(15.0),
        yield_grams: Some(250.0),
        ..ShotDetails::default()
    }
    .check()
    .expect("valid");
    brews.edit(&id("scale-02"), &sid("b07"), &details, "ana").await.expect("edited");
    let edited = brews.shot(&id("scale-02"), &sid("b07"), 0).await.expect("read").expect("shot");
    assert_eq!(edited.details.tags, ["sweet", "dialing in"]);
    assert_eq!((edited.details.edited_by.as_deref(), edited.effective_yield), (Some("ana"), 250.0));
    // A shot brewed without a recipe was brewed by its first editor; a later editor
    // does not change that.
    assert_eq!(edited.details.brewed_by.as_deref(), Some("ana"));
    brews.edit(&id("scale-02"), &sid("b07"), &details, "ben").await.expect("edited");
    let again = brews.shot(&id("scale-02"), &sid("b07"), 0).await.expect("read").expect("shot");
    assert_eq!((again.details.brewed_by.as_deref(), again.details.edited_by.as_deref()), (Some("ana"), Some("ben")));
    assert!(edited.extraction_yield.is_some_and(|ey| (ey - 1.4 * 250.0 / 15.0).abs() < 1e-9));
    assert!(matches!(brews.edit(&id("scale-02"), &sid("nope"), &details, "ana").await, Err(RegistryError::Unknown(_))));

    let find = |filter: ShotFilter| async move {
        let page = r.brews().search(&filter, None, 100, 0).await.expect("searched");
        page.shots.iter().map(|s| s.summary.session_id.to_string()).collect::<Vec<_>>()
    };
    let all = find(ShotFilter::default()).await;
    assert_eq!(all.len(), 30);
    assert_eq!(all.first().map(String::as_str), Some("b29"));
    let one = vec!["b07".to_owned()];
    assert_eq!(find(ShotFilter { tag: Some("Sweet".into()), ..ShotFilter::default() }).await, one);
    assert_eq!(find(ShotFilter { tag: Some("swe".into()), ..ShotFilter::default() }).await, Vec::<String>::new());
    assert_eq!(find(ShotFilter { q: Some("100%".into()), ..ShotFilter::default() }).await, one);
    assert_eq!(find(ShotFilter { q: Some("kenya".into()), ..ShotFilter::default() }).await, one);
    assert_eq!(find(ShotFilter { q: Some("dialing".into()), ..ShotFilter::default() }).await, one);
    assert_eq!(find(ShotFilter { starred: true, ..ShotFilter::default() }).await, one);
    assert_eq!(find(ShotFilter { min_rating: Some(90), ..ShotFilter::default() }).await, Vec::<String>::new());
    assert_eq!(
        find(ShotFilter {
            min_rating: Some(85),
            method: Some(Method::PourOver),
            beans_id: Some(kenya.id),
            ..ShotFilter::default()
        })
        .await,
        one
    );
    assert_eq!(find(ShotFilter { scale: Some("scale-01".into()), ..ShotFilter::default() }).await.len(), 15);
    let window = ShotFilter {
        from: Some(10_000_000 + 10 * 60_000),
        to: Some(10_000_000 + 13 * 60_000),
        ..ShotFilter::default()
    };
    assert_eq!(find(window).await, ["b12", "b11", "b10"]);
    // Paging by cursor walks every shot once, newest first.
    let mut seen = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = brews.search(&ShotFilter::default(), cursor.as_ref(), 7, 0).await.expect("page");
        assert!(page.shots.len() <= 7);
        seen.extend(page.shots.iter().map(|s| s.summary.session_id.to_string()));
        match page.next_cursor {
            Some(next) => cursor = Some(Cursor::parse(&next).expect("cursor")),
            None => break,
        }
    }
    assert_eq!(seen, all);
}

/// Readings of `sessions` shots poured at once, one batch per tenth of a second: a
/// reading of each shot in every batch, as a fleet of scales sends them.
fn fleet_batches(sessions: usize, start: u64) -> Vec<Vec<Reading>> {
    let pours: Vec<Vec<Reading>> =
        (0..sessions).map(|s| uneven_pour(&format!("scale-{s:02}"), "brew-1", start + s as u64)).collect();
    (0..pours[0].len()).map(|i| pours.iter().map(|p| p[i]).collect()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleets_thin_batches_are_journaled_then_folded_into_exact_shots() {
    let f = sqlite().await;
    let store = f.registry.readings();
    let batches = fleet_batches(40, 5_000_000);
    let first = (id("scale-07"), SessionId::parse("brew-1").expect("id"));
    for (i, batch) in batches.iter().enumerate() {
        assert_eq!(store.insert(batch).await.expect("stored"), 40);
        if i == 0 {
            assert_eq!(store.journaled(), 40, "a thin batch goes to the journal");
        }
        if i % 97 == 0 {
            // Stored means readable at once, folded or not.
            let read = store.readings(&first.0, &first.1).await.expect("read");
            assert_eq!(read.len(), i + 1, "after batch {i}");
            assert_eq!(read.last(), Some(&batch[7]));
        }
        if i % 50 == 10 {
            // A redelivered batch is journaled again and stored once.
            store.insert(&batches[i - 3]).await.expect("stored");
        }
    }
    store.fold_journal().await.expect("folded");
    assert_eq!(store.journaled(), 0);
    for s in [0, 7, 39] {
        let client_id = id(&format!("scale-{s:02}"));
        let pour: Vec<Reading> = batches.iter().map(|b| b[s]).collect();
        let whole = wages_sessions::summarize(&pour, 0).expect("summary");
        let shot = f.registry.brews().shot(&client_id, &first.1, 0).await.expect("read").expect("a shot row");
        let got = shot.summary;
        assert_eq!((got.count, got.started_at, got.ended_at), (whole.count, whole.started_at, whole.ended_at));
        assert!((got.final_weight - whole.final_weight).abs() < 1e-9);
        assert!((got.peak_flow - whole.peak_flow).abs() < 1e-9, "peak {} vs {}", got.peak_flow, whole.peak_flow);
        assert_eq!(store.readings(&client_id, &first.1).await.expect("read"), pour);
        assert_eq!(store.count(&client_id).await.expect("counted"), 400);
    }
}

/// Folding the journal (compaction's first step, and closing) folds what is there when it
/// starts: with a fleet still sending it returns, and what came meanwhile waits for the
/// next fold (the journal is never empty while a fleet sends).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folding_the_journal_ends_while_a_fleet_keeps_sending() {
    let f = sqlite().await;
    let store = f.registry.readings();
    let batches = fleet_batches(40, 5_000_000);
    for batch in &batches[..50] {
        store.insert(batch).await.expect("stored");
    }
    let sending = {
        let store = store.clone();
        let rest = batches[50..].to_vec();
        tokio::spawn(async move {
            // Sends the rest of the pours, then again (stored once) until told to stop.
            let (tx, mut stop) = tokio::sync::oneshot::channel::<()>();
            let task = tokio::spawn(async move {
                for (i, batch) in rest.iter().cycle().enumerate() {
                    if i >= rest.len() && stop.try_recv().is_ok() {
                        break;
                    }
                    store.insert(batch).await.expect("stored");
                }
            });
            (tx, task)
        })
        .await
        .expect("started")
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), store.fold_journal())
        .await
        .expect("the fold ends while the fleet sends")
        .expect("folded");
    let (stop, task) = sending;
    let _ = stop.send(());
    task.await.expect("sent");
    store.fold_journal().await.expect("folded");
    assert_eq!(store.journaled(), 0);
    let pour: Vec<Reading> = batches.iter().map(|b| b[5]).collect();
    let sid = SessionId::parse("brew-1").expect("id");
    assert_eq!(store.readings(&id("scale-05"), &sid).await.expect("read"), pour);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_few_shots_waits_behind_the_journal_and_shots_stay_exact() {
    let f = sqlite().await;
    let store = f.registry.readings();
    let batches = fleet_batches(20, 5_000_000);
    for batch in &batches[..100] {
        store.insert(batch).await.expect("stored");
    }
    // One scale's next readings come as a thick batch while the journal holds rows.
    let sid = SessionId::parse("brew-1").expect("id");
    let rest: Vec<Reading> = batches[100..].iter().map(|b| b[3]).collect();
    store.insert(&rest).await.expect("stored");
    store.fold_journal().await.expect("folded");
    let pour: Vec<Reading> = batches.iter().map(|b| b[3]).collect();
    let whole = wages_sessions::summarize(&pour, 0).expect("summary");
    let got = f.registry.brews().shot(&id("scale-03"), &sid, 0).await.expect("read").expect("row").summary;
    assert_eq!(got.count, whole.count);
    assert!((got.peak_flow - whole.peak_flow).abs() < 1e-9, "peak {} vs {}", got.peak_flow, whole.peak_flow);
    assert!((got.final_weight - whole.final_weight).abs() < 1e-9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_left_by_a_crash_is_folded_at_the_next_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/wages.db", dir.path().display());
    let batches = fleet_batches(30, 5_000_000);
    {
        // A runtime of its own, dropped with its folding task before a fold: a crash.
        let url = url.clone();
        let batches = batches[..50].to_vec();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async {
                let crashed = Registry::connect(&url).await.expect("first start");
                for batch in &batches {
                    crashed.readings().insert(batch).await.expect("stored");
                }
                assert_eq!(crashed.readings().journaled(), 50 * 30);
            });
        })
        .join()
        .expect("first run");
    }
    let next = Registry::connect(&url).await.expect("second start");
    assert_eq!(next.readings().journaled(), 0, "folded at start");
    let sid = SessionId::parse("brew-1").expect("id");
    let got = next.brews().shot(&id("scale-29"), &sid, 0).await.expect("read").expect("row").summary;
    assert_eq!(got.count, 50);
    assert_eq!(got.final_weight, batches[49][29].value.get());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_folds_by_itself_within_seconds() {
    let f = sqlite().await;
    let store = f.registry.readings();
    let batches = fleet_batches(25, 5_000_000);
    for batch in &batches[..120] {
        store.insert(batch).await.expect("stored");
    }
    assert!(store.journaled() > 0);
    let deadline = std::time::Instant::now() + wages_store::FOLD_EVERY * 4;
    while store.journaled() > 0 {
        assert!(std::time::Instant::now() < deadline, "{} readings still journaled", store.journaled());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let sid = SessionId::parse("brew-1").expect("id");
    let pour: Vec<Reading> = batches[..120].iter().map(|b| b[11]).collect();
    let whole = wages_sessions::summarize(&pour, 0).expect("summary");
    let got = f.registry.brews().shot(&id("scale-11"), &sid, 0).await.expect("read").expect("row").summary;
    assert_eq!((got.count, got.ended_at), (whole.count, whole.ended_at));
    assert!((got.peak_flow - whole.peak_flow).abs() < 1e-9, "peak {} vs {}", got.peak_flow, whole.peak_flow);
    // Journaled rows count too: the folded ones are gone from the journal.
    assert_eq!(store.count(&id("scale-11")).await.expect("counted"), 120);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_appending_to_one_journal_each_fold_their_own_and_lose_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/wages.db", dir.path().display());
    let (a, b) = (Registry::connect(&url).await.expect("a"), Registry::connect(&url).await.expect("b"));
    // Scales 0-19 through one, 20-39 through the other, their appends interleaved.
    let batches = fleet_batches(40, 5_000_000);
    for batch in &batches[..60] {
        a.readings().insert(&batch[..20]).await.expect("stored by a");
        b.readings().insert(&batch[20..]).await.expect("stored by b");
    }
    a.readings().fold_journal().await.expect("a folds");
    let sid = SessionId::parse("brew-1").expect("id");
    // b's rows are still there, readable, and folded by b.
    assert_eq!(a.readings().readings(&id("scale-33"), &sid).await.expect("read").len(), 60);
    assert_eq!(b.readings().journaled(), 60 * 20);
    b.readings().fold_journal().await.expect("b folds");
    for s in [3, 33] {
        let pour: Vec<Reading> = batches[..60].iter().map(|batch| batch[s]).collect();
        let client_id = id(&format!("scale-{s:02}"));
        assert_eq!(a.readings().readings(&client_id, &sid).await.expect("read"), pour);
        let got = a.brews().shot(&client_id, &sid, 0).await.expect("read").expect("row").summary;
        assert_eq!(got.count, 60, "scale {s}");
    }
    a.close().await;
    b.close().await;
}
