//! The check tables of README.md and docs/scan-report.md are generated from the check
//! definitions (covers issue #11: docs derived from the one list of checks).
//! `UPDATE_DOCS=1 cargo test --test docs` rewrites them.

use std::path::Path;

use kubectl_secfix::checks::registry::markdown_table;

const BEGIN: &str =
    "<!-- checks: generated from the check definitions; UPDATE_DOCS=1 cargo test --test docs -->\n";
const END: &str = "<!-- /checks -->";

fn check_file(rel: &str) {
    check_block(rel, BEGIN, END, &markdown_table());
}

/// The text between `begin` and `end` in `rel` is `want` (rewritten with `UPDATE_DOCS=1`).
fn check_block(rel: &str, begin: &str, end: &str, want: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text
        .find(begin)
        .unwrap_or_else(|| panic!("{rel}: no marker {begin}"))
        + begin.len();
    let stop = start
        + text[start..]
            .find(end)
            .unwrap_or_else(|| panic!("{rel}: no end marker {end}"));
    if text[start..stop] == *want {
        return;
    }
    if std::env::var_os("UPDATE_DOCS").is_some() {
        let updated = format!("{}{want}{}", &text[..start], &text[stop..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    panic!(
        "{rel}: the block after {begin} is stale; run UPDATE_DOCS=1 cargo test --test docs\n--- want:\n{want}\n--- have:\n{}",
        &text[start..stop]
    );
}

#[test]
fn readme_check_table_matches_the_definitions() {
    check_file("README.md");
}

#[test]
fn scan_report_check_table_matches_the_definitions() {
    check_file("docs/scan-report.md");
}

/// Exit codes are a contract: the README's table, `--help` and the man pages come from one
/// definition (`cli::exit::TABLE`); before, `--help` said a bad input file exits 2 while it
/// exits 1, as the README said.
#[test]
fn exit_code_table_is_the_one_in_help_and_man_pages() {
    use kubectl_secfix::cli::exit;
    check_block(
        "README.md",
        "<!-- exit-codes: generated from cli::exit::TABLE (also in --help and the man pages); UPDATE_DOCS=1 cargo test --test docs -->\n",
        "<!-- /exit-codes -->",
        &exit::markdown_table(),
    );
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-secfix"))
        .args(["scan", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains(&exit::help_text()), "{help}");
    let man = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("man/kubectl-secfix-scan.1"),
    )
    .unwrap();
    for (code, meaning) in exit::TABLE {
        // roff escapes `-` as `\-`.
        let first: String = meaning
            .replace('`', "")
            .split(' ')
            .take(3)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            man.contains(&format!("{code}  {}", first.replace('-', "\\-"))),
            "man page lacks exit {code}: {first}"
        );
    }
    // Empty input is exit 1, said in all three.
    assert!(exit::TABLE[1].1.contains("--allow-empty"));
}

/// `kubectl-secfix ARGS` run from the repository root as a user would: stderr, then stdout.
fn demo_output(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-secfix"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8(out.stderr).unwrap(),
        String::from_utf8(out.stdout).unwrap()
    );
    format!("```text\n{}\n```\n", text.trim_end())
}

/// The README's first screen is the product: its sample output is what the demo prints, and
/// the demo shows a real secret move (an image of the file-variable table) and a
/// NetworkPolicy set. Before, every move was left out as an app change and the digest
/// lookup failed offline.
#[test]
fn readme_demo_output_is_what_the_demo_prints() {
    let scan = demo_output(&["scan", "-f", "examples/demo.yaml"]);
    check_block(
        "README.md",
        "<!-- demo-scan: generated from examples/demo.yaml; UPDATE_DOCS=1 cargo test --test docs -->\n",
        "<!-- /demo-scan -->",
        &scan,
    );
    let fix = demo_output(&["fix", "--dry-run=client", "-f", "examples/demo.yaml"]);
    check_block(
        "README.md",
        "<!-- demo-fix: generated from examples/demo.yaml; UPDATE_DOCS=1 cargo test --test docs -->\n",
        "<!-- /demo-fix -->",
        &fix,
    );
    // What the first screen promises.
    assert!(
        fix.contains("MYSQL_PASSWORD_FILE"),
        "a native secret move: {fix}"
    );
    assert!(fix.contains("kind: NetworkPolicy"), "{fix}");
    assert!(fix.contains("secfix-default-deny"), "{fix}");
    assert!(!fix.contains("unreachable"), "offline: {fix}");
    assert!(
        fix.contains("--digest-source registry"),
        "says how to pin: {fix}"
    );
}
