//! Shared by the tests that compare our manifest reader with kubectl's (`tests/corpus.rs`,
//! `tests/live_yaml_oracle.rs`): what each side reads from a file.

use std::path::Path;

use serde_json::Value;

/// The objects our reader gets from `path`, and the errors it reported.
pub(crate) fn ours(path: &Path) -> (Vec<Value>, Vec<String>) {
    let mut objects = Vec::new();
    let mut errors = Vec::new();
    kubectl_secfix::manifest::read(
        &[path.to_path_buf()],
        &Default::default(),
        &mut |v, _| objects.push(v),
        &mut |d| {
            if d.error {
                errors.push(d.to_string())
            }
        },
    );
    (objects, errors)
}

/// The objects kubectl printed with `-o json`: one JSON object after the other, several
/// objects also as a `List` that kubectl makes up for printing (flattened here).
pub(crate) fn kubectl_objects(stdout: &[u8]) -> Result<Vec<Value>, serde_json::Error> {
    let mut objects = Vec::new();
    for v in serde_json::Deserializer::from_slice(stdout).into_iter::<Value>() {
        let v = v?;
        let generated_list = v["kind"] == "List"
            && v.get("metadata")
                .is_some_and(|m| m == &serde_json::json!({"resourceVersion": ""}));
        if generated_list {
            objects.extend(v["items"].as_array().cloned().unwrap_or_default());
        } else {
            objects.push(v);
        }
    }
    Ok(objects)
}
