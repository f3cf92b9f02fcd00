//! The output boundary (issue #22): random plans over documents that hold canaries, and no
//! canary in any output.
//!
//! The input picks, orders and wraps manifest fragments that each hold canary values where
//! a secret can hide: a literal env secret and its copies (another env var, an `args` flag,
//! an annotation, the last-applied annotation), a Secret's `data`/`stringData` (and its
//! last-applied copy), a suppressed workload, a move left out, a ConfigMap host, an
//! `envFrom` beside a native move. The fragments go out as sibling documents or as the items
//! of a `kind: List` (what `kubectl get -o yaml` writes). Everything `fix -f` would print
//! (manifests, `-o json`, previews, patch views, stderr lines; with and without
//! `--allow-app-changes`) must hold no canary. The same input also builds server error
//! messages (object dumps, quoted values, field errors) and URLs with userinfo, whose shown
//! forms must hold no canary either.
#![no_main]

use kubectl_secfix::cli::fix::offline_outputs;
use kubectl_secfix::fix::server_message::{Cause, ServerError, describe, message};
use kubectl_secfix::model::text::{scrub_userinfo, without_userinfo};
use libfuzzer_sys::fuzz_target;

/// Every canary starts so; the rest is taken from the input.
const MARK: &str = "sfxCANARY";

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    /// A canary: the mark, then 4–11 characters of `[a-z0-9]` from the input.
    fn canary(&mut self) -> String {
        let n = 4 + usize::from(self.byte() % 8);
        let tail: String = (0..n)
            .map(|_| {
                let b = self.byte() % 36;
                char::from(if b < 10 { b'0' + b } else { b'a' + b - 10 })
            })
            .collect();
        format!("{MARK}-{tail}")
    }
}

/// One manifest object (as YAML flow JSON, which YAML reads) holding canaries.
fn fragment(kind: u8, i: usize, input: &mut Input<'_>) -> serde_json::Value {
    use serde_json::json;
    let ns = "canary";
    let secret = input.canary();
    let name = format!("w{i}");
    let pod = |env: serde_json::Value, extra: serde_json::Value| {
        let mut c = json!({"name": "app", "image": "mysql:8.4", "env": env});
        if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
            c.extend(extra.clone());
        }
        json!({"containers": [c]})
    };
    match kind % 8 {
        // A literal secret and its copies.
        0 => {
            let spec = pod(
                json!([{"name": "DB_PASSWORD", "value": secret},
                    {"name": "BACKUP_PASSWORD", "value": secret}]),
                json!({"args": [format!("--db-password={secret}")]}),
            );
            let applied = json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"template": {"spec": spec.clone()}}});
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": ns, "annotations": {
                    "kubectl.kubernetes.io/last-applied-configuration": applied.to_string(),
                    "note": format!("pw {secret}")}},
                "spec": {"selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}})
        }
        // A Secret.
        1 => {
            let applied = json!({"apiVersion": "v1", "kind": "Secret",
                "stringData": {"pw": secret}});
            let other = input.canary();
            json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": name, "namespace": ns, "annotations": {
                    "kubectl.kubernetes.io/last-applied-configuration": applied.to_string()}},
                "data": {"raw": secret}, "stringData": {"token": other}})
        }
        // A suppressed workload.
        2 => json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns,
                "annotations": {"secfix.dev/ignore": "env-literal-secret"}},
            "spec": {"selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}},
                    "spec": pod(json!([{"name": "REDIS_PASSWORD", "value": secret}]), json!({}))}}}),
        // A move left out (no image reads a file).
        3 => json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"containers": [{"name": "app", "image": "example.com/app:1",
                "env": [{"name": "API_TOKEN", "value": secret}]}]}}),
        // A ConfigMap a workload reads a host from.
        4 => json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cfg", "namespace": ns},
            "data": {"host": format!("postgres://u:{secret}@{}:5432/db", secret.to_lowercase()),
                "MYSQL_PASSWORD": secret}}),
        // A native move beside an envFrom, and a probe reading the variable.
        5 => json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}},
                    "spec": pod(
                        json!([{"name": "MYSQL_PASSWORD", "value": secret},
                            {"name": "DB_HOST", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "host"}}}]),
                        json!({"envFrom": [{"configMapRef": {"name": "cfg"}}],
                            "livenessProbe": {"exec": {"command": ["sh", "-c", "mysqladmin -p$MYSQL_PASSWORD ping"]}}}))}}}),
        // A Namespace (the NetworkPolicy fix and its flow table).
        6 => json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        // A workload with a secret-looking literal in an init container and a CronJob.
        _ => json!({"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                "initContainers": [{"name": "init", "image": "busybox:1",
                    "env": [{"name": "AUTH_TOKEN", "value": secret}]}],
                "containers": [{"name": "app", "image": "busybox:1",
                    "env": [{"name": "SECRET_KEY", "value": secret}]}]}}}}}}),
    }
}

/// A server error: a field error whose value is an object dump or a quoted value.
fn server_error(input: &mut Input<'_>) -> (String, String) {
    let secret = input.canary();
    let value = match input.byte() % 4 {
        0 => format!(
            "core.PodTemplateSpec{{Spec:core.PodSpec{{Containers:[]core.Container{{core.Container{{Env:[]core.EnvVar{{core.EnvVar{{Name:\"DB_PASSWORD\", Value:\"{secret}\"}}}}}}}}}}}}"
        ),
        1 => format!("\"{secret}\""),
        2 => format!("\"a, {secret}: b\""),
        _ => format!("map[string]string{{\"pw\":\"{secret}\"}}"),
    };
    let detail = if input.byte() % 2 == 0 {
        ": field is immutable"
    } else {
        ""
    };
    (
        format!("spec.template: Invalid value: {value}{detail}"),
        format!(
            "Deployment.apps \"w\" is invalid: [spec.template: Invalid value: {value}{detail}, metadata.name: Required value]"
        ),
    )
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let count = 1 + usize::from(input.byte() % 6);
    let as_list = input.byte() % 2 == 0;
    let objects: Vec<serde_json::Value> = (0..count)
        .map(|i| {
            let kind = input.byte();
            fragment(kind, i, &mut input)
        })
        .collect();
    let yaml = if as_list {
        serde_json::json!({"apiVersion": "v1", "kind": "List", "items": objects}).to_string()
    } else {
        objects
            .iter()
            .map(|o| o.to_string())
            .collect::<Vec<_>>()
            .join("\n---\n")
    };
    for allow in [false, true] {
        for out in offline_outputs("canary.yaml", yaml.as_bytes(), allow) {
            assert!(
                !out.contains(MARK),
                "canary in the output of {yaml}:\n{out}"
            );
        }
    }

    let (cause, whole) = server_error(&mut input);
    let shown = [
        describe(&ServerError {
            code: 422,
            reason: "Invalid",
            message: &whole,
            kind: "Deployment",
            name: "w",
            causes: vec![Cause {
                reason: "FieldValueInvalid",
                field: "spec.template",
                message: &cause,
            }],
        }),
        describe(&ServerError {
            code: 422,
            reason: "Invalid",
            message: &whole,
            ..ServerError::default()
        }),
        message(&whole),
    ];
    for s in shown {
        assert!(
            !s.contains(MARK),
            "canary in the server message {s:?} of {whole:?}"
        );
    }

    let user = input.canary();
    let pass = input.canary();
    let url = format!("https://{user}:{pass}@host.example:6443/api");
    assert!(!without_userinfo(&url).contains(MARK));
    let text = format!("cannot reach {url}: refused ({url})");
    assert!(!scrub_userinfo(&text).contains(MARK));
});
