//! Label selectors: the structured `LabelSelector` of Kubernetes objects (NetworkPolicy
//! `podSelector`) and the string syntax of `kubectl -l`.
//!
//! Both evaluate through the same [`Requirement`] so they agree on semantics:
//! - `In` needs the key present with one of the values; `NotIn` matches when the key is
//!   absent or has none of the values (as in Kubernetes);
//! - `Exists` / `DoesNotExist` look at the key only;
//! - all requirements must hold (AND); no requirement at all matches everything.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// One condition on one label key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub op: Op,
}

/// What a [`Requirement`] asks of its key's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `key=v`, `key==v`, `key in (a,b)`.
    In(BTreeSet<String>),
    /// `key!=v`, `key notin (a,b)`.
    NotIn(BTreeSet<String>),
    /// `key`.
    Exists,
    /// `!key`.
    DoesNotExist,
    /// `key>n`: present, an integer, greater than `n` (kubectl also has these).
    Gt(i64),
    /// `key<n`: present, an integer, less than `n`.
    Lt(i64),
}

impl Requirement {
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        match &self.op {
            Op::In(values) => value.is_some_and(|v| values.contains(v)),
            Op::NotIn(values) => value.is_none_or(|v| !values.contains(v)),
            Op::Exists => value.is_some(),
            Op::DoesNotExist => value.is_none(),
            Op::Gt(n) => value
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v > *n),
            Op::Lt(n) => value
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v < *n),
        }
    }
}

/// Whether a Kubernetes `LabelSelector` selects an object with `labels`.
///
/// `matchLabels` and `matchExpressions` (`In`, `NotIn`, `Exists`, `DoesNotExist`) are ANDed;
/// an empty selector (`{}`) selects everything. A selector the API server would reject (an
/// unknown operator, `In`/`NotIn` without values) selects nothing: for a NetworkPolicy that
/// means "isolates nothing", the conservative reading for a security check.
pub(crate) fn label_selector_matches(
    sel: &LabelSelector,
    labels: &BTreeMap<String, String>,
) -> bool {
    let labels_ok = sel
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    if !labels_ok {
        return false;
    }
    sel.match_expressions.iter().flatten().all(|e| {
        let values: BTreeSet<String> = e.values.iter().flatten().cloned().collect();
        let op = match e.operator.as_str() {
            "In" if !values.is_empty() => Op::In(values),
            "NotIn" if !values.is_empty() => Op::NotIn(values),
            "Exists" => Op::Exists,
            "DoesNotExist" => Op::DoesNotExist,
            _ => return false,
        };
        Requirement {
            key: e.key.clone(),
            op,
        }
        .matches(labels)
    })
}

/// A parsed `kubectl -l` selector: comma-separated requirements, all of which must hold.
///
/// Syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a` (exists), `!a` (does not
/// exist), and kubectl's `a>1` / `a<1` on integer values. Whitespace around tokens is
/// ignored. The empty string selects everything. `in ()` with no values is rejected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    pub requirements: Vec<Requirement>,
}

/// A selector that does not parse; `part` is the requirement at fault, as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid label selector at {part:?}: {reason}")]
pub struct SelectorError {
    pub part: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Eq,
    DoubleEq,
    NotEq,
    Bang,
    Gt,
    Lt,
    LParen,
    RParen,
    Comma,
}

fn lex(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '=' => {
                chars.next();
                if chars.peek() == Some(&'=') {
                    chars.next();
                    out.push(Tok::DoubleEq);
                } else {
                    out.push(Tok::Eq);
                }
            }
            '!' => {
                chars.next();
                if chars.peek() == Some(&'=') {
                    chars.next();
                    out.push(Tok::NotEq);
                } else {
                    out.push(Tok::Bang);
                }
            }
            '>' | '<' | '(' | ')' | ',' => {
                chars.next();
                out.push(match c {
                    '>' => Tok::Gt,
                    '<' => Tok::Lt,
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    _ => Tok::Comma,
                });
            }
            _ => {
                let mut ident = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || "=!<>(),".contains(c) {
                        break;
                    }
                    ident.push(c);
                    chars.next();
                }
                out.push(Tok::Ident(ident));
            }
        }
    }
    out
}

/// Splits at commas outside parentheses; errors on unbalanced parentheses.
fn split_requirements(s: &str) -> Result<Vec<&str>, SelectorError> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.checked_sub(1).ok_or_else(|| SelectorError {
                    part: s[start..=i].trim().to_string(),
                    reason: "unbalanced ')'".into(),
                })?;
            }
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(SelectorError {
            part: s[start..].trim().to_string(),
            reason: "missing ')'".into(),
        });
    }
    parts.push(&s[start..]);
    Ok(parts)
}

fn is_name(s: &str, max: usize) -> bool {
    let b = s.as_bytes();
    !s.is_empty()
        && s.len() <= max
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|l| {
            let b = l.as_bytes();
            !l.is_empty()
                && l.len() <= 63
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

/// A label key: `[prefix/]name`, prefix a DNS subdomain, name up to 63 characters.
fn valid_key(k: &str) -> bool {
    match k.split_once('/') {
        Some((prefix, name)) => is_dns_subdomain(prefix) && is_name(name, 63),
        None => is_name(k, 63),
    }
}

/// A label value: empty, or up to 63 alphanumerics with `-_.` inside.
fn valid_value(v: &str) -> bool {
    v.is_empty() || is_name(v, 63)
}

impl Selector {
    /// Parses `kubectl -l` syntax. The error names the requirement that is wrong.
    pub fn parse(s: &str) -> Result<Selector, SelectorError> {
        if s.trim().is_empty() {
            return Ok(Selector::default());
        }
        let requirements = split_requirements(s)?
            .into_iter()
            .map(parse_requirement)
            .collect::<Result<_, _>>()?;
        Ok(Selector { requirements })
    }

    /// True when every requirement holds (always, for the empty selector).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

fn parse_requirement(part: &str) -> Result<Requirement, SelectorError> {
    let err = |reason: &str| SelectorError {
        part: part.trim().to_string(),
        reason: reason.to_string(),
    };
    let toks = lex(part);
    let key_ok = |k: &str| {
        if valid_key(k) {
            Ok(k.to_string())
        } else {
            Err(err("invalid label key"))
        }
    };
    let value_ok = |v: &str| {
        if valid_value(v) {
            Ok(v.to_string())
        } else {
            Err(err("invalid label value"))
        }
    };
    let (key, op) = match toks.as_slice() {
        [] => return Err(err("empty requirement")),
        [Tok::Bang, Tok::Ident(k)] => (key_ok(k)?, Op::DoesNotExist),
        [Tok::Ident(k)] => (key_ok(k)?, Op::Exists),
        [Tok::Ident(k), Tok::Eq | Tok::DoubleEq, rest @ ..] => {
            (key_ok(k)?, Op::In(single_value(rest, &err, &value_ok)?))
        }
        [Tok::Ident(k), Tok::NotEq, rest @ ..] => {
            (key_ok(k)?, Op::NotIn(single_value(rest, &err, &value_ok)?))
        }
        [Tok::Ident(k), Tok::Gt | Tok::Lt, Tok::Ident(n)] => {
            let n: i64 = n.parse().map_err(|_| err("'>' and '<' need an integer"))?;
            let op = if toks[1] == Tok::Gt {
                Op::Gt(n)
            } else {
                Op::Lt(n)
            };
            (key_ok(k)?, op)
        }
        [
            Tok::Ident(k),
            Tok::Ident(word),
            Tok::LParen,
            rest @ ..,
            Tok::RParen,
        ] if word == "in" || word == "notin" => {
            let values = value_list(rest, &err, &value_ok)?;
            let op = if word == "in" {
                Op::In(values)
            } else {
                Op::NotIn(values)
            };
            (key_ok(k)?, op)
        }
        [Tok::Ident(_), Tok::Ident(word), ..] if word == "in" || word == "notin" => {
            return Err(err("expected a parenthesised value list"));
        }
        [Tok::Bang, ..] => return Err(err("'!' must be followed by a single key")),
        _ => {
            return Err(err(
                "expected key, key=value, key!=value, key in (…), or !key",
            ));
        }
    };
    Ok(Requirement { key, op })
}

/// The value after `=`, `==` or `!=` (possibly empty, as in `a=`).
fn single_value(
    rest: &[Tok],
    err: &dyn Fn(&str) -> SelectorError,
    value_ok: &dyn Fn(&str) -> Result<String, SelectorError>,
) -> Result<BTreeSet<String>, SelectorError> {
    match rest {
        [] => Ok(BTreeSet::from([String::new()])),
        [Tok::Ident(v)] => Ok(BTreeSet::from([value_ok(v)?])),
        _ => Err(err("expected a single value")),
    }
}

/// `x, y, z` between the parentheses of `in`/`notin`.
fn value_list(
    toks: &[Tok],
    err: &dyn Fn(&str) -> SelectorError,
    value_ok: &dyn Fn(&str) -> Result<String, SelectorError>,
) -> Result<BTreeSet<String>, SelectorError> {
    if toks.is_empty() {
        return Err(err("empty value list"));
    }
    let mut values = BTreeSet::new();
    for chunk in toks.split(|t| *t == Tok::Comma) {
        match chunk {
            [Tok::Ident(v)] => {
                values.insert(value_ok(v)?);
            }
            [] => {
                values.insert(String::new());
            }
            _ => return Err(err("malformed value list")),
        }
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn sel(v: serde_json::Value) -> LabelSelector {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn label_selector_semantics() {
        let web = labels(&[("app", "web"), ("tier", "front")]);
        let db = labels(&[("app", "db")]);
        assert!(label_selector_matches(&sel(json!({})), &web));
        let ml = sel(json!({"matchLabels": {"app": "web"}}));
        assert!(label_selector_matches(&ml, &web));
        assert!(!label_selector_matches(&ml, &db));
        let e = |op: &str, values: serde_json::Value| {
            sel(json!({"matchExpressions": [{"key": "tier", "operator": op, "values": values}]}))
        };
        assert!(label_selector_matches(
            &e("In", json!(["front", "x"])),
            &web
        ));
        assert!(!label_selector_matches(&e("In", json!(["front"])), &db));
        assert!(!label_selector_matches(&e("NotIn", json!(["front"])), &web));
        assert!(label_selector_matches(&e("NotIn", json!(["front"])), &db));
        assert!(label_selector_matches(&e("Exists", json!(null)), &web));
        assert!(!label_selector_matches(&e("Exists", json!(null)), &db));
        assert!(label_selector_matches(&e("DoesNotExist", json!(null)), &db));
        // Invalid selectors select nothing.
        assert!(!label_selector_matches(&e("In", json!([])), &web));
        assert!(!label_selector_matches(&e("Bogus", json!(["x"])), &web));
        // matchLabels AND matchExpressions.
        let both = sel(json!({"matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["back"]}]}));
        assert!(!label_selector_matches(&both, &web));
    }

    #[test]
    fn parses_kubectl_syntax() {
        let web = labels(&[("app", "web"), ("tier", "front"), ("n", "5")]);
        let cases = [
            ("", true),
            ("app=web", true),
            ("app==web", true),
            ("app = web", true),
            ("app!=web", false),
            ("app!=db", true),
            ("missing!=x", true),
            ("app in (web, db)", true),
            ("app in(db)", false),
            ("app notin (db)", true),
            ("app notin (web,db)", false),
            ("app", true),
            ("!app", false),
            ("!missing", true),
            ("app=web,tier=front", true),
            ("app=web, tier=back", false),
            ("app in (web,db),tier", true),
            ("n>4", true),
            ("n<5", false),
            ("example.com/team=x", false),
            ("tier=", false),
        ];
        for (s, want) in cases {
            let parsed = Selector::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(parsed.matches(&web), want, "{s}");
        }
    }

    #[test]
    fn errors_name_the_bad_part() {
        for (s, part) in [
            ("app=web,=x", "=x"),
            ("app=web,,tier=x", ""),
            ("app in (web", "app in (web"),
            ("app in web", "app in web"),
            ("app in ()", "app in ()"),
            ("app=a b", "app=a b"),
            ("app=web,bad key=1", "bad key=1"),
            ("a=b)", "a=b)"),
            ("-bad=x", "-bad=x"),
            ("app=v@l", "app=v@l"),
            ("n>x", "n>x"),
            ("!a=b", "!a=b"),
        ] {
            let e = Selector::parse(s).expect_err(s);
            assert_eq!(e.part, part, "{s}: {e}");
            assert!(e.to_string().contains(&format!("{part:?}")), "{e}");
        }
    }
}
