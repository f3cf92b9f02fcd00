//! `kubectl secfix fix`: plan every fixable finding, then (per mode) print, dry-run,
//! apply without prompts, or preview and prompt per change.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use kube::Client;
use serde::Serialize;
use serde_json::Value;

use super::UsageError;
use super::args::{DigestSource, DryRun, FixArgs, FixOutput, GlobalArgs, PostRenderArgs};
use super::collect::{Source, collect};
use super::exit;
use crate::cli::args::NetworkPolicyMode;
use crate::ui::progress::Tally;
use crate::ui::prompt::{self, Choice};
use crate::ui::term::Term;
use secfix_core::checks::{CheckId, Delivery, Finding};
use secfix_core::fix::file_env::UserFileVars;
use secfix_core::fix::network_policy::graph::Flow;
use secfix_core::fix::plan::{LeftOut, Plans, build_plans};
use secfix_core::fix::redact::Redactor;
use secfix_core::fix::{Action, AppChanges, FixOptions, MovedSecret, Plan, Target};
use secfix_io::cluster::apply::{self, ApplyError, Outcome};
use secfix_io::cluster::fleet::{self, Applied};
use secfix_io::cluster::journal::{self, LazyJournal};
use secfix_io::inventory::Keep;
use secfix_io::manifest::{OfflineEdits, offline_edits};

/// What happened to one plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Planned,
    Validated,
    Applied,
    Skipped,
    Failed,
}

/// One plan and its fate, as `-o json` prints it. Holds no secret value.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PlanResult {
    target: Target,
    checks: Vec<CheckId>,
    /// The findings fixed (for pinned images: the digest and which source gave it).
    findings: Vec<Finding>,
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    warnings: Vec<String>,
    /// The forward JSON patch (guarded; values redacted); absent for a created object.
    #[serde(skip_serializing_if = "Option::is_none")]
    patch: Option<Value>,
    /// Objects created (secret values redacted).
    creates: Vec<Value>,
    /// Secrets moved from env vars into files, each with its delivery class.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    moved: Vec<MovedSecret>,
    /// For a NetworkPolicy set: who may call what, on which ports, and why; what will be
    /// blocked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    flows: Vec<Flow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    saved: Option<PathBuf>,
}

impl PlanResult {
    /// Everything `-o json` prints about `plan`.
    fn new(plan: &Plan) -> Self {
        let mut creates: Vec<Value> = plan.prerequisites.iter().map(|p| p.display()).collect();
        if matches!(plan.action, Action::Create) {
            creates.push(plan.display_objects().1);
        }
        PlanResult {
            findings: plan.findings.clone(),
            warnings: plan.warnings.clone(),
            patch: plan.display_patch(),
            creates,
            flows: plan.flows.clone(),
            ..Self::brief(plan)
        }
    }

    /// What the text summary reads (the object, its checks and moved secrets, its fate):
    /// without `-o json` no redacted copy of each patch is built (at fleet scale it costs).
    fn brief(plan: &Plan) -> Self {
        let mut checks: Vec<CheckId> = plan.findings.iter().map(|f| f.check).collect();
        checks.sort();
        checks.dedup();
        PlanResult {
            target: plan.target.clone(),
            checks,
            findings: Vec::new(),
            status: Status::Planned,
            error: None,
            warnings: Vec::new(),
            patch: None,
            creates: Vec::new(),
            moved: plan.moved.clone(),
            flows: Vec::new(),
            saved: None,
        }
    }
}

/// The JSON document `fix -o json` prints.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct FixReport<'a> {
    api_version: &'static str,
    kind: &'static str,
    dry_run: &'static str,
    results: &'a [PlanResult],
    /// Secret moves left out because the app would have to change, each with a `reason`.
    skipped: &'a [LeftOut],
    not_fixable: &'a [Finding],
    #[serde(skip_serializing_if = "Option::is_none")]
    rollback_dir: Option<PathBuf>,
}

/// What plan building found: the plans, and what they leave out.
#[derive(Debug, Clone, Copy)]
struct Found<'a> {
    plans: &'a [Plan],
    not_fixable: &'a [Finding],
    left_out: &'a [LeftOut],
}

pub async fn run(global: &GlobalArgs, args: &FixArgs) -> anyhow::Result<u8> {
    check_flags(global, args)?;
    let term = Term::detect();
    let offline = args.selection.offline();
    let interactive = !offline && !args.yes && args.dry_run == DryRun::None;
    if interactive {
        // Before anything is read or written: never hang waiting for an answer.
        prompt::require_interactive(&term).map_err(|e| UsageError(e.to_string()))?;
    }
    let file_env_vars =
        UserFileVars::parse(&args.file_env).map_err(|e| UsageError(e.to_string()))?;
    let keep = Keep {
        objects: true,
        pods: true,
    };
    let mut collected = collect(global, &args.selection, keep).await?;
    // Asked now, answered while the fixes are planned: one round trip less before the first
    // write.
    let applications = match &collected.source {
        Source::Live(conn) => Some(tokio::spawn(argo_applications(conn.client.clone()))),
        Source::Offline(_) => None,
    };
    let empty = super::collect::check_not_empty(&args.selection, &collected).err();
    // With -f nothing is contacted unless asked (`--digest-source`, or a trust policy).
    super::images::resolve(
        &mut collected.inventory,
        &super::collect::scan_options(&args.selection),
        args.digest.digest_source,
        DigestSource::Auto,
        offline,
        &args.digest,
    )
    .await;
    let opts = fix_options(args, interactive, file_env_vars, &collected.inventory)?;
    let Plans {
        plans,
        not_fixable,
        left_out,
        errors: plan_errors,
    } = build_plans(&collected.inventory, &opts);
    for e in &plan_errors {
        super::say("error", e);
    }
    for w in &collected.inventory.warnings {
        super::say("warning", w);
    }
    for e in &collected.inventory.errors {
        super::say("error", e);
    }
    if let Some(e) = &empty {
        super::say("error", e);
    }
    let read_failed =
        !collected.inventory.errors.is_empty() || !plan_errors.is_empty() || empty.is_some();
    if args.post_render && read_failed {
        // Helm must not install half of what it rendered.
        anyhow::bail!("post-render: the input could not be read completely; nothing written");
    }
    let code = match &collected.source {
        Source::Offline(files) => run_offline(
            args,
            files,
            &collected.inventory.input_errors,
            &plans,
            &not_fixable,
            &left_out,
        )?,
        Source::Live(conn) => {
            let found = Found {
                plans: &plans,
                not_fixable: &not_fixable,
                left_out: &left_out,
            };
            let applications = match applications {
                Some(listing) => listing
                    .await
                    .map_err(|e| anyhow::anyhow!("listing Argo CD Applications stopped: {e}"))?,
                None => Default::default(),
            };
            run_live(args, &term, interactive, &conn.client, found, &applications).await?
        }
    };
    Ok(if read_failed { exit::RUNTIME } else { code })
}

/// The fix options of `args`; `interactive` offers every move (app changes with the default
/// choice skip), `inv` supplies what was read (env sources, the API server's address).
fn fix_options(
    args: &FixArgs,
    interactive: bool,
    file_env_vars: UserFileVars,
    inv: &secfix_core::inventory::Inventory,
) -> anyhow::Result<FixOptions> {
    Ok(FixOptions {
        mount_root: args.mount_root.clone(),
        file_env: !args.no_file_env,
        file_env_vars,
        // On a terminal every move is offered, app changes with the default choice skip.
        app_changes: if interactive || args.allow_app_changes {
            AppChanges::Include
        } else {
            AppChanges::LeaveOut
        },
        allow_dns: args.allow_dns,
        network_policy: args.network_policy.into(),
        allow_egress: args.allow_egress.clone(),
        env_sources: inv.env_sources.clone(),
        api_server: secfix_core::fix::network_policy::graph::ApiServer::parse_flag(
            &args.api_server,
        )
        .map_err(UsageError)?
        .or_else(|| inv.api_server.clone()),
        ingress_from: args.ingress_from.clone(),
        allow_flows: args.allow_flow.clone(),
    })
}

/// Flag combinations that cannot work, as usage errors before anything is read.
fn check_flags(global: &GlobalArgs, args: &FixArgs) -> anyhow::Result<()> {
    if args.all_contexts || !args.contexts.is_empty() {
        let flag = if args.all_contexts {
            "--all-contexts"
        } else {
            "--contexts"
        };
        return Err(UsageError(format!(
            "{flag}: fix works on one context at a time, on purpose (each change is previewed, \
             dry-run, saved and rolled back per cluster); run `kubectl secfix fix --context NAME` \
             for each context (`kubectl secfix scan {flag}` shows where the findings are)"
        ))
        .into());
    }
    let mut offline_only: Vec<&str> = Vec::new();
    if args.save_patches.is_some() {
        offline_only.push("--save-patches");
    }
    if args.dry_run == DryRun::Server {
        offline_only.push("--dry-run=server");
    }
    super::collect::check_offline_flags(global, &args.selection, &offline_only)?;
    let offline = args.selection.offline();
    if !args.allow_egress.is_empty() && args.network_policy == NetworkPolicyMode::DenyAll {
        return Err(UsageError(
            "--allow-egress needs --network-policy least-privilege (deny-all writes one \
             default-deny policy)"
                .into(),
        )
        .into());
    }
    if args.write && args.dry_run != DryRun::None {
        return Err(UsageError("--write cannot be combined with --dry-run".into()).into());
    }
    // Before anything is read: these would write nothing, or nothing the user asked for.
    if args.write && args.output == FixOutput::Json {
        return Err(UsageError(
            "--write cannot be combined with -o json (the JSON report describes the fixes; \
             --write rewrites the files)"
                .into(),
        )
        .into());
    }
    if args.overlay.is_some() && offline && args.output == FixOutput::Json {
        return Err(UsageError(
            "--overlay cannot be combined with -o json with -f or -k (the JSON report \
             describes the fixes; --overlay writes them)"
                .into(),
        )
        .into());
    }
    if args.write && !offline {
        return Err(UsageError("--write needs -f (it rewrites manifest files)".into()).into());
    }
    if args.write && args.selection.files.iter().any(|f| f.as_os_str() == "-") {
        return Err(UsageError(
            "--write cannot rewrite standard input (-f -): name the files".into(),
        )
        .into());
    }
    Ok(())
}

/// `Deployment shop/web (env-secret, container app)`: what a stderr line is about.
fn subject(f: &Finding) -> String {
    let container = f
        .container
        .as_deref()
        .map(|c| format!(", container {c}"))
        .unwrap_or_default();
    format!(
        "{} {}/{} ({}{container})",
        f.kind,
        secfix_core::model::names::namespace_label(&f.namespace),
        f.name,
        f.check
    )
}

fn print_not_fixable(not_fixable: &[Finding]) {
    for (label, line) in not_fixable_lines(not_fixable) {
        super::say(label, line);
    }
}

fn not_fixable_lines(not_fixable: &[Finding]) -> Vec<(&'static str, String)> {
    not_fixable
        .iter()
        .map(|f| {
            let why = f
                .not_fixable_reason
                .as_deref()
                .unwrap_or("no automatic fix");
            ("not fixable", format!("{}: {why}", subject(f)))
        })
        .collect()
}

/// Says on stderr which secret moves were left out because the app would have to change,
/// and why.
fn print_left_out(left_out: &[LeftOut]) {
    for (label, line) in left_out_lines(left_out) {
        super::say(label, line);
    }
}

fn left_out_lines(left_out: &[LeftOut]) -> Vec<(&'static str, String)> {
    left_out
        .iter()
        .map(|l| {
            let f = &l.finding;
            let what = f.detail.get().subject().unwrap_or_else(|| f.path.clone());
            ("left out", format!("{}: {what}: {}", subject(f), l.reason))
        })
        .collect()
}

fn print_json(
    results: &[PlanResult],
    found: Found<'_>,
    dry_run: DryRun,
    dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    super::print_stdout(&json_text(results, found, dry_run, dir)?)
}

/// The `-o json` report as printed.
fn json_text(
    results: &[PlanResult],
    found: Found<'_>,
    dry_run: DryRun,
    dir: Option<PathBuf>,
) -> anyhow::Result<String> {
    let report = FixReport {
        api_version: "secfix.dev/v1",
        kind: "FixReport",
        dry_run: match dry_run {
            DryRun::None => "none",
            DryRun::Server => "server",
            DryRun::Client => "client",
        },
        results,
        skipped: found.left_out,
        not_fixable: found.not_fixable,
        rollback_dir: dir,
    };
    // The last net: every value any plan's objects hold that may be secret, in whatever
    // field (a warning, a server error) it ended up.
    let text = serde_json::to_string_pretty(&report)?;
    let redactor = output_redactor(&[], found.plans);
    let text = secfix_core::model::text::json_escaped_controls(&text);
    Ok(redactor.text(&text).into_owned())
}

/// Everything `fix -f` prints for `bytes`, read as the manifest file `display`, with the
/// default options (`allow_app_changes`: `--allow-app-changes`): the manifests of stdout,
/// the `-o json` report, the previews and patch views, and every stderr line (errors,
/// warnings, notes, left out, not fixable, flow tables). The output boundary's seam for the
/// fuzz target and tests: no terminal, no files, no cluster.
#[doc(hidden)]
pub fn offline_outputs(display: &str, bytes: &[u8], allow_app_changes: bool) -> Vec<String> {
    use secfix_io::inventory::Collector;
    let (file, diags) = secfix_io::manifest::parse_bytes(display, bytes);
    let files = vec![file];
    let keep = Keep {
        objects: true,
        pods: true,
    };
    let mut collector = Collector::new(secfix_core::checks::ScanOptions::default(), keep)
        .with_default_namespace("default");
    let is_namespace = |v: &Value| v.get("kind").and_then(Value::as_str) == Some("Namespace");
    for first in [true, false] {
        secfix_io::manifest::for_each_object(&files, &mut |obj, loc| {
            if is_namespace(&obj) == first {
                collector.add_offline(obj, loc, None);
            }
        });
    }
    for d in diags {
        collector.diagnostic(d);
    }
    let inv = collector.finish();
    let opts = FixOptions {
        app_changes: if allow_app_changes {
            AppChanges::Include
        } else {
            AppChanges::LeaveOut
        },
        env_sources: inv.env_sources.clone(),
        ..FixOptions::default()
    };
    let Plans {
        plans,
        not_fixable,
        left_out,
        errors,
    } = build_plans(&inv, &opts);
    let mut stderr: Vec<(&str, String)> = Vec::new();
    stderr.extend(errors.into_iter().map(|e| ("error", e)));
    stderr.extend(inv.warnings.iter().map(|w| ("warning", w.clone())));
    stderr.extend(inv.errors.iter().map(|e| ("error", e.clone())));
    let OfflineEdits { shown, notes, .. } = offline_edits(&plans, &not_fixable, &files, "default");
    stderr.extend(notes.into_iter().map(|n| ("note", n)));
    stderr.extend(not_fixable_lines(&not_fixable));
    stderr.extend(left_out_lines(&left_out));
    let mut out: Vec<String> = stderr
        .into_iter()
        .map(|(label, line)| format!("{label}: {}", secfix_core::model::text::printable(&line)))
        .collect();
    for plan in &plans {
        out.extend(
            plan.warnings
                .iter()
                .map(|w| format!("{}: {w}", plan.target)),
        );
        if !plan.flows.is_empty() {
            out.push(crate::ui::diff::network_policy_header(
                &plan.target.namespace,
            ));
            out.push(
                secfix_core::model::text::printable_lines(&crate::ui::diff::flow_table(plan))
                    .into_owned(),
            );
        }
        out.push(crate::ui::diff::render_preview(plan, false));
        out.push(crate::ui::diff::render_patch(plan));
    }
    let redactor = output_redactor(&files, &plans);
    match secfix_io::manifest::render_changed(&files, &shown, &|v| redactor.output(v)) {
        Ok(text) => out.push(text),
        Err(e) => out.push(format!("error: {e}")),
    }
    let found = Found {
        plans: &plans,
        not_fixable: &not_fixable,
        left_out: &left_out,
    };
    let results: Vec<PlanResult> = plans.iter().map(PlanResult::new).collect();
    match json_text(&results, found, DryRun::None, None) {
        Ok(text) => out.push(text),
        Err(e) => out.push(format!("error: {e}")),
    }
    out
}

/// The redaction boundary of a run's output: what is secret in every object read (List
/// items one by one) and in every plan.
fn output_redactor(files: &[secfix_io::manifest::ManifestFile], plans: &[Plan]) -> Redactor {
    let mut r = Redactor::new();
    secfix_io::manifest::for_each_object(files, &mut |v, _| r.learn_document(&v));
    for plan in plans {
        r.learn_plan(plan);
    }
    r
}

/// `fix -f`: the fixed manifests to stdout, or rewritten in place with `--write`.
fn run_offline(
    args: &FixArgs,
    files: &[secfix_io::manifest::ManifestFile],
    input_errors: &[secfix_core::report::InputError],
    plans: &[Plan],
    not_fixable: &[Finding],
    left_out: &[LeftOut],
) -> anyhow::Result<u8> {
    // A Helm post-renderer's output is installed as it is: a move into a Secret that holds
    // the value would need that Secret in the stream (stdout never shows a value), so such
    // a plan is left out, said on stderr.
    let kept: Vec<Plan>;
    let plans = if args.post_render {
        let (with_secret, rest): (Vec<&Plan>, Vec<&Plan>) = plans
            .iter()
            .partition(|p| p.prerequisites.iter().any(|n| n.sensitive));
        for p in with_secret {
            super::say(
                "left out",
                format!(
                    "{}: moving its literal secrets needs a Secret holding their values, which \
                     post-render does not write; run `fix -f` or `fix --overlay` on the chart's \
                     output to get it",
                    p.target
                ),
            );
        }
        kept = rest.into_iter().cloned().collect();
        &kept[..]
    } else {
        plans
    };
    let found = Found {
        plans,
        not_fixable,
        left_out,
    };
    let default_ns = args.selection.namespace.as_deref().unwrap_or("");
    let OfflineEdits {
        edits,
        shown,
        notes,
    } = offline_edits(plans, not_fixable, files, default_ns);
    for n in &notes {
        super::say("note", n);
    }
    print_not_fixable(not_fixable);
    print_left_out(left_out);
    for plan in plans {
        for w in &plan.warnings {
            super::say("warning", format!("{}: {w}", plan.target));
        }
    }
    if args.output == FixOutput::Json {
        let results: Vec<PlanResult> = plans.iter().map(PlanResult::new).collect();
        // Nothing is applied with -f: the plan is printed, as with --dry-run=client.
        print_json(&results, found, DryRun::Client, None)?;
        return Ok(exit::OK);
    }
    if let Some(out) = &args.overlay {
        write_overlay(args, out, files, plans)?;
        return Ok(exit::OK);
    }
    if args.post_render {
        let out =
            secfix_io::manifest::render_all(files, &edits).map_err(|e| anyhow::anyhow!("{e}"))?;
        super::print_stdout(&out)?;
        return Ok(exit::OK);
    }
    // A NetworkPolicy set is explained on stderr: stdout stays the manifests.
    for plan in plans.iter().filter(|p| !p.flows.is_empty()) {
        // Every terminal line is escaped: the namespace comes from the manifest.
        eprintln!(
            "{}",
            crate::ui::diff::network_policy_header(secfix_core::model::names::namespace_label(
                &plan.target.namespace
            ))
        );
        eprint!(
            "{}",
            secfix_core::model::text::printable_lines(&crate::ui::diff::flow_table(plan))
        );
    }
    if args.write {
        // All or nothing: input that could not be read means nothing is written.
        if !input_errors.is_empty() {
            anyhow::bail!(
                "not rewriting anything: {} part(s) of the input could not be read (see above)",
                input_errors.len()
            );
        }
        let written = secfix_io::manifest::writer::write_in_place(files, &edits)?;
        for p in &written.rewritten {
            eprintln!(
                "rewrote {}",
                secfix_core::model::text::printable(&p.display().to_string())
            );
        }
        for p in &written.created {
            eprintln!(
                "created {} for the new objects (a JSON file holding plain objects cannot take more)",
                secfix_core::model::text::printable(&p.display().to_string())
            );
        }
        eprintln!(
            "{} fix(es) written to {} file(s)",
            plans.len(),
            written.rewritten.len() + written.created.len()
        );
        return Ok(exit::OK);
    }
    let redactor = output_redactor(files, plans);
    let out = secfix_io::manifest::render_changed(files, &shown, &|v| redactor.output(v))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if out.is_empty() {
        eprintln!("nothing to change");
    }
    super::print_stdout(&out)?;
    Ok(exit::OK)
}

/// `kubectl secfix post-render [FIX FLAGS]`: `fix -f -` printing every object (a Helm
/// post-renderer must hand the whole stream back).
pub async fn post_render(global: &GlobalArgs, args: &PostRenderArgs) -> anyhow::Result<u8> {
    use clap::Parser as _;
    let mut argv: Vec<String> = vec!["kubectl-secfix".into(), "fix".into()];
    argv.extend(args.fix_flags.iter().cloned());
    argv.extend(["-f".into(), "-".into()]);
    let cli = super::Cli::try_parse_from(&argv)
        .map_err(|e| UsageError(format!("post-render: {}", e.to_string().trim())))?;
    let super::args::Command::Fix(mut fix) = cli.command else {
        unreachable!("parsed as fix")
    };
    if fix.selection.files.len() != 1 || fix.write || fix.overlay.is_some() {
        return Err(UsageError(
            "post-render reads standard input and writes standard output: -f, -k, --write \
             and --overlay do not apply"
                .into(),
        )
        .into());
    }
    if fix.output == FixOutput::Json || fix.dry_run != DryRun::None {
        return Err(UsageError(
            "post-render writes the manifests: -o json and --dry-run do not apply".into(),
        )
        .into());
    }
    fix.post_render = true;
    let global = fix_global(global, &cli.global);
    run(&global, &fix).await
}

/// The connection flags given before `post-render` or among its fix flags.
fn fix_global(outer: &GlobalArgs, inner: &GlobalArgs) -> GlobalArgs {
    GlobalArgs {
        kubeconfig: inner.kubeconfig.clone().or(outer.kubeconfig.clone()),
        context: inner.context.clone().or(outer.context.clone()),
    }
}

/// `fix --overlay OUT` offline: a kustomization over the `-k` base or the `-f` files. Files
/// outside OUT are copied into `OUT/base/` (kustomize loads only files under the
/// kustomization's folder); a `-k` base is named by its relative path.
fn write_overlay(
    args: &FixArgs,
    out: &std::path::Path,
    files: &[secfix_io::manifest::ManifestFile],
    plans: &[Plan],
) -> anyhow::Result<()> {
    use secfix_core::fix::overlay;
    let absolute = |p: &std::path::Path| -> anyhow::Result<PathBuf> {
        Ok(if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir()?.join(p)
        })
    };
    // OUT need not exist yet: its parent must.
    let out_abs = {
        let abs = absolute(out)?;
        let parent = abs.parent().unwrap_or(std::path::Path::new("/"));
        let parent = std::fs::canonicalize(parent)
            .with_context(|| format!("--overlay {}: its parent folder", out.display()))?;
        parent.join(abs.file_name().unwrap_or_default())
    };
    let mut resources = Vec::new();
    let mut extra: Vec<(String, Vec<u8>, bool)> = Vec::new();
    let mut copied = Vec::new();
    if let Some(dir) = &args.selection.kustomize {
        let dir = std::fs::canonicalize(dir).with_context(|| format!("-k {}", dir.display()))?;
        resources.push(overlay::relative(&out_abs, &dir));
    } else {
        let mut taken = std::collections::BTreeSet::new();
        for f in files {
            if f.failed {
                anyhow::bail!(
                    "{}: could not be read completely; nothing written",
                    f.display
                );
            }
            let canonical = f.path.as_ref().and_then(|p| std::fs::canonicalize(p).ok());
            match canonical {
                Some(p) if p.starts_with(&out_abs) => {
                    resources.push(overlay::relative(&out_abs, &p))
                }
                _ => {
                    let name = f
                        .path
                        .as_ref()
                        .and_then(|p| p.file_name())
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| {
                            if f.json { "stdin.json" } else { "stdin.yaml" }.to_string()
                        });
                    let (stem, ext) = match name.rsplit_once('.') {
                        Some((s, e)) => (s.to_string(), format!(".{e}")),
                        None => (name.clone(), String::new()),
                    };
                    let rel = secfix_core::model::names::unique(
                        &format!("base/{stem}"),
                        &ext,
                        "-",
                        usize::MAX,
                        |n| taken.contains(n),
                    );
                    taken.insert(rel.clone());
                    copied.push(format!("{} -> {rel}", f.display));
                    extra.push((rel.clone(), f.bytes.clone(), false));
                    resources.push(rel);
                }
            }
        }
    }
    let built = overlay::build(plans, &resources).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut written: Vec<(String, Vec<u8>, bool)> = built
        .files
        .iter()
        .map(|f| (f.path.clone(), f.content.clone().into_bytes(), f.secret))
        .collect();
    written.extend(extra);
    secfix_io::manifest::writer::write_new_dir(out, &written)?;
    for c in &copied {
        super::say(
            "note",
            format!("copied {c} (kustomize reads only files under the overlay's folder)"),
        );
    }
    for n in &built.notes {
        super::say("note", n);
    }
    let patches = built
        .files
        .iter()
        .filter(|f| f.path.starts_with("patches/"))
        .count();
    eprintln!(
        "wrote overlay {}: {} patch(es), {} fix(es); render it with `kubectl kustomize {}`",
        out.display(),
        patches,
        plans.len(),
        out.display()
    );
    Ok(())
}

/// The names of the Argo CD Applications in the cluster (an `app.kubernetes.io/instance`
/// label naming one marks an object Argo CD manages); empty when Argo CD is not installed
/// or they cannot be listed.
async fn argo_applications(client: Client) -> std::collections::BTreeSet<String> {
    use kube::api::{ApiResource, GroupVersionKind};
    let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Application");
    // Names are all it needs: an Application's status lists every resource it syncs and
    // is most of it.
    secfix_io::cluster::list::names(client, &ApiResource::from_gvk(&gvk)).await
}

/// The GitOps tools that would revert a live change of the plan's object (none for an
/// object it creates).
fn reverting_tools(
    plan: &Plan,
    applications: &std::collections::BTreeSet<String>,
) -> Vec<&'static str> {
    if !matches!(plan.action, Action::Patch { .. }) {
        return Vec::new();
    }
    let meta = plan
        .before
        .get("metadata")
        .cloned()
        .and_then(|m| serde_json::from_value(m).ok())
        .unwrap_or_default();
    secfix_core::fix::gitops::reverting_tools(&meta, applications)
}

/// Set on Ctrl-C (SIGINT). While it is being listened for, Ctrl-C does not kill the
/// process: the change being sent finishes, and no further change starts.
///
/// The handler is registered before this returns (not when a task first runs), so a Ctrl-C
/// at the very first prompt is caught too.
fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = flag.clone();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::interrupt()) {
            Ok(mut sigint) => {
                tokio::spawn(async move {
                    while sigint.recv().await.is_some() {
                        set.store(true, Ordering::SeqCst);
                    }
                });
            }
            Err(e) => eprintln!("warning: cannot catch Ctrl-C ({e}): it stops the run at once"),
        }
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            set.store(true, Ordering::SeqCst);
        }
    });
    flag
}

/// What happened to one plan that was sent.
struct Fate {
    status: Status,
    error: Option<String>,
    saved: Option<PathBuf>,
}

impl Fate {
    fn of(sent: Result<Applied, ApplyError>) -> Fate {
        match sent {
            Ok(a) => Fate {
                status: Status::Applied,
                error: a.note,
                saved: a.saved,
            },
            Err(e) => Fate {
                status: Status::Failed,
                error: Some(format!("{} failed: {}", e.stage, e.message)),
                saved: None,
            },
        }
    }

    fn skipped() -> Fate {
        Fate {
            status: Status::Skipped,
            error: None,
            saved: None,
        }
    }

    fn record(self, result: &mut PlanResult) {
        result.status = self.status;
        result.error = self.error;
        result.saved = self.saved;
    }
}

/// Applies one plan (its server dry run first, or the one already sent: `dry`) and records
/// it: see [`fleet::apply_journaled`].
async fn apply_one(
    client: &Client,
    plan: &Plan,
    saver: &LazyJournal,
    dry: Option<Result<Outcome, ApplyError>>,
) -> Fate {
    Fate::of(fleet::apply_journaled(client, plan, saver, dry).await)
}

/// The objects a plan writes: two plans that share one are sent one after the other.
fn written_by(plan: &Plan) -> Vec<&Target> {
    std::iter::once(&plan.target)
        .chain(plan.prerequisites.iter().map(|p| &p.target))
        .collect()
}

/// Sends the plans not held, `parallel` objects at once (plans of one object in order),
/// each through `send`; Ctrl-C stops starting new ones. The progress line counts them.
#[allow(clippy::too_many_arguments)]
async fn send_all<'a, F, Fut>(
    plans: &'a [Plan],
    hold: &[bool],
    results: &mut [PlanResult],
    parallel: usize,
    interrupted: &AtomicBool,
    done_word: &'static str,
    tally: &'a Tally,
    send: F,
) where
    F: Fn(&'a Plan) -> Fut,
    Fut: std::future::Future<Output = Fate>,
{
    let todo: Vec<usize> = (0..plans.len()).filter(|&i| !hold[i]).collect();
    tally.set_total(todo.len(), done_word);
    let keys: Vec<Vec<&Target>> = todo.iter().map(|&i| written_by(&plans[i])).collect();
    let groups: Vec<Vec<usize>> = secfix_core::fix::fleet::independent_groups(&keys)
        .into_iter()
        .map(|g| g.into_iter().map(|k| todo[k]).collect())
        .collect();
    let send = &send;
    fleet::in_order(
        groups,
        parallel,
        |group: Vec<usize>| async move {
            let mut out = Vec::with_capacity(group.len());
            for i in group {
                if interrupted.load(Ordering::SeqCst) {
                    tally.skipped();
                    out.push((i, Fate::skipped()));
                    continue;
                }
                let fate = send(&plans[i]).await;
                match fate.status {
                    Status::Failed => tally.failed(),
                    _ => tally.done(),
                }
                out.push((i, fate));
            }
            out
        },
        |out| {
            for (i, fate) in out {
                fate.record(&mut results[i]);
            }
        },
    )
    .await;
    tally.finish();
}

/// Objects Argo CD or Flux manage: a live patch is undone at the next sync. Writes their
/// patches to `--overlay DIR` when given, and marks them held (skipped) unless
/// `--force-live` (interactive without `--overlay`: the prompt asks instead). Returns the
/// tools managing each plan's object and which plans are held.
fn hold_gitops_managed(
    args: &FixArgs,
    interactive: bool,
    plans: &[Plan],
    applications: &std::collections::BTreeSet<String>,
    results: &mut [PlanResult],
) -> anyhow::Result<(Vec<Vec<&'static str>>, Vec<bool>)> {
    let managed: Vec<Vec<&'static str>> = plans
        .iter()
        .map(|p| reverting_tools(p, applications))
        .collect();
    let mut hold = vec![false; plans.len()];
    if let Some(out) = &args.overlay
        && (managed.iter().all(Vec::is_empty) || args.force_live)
    {
        super::say(
            "note",
            format!(
                "--overlay {}: no object to fix is managed by Argo CD or Flux (or --force-live \
                 is given): nothing written there; the fixes are applied live",
                out.display()
            ),
        );
    }
    if managed.iter().any(|m| !m.is_empty()) && !args.force_live {
        let held: Vec<Plan> = plans
            .iter()
            .zip(&managed)
            .filter(|(_, m)| !m.is_empty())
            .map(|(p, _)| p.clone())
            .collect();
        if let Some(out) = &args.overlay {
            let built =
                secfix_core::fix::overlay::build(&held, &[]).map_err(|e| anyhow::anyhow!("{e}"))?;
            let files: Vec<(String, Vec<u8>, bool)> = built
                .files
                .iter()
                .map(|f| (f.path.clone(), f.content.clone().into_bytes(), f.secret))
                .collect();
            secfix_io::manifest::writer::write_new_dir(out, &files)?;
            for n in &built.notes {
                super::say("note", n);
            }
            eprintln!(
                "wrote overlay {} with the patches of {} GitOps-managed object(s): add the \
                 base they are deployed from to its resources and commit it",
                out.display(),
                held.len()
            );
        }
        for (i, (plan, tools)) in plans.iter().zip(&managed).enumerate() {
            if tools.is_empty() || (interactive && args.overlay.is_none()) {
                continue;
            }
            hold[i] = true;
            let what = match &args.overlay {
                Some(out) => format!("its patch is in the overlay {}", out.display()),
                None => "--overlay DIR writes the patch to commit; --force-live patches it anyway"
                    .to_string(),
            };
            super::say(
                "not patched live",
                format!(
                    "{}: managed by {}: the next sync would revert a live patch; {what}",
                    plan.target,
                    tools.join(", ")
                ),
            );
            results[i].status = Status::Skipped;
            results[i].error = Some(format!("managed by {}", tools.join(", ")));
        }
    }
    Ok((managed, hold))
}

async fn run_live(
    args: &FixArgs,
    term: &Term,
    interactive: bool,
    client: &Client,
    found: Found<'_>,
    applications: &std::collections::BTreeSet<String>,
) -> anyhow::Result<u8> {
    let plans = found.plans;
    let result = match args.output {
        FixOutput::Json => PlanResult::new,
        FixOutput::Text => PlanResult::brief,
    };
    let mut results: Vec<PlanResult> = plans.iter().map(result).collect();
    print_not_fixable(found.not_fixable);
    print_left_out(found.left_out);
    let (managed, hold) =
        hold_gitops_managed(args, interactive, plans, applications, &mut results)?;
    let writing = args.dry_run == DryRun::None;
    let saver = match (&args.save_patches, interactive) {
        (Some(d), _) if writing => LazyJournal::at(d.clone())?,
        (None, true) if writing && !plans.is_empty() => {
            LazyJournal::new_dir(journal::default_dir())
        }
        _ => LazyJournal::none(),
    };
    let parallel = usize::from(args.parallel.n);
    let interrupted = interrupt_flag();
    match args.dry_run {
        DryRun::Client => {
            if args.output == FixOutput::Text {
                let color = term.stdout_color();
                let mut out = String::new();
                for plan in plans {
                    out.push_str(&crate::ui::diff::render_preview(plan, color));
                    out.push('\n');
                }
                out.push_str(&format!(
                    "{} change(s) planned; nothing was sent (--dry-run=client)\n",
                    plans.len()
                ));
                super::print_stdout(&out)?;
            }
        }
        DryRun::Server => {
            send_all(
                plans,
                &hold,
                &mut results,
                parallel,
                &interrupted,
                "validated",
                &Tally::default(),
                |plan| async move {
                    match apply::send(client, plan, true).await {
                        Ok(_) => Fate {
                            status: Status::Validated,
                            error: None,
                            saved: None,
                        },
                        Err(e) => Fate::of(Err(e)),
                    }
                },
            )
            .await
        }
        DryRun::None if !interactive => {
            let saver = &saver;
            let tally = &Tally::default();
            send_all(
                plans,
                &hold,
                &mut results,
                parallel,
                &interrupted,
                "applied",
                tally,
                |plan| async move {
                    tally.suspend(|| {
                        for w in &plan.warnings {
                            super::say("warning", format!("{}: {w}", plan.target));
                        }
                    });
                    apply_one(client, plan, saver, None).await
                },
            )
            .await
        }
        DryRun::None => {
            let gitops = Gitops {
                managed: &managed,
                hold: &hold,
                force_live: args.force_live,
            };
            interactive_loop(
                term,
                client,
                plans,
                &mut results,
                &saver,
                &interrupted,
                gitops,
            )
            .await?
        }
    }
    let failed = results.iter().any(|r| r.status == Status::Failed);
    match args.output {
        FixOutput::Json => print_json(&results, found, args.dry_run, saver.dir())?,
        FixOutput::Text if args.dry_run != DryRun::Client => super::print_stdout(&summary_text(
            &results,
            found.left_out,
            saver.dir().as_deref(),
        ))?,
        FixOutput::Text => {}
    }
    Ok(if failed { exit::RUNTIME } else { exit::OK })
}

/// The closing summary: one line per plan, totals, the secrets moved by delivery class, and
/// how to roll back.
fn summary_text(
    results: &[PlanResult],
    left_out: &[LeftOut],
    dir: Option<&std::path::Path>,
) -> String {
    let mut out = String::new();
    if results.is_empty() {
        out.push_str("Nothing to fix.\n");
        if let Some(line) = delivery_line(results, left_out) {
            out.push_str(&line);
        }
        return out;
    }
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::NOTHING);
    table.set_header(["STATUS", "OBJECT", "CHECKS", "DETAIL"]);
    for r in results {
        let checks: Vec<&str> = r.checks.iter().map(|c| c.as_str()).collect();
        let status = match r.status {
            Status::Planned => "planned",
            Status::Validated => "validated",
            Status::Applied => "applied",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
        };
        table.add_row([
            status.to_string(),
            r.target.to_string(),
            checks.join(","),
            r.error.clone().unwrap_or_default(),
        ]);
    }
    out.push_str(&table.to_string());
    out.push('\n');
    let count = |s| results.iter().filter(|r| r.status == s).count();
    out.push_str(&format!(
        "{} applied, {} validated, {} skipped, {} failed\n",
        count(Status::Applied),
        count(Status::Validated),
        count(Status::Skipped),
        count(Status::Failed)
    ));
    if let Some(line) = delivery_line(results, left_out) {
        out.push_str(&line);
    }
    if let Some(dir) = dir
        && count(Status::Applied) > 0
    {
        out.push_str(&format!(
            "Patches saved in {0}\nTo roll back: kubectl secfix rollback {0}\n",
            dir.display()
        ));
    }
    out
}

/// Secrets moved by delivery class (in plans not skipped or failed), and app changes left
/// out; `None` when no secret is moved.
fn delivery_line(results: &[PlanResult], left_out: &[LeftOut]) -> Option<String> {
    let (mut native, mut app) = (0, 0);
    for r in results
        .iter()
        .filter(|r| !matches!(r.status, Status::Skipped | Status::Failed))
    {
        for m in &r.moved {
            match m.delivery {
                Delivery::Native => native += 1,
                Delivery::AppChange => app += 1,
            }
        }
    }
    if native + app + left_out.len() == 0 {
        return None;
    }
    let mut line = format!("secrets moved: {native} native, {app} app-change");
    if !left_out.is_empty() {
        line.push_str(&format!(
            "; {} app-change left out (--allow-app-changes includes them)",
            left_out.len()
        ));
    }
    line.push('\n');
    Some(line)
}

/// Preview and prompt per plan. Ctrl-C at a prompt quits; Ctrl-C while a change is being
/// sent is deferred until it is done, so nothing is left half-applied.
/// Which plans a GitOps tool manages, for the prompts.
#[derive(Clone, Copy)]
struct Gitops<'a> {
    managed: &'a [Vec<&'static str>],
    /// Already left out (written to an overlay).
    hold: &'a [bool],
    force_live: bool,
}

async fn interactive_loop(
    term: &Term,
    client: &Client,
    plans: &[Plan],
    results: &mut [PlanResult],
    saver: &LazyJournal,
    interrupted: &AtomicBool,
    gitops: Gitops<'_>,
) -> anyhow::Result<()> {
    let color = term.stderr_color();
    let total = plans.len();
    let mut apply_all = false;
    // The next plan's server dry run runs while this one is shown and answered (issue 26):
    // one at a time still, but the answer does not wait for a round trip.
    let prefetch = |j: usize| {
        let (client, plan) = (client.clone(), plans[j].clone());
        (
            j,
            tokio::spawn(async move { apply::send(&client, &plan, true).await }),
        )
    };
    let next_after = |i: usize| (i..total).find(|&j| !gitops.hold[j]);
    let mut ahead = next_after(0).map(prefetch);
    for (i, (plan, result)) in plans.iter().zip(results.iter_mut()).enumerate() {
        if gitops.hold[i] {
            continue;
        }
        if interrupted.load(Ordering::SeqCst) {
            result.status = Status::Skipped;
            continue;
        }
        let dry = match ahead.take() {
            Some((j, handle)) if j == i => Some(handle),
            other => {
                ahead = other;
                None
            }
        };
        if ahead.is_none() {
            ahead = next_after(i + 1).map(prefetch);
        }
        let tools = &gitops.managed[i];
        eprintln!(
            "\n[{}/{}] {}",
            i + 1,
            total,
            crate::ui::diff::render_preview(plan, color)
        );
        // A change the app must be adapted to is always asked about, and skipped unless
        // chosen: "apply all remaining" covers only the others.
        let app_change = plan.needs_app_change();
        let managed = !tools.is_empty() && !gitops.force_live;
        let choice = if apply_all && !app_change && !managed {
            Choice::Apply
        } else {
            let (question, default) = if managed {
                (
                    format!(
                        "{}: managed by {}, whose next sync reverts a live patch: patch it \
                         live anyway? (the default is skip; --overlay DIR writes the patch to \
                         commit)",
                        plan.target,
                        tools.join(", ")
                    ),
                    Choice::Skip,
                )
            } else if app_change {
                (
                    format!(
                        "{}: what now? (app change: the default is skip)",
                        plan.target
                    ),
                    Choice::Skip,
                )
            } else {
                (format!("{}: what now?", plan.target), Choice::Apply)
            };
            loop {
                let c = tokio::task::block_in_place(|| {
                    prompt::ask_unless(&question, default, interrupted)
                })
                .context("cannot read the answer from the terminal")?;
                if c == Choice::ShowPatch {
                    eprintln!("{}", crate::ui::diff::render_patch(plan));
                    continue;
                }
                break c;
            }
        };
        match choice {
            Choice::Apply | Choice::ApplyAll => {
                apply_all |= choice == Choice::ApplyAll;
                let dry = match dry {
                    Some(handle) => handle.await.ok(),
                    None => None,
                };
                apply_one(client, plan, saver, dry).await.record(result);
                match result.status {
                    Status::Applied => eprintln!(
                        "applied {}",
                        secfix_core::model::text::printable(&plan.target.to_string())
                    ),
                    _ => super::say(
                        "not applied",
                        result.error.as_deref().unwrap_or("unknown error"),
                    ),
                }
            }
            Choice::Skip | Choice::ShowPatch => result.status = Status::Skipped,
            Choice::Quit => {
                result.status = Status::Skipped;
                interrupted.store(true, Ordering::SeqCst);
            }
        }
    }
    Ok(())
}
