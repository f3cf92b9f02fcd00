//! The check tables of README.md and docs/scan-report.md are generated from the check
//! definitions (covers issue #11: docs derived from the one list of checks).
//! `UPDATE_DOCS=1 cargo test --test docs` rewrites them.

use std::path::Path;

use kubectl_secfix::checks::registry::markdown_table;

const BEGIN: &str =
    "<!-- checks: generated from the check definitions; UPDATE_DOCS=1 cargo test --test docs -->\n";
const END: &str = "<!-- /checks -->";

fn check_file(rel: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text
        .find(BEGIN)
        .unwrap_or_else(|| panic!("{rel}: no checks marker"))
        + BEGIN.len();
    let end = start
        + text[start..]
            .find(END)
            .unwrap_or_else(|| panic!("{rel}: no end marker"));
    let want = markdown_table();
    if text[start..end] == want {
        return;
    }
    if std::env::var_os("UPDATE_DOCS").is_some() {
        let updated = format!("{}{want}{}", &text[..start], &text[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    panic!("{rel}: the check table is stale; run UPDATE_DOCS=1 cargo test --test docs");
}

#[test]
fn readme_check_table_matches_the_definitions() {
    check_file("README.md");
}

#[test]
fn scan_report_check_table_matches_the_definitions() {
    check_file("docs/scan-report.md");
}
