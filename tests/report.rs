//! Scan output formats: snapshots of a fixed sample report, SARIF validated against the
//! official SARIF 2.1.0 schema, JSON/YAML agreement, and no secret value in any format.

use kubectl_secfix::model::{
    CheckId, Delivery, Detail, Direction, Finding, REDACTED, Severity, SourceLocation,
};
use kubectl_secfix::report::{
    API_VERSION, FINGERPRINT_KEY, Report, ScanReport, render_table, to_json, to_sarif, to_yaml,
};
use serde_json::Value;

/// The official SARIF 2.1.0 JSON schema (draft-07), vendored so the test needs no network.
///
/// Source: OASIS SARIF TC repository, <https://github.com/oasis-tcs/sarif-spec>, file
/// `Documents/CommitteeSpecifications/2.1.0/sarif-schema-2.1.0.json` at commit
/// 3682e9ee648f2f3e11ba1fcd47fc390a0b8f9dab, copied byte for byte (112318 bytes).
/// It differs from the later OASIS Standard / errata 01 text only in descriptions and in
/// `suppression.state` (renamed `status`), which this tool never writes.
const SARIF_SCHEMA: &str = include_str!("fixtures/sarif-schema-2.1.0.json");

fn source(file: &str, line: usize) -> Option<SourceLocation> {
    Some(SourceLocation {
        file: file.into(),
        line,
        document: 0,
        item: None,
    })
}

#[allow(clippy::too_many_arguments)]
fn finding(
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
        check,
        severity,
        namespace: namespace.into(),
        kind: kind.into(),
        api_version: api_version.into(),
        name: name.into(),
        container: container.map(Into::into),
        path: path.into(),
        message: message.into(),
        fixable: fixable.is_ok(),
        not_fixable_reason: fixable.err().map(Into::into),
        source,
        detail,
    }
}

/// A fixed report with findings of every check and every detail variant, with and
/// without a source file, plus warnings and suppressed findings.
fn sample() -> Report {
    let api = ("shop", "Deployment", "apps/v1", "api");
    Report {
        findings: vec![
            finding(
                CheckId::EnvSecret,
                Severity::High,
                api,
                Some("app"),
                "/spec/template/spec/containers/0/env/1",
                "env DB_PASSWORD comes from Secret db (key password)",
                Ok(()),
                source("deploy/api.yaml", 1),
                Detail::SecretKeyRef {
                    env: "DB_PASSWORD".into(),
                    secret: "db".into(),
                    key: "password".into(),
                    optional: false,
                    delivery: Some(Delivery::Native),
                },
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
                Detail::SecretRef {
                    secret: "redis-auth".into(),
                    prefix: Some("REDIS_".into()),
                    optional: true,
                    delivery: Some(Delivery::AppChange),
                },
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
                Detail::LiteralSecret {
                    env: "API_TOKEN".into(),
                    reason: "looks like a GitHub token".into(),
                    delivery: Some(Delivery::AppChange),
                },
            ),
            finding(
                CheckId::DefaultAllowNamespace,
                Severity::Medium,
                ("shop", "Namespace", "v1", "shop"),
                None,
                "",
                "no NetworkPolicy isolates ingress to 2 workloads",
                Ok(()),
                None,
                Detail::Unisolated {
                    direction: Direction::Ingress,
                    workloads: vec!["deployment/api".into(), "statefulset/cache".into()],
                },
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
                Detail::Unisolated {
                    direction: Direction::Egress,
                    workloads: vec!["deployment/api".into(), "statefulset/cache".into()],
                },
            ),
            finding(
                CheckId::MutableImageTag,
                Severity::High,
                ("jobs", "CronJob", "batch/v1beta1", "nightly-report"),
                Some("report"),
                "/spec/jobTemplate/spec/template/spec/containers/0/image",
                "image busybox:latest is not pinned by digest",
                Ok(()),
                source("manifests/my jobs.yaml", 12),
                Detail::Image {
                    image: "busybox:latest".into(),
                    digest: Some(
                        "sha256:2e4b6e1d3f5a7c9b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b"
                            .into(),
                    ),
                    digest_source: Some("pods".into()),
                },
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
                Detail::Image {
                    image: "nginx:1.27".into(),
                    digest: None,
                    digest_source: None,
                },
            ),
        ],
        suppressed: 1,
        scanned: 12,
        warnings: vec![
            "CronJob: batch/v1 not served, used batch/v1beta1".into(),
            "Deployments: forbidden (needs list deployments.apps)".into(),
        ],
    }
}

/// The SARIF with the crate version masked, so snapshots survive version bumps.
fn sarif_for_snapshot(report: &Report) -> String {
    to_sarif(report).replace(
        &format!("\"{}\"", env!("CARGO_PKG_VERSION")),
        "\"[version]\"",
    )
}

#[test]
fn table_snapshot() {
    insta::assert_snapshot!("table", render_table(&sample(), false));
}

#[test]
fn table_without_findings_snapshot() {
    let report = Report {
        scanned: 4,
        ..Report::default()
    };
    insta::assert_snapshot!("table_empty", render_table(&report, false));
}

#[test]
fn json_snapshot() {
    insta::assert_snapshot!("json", to_json(&sample()));
}

#[test]
fn yaml_snapshot() {
    insta::assert_snapshot!("yaml", to_yaml(&sample()).unwrap());
}

#[test]
fn sarif_snapshot() {
    insta::assert_snapshot!("sarif", sarif_for_snapshot(&sample()));
}

fn sarif_validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(SARIF_SCHEMA).expect("vendored schema is JSON");
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    // No resolver features are compiled in: the draft-07 meta-schema is bundled, and every
    // `$ref` in the SARIF schema is local, so this works offline.
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("SARIF schema compiles")
}

fn assert_valid(validator: &jsonschema::Validator, log: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF is invalid:\n{}",
        errors.join("\n")
    );
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let validator = sarif_validator();
    for report in [sample(), Report::default()] {
        let log: Value = serde_json::from_str(&to_sarif(&report)).unwrap();
        assert_valid(&validator, &log);
    }
    // The validator does reject what the schema forbids (a level outside the enum, a
    // malformed URI), so passing above means something.
    let mut log: Value = serde_json::from_str(&to_sarif(&sample())).unwrap();
    log["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&log));
    let mut log: Value = serde_json::from_str(&to_sarif(&sample())).unwrap();
    log["runs"][0]["tool"]["driver"]["informationUri"] = "not a uri".into();
    assert!(!validator.is_valid(&log));
}

#[test]
fn sarif_content() {
    let report = sample();
    let log: Value = serde_json::from_str(&to_sarif(&report)).unwrap();
    let run = &log["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "kubectl-secfix");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        driver["informationUri"],
        "https://github.com/secfix-dev/kubectl-secfix"
    );

    let rules = driver["rules"].as_array().unwrap();
    let expected_levels = ["error", "error", "warning", "warning"];
    for ((rule, check), level) in rules.iter().zip(CheckId::ALL).zip(expected_levels) {
        assert_eq!(rule["id"], check.as_str());
        assert_eq!(rule["shortDescription"]["text"], check.title());
        assert_eq!(rule["fullDescription"]["text"], check.help());
        assert_eq!(rule["help"]["text"], check.help());
        assert_eq!(rule["defaultConfiguration"]["level"], level);
    }

    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), report.findings.len());
    for (r, f) in results.iter().zip(&report.findings) {
        assert_eq!(r["ruleId"], f.check.as_str());
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], f.check.as_str());
        let level = match f.severity {
            Severity::High => "error",
            Severity::Medium => "warning",
            Severity::Low => "note",
        };
        assert_eq!(r["level"], level);
        assert_eq!(r["message"]["text"], f.message.as_str());
        let loc = &r["locations"][0];
        let object = format!("{}/{}/{}", f.namespace, f.kind, f.name);
        assert_eq!(loc["logicalLocations"][0]["fullyQualifiedName"], object);
        assert_eq!(loc["logicalLocations"][0]["kind"], "object");
        if !f.path.is_empty() {
            assert_eq!(loc["logicalLocations"][1]["name"], f.path.as_str());
            assert_eq!(
                loc["logicalLocations"][1]["fullyQualifiedName"],
                format!("{object}{}", f.path)
            );
        }
        match &f.source {
            Some(s) if s.file != "-" => {
                let p = &loc["physicalLocation"];
                assert_eq!(
                    p["artifactLocation"]["uri"],
                    s.file.replace(' ', "%20").as_str()
                );
                assert_eq!(p["region"]["startLine"], s.line);
            }
            _ => assert!(loc.get("physicalLocation").is_none(), "{loc}"),
        }
    }

    // Fingerprints: present, unique per finding, and stable when a message or line changes.
    let prints: Vec<&str> = results
        .iter()
        .map(|r| r["partialFingerprints"][FINGERPRINT_KEY].as_str().unwrap())
        .collect();
    let mut unique = prints.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), prints.len(), "{prints:?}");
    assert_eq!(
        prints[0],
        "env-secret:shop/Deployment/api/spec/template/spec/containers/0/env/1"
    );
    let mut moved = sample();
    moved.findings[0].message = "reworded".into();
    moved.findings[0].source = source("elsewhere.yaml", 40);
    let again: Value = serde_json::from_str(&to_sarif(&moved)).unwrap();
    assert_eq!(
        again["runs"][0]["results"][0]["partialFingerprints"][FINGERPRINT_KEY],
        prints[0]
    );

    // Warnings travel as tool execution notifications.
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0]["level"], "warning");
    assert_eq!(notes[0]["message"]["text"], report.warnings[0].as_str());
}

#[test]
fn json_document_shape_and_round_trip() {
    let report = sample();
    let json = to_json(&report);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["apiVersion"], API_VERSION);
    assert_eq!(v["kind"], "ScanReport");
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["apiVersion", "kind", "findings", "summary", "warnings"]
    );
    assert_eq!(v["summary"]["total"], 7);
    assert_eq!(v["summary"]["high"], 4);
    assert_eq!(v["summary"]["medium"], 3);
    assert_eq!(v["summary"]["fixable"], 6);
    assert_eq!(v["summary"]["suppressed"], 1);
    assert_eq!(v["summary"]["scanned"], 12);
    assert_eq!(v["summary"]["byCheck"]["default-allow-namespace"], 2);

    let back: ScanReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back.findings, report.findings.as_slice());
    assert_eq!(back.summary, report.summary());
    assert_eq!(back.warnings, report.warnings);
}

#[test]
fn yaml_is_the_same_document_as_json() {
    let report = sample();
    let from_yaml: Value = serde_saphyr::from_str(&to_yaml(&report).unwrap()).unwrap();
    let from_json: Value = serde_json::from_str(&to_json(&report)).unwrap();
    assert_eq!(from_yaml, from_json);
}

#[test]
fn literal_secret_value_never_appears() {
    // The manifest had `env: [{name: API_TOKEN, value: <this>}]`; the check records only
    // the variable's name and why the value looks secret.
    let value = "ghp_Zx9Qm2Lk7Vb4Nc1Rt8Yw5Ue3Io6Pa0Sd2Fg";
    let mut report = sample();
    report.findings = vec![finding(
        CheckId::EnvLiteralSecret,
        Severity::High,
        ("shop", "Deployment", "apps/v1", "api"),
        Some("app"),
        "/spec/template/spec/containers/0/env/0",
        "env API_TOKEN holds a literal that looks like a GitHub token",
        Ok(()),
        source("deploy/api.yaml", 1),
        Detail::LiteralSecret {
            env: "API_TOKEN".into(),
            reason: "looks like a GitHub token".into(),
            delivery: None,
        },
    )];
    let outputs = [
        render_table(&report, false),
        render_table(&report, true),
        to_json(&report),
        to_yaml(&report).unwrap(),
        to_sarif(&report),
    ];
    for out in &outputs {
        assert!(!out.contains(value), "secret value leaked:\n{out}");
        assert!(!out.contains("ghp_"), "part of the secret leaked:\n{out}");
        assert!(out.contains("API_TOKEN"));
    }
    // The detail can only ever carry the name and the reason.
    let v: Value = serde_json::from_str(&to_json(&report)).unwrap();
    let mut keys: Vec<&String> = v["findings"][0]["detail"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    keys.sort();
    assert_eq!(keys, ["env", "reason", "type"]);
    assert!(
        !to_json(&report).contains(REDACTED),
        "nothing to redact: no value is held"
    );
}

#[test]
fn docs_describe_every_field() {
    let doc = include_str!("../docs/scan-report.md");
    let v: Value = serde_json::from_str(&to_json(&sample())).unwrap();
    let mut missing = Vec::new();
    let mut check = |key: &str| {
        if !doc.contains(&format!("`{key}`")) {
            missing.push(key.to_string());
        }
    };
    for key in v.as_object().unwrap().keys() {
        check(key);
    }
    for key in v["summary"].as_object().unwrap().keys() {
        check(key);
    }
    for f in v["findings"].as_array().unwrap() {
        for (key, value) in f.as_object().unwrap() {
            check(key);
            if key == "detail" || key == "source" {
                for k in value.as_object().unwrap().keys() {
                    check(k);
                }
            }
        }
        check(f["detail"]["type"].as_str().unwrap());
    }
    for c in CheckId::ALL {
        check(c.as_str());
    }
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "docs/scan-report.md lacks {missing:?}");
}
