//! RFC 3339 date-times (`2026-11-22T10:00:00.123Z`) to milliseconds since the Unix epoch.

use nom::bytes::complete::{tag, take_while_m_n, take_while1};
use nom::character::complete::one_of;
use nom::{IResult, Parser};

/// Where in the text a date-time went wrong (offset from its start) and what was expected.
pub(crate) type TimeError = (usize, &'static str);

type In<'a> = &'a [u8];

/// Exactly `n` ASCII digits as a number.
fn digits(n: usize) -> impl Fn(In) -> IResult<In, i64, ()> {
    move |i| {
        take_while_m_n(n, n, |b: u8| b.is_ascii_digit())
            .map(|d: In| d.iter().fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0')))
            .parse(i)
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given civil date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses a whole RFC 3339 date-time (`T`, `t` or a space between date and time;
/// `Z`, `z` or `±hh:mm` offset; any number of fraction digits, kept to the millisecond).
pub(crate) fn parse_rfc3339(text: In) -> Result<i64, TimeError> {
    let at = |rest: In| text.len() - rest.len();
    // One step: run `p` on `rest`, or fail at `rest` with `what`.
    fn step<'a, O>(rest: In<'a>, mut p: impl Parser<In<'a>, Output = O, Error = ()>) -> Option<(In<'a>, O)> {
        p.parse(rest).ok()
    }
    macro_rules! expect {
        ($rest:expr, $p:expr, $what:expr) => {
            step($rest, $p).ok_or((at($rest), $what))?
        };
    }

    let (r, year) = expect!(text, digits(4), "expected a 4-digit year");
    let (r, _) = expect!(r, tag(&b"-"[..]), "expected '-' after the year");
    let (r2, month) = expect!(r, digits(2), "expected a 2-digit month");
    if !(1..=12).contains(&month) {
        return Err((at(r), "month must be 01-12"));
    }
    let (r, _) = expect!(r2, tag(&b"-"[..]), "expected '-' after the month");
    let (r2, day) = expect!(r, digits(2), "expected a 2-digit day");
    if day < 1 || day > days_in_month(year, month) {
        return Err((at(r), "no such day in that month"));
    }
    let (r, _) = expect!(r2, one_of("Tt "), "expected 'T' between date and time");
    let (r2, hour) = expect!(r, digits(2), "expected a 2-digit hour");
    if hour > 23 {
        return Err((at(r), "hour must be 00-23"));
    }
    let (r, _) = expect!(r2, tag(&b":"[..]), "expected ':' after the hour");
    let (r2, minute) = expect!(r, digits(2), "expected 2-digit minutes");
    if minute > 59 {
        return Err((at(r), "minutes must be 00-59"));
    }
    let (r, _) = expect!(r2, tag(&b":"[..]), "expected ':' after the minutes");
    let (r2, second) = expect!(r, digits(2), "expected 2-digit seconds");
    if second > 59 {
        return Err((at(r), "seconds must be 00-59"));
    }
    let mut r = r2;
    let mut millis = 0;
    if let Some(after_dot) = r.strip_prefix(b".") {
        let (r2, frac) = expect!(after_dot, take_while1(|b: u8| b.is_ascii_digit()), "expected digits after '.'");
        millis = frac.iter().chain(b"000").take(3).fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0'));
        r = r2;
    }
    let (r, offset_minutes) = match r.first() {
        Some(b'Z' | b'z') => (&r[1..], 0),
        Some(&sign @ (b'+' | b'-')) => {
            let r1 = &r[1..];
            let (r2, oh) = expect!(r1, digits(2), "expected a 2-digit offset hour");
            let (r2, _) = expect!(r2, tag(&b":"[..]), "expected ':' in the offset");
            let (r3, om) = expect!(r2, digits(2), "expected 2-digit offset minutes");
            if oh > 23 || om > 59 {
                return Err((at(r1), "offset must be at most 23:59"));
            }
            let minutes = oh * 60 + om;
            (r3, if sign == b'-' { -minutes } else { minutes })
        }
        _ => return Err((at(r), "expected 'Z' or an offset like +01:00")),
    };
    if !r.is_empty() {
        return Err((at(r), "unexpected text after the date-time"));
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Ok(seconds * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> Result<i64, TimeError> {
        parse_rfc3339(s.as_bytes())
    }

    #[test]
    fn reads_utc_and_offsets() {
        assert_eq!(ms("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(ms("2026-11-22T10:00:00.123Z"), Ok(1_795_341_600_123));
        assert_eq!(ms("2026-11-22t10:00:00.123z"), Ok(1_795_341_600_123));
        assert_eq!(ms("2026-11-22 11:00:00.123+01:00"), Ok(1_795_341_600_123));
        assert_eq!(ms("2026-11-22T09:30:00.123-00:30"), Ok(1_795_341_600_123));
        assert_eq!(ms("2026-11-22T10:00:00.1Z"), Ok(1_795_341_600_100));
        assert_eq!(ms("2026-11-22T10:00:00.123999Z"), Ok(1_795_341_600_123));
        assert_eq!(ms("2024-02-29T00:00:00Z"), Ok(1_709_164_800_000));
        assert_eq!(ms("9999-12-31T23:59:59.999Z"), Ok(253_402_300_799_999));
    }

    #[test]
    fn names_what_is_wrong_and_where() {
        assert_eq!(ms("26-11-22T10:00:00Z"), Err((0, "expected a 4-digit year")));
        assert_eq!(ms("2026/11/22T10:00:00Z"), Err((4, "expected '-' after the year")));
        assert_eq!(ms("2026-13-22T10:00:00Z"), Err((5, "month must be 01-12")));
        assert_eq!(ms("2025-02-29T10:00:00Z"), Err((8, "no such day in that month")));
        assert_eq!(ms("2026-04-31T10:00:00Z"), Err((8, "no such day in that month")));
        assert_eq!(ms("2026-11-22X10:00:00Z"), Err((10, "expected 'T' between date and time")));
        assert_eq!(ms("2026-11-22T24:00:00Z"), Err((11, "hour must be 00-23")));
        assert_eq!(ms("2026-11-22T10-00:00Z"), Err((13, "expected ':' after the hour")));
        assert_eq!(ms("2026-11-22T10:60:00Z"), Err((14, "minutes must be 00-59")));
        assert_eq!(ms("2026-11-22T10:00-00Z"), Err((16, "expected ':' after the minutes")));
        assert_eq!(ms("2026-11-22T10:00:60Z"), Err((17, "seconds must be 00-59")));
        assert_eq!(ms("2026-11-22T10:00:00.Z"), Err((20, "expected digits after '.'")));
        assert_eq!(ms("2026-11-22T10:00:00"), Err((19, "expected 'Z' or an offset like +01:00")));
        assert_eq!(ms("2026-11-22T10:00:00+1:00"), Err((20, "expected a 2-digit offset hour")));
        assert_eq!(ms("2026-11-22T10:00:00+01-00"), Err((22, "expected ':' in the offset")));
        assert_eq!(ms("2026-11-22T10:00:00+01:0"), Err((23, "expected 2-digit offset minutes")));
        assert_eq!(ms("2026-11-22T10:00:00+24:00"), Err((20, "offset must be at most 23:59")));
        assert_eq!(ms("2026-11-22T10:00:00Zjunk"), Err((20, "unexpected text after the date-time")));
        assert_eq!(ms("2026-1"), Err((5, "expected a 2-digit month")));
        assert_eq!(ms("2026-11-2"), Err((8, "expected a 2-digit day")));
        assert_eq!(ms("2026-11-22T1"), Err((11, "expected a 2-digit hour")));
        assert_eq!(ms("2026-11-22T10:0"), Err((14, "expected 2-digit minutes")));
        assert_eq!(ms("2026-11-22T10:00:0"), Err((17, "expected 2-digit seconds")));
        assert_eq!(ms("2026-11-2210:00:00Z"), Err((10, "expected 'T' between date and time")));
    }

    #[test]
    fn leap_years_follow_the_gregorian_rules() {
        assert!(ms("2000-02-29T00:00:00Z").is_ok());
        assert!(ms("1900-02-29T00:00:00Z").is_err());
        assert!(ms("2100-02-29T00:00:00Z").is_err());
    }
}
