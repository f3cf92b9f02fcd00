//! Issue 26: `scan -o json|yaml|sarif` of a large input keeps its findings on disk and
//! writes its document finding by finding. Hermetic: the real binary on generated `-f`
//! input, no cluster. No timing is asserted.

use std::io::Read as _;
use std::process::{Command, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-secfix");

/// Deployments with two findings each (a secretKeyRef env and a mutable tag), spread over
/// `namespaces` namespaces, as one multi-document YAML stream; the document numbered
/// `broken` (if any) is not YAML.
fn manifests(deployments: usize, namespaces: usize, broken: Option<usize>) -> String {
    let mut out = String::new();
    for i in 0..deployments {
        if Some(i) == broken {
            out.push_str("---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: [\n");
            continue;
        }
        out.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-{i}\n  \
             namespace: ns-{}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    \
             metadata: {{labels: {{app: web}}}}\n    spec:\n      containers:\n      - name: app\n        \
             image: registry.example.com/web:{i}\n        env:\n        - name: DB_PASSWORD\n          \
             valueFrom: {{secretKeyRef: {{name: db-{i}, key: password}}}}\n",
            // Namespaces out of input order, so the report order is not the input order.
            (deployments - i) % namespaces
        ));
    }
    out
}

fn write_input(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
    f
}

/// A YAML document of any size (serde-saphyr's default node budget is for hostile input).
fn yaml(bytes: &[u8]) -> Value {
    let mut options = serde_saphyr::Options::default();
    options.budget = None;
    serde_saphyr::from_str_with_options(std::str::from_utf8(bytes).unwrap(), options).unwrap()
}

fn scan(path: &str, output: &str) -> (Option<i32>, Vec<u8>, String) {
    let out = Command::new(BIN)
        .args(["scan", "-f", path, "-o", output])
        .env_remove("KUBECONFIG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The report-order key of a finding of the JSON document.
fn key(f: &Value) -> (String, String, String, String) {
    let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
    (s("namespace"), s("kind"), s("name"), s("check"))
}

/// More findings than one chunk holds in memory (4096): they go to disk and come back
/// merged. The document is written while the process runs: with stdout a pipe nobody reads
/// past the first bytes, the process waits on the pipe with the rest of the document still
/// to write (it has not built the document whole first). Then the whole document reads
/// back: every finding once, in report order, with the field lines of its file.
#[test]
fn a_large_scan_writes_its_document_as_it_goes() {
    let deployments = 3000;
    let input = write_input(&manifests(deployments, 7, None));
    let path = input.path().to_str().unwrap();
    let mut child = Command::new(BIN)
        .args(["scan", "-f", path, "-o", "json"])
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut head = vec![0u8; 4096];
    stdout.read_exact(&mut head).unwrap();
    let head = String::from_utf8_lossy(&head).into_owned();
    assert!(
        head.starts_with("{\n  \"apiVersion\": \"secfix.dev/v1\",\n  \"kind\": \"ScanReport\",\n  \"findings\": [\n    {"),
        "{head}"
    );
    // The document (about 6,000 findings, well over a megabyte) does not fit in the pipe:
    // the process is still there, waiting to write the rest.
    assert!(child.try_wait().unwrap().is_none());
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3), "findings at or above --fail-on low");
    let doc: Value = serde_json::from_slice(&[head.as_bytes(), &rest].concat()).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    // Two per Deployment, plus two (ingress, egress) per namespace.
    assert_eq!(findings.len(), 2 * deployments + 2 * 7);
    assert_eq!(doc["summary"]["total"], findings.len());
    let keys: Vec<_> = findings.iter().map(key).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "findings in report order");
    for f in findings.iter().filter(|f| f["kind"] == "Deployment") {
        let src = &f["source"];
        let line = src["line"].as_u64().unwrap();
        let field = src["fieldLine"].as_u64().unwrap();
        assert!(field > line && field < line + 20, "{f}");
    }
    // YAML and SARIF say the same, streamed the same way.
    let (code, out, _) = scan(path, "yaml");
    assert_eq!(code, Some(3));
    assert_eq!(yaml(&out), doc);
    let (code, sarif, _) = scan(path, "sarif");
    assert_eq!(code, Some(3));
    let sarif: Value = serde_json::from_slice(&sarif).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), findings.len());
    assert_eq!(
        sarif["runs"][0]["properties"]["summary"], doc["summary"],
        "the summary, counted before the results are written"
    );
}

/// A document that cannot be read halfway through a large input: the scan goes on, the
/// document stays well-formed and names the broken document by file and line, and the exit
/// code is 1 (input that could not be read), findings or not.
#[test]
fn a_large_scan_that_errors_partway_still_writes_a_well_formed_document() {
    let deployments = 2500;
    let broken = 1200;
    let text = manifests(deployments, 5, Some(broken));
    let input = write_input(&text);
    let path = input.path().to_str().unwrap();
    let broken_line = text
        .lines()
        .position(|l| l.contains("{name: ["))
        .map(|i| i as u64)
        .unwrap();
    let (code, json, stderr) = scan(path, "json");
    assert_eq!(code, Some(1), "{stderr}");
    let doc: Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(
        doc["findings"].as_array().unwrap().len(),
        2 * (deployments - 1) + 2 * 5
    );
    let errors = doc["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["file"], path);
    let line = errors[0]["line"].as_u64().unwrap();
    assert!(
        (broken_line - 1..=broken_line + 1).contains(&line),
        "{line} vs {broken_line}"
    );
    assert!(stderr.contains(&format!("{path}:{line}")), "{stderr}");
    let (code, sarif, _) = scan(path, "sarif");
    assert_eq!(code, Some(1));
    let sarif: Value = serde_json::from_slice(&sarif).unwrap();
    let invocation = &sarif["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    assert_eq!(
        invocation["toolExecutionNotifications"][0]["level"], "error",
        "{invocation}"
    );
    let (code, out, _) = scan(path, "yaml");
    assert_eq!(code, Some(1));
    assert_eq!(yaml(&out), doc);
}
