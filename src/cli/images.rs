//! Image evidence for the checks that ask for it ([`secfix_core::checks::Images`]): the
//! digest of each image a finding needs, and the signatures of the digests a check
//! verifies. Looked up here for every check alike; this module names no check.
//!
//! Digests: the running pods' agreed `imageID` (unless `--digest-source registry`), else the
//! registry (unless `--digest-source pods`), each distinct image asked once. Signatures: of
//! each distinct `repository@digest`, fetched once ([`Resolver::signatures_all`]). A registry
//! that cannot be asked is an error of the run (exit 1) where a check says so, never a
//! verdict.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::args::{DigestArgs, DigestSource};
use secfix_core::checks::{CheckId, DigestFrom, DigestLookup, Finding, Images, ScanOptions};
use secfix_core::fix::digest::{PodDigests, ask_pods, digest_wanted};
use secfix_core::model::ImageRef;
use secfix_core::model::signature::Fetched;
use secfix_io::inventory::Inventory;
use secfix_io::registry::{RegistryOptions, Resolver, resolve_key};

/// Looks up what the checks selected by `opts` read of images. `source` is
/// `--digest-source`; `live_default` what a live run asks without it (a check that reads
/// the registry anyway asks it too: [`secfix_core::checks::DigestWanted`]).
///
/// `offline` (`-f`): there are no pods, and nothing is contacted unless the registry was
/// asked for (`--digest-source registry` or `auto`, or a check that verifies signatures,
/// which needs the registry): the findings then say how to ask.
pub async fn resolve(
    inv: &mut Inventory,
    opts: &ScanOptions,
    source: Option<DigestSource>,
    live_default: DigestSource,
    offline: bool,
    args: &DigestArgs,
) {
    let evidence = opts.evidence();
    let source = match (source, offline, evidence.image_signatures) {
        (None, true, true) => Some(DigestSource::Registry),
        (s, _, _) => s,
    };
    let resolver = Resolver::new(RegistryOptions {
        insecure: args.insecure_registry.clone(),
        timeout: Duration::from_secs(args.registry_timeout),
        max_concurrent: secfix_io::registry::DEFAULT_MAX_CONCURRENT,
        docker_config: None,
    });
    if evidence.image_digests {
        match source {
            None if offline => say_offline(&mut inv.findings),
            s => {
                let mut wanted = wanted(&inv.findings, &inv.digests, s, live_default);
                ask_registry(&mut wanted, &resolver).await;
                let errors = take_digests(&mut inv.findings, wanted);
                inv.errors.extend(errors);
            }
        }
    }
    if evidence.image_signatures {
        signatures(inv, opts, &resolver).await;
    }
}

/// Offline with no digest source: nothing is looked up, each check says how to ask.
pub(super) fn say_offline(findings: &mut [Finding]) {
    for f in findings {
        if let Some((hooks, _)) = digest_wanted(f) {
            // Nothing was asked, so nothing can have failed.
            let _ = hooks.take_digest(f, DigestLookup::Offline);
        }
    }
}

/// One finding whose check wants a digest: its place, its check's hooks, the image, where
/// the digest may come from, and what was found so far.
struct Wanted {
    at: usize,
    hooks: &'static dyn Images,
    image: ImageRef,
    source: DigestSource,
    lookup: DigestLookup,
}

/// What the findings whose check wants a digest want, with the pods' answers. `source` is
/// `--digest-source`; without it, `live_default`, or `auto` for a check that reads the
/// registry anyway.
fn wanted(
    findings: &[Finding],
    pods: &PodDigests,
    source: Option<DigestSource>,
    live_default: DigestSource,
) -> Vec<Wanted> {
    let mut wanted = Vec::new();
    for (at, f) in findings.iter().enumerate() {
        let Some((hooks, want)) = digest_wanted(f) else {
            continue;
        };
        let source = match source {
            Some(s) => s,
            None if want.registry_by_default => DigestSource::Auto,
            None => live_default,
        };
        let (found, pods) = match source {
            DigestSource::Registry => (None, None),
            _ => ask_pods(f, &want, pods),
        };
        let lookup = DigestLookup::Looked {
            found,
            pods,
            registry: None,
        };
        wanted.push(Wanted {
            at,
            hooks,
            image: want.image,
            source,
            lookup,
        });
    }
    wanted
}

/// Asks the registry for each image still without a digest whose source allows it, each
/// distinct image once.
async fn ask_registry(wanted: &mut [Wanted], resolver: &Resolver) {
    let unanswered = |w: &Wanted| {
        w.source != DigestSource::Pods
            && matches!(w.lookup, DigestLookup::Looked { found: None, .. })
    };
    let ask: Vec<ImageRef> = wanted
        .iter()
        .filter(|w| unanswered(w))
        .map(|w| w.image.clone())
        .collect();
    if ask.is_empty() {
        return;
    }
    let answers = resolver.resolve_all(&ask).await;
    for w in wanted.iter_mut().filter(|w| unanswered(w)) {
        if let DigestLookup::Looked {
            found, registry, ..
        } = &mut w.lookup
        {
            match answers.get(&resolve_key(&w.image)) {
                Some(Ok(d)) => *found = Some((d.clone(), DigestFrom::Registry)),
                Some(Err(e)) => *registry = Some(e.to_string()),
                None => {}
            }
        }
    }
}

/// Hands each answer to its check; returns the errors of the run the checks report, one
/// line per image and reason however many findings share them.
fn take_digests(findings: &mut [Finding], wanted: Vec<Wanted>) -> BTreeSet<String> {
    let mut errors = BTreeSet::new();
    for w in wanted {
        errors.extend(w.hooks.take_digest(&mut findings[w.at], w.lookup));
    }
    errors
}

/// Verifies signatures for each check that verifies them with `opts`: fetches what any of
/// them asks, once per digest, and lets each settle the findings.
async fn signatures(inv: &mut Inventory, opts: &ScanOptions, resolver: &Resolver) {
    let verifiers: Vec<&'static dyn Images> = CheckId::ALL
        .iter()
        .filter_map(|c| c.def().images())
        .filter(|i| i.verifies(opts))
        .collect();
    for hooks in verifiers {
        let targets: Vec<(ImageRef, String)> = inv
            .findings
            .iter()
            .filter_map(|f| hooks.signature_wanted(opts, f))
            .collect();
        let fetched: Fetched = resolver
            .signatures_all(&targets)
            .await
            .into_iter()
            .map(|(k, r)| (k, r.map_err(|e| e.to_string())))
            .collect::<BTreeMap<_, _>>();
        let findings = std::mem::take(&mut inv.findings);
        let (findings, errors) =
            hooks.take_signatures(opts, findings, &fetched, &inv.namespace_annotations);
        inv.findings = findings;
        inv.errors.extend(errors);
    }
}
