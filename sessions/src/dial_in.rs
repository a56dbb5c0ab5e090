//! What to change on the next shot, from the last one's own figures, how it tasted, and
//! what the barista aims at (a ratio and a time window for the method).
//!
//! One rule answers, the first that applies, in this order:
//!
//! 1. **No dose**: without the coffee's weight there is no ratio to judge.
//! 2. **Dose changed** since the shot before: two shots are compared like with like, so
//!    the dose goes back before anything else changes.
//! 3. **Taste first**, when the barista said how it tasted:
//!    - sour and fast: grind finer (or yield more);
//!    - sour: yield more (a higher ratio);
//!    - bitter and slow: grind coarser;
//!    - bitter: yield less (a lower ratio);
//!    - weak: yield less, or a higher dose;
//!    - strong: yield more;
//!    - balanced, in the window: keep it.
//! 4. **Ratio** off the target by more than its tolerance: stop at the target's yield.
//! 5. **Time** outside the window: fast, grind finer; slow, grind coarser.
//! 6. Otherwise: on target, keep it and taste.
//!
//! ```
//! use wages_sessions::dial_in::{Change, Shot, Target, suggest};
//!
//! let shot = Shot { dose: Some(18.0), yield_grams: 36.0, seconds: 19.0, taste: None, strength: None };
//! let next = suggest(&shot, None, &Target::ESPRESSO);
//! assert_eq!(next.change, Change::GrindFiner);
//! assert_eq!(next.reason, "ran 19 s for 1:2.0, under the 25–35 s aimed at: grind finer");
//! ```

/// What the barista aims at for a method: a ratio (yield ÷ dose) and a time window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Target {
    pub ratio: f64,
    /// How far the ratio may be from `ratio` and still count as on target.
    pub ratio_tolerance: f64,
    /// Seconds, from and to.
    pub seconds: (f64, f64),
}

impl Target {
    /// Espresso: 1:2 in 25 to 35 s.
    pub const ESPRESSO: Target = Target { ratio: 2.0, ratio_tolerance: 0.2, seconds: (25.0, 35.0) };
    /// Pour-over: 1:16 in 2:30 to 4:00.
    pub const POUR_OVER: Target = Target { ratio: 16.0, ratio_tolerance: 1.0, seconds: (150.0, 240.0) };
    /// Immersion: 1:15 in 3:00 to 5:00.
    pub const IMMERSION: Target = Target { ratio: 15.0, ratio_tolerance: 1.0, seconds: (180.0, 300.0) };

    /// The default for a method (`espresso`, `pour-over`, `immersion`); none for the rest
    /// (cold brew and other ways have no window worth a rule).
    pub fn for_method(method: &str) -> Option<Target> {
        match method {
            "espresso" => Some(Target::ESPRESSO),
            "pour-over" => Some(Target::POUR_OVER),
            "immersion" => Some(Target::IMMERSION),
            _ => None,
        }
    }
}

/// How a shot tasted, the barista's quick choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Taste {
    Sour,
    Balanced,
    Bitter,
}

/// How strong it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strength {
    Weak,
    Right,
    Strong,
}

/// A shot's figures, as the rules read them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shot {
    /// Coffee in, grams.
    pub dose: Option<f64>,
    /// Drink out, grams.
    pub yield_grams: f64,
    /// How long it ran.
    pub seconds: f64,
    pub taste: Option<Taste>,
    pub strength: Option<Strength>,
}

/// The one thing to change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Change {
    /// Weigh the dose first.
    WeighTheDose,
    /// Go back to the dose before, then change one thing.
    SameDose,
    GrindFiner,
    GrindCoarser,
    /// Yield more for the same dose.
    HigherRatio,
    /// Yield less for the same dose.
    LowerRatio,
    KeepIt,
}

/// What to change next, and why, in the shot's own figures.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Suggestion {
    pub change: Change,
    /// Said to the barista: the shot's figures, the target, the change.
    #[cfg_attr(feature = "openapi", schema(example = "ran 19 s for 1:2.0, under the 25–35 s aimed at: grind finer"))]
    pub reason: String,
}

/// Doses this close count as the same (a scale's and a hand's noise).
const SAME_DOSE_GRAMS: f64 = 0.3;

/// The suggestion for the shot after `shot`; `before` is the shot before it (of the same
/// beans), to see whether the dose moved.
pub fn suggest(shot: &Shot, before: Option<&Shot>, target: &Target) -> Suggestion {
    let say = |change: Change, reason: String| Suggestion { change, reason };
    let Some(dose) = shot.dose.filter(|d| *d > 0.0) else {
        return say(Change::WeighTheDose, "no dose was written down: weigh the coffee to judge the ratio".into());
    };
    if let Some(previous) = before.and_then(|b| b.dose).filter(|d| (d - dose).abs() >= SAME_DOSE_GRAMS) {
        return say(
            Change::SameDose,
            format!("the dose changed from {previous:.1} g to {dose:.1} g: keep one dose to compare like with like"),
        );
    }
    let ratio = shot.yield_grams / dose;
    let (from, to) = target.seconds;
    let (fast, slow) = (shot.seconds < from, shot.seconds > to);
    let ran = format!("ran {:.0} s for 1:{ratio:.1}", shot.seconds);
    let window = format!("{from:.0}–{to:.0} s");
    match (shot.taste, shot.strength) {
        (Some(Taste::Sour), _) if fast => {
            return say(Change::GrindFiner, format!("sour and fast ({ran}): grind finer, or yield more"));
        }
        (Some(Taste::Sour), _) => {
            return say(
                Change::HigherRatio,
                format!("sour at 1:{ratio:.1}: yield more, about 1:{:.1}", ratio + step(target)),
            );
        }
        (Some(Taste::Bitter), _) if slow => {
            return say(Change::GrindCoarser, format!("bitter and slow ({ran}): grind coarser"));
        }
        (Some(Taste::Bitter), _) => {
            return say(
                Change::LowerRatio,
                format!("bitter at 1:{ratio:.1}: yield less, about 1:{:.1}", ratio - step(target)),
            );
        }
        (_, Some(Strength::Weak)) => {
            return say(Change::LowerRatio, format!("weak at 1:{ratio:.1}: yield less, or dose more"));
        }
        (_, Some(Strength::Strong)) => {
            return say(Change::HigherRatio, format!("strong at 1:{ratio:.1}: yield more"));
        }
        (Some(Taste::Balanced), _) if !fast && !slow => {
            return say(Change::KeepIt, format!("balanced, {ran}: keep this recipe"));
        }
        _ => {}
    }
    if (ratio - target.ratio).abs() > target.ratio_tolerance {
        let stop_at = dose * target.ratio;
        let change = if ratio > target.ratio { Change::LowerRatio } else { Change::HigherRatio };
        return say(change, format!("1:{ratio:.1} for a 1:{:.1} target: stop at {stop_at:.0} g", target.ratio));
    }
    if fast {
        return say(Change::GrindFiner, format!("{ran}, under the {window} aimed at: grind finer"));
    }
    if slow {
        return say(Change::GrindCoarser, format!("{ran}, over the {window} aimed at: grind coarser"));
    }
    say(Change::KeepIt, format!("{ran}, on target: keep it, and say how it tasted"))
}

/// A ratio step worth tasting: a tenth of the target ratio (0.2 for espresso's 1:2).
fn step(target: &Target) -> f64 {
    target.ratio / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shot(dose: f64, yield_grams: f64, seconds: f64) -> Shot {
        Shot { dose: Some(dose), yield_grams, seconds, taste: None, strength: None }
    }

    fn tasted(taste: Taste, seconds: f64) -> Shot {
        Shot { taste: Some(taste), ..shot(18.0, 36.0, seconds) }
    }

    fn next(s: &Shot) -> Suggestion {
        suggest(s, None, &Target::ESPRESSO)
    }

    #[test]
    fn no_dose_asks_for_one() {
        let s = Shot { dose: None, ..shot(18.0, 36.0, 30.0) };
        assert_eq!(next(&s).change, Change::WeighTheDose);
        assert_eq!(next(&Shot { dose: Some(0.0), ..s }).change, Change::WeighTheDose);
    }

    #[test]
    fn a_dose_changed_between_shots_comes_first() {
        let before = shot(18.0, 36.0, 30.0);
        let s = Shot { taste: Some(Taste::Sour), ..shot(19.5, 36.0, 20.0) };
        let n = suggest(&s, Some(&before), &Target::ESPRESSO);
        assert_eq!(n.change, Change::SameDose);
        assert_eq!(n.reason, "the dose changed from 18.0 g to 19.5 g: keep one dose to compare like with like");
        // A tenth of a gram is the same dose.
        assert_ne!(suggest(&shot(18.1, 36.0, 30.0), Some(&before), &Target::ESPRESSO).change, Change::SameDose);
    }

    #[test]
    fn sour_and_fast_grinds_finer() {
        let n = next(&tasted(Taste::Sour, 19.0));
        assert_eq!(n.change, Change::GrindFiner);
        assert_eq!(n.reason, "sour and fast (ran 19 s for 1:2.0): grind finer, or yield more");
    }

    #[test]
    fn sour_in_time_yields_more() {
        let n = next(&tasted(Taste::Sour, 30.0));
        assert_eq!((n.change, n.reason.as_str()), (Change::HigherRatio, "sour at 1:2.0: yield more, about 1:2.2"));
    }

    #[test]
    fn bitter_and_slow_grinds_coarser() {
        let n = next(&tasted(Taste::Bitter, 41.0));
        assert_eq!(
            (n.change, n.reason.as_str()),
            (Change::GrindCoarser, "bitter and slow (ran 41 s for 1:2.0): grind coarser")
        );
    }

    #[test]
    fn bitter_in_time_yields_less() {
        let n = next(&tasted(Taste::Bitter, 30.0));
        assert_eq!((n.change, n.reason.as_str()), (Change::LowerRatio, "bitter at 1:2.0: yield less, about 1:1.8"));
    }

    #[test]
    fn weak_and_strong_move_the_ratio() {
        let weak = Shot { strength: Some(Strength::Weak), ..shot(18.0, 40.0, 30.0) };
        assert_eq!(next(&weak).change, Change::LowerRatio);
        let strong = Shot { strength: Some(Strength::Strong), ..shot(18.0, 32.0, 30.0) };
        assert_eq!(next(&strong).change, Change::HigherRatio);
    }

    #[test]
    fn balanced_in_the_window_is_kept() {
        let n = next(&tasted(Taste::Balanced, 28.0));
        assert_eq!((n.change, n.reason.as_str()), (Change::KeepIt, "balanced, ran 28 s for 1:2.0: keep this recipe"));
        // Balanced but far too fast still says so.
        assert_eq!(next(&tasted(Taste::Balanced, 15.0)).change, Change::GrindFiner);
    }

    #[test]
    fn a_ratio_off_target_names_the_yield_to_stop_at() {
        let n = next(&shot(18.0, 47.0, 30.0));
        assert_eq!((n.change, n.reason.as_str()), (Change::LowerRatio, "1:2.6 for a 1:2.0 target: stop at 36 g"));
        assert_eq!(next(&shot(18.0, 27.0, 30.0)).change, Change::HigherRatio);
    }

    #[test]
    fn time_outside_the_window_moves_the_grind() {
        let fast = next(&shot(18.0, 36.0, 19.0));
        assert_eq!(fast.reason, "ran 19 s for 1:2.0, under the 25–35 s aimed at: grind finer");
        let slow = next(&shot(18.0, 36.0, 42.0));
        assert_eq!(
            (slow.change, slow.reason.as_str()),
            (Change::GrindCoarser, "ran 42 s for 1:2.0, over the 25–35 s aimed at: grind coarser")
        );
    }

    #[test]
    fn on_target_keeps_it() {
        let n = next(&shot(18.0, 36.5, 29.0));
        assert_eq!(
            (n.change, n.reason.as_str()),
            (Change::KeepIt, "ran 29 s for 1:2.0, on target: keep it, and say how it tasted")
        );
    }

    #[test]
    fn each_method_has_its_own_window() {
        let v60 = Shot { dose: Some(15.0), yield_grams: 240.0, seconds: 100.0, taste: None, strength: None };
        let n = suggest(&v60, None, &Target::for_method("pour-over").expect("a target"));
        assert_eq!(n.change, Change::GrindFiner, "{}", n.reason);
        assert_eq!(Target::for_method("cold-brew"), None);
    }
}
