//! Server messages made safe to show: reduced to the reason, the object and the field paths.
//!
//! An API server's rejection can print the object it was sent in Go syntax, values
//! included (`spec.template: Invalid value: core.PodTemplateSpec{…Value:"hunter2"…}: field
//! is immutable`). No such message leaves the process as the server wrote it: a structured
//! error (one with `details.causes`) becomes `REASON: KIND NAME is invalid: FIELD (CAUSE:
//! detail); …`, keeping a cause's closing detail only when it is plain words; any other
//! message keeps its words but loses every value: Go composite literals (`{…}`), the value
//! after `Invalid value:`/`Unsupported value:`/…, and every quoted string that is not a
//! name or a JSON pointer. Pure: no kube types, so the rules are tested on their own.

use std::sync::LazyLock;

use regex::Regex;

/// A field error the server lists (`details.causes[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cause<'a> {
    /// `FieldValueInvalid`, `FieldValueRequired`, …
    pub reason: &'a str,
    /// The field path (`spec.template.spec.containers[0].env[1].value`).
    pub field: &'a str,
    /// The server's message for it (holds the value for some reasons; never shown whole).
    pub message: &'a str,
}

/// What is shown of a server error.
#[derive(Debug, Clone, Default)]
pub struct ServerError<'a> {
    pub code: u16,
    pub reason: &'a str,
    pub message: &'a str,
    /// `details.kind` and `details.name`.
    pub kind: &'a str,
    pub name: &'a str,
    pub causes: Vec<Cause<'a>>,
}

/// Longest message shown (a reduced message is short; this bounds what the rules miss).
const MAX_LEN: usize = 400;

/// Field error types that are followed by the value the server rejected.
const VALUE_TYPES: [&str; 4] = [
    "Invalid value",
    "Unsupported value",
    "Duplicate value",
    "Not found",
];

/// The message a user is shown for a server error.
pub fn describe(e: &ServerError<'_>) -> String {
    let reason = if e.reason.is_empty() {
        format!("HTTP {}", e.code)
    } else {
        e.reason.to_string()
    };
    let causes: Vec<String> = e
        .causes
        .iter()
        .filter(|c| !c.field.is_empty() || !c.reason.is_empty())
        .map(cause_text)
        .collect();
    let text = if !causes.is_empty() {
        let what = match (e.kind, e.name) {
            ("", "") => String::new(),
            (k, "") => format!("{k}: "),
            ("", n) => format!("{n:?}: "),
            (k, n) => format!("{k} {n:?}: "),
        };
        format!("{reason}: {what}{}", causes.join("; "))
    } else if e.message.is_empty() {
        reason
    } else {
        format!("{reason}: {}", message(e.message))
    };
    bounded(text)
}

/// One field error: its path, its kind of error, and its detail when plain words.
fn cause_text(c: &Cause<'_>) -> String {
    let field = if c.field.is_empty() {
        "(object)"
    } else {
        c.field
    };
    let (kind, detail) = split_field_error(c.message);
    let kind = if kind.is_empty() { c.reason } else { kind };
    match detail {
        Some(d) => format!("{field} ({kind}: {d})"),
        None if kind.is_empty() => field.to_string(),
        None => format!("{field} ({kind})"),
    }
}

/// A field error message (`Invalid value: VALUE: detail`, `Required value`, `Forbidden:
/// detail`) as its type and its detail, the detail only when it is plain words and is not
/// the value itself.
fn split_field_error(message: &str) -> (&str, Option<&str>) {
    let (kind, rest) = match message.split_once(": ") {
        Some((k, r)) => (k, Some(r)),
        None => (message, None),
    };
    if !kind.chars().all(|c| c.is_ascii_alphabetic() || c == ' ') {
        return ("", None);
    }
    let Some(rest) = rest else {
        return (kind, None);
    };
    let detail = if VALUE_TYPES.contains(&kind) {
        // The value comes first: only a last segment after it can be the detail.
        match rest.rsplit_once(": ") {
            Some((_, d)) => d,
            None => return (kind, None),
        }
    } else {
        rest
    };
    (kind, plain_words(detail).then_some(detail))
}

/// Text that is words only (`field is immutable`, `must be no more than 63 characters`):
/// no quotes, braces, brackets, colons or `=`, nor anything long.
fn plain_words(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 160
        && text.contains(' ')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " -_.,()'/".contains(c))
}

/// An unstructured server message with every value taken out.
pub fn message(text: &str) -> String {
    static VALUE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r#"(Invalid value|Unsupported value|Duplicate value|Not found): (?:("(?:[^"\\]|\\.)*")|([^;\n"]*?)(: |, |;|\]|$))"#,
        )
        .expect("value regex")
    });
    static QUOTED: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#""(?:[^"\\]|\\.)*"|`[^`]*`"#).expect("quoted regex"));
    let no_literals = without_composites(text);
    let no_values = VALUE.replace_all(&no_literals, |c: &regex::Captures<'_>| {
        let after = c.get(4).map_or("", |m| m.as_str());
        format!("{}: (value not shown){after}", &c[1])
    });
    QUOTED
        .replace_all(&no_values, |c: &regex::Captures<'_>| {
            let q = &c[0];
            let inner = &q[1..q.len() - 1];
            if is_name_or_path(inner) {
                q.to_string()
            } else {
                "\"(value not shown)\"".to_string()
            }
        })
        .into_owned()
}

/// `text` with every `{…}` (a Go composite literal: an object dump) replaced by `{…}`.
/// Braces inside quoted strings count too: what is cut is only ever shown less.
fn without_composites(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '{' => {
                if depth == 0 {
                    out.push_str("{…}");
                }
                depth += 1;
            }
            '}' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            _ => out.push(c),
        }
    }
    out
}

/// A Kubernetes name, kind, resource or JSON pointer: lower-case DNS labels and dots
/// (`deployments.apps`, `web-1`), or a path (`/metadata/resourceVersion`).
fn is_name_or_path(s: &str) -> bool {
    let name = !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    let path = s.starts_with('/')
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_-.~".contains(c));
    name || path
}

fn bounded(text: String) -> String {
    if text.len() <= MAX_LEN {
        return text;
    }
    let mut end = MAX_LEN;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… (cut)", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What kube-apiserver 1.20 answers to a Job whose (immutable) template is patched: the
    /// template in Go syntax, env values included.
    const IMMUTABLE: &str = r#"Job.batch "migrate" is invalid: spec.template: Invalid value: core.PodTemplateSpec{ObjectMeta:v1.ObjectMeta{Name:"", Labels:map[string]string{"job-name":"migrate"}}, Spec:core.PodSpec{Containers:[]core.Container{core.Container{Name:"app", Image:"busybox", Args:[]string{"--password=sfxCANARY-args"}, Env:[]core.EnvVar{core.EnvVar{Name:"DB_PASSWORD", Value:"sfxCANARY-server-err", ValueFrom:(*core.EnvVarSource)(nil)}}}}}}: field is immutable"#;

    /// covers issue #22: a rejected patch comes back with the object printed in Go syntax.
    #[test]
    fn server_error_messages() {
        let structured = ServerError {
            code: 422,
            reason: "Invalid",
            message: IMMUTABLE,
            kind: "Job",
            name: "migrate",
            causes: vec![Cause {
                reason: "FieldValueInvalid",
                field: "spec.template",
                message: &IMMUTABLE[IMMUTABLE.find("Invalid value").unwrap()..],
            }],
        };
        let shown = describe(&structured);
        assert_eq!(
            shown,
            r#"Invalid: Job "migrate": spec.template (Invalid value: field is immutable)"#
        );
        let plain = ServerError {
            causes: Vec::new(),
            ..structured
        };
        let shown = describe(&plain);
        assert!(!shown.contains("sfxCANARY"), "{shown}");
        assert!(!shown.contains("PodTemplateSpec{"), "{shown}");
        assert!(shown.contains("spec.template"), "{shown}");
        assert!(shown.contains("field is immutable"), "{shown}");
        assert!(
            shown.contains(r#"Job.batch "migrate" is invalid"#),
            "{shown}"
        );
    }

    #[test]
    fn values_after_a_field_error_type_are_never_kept() {
        for (msg, want) in [
            ("Invalid value: \"sfxCANARY\"", ("Invalid value", None)),
            ("Invalid value: sfxCANARY no", ("Invalid value", None)),
            (
                "Invalid value: \"x\": must be no more than 63 characters",
                ("Invalid value", Some("must be no more than 63 characters")),
            ),
            ("Required value", ("Required value", None)),
            (
                "Forbidden: may not be set when value is set",
                ("Forbidden", Some("may not be set when value is set")),
            ),
            (
                "Unsupported value: \"x\": supported values: \"a\", \"b\"",
                ("Unsupported value", None),
            ),
        ] {
            assert_eq!(split_field_error(msg), want, "{msg}");
        }
        let m = message(
            r#"Secret "db" is invalid: [data[db key]: Invalid value: "sfxCANARY-KEY": a valid config key must consist of alphanumeric characters, metadata.name: Required value]"#,
        );
        assert!(!m.contains("sfxCANARY"), "{m}");
        assert!(m.contains("metadata.name: Required value"), "{m}");
    }

    #[test]
    fn names_and_json_pointers_stay() {
        let m = message(
            r#"Operation cannot be fulfilled on deployments.apps "web": the object has been modified"#,
        );
        assert!(m.contains(r#"deployments.apps "web""#), "{m}");
        let m = message(r#"doc is missing path: "/metadata/resourceVersion": missing value"#);
        assert!(m.contains("/metadata/resourceVersion"), "{m}");
        let m = message("testing value /metadata/resourceVersion failed: test failed");
        assert_eq!(
            m,
            "testing value /metadata/resourceVersion failed: test failed"
        );
        let m = message(r#"x: Invalid value: "a, sfxCANARY \" b": bad"#);
        assert_eq!(m, "x: Invalid value: (value not shown): bad");
        let m = message(
            r#"admission webhook "v.example.com" denied the request: token "Sfx-Secret_1" is weak"#,
        );
        assert!(!m.contains("Sfx-Secret_1"), "{m}");
    }

    #[test]
    fn long_messages_are_cut() {
        let m = describe(&ServerError {
            code: 500,
            message: &"x".repeat(5000),
            ..ServerError::default()
        });
        assert!(m.len() < MAX_LEN + 20, "{}", m.len());
        assert!(m.starts_with("HTTP 500: "));
    }
}
