//! The Decent Scale and the Half Decent Scale.
//!
//! Sources: Decent Espresso's "Decent Scale: open BLE API documentation"
//! (<https://decentespresso.com/decentscale_api>) and "Programmers guide to the Half
//! Decent Scale" (<https://decentespresso.com/docs/programmers_guide_to_the_half_decent_scale>),
//! whose command examples are the tests' fixtures; Beanconqueror's driver
//! (`src/classes/devices/decentScale.ts`, GPL-3.0) for the notification lengths.
//!
//! Every message is `03` (the model), a type byte, four data bytes and the XOR of the
//! six before it. Firmware 1.2 and later append a timestamp to weights, making them ten
//! bytes long. Weights are a signed 16-bit big-endian number of tenths of a gram: type
//! `CE` once the weight settled, `CA` while it changes. Buttons are type `AA`: the
//! button's number (1 for ○, 2 for □) and 1 for a short press, 2 for a long one; what
//! they mean is the app's choice. The scale weighs only after an app writes to it, and
//! the Half Decent Scale drops a link that sends no heartbeat for five seconds (asked
//! for by the last data byte of LED ON or TARE being 1).

use crate::{Button, Command, Event, Gatt, xor};

pub(crate) const GATT: Gatt = Gatt {
    service: "0000fff0-0000-1000-8000-00805f9b34fb",
    notify: "0000fff4-0000-1000-8000-00805f9b34fb",
    write: "000036f5-0000-1000-8000-00805f9b34fb",
};

pub(crate) const NAME_PREFIXES: &[&str] = &["Decent"];

/// LED on, asking for the heartbeat.
pub(crate) const LED_ON_WITH_HEARTBEAT: [u8; 7] = [0x03, 0x0A, 0x01, 0x01, 0x00, 0x01, 0x08];
pub(crate) const HEARTBEAT: [u8; 7] = [0x03, 0x0A, 0x03, 0xFF, 0xFF, 0x00, 0x0A];
/// Well within the five seconds the scale waits.
pub(crate) const HEARTBEAT_EVERY_MS: u32 = 2_000;

const WEIGHT_STABLE: u8 = 0xCE;
const WEIGHT_CHANGING: u8 = 0xCA;
const BUTTON: u8 = 0xAA;

pub(crate) fn command(command: Command) -> [u8; 7] {
    let (kind, data) = match command {
        // Tare asking for the heartbeat, like LED ON above.
        Command::Tare => (0x0F, [0x00, 0x00, 0x00, 0x01]),
        Command::StartTimer => (0x0B, [0x03, 0x00, 0x00, 0x00]),
        Command::StopTimer => (0x0B, [0x00, 0x00, 0x00, 0x00]),
        Command::ResetTimer => (0x0B, [0x02, 0x00, 0x00, 0x00]),
    };
    let mut bytes = [0x03, kind, data[0], data[1], data[2], data[3], 0];
    bytes[6] = xor(&bytes[..6]);
    bytes
}

pub(crate) fn decode(bytes: &[u8]) -> Vec<Event> {
    // Seven bytes checked by their XOR; ten (with a timestamp) as the scale sends them.
    let whole = match bytes.len() {
        7 => xor(&bytes[..6]) == bytes[6],
        10 => true,
        _ => false,
    };
    if !whole || bytes[0] != 0x03 {
        return Vec::new();
    }
    match bytes[1] {
        kind @ (WEIGHT_STABLE | WEIGHT_CHANGING) => {
            let tenths = i16::from_be_bytes([bytes[2], bytes[3]]);
            vec![Event::Weight { grams: f64::from(tenths) / 10.0, stable: Some(kind == WEIGHT_STABLE) }]
        }
        BUTTON => vec![Event::Button(Button::Other { number: bytes[2], long: bytes[3] == 2 })],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The commands as the API documents print them.
    #[test]
    fn commands_are_the_documented_bytes() {
        let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02X}")).collect::<String>();
        assert_eq!(hex(&command(Command::Tare)), "030F000000010D");
        assert_eq!(hex(&command(Command::StartTimer)), "030B030000000B");
        assert_eq!(hex(&command(Command::StopTimer)), "030B0000000008");
        assert_eq!(hex(&command(Command::ResetTimer)), "030B020000000A");
        assert_eq!(hex(&LED_ON_WITH_HEARTBEAT), "030A0101000108");
        assert_eq!(hex(&HEARTBEAT), "030A03FFFF000A");
    }

    #[test]
    fn weights_stable_changing_and_negative() {
        // 36.2 g settled, the 7-byte form of firmware 1.0 and 1.1.
        assert_eq!(
            decode(&[0x03, 0xCE, 0x01, 0x6A, 0x00, 0x00, 0xA6]),
            [Event::Weight { grams: 36.2, stable: Some(true) }]
        );
        // −1.5 g while changing.
        assert_eq!(
            decode(&[0x03, 0xCA, 0xFF, 0xF1, 0x00, 0x00, 0xC7]),
            [Event::Weight { grams: -1.5, stable: Some(false) }]
        );
        // The 10-byte form of firmware 1.2 and later (weight, then a timestamp).
        assert_eq!(
            decode(&[0x03, 0xCE, 0x00, 0x64, 0x00, 0x1E, 0x05, 0x00, 0x00, 0x00]),
            [Event::Weight { grams: 10.0, stable: Some(true) }]
        );
    }

    #[test]
    fn buttons_and_what_is_not_a_message() {
        assert_eq!(
            decode(&[0x03, 0xAA, 0x01, 0x01, 0x00, 0x00, 0xA9]),
            [Event::Button(Button::Other { number: 1, long: false })]
        );
        assert_eq!(
            decode(&[0x03, 0xAA, 0x02, 0x02, 0x00, 0x00, 0xA9]),
            [Event::Button(Button::Other { number: 2, long: true })]
        );
        // A wrong check byte, a short message, another model.
        assert!(decode(&[0x03, 0xCE, 0x01, 0x6A, 0x00, 0x00, 0x00]).is_empty());
        assert!(decode(&[0x03, 0xCE, 0x01]).is_empty());
        assert!(decode(&[0x04, 0xCE, 0x01, 0x6A, 0x00, 0x00, 0xA1]).is_empty());
    }
}
