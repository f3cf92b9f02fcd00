//! Text from the cluster or a manifest, made safe to print on a terminal.

use std::borrow::Cow;

/// `text` with control characters (C0, DEL, C1 — escape sequences start with ESC or CSI)
/// shown as Rust escapes (`\u{1b}`), so text from the cluster stays on one line and cannot
/// drive the terminal. Every line this tool prints that can quote cluster or manifest data
/// (tables, warnings, errors, previews) goes through it.
pub(crate) fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_escapes() {
        assert_eq!(printable("plain"), "plain");
        assert_eq!(printable("a\u{1b}]0;x\u{7}b"), "a\\u{1b}]0;x\\u{7}b");
        assert_eq!(printable("two\nlines"), "two\\nlines");
        assert_eq!(printable("\u{9b}31m"), "\\u{9b}31m");
    }
}
