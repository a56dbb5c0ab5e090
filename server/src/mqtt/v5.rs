//! MQTT 5 clients at the gate. The embedded broker is reached over MQTT 3.1.1, so for a
//! client that connects with protocol level 5 the gate speaks MQTT 5 on the client's side
//! and 3.1.1 on the broker's: each packet is read in one form and written in the other.
//! What 3.1.1 cannot carry is answered here: reason codes (a refused login, a publish or
//! subscription outside the client's rights, a readings message whose every line was
//! rejected), the receive maximum (how many QoS 1 and 2 messages a scale may have in
//! flight) and the session expiry the broker will honour. Properties a client sends are
//! not passed on (the broker could not keep them); topic aliases are not offered.

use bytes::{Bytes, BytesMut};
use rumqttc::mqttbytes::v4;
use rumqttc::mqttbytes::{self as v4bytes, Protocol};
use rumqttc::v5::mqttbytes::v5::{
    self as m5, ConnAck, ConnAckProperties, ConnectReturnCode as Code, Filter, PubAckReason, SubscribeReasonCode,
    UnsubAckReason,
};
use rumqttc::v5::mqttbytes::{self as v5bytes, QoS as QoS5};

use super::MAX_PACKET_BYTES;

/// What a scale may have in flight, told in the CONNACK: the relay's own bound.
pub const RECEIVE_MAXIMUM: u16 = 1000;

/// Why a packet could not be translated.
#[derive(Debug, thiserror::Error)]
pub enum V5Error {
    #[error("unreadable MQTT 5 packet: {0:?}")]
    Unreadable(v5bytes::Error),
    #[error("MQTT 5 {0} is not supported here")]
    Unsupported(&'static str),
    #[error("a topic alias, which this server does not offer")]
    TopicAlias,
}

impl From<v5bytes::Error> for V5Error {
    fn from(e: v5bytes::Error) -> Self {
        V5Error::Unreadable(e)
    }
}

/// Whether a CONNECT asks for MQTT 5: its protocol level after the name `MQTT`.
pub fn is_v5_connect(frame: &[u8]) -> bool {
    let Some(body) = super::relay::variable_header(frame) else { return false };
    body.get(..6) == Some(&[0, 4, b'M', b'Q', b'T', b'T'][..]) && body.get(6) == Some(&5)
}

/// What the client asked of its session, for the CONNACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    clean_start: bool,
}

fn qos4(q: QoS5) -> v4bytes::QoS {
    match q {
        QoS5::AtMostOnce => v4bytes::QoS::AtMostOnce,
        QoS5::AtLeastOnce => v4bytes::QoS::AtLeastOnce,
        QoS5::ExactlyOnce => v4bytes::QoS::ExactlyOnce,
    }
}

fn qos5(q: v4bytes::QoS) -> QoS5 {
    match q {
        v4bytes::QoS::AtMostOnce => QoS5::AtMostOnce,
        v4bytes::QoS::AtLeastOnce => QoS5::AtLeastOnce,
        v4bytes::QoS::ExactlyOnce => QoS5::ExactlyOnce,
    }
}

fn header5(frame: &[u8]) -> Result<m5::FixedHeader, V5Error> {
    Ok(m5::check(frame.iter(), Some(MAX_PACKET_BYTES as u32))?)
}

/// A client's MQTT 5 CONNECT as the 3.1.1 CONNECT the gate checks and hands on. A
/// session the client wants kept (clean start off) is kept by the broker as 3.1.1 keeps
/// one; a new session ends with the connection, which the CONNACK says.
pub fn connect(frame: Bytes) -> Result<(v4::Connect, Session), V5Error> {
    let (connect, will, login) = m5::Connect::read(header5(&frame)?, frame)?;
    if connect.properties.as_ref().is_some_and(|p| p.authentication_method.is_some()) {
        return Err(V5Error::Unsupported("enhanced authentication"));
    }
    let last_will = will.map(|w| v4::LastWill {
        topic: String::from_utf8_lossy(&w.topic).into_owned(),
        message: w.message,
        qos: qos4(w.qos),
        retain: w.retain,
    });
    let login = login.map(|l| v4::Login { username: l.username, password: l.password });
    let session = Session { clean_start: connect.clean_start };
    let v4 = v4::Connect {
        protocol: Protocol::V4,
        keep_alive: connect.keep_alive,
        client_id: connect.client_id,
        clean_session: connect.clean_start,
        last_will,
        login,
    };
    Ok((v4, session))
}

/// The CONNACK for a client the gate refused, with MQTT 5's reason code.
pub fn refusal(code: v4::ConnectReturnCode) -> BytesMut {
    let code = match code {
        v4::ConnectReturnCode::BadUserNamePassword => Code::BadUserNamePassword,
        v4::ConnectReturnCode::NotAuthorized => Code::NotAuthorized,
        v4::ConnectReturnCode::ServiceUnavailable => Code::ServerUnavailable,
        v4::ConnectReturnCode::BadClientId => Code::ClientIdentifierNotValid,
        _ => Code::UnspecifiedError,
    };
    let mut bytes = BytesMut::new();
    let _ = ConnAck { session_present: false, code, properties: None }.write(&mut bytes);
    bytes
}

/// A packet from an MQTT 5 client in its 3.1.1 form, for the gate's checks and the
/// broker. `None`: a DISCONNECT that asks for the will to be published, which in 3.1.1
/// is a connection closed without DISCONNECT.
pub fn to_broker(frame: Bytes) -> Result<Option<BytesMut>, V5Error> {
    let header = header5(&frame)?;
    let mut out = BytesMut::new();
    let written = match header.packet_type()? {
        m5::PacketType::Publish => {
            let p = m5::Publish::read(header, frame)?;
            if p.topic.is_empty() || p.properties.as_ref().is_some_and(|p| p.topic_alias.is_some()) {
                return Err(V5Error::TopicAlias);
            }
            let mut v4 = v4::Publish::new(String::from_utf8_lossy(&p.topic), qos4(p.qos), p.payload.to_vec());
            (v4.pkid, v4.retain, v4.dup) = (p.pkid, p.retain, p.dup);
            v4.write(&mut out)
        }
        m5::PacketType::PubAck => v4::PubAck::new(m5::PubAck::read(header, frame)?.pkid).write(&mut out),
        m5::PacketType::PubRec => v4::PubRec::new(m5::PubRec::read(header, frame)?.pkid).write(&mut out),
        m5::PacketType::PubRel => v4::PubRel::new(m5::PubRel::read(header, frame)?.pkid).write(&mut out),
        m5::PacketType::PubComp => v4::PubComp::new(m5::PubComp::read(header, frame)?.pkid).write(&mut out),
        m5::PacketType::Subscribe => {
            let s = m5::Subscribe::read(header, frame)?;
            let filters = s.filters.into_iter().map(|f: Filter| v4::SubscribeFilter::new(f.path, qos4(f.qos)));
            let mut v4 = v4::Subscribe::new_many(filters);
            v4.pkid = s.pkid;
            v4.write(&mut out)
        }
        m5::PacketType::Unsubscribe => {
            let u = m5::Unsubscribe::read(header, frame)?;
            v4::Unsubscribe { pkid: u.pkid, topics: u.filters }.write(&mut out)
        }
        m5::PacketType::PingReq => v4::PingReq.write(&mut out),
        m5::PacketType::Disconnect => {
            if m5::Disconnect::read(header, frame)?.reason_code == m5::DisconnectReasonCode::DisconnectWithWillMessage {
                return Ok(None);
            }
            v4::Disconnect.write(&mut out)
        }
        m5::PacketType::Connect => return Err(V5Error::Unsupported("a second CONNECT")),
        _ => return Err(V5Error::Unsupported("a server's packet from a client")),
    };
    written.map_err(|e| {
        V5Error::Unsupported(if matches!(e, v4bytes::Error::PayloadTooLong) {
            "a packet this large"
        } else {
            "this packet"
        })
    })?;
    Ok(Some(out))
}

/// A packet from the broker (3.1.1) in its MQTT 5 form, for the client. `filters`: for an
/// UNSUBACK, how many filters its UNSUBSCRIBE had (MQTT 5 answers each).
pub fn to_client(frame: &[u8], session: Session, filters: usize) -> BytesMut {
    let mut out = BytesMut::new();
    let Ok(header) = v4bytes::check(frame.iter(), MAX_PACKET_BYTES) else {
        out.extend_from_slice(frame);
        return out;
    };
    let bytes = Bytes::copy_from_slice(frame);
    let written = match header.packet_type() {
        Ok(v4bytes::PacketType::ConnAck) => v4::ConnAck::read(header, bytes).map(|ack| {
            let code = match ack.code {
                v4::ConnectReturnCode::Success => Code::Success,
                other => return refusal(other),
            };
            // A kept session is kept until the broker restarts; a new one ends with the connection.
            let properties = ConnAckProperties {
                session_expiry_interval: Some(if session.clean_start { 0 } else { u32::MAX }),
                receive_max: Some(RECEIVE_MAXIMUM),
                max_qos: None,
                retain_available: None,
                max_packet_size: Some(MAX_PACKET_BYTES as u32),
                assigned_client_identifier: None,
                topic_alias_max: Some(0),
                reason_string: None,
                user_properties: Vec::new(),
                wildcard_subscription_available: Some(1),
                subscription_identifiers_available: Some(0),
                shared_subscription_available: Some(0),
                server_keep_alive: None,
                response_information: None,
                server_reference: None,
                authentication_method: None,
                authentication_data: None,
            };
            let mut out = BytesMut::new();
            let _ =
                ConnAck { session_present: ack.session_present, code, properties: Some(properties) }.write(&mut out);
            out
        }),
        Ok(v4bytes::PacketType::Publish) => v4::Publish::read(header, bytes).map(|p| {
            let mut v5 = m5::Publish::new(p.topic, qos5(p.qos), p.payload, None);
            (v5.pkid, v5.retain, v5.dup) = (p.pkid, p.retain, p.dup);
            let mut out = BytesMut::new();
            let _ = v5.write(&mut out);
            out
        }),
        Ok(v4bytes::PacketType::SubAck) => v4::SubAck::read(header, bytes).map(|s| {
            let codes = s
                .return_codes
                .into_iter()
                .map(|c| match c {
                    v4::SubscribeReasonCode::Success(q) => SubscribeReasonCode::Success(qos5(q)),
                    v4::SubscribeReasonCode::Failure => SubscribeReasonCode::Unspecified,
                })
                .collect();
            let mut out = BytesMut::new();
            let _ = m5::SubAck { pkid: s.pkid, return_codes: codes, properties: None }.write(&mut out);
            out
        }),
        Ok(v4bytes::PacketType::UnsubAck) => v4::UnsubAck::read(header, bytes).map(|u| {
            let reasons = vec![UnsubAckReason::Success; filters.max(1)];
            let mut out = BytesMut::new();
            let _ = m5::UnsubAck { pkid: u.pkid, reasons, properties: None }.write(&mut out);
            out
        }),
        // PUBACK, PUBREC, PUBREL, PUBCOMP with only a packet id, and PINGRESP, read the same.
        _ => Ok(BytesMut::from(frame)),
    };
    written.unwrap_or_else(|_| BytesMut::from(frame))
}

/// A PUBACK with a reason code, for a QoS 1 message the gate did not take.
pub fn puback(pkid: u16, reason: PubAckReason) -> Bytes {
    let mut out = BytesMut::new();
    let _ = m5::PubAck { pkid, reason, properties: None }.write(&mut out);
    out.freeze()
}

/// The answer to a readings message that held nothing to store, with the reason: the
/// scale is not registered (not authorised), the message is past its bounds (quota
/// exceeded), or no line could be read (payload format invalid).
pub fn rejected(qos: v4bytes::QoS, pkid: u16, code: &str, out: &mut BytesMut) {
    let reason = match code {
        "unknown_device" => PubAckReason::NotAuthorized,
        "too_many_readings" | "payload_too_large" => PubAckReason::QuotaExceeded,
        _ => PubAckReason::PayloadFormatInvalid,
    };
    let _ = match qos {
        v4bytes::QoS::AtMostOnce => Ok(0),
        v4bytes::QoS::AtLeastOnce => m5::PubAck { pkid, reason, properties: None }.write(out),
        v4bytes::QoS::ExactlyOnce => {
            let reason = match reason {
                PubAckReason::NotAuthorized => m5::PubRecReason::NotAuthorized,
                PubAckReason::QuotaExceeded => m5::PubRecReason::QuotaExceeded,
                _ => m5::PubRecReason::PayloadFormatInvalid,
            };
            m5::PubRec { pkid, reason, properties: None }.write(out)
        }
    };
}

/// A SUBACK refusing every filter of a SUBSCRIBE outside the client's rights.
pub fn suback_not_authorized(pkid: u16, filters: usize) -> Bytes {
    let mut out = BytesMut::new();
    let codes = vec![SubscribeReasonCode::NotAuthorized; filters];
    let _ = m5::SubAck { pkid, return_codes: codes, properties: None }.write(&mut out);
    out.freeze()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn connect_frame(clean_start: bool) -> BytesMut {
        let mut connect = m5::Connect { keep_alive: 30, client_id: "scale-01".into(), clean_start, properties: None };
        connect.properties =
            Some(m5::ConnectProperties { session_expiry_interval: Some(60), ..m5::ConnectProperties::new() });
        let login = m5::Login::new("scale-01", "secret");
        let mut bytes = BytesMut::new();
        connect.write(&None, &Some(login), &mut bytes).unwrap();
        bytes
    }

    #[test]
    fn a_v5_connect_is_recognised_and_read_as_3_1_1() {
        let frame = connect_frame(false);
        assert!(is_v5_connect(&frame));
        let mut v4 = BytesMut::new();
        v4::Connect::new("x").write(&mut v4).unwrap();
        assert!(!is_v5_connect(&v4));
        let (connect, session) = connect(frame.freeze()).unwrap();
        assert_eq!((connect.client_id.as_str(), connect.clean_session), ("scale-01", false));
        assert_eq!(connect.login.unwrap().password, "secret");
        assert_eq!(session, Session { clean_start: false });
    }

    #[test]
    fn the_connack_tells_the_receive_maximum_and_the_session_kept() {
        let mut ack = BytesMut::new();
        v4::ConnAck::new(v4::ConnectReturnCode::Success, true).write(&mut ack).unwrap();
        let v5 = to_client(&ack, Session { clean_start: false }, 0);
        let read = ConnAck::read(header5(&v5).unwrap(), v5.freeze()).unwrap();
        assert_eq!((read.code, read.session_present), (Code::Success, true));
        let properties = read.properties.unwrap();
        assert_eq!(properties.receive_max, Some(RECEIVE_MAXIMUM));
        assert_eq!(properties.session_expiry_interval, Some(u32::MAX));
        let refused = refusal(v4::ConnectReturnCode::NotAuthorized);
        assert_eq!(ConnAck::read(header5(&refused).unwrap(), refused.freeze()).unwrap().code, Code::NotAuthorized);
    }

    #[test]
    fn publishes_and_subscriptions_cross_both_ways() {
        let mut publish = m5::Publish::new("wages/devices/a/status", QoS5::AtLeastOnce, "online", None);
        publish.pkid = 9;
        publish.properties =
            Some(m5::PublishProperties { content_type: Some("text/plain".into()), ..Default::default() });
        let mut frame = BytesMut::new();
        publish.write(&mut frame).unwrap();
        let v4 = to_broker(frame.freeze()).unwrap().unwrap();
        let read = v4::Publish::read(v4bytes::check(v4.iter(), 1 << 20).unwrap(), v4.freeze()).unwrap();
        assert_eq!((read.topic.as_str(), read.pkid, &read.payload[..]), ("wages/devices/a/status", 9, &b"online"[..]));

        let mut back = BytesMut::new();
        let mut offer = v4::Publish::new("wages/firmware", v4bytes::QoS::AtLeastOnce, "v");
        offer.pkid = 3;
        offer.write(&mut back).unwrap();
        let v5 = to_client(&back, Session { clean_start: true }, 0);
        let read = m5::Publish::read(header5(&v5).unwrap(), v5.freeze()).unwrap();
        assert_eq!(&read.topic[..], b"wages/firmware");

        let mut unsuback = BytesMut::new();
        v4::UnsubAck::new(4).write(&mut unsuback).unwrap();
        let v5 = to_client(&unsuback, Session { clean_start: true }, 2);
        let read = m5::UnsubAck::read(header5(&v5).unwrap(), v5.freeze()).unwrap();
        assert_eq!(read.reasons.len(), 2);
    }

    #[test]
    fn an_alias_is_refused_not_guessed() {
        let mut publish = m5::Publish::new("", QoS5::AtMostOnce, "x", None);
        publish.properties = Some(m5::PublishProperties { topic_alias: Some(1), ..Default::default() });
        let mut frame = BytesMut::new();
        publish.write(&mut frame).unwrap();
        assert!(matches!(to_broker(frame.freeze()), Err(V5Error::TopicAlias)));
    }
}
