//! The thread SQLite's readings are written from.
//!
//! Every statement sqlx runs on SQLite is a round trip to the connection's own thread,
//! and its answer wakes the task that waits for it. On the server's runtime that task
//! waits behind a fleet's thousands of connection tasks: with 5,000 scales on two cores
//! a single statement's round trip took 10-20 ms there, and a batch or a fold slice is
//! several. Appends and folds run here instead, on a runtime of one thread that does
//! nothing else, so each of their statements comes back as soon as SQLite is done; the
//! caller waits for the whole write once.

use std::future::Future;
use std::sync::OnceLock;

use crate::error::RegistryError;

/// The writing runtime, started on first use and kept for the life of the process.
fn handle() -> Result<&'static tokio::runtime::Handle, RegistryError> {
    static HANDLE: OnceLock<Result<tokio::runtime::Handle, String>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            let handle = runtime.handle().clone();
            std::thread::Builder::new()
                .name("wages-sqlite-writes".into())
                .spawn(move || runtime.block_on(std::future::pending::<()>()))
                .map_err(|e| e.to_string())?;
            Ok(handle)
        })
        .as_ref()
        .map_err(|e| RegistryError::Database(format!("cannot start the writing thread: {e}")))
}

/// Runs `write` on the writing thread and waits for it. A caller that stops waiting
/// leaves the write to finish there: it is stored or not as a whole either way.
pub(crate) async fn run<T: Send + 'static>(
    write: impl Future<Output = Result<T, RegistryError>> + Send + 'static,
) -> Result<T, RegistryError> {
    handle()?
        .spawn(write)
        .await
        .map_err(|e| RegistryError::Database(format!("the write stopped before it finished: {e}")))?
}
