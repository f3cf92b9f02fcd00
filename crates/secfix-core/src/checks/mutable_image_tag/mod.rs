//! `mutable-image-tag`: container images not pinned by digest, in init, regular and ephemeral
//! containers.
//!
//! References are parsed with [`ImageRef`] (distribution grammar: `localhost:5000/app` has a
//! registry port, not a tag). Severity is high for `:latest` or no tag (which means `:latest`),
//! medium for any other tag. The check knows no digest: findings are `fixable: false` with
//! reason [`NO_DIGEST_YET`] until the CLI resolves a digest and fills `Detail::Image`.
//! A reference that does not parse gets a medium finding naming the parse error (not fixable:
//! there is nothing to pin). A container without an image (possible in a manifest that a tool
//! fills in later) is skipped.

mod fix;
mod images;

use crate::model::{ImageRef, Workload};

use crate::checks::{CheckId, Finding, Severity};

use super::{Check, Evidence, Fixer, Images, Meta, Scan, ScanOptions};
use super::workload_finding;

/// `not_fixable_reason` of a finding whose digest the CLI has not resolved.
pub(crate) const NO_DIGEST_YET: &str = "no digest resolved yet";

/// What a `mutable-image-tag` finding records: the facts its fix needs, never a secret's value. Serialized
/// into the finding's `detail` with its `type`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Detail {
    /// An image reference without a digest.
    #[serde(rename_all = "camelCase")]
    Image {
        image: String,
        /// The digest a fix would pin, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
        /// Where that digest came from (`pods` or `registry`).
        #[serde(skip_serializing_if = "Option::is_none")]
        digest_source: Option<crate::checks::DigestFrom>,
    },
}

impl super::CheckDetail for Detail {
    fn delivery(&self) -> Option<super::Delivery> {
        None
    }

    fn set_delivery(&mut self, _: Option<super::Delivery>) {}

    /// One image per container; a finding without a container keeps its field.
    fn identity(&self, container: Option<&str>, path: &str) -> String {
        match container {
            Some(_) => String::new(),
            None => format!(":{path}"),
        }
    }

    fn subject(&self) -> Option<String> {
        None
    }

    fn moved_literal(&self) -> Option<&str> {
        None
    }

    fn rank(&self) -> u8 {
        0
    }

    fn pin(&self) -> Option<(&str, &str)> {
        let Detail::Image { image, digest, .. } = self;
        Some((image, digest.as_deref()?))
    }
}

/// The check has no options (no flags of its own).
pub type Options = super::options::NoOptions;

/// The check's definition (registered in the table of [`super`]).
pub static CHECK: MutableImageTag = MutableImageTag;

/// The mutable-image-tag check.
#[derive(Debug)]
pub struct MutableImageTag;

static META: Meta = Meta {
    id: CheckId::MutableImageTag,
    name: "mutable-image-tag",
    title: "Container image is not pinned by digest",
    help: "A tag can be moved to different content at any time, so what runs can change \
           without a deploy. The fix pins the digest that is running or that the registry serves.",
    finds: "an image without `@sha256:` (high for `:latest` or no tag)",
    remedy: "pins the digest the running pods agree on, or the registry's",
    severity: Severity::Medium,
    tags: &["supply-chain"],
};

impl Check for MutableImageTag {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn unavailable(&self, _opts: &ScanOptions) -> Option<&'static str> {
        None
    }

    /// Signatures are not its to verify: a check that verifies them vets the digest it pins
    /// ([`crate::checks::CheckDetail::pin`]).
    fn evidence(&self, _opts: &ScanOptions) -> Evidence {
        Evidence {
            namespace_annotations: false,
            image_digests: true,
            image_signatures: false,
            traffic: false,
        }
    }

    fn scan(&self) -> Scan {
        Scan::Workload(|w, _| check(w))
    }

    fn fixer(&self) -> Option<Fixer> {
        Some(Fixer::Workload(&fix::Fix))
    }

    fn images(&self) -> Option<&'static dyn Images> {
        Some(&images::Lookups)
    }
}

/// Every container image of `w` without a digest.
pub fn check(w: &Workload) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in w.containers() {
        let Some(image) = c.image.filter(|i| !i.trim().is_empty()) else {
            continue;
        };
        let (severity, message, reason) = match ImageRef::parse(image) {
            Ok(r) if r.is_pinned() => continue,
            Ok(r) => match r.tag.as_deref() {
                None => (
                    Severity::High,
                    format!("{image}: no tag (means :latest), no digest"),
                    NO_DIGEST_YET.to_string(),
                ),
                Some("latest") => (
                    Severity::High,
                    format!("{image}: :latest tag, no digest"),
                    NO_DIGEST_YET.to_string(),
                ),
                Some(_) => (
                    Severity::Medium,
                    format!("{image}: tag without digest"),
                    NO_DIGEST_YET.to_string(),
                ),
            },
            Err(e) => (
                Severity::Medium,
                format!("{image}: invalid image reference ({})", e.reason),
                format!("the image reference does not parse: {}", e.reason),
            ),
        };
        let mut f = workload_finding(
            w,
            CheckId::MutableImageTag,
            severity,
            &c,
                crate::model::ContainerField::Image,
            message,
            crate::checks::Detail::MutableImageTag(Detail::Image {
                image: image.to_string(),
                digest: None,
                digest_source: None,
            }),
        );
        f.fixable = false;
        f.not_fixable_reason = Some(reason);
        out.push(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::tests::{deployment, pod};
    use serde_json::json;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn one(image: &str) -> Vec<Finding> {
        check(&deployment(
            "web",
            json!({"containers": [{"name": "app", "image": image}]}),
        ))
    }

    #[test]
    fn severities_by_tag() {
        for (image, sev) in [
            ("nginx", Severity::High),
            ("nginx:latest", Severity::High),
            ("docker.io/library/nginx:latest", Severity::High),
            ("localhost:5000/app", Severity::High),
            ("nginx:1.25", Severity::Medium),
            ("localhost:5000/app:v1", Severity::Medium),
            ("127.0.0.1:5000/team/app:latest", Severity::High),
            ("ghcr.io/org/app:1.2.3", Severity::Medium),
        ] {
            let fs = one(image);
            assert_eq!(fs.len(), 1, "{image}");
            let f = &fs[0];
            assert_eq!(f.severity, sev, "{image}");
            assert_eq!(f.path, "/spec/template/spec/containers/0/image");
            assert_eq!(f.container.as_deref(), Some("app"));
            assert!(!f.fixable);
            assert_eq!(f.not_fixable_reason.as_deref(), Some(NO_DIGEST_YET));
            assert_eq!(
                f.detail,
                crate::checks::Detail::MutableImageTag(Detail::Image {
                    image: image.into(),
                    digest: None,
                    digest_source: None
                })
            );
            assert!(f.message.starts_with(image), "{}", f.message);
        }
    }

    #[test]
    fn digests_are_pinned() {
        for image in [
            format!("nginx@{D}"),
            format!("nginx:1.25@{D}"),
            format!("localhost:5000/app@{D}"),
            format!("nginx:latest@{D}"),
        ] {
            assert!(one(&image).is_empty(), "{image}");
        }
    }

    #[test]
    fn invalid_references_get_a_clear_finding() {
        let fs = one("NGINX:1");
        assert_eq!(fs.len(), 1);
        assert!(
            fs[0].message.contains("invalid image reference"),
            "{}",
            fs[0].message
        );
        assert!(!fs[0].fixable);
        assert!(
            fs[0]
                .not_fixable_reason
                .as_deref()
                .unwrap()
                .contains("does not parse")
        );
        let fs = one("nginx@sha256:abc");
        assert!(fs[0].message.contains("64 hex"), "{}", fs[0].message);
    }

    #[test]
    fn all_container_groups_and_missing_images() {
        let w = pod(
            "p",
            json!({
                "initContainers": [{"name": "i", "image": "busybox:1"}],
                "containers": [{"name": "noimage"}, {"name": "c", "image": format!("app@{D}")}],
                "ephemeralContainers": [{"name": "e", "image": "busybox"}]
            }),
        );
        let paths: Vec<String> = check(&w).into_iter().map(|f| f.path).collect();
        assert_eq!(
            paths,
            [
                "/spec/initContainers/0/image",
                "/spec/ephemeralContainers/0/image"
            ]
        );
    }
}
