//! Writing readings, for simulators and tools: the inverse of the decoder.

use std::fmt::{self, Write as _};

use crate::types::Reading;

/// The text form, one line without a newline.
///
/// ```
/// use wages_codec::{decode_line, Reading};
///
/// let r = decode_line(b"tstamp=5; value = 18.25 ;session_id=b1;client_id=s1").unwrap();
/// assert_eq!(r.to_string(), "client_id=s1;session_id=b1;value=18.25;tstamp=5");
/// ```
///
/// The measures it carries follow, as `;pressure=9.1;flow=2.4`.
impl fmt::Display for Reading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "client_id={};session_id={};value={};tstamp={}",
            self.client_id, self.session_id, self.value, self.tstamp
        )?;
        for (kind, v) in self.measures.iter() {
            write!(f, ";{kind}={v}")?;
        }
        Ok(())
    }
}

/// Appends the text form of `readings` to `out`, one per line: a ready MQTT payload.
pub fn encode_text(readings: &[Reading], out: &mut String) {
    for (i, r) in readings.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        // Writing to a String cannot fail.
        let _ = write!(out, "{r}");
    }
}

/// Appends the JSON form of `readings` to `out`, one object per line.
pub fn encode_json(readings: &[Reading], out: &mut String) {
    for (i, r) in readings.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = write!(
            out,
            r#"{{"client_id":"{}","session_id":"{}","value":{},"tstamp":{}"#,
            r.client_id, r.session_id, r.value, r.tstamp
        );
        for (kind, v) in r.measures.iter() {
            let _ = write!(out, r#","{kind}":{v}"#);
        }
        out.push('}');
    }
}
