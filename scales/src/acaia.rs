//! Acaia scales: Lunar, Pearl, Pearl S, Pyxis, Cinco.
//!
//! Sources: the drivers pyacaia and aioacaia (`aioacaia/decode.py`, `aioacaia/helpers.py`,
//! AGPL-3.0; <https://github.com/zweckj/aioacaia>), Beanconqueror's
//! (`src/classes/devices/acaia/`, GPL-3.0) and AcaiaArduinoBLE (`AcaiaArduinoBLE.cpp`,
//! MIT; <https://github.com/tatemazer/AcaiaArduinoBLE>), whose command bytes and
//! notification layouts are the tests' fixtures. Acaia publishes no protocol document.
//!
//! Two GATT layouts carry one message format. The older scales (Lunar before 2021,
//! Pearl) have one characteristic, `0x2A80` in service `0x1820`, for both ways; the newer
//! ones (Pyxis, Pearl S, Lunar from 2021, Cinco) write to and notify from two
//! characteristics of Microchip's transparent UART service `49535343-…`.
//!
//! A message is `EF DD`, a command byte, then a length byte `n` and `n - 1` more bytes
//! (the length byte counts itself), then two check bytes (the sums of the even and the
//! odd bytes from the length byte on). Scales send events (command `0C`: a type byte,
//! then its payload) and settings (command `08`: battery in the second byte). Weights are
//! two bytes little-endian, then two unknown bytes, a power of ten to divide by, and a
//! sign flag (bit 1). Times are minutes, seconds and tenths. A notification may hold part
//! of a message (the older scales send `EF DD 0C` on its own) or several; the drivers
//! named above do not check the check bytes of what scales send, and neither does this.
//!
//! An app first identifies itself (command `0B`, 15 bytes: the newer scales take
//! "012345678901234"), then asks for events (command `0C`), and keeps the scale talking
//! with a heartbeat (command `00`): the newer scales want it every second, with the
//! identity again and a request for settings.

use crate::{Button, Command, Event, Gatt};

pub(crate) const GATT_OLD: Gatt = Gatt {
    service: "00001820-0000-1000-8000-00805f9b34fb",
    notify: "00002a80-0000-1000-8000-00805f9b34fb",
    write: "00002a80-0000-1000-8000-00805f9b34fb",
};

pub(crate) const GATT_NEW: Gatt = Gatt {
    service: "49535343-fe7d-4ae5-8fa9-9fafd205e455",
    notify: "49535343-1e4d-4bd9-ba61-23c647249616",
    write: "49535343-8841-43f4-a8d4-ecbe34729bb3",
};

pub(crate) const NAME_PREFIXES: &[&str] = &["ACAIA", "LUNAR", "PEARL", "PYXIS", "CINCO", "PROCH"];

pub(crate) const HEARTBEAT_EVERY_NEW_MS: u32 = 1_000;
pub(crate) const HEARTBEAT_EVERY_OLD_MS: u32 = 3_000;

const HEADER: [u8; 2] = [0xEF, 0xDD];
const EVENT: u8 = 0x0C;
const SETTINGS: u8 = 0x08;

const WEIGHT: u8 = 5;
const TIMER: u8 = 7;
const BUTTON: u8 = 8;
const HEARTBEAT_REPLY: u8 = 11;

/// A message of `kind` with `payload`, and its two check bytes.
fn encode(kind: u8, payload: &[u8]) -> Vec<u8> {
    let (mut even, mut odd) = (0u8, 0u8);
    for (i, b) in payload.iter().enumerate() {
        if i % 2 == 0 {
            even = even.wrapping_add(*b);
        } else {
            odd = odd.wrapping_add(*b);
        }
    }
    let mut bytes = Vec::with_capacity(payload.len() + 5);
    bytes.extend_from_slice(&HEADER);
    bytes.push(kind);
    bytes.extend_from_slice(payload);
    bytes.extend_from_slice(&[even, odd]);
    bytes
}

pub(crate) fn command(command: Command) -> Vec<u8> {
    match command {
        Command::Tare => encode(4, &[0]),
        Command::StartTimer => encode(13, &[0, 0]),
        Command::StopTimer => encode(13, &[0, 2]),
        Command::ResetTimer => encode(13, &[0, 1]),
    }
}

fn identify(new: bool) -> Vec<u8> {
    encode(11, if new { b"012345678901234" } else { b"---------------" })
}

/// Weight (argument 1), battery (2), timer (every 5 heartbeats), buttons, settings.
fn ask_for_events() -> Vec<u8> {
    let events = [0, 1, 1, 2, 2, 5, 3, 4];
    let mut payload = vec![events.len() as u8 + 1];
    payload.extend_from_slice(&events);
    encode(EVENT, &payload)
}

pub(crate) fn hello(new: bool) -> Vec<Vec<u8>> {
    vec![identify(new), ask_for_events()]
}

pub(crate) fn keep_alive(new: bool) -> Vec<Vec<u8>> {
    let heartbeat = encode(0, &[2, 0]);
    if new { vec![identify(true), heartbeat, encode(6, &[0; 16])] } else { vec![heartbeat] }
}

/// Appends `notification` to what was `pending` and takes every whole message out.
pub(crate) fn decode(pending: &mut Vec<u8>, notification: &[u8]) -> Vec<Event> {
    pending.extend_from_slice(notification);
    let mut events = Vec::new();
    loop {
        let Some(start) = pending.windows(2).position(|w| w == HEADER) else {
            // Keep a last `EF`: it may begin the next message.
            let keep = usize::from(pending.last() == Some(&HEADER[0]));
            pending.drain(..pending.len() - keep);
            break;
        };
        pending.drain(..start);
        if pending.len() < 4 {
            break;
        }
        let end = usize::from(pending[3]) + 5;
        if end > pending.len() {
            // The rest comes in the next notifications; a message is at most 260 bytes.
            break;
        }
        let message: Vec<u8> = pending.drain(..end).collect();
        match message[2] {
            // The payload without the two check bytes.
            EVENT if end >= 7 => events.extend(event(message[4], &message[5..end - 2])),
            SETTINGS if end >= 7 => events.push(Event::Battery { percent: (message[4] & 0x7F).min(100) }),
            _ => {}
        }
    }
    events
}

fn event(kind: u8, p: &[u8]) -> Vec<Event> {
    let at = |i: usize| p.get(i..).unwrap_or_default();
    let weighed = |from: usize| weight(at(from)).map(|grams| Event::Weight { grams, stable: None });
    let timed = |from: usize| time(at(from)).map(|millis| Event::Timer { millis });
    let button = |b: Button| Some(Event::Button(b));
    let found = match (kind, p.first().copied(), p.get(1).copied()) {
        (WEIGHT, ..) => vec![weighed(0)],
        (TIMER, ..) => vec![timed(0)],
        (HEARTBEAT_REPLY, ..) => match p.get(2) {
            Some(5) => vec![weighed(3)],
            Some(7) => vec![timed(3)],
            _ => vec![],
        },
        (BUTTON, Some(0), Some(5)) => vec![button(Button::Tare), weighed(2)],
        (BUTTON, Some(8), Some(5)) => vec![button(Button::TimerStart), weighed(2)],
        (BUTTON, Some(8), Some(11)) => vec![button(Button::TimerStart)],
        (BUTTON, Some(10), Some(7)) => vec![button(Button::TimerStop), timed(2), weighed(6)],
        (BUTTON, Some(10), Some(5)) => vec![button(Button::TimerStop), timed(2)],
        (BUTTON, Some(10), Some(13)) => vec![button(Button::TimerStop)],
        (BUTTON, Some(9), Some(7)) => vec![button(Button::TimerReset), timed(2), weighed(6)],
        (BUTTON, Some(9), Some(5)) => vec![button(Button::TimerReset), timed(2)],
        (BUTTON, Some(9), Some(12)) => vec![button(Button::TimerReset)],
        _ => vec![],
    };
    found.into_iter().flatten().collect()
}

/// Grams from a weight's six bytes; `None` if short or its power of ten is unknown.
fn weight(p: &[u8]) -> Option<f64> {
    let &[lo, hi, _, _, power, sign, ..] = p else { return None };
    let divisor = match power {
        1 => 10.0,
        2 => 100.0,
        3 => 1_000.0,
        4 => 10_000.0,
        _ => return None,
    };
    let grams = f64::from(u16::from_le_bytes([lo, hi])) / divisor;
    Some(if sign & 0x02 != 0 { -grams } else { grams })
}

/// Milliseconds from minutes, seconds and tenths.
fn time(p: &[u8]) -> Option<u32> {
    let &[minutes, seconds, tenths, ..] = p else { return None };
    Some(u32::from(minutes) * 60_000 + u32::from(seconds) * 1_000 + u32::from(tenths) * 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AcaiaArduinoBLE's command constants (MIT), byte for byte.
    #[test]
    fn commands_are_the_bytes_the_drivers_send() {
        assert_eq!(command(Command::Tare), [0xEF, 0xDD, 0x04, 0x00, 0x00, 0x00]);
        assert_eq!(command(Command::StartTimer), [0xEF, 0xDD, 0x0D, 0x00, 0x00, 0x00, 0x00]);
        assert_eq!(command(Command::StopTimer), [0xEF, 0xDD, 0x0D, 0x00, 0x02, 0x00, 0x02]);
        assert_eq!(command(Command::ResetTimer), [0xEF, 0xDD, 0x0D, 0x00, 0x01, 0x00, 0x01]);
        assert_eq!(
            identify(true),
            [
                0xEF, 0xDD, 0x0B, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x30, 0x31, 0x32, 0x33,
                0x34, 0x9A, 0x6D
            ]
        );
        assert_eq!(
            ask_for_events(),
            [0xEF, 0xDD, 0x0C, 0x09, 0x00, 0x01, 0x01, 0x02, 0x02, 0x05, 0x03, 0x04, 0x15, 0x06]
        );
        assert_eq!(keep_alive(false), [vec![0xEF, 0xDD, 0x00, 0x02, 0x00, 0x02, 0x00]]);
    }

    /// A newer scale's 13-byte weight notification, laid out as AcaiaArduinoBLE reads it
    /// (weight in bytes 5-6, power of ten in 9, sign in 10).
    #[test]
    fn a_weight_in_one_notification() {
        let mut pending = Vec::new();
        let bytes = [0xEF, 0xDD, 0x0C, 0x08, 0x05, 0x26, 0x07, 0x00, 0x00, 0x02, 0x00, 0x30, 0x0C];
        assert_eq!(decode(&mut pending, &bytes), [Event::Weight { grams: 18.30, stable: None }]);
        assert!(pending.is_empty());
        let negative = [0xEF, 0xDD, 0x0C, 0x08, 0x05, 0x2D, 0x00, 0x00, 0x00, 0x01, 0x02, 0x36, 0x07];
        assert_eq!(decode(&mut pending, &negative), [Event::Weight { grams: -4.5, stable: None }]);
    }

    /// An older scale sends `EF DD 0C` on its own, then the ten bytes AcaiaArduinoBLE
    /// reads the weight from (bytes 2-3, power of ten in 6, sign in 7).
    #[test]
    fn a_weight_split_over_two_notifications() {
        let mut pending = Vec::new();
        assert!(decode(&mut pending, &[0xEF, 0xDD, 0x0C]).is_empty());
        let rest = [0x08, 0x05, 0x9A, 0x01, 0x00, 0x00, 0x01, 0x00, 0xA3, 0x06];
        assert_eq!(decode(&mut pending, &rest), [Event::Weight { grams: 41.0, stable: None }]);
        assert!(pending.is_empty());
    }

    #[test]
    fn buttons_timer_and_settings() {
        let mut pending = Vec::new();
        // Tare pressed, weight 0.0; then the timer started at 0.2 g; then stopped at
        // 0:27.4 with 36.1 g; then a heartbeat reply with the time; then settings.
        let mut stream = Vec::new();
        stream.extend(encode(EVENT, &[0x0A, BUTTON, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00]));
        stream.extend(encode(EVENT, &[0x0A, BUTTON, 0x08, 0x05, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00]));
        stream.extend(encode(
            EVENT,
            &[0x0E, BUTTON, 0x0A, 0x07, 0x00, 0x1B, 0x04, 0x00, 0x69, 0x01, 0x00, 0x00, 0x01, 0x00],
        ));
        stream.extend(encode(EVENT, &[0x08, HEARTBEAT_REPLY, 0x00, 0x00, 0x07, 0x01, 0x05, 0x03]));
        stream.extend(encode(SETTINGS, &[0x0A, 0xD7, 0x02, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00]));
        assert_eq!(
            decode(&mut pending, &stream),
            [
                Event::Button(Button::Tare),
                Event::Weight { grams: 0.0, stable: None },
                Event::Button(Button::TimerStart),
                Event::Weight { grams: 0.2, stable: None },
                Event::Button(Button::TimerStop),
                Event::Timer { millis: 27_400 },
                Event::Weight { grams: 36.1, stable: None },
                Event::Timer { millis: 65_300 },
                Event::Battery { percent: 87 },
            ]
        );
    }

    #[test]
    fn noise_is_skipped_and_never_grows_without_bound() {
        let mut pending = Vec::new();
        assert!(decode(&mut pending, &[0x00, 0x13, 0xEF]).is_empty());
        assert_eq!(pending, [0xEF]);
        // A header claiming 255 bytes of noise, then a real message.
        let mut stream = vec![0xEF, 0xDD, 0x0C, 0xFF];
        stream.extend(std::iter::repeat_n(0x00, 300));
        stream.extend([0xEF, 0xDD, 0x0C, 0x08, 0x05, 0x26, 0x07, 0x00, 0x00, 0x02, 0x00, 0x30, 0x0C]);
        let events = decode(&mut pending, &stream);
        assert_eq!(events, [Event::Weight { grams: 18.30, stable: None }]);
        assert!(pending.is_empty());
    }
}
