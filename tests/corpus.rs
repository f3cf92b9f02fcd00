//! Real public manifests read by our reader and by the real kubectl, file by file.
//!
//! The oracle is `kubectl label --local -f FILE secfixprobe- -o json`: it decodes `-f` input
//! with the same resource builder (stream visitor, YAML/JSON decoder, List flattening) as
//! `kubectl create`/`apply`, but needs no server, so custom resources of any kind are read
//! too (it adds an empty `metadata.labels`, ignored here). For every file kubectl reads, we
//! must read exactly the same objects, with no error. Files kubectl refuses are listed with
//! what each side said (we read some on purpose: see `crates/secfix-io/src/manifest/yaml.rs`).
//!
//! By default the representative subset in `tests/fixtures/corpus/` is checked (sources and
//! licences in its README). `scripts/corpus-check.sh DIR…` runs the same comparison over any
//! directories (`SECFIX_CORPUS`, colon-separated). Covers issue #16 ("every public manifest
//! that kubectl parses is read").

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod manifest_oracle;
use manifest_oracle::{kubectl_objects, ours};

fn files(root: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir(root)
        .into_iter()
        .filter(|p| {
            p.extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| matches!(x, "yaml" | "yml" | "json"))
        })
        .collect();
    out.sort();
    out
}

fn walkdir(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        } else {
            out.push(p);
        }
    }
    out
}

/// What kubectl reads from `path`, or its error.
fn kubectl(path: &Path) -> Result<Vec<Value>, String> {
    let out = Command::new("kubectl")
        .args(["label", "--local", "-o", "json", "-f"])
        .arg(path)
        .arg("secfixprobe-")
        .env("KUBECONFIG", "/dev/null")
        .output()
        .expect("run kubectl");
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err.lines().last().unwrap_or("").to_string());
    }
    kubectl_objects(&out.stdout)
        .map_err(|e| format!("kubectl printed something that is not JSON: {e}"))
}

/// Equal as kubectl holds them: numbers by value.
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
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
        }
        (a, b) => a == b,
    }
}

/// kubectl's object without the empty `metadata.labels` that `kubectl label` adds (and the
/// `metadata` it adds to hold them).
fn unlabelled(ours: &Value, theirs: &Value) -> Value {
    let mut t = theirs.clone();
    if ours.pointer("/metadata/labels").is_none()
        && let Some(Value::Object(meta)) = t.get_mut("metadata")
        && meta.get("labels") == Some(&serde_json::json!({}))
    {
        meta.remove("labels");
        if meta.is_empty()
            && ours.get("metadata").is_none()
            && let Some(o) = t.as_object_mut()
        {
            o.remove("metadata");
        }
    }
    t
}

fn same_object(ours: &Value, theirs: &Value) -> bool {
    same(ours, &unlabelled(ours, theirs))
}

#[test]
fn every_manifest_kubectl_reads_we_read_the_same() {
    if Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        panic!("kubectl is needed (tests/cluster/setup.sh installs it)");
    }
    let roots: Vec<PathBuf> = match std::env::var("SECFIX_CORPUS") {
        Ok(v) if !v.is_empty() => v.split(':').map(PathBuf::from).collect(),
        _ => vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus")],
    };
    let mut failures = Vec::new();
    let mut refused = Vec::new();
    let (mut total, mut read_by_both, mut objects) = (0, 0, 0);
    for root in &roots {
        for path in files(root) {
            total += 1;
            let (o, errors) = ours(&path);
            let name = path.display().to_string();
            match kubectl(&path) {
                Ok(k) => {
                    read_by_both += 1;
                    objects += k.len();
                    if !errors.is_empty() {
                        failures.push(format!("{name}: kubectl reads it, we report {errors:?}"));
                    } else if o.len() != k.len()
                        || !o.iter().zip(&k).all(|(a, b)| same_object(a, b))
                    {
                        let first = o
                            .iter()
                            .zip(&k)
                            .position(|(a, b)| !same_object(a, b))
                            .unwrap_or(o.len().min(k.len()));
                        failures.push(format!(
                            "{name}: {} objects here, {} by kubectl; first difference at object {first}",
                            o.len(),
                            k.len()
                        ));
                    }
                }
                Err(e) => refused.push(format!(
                    "{name}\n    kubectl: {e}\n    we: {} object(s), {}",
                    o.len(),
                    if errors.is_empty() {
                        "no error".to_string()
                    } else {
                        errors.join("; ")
                    }
                )),
            }
        }
    }
    eprintln!(
        "corpus: {total} files; kubectl reads {read_by_both} ({objects} objects), refuses {}",
        refused.len()
    );
    for r in &refused {
        eprintln!("refused by kubectl: {r}");
    }
    assert!(total > 0, "no manifests under {roots:?}");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
