//! Our manifest reader against the real kubectl, case by case (`tests/fixtures/yaml11/`).
//!
//! kubectl is the oracle: `kubectl create --dry-run=client --validate=false -o json -f FILE`
//! prints what kubectl reads from FILE without creating anything. It needs a server for its
//! REST mapping (discovery), so this runs against the test bed. Each fixture's first line
//! says what to expect (see the fixtures' README). Covers issue #16 ("parse YAML the way
//! kubectl does ... test every one against the real kubectl").

mod manifest_oracle;
mod support;

use manifest_oracle::{kubectl_objects, ours};

use std::path::{Path, PathBuf};

use serde_json::Value;

/// What a fixture's first line promises.
#[derive(Debug)]
enum Expect {
    Same,
    BothRefuse,
    WeRead(PathBuf),
    Partial(PathBuf),
}

fn expectation(path: &Path) -> Expect {
    let text = std::fs::read_to_string(path).unwrap();
    let first = text.lines().next().unwrap_or("");
    let dir = path.parent().unwrap();
    match first
        .strip_prefix("# oracle: ")
        .map(|r| r.split_once(' ').unwrap_or((r, "")))
    {
        Some(("same", _)) | None => Expect::Same,
        Some(("both-refuse", _)) => Expect::BothRefuse,
        Some(("we-read", twin)) => Expect::WeRead(dir.join(twin)),
        Some(("partial", twin)) => Expect::Partial(dir.join(twin)),
        Some((other, _)) => panic!("{}: unknown expectation {other}", path.display()),
    }
}

/// The objects kubectl reads from `path`, or its error.
fn kubectl(c: &support::Cluster, path: &Path) -> Result<Vec<Value>, String> {
    let out = c
        .kubectl([
            "create",
            "--dry-run=client",
            "--validate=false",
            "-o",
            "json",
            "-f",
            path.to_str().unwrap(),
        ])
        .run();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(kubectl_objects(&out.stdout).expect("kubectl prints JSON"))
}

/// Equal as kubectl holds them: numbers by value (kubectl prints 2^63 as 9223372036854776000),
/// and the `default` namespace kubectl fills in ignored.
fn same(ours: &Value, theirs: &Value) -> bool {
    match (ours, theirs) {
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => a.as_f64() == b.as_f64(),
        },
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            let mut b = b.clone();
            if !a.contains_key("namespace") && b.get("namespace") == Some(&Value::from("default")) {
                b.remove("namespace");
            }
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
        }
        (a, b) => a == b,
    }
}

fn same_objects(ours: &[Value], theirs: &[Value]) -> bool {
    ours.len() == theirs.len() && ours.iter().zip(theirs).all(|(a, b)| same(a, b))
}

#[test]
#[ignore = "live: needs the test bed (tests/run.sh)"]
fn every_yaml_case_reads_as_kubectl_reads_it() {
    let c = live!();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/yaml11");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            (name.ends_with(".yaml") || name.ends_with(".json")) && !name.contains(".twin.")
        })
        .collect();
    files.sort();
    assert!(files.len() >= 20, "fixtures missing in {}", dir.display());
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (objects, errors) = ours(path);
        let theirs = kubectl(c, path);
        let problem = match expectation(path) {
            Expect::Same => match &theirs {
                Err(e) => Some(format!("kubectl refuses it: {e}")),
                Ok(_) if !errors.is_empty() => Some(format!("we report {errors:?}")),
                Ok(t) if !same_objects(&objects, t) => Some(format!(
                    "objects differ\n  ours:    {}\n  kubectl: {}",
                    Value::from(objects.clone()),
                    Value::from(t.clone())
                )),
                Ok(_) => None,
            },
            Expect::BothRefuse => match &theirs {
                Ok(_) => Some("kubectl reads it".into()),
                Err(_) if errors.is_empty() => Some("we read it without an error".into()),
                Err(_) => None,
            },
            Expect::WeRead(twin) | Expect::Partial(twin) => {
                let partial = matches!(expectation(path), Expect::Partial(_));
                match (&theirs, kubectl(c, &twin)) {
                    (Ok(_), _) => {
                        Some("kubectl reads it: the documented difference is gone".into())
                    }
                    (_, Err(e)) => Some(format!("kubectl refuses the twin: {e}")),
                    (Err(_), Ok(t)) => {
                        if partial == errors.is_empty() {
                            Some(format!("errors: {errors:?}"))
                        } else if !same_objects(&objects, &t) {
                            Some(format!(
                                "objects differ from the twin's\n  ours:    {}\n  kubectl: {}",
                                Value::from(objects.clone()),
                                Value::from(t)
                            ))
                        } else {
                            None
                        }
                    }
                }
            }
        };
        if let Some(p) = problem {
            failures.push(format!("{name}: {p}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
