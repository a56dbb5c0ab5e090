//! The embedded MQTT broker and its front door.
//!
//! - [`broker`]: rumqttd inside the process, on a private loopback port.
//! - [`gate`]: every outside connection passes through it: device passwords and API
//!   tokens, each scale kept to its own topics (docs/security.md).
//! - [`ws`]: MQTT over WebSocket at `{base}/mqtt`, through the gate.

use wages_codec::MAX_MESSAGE_BYTES;

pub mod broker;
pub mod gate;
pub mod ws;

/// Room for the MQTT header around the largest payload the codec accepts: the largest
/// packet the broker, the gate, MQTT over WebSocket and the pipeline take.
pub const MAX_PACKET_BYTES: usize = MAX_MESSAGE_BYTES + 1024;
/// The user name the gate and the pipeline present to the embedded broker.
pub const INTERNAL_USER: &str = "wages-internal";
