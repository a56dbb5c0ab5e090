//! The MQTT topics of the device protocol (docs/protocol.md): a builder for each and
//! one parser. Everything that names a topic (the pipeline, the embedded broker's gate,
//! the aggregates, the simulators and the firmware API) goes through here.
//!
//! ```
//! use wages_codec::topic::{self, Channel};
//! use wages_codec::ClientId;
//!
//! let id = ClientId::parse("scale-01").unwrap();
//! assert_eq!(topic::device(&id, Channel::Readings), "wages/devices/scale-01/readings");
//! assert_eq!(topic::parse("wages/devices/scale-01/readings/protobuf"), Some((id, Channel::ReadingsProtobuf)));
//! assert_eq!(topic::parse("wages/devices/+/readings"), None);
//! ```

use crate::ClientId;

/// The fleet's firmware offer, retained.
pub const FIRMWARE: &str = "wages/firmware";
/// Every scale's readings in the text or JSON form.
pub const READINGS_FILTER: &str = "wages/devices/+/readings";
/// Every scale's readings in Protobuf.
pub const PROTOBUF_FILTER: &str = "wages/devices/+/readings/protobuf";
/// Every scale's status, retained.
pub const STATUS_FILTER: &str = "wages/devices/+/status";
/// New settings for the ingest pipeline, from a client with the right to publish there
/// (a write token): `{"batch_size":…,"batch_timeout_ms":…,"concurrency":…}`.
pub const PIPELINE_CONFIG: &str = "wages/pipeline/config";

/// What comes before a scale's `client_id` in each of its topics.
const DEVICES: &str = "wages/devices/";

/// What one of a scale's own topics carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// `…/readings`: readings as text or JSON lines, from the scale.
    Readings,
    /// `…/readings/protobuf`: readings as one `wages.v1.Readings`, from the scale.
    ReadingsProtobuf,
    /// `…/status`: `online` or `offline`, retained, from the scale.
    Status,
    /// `…/firmware`: a firmware offer for this scale only, retained, from Wages.
    Firmware,
    /// `…/target`: the yield to stop at, retained, from Wages.
    Target,
    /// `…/state`: whether it is brewing and its latest weight, retained, from Wages.
    State,
    /// `…/session`: the summary of its last extraction, retained, from Wages.
    Session,
}

impl Channel {
    const ALL: [Channel; 7] = [
        Channel::Readings,
        Channel::ReadingsProtobuf,
        Channel::Status,
        Channel::Firmware,
        Channel::Target,
        Channel::State,
        Channel::Session,
    ];

    /// The part of the topic after `wages/devices/{client_id}/`.
    pub fn suffix(self) -> &'static str {
        match self {
            Channel::Readings => "readings",
            Channel::ReadingsProtobuf => "readings/protobuf",
            Channel::Status => "status",
            Channel::Firmware => "firmware",
            Channel::Target => "target",
            Channel::State => "state",
            Channel::Session => "session",
        }
    }
}

/// `wages/devices/{client_id}/{channel}`.
pub fn device(client_id: &ClientId, channel: Channel) -> String {
    format!("{DEVICES}{client_id}/{}", channel.suffix())
}

/// Where node `node_id` publishes its pipeline's figures, retained.
pub fn pipeline_figures(node_id: &str) -> String {
    format!("wages/pipeline/{node_id}/figures")
}

/// The firmware topic for one scale, or the fleet's when there is none.
pub fn firmware(client_id: Option<&ClientId>) -> String {
    client_id.map_or_else(|| FIRMWARE.to_owned(), |id| device(id, Channel::Firmware))
}

/// Splits `wages/devices/{client_id}/{rest}` at the first `/` after the id, without
/// checking either part: `None` for any other topic or an empty `rest`.
pub fn split_device(topic: &str) -> Option<(&str, &str)> {
    let (id, rest) = topic.strip_prefix(DEVICES)?.split_once('/')?;
    (!rest.is_empty()).then_some((id, rest))
}

/// The scale and channel a topic names, if it is one of a scale's own topics with a
/// valid `client_id` (so never a filter with wildcards).
pub fn parse(topic: &str) -> Option<(ClientId, Channel)> {
    let (id, rest) = split_device(topic)?;
    let channel = Channel::ALL.into_iter().find(|c| c.suffix() == rest)?;
    ClientId::parse(id).ok().map(|id| (id, channel))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ClientId {
        ClientId::parse(s).expect("valid id")
    }

    #[test]
    fn every_channel_round_trips() {
        for channel in Channel::ALL {
            assert_eq!(parse(&device(&id("s_1"), channel)), Some((id("s_1"), channel)));
        }
    }

    #[test]
    fn other_topics_are_not_a_scale_s() {
        for topic in [
            FIRMWARE,
            READINGS_FILTER,
            STATUS_FILTER,
            "wages/devices/scale-01",
            "wages/devices/scale-01/",
            "wages/devices//readings",
            "wages/devices/a.b/readings",
            "wages/devices/scale-01/readings/json",
            "wages/devices/scale-01/readings/",
            "wages/devices/scale-01/#",
            "$share/g/wages/devices/scale-01/readings",
            "wages/scale-01/readings",
        ] {
            assert_eq!(parse(topic), None, "{topic}");
        }
    }

    #[test]
    fn splits_at_the_id() {
        assert_eq!(split_device("wages/devices/s1/readings/protobuf"), Some(("s1", "readings/protobuf")));
        assert_eq!(split_device("wages/devices/s1/"), None);
        assert_eq!(split_device("wages/devices/s1"), None);
        assert_eq!(firmware(None), FIRMWARE);
        assert_eq!(firmware(Some(&id("s1"))), "wages/devices/s1/firmware");
    }
}
