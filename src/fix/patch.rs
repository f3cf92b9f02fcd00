//! Minimal RFC 6902 patches between two JSON documents, guarded by `resourceVersion`.
//!
//! `json_patch::diff` compares arrays index by index, so removing `env[1]` of three entries
//! becomes "replace env[1] with env[2], remove env[2]": it rewrites entries the fix never
//! touched and, for a literal secret, would copy values into the patch. This diff aligns
//! arrays by their longest common subsequence instead, so an entry that is removed is a single
//! `remove` and untouched entries never appear.

use json_patch::jsonptr::PointerBuf;
use json_patch::{
    AddOperation, Patch, PatchOperation, RemoveOperation, ReplaceOperation, TestOperation,
};
use serde_json::{Map, Value};

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

/// Aligns the arrays by longest common subsequence of equal elements. Runs of removed and
/// added elements at the same place are paired element by element and diffed recursively
/// (so a changed container becomes a few nested ops, not a whole replaced container).
fn diff_array(
    left: &[Value],
    right: &[Value],
    path: &mut PointerBuf,
    ops: &mut Vec<PatchOperation>,
) {
    let (n, m) = (left.len(), right.len());
    // lcs[i][j] = LCS length of left[i..] and right[j..]. Pod spec arrays are short.
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if left[i] == right[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // Walk both arrays; `pos` is the index in the array as already patched.
    let (mut i, mut j, mut pos) = (0, 0, 0usize);
    while i < n || j < m {
        if i < n && j < m && left[i] == right[j] {
            i += 1;
            j += 1;
            pos += 1;
            continue;
        }
        // Collect the run of removals and additions up to the next common element.
        let (i0, j0) = (i, j);
        while i < n && (j >= m || (left[i] != right[j] && lcs[i + 1][j] >= lcs[i][j + 1])) {
            i += 1;
        }
        while j < m && (i >= n || (left[i] != right[j] && lcs[i][j + 1] > lcs[i + 1][j])) {
            j += 1;
        }
        if i == i0 && j == j0 {
            // Cannot happen (one side always advances), but never loop forever.
            break;
        }
        let removed = &left[i0..i];
        let added = &right[j0..j];
        let paired = removed.len().min(added.len());
        for k in 0..paired {
            if same_identity(&removed[k], &added[k]) {
                path.push_back(pos);
                diff_value(&removed[k], &added[k], path, ops);
                path.pop_back();
            } else {
                path.push_back(pos);
                ops.push(PatchOperation::Replace(ReplaceOperation {
                    path: path.clone(),
                    value: added[k].clone(),
                }));
                path.pop_back();
            }
            pos += 1;
        }
        for _ in paired..removed.len() {
            path.push_back(pos);
            ops.push(PatchOperation::Remove(RemoveOperation {
                path: path.clone(),
            }));
            path.pop_back();
        }
        for value in &added[paired..] {
            path.push_back(pos);
            ops.push(PatchOperation::Add(AddOperation {
                path: path.clone(),
                value: value.clone(),
            }));
            path.pop_back();
            pos += 1;
        }
    }
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

/// The guard every patch starts with: fail unless the object is still at `resource_version`.
pub fn guard(resource_version: &str) -> PatchOperation {
    PatchOperation::Test(TestOperation {
        path: PointerBuf::parse("/metadata/resourceVersion").expect("static pointer"),
        value: Value::String(resource_version.to_string()),
    })
}

/// `ops` preceded by the `resourceVersion` guard.
pub fn guarded(resource_version: &str, ops: Vec<PatchOperation>) -> Patch {
    let mut all = Vec::with_capacity(ops.len() + 1);
    all.push(guard(resource_version));
    all.extend(ops);
    Patch(all)
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
            for (i, item) in items.iter_mut().enumerate() {
                let by_name = item
                    .get("name")
                    .and_then(|n| model_items.iter().find(|m| m.get("name") == Some(n)));
                if let Some(m) = by_name.or_else(|| model_items.get(i)) {
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

    #[test]
    fn guard_comes_first() {
        let p = guarded("42", vec![]);
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!([{"op": "test", "path": "/metadata/resourceVersion", "value": "42"}])
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
