//! `-o sarif`: SARIF 2.1.0, built from `serde-sarif`'s types (generated from the SARIF
//! schema, so field names and shapes come from the spec rather than from hand-built JSON).
//!
//! Mapping:
//! - one run; `tool.driver` is `kubectl-secfix` with this crate's version and repository URL;
//! - one rule per check, always all of them in [`CheckId::ALL`] order, so `ruleIndex` is
//!   stable: `id` = check id, `shortDescription` = [`CheckId::summary`],
//!   `fullDescription`/`help` = [`CheckId::help`], `defaultConfiguration.level` from the
//!   check's usual severity, plus GitHub code scanning's `security-severity` and tags;
//! - one result per finding: `level` from the finding's own severity (a `:latest` image is
//!   high even though `mutable-image-tag` is usually medium), `message.text` = the message;
//! - where: Kubernetes objects have no file, so every result has `logicalLocations`: the
//!   object (`kind: "object"`, `fullyQualifiedName: namespace/Kind/name`) and, when the
//!   finding points inside it, the field (`kind: "property"`, `name` = the JSON pointer,
//!   `fullyQualifiedName` = object name + pointer). Findings read from `-f` files also get a
//!   `physicalLocation` (the path as given, percent-encoded into a URI reference, and the
//!   offending field's own line and column, else the object's first line); stdin (`-`) has
//!   no artifact and gets none;
//! - `partialFingerprints["secfixFinding/v2"]` = [`super::identity`]: check, object,
//!   container and env var name (or `envFrom` Secret, or direction), with `context@` in front
//!   in a scan of several contexts; never an array index, so stable under edits elsewhere
//!   in the file, and independent of messages, line numbers and severity;
//! - each rule has `helpUri` (its row of the README's check table) and `help.markdown`;
//! - a finding in `--baseline` has `baselineState: "unchanged"`;
//! - `result.properties` repeat the finding's structured fields (`apiVersion`, `container`,
//!   `fixable`, `detail`, and `context`/`server` in a scan of several contexts, …) for
//!   consumers that want more than SARIF's vocabulary;
//! - input that could not be read becomes `invocations[0].toolExecutionNotifications` of
//!   level `error`, located by file and line (and `executionSuccessful` is then false);
//!   warnings follow with level `warning`; the run's `properties.summary` carries the same
//!   counts as the JSON report (and `properties.contexts` how each context went, in a scan
//!   of several contexts).

use std::collections::BTreeMap;

use serde_json::{Value, json};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, LogicalLocation, Message, MultiformatMessageString,
    Notification, PhysicalLocation, PropertyBag, Region, ReportingConfiguration,
    ReportingDescriptor, Result as SarifResult, ResultLevel, Run, Sarif, Tool, ToolComponent,
};

use super::Report;
use super::json::pretty_json;
use crate::checks::{CheckId, Finding, Severity};

/// The OASIS-published location of the SARIF 2.1.0 schema (errata 01).
pub const SARIF_SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The key of our entry in `result.partialFingerprints`; bump the suffix if the recipe changes.
pub const FINGERPRINT_KEY: &str = "secfixFinding/v2";

const TOOL_NAME: &str = "kubectl-secfix";

/// The report as a pretty-printed SARIF 2.1.0 log (no trailing newline).
pub fn to_sarif(report: &Report) -> String {
    pretty_json(&sarif_log(report))
}

fn sarif_log(report: &Report) -> Sarif {
    let driver = ToolComponent::builder()
        .name(TOOL_NAME)
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .information_uri(env!("CARGO_PKG_REPOSITORY"))
        .rules(CheckId::ALL.map(rule).to_vec())
        .build();

    let mut notifications: Vec<Notification> = report
        .errors
        .iter()
        .map(|e| {
            let notification = Notification::builder()
                .level(json!("error"))
                .message(text(&e.message));
            match input_location(e) {
                Some(l) => notification.locations(vec![l]).build(),
                None => notification.build(),
            }
        })
        .collect();
    notifications.extend(report.warnings.iter().map(|w| {
        Notification::builder()
            .level(json!("warning"))
            .message(text(w))
            .build()
    }));
    // Some input could not be read: the scan did not see everything.
    let successful = report.errors.is_empty();
    let invocation = if notifications.is_empty() {
        Invocation::builder().execution_successful(true).build()
    } else {
        Invocation::builder()
            .execution_successful(successful)
            .tool_execution_notifications(notifications)
            .build()
    };

    let summary = serde_json::to_value(report.summary()).unwrap_or(Value::Null);
    let mut run_properties = BTreeMap::from([("summary".to_string(), summary)]);
    if !report.contexts.is_empty() {
        run_properties.insert(
            "contexts".to_string(),
            serde_json::to_value(&report.contexts).unwrap_or(Value::Null),
        );
    }
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .invocations(vec![invocation])
        .results({
            // With a baseline, every result says whether it is new (SARIF: all or none).
            let baseline = report.findings.iter().any(|f| f.baseline);
            report
                .findings
                .iter()
                .map(|f| {
                    let mut r = result(f);
                    if baseline && !f.baseline {
                        r.baseline_state = Some(json!("new"));
                    }
                    r
                })
                .collect::<Vec<_>>()
        })
        .properties(
            PropertyBag::builder()
                .additional_properties(run_properties)
                .build(),
        )
        .build();

    Sarif::builder()
        .schema(SARIF_SCHEMA_URI)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build()
}

/// Where an input error is: the file (not for stdin) and its line.
fn input_location(e: &super::InputError) -> Option<Location> {
    if e.file == "-" || e.file.is_empty() {
        return None;
    }
    let artifact = ArtifactLocation::builder()
        .uri(uri_reference(&e.file))
        .build();
    let physical = match e
        .line
        .and_then(|l| i64::try_from(l).ok())
        .filter(|l| *l >= 1)
    {
        Some(line) => PhysicalLocation::builder()
            .artifact_location(artifact)
            .region(Region::builder().start_line(line).build())
            .build(),
        None => PhysicalLocation::builder()
            .artifact_location(artifact)
            .build(),
    };
    Some(Location::builder().physical_location(physical).build())
}

fn level(severity: Severity) -> ResultLevel {
    match severity {
        Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low => ResultLevel::Note,
    }
}

/// GitHub code scanning's `security-severity` (a CVSS-like score as a string): it maps
/// ≥7.0 to "high", ≥4.0 to "medium" and >0 to "low".
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "8.0",
        Severity::Medium => "5.0",
        Severity::Low => "3.0",
    }
}

fn rule(check: CheckId) -> ReportingDescriptor {
    let def = check.meta();
    let severity = def.severity;
    let level = serde_json::to_value(level(severity)).unwrap_or(Value::Null);
    let markdown = format!(
        "**{}**\n\n{}\n\n- Finds: {}\n- `kubectl secfix fix` does: {}\n\n[Documentation]({})",
        def.title,
        check.help(),
        def.finds,
        def.remedy,
        help_uri(check)
    );
    ReportingDescriptor::builder()
        .id(check.as_str())
        .short_description(multiformat(def.title))
        .full_description(multiformat(check.help()))
        .help(
            MultiformatMessageString::builder()
                .text(check.help())
                .markdown(markdown)
                .build(),
        )
        .help_uri(help_uri(check))
        .default_configuration(ReportingConfiguration::builder().level(level).build())
        .properties(
            PropertyBag::builder()
                .tags(
                    ["security", "kubernetes"]
                        .iter()
                        .chain(def.tags)
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>(),
                )
                .additional_properties(BTreeMap::from([(
                    "security-severity".to_string(),
                    json!(security_severity(severity)),
                )]))
                .build(),
        )
        .build()
}

/// The README row of `check` (its anchor in the check table).
fn help_uri(check: CheckId) -> String {
    format!(
        "{}/blob/main/README.md#{}",
        env!("CARGO_PKG_REPOSITORY"),
        crate::checks::registry::readme_anchor(check)
    )
}

fn result(f: &Finding) -> SarifResult {
    let rule_index = CheckId::ALL
        .iter()
        .position(|c| *c == f.check)
        .and_then(|i| i64::try_from(i).ok())
        .unwrap_or(-1);
    let mut result = SarifResult::builder()
        .rule_id(f.check.as_str())
        .rule_index(rule_index)
        .level(level(f.severity))
        .message(text(&f.message))
        .locations(vec![location(f)])
        .partial_fingerprints(BTreeMap::from([(
            FINGERPRINT_KEY.to_string(),
            fingerprint(f),
        )]))
        .properties(
            PropertyBag::builder()
                .additional_properties(properties(f))
                .build(),
        )
        .build();
    if f.baseline {
        result.baseline_state = Some(json!("unchanged"));
    }
    result
}

/// `namespace/Kind/name`.
fn object_name(f: &Finding) -> String {
    format!("{}/{}/{}", f.namespace, f.kind, f.name)
}

fn location(f: &Finding) -> Location {
    let object = object_name(f);
    let mut logical = vec![
        LogicalLocation::builder()
            .kind("object")
            .name(f.name.as_str())
            .fully_qualified_name(object.as_str())
            .build(),
    ];
    if !f.path.is_empty() {
        logical.push(
            LogicalLocation::builder()
                .kind("property")
                .name(f.path.as_str())
                .fully_qualified_name(format!("{object}{}", f.path))
                .build(),
        );
    }
    let physical = f
        .source
        .as_ref()
        .filter(|s| s.file != "-" && !s.file.is_empty())
        .map(|s| {
            let artifact = ArtifactLocation::builder()
                .uri(uri_reference(&s.file))
                .build();
            // The offending field's own line and column when known, else the object's line.
            let line = s.field_line.unwrap_or(s.line);
            let column = s
                .field_line
                .and(s.field_column)
                .and_then(|c| i64::try_from(c).ok());
            match i64::try_from(line).ok().filter(|l| *l >= 1) {
                Some(line) => PhysicalLocation::builder()
                    .artifact_location(artifact)
                    .region(match column {
                        Some(c) => Region::builder().start_line(line).start_column(c).build(),
                        None => Region::builder().start_line(line).build(),
                    })
                    .build(),
                None => PhysicalLocation::builder()
                    .artifact_location(artifact)
                    .build(),
            }
        });
    match physical {
        Some(p) => Location::builder()
            .logical_locations(logical)
            .physical_location(p)
            .build(),
        None => Location::builder().logical_locations(logical).build(),
    }
}

/// Stable identity of a finding ([`super::identity`]): object, container, env var name,
/// check. No array index, message, severity or line, so edits elsewhere in the file (an
/// env var inserted above) keep it.
fn fingerprint(f: &Finding) -> String {
    super::identity(f)
}

fn properties(f: &Finding) -> BTreeMap<String, Value> {
    let mut p = BTreeMap::from([
        ("apiVersion".to_string(), json!(f.api_version)),
        ("kind".to_string(), json!(f.kind)),
        ("namespace".to_string(), json!(f.namespace)),
        ("name".to_string(), json!(f.name)),
        ("path".to_string(), json!(f.path)),
        ("severity".to_string(), json!(f.severity.as_str())),
        ("fixable".to_string(), json!(f.fixable)),
        (
            "detail".to_string(),
            serde_json::to_value(&f.detail).unwrap_or(Value::Null),
        ),
    ]);
    if let Some(c) = &f.container {
        p.insert("container".to_string(), json!(c));
    }
    if let Some(r) = &f.not_fixable_reason {
        p.insert("notFixableReason".to_string(), json!(r));
    }
    if let Some(o) = &f.origin {
        p.insert("context".to_string(), json!(o.context));
        p.insert("server".to_string(), json!(o.server));
    }
    p
}

fn text(s: &str) -> Message {
    Message::builder().text(s).build()
}

fn multiformat(s: &str) -> MultiformatMessageString {
    MultiformatMessageString::builder().text(s).build()
}

/// A file path as given on the command line, as a SARIF `uri` (an RFC 3986 URI reference):
/// backslashes become slashes and every byte outside unreserved characters, sub-delims,
/// `:`, `@` and `/` is percent-encoded (so `my app.yaml` becomes `my%20app.yaml`). A leading
/// segment with a colon (`C:/x`) would read as a scheme, so it is prefixed with `./`.
fn uri_reference(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b);
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    let first_segment = out.split('/').next().unwrap_or("");
    if first_segment.contains(':') {
        out.insert_str(0, "./");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_references() {
        assert_eq!(uri_reference("deploy/app.yaml"), "deploy/app.yaml");
        assert_eq!(uri_reference("/abs/my app.yaml"), "/abs/my%20app.yaml");
        assert_eq!(uri_reference("50%#?.yaml"), "50%25%23%3F.yaml");
        assert_eq!(uri_reference(r"C:\k8s\x.yaml"), "./C:/k8s/x.yaml");
        assert_eq!(uri_reference("ü.yaml"), "%C3%BC.yaml");
    }

    #[test]
    fn every_check_has_a_rule_at_its_index() {
        let log = serde_json::to_value(sarif_log(&Report::default())).unwrap();
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        assert_eq!(rules.len(), CheckId::ALL.len());
        for (i, c) in CheckId::ALL.iter().enumerate() {
            assert_eq!(rules[i]["id"], c.as_str());
        }
    }
}
