//! A partition worker: gathers the readings of its devices into batches, stores each
//! batch in one write, passes the stored readings to the live hub, and reports which
//! messages are done so the pipeline can acknowledge them.
//!
//! A batch is stored when it is full, when its timeout has passed since its first
//! reading, or when nothing more has arrived for [`LINGER`]. The last rule matters
//! because a broker sends only so many unacknowledged messages (rumqttd 100, Mosquitto
//! 20 by default, RabbitMQ 10): once they are all here, waiting for more only stalls.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use wages_codec::Reading;
use wages_store::pipeline::PipelineSettings;

use super::stats::Stats;
use crate::hub::Hub;
use wages_store::ReadingsStore;

/// Turns the worker gives the pipeline to hand over more before it calls the queue idle.
const IDLE_TURNS: usize = 16;

/// The valid readings of one message, by its sequence number.
pub(super) struct Work {
    pub seq: u64,
    pub readings: Vec<Reading>,
}

/// What a worker shares with the others.
#[derive(Clone)]
pub(super) struct Shared {
    pub storage: ReadingsStore,
    pub stats: Arc<Stats>,
    pub hub: Arc<Hub>,
    /// Sequence numbers of messages whose readings are all stored.
    pub done: mpsc::UnboundedSender<Vec<u64>>,
    pub stop: watch::Receiver<bool>,
}

pub(super) struct Worker {
    pub work: mpsc::Sender<Work>,
    pub task: JoinHandle<()>,
}

/// Starts a worker whose queue holds `capacity` messages.
pub(super) fn spawn(settings: PipelineSettings, shared: Shared, capacity: usize) -> Worker {
    let (work, queue) = mpsc::channel(capacity);
    Worker { work, task: tokio::spawn(run(settings, shared, queue)) }
}

/// Batches until its queue closes, then stores what is left and returns.
async fn run(settings: PipelineSettings, mut shared: Shared, mut queue: mpsc::Receiver<Work>) {
    let size = settings.batch_size as usize;
    let timeout = Duration::from_millis(settings.batch_timeout_ms.into());
    let mut batch: Vec<Reading> = Vec::with_capacity(size);
    let mut seqs: Vec<u64> = Vec::new();
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let expired = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            work = queue.recv() => {
                let Some(work) = work else { break };
                batch.extend(work.readings);
                seqs.push(work.seq);
                deadline.get_or_insert_with(|| tokio::time::Instant::now() + timeout);
                if batch.len() >= size || idle(&queue).await {
                    store(&mut shared, &mut batch, &mut seqs).await;
                    deadline = None;
                }
            }
            () = expired => {
                store(&mut shared, &mut batch, &mut seqs).await;
                deadline = None;
            }
        }
    }
    store(&mut shared, &mut batch, &mut seqs).await;
}

/// Stores the batch, retrying while storage fails. On shutdown during a failure it gives
/// up: its messages stay unacknowledged and the broker delivers them again later.
async fn store(shared: &mut Shared, batch: &mut Vec<Reading>, seqs: &mut Vec<u64>) {
    if seqs.is_empty() {
        return;
    }
    let mut backoff = Duration::from_millis(100);
    loop {
        let started = Instant::now();
        match shared.storage.insert(batch).await {
            Ok(new) => {
                shared.stats.stored_batch(batch, new, started.elapsed());
                shared.hub.publish(batch);
                let _ = shared.done.send(std::mem::take(seqs));
                batch.clear();
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, readings = batch.len(), "storing a batch failed; retrying, its messages stay unacknowledged");
                if *shared.stop.borrow() {
                    batch.clear();
                    seqs.clear();
                    return;
                }
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = shared.stop.changed() => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Whether nothing more is coming right now: the queue stays empty while the pipeline
/// gets a few turns to hand over what the broker has already sent.
async fn idle(queue: &mpsc::Receiver<Work>) -> bool {
    for _ in 0..IDLE_TURNS {
        if !queue.is_empty() {
            return false;
        }
        tokio::task::yield_now().await;
    }
    queue.is_empty()
}
