//! Felicita Arc, Incline and Parallel.
//!
//! Sources: Beanconqueror's driver and its notes (`src/classes/devices/felicitaScale.ts`,
//! `src/classes/devices/felicita/felicita-readme.md` and `constants.ts`, GPL-3.0;
//! <https://github.com/graphefruit/Beanconqueror>), whose sample status notification is
//! the tests' fixture. Felicita publishes no protocol document.
//!
//! One characteristic, `0xFFE1` in service `0xFFE0`, both ways. The scale notifies an
//! 18-byte status: two unknown bytes, the sign (`+` or `-`), six ASCII digits of
//! hundredths of the display unit, the unit in two ASCII bytes (` g`, `oz`), four
//! unknown bytes, the battery as a raw level from 129 (empty) to 158 (full), and `CR LF`.
//! Commands are single ASCII bytes.

use crate::{Command, Event, Gatt};

pub(crate) const GATT: Gatt = Gatt {
    service: "0000ffe0-0000-1000-8000-00805f9b34fb",
    notify: "0000ffe1-0000-1000-8000-00805f9b34fb",
    write: "0000ffe1-0000-1000-8000-00805f9b34fb",
};

pub(crate) const NAME_PREFIXES: &[&str] = &["FELICITA"];

const BATTERY_EMPTY: u8 = 129;
const BATTERY_FULL: u8 = 158;

pub(crate) fn command(command: Command) -> u8 {
    match command {
        Command::Tare => b'T',
        Command::StartTimer => b'R',
        Command::StopTimer => b'S',
        Command::ResetTimer => b'C',
    }
}

pub(crate) fn decode(bytes: &[u8]) -> Vec<Event> {
    let Ok(status) = <&[u8; 18]>::try_from(bytes) else { return Vec::new() };
    let sign = match status[2] {
        b'+' => 1.0,
        b'-' => -1.0,
        _ => return Vec::new(),
    };
    let digits = &status[3..9];
    if !digits.iter().all(u8::is_ascii_digit) {
        return Vec::new();
    }
    let hundredths = digits.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    let mut events = Vec::with_capacity(2);
    // Grams only: a scale showing ounces says so in its unit bytes.
    if &status[9..11] == b" g" {
        events.push(Event::Weight { grams: sign * f64::from(hundredths) / 100.0, stable: None });
    }
    let level = status[15].clamp(BATTERY_EMPTY, BATTERY_FULL) - BATTERY_EMPTY;
    let percent = (u32::from(level) * 100 + u32::from(BATTERY_FULL - BATTERY_EMPTY) / 2)
        / u32::from(BATTERY_FULL - BATTERY_EMPTY);
    events.push(Event::Battery { percent: u8::try_from(percent).unwrap_or(100) });
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample status in Beanconqueror's `felicita-readme.md`: +0.00 g, battery 137.
    #[test]
    fn the_documented_sample() {
        let sample = [1, 2, 43, 48, 48, 48, 48, 48, 48, 32, 103, 83, 79, 48, 34, 137, 13, 10];
        assert_eq!(decode(&sample), [Event::Weight { grams: 0.0, stable: None }, Event::Battery { percent: 28 }]);
    }

    /// The readme's worked example of the digits: 1010.10 g.
    #[test]
    fn digits_sign_and_units() {
        let mut status = [1, 2, 43, 49, 48, 49, 48, 49, 48, 32, 103, 83, 79, 48, 34, 158, 13, 10];
        assert_eq!(decode(&status)[0], Event::Weight { grams: 1010.10, stable: None });
        assert_eq!(decode(&status)[1], Event::Battery { percent: 100 });
        status[2] = b'-';
        assert_eq!(decode(&status)[0], Event::Weight { grams: -1010.10, stable: None });
        // Ounces: no weight in grams, the battery still.
        status[9..11].copy_from_slice(b"oz");
        assert_eq!(decode(&status), [Event::Battery { percent: 100 }]);
        // Not digits, not 18 bytes.
        status[4] = b'x';
        assert!(decode(&status).is_empty());
        assert!(decode(&status[..17]).is_empty());
    }

    #[test]
    fn commands_are_single_ascii_bytes() {
        assert_eq!(command(Command::Tare), 0x54);
        assert_eq!(command(Command::StartTimer), 0x52);
        assert_eq!(command(Command::StopTimer), 0x53);
        assert_eq!(command(Command::ResetTimer), 0x43);
    }
}
