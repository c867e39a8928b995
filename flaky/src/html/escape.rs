//! Escaping every string that goes into the page, as text or as a quoted attribute value.

use std::borrow::Cow;
use std::fmt;

/// `text` with `&`, `<`, `>`, `"` and `'` replaced by character references: safe as element
/// text and inside a quoted attribute value alike, so one function serves both.
pub(crate) fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Displays a string escaped with [`escape`], for `write!`.
pub(crate) struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_quotes_become_references() {
        assert_eq!(
            escape(r#"<img src=x onerror="a('b')">&amp;"#),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;amp;"
        );
    }

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(escape("app::it login ✓"), Cow::Borrowed(_)));
        assert_eq!(Esc("a<b").to_string(), "a&lt;b");
    }
}
