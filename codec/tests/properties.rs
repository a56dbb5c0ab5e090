//! Properties over generated input: encoding then decoding gives back the same
//! readings, and no input at all makes the decoder panic.

use proptest::prelude::*;
use wages_codec::{
    ClientId, Grams, MAX_ID_LEN, MAX_TSTAMP_MS, Measures, Reading, SeriesKind, SessionId, Timestamp, decode_line,
    decode_message, decode_protobuf, encode_json, encode_protobuf, encode_text,
};

fn id() -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z0-9_-]{{1,{MAX_ID_LEN}}}")).expect("valid regex")
}

/// Any of the measures, each within its range or not sent.
fn measures() -> impl Strategy<Value = Measures> {
    let one = |kind: SeriesKind| proptest::option::of(kind.range());
    (
        one(SeriesKind::Pressure),
        one(SeriesKind::Flow),
        one(SeriesKind::WaterTemperature),
        one(SeriesKind::BasketTemperature),
        one(SeriesKind::WaterDispensed),
    )
        .prop_map(|(p, f, wt, bt, wd)| {
            let mut measures = Measures::NONE;
            for (kind, v) in SeriesKind::ALL.into_iter().zip([p, f, wt, bt, wd]) {
                if let Some(v) = v {
                    measures.set(kind, v).expect("generated in range");
                }
            }
            measures
        })
}

fn reading() -> impl Strategy<Value = Reading> {
    (id(), id(), -10_000.0..=100_000.0f64, 0..=MAX_TSTAMP_MS, measures()).prop_map(|(c, s, v, t, measures)| Reading {
        client_id: ClientId::parse(&c).expect("generated valid"),
        session_id: SessionId::parse(&s).expect("generated valid"),
        value: Grams::new(v).expect("generated in range"),
        tstamp: Timestamp::from_millis(t).expect("generated in range"),
        measures,
    })
}

fn decode_all(payload: &str) -> Vec<Reading> {
    decode_message(payload.as_bytes()).expect("within bounds").map(|r| r.expect("encoder output decodes")).collect()
}

proptest! {
    #[test]
    fn text_round_trips(readings in proptest::collection::vec(reading(), 1..50)) {
        let mut payload = String::new();
        encode_text(&readings, &mut payload);
        prop_assert_eq!(decode_all(&payload), readings);
    }

    #[test]
    fn json_round_trips(readings in proptest::collection::vec(reading(), 1..50)) {
        let mut payload = String::new();
        encode_json(&readings, &mut payload);
        prop_assert_eq!(decode_all(&payload), readings);
    }

    #[test]
    fn protobuf_round_trips(readings in proptest::collection::vec(reading(), 1..50)) {
        let mut payload = Vec::new();
        encode_protobuf(&readings, &mut payload);
        let back: Vec<Reading> =
            decode_protobuf(&payload).expect("a Readings message").into_iter().map(|r| r.expect("valid")).collect();
        prop_assert_eq!(back, readings);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_protobuf_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(readings) = decode_protobuf(&bytes) {
            prop_assert!(readings.len() <= 1000);
            for reading in readings {
                if let Err(e) = reading {
                    prop_assert!(e.to_string().starts_with("line "));
                }
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(lines) = decode_message(&bytes) {
            for line in lines {
                if let Err(e) = line {
                    prop_assert!(e.to_string().starts_with("line "));
                }
            }
        }
    }

    #[test]
    fn near_miss_lines_never_panic(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("client_id".to_string()), Just("session_id".to_string()), Just("value".to_string()),
                Just("tstamp".to_string()), Just("pressure".to_string()), Just("=".to_string()), Just(";".to_string()), Just(" ".to_string()),
                Just("{".to_string()), Just("}".to_string()), Just("\"".to_string()), Just(":".to_string()),
                Just(",".to_string()), "[-+0-9.eE:TZ]{0,12}", id(),
            ],
            0..40,
        )
    ) {
        let line = parts.concat();
        let _ = decode_line(line.as_bytes());
    }

    #[test]
    fn rfc3339_agrees_with_milliseconds(t in 0..=MAX_TSTAMP_MS) {
        // Civil date from days since the epoch, computed independently of the decoder.
        let days = i64::try_from(t / 86_400_000).expect("fits");
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let ms_of_day = t % 86_400_000;
        let text = format!(
            "client_id=a;session_id=b;value=1;tstamp={year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
            ms_of_day / 3_600_000, ms_of_day / 60_000 % 60, ms_of_day / 1000 % 60, ms_of_day % 1000
        );
        prop_assert_eq!(decode_line(text.as_bytes()).expect("valid date-time").tstamp.millis(), t);
    }
}

proptest! {
    #[test]
    fn plain_decimals_read_exactly_as_the_standard_library(text in "[-+]?[0-9]{1,4}(\\.[0-9]{0,11})?") {
        let expected: f64 = text.parse().expect("a decimal");
        let line = format!("client_id=a;session_id=b;value={text};tstamp=1");
        let decoded = decode_line(line.as_bytes()).expect("in range").value.get();
        prop_assert_eq!(decoded.to_bits(), expected.to_bits(), "{}", text);
    }
}
