//! `scan --all-contexts` / `--contexts` against two real test beds at once (covers issue #13,
//! "Many clusters"): one kubeconfig holds a context for each bed, one for a server that is not
//! there and one whose user may read nothing.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use expectrl::{Eof, Expect, Session};
use serde_json::Value;
use support::{ContextTo, Output};

/// A Deployment with one `env-secret` finding and a pinned image.
fn deployment(name: &str) -> String {
    support::deployment(name, support::SECRET_REF_ENV, support::PINNED_IMAGE)
}

/// The two beds seeded (one namespace each, a Deployment `web-a` / `web-b` in it) and a
/// kubeconfig with contexts `bed-a` and `bed-b` (admin, each defaulting to its namespace),
/// `broken` (nothing listens) and `forbidden` (the second bed's viewer: no RBAC binding).
struct Fleet {
    a: &'static support::Cluster,
    b: &'static support::Cluster,
    ns_a: String,
    ns_b: String,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

async fn fleet(prefix: &str) -> Fleet {
    let (a, b) = live2!();
    let ns_a = a.namespace(prefix).await;
    let ns_b = b.namespace(prefix).await;
    a.apply_yaml(&ns_a, &deployment("web-a")).await;
    b.apply_yaml(&ns_b, &deployment("web-b")).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = support::merged_kubeconfig(
        &dir.path().join("kubeconfig"),
        &[
            (
                "bed-a",
                ContextTo::Bed {
                    bed: a,
                    context: "admin",
                    namespace: Some(&ns_a),
                },
            ),
            (
                "bed-b",
                ContextTo::Bed {
                    bed: b,
                    context: "admin",
                    namespace: Some(&ns_b),
                },
            ),
            ("broken", ContextTo::Unreachable),
            (
                "forbidden",
                ContextTo::Bed {
                    bed: b,
                    context: "viewer",
                    namespace: Some(&ns_b),
                },
            ),
        ],
    );
    Fleet {
        a,
        b,
        ns_a,
        ns_b,
        kubeconfig,
        _dir: dir,
    }
}

impl Fleet {
    /// `kubectl secfix ARGS` with the fleet's kubeconfig.
    fn secfix(&self, args: &[&str]) -> Output {
        self.a
            .secfix(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .run()
    }
}

fn findings(out: &Output) -> Vec<Value> {
    out.json()["findings"].as_array().unwrap().clone()
}

/// The `(context, server, namespace, name)` of each finding, in report order.
fn where_found(findings: &[Value]) -> Vec<(String, String, String, String)> {
    findings
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
            (s("context"), s("server"), s("namespace"), s("name"))
        })
        .collect()
}

#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn every_context_is_scanned_findings_carry_it_and_broken_ones_are_reported() {
    let fleet = fleet("multi").await;
    let out = fleet.secfix(&["scan", "--all-contexts", "-o", "json"]);
    // Two contexts failed, the others were scanned: exit 1, with their findings printed.
    out.assert_code(1);
    let (server_a, server_b) = (fleet.a.server(), fleet.b.server());
    let expected = |ctx: &str, server: &str, ns: &str, name: &str| {
        [
            (
                ctx.to_string(),
                server.to_string(),
                ns.to_string(),
                name.to_string(),
            ),
            (
                ctx.to_string(),
                server.to_string(),
                ns.to_string(),
                ns.to_string(),
            ),
            (
                ctx.to_string(),
                server.to_string(),
                ns.to_string(),
                ns.to_string(),
            ),
        ]
    };
    let mut want = expected("bed-a", &server_a, &fleet.ns_a, "web-a").to_vec();
    want.extend(expected("bed-b", &server_b, &fleet.ns_b, "web-b"));
    // Context by context, in kubeconfig order: the Deployment's env-secret, then the
    // namespace's two default-allow findings (Ingress, Egress).
    assert_eq!(where_found(&findings(&out)), want, "{out:?}");

    let doc = out.json();
    let contexts = doc["contexts"].as_array().unwrap();
    let status: Vec<(&str, &str, u64)> = contexts
        .iter()
        .map(|c| {
            (
                c["context"].as_str().unwrap(),
                c["status"].as_str().unwrap(),
                c["findings"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        status,
        [
            ("bed-a", "ok", 3),
            ("bed-b", "ok", 3),
            ("broken", "failed", 0),
            ("forbidden", "failed", 0)
        ]
    );
    assert_eq!(contexts[0]["server"], server_a.as_str());
    let broken = contexts[2]["errors"].to_string();
    assert!(
        broken.contains("cannot reach https://127.0.0.1:"),
        "{broken}"
    );
    let forbidden = contexts[3]["errors"].to_string();
    assert!(forbidden.contains("forbidden"), "{forbidden}");
    let stderr = out.stderr();
    assert!(
        stderr.contains("error: context broken: cannot reach")
            && stderr.contains("error: context forbidden: "),
        "{stderr}"
    );
    assert_eq!(doc["summary"]["total"], 6);

    // The table: a CONTEXT column, then one line per context after the summary.
    let table = fleet.secfix(&["scan", "--contexts", "bed-b,bed-a"]);
    table.assert_code(3);
    let text = table.stdout();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("CONTEXT   SEVERITY"), "{text}");
    // Worst first (issue 25); within a severity, the contexts in the order given.
    assert!(
        lines[1].starts_with("bed-b     high") && lines[2].starts_with("bed-a     high"),
        "{text}"
    );
    assert!(
        text.contains(&format!("bed-b     {server_b}   ok       3")),
        "{text}"
    );

    // SARIF: the context and server in each result's properties, and distinct fingerprints
    // for the same kind of finding in two clusters.
    let sarif = fleet.secfix(&["scan", "--contexts", "bed-a,bed-b", "-o", "sarif"]);
    sarif.assert_code(3);
    let results = sarif.json()["runs"][0]["results"]
        .as_array()
        .unwrap()
        .clone();
    let contexts: Vec<&str> = results
        .iter()
        .map(|r| r["properties"]["context"].as_str().unwrap())
        .collect();
    assert_eq!(
        contexts,
        ["bed-a", "bed-a", "bed-a", "bed-b", "bed-b", "bed-b"]
    );
    assert_eq!(results[3]["properties"]["server"], server_b.as_str());
    assert!(
        results[0]["partialFingerprints"]["secfixFinding/v2"]
            .as_str()
            .unwrap()
            .starts_with("bed-a@env-secret:")
    );

    // YAML carries the same fields.
    let yaml = fleet.secfix(&["scan", "--contexts", "bed-a", "-o", "yaml"]);
    yaml.assert_code(3);
    let doc: Value = serde_saphyr::from_str(&yaml.stdout()).unwrap();
    assert_eq!(doc["findings"][0]["context"], "bed-a");
    assert_eq!(doc["findings"][0]["server"], server_a.as_str());
}

#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn one_context_at_a_time_gives_the_same_findings_as_all_at_once() {
    let fleet = fleet("multi-same").await;
    let both = fleet.secfix(&[
        "scan",
        "--contexts",
        "bed-a,bed-b",
        "--parallel-contexts",
        "1",
        "-o",
        "json",
    ]);
    both.assert_code(3);
    let mut one_by_one = Vec::new();
    for ctx in ["bed-a", "bed-b"] {
        let out = fleet.secfix(&["scan", "--context", ctx, "-o", "json"]);
        out.assert_code(3);
        one_by_one.extend(findings(&out));
    }
    let strip = |fs: Vec<Value>| -> Vec<Value> {
        fs.into_iter()
            .map(|mut f| {
                let m = f.as_object_mut().unwrap();
                assert!(m.remove("context").is_some() && m.remove("server").is_some());
                f
            })
            .collect()
    };
    assert_eq!(strip(findings(&both)), one_by_one);
    assert!(
        one_by_one.iter().all(|f| f.get("context").is_none()),
        "a one-context scan does not add the fields"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn a_terminal_shows_one_progress_line_per_context() {
    let fleet = fleet("multi-pty").await;
    let mut cmd = fleet
        .a
        .kubectl_command(["secfix", "scan", "--contexts", "bed-a,broken"]);
    cmd.env("KUBECONFIG", &fleet.kubeconfig)
        .env("TERM", "xterm")
        .env("NO_COLOR", "1");
    let mut s = Session::spawn(cmd).expect("spawn kubectl secfix in a pty");
    s.set_expect_timeout(Some(Duration::from_secs(60)));
    s.get_process_mut().set_window_size(160, 40).unwrap();
    let all = s.expect(Eof).expect("the scan ends");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(all.before()),
        String::from_utf8_lossy(all.as_bytes())
    );
    // Each context has its line, with its state as it goes.
    for state in [
        "bed-a ",
        "broken ",
        "done: 3 findings",
        "failed: cannot reach",
    ] {
        assert!(text.contains(state), "{state:?} not shown: {text}");
    }
    assert!(text.contains(&fleet.ns_a), "the table follows: {text}");
}

#[test]
fn contexts_not_in_the_kubeconfig_are_a_usage_error_before_any_is_contacted() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = support::merged_kubeconfig(
        &dir.path().join("kubeconfig"),
        &[("one", ContextTo::Unreachable)],
    );
    let out = support::Cmd::new(env!("CARGO_BIN_EXE_kubectl-secfix"))
        .args(["scan", "--contexts", "one,two,three"])
        .env("KUBECONFIG", &kubeconfig)
        .run();
    out.assert_code(2);
    assert!(
        out.stderr()
            .contains("--contexts: no such context in the kubeconfig: two, three"),
        "{out:?}"
    );
    assert!(
        !out.stderr().contains("cannot reach"),
        "nothing was contacted"
    );
}

#[test]
fn flags_that_cannot_go_together_are_usage_errors() {
    let bin = env!("CARGO_BIN_EXE_kubectl-secfix");
    for (args, says) in [
        (
            &["scan", "--all-contexts", "--context", "a"][..],
            "--all-contexts cannot be combined with --context",
        ),
        (
            &["scan", "--contexts", "a", "-f", "-"][..],
            "--contexts cannot be combined with -f",
        ),
        (
            &["scan", "--report-to-cluster", "-f", "-"][..],
            "--report-to-cluster cannot be combined with -f",
        ),
        (
            &["scan", "--report-to-cluster", "-l", "app=web"][..],
            "--report-to-cluster cannot be combined with -l",
        ),
        (
            &["scan", "--all-contexts", "--contexts", "a"][..],
            "cannot be used with",
        ),
        (
            &["scan", "--contexts", "a", "--parallel-contexts", "0"][..],
            "--parallel-contexts",
        ),
    ] {
        let out = support::Cmd::new(bin).args(args).run();
        out.assert_code(2);
        assert!(out.stderr().contains(says), "{args:?}: {out:?}");
    }
}

/// Covers issue #13: "`fix` stays one context at a time, on purpose: say so".
#[test]
fn fix_refuses_several_contexts_and_says_why() {
    let bin = env!("CARGO_BIN_EXE_kubectl-secfix");
    for flag in [&["--all-contexts"][..], &["--contexts", "a,b"][..]] {
        let out = support::Cmd::new(bin)
            .arg("fix")
            .args(flag)
            .arg("--yes")
            .run();
        out.assert_code(2);
        let err = out.stderr();
        assert!(
            err.contains(&format!(
                "{}: fix works on one context at a time, on purpose",
                flag[0]
            )) && err.contains("fix --context NAME"),
            "{out:?}"
        );
    }
    // Not offered: completion and --help do not list them for fix.
    let help = support::Cmd::new(bin).args(["fix", "--help"]).run();
    assert!(!help.stdout().contains("--all-contexts"));
}
