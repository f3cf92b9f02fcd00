//! `kubectl secfix scan`: one context (or manifests), or several contexts at once.

use super::UsageError;
use super::args::{DigestSource, FailOn, GlobalArgs, ScanArgs, ScanOutput, Selection};
use super::collect::{Collected, Source, collect, collect_live_from, collector, scan_options};
use super::exit;
use crate::ui::term::Term;
use secfix_core::checks::{ContextRef, Finding};
use secfix_core::report::policy_report::{self, Timestamp};
use secfix_core::report::{self, Baseline, Origin, Report};
use secfix_io::cluster::client::{ConnectOptions, Connection, load_kubeconfig};
use secfix_io::cluster::policy_report as cluster_reports;
use secfix_io::contexts::{self, ContextScan, ContextSelection, Target};
use secfix_io::inventory::{Inventory, Keep};

pub(super) const KEEP: Keep = Keep {
    objects: false,
    pods: true,
};

pub async fn run(global: &GlobalArgs, args: &ScanArgs) -> anyhow::Result<u8> {
    check_flags(global, args)?;
    let baseline = read_baseline(args)?;
    let started = jiff::Timestamp::now();
    match args.contexts.selection() {
        Some(selection) => run_contexts(global, args, &selection, started, &baseline).await,
        None => run_one(global, args, started, &baseline).await,
    }
}

/// `--baseline FILE`, read before anything else: a file that is not a scan report is a flag
/// error (exit 2).
fn read_baseline(args: &ScanArgs) -> Result<Option<Baseline>, UsageError> {
    let Some(path) = &args.baseline else {
        return Ok(None);
    };
    let shown = secfix_core::model::text::printable(&path.display().to_string()).into_owned();
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("--baseline {shown}: {e}")))?;
    Baseline::parse(&text)
        .map(Some)
        .map_err(|e| UsageError(format!("--baseline {shown}: {e}")))
}

/// Sets each offline finding's field line and column (`SourceLocation::field_line`) from
/// its file, read again (only files with findings; not stdin), forward through each file.
fn locate_fields(findings: &mut [Finding]) {
    secfix_io::manifest::locator::Locator::default().locate_all(findings);
}

/// Flag combinations that cannot work, as usage errors (exit 2) before anything is read.
fn check_flags(global: &GlobalArgs, args: &ScanArgs) -> Result<(), UsageError> {
    let several = if args.contexts.all_contexts {
        Some("--all-contexts")
    } else if !args.contexts.contexts.is_empty() {
        Some("--contexts")
    } else {
        None
    };
    let files = args.selection.offline();
    if let Some(flag) = several {
        if global.context.is_some() {
            return Err(UsageError(format!(
                "{flag} cannot be combined with --context (which picks one context)"
            )));
        }
        if files {
            return Err(UsageError(format!(
                "{flag} cannot be combined with -f ({flag} scans clusters, -f reads manifests)"
            )));
        }
    }
    super::collect::check_offline_flags(global, &args.selection, &[])?;
    if args.report_to_cluster {
        if files {
            return Err(UsageError(
                "--report-to-cluster cannot be combined with -f (manifests have no cluster to \
                 write reports into)"
                    .into(),
            ));
        }
        if args.selection.selector.is_some() {
            return Err(UsageError(
                "--report-to-cluster cannot be combined with -l (a namespace's report would \
                 leave out the objects the selector does not match)"
                    .into(),
            ));
        }
    }
    Ok(())
}

/// One context, or manifests.
async fn run_one(
    global: &GlobalArgs,
    args: &ScanArgs,
    started: jiff::Timestamp,
    baseline: &Option<Baseline>,
) -> anyhow::Result<u8> {
    if super::scan_stream::streams(args) {
        return super::scan_stream::run(global, args, started, baseline).await;
    }
    let collected = collect(global, &args.selection, KEEP).await?;
    let empty = super::collect::check_not_empty(&args.selection, &collected).err();
    let origin = origin(global, &args.selection, &collected);
    let namespace = collected.namespace.clone();
    let mut inv = collected.inventory;
    resolve_digests(&mut inv, args).await;
    let unlisted = std::mem::take(&mut inv.unlisted);
    if matches!(collected.source, Source::Offline(_)) {
        locate_fields(&mut inv.findings);
    }
    let warnings = report_warnings(&inv);
    let mut report = Report {
        findings: inv.findings,
        suppressed: inv.suppressed,
        scanned: inv.scanned,
        warnings,
        errors: inv.input_errors.clone(),
        contexts: Vec::new(),
        origin,
        time: Some(started),
    };
    if let Some(b) = baseline {
        b.mark(&mut report);
    }
    print_report(&report, args)?;
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
    if args.report_to_cluster
        && let Source::Live(conn) = &collected.source
    {
        match write_reports(
            conn,
            &report.findings,
            namespace.as_deref(),
            started,
            &unlisted,
        )
        .await
        {
            Ok((note, errors)) => {
                super::say("note", note);
                for e in &errors {
                    super::say("error", e);
                }
                failed |= !errors.is_empty();
            }
            Err(e) => {
                super::say("error", e);
                failed = true;
            }
        }
    }
    Ok(exit_code(&report, args.fail_on, failed))
}

/// Several contexts at once (`--all-contexts`, `--contexts`).
async fn run_contexts(
    global: &GlobalArgs,
    args: &ScanArgs,
    selection: &ContextSelection,
    started: jiff::Timestamp,
    baseline: &Option<Baseline>,
) -> anyhow::Result<u8> {
    let flag = match selection {
        ContextSelection::All => "--all-contexts",
        ContextSelection::Named(_) => "--contexts",
    };
    let kubeconfig = load_kubeconfig(&global.connect_options())
        .map_err(|e| anyhow::anyhow!("{flag} needs a kubeconfig: {e:#}"))?;
    let targets = contexts::targets(&kubeconfig, selection)?;
    let origin = contexts_origin(global, &args.selection, &targets);
    // Bad --checks or -l values are usage errors, found before any context is contacted.
    collector(&args.selection, KEEP)?;
    if let Some(s) = &args.selection.selector {
        secfix_core::model::selector::Selector::parse(s)
            .map_err(|e| UsageError(format!("-l {s:?}: {e}")))?;
    }
    let progress = crate::ui::progress::Lines::new(targets.iter().map(|t| t.context.as_str()));
    // Each context is a task of its own (see `scan_all`): it owns what it reads.
    let shared = std::sync::Arc::new((global.clone(), args.clone()));
    let outcomes = contexts::scan_all(targets, usize::from(args.contexts.parallel_contexts), |t| {
        let bar = progress.line(&t.context);
        let shared = shared.clone();
        async move {
            let (global, args) = &*shared;
            let result = scan_context(global, args, &t, &bar, started).await;
            {
                let state = match &result {
                    Ok(s) if s.errors.is_empty() => format!("done: {}", plural(s.findings.len())),
                    Ok(s) => format!(
                        "incomplete: {}, {} error(s)",
                        plural(s.findings.len()),
                        s.errors.len()
                    ),
                    Err(e) => format!("failed: {e}"),
                };
                bar.finish(&secfix_core::model::text::printable(&state));
            }
            result
        }
    })
    .await;
    progress.clear();
    let mut merged = contexts::merge(outcomes);
    merged.report.origin = origin;
    merged.report.time = Some(started);
    if let Some(b) = baseline {
        b.mark(&mut merged.report);
    }
    print_report(&merged.report, args)?;
    for w in &merged.warnings {
        super::say("warning", w);
    }
    for n in &merged.notes {
        super::say("note", n);
    }
    for e in &merged.errors {
        super::say("error", e);
    }
    Ok(exit_code(
        &merged.report,
        args.fail_on,
        !merged.errors.is_empty(),
    ))
}

fn plural(n: usize) -> String {
    format!("{n} finding{}", if n == 1 { "" } else { "s" })
}

/// One context of several: connect, check it answers, list, resolve digests, and write its
/// reports when asked. `Err` when nothing could be read at all.
async fn scan_context(
    global: &GlobalArgs,
    args: &ScanArgs,
    target: &Target,
    bar: &crate::ui::progress::Spinner,
    started: jiff::Timestamp,
) -> Result<ContextScan, String> {
    let opts = ConnectOptions {
        kubeconfig: global.kubeconfig.clone(),
        context: Some(target.context.clone()),
    };
    bar.set("connecting");
    let conn = secfix_io::cluster::client::connect(&opts)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let server = conn.server.clone();
    let collector = collector(&args.selection, KEEP).map_err(|e| format!("{e:#}"))?;
    // `/version` alongside the lists (no round trip added): when it fails, the context is
    // unreachable or rejects us, and that one error is reported instead of one per kind.
    let version = conn.client.clone();
    let (reached, collected) = tokio::join!(
        version.apiserver_version(),
        collect_live_from(conn, &args.selection, collector, KEEP, Some(bar))
    );
    reached.map_err(|e| {
        let why = match &e {
            kube::Error::Api(_) => secfix_io::cluster::describe_error(&e),
            // The transport error's causes say what happened (refused, timed out, TLS…).
            _ => causes(&e),
        };
        format!("cannot reach {server}: {why}")
    })?;
    let namespace = collected.namespace.clone();
    let mut inv = collected.inventory;
    resolve_digests(&mut inv, args).await;
    let unlisted = std::mem::take(&mut inv.unlisted);
    let mut scan = ContextScan {
        findings: inv.findings,
        suppressed: inv.suppressed,
        scanned: inv.scanned,
        warnings: inv.warnings,
        errors: inv.errors,
        notes: Vec::new(),
        server: server.clone(),
    };
    if args.report_to_cluster
        && let Source::Live(conn) = &collected.source
    {
        bar.set("writing PolicyReports");
        // The reports hold the findings as the JSON report shows them, context included.
        let origin = ContextRef {
            context: target.context.clone(),
            server,
        };
        let findings: Vec<Finding> = scan
            .findings
            .iter()
            .cloned()
            .map(|mut f| {
                f.origin = Some(origin.clone());
                f
            })
            .collect();
        match write_reports(conn, &findings, namespace.as_deref(), started, &unlisted).await {
            Ok((note, errors)) => {
                scan.notes.push(note);
                scan.errors.extend(errors);
            }
            Err(e) => scan.errors.push(e),
        }
    }
    Ok(scan)
}

/// An error and its causes, `: `-separated, each said once (hyper repeats its own message in
/// the next cause).
fn causes(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = next {
        let msg = err.to_string();
        if !parts.iter().any(|p| p.contains(&msg)) {
            parts.push(msg);
        }
        next = err.source();
    }
    parts.join(": ")
}

/// A read-only command contacts registries only when asked to (`--digest-source`).
async fn resolve_digests(inv: &mut Inventory, args: &ScanArgs) {
    let offline = args.selection.offline();
    super::images::resolve(
        inv,
        &super::collect::scan_options(&args.selection),
        args.digest.digest_source,
        DigestSource::Pods,
        offline,
        &args.digest,
    )
    .await;
}

fn print_report(report: &Report, args: &ScanArgs) -> anyhow::Result<()> {
    use secfix_core::model::text::json_escaped_controls;
    let term = Term::detect();
    let text = match args.output {
        ScanOutput::Table => {
            crate::ui::table::render_table_sized(report, term.stdout_color(), term.stdout_rows())
        }
        ScanOutput::Wide => crate::ui::table::render_wide(report, term.stdout_color()),
        ScanOutput::Name => crate::ui::table::render_names(report),
        // Every terminal line escaped (issue #22): JSON leaves C1 controls raw.
        ScanOutput::Json => json_escaped_controls(&report::to_json(report)).into_owned(),
        ScanOutput::Yaml => report::to_yaml(report).map_err(|e| anyhow::anyhow!("{e}"))?,
        ScanOutput::Sarif => json_escaped_controls(&report::to_sarif(report)).into_owned(),
        ScanOutput::Summary => crate::ui::summary::render_summary(report, term.stdout_color()),
        ScanOutput::Html => report::render_html(report),
        ScanOutput::Markdown => report::render_markdown(report),
    };
    super::print_stdout(&text)
}

/// Where the objects came from and how they were selected, for report headers and the
/// commands the overviews suggest.
/// A report's warnings: the run's warnings, then its errors but for the input errors (which
/// the report lists on their own, as `errors`).
pub(super) fn report_warnings(inv: &Inventory) -> Vec<String> {
    inv.warnings
        .iter()
        .chain(
            inv.errors
                .iter()
                .filter(|e| !inv.input_errors.iter().any(|i| i.to_string() == **e)),
        )
        .cloned()
        .collect()
}

pub(super) fn origin(global: &GlobalArgs, selection: &Selection, collected: &Collected) -> Origin {
    let (target, namespace) = match &collected.source {
        Source::Live(conn) => (
            report::Target::Cluster {
                context: conn.context.clone(),
                cluster: conn.cluster.clone(),
                kubeconfig: global.kubeconfig.as_ref().map(|p| p.display().to_string()),
            },
            collected.namespace.clone(),
        ),
        Source::Offline(_) => (
            report::Target::Files(match &selection.kustomize {
                Some(dir) => vec![secfix_io::manifest::kustomize::display_name(dir)],
                None => selection
                    .files
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect(),
            }),
            selection.namespace.clone(),
        ),
    };
    selection_origin(selection, target, namespace)
}

/// The origin of a scan of several contexts.
fn contexts_origin(global: &GlobalArgs, selection: &Selection, targets: &[Target]) -> Origin {
    let target = report::Target::Contexts {
        contexts: targets.iter().map(|t| t.context.clone()).collect(),
        kubeconfig: global.kubeconfig.as_ref().map(|p| p.display().to_string()),
        default_namespaces: !selection.all_namespaces && selection.namespace.is_none(),
    };
    selection_origin(selection, target, selection.namespace.clone())
}

fn selection_origin(
    selection: &Selection,
    target: report::Target,
    namespace: Option<String>,
) -> Origin {
    Origin {
        target,
        namespace,
        selector: selection.selector.clone(),
        checks: selection.checks.clone(),
        ran: scan_options(selection).selected().collect(),
        flags: selection.repeated.clone(),
    }
}

/// Writes the PolicyReports of `findings` (scanned in `namespace`, `None` = all) into the
/// cluster of `conn`. `Ok`: a line saying what was written, and the errors (the reports that
/// failed, and the kinds the scan could not list: `unlisted`, whose results the reports keep
/// from the previous scan); `Err`: nothing could be written (the CRDs are missing, say).
async fn write_reports(
    conn: &Connection,
    findings: &[Finding],
    namespace: Option<&str>,
    started: jiff::Timestamp,
    unlisted: &std::collections::BTreeSet<String>,
) -> Result<(String, Vec<String>), String> {
    let at = Timestamp {
        seconds: started.as_second(),
        nanos: 0,
    };
    let mut reports = policy_report::build(findings, at);
    if !unlisted.is_empty() {
        reports
            .cluster_results
            .push(policy_report::incomplete_result(unlisted, at, namespace));
    }
    let written = cluster_reports::write(&conn.client, reports, namespace, unlisted)
        .await
        .map_err(|e| e.to_string())?;
    let mut errors = written.errors.clone();
    if !unlisted.is_empty() {
        errors.push(format!(
            "incomplete scan: could not list {}: the PolicyReports keep their previous results \
             about these kinds and their namespace-level results, and the ClusterPolicyReport \
             records the incomplete scan (a result of policy {})",
            unlisted.iter().cloned().collect::<Vec<_>>().join(", "),
            policy_report::INCOMPLETE_POLICY
        ));
    }
    Ok((written.line(), errors))
}

/// 1 when something could not be read (or written), else 3 when a finding is at or above
/// `fail_on`.
pub(crate) fn exit_code(report: &Report, fail_on: FailOn, errors: bool) -> u8 {
    exit_code_of(report.worst_new(), fail_on, errors)
}

/// [`exit_code`] from the highest severity among the findings not in the baseline.
pub(super) fn exit_code_of(
    worst_new: Option<secfix_core::checks::Severity>,
    fail_on: FailOn,
    errors: bool,
) -> u8 {
    if errors {
        return exit::RUNTIME;
    }
    match (fail_on.threshold(), worst_new) {
        (Some(t), Some(w)) if w >= t => exit::FINDINGS,
        _ => exit::OK,
    }
}
