//! Distribution: the krew manifest obeys krew's rules, `scripts/release.sh` makes an archive
//! that installs the way krew installs it, and the installed plugin works through the real
//! `kubectl` (`kubectl secfix`, `kubectl plugin list`, `kubectl secfix <TAB>` through
//! `kubectl_complete-secfix`). Hermetic: no cluster, no network.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------------------------
// The manifest and krew's rules
// ---------------------------------------------------------------------------------------------

/// The parts of krew's `Plugin` we use; unknown fields are errors, so a typo cannot hide.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Plugin {
    api_version: String,
    kind: String,
    metadata: Metadata,
    spec: Spec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Metadata {
    name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Spec {
    version: String,
    homepage: String,
    short_description: String,
    description: String,
    caveats: String,
    platforms: Vec<Platform>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Platform {
    selector: Selector,
    uri: String,
    sha256: String,
    bin: String,
    files: Vec<FileOperation>,
}

/// Only `matchLabels` (no `matchExpressions`): one platform per os/arch, easy to check.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Selector {
    match_labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOperation {
    from: String,
    to: String,
}

/// os/arch pairs krew is released for, to look for overlapping selectors.
const KREW_PLATFORMS: &[(&str, &str)] = &[
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("linux", "arm"),
    ("linux", "386"),
    ("linux", "ppc64le"),
    ("linux", "s390x"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
    ("windows", "amd64"),
    ("windows", "arm64"),
    ("windows", "386"),
];

/// The platforms we promise.
const SHIPPED: &[(&str, &str)] = &[
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
];

fn parse(text: &str) -> Result<Plugin, String> {
    serde_saphyr::from_str(text).map_err(|e| format!("not a krew Plugin: {e}"))
}

impl Selector {
    fn matches(&self, os: &str, arch: &str) -> bool {
        self.match_labels.iter().all(|(k, v)| match k.as_str() {
            "os" => v == os,
            "arch" => v == arch,
            _ => false,
        })
    }
}

/// krew's `validate-krew-manifest` and krew-index rules (see /work/shared/README.md), plus
/// ours: every shipped platform is covered once and installs the completer, README, man pages
/// and LICENSE. Returns every problem found.
fn validate(file_name: &str, text: &str) -> Vec<String> {
    let plugin = match parse(text) {
        Ok(p) => p,
        Err(e) => return vec![e],
    };
    let mut p = Problems::default();
    p.header(file_name, &plugin);
    p.texts(&plugin.spec);
    p.check(!plugin.spec.platforms.is_empty(), "no platforms".to_owned());
    for (i, platform) in plugin.spec.platforms.iter().enumerate() {
        p.platform(&format!("platforms[{i}]"), platform);
    }
    p.coverage(&plugin.spec);
    p.0
}

/// What a manifest breaks, one line each.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn check(&mut self, ok: bool, problem: String) {
        if !ok {
            self.0.push(problem);
        }
    }

    /// apiVersion, kind, the name (the file's, and safe) and the version (v+semver, Cargo's).
    fn header(&mut self, file_name: &str, plugin: &Plugin) {
        // semver.org's regular expression, with krew's required `v`.
        let semver = regex::Regex::new(
            r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$",
        )
        .unwrap();
        let safe_name = regex::Regex::new(r"^[\w-]+$").unwrap();
        self.check(
            plugin.api_version == "krew.googlecontainertools.github.com/v1alpha2",
            format!("apiVersion {:?}", plugin.api_version),
        );
        self.check(plugin.kind == "Plugin", format!("kind {:?}", plugin.kind));
        let stem = file_name.strip_suffix(".yaml");
        self.check(stem.is_some(), format!("{file_name}: not a .yaml file"));
        self.check(
            stem == Some(plugin.metadata.name.as_str()),
            format!(
                "metadata.name {:?} is not the file name {file_name:?} without .yaml",
                plugin.metadata.name
            ),
        );
        self.check(
            safe_name.is_match(&plugin.metadata.name),
            format!("unsafe plugin name {:?}", plugin.metadata.name),
        );
        let spec = &plugin.spec;
        self.check(
            semver.is_match(&spec.version),
            format!("spec.version {:?} is not v+semver", spec.version),
        );
        self.check(
            spec.version == format!("v{VERSION}"),
            format!("spec.version {:?} is not Cargo's v{VERSION}", spec.version),
        );
    }

    /// The homepage, descriptions and caveats: what krew shows.
    fn texts(&mut self, spec: &Spec) {
        self.check(
            spec.homepage.starts_with("https://"),
            format!("homepage {:?}", spec.homepage),
        );
        let short = &spec.short_description;
        self.check(
            !short.trim().is_empty() && !short.contains('\n'),
            format!("shortDescription {short:?} must be one non-empty line"),
        );
        self.check(
            short.chars().count() <= 50,
            format!(
                "shortDescription is {} chars, over 50",
                short.chars().count()
            ),
        );
        self.check(
            !spec.description.trim().is_empty(),
            "empty description".to_owned(),
        );
        for (field, text) in [
            ("description", &spec.description),
            ("caveats", &spec.caveats),
        ] {
            for line in text.lines() {
                self.check(
                    line.chars().count() <= 80,
                    format!("{field} line over 80 columns: {line:?}"),
                );
            }
        }
        self.check(
            spec.caveats.contains("kubectl_complete-secfix")
                && spec
                    .caveats
                    .contains(&format!("store/secfix/{}/", spec.version)),
            "caveats must tell how to put this version's kubectl_complete-secfix on PATH"
                .to_owned(),
        );
    }

    /// One platform: its selector, archive, binary and the files it extracts.
    fn platform(&mut self, at: &str, p: &Platform) {
        let sha256 = regex::Regex::new("^[a-f0-9]{64}$").unwrap();
        self.check(
            !p.selector.match_labels.is_empty(),
            format!("{at}: empty matchLabels"),
        );
        for key in p.selector.match_labels.keys() {
            self.check(
                key == "os" || key == "arch",
                format!("{at}: selector key {key:?} (only os and arch)"),
            );
        }
        self.check(
            sha256.is_match(&p.sha256),
            format!("{at}: sha256 {:?} is not 64 lowercase hex digits", p.sha256),
        );
        self.check(
            (p.uri.starts_with("https://") || p.uri.starts_with("file://"))
                && p.uri.ends_with(".tar.gz"),
            format!("{at}: uri {:?}", p.uri),
        );
        self.check(p.bin == "kubectl-secfix", format!("{at}: bin {:?}", p.bin));
        self.check(!p.files.is_empty(), format!("{at}: no files"));
        for f in &p.files {
            self.check(
                !f.to.is_empty() && !f.to.starts_with('/') && !f.to.split('/').any(|c| c == ".."),
                format!("{at}: file target {:?} leaves the plugin folder", f.to),
            );
        }
        for needed in [
            "kubectl-secfix",
            "LICENSE",
            "kubectl_complete-secfix",
            "README.md",
            "man",
            "completions",
        ] {
            self.check(
                p.files.iter().any(|f| f.from == needed),
                format!("{at}: {needed} is not extracted"),
            );
        }
        self.check(
            KREW_PLATFORMS
                .iter()
                .any(|(os, arch)| p.selector.matches(os, arch)),
            format!("{at}: selector matches no platform krew supports"),
        );
    }

    /// At most one platform per os/arch krew knows, and exactly one for each shipped.
    fn coverage(&mut self, spec: &Spec) {
        for (os, arch) in KREW_PLATFORMS {
            let matching: Vec<usize> = spec
                .platforms
                .iter()
                .enumerate()
                .filter(|(_, p)| p.selector.matches(os, arch))
                .map(|(i, _)| i)
                .collect();
            self.check(
                matching.len() <= 1,
                format!("platforms {matching:?} all match {os}/{arch}"),
            );
            if SHIPPED.contains(&(*os, *arch)) {
                self.check(matching.len() == 1, format!("no platform for {os}/{arch}"));
            }
        }
    }
}

fn checked_in_manifest() -> String {
    std::fs::read_to_string(root().join("plugin-manifest/secfix.yaml"))
        .expect("plugin-manifest/secfix.yaml")
}

#[test]
fn checked_in_manifest_follows_krews_rules() {
    let problems = validate("secfix.yaml", &checked_in_manifest());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_validator_catches_what_krew_rejects() {
    let good = checked_in_manifest();
    let cases: &[(&str, &str, &str, &str)] = &[
        ("secfix.yaml", "name: secfix", "name: sec-fix", "file name"),
        ("other.yaml", "", "", "file name"),
        ("secfix.yaml", "version: v", "version: ", "semver"),
        ("secfix.yaml", "version: v0", "version: v9", "Cargo"),
        (
            "secfix.yaml",
            "shortDescription: Find",
            "shortDescription: Find it all, then find it again, and then even more",
            "over 50",
        ),
        (
            "secfix.yaml",
            "sha256: 0000",
            "sha256: ABCD",
            "lowercase hex",
        ),
        ("secfix.yaml", "arch: arm64", "arch: amd64", "all match"),
        ("secfix.yaml", "os: darwin", "cpu: darwin", "selector key"),
        (
            "secfix.yaml",
            "from: LICENSE",
            "from: COPYING",
            "LICENSE is not",
        ),
        ("secfix.yaml", "bin: kubectl-secfix", "bin: ''", "bin"),
        (
            "secfix.yaml",
            "matchLabels:",
            "matchLabelz:",
            "not a krew Plugin",
        ),
        (
            "secfix.yaml",
            "never printed.",
            "never printed. This line is now much longer than eighty columns, which krew warns about.",
            "80 columns",
        ),
    ];
    for (file, from, to, want) in cases {
        let bad = if from.is_empty() {
            good.clone()
        } else {
            assert!(good.contains(from), "{from:?} not in the manifest");
            good.replacen(from, to, 1)
        };
        let problems = validate(file, &bad);
        assert!(
            problems.iter().any(|p| p.contains(want)),
            "replacing {from:?} with {to:?} in {file}: expected a problem with {want:?}, got {problems:#?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The release script, krew's install, and the real kubectl
// ---------------------------------------------------------------------------------------------

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// This machine as krew names it.
fn krew_os_arch() -> (&'static str, &'static str) {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    (os, arch)
}

/// Applies krew's file operations (internal/installation/move.go): a `from` that exists is
/// moved to `to` (its own name when `to` is `.`); otherwise it is a glob whose matches go
/// into the folder `to`.
fn install_like_krew(extracted: &Path, install: &Path, files: &[FileOperation]) {
    std::fs::create_dir_all(install).unwrap();
    for op in files {
        let from = extracted.join(&op.from);
        if from.exists() {
            let to = if op.to == "." {
                install.join(from.file_name().unwrap())
            } else {
                install.join(&op.to)
            };
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::rename(&from, &to).unwrap();
            continue;
        }
        // Only `dir/*`-style globs are needed here; anything else is reported.
        let (dir, pattern) = op.from.rsplit_once('/').unwrap_or((".", op.from.as_str()));
        let prefix = pattern
            .strip_suffix('*')
            .unwrap_or_else(|| panic!("{:?} matches nothing in the archive", op.from));
        let matches: Vec<PathBuf> = std::fs::read_dir(extracted.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
            .collect();
        assert!(!matches.is_empty(), "{:?} matches nothing", op.from);
        for m in matches {
            let to = install.join(&op.to).join(m.file_name().unwrap());
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::rename(&m, &to).unwrap();
        }
    }
}

fn kubectl() -> PathBuf {
    on_path("kubectl").unwrap_or_else(|| {
        panic!(
            "kubectl is not installed: these tests run the real kubectl \
             (tests/cluster/setup.sh installs it)"
        )
    })
}

struct Installed {
    dist: PathBuf,
    archive: PathBuf,
    rendered: String,
    krew_root: PathBuf,
    store: PathBuf,
    path: std::ffi::OsString,
    kubeconfig: PathBuf,
}

impl Installed {
    /// `kubectl ARGS` with only the krew bin folder, kubectl's folder and the system
    /// folders on PATH, and a kubeconfig of our own.
    fn kubectl(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(kubectl());
        cmd.args(args)
            .env("PATH", &self.path)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.krew_root.parent().unwrap());
        cmd
    }
}

/// The release, made and installed once per test run (the script packs a 40 MB debug binary).
fn installed() -> &'static Installed {
    static INSTALLED: std::sync::OnceLock<Installed> = std::sync::OnceLock::new();
    INSTALLED.get_or_init(release_and_install)
}

/// Runs the release script with the test build of the binary, then installs the archive the
/// way krew does: extracted into `$KREW_ROOT/store/secfix/v<version>/`, `bin` linked from
/// `$KREW_ROOT/bin/kubectl-secfix`, and the caveats' command run to add the completer.
/// Works in cargo's per-target scratch folder, emptied first, so nothing piles up in /tmp.
fn release_and_install() -> Installed {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("distribution");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).unwrap();
    }
    std::fs::create_dir_all(&tmp).unwrap();
    let tmp = tmp.as_path();
    let dist = tmp.join("dist");
    let base = format!("file://{}", dist.display());
    ok(Command::new("bash")
        .arg(root().join("scripts/release.sh"))
        .env("SECFIX_BINARY", env!("CARGO_BIN_EXE_kubectl-secfix"))
        .env("SECFIX_DIST_DIR", &dist)
        .env("SECFIX_RELEASE_BASE_URI", &base));

    let archives: Vec<PathBuf> = std::fs::read_dir(&dist)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .collect();
    assert_eq!(archives.len(), 1, "{archives:?}");
    let archive = archives[0].clone();
    let name = archive.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(&format!("kubectl-secfix-{VERSION}-")),
        "{name}"
    );
    let rendered = std::fs::read_to_string(dist.join("secfix.yaml")).unwrap();

    let krew_root = tmp.join("home/.krew");
    let extracted = tmp.join("extracted");
    std::fs::create_dir_all(&extracted).unwrap();
    ok(Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&extracted));
    let plugin = parse(&rendered).unwrap();
    let (os, arch) = krew_os_arch();
    let platform = plugin
        .spec
        .platforms
        .iter()
        .find(|p| p.selector.matches(os, arch))
        .unwrap_or_else(|| panic!("no platform for {os}/{arch}"));
    let store = krew_root.join(format!("store/secfix/v{VERSION}"));
    install_like_krew(&extracted, &store, &platform.files);
    let bin_dir = krew_root.join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::os::unix::fs::symlink(store.join(&platform.bin), bin_dir.join("kubectl-secfix")).unwrap();

    // The caveats' command for the completer, as a user would paste it.
    let caveat_cmd: String = plugin
        .spec
        .caveats
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("cp "))
        .take_while(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        caveat_cmd.contains("kubectl_complete-secfix"),
        "{caveat_cmd}"
    );
    ok(Command::new("sh")
        .args(["-c", &caveat_cmd])
        .env("HOME", tmp.join("home"))
        .env_remove("KREW_ROOT"));

    let system = std::env::split_paths("/usr/local/bin:/usr/bin:/bin");
    let kubectl_dir = kubectl().parent().unwrap().to_path_buf();
    let path =
        std::env::join_paths([bin_dir.clone(), kubectl_dir].into_iter().chain(system)).unwrap();

    let kubeconfig = tmp.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: dev\n\
         clusters:\n- name: c1\n  cluster: {server: 'https://127.0.0.1:1'}\n\
         contexts:\n- name: dev\n  context: {cluster: c1}\n- name: prod\n  context: {cluster: c1}\n\
         users: []\n",
    )
    .unwrap();
    Installed {
        dist,
        archive,
        rendered,
        krew_root,
        store,
        path,
        kubeconfig,
    }
}

#[test]
fn release_archive_installs_and_completes_through_kubectl() {
    let it = installed();

    // The rendered manifest: valid, this archive's sha256 (by the real sha256sum) and URI for
    // this machine's platform, placeholders elsewhere.
    let problems = validate("secfix.yaml", &it.rendered);
    assert!(problems.is_empty(), "{problems:#?}");
    let plugin = parse(&it.rendered).unwrap();
    let (os, arch) = krew_os_arch();
    let sum = ok(Command::new("sha256sum").arg(&it.archive));
    let sum = sum.split_whitespace().next().unwrap();
    let name = it.archive.file_name().unwrap().to_string_lossy();
    for p in &plugin.spec.platforms {
        if p.selector.matches(os, arch) {
            assert_eq!(p.sha256, sum);
            assert_eq!(p.uri, format!("file://{}/{name}", it.dist.display()));
        } else {
            assert_eq!(p.sha256, "0".repeat(64), "{p:?}");
            assert!(p.uri.starts_with(&format!("file://{}/", it.dist.display())));
        }
    }
    let sidecar = std::fs::read_to_string(it.dist.join(format!("{name}.sha256"))).unwrap();
    assert_eq!(sidecar, format!("{sum}  {name}\n"));
    // Everything but sha256 and uri is the checked-in manifest.
    let strip = |s: &str| {
        s.lines()
            .filter(|l| !l.contains("sha256:") && !l.contains("uri:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&it.rendered), strip(&checked_in_manifest()));

    // What krew extracted.
    for f in [
        "kubectl-secfix",
        "kubectl_complete-secfix",
        "LICENSE",
        "README.md",
        "man/kubectl-secfix.1",
        "man/kubectl-secfix-scan.1",
        "completions/kubectl-secfix.bash",
        "completions/_kubectl-secfix",
        "completions/kubectl-secfix.fish",
        "completions/_kubectl-secfix.ps1",
    ] {
        assert!(it.store.join(f).is_file(), "{f} not installed");
    }
    assert!(
        std::fs::read_to_string(it.store.join("LICENSE"))
            .unwrap()
            .contains("Apache License")
    );

    // The real kubectl finds and runs the plugin.
    let version = ok(&mut it.kubectl(&["secfix", "--version"]));
    assert_eq!(version.trim(), format!("kubectl-secfix {VERSION}"));
    let list = run(&mut it.kubectl(&["plugin", "list"]));
    let listed = String::from_utf8_lossy(&list.stdout);
    let link = it.krew_root.join("bin/kubectl-secfix");
    assert!(
        listed.lines().any(|l| l.trim() == link.to_string_lossy()),
        "kubectl plugin list: {listed}\n{}",
        String::from_utf8_lossy(&list.stderr)
    );

    // `kubectl secfix <TAB>`: kubectl runs kubectl_complete-secfix from PATH.
    let complete = |words: &[&str]| {
        let mut args = vec!["__complete", "secfix"];
        args.extend_from_slice(words);
        ok(&mut it.kubectl(&args))
    };
    let subcommands = complete(&[""]);
    for sub in ["scan", "fix", "rollback", "completion"] {
        assert!(
            subcommands
                .lines()
                .any(|l| l.starts_with(&format!("{sub}\t"))),
            "{sub} missing: {subcommands}"
        );
    }
    assert!(!subcommands.contains("__complete"), "{subcommands}");
    assert!(subcommands.ends_with(":4\n"), "{subcommands}");
    let formats = complete(&["scan", "-o", ""]);
    let names: Vec<&str> = formats
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "table", "json", "yaml", "sarif", "summary", "html", "markdown", "wide", "name", ":4"
        ],
        "{formats}"
    );
    assert!(
        formats.contains("summary\tFindings grouped per check and namespace"),
        "formats are described: {formats}"
    );
    let checks = complete(&["fix", "--checks", "env-secret,m"]);
    assert!(
        checks.starts_with("env-secret,mutable-image-tag\t"),
        "{checks}"
    );
    let flags = complete(&["fix", "--dry"]);
    assert!(flags.starts_with("--dry-run\t"), "{flags}");
    let files = complete(&["scan", "-f", ""]);
    assert_eq!(files, ":0\n", "-f completes file names");
    let contexts = complete(&["scan", "--context", ""]);
    assert!(
        contexts.starts_with("dev\tcluster c1 (current)\nprod\tcluster c1\n"),
        "{contexts}"
    );
}

#[test]
fn completer_finds_the_binary_beside_a_symlink_or_on_path() {
    let it = installed();
    let completer = it.store.join("kubectl_complete-secfix");
    let elsewhere = it.krew_root.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();

    // A symlink in a folder without kubectl-secfix, which is not on PATH either.
    let link = elsewhere.join("kubectl_complete-secfix");
    std::os::unix::fs::symlink(&completer, &link).unwrap();
    let out = ok(Command::new(&link)
        .args(["scan", "--fail-on", ""])
        .env("PATH", "/usr/bin:/bin"));
    assert_eq!(out, "low\nmedium\nhigh\nnone\n:4\n");

    // A copy far from the binary: the one on PATH.
    let copy = it.krew_root.join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(&completer, copy.join("kubectl_complete-secfix")).unwrap();
    let path = std::env::join_paths([it.store.clone(), PathBuf::from("/usr/bin")]).unwrap();
    let out = ok(Command::new(copy.join("kubectl_complete-secfix"))
        .args(["--help"])
        .env("PATH", &path));
    assert_eq!(out, "--help\tPrint help\n:4\n", "words are passed verbatim");

    // No binary anywhere: a clear message and a failure, never a hang.
    let out = run(Command::new(copy.join("kubectl_complete-secfix"))
        .arg("")
        .env("PATH", "/usr/bin:/bin"));
    assert_eq!(out.status.code(), Some(127));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("kubectl-secfix not found"),
        "{out:?}"
    );
}
