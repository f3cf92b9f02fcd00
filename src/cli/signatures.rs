//! Verifying image signatures for a scan or fix run with a trust policy (`--signature-key`):
//! settles the pending `unsigned-image` findings and keeps `mutable-image-tag` from pinning a
//! digest whose signature does not verify.
//!
//! Each image's digest comes from its reference, else the running pods' agreed `imageID`
//! (unless `--digest-source registry`), else the registry (unless `--digest-source pods`).
//! The signatures of each distinct `repository@digest` are fetched and checked against the
//! keys once per run ([`secfix_io::registry::Resolver::signatures_all`],
//! [`unsigned_image::examine`]); the verdict per finding then uses the keys in force in its
//! namespace. A registry that cannot be asked is an error of the run (exit 1), never
//! "unsigned": the finding says it could not be verified.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::args::{DigestArgs, DigestSource};
use secfix_core::checks::unsigned_image::{self, Candidate, Problem, TrustPolicy};
use secfix_core::checks::{CheckId, Detail, Finding};
use secfix_core::model::ImageRef;
use secfix_io::inventory::Inventory;
use secfix_io::registry::signatures::signature_key;
use secfix_io::registry::{RegistryOptions, Resolver, resolve_key};

fn resolver(args: &DigestArgs) -> Resolver {
    Resolver::new(RegistryOptions {
        insecure: args.insecure_registry.clone(),
        timeout: Duration::from_secs(args.registry_timeout),
        max_concurrent: secfix_io::registry::DEFAULT_MAX_CONCURRENT,
        docker_config: None,
    })
}

/// The image and digest of a finding whose signature matters: a pending `unsigned-image`
/// finding, or a `mutable-image-tag` finding about to be pinned.
fn target(f: &Finding) -> Option<(ImageRef, String)> {
    let (image, digest) = match &f.detail {
        Detail::UnsignedImage(secfix_core::checks::unsigned_image::Detail::Unsigned {
            image,
            digest: Some(d),
            problem: None,
            ..
        }) => (image, d),
        Detail::MutableImageTag(secfix_core::checks::mutable_image_tag::Detail::Image {
            image,
            digest: Some(d),
            ..
        }) if f.check == CheckId::MutableImageTag && f.fixable => (image, d),
        _ => return None,
    };
    Some((ImageRef::parse(image).ok()?, digest.clone()))
}

/// Settles every pending `unsigned-image` finding of `inv` and withdraws the pin of every
/// `mutable-image-tag` finding whose digest is not signed. Does nothing without a policy.
pub async fn verify(inv: &mut Inventory, policy: Option<&TrustPolicy>, args: &DigestArgs) {
    let Some(policy) = policy else {
        return;
    };
    let source = args.digest_source.unwrap_or(DigestSource::Auto);
    let resolver = resolver(args);
    let mut unknown: BTreeMap<usize, String> = BTreeMap::new();
    find_digests(inv, source, &resolver, &mut unknown).await;

    let targets: Vec<(ImageRef, String)> = inv.findings.iter().filter_map(target).collect();
    let fetched = resolver.signatures_all(&targets).await;
    // One examination per distinct repository@digest, whatever the number of findings.
    let evidence: BTreeMap<String, Result<Vec<Candidate>, String>> = fetched
        .into_iter()
        .map(|(k, r)| {
            let r = r
                .map(|found| unsigned_image::examine(policy, &found))
                .map_err(|e| e.to_string());
            (k, r)
        })
        .collect();
    // Every key and the keyless identity, where no namespace annotation narrows them.
    let all_keys: Vec<String> = keys_without_annotation(policy);
    let mut errors = BTreeSet::new();
    let mut keep = Vec::with_capacity(inv.findings.len());
    for (i, mut f) in std::mem::take(&mut inv.findings).into_iter().enumerate() {
        match f.check {
            CheckId::UnsignedImage => {
                let Detail::UnsignedImage(secfix_core::checks::unsigned_image::Detail::Unsigned {
                    digest,
                    keys,
                    problem: None,
                    ..
                }) = &f.detail
                else {
                    keep.push(f);
                    continue;
                };
                let keys = keys.clone();
                let outcome = match (digest.clone(), target(&f)) {
                    (Some(d), Some((image, _))) => match evidence.get(&signature_key(&image, &d)) {
                        Some(Ok(c)) => unsigned_image::verdict(&d, &keys, c),
                        Some(Err(e)) => Err(Problem::Unverified { why: e.clone() }),
                        None => Err(Problem::Unverified {
                            why: "no signature lookup was made".into(),
                        }),
                    },
                    _ => Err(Problem::Unverified {
                        why: unknown
                            .get(&i)
                            .cloned()
                            .unwrap_or_else(|| "its digest is unknown".into()),
                    }),
                };
                if let Err(Problem::Unverified { why }) = &outcome {
                    errors.insert(format!(
                        "unsigned-image: cannot verify the signature of {}: {why}",
                        image_of(&f)
                    ));
                }
                if !unsigned_image::settle(&mut f, None, outcome) {
                    keep.push(f);
                }
            }
            CheckId::MutableImageTag => {
                if let Some((image, d)) = target(&f) {
                    let keys = inv
                        .signature_keys
                        .get(&f.namespace)
                        .unwrap_or(&all_keys)
                        .clone();
                    let outcome = match evidence.get(&signature_key(&image, &d)) {
                        Some(Ok(c)) => unsigned_image::verdict(&d, &keys, c),
                        Some(Err(e)) => Err(Problem::Unverified { why: e.clone() }),
                        None => Err(Problem::Unverified {
                            why: "no signature lookup was made".into(),
                        }),
                    };
                    if let Err(p) = outcome {
                        f.fixable = false;
                        f.not_fixable_reason = Some(format!(
                            "not pinned: with --signature-key only signed digests are pinned, \
                             and {}",
                            p.describe(Some(&d))
                        ));
                    }
                }
                keep.push(f);
            }
            _ => keep.push(f),
        }
    }
    inv.findings = keep;
    inv.errors.extend(errors);
}

/// The names in force where no namespace annotation narrows the policy: every key and, with
/// a keyless policy, the keyless identity (it used to be left out, so that a digest signed
/// only keylessly was never pinned).
fn keys_without_annotation(policy: &TrustPolicy) -> Vec<String> {
    policy.keys_in_force(None)
}

fn image_of(f: &Finding) -> &str {
    match &f.detail {
        Detail::UnsignedImage(secfix_core::checks::unsigned_image::Detail::Unsigned {
            image,
            ..
        }) => image,
        _ => "",
    }
}

/// Fills the digest of each pending `unsigned-image` finding that has none: the pods' agreed
/// `imageID`, else the registry. Why a digest stays unknown is kept in `unknown`, by index.
async fn find_digests(
    inv: &mut Inventory,
    source: DigestSource,
    resolver: &Resolver,
    unknown: &mut BTreeMap<usize, String>,
) {
    let mut pending = Vec::new();
    for (i, f) in inv.findings.iter_mut().enumerate() {
        let Detail::UnsignedImage(secfix_core::checks::unsigned_image::Detail::Unsigned {
            image,
            digest: digest @ None,
            digest_source,
            ..
        }) = &mut f.detail
        else {
            continue;
        };
        let Ok(r) = ImageRef::parse(image) else {
            continue;
        };
        if source != DigestSource::Registry
            && let Some(container) = f.container.as_deref()
        {
            match inv
                .digests
                .agreed(&f.namespace, &f.kind, &f.name, container, &r)
            {
                Ok(d) => {
                    *digest = Some(d);
                    *digest_source = Some("pods".into());
                    continue;
                }
                Err(why) => {
                    unknown.insert(i, format!("pods: {why}"));
                }
            }
        }
        if source == DigestSource::Pods {
            continue;
        }
        pending.push((i, r));
    }
    if pending.is_empty() {
        return;
    }
    let refs: Vec<ImageRef> = pending.iter().map(|(_, r)| r.clone()).collect();
    let results = resolver.resolve_all(&refs).await;
    for (i, r) in pending {
        let Some(f) = inv.findings.get_mut(i) else {
            continue;
        };
        let Detail::UnsignedImage(secfix_core::checks::unsigned_image::Detail::Unsigned {
            digest,
            digest_source,
            ..
        }) = &mut f.detail
        else {
            continue;
        };
        match results.get(&resolve_key(&r)) {
            Some(Ok(d)) => {
                *digest = Some(d.clone());
                *digest_source = Some("registry".into());
                unknown.remove(&i);
            }
            Some(Err(e)) => {
                unknown.insert(i, format!("registry: {e}"));
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secfix_core::checks::unsigned_image::sigstore::{KeylessPolicy, TrustedRoot};

    #[test]
    fn keyless_signatures_count_for_pinning_without_a_namespace_annotation() {
        let root = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/cosign-keyless/trusted_root.json"
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
        assert_eq!(keys_without_annotation(&policy), [unsigned_image::KEYLESS]);
    }
}
