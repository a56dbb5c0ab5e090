//! The Tcl list syntax the Decent DE1 app (and pyDE1) write their `.shot` files in:
//! words separated by white space, a word in braces taken as it is (braces inside it
//! nest), a word in double quotes or a bare word with backslash escapes.

use std::borrow::Cow;

/// Where a list stops making sense: the byte offset and what was expected there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TclError {
    pub(crate) offset: usize,
    pub(crate) problem: &'static str,
}

impl TclError {
    /// `line N` of `text` where this happened, for people.
    pub(crate) fn line(&self, text: &str) -> usize {
        text.as_bytes()[..self.offset.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1
    }
}

/// The words of `text`, a Tcl list, with the byte offset each starts at (in `text`).
pub(crate) fn words(text: &str) -> Result<Vec<(usize, Cow<'_, str>)>, TclError> {
    let bytes = text.as_bytes();
    let mut words = Vec::new();
    let mut i = 0;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == bytes.len() {
            return Ok(words);
        }
        let start = i;
        let word = match bytes[i] {
            b'{' => {
                let end = closing_brace(bytes, i)?;
                i = end + 1;
                Cow::Borrowed(&text[start + 1..end])
            }
            b'"' => {
                let (word, end) = unescape(text, i + 1, |b| b == b'"')
                    .ok_or(TclError { offset: start, problem: "a closing double quote" })?;
                i = end + 1;
                word
            }
            _ => {
                let (word, end) = unescape(text, i, |b| b.is_ascii_whitespace())
                    .unwrap_or_else(|| (Cow::Owned(unescape_all(&text[i..])), text.len()));
                i = end;
                word
            }
        };
        if i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            return Err(TclError { offset: i, problem: "white space after a word in braces or quotes" });
        }
        words.push((start, word));
    }
}

/// The index of the brace closing the one at `open`, counting nested ones and skipping
/// backslash-escaped ones.
fn closing_brace(bytes: &[u8], open: usize) -> Result<usize, TclError> {
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(TclError { offset: open, problem: "a closing brace" })
}

/// The text from `from` up to the first byte where `ends` holds (outside escapes), with
/// its escapes undone, and that byte's index; `None` if no such byte comes.
fn unescape(text: &str, from: usize, ends: impl Fn(u8) -> bool) -> Option<(Cow<'_, str>, usize)> {
    let bytes = text.as_bytes();
    let mut i = from;
    let mut escaped = false;
    while i < bytes.len() && !ends(bytes[i]) {
        if bytes[i] == b'\\' {
            escaped = true;
            i += 1;
        }
        i += 1;
    }
    let i = i.min(bytes.len());
    if i == bytes.len() {
        return None;
    }
    let raw = &text[from..i];
    Some((if escaped { Cow::Owned(unescape_all(raw)) } else { Cow::Borrowed(raw) }, i))
}

/// `raw` with Tcl's backslash escapes undone (the common ones; any other character after
/// a backslash stands for itself).
fn unescape_all(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// A name, the byte offset of its value, and the value.
pub(crate) type Pair<'a> = (Cow<'a, str>, usize, Cow<'a, str>);

/// `text` read as pairs of a name and its value (a `.shot` file, its `settings` block),
/// each value with its byte offset in `text`.
pub(crate) fn pairs(text: &str) -> Result<Vec<Pair<'_>>, TclError> {
    let words = words(text)?;
    if words.len() % 2 == 1 {
        let (offset, _) = words[words.len() - 1];
        return Err(TclError { offset, problem: "a value after this name" });
    }
    let mut pairs = Vec::with_capacity(words.len() / 2);
    let mut words = words.into_iter();
    while let (Some((_, name)), Some((at, value))) = (words.next(), words.next()) {
        pairs.push((name, at, value));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(text: &str) -> Vec<String> {
        words(text).expect("a list").into_iter().map(|(_, w)| w.into_owned()).collect()
    }

    #[test]
    fn braces_nest_and_quotes_unescape() {
        assert_eq!(
            plain("clock 1632207550\nespresso_elapsed {0.044 0.268}"),
            ["clock", "1632207550", "espresso_elapsed", "0.044 0.268"]
        );
        assert_eq!(plain("a {b {c d} e} \"f \\\"g\\\"\" h\\ i"), ["a", "b {c d} e", "f \"g\"", "h i"]);
        assert_eq!(plain("x {a \\} b}"), ["x", "a \\} b"]);
        assert_eq!(plain("   "), Vec::<String>::new());
    }

    #[test]
    fn a_broken_list_says_where() {
        let text = "clock 1\nprofile {\n  \"title\": \"x\"\n";
        let e = words(text).expect_err("unclosed");
        assert_eq!((e.problem, e.line(text)), ("a closing brace", 2));
        assert_eq!(words("a \"b").expect_err("unclosed").problem, "a closing double quote");
        assert_eq!(words("a {b}c").expect_err("glued").problem, "white space after a word in braces or quotes");
        assert_eq!(pairs("a 1 b").expect_err("odd").offset, 4);
    }
}
