//! A realistic espresso extraction, for the simulators (the CLI's `wages simulate` and
//! the browser's simulator tab): what a scale under the cup reads, sample by sample.
//!
//! Pre-infusion first (nothing in the cup for about a fifth of the shot), then the
//! stream ramps up and tails off as the puck dries (a logistic curve), reaching the
//! target weight at the end; each sample carries the scale's noise (±0.05 g), never
//! below zero, rounded to 0.01 g as scales report.
//!
//! ```
//! use wages_sessions::simulate::Extraction;
//! let shot = Extraction { target_grams: 36.0, duration_ms: 30_000, rate_hz: 10, seed: 7 };
//! let samples: Vec<(u64, f64)> = shot.samples().collect();
//! assert_eq!(samples.len(), 300);
//! assert!(samples[..50].iter().all(|&(_, g)| g < 0.5));
//! assert!((samples[299].1 - 36.0).abs() < 1.0);
//! ```

use wages_codec::{Measures, SeriesKind};

/// One shot to simulate.
#[derive(Clone, Copy, Debug)]
pub struct Extraction {
    pub target_grams: f64,
    pub duration_ms: u64,
    /// Samples per second (a typical scale sends 10).
    pub rate_hz: u32,
    /// Seeds the noise: the same seed gives the same shot.
    pub seed: u64,
}

impl Extraction {
    /// The weight the curve has at `t_ms` into the shot, without noise.
    pub fn weight_at(&self, t_ms: u64) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let (t, d) = (t_ms as f64, self.duration_ms.max(1) as f64);
        let (start, middle, spread) = (0.2 * d, 0.55 * d, d / 11.0);
        if t < start {
            return 0.0;
        }
        let logistic = |t: f64| 1.0 / (1.0 + (-(t - middle) / spread).exp());
        // Scaled so the curve leaves 0 at the end of pre-infusion and reaches the target at the end.
        let (from, to) = (logistic(start), logistic(d));
        self.target_grams * (logistic(t) - from) / (to - from)
    }

    /// `(ms into the shot, grams)` for every sample, in order.
    pub fn samples(&self) -> impl Iterator<Item = (u64, f64)> + '_ {
        let step = 1000 / u64::from(self.rate_hz.clamp(1, 1000));
        let count = self.duration_ms / step;
        let mut noise = Noise(self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        (1..=count).map(move |i| {
            let t = i * step;
            let grams = (self.weight_at(t) + noise.next_centred() * 0.05).max(0.0);
            (t, (grams * 100.0).round() / 100.0)
        })
    }
}

/// How long a shot keeps dripping after the pump stops, as seconds of the flow at that
/// moment: a scale that stops by weight stops this much flow early.
pub const DRIP_SECONDS: f64 = 1.0;
/// How long the drip is simulated after the stop.
const DRIP_TAIL_MS: u64 = 3000;

impl Extraction {
    /// The flow the curve has at `t_ms` over the second before it, g/s.
    pub fn flow_at(&self, t_ms: u64) -> f64 {
        self.weight_at(t_ms) - self.weight_at(t_ms.saturating_sub(1000))
    }

    /// When a scale that stops by weight at `target` grams stops the pump: the first
    /// sample whose weight plus the drip its flow predicts ([`DRIP_SECONDS`]) reaches the
    /// target; `None` when the curve never does.
    pub fn stop_ms(&self, target: f64) -> Option<u64> {
        self.samples().map(|(t, _)| t).find(|&t| self.weight_at(t) + self.flow_at(t) * DRIP_SECONDS >= target)
    }

    /// The shot of a scale that stops by weight at `target` grams: the curve until
    /// [`Extraction::stop_ms`], then the drip tailing off for 3 s, settling near the
    /// target. A target the curve never reaches leaves the whole curve.
    pub fn stopping_at(&self, target: f64) -> Vec<(u64, f64)> {
        let step = 1000 / u64::from(self.rate_hz.clamp(1, 1000));
        let Some(stopped) = self.stop_ms(target) else { return self.samples().collect() };
        let mut out: Vec<(u64, f64)> = self.samples().take_while(|&(t, _)| t <= stopped).collect();
        let (weight, flow) = (self.weight_at(stopped), self.flow_at(stopped));
        let mut noise = Noise(self.seed.wrapping_mul(0xD6E8_FEB8_6659_FD93) | 1);
        let mut t = stopped + step;
        while t <= stopped + DRIP_TAIL_MS {
            #[allow(clippy::cast_precision_loss)]
            let since = (t - stopped) as f64 / 1000.0;
            let dripped = flow * DRIP_SECONDS * (1.0 - (-since / DRIP_SECONDS).exp());
            let grams = (weight + dripped + noise.next_centred() * 0.05).max(0.0);
            out.push((t, (grams * 100.0).round() / 100.0));
            t += step;
        }
        out
    }
}

/// Water the puck holds before the first drop, ml, for an 18 g dose.
const PUCK_WATER_ML: f64 = 40.0;
/// Millilitres of water for each gram in the cup (the rest stays in the puck).
const WATER_PER_GRAM: f64 = 1.1;

impl Extraction {
    /// What an espresso machine under the shot measures at `t_ms` into it, the pump
    /// stopping at `pump_stop_ms` (the shot's end, or [`Extraction::stop_ms`]): pressure
    /// rising to 3 bar through pre-infusion, then to 9 and tailing to 6; the water it
    /// pumps (filling the puck, then what reaches the cup) and its flow over the second
    /// before; the water's temperature dipping under pressure; the basket warming up.
    /// Rounded as a DE1 reports them.
    pub fn machine_at(&self, t_ms: u64, pump_stop_ms: u64) -> Measures {
        #[allow(clippy::cast_precision_loss)]
        let (t, d) = (t_ms as f64, self.duration_ms.max(1) as f64);
        #[allow(clippy::cast_precision_loss)]
        let stop = pump_stop_ms as f64;
        let pumping = t.min(stop);
        let pressure_at = |t: f64| {
            let ramp =
                |from: f64, to: f64, t0: f64, t1: f64| from + (to - from) * ((t - t0) / (t1 - t0)).clamp(0.0, 1.0);
            if t < 0.2 * d {
                ramp(0.0, 3.0, 0.0, 0.08 * d)
            } else if t < 0.3 * d {
                ramp(3.0, 9.0, 0.2 * d, 0.3 * d)
            } else {
                ramp(9.0, 6.0, 0.3 * d, d)
            }
        };
        // After the pump stops the pressure bleeds off in a fraction of a second.
        let pressure = pressure_at(pumping) * if t > stop { (-(t - stop) / 200.0).exp() } else { 1.0 };
        let water_at = |t: f64| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let cup = self.weight_at(t.max(0.0) as u64);
            PUCK_WATER_ML * (1.0 - (-t.max(0.0) / (0.15 * d)).exp()) + WATER_PER_GRAM * cup
        };
        let water = water_at(pumping);
        let flow = if t > stop { 0.0 } else { (water - water_at(pumping - 1000.0)).max(0.0) };
        let water_temperature = 93.0 - 1.5 * pressure / 9.0;
        let basket_temperature = 86.0 + 5.0 * (1.0 - (-t / 8000.0).exp());
        let mut measures = Measures::NONE;
        let round = |v: f64, per_unit: f64| (v * per_unit).round() / per_unit;
        for (kind, v) in [
            (SeriesKind::Pressure, round(pressure, 100.0)),
            (SeriesKind::Flow, round(flow, 100.0)),
            (SeriesKind::WaterTemperature, round(water_temperature, 10.0)),
            (SeriesKind::BasketTemperature, round(basket_temperature, 10.0)),
            (SeriesKind::WaterDispensed, round(water, 10.0)),
        ] {
            // Every value above is within its kind's range for any shot of up to 10 minutes.
            let _ = measures.set(kind, v.clamp(*kind.range().start(), *kind.range().end()));
        }
        measures
    }
}

/// xorshift64: enough randomness for sensor noise, with no dependency.
struct Noise(u64);

impl Noise {
    /// A number in [-1, 1).
    fn next_centred(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        #[allow(clippy::cast_precision_loss)]
        let unit = (self.0 >> 11) as f64 / (1u64 << 53) as f64;
        unit * 2.0 - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_pumps_while_the_shot_runs_and_stops_with_the_pump() {
        let shot = Extraction { target_grams: 36.0, duration_ms: 30_000, rate_hz: 10, seed: 1 };
        let at = |t: u64, stop: u64| shot.machine_at(t, stop);
        let get = |m: Measures, kind| m.get(kind).expect("every measure");
        // Pre-infusion at about 3 bar, the shot near 9, tailing off towards 6.
        assert!((get(at(5_000, 30_000), SeriesKind::Pressure) - 3.0).abs() < 0.01);
        assert!((get(at(9_500, 30_000), SeriesKind::Pressure) - 9.0).abs() < 0.5);
        assert!((get(at(30_000, 30_000), SeriesKind::Pressure) - 6.0).abs() < 0.01);
        // The water only grows, and more than what reaches the cup.
        let water: Vec<f64> = (1..=300).map(|i| get(at(i * 100, 30_000), SeriesKind::WaterDispensed)).collect();
        assert!(water.windows(2).all(|w| w[1] >= w[0]));
        assert!(water[299] > 36.0 * WATER_PER_GRAM);
        // Once the pump stops: no flow, the pressure gone within a second, the water kept.
        let stopped = at(26_000, 25_000);
        assert_eq!(get(stopped, SeriesKind::Flow), 0.0);
        assert!(get(stopped, SeriesKind::Pressure) < 0.1);
        assert_eq!(get(stopped, SeriesKind::WaterDispensed), get(at(25_000, 25_000), SeriesKind::WaterDispensed));
    }

    #[test]
    fn a_shot_rises_steadily_to_its_target() {
        let shot = Extraction { target_grams: 36.0, duration_ms: 30_000, rate_hz: 10, seed: 1 };
        assert_eq!(shot.weight_at(0), 0.0);
        assert_eq!(shot.weight_at(5_000), 0.0);
        assert!((shot.weight_at(30_000) - 36.0).abs() < 1e-9);
        let curve: Vec<f64> = (0..=300).map(|i| shot.weight_at(i * 100)).collect();
        assert!(curve.windows(2).all(|w| w[1] >= w[0]), "never loses weight without noise");
        // The middle third of the shot carries most of the weight, as in a real espresso.
        assert!(shot.weight_at(20_000) - shot.weight_at(10_000) > 18.0);
    }

    #[test]
    fn samples_are_noisy_bounded_and_repeatable() {
        let shot = Extraction { target_grams: 40.0, duration_ms: 25_000, rate_hz: 20, seed: 42 };
        let a: Vec<(u64, f64)> = shot.samples().collect();
        assert_eq!(a.len(), 500);
        assert_eq!(a[0].0, 50);
        assert_eq!(a[499].0, 25_000);
        assert!(a.iter().all(|&(t, g)| g >= 0.0 && (g - shot.weight_at(t)).abs() <= 0.0551));
        assert_eq!(a, shot.samples().collect::<Vec<_>>());
        let other: Vec<(u64, f64)> = Extraction { seed: 43, ..shot }.samples().collect();
        assert_ne!(a, other);
    }

    #[test]
    fn a_scale_stopping_by_weight_settles_at_its_target() {
        // The pump would run on to 45 g; the scale stops it to land on 36 g.
        let shot = Extraction { target_grams: 45.0, duration_ms: 30_000, rate_hz: 10, seed: 3 };
        let samples = shot.stopping_at(36.0);
        let (end, last) = samples[samples.len() - 1];
        assert!((last - 36.0).abs() < 0.5, "ends at {last} g");
        assert!(end < 30_000, "stopped early, at {end} ms");
        // The stop came before the target, by about the flow's drip.
        let stop = samples.len() - 1 - 30;
        assert!(samples[stop].1 < 36.0 - 1.0, "stopped at {} g", samples[stop].1);
        // One sample per step, in order.
        assert!(samples.windows(2).all(|w| w[1].0 == w[0].0 + 100));
        // A target beyond the curve: the whole shot.
        assert_eq!(shot.stopping_at(60.0), shot.samples().collect::<Vec<_>>());
    }
}
