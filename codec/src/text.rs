//! The text form of a reading: `client_id=scale-01;session_id=brew-0042;value=18.25;tstamp=1763805600123`.
//!
//! A line is a sequence of `key=value` fields separated by `;`, with spaces and tabs
//! allowed around every part. The four keys of a reading must appear exactly once, the
//! measures (`pressure`, `flow`, …) at most once; unknown keys are skipped. Every slice borrows the input: nothing is allocated unless there is an error.

use nom::bytes::complete::{take_till, take_while1};
use nom::character::complete::char;
use nom::number::complete::recognize_float;
use nom::{IResult, Parser};

use crate::error::{DecodeError, Field, InvalidValue, Problem};
use crate::measures::{Measures, SeriesKind};
use crate::time::parse_rfc3339;
use crate::types::{ClientId, Grams, MAX_ID_LEN, Reading, SessionId, Timestamp, is_id_byte};

type In<'a> = &'a [u8];

/// Skips spaces and tabs. Usually there are none, so this is a plain loop rather
/// than a combinator: it runs up to seven times per field.
#[inline]
fn spaces(mut i: In) -> In {
    while let [b' ' | b'\t', rest @ ..] = i {
        i = rest;
    }
    i
}

fn trim_end_spaces(mut v: In) -> In {
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// Where a line went wrong (offset from the line's start), what, and the text found there.
pub(crate) type LineProblem<'a> = (usize, Problem, Option<In<'a>>);

/// Parses the `client_id` or `session_id` value `raw`, found at offset `at`.
fn id<'a, T>(
    raw: In<'a>,
    at: usize,
    field: Field,
    parse: fn(&[u8]) -> Result<T, InvalidValue>,
) -> Result<T, LineProblem<'a>> {
    parse(raw).map_err(|why| {
        let at = match why {
            InvalidValue::BadChar { pos } => at + pos,
            _ => at,
        };
        let found = (!raw.is_empty()).then_some(raw);
        (at, Problem::Invalid(field, why), found)
    })
}

/// Powers of ten that are exact in an f64.
const POW10: [f64; 16] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/// The common case, `[+-]digits[.digits]` with at most 15 digits, without a detour
/// through text: the integer and the power of ten are exact in an f64, so one division
/// is correctly rounded and gives the same value `str::parse` would.
fn plain_decimal(raw: In) -> Option<f64> {
    let (negative, digits) = match raw.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, raw),
    };
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let (mut mantissa, mut count, mut fraction, mut dot) = (0u64, 0usize, 0usize, false);
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(b - b'0');
                count += 1;
                fraction += usize::from(dot);
            }
            b'.' if !dot => dot = true,
            _ => return None,
        }
    }
    if count == 0 || count > 15 {
        return None;
    }
    #[allow(clippy::cast_precision_loss)] // below 10^15 < 2^53: exact
    let value = mantissa as f64 / POW10[fraction];
    Some(if negative { -value } else { value })
}

/// Parses a decimal number (`18`, `18.25`, `-0.4`, `1.5e2`), the value of `field`.
fn decimal(raw: In<'_>, at: usize, field: Field) -> Result<f64, LineProblem<'_>> {
    if let Some(n) = plain_decimal(raw) {
        return Ok(n);
    }
    let number: IResult<In, In, ()> = recognize_float(raw);
    let text = match number {
        Ok((rest, num)) if rest.is_empty() && !num.is_empty() => num,
        _ => return Err((at, Problem::NotANumber(field), Some(raw))),
    };
    let parsed = std::str::from_utf8(text).ok().and_then(|t| t.parse::<f64>().ok());
    parsed.ok_or((at, Problem::NotANumber(field), Some(raw)))
}

/// Parses a decimal number in grams.
pub(crate) fn grams(raw: In<'_>, at: usize) -> Result<Grams, LineProblem<'_>> {
    Grams::new(decimal(raw, at, Field::Value)?).map_err(|why| (at, Problem::Invalid(Field::Value, why), Some(raw)))
}

/// `Some(number)` when `raw` is all ASCII digits (`Some(None)` past `u64::MAX`);
/// `None` when it is empty or holds anything else.
fn all_digits(raw: In) -> Option<Option<u64>> {
    if raw.is_empty() {
        return None;
    }
    // Up to 19 digits cannot overflow a u64: one pass, no checks but the digit test.
    if raw.len() <= 19 {
        let mut n = 0u64;
        for &b in raw {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                return None;
            }
            n = n * 10 + u64::from(digit);
        }
        return Some(Some(n));
    }
    if !raw.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(raw.iter().try_fold(0u64, |n, &b| n.checked_mul(10)?.checked_add(u64::from(b - b'0'))))
}

/// Parses milliseconds since the epoch, or an RFC 3339 date-time.
pub(crate) fn tstamp(raw: In<'_>, at: usize) -> Result<Timestamp, LineProblem<'_>> {
    let out_of_range = |why| (at, Problem::Invalid(Field::Tstamp, why), Some(raw));
    if !raw.is_empty() && raw.iter().all(u8::is_ascii_digit) {
        let ms = raw.iter().try_fold(0u64, |acc, b| acc.checked_mul(10)?.checked_add(u64::from(b - b'0')));
        let ms = ms.ok_or(InvalidValue::OutOfRange { min: "0", max: "253402300799999 (year 9999)" });
        return ms.and_then(Timestamp::from_millis).map_err(out_of_range);
    }
    // Text that does not start like a date is neither form: say so without date detail.
    if raw.get(4) != Some(&b'-') {
        return Err((at, Problem::BadTimestamp(""), Some(raw)));
    }
    let ms = parse_rfc3339(raw).map_err(|(pos, detail)| (at + pos, Problem::BadTimestamp(detail), Some(raw)))?;
    let ms = u64::try_from(ms)
        .map_err(|_| out_of_range(InvalidValue::OutOfRange { min: "1970-01-01", max: "9999-12-31" }))?;
    Timestamp::from_millis(ms).map_err(out_of_range)
}

/// Index of each known key in the per-line slots, in the order fields are checked: the
/// four a reading must have, then the measures it may carry.
fn slot_of(key: In) -> Option<usize> {
    match key {
        b"client_id" => Some(0),
        b"session_id" => Some(1),
        b"value" => Some(2),
        b"tstamp" => Some(3),
        b"pressure" => Some(4),
        b"flow" => Some(5),
        b"water_temperature" => Some(6),
        b"basket_temperature" => Some(7),
        b"water_dispensed" => Some(8),
        _ => None,
    }
}

const FIELDS: [Field; 9] = [
    Field::ClientId,
    Field::SessionId,
    Field::Value,
    Field::Tstamp,
    Field::Measure(SeriesKind::Pressure),
    Field::Measure(SeriesKind::Flow),
    Field::Measure(SeriesKind::WaterTemperature),
    Field::Measure(SeriesKind::BasketTemperature),
    Field::Measure(SeriesKind::WaterDispensed),
];

/// The measures among the slots, each checked against its range.
fn measures<'a>(slots: &[Option<(In<'a>, usize)>]) -> Result<Measures, LineProblem<'a>> {
    let mut measures = Measures::NONE;
    for (slot, field) in slots.iter().zip(FIELDS).skip(4) {
        let (Some((raw, at)), Field::Measure(kind)) = (slot, field) else { continue };
        let n = decimal(raw, *at, field)?;
        measures.set(kind, n).map_err(|why| (*at, Problem::Invalid(field, why), Some(*raw)))?;
    }
    Ok(measures)
}

/// The line as the encoder writes it (`client_id=…;session_id=…;value=…;tstamp=…`,
/// keys in this order, no spaces, plain decimals, milliseconds): read in one straight
/// pass. Anything else, valid or not, returns `None` and goes to [`parse_line`],
/// which reads every form and explains every error.
#[inline]
fn canonical_line(line: In<'_>) -> Option<Reading> {
    // Keys as fixed-size arrays compare as a few integer comparisons, not a memcmp call.
    fn field<'a, const N: usize>(rest: In<'a>, key: &[u8; N]) -> Option<(In<'a>, In<'a>)> {
        if rest.first_chunk::<N>()? != key {
            return None;
        }
        let rest = &rest[N..];
        let semi = rest.iter().position(|&b| b == b';')?;
        Some((&rest[..semi], &rest[semi + 1..]))
    }
    /// An id value: scanned and checked in the same pass, up to its `;`.
    fn id_field<'a, const N: usize>(rest: In<'a>, key: &[u8; N]) -> Option<(In<'a>, In<'a>)> {
        if rest.first_chunk::<N>()? != key {
            return None;
        }
        let rest = &rest[N..];
        let end = rest.iter().position(|&b| !is_id_byte(b))?;
        (rest[end] == b';' && (1..=MAX_ID_LEN).contains(&end)).then(|| (&rest[..end], &rest[end + 1..]))
    }
    let (client_id, rest) = id_field(line, b"client_id=")?;
    let (session_id, rest) = id_field(rest, b"session_id=")?;
    let (value, rest) = field(rest, b"value=")?;
    let tstamp = match rest.split_first_chunk::<7>() {
        Some((b"tstamp=", tstamp)) => tstamp,
        _ => return None,
    };
    let tstamp = tstamp.strip_suffix(b";").unwrap_or(tstamp);
    #[allow(unsafe_code)]
    // SAFETY: `id_field` checked every byte against the alphabet, and the length.
    let (client_id, session_id) = unsafe { (ClientId::from_checked(client_id), SessionId::from_checked(session_id)) };
    Some(Reading {
        client_id,
        session_id,
        value: Grams::new(plain_decimal(value)?).ok()?,
        tstamp: Timestamp::from_millis(all_digits(tstamp)??).ok()?,
        measures: Measures::NONE,
    })
}

/// Parses one line of the text form: the canonical fast path, else the general parser.
#[inline]
pub(crate) fn parse_line(line: In<'_>) -> Result<Reading, LineProblem<'_>> {
    match canonical_line(line) {
        Some(reading) => Ok(reading),
        None => parse_any_line(line),
    }
}

/// Parses one line of the text form, in any key order and spacing.
///
/// First the line is split into fields, keeping each known value as a slice and its
/// offset (syntax and duplicates are found here); then the values are checked and built
/// straight into the reading.
fn parse_any_line(line: In<'_>) -> Result<Reading, LineProblem<'_>> {
    let at = |rest: In| line.len() - rest.len();
    let mut slots: [Option<(In, usize)>; FIELDS.len()] = [None; FIELDS.len()];
    let mut rest = spaces(line);
    while !rest.is_empty() {
        let key_at = at(rest);
        let keyed: IResult<In, In, ()> = take_while1(is_id_byte).parse(rest);
        let Ok((after_key, key)) = keyed else {
            let found: IResult<In, In, ()> = take_till(|b| b == b';').parse(rest);
            let found = found.map_or(rest, |(_, f)| trim_end_spaces(f));
            return Err((key_at, Problem::Expected("a key"), Some(found)));
        };
        let after_key = spaces(after_key);
        let equals: IResult<In, char, ()> = char('=').parse(after_key);
        let Ok((after_eq, _)) = equals else {
            let found = &after_key[..after_key.len().min(1)];
            return Err((at(after_key), Problem::Expected("'=' after the key"), Some(found)));
        };
        let value_start = spaces(after_eq);
        // Values are short: a plain scan beats a SIMD search's set-up here.
        let (raw, after_value) = match value_start.iter().position(|&b| b == b';') {
            Some(semi) => (&value_start[..semi], spaces(&value_start[semi + 1..])),
            None => (value_start, &value_start[value_start.len()..]),
        };
        if let Some(slot) = slot_of(key) {
            if slots[slot].is_some() {
                return Err((key_at, Problem::Duplicate(FIELDS[slot]), None));
            }
            slots[slot] = Some((trim_end_spaces(raw), at(value_start)));
        }
        // Unknown keys are for newer servers: skipped.
        rest = after_value;
    }
    let end = line.len();
    let field = |slot: usize| slots[slot].ok_or((end, Problem::Missing(FIELDS[slot]), None));
    let (client_id, session_id, value, tstamp_text) = (field(0)?, field(1)?, field(2)?, field(3)?);
    Ok(Reading {
        client_id: id(client_id.0, client_id.1, Field::ClientId, ClientId::parse_bytes)?,
        session_id: id(session_id.0, session_id.1, Field::SessionId, SessionId::parse_bytes)?,
        value: grams(value.0, value.1)?,
        tstamp: tstamp(tstamp_text.0, tstamp_text.1)?,
        measures: measures(&slots)?,
    })
}

/// Turns a line problem into the error reported for line number `n`.
pub(crate) fn error(n: u32, (at, problem, found): LineProblem<'_>) -> DecodeError {
    DecodeError::new(n, at, problem, found)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{canonical_line, parse_any_line};

    proptest! {
        /// The fast path never accepts what the general parser would read differently.
        #[test]
        fn the_fast_path_agrees_with_the_general_parser(
            line in "(client_id=[a-z0-9.]{0,3};)?(session_id=[a-z0-9 ]{0,3};)?(value=[-+0-9.e]{0,6};)?(tstamp=[0-9:-]{0,14};?)?"
        ) {
            if let Some(fast) = canonical_line(line.as_bytes()) {
                prop_assert_eq!(Ok(fast), parse_any_line(line.as_bytes()).map_err(|(at, p, _)| (at, p)));
            }
        }
    }
}
