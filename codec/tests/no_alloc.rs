//! The decoder allocates nothing for valid lines: a counting global allocator watches
//! a 1000-reading message being decoded in both forms.
#![allow(unsafe_code)] // a GlobalAlloc wrapper is unsafe by definition; it only counts

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use wages_codec::{ClientId, Grams, Reading, SessionId, Timestamp, decode_message, encode_json, encode_text};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Set on the thread being measured: the test harness's other threads allocate too.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.try_with(Cell::get).unwrap_or(false) {
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        // SAFETY: forwards the caller's layout unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn message(encode: fn(&[Reading], &mut String)) -> String {
    let readings: Vec<Reading> = (0..1000u32)
        .map(|i| {
            Reading::new(
                ClientId::parse("scale-01").expect("valid"),
                SessionId::parse("brew-0042").expect("valid"),
                Grams::new(f64::from(i) / 27.0).expect("in range"),
                Timestamp::from_millis(1_763_805_600_000 + u64::from(i) * 100).expect("in range"),
            )
        })
        .collect();
    let mut out = String::new();
    encode(&readings, &mut out);
    out
}

fn allocations_while_decoding(payload: &str) -> (usize, usize) {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    COUNTING.with(|c| c.set(true));
    let mut ok = 0;
    for line in decode_message(payload.as_bytes()).expect("within bounds") {
        ok += usize::from(line.is_ok());
    }
    COUNTING.with(|c| c.set(false));
    (ok, ALLOCATIONS.load(Ordering::SeqCst) - before)
}

#[test]
fn decoding_1000_readings_allocates_nothing() {
    let text = message(encode_text);
    let json = message(encode_json);
    // Only this thread's allocations count (see COUNTING).
    assert_eq!(allocations_while_decoding(&text), (1000, 0), "text form");
    assert_eq!(allocations_while_decoding(&json), (1000, 0), "JSON form");
    // An RFC 3339 timestamp and unknown keys take the same allocation-free path.
    let line = "client_id=s;session_id=b;value=1;tstamp=2025-11-22T10:00:00.5+01:00;battery=80\n".repeat(100);
    assert_eq!(allocations_while_decoding(&line), (100, 0), "RFC 3339 and unknown keys");
    // The counter does see this thread's allocations: a refused line builds its message.
    let (ok, allocated) = allocations_while_decoding("client_id=s;session_id=b;value=x;tstamp=1");
    assert_eq!(ok, 0);
    assert!(allocated > 0, "a refused line allocates its error message");
}
