//! `kubectl secfix scan`.

use std::io::Write as _;

use super::args::{FailOn, GlobalArgs, ScanArgs, ScanOutput};
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
    let inv = collected.inventory;
    let report = Report {
        findings: inv.findings,
        suppressed: inv.suppressed,
        scanned: inv.scanned,
        warnings: inv.warnings.iter().chain(&inv.errors).cloned().collect(),
    };
    let text = match args.output {
        ScanOutput::Table => report::render_table(&report, crate::ui::term::Term::detect().stdout_color()),
        ScanOutput::Json => report::to_json(&report),
        ScanOutput::Yaml => report::to_yaml(&report).map_err(|e| anyhow::anyhow!("{e}"))?,
        ScanOutput::Sarif => report::to_sarif(&report),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    out.flush()?;
    for w in &inv.warnings {
        eprintln!("warning: {w}");
    }
    for e in &inv.errors {
        eprintln!("error: {e}");
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
