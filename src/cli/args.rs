//! Every flag, defined once. Completions, the man page and `--help` all come from here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::checks::untrusted_registry::AllowList;
use crate::cluster::discovery::KindRef;
use crate::model::{CheckId, Severity};

use crate::fix::DEFAULT_MOUNT_ROOT;
use crate::fix::network_policy::Mode as NetworkPolicyMode;
use crate::fix::network_policy::graph::Cidr;

const EXIT_CODES: &str = "\
Exit codes:
  0  success (scan: no finding at or above --fail-on)
  1  runtime error (cluster unreachable, forbidden, a fix failed, ...)
  2  usage error (bad flag, bad input file, prompt needed but no terminal)
  3  scan found findings at or above --fail-on";

/// Find risky live Kubernetes resources and fix them, interactively and safely.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-secfix",
    bin_name = "kubectl secfix",
    version,
    about,
    after_help = EXIT_CODES,
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
    /// Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
}

impl GlobalArgs {
    /// The core's view of the connection flags.
    pub(crate) fn connect_options(&self) -> crate::cluster::client::ConnectOptions {
        crate::cluster::client::ConnectOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find secrets in env vars, default-allow namespaces and mutable image tags.
    #[command(after_help = EXIT_CODES)]
    Scan(ScanArgs),
    /// Fix findings with guarded JSON patches (preview and prompt per change on a terminal).
    #[command(after_help = EXIT_CODES)]
    Fix(FixArgs),
    /// Apply the inverse patches saved by `fix --save-patches DIR`.
    Rollback(RollbackArgs),
    /// Print a shell completion script.
    Completion(CompletionArgs),
    /// Completion protocol used by `kubectl_complete-secfix` (kubectl >= 1.26).
    #[command(name = "__complete", hide = true)]
    Complete(CompleteArgs),
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
    /// Checks to run (comma-separated; default: all).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "LIST")]
    pub checks: Vec<CheckId>,
    /// Also scan kube-system, kube-public and kube-node-lease for default-allow namespaces.
    #[arg(long)]
    pub include_system: bool,
    /// Registries images may come from: hosts or host/path prefixes, comma-separated
    /// (e.g. `ghcr.io/acme,registry.k8s.io`). Turns on the untrusted-registry check; a
    /// namespace's `secfix.dev/allowed-registries` annotation narrows it.
    #[arg(long, value_name = "LIST", value_parser = parse_allow_list)]
    pub allowed_registries: Option<AllowList>,
    /// Also list this kind when the cluster serves it, and check its pod template
    /// (`spec.template.spec` or `spec.jobTemplate.spec.template.spec`), e.g.
    /// `apps.kruise.io/v1alpha1/CloneSet`. Repeatable. Argo Rollouts and OpenShift
    /// DeploymentConfigs are listed without it; with -f, every kind with a pod template is
    /// checked anyway.
    #[arg(long = "include-kinds", value_name = "GROUP/VERSION/KIND", value_parser = parse_kind_ref, value_delimiter = ',')]
    pub include_kinds: Vec<KindRef>,
}

fn parse_kind_ref(s: &str) -> Result<KindRef, String> {
    KindRef::parse(s)
}

fn parse_allow_list(s: &str) -> Result<AllowList, String> {
    AllowList::parse(s)
}

/// Where the digest for a mutable image tag comes from.
#[derive(Debug, Clone, Default, Args)]
pub struct DigestArgs {
    /// Digest source for mutable image tags: `pods` (the `imageID` all running pods agree
    /// on), `registry`, or `auto` (pods first, then the registry). Default: `auto` for
    /// `fix`; `pods` for `scan`, which contacts registries only when asked explicitly.
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
    let max = crate::registry::MAX_TIMEOUT_SECS;
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
    /// Exit 3 when a finding at or above this severity is reported.
    #[arg(long, value_enum, default_value_t = FailOn::Low, value_name = "SEVERITY")]
    pub fail_on: FailOn,
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

impl ContextArgs {
    /// The contexts asked for, if several-context mode is on.
    pub(crate) fn selection(&self) -> Option<crate::contexts::ContextSelection> {
        if self.all_contexts {
            Some(crate::contexts::ContextSelection::All)
        } else if !self.contexts.is_empty() {
            Some(crate::contexts::ContextSelection::Named(
                self.contexts.clone(),
            ))
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanOutput {
    /// One line per finding (kubectl style).
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
    #[arg(long, default_value = DEFAULT_MOUNT_ROOT, value_name = "PATH")]
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
    pub ingress_from: Vec<crate::fix::network_policy::graph::PodsRef>,
    /// Keep a flow the evidence does not show: workload FROM ([KIND/]NAME) calls Service TO
    /// (NAME or NAME.NAMESPACE) on Service port PORT, or every port (repeatable).
    #[arg(long, value_name = "FROM=TO[:PORT]")]
    pub allow_flow: Vec<crate::fix::network_policy::graph::AllowFlow>,
    /// With -f: rewrite the files in place instead of printing the fixed manifests.
    #[arg(long, requires = "files")]
    pub write: bool,
    /// Output format for the plan and results.
    #[arg(short = 'o', long, value_enum, default_value_t = FixOutput::Text)]
    pub output: FixOutput,
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
    crate::fix::network_policy::graph::ApiServer::parse_flag(&[s.to_string()])?;
    Ok(s.to_string())
}

fn parse_cidr(s: &str) -> Result<Cidr, String> {
    s.parse()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let a = crate::fix::network_policy::graph::ApiServer::parse_flag(&f.api_server)
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
