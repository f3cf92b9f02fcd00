//! `unsigned-image` and signed-only pinning against the test bed's real registry, with real
//! cosign (Debian trixie's 2.5, unpacked by tests/cluster/setup.sh) as the signer and as the
//! oracle: for every image, `cosign verify --key k1.pub` and the tool must agree.
//!
//! The images, each in a repository of its own test:
//! - `classic`: signed with key 1, the `sha256-<hex>.sig` tag;
//! - `oci11`: signed with key 1 as an OCI 1.1 referrer (`--registry-referrers-mode=oci-1-1`;
//!   the registry, docker-registry 2.8, has no referrers API, so cosign writes the
//!   `sha256-<hex>` fallback index);
//! - `wrongkey`: signed with key 2 only;
//! - `copied`: `classic`'s `.sig` manifest copied onto this image's `.sig` tag (a signature
//!   by key 1 whose payload names another digest);
//! - `unsigned`: nothing.
//!
//! cosign never reaches the internet: `--tlog-upload=false` to sign, `--insecure-ignore-tlog`
//! to verify, `--allow-http-registry --allow-insecure-registry` for the loopback registry.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kube::api::{Api, ListParams};
use serde_json::Value;

/// The cosign binary: `SECFIX_COSIGN`, else where tests/cluster/setup.sh unpacks it.
fn cosign() -> PathBuf {
    if let Some(p) = std::env::var_os("SECFIX_COSIGN") {
        return PathBuf::from(p);
    }
    let cache = std::env::var_os("SECFIX_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/kubectl-secfix")
        });
    let p = cache.join("trixie/usr/bin/cosign");
    assert!(
        p.exists(),
        "cosign not found at {} (tests/cluster/setup.sh installs it; SECFIX_COSIGN overrides)",
        p.display()
    );
    p
}

/// cosign with an empty key password, offline, in `dir`.
fn cosign_cmd(dir: &Path) -> Command {
    let mut cmd = Command::new(cosign());
    cmd.current_dir(dir)
        .env("COSIGN_PASSWORD", "")
        .env("COSIGN_EXPERIMENTAL", "1")
        .env("HOME", dir)
        .env("DOCKER_CONFIG", dir.join("docker"))
        .env("SIGSTORE_NO_CACHE", "1");
    cmd
}

fn run(mut cmd: Command) -> std::process::Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn generate_key(dir: &Path, prefix: &str) {
    let mut cmd = cosign_cmd(dir);
    cmd.args(["generate-key-pair", "--output-key-prefix", prefix]);
    let out = run(cmd);
    assert!(
        out.status.success(),
        "cosign generate-key-pair: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sign(dir: &Path, key: &str, reference: &str, referrers: bool) {
    let mut cmd = cosign_cmd(dir);
    cmd.args([
        "sign",
        "--key",
        key,
        "--tlog-upload=false",
        "--allow-http-registry",
        "--allow-insecure-registry",
        "-y",
    ]);
    if referrers {
        cmd.arg("--registry-referrers-mode=oci-1-1");
    }
    cmd.arg(reference);
    let out = run(cmd);
    assert!(
        out.status.success(),
        "cosign sign {reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether `cosign verify --key KEY` accepts `reference` (classic and OCI 1.1 signatures).
fn cosign_verifies(dir: &Path, key: &str, reference: &str) -> bool {
    [false, true].into_iter().any(|oci11| {
        let mut cmd = cosign_cmd(dir);
        cmd.args([
            "verify",
            "--key",
            key,
            "--insecure-ignore-tlog",
            "--allow-http-registry",
            "--allow-insecure-registry",
        ]);
        if oci11 {
            cmd.arg("--experimental-oci11");
        }
        cmd.arg(reference);
        run(cmd).status.success()
    })
}

/// GETs a manifest (any OCI type) as bytes.
fn get_manifest(registry: &str, repo: &str, reference: &str) -> Vec<u8> {
    let url = format!("http://{registry}/v2/{repo}/manifests/{reference}");
    let mut resp = ureq::get(&url)
        .header(
            "Accept",
            "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json",
        )
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    resp.body_mut().read_to_vec().unwrap()
}

/// The test images of one repository, signed as the module documentation says; returns
/// their digests by tag.
struct Bed {
    keys: tempfile::TempDir,
    repo: String,
    digests: BTreeMap<&'static str, String>,
}

const TAGS: [&str; 5] = ["classic", "oci11", "wrongkey", "copied", "unsigned"];

impl Bed {
    fn new(c: &support::Cluster, repo: &str) -> Bed {
        let keys = tempfile::tempdir().unwrap();
        generate_key(keys.path(), "k1");
        generate_key(keys.path(), "k2");
        let mut digests = BTreeMap::new();
        for tag in TAGS {
            digests.insert(tag, c.push_image(&c.registry, None, repo, tag));
        }
        let at = |tag: &str| format!("{}/{repo}@{}", c.registry, digests[tag]);
        sign(keys.path(), "k1.key", &at("classic"), false);
        sign(keys.path(), "k1.key", &at("oci11"), true);
        sign(keys.path(), "k2.key", &at("wrongkey"), false);
        // classic's signature manifest, copied onto copied's `.sig` tag.
        let sig_tag = |tag: &str| format!("{}.sig", digests[tag].replacen(':', "-", 1));
        let sig = get_manifest(&c.registry, repo, &sig_tag("classic"));
        support::Registry::new(&c.registry, None).push_manifest(
            repo,
            &sig_tag("copied"),
            "application/vnd.oci.image.manifest.v1+json",
            &sig,
        );
        Bed {
            keys,
            repo: repo.to_string(),
            digests,
        }
    }

    fn key(&self, name: &str) -> String {
        self.keys.path().join(name).to_str().unwrap().to_string()
    }

    /// What cosign says of each tag with key 1: `true` when it verifies.
    fn oracle(&self, c: &support::Cluster) -> BTreeMap<&'static str, bool> {
        TAGS.iter()
            .map(|t| {
                let r = format!("{}/{}:{t}", c.registry, self.repo);
                (*t, cosign_verifies(self.keys.path(), "k1.pub", &r))
            })
            .collect()
    }
}

fn deployment(ns: &str, name: &str, image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      containers:\n      - {{name: c, image: '{image}'}}\n"
    )
}

/// `name → problem reason` of the report's unsigned-image findings.
fn unsigned(report: &Value) -> BTreeMap<String, String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "unsigned-image")
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_string(),
                f["detail"]["problem"]["reason"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

/// The tool flags exactly what cosign rejects, for each reason.
fn expected() -> BTreeMap<String, String> {
    [
        ("wrongkey", "wrong-key"),
        ("copied", "wrong-digest"),
        ("unsigned", "no-signature"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect()
}

fn assert_agrees_with_cosign(oracle: &BTreeMap<&str, bool>, flagged: &BTreeMap<String, String>) {
    for (tag, verifies) in oracle {
        assert_eq!(
            !verifies,
            flagged.contains_key(*tag),
            "cosign and the tool disagree on {tag}: cosign verifies={verifies}, tool: {flagged:?}"
        );
    }
}

#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn scan_flags_exactly_the_images_cosign_rejects_live_and_offline() {
    let c = live!();
    let ns = c.namespace("signed").await;
    let repo = format!("sig/{ns}");
    let bed = Bed::new(c, &repo);
    let oracle = bed.oracle(c);
    assert_eq!(
        oracle,
        BTreeMap::from([
            ("classic", true),
            ("oci11", true),
            ("wrongkey", false),
            ("copied", false),
            ("unsigned", false),
        ]),
        "cosign itself"
    );
    let mut yaml = String::new();
    for tag in TAGS {
        yaml.push_str(&deployment(
            &ns,
            tag,
            &format!("{}/{repo}:{tag}", c.registry),
        ));
        yaml.push_str("---\n");
    }
    // By digest: the signed one passes, the unsigned one does not.
    for tag in ["classic", "unsigned"] {
        let image = format!("{}/{repo}@{}", c.registry, bed.digests[tag]);
        yaml.push_str(&deployment(&ns, &format!("{tag}-pinned"), &image));
        yaml.push_str("---\n");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("apps.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let k1 = bed.key("k1.pub");

    // Offline: digests from the registry.
    let out = c
        .secfix([
            "scan",
            "-f",
            file.to_str().unwrap(),
            "--checks",
            "unsigned-image",
            "--signature-key",
            &k1,
            "-o",
            "json",
        ])
        .run();
    out.assert_code(3);
    let offline = unsigned(&out.json());
    let mut want = expected();
    want.insert("unsigned-pinned".into(), "no-signature".into());
    assert_eq!(offline, want, "{}", out.stdout());
    assert_agrees_with_cosign(&oracle, &offline);

    // Live, every namespace: the same answers.
    c.kubectl_apply(&yaml);
    let out = c
        .secfix([
            "scan",
            "-A",
            "--checks",
            "unsigned-image",
            "--signature-key",
            &k1,
            "-o",
            "json",
        ])
        .run();
    // Other tests' namespaces run images of registries this machine cannot reach (exit 1,
    // each named on stderr); none of this test's images may be among them.
    assert!(matches!(out.code(), 1 | 3), "{}", out.stderr());
    assert!(!out.stderr().contains(&repo), "{}", out.stderr());
    let report = out.json();
    let live: BTreeMap<String, String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["namespace"] == ns.as_str())
        .filter(|f| f["check"] == "unsigned-image")
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_string(),
                f["detail"]["problem"]["reason"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(live, want, "{}", out.stdout());
    // Both keys: the wrong-key image now verifies, the others stay flagged.
    let out = c
        .secfix([
            "scan",
            "-n",
            &ns,
            "--checks",
            "unsigned-image",
            "--signature-key",
            &k1,
            "--signature-key",
            &bed.key("k2.pub"),
            "-o",
            "json",
        ])
        .run();
    let both = unsigned(&out.json());
    assert!(!both.contains_key("wrongkey"), "{both:?}");
    assert!(
        both.contains_key("copied") && both.contains_key("unsigned"),
        "{both:?}"
    );
}

/// Waits for the controller to create a pod of Deployment `app` and returns its name.
async fn pod_of(c: &support::Cluster, ns: &str, app: &str) -> String {
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(c.client().await, ns);
    let start = Instant::now();
    loop {
        let list = pods
            .list(&ListParams::default().labels(&format!("app={app}")))
            .await
            .unwrap();
        if let Some(name) = list.items.first().and_then(|p| p.metadata.name.clone()) {
            return name;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "no pod of Deployment {ns}/{app} appeared"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn running_digest_is_verified_and_a_namespace_annotation_narrows_the_keys() {
    let c = live!();
    let ns = c.namespace("signed-pods").await;
    let repo = format!("sig/{ns}");
    let bed = Bed::new(c, &repo);
    // `moving` ran the signed classic content; the tag has since moved to unsigned content.
    let signed = c.push_image(&c.registry, None, &repo, "moving");
    let at = format!("{}/{repo}@{signed}", c.registry);
    sign(bed.keys.path(), "k1.key", &at, false);
    let image = format!("{}/{repo}:moving", c.registry);
    c.kubectl_apply(&deployment(&ns, "moving", &image));
    let pod = pod_of(c, &ns, "moving").await;
    c.set_pod_image_ids(&ns, &pod, &[("c", &image, &at)]).await;
    let moved = c.push_image_variant(&c.registry, None, &repo, "moving", "unsigned");
    assert_ne!(moved, signed);
    let (k1, k2) = (bed.key("k1.pub"), bed.key("k2.pub"));
    let scan = |extra: &[&str]| {
        let mut args = vec![
            "scan",
            "-n",
            &ns,
            "--checks",
            "unsigned-image",
            "--signature-key",
            &k1,
            "--signature-key",
            &k2,
            "-o",
            "json",
        ];
        args.extend_from_slice(extra);
        let out = c.secfix(args).run();
        unsigned(&out.json())
    };
    // What runs is what counts: the pods' digest is signed.
    assert!(scan(&[]).is_empty(), "the running digest is signed");
    // The registry's digest for the tag is not.
    assert_eq!(
        scan(&["--digest-source", "registry"])
            .get("moving")
            .map(String::as_str),
        Some("no-signature")
    );
    // A namespace that names only key 2 (of the two given) trusts nothing key 1 signed.
    c.kubectl(["annotate", "namespace", &ns, "secfix.dev/signature-keys=k2"])
        .run()
        .assert_code(0);
    assert_eq!(
        scan(&[]).get("moving").map(String::as_str),
        Some("wrong-key"),
        "key 1 is not in force in this namespace"
    );
    c.kubectl([
        "annotate",
        "--overwrite",
        "namespace",
        &ns,
        "secfix.dev/signature-keys=nothing-given",
    ])
    .run()
    .assert_code(0);
    assert_eq!(
        scan(&[]).get("moving").map(String::as_str),
        Some("no-key-in-force")
    );
}

#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn fix_pins_the_signed_tag_and_leaves_the_unsigned_one() {
    let c = live!();
    let ns = c.namespace("signed-fix").await;
    let repo = format!("sig/{ns}");
    let bed = Bed::new(c, &repo);
    for tag in ["classic", "unsigned"] {
        c.kubectl_apply(&deployment(
            &ns,
            tag,
            &format!("{}/{repo}:{tag}", c.registry),
        ));
    }
    let k1 = bed.key("k1.pub");
    let saved = tempfile::tempdir().unwrap();
    let out = c
        .secfix([
            "fix",
            "-n",
            &ns,
            "--checks",
            "mutable-image-tag",
            "--digest-source",
            "registry",
            "--signature-key",
            &k1,
            "--yes",
            "--save-patches",
            saved.path().to_str().unwrap(),
            "-o",
            "json",
        ])
        .run();
    out.assert_code(0);
    let report = out.json();
    let image_of = |d: &Value| {
        d["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let classic = c.get(&ns, "apps/v1", "Deployment", "classic").await;
    assert_eq!(
        image_of(&classic),
        format!("{}/{repo}:classic@{}", c.registry, bed.digests["classic"]),
        "the signed tag is pinned"
    );
    let unsigned = c.get(&ns, "apps/v1", "Deployment", "unsigned").await;
    assert_eq!(
        image_of(&unsigned),
        format!("{}/{repo}:unsigned", c.registry),
        "the unsigned tag is left alone"
    );
    let left = report["notFixable"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "unsigned")
        .unwrap_or_else(|| panic!("no not-fixable finding for unsigned: {report:#}"));
    let reason = left["notFixableReason"].as_str().unwrap();
    assert!(
        reason.contains("only signed digests are pinned") && reason.contains("no signature"),
        "{reason}"
    );

    // Without a policy nothing changes: the unsigned tag is pinned as before.
    let out = c
        .secfix([
            "fix",
            "-n",
            &ns,
            "--checks",
            "mutable-image-tag",
            "--digest-source",
            "registry",
            "--yes",
            "--save-patches",
            saved.path().to_str().unwrap(),
        ])
        .run();
    out.assert_code(0);
    let unsigned = c.get(&ns, "apps/v1", "Deployment", "unsigned").await;
    assert_eq!(
        image_of(&unsigned),
        format!("{}/{repo}:unsigned@{}", c.registry, bed.digests["unsigned"])
    );
}

#[test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
fn an_unreachable_registry_is_an_error_not_unsigned() {
    let c = live!();
    let keys = tempfile::tempdir().unwrap();
    generate_key(keys.path(), "k1");
    // A loopback port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    std::fs::write(
        &file,
        deployment("default", "gone", &format!("127.0.0.1:{port}/app:1")),
    )
    .unwrap();
    let out = c
        .secfix([
            "scan",
            "-f",
            file.to_str().unwrap(),
            "--checks",
            "unsigned-image",
            "--signature-key",
            keys.path().join("k1.pub").to_str().unwrap(),
            "-o",
            "json",
        ])
        .run();
    out.assert_code(1);
    let report = out.json();
    let f = &report["findings"][0];
    assert_eq!(f["detail"]["problem"]["reason"], "unverified", "{report:#}");
    assert!(
        out.stderr().contains("cannot verify the signature")
            && out.stderr().contains("unreachable"),
        "{}",
        out.stderr()
    );
}

// Sigstore bundles (OCI 1.1 referrers of type application/vnd.dev.sigstore.bundle.v0.3+json),
// from two independent signers:
// - real cosign 2.5, key-based: `cosign attest --new-bundle-format --tlog-upload=false` with
//   the predicate type of a cosign v3 image signature (cosign 2.5's `sign` has no bundle mode);
// - sigstore-js, keyless: @sigstore/sign + @sigstore/oci with @sigstore/mock as Fulcio and Rekor
//   (tests/support/sigstore-js/sign-image.js; the packages are those tests/cluster/setup.sh
//   installs), which writes the trusted root the tool and cosign are given.
// The oracle is `cosign verify-attestation --new-bundle-format --type <cosign sign v1>` (cosign
// 2.5's `verify --new-bundle-format` finds no bundle on a registry without the referrers API).
// The images live in the basic-auth registry: @sigstore/oci signs in only where the registry
// asks for credentials.

/// The predicate type of a cosign v3 image signature.
const SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";
/// The keyless identity and OIDC issuer sigstore-js's (mock) certificate carries.
const JS_IDENTITY: &str =
    "https://github.com/secfix-dev/app/.github/workflows/release.yml@refs/heads/main";
const JS_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// The cache dir of tests/cluster/setup.sh.
fn cache_dir() -> PathBuf {
    std::env::var_os("SECFIX_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/kubectl-secfix")
        })
}

/// sigstore-js's node_modules: `SECFIX_SIGSTORE_JS`, else where setup.sh installs them.
fn sigstore_js_modules() -> PathBuf {
    let p = std::env::var_os("SECFIX_SIGSTORE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("sigstore-js/node_modules"));
    assert!(
        p.join("@sigstore/oci").is_dir() && p.join("@sigstore/mock").is_dir(),
        "sigstore-js not found at {} (tests/cluster/setup.sh installs it from npm with the \
         machine's Node.js >= 20.17; SECFIX_SIGSTORE_JS overrides)",
        p.display()
    );
    p
}

/// Signs `registry/repo@digest` keylessly with sigstore-js (as [`JS_IDENTITY`]); returns the
/// trusted root it wrote.
fn sigstore_js_sign(c: &support::Cluster, repo: &str, digest: &str, out: &Path) -> PathBuf {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/sigstore-js/sign-image.js");
    let o = run({
        let mut cmd = Command::new("node");
        cmd.arg(script)
            .args([&c.auth_registry, repo, digest, JS_IDENTITY, JS_ISSUER])
            .arg(out)
            .env("NODE_PATH", sigstore_js_modules())
            .env("REGISTRY_USER", &c.auth_user)
            .env("REGISTRY_PASSWORD", &c.auth_password);
        cmd
    });
    assert!(
        o.status.success(),
        "sigstore-js sign: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out.join("trusted_root.json")
}

/// `cosign attest --new-bundle-format` with `key`, offline: a key-signed bundle referrer.
fn cosign_attest_bundle(dir: &Path, key: &str, reference: &str) {
    std::fs::write(dir.join("predicate.json"), "{}").unwrap();
    let mut cmd = cosign_cmd(dir);
    cmd.args([
        "attest",
        "--key",
        key,
        "--new-bundle-format",
        "--tlog-upload=false",
        "--type",
        SIGN_PREDICATE,
        "--predicate",
        "predicate.json",
        "--allow-http-registry",
        "--allow-insecure-registry",
        "-y",
        reference,
    ]);
    let out = run(cmd);
    assert!(
        out.status.success(),
        "cosign attest {reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether cosign accepts a bundle signature of `reference`: with `key` (no log), or keyless
/// with `root` (the mock CA's certificate and log keys also go in cosign 2.5's SIGSTORE_*
/// variables, which its keyless path still reads besides --trusted-root).
fn cosign_verifies_bundle(
    dir: &Path,
    key: Option<&str>,
    root: &Path,
    identity: &str,
    reference: &str,
) -> bool {
    let mut cmd = cosign_cmd(dir);
    cmd.args([
        "verify-attestation",
        "--new-bundle-format",
        "--offline",
        "--type",
        SIGN_PREDICATE,
        "--allow-http-registry",
        "--allow-insecure-registry",
    ]);
    match key {
        Some(k) => {
            cmd.args(["--key", k, "--insecure-ignore-tlog", "--trusted-root"]);
            cmd.arg(dir.join("empty_root.json"));
        }
        None => {
            let v: Value = serde_json::from_slice(&std::fs::read(root).unwrap()).unwrap();
            let pem = |label: &str, b64: &Value, file: &str| {
                use base64::Engine as _;
                let der = base64::engine::general_purpose::STANDARD
                    .decode(b64.as_str().unwrap())
                    .unwrap();
                let body = base64::engine::general_purpose::STANDARD.encode(der);
                let lines: Vec<&str> = body
                    .as_bytes()
                    .chunks(64)
                    .map(|c| std::str::from_utf8(c).unwrap())
                    .collect();
                let p = dir.join(file);
                std::fs::write(
                    &p,
                    format!(
                        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
                        lines.join("\n")
                    ),
                )
                .unwrap();
                p
            };
            cmd.env(
                "SIGSTORE_ROOT_FILE",
                pem(
                    "CERTIFICATE",
                    &v["certificateAuthorities"][0]["certChain"]["certificates"][0]["rawBytes"],
                    "mock-ca.pem",
                ),
            )
            .env(
                "SIGSTORE_REKOR_PUBLIC_KEY",
                pem(
                    "PUBLIC KEY",
                    &v["tlogs"][0]["publicKey"]["rawBytes"],
                    "mock-rekor.pub",
                ),
            )
            .env(
                "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE",
                pem(
                    "PUBLIC KEY",
                    &v["ctlogs"][0]["publicKey"]["rawBytes"],
                    "mock-ctlog.pub",
                ),
            )
            .args([
                "--certificate-identity",
                identity,
                "--certificate-oidc-issuer",
                JS_ISSUER,
                "--trusted-root",
            ])
            .arg(root);
        }
    }
    cmd.arg(reference);
    run(cmd).status.success()
}

/// GETs a manifest of the basic-auth registry.
fn get_manifest_auth(c: &support::Cluster, repo: &str, reference: &str) -> Vec<u8> {
    use base64::Engine as _;
    let url = format!("http://{}/v2/{repo}/manifests/{reference}", c.auth_registry);
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", c.auth_user, c.auth_password));
    let mut resp = ureq::get(&url)
        .header("Authorization", format!("Basic {basic}"))
        .header(
            "Accept",
            "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json",
        )
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    resp.body_mut().read_to_vec().unwrap()
}

const BUNDLE_TAGS: [&str; 5] = ["keybundle", "keyless", "wrongkey", "copied", "unsigned"];

/// The bundle-signed images of one repository of the basic-auth registry:
/// - `keybundle`: cosign, key 1; `wrongkey`: cosign, key 2;
/// - `keyless`: sigstore-js, as [`JS_IDENTITY`];
/// - `copied`: keybundle's fallback index (its bundle referrer) copied onto copied's, a bundle
///   by key 1 that names another digest;
/// - `unsigned`: nothing.
struct BundleBed {
    dir: tempfile::TempDir,
    repo: String,
    digests: BTreeMap<&'static str, String>,
    /// The trusted root sigstore-js wrote.
    root: PathBuf,
}

impl BundleBed {
    fn new(c: &support::Cluster, repo: &str) -> BundleBed {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // Credentials for cosign and the tool, as `docker login` writes them.
        std::fs::create_dir_all(d.join("docker")).unwrap();
        use base64::Engine as _;
        let auth = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", c.auth_user, c.auth_password));
        std::fs::write(
            d.join("docker/config.json"),
            format!(
                r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#,
                c.auth_registry
            ),
        )
        .unwrap();
        std::fs::write(
            d.join("empty_root.json"),
            r#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}"#,
        )
        .unwrap();
        generate_key(d, "k1");
        generate_key(d, "k2");
        let mut digests = BTreeMap::new();
        for tag in BUNDLE_TAGS {
            digests.insert(tag, c.push_image(&c.auth_registry, c.auth(), repo, tag));
        }
        let at = |tag: &str| format!("{}/{repo}@{}", c.auth_registry, digests[tag]);
        cosign_attest_bundle(d, "k1.key", &at("keybundle"));
        cosign_attest_bundle(d, "k2.key", &at("wrongkey"));
        let root = sigstore_js_sign(c, repo, &digests["keyless"], &d.join("js"));
        let index_tag = |tag: &str| digests[tag].replacen(':', "-", 1);
        let index = get_manifest_auth(c, repo, &index_tag("keybundle"));
        support::Registry::new(&c.auth_registry, c.auth()).push_manifest(
            repo,
            &index_tag("copied"),
            "application/vnd.oci.image.index.v1+json",
            &index,
        );
        BundleBed {
            dir,
            repo: repo.to_string(),
            digests,
            root,
        }
    }

    /// What cosign says of each tag, with key 1 or keyless as `identity`.
    fn oracle(&self, c: &support::Cluster, identity: &str) -> BTreeMap<&'static str, bool> {
        let d = self.dir.path();
        BUNDLE_TAGS
            .iter()
            .map(|t| {
                let r = format!("{}/{}:{t}", c.auth_registry, self.repo);
                let ok = cosign_verifies_bundle(d, Some("k1.pub"), &self.root, identity, &r)
                    || cosign_verifies_bundle(d, None, &self.root, identity, &r);
                (*t, ok)
            })
            .collect()
    }

    /// The trust policy flags: key 1, and keyless as `identity` against sigstore-js's root.
    fn policy(&self, identity: &str) -> Vec<String> {
        [
            "--signature-key",
            self.dir.path().join("k1.pub").to_str().unwrap(),
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            JS_ISSUER,
            "--trusted-root",
            self.root.to_str().unwrap(),
        ]
        .map(str::to_string)
        .to_vec()
    }

    /// `scan TARGET… --checks unsigned-image` with [`BundleBed::policy`]: the findings.
    fn scan(
        &self,
        c: &support::Cluster,
        target: &[&str],
        identity: &str,
    ) -> BTreeMap<String, String> {
        let mut args: Vec<String> = vec!["scan".into()];
        args.extend(target.iter().map(|s| s.to_string()));
        args.extend(["--checks", "unsigned-image", "-o", "json"].map(str::to_string));
        args.extend(self.policy(identity));
        let out = c
            .secfix(args)
            .env("DOCKER_CONFIG", self.dir.path().join("docker"))
            .run();
        assert_eq!(out.code(), 3, "{}", out.stderr());
        unsigned(&out.json())
    }
}

#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn sigstore_bundles_from_cosign_and_sigstore_js_verify_as_cosign_says() {
    let c = live!();
    let ns = c.namespace("bundles").await;
    let repo = format!("sig/{ns}");
    let bed = BundleBed::new(c, &repo);
    let cosign_says = bed.oracle(c, JS_IDENTITY);
    assert_eq!(
        cosign_says,
        BTreeMap::from([
            ("keybundle", true),
            ("keyless", true),
            ("wrongkey", false),
            ("copied", false),
            ("unsigned", false),
        ]),
        "cosign itself"
    );
    let mut yaml = String::new();
    for tag in BUNDLE_TAGS {
        yaml.push_str(&deployment(
            &ns,
            tag,
            &format!("{}/{repo}:{tag}", c.auth_registry),
        ));
        yaml.push_str("---\n");
    }
    let file = bed.dir.path().join("apps.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let want: BTreeMap<String, String> = [
        ("wrongkey", "wrong-key"),
        ("copied", "wrong-digest"),
        ("unsigned", "no-signature"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    // Offline (-f), digests from the registry.
    let offline = bed.scan(c, &["-f", file.to_str().unwrap()], JS_IDENTITY);
    assert_eq!(offline, want);
    assert_agrees_with_cosign(&cosign_says, &offline);
    // Live: the same answers for the Deployments.
    c.kubectl_apply(&yaml);
    assert_eq!(bed.scan(c, &["-n", &ns], JS_IDENTITY), want);
    // Another identity: sigstore-js's signature is by someone else, for cosign as for the tool.
    let other = "https://github.com/someone/else/.github/workflows/x.yml@refs/heads/main";
    let cosign_other = bed.oracle(c, other);
    assert!(!cosign_other["keyless"] && cosign_other["keybundle"]);
    let by_other = bed.scan(c, &["-n", &ns], other);
    assert_eq!(
        by_other.get("keyless").map(String::as_str),
        Some("identity-mismatch"),
        "{by_other:?}"
    );
    assert_agrees_with_cosign(&cosign_other, &by_other);

    // fix pins the tags whose bundle verifies, and only those.
    let saved = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = [
        "fix",
        "-n",
        &ns,
        "--checks",
        "mutable-image-tag",
        "--digest-source",
        "registry",
        "--yes",
        "--save-patches",
        saved.path().to_str().unwrap(),
    ]
    .map(str::to_string)
    .to_vec();
    args.extend(bed.policy(JS_IDENTITY));
    c.secfix(args)
        .env("DOCKER_CONFIG", bed.dir.path().join("docker"))
        .run()
        .assert_code(0);
    for tag in BUNDLE_TAGS {
        let dep = c.get(&ns, "apps/v1", "Deployment", tag).await;
        let image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap()
            .to_string();
        let pinned = image.ends_with(&format!("@{}", bed.digests[tag]));
        assert_eq!(pinned, cosign_says[tag], "{tag}: {image}");
    }
}
