//! One admitted connection through the gate, after its CONNECT: the client's packets go
//! on to the broker as they are, except reading messages, which the gate hands straight
//! to the ingest pipeline. A reading's PUBACK goes to the client only once the pipeline
//! has stored it (or recorded why not), then the message goes on to the broker for its
//! other subscribers. Everything the client is owed (PUBACKs, PUBRECs, PUBCOMPs,
//! SUBACKs, UNSUBACKs) leaves in the order the client sent what asked for it, whether
//! the gate or the broker answers, as MQTT wants.
//!
//! For an MQTT 5 client the broker's packets are written in MQTT 5's form on the way
//! ([`super::v5`]), and a readings message that held nothing to store is answered with
//! the reason.
//!
//! Memory stays bounded: the pipeline takes readings through a bounded queue, and past
//! [`MAX_OWED`] answers outstanding the relay stops taking packets from the client, so a
//! slow store or a client that does not read pushes back on the client's socket.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use rumqttc::mqttbytes::v4::{PubAck, PubComp, PubRec, Publish, Unsubscribe};
use rumqttc::mqttbytes::{self, PacketType, QoS};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use super::v5::{self, Session};
use super::{MAX_PACKET_BYTES, READ_ROOM};
use crate::pipeline::Taken;

/// Answers owed to one client, at most, before the relay stops reading from it.
pub const MAX_OWED: usize = 4096;

/// An answer the client is owed: its packet type and packet id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    kind: PacketType,
    pkid: u16,
}

/// What the client sent, in its order, as the relay passes it on.
pub enum Item {
    /// Packets for the broker as they came, and the answers they owe, in order (with the
    /// number of filters of an UNSUBSCRIBE).
    Forward { bytes: BytesMut, owes: Vec<(Key, usize)> },
    /// A reading message the pipeline has: `stored` answers once it is stored; `copy`:
    /// then on to the broker, for a subscriber there.
    Reading { publish: Publish, stored: oneshot::Receiver<Taken>, copy: bool },
    /// An answer the gate makes itself: the PUBCOMP for a reading's PUBREL.
    Answer(Bytes),
    /// The client's DISCONNECT, passed on once everything before it is done.
    Disconnect(BytesMut),
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

/// Passes the broker's packets to the client and the client's (from `items`) to the
/// broker, answering the client in its order; ends when either side closes. `v5`: the
/// client speaks MQTT 5, with this session.
pub async fn run<B, C>(
    mut items: mpsc::Receiver<Item>,
    mut from_broker: impl AsyncRead + Unpin,
    mut to_broker: B,
    mut to_client: C,
    v5: Option<Session>,
) -> Result<(), RelayEnd>
where
    B: AsyncWrite + Unpin,
    C: AsyncWrite + Unpin,
{
    let mut owed: VecDeque<Owed> = VecDeque::new();
    let mut from_broker_buf = BytesMut::with_capacity(READ_ROOM);
    let (mut for_client, mut for_broker) = (BytesMut::new(), BytesMut::new());
    let mut client_done = false;
    loop {
        from_broker_buf.reserve(READ_ROOM);
        tokio::select! {
            item = items.recv(), if !client_done && owed.len() < MAX_OWED => match item {
                Some(item) => take(item, &mut owed, &mut for_broker),
                None => client_done = true,
            },
            read = from_broker.read_buf(&mut from_broker_buf) => {
                if !matches!(read, Ok(n) if n > 0) {
                    break;
                }
                from_broker_frames(&mut from_broker_buf, &mut owed, &mut for_client, v5);
            }
            // Only the front reading is waited for; those behind it are looked at when
            // they reach the front.
            taken = async {
                match owed.front_mut() {
                    Some(Owed::Reading { stored, .. }) => stored.await.ok(),
                    _ => std::future::pending().await,
                }
            } => {
                let Some(taken) = taken else {
                    return Err(RelayEnd::NotStored);
                };
                if let Some(Owed::Reading { publish, copy, .. }) = owed.pop_front() {
                    answer_taken(&publish, taken, copy, v5.is_some(), &mut for_client, &mut for_broker);
                }
            }
        }
        if !release(&mut owed, &mut for_client, &mut for_broker, v5.is_some()) {
            return Err(RelayEnd::NotStored);
        }
        if !for_broker.is_empty() && to_broker.write_all(&for_broker.split()).await.is_err() {
            break;
        }
        if !for_client.is_empty() && to_client.write_all(&for_client.split()).await.is_err() {
            break;
        }
        if client_done && owed.is_empty() {
            break;
        }
    }
    let _ = to_client.shutdown().await;
    Ok(())
}

/// Takes one item from the client's side in order.
fn take(item: Item, owed: &mut VecDeque<Owed>, for_broker: &mut BytesMut) {
    match item {
        Item::Forward { bytes, owes } => {
            // Nothing waits for a reading ahead: packets go on at once; their answers
            // still wait their turn.
            for_broker.extend_from_slice(&bytes);
            owed.extend(owes.into_iter().map(|(key, filters)| Owed::Broker { key, filters, answer: None }));
        }
        Item::Reading { publish, stored, copy } => owed.push_back(Owed::Reading { publish, stored, copy }),
        Item::Answer(bytes) => owed.push_back(Owed::Ready(bytes)),
        Item::Disconnect(bytes) => owed.push_back(Owed::Disconnect(bytes.freeze())),
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
        let (items, taken) = mpsc::channel(8);
        let (broker_side, mut broker) = tokio::io::duplex(64 * 1024);
        let (client_side, mut client) = tokio::io::duplex(64 * 1024);
        let (from_broker, to_broker) = tokio::io::split(broker_side);
        let relay = tokio::spawn(run(taken, from_broker, to_broker, client_side, None));

        let (stored, storing) = oneshot::channel();
        let mut reading = Publish::new("wages/devices/a/readings", QoS::AtLeastOnce, "x");
        reading.pkid = 1;
        items.send(Item::Reading { publish: reading, stored: storing, copy: true }).await.unwrap();
        let mut status = Publish::new("wages/devices/a/status", QoS::AtLeastOnce, "online");
        status.pkid = 2;
        let status = frame(|b| drop(status.write(b)));
        let key = owed_for(PacketType::Publish, &status).unwrap();
        items.send(Item::Forward { bytes: status, owes: vec![key] }).await.unwrap();

        // The broker answers the status at once; the client must not see it yet.
        let mut read = BytesMut::new();
        while mqttbytes::check(read.iter(), MAX_PACKET_BYTES).is_err() {
            broker.read_buf(&mut read).await.unwrap();
        }
        broker.write_all(&frame(|b| drop(PubAck::new(2).write(b)))).await.unwrap();
        let mut seen = BytesMut::new();
        let early = tokio::time::timeout(std::time::Duration::from_millis(200), client.read_buf(&mut seen)).await;
        assert!(early.is_err(), "the status's PUBACK went out before the reading's");

        stored.send(Taken::Stored).unwrap();
        while seen.len() < 8 {
            client.read_buf(&mut seen).await.unwrap();
        }
        assert_eq!(&seen[..8], &[0x40, 2, 0, 1, 0x40, 2, 0, 2], "PUBACK 1, then PUBACK 2");
        // The stored reading went on to the broker, at QoS 0.
        let mut copy = BytesMut::new();
        while mqttbytes::check(copy.iter(), MAX_PACKET_BYTES).is_err() {
            broker.read_buf(&mut copy).await.unwrap();
        }
        assert_eq!(copy[0] & 0b0110, 0, "QoS 0");
        drop(items);
        relay.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_reading_never_stored_is_never_acknowledged() {
        let (items, taken) = mpsc::channel(8);
        let (broker_side, _broker) = tokio::io::duplex(1024);
        let (client_side, _client) = tokio::io::duplex(1024);
        let (from_broker, to_broker) = tokio::io::split(broker_side);
        let relay = tokio::spawn(run(taken, from_broker, to_broker, client_side, None));
        let (stored, storing) = oneshot::channel::<Taken>();
        let mut reading = Publish::new("wages/devices/a/readings", QoS::AtLeastOnce, "x");
        reading.pkid = 1;
        items.send(Item::Reading { publish: reading, stored: storing, copy: true }).await.unwrap();
        drop(stored);
        assert!(matches!(relay.await.unwrap(), Err(RelayEnd::NotStored)));
    }
}
