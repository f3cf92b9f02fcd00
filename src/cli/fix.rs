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
use super::args::{DigestSource, DryRun, FixArgs, FixOutput, GlobalArgs};
use super::collect::{Source, collect};
use super::exit;
use crate::cluster::apply::{self, ApplyError};
use crate::cluster::journal::{self, LazyJournal};
use crate::fix::file_env::UserFileVars;
use crate::fix::network_policy::Mode as NetworkPolicyMode;
use crate::fix::network_policy::graph::Flow;
use crate::fix::plan::{LeftOut, OfflineEdits, Plans, build_plans, offline_edits};
use crate::fix::{Action, AppChanges, FixOptions, MovedSecret, Plan, Target};
use crate::inventory::Keep;
use crate::model::{CheckId, Delivery, Detail, Finding};
use crate::ui::prompt::{self, Choice};
use crate::ui::term::Term;

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
    fn new(plan: &Plan) -> Self {
        let mut checks: Vec<CheckId> = plan.findings.iter().map(|f| f.check).collect();
        checks.sort();
        checks.dedup();
        let mut creates: Vec<Value> = plan.prerequisites.iter().map(|p| p.display()).collect();
        if matches!(plan.action, Action::Create) {
            creates.push(plan.display_objects().1);
        }
        PlanResult {
            target: plan.target.clone(),
            checks,
            findings: plan.findings.clone(),
            status: Status::Planned,
            error: None,
            warnings: plan.warnings.clone(),
            patch: plan.display_patch(),
            creates,
            moved: plan.moved.clone(),
            flows: plan.flows.clone(),
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
    let term = Term::detect();
    let offline = !args.selection.files.is_empty();
    let interactive = !offline && !args.yes && args.dry_run == DryRun::None;
    if interactive {
        // Before anything is read or written: never hang waiting for an answer.
        prompt::require_interactive(&term).map_err(|e| UsageError(e.to_string()))?;
    }
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
    if args.write && !offline {
        return Err(UsageError("--write needs -f (it rewrites manifest files)".into()).into());
    }
    if args.write && args.selection.files.iter().any(|f| f.as_os_str() == "-") {
        return Err(UsageError(
            "--write cannot rewrite standard input (-f -): name the files".into(),
        )
        .into());
    }
    let file_env_vars =
        UserFileVars::parse(&args.file_env).map_err(|e| UsageError(e.to_string()))?;
    let keep = Keep {
        objects: true,
        pods: true,
    };
    let mut collected = collect(global, &args.selection, keep).await?;
    let source = args.digest.digest_source.unwrap_or(DigestSource::Auto);
    super::digests::resolve(&mut collected.inventory, source, &args.digest).await;
    let opts = FixOptions {
        mount_root: args.mount_root.clone(),
        file_env: !args.no_file_env,
        file_env_vars: file_env_vars.clone(),
        // On a terminal every move is offered, app changes with the default choice skip.
        app_changes: if interactive || args.allow_app_changes {
            AppChanges::Include
        } else {
            AppChanges::LeaveOut
        },
        allow_dns: args.allow_dns,
        network_policy: args.network_policy,
        allow_egress: args.allow_egress.clone(),
        api_server: crate::fix::network_policy::graph::ApiServer::parse_flag(&args.api_server)
            .map_err(UsageError)?
            .or_else(|| collected.inventory.api_server.clone()),
        ingress_from: args.ingress_from.clone(),
        allow_flows: args.allow_flow.clone(),
    };
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
    let read_failed = !collected.inventory.errors.is_empty() || !plan_errors.is_empty();
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
            run_live(args, &term, interactive, &conn.client, found).await?
        }
    };
    Ok(if read_failed { exit::RUNTIME } else { code })
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
        f.kind, f.namespace, f.name, f.check
    )
}

fn print_not_fixable(not_fixable: &[Finding]) {
    for f in not_fixable {
        let why = f
            .not_fixable_reason
            .as_deref()
            .unwrap_or("no automatic fix");
        super::say("not fixable", format!("{}: {why}", subject(f)));
    }
}

/// Says on stderr which secret moves were left out because the app would have to change,
/// and why.
fn print_left_out(left_out: &[LeftOut]) {
    for l in left_out {
        let f = &l.finding;
        let what = match &f.detail {
            Detail::SecretKeyRef { env, .. } | Detail::LiteralSecret { env, .. } => env.clone(),
            Detail::SecretRef { secret, .. } => format!("envFrom Secret {secret}"),
            _ => f.path.clone(),
        };
        super::say("left out", format!("{}: {what}: {}", subject(f), l.reason));
    }
}

fn print_json(
    results: &[PlanResult],
    found: Found<'_>,
    dry_run: DryRun,
    dir: Option<PathBuf>,
) -> anyhow::Result<()> {
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
    super::print_stdout(&serde_json::to_string_pretty(&report)?)
}

/// `fix -f`: the fixed manifests to stdout, or rewritten in place with `--write`.
fn run_offline(
    args: &FixArgs,
    files: &[crate::manifest::ManifestFile],
    input_errors: &[crate::report::InputError],
    plans: &[Plan],
    not_fixable: &[Finding],
    left_out: &[LeftOut],
) -> anyhow::Result<u8> {
    let found = Found {
        plans,
        not_fixable,
        left_out,
    };
    let default_ns = args.selection.namespace.as_deref().unwrap_or("default");
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
        print_json(&results, found, args.dry_run, None)?;
        return Ok(exit::OK);
    }
    // A NetworkPolicy set is explained on stderr: stdout stays the manifests.
    for plan in plans.iter().filter(|p| !p.flows.is_empty()) {
        eprintln!("NetworkPolicies for namespace {}:", plan.target.namespace);
        eprint!("{}", crate::ui::diff::flow_table(plan));
    }
    if args.write {
        // All or nothing: input that could not be read means nothing is written.
        if !input_errors.is_empty() {
            anyhow::bail!(
                "not rewriting anything: {} part(s) of the input could not be read (see above)",
                input_errors.len()
            );
        }
        let written = crate::manifest::writer::write_in_place(files, &edits)?;
        for p in &written.rewritten {
            eprintln!("rewrote {}", p.display());
        }
        for p in &written.created {
            eprintln!(
                "created {} for the new objects (a JSON file holding plain objects cannot take more)",
                p.display()
            );
        }
        eprintln!(
            "{} fix(es) written to {} file(s)",
            plans.len(),
            written.rewritten.len() + written.created.len()
        );
        return Ok(exit::OK);
    }
    let out = crate::manifest::render_changed(files, &shown).map_err(|e| anyhow::anyhow!("{e}"))?;
    if out.is_empty() {
        eprintln!("nothing to change");
    }
    super::print_stdout(&out)?;
    Ok(exit::OK)
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

/// Applies one plan (dry run first) and records it.
async fn apply_one(client: &Client, plan: &Plan, saver: &mut LazyJournal, result: &mut PlanResult) {
    match apply::dry_run_then_apply(client, plan).await {
        Ok(outcome) => {
            result.status = Status::Applied;
            match saver.save(plan, &outcome) {
                Ok(p) => result.saved = p,
                Err(e) => {
                    result.error = Some(format!(
                        "applied, but the rollback record was not saved: {e:#}"
                    ));
                }
            }
        }
        Err(e) => fail(result, &e),
    }
}

fn fail(result: &mut PlanResult, e: &ApplyError) {
    result.status = Status::Failed;
    result.error = Some(format!("{} failed: {}", e.stage, e.message));
}

async fn run_live(
    args: &FixArgs,
    term: &Term,
    interactive: bool,
    client: &Client,
    found: Found<'_>,
) -> anyhow::Result<u8> {
    let plans = found.plans;
    let mut results: Vec<PlanResult> = plans.iter().map(PlanResult::new).collect();
    print_not_fixable(found.not_fixable);
    print_left_out(found.left_out);
    let save_dir = match (&args.save_patches, interactive) {
        (Some(d), _) => Some(d.clone()),
        (None, true) if !plans.is_empty() => Some(journal::default_dir()),
        _ => None,
    };
    let writing = args.dry_run == DryRun::None;
    let mut saver = LazyJournal::open(
        if writing { save_dir } else { None },
        args.save_patches.is_some(),
    )?;
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
            for (plan, result) in plans.iter().zip(&mut results) {
                match apply::send(client, plan, true).await {
                    Ok(_) => result.status = Status::Validated,
                    Err(e) => fail(result, &e),
                }
            }
        }
        DryRun::None if !interactive => {
            for (plan, result) in plans.iter().zip(&mut results) {
                if interrupted.load(Ordering::SeqCst) {
                    result.status = Status::Skipped;
                    continue;
                }
                for w in &plan.warnings {
                    super::say("warning", format!("{}: {w}", plan.target));
                }
                apply_one(client, plan, &mut saver, result).await;
            }
        }
        DryRun::None => {
            interactive_loop(term, client, plans, &mut results, &mut saver, &interrupted).await?
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
async fn interactive_loop(
    term: &Term,
    client: &Client,
    plans: &[Plan],
    results: &mut [PlanResult],
    saver: &mut LazyJournal,
    interrupted: &AtomicBool,
) -> anyhow::Result<()> {
    let color = term.stderr_color();
    let total = plans.len();
    let mut apply_all = false;
    for (i, (plan, result)) in plans.iter().zip(results.iter_mut()).enumerate() {
        if interrupted.load(Ordering::SeqCst) {
            result.status = Status::Skipped;
            continue;
        }
        eprintln!(
            "\n[{}/{}] {}",
            i + 1,
            total,
            crate::ui::diff::render_preview(plan, color)
        );
        // A change the app must be adapted to is always asked about, and skipped unless
        // chosen: "apply all remaining" covers only the others.
        let app_change = plan.needs_app_change();
        let choice = if apply_all && !app_change {
            Choice::Apply
        } else {
            let (question, default) = if app_change {
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
                let c = tokio::task::block_in_place(|| prompt::ask(&question, default))
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
                apply_one(client, plan, saver, result).await;
                match result.status {
                    Status::Applied => eprintln!(
                        "applied {}",
                        crate::model::text::printable(&plan.target.to_string())
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
