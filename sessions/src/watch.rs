//! When a shot on a Bluetooth scale starts and ends, from what the scale and the page say.
//!
//! A scale bridged by a browser tab sends its weight all the time; a shot is the part
//! worth keeping. It starts when the scale's timer starts (its button, or the page's
//! Start writing the scale's start command), or when the weight rises out of a tare:
//! from near zero, by drips, not by a cup put down. It ends when the timer stops, on
//! the page's Stop, or once the weight has settled for [`SETTLE_MS`].

/// Within this of zero the scale is tared, and a rise may start a shot.
pub const TARED_GRAMS: f64 = 0.3;
/// A rise from a tare past this starts a shot…
pub const RISE_GRAMS: f64 = 1.0;
/// …unless it came in one step this large: a cup put down, not coffee dripping in.
pub const JUMP_GRAMS: f64 = 10.0;
/// A shot whose weight moved less than [`SETTLE_GRAMS`] over this long has ended.
pub const SETTLE_MS: u64 = 4_000;
pub const SETTLE_GRAMS: f64 = 0.3;
/// A shot ends by settling only once it is this old, and has this much in the cup.
pub const SHORTEST_MS: u64 = 5_000;
pub const LEAST_GRAMS: f64 = 2.0;

/// What happened besides the weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// The scale's timer started (its button, or a start command the page wrote).
    TimerStarted,
    /// The scale's timer stopped, or the page's Stop.
    TimerStopped,
    /// The scale was tared.
    Tared,
}

/// What the watcher decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cue {
    Start,
    Stop,
}

/// Follows one scale's weight; see the module's doc.
#[derive(Clone, Debug, Default)]
pub struct ShotWatch {
    /// When the current shot started.
    started: Option<u64>,
    /// Whether the weight last sat at zero, so a rise may start a shot.
    armed: bool,
    last: Option<f64>,
    /// The weight the shot settled at and since when.
    settled: Option<(f64, u64)>,
}

impl ShotWatch {
    pub fn brewing(&self) -> bool {
        self.started.is_some()
    }

    /// A weight at `at_ms`.
    pub fn weight(&mut self, grams: f64, at_ms: u64) -> Option<Cue> {
        let previous = self.last.replace(grams);
        match self.started {
            None => {
                if grams.abs() <= TARED_GRAMS {
                    self.armed = true;
                } else if self.armed && grams >= RISE_GRAMS {
                    self.armed = false;
                    let step = previous.map_or(grams, |p| grams - p);
                    if step < JUMP_GRAMS {
                        return self.start(at_ms);
                    }
                }
                None
            }
            Some(started) => {
                let settled = match self.settled {
                    Some((at_weight, since)) if (grams - at_weight).abs() < SETTLE_GRAMS => since,
                    _ => {
                        self.settled = Some((grams, at_ms));
                        at_ms
                    }
                };
                let done = at_ms.saturating_sub(settled) >= SETTLE_MS
                    && at_ms.saturating_sub(started) >= SHORTEST_MS
                    && grams >= LEAST_GRAMS;
                if done { self.stop() } else { None }
            }
        }
    }

    /// A button, a command or the page, at `at_ms`.
    pub fn signal(&mut self, signal: Signal, at_ms: u64) -> Option<Cue> {
        match signal {
            Signal::TimerStarted if self.started.is_none() => self.start(at_ms),
            Signal::TimerStopped if self.started.is_some() => self.stop(),
            Signal::Tared if self.started.is_none() => {
                self.armed = true;
                None
            }
            _ => None,
        }
    }

    fn start(&mut self, at_ms: u64) -> Option<Cue> {
        self.started = Some(at_ms);
        self.settled = None;
        Some(Cue::Start)
    }

    fn stop(&mut self) -> Option<Cue> {
        self.started = None;
        self.armed = false;
        Some(Cue::Stop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `grams` at 10 Hz from `from_ms`; returns the cues with their times.
    fn feed(watch: &mut ShotWatch, from_ms: u64, grams: &[f64]) -> Vec<(u64, Cue)> {
        let mut cues = Vec::new();
        for (i, g) in grams.iter().enumerate() {
            let at = from_ms + i as u64 * 100;
            cues.extend(watch.weight(*g, at).map(|c| (at, c)));
        }
        cues
    }

    #[test]
    fn drips_after_a_tare_start_a_shot_and_settling_ends_it() {
        let mut watch = ShotWatch::default();
        let mut grams = vec![0.0, 0.1, 0.0, 0.4, 0.9, 1.3, 2.0];
        grams.extend((0..250).map(|i| 2.0 + f64::from(i) * 0.14)); // 25 s to 37 g
        grams.extend(std::iter::repeat_n(37.0, 50)); // settled for 5 s
        let cues = feed(&mut watch, 0, &grams);
        assert_eq!(cues, [(500, Cue::Start), (29_600, Cue::Stop)]);
        assert!(!watch.brewing());
    }

    #[test]
    fn a_cup_put_down_starts_nothing() {
        let mut watch = ShotWatch::default();
        assert!(feed(&mut watch, 0, &[0.0, 0.0, 312.4, 312.5, 312.5, 313.0]).is_empty());
        // Not until the scale is tared again and coffee comes.
        assert_eq!(watch.signal(Signal::Tared, 700), None);
        assert_eq!(feed(&mut watch, 800, &[0.0, 0.5, 1.2]), [(1_000, Cue::Start)]);
    }

    #[test]
    fn the_scales_timer_and_the_page_start_and_stop_it() {
        let mut watch = ShotWatch::default();
        assert_eq!(watch.signal(Signal::TimerStarted, 0), Some(Cue::Start));
        assert_eq!(watch.signal(Signal::TimerStarted, 100), None);
        // A pause before the first drips does not end it: too early, too little.
        assert!(feed(&mut watch, 100, &[0.0; 60]).is_empty());
        assert_eq!(watch.signal(Signal::TimerStopped, 9_000), Some(Cue::Stop));
        assert_eq!(watch.signal(Signal::TimerStopped, 9_100), None);
    }
}
