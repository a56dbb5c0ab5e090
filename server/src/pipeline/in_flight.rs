//! The messages between arrival and acknowledgement, in arrival order: a message is
//! acknowledged once it and every message before it are stored, so a crash loses
//! nothing acknowledged and the broker redelivers the rest in order.

use std::collections::VecDeque;

use rumqttc::{AsyncClient, Publish};
use tokio::sync::{mpsc, oneshot};

use super::{MAX_IN_FLIGHT, MAX_IN_FLIGHT_BYTES, Taken};

/// How a message is acknowledged, by where it came from.
pub(super) enum Ack {
    Mqtt(Publish),
    Amqp(lapin::Acker),
    /// Taken at the embedded broker's gate, which answers the client when told.
    Gate(oneshot::Sender<Taken>),
}

/// Where acknowledgements go: the MQTT client, and the AMQP acknowledger if there is one.
pub(super) struct Acks {
    pub client: AsyncClient,
    pub amqp: Option<mpsc::Sender<lapin::Acker>>,
}

impl Acks {
    fn send(&self, ack: Ack, rejected: Option<&'static str>) {
        match ack {
            Ack::Mqtt(publish) => {
                if let Err(e) = self.client.try_ack(&publish) {
                    tracing::warn!(error = %e, "acknowledgement not sent; the broker will redeliver");
                }
            }
            Ack::Amqp(acker) => {
                // Never full: RabbitMQ has at most its prefetch of deliveries out to us.
                if let Some(amqp) = &self.amqp {
                    let _ = amqp.try_send(acker);
                }
            }
            Ack::Gate(taken) => {
                // The client may have gone meanwhile; it sends the message again.
                let _ = taken.send(rejected.map_or(Taken::Stored, Taken::Rejected));
            }
        }
    }
}

/// One message in flight.
struct Entry {
    /// How to acknowledge it; `None` for an MQTT message whose connection is gone (the
    /// broker sends it again).
    ack: Option<Ack>,
    /// Its payload's bytes, counted against [`MAX_IN_FLIGHT_BYTES`].
    bytes: usize,
    /// Whether its readings are stored (or it had none).
    done: bool,
    /// Why it had none, when every line was rejected.
    rejected: Option<&'static str>,
}

/// Messages between arrival and acknowledgement, in arrival order, numbered from 0.
#[derive(Default)]
pub(super) struct InFlight {
    /// Sequence number of the front entry.
    first: u64,
    entries: VecDeque<Entry>,
    bytes: usize,
}

impl InFlight {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn has_room(&self) -> bool {
        self.entries.len() < MAX_IN_FLIGHT && self.bytes < MAX_IN_FLIGHT_BYTES
    }

    /// Takes a message in; its sequence number.
    pub fn push(&mut self, ack: Ack, bytes: usize) -> u64 {
        self.bytes += bytes;
        self.entries.push_back(Entry { ack: Some(ack), bytes, done: false, rejected: None });
        self.first + self.entries.len() as u64 - 1
    }

    /// Notes that message `seq` had no reading to store, for its acknowledgement to say.
    pub fn rejected(&mut self, seq: u64, code: &'static str) {
        if let Some(entry) = seq.checked_sub(self.first).and_then(|i| self.entries.get_mut(i as usize)) {
            entry.rejected = Some(code);
        }
    }

    /// Marks messages done and acknowledges the done ones at the front, in order.
    pub fn finish(&mut self, seqs: &[u64], acks: &Acks) {
        for &seq in seqs {
            if let Some(entry) = seq.checked_sub(self.first).and_then(|i| self.entries.get_mut(i as usize)) {
                entry.done = true;
            }
        }
        while self.entries.front().is_some_and(|e| e.done) {
            let Some(entry) = self.entries.pop_front() else { break };
            self.first += 1;
            self.bytes -= entry.bytes;
            if let Some(ack) = entry.ack {
                acks.send(ack, entry.rejected);
            }
        }
    }

    /// The MQTT connection is gone: its messages can no longer be acknowledged.
    pub fn forget_connection(&mut self) {
        for entry in &mut self.entries {
            if matches!(entry.ack, Some(Ack::Mqtt(_))) {
                entry.ack = None;
            }
        }
    }
}
