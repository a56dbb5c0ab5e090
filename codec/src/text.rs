//! The text form of a reading: `client_id=scale-01;session_id=brew-0042;value=18.25;tstamp=1763805600123`.
//!
//! A line is a sequence of `key=value` fields separated by `;`, with spaces and tabs
//! allowed around every part. Known keys must appear exactly once; unknown keys are
//! skipped. Every slice borrows the input: nothing is allocated unless there is an error.

use nom::bytes::complete::{take_till, take_while1};
use nom::character::complete::{char, space0};
use nom::number::complete::recognize_float;
use nom::{IResult, Parser};

use crate::error::{DecodeError, Field, InvalidValue, Problem};
use crate::time::parse_rfc3339;
use crate::types::{ClientId, Grams, Reading, SessionId, Timestamp, is_id_byte};

type In<'a> = &'a [u8];

fn spaces(i: In) -> In {
    let parsed: IResult<In, In, ()> = space0(i);
    parsed.map_or(i, |(rest, _)| rest)
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
    parse: fn(&str) -> Result<T, InvalidValue>,
) -> Result<T, LineProblem<'a>> {
    if let Some(pos) = raw.iter().position(|&b| !is_id_byte(b)) {
        let invalid = Problem::Invalid(field, InvalidValue::BadChar { pos });
        return Err((at + pos, invalid, Some(raw)));
    }
    // Only ASCII is left, so this is valid UTF-8.
    let text = std::str::from_utf8(raw).map_err(|_| (at, Problem::Expected("ASCII"), Some(raw)))?;
    parse(text).map_err(|why| {
        let found = (!raw.is_empty()).then_some(raw);
        (at, Problem::Invalid(field, why), found)
    })
}

/// Parses a decimal number in grams (`18`, `18.25`, `-0.4`, `1.5e2`).
pub(crate) fn grams(raw: In<'_>, at: usize) -> Result<Grams, LineProblem<'_>> {
    let number: IResult<In, In, ()> = recognize_float(raw);
    let text = match number {
        Ok((rest, num)) if rest.is_empty() && !num.is_empty() => num,
        _ => return Err((at, Problem::NotANumber, Some(raw))),
    };
    let parsed = std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse::<f64>().ok());
    let g = parsed.ok_or((at, Problem::NotANumber, Some(raw)))?;
    Grams::new(g).map_err(|why| (at, Problem::Invalid(Field::Value, why), Some(raw)))
}

/// Parses milliseconds since the epoch, or an RFC 3339 date-time.
pub(crate) fn tstamp(raw: In<'_>, at: usize) -> Result<Timestamp, LineProblem<'_>> {
    let out_of_range = |why| (at, Problem::Invalid(Field::Tstamp, why), Some(raw));
    if !raw.is_empty() && raw.iter().all(u8::is_ascii_digit) {
        let ms = raw.iter().try_fold(0u64, |acc, b| {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        });
        let ms = ms.ok_or(InvalidValue::OutOfRange {
            min: "0",
            max: "253402300799999 (year 9999)",
        });
        return ms.and_then(Timestamp::from_millis).map_err(out_of_range);
    }
    // Text that does not start like a date is neither form: say so without date detail.
    if raw.get(4) != Some(&b'-') {
        return Err((at, Problem::BadTimestamp(""), Some(raw)));
    }
    let ms = parse_rfc3339(raw)
        .map_err(|(pos, detail)| (at + pos, Problem::BadTimestamp(detail), Some(raw)))?;
    let ms = u64::try_from(ms).map_err(|_| {
        out_of_range(InvalidValue::OutOfRange {
            min: "1970-01-01",
            max: "9999-12-31",
        })
    })?;
    Timestamp::from_millis(ms).map_err(out_of_range)
}

/// Stores a field's value, refusing a second one.
fn set_once<'a, T>(
    slot: &mut Option<T>,
    value: T,
    field: Field,
    at: usize,
) -> Result<(), LineProblem<'a>> {
    if slot.is_some() {
        return Err((at, Problem::Duplicate(field), None));
    }
    *slot = Some(value);
    Ok(())
}

/// Parses one line of the text form.
pub(crate) fn parse_line(line: In<'_>) -> Result<Reading, LineProblem<'_>> {
    let at = |rest: In| line.len() - rest.len();
    let (mut client_id, mut session_id, mut value, mut tstamp_ms) = (None, None, None, None);
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
            return Err((
                at(after_key),
                Problem::Expected("'=' after the key"),
                Some(found),
            ));
        };
        let value_start = spaces(after_eq);
        let value_at = at(value_start);
        let split: IResult<In, In, ()> = take_till(|b| b == b';').parse(value_start);
        let (after_value, raw) = split.unwrap_or((&[], value_start));
        let raw = trim_end_spaces(raw);
        match key {
            b"client_id" => {
                let v = id(raw, value_at, Field::ClientId, ClientId::parse)?;
                set_once(&mut client_id, v, Field::ClientId, key_at)?;
            }
            b"session_id" => {
                let v = id(raw, value_at, Field::SessionId, SessionId::parse)?;
                set_once(&mut session_id, v, Field::SessionId, key_at)?;
            }
            b"value" => set_once(&mut value, grams(raw, value_at)?, Field::Value, key_at)?,
            b"tstamp" => set_once(
                &mut tstamp_ms,
                tstamp(raw, value_at)?,
                Field::Tstamp,
                key_at,
            )?,
            _ => {} // Unknown keys are for newer servers: skip them.
        }
        rest = after_value.strip_prefix(b";").map_or(after_value, spaces);
    }
    let end = line.len();
    Ok(Reading {
        client_id: client_id.ok_or((end, Problem::Missing(Field::ClientId), None))?,
        session_id: session_id.ok_or((end, Problem::Missing(Field::SessionId), None))?,
        value: value.ok_or((end, Problem::Missing(Field::Value), None))?,
        tstamp: tstamp_ms.ok_or((end, Problem::Missing(Field::Tstamp), None))?,
    })
}

/// Turns a line problem into the error reported for line number `n`.
pub(crate) fn error(n: u32, (at, problem, found): LineProblem<'_>) -> DecodeError {
    DecodeError::new(n, at, problem, found)
}
