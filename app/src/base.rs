//! The URL path prefix the app is served under (`WAGES_BASE_PATH`, e.g. `/wages`).
//!
//! The server provides it as context from its configuration; in the browser it is read
//! back from a `<meta>` tag the server rendered, so nothing is hard-coded on either side.

/// `<meta name=…>` carrying the base path to the browser.
pub const META_NAME: &str = "wages-base-path";

/// A base path: empty, or `/` followed by segments, without a trailing `/`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BasePath(String);

impl BasePath {
    /// Normalises `path`: `""` and `"/"` mean the root; a trailing `/` is dropped.
    /// Returns `None` unless it starts with `/` and its segments are plain URL text.
    pub fn parse(path: &str) -> Option<Self> {
        let trimmed = path.trim_end_matches('/');
        if trimmed.is_empty() {
            return Some(Self::default());
        }
        let plain = |c: char| c.is_ascii_alphanumeric() || "-._~/".contains(c);
        let ok = trimmed.starts_with('/') && trimmed.chars().all(plain) && !trimmed.contains("//");
        ok.then(|| Self(trimmed.to_owned()))
    }

    /// The prefix itself: `""` or e.g. `"/wages"`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The app's home page: `/wages`, or `/` at the root.
    pub fn home(&self) -> String {
        if self.0.is_empty() { "/".to_owned() } else { self.0.clone() }
    }

    /// An absolute path under the base: `join("/api/devices")` is `/wages/api/devices`.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }

    /// Reads the base path the server put in the page.
    #[cfg(feature = "hydrate")]
    pub fn from_document() -> Self {
        let selector = format!("meta[name={META_NAME}]");
        let content = leptos::prelude::document()
            .query_selector(&selector)
            .ok()
            .flatten()
            .and_then(|meta| meta.get_attribute("content"));
        content.as_deref().and_then(Self::parse).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_joins() {
        assert_eq!(BasePath::parse("").map(|b| b.join("/x")), Some("/x".to_owned()));
        assert_eq!(BasePath::parse("/").map(|b| b.join("/x")), Some("/x".to_owned()));
        assert_eq!(BasePath::parse("/wages/").map(|b| b.join("/x")), Some("/wages/x".to_owned()));
        assert_eq!(BasePath::parse("/a/b-c").map(|b| b.as_str().to_owned()), Some("/a/b-c".to_owned()));
        assert_eq!(BasePath::parse("/wages").map(|b| b.home()), Some("/wages".to_owned()));
        assert_eq!(BasePath::default().home(), "/");
    }

    #[test]
    fn refuses_what_is_not_a_path() {
        for bad in ["wages", "/wa ges", "/a//b", "/wägen", "/a?b", "/a#b", "http://x/wages"] {
            assert_eq!(BasePath::parse(bad), None, "{bad}");
        }
    }
}
