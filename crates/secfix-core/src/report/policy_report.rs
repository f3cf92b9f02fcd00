//! Findings as Kubernetes Policy Working Group reports (`wgpolicyk8s.io/v1alpha2`), the
//! objects `scan --report-to-cluster` writes and dashboards such as Policy Reporter read.
//!
//! Pure: [`build`] turns findings into report objects; the cluster side (listing, replacing
//! and deleting our reports) lives in `crate::cluster`.
//!
//! Mapping (documented in the README, "In the cluster, on a schedule"):
//! - one `PolicyReport` named [`REPORT_NAME`] per namespace with findings on namespaced
//!   objects, `scope` = that Namespace;
//! - one `ClusterPolicyReport` named [`REPORT_NAME`] for findings on cluster-scoped objects:
//!   today the Namespace objects themselves (`default-allow-namespace`), as policy engines
//!   report cluster-scoped resources;
//! - one result per finding, in the scan report's order: `source` = `kubectl-secfix`,
//!   `policy` = check id, `rule` = the kind of evidence (`detail.type`: `secretKeyRef`,
//!   `literalSecret`, `unisolated`, `image`, …), `category` = the check's first tag (`secrets`,
//!   `network`, `supply-chain`), `severity` = the finding's, `result` = `fail`,
//!   `scored` = true, `timestamp` = when the scan ran, `resources` = the object (apiVersion,
//!   kind, namespace, name), `message` = the finding's message, and `properties` = every
//!   other field of the finding as it appears in `-o json` (nested objects flattened with
//!   dots, e.g. `detail.secret`; lists of strings joined with `, `; other lists as JSON;
//!   empty values left out: the 1.20 API server, at least, reads an empty string in that
//!   map as null and rejects the whole report);
//! - `summary.fail` = the number of results; `pass`, `warn`, `error` and `skip` are 0
//!   (suppressed findings are neither results nor counted);
//! - every report is labelled [`MANAGED_BY_LABEL`]=[`MANAGED_BY`], which is how a later run
//!   finds the reports to replace or delete and never touches anyone else's.
//!
//! A finding never holds a secret's value (see `crate::checks::Finding`), so neither does a
//! report built from it.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::checks::{Finding, Severity};

/// API group of the reports.
pub const GROUP: &str = "wgpolicyk8s.io";
/// API version served by the Policy WG's CRDs that policy engines read.
pub const VERSION: &str = "v1alpha2";
/// `apiVersion` of both report kinds.
pub const API_VERSION: &str = "wgpolicyk8s.io/v1alpha2";
/// The namespaced report kind (one per namespace).
pub const POLICY_REPORT: &str = "PolicyReport";
/// The cluster-scoped report kind.
pub const CLUSTER_POLICY_REPORT: &str = "ClusterPolicyReport";
/// Resource (plural) names, for RBAC and URLs.
pub const POLICY_REPORTS: &str = "policyreports";
pub const CLUSTER_POLICY_REPORTS: &str = "clusterpolicyreports";
/// The name of every report kubectl-secfix writes: one per namespace, one cluster-wide.
pub const REPORT_NAME: &str = "kubectl-secfix";
/// The label that marks a report as written by kubectl-secfix.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Its value.
pub const MANAGED_BY: &str = "kubectl-secfix";
/// `results[].source`: the engine that produced the result.
pub(crate) const SOURCE: &str = "kubectl-secfix";

/// The label selector that finds our reports (`app.kubernetes.io/managed-by=kubectl-secfix`).
pub fn managed_by_selector() -> String {
    format!("{MANAGED_BY_LABEL}={MANAGED_BY}")
}

/// A `PolicyReport` or `ClusterPolicyReport` (the two share their shape; `kind` tells them
/// apart), as the v1alpha2 CRD defines it. Also `Deserialize`, to read our reports back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyReport {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    /// What the report is about: the Namespace, for a namespace's report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ObjectReference>,
    #[serde(default)]
    pub summary: Summary,
    #[serde(default)]
    pub results: Vec<PolicyResult>,
}

/// Result counts by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    #[serde(default)]
    pub pass: u64,
    #[serde(default)]
    pub fail: u64,
    #[serde(default)]
    pub warn: u64,
    #[serde(default)]
    pub error: u64,
    #[serde(default)]
    pub skip: u64,
}

impl Summary {
    /// Counts `results` by status.
    pub fn of(results: &[PolicyResult]) -> Summary {
        let mut s = Summary::default();
        for r in results {
            match r.result {
                Status::Pass => s.pass += 1,
                Status::Fail => s.fail += 1,
                Status::Warn => s.warn += 1,
                Status::Error => s.error += 1,
                Status::Skip => s.skip += 1,
            }
        }
        s
    }
}

/// The outcome of one policy rule on one resource (one finding).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub policy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    pub result: Status,
    #[serde(default)]
    pub scored: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
}

/// `results[].result`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Warn,
    Error,
    Skip,
}

/// `results[].timestamp`: protobuf-style seconds and nanos since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timestamp {
    pub seconds: i64,
    pub nanos: i32,
}

/// The reports one scan produces.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyReports {
    /// One `PolicyReport` per namespace that has findings on namespaced objects, by namespace.
    pub namespaces: BTreeMap<String, PolicyReport>,
    /// Results on cluster-scoped objects (Namespace objects), for the `ClusterPolicyReport`,
    /// in the scan report's order; empty when there are none.
    pub cluster_results: Vec<PolicyResult>,
}

/// Builds the reports for `findings` (in the scan report's order), scanned at `at`.
pub fn build(findings: &[Finding], at: Timestamp) -> PolicyReports {
    let mut out = PolicyReports::default();
    let mut by_ns: BTreeMap<String, Vec<PolicyResult>> = BTreeMap::new();
    for f in findings {
        let r = result(f, at);
        if is_cluster_scoped(f) {
            out.cluster_results.push(r);
        } else {
            by_ns.entry(f.namespace.clone()).or_default().push(r);
        }
    }
    out.namespaces = by_ns
        .into_iter()
        .map(|(ns, results)| {
            let report = namespace_report(&ns, results);
            (ns, report)
        })
        .collect();
    out
}

/// Whether a finding is about a cluster-scoped object: it goes into the
/// `ClusterPolicyReport`. A Namespace object, or anything that names no namespace.
pub(crate) fn is_cluster_scoped(f: &Finding) -> bool {
    (f.kind == "Namespace" && f.api_version == "v1") || f.namespace.is_empty()
}

/// The `PolicyReport` of namespace `ns` holding `results`.
pub fn namespace_report(ns: &str, results: Vec<PolicyResult>) -> PolicyReport {
    PolicyReport {
        api_version: API_VERSION.to_string(),
        kind: POLICY_REPORT.to_string(),
        metadata: ObjectMeta {
            name: Some(REPORT_NAME.to_string()),
            namespace: Some(ns.to_string()),
            labels: Some(labels()),
            ..ObjectMeta::default()
        },
        scope: Some(ObjectReference {
            api_version: Some("v1".to_string()),
            kind: Some("Namespace".to_string()),
            name: Some(ns.to_string()),
            ..ObjectReference::default()
        }),
        summary: Summary::of(&results),
        results,
    }
}

/// The `ClusterPolicyReport` holding `results`.
pub fn cluster_report(results: Vec<PolicyResult>) -> PolicyReport {
    PolicyReport {
        api_version: API_VERSION.to_string(),
        kind: CLUSTER_POLICY_REPORT.to_string(),
        metadata: ObjectMeta {
            name: Some(REPORT_NAME.to_string()),
            labels: Some(labels()),
            ..ObjectMeta::default()
        },
        scope: None,
        summary: Summary::of(&results),
        results,
    }
}

/// The cluster report's results after a scan of one namespace `ns`: the results of
/// `existing` about other namespaces are kept, those about `ns` are replaced by `fresh`.
/// Results are grouped by namespace (stable: each group keeps its order).
pub fn merge_cluster_results(
    existing: &[PolicyResult],
    fresh: Vec<PolicyResult>,
    ns: &str,
) -> Vec<PolicyResult> {
    let mut results: Vec<PolicyResult> = existing
        .iter()
        .filter(|r| result_namespace(r) != Some(ns))
        .cloned()
        .chain(fresh)
        .collect();
    results.sort_by(|a, b| result_namespace(a).cmp(&result_namespace(b)));
    results
}

/// `results[].policy` of the result that marks a report as written by an incomplete scan.
pub const INCOMPLETE_POLICY: &str = "kubectl-secfix-scan";

/// The results to write after a scan that could not list the kinds `unlisted`: `fresh`, plus
/// every result of `old` the scan could not see again: those about an unlisted kind, and the
/// namespace-level ones (`default-allow-namespace`, which depend on every pod). A result
/// already in `fresh` (same policy, resource and path) is not repeated. A previous
/// [`incomplete_result`] is never kept. With nothing unlisted, just `fresh`.
///
/// So an incomplete scan never makes a namespace look clean: what it could not see keeps its
/// last known results until a complete scan replaces them.
pub fn keep_unseen(
    old: &[PolicyResult],
    fresh: Vec<PolicyResult>,
    unlisted: &BTreeSet<String>,
) -> Vec<PolicyResult> {
    if unlisted.is_empty() {
        return fresh;
    }
    fn identity(r: &PolicyResult) -> [Option<String>; 5] {
        let res = r.resources.first();
        [
            Some(r.policy.clone()),
            res.and_then(|x| x.kind.clone()),
            res.and_then(|x| x.namespace.clone()),
            res.and_then(|x| x.name.clone()),
            r.properties.get("path").cloned(),
        ]
    }
    let seen: BTreeSet<_> = fresh.iter().map(identity).collect();
    let kept: Vec<PolicyResult> = old
        .iter()
        .filter(|r| r.policy != INCOMPLETE_POLICY)
        .filter(|r| {
            r.resources
                .first()
                .and_then(|res| res.kind.as_deref())
                .is_some_and(|k| k == "Namespace" || unlisted.contains(k))
        })
        .filter(|r| !seen.contains(&identity(r)))
        .cloned()
        .collect();
    fresh.into_iter().chain(kept).collect()
}

/// The `ClusterPolicyReport` result that records an incomplete scan: `result: error`
/// (counted in `summary.error`), naming the kinds that could not be listed in its message
/// and in the property `unlistedKinds` (comma-separated). After a scan of one namespace its
/// resource is that Namespace, so it is replaced by the next scan of that namespace and kept
/// by scans of others.
pub fn incomplete_result(
    unlisted: &BTreeSet<String>,
    at: Timestamp,
    namespace: Option<&str>,
) -> PolicyResult {
    let kinds = unlisted.iter().cloned().collect::<Vec<_>>().join(",");
    PolicyResult {
        source: Some(SOURCE.to_string()),
        policy: INCOMPLETE_POLICY.to_string(),
        rule: Some("complete-scan".to_string()),
        category: None,
        severity: None,
        result: Status::Error,
        scored: false,
        timestamp: Some(at),
        resources: namespace
            .map(|ns| ObjectReference {
                api_version: Some("v1".to_string()),
                kind: Some("Namespace".to_string()),
                name: Some(ns.to_string()),
                ..ObjectReference::default()
            })
            .into_iter()
            .collect(),
        message: Some(format!(
            "incomplete scan: could not list {}; results about them, and namespace-level \
             results, are kept from the previous scan",
            kinds.replace(',', ", ")
        )),
        properties: BTreeMap::from([("unlistedKinds".to_string(), kinds)]),
    }
}

/// The namespace a result is about: its resource's namespace, or the name of a Namespace
/// resource.
pub(crate) fn result_namespace(r: &PolicyResult) -> Option<&str> {
    let res = r.resources.first()?;
    match (&res.namespace, res.kind.as_deref()) {
        (Some(ns), _) if !ns.is_empty() => Some(ns),
        (_, Some("Namespace")) => res.name.as_deref(),
        _ => None,
    }
}

fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([(MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string())])
}

/// Finding fields that become first-class result fields (not properties).
const MAPPED: [&str; 7] = [
    "check",
    "severity",
    "namespace",
    "kind",
    "apiVersion",
    "name",
    "message",
];

/// One finding as one result.
pub fn result(f: &Finding, at: Timestamp) -> PolicyResult {
    let value = serde_json::to_value(f).unwrap_or(Value::Null);
    let mut properties = BTreeMap::new();
    if let Value::Object(map) = &value {
        for (k, v) in map {
            if !MAPPED.contains(&k.as_str()) {
                flatten(k, v, &mut properties);
            }
        }
    }
    let rule = value
        .pointer("/detail/type")
        .and_then(Value::as_str)
        .map(str::to_string);
    let cluster_scoped = is_cluster_scoped(f);
    PolicyResult {
        source: Some(SOURCE.to_string()),
        policy: f.check.as_str().to_string(),
        rule,
        category: f.check.meta().tags.first().map(|t| t.to_string()),
        severity: Some(f.severity),
        result: Status::Fail,
        scored: true,
        timestamp: Some(at),
        resources: vec![ObjectReference {
            api_version: Some(f.api_version.clone()),
            kind: Some(f.kind.clone()),
            name: Some(f.name.clone()),
            namespace: (!cluster_scoped && !f.namespace.is_empty()).then(|| f.namespace.clone()),
            ..ObjectReference::default()
        }],
        message: Some(f.message.clone()),
        properties,
    }
}

/// Adds `value` under `key` to `out`: scalars as text, objects key by key (`key.sub`),
/// lists of strings joined with `, `, other lists as JSON; `null` and `""` are left out.
fn flatten(key: &str, value: &Value, out: &mut BTreeMap<String, String>) {
    match value {
        Value::Null => {}
        Value::Bool(b) => {
            out.insert(key.to_string(), b.to_string());
        }
        Value::Number(n) => {
            out.insert(key.to_string(), n.to_string());
        }
        // The 1.20 API server's validation (at least) reads an empty string in a string map
        // as null and rejects the whole report: an empty value is left out, like a null one.
        Value::String(s) if s.is_empty() => {}
        Value::String(s) => {
            out.insert(key.to_string(), s.clone());
        }
        Value::Object(map) => {
            for (k, v) in map {
                flatten(&format!("{key}.{k}"), v, out);
            }
        }
        Value::Array(items) => {
            let text = if items.iter().all(Value::is_string) {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                value.to_string()
            };
            out.insert(key.to_string(), text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{CheckId, Detail, Direction};
    use crate::model::SourceLocation;
    use serde_json::json;

    const AT: Timestamp = Timestamp {
        seconds: 1_790_000_000,
        nanos: 0,
    };

    fn env_secret(ns: &str, name: &str) -> Finding {
        Finding {
            origin: None,
            check: CheckId::EnvSecret,
            severity: Severity::High,
            namespace: ns.into(),
            kind: "Deployment".into(),
            api_version: "apps/v1".into(),
            name: name.into(),
            container: Some("web".into()),
            path: "/spec/template/spec/containers/0/env/0".into(),
            at: None,
            message: "DB_PASSWORD from Secret shop-db (key password)".into(),
            fixable: true,
            not_fixable_reason: None,
            source: None,
            detail: Detail::EnvSecret(crate::checks::env_secret::Detail::SecretKeyRef {
                env: "DB_PASSWORD".into(),
                secret: "shop-db".into(),
                key: "password".into(),
                optional: false,
                delivery: None,
            }),
            baseline: false,
        }
    }

    fn unisolated(ns: &str, direction: Direction) -> Finding {
        Finding {
            origin: None,
            check: CheckId::DefaultAllowNamespace,
            severity: Severity::Medium,
            namespace: ns.into(),
            kind: "Namespace".into(),
            api_version: "v1".into(),
            name: ns.into(),
            container: None,
            path: String::new(),
            at: None,
            message: format!(
                "no NetworkPolicy isolates {} for 2 workloads",
                direction.as_str()
            ),
            fixable: true,
            not_fixable_reason: None,
            source: None,
            detail: Detail::DefaultAllowNamespace(
                crate::checks::default_allow_namespace::Detail::Unisolated {
                    direction,
                    workloads: vec!["deployment/a".into(), "deployment/b".into()],
                },
            ),
            baseline: false,
        }
    }

    #[test]
    fn a_finding_becomes_one_failed_result_with_every_field() {
        let r = result(&env_secret("shop", "web"), AT);
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({
                "source": "kubectl-secfix",
                "policy": "env-secret",
                "rule": "secretKeyRef",
                "category": "secrets",
                "severity": "high",
                "result": "fail",
                "scored": true,
                "timestamp": {"seconds": 1_790_000_000, "nanos": 0},
                "resources": [{"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"}],
                "message": "DB_PASSWORD from Secret shop-db (key password)",
                "properties": {
                    "container": "web",
                    "path": "/spec/template/spec/containers/0/env/0",
                    "fixable": "true",
                    "detail.type": "secretKeyRef",
                    "detail.env": "DB_PASSWORD",
                    "detail.secret": "shop-db",
                    "detail.key": "password",
                    "detail.optional": "false",
                },
            })
        );
    }

    #[test]
    fn lists_and_nested_objects_are_flattened_into_properties() {
        let mut f = unisolated("shop", Direction::Egress);
        f.source = Some(SourceLocation {
            file: "a.yaml".into(),
            line: 3,
            ..SourceLocation::default()
        });
        f.not_fixable_reason = Some("why".into());
        let r = result(&f, AT);
        assert_eq!(
            r.properties["detail.workloads"],
            "deployment/a, deployment/b"
        );
        assert_eq!(r.properties["detail.direction"], "egress");
        assert_eq!(r.properties["source.file"], "a.yaml");
        assert_eq!(r.properties["source.line"], "3");
        assert_eq!(r.properties["notFixableReason"], "why");
        assert!(!r.properties.contains_key("container"), "None is left out");
        assert!(
            !r.properties.contains_key("path"),
            "an empty string is left out"
        );
        for mapped in MAPPED {
            assert!(
                !r.properties.contains_key(mapped),
                "{mapped} is a result field"
            );
        }
        let mut out = BTreeMap::new();
        flatten("x", &json!([1, "a"]), &mut out);
        assert_eq!(out["x"], r#"[1,"a"]"#);
    }

    #[test]
    fn namespaced_findings_go_to_their_namespace_and_namespace_findings_to_the_cluster_report() {
        let findings = vec![
            env_secret("shop", "web"),
            unisolated("shop", Direction::Ingress),
            env_secret("blog", "cms"),
            env_secret("shop", "worker"),
            unisolated("blog", Direction::Egress),
        ];
        let reports = build(&findings, AT);
        assert_eq!(
            reports.namespaces.keys().collect::<Vec<_>>(),
            ["blog", "shop"]
        );
        let shop = &reports.namespaces["shop"];
        assert_eq!(shop.kind, "PolicyReport");
        assert_eq!(shop.api_version, "wgpolicyk8s.io/v1alpha2");
        assert_eq!(shop.metadata.name.as_deref(), Some("kubectl-secfix"));
        assert_eq!(shop.metadata.namespace.as_deref(), Some("shop"));
        assert_eq!(
            shop.metadata.labels.as_ref().unwrap()["app.kubernetes.io/managed-by"],
            "kubectl-secfix"
        );
        assert_eq!(
            shop.scope.as_ref().unwrap().kind.as_deref(),
            Some("Namespace")
        );
        assert_eq!(shop.scope.as_ref().unwrap().name.as_deref(), Some("shop"));
        let names: Vec<_> = shop
            .results
            .iter()
            .map(|r| r.resources[0].name.clone().unwrap())
            .collect();
        assert_eq!(names, ["web", "worker"], "in the scan report's order");
        assert_eq!(
            shop.summary,
            Summary {
                fail: 2,
                ..Summary::default()
            }
        );

        assert_eq!(reports.cluster_results.len(), 2);
        let ns_ref = &reports.cluster_results[0].resources[0];
        assert_eq!(
            serde_json::to_value(ns_ref).unwrap(),
            json!({"apiVersion": "v1", "kind": "Namespace", "name": "shop"}),
            "a cluster-scoped resource has no namespace"
        );
        assert_eq!(result_namespace(&reports.cluster_results[0]), Some("shop"));
        let cluster = cluster_report(reports.cluster_results.clone());
        assert_eq!(cluster.kind, "ClusterPolicyReport");
        assert_eq!(cluster.metadata.namespace, None);
        assert_eq!(cluster.summary.fail, 2);
    }

    #[test]
    fn no_findings_no_reports() {
        assert_eq!(build(&[], AT), PolicyReports::default());
    }

    #[test]
    fn a_one_namespace_scan_replaces_only_that_namespace_in_the_cluster_report() {
        let old = build(
            &[
                unisolated("a", Direction::Ingress),
                unisolated("b", Direction::Ingress),
                unisolated("b", Direction::Egress),
                unisolated("c", Direction::Egress),
            ],
            AT,
        )
        .cluster_results;
        let fresh = build(&[unisolated("b", Direction::Egress)], AT).cluster_results;
        let merged = merge_cluster_results(&old, fresh.clone(), "b");
        let got: Vec<_> = merged
            .iter()
            .map(|r| {
                (
                    result_namespace(r).unwrap(),
                    r.properties["detail.direction"].as_str(),
                )
            })
            .collect();
        assert_eq!(got, [("a", "ingress"), ("b", "egress"), ("c", "egress")]);
        assert_eq!(merge_cluster_results(&old, vec![], "b").len(), 2);
        assert_eq!(merge_cluster_results(&[], fresh, "z").len(), 1);
    }

    /// The `openAPIV3Schema` of a vendored CRD, made strict: every object schema that lists
    /// its properties rejects others, so a misspelt field fails here instead of being pruned
    /// silently by the API server.
    fn strict_schema(crd_yaml: &str) -> Value {
        fn strict(v: &mut Value) {
            match v {
                Value::Object(map) => {
                    if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                        map.insert("additionalProperties".into(), json!(false));
                    }
                    map.values_mut().for_each(strict);
                }
                Value::Array(items) => items.iter_mut().for_each(strict),
                _ => {}
            }
        }
        let crd: Value = serde_saphyr::from_str(crd_yaml).unwrap();
        let versions = crd["spec"]["versions"].as_array().unwrap();
        let v1alpha2 = versions.iter().find(|v| v["name"] == VERSION).unwrap();
        let mut schema = v1alpha2["schema"]["openAPIV3Schema"].clone();
        strict(&mut schema);
        schema
    }

    #[test]
    fn reports_validate_against_the_policy_wg_crds() {
        let findings = vec![
            env_secret("shop", "web"),
            unisolated("shop", Direction::Ingress),
        ];
        let reports = build(&findings, AT);
        for (crd, report) in [
            (
                include_str!(
                    "../../../../tests/fixtures/policy-report/wgpolicyk8s.io_policyreports.yaml"
                ),
                reports.namespaces["shop"].clone(),
            ),
            (
                include_str!(
                    "../../../../tests/fixtures/policy-report/wgpolicyk8s.io_clusterpolicyreports.yaml"
                ),
                cluster_report(reports.cluster_results.clone()),
            ),
        ] {
            let schema = strict_schema(crd);
            let validator = jsonschema::validator_for(&schema).unwrap();
            let instance = serde_json::to_value(&report).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&instance)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{}: {errors:#?}", report.kind);
        }
        // The strict schema does catch a stray field.
        let schema = strict_schema(include_str!(
            "../../../../tests/fixtures/policy-report/wgpolicyk8s.io_policyreports.yaml"
        ));
        let mut bad = serde_json::to_value(&reports.namespaces["shop"]).unwrap();
        bad["results"][0]["data"] = json!({"x": "y"});
        assert!(!jsonschema::validator_for(&schema).unwrap().is_valid(&bad));
    }

    #[test]
    fn reports_serialize_as_the_crd_expects_and_read_back() {
        let reports = build(&[env_secret("shop", "web")], AT);
        let v = serde_json::to_value(&reports.namespaces["shop"]).unwrap();
        assert_eq!(
            v["summary"],
            json!({"pass": 0, "fail": 1, "warn": 0, "error": 0, "skip": 0})
        );
        assert_eq!(
            v["metadata"],
            json!({"name": "kubectl-secfix", "namespace": "shop", "labels": {"app.kubernetes.io/managed-by": "kubectl-secfix"}})
        );
        assert_eq!(
            v["scope"],
            json!({"apiVersion": "v1", "kind": "Namespace", "name": "shop"})
        );
        let back: PolicyReport = serde_json::from_value(v).unwrap();
        assert_eq!(back, reports.namespaces["shop"]);
        assert_eq!(
            managed_by_selector(),
            "app.kubernetes.io/managed-by=kubectl-secfix"
        );
    }
}
