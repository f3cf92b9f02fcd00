//! Snapshot tests of the uncoloured preview, one per fix kind, over hand-built plans with
//! realistic live objects (server noise included, so its removal shows in the snapshots).
//! Compiled only in tests: `ui/mod.rs` declares it under `#[cfg(test)]`.

use serde_json::{Value, json};

use super::diff::{render_patch, render_preview};
use secfix_core::checks::{CheckId, Delivery, Detail, Direction, Finding, Severity};
use secfix_core::fix::{Action, MovedSecret, NewObject, Plan, Target, patch};

const DIGEST_NGINX: &str =
    "sha256:6af79ae5de407283dcea8b00d5c37ace95441fd58a8b1d2aa1ed93f5511bb18c";
const DIGEST_BUSYBOX: &str =
    "sha256:37f7b378a29ceb4c551b1b5582e27747b855bbfaa73fa11914fe0df028dc581f";

fn target(api_version: &str, kind: &str, namespace: &str, name: &str) -> Target {
    Target {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: namespace.into(),
        name: name.into(),
    }
}

fn finding(
    check: CheckId,
    severity: Severity,
    kind: &str,
    name: &str,
    container: Option<&str>,
    path: &str,
    detail: Detail,
) -> Finding {
    Finding {
        origin: None,
        check,
        severity,
        namespace: "shop".into(),
        kind: kind.into(),
        api_version: if kind == "Namespace" { "v1" } else { "apps/v1" }.into(),
        name: name.into(),
        container: container.map(Into::into),
        path: path.into(),
        at: None,
        message: check.title().into(),
        fixable: true,
        not_fixable_reason: None,
        source: None,
        detail,
        baseline: false,
    }
}

/// A Deployment as the API server returns it, with `spec.template.spec` replaced.
fn live_deployment(name: &str, pod_spec: Value) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "uid": "4f0c7a8e-2b1d-4c55-9d7e-0a3f1b2c3d4e",
            "resourceVersion": "48213",
            "generation": 3,
            "creationTimestamp": "2025-01-14T09:21:07Z",
            "labels": {"app": name},
            "annotations": {
                "deployment.kubernetes.io/revision": "3",
                "kubectl.kubernetes.io/last-applied-configuration":
                    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"x\"}}\n"
            },
            "managedFields": [{
                "manager": "kubectl-client-side-apply",
                "operation": "Update",
                "apiVersion": "apps/v1",
                "time": "2025-01-14T09:21:07Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {"f:replicas": {}}}
            }]
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"creationTimestamp": null, "labels": {"app": name}},
                "spec": pod_spec
            }
        },
        "status": {
            "observedGeneration": 3,
            "replicas": 2,
            "readyReplicas": 2,
            "conditions": [{"type": "Available", "status": "True"}]
        }
    })
}

fn patch_plan(
    target: Target,
    findings: Vec<Finding>,
    before: Value,
    after: Value,
    prerequisites: Vec<NewObject>,
    warnings: Vec<String>,
) -> Plan {
    let ops = patch::diff(&before, &after, "").unwrap();
    let inverse = patch::diff(&after, &before, "").unwrap();
    let pointer = "/spec/template/spec";
    let seen = before.pointer(pointer).cloned().unwrap_or_default();
    let mut plan = Plan {
        target,
        findings,
        action: Action::Patch {
            resource_version: Some("48213".into()),
            pointer: pointer.into(),
            guards: Vec::new(),
            ops,
            inverse,
        },
        prerequisites,
        warnings,
        moved: Vec::new(),
        before,
        after,
        flows: Vec::new(),
    };
    // The guards as the fix builders make them (the pod spec as read, secrets left out).
    let shown = secfix_core::fix::redact::Redactor::for_plan(&plan).value(&seen);
    if let Action::Patch { guards, .. } = &mut plan.action {
        *guards = patch::content_guards(pointer, &seen, &shown);
    }
    plan
}

/// (1) `env-secret`: a `secretKeyRef` becomes a read-only mount plus `DB_PASSWORD_FILE`.
pub(super) fn env_secret_plan() -> Plan {
    let before = live_deployment(
        "api",
        json!({
            "containers": [{
                "name": "api",
                "image": "ghcr.io/acme/api:1.4.2",
                "ports": [{"containerPort": 8080}],
                "env": [
                    {"name": "LOG_LEVEL", "value": "info"},
                    {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db-creds", "key": "password"}}},
                    {"name": "DB_HOST", "value": "postgres.shop.svc"}
                ],
                "resources": {"limits": {"memory": "256Mi"}}
            }]
        }),
    );
    let after = live_deployment(
        "api",
        json!({
            "containers": [{
                "name": "api",
                "image": "ghcr.io/acme/api:1.4.2",
                "ports": [{"containerPort": 8080}],
                "env": [
                    {"name": "LOG_LEVEL", "value": "info"},
                    {"name": "DB_HOST", "value": "postgres.shop.svc"},
                    {"name": "DB_PASSWORD_FILE", "value": "/var/run/secrets/secfix/db-creds/password"}
                ],
                "resources": {"limits": {"memory": "256Mi"}},
                "volumeMounts": [{
                    "name": "secfix-db-creds",
                    "mountPath": "/var/run/secrets/secfix/db-creds",
                    "readOnly": true
                }]
            }],
            "volumes": [{
                "name": "secfix-db-creds",
                "secret": {"secretName": "db-creds", "items": [{"key": "password", "path": "password"}]}
            }]
        }),
    );
    let mut plan = patch_plan(
        target("apps/v1", "Deployment", "shop", "api"),
        vec![finding(
            CheckId::EnvSecret,
            Severity::High,
            "Deployment",
            "api",
            Some("api"),
            "/spec/template/spec/containers/0/env/1",
            Detail::EnvSecret(secfix_core::checks::env_secret::Detail::SecretKeyRef {
                env: "DB_PASSWORD".into(),
                secret: "db-creds".into(),
                key: "password".into(),
                optional: false,
                delivery: Some(Delivery::AppChange),
            }),
        )],
        before,
        after,
        vec![],
        vec![
            "container api: DB_PASSWORD is removed; its value is now the file /var/run/secrets/secfix/db-creds/password, named by DB_PASSWORD_FILE: app-change: the app must read DB_PASSWORD_FILE (ghcr.io/acme/api is not in the table of images that read files)".into(),
            "Deployment shop/api is managed by Argo CD (app shop-api): commit this change to Git or it will be reverted".into(),
        ],
    );
    plan.moved = vec![moved(
        "DB_PASSWORD",
        "db-creds",
        "/var/run/secrets/secfix/db-creds/password",
    )];
    plan
}

/// An app-change move of `env` from Secret `secret` into `file`, in container `api`.
fn moved(env: &str, secret: &str, file: &str) -> MovedSecret {
    let at = secfix_core::model::FieldRef {
        container: secfix_core::model::workload::Pointer {
            spec: "/spec/template/spec",
            group: secfix_core::model::ContainerGroup::Containers,
            index: 0,
        },
        field: secfix_core::model::ContainerField::Env(1),
    };
    MovedSecret {
        path: at.to_string(),
        at,
        container: "api".into(),
        env: Some(env.into()),
        secret: secret.into(),
        file: file.into(),
        file_var: Some(format!("{env}_FILE")),
        delivery: Delivery::AppChange,
        reason: "ghcr.io/acme/api is not in the table of images that read files".into(),
    }
}

/// (2) `env-literal-secret`: `DB_PASSWORD=hunter2` moves into Secret `api-secfix`.
pub(super) fn literal_plan() -> Plan {
    let before = live_deployment(
        "api",
        json!({
            "containers": [{
                "name": "api",
                "image": "ghcr.io/acme/api:1.4.2",
                "env": [
                    {"name": "DB_USER", "value": "app"},
                    {"name": "DB_PASSWORD", "value": "hunter2"}
                ]
            }]
        }),
    );
    let after = live_deployment(
        "api",
        json!({
            "containers": [{
                "name": "api",
                "image": "ghcr.io/acme/api:1.4.2",
                "env": [
                    {"name": "DB_USER", "value": "app"},
                    {"name": "DB_PASSWORD_FILE", "value": "/var/run/secrets/secfix/api-secfix/DB_PASSWORD"}
                ],
                "volumeMounts": [{
                    "name": "secfix-api-secfix",
                    "mountPath": "/var/run/secrets/secfix/api-secfix",
                    "readOnly": true
                }]
            }],
            "volumes": [{
                "name": "secfix-api-secfix",
                "secret": {"secretName": "api-secfix", "items": [{"key": "DB_PASSWORD", "path": "DB_PASSWORD"}]}
            }]
        }),
    );
    let secret = NewObject {
        keep_on_rollback: true,
        target: target("v1", "Secret", "shop", "api-secfix"),
        object: json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": "api-secfix",
                "namespace": "shop",
                "labels": {"app.kubernetes.io/managed-by": "kubectl-secfix"}
            },
            "type": "Opaque",
            "stringData": {"DB_PASSWORD": "hunter2"}
        }),
        sensitive: true,
    };
    let mut plan = patch_plan(
        target("apps/v1", "Deployment", "shop", "api"),
        vec![finding(
            CheckId::EnvLiteralSecret,
            Severity::High,
            "Deployment",
            "api",
            Some("api"),
            "/spec/template/spec/containers/0/env/1",
            Detail::EnvLiteralSecret(secfix_core::checks::env_literal_secret::Detail::LiteralSecret {
                env: "DB_PASSWORD".into(),
                reason: "name contains PASSWORD".into(),
                delivery: Some(Delivery::AppChange),
            }),
        )],
        before,
        after,
        vec![secret],
        vec![
            "container api: DB_PASSWORD is removed; its value is now the file /var/run/secrets/secfix/api-secfix/DB_PASSWORD, named by DB_PASSWORD_FILE: app-change: the app must read DB_PASSWORD_FILE (ghcr.io/acme/api is not in the table of images that read files)".into(),
        ],
    );
    plan.moved = vec![moved(
        "DB_PASSWORD",
        "api-secfix",
        "/var/run/secrets/secfix/api-secfix/DB_PASSWORD",
    )];
    plan
}

/// (3) `default-allow-namespace`: a default-deny NetworkPolicy (DNS egress allowed) created.
pub(super) fn network_policy_plan() -> Plan {
    let policy = json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": "secfix-default-deny",
            "namespace": "shop",
            "labels": {"app.kubernetes.io/managed-by": "kubectl-secfix"}
        },
        "spec": {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "egress": [{
                "to": [{
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}
                }],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
            }]
        }
    });
    let unisolated = |direction| {
        Detail::DefaultAllowNamespace(
            secfix_core::checks::default_allow_namespace::Detail::Unisolated {
                direction,
                workloads: vec!["deployment/api".into(), "deployment/web".into()],
            },
        )
    };
    Plan {
        target: target("networking.k8s.io/v1", "NetworkPolicy", "shop", "secfix-default-deny"),
        findings: vec![
            finding(
                CheckId::DefaultAllowNamespace,
                Severity::Medium,
                "Namespace",
                "shop",
                None,
                "",
                unisolated(Direction::Ingress),
            ),
            finding(
                CheckId::DefaultAllowNamespace,
                Severity::Medium,
                "Namespace",
                "shop",
                None,
                "",
                unisolated(Direction::Egress),
            ),
        ],
        action: Action::Create,
        prerequisites: vec![],
        warnings: vec![
            "Services in shop will stop receiving traffic until you allow it: service/web (80/TCP), service/api (8080/TCP)".into(),
        ],
        moved: Vec::new(),
        before: Value::Null,
        after: policy,
        flows: Vec::new(),
    }
}

/// (4) `mutable-image-tag`: both images pinned to the digests the pods run.
pub(super) fn image_pin_plan() -> Plan {
    let pod_spec = |web: &str, sidecar: &str| {
        json!({
            "containers": [
                {"name": "nginx", "image": web, "ports": [{"containerPort": 80}]},
                {"name": "log-shipper", "image": sidecar, "args": ["--tail", "/var/log/nginx"]}
            ]
        })
    };
    let pinned_web = format!("nginx:1.27@{DIGEST_NGINX}");
    let pinned_sidecar = format!("busybox:latest@{DIGEST_BUSYBOX}");
    let before = live_deployment("web", pod_spec("nginx:1.27", "busybox:latest"));
    let after = live_deployment("web", pod_spec(&pinned_web, &pinned_sidecar));
    let image = |image: &str, digest: &str| {
        Detail::MutableImageTag(secfix_core::checks::mutable_image_tag::Detail::Image {
            image: image.into(),
            digest: Some(digest.into()),
            digest_source: Some(secfix_core::checks::DigestFrom::Pods),
        })
    };
    patch_plan(
        target("apps/v1", "Deployment", "shop", "web"),
        vec![
            finding(
                CheckId::MutableImageTag,
                Severity::Medium,
                "Deployment",
                "web",
                Some("nginx"),
                "/spec/template/spec/containers/0/image",
                image("nginx:1.27", DIGEST_NGINX),
            ),
            finding(
                CheckId::MutableImageTag,
                Severity::High,
                "Deployment",
                "web",
                Some("log-shipper"),
                "/spec/template/spec/containers/1/image",
                image("busybox:latest", DIGEST_BUSYBOX),
            ),
        ],
        before,
        after,
        vec![],
        vec![],
    )
}

#[test]
fn preview_env_secret() {
    insta::assert_snapshot!(render_preview(&env_secret_plan(), false));
}

#[test]
fn preview_literal_secret() {
    let plan = literal_plan();
    let preview = render_preview(&plan, false);
    let coloured = render_preview(&plan, true);
    let patch = render_patch(&plan);
    for text in [&preview, &coloured, &patch] {
        assert!(!text.contains("hunter2"), "secret leaked:\n{text}");
    }
    assert!(preview.contains("will create Secret shop/api-secfix"));
    assert!(preview.contains("+  DB_PASSWORD: <redacted>"), "{preview}");
    insta::assert_snapshot!(preview);
}

#[test]
fn preview_network_policy_create() {
    insta::assert_snapshot!(render_preview(&network_policy_plan(), false));
}

/// A least-privilege policy set: the flow table above the policies' YAML (covers issue #10,
/// "How it shows").
fn policy_set_plan() -> Plan {
    use secfix_core::fix::network_policy::{graph::Cluster, plan_least_privilege};
    use secfix_core::model::Workload;
    let workloads: Vec<Workload> = [
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "env": [
                    {"name": "CART_SERVICE_ADDR", "value": "cart:7070"},
                    {"name": "PAYMENT_URL", "value": "https://api.example.com/v1"}]}]}}}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "cart", "namespace": "shop"},
            "spec": {"selector": {"matchLabels": {"app": "cart"}}, "template": {"metadata": {"labels": {"app": "cart"}},
                "spec": {"containers": [{"name": "cart", "ports": [{"name": "grpc", "containerPort": 9000}]}]}}}}),
    ]
    .into_iter()
    .map(|v| Workload::from_value(v).unwrap().unwrap())
    .collect();
    let services: Vec<k8s_openapi::api::core::v1::Service> = [
        json!({"metadata": {"name": "cart", "namespace": "shop"},
            "spec": {"selector": {"app": "cart"}, "ports": [{"port": 7070, "targetPort": "grpc"}]}}),
        json!({"metadata": {"name": "web", "namespace": "shop"},
            "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}),
    ]
    .into_iter()
    .map(|v| serde_json::from_value(v).unwrap())
    .collect();
    let findings: Vec<Finding> = [Direction::Ingress, Direction::Egress]
        .into_iter()
        .map(|direction| {
            finding(
                CheckId::DefaultAllowNamespace,
                Severity::Medium,
                "Namespace",
                "shop",
                None,
                "",
                Detail::DefaultAllowNamespace(
                    secfix_core::checks::default_allow_namespace::Detail::Unisolated {
                        direction,
                        workloads: vec!["Deployment/cart".into(), "Deployment/web".into()],
                    },
                ),
            )
        })
        .collect();
    let by_ns = std::collections::BTreeMap::from([("shop".to_string(), findings)]);
    let cluster = Cluster {
        workloads: &workloads,
        services: &services,
        ..Cluster::default()
    };
    plan_least_privilege(
        &by_ns,
        &cluster,
        &[],
        &secfix_core::fix::FixOptions::default(),
    )
    .remove(0)
}

#[test]
fn preview_network_policy_set_with_flow_table() {
    insta::assert_snapshot!(render_preview(&policy_set_plan(), false));
}

#[test]
fn preview_image_pin() {
    insta::assert_snapshot!(render_preview(&image_pin_plan(), false));
}

#[test]
fn patch_image_pin() {
    insta::assert_snapshot!(render_patch(&image_pin_plan()));
}

#[test]
fn patch_of_a_create_is_the_object() {
    let text = render_patch(&network_policy_plan());
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["kind"], "NetworkPolicy");
    assert_eq!(v["metadata"]["name"], "secfix-default-deny");
}

/// covers issue #19: the patch a user sees and saves is guarded by the pod spec it read, not
/// by `resourceVersion` (which every status write changes).
#[test]
fn patch_starts_with_the_guards_of_the_pod_spec_it_read() {
    let v: Value = serde_json::from_str(&render_patch(&env_secret_plan())).unwrap();
    assert_eq!(v[0]["op"], "test");
    assert_eq!(v[0]["path"], "/spec/template/spec");
    assert!(!v.to_string().contains("resourceVersion"), "{v}");
}

/// A builder that put the literal into its ops (a whole env array, one entry, an entry's
/// value) must still not show it.
#[test]
fn patch_values_holding_literals_are_redacted() {
    let mut plan = literal_plan();
    let env = "/spec/template/spec/containers/0/env";
    let ops: Vec<json_patch::PatchOperation> = serde_json::from_value(json!([
        {"op": "replace", "path": env, "value": [{"name": "DB_PASSWORD", "value": "hunter2"}]},
        {"op": "add", "path": format!("{env}/-"), "value": {"name": "DB_PASSWORD", "value": "hunter2"}},
        {"op": "replace", "path": format!("{env}/1/value"), "value": "hunter2"},
        {"op": "add", "path": "/spec/template/spec/containers/0", "value": {"name": "c", "env": [{"name": "DB_PASSWORD", "value": "hunter2"}]}}
    ]))
    .unwrap();
    // The scrubber would hide these too; check the structural redaction on its own.
    plan.before = live_deployment(
        "api",
        json!({"containers": [{"name": "api", "env": [{"name": "DB_USER", "value": "app"}, {"name": "DB_PASSWORD", "value": "hunter2"}]}]}),
    );
    let patch = serde_json::to_value(json_patch::Patch(ops.clone())).unwrap();
    // Only the plan's finding names, nothing learned from values: the structural part alone.
    let mut names_only = plan.clone();
    names_only.before = serde_json::Value::Null;
    names_only.after = serde_json::Value::Null;
    let patch =
        secfix_core::fix::redact::Redactor::for_plan(&names_only).patch(&patch, &plan.before);
    assert!(!patch.to_string().contains("hunter2"), "{patch}");
    assert_eq!(patch.to_string().matches("<redacted>").count(), 4);

    if let Action::Patch { ops: o, .. } = &mut plan.action {
        *o = ops;
    }
    assert!(!render_patch(&plan).contains("hunter2"));
}

/// Values nothing marks as literal secrets, but which the plan's sensitive Secret holds, are
/// scrubbed from warnings and diffs as a last resort.
#[test]
fn scrubber_catches_what_redaction_missed() {
    let mut plan = literal_plan();
    plan.warnings
        .push("builder bug: the value was hunter2".into());
    plan.findings.clear(); // no LiteralSecret detail: display_objects redacts nothing
    let preview = render_preview(&plan, false);
    assert!(!preview.contains("hunter2"), "{preview}");
    assert!(!render_patch(&plan).contains("hunter2"));
}

/// covers issue #15 (item 3): the interactive preview and "show JSON patch" of a plan that
/// only pins a digest never show a literal the plan does not move (diff context, args,
/// annotations, the last-applied annotation).
#[test]
fn a_digest_only_preview_never_shows_an_unmoved_literal() {
    let canary = "sfxCANARY-f6g7h8i9j0";
    let spec = |image: &str| {
        json!({"containers": [{"name": "nginx", "image": image,
            "args": [format!("--token={canary}")],
            "env": [{"name": "API_TOKEN", "value": canary}, {"name": "COPY", "value": canary}]}]})
    };
    let mut plan = image_pin_plan();
    let pinned = format!("nginx:1.27@{DIGEST_NGINX}");
    plan.before = live_deployment("web", spec("nginx:1.27"));
    plan.after = live_deployment("web", spec(&pinned));
    for obj in [&mut plan.before, &mut plan.after] {
        obj["metadata"]["annotations"] = json!({
            "note": format!("token {canary}"),
            secfix_core::fix::redact::LAST_APPLIED_ANNOTATION: json!({"spec": {"containers": [
                {"name": "nginx", "env": [{"name": "API_TOKEN", "value": canary}]}]}}).to_string()
        });
    }
    for color in [false, true] {
        let preview = super::diff::render_preview(&plan, color);
        assert!(!preview.contains("sfxCANARY"), "{preview}");
        assert!(preview.contains(DIGEST_NGINX), "{preview}");
    }
    let patch = super::diff::render_patch(&plan);
    assert!(!patch.contains("sfxCANARY"), "{patch}");
    let (before, after) = plan.display_objects();
    assert!(!format!("{before}{after}").contains("sfxCANARY"));
}
