//! Bookoo Themis scales (Mini, Ultra).
//!
//! Source: Bookoo's own "MINI SCALE Transmission protocol"
//! (`bookoo_mini_scale/protocols.md`, MIT; <https://github.com/BooKooCode/OpenSource>),
//! whose command table is the tests' fixture; the auto-timer event from aiobookoo
//! (`src/const.py`, GPL-3.0; <https://github.com/taliexo/aiobookoo>).
//!
//! Service `0x0FFE`: weights are notified on `0xFF11`, commands written to `0xFF12`. A
//! weight message is 20 bytes: `03 0B`, the scale's timer (milliseconds, 24-bit
//! big-endian), the unit, the weight's sign (`+`/`-`), grams × 100 (24-bit big-endian),
//! the flow's sign, grams a second × 100 (16-bit big-endian), battery percent, standby
//! minutes, buzzer, flow smoothing, two zero bytes and the XOR of the 19 bytes before.
//! The scale's automatic timer reports `03 0D 01` when it starts and `03 0D 00` when it
//! stops. The document prints the commands' last bytes as the scale takes them, which
//! for some commands is not the XOR: they are sent as printed.

use crate::{Button, Command, Event, Gatt, xor};

pub(crate) const GATT: Gatt = Gatt {
    service: "00000ffe-0000-1000-8000-00805f9b34fb",
    notify: "0000ff11-0000-1000-8000-00805f9b34fb",
    write: "0000ff12-0000-1000-8000-00805f9b34fb",
};

pub(crate) const NAME_PREFIXES: &[&str] = &["BOOKOO"];

pub(crate) fn command(command: Command) -> [u8; 6] {
    match command {
        Command::Tare => [0x03, 0x0A, 0x01, 0x00, 0x00, 0x08],
        Command::StartTimer => [0x03, 0x0A, 0x04, 0x00, 0x00, 0x0A],
        Command::StopTimer => [0x03, 0x0A, 0x05, 0x00, 0x00, 0x0D],
        Command::ResetTimer => [0x03, 0x0A, 0x06, 0x00, 0x00, 0x0C],
    }
}

pub(crate) fn decode(bytes: &[u8]) -> Vec<Event> {
    let Ok(m) = <&[u8; 20]>::try_from(bytes) else { return Vec::new() };
    if m[0] != 0x03 || xor(&m[..19]) != m[19] {
        return Vec::new();
    }
    let signed = |sign: u8| if sign == b'-' { -1.0 } else { 1.0 };
    let be24 = |b: &[u8]| u32::from_be_bytes([0, b[0], b[1], b[2]]);
    match m[1] {
        0x0B => vec![
            Event::Weight { grams: signed(m[6]) * f64::from(be24(&m[7..10])) / 100.0, stable: None },
            Event::Timer { millis: be24(&m[2..5]) },
            Event::Flow { grams_per_second: signed(m[10]) * f64::from(u16::from_be_bytes([m[11], m[12]])) / 100.0 },
            Event::Battery { percent: m[13].min(100) },
        ],
        0x0D => match m[2] {
            0x01 => vec![Event::Button(Button::TimerStart)],
            0x00 => vec![Event::Button(Button::TimerStop)],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The command table of Bookoo's protocol document, as printed.
    #[test]
    fn commands_are_the_documented_bytes() {
        let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ");
        assert_eq!(hex(&command(Command::Tare)), "03 0a 01 00 00 08");
        assert_eq!(hex(&command(Command::StartTimer)), "03 0a 04 00 00 0a");
        assert_eq!(hex(&command(Command::StopTimer)), "03 0a 05 00 00 0d");
        assert_eq!(hex(&command(Command::ResetTimer)), "03 0a 06 00 00 0c");
    }

    fn checked(mut m: [u8; 20]) -> [u8; 20] {
        m[19] = xor(&m[..19]);
        m
    }

    /// A weight message laid out as the document's table says: 27.5 s on the timer,
    /// +36.42 g, +1.85 g/s, 76 % battery.
    #[test]
    fn a_weight_message() {
        let m = checked([
            0x03, 0x0B, 0x00, 0x6B, 0x6C, 0x00, b'+', 0x00, 0x0E, 0x3A, b'+', 0x00, 0xB9, 0x4C, 0x00, 0x05, 0x01, 0x00,
            0x00, 0x00,
        ]);
        assert_eq!(
            decode(&m),
            [
                Event::Weight { grams: 36.42, stable: None },
                Event::Timer { millis: 27_500 },
                Event::Flow { grams_per_second: 1.85 },
                Event::Battery { percent: 76 },
            ]
        );
        let mut negative = m;
        negative[6] = b'-';
        let negative = checked(negative);
        assert_eq!(decode(&negative)[0], Event::Weight { grams: -36.42, stable: None });
        // A wrong check byte, and a short message: nothing.
        let mut broken = m;
        broken[19] ^= 0xFF;
        assert!(decode(&broken).is_empty());
        assert!(decode(&m[..19]).is_empty());
    }

    #[test]
    fn the_automatic_timer() {
        let mut start = [0u8; 20];
        start[..3].copy_from_slice(&[0x03, 0x0D, 0x01]);
        assert_eq!(decode(&checked(start)), [Event::Button(Button::TimerStart)]);
        start[2] = 0x00;
        assert_eq!(decode(&checked(start)), [Event::Button(Button::TimerStop)]);
    }
}
