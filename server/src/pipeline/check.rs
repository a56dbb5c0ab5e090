//! Checking one MQTT message before the registry is asked: its topic, its payload
//! decoded with the shared codec, and each reading's `client_id` against the topic.
//! Pure, so the rules are unit-tested without a broker.

use wages_codec::topic::{self, Channel};
use wages_codec::{ClientId, DecodeError, MessageError, Reading, decode_message, decode_protobuf, protobuf_as_lines};

/// Characters of a rejected line kept in its dead letter.
pub const DEAD_LINE_CHARS: usize = 256;

/// How a readings topic says its payload is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `…/readings`: the text form, or JSON, line by line.
    Lines,
    /// `…/readings/protobuf`: one `wages.v1.Readings` message.
    Protobuf,
}

/// The `{client_id}` of `wages/devices/{client_id}/readings` (or `…/readings/protobuf`)
/// and the payload's form.
pub fn topic_client_id(topic: &str) -> Option<(ClientId, Form)> {
    match topic::parse(topic)? {
        (id, Channel::Readings) => Some((id, Form::Lines)),
        (id, Channel::ReadingsProtobuf) => Some((id, Form::Protobuf)),
        _ => None,
    }
}

/// The `{client_id}` of `wages/devices/{client_id}/status`.
pub fn topic_status_client_id(topic: &str) -> Option<ClientId> {
    match topic::parse(topic)? {
        (id, Channel::Status) => Some(id),
        _ => None,
    }
}

/// The outcome of checking one message before the registry is asked.
#[derive(Debug, Default, PartialEq)]
pub struct Checked {
    /// The device the topic names, if it names one.
    pub client_id: Option<ClientId>,
    pub readings: Vec<Reading>,
    /// Rejected lines: the line, its reason code, and the reason in words.
    pub rejected: Vec<(Vec<u8>, &'static str, String)>,
}

/// Decodes a message and checks each line against its topic. Pure, for unit tests.
pub fn check_message(topic: &str, payload: &[u8]) -> Checked {
    let head = || payload[..payload.len().min(DEAD_LINE_CHARS)].to_vec();
    let Some((client_id, form)) = topic_client_id(topic) else {
        let why = format!("topic {topic:?} is not wages/devices/{{client_id}}/readings (or …/readings/protobuf)");
        return Checked { rejected: vec![(head(), "bad_topic", why)], ..Checked::default() };
    };
    let refused = |e: MessageError| Checked {
        client_id: Some(client_id),
        rejected: vec![(head(), e.code(), e.to_string())],
        ..Checked::default()
    };
    let decoded: Box<dyn Iterator<Item = Result<Reading, DecodeError>> + '_> = match form {
        Form::Lines => match decode_message(payload) {
            Ok(lines) => Box::new(lines),
            Err(e) => return refused(e),
        },
        Form::Protobuf => match decode_protobuf(payload) {
            Ok(readings) => Box::new(readings.into_iter()),
            Err(e) => return refused(e),
        },
    };
    // A rejected reading's dead letter quotes it: its line, or the Protobuf reading's
    // fields written as one. Worked out only when a reading is rejected.
    let mut protobuf_lines = None;
    let mut raw = |n: u32| -> Vec<u8> {
        let index = (n as usize).saturating_sub(1);
        match form {
            Form::Lines => payload.split(|&b| b == b'\n').nth(index).map(<[u8]>::to_vec),
            Form::Protobuf => protobuf_lines
                .get_or_insert_with(|| protobuf_as_lines(payload))
                .get(index)
                .map(|line| line.as_bytes().to_vec()),
        }
        .unwrap_or_default()
    };
    let mut checked = Checked { client_id: Some(client_id), ..Checked::default() };
    for line in decoded {
        match line {
            Ok(reading) if reading.client_id == client_id => {
                checked.readings.push(reading);
            }
            Ok(reading) => {
                let why = format!("client_id {} does not match the topic's {}", reading.client_id, client_id);
                checked.rejected.push((reading.to_string().into_bytes(), "client_id_mismatch", why));
            }
            Err(e) => checked.rejected.push((raw(e.line), e.problem.code(), e.to_string())),
        }
    }
    checked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_name_their_device() {
        let id = |s: &str| ClientId::parse(s).expect("id");
        assert_eq!(topic_client_id("wages/devices/scale-01/readings"), Some((id("scale-01"), Form::Lines)));
        assert_eq!(topic_client_id("wages/devices/scale-01/readings/protobuf"), Some((id("scale-01"), Form::Protobuf)));
        assert_eq!(topic_client_id("wages/devices/scale-01/readings/json"), None);
        assert_eq!(topic_client_id("wages/devices/a.b/readings"), None);
        assert_eq!(topic_client_id("wages/devices/scale-01/status"), None);
        assert_eq!(topic_client_id("other/scale-01/readings"), None);
        assert_eq!(
            topic_status_client_id("wages/devices/scale-01/status").map(|c| c.to_string()),
            Some("scale-01".into())
        );
        assert_eq!(topic_status_client_id("wages/devices/scale-01/readings"), None);
    }

    #[test]
    fn bad_lines_are_rejected_beside_good_ones() {
        let payload = b"client_id=s1;session_id=b;value=1;tstamp=1\nclient_id=s1;session_id=b;value=x;tstamp=2\nclient_id=s2;session_id=b;value=3;tstamp=3";
        let checked = check_message("wages/devices/s1/readings", payload);
        assert_eq!(checked.readings.len(), 1);
        let codes: Vec<_> = checked.rejected.iter().map(|(_, code, _)| *code).collect();
        assert_eq!(codes, ["syntax", "client_id_mismatch"]);
        assert_eq!(checked.rejected[0].0, b"client_id=s1;session_id=b;value=x;tstamp=2");
        assert_eq!(checked.rejected[0].2, r#"line 2, byte 32: expected a number for value, found "x""#);
    }

    #[test]
    fn protobuf_readings_are_checked_like_lines() {
        let reading = |id: &str, grams: f64| wages_codec::ProtoReading {
            client_id: id.into(),
            session_id: "b".into(),
            value: Some(grams),
            tstamp: Some(1000),
            ..wages_codec::ProtoReading::default()
        };
        let message =
            wages_codec::ProtoReadings { readings: vec![reading("s1", 1.0), reading("s1", 1e9), reading("s2", 2.0)] };
        let payload = prost::Message::encode_to_vec(&message);
        let checked = check_message("wages/devices/s1/readings/protobuf", &payload);
        assert_eq!(checked.readings.len(), 1);
        let codes: Vec<_> = checked.rejected.iter().map(|(_, code, _)| *code).collect();
        assert_eq!(codes, ["invalid_field", "client_id_mismatch"]);
        assert_eq!(
            checked.rejected[0].0, b"client_id=s1;session_id=b;value=1000000000;tstamp=1000",
            "quoted as a line"
        );
        // Text on the Protobuf topic is refused whole, and Protobuf on the text topic line by line.
        let text = b"client_id=s1;session_id=b;value=1;tstamp=1";
        assert_eq!(check_message("wages/devices/s1/readings/protobuf", text).rejected[0].1, "syntax");
        assert!(check_message("wages/devices/s1/readings", &payload).readings.is_empty());
    }

    #[test]
    fn whole_messages_are_refused_for_their_topic_or_size() {
        let checked = check_message("wages/devices/s1/status", b"online");
        assert_eq!((checked.client_id, checked.rejected[0].1), (None, "bad_topic"));
        let many = "client_id=s1;session_id=b;value=1;tstamp=1\n".repeat(1001);
        let checked = check_message("wages/devices/s1/readings", many.as_bytes());
        assert_eq!(checked.rejected.len(), 1);
        assert_eq!(checked.rejected[0].1, "too_many_readings");
        assert!(checked.readings.is_empty());
    }
}
