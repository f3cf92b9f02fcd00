//! Fixed vectors for key-based signature verification: containers/image's cosign fixtures
//! (from Debian's `golang-github-containers-image-dev`, see
//! tests/fixtures/cosign-containers-image/SOURCE.md), with the verdicts containers/image's own
//! tests expect (`policy_eval_sigstore_test.go`).

use std::path::{Path, PathBuf};

use base64::Engine as _;
use kubectl_secfix::checks::unsigned_image::{
    FoundSignature, Problem, SignatureSource, TrustPolicy, TrustedKey, examine, verdict,
};
use sha2::{Digest as _, Sha256};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cosign-containers-image")
}

fn policy() -> TrustPolicy {
    let pem = std::fs::read(dir().join("cosign.pub")).unwrap();
    TrustPolicy::new(vec![TrustedKey::from_pem("cosign.pub", &pem).unwrap()]).unwrap()
}

/// `sha256:<hex>` of a manifest file, as a registry names it.
fn digest_of(manifest: &str) -> String {
    let bytes = std::fs::read(dir().join(manifest)).unwrap();
    let hex: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// A containers/image sigstore signature file, read as a `.sig` layer is: only a
/// simple-signing payload with a signature annotation is a signature.
fn signature(file: &str) -> Vec<FoundSignature> {
    let raw = std::fs::read(dir().join(file)).unwrap();
    let json = raw
        .strip_prefix(b"\0sigstore-json\n")
        .expect("containers/image sigstore format");
    let v: serde_json::Value = serde_json::from_slice(json).unwrap();
    if v["mimeType"] != "application/vnd.dev.cosign.simplesigning.v1+json" {
        return Vec::new();
    }
    let Some(sig) = v["annotations"]["dev.cosignproject.cosign/signature"].as_str() else {
        return Vec::new();
    };
    let payload = base64::engine::general_purpose::STANDARD
        .decode(v["payload"].as_str().unwrap())
        .unwrap();
    vec![FoundSignature {
        source: SignatureSource::SigTag,
        payload,
        signature_b64: sig.to_string(),
    }]
}

fn outcome(manifest: &str, sig: &str) -> Result<String, Problem> {
    let policy = policy();
    let keys = policy.keys_in_force(None);
    verdict(
        &digest_of(manifest),
        &keys,
        &examine(&policy, &signature(sig)),
    )
}

#[test]
fn the_valid_cosign_signature_is_accepted() {
    assert_eq!(
        outcome(
            "dir-img-cosign-valid/manifest.json",
            "dir-img-cosign-valid/signature-1"
        ),
        Ok("cosign".to_string())
    );
}

#[test]
fn a_valid_signature_over_another_manifest_names_another_digest() {
    for case in [
        "dir-img-cosign-modified-manifest",
        "dir-img-cosign-manifest-digest-error",
    ] {
        let got = outcome(
            &format!("{case}/manifest.json"),
            &format!("{case}/signature-1"),
        );
        assert!(
            matches!(got, Err(Problem::WrongDigest { names: Some(_) })),
            "{case}: {got:?}"
        );
    }
}

#[test]
fn a_signature_by_an_unknown_key_is_the_wrong_key() {
    assert_eq!(
        outcome(
            "dir-img-cosign-valid/manifest.json",
            "unknown-cosign-key.signature"
        ),
        Err(Problem::WrongKey { signatures: 1 })
    );
}

#[test]
fn an_attachment_that_is_not_a_signature_is_ignored() {
    assert_eq!(
        outcome(
            "dir-img-cosign-other-attachment/manifest.json",
            "dir-img-cosign-other-attachment/signature-1"
        ),
        Err(Problem::NoSignature)
    );
}
