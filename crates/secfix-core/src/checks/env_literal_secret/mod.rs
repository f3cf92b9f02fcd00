//! `env-literal-secret`: a literal `env[].value` that looks like a secret, in init, regular and
//! ephemeral containers. One finding per entry; `path` points at the entry.
//!
//! A value is flagged for its **shape**, whatever the variable's name (first rule that matches
//! gives the reason):
//! - a PEM private key (`-----BEGIN … PRIVATE KEY-----`), plain or base64-encoded;
//! - an AWS access key id (`AKIA`/`ASIA` + 16 upper-case alphanumerics);
//! - a JWT (`eyJ….eyJ….sig`);
//! - well-known token formats: GitHub (`ghp_…`, `github_pat_…`), GitLab (`glpat-…`), Slack
//!   (`xox?-…` and webhook URLs), Google API keys (`AIza…`), Stripe live keys (`sk_live_…`);
//! - a URL with a password in it (`postgres://user:pw@host`), or with a credential in its
//!   query (`?token=…`, `&sig=…`, …);
//! - a connection string with `Password=`/`Pwd=`/`AccountKey=`/`SharedAccessKey=`;
//! - a long random-looking string: at least [`ENTROPY_MIN_LEN`] characters, only base64 /
//!   base64url characters, upper case, lower case and digits all present, Shannon entropy at
//!   least [`ENTROPY_MIN_BITS`] bits per character, and the character class (lower, upper,
//!   digit) changing between at least [`ENTROPY_MIN_SWITCH`] of adjacent alphanumerics
//!   (separators skipped). The last test tells random strings
//!   (≈ 0.65 for base64) from CamelCase words (≈ 0.3). With these thresholds ~97% of random
//!   32- or 40-character and >99% of 64-character base64 strings are caught. Hex-only strings (git
//!   SHAs, checksums) and UUIDs are never flagged by shape: too many are not secrets.
//!
//! A value is flagged for its variable's **name** when the name, split into words
//! (case- and separator-insensitive: `DB_PASSWORD`, `dbPassword`, `db-password`, `DBPASSWORD`)
//! contains a secret noun — password/passwd/pwd/pass/passphrase, token/bearer, secret,
//! credentials/creds, auth/authorization, or `<api|private|access|secret|signing|…> key` —
//! and no word after the last such noun says the value is *about* the secret rather than the
//! secret itself ([`QUALIFIERS`]: `TOKEN_FILE`, `PASSWORD_PATH`, `SECRET_NAME`, `AUTH_URL`,
//! `TOKEN_TTL`, `AUTH_ENABLED`, `ACCESS_KEY_ID`, …). Even then these values are not secrets:
//! empty, booleans (`true`, `no`, `enabled`, …), `null`/`none`, numbers of at most 5 digits,
//! values referring to other variables (`$(OTHER)`, `${X}`) or templates (`{{ … }}`, `<…>`,
//! including [`REDACTED`](crate::model::REDACTED)), masks (`****`), URLs (a password in a URL
//! is caught by shape) and absolute paths (`/var/run/secrets/token`). The shell's own `PWD`
//! and `OLDPWD` are not passwords.
//!
//! Placeholders such as `changeme` **are** flagged: once in a live object they are the real
//! credential, usually a well-known default, so they are worth moving into a Secret.
//!
//! The value, or any part of it, never appears in a finding: reasons are fixed strings.

mod fix;

use std::sync::LazyLock;

use regex::Regex;

use crate::fix::file_env;
use crate::model::Workload;
use crate::checks::{CheckId, Finding, Severity};

use super::{Check, Evidence, Fixer, Images, Meta, Scan, ScanOptions};
use super::{env_fixability, object_finding, workload_finding};

/// Minimum length for the entropy rule.
pub(crate) const ENTROPY_MIN_LEN: usize = 32;
/// Minimum Shannon entropy, in bits per character, for the entropy rule.
pub(crate) const ENTROPY_MIN_BITS: f64 = 4.0;
/// Minimum share of adjacent characters of different classes for the entropy rule.
pub(crate) const ENTROPY_MIN_SWITCH: f64 = 0.45;

/// Words that, after a secret noun, make a name refer to something about the secret.
pub(crate) const QUALIFIERS: &[&str] = &[
    "file",
    "files",
    "path",
    "paths",
    "dir",
    "directory",
    "folder",
    "name",
    "names",
    "ref",
    "reference",
    "url",
    "uri",
    "urls",
    "endpoint",
    "host",
    "hostname",
    "port",
    "addr",
    "address",
    "location",
    "mount",
    "env",
    "var",
    "type",
    "kind",
    "mode",
    "method",
    "methods",
    "provider",
    "providers",
    "backend",
    "plugin",
    "strategy",
    "enabled",
    "enable",
    "disabled",
    "disable",
    "required",
    "optional",
    "policy",
    "length",
    "len",
    "min",
    "max",
    "limit",
    "ttl",
    "expiry",
    "expires",
    "expire",
    "expiration",
    "lifetime",
    "timeout",
    "duration",
    "interval",
    "age",
    "seconds",
    "secs",
    "ms",
    "minutes",
    "mins",
    "hours",
    "days",
    "header",
    "format",
    "algorithm",
    "alg",
    "version",
    "id",
    "ids",
    "count",
    "size",
    "field",
    "param",
    "prop",
    "property",
    "source",
    "store",
    "class",
    "issuer",
    "audience",
    "scope",
    "scopes",
    "realm",
    "server",
    "service",
    "svc",
    "domain",
    "level",
    "prefix",
    "suffix",
    "pattern",
    "regex",
    "hint",
    "user",
    "username",
    "login",
    "email",
    "principal",
    "validation",
    "verify",
    "rotation",
    "encoding",
    "charset",
];

/// Words that, before `key`, make a secret key (`API_KEY`, `SIGNING_KEY`, …).
const KEY_MODIFIERS: &[&str] = &[
    "api",
    "private",
    "access",
    "secret",
    "signing",
    "sign",
    "encryption",
    "encrypt",
    "master",
    "auth",
    "client",
    "license",
    "session",
    "hmac",
    "jwt",
    "app",
    "shared",
    "account",
    "storage",
    "ssh",
    "gpg",
    "pgp",
    "crypto",
    "cipher",
    "aes",
    "admin",
    "root",
    "service",
    "deploy",
];

/// What an `env-literal-secret` finding records: the facts its fix needs, never a secret's value. Serialized
/// into the finding's `detail` with its `type`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Detail {
    /// A literal value that looks like a secret; `reason` says why (never the value).
    #[serde(rename_all = "camelCase")]
    LiteralSecret {
        env: String,
        reason: String,
        /// How the fix would deliver it (fixable findings only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delivery: Option<super::Delivery>,
    },
}

impl super::CheckDetail for Detail {
    fn delivery(&self) -> Option<super::Delivery> {
        let Detail::LiteralSecret { delivery, .. } = self;
        *delivery
    }

    fn set_delivery(&mut self, d: Option<super::Delivery>) {
        let Detail::LiteralSecret { delivery, .. } = self;
        *delivery = d;
    }

    fn identity(&self, _container: Option<&str>, _path: &str) -> String {
        let Detail::LiteralSecret { env, .. } = self;
        format!(":env={env}")
    }

    fn subject(&self) -> Option<String> {
        let Detail::LiteralSecret { env, .. } = self;
        Some(env.clone())
    }

    fn moved_literal(&self) -> Option<&str> {
        let Detail::LiteralSecret { env, .. } = self;
        Some(env)
    }

    fn rank(&self) -> u8 {
        0
    }

    fn pin(&self) -> Option<(&str, &str)> {
        None
    }
}

/// The check has no options (no flags of its own).
pub type Options = super::options::NoOptions;

/// The check's definition (registered in the table of [`super`]).
pub static CHECK: EnvLiteralSecret = EnvLiteralSecret;

/// The env-literal-secret check.
#[derive(Debug)]
pub struct EnvLiteralSecret;

static META: Meta = Meta {
    id: CheckId::EnvLiteralSecret,
    name: "env-literal-secret",
    title: "Secret-looking literal value in an environment variable",
    help: "A secret written into the pod spec is readable by anyone who can read the workload. \
           The fix moves the value into a Secret and mounts it read-only.",
    finds: "a literal `env[].value` that looks like a secret (by name: password, token, api key…; by shape: PEM keys, AWS key ids, JWTs, high-entropy strings)",
    remedy: "moves the value into a new Secret `<workload>-secfix`, then as for `env-secret`",
    severity: Severity::High,
    tags: &["secrets"],
};

impl Check for EnvLiteralSecret {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn unavailable(&self, _opts: &ScanOptions) -> Option<&'static str> {
        None
    }

    fn evidence(&self, _opts: &ScanOptions) -> Evidence {
        Evidence::NONE
    }

    fn scan(&self) -> Scan {
        Scan::Workload(|w, _| check(w))
    }

    fn fixer(&self) -> Option<Fixer> {
        Some(Fixer::Workload(&fix::Fix))
    }

    fn images(&self) -> Option<&'static dyn Images> {
        None
    }
}

/// Every literal env value of `w` that looks like a secret.
pub fn check(w: &Workload) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in w.containers() {
        let (fixable, not_fixable) = env_fixability(w, &c);
        for (i, e) in c.env.iter().enumerate() {
            let Some(value) = e.value.as_deref() else {
                continue;
            };
            let Some(reason) = classify(&e.name, value) else {
                continue;
            };
            let mut f = workload_finding(
                w,
                CheckId::EnvLiteralSecret,
                Severity::High,
                &c,
                crate::model::ContainerField::Env(i),
                format!("{} holds a literal secret ({reason})", e.name),
                crate::checks::Detail::EnvLiteralSecret(Detail::LiteralSecret {
                    env: e.name.clone(),
                    reason: reason.to_string(),
                    delivery: fixable
                        .then(|| file_env::scan_delivery(&w.spec, (c.group, c.index), i, &e.name))
                        .flatten(),
                }),
            );
            f.fixable = fixable;
            f.not_fixable_reason = not_fixable.clone();
            out.push(f);
        }
    }
    out.extend(last_applied_literals(w));
    out
}

/// `not_fixable_reason` of a literal found only in the last-applied annotation.
pub(crate) const LAST_APPLIED_REASON: &str = "the kubectl.kubernetes.io/last-applied-configuration \
     annotation keeps it from an earlier `kubectl apply`: apply the manifest again without the \
     literal, or remove the annotation";

/// Literal secrets in the `kubectl.kubernetes.io/last-applied-configuration` annotation
/// (a full copy of the object as last applied) that the spec itself no longer holds: the
/// spec's own literals are reported above, and their fix rewrites the annotation too.
fn last_applied_literals(w: &Workload) -> Vec<Finding> {
    let annotation = crate::fix::redact::LAST_APPLIED_ANNOTATION;
    let Some(text) = w
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(annotation))
    else {
        return Vec::new();
    };
    let Ok(applied) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    let in_spec: std::collections::BTreeSet<&str> = w
        .containers()
        .iter()
        .flat_map(|c| c.env.iter().filter_map(|e| e.value.as_deref()))
        .collect();
    let Some(spec) = applied.pointer(w.spec_pointer()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for group in ["initContainers", "containers", "ephemeralContainers"] {
        let containers = spec.get(group).and_then(|v| v.as_array());
        for c in containers.into_iter().flatten() {
            let container = c.get("name").and_then(|n| n.as_str());
            let entries = c.get("env").and_then(|v| v.as_array());
            for e in entries.into_iter().flatten() {
                let name = e.get("name").and_then(|n| n.as_str());
                let value = e.get("value").and_then(|v| v.as_str());
                let (Some(name), Some(value)) = (name, value) else {
                    continue;
                };
                if in_spec.contains(value) {
                    continue;
                }
                let Some(reason) = classify(name, value) else {
                    continue;
                };
                let mut f = object_finding(
                    w,
                    CheckId::EnvLiteralSecret,
                    Severity::High,
                    container,
                    format!(
                        "/metadata/annotations/{}",
                        annotation.replace('~', "~0").replace('/', "~1")
                    ),
                    format!("{name} holds a literal secret in the last-applied-configuration annotation ({reason})"),
                    crate::checks::Detail::EnvLiteralSecret(Detail::LiteralSecret {
                        env: name.to_string(),
                        reason: reason.to_string(),
                        delivery: None,
                    }),
                );
                f.fixable = false;
                f.not_fixable_reason = Some(LAST_APPLIED_REASON.to_string());
                out.push(f);
            }
        }
    }
    out
}

/// Why the literal `value` of variable `name` looks like a secret, or `None`.
/// The reason is a fixed string: it never contains any part of the value.
pub fn classify(name: &str, value: &str) -> Option<&'static str> {
    value_reason(value).or_else(|| name_reason(name, value))
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("constant regex is valid")
}

static PEM_PRIVATE: LazyLock<Regex> =
    LazyLock::new(|| re(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"));
static AWS_KEY_ID: LazyLock<Regex> = LazyLock::new(|| re(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"));
static JWT: LazyLock<Regex> =
    LazyLock::new(|| re(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"));
static KNOWN_TOKENS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    vec![
        (
            re(r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})"),
            "value looks like a GitHub token",
        ),
        (
            re(r"\bglpat-[A-Za-z0-9_-]{20,}"),
            "value looks like a GitLab token",
        ),
        (
            re(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
            "value looks like a Slack token",
        ),
        (
            re(r"https://hooks\.slack\.com/services/[A-Za-z0-9]+/[A-Za-z0-9]+/[A-Za-z0-9]+"),
            "value is a Slack webhook URL",
        ),
        (
            re(r"\bAIza[0-9A-Za-z_-]{35}"),
            "value looks like a Google API key",
        ),
        (
            re(r"\b[sr]k_live_[0-9A-Za-z]{16,}"),
            "value looks like a Stripe secret key",
        ),
    ]
});
static URL_PASSWORD: LazyLock<Regex> =
    LazyLock::new(|| re(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@?#]*:([^\s@/?#]+)@"));
static URL_QUERY_CREDENTIAL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)[?&](?:access_token|token|api[_-]?key|key|secret|client_secret|password|passwd|pwd|sig|signature|auth)=([^&#\s]+)",
    )
});
static CONNECTION_STRING: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)(?:^|;)\s*(?:password|pwd|accountkey|sharedaccesskey)\s*=\s*([^;]+)")
});
static URL: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z][A-Za-z0-9+.-]*://"));
static REFERENCE: LazyLock<Regex> =
    LazyLock::new(|| re(r"\$\([-._A-Za-z][-._A-Za-z0-9]*\)|\$\{[^{}\s]+\}|\{\{.*\}\}"));
static SMALL_NUMBER: LazyLock<Regex> = LazyLock::new(|| re(r"^[+-]?[0-9]{1,5}(?:\.[0-9]+)?$"));
static ABSOLUTE_PATH: LazyLock<Regex> = LazyLock::new(|| re(r"^/[A-Za-z0-9._/-]*$"));

/// A captured credential part that is really a reference or a placeholder.
fn is_placeholder(s: &str) -> bool {
    let t = s.trim();
    t.is_empty()
        || REFERENCE.is_match(t)
        || (t.starts_with('<') && t.ends_with('>'))
        || t.chars().all(|c| c == '*')
}

fn value_reason(value: &str) -> Option<&'static str> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if PEM_PRIVATE.is_match(v) {
        return Some("value contains a PEM private key");
    }
    if base64_pem(v) == Some(true) {
        return Some("value is a base64-encoded PEM private key");
    }
    if AWS_KEY_ID.is_match(v) {
        return Some("value looks like an AWS access key id");
    }
    if JWT.is_match(v) {
        return Some("value looks like a JWT");
    }
    if let Some((_, reason)) = KNOWN_TOKENS.iter().find(|(r, _)| r.is_match(v)) {
        return Some(reason);
    }
    let captured = |r: &Regex| {
        r.captures_iter(v)
            .any(|c| c.get(1).is_some_and(|m| !is_placeholder(m.as_str())))
    };
    if captured(&URL_PASSWORD) {
        return Some("value is a URL with an embedded password");
    }
    if URL.is_match(v) && captured(&URL_QUERY_CREDENTIAL) {
        return Some("value is a URL with a credential in its query");
    }
    if captured(&CONNECTION_STRING) {
        return Some("value is a connection string with a password or key");
    }
    if looks_random(v) {
        return Some("value is a long high-entropy string");
    }
    None
}

/// `Some(true)` for base64 of a PEM private key, `Some(false)` for base64 of another PEM
/// block (a certificate: public), `None` when `v` is not base64 of PEM.
fn base64_pem(v: &str) -> Option<bool> {
    // base64("-----BEGIN ") starts with this.
    if !v.starts_with("LS0tLS1CRUdJTi") {
        return None;
    }
    let head: Vec<u8> = v.bytes().take(96).collect();
    let head = &head[..head.len() - head.len() % 4];
    let decoded = decode_base64(head)?;
    let text = String::from_utf8_lossy(&decoded);
    let first_line = text.lines().next().unwrap_or("");
    Some(first_line.contains("PRIVATE KEY"))
}

/// Decodes standard base64 (`=` ends it); `None` on any other character.
fn decode_base64(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let mut acc = 0u32;
    let mut bits = 0;
    for &b in input {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Class {
    Lower,
    Upper,
    Digit,
    Other,
}

fn class(c: u8) -> Class {
    if c.is_ascii_lowercase() {
        Class::Lower
    } else if c.is_ascii_uppercase() {
        Class::Upper
    } else if c.is_ascii_digit() {
        Class::Digit
    } else {
        Class::Other
    }
}

/// Shannon entropy of `s`'s bytes, in bits per byte.
pub(crate) fn shannon_entropy(s: &str) -> f64 {
    let mut counts = [0usize; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// The long-random-string rule (see the module documentation).
fn looks_random(v: &str) -> bool {
    let b = v.as_bytes();
    if b.len() < ENTROPY_MIN_LEN
        || !b
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || b"+/=_-".contains(c))
        || base64_pem(v).is_some()
    {
        return false;
    }
    // Classes of the alphanumerics only, so that separators (`/`, `-`, `_`) between words
    // do not count as switches.
    let classes: Vec<Class> = b
        .iter()
        .map(|&c| class(c))
        .filter(|&k| k != Class::Other)
        .collect();
    let has = |k: Class| classes.contains(&k);
    if !(has(Class::Lower) && has(Class::Upper) && has(Class::Digit)) {
        return false;
    }
    let switches = classes.windows(2).filter(|w| w[0] != w[1]).count();
    let switch_rate = switches as f64 / (classes.len() - 1) as f64;
    switch_rate >= ENTROPY_MIN_SWITCH && shannon_entropy(v) >= ENTROPY_MIN_BITS
}

/// Splits a variable name into lower-case words at separators, camelCase humps
/// (`APIKey` → `api`, `key`) and letter/digit boundaries.
pub(crate) fn name_words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
            let boundary = (prev.is_ascii_lowercase() && c.is_ascii_uppercase())
                || (prev.is_ascii_digit() != c.is_ascii_digit())
                || (prev.is_ascii_uppercase() && c.is_ascii_uppercase() && next_lower);
            if boundary {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The kind of secret a single word names.
fn word_noun(w: &str) -> Option<&'static str> {
    const PASSWORD: &str = "name looks like a password";
    const KEY: &str = "name looks like a secret key";
    let ends = |s: &str| w.ends_with(s);
    Some(match w {
        "pass" | "pwd" | "pw" | "passwd" | "passcode" => PASSWORD,
        _ if ends("password") || ends("passwd") || ends("passphrase") => PASSWORD,
        "bearer" => "name looks like a token",
        _ if ends("token") => "name looks like a token",
        _ if ends("apikey") => "name looks like an API key",
        _ if ends("privatekey") => "name looks like a private key",
        _ if ends("accesskey") => "name looks like an access key",
        _ if ends("secretkey") || ends("signingkey") || ends("encryptionkey") => KEY,
        "authkey" | "appkey" | "masterkey" | "sessionkey" | "hmackey" | "licensekey"
        | "storagekey" | "accountkey" | "sharedkey" | "deploykey" | "servicekey" => KEY,
        _ if ends("secret") => "name looks like a secret",
        "cred" | "creds" | "credential" => "name looks like credentials",
        _ if ends("credentials") => "name looks like credentials",
        "auth" | "authorization" | "basicauth" | "httpauth" => "name looks like an auth credential",
        _ => return None,
    })
}

fn name_reason(name: &str, value: &str) -> Option<&'static str> {
    if name.eq_ignore_ascii_case("PWD") || name.eq_ignore_ascii_case("OLDPWD") {
        return None;
    }
    let words = name_words(name);
    let mut last: Option<(usize, &'static str)> = None;
    for (i, w) in words.iter().enumerate() {
        if let Some(reason) = word_noun(w) {
            last = Some((i, reason));
        }
        let next_is_key = words.get(i + 1).is_some_and(|n| n == "key" || n == "keys");
        if next_is_key && KEY_MODIFIERS.contains(&w.as_str()) {
            let reason = match w.as_str() {
                "api" => "name looks like an API key",
                "private" => "name looks like a private key",
                "access" => "name looks like an access key",
                _ => "name looks like a secret key",
            };
            last = Some((i + 1, reason));
        }
    }
    let (at, reason) = last?;
    if words[at + 1..]
        .iter()
        .any(|w| QUALIFIERS.contains(&w.as_str()))
    {
        return None;
    }
    if not_a_secret_value(value) {
        return None;
    }
    Some(reason)
}

/// Values that hold no secret even under a secret-looking name.
fn not_a_secret_value(value: &str) -> bool {
    let t = value.trim();
    let lower = t.to_ascii_lowercase();
    const WORDS: &[&str] = &[
        "true",
        "false",
        "yes",
        "no",
        "y",
        "n",
        "on",
        "off",
        "enabled",
        "disabled",
        "null",
        "nil",
        "none",
        "undefined",
        "~",
    ];
    t.is_empty()
        || WORDS.contains(&lower.as_str())
        || SMALL_NUMBER.is_match(t)
        || is_placeholder(t)
        || URL.is_match(t)
        || ABSOLUTE_PATH.is_match(t)
}

#[cfg(test)]
mod last_applied_tests {
    use super::*;
    use crate::checks::tests::deployment;
    use serde_json::json;

    /// covers issue #15 (item 2): scan reports a literal secret that only the last-applied
    /// annotation still holds, never its value.
    #[test]
    fn a_literal_left_in_the_last_applied_annotation_is_reported() {
        let mut w = deployment(
            "web",
            json!({"containers": [{"name": "app", "image": "a:1",
                "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}]}),
        );
        let applied = json!({"spec": {"template": {"spec": {"containers": [{"name": "app",
            "env": [{"name": "DB_PASSWORD", "value": "sfxCANARY-old-Pa55w0rd"}]}]}}}});
        w.metadata.annotations = Some(
            [(
                crate::fix::redact::LAST_APPLIED_ANNOTATION.to_string(),
                applied.to_string(),
            )]
            .into(),
        );
        let fs = check(&w);
        assert_eq!(fs.len(), 1, "{fs:?}");
        assert!(!fs[0].fixable);
        assert_eq!(fs[0].container.as_deref(), Some("app"));
        assert_eq!(
            fs[0].path,
            "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration"
        );
        assert!(!format!("{fs:?}").contains("sfxCANARY"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::tests::{deployment, pod};
    use crate::model::REDACTED;
    use serde_json::json;

    /// A fake secret with no 5-character run in common with names, reasons or messages.
    const S: &str = "Qz7vXk2pLw9tRm4b";

    #[test]
    fn name_words_split_all_styles() {
        for (name, words) in [
            ("DB_PASSWORD", vec!["db", "password"]),
            ("dbPassword", vec!["db", "password"]),
            ("db-password", vec!["db", "password"]),
            ("db.password", vec!["db", "password"]),
            ("APIKey", vec!["api", "key"]),
            ("apiKey", vec!["api", "key"]),
            ("OAUTH2_TOKEN", vec!["oauth", "2", "token"]),
            ("MYSQLROOTPASSWORD", vec!["mysqlrootpassword"]),
        ] {
            assert_eq!(name_words(name), words, "{name}");
        }
    }

    #[test]
    fn secret_names() {
        for name in [
            "PASSWORD",
            "DB_PASSWORD",
            "dbPassword",
            "db-password",
            "MYSQL_ROOT_PASSWORD",
            "MYSQLROOTPASSWORD",
            "DB_PASS",
            "DB_PWD",
            "REDIS_PASSWD",
            "GPG_PASSPHRASE",
            "API_KEY",
            "apiKey",
            "x-api-key",
            "APIKEY",
            "GITHUB_TOKEN",
            "authToken",
            "JWT_SECRET",
            "CLIENT_SECRET",
            "clientSecret",
            "SECRET_KEY_BASE",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY",
            "PRIVATE_KEY",
            "privateKey",
            "SIGNING_KEY",
            "APP_KEY",
            "CREDENTIALS",
            "DB_CREDS",
            "BASIC_AUTH",
            "AUTHORIZATION",
            "REFRESH_TOKEN",
            "PASSWORD_2",
            "API_TOKEN_PROD",
            "PASSWORD_HASH",
        ] {
            assert!(classify(name, S).is_some(), "{name}");
        }
    }

    #[test]
    fn names_about_secrets_are_not_secrets() {
        for name in [
            "TOKEN_FILE",
            "PASSWORD_PATH",
            "PASSWORD_FILE",
            "SECRET_NAME",
            "K8S_SECRET_NAME",
            "AUTH_URL",
            "TOKEN_ENDPOINT",
            "TOKEN_ENDPOINT_AUTH_METHOD",
            "TOKEN_TTL",
            "AUTH_ENABLED",
            "AUTH_TYPE",
            "AUTH_USER",
            "AWS_ACCESS_KEY_ID",
            "SECRET_MOUNT_PATH",
            "PASSWORD_MIN_LENGTH",
            "MAX_TOKENS",
            "OAUTH_CLIENT_ID",
            "BYPASS_CACHE",
            "COMPASS_HOST",
            "PARTITION_KEY",
            "CACHE_KEY",
            "PWD",
            "OLDPWD",
            "USERNAME",
            "DATABASE_URL",
        ] {
            assert_eq!(classify(name, S), None, "{name}");
        }
    }

    #[test]
    fn values_that_are_not_secrets_under_secret_names() {
        for value in [
            "",
            "  ",
            "true",
            "False",
            "yes",
            "no",
            "disabled",
            "null",
            "none",
            "8",
            "3600",
            "0.5",
            "$(DB_PASSWORD)",
            "${DB_PASSWORD}",
            "Bearer $(TOKEN)",
            "{{ .Values.password }}",
            "<your-password>",
            REDACTED,
            "********",
            "https://auth.example.com/token",
            "/var/run/secrets/kubernetes.io/serviceaccount/token",
            "postgres://app:$(DB_PASSWORD)@db:5432/app",
        ] {
            assert_eq!(classify("DB_PASSWORD", value), None, "{value:?}");
        }
        // Real values, weak ones and well-known placeholders included, are flagged.
        for value in [
            "hunter2",
            "changeme",
            "postgres",
            "1234567",
            "p@ss word",
            "x",
        ] {
            assert_eq!(
                classify("DB_PASSWORD", value),
                Some("name looks like a password"),
                "{value:?}"
            );
        }
    }

    /// Secret-shaped values under innocent names: (value, expected reason, the part of the
    /// value that is secret).
    fn shaped() -> Vec<(&'static str, &'static str, &'static str)> {
        vec![
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAzq8Vh3Qx\n-----END RSA PRIVATE KEY-----",
                "value contains a PEM private key",
                "MIIEowIBAAKCAQEAzq8Vh3Qx",
            ),
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
                "value contains a PEM private key",
                "b3BlbnNzaC1rZXktdjEAAAAA",
            ),
            (
                // base64 of "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"
                "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUV2UUlCQURBTkJna3Foa2lHOXcwQkFRRUZBQVNDCg==",
                "value is a base64-encoded PEM private key",
                "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUV2UUlCQURBTkJna3Foa2lHOXcwQkFRRUZBQVNDCg==",
            ),
            (
                "AKIAZ7Q4XK2PLW9TRM4B",
                "value looks like an AWS access key id",
                "AKIAZ7Q4XK2PLW9TRM4B",
            ),
            (
                "ASIAZ7Q4XK2PLW9TRM4B",
                "value looks like an AWS access key id",
                "ASIAZ7Q4XK2PLW9TRM4B",
            ),
            (
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJRejd2WGsycCJ9.kq3Vd8Zr0pYw1xT2uN5mB7cE9fG4hJ6lQ",
                "value looks like a JWT",
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJRejd2WGsycCJ9.kq3Vd8Zr0pYw1xT2uN5mB7cE9fG4hJ6lQ",
            ),
            (
                "ghp_Qz7vXk2pLw9tRm4bQz7vXk2pLw9tRm4bAbCd",
                "value looks like a GitHub token",
                "ghp_Qz7vXk2pLw9tRm4bQz7vXk2pLw9tRm4bAbCd",
            ),
            (
                "glpat-Qz7vXk2pLw9tRm4bQz7v",
                "value looks like a GitLab token",
                "glpat-Qz7vXk2pLw9tRm4bQz7v",
            ),
            (
                "xoxb-123456789012-Qz7vXk2pLw9t",
                "value looks like a Slack token",
                "xoxb-123456789012-Qz7vXk2pLw9t",
            ),
            (
                "https://hooks.slack.com/services/T0ABCDEF/B0ABCDEF/Qz7vXk2pLw9tRm4b",
                "value is a Slack webhook URL",
                "T0ABCDEF/B0ABCDEF/Qz7vXk2pLw9tRm4b",
            ),
            (
                "AIzaQz7vXk2pLw9tRm4bQz7vXk2pLw9tRm4bAbC",
                "value looks like a Google API key",
                "AIzaQz7vXk2pLw9tRm4bQz7vXk2pLw9tRm4bAbC",
            ),
            (
                "sk_live_Qz7vXk2pLw9tRm4bQz7v",
                "value looks like a Stripe secret key",
                "sk_live_Qz7vXk2pLw9tRm4bQz7v",
            ),
            (
                "postgres://app:Qz7vXk2pLw9t@db:5432/app",
                "value is a URL with an embedded password",
                "Qz7vXk2pLw9t",
            ),
            (
                "redis://:Qz7vXk2pLw9t@redis:6379/0",
                "value is a URL with an embedded password",
                "Qz7vXk2pLw9t",
            ),
            (
                "https://api.example.com/v1?user=a&access_token=Qz7vXk2pLw9t",
                "value is a URL with a credential in its query",
                "Qz7vXk2pLw9t",
            ),
            (
                "Server=db;Database=app;User Id=app;Password=Qz7vXk2pLw9t;",
                "value is a connection string with a password or key",
                "Qz7vXk2pLw9t",
            ),
            (
                "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=Qz7vXk2pLw9tRm4b==",
                "value is a connection string with a password or key",
                "Qz7vXk2pLw9tRm4b==",
            ),
            (
                "Qz7vXk2pLw9tRm4bNc8sYh1jGf6dDa3e",
                "value is a long high-entropy string",
                "Qz7vXk2pLw9tRm4bNc8sYh1jGf6dDa3e",
            ),
        ]
    }

    #[test]
    fn secret_shaped_values_whatever_the_name() {
        for (value, reason, _) in shaped() {
            assert_eq!(classify("SETTING", value), Some(reason), "{value}");
        }
    }

    #[test]
    fn values_that_are_not_secret_shaped() {
        for value in [
            "postgres://app@db:5432/app",
            "https://example.com/a?page=2&sort=name",
            "https://example.com/a?token=$(TOKEN)",
            "postgres://app:$(DB_PASSWORD)@db/app",
            "postgres://app:${DB_PASSWORD}@db/app",
            "Server=db;Password=$(DB_PASSWORD)",
            "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----",
            // base64 of a certificate header: public.
            "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM5ekNDQWQrZ0F3SUJBZ0lKQU5yYUJERVNGR0hJ",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "550e8400-e29b-41d4-a716-446655440000",
            "MyApplication-Production-Cluster01",
            "ThisIsAVeryLongFeatureFlagName2024",
            "SpringBootApplicationConfigV2Prod",
            "org.apache.kafka.common.serialization.StringSerializer",
            "-Xmx512m -XX:+UseG1GC -XX:MaxRAMPercentage=75.0",
            "kafka-0.kafka-headless.default.svc.cluster.local:9092",
            "/opt/app/Config2/SomeDirectoryNameHere/Sub",
            "Qz7vXk2pLw9tRm4b",
        ] {
            assert_eq!(classify("SETTING", value), None, "{value}");
        }
    }

    #[test]
    fn entropy_rule_catches_most_random_base64() {
        // A small xorshift generator: deterministic, no dependency.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (len, min_rate) in [(32, 0.95), (40, 0.95), (64, 0.99)] {
            let total = 1000;
            let caught = (0..total)
                .filter(|_| {
                    let s: String = (0..len)
                        .map(|_| alphabet[(next() % 64) as usize] as char)
                        .collect();
                    looks_random(&s)
                })
                .count();
            let rate = caught as f64 / total as f64;
            assert!(rate >= min_rate, "len {len}: {rate}");
        }
    }

    #[test]
    fn findings_for_entries_in_all_containers() {
        let w = deployment(
            "web",
            json!({
                "initContainers": [{"name": "init", "image": "x", "env": [{"name": "API_KEY", "value": S}]}],
                "containers": [{"name": "app", "image": "x", "env": [
                    {"name": "MODE", "value": "prod"},
                    {"name": "DB_PASSWORD", "value": S},
                    {"name": "FROM", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}]
            }),
        );
        let fs = check(&w);
        assert_eq!(fs.len(), 2);
        assert_eq!(fs[0].path, "/spec/template/spec/initContainers/0/env/0");
        assert_eq!(fs[0].container.as_deref(), Some("init"));
        assert_eq!(fs[1].path, "/spec/template/spec/containers/0/env/1");
        assert_eq!(
            fs[1].detail,
            crate::checks::Detail::EnvLiteralSecret(Detail::LiteralSecret {
                env: "DB_PASSWORD".into(),
                reason: "name looks like a password".into(),
                delivery: Some(crate::checks::Delivery::AppChange),
            })
        );
        assert_eq!(
            fs[1].message,
            "DB_PASSWORD holds a literal secret (name looks like a password)"
        );
        assert!(fs.iter().all(|f| f.fixable && f.severity == Severity::High));
    }

    #[test]
    fn pods_and_ephemeral_containers_are_not_fixable() {
        let w = pod(
            "p",
            json!({
                "containers": [{"name": "c", "image": "x", "env": [{"name": "TOKEN", "value": S}]}],
                "ephemeralContainers": [{"name": "e", "image": "x", "env": [{"name": "TOKEN", "value": S}]}]
            }),
        );
        let fs = check(&w);
        assert_eq!(fs.len(), 2);
        assert!(
            fs.iter()
                .all(|f| !f.fixable && f.not_fixable_reason.is_some())
        );
        assert!(
            fs[1]
                .not_fixable_reason
                .as_deref()
                .unwrap()
                .contains("ephemeral")
        );
    }

    /// No run of 5 characters of `secret` appears in `text`.
    fn assert_no_part(text: &str, secret: &str) {
        let chars: Vec<char> = secret.chars().collect();
        for w in chars.windows(5) {
            let part: String = w.iter().collect();
            assert!(
                !text.contains(&part),
                "{part:?} of the value leaked into {text}"
            );
        }
    }

    #[test]
    fn no_part_of_a_value_ever_appears_in_a_finding() {
        let mut cases: Vec<(&str, &str, &str)> = shaped()
            .into_iter()
            .map(|(value, _, part)| ("SETTING", value, part))
            .collect();
        for name in [
            "DB_PASSWORD",
            "API_KEY",
            "GITHUB_TOKEN",
            "CLIENT_SECRET",
            "BASIC_AUTH",
            "PRIVATE_KEY",
            "CREDENTIALS",
        ] {
            cases.push((name, S, S));
        }
        for (name, value, part) in cases {
            for w in [
                deployment(
                    "web",
                    json!({"containers": [{"name": "app", "image": "nginx:1", "env": [{"name": name, "value": value}]}]}),
                ),
                pod(
                    "p",
                    json!({"ephemeralContainers": [{"name": "e", "image": "x", "env": [{"name": name, "value": value}]}]}),
                ),
            ] {
                let fs = check(&w);
                assert_eq!(fs.len(), 1, "{name}");
                let text = format!("{}\n{:?}", serde_json::to_string(&fs).unwrap(), fs);
                assert_no_part(&text, part);
            }
        }
    }
}
