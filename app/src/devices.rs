//! Server functions for the devices page: list, register, rename, delete, MQTT
//! passwords (the scale's, and the simulator tab's). They reach
//! the registry through Leptos context and return [`AppError`].

use leptos::prelude::*;
use wages_store::Device;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::error::with_status;

/// Devices whose id or name contains `q` (all when empty), by `client_id`.
#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn list_devices(q: String) -> Result<Vec<Device>, AppError> {
    let registry = expect_context::<wages_store::Registry>();
    let found = async { Ok(registry.list_in(Some(&q), wages_store::MAX_LIST, &crate::people::within("")?).await?) };
    with_status(found.await)
}

/// Registers a scale; the answer carries its MQTT password, shown this once.
#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn register_device(client_id: String, name: String) -> Result<wages_store::Registered, AppError> {
    let registry = expect_context::<wages_store::Registry>();
    let created = async { Ok(registry.register(&wages_store::NewDevice::parse(&client_id, &name)?).await?) };
    with_status(created.await)
}

/// A new MQTT password for a scale; the old one stops working at once.
#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn rotate_device_password(client_id: String) -> Result<wages_store::MqttCredential, AppError> {
    let rotated = async {
        let id = registered(&client_id).await?.client_id;
        Ok(expect_context::<wages_store::Registry>().credentials().rotate(&id).await?)
    };
    with_status(rotated.await)
}

/// A password that lets the simulator tab connect as `client_id` for a few hours,
/// confined to that scale's topics like the scale itself; the scale's own password is
/// left as it is. The scale need not be registered: its readings then go where any
/// unknown scale's go (registered automatically, or dead letters).
#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn simulator_password(client_id: String) -> Result<String, AppError> {
    let id = wages_codec::ClientId::parse(&client_id)
        .map_err(|e| AppError::Invalid { field: "client_id".into(), message: e.to_string() });
    with_status(id.map(|id| expect_context::<wages_store::Registry>().credentials().ticket(&id)))
}

/// How many readings of scale `client_id` are stored, over all its sessions: what the
/// simulator tab counts from, so a reload or another browser sees the same number.
#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn stored_readings(client_id: String) -> Result<u64, AppError> {
    let id = wages_codec::ClientId::parse(&client_id)
        .map_err(|e| AppError::Invalid { field: "client_id".into(), message: e.to_string() })?;
    Ok(expect_context::<wages_store::Registry>().brews().stored_readings(&id).await?)
}

#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn rename_device(client_id: String, name: String) -> Result<Device, AppError> {
    let id =
        wages_codec::ClientId::parse(&client_id).map_err(|_| AppError::NotFound(format!("no device {client_id}")))?;
    let name = wages_store::DeviceName::parse(&name)?;
    let registry = expect_context::<wages_store::Registry>();
    Ok(registry.rename(&id, &name).await?)
}

#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn delete_device(client_id: String) -> Result<(), AppError> {
    let id =
        wages_codec::ClientId::parse(&client_id).map_err(|_| AppError::NotFound(format!("no device {client_id}")))?;
    let registry = expect_context::<wages_store::Registry>();
    Ok(registry.delete(&id).await?)
}

/// The registered scale `client_id` names, or a 404.
#[cfg(feature = "ssr")]
async fn registered(client_id: &str) -> Result<Device, AppError> {
    let id = wages_codec::ClientId::parse(client_id)
        .map_err(|_| AppError::NotFound(format!("no device with client_id {client_id}")))?;
    Ok(expect_context::<wages_store::Registry>().require(&id).await?)
}

#[cfg(feature = "ssr")]
use wages_codec::clock::now_ms;

/// One scale, its recipe, and its sessions, newest first, for its page.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScaleHistory {
    pub device: Device,
    pub recipe: crate::brews::RecipeView,
    pub sessions: Vec<wages_sessions::Summary>,
}

/// Sessions the device page lists.
pub const HISTORY_LENGTH: u32 = 50;

/// A scale, its recipe, and its most recent sessions with their summaries; `before` (ms)
/// pages back: only sessions that started before it.
#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn read_scale(client_id: String, #[server(default)] before: Option<u64>) -> Result<ScaleHistory, AppError> {
    let found = async {
        let device = registered(&client_id).await?;
        let id = device.client_id;
        let now = now_ms();
        let readings = expect_context::<wages_store::ReadingsStore>();
        let sessions = readings.sessions(&id, HISTORY_LENGTH, before, now).await?;
        let brews = expect_context::<wages_store::Registry>().brews();
        let recipe = crate::brews::RecipeView { recipe: brews.recipe(&id).await?, beans: brews.beans(false).await? };
        Ok(ScaleHistory { device, recipe, sessions })
    };
    with_status(found.await)
}

/// The stored readings of the scale's newest session if it is still running (a reading
/// within the last 10 s), with the measures they carried, else none: what the live graph
/// starts from.
#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn live_readings(client_id: String) -> Result<Vec<wages_codec::Reading>, AppError> {
    let found = async {
        let id = registered(&client_id).await?.client_id;
        let now = now_ms();
        let readings = expect_context::<wages_store::ReadingsStore>();
        match readings.sessions(&id, 1, None, now).await?.first() {
            Some(newest) if newest.live => {
                let mut rows = readings.readings(&id, &newest.session_id).await?;
                let series = readings.series(&id, &newest.session_id).await?;
                wages_store::series::restore_measures(&mut rows, &series);
                Ok(rows)
            }
            _ => Ok(Vec::new()),
        }
    };
    with_status(found.await)
}

/// A scale on the home dashboard: the device and its newest reading, if any.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScaleCard {
    pub device: Device,
    pub latest: Option<Latest>,
}

/// A scale's newest reading and the session it belongs to.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Latest {
    pub session_id: String,
    pub grams: f64,
    /// When the session's first and newest readings were taken (ms since the epoch).
    pub started_at: u64,
    pub at: u64,
    /// A reading within the last 10 s: the scale is brewing.
    pub live: bool,
}

impl Latest {
    /// The newer of two views of a scale's newest reading: what the live stream brought,
    /// and what was read back from storage, which may not hold the stream's last
    /// readings yet (a card fetched while the batch is still being stored).
    pub fn newer(streamed: Option<Latest>, read: Option<Latest>) -> Option<Latest> {
        match (streamed, read) {
            (Some(streamed), Some(read)) if streamed.at > read.at => Some(streamed),
            (streamed, None) => streamed,
            (_, read) => read,
        }
    }

    /// Takes a reading the live stream brought: the same session goes on, another starts afresh.
    pub fn follow(latest: &mut Option<Latest>, reading: &wages_codec::Reading) {
        let at = reading.tstamp.millis();
        let session_id = reading.session_id.as_str();
        match latest {
            Some(l) if l.session_id == session_id && at < l.at => {}
            Some(l) if l.session_id == session_id => (l.grams, l.at, l.live) = (reading.value.get(), at, true),
            _ => {
                *latest = Some(Latest {
                    session_id: session_id.to_owned(),
                    grams: reading.value.get(),
                    started_at: at,
                    at,
                    live: true,
                });
            }
        }
    }
}

/// A frame of the fleet's live stream (`{base}/api/live`): a scale's newest reading of a
/// stored batch, or the scale itself, `{"device": {…}}`, when its status message arrives.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum FleetFrame {
    Device { device: Device },
    Reading(wages_codec::Reading),
}

/// Every scale for the home dashboard, in [`dashboard_order`], and the server's clock.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Fleet {
    pub now: u64,
    pub scales: Vec<ScaleCard>,
}

/// Scales the dashboard shows; the Scales page lists and searches all of them.
pub const FLEET_SIZE: u32 = 200;

/// Brewing scales first, then the most recently used, then those never used by name.
pub fn dashboard_order(scales: &mut [ScaleCard]) {
    scales.sort_by(|a, b| {
        let key = |c: &ScaleCard| c.latest.as_ref().map(|l| (l.live, l.at));
        key(b).cmp(&key(a)).then_with(|| a.device.name.cmp(&b.device.name))
    });
}

/// Every registered scale (up to [`FLEET_SIZE`]) with its newest reading.
#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn read_fleet(#[server(default)] site: String) -> Result<Fleet, AppError> {
    let found = async {
        let sites = crate::people::within(&site)?;
        let devices = expect_context::<wages_store::Registry>().list_in(None, FLEET_SIZE, &sites).await?;
        let now = now_ms();
        let mut scales = Vec::with_capacity(devices.len());
        for device in devices {
            scales.push(card_of(device, now).await?);
        }
        dashboard_order(&mut scales);
        Ok(Fleet { now, scales })
    };
    with_status(found.await)
}

/// One scale's dashboard card: what the dashboard fetches when the live stream brings a
/// session it has not seen start, or a scale registered since it opened.
#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn read_scale_card(client_id: String) -> Result<ScaleCard, AppError> {
    let found = async { card_of(registered(&client_id).await?, now_ms()).await };
    with_status(found.await)
}

#[cfg(feature = "ssr")]
async fn card_of(device: Device, now: u64) -> Result<ScaleCard, AppError> {
    let readings = expect_context::<wages_store::ReadingsStore>();
    let newest = readings.sessions(&device.client_id, 1, None, now).await?.into_iter().next();
    let latest = newest.map(|s| Latest {
        session_id: s.session_id.to_string(),
        grams: s.final_weight,
        started_at: s.started_at,
        at: s.ended_at,
        live: s.live,
    });
    Ok(ScaleCard { device, latest })
}

/// One session for its page: its summary and graph, the device's other sessions to
/// compare with, and the graph of the session compared, if any.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SessionView {
    pub device_name: String,
    /// The summary with what was brewed.
    pub shot: ShotParts,
    /// The beans library's current beans, to pick from.
    pub beans: Vec<wages_store::Beans>,
    pub points: Vec<wages_sessions::GraphPoint>,
    /// Newest first, without this one.
    pub others: Vec<String>,
    /// The shots overlaid, in the order asked.
    pub compared: Vec<Compared>,
    /// Whether the curves are aligned at their first drop in the cup (else at their start).
    pub at_first_drop: bool,
    /// The code of the shot's share link, if it has one; told only to those who may share.
    pub share: Option<String>,
    /// What the machine measured beside the weight, on the weight curve's clock.
    pub machine: Vec<MachineCurve>,
}

/// One series beside the weight (pressure, flow, a temperature, water dispensed) as the
/// graph draws it: (seconds on the weight curve's clock, value in its unit).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MachineCurve {
    pub kind: wages_store::series::SeriesKind,
    pub points: Vec<(f64, f64)>,
}

/// A shot as the session page receives it: what [`wages_store::Shot::new`] makes one of.
/// The page works out the figures itself, which keeps the reader of `Shot`'s flattened
/// JSON (a generic one that buffers every field) out of the browser.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ShotParts {
    pub summary: wages_sessions::Summary,
    pub details: wages_store::ShotDetails,
    pub beans: Option<wages_store::Beans>,
}

impl ShotParts {
    pub fn shot(self) -> wages_store::Shot {
        wages_store::Shot::new(self.summary, self.details, self.beans)
    }
}

/// A shot overlaid on another's page: `client_id/session_id`, what it was, its curve.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Compared {
    pub label: String,
    pub shot: ShotParts,
    pub points: Vec<wages_sessions::GraphPoint>,
    /// What its machine measured beside the weight, if anything.
    pub machine: Vec<MachineCurve>,
}

/// Most shots overlaid on one's page: four on one graph.
pub const MAX_COMPARED: usize = 3;

/// `client_id/session_id` pairs separated by commas; empty for none.
pub fn compare_list(compare: &str) -> Result<Vec<(wages_codec::ClientId, wages_codec::SessionId)>, AppError> {
    let invalid = |message: &str| AppError::Invalid { field: "compare".into(), message: message.into() };
    let list: Vec<&str> = compare.split(',').map(str::trim).filter(|c| !c.is_empty()).collect();
    if list.len() > MAX_COMPARED {
        return Err(invalid("takes at most 3 other shots (four on one graph)"));
    }
    list.into_iter()
        .map(|one| {
            let (id, sid) = one.split_once('/').ok_or_else(|| invalid("must be client_id/session_id"))?;
            match (wages_codec::ClientId::parse(id), wages_codec::SessionId::parse(sid)) {
                (Ok(id), Ok(sid)) => Ok((id, sid)),
                _ => Err(AppError::NotFound(format!("nothing to compare: no session {one}"))),
            }
        })
        .collect()
}

/// A session of a scale, with up to three others overlaid (`compare`: `client_id/session_id`
/// separated by commas, or empty), aligned at their starts or (`align` = `drop`) at
/// their first drops.
#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn read_session(
    client_id: String,
    session_id: String,
    compare: String,
    align: String,
) -> Result<SessionView, AppError> {
    use wages_codec::{ClientId, SessionId};
    let found = async {
        let readings = expect_context::<wages_store::ReadingsStore>();
        let registry = expect_context::<wages_store::Registry>();
        let not_found = || AppError::NotFound(format!("no session {session_id} of scale {client_id}"));
        let (Ok(id), Ok(sid)) = (ClientId::parse(&client_id), SessionId::parse(&session_id)) else {
            return Err(not_found());
        };
        let device = registry.require(&id).await?;
        let (summary, rows) = readings.session_with_readings(&id, &sid, now_ms()).await?.ok_or_else(not_found)?;
        let others = readings
            .sessions(&id, 20, None, now_ms())
            .await?
            .into_iter()
            .map(|s| s.session_id.to_string())
            .filter(|s| *s != session_id)
            .collect();
        let brews = registry.brews();
        let at_first_drop = align == "drop";
        let align_curve = |points: Vec<wages_sessions::GraphPoint>| match wages_sessions::first_drop(&points) {
            Some(drop) if at_first_drop => wages_sessions::shifted(&points, drop),
            _ => points,
        };
        // The series beside the weight, on the weight curve's clock (its first reading,
        // or the shot's start when it has none), moved with it when aligned.
        let machine_of = |series: Vec<wages_store::series::Series>, rows: &[wages_codec::Reading], started_at: u64| {
            let shift =
                wages_sessions::first_drop(&wages_sessions::graph(rows)).filter(|_| at_first_drop).unwrap_or(0.0);
            let origin = rows.first().map_or(started_at, |r| r.tstamp.millis());
            #[allow(clippy::cast_precision_loss)] // ms within a shot are far below 2^53
            let curves: Vec<MachineCurve> = series
                .into_iter()
                .map(|s| MachineCurve {
                    kind: s.kind,
                    points: s.points.iter().map(|&(t, v)| ((t as f64 - origin as f64) / 1000.0 - shift, v)).collect(),
                })
                .collect();
            curves
        };
        let weight = wages_sessions::graph(&rows);
        let machine = machine_of(readings.series(&id, &sid).await?, &rows, summary.started_at);
        let mut compared = Vec::new();
        for (other_id, other_sid) in compare_list(&compare)? {
            let missing = || AppError::NotFound(format!("nothing to compare: no session {other_id}/{other_sid}"));
            let (other_summary, other) =
                readings.session_with_readings(&other_id, &other_sid, now_ms()).await?.ok_or_else(missing)?;
            if other.is_empty() {
                return Err(missing());
            }
            let (details, beans) = brews.details(&other_id, &other_sid).await?.unwrap_or_default();
            let other_machine =
                machine_of(readings.series(&other_id, &other_sid).await?, &other, other_summary.started_at);
            compared.push(Compared {
                label: format!("{other_id}/{other_sid}"),
                shot: ShotParts { summary: other_summary, details, beans },
                points: align_curve(wages_sessions::graph(&other)),
                machine: other_machine,
            });
        }
        let (details, beans) = brews.details(&id, &sid).await?.unwrap_or_default();
        // Told to whoever may share (the rights table's rule for `share_shot`).
        let may_share = crate::rights::server_fn_rule("share_shot")
            .and_then(|rule| rule.need.role())
            .is_some_and(|need| crate::people::identity().is_ok_and(|who| who.role() >= need));
        let share =
            if may_share { registry.shares().of_shot(id.as_str(), sid.as_str()).await?.map(|s| s.code) } else { None };
        Ok(SessionView {
            device_name: device.name,
            shot: ShotParts { summary, details, beans },
            beans: brews.beans(false).await?,
            points: align_curve(weight),
            others,
            compared,
            at_first_drop,
            share,
            machine,
        })
    };
    with_status(found.await)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_card_read_back_keeps_the_newer_reading_the_stream_brought() {
        let at = |at: u64| Some(Latest { session_id: "s".into(), grams: 9.5, started_at: 0, at, live: true });
        assert_eq!(Latest::newer(at(1900), at(1800)), at(1900), "storage not caught up yet");
        assert_eq!(Latest::newer(at(1900), None), at(1900), "nothing stored yet");
        assert_eq!(Latest::newer(at(1800), at(1900)), at(1900));
        assert_eq!(Latest::newer(None, at(1900)), at(1900));
        assert_eq!(Latest::newer(None, None), None);
    }

    fn card(id: &str, name: &str, latest: Option<(bool, u64)>) -> ScaleCard {
        let device = Device {
            client_id: wages_codec::ClientId::parse(id).unwrap(),
            name: name.into(),
            created_at: 0,
            updated_at: 0,
            online: false,
            last_seen_at: None,
            firmware_version: None,
            site: None,
        };
        let latest = latest.map(|(live, at)| Latest { session_id: "s".into(), grams: 1.0, started_at: at, at, live });
        ScaleCard { device, latest }
    }

    #[test]
    fn the_dashboard_puts_brewing_scales_first_then_recent_ones_then_the_rest_by_name() {
        let mut scales = vec![
            card("a", "Zed", None),
            card("b", "Old", Some((false, 10))),
            card("c", "Brewing", Some((true, 5))),
            card("d", "Alpha", None),
            card("e", "Recent", Some((false, 20))),
        ];
        dashboard_order(&mut scales);
        let names: Vec<_> = scales.iter().map(|c| c.device.name.as_str()).collect();
        assert_eq!(names, ["Brewing", "Recent", "Old", "Alpha", "Zed"]);
    }

    #[test]
    fn a_streamed_reading_carries_its_session_on_or_starts_another() {
        let reading = |session: &str, value: f64, t: u64| {
            wages_codec::decode_line(format!("client_id=a;session_id={session};value={value};tstamp={t}").as_bytes())
                .unwrap()
        };
        let mut latest = None;
        Latest::follow(&mut latest, &reading("s1", 1.0, 1000));
        Latest::follow(&mut latest, &reading("s1", 5.0, 3000));
        Latest::follow(&mut latest, &reading("s1", 4.0, 2000));
        let l = latest.clone().unwrap();
        assert_eq!((l.session_id.as_str(), l.grams, l.started_at, l.at, l.live), ("s1", 5.0, 1000, 3000, true));
        Latest::follow(&mut latest, &reading("s2", 0.5, 9000));
        let l = latest.unwrap();
        assert_eq!((l.session_id.as_str(), l.grams, l.started_at, l.at), ("s2", 0.5, 9000, 9000));
    }
}
