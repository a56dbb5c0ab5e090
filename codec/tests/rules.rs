//! One test per rule of the readings in docs/protocol.md and per way a line or message is refused.

use wages_codec::{
    DecodeError, Field, InvalidValue, MAX_LINE_BYTES, MAX_MESSAGE_BYTES, MAX_READINGS_PER_MESSAGE, MessageError,
    Problem, Reading, decode_line, decode_message,
};

const LINE: &str = "client_id=scale-01;session_id=brew-0042;value=18.25;tstamp=1763805600123";

fn ok(line: &str) -> Reading {
    decode_line(line.as_bytes()).unwrap_or_else(|e| panic!("{line:?} should decode: {e}"))
}

fn err(line: &str) -> DecodeError {
    match decode_line(line.as_bytes()) {
        Ok(r) => panic!("{line:?} should be refused, got {r:?}"),
        Err(e) => e,
    }
}

fn message(line: &str) -> String {
    err(line).to_string()
}

#[test]
fn the_spec_example_decodes() {
    let r = ok(LINE);
    assert_eq!(r.client_id.as_str(), "scale-01");
    assert_eq!(r.session_id.as_str(), "brew-0042");
    assert_eq!(r.value.get(), 18.25);
    assert_eq!(r.tstamp.millis(), 1_763_805_600_123);
}

#[test]
fn keys_come_in_any_order() {
    assert_eq!(ok("tstamp=1763805600123;value=18.25;session_id=brew-0042;client_id=scale-01"), ok(LINE));
}

#[test]
fn spaces_and_tabs_are_allowed_around_every_part() {
    let spaced = " \tclient_id = scale-01 ;\tsession_id\t=\tbrew-0042 ; value =18.25; tstamp= 1763805600123 \t";
    assert_eq!(ok(spaced), ok(LINE));
}

#[test]
fn a_trailing_semicolon_is_allowed() {
    assert_eq!(ok(&format!("{LINE};")), ok(LINE));
    assert_eq!(ok(&format!("{LINE} ; ")), ok(LINE));
}

#[test]
fn unknown_keys_are_ignored() {
    assert_eq!(ok(&format!("battery=87;{LINE};fw=1.2.3;note=any text, even = signs")), ok(LINE));
}

#[test]
fn values_are_decimal_numbers() {
    for (text, grams) in [("18", 18.0), ("18.25", 18.25), ("-0.4", -0.4), ("1.5e2", 150.0), ("+3", 3.0), ("0", 0.0)] {
        let r = ok(&format!("client_id=a;session_id=b;value={text};tstamp=1"));
        assert_eq!(r.value.get(), grams, "{text}");
    }
}

#[test]
fn values_must_be_numbers() {
    for text in ["abc", "18,5", "0x10", "NaN", "inf", "1.2.3", "18g", ""] {
        let e = err(&format!("client_id=a;session_id=b;value={text};tstamp=1"));
        assert_eq!(e.problem, Problem::NotANumber(Field::Value), "{text}");
        assert_eq!(e.byte, 31, "{text}");
    }
    assert_eq!(
        message("client_id=a;session_id=b;value=abc;tstamp=1"),
        r#"line 1, byte 31: expected a number for value, found "abc""#
    );
    assert_eq!(
        message("client_id=a;session_id=b;value=;tstamp=1"),
        "line 1, byte 31: expected a number for value, found nothing"
    );
}

#[test]
fn values_are_finite_and_within_bounds() {
    assert_eq!(ok("client_id=a;session_id=b;value=-10000;tstamp=1").value.get(), -10_000.0);
    assert_eq!(ok("client_id=a;session_id=b;value=100000;tstamp=1").value.get(), 100_000.0);
    for text in ["100000.01", "-10000.5", "1e6", "1e999"] {
        let e = err(&format!("client_id=a;session_id=b;value={text};tstamp=1"));
        assert_eq!(e.problem.code(), "invalid_field", "{text}");
    }
    assert_eq!(
        message("client_id=a;session_id=b;value=1e999;tstamp=1"),
        r#"line 1, byte 31: value must be a finite number, found "1e999""#
    );
    assert_eq!(
        message("client_id=a;session_id=b;value=2e5;tstamp=1"),
        r#"line 1, byte 31: value must be between -10000 and 100000, found "2e5""#
    );
}

#[test]
fn timestamps_are_milliseconds_or_rfc3339() {
    assert_eq!(ok("client_id=a;session_id=b;value=1;tstamp=0").tstamp.millis(), 0);
    assert_eq!(
        ok("client_id=a;session_id=b;value=1;tstamp=2025-11-22T10:00:00.123Z").tstamp.millis(),
        1_763_805_600_123
    );
    assert_eq!(
        ok("client_id=a;session_id=b;value=1;tstamp=2025-11-22T11:00:00.123+01:00").tstamp.millis(),
        1_763_805_600_123
    );
}

#[test]
fn timestamps_are_refused_with_the_reason() {
    assert_eq!(
        message("client_id=a;session_id=b;value=1;tstamp=-5"),
        r#"line 1, byte 40: expected milliseconds or an RFC 3339 date-time for tstamp, found "-5""#
    );
    assert_eq!(
        message("client_id=a;session_id=b;value=1;tstamp=2025-13-01T00:00:00Z"),
        r#"line 1, byte 45: expected milliseconds or an RFC 3339 date-time for tstamp (month must be 01-12), found "2025-13-01T00:00:00Z""#
    );
    assert_eq!(
        message("client_id=a;session_id=b;value=1;tstamp=99999999999999999999"),
        r#"line 1, byte 40: tstamp must be between 0 and 253402300799999 (year 9999), found "99999999999999999999""#
    );
    assert_eq!(err("client_id=a;session_id=b;value=1;tstamp=253402300800000").problem.code(), "invalid_field");
    assert_eq!(err("client_id=a;session_id=b;value=1;tstamp=1969-12-31T23:59:59Z").problem.code(), "invalid_field");
    assert_eq!(err("client_id=a;session_id=b;value=1;tstamp=1.5").problem.code(), "syntax");
}

#[test]
fn ids_follow_the_alphabet_and_length() {
    let long = "a".repeat(64);
    assert_eq!(ok(&format!("client_id={long};session_id={long};value=1;tstamp=1")).client_id.as_str(), long);
    assert_eq!(
        message(&format!("client_id={long}a;session_id=b;value=1;tstamp=1")),
        format!(r#"line 1, byte 10: client_id must be at most 64 characters, found "{}…""#, &long[..32])
    );
    assert_eq!(
        message("client_id=scale.01;session_id=b;value=1;tstamp=1"),
        r#"line 1, byte 15: client_id may only contain A-Z a-z 0-9 _ -, found "scale.01""#
    );
    assert_eq!(message("client_id=;session_id=b;value=1;tstamp=1"), "line 1, byte 10: client_id must not be empty");
    assert_eq!(
        err("client_id=a;session_id=brew 42;value=1;tstamp=1").problem,
        Problem::Invalid(Field::SessionId, InvalidValue::BadChar { pos: 4 })
    );
    assert_eq!(err("client_id=café;session_id=b;value=1;tstamp=1").byte, 13);
}

#[test]
fn each_key_appears_exactly_once() {
    for field in [Field::ClientId, Field::SessionId, Field::Value, Field::Tstamp] {
        let line: Vec<&str> = LINE.split(';').filter(|f| !f.starts_with(&format!("{}=", field.key()))).collect();
        assert_eq!(err(&line.join(";")).problem, Problem::Missing(field));
    }
    assert_eq!(err(&format!("{LINE};value=3")).problem, Problem::Duplicate(Field::Value));
    assert_eq!(err(&format!("{LINE};tstamp=3")).problem, Problem::Duplicate(Field::Tstamp));
    assert_eq!(err(&format!("session_id=x;{LINE}")).problem, Problem::Duplicate(Field::SessionId));
    assert_eq!(message(&format!("{LINE};value=3")), "line 1, byte 73: value given more than once");
}

#[test]
fn syntax_errors_point_at_the_problem() {
    assert_eq!(message("client_id=a;=b"), r#"line 1, byte 12: expected a key, found "=b""#);
    assert_eq!(message("client_id=a;session_id b"), r#"line 1, byte 23: expected '=' after the key, found "b""#);
    assert_eq!(message("client_id"), "line 1, byte 9: expected '=' after the key, found nothing");
    assert_eq!(message("hello world"), r#"line 1, byte 6: expected '=' after the key, found "w""#);
    assert_eq!(message("client_id=a;;"), r#"line 1, byte 12: expected a key, found nothing"#);
    assert_eq!(err("client_id=a;;").problem.code(), "syntax");
}

#[test]
fn the_json_form_follows_the_same_rules() {
    let json = r#"{"client_id":"scale-01","session_id":"brew-0042","value":18.25,"tstamp":1763805600123}"#;
    assert_eq!(ok(json), ok(LINE));
    let reordered = r#"  { "tstamp" : "2025-11-22T10:00:00.123Z", "value": 18.25, "x": {"nested": [1, 2]},
        "session_id": "brew-0042", "client_id": "scale-01" }"#
        .replace('\n', " ");
    assert_eq!(ok(&reordered), ok(LINE));
    assert_eq!(ok(r#"{"client_id":"\u0061","session_id":"b","value":1,"tstamp":1}"#).client_id.as_str(), "a");

    let refused = [
        (r#"{"client_id":"a.b","session_id":"b","value":1,"tstamp":1}"#, "invalid_field"),
        (r#"{"client_id":"a","session_id":"b","value":"1","tstamp":1}"#, "syntax"),
        (r#"{"client_id":"a","session_id":"b","value":1e6,"tstamp":1}"#, "invalid_field"),
        (r#"{"client_id":"a","session_id":"b","value":1,"tstamp":-1}"#, "invalid_field"),
        (r#"{"client_id":"a","session_id":"b","value":1,"tstamp":1.5}"#, "syntax"),
        (r#"{"client_id":"a","session_id":"b","value":1,"tstamp":"yesterday"}"#, "syntax"),
        (r#"{"client_id":"a","session_id":"b","value":1}"#, "missing_field"),
        (r#"{"client_id":"a","client_id":"a","session_id":"b","value":1,"tstamp":1}"#, "duplicate_field"),
        (r#"{"client_id":"a","session_id":"b","value":1,"tstamp":1"#, "syntax"),
        (r#"{"client_id":"a","session_id":"b","value":1,"tstamp":1} trailing"#, "syntax"),
        (r#"{"client_id":5,"session_id":"b","value":1,"tstamp":1}"#, "syntax"),
    ];
    for (line, code) in refused {
        assert_eq!(err(line).problem.code(), code, "{line}: {}", err(line));
    }
    assert_eq!(message(r#"{"client_id":"a","session_id":"b","value":1}"#), "line 1, byte 43: missing tstamp");
    assert_eq!(
        message(r#"{"client_id":"a","session_id":"b","value":"abc","tstamp":1}"#),
        r#"line 1, byte 46: invalid JSON: invalid type: string "abc", expected a number for value"#
    );
}

#[test]
fn a_message_carries_one_reading_per_line() {
    let payload = format!("{LINE}\n{LINE}\r\n\n  \r\n{LINE}\n");
    let lines: Vec<_> = decode_message(payload.as_bytes()).expect("within bounds").collect();
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(Result::is_ok));
}

#[test]
fn a_bad_line_does_not_touch_its_neighbours() {
    let payload = format!("{LINE}\nclient_id=a;value=oops\n{LINE}");
    let lines: Vec<_> = decode_message(payload.as_bytes()).expect("within bounds").collect();
    assert!(lines[0].is_ok() && lines[2].is_ok());
    let e = lines[1].as_ref().expect_err("line 2 is bad");
    assert_eq!(e.line, 2);
}

#[test]
fn line_numbers_count_blank_lines() {
    let payload = format!("\n{LINE}\n\nvalue=x");
    let e = decode_message(payload.as_bytes()).expect("ok").find_map(Result::err).expect("one error");
    assert_eq!(e.line, 4);
}

#[test]
fn messages_carry_at_most_1000_readings() {
    let full = vec![LINE; MAX_READINGS_PER_MESSAGE].join("\n") + "\n\n";
    assert_eq!(decode_message(full.as_bytes()).expect("exactly at the bound").count(), 1000);
    let over = vec![LINE; MAX_READINGS_PER_MESSAGE + 1].join("\n");
    let e = decode_message(over.as_bytes()).expect_err("over the bound");
    assert_eq!(e, MessageError::TooManyReadings { max: 1000 });
    assert_eq!(e.to_string(), "message carries more than 1000 readings");
    assert_eq!(e.code(), "too_many_readings");
}

#[test]
fn payloads_are_bounded_in_bytes() {
    let big = vec![b' '; MAX_MESSAGE_BYTES + 1];
    let e = decode_message(&big).expect_err("too big");
    assert_eq!(e, MessageError::TooLarge { size: MAX_MESSAGE_BYTES + 1, max: MAX_MESSAGE_BYTES });
    assert_eq!(e.code(), "payload_too_large");
    assert_eq!(decode_message(&big[1..]).expect("at the bound").count(), 0);
}

#[test]
fn lines_are_bounded_in_bytes() {
    let long = format!("{LINE};pad={}", "x".repeat(MAX_LINE_BYTES));
    let e = err(&long);
    assert_eq!(e.problem, Problem::LineTooLong { max: MAX_LINE_BYTES });
    assert_eq!(e.problem.code(), "line_too_long");
}

#[test]
fn invalid_utf8_is_refused_not_panicked_on() {
    let e = decode_line(b"client_id=\xff\xfe;session_id=b;value=1;tstamp=1").expect_err("not ascii");
    assert_eq!(e.problem, Problem::Invalid(Field::ClientId, InvalidValue::BadChar { pos: 0 }));
    assert_eq!(
        e.to_string(),
        "line 1, byte 10: client_id may only contain A-Z a-z 0-9 _ -, found \"\u{fffd}\u{fffd}\""
    );
    // Unknown keys may carry any bytes.
    assert!(decode_line(b"client_id=a;session_id=b;value=1;tstamp=1;note=\xff").is_ok());
}

#[test]
fn a_reading_may_carry_measures_beside_its_weight() {
    use wages_codec::SeriesKind::{BasketTemperature, Flow, Pressure, WaterDispensed, WaterTemperature};
    let r = ok(&format!(
        "{LINE};pressure=9.1;flow= 2.4 ;water_temperature=92.5;basket_temperature=88;water_dispensed=1.5e1"
    ));
    let measures: Vec<_> = r.measures.iter().collect();
    assert_eq!(
        measures,
        [(Pressure, 9.1), (Flow, 2.4), (WaterTemperature, 92.5), (BasketTemperature, 88.0), (WaterDispensed, 15.0)]
    );
    // Written back as the encoder writes it, and read again to the same reading.
    assert_eq!(
        r.to_string(),
        format!("{LINE};pressure=9.1;flow=2.4;water_temperature=92.5;basket_temperature=88;water_dispensed=15")
    );
    assert_eq!(ok(&r.to_string()), r);
    // Any of them, in any place; a reading without them has none.
    let some = ok(&format!("flow=0;{LINE}"));
    assert_eq!(some.measures.iter().collect::<Vec<_>>(), [(Flow, 0.0)]);
    assert!(ok(LINE).measures.is_empty());
}

#[test]
fn measures_are_numbers_within_their_ranges() {
    assert_eq!(
        message(&format!("{LINE};pressure=high")),
        format!(r#"line 1, byte {}: expected a number for pressure, found "high""#, LINE.len() + 10)
    );
    for (field, bad, range) in [
        ("pressure", "30.5", "0 and 30"),
        ("pressure", "-0.1", "0 and 30"),
        ("flow", "51", "0 and 50"),
        ("water_temperature", "151", "-20 and 150"),
        ("basket_temperature", "-21", "-20 and 150"),
        ("water_dispensed", "10001", "0 and 10000"),
    ] {
        let e = err(&format!("{LINE};{field}={bad}"));
        assert_eq!(e.problem.code(), "invalid_field");
        assert_eq!(
            e.to_string(),
            format!(r#"line 1, byte {}: {field} must be between {range}, found "{bad}""#, LINE.len() + field.len() + 2)
        );
    }
    let e = err(&format!("{LINE};flow=1;flow=2"));
    assert_eq!(e.problem, Problem::Duplicate(Field::Measure(wages_codec::SeriesKind::Flow)));
}

#[test]
fn the_json_form_carries_measures_too() {
    let json = r#"{"client_id":"s1","session_id":"b1","value":18,"tstamp":1000,"pressure":9,"flow":null}"#;
    let r = ok(json);
    assert_eq!(r.measures.iter().collect::<Vec<_>>(), [(wages_codec::SeriesKind::Pressure, 9.0)]);
    let mut out = String::new();
    wages_codec::encode_json(&[r], &mut out);
    assert_eq!(out, r#"{"client_id":"s1","session_id":"b1","value":18,"tstamp":1000,"pressure":9}"#);
    assert_eq!(ok(&out), r);
    // The API's JSON of a reading is the same object (serde writes whole numbers as 18.0).
    let api = serde_json::to_string(&r).expect("serializes");
    assert_eq!(api, r#"{"client_id":"s1","session_id":"b1","value":18.0,"tstamp":1000,"pressure":9.0}"#);
    assert_eq!(serde_json::from_str::<Reading>(&out).expect("reads"), r);
    let weight_only = serde_json::to_string(&ok(LINE)).expect("serializes");
    assert!(!weight_only.contains("pressure"), "{weight_only}");
    // `null` leaves a measure out, but not the weight.
    let e = err(r#"{"client_id":"s1","session_id":"b1","value":null,"tstamp":1000}"#);
    assert_eq!(e.problem.to_string(), "invalid JSON: invalid type: null, expected a number for value");
    let e = err(r#"{"client_id":"s1","session_id":"b1","value":18,"tstamp":1000,"pressure":"9"}"#);
    assert_eq!(
        e.problem.to_string(),
        r#"invalid JSON: invalid type: string "9", expected a number or null for pressure"#
    );
    let e = err(r#"{"client_id":"s1","session_id":"b1","value":18,"tstamp":1000,"pressure":31}"#);
    assert_eq!(e.problem.to_string(), "pressure must be between 0 and 30");
    let e = err(r#"{"client_id":"s1","session_id":"b1","value":18,"tstamp":1000,"flow":1,"flow":2}"#);
    assert_eq!(e.problem, Problem::Duplicate(Field::Measure(wages_codec::SeriesKind::Flow)));
}

#[test]
fn the_protobuf_form_carries_measures_too() {
    let r = ok(&format!("{LINE};pressure=9.1;water_dispensed=30"));
    let mut bytes = Vec::new();
    wages_codec::encode_protobuf(&[r], &mut bytes);
    let back: Vec<_> = wages_codec::decode_protobuf(&bytes).expect("a Readings message");
    assert_eq!(back, vec![Ok(r)]);
    let mut out_of_range =
        prost::Message::decode(bytes.as_slice()).map(|m: wages_codec::ProtoReadings| m).expect("decodes");
    out_of_range.readings[0].flow = Some(-1.0);
    let bytes = prost::Message::encode_to_vec(&out_of_range);
    let back = wages_codec::decode_protobuf(&bytes).expect("a Readings message");
    assert_eq!(
        back[0].as_ref().expect_err("refused").to_string(),
        r#"line 1, byte 0: flow must be between 0 and 50, found "-1""#
    );
    assert_eq!(wages_codec::protobuf_as_lines(&bytes), [format!("{LINE};pressure=9.1;flow=-1;water_dispensed=30")]);
}
