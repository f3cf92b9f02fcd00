//! Digests from running pods: which `sha256:` digest each workload container actually runs,
//! agreed across its pods, and the pinning of an image reference to it.
//!
//! Design:
//! - A pod belongs to the workload at the top of its controller chain (Pod→ReplicaSet→
//!   Deployment, Pod→Job→CronJob, Pod→StatefulSet/DaemonSet/ReplicationController/Job).
//!   [`PodDigests::add_owner`] takes the intermediate owners (ReplicaSets, Jobs) whose own
//!   controller references give the chain; a pod without a controller is its own top.
//! - Evidence is the container status `imageID` of pods not in phase Succeeded/Failed.
//!   Accepted forms: `docker-pullable://repo@sha256:…`, `docker.io/library/nginx@sha256:…`,
//!   `repo@sha256:…`. A bare `sha256:…` (or `docker://sha256:…`) is the image *config* id,
//!   not a manifest digest, and is ignored; so is an imageID whose repository differs from
//!   the image's after normalisation (a mirror, or a status from another image).
//! - A pod whose spec runs the container with another repository or tag (an old ReplicaSet
//!   during a rollout) says nothing about the current tag and is skipped. A pod that does not
//!   report an imageID yet (still pulling) is skipped too.
//! - A digest is agreed only when every reporting pod reports the same one.

use std::cell::OnceCell;
use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use crate::model::{ImageRef, Workload};

use crate::checks::{DigestFrom, DigestLookup, DigestWanted, Finding, Images};

/// `(namespace, kind, name)` of an object.
type ObjKey = (String, String, String);

/// Fields joined by NUL in one allocation (a cluster has hundreds of thousands of pods);
/// `None` when a field holds a NUL itself (no real name or image does), and then the pod's
/// report is not kept.
fn pack(fields: &[&str]) -> Option<Box<str>> {
    if fields.iter().any(|f| f.contains('\0')) {
        return None;
    }
    Some(fields.join("\0").into_boxed_str())
}

/// One container of one pod, as far as digests go, packed ([`pack`]): its name, the image
/// the pod's spec asks for (`+image`, or `-` when the spec names none), and the repository
/// and digest of its status `imageID` ([`parse_image_id`]; a report without one says nothing
/// about digests and is not kept).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ContainerReport(Box<str>);

impl ContainerReport {
    fn new(name: &str, spec_image: Option<&str>, image_id: &str) -> Option<Self> {
        let (repo, digest) = parse_image_id(image_id)?;
        let spec = match spec_image {
            Some(i) => format!("+{i}"),
            None => "-".to_string(),
        };
        pack(&[name, &spec, &repo, &digest]).map(ContainerReport)
    }

    fn field(&self, i: usize) -> &str {
        self.0.split('\0').nth(i).unwrap_or_default()
    }

    fn name(&self) -> &str {
        self.field(0)
    }

    fn spec_image(&self) -> Option<&str> {
        self.field(1).strip_prefix('+')
    }

    /// The normalised repository and the digest of the status `imageID`.
    fn image(&self) -> (&str, &str) {
        (self.field(2), self.field(3))
    }
}

/// Digests reported by running pods, keyed by the workload that owns them.
///
/// Owners and pods may be added in any order (a live scan reads every kind at once); each
/// pod keeps only its controller and, per container, the spec image and status `imageID`,
/// and each distinct report is kept once per controller: the pods of one ReplicaSet report
/// the same, so memory grows with the controllers, not with the pods (a digest is agreed
/// over the *set* of reports, so nothing is lost). The controllers of each workload are
/// indexed once, on the first [`agreed`](PodDigests::agreed).
#[derive(Debug, Clone, Default)]
pub struct PodDigests {
    /// `(namespace, kind, name)` of an intermediate owner → its controller.
    owners: HashMap<ObjKey, ObjKey>,
    /// A pod's controller (or the pod itself: the start of its owner chain), packed
    /// (namespace, kind, name), → the distinct container reports of its pods.
    pods: HashMap<Box<str>, Vec<ContainerReport>>,
    /// Top-of-chain workload → the keys of `pods` under it.
    by_top: OnceCell<HashMap<ObjKey, Vec<Box<str>>>>,
}

/// Depth limit of an owner chain (guards against reference cycles).
const MAX_CHAIN: usize = 8;

impl PodDigests {
    /// `owners`: the objects between pods and workloads (ReplicaSets, Jobs); see
    /// [`add_owner`](PodDigests::add_owner).
    pub fn new(owners: &[Workload]) -> Self {
        let mut digests = PodDigests::default();
        for o in owners {
            digests.add_owner(o);
        }
        digests
    }

    /// Records an object between pods and workloads (a ReplicaSet, a Job): only its
    /// controller owner reference is read; an object without one is ignored.
    pub(crate) fn add_owner(&mut self, o: &Workload) {
        if let Some(c) = o.controller() {
            self.owners.insert(
                key(o.namespace(), o.kind.as_str(), o.name()),
                key(o.namespace(), &c.kind, &c.name),
            );
            self.by_top.take();
        }
    }

    /// The workload at the top of `start`'s controller chain.
    fn top_of(&self, start: &ObjKey) -> ObjKey {
        let mut cur = start;
        for _ in 0..MAX_CHAIN {
            match self.owners.get(cur) {
                Some(next) => cur = next,
                None => break,
            }
        }
        cur.clone()
    }

    /// Records a pod (kind Pod, `raw` with its `status`). Pods in phase Succeeded or Failed
    /// and objects of other kinds are ignored.
    pub(crate) fn add_pod(&mut self, pod: &Workload) {
        self.add_pod_value(&pod.raw);
    }

    /// [`add_pod`](PodDigests::add_pod) straight from the pod's JSON, so a scan need not
    /// parse the spec of the many pods whose findings belong to their controllers.
    pub(crate) fn add_pod_value(&mut self, raw: &Value) {
        if raw.get("kind").and_then(Value::as_str) != Some("Pod") {
            return;
        }
        let phase = raw.pointer("/status/phase").and_then(Value::as_str);
        if matches!(phase, Some("Succeeded" | "Failed")) {
            return;
        }
        let text = |p: &str| raw.pointer(p).and_then(Value::as_str).unwrap_or("");
        let ns = raw
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("default");
        let first = match controller_of(raw) {
            Some((kind, name)) => pack(&[ns, kind, name]),
            None => pack(&[ns, "Pod", text("/metadata/name")]),
        };
        let Some(first) = first else {
            return;
        };
        let mut containers = Vec::new();
        for field in ["initContainerStatuses", "containerStatuses"] {
            let statuses = raw
                .pointer(&format!("/status/{field}"))
                .and_then(Value::as_array);
            for s in statuses.into_iter().flatten() {
                let Some(name) = s.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let Some(id) = s.get("imageID").and_then(Value::as_str) else {
                    continue;
                };
                if let Some(r) = ContainerReport::new(name, spec_image(raw, name).as_deref(), id) {
                    containers.push(r);
                }
            }
        }
        if !containers.is_empty() {
            let known = self.pods.entry(first).or_default();
            if known.is_empty() {
                self.by_top.take();
            }
            for c in containers {
                if !known.contains(&c) {
                    known.push(c);
                }
            }
            known.shrink_to_fit();
        }
    }

    /// The container reports of the pods under `workload`.
    fn reports_of(&self, workload: &ObjKey) -> impl Iterator<Item = &ContainerReport> {
        let index = self.by_top.get_or_init(|| {
            let mut index: HashMap<ObjKey, Vec<Box<str>>> = HashMap::new();
            for first in self.pods.keys() {
                let mut parts = first.split('\0');
                let mut part = || parts.next().unwrap_or_default();
                let start = key(part(), part(), part());
                index
                    .entry(self.top_of(&start))
                    .or_default()
                    .push(first.clone());
            }
            index
        });
        index
            .get(workload)
            .into_iter()
            .flatten()
            .filter_map(|first| self.pods.get(first))
            .flatten()
    }

    /// The digest every reporting pod of workload `kind/name` in `namespace` runs for
    /// `container` with `image`, or why there is none.
    pub fn agreed(
        &self,
        namespace: &str,
        kind: &str,
        name: &str,
        container: &str,
        image: &ImageRef,
    ) -> Result<String, String> {
        let want = key(namespace, kind, name);
        let full = image.full_name();
        let mut digests = BTreeSet::new();
        for c in self.reports_of(&want).filter(|c| c.name() == container) {
            let same_image = c
                .spec_image()
                .and_then(|s| ImageRef::parse(s).ok())
                .is_none_or(|s| {
                    s.full_name() == full && s.effective_tag() == image.effective_tag()
                });
            if !same_image {
                continue;
            }
            let (repo, digest) = c.image();
            if repo == full {
                digests.insert(digest.to_string());
            }
        }
        match digests.len() {
            0 => Err("no running pods report an imageID".to_string()),
            1 => Ok(digests.into_iter().next().unwrap_or_default()),
            n => Err(format!("running pods disagree ({n} digests)")),
        }
    }
}

fn key(namespace: &str, kind: &str, name: &str) -> ObjKey {
    (namespace.to_string(), kind.to_string(), name.to_string())
}

/// The image a pod's spec gives the (init or regular) container `name`.
fn spec_image(pod: &Value, name: &str) -> Option<String> {
    ["initContainers", "containers"]
        .iter()
        .filter_map(|group| pod.pointer(&format!("/spec/{group}"))?.as_array())
        .flatten()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
        .and_then(|c| c.get("image")?.as_str())
        .map(str::to_string)
}

/// `(kind, name)` of the controller owner reference in an object's JSON.
fn controller_of(raw: &Value) -> Option<(&str, &str)> {
    raw.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))
        .map(|o| {
            let field = |f: &str| o.get(f).and_then(Value::as_str).unwrap_or("");
            (field("kind"), field("name"))
        })
}

/// The normalised repository (`docker.io/library/nginx`) and manifest digest of a container
/// status `imageID`; `None` for image config ids and anything unparsable.
pub fn parse_image_id(id: &str) -> Option<(String, String)> {
    let rest = id.split_once("://").map_or(id, |(_, r)| r);
    let (repo, digest) = rest.rsplit_once('@')?;
    if !crate::model::image_ref::is_sha256_digest(digest) {
        return None;
    }
    let r = ImageRef::parse(repo).ok()?;
    Some((r.full_name(), digest.to_string()))
}

/// The check hooks and the image of a finding whose check wants its digest
/// ([`crate::checks::Images::digest_wanted`]).
pub fn digest_wanted(f: &Finding) -> Option<(&'static dyn Images, DigestWanted)> {
    let hooks = f.check.def().images()?;
    Some((hooks, hooks.digest_wanted(f)?))
}

/// What the running pods say about the digest `want` of `f`: the digest they agree on, or
/// why there is none. `(None, None)` when they are not asked (no container, or the check
/// does not let pods answer).
pub fn ask_pods(
    f: &Finding,
    want: &DigestWanted,
    digests: &PodDigests,
) -> (Option<(String, DigestFrom)>, Option<String>) {
    let Some(container) = f.container.as_deref().filter(|_| want.from_pods) else {
        return (None, None);
    };
    match digests.agreed(&f.namespace, &f.kind, &f.name, container, &want.image) {
        Ok(d) => (Some((d, DigestFrom::Pods)), None),
        Err(why) => (None, Some(why)),
    }
}

/// Asks the pods (only) for the digest of every finding whose check wants one, and hands
/// each answer to its check. Returns the errors of the run the checks report.
pub fn apply_pod_digests(findings: &mut [Finding], digests: &PodDigests) -> Vec<String> {
    let mut errors = Vec::new();
    for f in findings.iter_mut() {
        let Some((hooks, want)) = digest_wanted(f) else {
            continue;
        };
        let (found, pods) = ask_pods(f, &want, digests);
        let lookup = DigestLookup::Looked {
            found,
            pods,
            registry: None,
        };
        errors.extend(hooks.take_digest(f, lookup));
    }
    errors
}

/// `image` pinned to `digest`, keeping the tag (`nginx:1.25` → `nginx:1.25@sha256:…`).
pub fn pinned(image: &str, digest: &str) -> Result<String, crate::model::image_ref::ImageRefError> {
    Ok(ImageRef::parse(image)?.pinned(digest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{CheckId, Detail, Severity};
    use serde_json::json;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn obj(v: Value) -> Workload {
        Workload::from_value(v).unwrap().unwrap()
    }

    fn owned(kind: &str, name: &str, owner_kind: &str, owner: &str) -> Workload {
        let api = if kind == "Job" { "batch/v1" } else { "apps/v1" };
        let spec = if kind == "Job" {
            json!({"template": {"spec": {"containers": []}}})
        } else {
            json!({"selector": {}, "template": {"spec": {"containers": []}}})
        };
        obj(json!({"apiVersion": api, "kind": kind,
            "metadata": {"name": name, "namespace": "ns", "ownerReferences": [
                {"apiVersion": "x", "kind": owner_kind, "name": owner, "uid": "u", "controller": true}]},
            "spec": spec}))
    }

    fn pod(
        name: &str,
        owner: Option<(&str, &str)>,
        phase: &str,
        image: &str,
        id: &str,
    ) -> Workload {
        let mut meta = json!({"name": name, "namespace": "ns"});
        if let Some((k, n)) = owner {
            meta["ownerReferences"] = json!([{"apiVersion": "x", "kind": k, "name": n,
                "uid": "u", "controller": true}]);
        }
        obj(json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": [{"name": "app", "image": image}]},
            "status": {"phase": phase, "containerStatuses": [
                {"name": "app", "image": image, "imageID": id}]}}))
    }

    fn img(s: &str) -> ImageRef {
        ImageRef::parse(s).unwrap()
    }

    #[test]
    fn image_id_forms() {
        let nginx = "docker.io/library/nginx".to_string();
        assert_eq!(
            parse_image_id(&format!("docker-pullable://nginx@{D1}")),
            Some((nginx.clone(), D1.to_string()))
        );
        assert_eq!(
            parse_image_id(&format!("docker.io/library/nginx@{D1}")),
            Some((nginx.clone(), D1.to_string()))
        );
        assert_eq!(
            parse_image_id(&format!("localhost:5000/team/app@{D1}")),
            Some(("localhost:5000/team/app".to_string(), D1.to_string()))
        );
        assert_eq!(parse_image_id(D1), None);
        assert_eq!(parse_image_id(&format!("docker://{D1}")), None);
        assert_eq!(parse_image_id("nginx@sha256:abc"), None);
        assert_eq!(parse_image_id(""), None);
    }

    #[test]
    fn deployment_chain_agrees() {
        let mut d = PodDigests::new(&[owned("ReplicaSet", "web-1", "Deployment", "web")]);
        for i in 0..3 {
            d.add_pod(&pod(
                &format!("p{i}"),
                Some(("ReplicaSet", "web-1")),
                "Running",
                "nginx:1.25",
                &format!("docker-pullable://nginx@{D1}"),
            ));
        }
        assert_eq!(
            d.agreed("ns", "Deployment", "web", "app", &img("nginx:1.25")),
            Ok(D1.to_string())
        );
        // Another namespace, kind or container knows nothing.
        let none = Err("no running pods report an imageID".to_string());
        assert_eq!(
            d.agreed("other", "Deployment", "web", "app", &img("nginx:1.25")),
            none
        );
        assert_eq!(
            d.agreed("ns", "ReplicaSet", "web-1", "app", &img("nginx:1.25")),
            none
        );
        assert_eq!(
            d.agreed("ns", "Deployment", "web", "side", &img("nginx:1.25")),
            none
        );
    }

    #[test]
    fn cronjob_chain_and_finished_pods() {
        let mut d = PodDigests::new(&[owned("Job", "nightly-1", "CronJob", "nightly")]);
        d.add_pod(&pod(
            "a",
            Some(("Job", "nightly-1")),
            "Succeeded",
            "busybox",
            &format!("busybox@{D2}"),
        ));
        let i = img("busybox");
        assert_eq!(
            d.agreed("ns", "CronJob", "nightly", "app", &i),
            Err("no running pods report an imageID".to_string())
        );
        d.add_pod(&pod(
            "b",
            Some(("Job", "nightly-1")),
            "Running",
            "busybox",
            &format!("docker.io/library/busybox@{D1}"),
        ));
        assert_eq!(
            d.agreed("ns", "CronJob", "nightly", "app", &i),
            Ok(D1.to_string())
        );
    }

    #[test]
    fn pods_disagree() {
        let mut d = PodDigests::new(&[]);
        d.add_pod(&pod(
            "a",
            Some(("StatefulSet", "db")),
            "Running",
            "pg:16",
            &format!("pg@{D1}"),
        ));
        d.add_pod(&pod(
            "b",
            Some(("StatefulSet", "db")),
            "Running",
            "pg:16",
            &format!("pg@{D2}"),
        ));
        assert_eq!(
            d.agreed("ns", "StatefulSet", "db", "app", &img("pg:16")),
            Err("running pods disagree (2 digests)".to_string())
        );
    }

    #[test]
    fn config_ids_other_repos_and_other_tags_are_ignored() {
        let mut d = PodDigests::new(&[]);
        d.add_pod(&pod("a", Some(("DaemonSet", "ds")), "Running", "app:1", D2));
        d.add_pod(&pod(
            "b",
            Some(("DaemonSet", "ds")),
            "Running",
            "app:1",
            &format!("mirror.io/app@{D2}"),
        ));
        // An old template running another tag.
        d.add_pod(&pod(
            "c",
            Some(("DaemonSet", "ds")),
            "Running",
            "app:0",
            &format!("app@{D2}"),
        ));
        assert!(
            d.agreed("ns", "DaemonSet", "ds", "app", &img("app:1"))
                .is_err()
        );
        d.add_pod(&pod("d", Some(("DaemonSet", "ds")), "Pending", "app:1", ""));
        d.add_pod(&pod(
            "e",
            Some(("DaemonSet", "ds")),
            "Running",
            "docker.io/library/app:1",
            &format!("app@{D1}"),
        ));
        assert_eq!(
            d.agreed("ns", "DaemonSet", "ds", "app", &img("app:1")),
            Ok(D1.to_string())
        );
    }

    #[test]
    fn bare_pod_is_its_own_top() {
        let mut d = PodDigests::new(&[]);
        d.add_pod(&pod(
            "solo",
            None,
            "Running",
            "redis",
            &format!("redis@{D1}"),
        ));
        assert_eq!(
            d.agreed("ns", "Pod", "solo", "app", &img("redis")),
            Ok(D1.to_string())
        );
    }

    fn finding(kind: &str, name: &str, image: &str, path: &str) -> Finding {
        Finding {
            origin: None,
            check: CheckId::MutableImageTag,
            severity: Severity::Medium,
            namespace: "ns".into(),
            kind: kind.into(),
            api_version: "apps/v1".into(),
            name: name.into(),
            container: Some("app".into()),
            path: path.into(),
            at: None,
            message: "m".into(),
            fixable: false,
            not_fixable_reason: Some("digest unknown".into()),
            source: None,
            detail: Detail::MutableImageTag(crate::checks::mutable_image_tag::Detail::Image {
                image: image.into(),
                digest: None,
                digest_source: None,
            }),
            baseline: false,
        }
    }

    #[test]
    fn findings_get_digests_or_reasons() {
        let mut d = PodDigests::new(&[owned("ReplicaSet", "web-1", "Deployment", "web")]);
        d.add_pod(&pod(
            "p",
            Some(("ReplicaSet", "web-1")),
            "Running",
            "nginx:1.25",
            &format!("nginx@{D1}"),
        ));
        let p = "/spec/template/spec/containers/0/image";
        let mut fs = vec![
            finding("Deployment", "web", "nginx:1.25", p),
            finding("Deployment", "other", "nginx:1.25", p),
            finding("Pod", "x", "nginx", "/spec/ephemeralContainers/0/image"),
        ];
        assert!(apply_pod_digests(&mut fs, &d).is_empty());
        assert!(fs[0].fixable);
        assert_eq!(fs[0].not_fixable_reason, None);
        assert_eq!(
            fs[0].detail,
            Detail::MutableImageTag(crate::checks::mutable_image_tag::Detail::Image {
                image: "nginx:1.25".into(),
                digest: Some(D1.into()),
                digest_source: Some(crate::checks::DigestFrom::Pods)
            })
        );
        assert!(!fs[1].fixable);
        assert_eq!(
            fs[1].not_fixable_reason.as_deref(),
            Some("no running pods report an imageID")
        );
        assert_eq!(fs[2].not_fixable_reason.as_deref(), Some("digest unknown"));
    }

    #[test]
    fn pinning_keeps_the_tag() {
        assert_eq!(
            pinned("nginx:1.25", D1).unwrap(),
            format!("nginx:1.25@{D1}")
        );
        assert_eq!(pinned("nginx", D1).unwrap(), format!("nginx@{D1}"));
        assert!(pinned("UPPER", D1).is_err());
    }

    /// covers issue #15 (item 12): `"nginx:1.25 "` is refused, never pinned as
    /// `nginx:1.25 @sha256:…`; an unpullable digest is replaced by nothing.
    #[test]
    fn pinning_refuses_references_with_whitespace_or_bad_digests() {
        for image in ["nginx:1.25 ", " nginx:1.25", "x@md5:abc"] {
            assert!(pinned(image, D1).is_err(), "{image:?}");
        }
    }
}
