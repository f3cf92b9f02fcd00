//! Text from the cluster or a manifest, made safe to print on a terminal.

use std::borrow::Cow;

/// `text` with control characters (C0, DEL, C1 — escape sequences start with ESC or CSI)
/// shown as Rust escapes (`\u{1b}`), so text from the cluster stays on one line and cannot
/// drive the terminal. Every line this tool prints that can quote cluster or manifest data
/// (tables, warnings, errors, previews) goes through it.
pub fn printable(text: &str) -> Cow<'_, str> {
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

/// [`printable`] line by line: multi-line text (a rendered patch, a table) keeps its line
/// breaks, and every other control character in it is escaped.
pub fn printable_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\n') {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.split('\n')
            .map(printable)
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// JSON text with the control characters JSON encoders leave raw (DEL, the C1 range: CSI is
/// U+009B) written as `\u00XX` escapes. Such characters can only be inside strings (JSON's
/// own syntax is ASCII), where the escape means the same character: the document is the
/// same, and it cannot drive a terminal it is printed on.
pub fn json_escaped_controls(json: &str) -> Cow<'_, str> {
    let raw = |c: char| c.is_control() && !matches!(c, '\n' | '\r' | '\t');
    if !json.chars().any(raw) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if raw(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `url` without its userinfo (`https://user:pass@host/x` → `https://host/x`): credentials
/// in a kubeconfig's or a registry's URL are never shown. Text that is not a URL is returned
/// as it is.
pub fn without_userinfo(url: &str) -> Cow<'_, str> {
    let start = url.find("://").map_or(0, |i| i + 3);
    let authority_end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    match url[start..authority_end].rfind('@') {
        Some(at) => Cow::Owned(format!("{}{}", &url[..start], &url[start + at + 1..])),
        None => Cow::Borrowed(url),
    }
}

/// `text` with the userinfo of every URL in it (`scheme://user:pass@host`) removed: for
/// messages (transport errors, server messages) that may quote a URL.
pub fn scrub_userinfo(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        out.push_str(&rest[..i + 3]);
        rest = &rest[i + 3..];
        let end = rest
            .find(|c: char| {
                c == '/'
                    || c == '?'
                    || c == '#'
                    || c.is_whitespace()
                    || c == '"'
                    || c == '\''
                    || c == '>'
                    || c == ')'
            })
            .unwrap_or(rest.len());
        if let Some(at) = rest[..end].rfind('@') {
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
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

    /// covers issue #22: credentials in the server URL are never shown.
    #[test]
    fn credentials_in_the_server_url() {
        assert_eq!(
            without_userinfo("https://user:sfxCANARY-pw@host:6443/x"),
            "https://host:6443/x"
        );
        assert_eq!(without_userinfo("https://host:6443"), "https://host:6443");
        assert_eq!(without_userinfo("u:p@host"), "host");
        assert_eq!(without_userinfo("https://h/a@b"), "https://h/a@b");
        assert_eq!(
            scrub_userinfo("cannot reach https://u:sfxCANARY@h:1/x: refused; http://a@b"),
            "cannot reach https://h:1/x: refused; http://b"
        );
        assert_eq!(scrub_userinfo("no url"), "no url");
    }
}
