//! Benchmark of the JSON patch builder on large arrays (issue #15, item 7: "a container with
//! 3,000 env entries takes 9 s; 20,000 entries ran past 5 minutes at 1.8 GB").
//!
//! `cargo bench --bench json_diff [-- SIZES…]` (default sizes 3000 20000). Each case runs in
//! its own child process (this binary re-executed with `--case`), so its peak RSS (VmHWM) is
//! its own; each is run `RUNS` (3) times and the median wall time is shown. Cases, on a pod
//! spec whose container has N env entries:
//!
//! - `env-secret`: what the `env-secret` fix does: one `secretKeyRef` entry removed, a
//!   `_FILE` entry added, a volume mount and a volume added; forward diff, apply, inverse
//!   diff, apply back (the round trip is checked);
//! - `every-10th`: one entry in ten changed (many separate edits);
//! - `disjoint`: every entry different (the worst case for any alignment).
//!
//! Timings are shown, never asserted (see docs/benchmarks.md).

use std::process::Command;
use std::time::{Duration, Instant};

use kubectl_secfix::fix::patch;
use serde_json::{Value, json};

const RUNS: usize = 3;

fn spec(env: Vec<Value>, mounts: bool) -> Value {
    let mut c = json!({"name": "app", "image": "nginx:1.25", "env": env});
    let mut s = json!({"containers": [c.clone()]});
    if mounts {
        c["volumeMounts"] = json!([{"name": "secfix-db", "mountPath": "/var/run/secrets/secfix/db", "readOnly": true}]);
        s = json!({"containers": [c], "volumes": [{"name": "secfix-db", "secret": {"secretName": "db", "defaultMode": 256}}]});
    }
    s
}

fn entry(i: usize, tag: &str) -> Value {
    json!({"name": format!("VAR_{i}"), "value": format!("value-{tag}-{i}")})
}

/// `(before, after)` of one case.
fn case(name: &str, n: usize) -> (Value, Value) {
    match name {
        "env-secret" => {
            let mut env: Vec<Value> = (0..n).map(|i| entry(i, "a")).collect();
            let secret = json!({"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}});
            env.insert(n / 2, secret);
            let before = spec(env.clone(), false);
            env.remove(n / 2);
            env.push(
                json!({"name": "DB_PASSWORD_FILE", "value": "/var/run/secrets/secfix/db/password"}),
            );
            (before, spec(env, true))
        }
        "every-10th" => {
            let env: Vec<Value> = (0..n).map(|i| entry(i, "a")).collect();
            let changed: Vec<Value> = (0..n)
                .map(|i| entry(i, if i % 10 == 0 { "b" } else { "a" }))
                .collect();
            (spec(env, false), spec(changed, false))
        }
        "disjoint" => {
            let env: Vec<Value> = (0..n).map(|i| entry(i, "a")).collect();
            let other: Vec<Value> = (0..n).map(|i| entry(i + n, "b")).collect();
            (spec(env, false), spec(other, false))
        }
        other => panic!("unknown case {other}"),
    }
}

/// Runs one case once in this process; prints `millis ops peak_kib`.
fn run_case(name: &str, n: usize) {
    let (before, after) = case(name, n);
    let start = Instant::now();
    let ops = patch::diff(&before, &after, "/spec/template/spec").expect("pointer");
    let wrapped_before = json!({"spec": {"template": {"spec": before}}});
    let wrapped_after = json!({"spec": {"template": {"spec": after}}});
    let got = patch::applied(&wrapped_before, &ops).expect("forward patch applies");
    let inverse = patch::diff(
        &wrapped_after["spec"]["template"]["spec"],
        &wrapped_before["spec"]["template"]["spec"],
        "/spec/template/spec",
    )
    .expect("pointer");
    let back = patch::applied(&got, &inverse).expect("inverse applies");
    let took = start.elapsed();
    assert_eq!(got, wrapped_after, "{name} {n}: forward patch");
    assert_eq!(back, wrapped_before, "{name} {n}: inverse patch");
    println!("{} {} {}", took.as_millis(), ops.len(), peak_kib());
}

/// Peak resident set size of this process (VmHWM), in KiB.
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--case") {
        run_case(&args[1], args[2].parse().expect("size"));
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this too, without it:
    // then one quick round checks that the cases still round-trip. A numeric arg is a size.
    let benching = args.iter().any(|a| a == "--bench");
    let mut sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    if sizes.is_empty() {
        sizes = if benching {
            vec![3000, 20000]
        } else {
            vec![300]
        };
    }
    let runs = if benching { RUNS } else { 1 };
    let me = std::env::current_exe().expect("own path");
    println!("| case | env entries | median wall | ops | peak RSS |");
    println!("|---|---:|---:|---:|---:|");
    for name in ["env-secret", "every-10th", "disjoint"] {
        for &n in &sizes {
            let mut times = Vec::new();
            let (mut ops, mut peak) = (0, 0);
            for _ in 0..runs {
                let out = Command::new(&me)
                    .args(["--case", name, &n.to_string()])
                    .output()
                    .expect("run case");
                assert!(
                    out.status.success(),
                    "{name} {n}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let text = String::from_utf8_lossy(&out.stdout);
                let v: Vec<u64> = text
                    .split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect();
                times.push(Duration::from_millis(v[0]));
                ops = v[1];
                peak = peak.max(v[2]);
            }
            times.sort();
            println!(
                "| {name} | {n} | {:.3} s | {ops} | {:.1} MiB |",
                times[runs / 2].as_secs_f64(),
                peak as f64 / 1024.0
            );
        }
    }
}
