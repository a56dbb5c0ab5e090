//! The wall clock in Unix milliseconds, on the server and in the browser (where
//! `std::time::SystemTime` panics, so the JavaScript clock answers).

/// Milliseconds since 1970-01-01 UTC; 0 if the clock is set before it.
pub fn now_ms() -> u64 {
    #[cfg(target_arch = "wasm32")]
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let ms = js_sys::Date::now() as u64;
    #[cfg(not(target_arch = "wasm32"))]
    let ms = {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    };
    ms
}

/// [`now_ms`] as the signed milliseconds SQL columns hold.
pub fn now_ms_i64() -> i64 {
    i64::try_from(now_ms()).unwrap_or(i64::MAX)
}
