//! `kubectl secfix scan`.

use super::args::{DigestSource, FailOn, GlobalArgs, ScanArgs, ScanOutput, Selection};
use super::collect::{Collected, Source, collect, scan_options};
use super::exit;
use crate::inventory::Keep;
use crate::report::{self, Origin, Report, Target};
use crate::ui::term::Term;

pub async fn run(global: &GlobalArgs, args: &ScanArgs) -> anyhow::Result<u8> {
    let keep = Keep {
        objects: false,
        pods: true,
    };
    // When the scan ran, for the report headers (taken here so renderers stay pure).
    let time = jiff::Timestamp::now();
    let collected = collect(global, &args.selection, keep).await?;
    let origin = origin(global, &args.selection, &collected);
    let mut inv = collected.inventory;
    // A read-only command contacts registries only when asked to (`--digest-source`).
    let source = args.digest.digest_source.unwrap_or(DigestSource::Pods);
    super::digests::resolve(&mut inv, source, &args.digest).await;
    let report = Report {
        findings: inv.findings,
        suppressed: inv.suppressed,
        scanned: inv.scanned,
        // Input errors are reported on their own (`errors`), the other errors as warnings.
        warnings: inv
            .warnings
            .iter()
            .chain(
                inv.errors
                    .iter()
                    .filter(|e| !inv.input_errors.iter().any(|i| i.to_string() == **e)),
            )
            .cloned()
            .collect(),
        errors: inv.input_errors.clone(),
        origin,
        time: Some(time),
    };
    let term = Term::detect();
    let text = match args.output {
        ScanOutput::Table => {
            report::render_table_sized(&report, term.stdout_color(), term.stdout_rows())
        }
        ScanOutput::Json => report::to_json(&report),
        ScanOutput::Yaml => report::to_yaml(&report).map_err(|e| anyhow::anyhow!("{e}"))?,
        ScanOutput::Sarif => report::to_sarif(&report),
        ScanOutput::Summary => report::render_summary(&report, term.stdout_color()),
        ScanOutput::Html => report::render_html(&report),
        ScanOutput::Markdown => report::render_markdown(&report),
    };
    super::print_stdout(&text)?;
    for w in &inv.warnings {
        super::say("warning", w);
    }
    for e in &inv.errors {
        super::say("error", e);
    }
    Ok(exit_code(&report, args.fail_on, !inv.errors.is_empty()))
}

/// Where the objects came from and how they were selected, for report headers and the
/// commands the overviews suggest.
fn origin(global: &GlobalArgs, selection: &Selection, collected: &Collected) -> Origin {
    let (target, namespace) = match &collected.source {
        Source::Live(conn) => (
            Target::Cluster {
                context: conn.context.clone(),
                cluster: conn.cluster.clone(),
                kubeconfig: global.kubeconfig.as_ref().map(|p| p.display().to_string()),
            },
            if selection.all_namespaces {
                None
            } else {
                Some(
                    selection
                        .namespace
                        .clone()
                        .unwrap_or_else(|| conn.default_namespace.clone()),
                )
            },
        ),
        Source::Offline(_) => (
            Target::Files(
                selection
                    .files
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect(),
            ),
            selection.namespace.clone(),
        ),
    };
    Origin {
        target,
        namespace,
        selector: selection.selector.clone(),
        checks: selection.checks.clone(),
        include_system: selection.include_system,
        ran: crate::checks::registry::selected(&scan_options(selection))
            .map(|c| c.id)
            .collect(),
    }
}

/// 1 when something could not be read, else 3 when a finding is at or above `fail_on`.
pub fn exit_code(report: &Report, fail_on: FailOn, errors: bool) -> u8 {
    if errors {
        return exit::RUNTIME;
    }
    match (fail_on.threshold(), report.worst()) {
        (Some(t), Some(w)) if w >= t => exit::FINDINGS,
        _ => exit::OK,
    }
}
