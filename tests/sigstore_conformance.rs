//! The sigstore-conformance `bundle-verify` cases (tests/fixtures/sigstore-conformance, see
//! SOURCE.md there), each run through the verifier `unsigned-image` uses for Sigstore bundles
//! (`checks::unsigned_image::sigstore_bundle::verify`, sigstore-verify on our ring provider), with the
//! suite's own rules: a case passes unless its directory name ends in `_fail`; `key.pub`
//! means verify with that key, else keyless with `identity`/`issuer` (or the suite's
//! defaults); `trusted_root.json` (else the public-good production root); `artifact` (else
//! `a.txt`). The artifact is given by its sha256 digest, as the tool gives an image's
//! manifest digest (the suite runs each case by path and by digest).
//!
//! Every case runs, including those that need RFC 3161 timestamps, Rekor v2 checkpoints and
//! SCTs: sigstore-verify implements them. A case whose outcome differs from the suite's
//! would be listed in [`DISAGREES`] with the reason, and must keep differing (so the list
//! stays true); it is empty.

use std::path::{Path, PathBuf};

use kubectl_secfix::checks::unsigned_image::TrustedKey;
use kubectl_secfix::checks::unsigned_image::sigstore::{KeylessPolicy, TrustedRoot};
use kubectl_secfix::checks::unsigned_image::sigstore_bundle::{self, BundleRoot, Signer};
use sha2::{Digest as _, Sha256};

const IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Cases whose outcome here is not the suite's, with why.
const DISAGREES: &[(&str, &str)] = &[];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sigstore-conformance")
}

fn read_opt(case: &Path, name: &str) -> Option<Vec<u8>> {
    std::fs::read(case.join(name)).ok()
}

/// What the tool answers for one case: `Ok(signer)` or why not.
fn run(case: &Path) -> Result<String, String> {
    let root = read_opt(case, "trusted_root.json")
        .unwrap_or_else(|| std::fs::read(dir().join("production_trusted_root.json")).unwrap());
    let artifact = read_opt(case, "artifact")
        .unwrap_or_else(|| std::fs::read(dir().join("bundle-verify/a.txt")).unwrap());
    let hex: String = Sha256::digest(&artifact)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let digest = format!("sha256:{hex}");
    let bundle = sigstore_bundle::parse(&read_opt(case, "bundle.sigstore.json").unwrap())?;
    let text = |name: &str, default: &str| {
        read_opt(case, name)
            .map(|b| String::from_utf8(b).unwrap().trim().to_string())
            .unwrap_or_else(|| default.to_string())
    };
    match read_opt(case, "key.pub") {
        Some(pem) => {
            let key = TrustedKey::from_pem("key.pub", &pem)?;
            let root = BundleRoot::from_json(&root);
            sigstore_bundle::verify(Signer::Key(&key, &root), &bundle, &digest)
                .map_err(|e| format!("{e:?}"))
        }
        None => {
            let policy = KeylessPolicy {
                root: TrustedRoot::from_json(&root)?,
                identity: Some(text("identity", IDENTITY)),
                identity_regexp: None,
                issuer: text("issuer", ISSUER),
            };
            sigstore_bundle::verify(Signer::Keyless(&policy), &bundle, &digest)
                .map_err(|e| format!("{e:?}"))
        }
    }
}

#[test]
fn every_bundle_verify_case_passes_or_fails_as_the_suite_expects() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir().join("bundle-verify"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 60, "the suite's cases are all there");
    let mut wrong = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_str().unwrap();
        let expect_pass = !name.ends_with("_fail");
        let got = run(case);
        // `-- --nocapture` shows why each case passed or failed.
        eprintln!("{name}: {got:?}");
        let agrees = got.is_ok() == expect_pass;
        let listed = DISAGREES.iter().any(|(n, _)| *n == name);
        if agrees == listed {
            wrong.push(format!(
                "{name}: expected {}, got {got:?}{}",
                if expect_pass { "pass" } else { "fail" },
                if listed { " (listed in DISAGREES)" } else { "" }
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A valid bundle checked against another artifact's digest does not verify: what the tool
/// relies on to tell a signature over another image apart.
#[test]
fn a_happy_path_bundle_does_not_verify_for_another_digest() {
    let case = dir().join("bundle-verify/happy-path-v0.3");
    assert!(run(&case).is_ok());
    let bundle =
        sigstore_bundle::parse(&std::fs::read(case.join("bundle.sigstore.json")).unwrap()).unwrap();
    let policy = KeylessPolicy {
        root: TrustedRoot::from_json(
            &std::fs::read(dir().join("production_trusted_root.json")).unwrap(),
        )
        .unwrap(),
        identity: Some(IDENTITY.into()),
        identity_regexp: None,
        issuer: ISSUER.into(),
    };
    let other = format!("sha256:{}", "00".repeat(32));
    assert!(sigstore_bundle::verify(Signer::Keyless(&policy), &bundle, &other).is_err());
    // Another identity: a mismatch of identity, not an invalid signature.
    let someone = KeylessPolicy {
        identity: Some("someone@example.com".into()),
        ..policy.clone()
    };
    let digest = sigstore_bundle::claimed_digests(&bundle).unwrap();
    let got = sigstore_bundle::verify(Signer::Keyless(&someone), &bundle, &digest[0]);
    assert!(
        matches!(
            got,
            Err(kubectl_secfix::checks::unsigned_image::sigstore::KeylessError::Identity(_))
        ),
        "{got:?}"
    );
}
