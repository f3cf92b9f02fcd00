//! YAML scalars resolved the way kubectl resolves them.
//!
//! kubectl reads `-f` files with `sigs.k8s.io/yaml`, which parses YAML 1.1 with go-yaml v2,
//! converts the result to JSON, and decodes that JSON into an unstructured object. Every rule
//! below was checked against kubectl 1.32 (`kubectl create --dry-run=client --validate=false
//! -o json -f FILE`; the cases are in `tests/fixtures/yaml11/` and `tests/live_yaml_oracle.rs`).
//!
//! Plain (unquoted, untagged) scalars:
//! - `~`, `null`, `Null`, `NULL` and the empty scalar are null;
//! - `y Y yes Yes YES on On ON true True TRUE` are `true`, `n N no No NO off Off OFF false
//!   False FALSE` are `false` (YAML 1.1); other spellings (`yES`, `tRUE`) are strings;
//! - integers as Go's `strconv.ParseInt(s, 0, 64)` reads them after removing every `_`:
//!   decimal, `0x`/`0X` hex, `0o`/`0O` and leading-`0` octal (`0644` is 420, `0o644` too),
//!   `0b` binary, with an optional sign (`1_000` is 1000, `-0x10` is -16);
//! - a leading-zero number that is not valid octal is read as a decimal float (`08` is 8,
//!   `0999` is 999), because go-yaml tries a float after the integer fails;
//! - floats (`1.5`, `1e3`, `.5`, `6.02e+23`); out-of-range ones (`1e400`) stay strings,
//!   `.inf`, `-.inf` and `.nan` are refused (JSON has no such numbers; kubectl refuses them);
//! - unsigned integers above 2^63 - 1 and floats become JSON numbers that kubectl then holds as
//!   64-bit floats: a float with an integral value below 2^63 is an integer (`1.0` is 1,
//!   `1e3` is 1000), anything above 2^63 - 1 is a float;
//! - everything else is a string: sexagesimal `1:20` (YAML 1.1 base 60 is not supported by
//!   go-yaml), timestamps (`2001-12-14`, kept as written), `=`, `<<` as a value, `0x` alone,
//!   `1.2.3`.
//!
//! Quoted and block (`|`, `>`) scalars are strings. Tags: `!!str` and `!!binary` (base64,
//! decoded; invalid UTF-8 becomes U+FFFD per byte, as Go's JSON encoder does) give strings;
//! `!!int`, `!!float`, `!!bool`, `!!null`, `!!timestamp` resolve the text as above and must
//! agree with the tag (`!!int '0644'` is 420, `!!float 1` is 1, `!!int abc` is an error);
//! unknown tags (`!foo bar`) are ignored and the text is a string.
//!
//! Mapping keys become JSON strings: integers in decimal (`0644:` is `"420"`), floats with
//! Go's `%g` at float32 precision (`1.5:` is `"1.5"`, `3.14159265358979:` is `"3.1415927"`),
//! booleans as `"true"`/`"false"` (so `y:`, `on:` and `yes:` are all `"true"`). A null key, an
//! unsigned integer key above 2^63 - 1, and a mapping or sequence used as a key are errors.

use base64::Engine as _;
use serde_json::{Number, Value};

/// A resolved scalar, before it becomes a JSON value or key.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    /// An unsigned integer above `i64::MAX`.
    Uint(u64),
    Float(f64),
    Str(String),
    /// The merge key `<<` (plain, or tagged `!!merge`).
    Merge,
}

/// The YAML core tags go-yaml knows; `None` for no tag, `Some(Other)` for any other tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoreTag {
    Str,
    Int,
    Float,
    Bool,
    Null,
    Binary,
    Timestamp,
    Merge,
    Other,
}

impl CoreTag {
    /// The tag of a full tag URI (`tag:yaml.org,2002:int`).
    pub(crate) fn from_uri(uri: &str) -> CoreTag {
        match uri.strip_prefix("tag:yaml.org,2002:") {
            Some("str") => CoreTag::Str,
            Some("int") => CoreTag::Int,
            Some("float") => CoreTag::Float,
            Some("bool") => CoreTag::Bool,
            Some("null") => CoreTag::Null,
            Some("binary") => CoreTag::Binary,
            Some("timestamp") => CoreTag::Timestamp,
            Some("merge") => CoreTag::Merge,
            _ => CoreTag::Other,
        }
    }

    fn short(self) -> &'static str {
        match self {
            CoreTag::Str => "!!str",
            CoreTag::Int => "!!int",
            CoreTag::Float => "!!float",
            CoreTag::Bool => "!!bool",
            CoreTag::Null => "!!null",
            CoreTag::Binary => "!!binary",
            CoreTag::Timestamp => "!!timestamp",
            CoreTag::Merge => "!!merge",
            CoreTag::Other => "a custom tag",
        }
    }
}

/// Resolves one scalar. `plain` is true for an unquoted, non-block scalar.
pub fn resolve(text: &str, plain: bool, tag: Option<CoreTag>) -> Result<Scalar, String> {
    match tag {
        // No tag on a quoted or block scalar: a string.
        None if !plain => Ok(Scalar::Str(text.to_string())),
        None => Ok(resolve_plain(text, None).1),
        Some(CoreTag::Str) | Some(CoreTag::Other) => Ok(Scalar::Str(text.to_string())),
        Some(CoreTag::Binary) => decode_binary(text).map(Scalar::Str),
        Some(CoreTag::Merge) => Ok(Scalar::Merge),
        Some(tag) => {
            let (found, resolved) = resolve_plain(text, Some(tag));
            match (tag, resolved) {
                (t, r) if t == found => Ok(r),
                (CoreTag::Float, Scalar::Int(i)) => Ok(Scalar::Float(i as f64)),
                // Never the text itself: it may be a secret (a mistagged password).
                _ => Err(format!(
                    "cannot decode {} as a {} (value not shown)",
                    found.short(),
                    tag.short()
                )),
            }
        }
    }
}

/// go-yaml v2's `resolve` for a plain scalar (or one with a resolvable tag): the tag it
/// resolves to, and the value. Timestamps resolve to `Timestamp` with the text kept.
fn resolve_plain(text: &str, tag: Option<CoreTag>) -> (CoreTag, Scalar) {
    let string = || (CoreTag::Str, Scalar::Str(text.to_string()));
    let Some(&first) = text.as_bytes().first() else {
        return (CoreTag::Null, Scalar::Null);
    };
    if let Some(known) = lookup(text) {
        return known;
    }
    match first {
        b'.' => match parse_go_float(text) {
            Some(f) => (CoreTag::Float, Scalar::Float(f)),
            None => string(),
        },
        b'0'..=b'9' | b'+' | b'-' => {
            if matches!(tag, None | Some(CoreTag::Timestamp)) && is_timestamp(text) {
                return (CoreTag::Timestamp, Scalar::Str(text.to_string()));
            }
            let plain: String = text.chars().filter(|&c| c != '_').collect();
            if let Some(i) = parse_go_int(&plain) {
                return (CoreTag::Int, Scalar::Int(i));
            }
            if let Some(u) = parse_go_uint(&plain) {
                return (CoreTag::Int, Scalar::Uint(u));
            }
            if is_yaml_style_float(&plain)
                && let Some(f) = parse_go_float(&plain)
            {
                return (CoreTag::Float, Scalar::Float(f));
            }
            string()
        }
        _ => string(),
    }
}

/// go-yaml v2's table of spelled-out values.
fn lookup(text: &str) -> Option<(CoreTag, Scalar)> {
    let b = |v| Some((CoreTag::Bool, Scalar::Bool(v)));
    let f = |v| Some((CoreTag::Float, Scalar::Float(v)));
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            b(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            b(false)
        }
        "~" | "null" | "Null" | "NULL" => Some((CoreTag::Null, Scalar::Null)),
        ".nan" | ".NaN" | ".NAN" => f(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => f(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => f(f64::NEG_INFINITY),
        "<<" => Some((CoreTag::Merge, Scalar::Merge)),
        _ => None,
    }
}

/// Go's `strconv.ParseUint(s, 0, 64)`: base from the prefix, no sign, no underscores (they
/// were removed before).
fn parse_go_uint(s: &str) -> Option<u64> {
    let (digits, radix) = go_base(s)?;
    if digits.is_empty() && radix != 8 {
        return None;
    }
    if digits.is_empty() {
        // "0" alone.
        return Some(0);
    }
    if !digits.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// The digits and radix of an unsigned Go integer literal (`0x1F`, `0o17`, `0b1`, `017`, `17`).
fn go_base(s: &str) -> Option<(&str, u32)> {
    let bytes = s.as_bytes();
    if bytes.is_empty() {
        return None;
    }
    if bytes[0] != b'0' {
        return Some((s, 10));
    }
    if bytes.len() >= 3 {
        match bytes[1].to_ascii_lowercase() {
            b'b' => return Some((&s[2..], 2)),
            b'o' => return Some((&s[2..], 8)),
            b'x' => return Some((&s[2..], 16)),
            _ => {}
        }
    }
    Some((&s[1..], 8))
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, rest) = match s.as_bytes().first()? {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let u = parse_go_uint(rest)?;
    if neg {
        if u <= i64::MAX as u64 + 1 {
            Some((u as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(u).ok()
    }
}

/// go-yaml v2's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal literals: underscores only between digits,
/// out-of-range values refused (Go returns an error with ±Inf), underflow to zero accepted.
fn parse_go_float(s: &str) -> Option<f64> {
    let cleaned;
    let s = if s.contains('_') {
        if !underscores_ok(s) {
            return None;
        }
        cleaned = s.replace('_', "");
        cleaned.as_str()
    } else {
        s
    };
    if !is_yaml_style_float(s) {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    f.is_finite().then_some(f)
}

/// Go's `underscoreOK` for a decimal literal: every `_` sits between two digits.
fn underscores_ok(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    // '^' start, '0' digit, '_' underscore, '!' anything else
    let mut saw = '^';
    for c in s.chars() {
        if c.is_ascii_digit() {
            saw = '0';
        } else if c == '_' {
            if saw != '0' {
                return false;
            }
            saw = '_';
        } else {
            if saw == '_' {
                return false;
            }
            saw = '!';
        }
    }
    saw != '_'
}

/// go-yaml v2's timestamp formats: `2006-1-2`, `2006-1-2T15:4:5.999999999Z07:00` (also with
/// `t` or a space, the latter without a zone).
fn is_timestamp(s: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(
            r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]{1,9})?(?:Z|[+-][0-9]{2}:[0-9]{2}))|(?: [0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]{1,9})?))?$",
        )
        .expect("static regex")
    });
    re.is_match(s)
}

/// A `!!binary` scalar: base64 (line breaks ignored, as Go's decoder ignores them), as text
/// with every invalid UTF-8 byte replaced by U+FFFD, as Go's JSON encoder does.
fn decode_binary(text: &str) -> Result<String, String> {
    let compact: String = text.chars().filter(|c| !matches!(c, '\n' | '\r')).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| "!!binary value contains invalid base64 data".to_string())?;
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for _ in chunk.invalid() {
            out.push('\u{FFFD}');
        }
    }
    Ok(out)
}

/// The JSON value of a resolved scalar, as kubectl ends up holding it.
pub fn to_value(s: Scalar) -> Result<Value, String> {
    Ok(match s {
        Scalar::Null => Value::Null,
        Scalar::Bool(b) => Value::Bool(b),
        Scalar::Int(i) => Value::Number(i.into()),
        Scalar::Uint(u) => float_value(u as f64)?,
        Scalar::Float(f) => float_value(f)?,
        Scalar::Str(s) => Value::String(s),
        Scalar::Merge => Value::String("<<".into()),
    })
}

/// A float as kubectl holds it after its JSON round trip: an integer when the value is
/// integral and fits in an `i64` (Go prints it without a fraction, and the unstructured
/// decoder reads that back as an integer), else a float.
pub(crate) fn float_value(f: f64) -> Result<Value, String> {
    if !f.is_finite() {
        let what = if f.is_nan() {
            "NaN"
        } else if f > 0.0 {
            "+Inf"
        } else {
            "-Inf"
        };
        return Err(format!(
            "{what} is not a JSON number (kubectl refuses it too); quote it to make it a string"
        ));
    }
    // 2^63: the first integral float that no longer fits in an i64.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.fract() == 0.0 && (-TWO_63..TWO_63).contains(&f) {
        return Ok(Value::Number((f as i64).into()));
    }
    Ok(Number::from_f64(f).map_or(Value::Null, Value::Number))
}

/// The JSON object key of a resolved scalar (sigs.k8s.io/yaml's conversion).
pub(crate) fn to_key(s: Scalar) -> Result<String, String> {
    match s {
        Scalar::Str(s) => Ok(s),
        Scalar::Int(i) => Ok(i.to_string()),
        Scalar::Bool(b) => Ok(b.to_string()),
        Scalar::Float(f) => Ok(go_float32_g(f)),
        Scalar::Merge => Ok("<<".into()),
        Scalar::Null => Err("a null mapping key is not supported (kubectl refuses it too)".into()),
        Scalar::Uint(u) => Err(format!(
            "mapping key {u} is above 2^63-1, which kubectl refuses as an unsupported key"
        )),
    }
}

/// The key of a value reached through an alias (the alias points at an already converted
/// node).
pub(crate) fn value_to_key(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Ok(i.to_string()),
            (None, Some(f)) => Ok(go_float32_g(f)),
            _ => Ok(n.to_string()),
        },
        Value::Null => to_key(Scalar::Null),
        Value::Array(_) | Value::Object(_) => Err(invalid_key()),
    }
}

/// The error for a mapping or sequence used as a mapping key.
pub(crate) fn invalid_key() -> String {
    "invalid map key: a mapping or sequence cannot be a key (kubectl refuses it too)".into()
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)`, with go-yaml's names for infinities and NaN.
fn go_float32_g(f: f64) -> String {
    let x = f as f32;
    if x.is_nan() {
        return ".nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // Shortest digits that read back as the same float32, and their decimal exponent.
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    // Go's %g with the shortest precision uses %e when the exponent is below -4 or at
    // least 6 ("if precision was the shortest possible, use precision 6 for this decision").
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    format!("{x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plain(s: &str) -> Value {
        to_value(resolve(s, true, None).unwrap()).unwrap()
    }

    #[test]
    fn yaml_1_1_integers_as_kubectl_reads_them() {
        // Each pair checked against kubectl 1.32 (tests/fixtures/yaml11/numbers.yaml).
        let cases = [
            ("0400", json!(256)),
            ("0644", json!(420)),
            ("0o644", json!(420)),
            ("0O644", json!(420)),
            ("08", json!(8)),
            ("09", json!(9)),
            ("0999", json!(999)),
            ("012345678", json!(12345678)),
            ("0x1F", json!(31)),
            ("0X1f", json!(31)),
            ("0b101", json!(5)),
            ("-0b101", json!(-5)),
            ("+12", json!(12)),
            ("1_000", json!(1000)),
            ("0_644", json!(420)),
            ("-0x10", json!(-16)),
            ("0x", json!("0x")),
            ("0b", json!("0b")),
            ("0o", json!("0o")),
            ("0o8", json!("0o8")),
            ("1__", json!(1)),
            ("_1", json!("_1")),
            ("1_", json!(1)),
            ("0x_1f", json!(31)),
            ("--1", json!("--1")),
            ("+-1", json!("+-1")),
            ("-0", json!(0)),
            ("+0", json!(0)),
            ("00", json!(0)),
            ("0_0", json!(0)),
            ("9223372036854775807", json!(9223372036854775807i64)),
            ("-0x8000000000000000", json!(i64::MIN)),
            ("0x10000000000000000", json!("0x10000000000000000")),
            ("123abc", json!("123abc")),
        ];
        for (text, want) in cases {
            assert_eq!(plain(text), want, "{text}");
        }
        // Above i64: kubectl holds a float.
        assert_eq!(
            plain("9223372036854775808").as_f64(),
            Some(9.223372036854776e18)
        );
        assert!(plain("9223372036854775808").is_f64());
        assert!(plain("0xFFFFFFFFFFFFFFFF").is_f64());
        assert!(plain("18446744073709551616").is_f64());
    }

    #[test]
    fn yaml_1_1_floats_as_kubectl_reads_them() {
        let cases = [
            ("1e3", json!(1000)),
            ("1.0", json!(1)),
            ("1.5", json!(1.5)),
            (".5", json!(0.5)),
            ("1.", json!(1)),
            ("0.", json!(0)),
            ("-0.0", json!(0)),
            (".5_5", json!(0.55)),
            ("._5", json!("._5")),
            (".5e3", json!(500)),
            ("1e400", json!("1e400")),
            ("1e-400", json!(0)),
            (".1e400", json!(".1e400")),
            ("0x1p3", json!("0x1p3")),
            ("1_000.5", json!(1000.5)),
            ("0.1_5", json!(0.15)),
            ("+.5", json!(0.5)),
            ("-.5", json!(-0.5)),
            ("1e", json!("1e")),
            ("1.5e-7", json!(1.5e-7)),
            ("2e-5", json!(2e-5)),
            ("1.5.5", json!("1.5.5")),
            (".", json!(".")),
            ("1E3", json!(1000)),
        ];
        for (text, want) in cases {
            assert_eq!(plain(text), want, "{text}");
        }
        assert!(plain("1e21").is_f64());
        assert!(plain("1e20").is_f64());
        assert_eq!(plain("6.02e+23").as_f64(), Some(6.02e23));
    }

    #[test]
    fn infinity_and_nan_are_refused_like_kubectl() {
        for text in [".inf", "-.Inf", "+.INF", ".nan", ".NaN"] {
            let s = resolve(text, true, None).unwrap();
            assert!(to_value(s).is_err(), "{text}");
        }
        // Other spellings are strings.
        assert_eq!(plain(".infinity"), json!(".infinity"));
        assert_eq!(plain(".iNf"), json!(".iNf"));
    }

    #[test]
    fn yaml_1_1_booleans_and_nulls() {
        for t in [
            "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE",
        ] {
            assert_eq!(plain(t), json!(true), "{t}");
        }
        for t in [
            "n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE",
        ] {
            assert_eq!(plain(t), json!(false), "{t}");
        }
        for t in ["yES", "tRUE", "oN", "nO"] {
            assert_eq!(plain(t), json!(t), "{t}");
        }
        for t in ["", "~", "null", "Null", "NULL"] {
            assert_eq!(plain(t), Value::Null, "{t:?}");
        }
        assert_eq!(plain("nULL"), json!("nULL"));
    }

    #[test]
    fn other_yaml_1_1_forms_are_strings() {
        for t in [
            "1:20",
            "190:20:30",
            "-1:20",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14",
            "2002-12-14 21:59:43.10",
            "=",
            "<<x",
            "2001-12-14X",
        ] {
            assert_eq!(plain(t), json!(t), "{t}");
        }
        // `<<` as a value is the string.
        assert_eq!(to_value(Scalar::Merge).unwrap(), json!("<<"));
    }

    #[test]
    fn quoted_and_block_scalars_are_strings() {
        assert_eq!(
            to_value(resolve("0644", false, None).unwrap()).unwrap(),
            json!("0644")
        );
        assert_eq!(
            to_value(resolve("yes", false, None).unwrap()).unwrap(),
            json!("yes")
        );
    }

    #[test]
    fn tags_as_go_yaml_applies_them() {
        let t = |text: &str, plain: bool, tag| {
            resolve(text, plain, Some(tag)).map(|s| to_value(s).unwrap())
        };
        assert_eq!(t("0644", true, CoreTag::Str), Ok(json!("0644")));
        assert_eq!(t("0644", false, CoreTag::Int), Ok(json!(420)));
        assert_eq!(t("1", true, CoreTag::Float), Ok(json!(1)));
        assert_eq!(t("1.5", false, CoreTag::Float), Ok(json!(1.5)));
        assert_eq!(t("yes", true, CoreTag::Bool), Ok(json!(true)));
        assert_eq!(t("yes", true, CoreTag::Str), Ok(json!("yes")));
        assert_eq!(t("bar", true, CoreTag::Other), Ok(json!("bar")));
        assert_eq!(t("", false, CoreTag::Null), Ok(Value::Null));
        assert_eq!(t("aGVsbG8=", true, CoreTag::Binary), Ok(json!("hello")));
        assert_eq!(t("/w==", false, CoreTag::Binary), Ok(json!("\u{FFFD}")));
        assert_eq!(
            t("aGVs\nbG8=\n", false, CoreTag::Binary),
            Ok(json!("hello"))
        );
        assert_eq!(
            t("2001-12-14", true, CoreTag::Timestamp),
            Ok(json!("2001-12-14"))
        );
        assert_eq!(
            t("abc", true, CoreTag::Int),
            Err("cannot decode !!str as a !!int (value not shown)".to_string())
        );
        assert!(t("1", true, CoreTag::Bool).is_err());
        assert!(t("foo", true, CoreTag::Timestamp).is_err());
        assert!(t("!!!", true, CoreTag::Binary).is_err());
    }

    #[test]
    fn keys_as_sigs_yaml_converts_them() {
        let k = |text: &str| to_key(resolve(text, true, None).unwrap());
        let cases = [
            ("1", "1"),
            ("0644", "420"),
            ("1.5", "1.5"),
            ("1.0", "1"),
            ("yes", "true"),
            ("on", "true"),
            ("y", "true"),
            ("n", "false"),
            ("1e3", "1000"),
            ("0x10", "16"),
            ("2001-12-14", "2001-12-14"),
            ("0.1", "0.1"),
            ("100000000000000000000", "1e+20"),
            ("1.25e-7", "1.25e-07"),
            ("3.14159265358979", "3.1415927"),
            ("16777217", "16777217"),
            ("16777217.0", "1.6777216e+07"),
            ("-0.0", "-0"),
            (".inf", ".inf"),
        ];
        for (text, want) in cases {
            assert_eq!(k(text).as_deref(), Ok(want), "{text}");
        }
        assert!(k("~").is_err());
        assert!(k("9223372036854775808").is_err());
    }
}
