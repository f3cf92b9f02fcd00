//! Generated files (shell completions under `completions/`, man pages under `man/`) are kept
//! in the repository so the release archive and the krew manifest can ship them; these tests
//! fail when they no longer match the clap definitions. Regenerate with
//!
//! ```sh
//! UPDATE_COMPLETIONS=1 cargo test --test completions
//! ```
//!
//! They also load the scripts into real shells (bash always; zsh and fish when installed) and
//! drive the `__complete` protocol through the real binary.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use clap_complete::Shell;
use kubectl_secfix::cli::completion;

const SHELLS: [Shell; 4] = [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::PowerShell];
const REGENERATE: &str = "UPDATE_COMPLETIONS=1 cargo test --test completions";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_kubectl-secfix")
}

fn updating() -> bool {
    std::env::var_os("UPDATE_COMPLETIONS").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Everything that is generated, as (path relative to the repository, contents).
fn generated() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = SHELLS
        .iter()
        .map(|&shell| {
            (
                Path::new("completions").join(completion::completion_file_name(shell)),
                completion::completion_script(shell),
            )
        })
        .collect();
    for (name, roff) in completion::man_pages().expect("man pages render") {
        files.push((Path::new("man").join(name), roff));
    }
    files
}

#[test]
fn generated_files_are_fresh() {
    let files = generated();
    let mut stale = Vec::new();
    for (rel, want) in &files {
        let path = root().join(rel);
        if std::fs::read(&path).ok().as_deref() == Some(want.as_slice()) {
            continue;
        }
        if updating() {
            // Atomically, so the other tests of this run read the old or the new file.
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let partial = path.with_extension("partial");
            std::fs::write(&partial, want).unwrap();
            std::fs::rename(&partial, &path).unwrap();
            eprintln!("wrote {}", rel.display());
        } else {
            stale.push(rel.display().to_string());
        }
    }
    // Files left over from a removed subcommand or shell.
    for dir in ["completions", "man"] {
        let Ok(entries) = std::fs::read_dir(root().join(dir)) else {
            continue;
        };
        for entry in entries {
            let rel = Path::new(dir).join(entry.unwrap().file_name());
            if files.iter().any(|(r, _)| *r == rel) {
                continue;
            }
            if updating() {
                std::fs::remove_file(root().join(&rel)).unwrap();
                eprintln!("removed {}", rel.display());
            } else {
                stale.push(format!("{} (no longer generated)", rel.display()));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "generated files are stale: {}\nregenerate them with `{REGENERATE}` and commit the result",
        stale.join(", ")
    );
}

#[test]
fn completion_command_prints_the_checked_in_scripts() {
    for shell in SHELLS {
        let out = run(Command::new(bin()).args(["completion", &shell.to_string()]));
        assert!(out.status.success(), "completion {shell}: {out:?}");
        let file = root()
            .join("completions")
            .join(completion::completion_file_name(shell));
        // While regenerating, the file may be mid-update: compare with what is written.
        let want = if updating() {
            Some(completion::completion_script(shell))
        } else {
            std::fs::read(&file).ok()
        };
        assert!(
            want == Some(out.stdout),
            "`kubectl-secfix completion {shell}` differs from {}: regenerate with `{REGENERATE}`",
            file.display()
        );
    }
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A PATH with the binary's folder first, so the scripts' calls reach this build.
fn path_with_bin() -> std::ffi::OsString {
    let dir = Path::new(bin()).parent().unwrap().to_path_buf();
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir).chain(std::env::split_paths(&rest))).unwrap()
}

#[test]
fn bash_loads_the_script_and_completes() {
    let script = root().join("completions/kubectl-secfix.bash");
    // Call the completion function the way bash's programmable completion does.
    let probe = r#"
        source "$1" || exit 1
        complete -p kubectl-secfix || exit 1
        fn=$(complete -p kubectl-secfix | sed -n 's/.*-F \([^ ]*\).*/\1/p')
        try() {
            COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
            COMPREPLY=()
            "$fn" kubectl-secfix "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
            echo "[$*] ${COMPREPLY[*]}"
        }
        try kubectl-secfix sc
        try kubectl-secfix scan -o ''
        try kubectl-secfix fix --dry-run ''
    "#;
    let out = run(Command::new("bash")
        .args(["--norc", "--noprofile", "-c", probe, "probe"])
        .arg(&script));
    let text = stdout(&out);
    assert!(out.status.success(), "{out:?}");
    assert!(text.contains("[kubectl-secfix sc] scan"), "{text}");
    assert!(text.contains("table json yaml sarif"), "{text}");
    assert!(text.contains("none server client"), "{text}");
    assert!(!text.contains("__complete"), "{text}");
}

/// `Some(path)` when `name` is on PATH; otherwise prints why the test is skipped.
fn shell(name: &str) -> Option<PathBuf> {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        eprintln!(
            "note: {name} is not installed, its completion script was not loaded \
             (apt-get install -y {name})"
        );
    }
    found
}

#[test]
fn zsh_loads_the_script_and_registers_it() {
    let Some(zsh) = shell("zsh") else { return };
    let script = root().join("completions/_kubectl-secfix");
    let probe = r#"
        autoload -Uz compinit && compinit -u -D || exit 1
        source "$1" || exit 1
        print -r -- "registered: ${_comps[kubectl-secfix]}"
        eval "$(kubectl-secfix completion zsh)" || exit 1
        print -r -- "from the binary: ${_comps[kubectl-secfix]}"
    "#;
    let out = run(Command::new(zsh)
        .env("PATH", path_with_bin())
        .args(["-f", "-c", probe, "probe"])
        .arg(&script));
    let text = stdout(&out);
    assert!(out.status.success(), "{out:?}");
    assert!(text.contains("registered: _kubectl-secfix"), "{text}");
    assert!(text.contains("from the binary: _kubectl-secfix"), "{text}");
}

#[test]
fn fish_loads_the_script_and_completes() {
    let Some(fish) = shell("fish") else { return };
    let script = root().join("completions/kubectl-secfix.fish");
    let probe = r#"
        source $argv[1]; or exit 1
        echo '[sub]'; complete -C 'kubectl-secfix sc'
        echo '[output]'; complete -C 'kubectl-secfix scan -o '
        echo '[checks]'; complete -C 'kubectl-secfix fix --checks '
    "#;
    let out = run(Command::new(fish)
        .env("HOME", tempfile::tempdir().unwrap().path())
        .args(["--no-config", "-c", probe])
        .arg(&script));
    let text = stdout(&out);
    assert!(out.status.success(), "{out:?}");
    let section = |name: &str| {
        text.split(&format!("[{name}]\n"))
            .nth(1)
            .and_then(|s| s.split("\n[").next())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(section("sub").starts_with("scan"), "{text}");
    assert!(section("output").contains("sarif"), "{text}");
    assert!(section("checks").contains("mutable-image-tag"), "{text}");
}

#[test]
fn powershell_script_is_generated() {
    // pwsh is not a Debian package; check the script's shape and load it when present.
    let script = root().join("completions/_kubectl-secfix.ps1");
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(
        text.contains("Register-ArgumentCompleter") && text.contains("'kubectl-secfix'"),
        "{text}"
    );
    if let Some(pwsh) = shell("pwsh") {
        let out = run(Command::new(pwsh)
            .args(["-NoProfile", "-Command", ". $args[0]"])
            .arg(&script));
        assert!(out.status.success(), "{out:?}");
    }
}

fn complete(words: &[&str], env: &[(&str, &Path)]) -> (String, Duration) {
    let started = Instant::now();
    let mut cmd = Command::new(bin());
    cmd.args(["__complete", "--"]).args(words);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run(&mut cmd);
    assert!(out.status.success(), "{out:?}");
    (stdout(&out), started.elapsed())
}

#[test]
fn protocol_through_the_binary() {
    let (text, _) = complete(&[""], &[]);
    assert!(text.starts_with("scan\t"), "{text}");
    assert!(text.ends_with("\n:4\n"), "{text}");
    let (text, _) = complete(&["--help"], &[]);
    assert_eq!(
        text, "--help\tPrint help\n:4\n",
        "flags after `--` are words"
    );
    let (text, _) = complete(&["scan", "--checks=default-allow-namespace,env-"], &[]);
    assert!(
        text.starts_with("default-allow-namespace,env-secret\t"),
        "{text}"
    );
    let (text, _) = complete(&["scan", "-f", ""], &[]);
    assert_eq!(text, ":0\n", "file completion for -f");
}

fn kubeconfig(dir: &Path, server: &str) -> PathBuf {
    let path = dir.join("config");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: dev\n\
             clusters:\n- name: c1\n  cluster:\n    server: {server}\n    insecure-skip-tls-verify: true\n\
             contexts:\n- name: dev\n  context: {{cluster: c1, user: u}}\n\
             - name: staging\n  context: {{cluster: c1, user: u, namespace: web}}\n\
             users:\n- name: u\n  user: {{token: abc}}\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn contexts_come_from_kubeconfig_and_the_flag_wins() {
    let dir = tempfile::tempdir().unwrap();
    let from_env = kubeconfig(dir.path(), "https://127.0.0.1:1");
    let (text, _) = complete(&["scan", "--context", ""], &[("KUBECONFIG", &from_env)]);
    assert_eq!(
        text,
        "dev\tcluster c1 (current)\nstaging\tcluster c1, namespace web\n:4\n"
    );
    let other = tempfile::tempdir().unwrap();
    let flagged = other.path().join("flagged");
    std::fs::write(
        &flagged,
        "apiVersion: v1\nkind: Config\ncontexts:\n- name: lab\n  context: {cluster: x}\n",
    )
    .unwrap();
    let flag = format!("--kubeconfig={}", flagged.display());
    let (text, _) = complete(&[&flag, "fix", "--context=l"], &[("KUBECONFIG", &from_env)]);
    assert_eq!(text, "lab\tcluster x\n:4\n");
}

#[test]
fn namespaces_give_up_quietly_when_the_cluster_does_not_answer() {
    // A listener that accepts connections and never answers: the worst case for a prompt.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), &format!("https://{addr}"));
    let (text, took) = complete(&["scan", "-n", ""], &[("KUBECONFIG", &config)]);
    assert_eq!(text, ":4\n");
    assert!(took < Duration::from_secs(5), "took {took:?}");

    // Nothing listening at all.
    drop(silent);
    let (text, _) = complete(&["fix", "--namespace="], &[("KUBECONFIG", &config)]);
    assert_eq!(text, ":4\n");
}
