//! Every flag, defined once. Completions, the man page and `--help` all come from here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::check_flags::CheckFlags;
use secfix_core::checks::{CheckId, Severity};
use secfix_io::cluster::discovery::KindRef;

use secfix_core::fix::DEFAULT_MOUNT_ROOT;
use secfix_core::fix::network_policy::graph::Cidr;

/// Find risky live Kubernetes resources and fix them, interactively and safely.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-secfix",
    bin_name = "kubectl secfix",
    version,
    about,
    after_help = super::exit::help_text(),
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Connection flags shared by every command, as kubectl spells them.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config). Not with -f.
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use. Not with -f.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
}

impl GlobalArgs {
    /// The core's view of the connection flags.
    pub(crate) fn connect_options(&self) -> secfix_io::cluster::client::ConnectOptions {
        secfix_io::cluster::client::ConnectOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find secrets in env vars, default-allow namespaces and mutable image tags.
    #[command(after_help = super::exit::help_text())]
    Scan(ScanArgs),
    /// Fix findings with guarded JSON patches (preview and prompt per change on a terminal).
    #[command(after_help = super::exit::help_text())]
    Fix(FixArgs),
    /// Apply the inverse patches saved by `fix --save-patches DIR`.
    Rollback(RollbackArgs),
    /// Helm post-renderer: read manifests on stdin, write every object to stdout, fixed
    /// where a fix applies (`helm install --post-renderer kubectl-secfix
    /// --post-renderer-args post-render`). Takes `fix` flags.
    #[command(name = "post-render")]
    PostRender(PostRenderArgs),
    /// Print a shell completion script.
    Completion(CompletionArgs),
    /// Completion protocol used by `kubectl_complete-secfix` (kubectl >= 1.26).
    #[command(name = "__complete", hide = true)]
    Complete(CompleteArgs),
}

impl Command {
    /// How many async worker threads the command runs on; `None`: one per core.
    ///
    /// `fix` and `rollback` spend their time waiting on the API server, a few requests in
    /// flight (`--parallel`): one worker drives them all, while a worker per core woke and
    /// parked threads on every response (futex, context switches), a sixth of their CPU at
    /// 1,000 objects, taken from the API server when it shares the machine (issue 26). A
    /// `scan` decodes large pages on every core.
    pub fn worker_threads(&self) -> Option<usize> {
        match self {
            Command::Fix(_) | Command::Rollback(_) => Some(1),
            _ => None,
        }
    }
}

/// Which objects to look at, as kubectl selects them.
#[derive(Debug, Clone, Default, Args)]
pub struct Selection {
    /// Namespace to read (default: the context's namespace, else `default`).
    #[arg(
        short = 'n',
        long,
        value_name = "NS",
        conflicts_with = "all_namespaces"
    )]
    pub namespace: Option<String>,
    /// Read all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Label selector for workloads (e.g. `app=web,tier!=db`).
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Read manifests instead of a cluster: a file, a directory (walked for .yaml, .yml,
    /// .json) or `-` for stdin. Repeatable.
    #[arg(short = 'f', long = "filename", value_name = "PATH")]
    pub files: Vec<PathBuf>,
    /// Read what `kubectl kustomize DIR` renders instead of a cluster (run with the
    /// user's kubectl, or `$SECFIX_KUBECTL`).
    #[arg(
        short = 'k',
        long = "kustomize",
        value_name = "DIR",
        conflicts_with = "files"
    )]
    pub kustomize: Option<PathBuf>,
    /// With -f: accept input that holds no object to check (empty stdin, a directory of
    /// values files) instead of failing with exit 1.
    #[arg(long)]
    pub allow_empty: bool,
    /// Checks to run (comma-separated; default: all).
    #[arg(long, value_parser = check_id_parser(), value_delimiter = ',', value_name = "LIST")]
    pub checks: Vec<CheckId>,
    /// Each check's own flags (`--allowed-registries`, `--signature-key`, …), derived from
    /// the checks' definitions.
    #[command(flatten)]
    pub options: CheckFlags,
    /// Also list this kind when the cluster serves it, and check its pod template
    /// (`spec.template.spec` or `spec.jobTemplate.spec.template.spec`), e.g.
    /// `apps.kruise.io/v1alpha1/CloneSet`. Repeatable. Argo Rollouts and OpenShift
    /// DeploymentConfigs are listed without it; with -f, every kind with a pod template is
    /// checked anyway.
    #[arg(long = "include-kinds", value_name = "GROUP/VERSION/KIND", value_parser = parse_kind_ref, value_delimiter = ',')]
    pub include_kinds: Vec<KindRef>,
    /// The policy flags above as given ([`repeated`]), for the commands reports suggest:
    /// a suggested `fix` must select what the scan selected.
    #[arg(skip)]
    pub repeated: Vec<String>,
}

/// The selection flags a suggested command repeats as given, besides `-n`/`-A`, `-l` and
/// `--checks` (which reports know themselves): every check's own flags (the policies the
/// checks run with), then the extra kinds listed. By clap id and flag.
pub fn repeated() -> impl Iterator<Item = (&'static str, String)> {
    secfix_core::checks::AllOptions::flags()
        .map(|f| (f.long, format!("--{}", f.long)))
        .chain([("include_kinds", "--include-kinds".to_string())])
}

/// Parses the command line (exits on a usage error, as clap does), keeping the raw values
/// of the [`repeated`] flags in the subcommand's selection.
pub fn parse<I, T>(argv: I) -> Cli
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::{CommandFactory as _, FromArgMatches as _};
    let matches = Cli::command().get_matches_from(argv);
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let Some((_, sub)) = matches.subcommand() {
        let selection = match &mut cli.command {
            Command::Scan(a) => Some(&mut a.selection),
            Command::Fix(a) => Some(&mut a.selection),
            _ => None,
        };
        if let Some(selection) = selection {
            selection.repeated = repeated_flags(sub);
        }
    }
    cli
}

/// `--flag value` pairs of the [`repeated`] flags given in `m`, in table order.
fn repeated_flags(m: &clap::ArgMatches) -> Vec<String> {
    let mut out = Vec::new();
    for (id, flag) in repeated() {
        // A switch (`--include-system`) is repeated, with no value, when it was given.
        if let Ok(Some(given)) = m.try_get_one::<bool>(id) {
            if *given {
                out.push(flag.clone());
            }
            continue;
        }
        let Ok(Some(values)) = m.try_get_raw(id) else {
            continue;
        };
        for v in values {
            out.push(flag.clone());
            out.push(v.to_string_lossy().into_owned());
        }
    }
    out
}

/// kubectl takes its flags before the subcommand as well as after it
/// (`kubectl -n demo get pods`): so does `kubectl secfix -n demo scan`. The flags given before
/// the subcommand that the top level does not define itself (`-n`, `-A`, `-o`, `-l`, `-f`, …)
/// are moved right after the subcommand's name, so the subcommand's own definition parses
/// them (and rejects the ones it does not take). Which flags take a value comes from the
/// definitions, so there is no second list to keep in step.
pub fn global_flags_after_subcommand<I, T>(argv: I) -> Vec<std::ffi::OsString>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString>,
{
    use clap::CommandFactory as _;
    let argv: Vec<std::ffi::OsString> = argv.into_iter().map(Into::into).collect();
    let cli = Cli::command();
    // The definition a spelling (`-n`, `--namespace`) names among `args`, if any.
    fn named<'a>(
        mut args: impl Iterator<Item = &'a clap::Arg>,
        name: &str,
    ) -> Option<&'a clap::Arg> {
        args.find(|a| match name.strip_prefix("--") {
            Some(long) => a.get_long() == Some(long),
            None => name.len() == 2 && a.get_short() == name.chars().nth(1),
        })
    }
    let mut moved: Vec<std::ffi::OsString> = Vec::new();
    let mut kept: Vec<std::ffi::OsString> = argv.iter().take(1).cloned().collect();
    let mut i = 1;
    while i < argv.len() {
        let Some(word) = argv[i].to_str() else {
            return argv;
        };
        if !word.starts_with('-') || word == "-" || word == "--" {
            if cli.find_subcommand(word).is_none() || moved.is_empty() {
                return argv;
            }
            kept.push(argv[i].clone());
            kept.extend(moved);
            kept.extend(argv[i + 1..].iter().cloned());
            return kept;
        }
        // `--namespace=x` and `-nx` hold their value; `-n x` takes the next word.
        let name = word.split('=').next().unwrap_or(word);
        let attached = word.contains('=') || (!word.starts_with("--") && word.len() > 2);
        let (top, arg) = match named(cli.get_arguments(), name) {
            Some(a) => (true, Some(a)),
            None => (
                false,
                named(cli.get_subcommands().flat_map(|c| c.get_arguments()), name),
            ),
        };
        let top = top || ["-h", "--help", "-V", "--version"].contains(&name);
        let n = if !attached && arg.is_some_and(|a| a.get_action().takes_values()) {
            2
        } else {
            1
        };
        let words = argv[i..(i + n).min(argv.len())].iter().cloned();
        if top {
            kept.extend(words);
        } else {
            moved.extend(words);
        }
        i += n;
    }
    argv
}

fn parse_kind_ref(s: &str) -> Result<KindRef, String> {
    KindRef::parse(s)
}

/// Where the digest for a mutable image tag comes from.
#[derive(Debug, Clone, Default, Args)]
pub struct DigestArgs {
    /// Digest source for mutable image tags: `pods` (the `imageID` all running pods agree
    /// on), `registry`, or `auto` (pods first, then the registry). Default: `auto` for a live
    /// `fix`; `pods` for `scan`; with -f none: nothing is contacted unless this is given.
    #[arg(long, value_enum, value_name = "SOURCE")]
    pub digest_source: Option<DigestSource>,
    /// Registry host (`host[:port]`) that may be reached over plain HTTP. Loopback
    /// registries always may. Repeatable.
    #[arg(long, value_name = "HOST")]
    pub insecure_registry: Vec<String>,
    /// Timeout for each registry request: seconds (`10`) or a duration as kubectl's
    /// `--request-timeout` takes it (`10s`, `2m`, `1h`), from 1s to 1h.
    #[arg(long, default_value = "10", value_name = "DURATION", value_parser = parse_timeout)]
    pub registry_timeout: u64,
}

/// `--registry-timeout`: whole seconds, plain or with an `s`, `m` or `h` unit; never 0 and at
/// most `registry::MAX_TIMEOUT_SECS`.
fn parse_timeout(s: &str) -> Result<u64, String> {
    let (number, unit) = match s.char_indices().last() {
        Some((i, 's')) => (&s[..i], 1),
        Some((i, 'm')) => (&s[..i], 60),
        Some((i, 'h')) => (&s[..i], 3600),
        _ => (s, 1),
    };
    let max = secfix_io::registry::MAX_TIMEOUT_SECS;
    number
        .parse::<u64>()
        .map_err(|_| format!("'{s}' is not a duration: use seconds (10) or 10s, 2m, 1h"))?
        .checked_mul(unit)
        .filter(|secs| (1..=max).contains(secs))
        .ok_or_else(|| format!("{s} is out of range: from 1s to {max}s"))
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum DigestSource {
    #[default]
    Auto,
    Pods,
    Registry,
}

#[derive(Debug, Clone, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = ScanOutput::Table)]
    pub output: ScanOutput,
    /// Exit 3 when a finding at or above this severity is reported (findings in --baseline
    /// excepted).
    #[arg(long, value_enum, default_value_t = FailOn::Low, value_name = "SEVERITY")]
    pub fail_on: FailOn,
    /// A previous `-o json` report: its findings are still reported, marked as baseline, and
    /// do not count for --fail-on, so CI fails on new findings only. A finding is the same
    /// when its check, object, container and env var name are (SARIF fingerprints agree).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    #[command(flatten)]
    pub digest: DigestArgs,
    #[command(flatten)]
    pub contexts: ContextArgs,
    /// Also write the findings into the cluster as Policy WG reports (wgpolicyk8s.io/v1alpha2):
    /// a PolicyReport per namespace and a ClusterPolicyReport, replaced on each run. Needs
    /// the PolicyReport CRDs.
    #[arg(long)]
    pub report_to_cluster: bool,
}

/// Several kubeconfig contexts in one scan.
#[derive(Debug, Clone, Default, Args)]
pub struct ContextArgs {
    /// Scan every context of the kubeconfig, several at once.
    #[arg(long, conflicts_with = "contexts")]
    pub all_contexts: bool,
    /// Scan these kubeconfig contexts (comma-separated), several at once.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub contexts: Vec<String>,
    /// How many contexts are scanned at once (with --all-contexts or --contexts).
    #[arg(long, default_value_t = 4, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel_contexts: u16,
}

impl Selection {
    /// Whether manifests are read (`-f` or `-k`) instead of a cluster.
    pub(crate) fn offline(&self) -> bool {
        !self.files.is_empty() || self.kustomize.is_some()
    }
}

impl ContextArgs {
    /// The contexts asked for, if several-context mode is on.
    pub(crate) fn selection(&self) -> Option<secfix_io::contexts::ContextSelection> {
        if self.all_contexts {
            Some(secfix_io::contexts::ContextSelection::All)
        } else if !self.contexts.is_empty() {
            Some(secfix_io::contexts::ContextSelection::Named(
                self.contexts.clone(),
            ))
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanOutput {
    /// One line per finding (kubectl style), worst first.
    Table,
    /// The versioned scan report (docs/scan-report.md).
    Json,
    /// The same document as json, in YAML.
    Yaml,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
    /// Findings grouped per check and namespace, and the commands to run next.
    Summary,
    /// One self-contained HTML page: charts, a filterable table, fix commands.
    Html,
    /// GitHub-flavoured Markdown for a job summary or a pull-request comment (< 64 KiB).
    Markdown,
    /// The table plus the source (file:line of the field) and whether `fix` can fix it, or
    /// why not.
    Wide,
    /// Each object with a finding, once (`deployment.apps/web`), as kubectl's `-o name`.
    Name,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Low,
    Medium,
    High,
    None,
}

impl FailOn {
    /// The lowest severity that fails the run, if any.
    pub(crate) fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Low => Some(Severity::Low),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::High => Some(Severity::High),
            FailOn::None => None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum DryRun {
    /// Validate with the server, then apply.
    #[default]
    None,
    /// Send every change with dryRun=All and stop there.
    Server,
    /// Contact nothing for writing; print the plan.
    Client,
}

#[derive(Debug, Args)]
pub struct FixArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// Apply every fix without prompting (required without a terminal).
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// `server`: validate every change with a server-side dry run and stop; `client`:
    /// print the plan without writing; `none`: dry run, then apply.
    #[arg(long, value_enum, default_value_t = DryRun::None, value_name = "MODE")]
    pub dry_run: DryRun,
    /// Save each forward patch and its inverse in DIR (default on a terminal: a
    /// timestamped directory under the user's state dir).
    #[arg(long, value_name = "DIR")]
    pub save_patches: Option<PathBuf>,
    /// Where Secrets moved out of env vars are mounted (one folder per Secret).
    #[arg(long, default_value = DEFAULT_MOUNT_ROOT, value_name = "PATH", value_parser = parse_mount_root)]
    pub mount_root: String,
    /// Do not add variables pointing at the mounted files (except those named with
    /// --file-env); every such move then needs an app change.
    #[arg(long)]
    pub no_file_env: bool,
    /// The variable the app reads the file path of NAME's secret from, e.g.
    /// `DB_PASSWORD=DB_PASSWORD_PATH`: that move is then native. Repeatable.
    #[arg(long = "file-env", value_name = "NAME=VAR")]
    pub file_env: Vec<String>,
    /// With --yes, --dry-run or -f: also move secrets the app would have to be changed to
    /// read (app-change moves; left out by default, and offered with default skip on a
    /// terminal).
    #[arg(long)]
    pub allow_app_changes: bool,
    /// Let default-deny policies allow DNS egress (UDP and TCP port 53).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", value_name = "BOOL")]
    pub allow_dns: bool,
    /// What the default-allow-namespace fix writes: `least-privilege`, a policy set that keeps
    /// the connections the workloads are seen to need and denies the rest, or `deny-all`, one
    /// default-deny policy.
    #[arg(long, value_enum, default_value_t = NetworkPolicyMode::LeastPrivilege, value_name = "MODE")]
    pub network_policy: NetworkPolicyMode,
    /// Let every pod of a fixed namespace reach this address block (CIDR such as
    /// 10.0.0.0/8; repeatable). NetworkPolicies cannot match host names.
    #[arg(long, value_name = "CIDR", value_parser = parse_cidr)]
    pub allow_egress: Vec<Cidr>,
    /// The Kubernetes API server's address block and port as pods reach it, e.g.
    /// 10.0.0.10:6443 (repeatable; a live run reads the Endpoints of Service
    /// default/kubernetes): workloads that call it get egress to it, webhooks ingress from it.
    #[arg(long, value_name = "CIDR[:PORT]", value_parser = parse_api_server)]
    pub api_server: Vec<String>,
    /// The ingress controller's pods, e.g. ingress-nginx/app.kubernetes.io/name=ingress-nginx
    /// (NAMESPACE[/KEY=VALUE,...]; repeatable): Ingress and HTTPRoute backends get ingress
    /// from them instead of from anywhere (known controllers are found without it).
    #[arg(long, value_name = "NAMESPACE[/LABELS]")]
    pub ingress_from: Vec<secfix_core::fix::network_policy::graph::PodsRef>,
    /// Keep a flow the evidence does not show: workload FROM ([KIND/]NAME) calls Service TO
    /// (NAME or NAME.NAMESPACE) on Service port PORT, or every port (repeatable).
    #[arg(long, value_name = "FROM=TO[:PORT]")]
    pub allow_flow: Vec<secfix_core::fix::network_policy::graph::AllowFlow>,
    /// With -f: rewrite the files in place instead of printing the fixed manifests.
    #[arg(long, requires = "files", conflicts_with = "overlay")]
    pub write: bool,
    /// Write the fixes as a kustomize overlay in the new folder DIR instead of changing
    /// anything: a kustomization over the -k base or the -f files, one guarded JSON 6902
    /// patch per changed object, the new objects as resources. Live, for objects a GitOps
    /// tool manages: the patches to commit.
    #[arg(long, value_name = "DIR")]
    pub overlay: Option<PathBuf>,
    /// Patch objects that Argo CD or Flux manage live anyway (the next sync may revert the
    /// change); by default they are left out and --overlay offered.
    #[arg(long)]
    pub force_live: bool,
    /// Set by `post-render`: print every object, fixed where a fix applies.
    #[arg(skip)]
    pub post_render: bool,
    /// Output format for the plan and results.
    #[arg(short = 'o', long, value_enum, default_value_t = FixOutput::Text)]
    pub output: FixOutput,
    #[command(flatten)]
    pub parallel: ParallelArgs,
    #[command(flatten)]
    pub digest: DigestArgs,
    /// Refused with a clear message: fix works on one context at a time.
    #[arg(long, hide = true)]
    pub all_contexts: bool,
    /// Refused with a clear message: fix works on one context at a time.
    #[arg(long, hide = true, value_delimiter = ',', value_name = "LIST")]
    pub contexts: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FixOutput {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct PostRenderArgs {
    /// `fix` flags (e.g. `--network-policy deny-all`, `--digest-source pods`); `-f -` and
    /// `--yes` are implied.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "FIX FLAGS"
    )]
    pub fix_flags: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// A directory written by `fix --save-patches`.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// `server`: validate the inverses with a server-side dry run and stop.
    #[arg(long, value_enum, default_value_t = DryRun::None, value_name = "MODE")]
    pub dry_run: DryRun,
    /// Also roll back fixes of this kind (one `fix` reached with `--include-kinds`).
    /// Repeatable. Argo Rollouts and OpenShift DeploymentConfigs need no flag.
    #[arg(long = "include-kinds", value_name = "GROUP/VERSION/KIND", value_parser = parse_kind_ref, value_delimiter = ',')]
    pub include_kinds: Vec<KindRef>,
    #[command(flatten)]
    pub parallel: ParallelArgs,
}

/// How many objects `fix --yes` and `rollback` write at once.
#[derive(Debug, Clone, Copy, Args)]
pub struct ParallelArgs {
    /// How many objects are written at once (each still dry run, patched and saved in that
    /// order; with prompts, one at a time).
    #[arg(long = "parallel", default_value_t = 8, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub n: u16,
}

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to print a completion script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct CompleteArgs {
    /// The words typed after `kubectl secfix`, the last being the one to complete.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub words: Vec<String>,
}

fn parse_api_server(s: &str) -> Result<String, String> {
    secfix_core::fix::network_policy::graph::ApiServer::parse_flag(&[s.to_string()])?;
    Ok(s.to_string())
}

/// `--mount-root`: an absolute path, checked when the flags are parsed (exit 2 before any
/// input is read), not once per moved secret.
fn parse_mount_root(s: &str) -> Result<String, String> {
    if s.starts_with('/') {
        Ok(s.to_string())
    } else {
        Err(
            "must be an absolute path (it is where the Secrets are mounted in the container)"
                .into(),
        )
    }
}

fn parse_cidr(s: &str) -> Result<Cidr, String> {
    s.parse()
}

/// `--checks` values and their help come from the check definitions (the core knows no
/// clap).
fn check_id_parser() -> impl clap::builder::TypedValueParser<Value = CheckId> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser as _};
    PossibleValuesParser::new(CheckId::ALL.map(|c| PossibleValue::new(c.as_str()).help(c.title())))
        .map(|s| CheckId::parse(&s).expect("a possible value is a check id"))
}

/// What the default-allow-namespace fix writes (`--network-policy`); the core's
/// [`secfix_core::fix::network_policy::Mode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NetworkPolicyMode {
    /// One default-deny policy per namespace; DNS to any address stays allowed.
    DenyAll,
    /// Default deny plus the allow rules the evidence supports.
    LeastPrivilege,
}

impl From<NetworkPolicyMode> for secfix_core::fix::network_policy::Mode {
    fn from(m: NetworkPolicyMode) -> Self {
        match m {
            NetworkPolicyMode::DenyAll => Self::DenyAll,
            NetworkPolicyMode::LeastPrivilege => Self::LeastPrivilege,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// covers issue #26: `--parallel N` is one flag of fix and rollback, 8 by default, 1 to
    /// 256.
    #[test]
    fn parallel_is_one_flag_of_fix_and_rollback() {
        use clap::Parser as _;
        let fix = |args: &[&str]| {
            let argv = [&["kubectl-secfix", "fix"], args].concat();
            Cli::try_parse_from(argv).map(|cli| match cli.command {
                Command::Fix(f) => f.parallel.n,
                _ => unreachable!(),
            })
        };
        assert_eq!(fix(&[]).unwrap(), 8);
        assert_eq!(fix(&["--parallel", "32"]).unwrap(), 32);
        assert!(fix(&["--parallel", "0"]).is_err());
        assert!(fix(&["--parallel", "257"]).is_err());
        let cli = Cli::try_parse_from(["kubectl-secfix", "rollback", "d", "--parallel", "1"]);
        let Command::Rollback(r) = cli.unwrap().command else {
            panic!()
        };
        assert_eq!(r.parallel.n, 1);
        assert!(Cli::try_parse_from(["kubectl-secfix", "scan", "--parallel", "2"]).is_err());
    }

    #[test]
    fn signature_keys_are_read_at_parse_time_and_repeatable() {
        use clap::Parser as _;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("team-a.pub");
        std::fs::write(
            &key,
            "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAD76cgFuJqZnbGzAQ4HGK+bNoQk8JW+a4S2RWDdSKlqQ=\n-----END PUBLIC KEY-----\n",
        )
        .unwrap();
        let private = dir.path().join("cosign.key");
        std::fs::write(&private, "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n").unwrap();
        let k = key.to_str().unwrap();
        let cli = Cli::try_parse_from([
            "kubectl-secfix",
            "scan",
            "--signature-key",
            k,
            "--signature-key",
            k,
        ])
        .unwrap();
        let Command::Scan(scan) = cli.command else {
            panic!()
        };
        let policy = scan.selection.options.0.unsigned_image.policy().unwrap();
        assert_eq!(policy.keys().len(), 1, "the same key twice is one key");
        assert_eq!(policy.keys()[0].name, "team-a");
        let Command::Scan(none) = Cli::try_parse_from(["kubectl-secfix", "scan"])
            .unwrap()
            .command
        else {
            panic!()
        };
        assert!(none.selection.options.0.unsigned_image.policy().is_none());
        for (bad, why) in [
            (dir.path().join("missing.pub"), "cannot read"),
            (private.clone(), "public key"),
            (dir.path().to_path_buf(), "not a public key file"),
        ] {
            let e = Cli::try_parse_from([
                "kubectl-secfix",
                "fix",
                "--signature-key",
                bad.to_str().unwrap(),
            ])
            .unwrap_err()
            .to_string();
            assert!(e.contains("--signature-key") && e.contains(why), "{e}");
            assert!(!e.contains("AAAA"), "the file is never echoed: {e}");
        }
    }

    /// The selection flags a suggested command repeats are kept as given, in table order.
    #[test]
    fn repeated_flags_are_kept_as_given() {
        let cli = super::parse([
            "kubectl-secfix",
            "scan",
            "-A",
            "--include-kinds",
            "apps.kruise.io/v1alpha1/CloneSet",
            "--allowed-registries",
            "ghcr.io/acme, registry.k8s.io",
            "--include-system",
        ]);
        let Command::Scan(scan) = cli.command else {
            panic!("not scan")
        };
        assert_eq!(
            scan.selection.repeated,
            [
                "--include-system",
                "--allowed-registries",
                "ghcr.io/acme, registry.k8s.io",
                "--include-kinds",
                "apps.kruise.io/v1alpha1/CloneSet"
            ]
        );
    }

    #[test]
    fn keyless_flags_come_together() {
        use clap::Parser as _;
        let root = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/cosign-keyless/trusted_root.json"
        );
        let ok = |args: &[&str]| {
            let mut all = vec!["kubectl-secfix", "scan"];
            all.extend_from_slice(args);
            Cli::try_parse_from(all)
        };
        let cli = ok(&[
            "--certificate-identity",
            "me@example.com",
            "--certificate-oidc-issuer",
            "https://issuer.example",
            "--trusted-root",
            root,
        ])
        .unwrap();
        let Command::Scan(scan) = cli.command else {
            panic!()
        };
        assert!(scan.selection.options.0.unsigned_image.policy().is_some());
        assert!(
            ok(&[
                "--certificate-identity-regexp",
                "@example\\.com$",
                "--certificate-oidc-issuer",
                "https://issuer.example",
                "--trusted-root",
                root,
            ])
            .is_ok()
        );
        for bad in [
            vec!["--certificate-identity", "me@example.com"],
            vec!["--certificate-oidc-issuer", "https://issuer.example"],
            vec!["--trusted-root", root],
            vec![
                "--certificate-identity",
                "a",
                "--certificate-identity-regexp",
                "b",
                "--certificate-oidc-issuer",
                "i",
                "--trusted-root",
                root,
            ],
            vec![
                "--certificate-identity-regexp",
                "(",
                "--certificate-oidc-issuer",
                "i",
                "--trusted-root",
                root,
            ],
            vec![
                "--certificate-identity",
                "a",
                "--certificate-oidc-issuer",
                "i",
                "--trusted-root",
                "/nonexistent/trusted_root.json",
            ],
        ] {
            assert!(ok(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn registry_timeout_takes_seconds_or_kubectl_durations() {
        for (given, secs) in [
            ("10", 10),
            ("10s", 10),
            ("2m", 120),
            ("1h", 3600),
            ("3600", 3600),
        ] {
            assert_eq!(parse_timeout(given), Ok(secs), "{given}");
        }
        for bad in [
            "0",
            "0s",
            "61m",
            "2h",
            "3601",
            "-1",
            "",
            "s",
            "1ms",
            "1.5s",
            "18446744073709551615h",
        ] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
    }
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn parse(words: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(global_flags_after_subcommand(
            std::iter::once("kubectl-secfix").chain(words.iter().copied()),
        ))
    }

    #[test]
    fn global_flags_before_the_subcommand_as_after_it() {
        let cli = parse(&[
            "-n",
            "demo",
            "--context",
            "c",
            "-o",
            "json",
            "-A",
            "--kubeconfig=k",
            "scan",
            "-l",
            "a=b",
        ]);
        // -n and -A conflict, as after the subcommand.
        assert!(cli.is_err());
        let cli = parse(&[
            "-n",
            "demo",
            "--context",
            "c",
            "-ojson",
            "--kubeconfig=k",
            "scan",
            "-l",
            "a=b",
        ])
        .unwrap();
        assert_eq!(cli.global.context.as_deref(), Some("c"));
        assert_eq!(cli.global.kubeconfig, Some(PathBuf::from("k")));
        let Command::Scan(s) = cli.command else {
            panic!()
        };
        assert_eq!(s.selection.namespace.as_deref(), Some("demo"));
        assert_eq!(s.selection.selector.as_deref(), Some("a=b"));
        assert_eq!(s.output, ScanOutput::Json);
        let cli = parse(&["-A", "--namespace=x", "fix", "--dry-run=client"]);
        assert!(cli.is_err(), "conflict found after moving");
        let cli = parse(&["-A", "-f", "x.yaml", "fix", "--dry-run=client"]).unwrap();
        let Command::Fix(f) = cli.command else {
            panic!()
        };
        assert!(f.selection.all_namespaces);
        assert_eq!(f.selection.files, vec![PathBuf::from("x.yaml")]);
        // Unchanged when nothing comes before the subcommand, or it is unknown.
        let same = ["kubectl-secfix", "scan", "-n", "x"];
        assert_eq!(
            global_flags_after_subcommand(same),
            same.map(std::ffi::OsString::from)
        );
        let unknown = ["kubectl-secfix", "-n", "x", "nope"];
        assert_eq!(
            global_flags_after_subcommand(unknown),
            unknown.map(std::ffi::OsString::from)
        );
        // A flag no subcommand before it takes is still refused by that subcommand.
        assert!(parse(&["-n", "x", "completion", "bash"]).is_err());
    }

    #[test]
    fn relative_mount_root_is_a_flag_error() {
        let e = parse(&["fix", "-f", "x.yaml", "--mount-root", "rel"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(e.to_string().matches("--mount-root").count(), 1, "{e}");
    }

    #[test]
    fn allow_dns_takes_an_explicit_false() {
        let cli =
            Cli::try_parse_from(["kubectl-secfix", "fix", "--allow-dns=false", "-y"]).unwrap();
        let Command::Fix(f) = cli.command else {
            panic!()
        };
        assert!(!f.allow_dns);
    }

    #[test]
    fn api_server_takes_address_blocks_with_an_optional_port() {
        let cli = Cli::try_parse_from([
            "kubectl-secfix",
            "fix",
            "--api-server",
            "10.0.0.10:6443",
            "--api-server",
            "[2001:db8::1]:6443",
            "--api-server",
            "192.0.2.0/24",
            "-y",
        ])
        .unwrap();
        let Command::Fix(f) = cli.command else {
            panic!()
        };
        let a = secfix_core::fix::network_policy::graph::ApiServer::parse_flag(&f.api_server)
            .unwrap()
            .unwrap();
        let text: Vec<String> = a.addresses.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["10.0.0.10/32", "2001:db8::1/128", "192.0.2.0/24"]);
        assert_eq!(a.ports, [6443]);
        for bad in [
            "10.0.0.10:0",
            "10.0.0.10:https",
            "example.com",
            "10.0.0.1/8",
        ] {
            let e = Cli::try_parse_from(["kubectl-secfix", "fix", "--api-server", bad, "-y"])
                .unwrap_err()
                .to_string();
            assert!(e.contains("--api-server"), "{bad}: {e}");
        }
    }

    #[test]
    fn kustomize_overlay_force_live_and_post_render_flags() {
        let cli = Cli::try_parse_from(["kubectl-secfix", "fix", "-k", "base", "--overlay", "out"])
            .unwrap();
        let Command::Fix(f) = cli.command else {
            panic!()
        };
        assert_eq!(f.selection.kustomize, Some(PathBuf::from("base")));
        assert_eq!(f.overlay, Some(PathBuf::from("out")));
        assert!(f.selection.offline() && !f.force_live && !f.post_render);
        let cli = Cli::try_parse_from(["kubectl-secfix", "scan", "--kustomize", "b"]).unwrap();
        let Command::Scan(s) = cli.command else {
            panic!()
        };
        assert!(s.selection.offline());
        // -k and -f name different inputs; --write and --overlay different outputs.
        assert!(Cli::try_parse_from(["kubectl-secfix", "scan", "-k", "b", "-f", "x"]).is_err());
        assert!(
            Cli::try_parse_from([
                "kubectl-secfix",
                "fix",
                "-f",
                "x",
                "--write",
                "--overlay",
                "o"
            ])
            .is_err()
        );
        let cli = Cli::try_parse_from(["kubectl-secfix", "fix", "--force-live", "-y"]).unwrap();
        let Command::Fix(f) = cli.command else {
            panic!()
        };
        assert!(f.force_live);
        let cli = Cli::try_parse_from([
            "kubectl-secfix",
            "post-render",
            "--network-policy",
            "deny-all",
        ])
        .unwrap();
        let Command::PostRender(p) = cli.command else {
            panic!()
        };
        assert_eq!(p.fix_flags, ["--network-policy", "deny-all"]);
    }

    #[test]
    fn ingress_from_takes_a_namespace_and_optional_labels() {
        let cli = Cli::try_parse_from([
            "kubectl-secfix",
            "fix",
            "--ingress-from",
            "ingress-nginx/app.kubernetes.io/name=ingress-nginx,app.kubernetes.io/component=controller",
            "--ingress-from",
            "traefik",
            "-y",
        ])
        .unwrap();
        let Command::Fix(f) = cli.command else {
            panic!()
        };
        assert_eq!(f.ingress_from.len(), 2);
        assert_eq!(f.ingress_from[0].namespace, "ingress-nginx");
        assert_eq!(
            f.ingress_from[0].labels["app.kubernetes.io/component"],
            "controller"
        );
        assert!(f.ingress_from[1].labels.is_empty());
        for bad in ["", "Bad_NS", "ns/novalue", "ns/=x"] {
            let e = Cli::try_parse_from(["kubectl-secfix", "fix", "--ingress-from", bad, "-y"])
                .unwrap_err()
                .to_string();
            assert!(e.contains("--ingress-from"), "{bad}: {e}");
        }
    }

    #[test]
    fn allow_flow_takes_a_workload_a_service_and_an_optional_port() {
        let cli = Cli::try_parse_from([
            "kubectl-secfix",
            "fix",
            "--allow-flow",
            "frontend=api:8080",
            "--allow-flow",
            "Deployment/web=db.data",
            "-y",
        ])
        .unwrap();
        let Command::Fix(f) = cli.command else {
            panic!()
        };
        assert_eq!(f.allow_flow[0].from, "frontend");
        assert_eq!(f.allow_flow[0].to, "api");
        assert_eq!(f.allow_flow[0].port, Some(8080));
        assert_eq!(f.allow_flow[1].to, "db.data");
        assert_eq!(f.allow_flow[1].port, None);
        for bad in ["web", "=api", "web=", "web=api:0", "web=api:x", "web=a/b"] {
            let e = Cli::try_parse_from(["kubectl-secfix", "fix", "--allow-flow", bad, "-y"])
                .unwrap_err()
                .to_string();
            assert!(e.contains("--allow-flow"), "{bad}: {e}");
        }
    }

    #[test]
    fn checks_are_comma_separated() {
        let cli = Cli::try_parse_from([
            "kubectl-secfix",
            "scan",
            "--checks",
            "env-secret,mutable-image-tag",
        ])
        .unwrap();
        let Command::Scan(s) = cli.command else {
            panic!()
        };
        assert_eq!(
            s.selection.checks,
            vec![CheckId::EnvSecret, CheckId::MutableImageTag]
        );
    }
}
