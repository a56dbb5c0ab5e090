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

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::error::RegistryError;

/// The writing thread of one registry: it ends, and what runs on it stops, when the
/// registry (every clone of it) is dropped. Readings handles keep only its [`Handle`].
pub(crate) struct WritingThread {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
}

impl WritingThread {
    pub(crate) fn start() -> Result<WritingThread, RegistryError> {
        let cannot =
            |e: &dyn std::fmt::Display| RegistryError::Database(format!("cannot start the writing thread: {e}"));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| cannot(&e))?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("wages-sqlite-writes".into())
            .spawn(move || {
                // Ends when told to or when the registry is gone without telling.
                let _ = runtime.block_on(stopped);
            })
            .map_err(|e| cannot(&e))?;
        Ok(WritingThread { handle, stop: Some(stop) })
    }

    pub(crate) fn handle(&self) -> Handle {
        self.handle.clone()
    }
}

impl Drop for WritingThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Runs `write` on the writing thread behind `handle` and waits for it. A caller that
/// stops waiting leaves the write to finish there: it is stored or not as a whole
/// either way.
pub(crate) async fn run<T: Send + 'static>(
    handle: &Handle,
    write: impl Future<Output = Result<T, RegistryError>> + Send + 'static,
) -> Result<T, RegistryError> {
    handle
        .spawn(write)
        .await
        .map_err(|e| RegistryError::Database(format!("the write stopped before it finished: {e}")))?
}
