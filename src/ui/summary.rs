//! `-o summary`: a whole scan on one screen, answering "where do I start".
//!
//! ```text
//! CHECK                     FINDINGS   OBJECTS   NAMESPACES   FIXABLE
//! env-secret                2          2         1            2
//! ...
//!
//! NAMESPACE   FINDINGS   HIGH   MEDIUM   LOW   FIXABLE
//! shop        5          3      2        0     5
//! ...
//!
//! 7 findings (4 high, 3 medium, 0 low), 6 fixable, 1 suppressed, 12 objects scanned
//!
//! Next:
//!   kubectl secfix fix -n shop --checks env-secret,default-allow-namespace   # 5 fixable: 3 high, 2 medium
//! ```
//!
//! Same conventions as the table ([`super::table`]): kubectl-style columns, `<none>` for
//! empty cells, control characters escaped, colour only when the caller asks (then only the
//! non-zero severity counts are coloured). The first [`TOP_NAMESPACES`] namespaces are
//! listed, then how many more there are. Suggested commands end in a shell comment, so a
//! whole line can be pasted.

use comfy_table::Cell;

use super::table::{kubectl_table, severity_cell};
use secfix_core::checks::Severity;
use secfix_core::model::text::printable;
use secfix_core::report::overview::{APP_CHANGE_NOTE, TOP_NAMESPACES};
use secfix_core::report::overview::{Counts, Overview};
use secfix_core::report::{Report, plural};

/// The grouped summary of `report` (no trailing newline).
pub fn render_summary(report: &Report, color: bool) -> String {
    let o = Overview::of(report);
    let mut blocks = vec![check_table(&o)];
    if !o.namespaces.is_empty() {
        blocks.push(namespace_table(&o, color));
    }
    blocks.push(o.summary.line());
    if !report.contexts.is_empty() {
        // How each context of a scan of several went, as at the end of the table.
        blocks.push(super::table::contexts_table(report));
    }
    if !o.next.is_empty() || o.not_fixable > 0 {
        let mut next = Vec::new();
        if !o.next.is_empty() {
            next.push("Next:".to_string());
            for step in &o.next {
                next.push(format!(
                    "  {}   # {}",
                    printable(&step.command),
                    step.describe()
                ));
            }
        }
        if o.app_change > 0 {
            next.push(APP_CHANGE_NOTE.to_string());
        }
        if o.not_fixable > 0 {
            next.push(format!(
                "{} cannot be fixed automatically: `-o json` says why (notFixableReason).",
                plural(o.not_fixable, "finding", "findings")
            ));
        }
        blocks.push(next.join("\n"));
    }
    blocks.join("\n\n")
}

/// One line per check that ran: findings, objects, namespaces and fixable findings.
pub(super) fn check_table(o: &Overview) -> String {
    let rows = o
        .checks
        .iter()
        .map(|r| {
            vec![
                Cell::new(r.check.as_str()),
                Cell::new(r.counts.findings),
                Cell::new(r.objects),
                Cell::new(r.namespaces),
                Cell::new(r.counts.fixable),
            ]
        })
        .collect();
    kubectl_table(
        &["CHECK", "FINDINGS", "OBJECTS", "NAMESPACES", "FIXABLE"],
        rows,
        false,
    )
}

fn namespace_table(o: &Overview, color: bool) -> String {
    let count = |n: usize, s: Severity| {
        if n > 0 {
            severity_cell(n, s, color)
        } else {
            Cell::new(n)
        }
    };
    let rows = o
        .namespaces
        .iter()
        .take(TOP_NAMESPACES)
        .map(|n| {
            let label = n.label();
            vec![
                Cell::new(if label.is_empty() {
                    "<none>".into()
                } else {
                    printable(&label).into_owned()
                }),
                Cell::new(n.counts.findings),
                count(n.counts.high, Severity::High),
                count(n.counts.medium, Severity::Medium),
                count(n.counts.low, Severity::Low),
                Cell::new(n.counts.fixable),
            ]
        })
        .collect();
    let mut out = kubectl_table(
        &["NAMESPACE", "FINDINGS", "HIGH", "MEDIUM", "LOW", "FIXABLE"],
        rows,
        color,
    );
    let rest = &o.namespaces[o.namespaces.len().min(TOP_NAMESPACES)..];
    if !rest.is_empty() {
        let mut c = Counts::default();
        for n in rest {
            c.merge(&n.counts);
        }
        out.push_str(&format!(
            "\n… and {} more {} with {} ({})",
            rest.len(),
            if rest.len() == 1 {
                "namespace"
            } else {
                "namespaces"
            },
            plural(c.findings, "finding", "findings"),
            c.split()
        ));
    }
    out
}
