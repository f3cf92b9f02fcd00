//! `scan -o json|yaml|sarif` of one context or of manifests, with memory flat in the number
//! of objects and findings (issue 26).
//!
//! How it goes:
//! 1. The objects are read and checked as before; the findings the scanner decides are taken
//!    in chunks and kept on disk in sorted runs (`secfix_io::spill`), so neither the objects nor
//!    the findings pile up in memory. Offline, each chunk's fields are located in their files
//!    before it is spilled, while the chunk is in input order.
//! 2. Once everything is read (the namespace checks and namespace annotations need all of
//!    it), the runs are merged back in report order and each finding is settled as the
//!    in-memory path settles them: namespace suppression, its digest from the pods, the
//!    `--baseline` mark. It is counted (the summary, the exit code) and spilled again.
//! 3. The document is written to stdout finding by finding from that second spill
//!    (`secfix_core::report::stream`), byte for byte what the in-memory path prints.
//!
//! The order is the report order of every other output (namespace, kind, name, check,
//! path): a scan's findings are sorted whatever order the objects arrive in, so the first
//! finding is written once the input is read; from then on the document streams.
//!
//! Used unless something needs every finding at once: `--report-to-cluster`, a registry
//! lookup (`--digest-source registry|auto`, a signature policy), or another output format.

use std::io::Write as _;

use super::args::{DigestSource, GlobalArgs, ScanArgs, ScanOutput};
use super::collect::{Source, check_not_empty, collect_with};
use super::scan::{KEEP, exit_code_of, origin, report_warnings};
use secfix_core::checks::{Finding, Severity};
use secfix_core::fix::digest::apply_pod_digests;
use secfix_core::report::stream::{Streamed, Written, write_json, write_sarif, write_yaml};
use secfix_core::report::{Baseline, Report, Summary};
use secfix_io::spill::Spill;

/// Whether `scan` with `args` streams its output (see the module docs).
pub(super) fn streams(args: &ScanArgs) -> bool {
    matches!(
        args.output,
        ScanOutput::Json | ScanOutput::Yaml | ScanOutput::Sarif
    ) && !args.report_to_cluster
        && args.contexts.selection().is_none()
        && matches!(args.digest.digest_source, None | Some(DigestSource::Pods))
        && !super::collect::scan_options(&args.selection)
            .evidence()
            .image_signatures
}

/// How a finding gets the digest its check wants here (see `super::images::resolve`).
#[derive(Clone, Copy)]
enum Digests {
    /// `-f` without `--digest-source`: nothing is looked up, the finding says how to ask.
    Offline,
    /// From the pods read (a live scan's default, or `--digest-source pods`).
    Pods,
}

pub(super) async fn run(
    global: &GlobalArgs,
    args: &ScanArgs,
    started: jiff::Timestamp,
    baseline: &Option<Baseline>,
) -> anyhow::Result<u8> {
    // Fields are located chunk by chunk, forward through each file.
    let mut locator = secfix_io::manifest::locator::Locator::default();
    let prepare: secfix_core::inventory::Prepare =
        Some(Box::new(move |findings: &mut [Finding]| {
            locator.locate_all(findings)
        }));
    let collected = collect_with(
        global,
        &args.selection,
        KEEP,
        Some((Spill::default(), prepare)),
    )
    .await?;
    let empty = check_not_empty(&args.selection, &collected).err();
    let origin = origin(global, &args.selection, &collected);
    let offline = matches!(collected.source, Source::Offline(_));
    let digests = match (args.digest.digest_source, offline) {
        (None, true) => Digests::Offline,
        _ => Digests::Pods,
    };
    let mut inv = collected.inventory;

    // 2. Settle and count every finding, in report order, into a second spill.
    let spilled = match inv.spilled.take().map(|s| s.into_any().downcast::<Spill>()) {
        Some(Ok(spill)) => *spill,
        // Only this module hands the collector a spill, and only a `Spill`.
        Some(Err(_)) | None => Spill::default(),
    };
    let rest = std::mem::take(&mut inv.findings);
    let mut counts = Summary::empty(0, inv.scanned);
    let mut suppressed = inv.suppressed;
    let mut worst_new: Option<Severity> = None;
    let mut settled = Spill::default();
    let mut pending: Vec<Finding> = Vec::new();
    for f in spilled.merge(rest) {
        let mut f = match f {
            Ok(f) => f,
            Err(e) => {
                inv.errors.push(format!(
                    "incomplete report: cannot read findings back from a temporary file: {e}"
                ));
                break;
            }
        };
        if secfix_core::checks::suppressed_by(&inv.namespace_ignore, &f) {
            suppressed += 1;
            continue;
        }
        let errors = settle_digest(&mut f, &inv.digests, digests);
        inv.errors.extend(errors);
        if let Some(b) = baseline {
            b.mark_finding(&mut f);
        }
        counts.count(&f);
        if !f.baseline {
            worst_new = worst_new.max(Some(f.severity));
        }
        pending.push(f);
        if pending.len() >= settled.chunk() {
            settled.push_run(std::mem::take(&mut pending));
        }
    }
    if let Some(w) = settled.warning() {
        inv.warnings.push(w.to_string());
    }
    let summary = Summary {
        suppressed,
        ..counts
    };
    let report = Report {
        findings: Vec::new(),
        suppressed,
        scanned: inv.scanned,
        warnings: report_warnings(&inv),
        errors: inv.input_errors.clone(),
        contexts: Vec::new(),
        origin,
        time: Some(started),
    };

    // 3. The document.
    let written = write_document(
        args.output,
        Streamed {
            report: &report,
            summary: &summary,
            findings: settled.merge(pending),
        },
    )?;
    for w in &inv.warnings {
        super::say("warning", w);
    }
    for e in &inv.errors {
        super::say("error", e);
    }
    if let Some(e) = &empty {
        super::say("error", e);
    }
    let mut failed = !inv.errors.is_empty() || empty.is_some();
    if let Some(e) = &written.failed {
        super::say(
            "error",
            format!(
                "incomplete report: {} of {} findings written; cannot read the rest back from \
                 a temporary file: {e}",
                written.findings, summary.total
            ),
        );
        failed = true;
    }
    Ok(exit_code_of(worst_new, args.fail_on, failed))
}

/// Fills in the digest of a finding as `super::images::resolve` does for `how` (the
/// sources that ask no registry); returns the errors of the run its check reports.
fn settle_digest(
    f: &mut Finding,
    pods: &secfix_core::fix::digest::PodDigests,
    how: Digests,
) -> Vec<String> {
    let f = std::slice::from_mut(f);
    match how {
        Digests::Offline => {
            super::images::say_offline(f);
            Vec::new()
        }
        Digests::Pods => apply_pod_digests(f, pods),
    }
}

/// Writes the document to stdout, then a newline. A reader that goes away (a closed pipe)
/// ends the output quietly, as `super::print_stdout` does.
fn write_document<I>(output: ScanOutput, doc: Streamed<'_, I>) -> anyhow::Result<Written>
where
    I: Iterator<Item = std::io::Result<Finding>>,
{
    let stdout = std::io::stdout().lock();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout);
    let result = match output {
        ScanOutput::Yaml => write_yaml(&mut out, doc),
        ScanOutput::Sarif => write_sarif(&mut out, doc),
        _ => write_json(&mut out, doc),
    }
    .and_then(|written| {
        out.write_all(b"\n")?;
        out.flush()?;
        Ok(written)
    });
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Written::default()),
        other => Ok(other?),
    }
}
