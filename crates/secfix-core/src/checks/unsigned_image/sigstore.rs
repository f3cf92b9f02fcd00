//! Keyless (Fulcio/Rekor) cosign signatures, verified fully offline against a Sigstore
//! `trusted_root.json`: the pure part of `unsigned-image`'s keyless policy
//! (`--certificate-identity`, `--certificate-identity-regexp`, `--certificate-oidc-issuer`,
//! `--trusted-root`).
//!
//! What a classic keyless `.sig` layer carries (annotations) and what is checked, in order:
//! 1. `dev.sigstore.cosign/bundle`: Rekor's signed entry timestamp (SET) over its entry
//!    (`body`, `integratedTime`, `logIndex`, `logID`, as canonical JSON). It must verify with
//!    the key of a transparency log of the trusted root whose id (sha256 of the key) is
//!    `logID`; the entry (a `hashedrekord`) must name this signature, this certificate and
//!    the sha256 of this payload.
//! 2. `dev.sigstore.cosign/certificate` (and `chain`): the leaf must chain to a certificate
//!    authority of the trusted root, be valid at `integratedTime` (Fulcio certificates live
//!    ten minutes: the log's time is the only time that can be checked offline) and allow
//!    code signing; webpki does the path building and signature checks.
//! 3. The signature over the payload verifies with the leaf's key.
//! 4. The identity: the leaf's subjectAltName (email or URI) equals `--certificate-identity`
//!    or matches `--certificate-identity-regexp` (unanchored, as cosign), and its OIDC issuer
//!    extension (1.3.6.1.4.1.57264.1.8, else the older .1.1) equals
//!    `--certificate-oidc-issuer`. The extensions are read with `x509-cert`.
//!
//! Not supported here: RFC 3161 timestamps and inclusion proofs without an SET. Sigstore
//! bundles (`application/vnd.dev.sigstore.bundle.v0.3+json` referrers), which carry those,
//! are verified by `sigstore-verify` in [`super::sigstore_bundle`], with the same trusted
//! root and identity rules.

use base64::Engine as _;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, SubjectPublicKeyInfoDer, UnixTime};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use webpki::{EndEntityCert, KeyUsage, RawPublicKeyEntity};
use x509_cert::der::Decode as _;

pub use crate::model::signature::KeylessMaterial;

/// id-kp-codeSigning (1.3.6.1.5.5.7.3.3), DER contents.
const CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];

fn b64(s: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|_| "not base64".to_string())
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What a trusted root trusts: certificate authorities (chains, root last) and transparency
/// log keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedRoot {
    /// DER certificates of each authority's chain, as listed (intermediates, then the root).
    authorities: Vec<Vec<Vec<u8>>>,
    /// `(log id = sha256 hex of the key, DER SubjectPublicKeyInfo)`.
    logs: Vec<(String, Vec<u8>)>,
    /// The same file as `sigstore-verify` reads it, for bundles.
    bundles: super::sigstore_bundle::BundleRoot,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RootJson {
    #[serde(default)]
    tlogs: Vec<TlogJson>,
    #[serde(default)]
    certificate_authorities: Vec<CaJson>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TlogJson {
    public_key: RawJson,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawJson {
    raw_bytes: String,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CaJson {
    cert_chain: ChainJson,
}
#[derive(Deserialize)]
struct ChainJson {
    certificates: Vec<RawJson>,
}

impl TrustedRoot {
    /// Reads a Sigstore `trusted_root.json` (`tlogs[].publicKey.rawBytes`,
    /// `certificateAuthorities[].certChain.certificates[].rawBytes`).
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let root: RootJson = serde_json::from_slice(bytes)
            .map_err(|e| format!("not a Sigstore trusted root: {e}"))?;
        let mut logs = Vec::new();
        for t in root.tlogs {
            let spki = b64(&t.public_key.raw_bytes).map_err(|e| format!("a tlog key is {e}"))?;
            logs.push((sha256_hex(&spki), spki));
        }
        let mut authorities = Vec::new();
        for ca in root.certificate_authorities {
            let chain: Result<Vec<Vec<u8>>, String> = ca
                .cert_chain
                .certificates
                .iter()
                .map(|c| b64(&c.raw_bytes).map_err(|e| format!("a CA certificate is {e}")))
                .collect();
            let chain = chain?;
            if !chain.is_empty() {
                authorities.push(chain);
            }
        }
        if authorities.is_empty() || logs.is_empty() {
            return Err(
                "the trusted root needs a certificate authority and a transparency log".into(),
            );
        }
        Ok(TrustedRoot {
            authorities,
            logs,
            bundles: super::sigstore_bundle::BundleRoot::from_json(bytes),
        })
    }

    /// The root as `sigstore-verify` reads it, for Sigstore bundles.
    pub fn bundle_root(&self) -> &super::sigstore_bundle::BundleRoot {
        &self.bundles
    }
}

/// Who a keyless signature must come from.
#[derive(Debug, Clone)]
pub struct KeylessPolicy {
    pub root: TrustedRoot,
    /// `--certificate-identity`: the exact subjectAltName.
    pub identity: Option<String>,
    /// `--certificate-identity-regexp`.
    pub identity_regexp: Option<regex::Regex>,
    /// `--certificate-oidc-issuer`.
    pub issuer: String,
}

impl PartialEq for KeylessPolicy {
    fn eq(&self, other: &Self) -> bool {
        self.root == other.root
            && self.identity == other.identity
            && self.identity_regexp.as_ref().map(regex::Regex::as_str)
                == other.identity_regexp.as_ref().map(regex::Regex::as_str)
            && self.issuer == other.issuer
    }
}
impl Eq for KeylessPolicy {}

/// Why a keyless signature does not count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeylessError {
    /// Signed by someone else (identity or issuer).
    Identity(String),
    /// Anything else: chain, log entry, signature.
    Invalid(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RekorBundle {
    signed_entry_timestamp: String,
    payload: RekorPayload,
}

/// Field order is the canonical (sorted) JSON the SET signs.
#[derive(Deserialize, serde::Serialize)]
struct RekorPayload {
    body: String,
    #[serde(rename = "integratedTime")]
    integrated_time: i64,
    #[serde(rename = "logID")]
    log_id: String,
    #[serde(rename = "logIndex")]
    log_index: i64,
}

fn verify_with_spki(spki: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    let der = SubjectPublicKeyInfoDer::from(spki);
    let Ok(entity) = RawPublicKeyEntity::try_from(&der) else {
        return false;
    };
    webpki::ALL_VERIFICATION_ALGS
        .iter()
        .any(|alg| entity.verify_signature(*alg, msg, sig).is_ok())
}

/// Checks a keyless signature; `Ok` holds the signer's identity.
pub fn verify(
    policy: &KeylessPolicy,
    payload: &[u8],
    signature_b64: &str,
    m: &KeylessMaterial,
) -> Result<String, KeylessError> {
    let invalid = |s: &str| KeylessError::Invalid(s.to_string());
    let signature = b64(signature_b64).map_err(|_| invalid("the signature is not base64"))?;
    let leaf = CertificateDer::from_pem_slice(m.certificate.as_bytes())
        .map_err(|_| invalid("the certificate annotation is not a PEM certificate"))?;
    // 1. The transparency log's promise.
    let bundle = m
        .bundle
        .as_deref()
        .ok_or_else(|| invalid("no Rekor bundle (offline verification needs one)"))?;
    let bundle: RekorBundle =
        serde_json::from_str(bundle).map_err(|_| invalid("the Rekor bundle does not parse"))?;
    let canonical = serde_json::to_vec(&bundle.payload).map_err(|_| invalid("bundle"))?;
    let set = b64(&bundle.signed_entry_timestamp)
        .map_err(|_| invalid("the signed entry timestamp is not base64"))?;
    let log = policy
        .root
        .logs
        .iter()
        .find(|(id, _)| *id == bundle.payload.log_id)
        .ok_or_else(|| invalid("the Rekor entry is from a log the trusted root does not list"))?;
    if !verify_with_spki(&log.1, &canonical, &set) {
        return Err(invalid("the Rekor signed entry timestamp does not verify"));
    }
    let body = b64(&bundle.payload.body).map_err(|_| invalid("the Rekor entry is not base64"))?;
    let body: serde_json::Value =
        serde_json::from_slice(&body).map_err(|_| invalid("the Rekor entry does not parse"))?;
    let text = |p: &str| body.pointer(p).and_then(serde_json::Value::as_str);
    let entry_sig = text("/spec/signature/content").map(b64);
    let entry_cert = text("/spec/signature/publicKey/content")
        .map(b64)
        .and_then(Result::ok)
        .and_then(|pem| CertificateDer::from_pem_slice(&pem).ok());
    if text("/kind") != Some("hashedrekord")
        || entry_sig != Some(Ok(signature.clone()))
        || entry_cert.as_ref().map(|c| c.as_ref()) != Some(leaf.as_ref())
        || text("/spec/data/hash/value") != Some(sha256_hex(payload).as_str())
    {
        return Err(invalid(
            "the Rekor entry is not for this signature, certificate and payload",
        ));
    }
    let time = u64::try_from(bundle.payload.integrated_time)
        .map_err(|_| invalid("the Rekor entry's time is negative"))?;
    // 2. The certificate chain, at the log's time.
    let mut intermediates: Vec<CertificateDer<'static>> = Vec::new();
    if let Some(chain) = &m.chain {
        for c in CertificateDer::pem_slice_iter(chain.as_bytes()).flatten() {
            intermediates.push(c);
        }
    }
    let end = EndEntityCert::try_from(&leaf)
        .map_err(|e| KeylessError::Invalid(format!("the certificate does not parse: {e}")))?;
    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(time));
    let mut chained = false;
    let mut last_error = String::from("no certificate authority");
    for authority in &policy.root.authorities {
        let Some((root, rest)) = authority.split_last() else {
            continue;
        };
        let root = CertificateDer::from(root.as_slice());
        let Ok(anchor) = webpki::anchor_from_trusted_cert(&root) else {
            continue;
        };
        let mut all = intermediates.clone();
        all.extend(rest.iter().map(|c| CertificateDer::from(c.clone())));
        match end.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &[anchor],
            &all,
            time,
            KeyUsage::required(CODE_SIGNING),
            None,
            None,
        ) {
            Ok(_) => {
                chained = true;
                break;
            }
            Err(e) => last_error = e.to_string(),
        }
    }
    if !chained {
        return Err(KeylessError::Invalid(format!(
            "the certificate does not chain to the trusted root at the log's time ({last_error})"
        )));
    }
    // 3. The signature over the payload.
    if !webpki::ALL_VERIFICATION_ALGS
        .iter()
        .any(|alg| end.verify_signature(*alg, payload, &signature).is_ok())
    {
        return Err(invalid(
            "the signature does not verify with the certificate's key",
        ));
    }
    // 4. Who signed.
    let (names, issuer) = identity_of(leaf.as_ref())
        .map_err(|e| KeylessError::Invalid(format!("the certificate does not parse: {e}")))?;
    check_identity(policy, &names, issuer.as_deref())
}

/// Whether a verified certificate's identities (`names`: its subjectAltName emails and URIs)
/// and OIDC issuer are the policy's; `Ok` holds the identity that matched.
pub(crate) fn check_identity(
    policy: &KeylessPolicy,
    names: &[String],
    issuer: Option<&str>,
) -> Result<String, KeylessError> {
    if issuer != Some(policy.issuer.as_str()) {
        return Err(KeylessError::Identity(format!(
            "the certificate's OIDC issuer is {}, not {}",
            issuer.unwrap_or("(none)"),
            policy.issuer
        )));
    }
    let matches = |n: &String| {
        policy.identity.as_ref().is_some_and(|i| i == n)
            || policy
                .identity_regexp
                .as_ref()
                .is_some_and(|r| r.is_match(n))
    };
    match names.iter().find(|n| matches(n)) {
        Some(n) => Ok(n.clone()),
        None => Err(KeylessError::Identity(format!(
            "the certificate's identity {} is not the one required",
            names.first().map(String::as_str).unwrap_or("(none)")
        ))),
    }
}

/// The subjectAltName emails and URIs of a certificate, and its Fulcio OIDC issuer.
fn identity_of(der: &[u8]) -> Result<(Vec<String>, Option<String>), String> {
    use x509_cert::der::oid::ObjectIdentifier;
    use x509_cert::ext::pkix::SubjectAltName;
    use x509_cert::ext::pkix::name::GeneralName;
    const SAN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
    const ISSUER_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
    const ISSUER_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
    let cert = x509_cert::Certificate::from_der(der).map_err(|e| e.to_string())?;
    let mut names = Vec::new();
    let mut issuer_v2 = None;
    let mut issuer_v1 = None;
    for ext in cert.tbs_certificate().extensions().into_iter().flatten() {
        let value = ext.extn_value.as_bytes();
        if ext.extn_id == SAN {
            let san = SubjectAltName::from_der(value).map_err(|e| e.to_string())?;
            for n in san.0 {
                match n {
                    GeneralName::Rfc822Name(s) | GeneralName::UniformResourceIdentifier(s) => {
                        names.push(s.to_string())
                    }
                    _ => {}
                }
            }
        } else if ext.extn_id == ISSUER_V2 {
            issuer_v2 = String::from_der(value).ok();
        } else if ext.extn_id == ISSUER_V1 {
            issuer_v1 = String::from_utf8(value.to_vec()).ok();
        }
    }
    Ok((names, issuer_v2.or(issuer_v1)))
}
