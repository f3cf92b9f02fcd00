//! The manifest loader on arbitrary bytes (YAML or JSON → documents → objects → workloads):
//! never panics or hangs, keeps every byte of the input in its documents (what `--write`
//! relies on to leave untouched documents byte for byte), and never echoes a string value of
//! a pod spec in a workload's parse error.
#![no_main]

use kubectl_secfix::manifest;
use kubectl_secfix::model::Workload;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for json in [false, true] {
        let Ok(file) = manifest::parse_file(None, "-".into(), text, json) else {
            continue;
        };
        let joined: String = file.documents.iter().map(|d| d.text.as_str()).collect();
        assert_eq!(joined, text, "documents lost or added bytes");
        for (obj, _) in manifest::objects(std::slice::from_ref(&file)) {
            let mut keys = Vec::new();
            let mut strings = Vec::new();
            scalars(&obj, &mut keys, &mut strings);
            if let Err(e) = Workload::from_value(obj) {
                let msg = e.to_string();
                // The part before the (type-defined) "expected …" may only name fields.
                let head = msg.rfind(", expected").map_or(msg.as_str(), |i| &msg[..i]);
                let head = head.split_once(": ").map_or(head, |(_, rest)| rest);
                let head = head.split_once(": ").map_or(head, |(_, rest)| rest);
                for s in strings.iter().filter(|s| s.len() >= 6 && !keys.contains(s)) {
                    assert!(!head.contains(s.as_str()), "value {s:?} echoed in {msg:?}");
                }
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
