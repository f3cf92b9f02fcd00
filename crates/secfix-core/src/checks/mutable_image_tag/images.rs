//! The digests `mutable-image-tag` pins: asked of the pods and the registry by the binary
//! (for every check alike), taken here. A digest found makes the finding fixable (unless its
//! object's template cannot change); one not found says why.

use super::Detail;
use crate::checks::{
    DigestFrom, DigestLookup, DigestWanted, Finding, Images, ScanOptions, immutable_template,
};
use crate::model::ImageRef;
use crate::model::signature::Fetched;
use std::collections::{BTreeMap, BTreeSet};

/// Why an image found with `-f` has no digest: nothing was looked up, and how to ask.
const OFFLINE_NO_DIGEST: &str =
    "offline (-f): no digest looked up; --digest-source registry asks the image's registry";

/// The check's image lookups (its [`crate::checks::Check::images`]).
#[derive(Debug)]
pub(super) struct Lookups;

impl Images for Lookups {
    /// An image without a digest yet (one that does not parse has nothing to pin and keeps
    /// the reason the scan gave it). The pods do not answer for ephemeral containers.
    fn digest_wanted(&self, f: &Finding) -> Option<DigestWanted> {
        let image = unresolved_image(f)?;
        Some(DigestWanted {
            image: ImageRef::parse(image).ok()?,
            from_pods: !is_ephemeral(f),
            registry_by_default: false,
        })
    }

    fn take_digest(&self, f: &mut Finding, lookup: DigestLookup) -> Option<String> {
        let why = match lookup {
            // Ephemeral containers are never fixable: nothing to say.
            DigestLookup::Offline if is_ephemeral(f) => return None,
            DigestLookup::Offline => OFFLINE_NO_DIGEST.to_string(),
            DigestLookup::Looked {
                found: Some((digest, from)),
                ..
            } => {
                set_digest(f, digest, from);
                return None;
            }
            DigestLookup::Looked {
                found: None,
                pods,
                registry,
            } => match (pods, registry) {
                (Some(p), Some(e)) => format!("{p}; registry: {e}"),
                (None, Some(e)) => format!("registry: {e}"),
                (Some(p), None) => p,
                (None, None) => return None,
            },
        };
        f.fixable = false;
        f.not_fixable_reason = Some(why);
        None
    }

    fn verifies(&self, _opts: &ScanOptions) -> bool {
        false
    }

    fn signature_wanted(&self, _opts: &ScanOptions, _f: &Finding) -> Option<(ImageRef, String)> {
        None
    }

    fn take_signatures(
        &self,
        _opts: &ScanOptions,
        findings: Vec<Finding>,
        _fetched: &Fetched,
        _namespaces: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> (Vec<Finding>, BTreeSet<String>) {
        (findings, BTreeSet::new())
    }
}

fn is_ephemeral(f: &Finding) -> bool {
    f.path.contains("/ephemeralContainers/")
}

/// The image of a finding of this check that has no digest yet.
fn unresolved_image(f: &Finding) -> Option<&str> {
    match &f.detail {
        crate::checks::Detail::MutableImageTag(Detail::Image {
            image,
            digest: None,
            ..
        }) => Some(image),
        _ => None,
    }
}

/// Records the digest a fix will pin and where it came from: the finding becomes fixable,
/// unless its object's template cannot change ([`immutable_template`]).
fn set_digest(f: &mut Finding, found: String, from: DigestFrom) {
    if let crate::checks::Detail::MutableImageTag(Detail::Image {
        digest,
        digest_source,
        ..
    }) = &mut f.detail
    {
        *digest = Some(found);
        *digest_source = Some(from);
        match immutable_template(f) {
            Some(why) => {
                f.fixable = false;
                f.not_fixable_reason = Some(why.to_string());
            }
            None => {
                f.fixable = true;
                f.not_fixable_reason = None;
            }
        }
    }
}
