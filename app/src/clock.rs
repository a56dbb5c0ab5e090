//! Times and weights as the viewer reads them: in their own time zone, and in grams or
//! ounces by choice.
//!
//! The browser tells its time zone once it has loaded (cookie `wages_tz`, set on every
//! page, the login page first, so the first page after logging in already has it). The
//! server formats with the system's time zone database (jiff); the browser, hydrating,
//! with its own clock: both give the same text. Without the cookie (no JavaScript yet),
//! times are in UTC and say so. The unit is the cookie `wages_units` (`g` or `oz`), set by
//! `{base}/prefs?units=…` from the footer.

use leptos::prelude::*;

/// Cookie carrying the browser's IANA time zone name.
pub const TZ_COOKIE: &str = "wages_tz";
/// Cookie carrying the weight unit: `g` or `oz`.
pub const UNITS_COOKIE: &str = "wages_units";
/// The page's `<meta>` naming the unit it was rendered in (`g` or `oz`).
pub const META_UNITS: &str = "wages-units";
/// Grams in one avoirdupois ounce.
pub const GRAMS_PER_OUNCE: f64 = 28.349_523_125;

/// How this viewer reads times and weights, provided to every page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Viewer {
    /// An IANA time zone name (`Europe/Berlin`), when the browser has said.
    pub zone: Option<String>,
    pub ounces: bool,
}

/// A cookie's value from a `Cookie` header or `document.cookie`.
pub fn cookie<'a>(cookies: &'a str, name: &str) -> Option<&'a str> {
    cookies.split(';').filter_map(|c| c.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// A time zone name as browsers give it: letters, digits, `/ _ - +`, at most 64.
pub fn zone_name(raw: &str) -> Option<String> {
    let ok = !raw.is_empty()
        && raw.len() <= 64
        && raw.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'));
    ok.then(|| raw.to_owned())
}

impl Viewer {
    /// From the request's cookies (server) or the document's (browser).
    pub fn from_cookies(cookies: &str) -> Viewer {
        Viewer {
            zone: cookie(cookies, TZ_COOKIE).and_then(zone_name),
            ounces: cookie(cookies, UNITS_COOKIE) == Some("oz"),
        }
    }

    /// The viewer of this render: from context, else from the document (browser) or
    /// the request (server).
    pub fn current() -> Viewer {
        if let Some(v) = use_context::<Viewer>() {
            return v;
        }
        #[cfg(feature = "ssr")]
        {
            let parts = use_context::<http::request::Parts>();
            let cookies =
                parts.as_ref().and_then(|p| p.headers.get(http::header::COOKIE)).and_then(|c| c.to_str().ok());
            Viewer::from_cookies(cookies.unwrap_or(""))
        }
        #[cfg(not(feature = "ssr"))]
        {
            let mut viewer = Viewer::from_cookies(&browser::cookies());
            // The unit the page was rendered in, not the cookie's now: a click on the
            // footer's other unit changes the cookie while this page may still be
            // hydrating, and hydration must draw what the server drew.
            if let Some(ounces) = browser::rendered_in_ounces() {
                viewer.ounces = ounces;
            }
            viewer
        }
    }

    /// `2026-11-22 11:00:00` in the viewer's zone, or `… UTC` when it is not known.
    pub fn time(&self, ms: u64) -> String {
        match self.zone.as_deref().and_then(|z| offset_minutes(z, ms)) {
            Some(offset) => {
                let shifted = i64::try_from(ms).unwrap_or(i64::MAX).saturating_add(offset * 60_000);
                civil(u64::try_from(shifted).unwrap_or(0))
            }
            None => format!("{} UTC", civil(ms)),
        }
    }

    /// A weight with its unit: `36.2 g` or `1.28 oz`.
    pub fn weight(&self, grams: f64) -> String {
        if self.ounces { format!("{:.2} oz", grams / GRAMS_PER_OUNCE) } else { format!("{grams:.1} g") }
    }

    /// A weight's number only, for tiles labelled with the unit.
    pub fn weight_number(&self, grams: f64) -> String {
        if self.ounces { format!("{:.2}", grams / GRAMS_PER_OUNCE) } else { format!("{grams:.1}") }
    }

    pub fn unit(&self) -> &'static str {
        if self.ounces { "oz" } else { "g" }
    }
}

/// Minutes east of UTC in `zone` at `ms`: from the time zone database on the server.
#[cfg(feature = "ssr")]
fn offset_minutes(zone: &str, ms: u64) -> Option<i64> {
    let tz = jiff::tz::TimeZone::get(zone).ok()?;
    let at = jiff::Timestamp::from_millisecond(i64::try_from(ms).ok()?).ok()?;
    Some(i64::from(tz.to_offset(at).seconds()) / 60)
}

/// Minutes east of UTC at `ms` by the browser's own clock (whose zone the cookie names).
#[cfg(not(feature = "ssr"))]
#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
fn offset_minutes(_zone: &str, ms: u64) -> Option<i64> {
    #[cfg(target_arch = "wasm32")]
    {
        let date = web_sys::js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
        Some(-(date.get_timezone_offset() as i64))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = ms;
        None
    }
}

/// Percent-encodes a value for a query string.
pub fn query_escape(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `2026-11-22 10:00:05` from ms since the epoch (Howard Hinnant's civil-from-days).
pub fn civil(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let z = days.cast_signed() + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}", rest / 3600, rest / 60 % 60, rest % 60)
}

/// The browser's side: its cookies, and telling the server its time zone.
#[cfg(feature = "hydrate")]
pub mod browser {
    use wasm_bindgen::JsCast;

    pub fn cookies() -> String {
        leptos::prelude::document()
            .dyn_into::<web_sys::HtmlDocument>()
            .ok()
            .and_then(|d| d.cookie().ok())
            .unwrap_or_default()
    }

    /// The unit the server rendered this page in, from its `<meta>`.
    pub fn rendered_in_ounces() -> Option<bool> {
        let meta = leptos::prelude::document().query_selector(&format!("meta[name={}]", super::META_UNITS)).ok()??;
        meta.get_attribute("content").map(|unit| unit == "oz")
    }

    /// Sets `wages_tz` to the browser's time zone (for a year, this site's path).
    pub fn tell_time_zone(base: &str) {
        let options =
            web_sys::js_sys::Intl::DateTimeFormat::new(&web_sys::js_sys::Array::new(), &web_sys::js_sys::Object::new())
                .resolved_options();
        let zone = web_sys::js_sys::Reflect::get(&options, &"timeZone".into()).ok().and_then(|z| z.as_string());
        let Some(zone) = zone.and_then(|z| super::zone_name(&z)) else { return };
        if super::cookie(&cookies(), super::TZ_COOKIE) == Some(zone.as_str()) {
            return;
        }
        let path = if base.is_empty() { "/" } else { base };
        if let Ok(doc) = leptos::prelude::document().dyn_into::<web_sys::HtmlDocument>() {
            let _ =
                doc.set_cookie(&format!("{}={zone}; path={path}; max-age=31536000; SameSite=Lax", super::TZ_COOKIE));
        }
    }
}

#[cfg(not(any(feature = "hydrate", feature = "ssr")))]
mod browser {
    pub fn cookies() -> String {
        String::new()
    }

    pub fn rendered_in_ounces() -> Option<bool> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_zone_names_are_read_carefully() {
        let v = Viewer::from_cookies("a=1; wages_tz=Europe/Berlin; wages_units=oz");
        assert_eq!((v.zone.as_deref(), v.ounces), (Some("Europe/Berlin"), true));
        assert_eq!(Viewer::from_cookies("wages_tz=<script>").zone, None);
        assert_eq!(Viewer::from_cookies("").zone, None);
        assert_eq!(zone_name("America/Argentina/Buenos_Aires").as_deref(), Some("America/Argentina/Buenos_Aires"));
    }

    #[test]
    fn times_are_in_the_viewers_zone_with_summer_time() {
        let utc = Viewer::default();
        assert_eq!(utc.time(1_763_805_600_123), "2025-11-22 10:00:00 UTC");
        let berlin = Viewer { zone: Some("Europe/Berlin".into()), ounces: false };
        assert_eq!(berlin.time(1_763_805_600_123), "2025-11-22 11:00:00");
        assert_eq!(berlin.time(1_751_364_000_000), "2025-07-01 12:00:00", "summer time");
        let nowhere = Viewer { zone: Some("Mars/Olympus".into()), ounces: false };
        assert_eq!(nowhere.time(0), "1970-01-01 00:00:00 UTC", "an unknown zone falls back to UTC, said");
    }

    #[test]
    fn weights_in_grams_or_ounces() {
        assert_eq!(Viewer::default().weight(36.25), "36.2 g");
        let oz = Viewer { zone: None, ounces: true };
        assert_eq!(oz.weight(GRAMS_PER_OUNCE * 1.5), "1.50 oz");
        assert_eq!(oz.unit(), "oz");
    }
}
