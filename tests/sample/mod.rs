//! A fixed scan report for the report tests (`tests/report.rs`, `tests/html_browser.rs`):
//! findings of every check and every detail variant, with and without a source file, plus
//! warnings, suppressed findings, an origin and a time; and [`large`], a deterministic
//! report of any size.
#![allow(dead_code)]

use kubectl_secfix::model::SourceLocation;

use kubectl_secfix::checks::{CheckId, Delivery, Detail, Direction, Finding, Severity};
use kubectl_secfix::report::{Origin, Report, Target};

pub(crate) fn source(file: &str, line: usize) -> Option<SourceLocation> {
    Some(SourceLocation {
        file: file.into(),
        line,
        ..SourceLocation::default()
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn finding(
    check: CheckId,
    severity: Severity,
    (namespace, kind, api_version, name): (&str, &str, &str, &str),
    container: Option<&str>,
    path: &str,
    message: &str,
    fixable: Result<(), &str>,
    source: Option<SourceLocation>,
    detail: Detail,
) -> Finding {
    Finding {
        origin: None,
        check,
        severity,
        namespace: namespace.into(),
        kind: kind.into(),
        api_version: api_version.into(),
        name: name.into(),
        container: container.map(Into::into),
        path: path.into(),
        at: None,
        message: message.into(),
        fixable: fixable.is_ok(),
        not_fixable_reason: fixable.err().map(Into::into),
        source,
        detail,
        baseline: false,
    }
}

/// A fixed report with findings of every check and every detail variant, with and
/// without a source file, plus warnings and suppressed findings.
pub(crate) fn sample() -> Report {
    Report {
        findings: [secret_findings(), namespace_findings(), image_findings()].concat(),
        suppressed: 1,
        scanned: 12,
        warnings: vec![
            "CronJob: batch/v1 not served, used batch/v1beta1".into(),
            "Deployments: forbidden (needs list deployments.apps)".into(),
        ],
        errors: Vec::new(),
        origin: Origin {
            target: Target::Cluster {
                context: Some("admin".into()),
                cluster: Some("prod".into()),
                kubeconfig: None,
            },
            // As a scan without --allowed-registries: untrusted-registry does not run.
            ran: CheckId::ALL
                .into_iter()
                .filter(|c| *c != CheckId::UntrustedRegistry)
                .collect(),
            ..Origin::default()
        },
        time: Some("2026-11-27T10:15:00Z".parse().unwrap()),
        contexts: Vec::new(),
    }
}

/// The API Deployment of the sample.
const API: (&str, &str, &str, &str) = ("shop", "Deployment", "apps/v1", "api");

/// env-secret (a key, a whole Secret) and env-literal-secret findings.
fn secret_findings() -> Vec<Finding> {
    let api = API;
    vec![
        finding(
            CheckId::EnvSecret,
            Severity::High,
            api,
            Some("app"),
            "/spec/template/spec/containers/0/env/1",
            "env DB_PASSWORD comes from Secret db (key password)",
            Ok(()),
            source("deploy/api.yaml", 1),
            Detail::EnvSecret(kubectl_secfix::checks::env_secret::Detail::SecretKeyRef {
                env: "DB_PASSWORD".into(),
                secret: "db".into(),
                key: "password".into(),
                optional: false,
                delivery: Some(Delivery::Native),
            }),
        ),
        finding(
            CheckId::EnvSecret,
            Severity::High,
            ("shop", "StatefulSet", "apps/v1", "cache"),
            Some("redis"),
            "/spec/template/spec/initContainers/0/envFrom/0",
            "envFrom imports every key of Secret redis-auth",
            Ok(()),
            None,
            Detail::EnvSecret(kubectl_secfix::checks::env_secret::Detail::SecretRef {
                secret: "redis-auth".into(),
                prefix: Some("REDIS_".into()),
                optional: true,
                delivery: Some(Delivery::AppChange),
            }),
        ),
        finding(
            CheckId::EnvLiteralSecret,
            Severity::High,
            api,
            Some("app"),
            "/spec/template/spec/containers/0/env/2",
            "env API_TOKEN holds a literal that looks like a GitHub token",
            Ok(()),
            source("deploy/api.yaml", 1),
            Detail::EnvLiteralSecret(
                kubectl_secfix::checks::env_literal_secret::Detail::LiteralSecret {
                    env: "API_TOKEN".into(),
                    reason: "looks like a GitHub token".into(),
                    delivery: Some(Delivery::AppChange),
                },
            ),
        ),
    ]
}

/// default-allow-namespace findings, one per direction.
fn namespace_findings() -> Vec<Finding> {
    vec![
        finding(
            CheckId::DefaultAllowNamespace,
            Severity::Medium,
            ("shop", "Namespace", "v1", "shop"),
            None,
            "",
            "no NetworkPolicy isolates ingress to 2 workloads",
            Ok(()),
            None,
            Detail::DefaultAllowNamespace(
                kubectl_secfix::checks::default_allow_namespace::Detail::Unisolated {
                    direction: Direction::Ingress,
                    workloads: vec!["deployment/api".into(), "statefulset/cache".into()],
                },
            ),
        ),
        finding(
            CheckId::DefaultAllowNamespace,
            Severity::Medium,
            ("shop", "Namespace", "v1", "shop"),
            None,
            "",
            "no NetworkPolicy isolates egress from 2 workloads",
            Ok(()),
            None,
            Detail::DefaultAllowNamespace(
                kubectl_secfix::checks::default_allow_namespace::Detail::Unisolated {
                    direction: Direction::Egress,
                    workloads: vec!["deployment/api".into(), "statefulset/cache".into()],
                },
            ),
        ),
    ]
}

/// mutable-image-tag findings: one with a digest, one not fixable.
fn image_findings() -> Vec<Finding> {
    vec![
        finding(
            CheckId::MutableImageTag,
            Severity::High,
            ("jobs", "CronJob", "batch/v1beta1", "nightly-report"),
            Some("report"),
            "/spec/jobTemplate/spec/template/spec/containers/0/image",
            "image busybox:latest is not pinned by digest",
            Ok(()),
            source("manifests/my jobs.yaml", 12),
            Detail::MutableImageTag(kubectl_secfix::checks::mutable_image_tag::Detail::Image {
                image: "busybox:latest".into(),
                digest: Some(
                    "sha256:2e4b6e1d3f5a7c9b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b"
                        .into(),
                ),
                digest_source: Some(kubectl_secfix::checks::DigestFrom::Pods),
            }),
        ),
        finding(
            CheckId::MutableImageTag,
            Severity::Medium,
            ("default", "Pod", "v1", "debug"),
            Some("shell"),
            "/spec/ephemeralContainers/0/image",
            "image nginx:1.27 is not pinned by digest",
            Err("no digest: the pod is not running and --digest-source=pods"),
            source("-", 1),
            Detail::MutableImageTag(kubectl_secfix::checks::mutable_image_tag::Detail::Image {
                image: "nginx:1.27".into(),
                digest: None,
                digest_source: None,
            }),
        ),
    ]
}

/// `n` findings over 97 namespaces, every check and severity, a third not fixable; the
/// same `n` gives the same report.
pub(crate) fn large(n: usize) -> Report {
    let checks = CheckId::ALL;
    let severities = [Severity::High, Severity::Medium, Severity::Low];
    let findings = (0..n)
        .map(|i| {
            let check = checks[i % checks.len()];
            let fixable = i % 3 != 0;
            finding(
                check,
                severities[(i / 7) % 3],
                (
                    &format!("team-{:02}", i % 97),
                    "Deployment",
                    "apps/v1",
                    &format!("app-{i}"),
                ),
                Some("main"),
                "/spec/template/spec/containers/0/image",
                &format!("finding {i} of {}", check.as_str()),
                if fixable {
                    Ok(())
                } else {
                    Err("no digest known")
                },
                None,
                Detail::MutableImageTag(kubectl_secfix::checks::mutable_image_tag::Detail::Image {
                    image: format!("registry.example/app-{i}:v1"),
                    digest: None,
                    digest_source: None,
                }),
            )
        })
        .collect();
    Report {
        findings,
        suppressed: 3,
        scanned: n,
        ..sample()
    }
}
