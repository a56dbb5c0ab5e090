//! The answers one admitted connection is owed, in its order. The client's packets go on
//! to the broker as they are, except reading messages, which the gate hands straight to
//! the ingest pipeline. A reading's PUBACK goes to the client only once the pipeline has
//! stored it (or recorded why not), then the message goes on to the broker for its other
//! subscribers. Everything the client is owed (PUBACKs, PUBRECs, PUBCOMPs, SUBACKs,
//! UNSUBACKs) leaves in the order the client sent what asked for it, whether the gate or
//! the broker answers, as MQTT wants.
//!
//! [`Relay`] holds that order and the bytes due each way; the gate's one task per
//! connection drives it (reading the client and the broker, waiting for the front
//! reading's outcome, writing), so a message wakes that task once on arrival and once
//! when stored, and nothing passes between tasks of the connection's own.
//!
//! For an MQTT 5 client the broker's packets are written in MQTT 5's form on the way
//! ([`super::v5`]), and a readings message that held nothing to store is answered with
//! the reason.
//!
//! Memory stays bounded: the pipeline takes readings through a bounded queue, and past
//! [`MAX_OWED`] answers outstanding the gate stops reading from the client, so a slow
//! store or a client that does not read pushes back on the client's socket.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use rumqttc::mqttbytes::v4::{PubAck, PubComp, PubRec, Publish, Unsubscribe};
use rumqttc::mqttbytes::{self, PacketType, QoS};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::oneshot;

use super::v5::{self, Session};
use super::{MAX_PACKET_BYTES, READ_ROOM};
use crate::pipeline::Taken;

/// Answers owed to one client, at most, before the gate stops reading from it.
pub const MAX_OWED: usize = 4096;

/// An answer the client is owed: its packet type and packet id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    kind: PacketType,
    pkid: u16,
}

/// One outstanding entry, in the client's order.
enum Owed {
    /// The broker answers this; `answer` holds its packet, in the client's form, once it
    /// came.
    Broker {
        key: Key,
        filters: usize,
        answer: Option<Bytes>,
    },
    Reading {
        publish: Publish,
        stored: oneshot::Receiver<Taken>,
        copy: bool,
    },
    Ready(Bytes),
    Disconnect(Bytes),
}

/// What answers `frame` (a packet from the client that is not a reading), if anything,
/// and for an UNSUBSCRIBE how many filters it has.
pub fn owed_for(kind: PacketType, frame: &[u8]) -> Option<(Key, usize)> {
    let answer = match kind {
        PacketType::Publish => match qos_of(frame) {
            1 => PacketType::PubAck,
            2 => PacketType::PubRec,
            _ => return None,
        },
        PacketType::PubRel => PacketType::PubComp,
        PacketType::Subscribe => PacketType::SubAck,
        PacketType::Unsubscribe => PacketType::UnsubAck,
        _ => return None,
    };
    let pkid = match kind {
        PacketType::Publish => publish_pkid(frame)?,
        _ => leading_pkid(frame)?,
    };
    let filters = match kind {
        PacketType::Unsubscribe => mqttbytes::check(frame.iter(), MAX_PACKET_BYTES)
            .ok()
            .and_then(|h| Unsubscribe::read(h, Bytes::copy_from_slice(frame)).ok())
            .map_or(1, |u| u.topics.len()),
        _ => 0,
    };
    Some((Key { kind: answer, pkid }, filters))
}

/// The QoS bits of a PUBLISH's first byte.
fn qos_of(frame: &[u8]) -> u8 {
    frame.first().map_or(0, |b| (b >> 1) & 0b11)
}

/// The variable header of a whole packet: after the type byte and the 1 to 4 bytes of
/// the remaining length.
pub fn variable_header(frame: &[u8]) -> Option<&[u8]> {
    let length_bytes = frame.iter().skip(1).take(4).position(|b| b & 0x80 == 0)? + 1;
    frame.get(1 + length_bytes..)
}

/// The packet id that opens the variable header (acknowledgements, SUBSCRIBE, …).
pub fn leading_pkid(frame: &[u8]) -> Option<u16> {
    let body = variable_header(frame)?;
    Some(u16::from_be_bytes([*body.first()?, *body.get(1)?]))
}

/// A QoS 1 or 2 PUBLISH's packet id, after its topic.
pub fn publish_pkid(frame: &[u8]) -> Option<u16> {
    let body = variable_header(frame)?;
    let len = usize::from(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
    Some(u16::from_be_bytes([*body.get(2 + len)?, *body.get(3 + len)?]))
}

/// Why a relay ended early.
#[derive(Debug, thiserror::Error)]
pub enum RelayEnd {
    /// The pipeline stopped before it stored a reading: the client is cut off without
    /// its PUBACK, so it sends the reading again.
    #[error("the pipeline stopped before storing a reading")]
    NotStored,
}

/// What one connection is owed, in the client's order, and the bytes due to each side.
pub struct Relay {
    owed: VecDeque<Owed>,
    for_client: BytesMut,
    for_broker: BytesMut,
    /// The client speaks MQTT 5, with this session.
    v5: Option<Session>,
}

impl Relay {
    pub fn new(v5: Option<Session>) -> Relay {
        Relay { owed: VecDeque::new(), for_client: BytesMut::new(), for_broker: BytesMut::new(), v5 }
    }

    /// Whether the client may send more: fewer than [`MAX_OWED`] answers outstanding.
    pub fn has_room(&self) -> bool {
        self.owed.len() < MAX_OWED
    }

    /// Whether every answer the client is owed has gone out.
    pub fn is_settled(&self) -> bool {
        self.owed.is_empty()
    }

    /// A packet for the broker, not a reading: it goes on at once (nothing waits for a
    /// reading ahead of it); its answer, if it owes one, waits its turn.
    pub fn forward(&mut self, frame: &[u8], owes: Option<(Key, usize)>) {
        self.for_broker.extend_from_slice(frame);
        if let Some((key, filters)) = owes {
            self.owed.push_back(Owed::Broker { key, filters, answer: None });
        }
    }

    /// A reading message the pipeline has: `stored` answers once it is stored; `copy`:
    /// then on to the broker, for a subscriber there.
    pub fn reading(&mut self, publish: Publish, stored: oneshot::Receiver<Taken>, copy: bool) {
        self.owed.push_back(Owed::Reading { publish, stored, copy });
    }

    /// An answer the gate makes itself (the PUBCOMP for a reading's PUBREL, an MQTT 5
    /// refusal), in its turn.
    pub fn answer(&mut self, bytes: Bytes) {
        self.owed.push_back(Owed::Ready(bytes));
    }

    /// The client's DISCONNECT, passed on once everything before it is done.
    pub fn disconnect(&mut self, frame: BytesMut) {
        self.owed.push_back(Owed::Disconnect(frame.freeze()));
    }

    /// Takes the whole packets at the front of `buffer`, read from the broker.
    pub fn from_broker(&mut self, buffer: &mut BytesMut) {
        from_broker_frames(buffer, &mut self.owed, &mut self.for_client, self.v5);
    }

    /// The outcome of the reading at the front, once there is one there; only that one
    /// is waited for, those behind it are looked at when they reach the front. `None`:
    /// it will never be stored.
    pub async fn front_stored(&mut self) -> Option<Taken> {
        match self.owed.front_mut() {
            Some(Owed::Reading { stored, .. }) => stored.await.ok(),
            _ => std::future::pending().await,
        }
    }

    /// The front reading's outcome, from [`Relay::front_stored`].
    pub fn stored_front(&mut self, taken: Taken) {
        if let Some(Owed::Reading { publish, copy, .. }) = self.owed.pop_front() {
            answer_taken(&publish, taken, copy, self.v5.is_some(), &mut self.for_client, &mut self.for_broker);
        }
    }

    /// Lets go of every entry at the front that is ready, in order.
    pub fn release(&mut self) -> Result<(), RelayEnd> {
        if release(&mut self.owed, &mut self.for_client, &mut self.for_broker, self.v5.is_some()) {
            Ok(())
        } else {
            Err(RelayEnd::NotStored)
        }
    }

    /// Whether bytes wait to go to the broker.
    pub fn owes_broker(&self) -> bool {
        !self.for_broker.is_empty()
    }

    /// Writes what is due to the broker, then to the client.
    pub async fn flush<B, C>(&mut self, to_broker: &mut B, to_client: &mut C) -> std::io::Result<()>
    where
        B: AsyncWrite + Unpin,
        C: AsyncWrite + Unpin,
    {
        if !self.for_broker.is_empty() {
            to_broker.write_all(&self.for_broker).await?;
            emptied(&mut self.for_broker);
        }
        if !self.for_client.is_empty() {
            to_client.write_all(&self.for_client).await?;
            emptied(&mut self.for_client);
        }
        Ok(())
    }
}

/// Empties a buffer that went out, keeping its memory for the next answers unless a
/// large packet made it large: a fleet holds thousands of these.
fn emptied(buffer: &mut BytesMut) {
    if buffer.capacity() > READ_ROOM {
        *buffer = BytesMut::new();
    } else {
        buffer.clear();
    }
}

/// Sorts whole packets from the broker: answers to the client's requests wait for their
/// turn, everything else (messages for the client, PINGRESP) goes on at once.
fn from_broker_frames(
    buffer: &mut BytesMut,
    owed: &mut VecDeque<Owed>,
    for_client: &mut BytesMut,
    v5: Option<Session>,
) {
    while let Ok(header) = mqttbytes::check(buffer.iter(), MAX_PACKET_BYTES) {
        let frame = buffer.split_to(header.frame_length()).freeze();
        let client_form = |frame: Bytes, filters: usize| match v5 {
            Some(session) => v5::to_client(&frame, session, filters).freeze(),
            None => frame,
        };
        let kind = header.packet_type();
        let is_answer = matches!(
            kind,
            Ok(PacketType::PubAck
                | PacketType::PubRec
                | PacketType::PubComp
                | PacketType::SubAck
                | PacketType::UnsubAck)
        );
        let key = match (kind, leading_pkid(&frame)) {
            (Ok(kind), Some(pkid)) if is_answer => Some(Key { kind, pkid }),
            _ => None,
        };
        let waiting = key.and_then(|key| {
            owed.iter_mut().find_map(|o| match o {
                Owed::Broker { key: k, filters, answer } if *k == key && answer.is_none() => Some((answer, *filters)),
                _ => None,
            })
        });
        match waiting {
            Some((slot, filters)) => *slot = Some(client_form(frame, filters)),
            None => for_client.extend_from_slice(&client_form(frame, 0)),
        }
    }
}

/// A reading message is done with: the client's answer (with the reason, for an MQTT 5
/// client whose message held nothing to store), then, when `copy`, a stored message on to
/// the broker's other subscribers (at QoS 0: nothing waits for the broker's answer).
fn answer_taken(
    publish: &Publish,
    taken: Taken,
    copy: bool,
    v5: bool,
    for_client: &mut BytesMut,
    for_broker: &mut BytesMut,
) {
    match (taken, v5) {
        (Taken::Rejected(code), true) => v5::rejected(publish.qos, publish.pkid, code, for_client),
        _ => {
            let _ = match publish.qos {
                QoS::AtMostOnce => Ok(0),
                QoS::AtLeastOnce => PubAck::new(publish.pkid).write(for_client),
                QoS::ExactlyOnce => PubRec::new(publish.pkid).write(for_client),
            };
        }
    }
    if copy && taken == Taken::Stored {
        let mut copy = Publish::new(publish.topic.clone(), QoS::AtMostOnce, publish.payload.clone());
        copy.retain = publish.retain;
        let _ = copy.write(for_broker);
    }
}

/// Lets go of every entry at the front that is ready, in order; `false` if a reading
/// there will never be stored.
fn release(owed: &mut VecDeque<Owed>, for_client: &mut BytesMut, for_broker: &mut BytesMut, v5: bool) -> bool {
    loop {
        match owed.front_mut() {
            Some(Owed::Broker { answer: Some(_), .. }) => {
                if let Some(Owed::Broker { answer: Some(frame), .. }) = owed.pop_front() {
                    for_client.extend_from_slice(&frame);
                }
            }
            Some(Owed::Reading { stored, .. }) => match stored.try_recv() {
                Ok(taken) => {
                    if let Some(Owed::Reading { publish, copy, .. }) = owed.pop_front() {
                        answer_taken(&publish, taken, copy, v5, for_client, for_broker);
                    }
                }
                Err(oneshot::error::TryRecvError::Empty) => return true,
                Err(oneshot::error::TryRecvError::Closed) => return false,
            },
            Some(Owed::Ready(_)) => {
                if let Some(Owed::Ready(frame)) = owed.pop_front() {
                    for_client.extend_from_slice(&frame);
                }
            }
            Some(Owed::Disconnect(_)) => {
                if let Some(Owed::Disconnect(frame)) = owed.pop_front() {
                    for_broker.extend_from_slice(&frame);
                }
            }
            Some(Owed::Broker { answer: None, .. }) | None => return true,
        }
    }
}

/// The PUBCOMP the gate owes for the PUBREL of a QoS 2 reading it answered itself.
pub fn pubcomp(pkid: u16) -> Bytes {
    let mut bytes = BytesMut::new();
    let _ = PubComp::new(pkid).write(&mut bytes);
    bytes.freeze()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn frame(write: impl FnOnce(&mut BytesMut)) -> BytesMut {
        let mut bytes = BytesMut::new();
        write(&mut bytes);
        bytes
    }

    #[test]
    fn each_request_owes_its_answer() {
        let mut status = Publish::new("wages/devices/a/status", QoS::AtLeastOnce, "online");
        status.pkid = 7;
        let status = frame(|b| drop(status.write(b)));
        assert_eq!(owed_for(PacketType::Publish, &status), Some((Key { kind: PacketType::PubAck, pkid: 7 }, 0)));
        let at_most_once = frame(|b| drop(Publish::new("t", QoS::AtMostOnce, "x").write(b)));
        assert_eq!(owed_for(PacketType::Publish, &at_most_once), None);
        let mut twice = Publish::new("t", QoS::ExactlyOnce, "x");
        twice.pkid = 300;
        let twice = frame(|b| drop(twice.write(b)));
        assert_eq!(owed_for(PacketType::Publish, &twice), Some((Key { kind: PacketType::PubRec, pkid: 300 }, 0)));
        let rel = frame(|b| drop(mqttbytes::v4::PubRel::new(300).write(b)));
        assert_eq!(owed_for(PacketType::PubRel, &rel), Some((Key { kind: PacketType::PubComp, pkid: 300 }, 0)));
        let sub = mqttbytes::v4::Subscribe::new("wages/firmware", QoS::AtLeastOnce);
        let mut sub_frame = BytesMut::new();
        let mut sub = sub;
        sub.pkid = 9;
        sub.write(&mut sub_frame).unwrap();
        assert_eq!(owed_for(PacketType::Subscribe, &sub_frame), Some((Key { kind: PacketType::SubAck, pkid: 9 }, 0)));
        let mut unsub = BytesMut::new();
        Unsubscribe { pkid: 10, topics: vec!["a".into(), "b".into()] }.write(&mut unsub).unwrap();
        assert_eq!(owed_for(PacketType::Unsubscribe, &unsub), Some((Key { kind: PacketType::UnsubAck, pkid: 10 }, 2)));
    }

    /// A reading answered by the gate and a status answered by the broker keep the
    /// client's order, whichever is ready first.
    #[tokio::test]
    async fn answers_leave_in_the_clients_order() {
        let mut relay = Relay::new(None);
        let (stored, storing) = oneshot::channel();
        let mut reading = Publish::new("wages/devices/a/readings", QoS::AtLeastOnce, "x");
        reading.pkid = 1;
        relay.reading(reading, storing, true);
        let mut status = Publish::new("wages/devices/a/status", QoS::AtLeastOnce, "online");
        status.pkid = 2;
        let status = frame(|b| drop(status.write(b)));
        relay.forward(&status, owed_for(PacketType::Publish, &status));
        let (mut to_broker, mut to_client) = (Vec::new(), Vec::new());
        relay.release().unwrap();
        relay.flush(&mut to_broker, &mut to_client).await.unwrap();
        assert_eq!(to_broker, status.to_vec(), "the status goes on at once");

        // The broker answers the status at once; the client must not see it yet.
        let mut from_broker = frame(|b| drop(PubAck::new(2).write(b)));
        relay.from_broker(&mut from_broker);
        relay.release().unwrap();
        relay.flush(&mut to_broker, &mut to_client).await.unwrap();
        assert!(to_client.is_empty(), "the status's PUBACK went out before the reading's");

        stored.send(Taken::Stored).unwrap();
        let taken = relay.front_stored().await.unwrap();
        relay.stored_front(taken);
        relay.release().unwrap();
        to_broker.clear();
        relay.flush(&mut to_broker, &mut to_client).await.unwrap();
        assert_eq!(to_client, [0x40, 2, 0, 1, 0x40, 2, 0, 2], "PUBACK 1, then PUBACK 2");
        // The stored reading went on to the broker, at QoS 0.
        assert!(mqttbytes::check(to_broker.iter(), MAX_PACKET_BYTES).is_ok());
        assert_eq!(to_broker[0] & 0b0110, 0, "QoS 0");
        assert!(relay.is_settled());
    }

    #[tokio::test]
    async fn a_reading_never_stored_is_never_acknowledged() {
        let mut relay = Relay::new(None);
        let (stored, storing) = oneshot::channel::<Taken>();
        let mut reading = Publish::new("wages/devices/a/readings", QoS::AtLeastOnce, "x");
        reading.pkid = 1;
        relay.reading(reading, storing, true);
        relay.release().unwrap();
        drop(stored);
        assert!(relay.front_stored().await.is_none());
        assert!(matches!(relay.release(), Err(RelayEnd::NotStored)));
    }
}
