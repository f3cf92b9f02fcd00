//! The manifest loader on arbitrary bytes (YAML or JSON → documents → objects → workloads):
//! never panics or hangs, accounts for every byte of the input (YAML documents tile it; JSON
//! values sit in order between whitespace), renders a file it does not change byte for byte
//! (what `--write` relies on), and never echoes a string value of a pod spec in a workload's
//! parse error (quoted or in backticks, as serde would).
#![no_main]

use kubectl_secfix::manifest;
use kubectl_secfix::model::Workload;
use kubectl_secfix::model::workload::WorkloadError;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let (file, _) = manifest::parse_bytes("-", data);
    let mut at = 0;
    for d in &file.documents {
        assert!(
            d.span.start >= at && d.span.end >= d.span.start,
            "documents out of order"
        );
        if !file.json {
            assert_eq!(d.span.start, at, "a YAML document lost bytes");
        }
        at = d.span.end;
    }
    if !file.json && !file.documents.is_empty() {
        assert_eq!(at, data.len(), "the YAML documents do not cover the input");
    }
    let unchanged = manifest::render(&file, &manifest::Edits::default()).expect("render");
    assert!(
        unchanged.content.is_none(),
        "a file without changes was rewritten"
    );
    for (obj, _) in manifest::objects(std::slice::from_ref(&file)) {
        let mut keys = Vec::new();
        let mut strings = Vec::new();
        scalars(&obj, &mut keys, &mut strings);
        let reason = match Workload::from_value(obj) {
            Err(WorkloadError::InvalidSpec { reason, .. }) => reason,
            Err(WorkloadError::InvalidMeta(reason)) => reason,
            _ => continue,
        };
        // serde echoes a value quoted (`string "…"`) or in backticks; the part before the
        // (type-defined) "expected …" may hold neither a quote nor a backticked value
        // other than a field name.
        let head = reason
            .rfind(", expected")
            .map_or(reason.as_str(), |i| &reason[..i]);
        assert!(!head.contains('"'), "a quoted value echoed in {reason:?}");
        for (i, quoted) in head.split('`').enumerate() {
            if i % 2 == 1 {
                assert!(
                    keys.iter().any(|k| k == quoted) || !strings.iter().any(|s| s == quoted),
                    "value {quoted:?} echoed in {reason:?}"
                );
            }
        }
    }
});

/// Every map key and every string scalar under `spec` of `v`.
fn scalars(v: &Value, keys: &mut Vec<String>, strings: &mut Vec<String>) {
    fn walk(v: &Value, in_spec: bool, keys: &mut Vec<String>, strings: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    keys.push(k.clone());
                    walk(child, in_spec || k == "spec", keys, strings);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, in_spec, keys, strings)),
            Value::String(s) if in_spec => strings.push(s.clone()),
            Value::String(s) => keys.push(s.clone()),
            _ => {}
        }
    }
    walk(v, false, keys, strings);
}
