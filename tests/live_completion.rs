//! `kubectl secfix -n <TAB>` completes the namespaces of the real cluster, through real
//! kubectl and the shipped `kubectl_complete-secfix`.

mod support;

#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn namespace_and_context_values_come_from_the_cluster_and_kubeconfig() {
    let c = live!();
    let ns = c.namespace("completion").await;
    // A PATH with the plugin and its completer, as the krew caveats set it up.
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_kubectl-secfix"),
        bin.path().join("kubectl-secfix"),
    )
    .unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/kubectl_complete-secfix"
        ),
        bin.path().join("kubectl_complete-secfix"),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let out = c
        .kubectl(["__complete", "secfix", "scan", "-n", ""])
        .env("PATH", &path)
        .run();
    out.assert_code(0);
    assert!(out.stdout().lines().any(|l| l == ns), "{}", out.stdout());
    assert!(
        out.stdout().trim_end().ends_with(":4"),
        "no file completion: {}",
        out.stdout()
    );

    let out = c
        .kubectl(["__complete", "secfix", "fix", "--context", ""])
        .env("PATH", &path)
        .run();
    let text = out.stdout();
    let contexts: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(':'))
        .map(|l| l.split('\t').next().unwrap_or(l))
        .collect();
    assert!(
        contexts.contains(&"admin") && contexts.contains(&"viewer"),
        "{}",
        out.stdout()
    );

    // `--contexts` completes the item after the last comma, leaving out those listed.
    let out = c
        .kubectl(["__complete", "secfix", "scan", "--contexts", "admin,"])
        .env("PATH", &path)
        .run();
    let text = out.stdout();
    let candidates: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(':'))
        .map(|l| l.split('\t').next().unwrap_or(l))
        .collect();
    assert_eq!(candidates, ["admin,viewer"], "{}", out.stdout());
}
