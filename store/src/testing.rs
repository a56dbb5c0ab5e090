//! For tests of this crate and its users: a database of one's own on the test PostgreSQL.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

/// Creates a fresh database on the server at `WAGES_TEST_POSTGRES_URL` (scripts/test.sh
/// starts a private PostgreSQL and sets it) and returns its URL, so tests run in parallel.
///
/// # Panics
/// When the variable is not set or the server refuses: a test cannot go on without it.
pub async fn postgres_database() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let admin = std::env::var("WAGES_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "WAGES_TEST_POSTGRES_URL is not set: run scripts/test.sh, which starts a private PostgreSQL, \
             or point it at a server where databases may be created"
        )
    });
    let name = format!("wages_test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("cannot create database {name}: {e}"));
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base);
    format!("{base}/{name}")
}
