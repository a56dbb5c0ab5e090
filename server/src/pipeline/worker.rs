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

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use wages_codec::Reading;
use wages_store::pipeline::PipelineSettings;

use super::Taken;
use super::stats::Stats;
use crate::hub::Hub;
use wages_store::ReadingsStore;

/// Turns the worker gives the pipeline to hand over more before it calls the queue idle.
const IDLE_TURNS: usize = 16;

/// The valid readings of one message, and who is told once they are stored.
pub(super) struct Work {
    pub done: Done,
    pub readings: Vec<Reading>,
}

/// Who hears that a message's readings are stored.
pub(super) enum Done {
    /// The pipeline, by the message's sequence number: it acknowledges in arrival order.
    Seq(u64),
    /// The gate, straight away: its relay keeps each scale's order, so a message from
    /// one scale never waits for another scale's batch.
    Gate(oneshot::Sender<Taken>),
}

/// The messages of the batch being gathered.
#[derive(Default)]
struct Owed {
    seqs: Vec<u64>,
    gate: Vec<oneshot::Sender<Taken>>,
}

impl Owed {
    fn push(&mut self, done: Done) {
        match done {
            Done::Seq(seq) => self.seqs.push(seq),
            Done::Gate(answer) => self.gate.push(answer),
        }
    }

    fn is_empty(&self) -> bool {
        self.seqs.is_empty() && self.gate.is_empty()
    }

    /// Tells everyone their readings are stored.
    fn stored(&mut self, shared: &Shared) {
        if !self.seqs.is_empty() {
            // Never full: see where the channel is made.
            let _ = shared.done.try_send(std::mem::take(&mut self.seqs));
        }
        shared.stats.gate_answered(self.gate.len());
        for answer in self.gate.drain(..) {
            // The scale may have gone meanwhile; it sends the message again.
            let _ = answer.send(Taken::Stored);
        }
    }

    /// Gives up on the batch: nobody is told, so nothing is acknowledged.
    fn abandon(&mut self, shared: &Shared) {
        shared.stats.gate_answered(self.gate.len());
        self.seqs.clear();
        self.gate.clear();
    }
}

/// What a worker shares with the others.
#[derive(Clone)]
pub(super) struct Shared {
    pub storage: ReadingsStore,
    pub stats: Arc<Stats>,
    pub hub: Arc<Hub>,
    /// Sequence numbers of messages whose readings are all stored.
    pub done: mpsc::Sender<Vec<u64>>,
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
    let mut owed = Owed::default();
    // One timer for the batch being gathered, set when its first reading comes: a timer
    // made anew for every message would wake the runtime's timer each time (an eventfd
    // write and a thread woken, per message, under a fleet).
    let expired = tokio::time::sleep(timeout);
    tokio::pin!(expired);
    let mut gathering = false;
    loop {
        tokio::select! {
            work = queue.recv() => {
                let Some(work) = work else { break };
                batch.extend(work.readings);
                owed.push(work.done);
                if !gathering {
                    gathering = true;
                    expired.as_mut().reset(tokio::time::Instant::now() + timeout);
                }
                if batch.len() >= size || idle(&queue).await {
                    store(&mut shared, &mut batch, &mut owed).await;
                    gathering = false;
                }
            }
            () = &mut expired, if gathering => {
                store(&mut shared, &mut batch, &mut owed).await;
                gathering = false;
            }
        }
    }
    store(&mut shared, &mut batch, &mut owed).await;
}

/// Stores the batch, retrying while storage fails. On shutdown during a failure it gives
/// up: its messages stay unacknowledged and the broker delivers them again later.
async fn store(shared: &mut Shared, batch: &mut Vec<Reading>, owed: &mut Owed) {
    if owed.is_empty() {
        return;
    }
    let mut backoff = Duration::from_millis(100);
    loop {
        let started = Instant::now();
        match shared.storage.insert(batch).await {
            Ok(new) => {
                shared.stats.stored_batch(batch, new, started.elapsed());
                shared.hub.publish(batch);
                owed.stored(shared);
                batch.clear();
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, readings = batch.len(), "storing a batch failed; retrying, its messages stay unacknowledged");
                if *shared.stop.borrow() {
                    batch.clear();
                    owed.abandon(shared);
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
