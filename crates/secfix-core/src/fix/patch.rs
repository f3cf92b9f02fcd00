//! Minimal RFC 6902 patches between two JSON documents, and the `test` ops that guard them.
//!
//! `json_patch::diff` compares arrays index by index, so removing `env[1]` of three entries
//! becomes "replace env[1] with env[2], remove env[2]": it rewrites entries the fix never
//! touched and, for a literal secret, would copy values into the patch. This diff aligns
//! arrays by a shortest edit script of equal elements instead, so an entry that is removed is
//! a single `remove` and untouched entries never appear. The alignment is Myers' diff in
//! linear space (the `similar` crate): a container with 20,000 env entries is diffed,
//! patched and inverted in about half a second in 64 MiB (`benches/json_diff.rs`).

use json_patch::jsonptr::PointerBuf;
use json_patch::{
    AddOperation, Patch, PatchOperation, RemoveOperation, ReplaceOperation, TestOperation,
};
use serde_json::{Map, Value};
use similar::{Algorithm, DiffOp};
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{Duration, Instant};

/// The operations that turn `left` into `right`, with paths under `prefix`
/// (a JSON pointer such as `/spec/template/spec`, or `""`); an error when `prefix` is not a
/// JSON pointer.
pub fn diff(
    left: &Value,
    right: &Value,
    prefix: &str,
) -> Result<Vec<PatchOperation>, json_patch::jsonptr::Report<json_patch::jsonptr::ParseError>> {
    let mut ops = Vec::new();
    let mut path = PointerBuf::parse(prefix)?;
    diff_value(left, right, &mut path, &mut ops);
    Ok(ops)
}

fn diff_value(left: &Value, right: &Value, path: &mut PointerBuf, ops: &mut Vec<PatchOperation>) {
    match (left, right) {
        (Value::Object(l), Value::Object(r)) => diff_object(l, r, path, ops),
        (Value::Array(l), Value::Array(r)) => diff_array(l, r, path, ops),
        _ if left == right => {}
        _ => ops.push(PatchOperation::Replace(ReplaceOperation {
            path: path.clone(),
            value: right.clone(),
        })),
    }
}

fn diff_object(
    left: &Map<String, Value>,
    right: &Map<String, Value>,
    path: &mut PointerBuf,
    ops: &mut Vec<PatchOperation>,
) {
    for key in left.keys() {
        if !right.contains_key(key) {
            path.push_back(key);
            ops.push(PatchOperation::Remove(RemoveOperation {
                path: path.clone(),
            }));
            path.pop_back();
        }
    }
    for (key, r) in right {
        path.push_back(key);
        match left.get(key) {
            Some(l) => diff_value(l, r, path, ops),
            None => ops.push(PatchOperation::Add(AddOperation {
                path: path.clone(),
                value: r.clone(),
            })),
        }
        path.pop_back();
    }
}

/// Aligns the arrays by a shortest edit script of equal elements (Myers' algorithm in linear
/// space, from the `similar` crate, over elements interned to ids so equal values compare in
/// O(1)). Runs of removed and added elements between two aligned elements are paired element
/// by element and diffed recursively (so a changed container becomes a few nested ops, not a
/// whole replaced container).
///
/// Time is about (n + m) · d for d differences, memory O(n + m): 20,000 env entries with a
/// few changes take well under a second (`benches/json_diff.rs`). Past [`ALIGN_DEADLINE`] the
/// alignment stops refining and the rest is paired by position: the patch is still exact,
/// only less small.
fn diff_array(
    left: &[Value],
    right: &[Value],
    path: &mut PointerBuf,
    ops: &mut Vec<PatchOperation>,
) {
    let (a, b) = intern(left, right);
    let deadline = Instant::now().checked_add(ALIGN_DEADLINE);
    let script = similar::capture_diff_slices_deadline(Algorithm::Myers, &a, &b, deadline);
    // `pos` is the index in the array as already patched; (i0, j0) start the pending run.
    let mut pos = 0usize;
    let (mut i0, mut j0) = (0usize, 0usize);
    for op in script {
        if let DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = op
        {
            emit_run(
                &left[i0..old_index],
                &right[j0..new_index],
                &mut pos,
                path,
                ops,
            );
            pos += len;
            i0 = old_index + len;
            j0 = new_index + len;
        }
    }
    emit_run(&left[i0..], &right[j0..], &mut pos, path, ops);
}

/// The ops for one run of `removed` elements replaced by `added` ones, at `pos`.
fn emit_run(
    removed: &[Value],
    added: &[Value],
    pos: &mut usize,
    path: &mut PointerBuf,
    ops: &mut Vec<PatchOperation>,
) {
    let paired = removed.len().min(added.len());
    for k in 0..paired {
        path.push_back(*pos);
        if same_identity(&removed[k], &added[k]) {
            diff_value(&removed[k], &added[k], path, ops);
        } else {
            ops.push(PatchOperation::Replace(ReplaceOperation {
                path: path.clone(),
                value: added[k].clone(),
            }));
        }
        path.pop_back();
        *pos += 1;
    }
    for _ in paired..removed.len() {
        path.push_back(*pos);
        ops.push(PatchOperation::Remove(RemoveOperation {
            path: path.clone(),
        }));
        path.pop_back();
    }
    for value in &added[paired..] {
        path.push_back(*pos);
        ops.push(PatchOperation::Add(AddOperation {
            path: path.clone(),
            value: value.clone(),
        }));
        path.pop_back();
        *pos += 1;
    }
}

/// How long one array's alignment may refine before the rest is paired by position.
const ALIGN_DEADLINE: Duration = Duration::from_millis(500);

/// Ids for the elements of both arrays: equal values get equal ids, different values
/// different ids (a hash picks the bucket, `==` decides).
fn intern(left: &[Value], right: &[Value]) -> (Vec<u32>, Vec<u32>) {
    fn ids<'a>(
        values: &'a [Value],
        buckets: &mut HashMap<u64, Vec<(&'a Value, u32)>>,
        next: &mut u32,
    ) -> Vec<u32> {
        let mut out = Vec::with_capacity(values.len());
        for v in values {
            let bucket = buckets.entry(fingerprint(v)).or_default();
            let id = match bucket.iter().find(|(seen, _)| *seen == v) {
                Some((_, id)) => *id,
                None => {
                    bucket.push((v, *next));
                    *next += 1;
                    *next - 1
                }
            };
            out.push(id);
        }
        out
    }
    let mut buckets = HashMap::new();
    let mut next = 0u32;
    let a = ids(left, &mut buckets, &mut next);
    let b = ids(right, &mut buckets, &mut next);
    (a, b)
}

/// A hash of a JSON value consistent with `==`: object members are combined independently
/// of their order (`serde_json` maps compare as maps), numbers by value.
fn fingerprint(v: &Value) -> u64 {
    let mut h = DefaultHasher::new();
    match v {
        Value::Null => 0u8.hash(&mut h),
        Value::Bool(b) => (1u8, b).hash(&mut h),
        Value::Number(n) => {
            2u8.hash(&mut h);
            if let Some(u) = n.as_u64() {
                (0u8, u).hash(&mut h);
            } else if let Some(i) = n.as_i64() {
                (1u8, i).hash(&mut h);
            } else if let Some(f) = n.as_f64() {
                // 0.0 == -0.0: one bucket for both.
                (2u8, if f == 0.0 { 0 } else { f.to_bits() }).hash(&mut h);
            }
        }
        Value::String(s) => (3u8, s).hash(&mut h),
        Value::Array(items) => {
            (4u8, items.len()).hash(&mut h);
            for item in items {
                fingerprint(item).hash(&mut h);
            }
        }
        Value::Object(map) => {
            let members = map.iter().fold(0u64, |acc, (k, v)| {
                let mut m = DefaultHasher::new();
                k.hash(&mut m);
                fingerprint(v).hash(&mut m);
                acc.wrapping_add(m.finish())
            });
            (5u8, map.len(), members).hash(&mut h);
        }
    }
    h.finish()
}

/// Two array elements are "the same item, changed" when they are objects with the same
/// `name` (containers, volumes, env entries, ports); then a nested diff is smaller and never
/// repeats fields that did not change.
fn same_identity(a: &Value, b: &Value) -> bool {
    match (a.get("name"), b.get("name")) {
        (Some(x), Some(y)) => x == y,
        _ => a.is_object() && b.is_object() && a.get("name").is_none() && b.get("name").is_none(),
    }
}

/// The `test` of `/metadata/resourceVersion` that pins a patch to the object as read.
///
/// Saved and printed patches never carry it: they are guarded by [`content_guards`] instead,
/// so a controller's status write (which changes `resourceVersion`) does not invalidate
/// them. `cluster::apply` checks the content guards itself against the object at a known
/// `resourceVersion` and sends the patch pinned to that version ([`pinned`]).
pub fn guard(resource_version: &str) -> PatchOperation {
    PatchOperation::Test(TestOperation {
        path: PointerBuf::parse("/metadata/resourceVersion").expect("static pointer"),
        value: Value::String(resource_version.to_string()),
    })
}

/// The ops that change something (every op but `test`), preceded by the `resourceVersion`
/// guard: what is sent once the content guards were checked against that version.
pub fn pinned(resource_version: &str, ops: &[PatchOperation]) -> Patch {
    let mut all = Vec::with_capacity(ops.len() + 1);
    all.push(guard(resource_version));
    all.extend(
        ops.iter()
            .filter(|op| !matches!(op, PatchOperation::Test(_)))
            .cloned(),
    );
    Patch(all)
}

/// `test` ops asserting that the document holds `seen` at `pointer`, split into the largest
/// subtrees whose `shown` form (the same value as outputs show it, secrets redacted) equals
/// `seen`: no test carries a value the redaction hides, and a leaf that is hidden gets no
/// test of its own (its siblings, and the name of an env entry, still do).
///
/// These are the guards of saved and printed patches: anyone who changed what the fix read or
/// wrote makes them fail, while status, scale, labels, annotations and `managedFields` (all
/// outside the pod spec) do not.
pub fn content_guards(pointer: &str, seen: &Value, shown: &Value) -> Vec<PatchOperation> {
    let mut out = Vec::new();
    if let Ok(mut path) = PointerBuf::parse(pointer) {
        push_guards(seen, shown, &mut path, &mut out);
    }
    out
}

fn push_guards(seen: &Value, shown: &Value, path: &mut PointerBuf, out: &mut Vec<PatchOperation>) {
    if seen == shown {
        out.push(PatchOperation::Test(TestOperation {
            path: path.clone(),
            value: seen.clone(),
        }));
        return;
    }
    match (seen, shown) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, v) in a {
                // A key the redaction renamed (a secret in a map key) is left untested.
                if let Some(w) = b.get(key) {
                    path.push_back(key);
                    push_guards(v, w, path, out);
                    path.pop_back();
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                path.push_back(i);
                push_guards(v, w, path, out);
                path.pop_back();
            }
        }
        _ => {}
    }
}

/// The path of the first `test` op of `ops` that does not hold on `doc` (compared as JSON
/// values, so key order and string escapes do not matter); `None` when all hold. The path
/// names where the object changed, never a value.
pub fn failed_test(doc: &Value, ops: &[PatchOperation]) -> Option<String> {
    ops.iter().find_map(|op| match op {
        PatchOperation::Test(t) if doc.pointer(t.path.as_str()) != Some(&t.value) => {
            Some(t.path.to_string())
        }
        _ => None,
    })
}

/// Where `now` first differs from `then` under `pointer` (both whole objects); `None` when
/// that subtree is equal. A path only, never a value.
pub fn first_difference(then: &Value, now: &Value, pointer: &str) -> Option<String> {
    let (a, b) = (then.pointer(pointer), now.pointer(pointer));
    match (a, b) {
        (Some(a), Some(b)) if a == b => None,
        (Some(a), Some(b)) => diff(a, b, pointer)
            .ok()
            .and_then(|ops| ops.first().map(|op| op.path().to_string()))
            .or_else(|| Some(pointer.to_string())),
        (None, None) => None,
        _ => Some(pointer.to_string()),
    }
}

/// Applies `ops` to a copy of `doc`, keeping `doc`'s key order.
///
/// `json_patch` removes object members with `swap_remove`, which moves an object's last key
/// into the removed one's place; a rewritten manifest or a preview would then show keys
/// moving that the fix never touched. Keys are put back in their original order (new keys
/// after them, in the order they were added).
pub fn applied(doc: &Value, ops: &[PatchOperation]) -> Result<Value, json_patch::PatchError> {
    let mut out = doc.clone();
    json_patch::patch(&mut out, ops)?;
    keep_order(&mut out, doc);
    Ok(out)
}

/// Reorders the keys of every object in `value` like those of the matching object in
/// `model`. Array elements are matched by `name` when they have one, else by position.
fn keep_order(value: &mut Value, model: &Value) {
    match (value, model) {
        (Value::Object(map), Value::Object(model_map)) => {
            let mut old = std::mem::take(map);
            for key in model_map.keys() {
                if let Some(v) = old.shift_remove(key) {
                    map.insert(key.clone(), v);
                }
            }
            map.extend(old);
            for (key, v) in map.iter_mut() {
                if let Some(m) = model_map.get(key) {
                    keep_order(v, m);
                }
            }
        }
        (Value::Array(items), Value::Array(model_items)) => {
            // The first model item of each string name, so large arrays stay linear.
            let mut by_name: HashMap<&str, usize> = HashMap::new();
            for (i, m) in model_items.iter().enumerate() {
                if let Some(n) = m.get("name").and_then(Value::as_str) {
                    by_name.entry(n).or_insert(i);
                }
            }
            for (i, item) in items.iter_mut().enumerate() {
                let named = match item.get("name") {
                    Some(Value::String(n)) => by_name.get(n.as_str()).copied(),
                    Some(n) => model_items.iter().position(|m| m.get("name") == Some(n)),
                    None => None,
                };
                if let Some(m) = named
                    .map(|j| &model_items[j])
                    .or_else(|| model_items.get(i))
                {
                    keep_order(item, m);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn ops_json(ops: &[PatchOperation]) -> Value {
        serde_json::to_value(ops).unwrap()
    }

    #[test]
    fn removing_a_middle_entry_is_one_remove() {
        let l = json!({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "hunter2"}, {"name": "C", "value": "3"}]});
        let r = json!({"env": [{"name": "A", "value": "1"}, {"name": "C", "value": "3"}]});
        let ops = diff(&l, &r, "/spec").unwrap();
        assert_eq!(
            ops_json(&ops),
            json!([{"op": "remove", "path": "/spec/env/1"}])
        );
    }

    #[test]
    fn appending_uses_the_next_index() {
        let l = json!({"v": [1, 2]});
        let r = json!({"v": [1, 2, 3]});
        assert_eq!(
            ops_json(&diff(&l, &r, "").unwrap()),
            json!([{"op": "add", "path": "/v/2", "value": 3}])
        );
    }

    #[test]
    fn a_changed_named_item_gets_a_nested_diff() {
        let l =
            json!({"c": [{"name": "app", "image": "a:1", "env": [{"name": "X", "value": "1"}]}]});
        let r = json!({"c": [{"name": "app", "image": "a:1@sha256:00", "env": [{"name": "X", "value": "1"}]}]});
        assert_eq!(
            ops_json(&diff(&l, &r, "").unwrap()),
            json!([{"op": "replace", "path": "/c/0/image", "value": "a:1@sha256:00"}])
        );
    }

    #[test]
    fn removing_a_key_keeps_the_order_of_the_others() {
        let doc = json!({"c": [{"name": "web", "image": "a", "envFrom": [], "env": [], "imagePullPolicy": "x"}]});
        let ops = diff(
            &doc,
            &json!({"c": [{"name": "web", "image": "a", "env": [], "imagePullPolicy": "x", "volumeMounts": []}]}),
            "",
        )
        .unwrap();
        let out = applied(&doc, &ops).unwrap();
        let keys: Vec<&str> = out["c"][0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            ["name", "image", "env", "imagePullPolicy", "volumeMounts"]
        );
    }

    /// covers issue #15 (item 7): 20,000 env entries (an n×m table would be 1.6 GB) give the
    /// two ops the change needs; timings are in `benches/json_diff.rs`.
    #[test]
    fn twenty_thousand_env_entries_diff_to_the_ops_of_the_change() {
        let env: Vec<Value> = (0..20_000)
            .map(|i| json!({"name": format!("V{i}"), "value": format!("{i}")}))
            .collect();
        let mut changed = env.clone();
        changed.remove(10_000);
        changed[15_000]["value"] = json!("new");
        changed.push(json!({"name": "V_FILE", "value": "/f"}));
        let (l, r) = (json!({"env": env}), json!({"env": changed}));
        let ops = diff(&l, &r, "").unwrap();
        assert_eq!(
            ops_json(&ops),
            json!([
                {"op": "remove", "path": "/env/10000"},
                {"op": "replace", "path": "/env/15000/value", "value": "new"},
                {"op": "add", "path": "/env/19999", "value": {"name": "V_FILE", "value": "/f"}}
            ])
        );
        assert_eq!(applied(&l, &ops).unwrap(), r);
        let back = diff(&r, &l, "").unwrap();
        assert_eq!(applied(&r, &back).unwrap(), l);
    }

    #[test]
    fn equal_values_with_members_in_another_order_align() {
        let l = json!({"v": [{"a": 1, "b": [1.0, -0.0]}, {"name": "x"}]});
        let r = json!({"v": [{"b": [1.0, 0.0], "a": 1}]});
        assert_eq!(
            ops_json(&diff(&l, &r, "").unwrap()),
            json!([{"op": "remove", "path": "/v/1"}])
        );
    }

    #[test]
    fn a_pinned_patch_starts_with_the_version_and_sends_no_content_test() {
        let ops = vec![
            PatchOperation::Test(TestOperation {
                path: PointerBuf::parse("/spec").unwrap(),
                value: json!({"a": 1}),
            }),
            PatchOperation::Remove(RemoveOperation {
                path: PointerBuf::parse("/spec/a").unwrap(),
            }),
        ];
        assert_eq!(
            serde_json::to_value(pinned("42", &ops)).unwrap(),
            json!([{"op": "test", "path": "/metadata/resourceVersion", "value": "42"},
                   {"op": "remove", "path": "/spec/a"}])
        );
    }

    /// covers issue #19: the guards of a saved patch test the whole pod spec, and carry no
    /// value the redaction hides (a literal secret's `value` is left out, its entry's name is
    /// still tested).
    #[test]
    fn content_guards_test_the_spec_but_never_a_hidden_value() {
        let seen = json!({"containers": [{"name": "app", "image": "a:1",
            "env": [{"name": "MODE", "value": "x"}, {"name": "PASSWORD", "value": "hunter2"}]}],
            "volumes": []});
        let mut shown = seen.clone();
        shown["containers"][0]["env"][1]["value"] = json!(crate::model::REDACTED);
        let guards = content_guards("/spec/template/spec", &seen, &shown);
        let text = serde_json::to_string(&guards).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        let paths: Vec<String> = guards.iter().map(|g| g.path().to_string()).collect();
        assert_eq!(
            paths,
            [
                "/spec/template/spec/containers/0/name",
                "/spec/template/spec/containers/0/image",
                "/spec/template/spec/containers/0/env/0",
                "/spec/template/spec/containers/0/env/1/name",
                "/spec/template/spec/volumes",
            ]
        );
        let doc =
            json!({"metadata": {"resourceVersion": "9"}, "spec": {"template": {"spec": seen}}});
        assert_eq!(failed_test(&doc, &guards), None);
        let mut edited = doc.clone();
        edited["spec"]["template"]["spec"]["containers"][0]["image"] = json!("a:2");
        assert_eq!(
            failed_test(&edited, &guards).as_deref(),
            Some("/spec/template/spec/containers/0/image")
        );
        // Whole when nothing is hidden: one test.
        let plain = json!({"containers": []});
        assert_eq!(content_guards("/spec", &plain, &plain).len(), 1);
    }

    #[test]
    fn first_difference_names_a_path_only() {
        let then = json!({"spec": {"c": [{"name": "a", "image": "x"}]}, "status": {"n": 1}});
        let mut now = then.clone();
        now["status"]["n"] = json!(2);
        assert_eq!(first_difference(&then, &now, "/spec"), None);
        now["spec"]["c"][0]["image"] = json!("secret-y");
        assert_eq!(
            first_difference(&then, &now, "/spec").as_deref(),
            Some("/spec/c/0/image")
        );
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (0i64..4).prop_map(|n| json!(n)),
            "[a-c]{0,2}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map("[a-c]|name", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn diff_then_apply_round_trips(l in arb_json(), r in arb_json()) {
            let wrap_l = json!({"x": l});
            let wrap_r = json!({"x": r});
            let ops = diff(&wrap_l, &wrap_r, "").unwrap();
            prop_assert_eq!(applied(&wrap_l, &ops).unwrap(), wrap_r);
        }
    }
}
