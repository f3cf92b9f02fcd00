//! Acceptance tests of the live test bed itself (issue 2): the real kubectl finds the plugin,
//! RBAC denials are observable, a stale `resourceVersion` guard is rejected by the server, the
//! registries serve what we push, and the helpers of `tests/support` work for every kind the
//! live tests use.

mod support;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;

#[test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
fn kubectl_discovers_the_plugin() {
    let c = live!();
    let out = c.kubectl(["plugin", "list"]).run();
    out.assert_code(0);
    let expected = c.bin_dir().join("kubectl-secfix");
    assert!(
        out.stdout()
            .lines()
            .any(|l| l.trim() == expected.to_string_lossy()),
        "kubectl plugin list does not list {}: {out:?}",
        expected.display()
    );
}

#[test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
fn kubectl_secfix_version_prints_the_cargo_version() {
    let c = live!();
    let out = c.secfix(["--version"]).run();
    out.assert_code(0);
    assert!(
        out.stdout().contains(env!("CARGO_PKG_VERSION")),
        "no version {} in {out:?}",
        env!("CARGO_PKG_VERSION")
    );
}

#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn viewer_gets_403_listing_deployments() {
    let c = live!();
    let ns = c.namespace("rbac").await;

    let viewer: Api<Deployment> = Api::namespaced(c.viewer_client().await, &ns);
    match viewer.list(&ListParams::default()).await {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 403, "{status:?}"),
        other => panic!("viewer listing Deployments: expected a 403, got {other:?}"),
    }
    let admin: Api<Deployment> = Api::namespaced(c.client().await, &ns);
    let list = admin.list(&ListParams::default()).await;
    assert!(list.is_ok(), "admin listing Deployments: {list:?}");

    // Through kubectl too.
    let out = c
        .kubectl(["--context", "viewer", "get", "deployments", "-n", &ns])
        .run();
    assert_ne!(out.code(), 0, "{out:?}");
    assert!(out.stderr().contains("Forbidden"), "{out:?}");
}

fn guarded_patch(resource_version: &str, value: &str) -> Patch<()> {
    let patch: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/resourceVersion", "value": resource_version},
        {"op": "replace", "path": "/data/key", "value": value},
    ]))
    .expect("a valid JSON patch");
    Patch::Json(patch)
}

#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn stale_resource_version_test_op_is_rejected() {
    let c = live!();
    let ns = c.namespace("guard").await;
    let created = c
        .apply_yaml(
            &ns,
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: guarded}\ndata: {key: one}\n",
        )
        .await;
    let rv1 = created[0]["metadata"]["resourceVersion"]
        .as_str()
        .expect("a resourceVersion")
        .to_string();
    let api: Api<ConfigMap> = Api::namespaced(c.client().await, &ns);
    let data = |cm: &ConfigMap| cm.data.as_ref().and_then(|d| d.get("key")).cloned();

    // Server-side dry run with a fresh guard: accepted, nothing stored.
    let dry = api
        .patch(
            "guarded",
            &PatchParams::default().dry_run(),
            &guarded_patch(&rv1, "dry"),
        )
        .await
        .expect("dry-run patch with a fresh guard");
    assert_eq!(data(&dry).as_deref(), Some("dry"));
    let cm = api.get("guarded").await.expect("get");
    assert_eq!(data(&cm).as_deref(), Some("one"));

    // A fresh guard applies and moves the resourceVersion.
    let changed = api
        .patch(
            "guarded",
            &PatchParams::default(),
            &guarded_patch(&rv1, "two"),
        )
        .await
        .expect("patch with a fresh guard");
    let rv2 = changed.metadata.resource_version.clone().expect("rv");
    assert_ne!(rv1, rv2);

    // The old guard is now stale: the server refuses the whole patch.
    match api
        .patch(
            "guarded",
            &PatchParams::default(),
            &guarded_patch(&rv1, "three"),
        )
        .await
    {
        // 1.20 answers 422 Invalid, with a generic message.
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422, "{status:?}");
            assert_eq!(status.reason, "Invalid", "{status:?}");
        }
        other => panic!("a stale test op was not rejected: {other:?}"),
    }
    let after = api.get("guarded").await.expect("get");
    assert_eq!(data(&after).as_deref(), Some("two"));
    assert_eq!(
        after.metadata.resource_version.as_deref(),
        Some(rv2.as_str())
    );
}

#[test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
fn anonymous_registry_push_then_head_gives_the_same_digest() {
    let c = live!();
    let digest = c.push_image(&c.registry, None, "secfix/testbed", "v1");
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );
    let (status, head) = c.head_manifest(&c.registry, None, "secfix/testbed", "v1");
    assert_eq!(status, 200);
    assert_eq!(head.as_deref(), Some(digest.as_str()));
    // By digest too, and other tags give other digests.
    let (status, head) = c.head_manifest(&c.registry, None, "secfix/testbed", &digest);
    assert_eq!((status, head.as_deref()), (200, Some(digest.as_str())));
    let other = c.push_image(&c.registry, None, "secfix/testbed", "v2");
    assert_ne!(other, digest);
    // Moving a tag.
    let moved = c.push_image_variant(&c.registry, None, "secfix/testbed", "v1", "moved");
    assert_ne!(moved, digest);
    let (_, head) = c.head_manifest(&c.registry, None, "secfix/testbed", "v1");
    assert_eq!(head.as_deref(), Some(moved.as_str()));
}

#[test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
fn auth_registry_push_then_head_needs_credentials() {
    let c = live!();
    let digest = c.push_image(&c.auth_registry, c.auth(), "secfix/private", "1.0");
    let (status, head) = c.head_manifest(&c.auth_registry, c.auth(), "secfix/private", "1.0");
    assert_eq!(status, 200);
    assert_eq!(head.as_deref(), Some(digest.as_str()));
    let (status, head) = c.head_manifest(&c.auth_registry, None, "secfix/private", "1.0");
    assert_eq!(status, 401);
    assert_eq!(head, None);
    let (status, _) = c.head_manifest(
        &c.auth_registry,
        Some((&c.auth_user, "wrong-password")),
        "secfix/private",
        "1.0",
    );
    assert_eq!(status, 401);
}

/// Every kind the live tests use can be created, and pods can be given owners and statuses.
#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn support_helpers_create_every_kind_and_fake_the_kubelet() {
    let c = live!();
    let ns = c.namespace("Support Helpers").await;
    assert!(ns.starts_with("support-helpers-"), "{ns}");
    let image = format!("{}/secfix/app:1.0", c.registry);
    let digest = c.push_image(&c.registry, None, "secfix/app", "1.0");
    let pod_spec = format!("containers: [{{name: app, image: {image}}}]");
    let yaml = every_kind(&ns, &pod_spec);
    let created = c.apply_yaml(&ns, &yaml).await;
    let kinds: Vec<&str> = created.iter().filter_map(|o| o["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "Secret",
            "ConfigMap",
            "Service",
            "Pod",
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "ReplicaSet",
            "ReplicationController",
            "Job",
            "CronJob",
            "NetworkPolicy",
        ]
    );
    for obj in &created[1..] {
        assert_eq!(obj["metadata"]["namespace"], ns.as_str(), "{obj}");
    }

    created_as_a_controller_would(c, &ns, &created[2], &pod_spec).await;
    the_test_plays_the_kubelet(c, &ns, &created[8], &image, &digest).await;
}

/// One object of every kind the tests use, in namespace `ns` (and a second namespace,
/// `{ns}-extra`); the pods run `pod_spec`.
fn every_kind(ns: &str, pod_spec: &str) -> String {
    // Flow style, so that the templates fit at any indentation.
    let template = format!("{{metadata: {{labels: {{app: x}}}}, spec: {{{pod_spec}}}}}");
    let job_template = format!("{{spec: {{restartPolicy: Never, {pod_spec}}}}}");
    format!(
        r#"
apiVersion: v1
kind: Namespace
metadata: {{name: {ns}-extra}}
---
apiVersion: v1
kind: Secret
metadata: {{name: creds}}
stringData: {{password: hunter2}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings}}
data: {{a: b}}
---
apiVersion: v1
kind: Service
metadata: {{name: svc}}
spec: {{ports: [{{port: 80}}], selector: {{app: x}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: lone}}
spec: {{{pod_spec}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: deploy}}
spec:
  selector: {{matchLabels: {{app: x}}}}
  template: {template}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: sts}}
spec:
  serviceName: svc
  selector: {{matchLabels: {{app: x}}}}
  template: {template}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: ds}}
spec:
  selector: {{matchLabels: {{app: x}}}}
  template: {template}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {{name: rs}}
spec:
  selector: {{matchLabels: {{app: x}}}}
  template: {template}
---
apiVersion: v1
kind: ReplicationController
metadata: {{name: rc}}
spec:
  selector: {{app: x}}
  template: {template}
---
apiVersion: batch/v1
kind: Job
metadata: {{name: job}}
spec:
  template: {job_template}
---
apiVersion: batch/v1beta1
kind: CronJob
metadata: {{name: cron}}
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template: {job_template}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: deny}}
spec: {{podSelector: {{}}, policyTypes: [Ingress]}}
"#
    )
}

/// An object owned the way a controller owns one (a ConfigMap as the owner: no controller
/// acts on it, and the garbage collector keeps what it owns while it exists).
async fn created_as_a_controller_would(
    c: &support::Cluster,
    ns: &str,
    owner: &serde_json::Value,
    pod_spec: &str,
) {
    let owned = c
        .create_owned_by(
            ns,
            &format!("metadata: {{name: owned, labels: {{app: z}}}}\nspec: {{{pod_spec}}}"),
            owner,
        )
        .await;
    let reference = &owned["metadata"]["ownerReferences"][0];
    assert_eq!(reference["kind"], "ConfigMap");
    assert_eq!(reference["uid"], owner["metadata"]["uid"]);
    assert_eq!(reference["controller"], true);
}

/// The ReplicaSet controller made the ReplicaSet's Pod; the test plays its kubelet, and
/// both the API and kubectl see the image ID it sets.
async fn the_test_plays_the_kubelet(
    c: &support::Cluster,
    ns: &str,
    rs: &serde_json::Value,
    image: &str,
    digest: &str,
) {
    let pod_name = c.pods_of(ns, rs, 1).await.remove(0);
    let image_id = format!("{}/secfix/app@{digest}", c.registry);
    c.set_pod_image_ids(ns, &pod_name, &[("app", image, &image_id)])
        .await;
    let pods: Api<Pod> = Api::namespaced(c.client().await, ns);
    let pod = pods.get(&pod_name).await.expect("get pod");
    let status = pod.status.expect("status");
    assert_eq!(status.phase.as_deref(), Some("Running"));
    let cs = &status.container_statuses.expect("container statuses")[0];
    assert_eq!(
        (cs.name.as_str(), cs.image_id.as_str()),
        ("app", image_id.as_str())
    );

    // kubectl sees the same.
    let out = c
        .kubectl([
            "get",
            "pod",
            &pod_name,
            "-n",
            ns,
            "-o",
            "jsonpath={.status.containerStatuses[0].imageID}",
        ])
        .run();
    out.assert_code(0);
    assert_eq!(out.stdout(), image_id);
}
