//! The embedded MQTT broker and its front door.
//!
//! - [`broker`]: rumqttd inside the process, on a private loopback port.
//! - [`gate`]: every outside connection passes through it: device passwords and API
//!   tokens, each scale kept to its own topics (docs/security.md).
//! - [`relay`]: an admitted connection's packets: readings into the pipeline, the rest
//!   to the broker, and every answer back to the client in its order.
//! - [`v5`]: MQTT 5 clients, translated at the gate for the 3.1.1 broker behind it.
//! - [`ws`]: MQTT over WebSocket at `{base}/mqtt`, through the gate.

use std::sync::Arc;

use rumqttc::{MqttOptions, TlsConfiguration, Transport};
use wages_codec::MAX_MESSAGE_BYTES;

use crate::config::BrokerUrl;
use crate::tls::TlsError;

pub mod broker;
pub mod gate;
pub mod relay;
pub mod v5;
pub mod ws;

/// Room for the MQTT header around the largest payload the codec accepts: the largest
/// packet the broker, the gate, MQTT over WebSocket and the pipeline take.
pub const MAX_PACKET_BYTES: usize = MAX_MESSAGE_BYTES + 1024;
/// Room made in a connection's buffer before each socket read. A scale's messages are a
/// few hundred bytes and a fleet holds thousands of buffers, so it starts small; a
/// larger packet grows the buffer as it arrives.
pub const READ_ROOM: usize = 4 * 1024;
/// The user name the gate and the pipeline present to the embedded broker.
pub const INTERNAL_USER: &str = "wages-internal";

/// A broker to connect to: its address and login, with TLS set up for `mqtts://`.
#[derive(Clone, Debug)]
pub struct Target {
    pub broker: BrokerUrl,
    /// The TLS set-up when `broker.tls` (see [`crate::tls`]).
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Target {
    /// Loads the system's certificate authorities for an `mqtts://` broker.
    pub fn new(broker: BrokerUrl) -> Result<Target, TlsError> {
        let tls = if broker.tls { Some(crate::tls::client_config()?) } else { None };
        Ok(Target { broker, tls })
    }

    /// The options every client of ours starts from: address, login and TLS.
    pub fn options(&self, client_id: &str) -> MqttOptions {
        let mut options = MqttOptions::new(client_id, self.broker.host.clone(), self.broker.port);
        if let (Some(user), Some(pass)) = (&self.broker.username, &self.broker.password) {
            options.set_credentials(user, pass);
        }
        if let Some(tls) = &self.tls {
            options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls.clone())));
        }
        options
    }
}
