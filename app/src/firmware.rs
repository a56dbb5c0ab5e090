//! Firmware rollout: the fleet's current offer and, scale by scale, whether it has taken
//! it (its status reports the offered version), is waiting (online, older version) or is
//! offline. Shared by the `{base}/firmware` page and `GET /api/firmware`.

use leptos::prelude::*;
use wages_codec::FirmwareOffer;
use wages_store::Device;

use crate::error::AppError;

/// Where one scale stands in the rollout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RolloutState {
    /// It reports the offered version.
    Updated,
    /// Online with another version: it has the offer and has not reported taking it yet.
    Pending,
    /// Offline with another version: it gets the offer (retained) when it connects.
    Offline,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RolloutDevice {
    pub client_id: String,
    pub name: String,
    pub online: bool,
    pub firmware_version: Option<String>,
    pub state: RolloutState,
}

/// The current fleet-wide offer and every scale's state against it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Rollout {
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub offer: Option<FirmwareOffer>,
    pub devices: Vec<RolloutDevice>,
    /// Scales that report the offered version, of `total`.
    pub updated: usize,
    pub total: usize,
}

impl Rollout {
    /// Each device against `offer`: not yet updated first (pending, then offline), by name.
    pub fn new(offer: Option<FirmwareOffer>, devices: Vec<Device>) -> Rollout {
        let mut devices: Vec<RolloutDevice> = devices
            .into_iter()
            .map(|d| {
                let current = offer.as_ref().is_some_and(|o| d.firmware_version.as_deref() == Some(o.version()));
                let state = match (current, d.online) {
                    (true, _) => RolloutState::Updated,
                    (false, true) => RolloutState::Pending,
                    (false, false) => RolloutState::Offline,
                };
                RolloutDevice {
                    client_id: d.client_id.to_string(),
                    name: d.name,
                    online: d.online,
                    firmware_version: d.firmware_version,
                    state,
                }
            })
            .collect();
        let rank = |s: RolloutState| match s {
            RolloutState::Pending => 0,
            RolloutState::Offline => 1,
            RolloutState::Updated => 2,
        };
        devices.sort_by(|a, b| rank(a.state).cmp(&rank(b.state)).then_with(|| a.name.cmp(&b.name)));
        let updated = devices.iter().filter(|d| d.state == RolloutState::Updated).count();
        Rollout { offer, total: devices.len(), updated, devices }
    }
}

/// The rollout as it stands, from the registry and the offer the broker holds.
#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn read_rollout(#[server(default)] site: String) -> Result<Rollout, AppError> {
    crate::error::with_status(
        async {
            let sites = crate::people::within(&site)?;
            let offer = crate::pipeline::handle()?.0.firmware_offer();
            let devices =
                expect_context::<wages_store::Registry>().list_in(None, wages_store::MAX_LIST, &sites).await?;
            Ok(Rollout::new(offer, devices))
        }
        .await,
    )
}

/// Publishes an offer to the whole fleet, retained; the answer comes once the broker has it.
#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn offer_firmware(version: String, url: String, sha256: String) -> Result<FirmwareOffer, AppError> {
    crate::error::with_status(
        async {
            let offer = FirmwareOffer::new(&version, &url, &sha256)
                .map_err(|broken| AppError::Invalid { field: broken.field.into(), message: broken.rule })?;
            crate::pipeline::handle()?.0.offer_firmware(offer.clone(), None).await?;
            Ok(offer)
        }
        .await,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn device(id: &str, online: bool, firmware: Option<&str>) -> Device {
        Device {
            client_id: wages_codec::ClientId::parse(id).unwrap(),
            name: id.to_uppercase(),
            created_at: 0,
            updated_at: 0,
            online,
            last_seen_at: None,
            firmware_version: firmware.map(str::to_owned),
            site: None,
        }
    }

    #[test]
    fn scales_are_updated_pending_or_offline_against_the_offer() {
        let offer = FirmwareOffer::new("1.5.0", "https://fw.example/1.5.0.bin", &"a".repeat(64)).unwrap();
        let devices = vec![
            device("a", true, Some("1.5.0")),
            device("b", true, Some("1.4.2")),
            device("c", false, None),
            device("d", false, Some("1.5.0")),
        ];
        let rollout = Rollout::new(Some(offer), devices.clone());
        let states: Vec<_> = rollout.devices.iter().map(|d| (d.client_id.as_str(), d.state)).collect();
        use RolloutState::*;
        assert_eq!(states, [("b", Pending), ("c", Offline), ("a", Updated), ("d", Updated)]);
        assert_eq!((rollout.updated, rollout.total), (2, 4));
        // No offer: nobody is up to date with it.
        assert_eq!(Rollout::new(None, devices).updated, 0);
    }
}
