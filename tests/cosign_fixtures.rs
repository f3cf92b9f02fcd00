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
        keyless: None,
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

// Keyless: containers/image's Fulcio + Rekor fixture (a real public-good Sigstore signature
// from 2023, see tests/fixtures/cosign-keyless/SOURCE.md), checked offline against a trusted
// root made of the same Fulcio root and Rekor key containers/image's tests use.
mod keyless {
    use super::*;
    use kubectl_secfix::checks::unsigned_image::sigstore::{
        KeylessError, KeylessMaterial, KeylessPolicy, TrustedRoot, verify,
    };

    fn kdir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cosign-keyless")
    }

    fn policy(identity: &str, issuer: &str) -> KeylessPolicy {
        let root = std::fs::read(kdir().join("trusted_root.json")).unwrap();
        KeylessPolicy {
            root: TrustedRoot::from_json(&root).unwrap(),
            identity: Some(identity.to_string()),
            identity_regexp: None,
            issuer: issuer.to_string(),
        }
    }

    /// (payload, signature, material) of the fixture's signature file.
    fn fixture() -> (Vec<u8>, String, KeylessMaterial) {
        let raw =
            std::fs::read(kdir().join("dir-img-cosign-fulcio-rekor-valid/signature-1")).unwrap();
        let v: serde_json::Value =
            serde_json::from_slice(raw.strip_prefix(b"\0sigstore-json\n").unwrap()).unwrap();
        let a = &v["annotations"];
        let s = |k: &str| a[k].as_str().map(str::to_string);
        let payload = base64::engine::general_purpose::STANDARD
            .decode(v["payload"].as_str().unwrap())
            .unwrap();
        (
            payload,
            s("dev.cosignproject.cosign/signature").unwrap(),
            KeylessMaterial {
                certificate: s("dev.sigstore.cosign/certificate").unwrap(),
                chain: s("dev.sigstore.cosign/chain"),
                bundle: s("dev.sigstore.cosign/bundle"),
            },
        )
    }

    const ISSUER: &str = "https://github.com/login/oauth";

    #[test]
    fn a_fulcio_signature_with_a_rekor_set_verifies_offline() {
        let (payload, sig, m) = fixture();
        assert_eq!(
            verify(&policy("mitr@redhat.com", ISSUER), &payload, &sig, &m),
            Ok("mitr@redhat.com".to_string())
        );
        let mut by_regexp = policy("nobody", ISSUER);
        by_regexp.identity_regexp = Some(regex::Regex::new("@redhat\\.com$").unwrap());
        assert!(verify(&by_regexp, &payload, &sig, &m).is_ok());
        // The payload names the fixture image's manifest.
        let digest = kubectl_secfix::checks::unsigned_image::payload_digest(&payload);
        assert_eq!(
            digest.as_deref(),
            Some(digest_of_keyless("dir-img-cosign-fulcio-rekor-valid/manifest.json").as_str())
        );
    }

    fn digest_of_keyless(manifest: &str) -> String {
        let bytes = std::fs::read(kdir().join(manifest)).unwrap();
        let hex: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("sha256:{hex}")
    }

    #[test]
    fn another_identity_or_issuer_is_an_identity_mismatch() {
        let (payload, sig, m) = fixture();
        for p in [
            policy("someone@example.com", ISSUER),
            policy("mitr@redhat.com", "https://accounts.google.com"),
        ] {
            assert!(
                matches!(
                    verify(&p, &payload, &sig, &m),
                    Err(KeylessError::Identity(_))
                ),
                "{p:?}"
            );
        }
    }

    #[test]
    fn tampering_with_any_part_fails() {
        let (payload, sig, m) = fixture();
        let p = policy("mitr@redhat.com", ISSUER);
        let mut other = payload.clone();
        other[10] ^= 1;
        assert!(verify(&p, &other, &sig, &m).is_err(), "payload");
        let mut no_bundle = m.clone();
        no_bundle.bundle = None;
        assert!(verify(&p, &payload, &sig, &no_bundle).is_err(), "no SET");
        let mut bad_set = m.clone();
        bad_set.bundle = Some(
            m.bundle
                .clone()
                .unwrap()
                .replace("1674247893", "1674247894"),
        );
        assert!(
            verify(&p, &payload, &sig, &bad_set).is_err(),
            "SET over another time"
        );
        let key_sig = "MEUCIFiaNAxj7T6pUD5lPUHMSd8hb8t+0eKDIS0r28YGMuTMAiEA3FTJd8nb+a8tPj8IYst5KCLvo7Zruw3CJtHx+fAYsjw=";
        assert!(
            verify(&p, &payload, key_sig, &m).is_err(),
            "another signature"
        );
        // A trusted root without this Fulcio root.
        let root = std::fs::read(kdir().join("trusted_root.json")).unwrap();
        let mut v: serde_json::Value = serde_json::from_slice(&root).unwrap();
        let fixture_ca = dir().join("cosign.pub");
        let _ = fixture_ca;
        v["certificateAuthorities"][0]["certChain"]["certificates"][0]["rawBytes"] =
            v["tlogs"][0]["publicKey"]["rawBytes"].clone();
        let mut wrong_root = p.clone();
        wrong_root.root = TrustedRoot::from_json(&serde_json::to_vec(&v).unwrap()).unwrap();
        assert!(
            matches!(
                verify(&wrong_root, &payload, &sig, &m),
                Err(KeylessError::Invalid(_))
            ),
            "untrusted CA"
        );
    }
}

/// The keyless fixture through the check's own path: found as a `.sig` layer with its
/// annotations, examined once, judged with the keys in force.
mod keyless_verdicts {
    use super::*;
    use kubectl_secfix::checks::unsigned_image::KEYLESS;
    use kubectl_secfix::checks::unsigned_image::sigstore::{
        KeylessMaterial, KeylessPolicy, TrustedRoot,
    };

    fn kdir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cosign-keyless")
    }

    fn found() -> FoundSignature {
        let raw =
            std::fs::read(kdir().join("dir-img-cosign-fulcio-rekor-valid/signature-1")).unwrap();
        let v: serde_json::Value =
            serde_json::from_slice(raw.strip_prefix(b"\0sigstore-json\n").unwrap()).unwrap();
        let a = |k: &str| v["annotations"][k].as_str().map(str::to_string);
        FoundSignature {
            source: SignatureSource::SigTag,
            payload: base64::engine::general_purpose::STANDARD
                .decode(v["payload"].as_str().unwrap())
                .unwrap(),
            signature_b64: a("dev.cosignproject.cosign/signature").unwrap(),
            keyless: Some(KeylessMaterial {
                certificate: a("dev.sigstore.cosign/certificate").unwrap(),
                chain: a("dev.sigstore.cosign/chain"),
                bundle: a("dev.sigstore.cosign/bundle"),
            }),
        }
    }

    fn policy(identity: &str) -> TrustPolicy {
        let root = std::fs::read(kdir().join("trusted_root.json")).unwrap();
        TrustPolicy::with_keyless(
            Vec::new(),
            Some(KeylessPolicy {
                root: TrustedRoot::from_json(&root).unwrap(),
                identity: Some(identity.to_string()),
                identity_regexp: None,
                issuer: "https://github.com/login/oauth".to_string(),
            }),
        )
        .unwrap()
    }

    fn manifest_digest() -> String {
        let bytes =
            std::fs::read(kdir().join("dir-img-cosign-fulcio-rekor-valid/manifest.json")).unwrap();
        let hex: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("sha256:{hex}")
    }

    #[test]
    fn the_keyless_fixture_verifies_for_its_identity_only() {
        let d = manifest_digest();
        let p = policy("mitr@redhat.com");
        let keys = p.keys_in_force(None);
        assert_eq!(keys, [KEYLESS]);
        let c = examine(&p, &[found()]);
        assert_eq!(verdict(&d, &keys, &c), Ok(KEYLESS.to_string()));
        // Another image's digest: the payload names this one.
        assert!(matches!(
            verdict(&format!("sha256:{}", "0".repeat(64)), &keys, &c),
            Err(Problem::WrongDigest { .. })
        ));
        // Another identity.
        let p = policy("someone@example.com");
        let c = examine(&p, &[found()]);
        assert!(
            matches!(
                verdict(&d, &p.keys_in_force(None), &c),
                Err(Problem::IdentityMismatch { .. })
            ),
            "{c:?}"
        );
        // A namespace that names only a key leaves the keyless identity out.
        assert!(p.keys_in_force(Some("cosign")).is_empty());
        assert_eq!(p.keys_in_force(Some("keyless")), [KEYLESS]);
    }
}
