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

use secfix_core::checks::{Finding, Severity};
use secfix_core::model::text::printable;
use secfix_core::report::Report;

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

/// One row per finding under a header, worst severity first (then in report order), then a
/// blank line and the summary line. With no
/// findings: `No findings.`, a blank line and the summary line. No trailing newline.
///
/// A scan of several contexts adds a CONTEXT column in front, and after the summary a blank
/// line and one line per context (`CONTEXT SERVER STATUS FINDINGS`).
pub fn render_table(report: &Report, color: bool) -> String {
    render_table_sized(report, color, None)
}

/// [`render_table`] for a terminal of `screen_rows` lines: when the rows do not fit on one
/// screen, the per-check lines of `-o summary` follow them (before the summary line), so
/// the end of a long scan still shows where the findings are. `None` (not a terminal):
/// never.
pub fn render_table_sized(report: &Report, color: bool, screen_rows: Option<usize>) -> String {
    render(report, color, screen_rows, false)
}

/// `-o wide`: the table plus where each finding is (`file:line` of the offending field, for
/// manifests) and whether `fix` can fix it (`yes`, or why not).
pub fn render_wide(report: &Report, color: bool) -> String {
    render(report, color, None, true)
}

/// `-o name`: each object with a finding once, as `kubectl get -o name` names it
/// (`deployment.apps/shop`, `namespace/demo`), worst finding first.
pub fn render_names(report: &Report) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for f in report.worst_first() {
        let group = f.api_version.rsplit_once('/').map(|(g, _)| g);
        let kind = f.kind.to_lowercase();
        let name = match group {
            Some(g) => format!("{kind}.{g}/{}", f.name),
            None => format!("{kind}/{}", f.name),
        };
        let name = match f.context() {
            Some(c) => format!("{c}/{}", name),
            None => name,
        };
        if seen.insert(name.clone()) {
            out.push(printable(&name).into_owned());
        }
    }
    out.join("\n")
}

fn render(report: &Report, color: bool, screen_rows: Option<usize>, wide: bool) -> String {
    let mut summary = report.summary().line();
    if !report.contexts.is_empty() {
        summary = format!("{summary}\n\n{}", contexts_table(report));
    }
    if report.findings.is_empty() {
        return format!("No findings.\n\n{summary}");
    }
    let multi = report.is_multi_context();
    let baseline = report.findings.iter().any(|f| f.baseline);
    let mut header: Vec<&str> = multi.then_some("CONTEXT").into_iter().collect();
    header.push(HEADER[0]);
    if baseline {
        header.push("BASELINE");
    }
    header.extend(&HEADER[1..]);
    if wide {
        header.extend(["SOURCE", "FIXABLE"]);
    }
    let rows = report
        .worst_first()
        .into_iter()
        .map(|f| {
            let mut cells = row(f, color);
            if baseline {
                cells.insert(1, Cell::new(if f.baseline { "yes" } else { "no" }));
            }
            if multi {
                cells.insert(0, Cell::new(or_none(f.context().unwrap_or(""))));
            }
            if wide {
                let source = f
                    .source
                    .as_ref()
                    .map(|s| {
                        let file = if s.file == "-" { "<stdin>" } else { &s.file };
                        format!("{file}:{}", s.field_line.unwrap_or(s.line))
                    })
                    .unwrap_or_default();
                let fixable = if f.fixable {
                    "yes".to_string()
                } else {
                    format!(
                        "no: {}",
                        f.not_fixable_reason
                            .as_deref()
                            .unwrap_or("no automatic fix")
                    )
                };
                // The message stays last-but-two: move it behind the new columns' values.
                cells.push(Cell::new(or_none(&source)));
                cells.push(Cell::new(or_none(&fixable)));
            }
            cells
        })
        .collect();
    let table = kubectl_table(&header, rows, color);
    // Header, rows, blank line, summary line.
    let lines = report.findings.len() + 3;
    match screen_rows {
        Some(screen) if lines > screen => {
            let checks = super::summary::check_table(&secfix_core::report::Overview::of(report));
            format!("{table}\n\n{checks}\n\n{summary}")
        }
        _ => format!("{table}\n\n{summary}"),
    }
}

/// One line per context of a scan of several contexts, under a header.
pub(super) fn contexts_table(report: &Report) -> String {
    let rows = report
        .contexts
        .iter()
        .map(|c| {
            vec![
                Cell::new(or_none(&c.context)),
                Cell::new(or_none(&c.server)),
                Cell::new(c.status.as_str()),
                Cell::new(c.findings),
            ]
        })
        .collect();
    kubectl_table(&["CONTEXT", "SERVER", "STATUS", "FINDINGS"], rows, false)
}

/// A kubectl-style table: `header`, then `rows`, left-aligned columns separated by [`GAP`]
/// spaces, no borders, no wrapping, no trailing spaces. Cells may carry colour, which
/// comfy-table keeps out of the width computation; `color` false drops every style.
pub(super) fn kubectl_table(header: &[&str], rows: Vec<Vec<Cell>>, color: bool) -> String {
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
    table.set_header(header.iter().map(Cell::new));
    for r in rows {
        table.add_row(r);
    }
    let last = header.len() - 1;
    for (i, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, if i == last { 0 } else { GAP }));
        column.set_cell_alignment(CellAlignment::Left);
    }
    table.trim_fmt()
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
    let error = if color {
        console::style("Error:")
            .red()
            .force_styling(true)
            .to_string()
    } else {
        "Error:".to_string()
    };
    report
        .errors
        .iter()
        .map(|e| format!("{error} {}", printable(&e.to_string())))
        .chain(
            report
                .warnings
                .iter()
                .map(|w| format!("{label} {}", printable(w))),
        )
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` in `severity`'s colour when `color`: high red and bold, medium (dark) yellow, low
/// cyan.
pub(super) fn severity_cell(text: impl ToString, severity: Severity, color: bool) -> Cell {
    let cell = Cell::new(text);
    if !color {
        return cell;
    }
    match severity {
        Severity::High => cell.fg(Color::Red).add_attribute(Attribute::Bold),
        // The normal yellow (ANSI 33), not the bright one: readable on light themes too.
        Severity::Medium => cell.fg(Color::DarkYellow),
        Severity::Low => cell.fg(Color::Cyan),
    }
}

/// `kind/name`; the unnamed namespace's own finding (`Namespace/`) names it as the
/// namespace column does.
fn object_label(f: &Finding) -> String {
    if f.kind == "Namespace" && f.name.is_empty() {
        format!("namespace/{}", secfix_core::model::names::APPLY_NAMESPACE)
    } else {
        f.object()
    }
}

fn row(f: &Finding, color: bool) -> Vec<Cell> {
    vec![
        severity_cell(f.severity.as_str(), f.severity, color),
        Cell::new(f.check.as_str()),
        Cell::new(or_none(secfix_core::model::names::namespace_label(
            &f.namespace,
        ))),
        Cell::new(or_none(&object_label(f))),
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
    use secfix_core::checks::{CheckId, Detail};

    fn report(message: &str) -> Report {
        Report {
            findings: vec![Finding {
                origin: None,
                check: CheckId::EnvSecret,
                severity: Severity::High,
                namespace: "default".into(),
                kind: "Deployment".into(),
                api_version: "apps/v1".into(),
                name: "web".into(),
                container: None,
                path: "/spec/template/spec/containers/0/env/0".into(),
                at: None,
                message: message.into(),
                fixable: true,
                not_fixable_reason: None,
                source: None,
                detail: Detail::EnvSecret(secfix_core::checks::env_secret::Detail::SecretRef {
                    secret: "s".into(),
                    prefix: None,
                    optional: false,
                    delivery: None,
                }),
                baseline: false,
            }],
            suppressed: 0,
            scanned: 1,
            warnings: vec!["Deployments: forbidden\x1b[2J".into()],
            errors: Vec::new(),
            ..Report::default()
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

    /// Bright yellow (xterm colour 11) is unreadable on a light terminal; medium is the
    /// normal yellow (colour 3).
    #[test]
    fn medium_is_readable_on_light_terminals() {
        let mut r = report("m");
        r.findings[0].severity = Severity::Medium;
        let out = render_table(&r, true);
        assert!(out.contains("\x1b[38;5;3m"), "{out:?}");
        assert!(!out.contains("\x1b[38;5;11m"), "{out:?}");
    }

    #[test]
    fn control_characters_are_escaped() {
        let out = render_table(&report("line1\nline2\x1b[31m"), false);
        assert!(out.contains(r"line1\nline2\u{1b}[31m"), "{out}");
        let w = render_warnings(&report("m"), false);
        assert_eq!(w, r"Warning: Deployments: forbidden\u{1b}[2J");
    }

    #[test]
    fn a_table_longer_than_the_screen_ends_with_the_per_check_lines() {
        let mut r = report("m");
        r.findings = vec![r.findings[0].clone(); 10];
        let fits = render_table_sized(&r, false, Some(13));
        assert_eq!(fits, render_table(&r, false));
        let long = render_table_sized(&r, false, Some(12));
        let tail: Vec<&str> = long.lines().skip(11).collect();
        assert_eq!(tail[0], "");
        assert!(tail[1].starts_with("CHECK "), "{long}");
        assert!(tail[2].starts_with("env-secret "), "{long}");
        assert_eq!(tail.last(), fits.lines().last().as_ref());
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
