//! Bluetooth coffee scales, as a browser tab (Web Bluetooth) talks to them: which scale
//! an advertised name belongs to, which GATT service and characteristics carry its
//! notifications and take its commands, what its notifications say, and the bytes of
//! its commands. Pure functions and a small framing buffer; no I/O, so the same code
//! runs in the browser (wasm32) and natively (tests, fuzzing).
//!
//! One module per scale family, each naming the public documents and open-source
//! drivers its byte layouts come from:
//!
//! - [`decent`]: Decent Scale and Half Decent Scale.
//! - [`acaia`]: Acaia Lunar, Pearl, Pearl S, Pyxis and Cinco, the older protocol (GATT
//!   service `0x1820`) and the newer one (Microchip's transparent UART service).
//! - [`felicita`]: Felicita Arc, Incline and Parallel.
//! - [`bookoo`]: Bookoo Themis (Mini, Ultra).
//!
//! ```
//! use wages_scales::{Command, Decoder, Event, Family};
//!
//! let family = Family::from_name("Decent Scale").unwrap();
//! let mut decoder = Decoder::new(family);
//! // A stable weight of 18.3 g (183 tenths), as the scale notifies it.
//! let events = decoder.feed(&[0x03, 0xCE, 0x00, 0xB7, 0x00, 0x00, 0x7A]);
//! assert_eq!(events, [Event::Weight { grams: 18.3, stable: Some(true) }]);
//! assert_eq!(family.command(Command::Tare), Some(vec![0x03, 0x0F, 0x00, 0x00, 0x00, 0x01, 0x0D]));
//! ```

pub mod acaia;
pub mod bookoo;
pub mod decent;
pub mod felicita;

/// A family of scales that speak one protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    Decent,
    /// Acaia's older protocol: one characteristic for both ways (Lunar before 2021, Pearl).
    AcaiaOld,
    /// Acaia's newer protocol: a write and a notify characteristic (Pyxis, Pearl S, Lunar
    /// from 2021, Cinco).
    AcaiaNew,
    Felicita,
    Bookoo,
}

/// Where a family's notifications come from and its commands go: full 128-bit UUIDs in
/// lower case, as Web Bluetooth takes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gatt {
    pub service: &'static str,
    pub notify: &'static str,
    pub write: &'static str,
}

/// Something a scale said.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    /// The weight on the scale, in grams; `stable` where the scale says whether it settled.
    Weight { grams: f64, stable: Option<bool> },
    /// The scale's own timer, in milliseconds.
    Timer { millis: u32 },
    /// The flow the scale computes, in grams a second.
    Flow { grams_per_second: f64 },
    /// Charge left, in percent (0–100).
    Battery { percent: u8 },
    /// A button pressed on the scale, or an event of the scale's own timer.
    Button(Button),
}

/// What a button on the scale (or the scale's automatic timer) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Button {
    Tare,
    TimerStart,
    TimerStop,
    TimerReset,
    /// A button whose meaning the protocol leaves to the app (the Decent Scale's): its
    /// number on the scale, and whether it was held.
    Other {
        number: u8,
        long: bool,
    },
}

/// What a tab can ask of a scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Tare,
    StartTimer,
    StopTimer,
    ResetTimer,
}

/// Every family, for a browser's device picker and for tests.
pub const FAMILIES: [Family; 5] =
    [Family::Decent, Family::AcaiaOld, Family::AcaiaNew, Family::Felicita, Family::Bookoo];

impl Family {
    /// The family a scale's advertised name belongs to. Acaia's names do not tell its two
    /// protocols apart: this returns the newer one, and [`Family::from_services`] the
    /// right one once the scale's services are known.
    pub fn from_name(name: &str) -> Option<Family> {
        let upper = name.trim().to_ascii_uppercase();
        let starts = |prefixes: &[&str]| prefixes.iter().any(|p| upper.starts_with(&p.to_ascii_uppercase()));
        if starts(decent::NAME_PREFIXES) {
            Some(Family::Decent)
        } else if starts(acaia::NAME_PREFIXES) {
            Some(Family::AcaiaNew)
        } else if starts(felicita::NAME_PREFIXES) {
            Some(Family::Felicita)
        } else if starts(bookoo::NAME_PREFIXES) {
            Some(Family::Bookoo)
        } else {
            None
        }
    }

    /// The family whose GATT service is among `services` (UUIDs in any case), preferring
    /// the family the name suggested.
    pub fn from_services<'a>(named: Option<Family>, services: impl IntoIterator<Item = &'a str>) -> Option<Family> {
        let services: Vec<String> = services.into_iter().map(str::to_ascii_lowercase).collect();
        let offers = |f: &Family| services.iter().any(|s| s == f.gatt().service);
        if let Some(named) = named.filter(offers) {
            return Some(named);
        }
        if matches!(named, Some(Family::AcaiaNew | Family::AcaiaOld)) {
            return [Family::AcaiaNew, Family::AcaiaOld].into_iter().find(offers);
        }
        FAMILIES.into_iter().find(offers)
    }

    /// The maker and models, for people.
    pub fn label(self) -> &'static str {
        match self {
            Family::Decent => "Decent Scale",
            Family::AcaiaOld => "Acaia (Lunar before 2021, Pearl)",
            Family::AcaiaNew => "Acaia (Pyxis, Pearl S, Lunar 2021, Cinco)",
            Family::Felicita => "Felicita (Arc, Incline, Parallel)",
            Family::Bookoo => "Bookoo Themis",
        }
    }

    /// Where notifications come from and commands go.
    pub fn gatt(self) -> Gatt {
        match self {
            Family::Decent => decent::GATT,
            Family::AcaiaOld => acaia::GATT_OLD,
            Family::AcaiaNew => acaia::GATT_NEW,
            Family::Felicita => felicita::GATT,
            Family::Bookoo => bookoo::GATT,
        }
    }

    /// The advertised-name prefixes a device picker filters on, as the scales write them
    /// (Web Bluetooth's `namePrefix` is case-sensitive).
    pub fn name_prefixes(self) -> &'static [&'static str] {
        match self {
            Family::Decent => decent::NAME_PREFIXES,
            Family::AcaiaOld | Family::AcaiaNew => acaia::NAME_PREFIXES,
            Family::Felicita => felicita::NAME_PREFIXES,
            Family::Bookoo => bookoo::NAME_PREFIXES,
        }
    }

    /// The bytes of `command`, or `None` when the scale has no such command.
    pub fn command(self, command: Command) -> Option<Vec<u8>> {
        match self {
            Family::Decent => Some(decent::command(command).to_vec()),
            Family::AcaiaOld | Family::AcaiaNew => Some(acaia::command(command)),
            Family::Felicita => Some(vec![felicita::command(command)]),
            Family::Bookoo => Some(bookoo::command(command).to_vec()),
        }
    }

    /// What to write once notifications are on, before the scale sends weights.
    pub fn hello(self) -> Vec<Vec<u8>> {
        match self {
            Family::Decent => vec![decent::LED_ON_WITH_HEARTBEAT.to_vec()],
            Family::AcaiaOld => acaia::hello(false),
            Family::AcaiaNew => acaia::hello(true),
            Family::Felicita | Family::Bookoo => Vec::new(),
        }
    }

    /// What to write again and again to keep the scale talking, and how often
    /// (milliseconds); `None` for scales that need nothing.
    pub fn keep_alive(self) -> Option<(Vec<Vec<u8>>, u32)> {
        match self {
            Family::Decent => Some((vec![decent::HEARTBEAT.to_vec()], decent::HEARTBEAT_EVERY_MS)),
            Family::AcaiaOld => Some((acaia::keep_alive(false), acaia::HEARTBEAT_EVERY_OLD_MS)),
            Family::AcaiaNew => Some((acaia::keep_alive(true), acaia::HEARTBEAT_EVERY_NEW_MS)),
            Family::Felicita | Family::Bookoo => None,
        }
    }

    /// A stable name for the family, for settings and logs.
    pub fn id(self) -> &'static str {
        match self {
            Family::Decent => "decent",
            Family::AcaiaOld => "acaia-old",
            Family::AcaiaNew => "acaia-new",
            Family::Felicita => "felicita",
            Family::Bookoo => "bookoo",
        }
    }

    /// The family of [`Family::id`].
    pub fn from_id(id: &str) -> Option<Family> {
        FAMILIES.into_iter().find(|f| f.id() == id)
    }
}

/// Turns a scale's notifications into [`Event`]s. Most scales send one whole message per
/// notification; Acaia's may be split over several or packed into one, so the decoder
/// keeps what is left of a message until the rest comes (a message is at most 260 bytes).
#[derive(Clone, Debug)]
pub struct Decoder {
    family: Family,
    pending: Vec<u8>,
}

impl Decoder {
    pub fn new(family: Family) -> Decoder {
        Decoder { family, pending: Vec::new() }
    }

    pub fn family(&self) -> Family {
        self.family
    }

    /// The events in one notification's bytes (and any kept from earlier ones). Bytes that
    /// make no message the family knows are skipped: a scale sends messages an app need
    /// not understand.
    pub fn feed(&mut self, notification: &[u8]) -> Vec<Event> {
        match self.family {
            Family::Decent => decent::decode(notification),
            Family::AcaiaOld | Family::AcaiaNew => acaia::decode(&mut self.pending, notification),
            Family::Felicita => felicita::decode(notification),
            Family::Bookoo => bookoo::decode(notification),
        }
    }
}

/// XOR of `bytes`: the check byte of Decent's and Bookoo's messages.
fn xor(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |acc, b| acc ^ b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertised_names_find_their_family() {
        assert_eq!(Family::from_name("Decent Scale"), Some(Family::Decent));
        assert_eq!(Family::from_name("LUNAR-2A3B4C"), Some(Family::AcaiaNew));
        assert_eq!(Family::from_name("PROCHBT001"), Some(Family::AcaiaNew));
        assert_eq!(Family::from_name("PEARLS-ABCDEF"), Some(Family::AcaiaNew));
        assert_eq!(Family::from_name("FELICITA"), Some(Family::Felicita));
        assert_eq!(Family::from_name("BOOKOO_SC 123"), Some(Family::Bookoo));
        assert_eq!(Family::from_name("Kitchen thermometer"), None);
    }

    #[test]
    fn services_tell_acaias_protocols_apart() {
        let old = ["00001820-0000-1000-8000-00805F9B34FB"];
        let new = ["49535343-fe7d-4ae5-8fa9-9fafd205e455"];
        assert_eq!(Family::from_services(Some(Family::AcaiaNew), old), Some(Family::AcaiaOld));
        assert_eq!(Family::from_services(Some(Family::AcaiaNew), new), Some(Family::AcaiaNew));
        assert_eq!(Family::from_services(None, ["0000fff0-0000-1000-8000-00805f9b34fb"]), Some(Family::Decent));
        assert_eq!(Family::from_services(None, ["0000180f-0000-1000-8000-00805f9b34fb"]), None);
    }

    #[test]
    fn every_family_has_an_id_and_all_four_commands() {
        for family in FAMILIES {
            assert_eq!(Family::from_id(family.id()), Some(family));
            for command in [Command::Tare, Command::StartTimer, Command::StopTimer, Command::ResetTimer] {
                assert!(family.command(command).is_some_and(|b| !b.is_empty()), "{family:?} {command:?}");
            }
        }
    }
}
