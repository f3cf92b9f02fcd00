//! Pure logic of applying many plans at once and of replaying a journal a killed run left
//! (issue 26): which writes may run side by side, and what a record that was still
//! pending when the run stopped means for the object as it is now.
//!
//! No I/O here: `cluster::fleet` sends, `cluster::journal` stores, `cli` prints.

use json_patch::{Patch, PatchOperation};
use serde_json::Value;

use crate::model::REDACTED;

/// Groups of indices whose items may run concurrently with every other group: two items
/// that share a key (the object a plan patches or creates) are in the same group, which
/// runs them one after the other in index order. Groups are ordered by their first index.
pub fn independent_groups<K: Eq + std::hash::Hash>(keys: &[Vec<K>]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..keys.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut owner: std::collections::HashMap<&K, usize> = std::collections::HashMap::new();
    for (i, ks) in keys.iter().enumerate() {
        for k in ks {
            match owner.get(k) {
                Some(&j) => {
                    let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                    // The smaller index is the root: groups keep their first item's place.
                    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
                    parent[hi] = lo;
                }
                None => {
                    owner.insert(k, i);
                }
            }
        }
    }
    let mut slot: Vec<Option<usize>> = vec![None; keys.len()];
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in 0..keys.len() {
        let r = root(&mut parent, i);
        let g = *slot[r].get_or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    groups
}

/// What a record written just before its patch was sent (a "pending" record, left by a run
/// that was killed before it could mark the record applied) means for the object as it is
/// now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// The patch went through: the inverse applies to the object as it is (its guards hold)
    /// and turns the spec back into what the forward patch's guards describe. Rollback
    /// sends the inverse, as for an applied record.
    Applied,
    /// The patch was never sent (or never arrived): the forward guards still hold and the
    /// inverse's do not. Nothing to undo.
    NotApplied,
    /// Neither: someone else changed the object (at this path) since the fix read it. Rollback
    /// refuses it loudly and writes nothing.
    Changed(String),
}

/// Decides what a pending record means for `live` (the object as the server has it now).
///
/// `forward` is the saved forward patch (`test` ops on the spec the fix read, then the
/// ops), `inverse` the saved inverse (`test` ops on the spec the fix would leave, then the
/// ops that restore it). Forward tests whose value the redaction replaced are ignored (they
/// tell nothing); the inverse is always checked whole, and it is what rollback sends, guarded
/// again against the object at that moment.
pub fn classify_pending(forward: &Patch, inverse: &Patch, live: &Value) -> Pending {
    let forward_tests: Vec<PatchOperation> = forward
        .0
        .iter()
        .filter(|op| match op {
            PatchOperation::Test(t) => !holds_redacted(&t.value),
            _ => false,
        })
        .cloned()
        .collect();
    let inverse_holds = super::patch::failed_test(live, &inverse.0).is_none();
    if inverse_holds {
        let mut restored = live.clone();
        if json_patch::patch(&mut restored, &inverse.0).is_ok()
            && super::patch::failed_test(&restored, &forward_tests).is_none()
        {
            return Pending::Applied;
        }
    }
    match super::patch::failed_test(live, &forward_tests) {
        None if !inverse_holds => Pending::NotApplied,
        // The live spec is what the fix writes, yet the inverse does not lead back to
        // what it read: someone made the same change, or more.
        None => Pending::Changed(
            first_test_path(&inverse.0).unwrap_or_else(|| "the object".to_string()),
        ),
        Some(path) => Pending::Changed(path),
    }
}

fn first_test_path(ops: &[PatchOperation]) -> Option<String> {
    ops.iter().find_map(|op| match op {
        PatchOperation::Test(t) => Some(t.path.to_string()),
        _ => None,
    })
}

/// Whether a value holds the redaction marker anywhere (a test of it can never hold).
fn holds_redacted(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains(REDACTED),
        Value::Array(a) => a.iter().any(holds_redacted),
        Value::Object(m) => m.values().any(holds_redacted),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plans_of_one_object_run_in_order_and_others_side_by_side() {
        let keys = vec![
            vec!["a"],
            vec!["b"],
            vec!["a", "s"],
            vec!["c"],
            vec!["s"],
            vec!["d", "b"],
        ];
        assert_eq!(
            independent_groups(&keys),
            vec![vec![0, 2, 4], vec![1, 5], vec![3]]
        );
        assert_eq!(independent_groups::<&str>(&[]), Vec::<Vec<usize>>::new());
        // Joined late: two groups merged by a later item keep index order.
        let keys = vec![vec!["x"], vec!["y"], vec!["x", "y"]];
        assert_eq!(independent_groups(&keys), vec![vec![0, 1, 2]]);
    }

    fn patch(v: Value) -> Patch {
        serde_json::from_value(v).unwrap()
    }

    /// A fix that moves a secretKeyRef env var into a file: what it read, what it leaves.
    fn records() -> (Patch, Patch, Value, Value) {
        let before = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "a", "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "db", "key": "k"}}}]}
        ]}}}, "status": {"replicas": 1}});
        let after = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "a", "volumeMounts": [{"name": "db", "mountPath": "/s"}]}
        ], "volumes": [{"name": "db", "secret": {"secretName": "db"}}]}}}, "status": {"replicas": 1}});
        let forward = patch(json!([
            {"op": "test", "path": "/spec/template/spec", "value": before["spec"]["template"]["spec"]},
            {"op": "remove", "path": "/spec/template/spec/containers/0/env"},
            {"op": "add", "path": "/spec/template/spec/containers/0/volumeMounts", "value": [{"name": "db", "mountPath": "/s"}]},
            {"op": "add", "path": "/spec/template/spec/volumes", "value": [{"name": "db", "secret": {"secretName": "db"}}]},
        ]));
        let inverse = patch(json!([
            {"op": "test", "path": "/spec/template/spec", "value": after["spec"]["template"]["spec"]},
            {"op": "remove", "path": "/spec/template/spec/volumes"},
            {"op": "remove", "path": "/spec/template/spec/containers/0/volumeMounts"},
            {"op": "add", "path": "/spec/template/spec/containers/0/env", "value": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "db", "key": "k"}}}]},
        ]));
        (forward, inverse, before, after)
    }

    /// covers issue #26: a record left pending by a killed run is rolled back when its patch
    /// went through, skipped when it never did, refused when someone else changed the object.
    #[test]
    fn a_pending_record_is_rolled_back_skipped_or_refused_by_what_the_object_holds() {
        let (forward, inverse, before, after) = records();
        assert_eq!(
            classify_pending(&forward, &inverse, &after),
            Pending::Applied
        );
        assert_eq!(
            classify_pending(&forward, &inverse, &before),
            Pending::NotApplied
        );
        // A status write changes nothing.
        let mut scaled = after.clone();
        scaled["status"]["replicas"] = json!(3);
        assert_eq!(
            classify_pending(&forward, &inverse, &scaled),
            Pending::Applied
        );
        // Someone changed the image, before or after the fix.
        for base in [&before, &after] {
            let mut edited = base.clone();
            edited["spec"]["template"]["spec"]["containers"][0]["image"] = json!("b");
            assert_eq!(
                classify_pending(&forward, &inverse, &edited),
                Pending::Changed("/spec/template/spec".into())
            );
        }
    }

    /// covers issue #26: a forward test whose value was redacted tells nothing and is left
    /// out; the inverse still decides.
    #[test]
    fn a_redacted_forward_test_is_ignored() {
        let (forward, inverse, before, after) = records();
        let mut ops = forward.0.clone();
        ops.insert(
            0,
            serde_json::from_value(
                json!({"op": "test", "path": "/spec/template/spec/x", "value": REDACTED}),
            )
            .unwrap(),
        );
        let forward = Patch(ops);
        assert_eq!(
            classify_pending(&forward, &inverse, &after),
            Pending::Applied
        );
        assert_eq!(
            classify_pending(&forward, &inverse, &before),
            Pending::NotApplied
        );
    }
}
