//! The live hub: readings go out per device as soon as their batch is stored, to
//! whoever watches that device (the live WebSocket, benchmarks); each device's newest
//! reading of every batch, and each change of a device's presence, go to whoever watches
//! the whole fleet (the home dashboard), as [`FleetFrame`]s.
//!
//! Every channel is a bounded broadcast. A viewer that falls behind by more than
//! [`LIVE_BUFFER`] readings skips ahead (it sees `Lagged`); ingestion never waits for one.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use app::devices::FleetFrame;
use axum::extract::ws::Utf8Bytes;
use tokio::sync::broadcast;
use wages_codec::{ClientId, Reading};
use wages_store::Device;

/// Readings a viewer may fall behind before it skips ahead.
pub const LIVE_BUFFER: usize = 1024;

/// A stored reading as the live streams send it: its JSON text frame is made once, in
/// the hub, and shared by every viewer (10,000 viewers must not mean 10,000 encodings).
#[derive(Clone, Debug)]
pub struct LiveReading {
    pub reading: Reading,
    pub json: Utf8Bytes,
}

impl LiveReading {
    fn new(reading: Reading) -> Self {
        let json = serde_json::to_string(&reading).unwrap_or_default();
        LiveReading { reading, json: json.into() }
    }
}

pub struct Hub {
    channels: Mutex<HashMap<ClientId, broadcast::Sender<LiveReading>>>,
    /// Fleet frames, already in JSON.
    fleet: broadcast::Sender<Utf8Bytes>,
    /// Every batch this node stored, whole, for the other nodes.
    batches: broadcast::Sender<std::sync::Arc<[Reading]>>,
    /// Every batch any node stored (this one's and relayed ones), for the aggregates.
    everywhere: broadcast::Sender<std::sync::Arc<[Reading]>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            channels: Mutex::default(),
            fleet: broadcast::channel(LIVE_BUFFER).0,
            batches: broadcast::channel(LIVE_BUFFER).0,
            everywhere: broadcast::channel(LIVE_BUFFER).0,
        }
    }
}

impl Hub {
    /// From now on, each device's newest reading of every stored batch and each presence
    /// change, as JSON [`FleetFrame`]s.
    pub fn subscribe_fleet(&self) -> broadcast::Receiver<Utf8Bytes> {
        self.fleet.subscribe()
    }

    /// Tells the fleet's viewers about a device whose status message arrived.
    pub fn presence(&self, device: &Device) {
        if self.fleet.receiver_count() > 0
            && let Ok(json) = serde_json::to_string(&FleetFrame::Device { device: device.clone() })
        {
            drop(self.fleet.send(json.into()));
        }
    }

    /// The stored readings of `client_id` from now on.
    pub fn subscribe(&self, client_id: ClientId) -> broadcast::Receiver<LiveReading> {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        channels.entry(client_id).or_insert_with(|| broadcast::channel(LIVE_BUFFER).0).subscribe()
    }

    /// Every batch this node stores from now on (see [`crate::cluster`]).
    pub fn subscribe_batches(&self) -> broadcast::Receiver<std::sync::Arc<[Reading]>> {
        self.batches.subscribe()
    }

    /// Every batch any node stores from now on (see [`crate::aggregates`]).
    pub fn subscribe_everywhere(&self) -> broadcast::Receiver<std::sync::Arc<[Reading]>> {
        self.everywhere.subscribe()
    }

    /// Readings this node stored: the whole batch to the other nodes (see
    /// [`crate::cluster`]), then to viewers and aggregates here as [`Hub::relay`] does.
    pub fn publish(&self, readings: &[Reading]) {
        if self.batches.receiver_count() > 0 {
            drop(self.batches.send(readings.into()));
        }
        self.relay(readings);
    }

    /// Sends readings to their devices' viewers and the aggregates (another node stored
    /// them, or this one did); forgets devices nobody watches.
    pub fn relay(&self, readings: &[Reading]) {
        if self.everywhere.receiver_count() > 0 {
            drop(self.everywhere.send(readings.into()));
        }
        self.to_viewers(readings);
    }

    /// Whether anyone here would get relayed readings: a viewer, the fleet's, or the
    /// aggregates. When not, another node's readings need not even be decoded.
    pub fn has_followers(&self) -> bool {
        self.everywhere.receiver_count() > 0
            || self.fleet.receiver_count() > 0
            || !self.channels.lock().unwrap_or_else(PoisonError::into_inner).is_empty()
    }

    /// Each reading to its device's viewers, each device's newest to the fleet's.
    fn to_viewers(&self, readings: &[Reading]) {
        if self.fleet.receiver_count() > 0 {
            let mut seen = HashSet::new();
            for r in readings.iter().rev().filter(|r| seen.insert(r.client_id)) {
                drop(self.fleet.send(LiveReading::new(*r).json));
            }
        }
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if channels.is_empty() {
            return;
        }
        let mut unwatched = false;
        for r in readings {
            if let Some(tx) = channels.get(&r.client_id) {
                unwatched |= tx.send(LiveReading::new(*r)).is_err();
            }
        }
        if unwatched {
            channels.retain(|_, tx| tx.receiver_count() > 0);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn reading(id: &str, t: u64) -> Reading {
        wages_codec::decode_line(format!("client_id={id};session_id=s;value=1;tstamp={t}").as_bytes()).unwrap()
    }

    #[test]
    fn viewers_get_their_device_only_and_slow_ones_skip_ahead() {
        let hub = Hub::default();
        let mut a = hub.subscribe(ClientId::parse("a").unwrap());
        hub.publish(&[reading("a", 1), reading("b", 2), reading("a", 3)]);
        assert_eq!(a.try_recv().unwrap().reading.tstamp.millis(), 1);
        assert_eq!(a.try_recv().unwrap().reading.tstamp.millis(), 3);
        assert!(a.try_recv().is_err());
        let many: Vec<_> = (0..LIVE_BUFFER as u64 + 10).map(|t| reading("a", t)).collect();
        hub.publish(&many);
        assert!(matches!(a.try_recv(), Err(broadcast::error::TryRecvError::Lagged(10))));
        assert_eq!(a.try_recv().unwrap().reading.tstamp.millis(), 10);
        drop(a);
        hub.publish(&[reading("a", 1)]);
        assert!(hub.channels.lock().unwrap().is_empty());
    }

    #[test]
    fn relayed_readings_are_wanted_only_where_someone_follows() {
        let hub = Hub::default();
        assert!(!hub.has_followers());
        let _cluster = hub.subscribe_batches(); // sending to other nodes is not following
        assert!(!hub.has_followers());
        let viewer = hub.subscribe(ClientId::parse("a").unwrap());
        assert!(hub.has_followers());
        drop(viewer);
        hub.relay(&[reading("a", 1)]);
        assert!(!hub.has_followers());
        let fleet = hub.subscribe_fleet();
        assert!(hub.has_followers());
        drop(fleet);
        let _aggregates = hub.subscribe_everywhere();
        assert!(hub.has_followers());
    }

    #[test]
    fn the_fleet_gets_each_devices_newest_reading_of_a_batch_and_presence() {
        let hub = Hub::default();
        let mut fleet = hub.subscribe_fleet();
        hub.publish(&[reading("a", 1), reading("b", 2), reading("a", 3), reading("a", 4)]);
        let mut got: Vec<_> = std::iter::from_fn(|| fleet.try_recv().ok())
            .map(|json| match serde_json::from_str(&json).unwrap() {
                FleetFrame::Reading(r) => (r.client_id.to_string(), r.tstamp.millis()),
                FleetFrame::Device { .. } => panic!("a reading was expected: {json}"),
            })
            .collect();
        got.sort();
        assert_eq!(got, [("a".to_owned(), 4), ("b".to_owned(), 2)]);
        let device = Device {
            client_id: ClientId::parse("a").unwrap(),
            name: "A".into(),
            created_at: 0,
            updated_at: 0,
            online: true,
            last_seen_at: Some(5),
            firmware_version: Some("1.0".into()),
            site: None,
        };
        hub.presence(&device);
        let frame: FleetFrame = serde_json::from_str(&fleet.try_recv().unwrap()).unwrap();
        assert_eq!(frame, FleetFrame::Device { device });
    }
}
