//! Decoding the same 1000 readings as the codec's text form, the codec's JSON form,
//! its Protobuf form, and with serde_json (the baseline), in one run; and each form's
//! size. See docs/benchmarks.md.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wages_codec::{
    ClientId, Grams, Reading, SessionId, Timestamp, decode_message, decode_protobuf, encode_json, encode_protobuf,
    encode_text,
};

/// A realistic message: 1000 samples of one 10 Hz extraction, as a scale sends them.
fn readings() -> Vec<Reading> {
    let client_id = ClientId::parse("scale-01").expect("valid id");
    let session_id = SessionId::parse("brew-0042").expect("valid id");
    (0..1000u32)
        .map(|i| {
            Reading::new(
                client_id,
                session_id,
                Grams::new((f64::from(i) * 0.0363 * 100.0).round() / 100.0).expect("in range"),
                Timestamp::from_millis(1_763_805_600_000 + u64::from(i) * 100).expect("in range"),
            )
        })
        .collect()
}

/// What a straightforward serde implementation would decode into.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Owned {
    client_id: String,
    session_id: String,
    value: f64,
    tstamp: u64,
}

/// serde_json's best case: borrowed strings, no validation.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Borrowed<'a> {
    client_id: &'a str,
    session_id: &'a str,
    value: f64,
    tstamp: u64,
}

fn decode(c: &mut Criterion) {
    let readings = readings();
    let mut text = String::new();
    encode_text(&readings, &mut text);
    let mut json = String::new();
    encode_json(&readings, &mut json);
    let mut protobuf = Vec::new();
    encode_protobuf(&readings, &mut protobuf);
    #[allow(clippy::print_stdout, clippy::cast_precision_loss)]
    for (form, bytes) in [("text", text.len()), ("JSON", json.len()), ("Protobuf", protobuf.len())] {
        println!("{form}: {bytes} bytes for 1000 readings, {:.1} bytes per reading", bytes as f64 / 1000.0);
    }
    // The same readings as a hand-written device might send them: other key order,
    // spaces, a trailing `;`. These take the general parser, not the canonical fast path.
    let loose: String = readings
        .iter()
        .map(|r| {
            format!(
                "tstamp = {} ; value = {} ; session_id = {} ; client_id = {} ;\n",
                r.tstamp, r.value, r.session_id, r.client_id
            )
        })
        .collect();

    let mut group = c.benchmark_group("decode 1000 readings");
    group.throughput(Throughput::Elements(readings.len() as u64));
    group.bench_function("codec text", |b| {
        b.iter(|| decode_message(black_box(text.as_bytes())).expect("within bounds").filter(Result::is_ok).count());
    });
    group.bench_function("codec text, any order and spacing", |b| {
        b.iter(|| decode_message(black_box(loose.as_bytes())).expect("within bounds").filter(Result::is_ok).count());
    });
    group.bench_function("codec json", |b| {
        b.iter(|| decode_message(black_box(json.as_bytes())).expect("within bounds").filter(Result::is_ok).count());
    });
    group.bench_function("codec protobuf", |b| {
        b.iter(|| {
            decode_protobuf(black_box(&protobuf)).expect("within bounds").into_iter().filter(Result::is_ok).count()
        });
    });
    group.bench_function("serde_json owned", |b| {
        b.iter(|| black_box(json.as_str()).lines().filter(|l| serde_json::from_str::<Owned>(l).is_ok()).count());
    });
    group.bench_function("serde_json borrowed", |b| {
        b.iter(|| black_box(json.as_str()).lines().filter(|l| serde_json::from_str::<Borrowed>(l).is_ok()).count());
    });
    group.finish();

    let mut group = c.benchmark_group("encode 1000 readings");
    group.throughput(Throughput::Elements(readings.len() as u64));
    group.bench_function("codec text", |b| {
        b.iter(|| {
            let mut out = String::with_capacity(text.len());
            encode_text(black_box(&readings), &mut out);
            out
        });
    });
    group.bench_function("codec protobuf", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(protobuf.len());
            encode_protobuf(black_box(&readings), &mut out);
            out
        });
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
