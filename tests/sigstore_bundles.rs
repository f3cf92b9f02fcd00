//! Sigstore bundles through `unsigned-image`'s own path (`examine` then `verdict`), with
//! fixed vectors: a key-signed bundle real cosign 2.5 wrote (tests/fixtures/cosign-bundle,
//! see SOURCE.md there) and a keyless message-signature bundle of the sigstore-conformance
//! suite (tests/fixtures/sigstore-conformance).

use std::path::{Path, PathBuf};

use kubectl_secfix::checks::unsigned_image::sigstore::{KeylessPolicy, TrustedRoot};
use kubectl_secfix::checks::unsigned_image::{
    FoundSignature, KEYLESS, Problem, SignatureSource, TrustPolicy, TrustedKey, examine, verdict,
};
use sha2::{Digest as _, Sha256};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn digest_of(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

fn bundle(json: Vec<u8>) -> FoundSignature {
    FoundSignature {
        source: SignatureSource::Bundle,
        payload: json,
        signature_b64: String::new(),
        keyless: None,
    }
}

fn key(name: &str) -> TrustedKey {
    let pem = std::fs::read(fixtures().join("cosign-bundle").join(name)).unwrap();
    TrustedKey::from_pem(name, &pem).unwrap()
}

fn cosign_bundle() -> Vec<u8> {
    std::fs::read(fixtures().join("cosign-bundle/cosign-attest-key.sigstore.json")).unwrap()
}

fn image_digest() -> String {
    digest_of(&std::fs::read(fixtures().join("cosign-bundle/image-manifest.json")).unwrap())
}

#[test]
fn a_cosign_key_bundle_verifies_for_its_image_only() {
    let policy = TrustPolicy::new(vec![key("k1.pub")]).unwrap();
    let c = examine(&policy, &[bundle(cosign_bundle())]);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].source, SignatureSource::Bundle);
    assert_eq!(c[0].verified_by, ["k1"]);
    let keys = policy.keys_in_force(None);
    assert_eq!(verdict(&image_digest(), &keys, &c), Ok("k1".into()));
    // The same bundle in front of another image names another digest.
    let other = format!("sha256:{}", "0".repeat(64));
    assert_eq!(
        verdict(&other, &keys, &c),
        Err(Problem::WrongDigest {
            names: Some(image_digest())
        })
    );
}

#[test]
fn a_cosign_key_bundle_by_another_key_or_tampered_does_not_verify() {
    let policy = TrustPolicy::new(vec![key("k2.pub")]).unwrap();
    let keys = policy.keys_in_force(None);
    let c = examine(&policy, &[bundle(cosign_bundle())]);
    assert_eq!(
        verdict(&image_digest(), &keys, &c),
        Err(Problem::WrongKey { signatures: 1 })
    );
    // The statement re-pointed at another digest (the signature no longer covers it).
    let mut v: serde_json::Value = serde_json::from_slice(&cosign_bundle()).unwrap();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let payload = b64
        .decode(v["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    let hex = image_digest().trim_start_matches("sha256:").to_string();
    let other = String::from_utf8(payload)
        .unwrap()
        .replace(&hex, &"1".repeat(64));
    v["dsseEnvelope"]["payload"] = b64.encode(other).into();
    let tampered = serde_json::to_vec(&v).unwrap();
    let policy = TrustPolicy::new(vec![key("k1.pub")]).unwrap();
    let c = examine(&policy, &[bundle(tampered)]);
    assert_eq!(
        verdict(&format!("sha256:{}", "1".repeat(64)), &keys_of(&policy), &c),
        Err(Problem::WrongKey { signatures: 1 })
    );
    // Not a bundle at all: a signature that does not verify.
    let c = examine(&policy, &[bundle(b"{\"mediaType\":1}".to_vec())]);
    assert_eq!(
        verdict(&image_digest(), &keys_of(&policy), &c),
        Err(Problem::WrongKey { signatures: 1 })
    );
}

fn keys_of(p: &TrustPolicy) -> Vec<String> {
    p.keys_in_force(None)
}

#[test]
fn an_attestation_that_is_not_a_signature_is_ignored() {
    // A cosign bundle whose statement is of another predicate type: an attestation.
    let mut v: serde_json::Value = serde_json::from_slice(&cosign_bundle()).unwrap();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let payload = b64
        .decode(v["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    let other = String::from_utf8(payload).unwrap().replace(
        "https://sigstore.dev/cosign/sign/v1",
        "https://slsa.dev/provenance/v1",
    );
    v["dsseEnvelope"]["payload"] = b64.encode(other).into();
    let policy = TrustPolicy::new(vec![key("k1.pub")]).unwrap();
    let c = examine(&policy, &[bundle(serde_json::to_vec(&v).unwrap())]);
    assert!(c.is_empty(), "{c:?}");
    assert_eq!(
        verdict(&image_digest(), &keys_of(&policy), &c),
        Err(Problem::NoSignature)
    );
}

#[test]
fn a_keyless_message_signature_bundle_counts_for_the_digest_it_names() {
    let conf = fixtures().join("sigstore-conformance");
    let root = std::fs::read(conf.join("production_trusted_root.json")).unwrap();
    let policy = |identity: &str| {
        TrustPolicy::with_keyless(
            Vec::new(),
            Some(KeylessPolicy {
                root: TrustedRoot::from_json(&root).unwrap(),
                identity: Some(identity.into()),
                identity_regexp: None,
                issuer: "https://token.actions.githubusercontent.com".into(),
            }),
        )
        .unwrap()
    };
    let good = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
    let json =
        std::fs::read(conf.join("bundle-verify/happy-path-v0.3/bundle.sigstore.json")).unwrap();
    let artifact = digest_of(&std::fs::read(conf.join("bundle-verify/a.txt")).unwrap());
    let p = policy(good);
    let c = examine(&p, &[bundle(json.clone())]);
    assert_eq!(c[0].names_digest.as_deref(), Some(artifact.as_str()));
    assert_eq!(
        verdict(&artifact, &[KEYLESS.into()], &c),
        Ok(KEYLESS.into())
    );
    let p = policy("someone@example.com");
    let c = examine(&p, &[bundle(json)]);
    assert!(
        matches!(
            verdict(&artifact, &[KEYLESS.into()], &c),
            Err(Problem::IdentityMismatch { .. })
        ),
        "{c:?}"
    );
}
