//! Filling in the digest each mutable-image-tag finding would be pinned to.

use std::time::Duration;

use super::args::{DigestArgs, DigestSource};
use secfix_core::checks::unsigned_image::TrustPolicy;
use secfix_core::checks::{Evidence, Finding};
use secfix_core::fix::digest::{apply_pod_digests, set_digest, unresolved_image};
use secfix_core::model::ImageRef;
use secfix_io::inventory::Inventory;
use secfix_io::registry::{RegistryOptions, Resolver, resolve_key};

/// Why an image found with `-f` has no digest: nothing was looked up, and how to ask.
pub const OFFLINE_NO_DIGEST: &str =
    "offline (-f): no digest looked up; --digest-source registry asks the image's registry";

/// What the selected checks read of images (`evidence`, from their definitions) decides
/// what is looked up. Resolves digests for the inventory's mutable-image-tag findings from `source`: pods'
/// agreed `imageID` first (live only), then the registry for what is still unresolved.
/// Findings left without a digest say why in `not_fixable_reason`. With a trust policy,
/// signatures are verified next (see [`super::signatures`]): only signed digests stay
/// pinnable, and the `unsigned-image` findings are settled.
///
/// `offline` (`-f`): there are no pods, and nothing is contacted unless the registry was
/// asked for (`--digest-source registry` or `auto`, or a trust policy, which needs the
/// registry to find and verify signatures): the findings then say how to ask.
pub async fn resolve(
    inv: &mut Inventory,
    evidence: Evidence,
    source: Option<DigestSource>,
    live_default: DigestSource,
    offline: bool,
    args: &DigestArgs,
    policy: Option<&TrustPolicy>,
) {
    let source = match (source, offline, policy) {
        (None, true, Some(_)) => Some(DigestSource::Registry),
        (s, _, _) => s,
    };
    if evidence.image_digests {
        resolve_tags(inv, source, live_default, offline, args).await;
    }
    if evidence.image_signatures {
        super::signatures::verify(inv, policy, args).await;
    }
}

/// Offline with no digest source: a mutable-image-tag finding without a digest says how to
/// ask for one (ephemeral containers are never fixable: nothing to say).
pub(super) fn say_offline(f: &mut Finding) {
    if unresolved_image(f).is_some() && !f.path.contains("/ephemeralContainers/") {
        f.not_fixable_reason = Some(OFFLINE_NO_DIGEST.to_string());
    }
}

async fn resolve_tags(
    inv: &mut Inventory,
    source: Option<DigestSource>,
    live_default: DigestSource,
    offline: bool,
    args: &DigestArgs,
) {
    let source = match source {
        Some(s) => s,
        None if offline => {
            inv.findings.iter_mut().for_each(say_offline);
            return;
        }
        None => live_default,
    };
    if matches!(source, DigestSource::Auto | DigestSource::Pods) {
        apply_pod_digests(&mut inv.findings, &inv.digests);
    }
    if source == DigestSource::Pods {
        return;
    }
    let pending: Vec<ImageRef> = inv
        .findings
        .iter()
        .filter_map(|f| unresolved_image(f).and_then(|i| ImageRef::parse(i).ok()))
        .collect();
    if pending.is_empty() {
        return;
    }
    let resolver = Resolver::new(RegistryOptions {
        insecure: args.insecure_registry.clone(),
        timeout: Duration::from_secs(args.registry_timeout),
        max_concurrent: 8,
        docker_config: None,
    });
    let results = resolver.resolve_all(&pending).await;
    for f in &mut inv.findings {
        let Some(r) = unresolved_image(f).and_then(|i| ImageRef::parse(i).ok()) else {
            continue;
        };
        match results.get(&resolve_key(&r)) {
            Some(Ok(d)) => set_digest(f, d.clone(), "registry"),
            Some(Err(e)) => {
                let pods = f.not_fixable_reason.take();
                f.not_fixable_reason = Some(match pods {
                    Some(p) if source == DigestSource::Auto => format!("{p}; registry: {e}"),
                    _ => format!("registry: {e}"),
                });
            }
            None => {}
        }
    }
}
