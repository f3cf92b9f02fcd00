//! `kubectl secfix scan`.

use super::args::{DigestSource, FailOn, GlobalArgs, ScanArgs, ScanOutput};
use super::collect::collect;
use super::exit;
use crate::inventory::Keep;
use crate::report::{self, Report};

pub async fn run(global: &GlobalArgs, args: &ScanArgs) -> anyhow::Result<u8> {
    let keep = Keep {
        objects: false,
        pods: true,
    };
    let collected = collect(global, &args.selection, keep).await?;
    let mut inv = collected.inventory;
    // A read-only command contacts registries only when asked to (`--digest-source`).
    let source = args.digest.digest_source.unwrap_or(DigestSource::Pods);
    super::digests::resolve(&mut inv, source, &args.digest).await;
    let report = Report {
        findings: inv.findings,
        suppressed: inv.suppressed,
        scanned: inv.scanned,
        warnings: inv.warnings.iter().chain(&inv.errors).cloned().collect(),
        ..Report::default()
    };
    let text = match args.output {
        ScanOutput::Table => {
            report::render_table(&report, crate::ui::term::Term::detect().stdout_color())
        }
        ScanOutput::Json => report::to_json(&report),
        ScanOutput::Yaml => report::to_yaml(&report).map_err(|e| anyhow::anyhow!("{e}"))?,
        ScanOutput::Sarif => report::to_sarif(&report),
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
