//! `unsigned-image`: container images whose digest carries no signature that verifies with
//! the trust policy (`--signature-key`).
//!
//! This file is the check's pure part: the trust policy (keys as `cosign generate-key-pair`
//! writes them), the matching of a signature's payload to the digest, and the verdict; its
//! flags are in `options`, what it asks of images and makes of the answers in `images`. The
//! registry I/O that finds signatures (the `sha256-<hex>.sig` tag, OCI 1.1 referrers and the
//! `sha256-<hex>` tag-schema fallback index) is in the I/O crate's `registry::signatures`;
//! the binary's `cli::images` asks it, for every check alike.
//!
//! How a scan goes:
//! 1. [`check`] (per workload, as objects arrive) reports every container image as a
//!    *pending* finding, [`Detail::Unsigned`] with the keys in force for its namespace and no
//!    verdict yet.
//! 2. The CLI finds each image's digest (the reference's own digest, the running pods'
//!    `imageID`, else the registry), fetches the signatures of each distinct
//!    `repository@digest` once, and [`examine`]s them against every key once.
//! 3. [`verdict`] turns that evidence into one answer per finding, with the namespace's keys:
//!    verified findings are dropped; the others say why ([`Problem`]).
//!
//! A signature counts only when it verifies with a key in force **and** its simple-signing
//! payload (`critical.image.docker-manifest-digest`) names this very digest: a `.sig` copied
//! onto another image's tag names the wrong digest and does not count.
//!
//! A namespace may narrow the keys with the annotation `secfix.dev/signature-keys` (key names,
//! comma-separated: the file name of a `--signature-key` without `.pub`/`.pem`, or the key's
//! `sha256:` fingerprint). It replaces the set of keys in force by that subset of the
//! command line's keys; it can never add a key (a namespace's owner could otherwise trust a
//! key of their own). Names that match no key match nothing: a broken annotation can only
//! make the policy stricter.
//!
//! Cryptography is `rustls-webpki` over `ring` (already in the tree through rustls): the PEM
//! `PUBLIC KEY` block is read by `rustls-pki-types`, the SubjectPublicKeyInfo by webpki, and
//! the signature checked for ECDSA P-256 (SHA-256), P-384 (SHA-256 as cosign signs, or
//! SHA-384), Ed25519, and RSA (PKCS#1 v1.5 or PSS, SHA-256).

mod images;
mod options;
pub mod sigstore;
pub mod sigstore_bundle;
pub mod sigstore_ring;

use std::collections::BTreeSet;

use base64::Engine as _;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{SignatureVerificationAlgorithm, SubjectPublicKeyInfoDer};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use webpki::RawPublicKeyEntity;

use crate::model::{ImageRef, Workload};
pub use crate::model::signature::{FoundSignature, SignatureSource};
pub use options::Options;

use crate::checks::{CheckId, Finding, Severity};

use super::{Check, CheckContext, Evidence, Fixer, Images, Meta, Scan};
use super::{ScanOptions, workload_finding};

/// The namespace annotation that narrows the keys of `--signature-key`.
pub(crate) const ANNOTATION: &str = "secfix.dev/signature-keys";

/// `not_fixable_reason` of every finding: there is nothing the tool can sign.
pub(crate) const NOT_FIXABLE: &str =
    "no automatic fix: sign the image with a trusted key, or deploy a signed digest";

/// What an `unsigned-image` finding records: the facts its fix needs, never a secret's value. Serialized
/// into the finding's `detail` with its `type`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Detail {
    /// An image whose signature does not verify (`unsigned-image`).
    #[serde(rename_all = "camelCase")]
    Unsigned {
        image: String,
        /// The digest whose signatures were checked, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
        /// Where that digest came from (`reference`, `pods` or `registry`).
        #[serde(skip_serializing_if = "Option::is_none")]
        digest_source: Option<crate::checks::DigestFrom>,
        /// The names of the `--signature-key` keys in force for this object (narrowed by its
        /// namespace's `secfix.dev/signature-keys`).
        keys: Vec<String>,
        /// Why it failed; `None` while the verification is pending.
        #[serde(skip_serializing_if = "Option::is_none")]
        problem: Option<crate::checks::unsigned_image::Problem>,
    },
}

impl super::CheckDetail for Detail {
    fn delivery(&self) -> Option<super::Delivery> {
        None
    }

    fn set_delivery(&mut self, _: Option<super::Delivery>) {}

    fn identity(&self, _container: Option<&str>, path: &str) -> String {
        format!(":{path}")
    }

    fn subject(&self) -> Option<String> {
        None
    }

    fn moved_literal(&self) -> Option<&str> {
        None
    }

    fn rank(&self) -> u8 {
        0
    }

    fn pin(&self) -> Option<(&str, &str)> {
        None
    }
}

/// The check's definition (registered in the table of [`super`]).
pub static CHECK: UnsignedImage = UnsignedImage;

/// The unsigned-image check.
#[derive(Debug)]
pub struct UnsignedImage;

static META: Meta = Meta {
    id: CheckId::UnsignedImage,
    name: "unsigned-image",
    title: "Container image has no signature that verifies with a trusted key",
    help: "Images should be signed, and what runs should be what was signed. The check finds \
           each image's digest (the pods' imageID, the reference's digest, or the registry), \
           looks for cosign signatures (the sha256-<hex>.sig tag, OCI 1.1 referrers, the \
           sha256-<hex> fallback index, Sigstore bundles among them) and verifies them with \
           --signature-key or the keyless policy (narrowed per namespace by the \
           secfix.dev/signature-keys annotation). A signature counts only when its payload \
           (or bundle statement) names that digest. There is no automatic fix: sign the image or \
           deploy a signed digest.",
    finds: "an image whose digest has no cosign signature that verifies with `--signature-key` (narrowed per namespace by `secfix.dev/signature-keys`) and names that digest; runs only with that flag",
    remedy: "nothing: sign the image; with a key given, `mutable-image-tag` pins only signed digests",
    severity: Severity::High,
    tags: &["supply-chain"],
};

impl Check for UnsignedImage {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn unavailable(&self, opts: &ScanOptions) -> Option<&'static str> {
        needs_policy(opts)
    }

    fn evidence(&self, _opts: &ScanOptions) -> Evidence {
        Evidence {
            namespace_annotations: true,
            image_digests: true,
            image_signatures: true,
            traffic: false,
        }
    }

    fn scan(&self) -> Scan {
        Scan::Workload(check)
    }

    fn fixer(&self) -> Option<Fixer> {
        None
    }

    fn images(&self) -> Option<&'static dyn Images> {
        Some(&images::Lookups)
    }
}

fn needs_policy(opts: &ScanOptions) -> Option<&'static str> {
    options::policy(opts).is_none().then_some(
        "needs --signature-key (the public keys images must be signed with) or a keyless \
         policy (--certificate-identity and --certificate-oidc-issuer with --trusted-root)",
    )
}

/// The name the keyless policy goes by among the keys (in findings and in the namespace
/// annotation).
pub const KEYLESS: &str = "keyless";

/// One trusted public key.
#[derive(Clone)]
pub struct TrustedKey {
    /// Its name: the file name without `.pub`/`.pem` (`cosign` for `cosign.pub`).
    pub name: String,
    /// `sha256:<hex>` of the DER SubjectPublicKeyInfo.
    pub fingerprint: String,
    /// What kind of key it is (`ECDSA P-256`, `Ed25519`, …).
    pub kind: &'static str,
    spki: Vec<u8>,
    algorithms: Vec<&'static dyn SignatureVerificationAlgorithm>,
}

/// Keys are the same when their name and SubjectPublicKeyInfo are.
impl PartialEq for TrustedKey {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.spki == other.spki
    }
}
impl Eq for TrustedKey {}

impl std::fmt::Debug for TrustedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrustedKey({} {} {})", self.name, self.kind, self.fingerprint)
    }
}

/// The algorithms a key may verify with, by kind. cosign signs with SHA-256 whatever the key.
fn algorithm_table() -> [(&'static str, &'static dyn SignatureVerificationAlgorithm); 7] {
    use webpki::ring as alg;
    [
        ("ECDSA P-256", alg::ECDSA_P256_SHA256),
        ("ECDSA P-384", alg::ECDSA_P384_SHA256),
        ("ECDSA P-384", alg::ECDSA_P384_SHA384),
        ("Ed25519", alg::ED25519),
        ("RSA", alg::RSA_PKCS1_2048_8192_SHA256),
        ("RSA", alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY),
        ("RSA", alg::RSA_PKCS1_2048_8192_SHA512),
    ]
}

impl TrustedKey {
    /// Reads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo, as `cosign generate-key-pair` writes
    /// `cosign.pub`). `file_name` names the key. The error says what is wrong, never echoes
    /// the file.
    pub fn from_pem(file_name: &str, pem: &[u8]) -> Result<Self, String> {
        let spki = SubjectPublicKeyInfoDer::from_pem_slice(pem).map_err(|_| {
            "no PEM PUBLIC KEY block (give the public key, e.g. cosign.pub, not the private key)"
                .to_string()
        })?;
        let spki = spki.as_ref().to_vec();
        let der = SubjectPublicKeyInfoDer::from(spki.as_slice());
        let entity = RawPublicKeyEntity::try_from(&der)
            .map_err(|e| format!("the public key does not parse: {e}"))?;
        // webpki refuses an algorithm whose key type does not match before it looks at the
        // signature: an empty signature tells which algorithms fit the key.
        let mut kind = None;
        let mut algorithms = Vec::new();
        for (k, alg) in algorithm_table() {
            match entity.verify_signature(alg, b"", b"") {
                Err(webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_)) => {}
                _ => {
                    kind.get_or_insert(k);
                    algorithms.push(alg);
                }
            }
        }
        let kind = kind.ok_or_else(|| {
            "unsupported key type (ECDSA P-256/P-384, Ed25519 or RSA are supported)".to_string()
        })?;
        let name = file_name
            .rsplit('/')
            .next()
            .unwrap_or(file_name)
            .trim_end_matches(".pub")
            .trim_end_matches(".pem")
            .to_string();
        Ok(TrustedKey {
            name,
            fingerprint: sha256_hex(&spki),
            kind,
            spki,
            algorithms,
        })
    }

    /// Whether `signature` over `payload` verifies with this key.
    pub fn verifies(&self, payload: &[u8], signature: &[u8]) -> bool {
        let der = SubjectPublicKeyInfoDer::from(self.spki.as_slice());
        let Ok(entity) = RawPublicKeyEntity::try_from(&der) else {
            return false;
        };
        self.algorithms
            .iter()
            .any(|alg| entity.verify_signature(*alg, payload, signature).is_ok())
    }

    /// The key's DER SubjectPublicKeyInfo.
    pub fn spki(&self) -> &[u8] {
        &self.spki
    }

    /// Whether an annotation entry names this key (its name or its fingerprint).
    fn named(&self, entry: &str) -> bool {
        entry == self.name || entry == self.fingerprint
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// The trust policy: the keys an image's signature must verify with (any one of them), and
/// the keyless identity it may come from instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustPolicy {
    keys: Vec<TrustedKey>,
    keyless: Option<sigstore::KeylessPolicy>,
}

impl TrustPolicy {
    /// A policy of `keys`; `None` when there are none (the check does not run).
    pub fn new(keys: Vec<TrustedKey>) -> Option<Self> {
        Self::with_keyless(keys, None)
    }

    /// A policy of `keys` and maybe a keyless identity; `None` when there is neither.
    pub fn with_keyless(
        keys: Vec<TrustedKey>,
        keyless: Option<sigstore::KeylessPolicy>,
    ) -> Option<Self> {
        let mut seen = BTreeSet::new();
        let keys: Vec<TrustedKey> = keys
            .into_iter()
            .filter(|k| seen.insert(k.fingerprint.clone()))
            .collect();
        (!keys.is_empty() || keyless.is_some()).then_some(TrustPolicy { keys, keyless })
    }

    /// The names of every key, and [`KEYLESS`] when a keyless identity is trusted.
    fn names(&self) -> impl Iterator<Item = &str> {
        self.keys
            .iter()
            .map(|k| k.name.as_str())
            .chain(self.keyless.as_ref().map(|_| KEYLESS))
    }

    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// The names of the keys in force in a namespace with these annotations: every key, or
    /// the subset the annotation names.
    pub fn keys_in_force(&self, annotation: Option<&str>) -> Vec<String> {
        match annotation {
            None => self.names().map(str::to_string).collect(),
            Some(list) => {
                let entries: Vec<&str> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .collect();
                let mut out: Vec<String> = self
                    .keys
                    .iter()
                    .filter(|k| entries.iter().any(|e| k.named(e)))
                    .map(|k| k.name.clone())
                    .collect();
                if self.keyless.is_some() && entries.contains(&KEYLESS) {
                    out.push(KEYLESS.to_string());
                }
                out
            }
        }
    }
}

/// What one signature proves: the digest its payload names, and which keys verify it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub source: SignatureSource,
    /// `critical.image.docker-manifest-digest` of a well-formed cosign payload.
    pub names_digest: Option<String>,
    /// Names of the keys it verifies with ([`KEYLESS`] for the keyless identity).
    pub verified_by: Vec<String>,
    /// A keyless signature by someone else than the required identity: who, and why not.
    pub identity_mismatch: Option<String>,
}

/// The simple-signing payload's fields that matter.
#[derive(Deserialize)]
struct Payload {
    critical: Critical,
}
#[derive(Deserialize)]
struct Critical {
    image: PayloadImage,
    #[serde(rename = "type")]
    kind: String,
}
#[derive(Deserialize)]
struct PayloadImage {
    #[serde(rename = "docker-manifest-digest")]
    digest: String,
}

/// The digest a cosign simple-signing payload names, if it is one.
pub fn payload_digest(payload: &[u8]) -> Option<String> {
    let p: Payload = serde_json::from_slice(payload).ok()?;
    (p.critical.kind.eq_ignore_ascii_case("cosign container image signature"))
        .then_some(p.critical.image.digest)
}

/// Checks every signature found against every key of `policy`, once per digest.
pub fn examine(policy: &TrustPolicy, found: &[FoundSignature]) -> Vec<Candidate> {
    let bundles = found
        .iter()
        .filter(|s| s.source == SignatureSource::Bundle)
        .flat_map(|s| {
            sigstore_bundle::examine(&policy.keys, policy.keyless.as_ref(), &s.payload)
        })
        .map(|(names_digest, verified_by, identity_mismatch)| Candidate {
            source: SignatureSource::Bundle,
            names_digest,
            verified_by,
            identity_mismatch,
        });
    let classic: Vec<Candidate> = found
        .iter()
        .filter(|s| s.source != SignatureSource::Bundle)
        .map(|s| {
            let signature = base64::engine::general_purpose::STANDARD
                .decode(s.signature_b64.trim())
                .unwrap_or_default();
            let mut verified_by: Vec<String> = if signature.is_empty() {
                Vec::new()
            } else {
                policy
                    .keys
                    .iter()
                    .filter(|k| k.verifies(&s.payload, &signature))
                    .map(|k| k.name.clone())
                    .collect()
            };
            let mut identity_mismatch = None;
            if let (Some(kp), Some(m)) = (&policy.keyless, &s.keyless) {
                match sigstore::verify(kp, &s.payload, &s.signature_b64, m) {
                    Ok(_) => verified_by.push(KEYLESS.to_string()),
                    Err(sigstore::KeylessError::Identity(why)) => {
                        identity_mismatch = Some(why)
                    }
                    Err(sigstore::KeylessError::Invalid(_)) => {}
                }
            }
            Candidate {
                source: s.source,
                names_digest: payload_digest(&s.payload),
                verified_by,
                identity_mismatch,
            }
        })
        .collect();
    classic.into_iter().chain(bundles).collect()
}

/// Why an image does not pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum Problem {
    /// No signature at all in any of the places looked at.
    NoSignature,
    /// Signatures exist, but none verifies with a key in force.
    WrongKey {
        /// How many signatures were found.
        signatures: usize,
    },
    /// A signature verifies with a key in force, but its payload names another digest (or
    /// is not a cosign payload).
    WrongDigest {
        #[serde(skip_serializing_if = "Option::is_none")]
        names: Option<String>,
    },
    /// A valid keyless signature by another identity or OIDC issuer than the policy's.
    IdentityMismatch { why: String },
    /// The namespace's annotation leaves no key in force.
    NoKeyInForce,
    /// The image reference does not parse: there is no digest to verify (it used to be
    /// skipped, and left to `mutable-image-tag` even when that check did not run).
    InvalidReference { why: String },
    /// Nothing could be verified: the digest is unknown (the registry does not know the
    /// tag) or the registry could not be asked (unreachable, timed out, refused access).
    /// An error state, not "unsigned": the run also reports an error and exits 1.
    Unverified { why: String },
}

impl Problem {
    /// One line for the finding's message.
    pub fn describe(&self, digest: Option<&str>) -> String {
        let d = digest.unwrap_or("its digest");
        match self {
            Problem::NoSignature => format!("no signature for {d}"),
            Problem::WrongKey { signatures } => format!(
                "{signatures} signature(s) for {d}, none verifies with a trusted key (wrong key)"
            ),
            Problem::WrongDigest { names: Some(n) } => format!(
                "a trusted key's signature was found for {d}, but its payload names another digest ({n})"
            ),
            Problem::WrongDigest { names: None } => format!(
                "a trusted key's signature was found for {d}, but its payload is not a cosign image signature"
            ),
            Problem::IdentityMismatch { why } => format!(
                "a keyless signature for {d} is by another identity: {why}"
            ),
            Problem::NoKeyInForce => format!(
                "the namespace's {ANNOTATION} annotation leaves no --signature-key in force"
            ),
            Problem::Unverified { why } => format!("cannot verify the signature: {why}"),
            Problem::InvalidReference { why } => {
                format!("invalid image reference ({why}): no digest to verify")
            }
        }
    }
}

/// The answer for `digest` with the keys in force (`keys`, by name), from the candidates
/// [`examine`] found: `Ok(key)` names a key that verified a signature naming this digest.
pub fn verdict(digest: &str, keys: &[String], candidates: &[Candidate]) -> Result<String, Problem> {
    if keys.is_empty() {
        return Err(Problem::NoKeyInForce);
    }
    let trusted = |c: &Candidate| c.verified_by.iter().find(|k| keys.contains(k)).cloned();
    if let Some(k) = candidates
        .iter()
        .filter(|c| c.names_digest.as_deref() == Some(digest))
        .find_map(trusted)
    {
        return Ok(k);
    }
    if let Some(c) = candidates.iter().find(|c| trusted(c).is_some()) {
        return Err(Problem::WrongDigest {
            names: c.names_digest.clone(),
        });
    }
    if keys.iter().any(|k| k == KEYLESS)
        && let Some(why) = candidates
            .iter()
            .filter(|c| c.names_digest.as_deref() == Some(digest))
            .find_map(|c| c.identity_mismatch.clone())
    {
        return Err(Problem::IdentityMismatch { why });
    }
    if candidates.is_empty() {
        Err(Problem::NoSignature)
    } else {
        Err(Problem::WrongKey {
            signatures: candidates.len(),
        })
    }
}

/// Every container image of `w`, as a pending finding (no verdict yet): the CLI verifies
/// each and drops those that pass. An image reference that does not parse is a settled
/// finding ([`Problem::InvalidReference`]): nothing about it can be verified.
pub fn check(w: &Workload, ctx: &CheckContext<'_>) -> Vec<Finding> {
    let Some(policy) = options::policy(ctx.opts) else {
        return Vec::new();
    };
    let keys = policy.keys_in_force(ctx.namespace.annotations.get(ANNOTATION).map(String::as_str));
    let mut out = Vec::new();
    for c in w.containers() {
        let Some(image) = c.image.filter(|i| !i.trim().is_empty()) else {
            continue;
        };
        let (digest, problem) = match ImageRef::parse(image) {
            Ok(r) => (r.digest.filter(|d| crate::model::image_ref::is_sha256_digest(d)), None),
            Err(e) => (None, Some(Problem::InvalidReference { why: e.reason.to_string() })),
        };
        let message = match &problem {
            Some(p) => format!("{image}: {}", p.describe(None)),
            None => format!("{image}: signature not verified yet"),
        };
        let mut f = workload_finding(
            w,
            CheckId::UnsignedImage,
            Severity::High,
            &c,
                crate::model::ContainerField::Image,
            message,
            crate::checks::Detail::UnsignedImage(Detail::Unsigned {
                image: image.to_string(),
                digest_source: digest.as_ref().map(|_| crate::checks::DigestFrom::Reference),
                digest,
                keys: keys.clone(),
                problem,
            }),
        );
        f.fixable = false;
        f.not_fixable_reason = Some(NOT_FIXABLE.to_string());
        out.push(f);
    }
    out
}

/// Settles a pending finding with its verdict: `true` when it passes (the caller drops it),
/// else the message and detail say why.
pub fn settle(f: &mut Finding, digest: Option<&str>, outcome: Result<String, Problem>) -> bool {
    let crate::checks::Detail::UnsignedImage(Detail::Unsigned {
        image,
        digest: d,
        problem,
        ..
    }) = &mut f.detail
    else {
        return false;
    };
    if d.is_none() {
        *d = digest.map(str::to_string);
    }
    match outcome {
        Ok(_) => true,
        Err(p) => {
            f.message = format!("{image}: {}", p.describe(d.as_deref()));
            *problem = Some(p);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::NamespaceFacts;
    use crate::checks::tests::deployment;
    use serde_json::json;
    use std::collections::BTreeMap;

    /// `cosign generate-key-pair` (cosign 2.5.0) public key; the signature below is cosign's
    /// over the payload below (a test registry's image), made with the matching private key.
    const K1: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEoCaRSFf3rYAjd5YWntfk5Tx7BjtY
Wqjn8BOegFsmt3qQwe9ob1dkM7uvGbzc+UQmHQPNxrH5xzU8FJt7feHLvg==
-----END PUBLIC KEY-----
";
    const PAYLOAD: &str = r#"{"critical":{"identity":{"docker-reference":"127.0.0.1:15999/app"},"image":{"docker-manifest-digest":"sha256:86b4f7b8d1eec2086e1ce3b1b63a629fec2878b092c6b5070524e51382fca93c"},"type":"cosign container image signature"},"optional":null}"#;
    const SIG: &str = "MEUCIFiaNAxj7T6pUD5lPUHMSd8hb8t+0eKDIS0r28YGMuTMAiEA3FTJd8nb+a8tPj8IYst5KCLvo7Zruw3CJtHx+fAYsjw=";
    const DIGEST: &str = "sha256:86b4f7b8d1eec2086e1ce3b1b63a629fec2878b092c6b5070524e51382fca93c";
    const OTHER: &str = "sha256:0c803b35855e3ad52afd0254b2bb7beb1c4f0d46f886a76ceba4918401a68d5d";

    fn k1() -> TrustedKey {
        TrustedKey::from_pem("keys/k1.pub", K1.as_bytes()).unwrap()
    }

    fn found(payload: &str, sig: &str) -> FoundSignature {
        FoundSignature {
            source: SignatureSource::SigTag,
            payload: payload.as_bytes().to_vec(),
            signature_b64: sig.to_string(),
            keyless: None,
        }
    }

    #[test]
    fn cosign_key_and_signature_verify() {
        let k = k1();
        assert_eq!(k.name, "k1");
        assert_eq!(k.kind, "ECDSA P-256");
        assert!(k.fingerprint.starts_with("sha256:"));
        let policy = TrustPolicy::new(vec![k]).unwrap();
        let c = examine(&policy, &[found(PAYLOAD, SIG)]);
        assert_eq!(c[0].verified_by, ["k1"]);
        assert_eq!(c[0].names_digest.as_deref(), Some(DIGEST));
        assert_eq!(verdict(DIGEST, &["k1".into()], &c), Ok("k1".into()));
    }

    /// Ed25519: a key imported with `cosign import-key-pair` (from `openssl genpkey`), the
    /// signature made by `cosign sign` 2.5.0 (cosign 2.5 refuses to import RSA and P-384
    /// keys: those signatures are `openssl dgst -sign` over the same payload).
    const ED_PAYLOAD: &str = r#"{"critical":{"identity":{"docker-reference":"127.0.0.1:15999/keys"},"image":{"docker-manifest-digest":"sha256:852b7de6156231800fc54b79a3ba9e6a03dff2447746017b046b91901d5f0cc0"},"type":"cosign container image signature"},"optional":null}"#;
    const ED_KEY: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAD76cgFuJqZnbGzAQ4HGK+bNoQk8JW+a4S2RWDdSKlqQ=
-----END PUBLIC KEY-----
";
    const ED_SIG: &str = "UINjP+yqiCRUKL3JawsLkiJZ7Z5+KLZJvUlyPvqIPSI4a4Tv6FMOPUYiVWnwGZg8OqPHO/bwjWLFRPz3uwfzAg==";
    const RSA_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA3fA6gtBHwDmSQIxiBPi7
jx4IHBWUW4S6T3HQ7bizQuwxg+8B6aKS6G+BrJouiH4+iS2x2IBBAHct9AJUGBsN
3qH0GZMNv9BhJB8rkTo9IGhQpiUzcoKc6JIxApPF4ici8KKr3UVN1jVBaahzBscB
eu0/wJ7nrlFrznOrHFHYUIKvPutHd9Qij1FXTbQQJSfkLpyTj6//lvO1YL3eXyIb
LU0MGZy2qBzvc0S4FbMXJ+ldWFK5NlpZ+OU9tasfy48XvSKyTEOZq/Tbh8reTAMa
DjIyz74vLeEvfiidQExOSvKcqT02Vn8zZ+/r+nKamosYPSP5hSA/IxergFIbTkji
XwIDAQAB
-----END PUBLIC KEY-----
";
    const RSA_SIG: &str = "I5YaPwllS9w5uWFEP0+z1xjs03pDpEHA758GDYQI5KgxL1KBjwINFM6cMKvaOJ2MQHJ0N6gdtwW/SCRh2hbIj3uw/jwd7B5MeyRvRGVmcwxXNn1OClOwfPschUCstkbzxEXylA/Sz8gIFQXzdTfVGjoq3EYantJosKWiCmHLf3UG74NnluNW+uPVOUWwSx1tpBe2CfQqc/OViTEPAuRP4PHe+Jd2yIwU5eF8Oh3QGkQxDUeuqjD26CdeZYKC6jRLHtqglQoJQlwMtGLYb/rp+DHgfDeB9eZuEQf2kVwBqd9aNMWfckmNmZnAyw05bIjicxolbZZAIvLh4CJK105Zvw==";
    const P384_KEY: &str = "-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEVZDWML3QnQ2noStdM8wBgBzr/iPA0AoO
lbbMqWllilPD4ESGRKonu0j73aV0HrqSCZWjwbNVW9CDcQwlu5ZjyKjzg7lq9n+Z
RAY5y5/hbY8nGOef11RN4DHUdWP6tVE8
-----END PUBLIC KEY-----
";
    const P384_SHA256_SIG: &str = "MGYCMQDwZ70a9eQWlFJQkUtZDep/1lNTDlRxRlsZTmsZfUKW7nQkvIdt7LA5vBw00AUBSN0CMQDIxizJXmASPqp2E6btqQTjl6bgUZjgoBmMYQBSRIOI9AGHvU3+voLTklcFcHasy3Q=";
    const P384_SHA384_SIG: &str = "MGQCMFIcc5OUw8A9mSFJr8Yut6XW0MUtBVhxZnERU4F5w5iiyzGH3G46pwg5D5l5/MvhXgIwdl/sAcwGnO1zfui3EcfWS9lmUF9cwqMXpPuWVHwaIAIrDjU6zi4ysNHupra9I8eb";

    #[test]
    fn every_key_type_verifies_its_own_signatures_only() {
        let keys = [
            ("ed.pub", ED_KEY, "Ed25519", vec![ED_SIG]),
            ("rsa.pub", RSA_KEY, "RSA", vec![RSA_SIG]),
            ("p384.pub", P384_KEY, "ECDSA P-384", vec![P384_SHA256_SIG, P384_SHA384_SIG]),
        ];
        let all: Vec<&str> = keys.iter().flat_map(|k| k.3.clone()).collect();
        for (file, pem, kind, own) in &keys {
            let k = TrustedKey::from_pem(file, pem.as_bytes()).unwrap();
            assert_eq!(k.kind, *kind);
            for sig in &all {
                let raw = base64::engine::general_purpose::STANDARD.decode(sig).unwrap();
                assert_eq!(
                    k.verifies(ED_PAYLOAD.as_bytes(), &raw),
                    own.contains(sig),
                    "{file} with {sig}"
                );
                assert!(!k.verifies(PAYLOAD.as_bytes(), &raw), "{file}: another payload");
            }
        }
        // And the P-256 key from cosign generate-key-pair verifies none of them.
        let p256 = k1();
        for sig in &all {
            let raw = base64::engine::general_purpose::STANDARD.decode(sig).unwrap();
            assert!(!p256.verifies(ED_PAYLOAD.as_bytes(), &raw));
        }
    }

    #[test]
    fn a_payload_naming_another_digest_does_not_count() {
        let policy = TrustPolicy::new(vec![k1()]).unwrap();
        let c = examine(&policy, &[found(PAYLOAD, SIG)]);
        assert_eq!(
            verdict(OTHER, &["k1".into()], &c),
            Err(Problem::WrongDigest {
                names: Some(DIGEST.into())
            })
        );
    }

    #[test]
    fn a_changed_payload_or_signature_is_the_wrong_key() {
        let policy = TrustPolicy::new(vec![k1()]).unwrap();
        let tampered = PAYLOAD.replace("15999", "15998");
        let c = examine(
            &policy,
            &[found(&tampered, SIG), found(PAYLOAD, "bm90IGEgc2lnbmF0dXJl"), found(PAYLOAD, "%%")],
        );
        assert!(c.iter().all(|c| c.verified_by.is_empty()));
        assert_eq!(
            verdict(DIGEST, &["k1".into()], &c),
            Err(Problem::WrongKey { signatures: 3 })
        );
        assert_eq!(verdict(DIGEST, &["k1".into()], &[]), Err(Problem::NoSignature));
    }

    #[test]
    fn namespace_annotation_narrows_the_keys() {
        let policy = TrustPolicy::new(vec![k1()]).unwrap();
        let fp = policy.keys()[0].fingerprint.clone();
        assert_eq!(policy.keys_in_force(None), ["k1"]);
        assert_eq!(policy.keys_in_force(Some("k2, k1")), ["k1"]);
        assert_eq!(policy.keys_in_force(Some(&fp)), ["k1"]);
        assert!(policy.keys_in_force(Some("k2")).is_empty());
        assert!(policy.keys_in_force(Some("")).is_empty());
        let c = examine(&policy, &[found(PAYLOAD, SIG)]);
        assert_eq!(verdict(DIGEST, &[], &c), Err(Problem::NoKeyInForce));
        // A key of the same name that the command line did not give verifies nothing.
        assert_eq!(
            verdict(DIGEST, &["k2".into()], &c),
            Err(Problem::WrongKey { signatures: 1 })
        );
    }

    #[test]
    fn key_files_that_are_not_public_keys_are_refused() {
        let e = TrustedKey::from_pem(
            "cosign.key",
            b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
        )
        .unwrap_err();
        assert!(e.contains("public key"), "{e}");
        assert!(TrustedKey::from_pem("x.pub", b"hello").is_err());
        let bad = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
        assert!(TrustedKey::from_pem("x.pub", bad.as_bytes()).is_err());
    }

    #[test]
    fn payloads_must_be_cosign_signatures() {
        assert_eq!(payload_digest(PAYLOAD.as_bytes()).as_deref(), Some(DIGEST));
        assert_eq!(payload_digest(b"{}"), None);
        let other = PAYLOAD.replace("cosign container image signature", "attestation");
        assert_eq!(payload_digest(other.as_bytes()), None);
    }

    #[test]
    fn findings_are_pending_until_settled() {
        let o = ScanOptions {
            options: crate::checks::AllOptions {
                unsigned_image: Options::with_policy(TrustPolicy::new(vec![k1()])),
                ..Default::default()
            },
            ..ScanOptions::default()
        };
        let ns = NamespaceFacts {
            annotations: BTreeMap::from([(ANNOTATION.to_string(), "k9".to_string())]),
            ..NamespaceFacts::default()
        };
        let w = deployment(
            "web",
            json!({"containers": [{"name": "a", "image": "reg.io/app:1"},
                                  {"name": "b", "image": format!("reg.io/app@{DIGEST}")},
                                  {"name": "c", "image": "NOT VALID"}]}),
        );
        let mut fs = check(&w, &CheckContext { opts: &o, namespace: &ns });
        assert_eq!(fs.len(), 3);
        // A reference that does not parse is settled at once, never skipped.
        let crate::checks::Detail::UnsignedImage(Detail::Unsigned { problem, .. }) = &fs[2].detail
        else {
            panic!()
        };
        assert!(matches!(problem, Some(Problem::InvalidReference { .. })), "{problem:?}");
        assert!(fs[2].message.starts_with("NOT VALID: invalid image reference ("), "{}", fs[2].message);
        let crate::checks::Detail::UnsignedImage(Detail::Unsigned { digest, keys, .. }) = &fs[1].detail else {
            panic!()
        };
        assert_eq!(digest.as_deref(), Some(DIGEST));
        assert!(keys.is_empty());
        assert!(fs.iter().all(|f| !f.fixable && f.severity == Severity::High));
        assert!(settle(&mut fs[0], Some(DIGEST), Ok("k1".into())));
        assert!(!settle(&mut fs[1], None, Err(Problem::NoSignature)));
        assert_eq!(
            fs[1].message,
            format!("reg.io/app@{DIGEST}: no signature for {DIGEST}")
        );
    }

    #[test]
    fn without_a_key_the_check_does_not_run_and_naming_it_is_a_usage_error() {
        let mut o = ScanOptions::default();
        assert!(!o.enabled(CheckId::UnsignedImage));
        o.checks.insert(CheckId::UnsignedImage);
        let e = o.validate().unwrap_err().to_string();
        assert!(e.contains("--signature-key"), "{e}");
        o.options.unsigned_image = Options::with_policy(TrustPolicy::new(vec![k1()]));
        assert!(o.validate().is_ok());
        assert!(o.reads_namespace_annotations());
    }
}
