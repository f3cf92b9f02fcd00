//! `-o markdown`: a compact report for `$GITHUB_STEP_SUMMARY` or a pull-request comment.
//!
//! GitHub-flavoured Markdown: where the scan came from, the totals, the per-check table, the
//! top namespaces, the commands to run next (the `fix` commands name the scan's context),
//! then the findings grouped by check, at most
//! [`FINDINGS_PER_CHECK`] each, with an `… and N more` line. The whole text stays under
//! [`MARKDOWN_LIMIT`] bytes (GitHub takes at most 65,536 characters in a comment): when the
//! findings would not fit, fewer are listed and the `… and N more` lines say how many
//! were left out; the counts above them are always complete.
//!
//! Text from the cluster or the manifests is escaped so it renders as itself: Markdown and
//! HTML punctuation (also `$`, GitHub's math) is backslash-escaped, `|` cannot split a
//! table cell, control characters are shown escaped, and long cells are cut with `…`.
//! Names and commands go in code spans, so nothing in them can mention a user or link.

use std::fmt::Write as _;

use super::overview::{APP_CHANGE_NOTE, TOP_NAMESPACES};
use super::overview::{Overview, needs_app_change};
use super::{Report, plural};
use crate::checks::Finding;
use crate::model::text::printable;

/// Upper bound of the rendered Markdown, in bytes (64 KiB).
pub const MARKDOWN_LIMIT: usize = 64 * 1024;

/// Findings listed per check before `… and N more`.
pub(crate) const FINDINGS_PER_CHECK: usize = 25;

/// Longest cell, in characters; longer text is cut with `…`.
const CELL_CHARS: usize = 160;

/// Warnings listed before `… and N more`.
const WARNINGS: usize = 10;

/// Room kept for each check's heading, table header and `… and N more` line.
const CHECK_RESERVE: usize = 600;

/// The Markdown report (ends without a newline; always under [`MARKDOWN_LIMIT`] bytes).
pub fn render_markdown(report: &Report) -> String {
    let o = Overview::of(report);
    let mut out = String::new();
    head(&mut out, report, &o);

    let reserve = CHECK_RESERVE * o.checks.len() + 64;
    let budget = MARKDOWN_LIMIT.saturating_sub(out.len() + reserve);
    let mut used = 0;
    for row in o.checks.iter().filter(|r| r.counts.findings > 0) {
        let _ = write!(
            out,
            "\n\n### {}: {} ({})\n\n{}\n\n| severity | namespace | object | container | message | fixable |\n|---|---|---|---|---|---|",
            code(row.check.as_str()),
            text(row.check.title()),
            row.counts.findings,
            escape(row.check.help()),
        );
        let mut shown = 0;
        for f in report.findings.iter().filter(|f| f.check == row.check) {
            if shown == FINDINGS_PER_CHECK {
                break;
            }
            let line = finding_row(f);
            if used + line.len() + 1 > budget {
                break;
            }
            used += line.len() + 1;
            out.push('\n');
            out.push_str(&line);
            shown += 1;
        }
        if shown < row.counts.findings {
            let _ = write!(
                out,
                "\n\n… and {} more (`-o json` lists them all)",
                row.counts.findings - shown
            );
        }
    }
    // Unreachable with the reserves above; a last guard so the promise holds regardless.
    if out.len() > MARKDOWN_LIMIT {
        let mut cut = MARKDOWN_LIMIT - "\n\n… (cut to 64 KiB)".len();
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("\n\n… (cut to 64 KiB)");
    }
    out
}

fn head(out: &mut String, report: &Report, o: &Overview) {
    let s = &o.summary;
    out.push_str("## kubectl secfix scan");
    let mut about = Vec::new();
    let origin = report.origin.describe();
    if !origin.is_empty() {
        about.push(text(&origin));
    }
    if let Some(t) = report.time {
        about.push(text(&t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()));
    }
    if !about.is_empty() {
        let _ = write!(out, "\n\n{}", about.join(" · "));
    }
    let _ = write!(
        out,
        "\n\n**{}** ({} high, {} medium, {} low) · {} fixable · {} suppressed · {} scanned",
        plural(s.total, "finding", "findings"),
        s.high,
        s.medium,
        s.low,
        s.fixable,
        s.suppressed,
        plural(s.scanned, "object", "objects"),
    );
    if s.baseline > 0 {
        let _ = write!(
            out,
            " · {} in the baseline ({} new)",
            s.baseline,
            s.total - s.baseline
        );
    }

    tables(out, report, o);

    next_steps(out, o);

    if !report.errors.is_empty() {
        out.push_str("\n\n**Input that could not be read**\n");
        for e in report.errors.iter().take(WARNINGS) {
            let _ = write!(out, "\n- {}", text(&e.to_string()));
        }
        if report.errors.len() > WARNINGS {
            let _ = write!(out, "\n- … and {} more", report.errors.len() - WARNINGS);
        }
    }
    if !report.warnings.is_empty() {
        out.push_str("\n\n**Warnings**\n");
        for w in report.warnings.iter().take(WARNINGS) {
            let _ = write!(out, "\n- {}", text(w));
        }
        if report.warnings.len() > WARNINGS {
            let _ = write!(out, "\n- … and {} more", report.warnings.len() - WARNINGS);
        }
    }
    if s.total == 0 {
        out.push_str("\n\nNo findings.");
    }
}

/// The per-context, per-check and per-namespace tables.
fn tables(out: &mut String, report: &Report, o: &Overview) {
    if !report.contexts.is_empty() {
        out.push_str("\n\n| context | server | status | findings |\n|---|---|---|--:|");
        for c in &report.contexts {
            let _ = write!(
                out,
                "\n| {} | {} | {} | {} |",
                code(&c.context),
                code(&c.server),
                c.status.as_str(),
                c.findings
            );
        }
    }

    out.push_str(
        "\n\n| check | findings | objects | namespaces | fixable |\n|---|--:|--:|--:|--:|",
    );
    for r in &o.checks {
        let _ = write!(
            out,
            "\n| {} | {} | {} | {} | {} |",
            code(r.check.as_str()),
            r.counts.findings,
            r.objects,
            r.namespaces,
            r.counts.fixable
        );
    }

    if !o.namespaces.is_empty() {
        out.push_str(
            "\n\n| namespace | findings | high | medium | low | fixable |\n|---|--:|--:|--:|--:|--:|",
        );
        for n in o.namespaces.iter().take(TOP_NAMESPACES) {
            let c = &n.counts;
            let _ = write!(
                out,
                "\n| {} | {} | {} | {} | {} | {} |",
                code(&n.label()),
                c.findings,
                c.high,
                c.medium,
                c.low,
                c.fixable
            );
        }
        if o.namespaces.len() > TOP_NAMESPACES {
            let rest = o.namespaces.len() - TOP_NAMESPACES;
            let _ = write!(
                out,
                "\n\n… and {rest} more {}",
                if rest == 1 { "namespace" } else { "namespaces" }
            );
        }
    }
}

/// The suggested commands, and what cannot be fixed.
fn next_steps(out: &mut String, o: &Overview) {
    if !o.next.is_empty() {
        out.push_str("\n\n**Next**\n\n```sh");
        for step in &o.next {
            let _ = write!(out, "\n{}   # {}", fenced(&step.command), step.describe());
        }
        out.push_str("\n```");
        if o.app_change > 0 {
            // Our own text: its code spans are meant as Markdown.
            let _ = write!(out, "\n\n{APP_CHANGE_NOTE}");
        }
    }
    if o.not_fixable > 0 {
        let _ = write!(
            out,
            "\n\n{} cannot be fixed automatically (the **fixable** column says why).",
            plural(o.not_fixable, "finding", "findings")
        );
    }
}

fn finding_row(f: &Finding) -> String {
    let fix = match (f.fixable, &f.not_fixable_reason) {
        (true, _) if needs_app_change(f) => "yes, app change".to_string(),
        (true, _) => "yes".to_string(),
        (false, Some(r)) => format!("no: {}", text(r)),
        (false, None) => "no".to_string(),
    };
    // In a scan of several contexts, `context/namespace`, as in the namespace table.
    let namespace = match f.context() {
        Some(c) => format!("{c}/{}", crate::model::names::namespace_label(&f.namespace)),
        None => crate::model::names::namespace_label(&f.namespace).to_string(),
    };
    format!(
        "| {}{} | {} | {} | {} | {} | {} |",
        f.severity,
        if f.baseline { " (baseline)" } else { "" },
        code(&namespace),
        code(&f.object()),
        f.container.as_deref().map(code).unwrap_or_default(),
        text(&f.message),
        fix
    )
}

/// `s` cut to [`CELL_CHARS`] with control characters escaped.
fn clip(s: &str) -> String {
    let s = printable(s);
    if s.chars().count() <= CELL_CHARS {
        return s.into_owned();
    }
    let mut cut: String = s.chars().take(CELL_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// `s` as Markdown text that renders as itself, also inside a table cell (cut to
/// [`CELL_CHARS`]).
fn text(s: &str) -> String {
    escape(&clip(s))
}

/// `s` as Markdown text that renders as itself.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in printable(s).chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '$' | '#' | '!'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `s` as a code span that is safe in a table cell (empty for an empty string).
fn code(s: &str) -> String {
    let s = clip(s);
    if s.is_empty() {
        return String::new();
    }
    // A fence longer than any run of backticks inside, padded when the text starts or
    // ends with one; GFM tables need `|` escaped even inside code spans.
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{}{pad}{fence}", s.replace('|', "\\|"))
}

/// A command line for a fenced code block: control characters escaped, nothing else.
fn fenced(s: &str) -> String {
    printable(s).replace("```", "`\u{200b}``")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_renders_as_itself() {
        assert_eq!(text("a|b *c* <img> $x$"), r"a\|b \*c\* \<img\> \$x\$");
        assert_eq!(text("line\nbreak"), r"line\\nbreak");
        let long = "x".repeat(500);
        assert_eq!(text(&long).chars().count(), CELL_CHARS);
    }

    #[test]
    fn code_spans_hold_backticks_and_pipes() {
        assert_eq!(code("deployment/api"), "`deployment/api`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code("a|b"), r"`a\|b`");
        assert_eq!(code(""), "");
    }
}
