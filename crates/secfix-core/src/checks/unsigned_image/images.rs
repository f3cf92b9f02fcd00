//! What `unsigned-image` asks of images, and what it makes of the answers (the binary looks
//! both up for every check alike):
//! - the digest of each pending finding without one (the pods' agreed `imageID`, else the
//!   registry); one that stays unknown settles the finding as [`Problem::Unverified`] and is
//!   an error of the run;
//! - the signatures of each distinct `repository@digest`, of its own pending findings and of
//!   every digest a fix would pin ([`crate::checks::CheckDetail::pin`]). They are examined
//!   against the keys once per digest ([`examine`]); the verdict per finding then uses the
//!   keys in force in its namespace. Verified findings are dropped; a pin whose digest does
//!   not verify is withdrawn. A registry that cannot be asked is an error of the run, never
//!   "unsigned".

use std::collections::{BTreeMap, BTreeSet};

use super::{ANNOTATION, Candidate, Detail, Problem, examine, settle, verdict};
use crate::checks::{
    CheckId, DigestLookup, DigestWanted, Finding, Images, ScanOptions,
};
use crate::model::ImageRef;
use crate::model::signature::{Fetched, signature_key};

/// The check's image lookups (its [`crate::checks::Check::images`]).
#[derive(Debug)]
pub(super) struct Lookups;

impl Images for Lookups {
    fn digest_wanted(&self, f: &Finding) -> Option<DigestWanted> {
        let Detail::Unsigned {
            image,
            digest: None,
            problem: None,
            ..
        } = own(f)?
        else {
            return None;
        };
        Some(DigestWanted {
            image: ImageRef::parse(image).ok()?,
            from_pods: true,
            registry_by_default: true,
        })
    }

    fn take_digest(&self, f: &mut Finding, lookup: DigestLookup) -> Option<String> {
        let why = match lookup {
            DigestLookup::Looked {
                found: Some((found, from)),
                ..
            } => {
                if let crate::checks::Detail::UnsignedImage(Detail::Unsigned {
                    digest,
                    digest_source,
                    ..
                }) = &mut f.detail
                {
                    *digest = Some(found);
                    *digest_source = Some(from);
                }
                return None;
            }
            DigestLookup::Offline => "offline (-f): no digest looked up".to_string(),
            DigestLookup::Looked {
                found: None,
                pods,
                registry,
            } => registry
                .map(|e| format!("registry: {e}"))
                .or_else(|| pods.map(|p| format!("pods: {p}")))
                .unwrap_or_else(|| "its digest is unknown".into()),
        };
        Some(unverified(f, why))
    }

    fn verifies(&self, opts: &ScanOptions) -> bool {
        super::options::policy(opts).is_some()
    }

    /// A pending finding of this check with a digest, or a fixable finding of any check
    /// whose fix would pin a digest.
    fn signature_wanted(&self, opts: &ScanOptions, f: &Finding) -> Option<(ImageRef, String)> {
        super::options::policy(opts)?;
        let (image, digest) = match own(f) {
            Some(Detail::Unsigned {
                image,
                digest: Some(d),
                problem: None,
                ..
            }) => (image.as_str(), d.as_str()),
            Some(_) => return None,
            None if f.fixable => f.detail.get().pin()?,
            None => return None,
        };
        Some((ImageRef::parse(image).ok()?, digest.to_string()))
    }

    fn take_signatures(
        &self,
        opts: &ScanOptions,
        findings: Vec<Finding>,
        fetched: &Fetched,
        namespaces: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> (Vec<Finding>, BTreeSet<String>) {
        let Some(policy) = super::options::policy(opts) else {
            return (findings, BTreeSet::new());
        };
        // One examination per distinct repository@digest, whatever the number of findings.
        let evidence: BTreeMap<&str, Result<Vec<Candidate>, &str>> = fetched
            .iter()
            .map(|(k, r)| {
                let r = r.as_ref().map(|found| examine(policy, found));
                (k.as_str(), r.map_err(String::as_str))
            })
            .collect();
        let mut errors = BTreeSet::new();
        let mut keep = Vec::with_capacity(findings.len());
        for mut f in findings {
            let Some((image, d)) = self.signature_wanted(opts, &f) else {
                keep.push(f);
                continue;
            };
            let outcome = |keys: &[String]| match evidence.get(signature_key(&image, &d).as_str()) {
                Some(Ok(c)) => verdict(&d, keys, c),
                Some(Err(e)) => Err(Problem::Unverified {
                    why: e.to_string(),
                }),
                None => Err(Problem::Unverified {
                    why: "no signature lookup was made".into(),
                }),
            };
            if let Some(Detail::Unsigned { keys, .. }) = own(&f) {
                let outcome = outcome(&keys.clone());
                if let Err(Problem::Unverified { why }) = &outcome {
                    errors.insert(cannot_verify(&f, why));
                }
                if !settle(&mut f, None, outcome) {
                    keep.push(f);
                }
                continue;
            }
            let narrowed = namespaces
                .get(&f.namespace)
                .and_then(|a| a.get(ANNOTATION))
                .map(String::as_str);
            if let Err(p) = outcome(&policy.keys_in_force(narrowed)) {
                f.fixable = false;
                f.not_fixable_reason = Some(format!(
                    "not pinned: with --signature-key only signed digests are pinned, and {}",
                    p.describe(Some(&d))
                ));
            }
            keep.push(f);
        }
        (keep, errors)
    }
}

/// The detail of `f` when it is a finding of this check.
fn own(f: &Finding) -> Option<&Detail> {
    match &f.detail {
        crate::checks::Detail::UnsignedImage(d) if f.check == CheckId::UnsignedImage => Some(d),
        _ => None,
    }
}

/// Settles `f` as unverifiable for `why`; returns the error of the run that says so.
fn unverified(f: &mut Finding, why: String) -> String {
    let error = cannot_verify(f, &why);
    settle(f, None, Err(Problem::Unverified { why }));
    error
}

fn cannot_verify(f: &Finding, why: &str) -> String {
    let image = own(f).map_or("", |Detail::Unsigned { image, .. }| image.as_str());
    format!("unsigned-image: cannot verify the signature of {image}: {why}")
}

#[cfg(test)]
mod tests {
    use super::super::{KEYLESS, TrustPolicy};
    use super::super::sigstore::{KeylessPolicy, TrustedRoot};

    /// A digest signed only keylessly was never pinned where no namespace annotation
    /// narrows the policy: the keyless identity was left out of the names in force.
    #[test]
    fn keyless_signatures_count_for_pinning_without_a_namespace_annotation() {
        let root = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/cosign-keyless/trusted_root.json"
        ))
        .unwrap();
        let policy = TrustPolicy::with_keyless(
            Vec::new(),
            Some(KeylessPolicy {
                root: TrustedRoot::from_json(&root).unwrap(),
                identity: Some("me@example.com".into()),
                identity_regexp: None,
                issuer: "https://issuer.example".into(),
            }),
        )
        .unwrap();
        assert_eq!(policy.keys_in_force(None), [KEYLESS]);
    }
}
