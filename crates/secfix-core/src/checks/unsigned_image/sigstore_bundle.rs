//! Sigstore bundles as image signatures: the pure part of `unsigned-image` for bundles
//! (`application/vnd.dev.sigstore.bundle.v0.1/v0.2/v0.3+json`), found as OCI 1.1 referrers of
//! the image (cosign v3 `sign`, `cosign attest --new-bundle-format`, sigstore-js
//! `@sigstore/oci`).
//!
//! The verification itself is the Sigstore project's `sigstore-verify` (on the ring provider
//! of [`super::sigstore_ring`]): signature over the DSSE envelope (PAE) or the message digest,
//! Fulcio certificate chain and SCT, Rekor v1 SET and inclusion proof or Rekor v2 checkpoint,
//! RFC 3161 timestamps, all offline against the `--trusted-root` file. This module decides what
//! a bundle claims and who may have signed it:
//!
//! - **What it signs.** A DSSE envelope must hold an in-toto statement of predicate type
//!   [`COSIGN_SIGN_PREDICATE`] (what cosign v3 signs for an image); its sha256 subjects are
//!   the digests it names. Other predicate types are attestations (provenance, SBOM), not
//!   signatures, and are left out, as `cosign verify` leaves them out. A `messageSignature`
//!   names the digest of its message (the image manifest).
//! - **Who signed.** Each `--signature-key` (the bundle's public-key hint is not trusted:
//!   every key is tried), and the keyless policy: certificate chain to the trusted root,
//!   transparency log entry, then the certificate's identity and OIDC issuer as for classic
//!   signatures. A key-signed bundle needs no log entry (as a key-signed `.sig` needs none);
//!   any log entry or timestamp it carries must still be consistent, and timestamps must
//!   verify against the trusted root.
//!
//! Each claimed digest is verified as the artifact, so the signature is checked over that
//! digest; the verdict then compares it with the image's digest, as for a simple-signing
//! payload.

use std::sync::{Arc, OnceLock};

use sigstore_verify::trust_root::TrustedRoot as SigstoreRoot;
use sigstore_verify::types::{Bundle, DerPublicKey, HashAlgorithm, Sha256Hash, SignatureContent};
use sigstore_verify::{PublicKeyVerificationPolicy, VerificationPolicy, Verifier};

use super::sigstore::{KeylessError, KeylessPolicy};
use super::TrustedKey;

/// The in-toto predicate type of a cosign (v3) image signature.
pub const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";

/// The DSSE payload type of an in-toto statement.
const IN_TOTO: &str = "application/vnd.in-toto+json";

struct Loaded {
    verifier: Verifier,
    /// The root lists certificate transparency logs, so a certificate's SCT is required.
    ctlogs: bool,
}

/// A `trusted_root.json` as `sigstore-verify` reads it, ready to verify bundles (or why it
/// cannot be used for them).
#[derive(Clone)]
pub struct BundleRoot {
    /// sha256 of the file, so that two roots compare by content.
    id: String,
    loaded: Arc<Result<Loaded, String>>,
}

impl BundleRoot {
    /// Reads a Sigstore trusted root. Never fails: a root `sigstore-verify` refuses makes
    /// every bundle fail with the reason.
    pub fn from_json(bytes: &[u8]) -> Self {
        super::sigstore_ring::install();
        let id = super::sigstore::sha256_hex(bytes);
        let loaded = std::str::from_utf8(bytes)
            .map_err(|_| "not UTF-8".to_string())
            .and_then(|s| SigstoreRoot::from_json(s).map_err(|e| e.to_string()))
            .and_then(|root| {
                let ctlogs = !root.ctlogs.is_empty();
                Verifier::new(&root)
                    .map(|verifier| Loaded { verifier, ctlogs })
                    .map_err(|e| e.to_string())
            })
            .map_err(|e| format!("the trusted root cannot verify Sigstore bundles: {e}"));
        BundleRoot {
            id,
            loaded: Arc::new(loaded),
        }
    }

    /// The root of nothing, for key-signed bundles when no `--trusted-root` is given.
    pub fn empty() -> Self {
        static EMPTY: OnceLock<BundleRoot> = OnceLock::new();
        EMPTY
            .get_or_init(|| {
                BundleRoot::from_json(
                    br#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":[],"certificateAuthorities":[],"ctlogs":[],"timestampAuthorities":[]}"#,
                )
            })
            .clone()
    }

    fn loaded(&self) -> Result<&Loaded, KeylessError> {
        self.loaded
            .as_ref()
            .as_ref()
            .map_err(|e| KeylessError::Invalid(e.clone()))
    }
}

impl PartialEq for BundleRoot {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for BundleRoot {}
impl std::fmt::Debug for BundleRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BundleRoot({})", self.id)
    }
}

/// Who a bundle must be signed by, for [`verify`].
#[derive(Debug, Clone, Copy)]
pub enum Signer<'a> {
    /// A `--signature-key`; `root` checks any timestamp the bundle carries.
    Key(&'a TrustedKey, &'a BundleRoot),
    /// The keyless policy (its trusted root, identity and issuer).
    Keyless(&'a KeylessPolicy),
}

/// Reads a bundle (any version `sigstore-verify` knows).
pub fn parse(json: &[u8]) -> Result<Bundle, String> {
    let s = std::str::from_utf8(json).map_err(|_| "the bundle is not UTF-8".to_string())?;
    Bundle::from_json(s).map_err(|e| format!("not a Sigstore bundle: {e}"))
}

/// The sha256 digests (`sha256:<hex>`) an image-signature bundle names: the subjects of a
/// cosign sign statement, or the message digest. `None` when the bundle is not an image
/// signature (another predicate type, another payload type).
pub fn claimed_digests(bundle: &Bundle) -> Option<Vec<String>> {
    match &bundle.content {
        SignatureContent::DsseEnvelope(env) => {
            if env.payload_type != IN_TOTO {
                return None;
            }
            let statement: sigstore_verify::types::Statement =
                serde_json::from_slice(env.payload.as_bytes()).ok()?;
            if statement.predicate_type != COSIGN_SIGN_PREDICATE {
                return None;
            }
            Some(
                statement
                    .subject
                    .iter()
                    .filter_map(|s| s.digest.sha256.as_ref())
                    .map(|h| format!("sha256:{}", h.to_hex()))
                    .collect(),
            )
        }
        SignatureContent::MessageSignature(m) => Some(
            m.message_digest
                .iter()
                .filter(|d| d.algorithm == HashAlgorithm::Sha2256)
                .map(|d| format!("sha256:{}", hex_of(d.digest.as_bytes())))
                .collect(),
        ),
        _ => None,
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Verifies `bundle` as signed by `signer` over the artifact of digest `digest`
/// (`sha256:<hex>`). `Ok` holds who signed (the key's name, or the certificate's identity).
pub fn verify(signer: Signer<'_>, bundle: &Bundle, digest: &str) -> Result<String, KeylessError> {
    super::sigstore_ring::install();
    let invalid = |e: &dyn std::fmt::Display| KeylessError::Invalid(e.to_string());
    let hex = digest
        .strip_prefix("sha256:")
        .ok_or_else(|| KeylessError::Invalid(format!("{digest} is not a sha256 digest")))?;
    let artifact = Sha256Hash::from_hex(hex).map_err(|e| invalid(&e))?;
    match signer {
        Signer::Key(key, _)
            if bundle.verification_material.tlog_entries.is_empty()
                && bundle
                    .verification_material
                    .timestamp_verification_data
                    .rfc3161_timestamps
                    .is_empty() =>
        {
            verify_key_only(key, bundle, &artifact)?;
            Ok(key.name.clone())
        }
        Signer::Key(key, root) => {
            let policy = PublicKeyVerificationPolicy::new(DerPublicKey::from_bytes(key.spki()))
                .skip_tlog_unsafe();
            root.loaded()?
                .verifier
                .verify(artifact, bundle, &policy)
                .map_err(|e| invalid(&e))?;
            Ok(key.name.clone())
        }
        Signer::Keyless(policy) => {
            let loaded = policy.root.bundle_root().loaded()?;
            let mut vp = VerificationPolicy::any_identity();
            if !loaded.ctlogs {
                vp = vp.skip_sct();
            }
            let result = loaded
                .verifier
                .verify(artifact, bundle, &vp)
                .map_err(|e| invalid(&e))?;
            let names: Vec<String> = result
                .identity()
                .map(|n| n.as_str().to_string())
                .into_iter()
                .collect();
            super::sigstore::check_identity(policy, &names, result.issuer())
        }
    }
}

/// A key-signed bundle with neither a log entry nor a timestamp, as `cosign attest
/// --new-bundle-format --tlog-upload=false` writes: sigstore-verify's bundle profile wants one
/// of them, so the signature alone is checked here, with sigstore-crypto's own primitives
/// (the same a key-signed `.sig` gets): a DSSE envelope's signature over its PAE and a
/// statement whose subject is `artifact`, or a message signature over `artifact`.
fn verify_key_only(
    key: &TrustedKey,
    bundle: &Bundle,
    artifact: &Sha256Hash,
) -> Result<(), KeylessError> {
    use sigstore_verify::crypto::VerificationKey;
    let invalid = |e: &dyn std::fmt::Display| KeylessError::Invalid(e.to_string());
    let vk = VerificationKey::from_spki(&DerPublicKey::from_bytes(key.spki()))
        .map_err(|e| invalid(&e))?;
    match &bundle.content {
        SignatureContent::DsseEnvelope(env) => {
            if env.payload_type != IN_TOTO {
                return Err(invalid(&"the DSSE payload is not an in-toto statement"));
            }
            let statement: sigstore_verify::types::Statement =
                serde_json::from_slice(env.payload.as_bytes()).map_err(|e| invalid(&e))?;
            if !statement.matches_sha256(artifact) {
                return Err(invalid(&"the statement's subject is another digest"));
            }
            vk.verify(env.pae(), &env.signature.sig)
                .map_err(|e| invalid(&e))
        }
        SignatureContent::MessageSignature(m) => {
            let names = m.message_digest.as_ref().is_some_and(|d| {
                d.algorithm == HashAlgorithm::Sha2256 && d.digest.as_bytes() == artifact.as_bytes()
            });
            if !names {
                return Err(invalid(&"the message digest is another digest"));
            }
            vk.verify_prehashed(artifact.as_bytes(), &m.signature)
                .map_err(|e| invalid(&e))
        }
        _ => Err(invalid(&"unsupported bundle content")),
    }
}

/// What one image-signature bundle proves for each digest it names: `(digest, keys that
/// verify it, identity mismatch)`. Empty when the bundle is not an image signature; one
/// entry with no digest when it does not parse.
pub fn examine(
    keys: &[TrustedKey],
    keyless: Option<&KeylessPolicy>,
    json: &[u8],
) -> Vec<(Option<String>, Vec<String>, Option<String>)> {
    let Ok(bundle) = parse(json) else {
        return vec![(None, Vec::new(), None)];
    };
    let Some(digests) = claimed_digests(&bundle) else {
        return Vec::new();
    };
    if digests.is_empty() {
        return vec![(None, Vec::new(), None)];
    }
    let key_root = keyless
        .map(|k| k.root.bundle_root().clone())
        .unwrap_or_else(BundleRoot::empty);
    digests
        .into_iter()
        .map(|d| {
            let mut verified_by: Vec<String> = keys
                .iter()
                .filter(|k| verify(Signer::Key(k, &key_root), &bundle, &d).is_ok())
                .map(|k| k.name.clone())
                .collect();
            let mut mismatch = None;
            if let Some(kp) = keyless
                && bundle.signing_certificate().is_some()
            {
                match verify(Signer::Keyless(kp), &bundle, &d) {
                    Ok(_) => verified_by.push(super::KEYLESS.to_string()),
                    Err(KeylessError::Identity(why)) => mismatch = Some(why),
                    Err(KeylessError::Invalid(_)) => {}
                }
            }
            (Some(d), verified_by, mismatch)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_sigstore_refuses_makes_bundles_fail_with_the_reason() {
        let r = BundleRoot::from_json(b"{not json");
        let Err(KeylessError::Invalid(why)) = r.loaded() else {
            panic!()
        };
        assert!(why.contains("trusted root"), "{why}");
        assert!(BundleRoot::empty().loaded().is_ok());
        assert_eq!(BundleRoot::empty(), BundleRoot::empty());
    }

    #[test]
    fn what_a_bundle_claims() {
        let statement = |pt: &str| {
            let s = format!(
                r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"digest":{{"sha256":"{}"}}}}],"predicateType":"{pt}","predicate":{{}}}}"#,
                "ab".repeat(32)
            );
            use base64::Engine as _;
            let p = base64::engine::general_purpose::STANDARD.encode(s);
            format!(
                r#"{{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{{"publicKey":{{"hint":"k"}},"tlogEntries":[]}},"dsseEnvelope":{{"payload":"{p}","payloadType":"application/vnd.in-toto+json","signatures":[{{"sig":"AAAA"}}]}}}}"#
            )
        };
        let b = parse(statement(COSIGN_SIGN_PREDICATE).as_bytes()).unwrap();
        assert_eq!(
            claimed_digests(&b),
            Some(vec![format!("sha256:{}", "ab".repeat(32))])
        );
        let b = parse(statement("https://slsa.dev/provenance/v1").as_bytes()).unwrap();
        assert_eq!(claimed_digests(&b), None, "an attestation, not a signature");
        assert_eq!(
            examine(&[], None, b"{}"),
            vec![(None, Vec::new(), None)],
            "a bundle that does not parse is a signature that does not verify"
        );
    }
}
