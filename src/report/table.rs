//! The default `scan` output: plain, kubectl-style columns.
//!
//! Design choices:
//! - No borders and no wrapping, like `kubectl get`: one finding is one line, so the output
//!   stays greppable (`| grep high`) and column-cuttable. Long messages make long lines;
//!   the terminal (or `less -S`) deals with them.
//! - Columns are separated by three spaces and start at column 0, as in `kubectl get`.
//! - Empty cells print `<none>`, as kubectl does.
//! - Only the SEVERITY cell is coloured, and only when the caller says so (it decides from
//!   the TTY and `NO_COLOR`); comfy-table's own TTY detection is switched off so the result
//!   depends on the arguments alone.
//! - Control characters in any cell (a name from a hand-written manifest, say) are escaped,
//!   so a report cannot move the cursor or recolour the terminal.
//! - Warnings are not part of the table (stdout must stay parseable); print
//!   [`render_warnings`] to stderr.

use comfy_table::{Attribute, Cell, CellAlignment, Color, ContentArrangement, Table, presets};

use super::Report;
use crate::model::text::printable;
use crate::model::{Finding, Severity};

const HEADER: [&str; 6] = [
    "SEVERITY",
    "CHECK",
    "NAMESPACE",
    "OBJECT",
    "CONTAINER",
    "MESSAGE",
];

/// Gap between columns, in spaces (kubectl uses three).
const GAP: u16 = 3;

/// One row per finding under a header, then a blank line and the summary line. With no
/// findings: `No findings.`, a blank line and the summary line. No trailing newline.
pub fn render_table(report: &Report, color: bool) -> String {
    let summary = report.summary().line();
    if report.findings.is_empty() {
        return format!("No findings.\n\n{summary}");
    }
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .force_no_tty();
    if color {
        table.enforce_styling();
        // Colour the word, not the padding after it.
        table.style_text_only();
    }
    table.set_header(HEADER.map(Cell::new));
    for f in &report.findings {
        table.add_row(row(f, color));
    }
    let last = HEADER.len() - 1;
    for (i, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, if i == last { 0 } else { GAP }));
        column.set_cell_alignment(CellAlignment::Left);
    }
    format!("{}\n\n{summary}", table.trim_fmt())
}

/// The report's warnings, one `Warning: …` line each (for stderr); empty when there are
/// none. `Warning:` is yellow when `color`.
pub fn render_warnings(report: &Report, color: bool) -> String {
    let label = if color {
        console::style("Warning:")
            .yellow()
            .force_styling(true)
            .to_string()
    } else {
        "Warning:".to_string()
    };
    report
        .warnings
        .iter()
        .map(|w| format!("{label} {}", printable(w)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn row(f: &Finding, color: bool) -> Vec<Cell> {
    let mut severity = Cell::new(f.severity.as_str());
    if color {
        severity = match f.severity {
            Severity::High => severity.fg(Color::Red).add_attribute(Attribute::Bold),
            Severity::Medium => severity.fg(Color::Yellow),
            Severity::Low => severity.fg(Color::Cyan),
        };
    }
    vec![
        severity,
        Cell::new(f.check.as_str()),
        Cell::new(or_none(&f.namespace)),
        Cell::new(or_none(&f.object())),
        Cell::new(or_none(f.container.as_deref().unwrap_or(""))),
        Cell::new(or_none(&f.message)),
    ]
}

fn or_none(s: &str) -> String {
    if s.is_empty() {
        "<none>".to_string()
    } else {
        printable(s).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CheckId, Detail};

    fn report(message: &str) -> Report {
        Report {
            findings: vec![Finding {
                check: CheckId::EnvSecret,
                severity: Severity::High,
                namespace: "default".into(),
                kind: "Deployment".into(),
                api_version: "apps/v1".into(),
                name: "web".into(),
                container: None,
                path: "/spec/template/spec/containers/0/env/0".into(),
                message: message.into(),
                fixable: true,
                not_fixable_reason: None,
                source: None,
                detail: Detail::SecretRef {
                    secret: "s".into(),
                    prefix: None,
                    optional: false,
                    delivery: None,
                },
            }],
            suppressed: 0,
            scanned: 1,
            warnings: vec!["Deployments: forbidden\x1b[2J".into()],
        }
    }

    #[test]
    fn plain_columns_without_colour() {
        let out = render_table(&report("env from Secret s"), false);
        let lines: Vec<_> = out.lines().collect();
        assert_eq!(
            lines[0],
            "SEVERITY   CHECK        NAMESPACE   OBJECT           CONTAINER   MESSAGE"
        );
        assert_eq!(
            lines[1],
            "high       env-secret   default     deployment/web   <none>      env from Secret s"
        );
        assert!(!out.contains('\x1b'));
        assert!(!out.ends_with('\n'));
    }

    #[test]
    fn colour_only_when_asked() {
        let out = render_table(&report("m"), true);
        assert!(out.contains("\x1b["), "{out:?}");
        // Alignment is unaffected by the escape sequences.
        let plain = render_table(&report("m"), false);
        assert_eq!(
            console::strip_ansi_codes(&out).lines().count(),
            plain.lines().count()
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        let out = render_table(&report("line1\nline2\x1b[31m"), false);
        assert!(out.contains(r"line1\nline2\u{1b}[31m"), "{out}");
        let w = render_warnings(&report("m"), false);
        assert_eq!(w, r"Warning: Deployments: forbidden\u{1b}[2J");
    }

    #[test]
    fn no_findings_is_friendly() {
        let r = Report {
            scanned: 3,
            suppressed: 1,
            ..Report::default()
        };
        assert_eq!(
            render_table(&r, true),
            "No findings.\n\n0 findings (0 high, 0 medium, 0 low), 0 fixable, 1 suppressed, 3 objects scanned"
        );
        assert_eq!(render_warnings(&r, false), "");
    }
}
