//! Digest pinning through the CLI, against the test bed's real registries: which source gave
//! each digest, `--digest-source pods` never contacting a registry, and a registry that never
//! answers costing one timeout without stopping the other fixes.

mod support;

use std::io::Write as _;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

fn manifest(images: &[&str]) -> String {
    images
        .iter()
        .enumerate()
        .map(|(i, image)| {
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app{i}, namespace: digests}}\nspec:\n  selector: {{matchLabels: {{app: app{i}}}}}\n  template:\n    metadata: {{labels: {{app: app{i}}}}}\n    spec:\n      containers:\n      - {{name: c, image: '{image}'}}\n"
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

fn write(dir: &tempfile::TempDir, text: &str) -> String {
    let path = dir.path().join("apps.yaml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// A loopback listener that counts connections and never answers.
fn silent_listener() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            seen.fetch_add(1, Ordering::SeqCst);
            held.push(conn); // keep it open, say nothing
        }
    });
    (addr, count)
}

fn results(out: &support::Output) -> Value {
    out.json()
}

fn finding_for<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["findings"].as_array().unwrap().iter())
        .chain(report["notFixable"].as_array().unwrap().iter())
        .find(|f| f["name"] == name && f["check"] == "mutable-image-tag")
        .unwrap_or_else(|| panic!("no image finding for {name}: {report:#}"))
}

#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn registry_digests_pin_offline_manifests_and_say_their_source() {
    let c = live!();
    let pushed = c.push_image(&c.registry, None, "team/api", "v1");
    let private = c.push_image(&c.auth_registry, c.auth(), "team/billing", "2.0");
    let dir = tempfile::tempdir().unwrap();
    let images = [
        format!("{}/team/api:v1", c.registry),
        format!("{}/team/billing:2.0", c.auth_registry),
        format!("{}/team/api:missing", c.registry),
    ];
    let file = write(
        &dir,
        &manifest(&images.iter().map(String::as_str).collect::<Vec<_>>()),
    );
    // Credentials for the private registry come from a Docker config, as `docker login` writes.
    let docker = dir.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", c.auth_user, c.auth_password));
    std::fs::File::create(docker.join("config.json"))
        .unwrap()
        .write_all(
            format!(
                r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#,
                c.auth_registry
            )
            .as_bytes(),
        )
        .unwrap();

    let out = c
        .secfix([
            "fix",
            "-f",
            &file,
            "--checks",
            "mutable-image-tag",
            "--digest-source",
            "registry",
            "-o",
            "json",
        ])
        .env("DOCKER_CONFIG", &docker)
        .run();
    out.assert_code(0);
    let report = results(&out);
    assert!(!out.stdout().contains(&c.auth_password) && !out.stderr().contains(&c.auth_password));
    for (name, digest) in [("app0", &pushed), ("app1", &private)] {
        let f = finding_for(&report, name);
        assert_eq!(f["detail"]["digest"], digest.as_str(), "{f}");
        assert_eq!(f["detail"]["digestSource"], "registry");
    }
    let missing = finding_for(&report, "app2");
    assert_eq!(missing["fixable"], false);
    assert!(
        missing["notFixableReason"]
            .as_str()
            .unwrap()
            .contains("not found"),
        "{missing}"
    );

    // The same through --write: the file now pins the digests and keeps the tags.
    c.secfix([
        "fix",
        "-f",
        &file,
        "--digest-source",
        "registry",
        "--checks",
        "mutable-image-tag",
        "--write",
    ])
    .env("DOCKER_CONFIG", &docker)
    .run()
    .assert_code(0);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains(&format!("{}/team/api:v1@{pushed}", c.registry)),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}/team/billing:2.0@{private}", c.auth_registry)),
        "{text}"
    );

    // scan -o json reports the digest a fix would use, when asked to ask the registry.
    let scan = c
        .secfix([
            "scan",
            "-f",
            &file,
            "--digest-source",
            "registry",
            "-o",
            "json",
        ])
        .run();
    let report = scan.json();
    let still = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "mutable-image-tag")
        .count();
    assert_eq!(still, 1, "only the missing tag is left: {report:#}");
}

#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn pods_source_never_contacts_a_registry_and_a_silent_one_only_costs_its_timeout() {
    let c = live!();
    let (silent, connections) = silent_listener();
    let pushed = c.push_image(&c.registry, None, "team/web", "1.0");
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir,
        &manifest(&[
            &format!("{silent}/team/slow:1"),
            &format!("{}/team/web:1.0", c.registry),
        ]),
    );

    let out = c
        .secfix([
            "fix",
            "-f",
            &file,
            "--checks",
            "mutable-image-tag",
            "--digest-source",
            "pods",
            "-o",
            "json",
        ])
        .run();
    out.assert_code(0);
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "--digest-source pods asked a registry"
    );

    let started = std::time::Instant::now();
    let out = c
        .secfix([
            "fix",
            "-f",
            &file,
            "--checks",
            "mutable-image-tag",
            "--digest-source",
            "registry",
            "--registry-timeout",
            "2",
            "-o",
            "json",
        ])
        .run();
    out.assert_code(0);
    assert!(connections.load(Ordering::SeqCst) > 0);
    let report = out.json();
    let slow = finding_for(&report, "app0");
    let reason = slow["notFixableReason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("timed out") || reason.contains("timeout"),
        "{slow}"
    );
    let web = finding_for(&report, "app1");
    assert_eq!(
        web["detail"]["digest"],
        pushed.as_str(),
        "the other fix still happens"
    );
    // Not a timing assertion on speed: only that a silent registry cannot hang the run.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}
