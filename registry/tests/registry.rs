//! The registry on both backends, for real: SQLite in a temporary file and PostgreSQL
//! in a database of its own per test (the server comes from `WAGES_TEST_POSTGRES_URL`,
//! which scripts/test.sh sets after starting a private PostgreSQL).
//!
//! Run with `--features db`.
#![cfg(feature = "db")]

use wages_codec::ClientId;
use wages_registry::{Backend, DeviceName, NewDevice, Registry, RegistryError};

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
    let url = wages_registry::testing::postgres_database().await;
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
    unknown_devices_are_not_found,
    lists_and_searches,
    ten_thousand_lookups_make_one_query,
    changes_reach_the_next_lookup_at_once,
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
        |devices: Vec<wages_registry::Device>| devices.into_iter().map(|d| d.client_id.to_string()).collect::<Vec<_>>();
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
