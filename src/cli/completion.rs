//! Shell completion and man pages, all derived from the clap definitions in [`super::args`].
//!
//! Three products come from the one `Cli` definition, so a flag is never listed by hand:
//! - static completion scripts for the `kubectl-secfix` binary (bash, zsh, fish, PowerShell,
//!   elvish) through `clap_complete` ([`print_completion`], [`completion_script`]);
//! - the dynamic `__complete` protocol that kubectl ≥ 1.26 speaks with an executable named
//!   `kubectl_complete-secfix` when the user presses TAB after `kubectl secfix` ([`complete`]);
//! - man pages through `clap_mangen` ([`man_pages`]).
//!
//! # The `__complete` protocol
//!
//! kubectl runs `kubectl_complete-secfix WORD… CURRENT` (the words typed after
//! `kubectl secfix`, the last one being the partial word under the cursor, possibly empty);
//! our shipped `kubectl_complete-secfix` script execs `kubectl-secfix __complete WORD… CURRENT`.
//! The answer is cobra's: one candidate per line, optionally `value<TAB>description`, and a last
//! line `:<directive>` (see [`directive`]). kubectl's cobra-generated shell scripts filter the
//! candidates by prefix and, for `--flag=value`, strip `--flag=` themselves, so for that form
//! we answer bare values, exactly as a cobra program does.
//!
//! Completion never fails loudly: anything unreadable (kubeconfig) or unreachable (cluster)
//! yields no candidates, and the cluster gets [`CLUSTER_TIMEOUT`] at most.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::builder::ValueHint;
use clap::{Arg, CommandFactory};
use clap_complete::Generator;
use clap_complete::Shell;

use super::args::{self, Cli};

/// The binary the static completion scripts are generated for.
pub(crate) const BIN_NAME: &str = "kubectl-secfix";

/// The longest we wait for the cluster when completing `-n/--namespace`: the user is
/// waiting at a prompt, so an unreachable cluster simply yields nothing.
pub(crate) const CLUSTER_TIMEOUT: Duration = Duration::from_secs(2);

/// Cobra's `ShellCompDirective` bits, written as the last line `:<n>` of a `__complete` answer.
pub(crate) mod directive {
    /// Let the shell fall back to file completion when there are no candidates.
    pub(crate) const DEFAULT: u32 = 0;
    /// Never fall back to file completion.
    pub(crate) const NO_FILE_COMP: u32 = 4;
    /// Complete directory names only.
    pub(crate) const FILTER_DIRS: u32 = 16;
}

/// The command tree as users see it: the `Cli` definition without hidden subcommands
/// (`__complete`), named `kubectl-secfix`.
///
/// `clap_complete`'s generators list hidden subcommands too, and clap offers no way to drop a
/// subcommand, so the root is rebuilt from the definition's own arguments and visible
/// subcommands. Nothing is listed by hand.
pub(crate) fn visible_command() -> clap::Command {
    let full = Cli::command();
    let mut root = clap::Command::new(BIN_NAME)
        .bin_name(BIN_NAME)
        .version(env!("CARGO_PKG_VERSION"))
        .propagate_version(true)
        .subcommand_required(full.is_subcommand_required_set())
        .arg_required_else_help(full.is_arg_required_else_help_set());
    if let Some(about) = full.get_about() {
        root = root.about(about.clone());
    }
    if let Some(long_about) = full.get_long_about() {
        root = root.long_about(long_about.clone());
    }
    if let Some(after) = full.get_after_help() {
        root = root.after_help(after.clone());
    }
    root.args(full.get_arguments().cloned())
        .subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned())
}

/// The completion script for `shell`, as `kubectl-secfix completion SHELL` prints it and as
/// checked in under `completions/`.
///
/// The bash script gets one fix: clap_complete 4.6 spells the state of a subcommand of a
/// hyphenated binary two ways (`kubectl__secfix__subcmd__scan` in the dispatch loop,
/// `kubectl__subcmd__secfix__subcmd__scan` in the case arms), so nothing after a subcommand
/// would complete (clap-rs/clap#6421). We rewrite the arms' spelling to the loop's; once
/// upstream is fixed the broken spelling no longer occurs and this is a no-op. The bash test in
/// `tests/completions.rs` completes after a subcommand and so guards it.
pub fn completion_script(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut visible_command(), BIN_NAME, &mut out);
    if shell == Shell::Bash {
        let broken = BIN_NAME.replace('-', "__subcmd__");
        let fixed = BIN_NAME.replace('-', "__");
        out = String::from_utf8_lossy(&out)
            .replace(&broken, &fixed)
            .into_bytes();
    }
    out
}

/// The file name under `completions/` for `shell` (`kubectl-secfix.bash`, `_kubectl-secfix`, …),
/// the name each shell's completion directory expects.
pub fn completion_file_name(shell: Shell) -> String {
    shell.file_name(BIN_NAME)
}

/// `kubectl secfix completion SHELL`: prints the completion script on stdout.
pub(crate) fn print_completion(args: &args::CompletionArgs) -> anyhow::Result<u8> {
    let script = completion_script(args.shell);
    let mut out = std::io::stdout().lock();
    out.write_all(&script)
        .and_then(|()| out.flush())
        .context("cannot write the completion script to stdout")?;
    Ok(super::exit::OK)
}

/// Man pages (roff) for `kubectl-secfix` and each visible subcommand, as
/// `(file name, contents)`, e.g. `("kubectl-secfix-scan.1", …)`.
///
/// There is deliberately no command that prints them: they are checked in under `man/`
/// (kept fresh by `tests/completions.rs`) and shipped in the release archive.
pub fn man_pages() -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    fn walk(cmd: &clap::Command, out: &mut Vec<(String, Vec<u8>)>) -> anyhow::Result<()> {
        let name = cmd.get_display_name().unwrap_or(cmd.get_name()).to_owned();
        let man = clap_mangen::Man::new(cmd.clone())
            .source(format!("{BIN_NAME} {}", env!("CARGO_PKG_VERSION")))
            .manual("kubectl-secfix manual");
        let mut roff = Vec::new();
        man.render(&mut roff)
            .with_context(|| format!("cannot render the man page of {name}"))?;
        out.push((man.get_filename(), roff));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, out)?;
        }
        Ok(())
    }
    // Built once from the root so every page has the global flags, the version and the
    // synopsis as typed (`kubectl secfix scan …`); files are named `kubectl-secfix-scan.1`.
    let mut root = visible_command()
        .bin_name("kubectl secfix")
        .display_name(BIN_NAME)
        .disable_help_subcommand(true);
    root.build();
    let mut pages = Vec::new();
    walk(&root, &mut pages)?;
    Ok(pages)
}

/// One completion candidate: a value and an optional one-line description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub value: String,
    pub help: Option<String>,
}

impl Candidate {
    fn new(value: impl Into<String>, help: Option<String>) -> Self {
        Self {
            value: value.into(),
            help,
        }
    }
}

/// A finished answer: candidates and the cobra directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completions {
    pub candidates: Vec<Candidate>,
    pub directive: u32,
}

impl Completions {
    fn none(directive: u32) -> Self {
        Self {
            candidates: Vec::new(),
            directive,
        }
    }

    /// The answer in cobra's wire format.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for c in &self.candidates {
            s.push_str(&one_line(&c.value));
            if let Some(help) = c.help.as_deref().filter(|h| !h.is_empty()) {
                s.push('\t');
                s.push_str(&one_line(help));
            }
            s.push('\n');
        }
        s.push_str(&format!(":{}\n", self.directive));
        s
    }
}

/// What the words ask for: either a finished answer, or values that need I/O.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Answer known from the clap definitions alone.
    Done(Completions),
    /// Context names from the kubeconfig, starting with `prefix`. For a list
    /// (`--contexts a,b,`), `head` is what comes before the item being completed (`a,b,`):
    /// each candidate starts with it, and names already listed are left out.
    Contexts {
        prefix: String,
        head: String,
        kubeconfig: Option<PathBuf>,
    },
    /// Namespace names from the cluster, starting with `prefix`.
    Namespaces {
        prefix: String,
        kubeconfig: Option<PathBuf>,
        context: Option<String>,
    },
}

/// `kubectl-secfix __complete WORD…`: prints candidates for the last word.
///
/// `global` holds `--kubeconfig`/`--context` if clap parsed them before `__complete`; the same
/// flags among the words take precedence.
pub async fn complete(global: &args::GlobalArgs, args: &args::CompleteArgs) -> anyhow::Result<u8> {
    let answer = match plan(&args.words) {
        Request::Done(c) => c,
        Request::Contexts {
            prefix,
            head,
            kubeconfig,
        } => {
            let listed: HashSet<&str> = head.split(',').collect();
            Completions {
                candidates: contexts(kubeconfig.or_else(|| global.kubeconfig.clone()), &prefix)
                    .into_iter()
                    .filter(|c| !listed.contains(c.value.as_str()))
                    .map(|c| Candidate {
                        value: format!("{head}{}", c.value),
                        ..c
                    })
                    .collect(),
                directive: directive::NO_FILE_COMP,
            }
        }
        Request::Namespaces {
            prefix,
            kubeconfig,
            context,
        } => Completions {
            candidates: namespaces(
                kubeconfig.or_else(|| global.kubeconfig.clone()),
                context.or_else(|| global.context.clone()),
                &prefix,
            )
            .await,
            directive: directive::NO_FILE_COMP,
        },
    };
    let mut out = std::io::stdout().lock();
    out.write_all(answer.render().as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write completions to stdout")?;
    Ok(super::exit::OK)
}

/// Decides what to complete for `words` (everything after `kubectl secfix`, the last being the
/// partial word). Pure: the clap definitions are the only input besides the words.
pub fn plan(words: &[String]) -> Request {
    let mut root = Cli::command();
    root.build();
    let (typed, current) = match words.split_last() {
        Some((last, rest)) => (rest, last.as_str()),
        None => (&[][..], ""),
    };
    let mut line = Typed::new(&root);
    for word in typed {
        line.word(word);
    }
    let Typed {
        cmd,
        pending,
        seen,
        positionals,
        only_positionals,
        ctx,
    } = line;
    if let Some(arg) = pending {
        return values(arg, current, "", &ctx);
    }
    if !only_positionals {
        if let Some(r) = flag_value(cmd, current, &ctx) {
            return r;
        }
        if current.starts_with('-') {
            return Request::Done(Completions {
                candidates: flag_names(cmd, current, &seen),
                directive: directive::NO_FILE_COMP,
            });
        }
        if positionals == 0 && cmd.has_subcommands() {
            return Request::Done(Completions {
                candidates: subcommands(cmd, current),
                directive: directive::NO_FILE_COMP,
            });
        }
    }
    match cmd
        .get_positionals()
        .filter(|a| !a.is_hide_set())
        .nth(positionals)
    {
        Some(arg) => values(arg, current, "", &ctx),
        None => Request::Done(Completions::none(directive::NO_FILE_COMP)),
    }
}

/// What the words typed before the current one say: the subcommand reached, a flag
/// waiting for its value, the flags seen, the positionals given, and the kubeconfig and
/// context to complete from.
struct Typed<'c> {
    cmd: &'c clap::Command,
    pending: Option<&'c Arg>,
    seen: HashSet<String>,
    positionals: usize,
    /// After `--`: every word is a positional.
    only_positionals: bool,
    ctx: Ctx,
}

impl<'c> Typed<'c> {
    fn new(root: &'c clap::Command) -> Self {
        Typed {
            cmd: root,
            pending: None,
            seen: HashSet::new(),
            positionals: 0,
            only_positionals: false,
            ctx: Ctx {
                kubeconfig: None,
                context: None,
            },
        }
    }

    /// Keeps the values completion needs (`--kubeconfig`, `--context`).
    fn record(&mut self, arg: &Arg, value: &str) {
        match arg.get_id().as_str() {
            "kubeconfig" => self.ctx.kubeconfig = Some(PathBuf::from(value)),
            "context" => self.ctx.context = Some(value.to_owned()),
            _ => {}
        }
    }

    fn word(&mut self, word: &str) {
        if let Some(arg) = self.pending.take() {
            self.record(arg, word);
        } else if self.only_positionals {
            self.positionals += 1;
        } else if word == "--" {
            self.only_positionals = true;
        } else if let Some(body) = word.strip_prefix("--") {
            self.long(body);
        } else if let Some(shorts) = word.strip_prefix('-').filter(|s| !s.is_empty()) {
            self.shorts(shorts);
        } else if self.positionals == 0
            && let Some(sub) = self.cmd.find_subcommand(word)
        {
            self.cmd = sub;
        } else {
            self.positionals += 1;
        }
    }

    /// `--name` or `--name=value`.
    fn long(&mut self, body: &str) {
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        if let Some(arg) = find_long(self.cmd, name) {
            self.seen.insert(arg.get_id().to_string());
            match value {
                Some(v) => self.record(arg, v),
                None if takes_value(arg) => self.pending = Some(arg),
                None => {}
            }
        }
    }

    /// `-abc`, `-o json`, `-ojson`, `-o=json`: flags up to the first that takes a value.
    fn shorts(&mut self, shorts: &str) {
        for (i, c) in shorts.char_indices() {
            let Some(arg) = find_short(self.cmd, c) else {
                break;
            };
            self.seen.insert(arg.get_id().to_string());
            if takes_value(arg) {
                let rest = &shorts[i + c.len_utf8()..];
                let rest = rest.strip_prefix('=').unwrap_or(rest);
                if rest.is_empty() {
                    self.pending = Some(arg);
                } else {
                    self.record(arg, rest);
                }
                break;
            }
        }
    }
}

/// The current word as a flag with its value attached (`--output=js`, `-ojs`, `-o=js`):
/// the value's completions.
fn flag_value(cmd: &clap::Command, current: &str, ctx: &Ctx) -> Option<Request> {
    if let Some(body) = current.strip_prefix("--")
        && let Some((name, value)) = body.split_once('=')
    {
        return Some(match find_long(cmd, name) {
            Some(arg) if takes_value(arg) => values(arg, value, "", ctx),
            _ => Request::Done(Completions::none(directive::NO_FILE_COMP)),
        });
    }
    let shorts = current.strip_prefix('-').filter(|s| !s.starts_with('-'))?;
    for (i, c) in shorts.char_indices() {
        let arg = find_short(cmd, c)?;
        if !takes_value(arg) {
            continue;
        }
        let end = i + c.len_utf8();
        let rest = &shorts[end..];
        if rest.is_empty() {
            // `-o` alone: complete the flag name itself.
            return None;
        }
        return Some(match rest.strip_prefix('=') {
            // `-o=json`: the shell strips `-o=` as for `--output=`.
            Some(value) => values(arg, value, "", ctx),
            // `-ojson`, `-Aojson`: the whole word is replaced, so keep the flags.
            None => values(arg, rest, &current[..1 + end], ctx),
        });
    }
    None
}

/// The visible subcommands (and their aliases) of `cmd` that start with `current`.
fn subcommands(cmd: &clap::Command, current: &str) -> Vec<Candidate> {
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set())
        .flat_map(|s| {
            let help = s.get_about().map(ToString::to_string);
            std::iter::once(s.get_name())
                .chain(s.get_visible_aliases())
                .map(move |n| Candidate::new(n, help.clone()))
        })
        .filter(|c| c.value.starts_with(current))
        .collect()
}

/// Connection flags found among the words.
struct Ctx {
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_action().takes_values()
}

fn find_long<'a>(cmd: &'a clap::Command, name: &str) -> Option<&'a Arg> {
    cmd.get_arguments().find(|a| {
        a.get_long() == Some(name)
            || a.get_all_aliases()
                .is_some_and(|aliases| aliases.contains(&name))
    })
}

fn find_short(cmd: &clap::Command, c: char) -> Option<&Arg> {
    cmd.get_arguments().find(|a| {
        a.get_short() == Some(c)
            || a.get_all_short_aliases()
                .is_some_and(|aliases| aliases.contains(&c))
    })
}

/// Long and short names of the visible flags of `cmd` starting with `current`, leaving out
/// flags already given unless they may repeat (as cobra does).
fn flag_names(cmd: &clap::Command, current: &str, seen: &HashSet<String>) -> Vec<Candidate> {
    let mut out = Vec::new();
    for arg in cmd.get_arguments() {
        if arg.is_positional() || arg.is_hide_set() {
            continue;
        }
        let repeats = matches!(
            arg.get_action(),
            clap::ArgAction::Append | clap::ArgAction::Count
        );
        if !repeats && seen.contains(arg.get_id().as_str()) {
            continue;
        }
        let help = arg.get_help().map(ToString::to_string);
        let names = arg
            .get_long()
            .map(|l| format!("--{l}"))
            .into_iter()
            .chain(arg.get_short().map(|s| format!("-{s}")));
        for name in names {
            if name.starts_with(current) {
                out.push(Candidate::new(name, help.clone()));
            }
        }
    }
    out
}

/// Values for `arg` starting with `current`; each candidate is prefixed with `prefix`.
fn values(arg: &Arg, current: &str, prefix: &str, ctx: &Ctx) -> Request {
    match arg.get_id().as_str() {
        "context" if prefix.is_empty() => {
            return Request::Contexts {
                prefix: current.to_owned(),
                head: String::new(),
                kubeconfig: ctx.kubeconfig.clone(),
            };
        }
        "contexts" if prefix.is_empty() => {
            let (head, item) = match current.rfind(',') {
                Some(i) => current.split_at(i + 1),
                None => ("", current),
            };
            return Request::Contexts {
                prefix: item.to_owned(),
                head: head.to_owned(),
                kubeconfig: ctx.kubeconfig.clone(),
            };
        }
        "namespace" if prefix.is_empty() => {
            return Request::Namespaces {
                prefix: current.to_owned(),
                kubeconfig: ctx.kubeconfig.clone(),
                context: ctx.context.clone(),
            };
        }
        _ => {}
    }
    let possible: Vec<_> = arg
        .get_possible_values()
        .into_iter()
        .filter(|p| !p.is_hide_set())
        .collect();
    if !possible.is_empty() {
        // A delimited list (`--checks a,b`): complete the item after the last delimiter and
        // leave out items already listed.
        let (head, item) = match arg.get_value_delimiter() {
            Some(d) => match current.rfind(d) {
                Some(i) => current.split_at(i + d.len_utf8()),
                None => ("", current),
            },
            None => ("", current),
        };
        let listed: HashSet<&str> = arg
            .get_value_delimiter()
            .map(|d| head.split(d).collect())
            .unwrap_or_default();
        let candidates = possible
            .iter()
            .filter(|p| p.get_name().starts_with(item) && !listed.contains(p.get_name()))
            .map(|p| {
                Candidate::new(
                    format!("{prefix}{head}{}", p.get_name()),
                    p.get_help().map(ToString::to_string),
                )
            })
            .collect();
        return Request::Done(Completions {
            candidates,
            directive: directive::NO_FILE_COMP,
        });
    }
    let directive = match arg.get_value_hint() {
        ValueHint::AnyPath | ValueHint::FilePath | ValueHint::ExecutablePath => directive::DEFAULT,
        ValueHint::DirPath => directive::FILTER_DIRS,
        _ => directive::NO_FILE_COMP,
    };
    Request::Done(Completions::none(directive))
}

/// Context names from the kubeconfig (`--kubeconfig`, else `$KUBECONFIG`, else
/// `~/.kube/config`), the current one marked. Unreadable kubeconfig: nothing.
pub fn contexts(kubeconfig: Option<PathBuf>, prefix: &str) -> Vec<Candidate> {
    let Ok(config) = read_kubeconfig(kubeconfig) else {
        return Vec::new();
    };
    config
        .contexts
        .iter()
        .filter(|c| c.name.starts_with(prefix))
        .map(|c| {
            let mut help = c
                .context
                .as_ref()
                .map(|ctx| match &ctx.namespace {
                    Some(ns) => format!("cluster {}, namespace {ns}", ctx.cluster),
                    None => format!("cluster {}", ctx.cluster),
                })
                .unwrap_or_default();
            if config.current_context.as_deref() == Some(c.name.as_str()) {
                help = format!("{help} (current)").trim_start().to_owned();
            }
            Candidate::new(c.name.clone(), Some(help))
        })
        .collect()
}

fn read_kubeconfig(path: Option<PathBuf>) -> anyhow::Result<kube::config::Kubeconfig> {
    Ok(match path {
        Some(p) => kube::config::Kubeconfig::read_from(&p)?,
        None => kube::config::Kubeconfig::read()?,
    })
}

/// Namespace names from the cluster of `context` (default: the current context), within
/// [`CLUSTER_TIMEOUT`]. Unreachable, forbidden or misconfigured: nothing.
pub async fn namespaces(
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    prefix: &str,
) -> Vec<Candidate> {
    let listing = async {
        let config = read_kubeconfig(kubeconfig)?;
        let options = kube::config::KubeConfigOptions {
            context,
            ..Default::default()
        };
        let mut config = kube::Config::from_custom_kubeconfig(config, &options).await?;
        config.connect_timeout = Some(CLUSTER_TIMEOUT);
        config.read_timeout = Some(CLUSTER_TIMEOUT);
        let client = kube::Client::try_from(config)?;
        let api: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(client);
        let list = api.list_metadata(&kube::api::ListParams::default()).await?;
        anyhow::Ok(
            list.items
                .into_iter()
                .filter_map(|ns| ns.metadata.name)
                .collect::<Vec<_>>(),
        )
    };
    match tokio::time::timeout(CLUSTER_TIMEOUT, listing).await {
        Ok(Ok(names)) => names
            .into_iter()
            .filter(|n| n.starts_with(prefix))
            .map(|n| Candidate::new(n, None))
            .collect(),
        _ => Vec::new(),
    }
}

/// Tabs and newlines would break the line-based protocol.
fn one_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .replace('\t', " ")
        .trim_end()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(words: &[&str]) -> Completions {
        let words: Vec<String> = words.iter().map(|s| s.to_string()).collect();
        match plan(&words) {
            Request::Done(c) => c,
            other => panic!("expected a finished answer for {words:?}, got {other:?}"),
        }
    }

    fn values_of(words: &[&str]) -> Vec<String> {
        answer(words)
            .candidates
            .into_iter()
            .map(|c| c.value)
            .collect()
    }

    #[test]
    fn subcommands_at_the_top_without_hidden_ones() {
        let got = values_of(&[""]);
        for want in ["scan", "fix", "rollback", "completion"] {
            assert!(
                got.contains(&want.to_owned()),
                "{want} missing from {got:?}"
            );
        }
        assert!(!got.iter().any(|v| v.starts_with("__")), "{got:?}");
        assert_eq!(values_of(&["sc"]), vec!["scan"]);
        assert_eq!(answer(&[""]).directive, directive::NO_FILE_COMP);
    }

    #[test]
    fn subcommands_carry_their_about() {
        let c = answer(&["sc"]);
        assert!(
            c.candidates[0]
                .help
                .as_deref()
                .is_some_and(|h| h.starts_with("Find")),
            "{c:?}"
        );
    }

    #[test]
    fn flags_long_and_short_from_the_definition() {
        let got = values_of(&["scan", "-"]);
        for want in [
            "--output",
            "-o",
            "--namespace",
            "-n",
            "--checks",
            "--fail-on",
            "--digest-source",
            "--kubeconfig",
            "--context",
            "--help",
        ] {
            assert!(
                got.contains(&want.to_owned()),
                "{want} missing from {got:?}"
            );
        }
        assert!(!got.contains(&"--yes".to_owned()), "fix-only flag: {got:?}");
        assert_eq!(values_of(&["fix", "--dry"]), vec!["--dry-run"]);
    }

    #[test]
    fn flags_already_given_are_not_offered_again_unless_repeatable() {
        let got = values_of(&["scan", "-o", "json", "-f", "a.yaml", "--"]);
        assert!(!got.contains(&"--output".to_owned()), "{got:?}");
        assert!(got.contains(&"--filename".to_owned()), "{got:?}");
    }

    #[test]
    fn enum_values_for_every_value_enum_flag() {
        assert_eq!(
            values_of(&["scan", "-o", ""]),
            [
                "table", "json", "yaml", "sarif", "summary", "html", "markdown", "wide", "name"
            ]
        );
        assert_eq!(values_of(&["fix", "--output", ""]), ["text", "json"]);
        assert_eq!(
            values_of(&["scan", "--fail-on", ""]),
            ["low", "medium", "high", "none"]
        );
        assert_eq!(
            values_of(&["fix", "--dry-run", "s"]),
            ["server"],
            "prefix filtered"
        );
        assert_eq!(
            values_of(&["scan", "--digest-source", ""]),
            ["auto", "pods", "registry"]
        );
        assert_eq!(values_of(&["fix", "--allow-dns", ""]), ["true", "false"]);
        assert_eq!(
            values_of(&["rollback", "--dry-run", ""]),
            ["none", "server", "client"]
        );
        let shells = values_of(&["completion", ""]);
        assert!(shells.contains(&"powershell".to_owned()), "{shells:?}");
    }

    #[test]
    fn dry_run_modes_have_descriptions() {
        let c = answer(&["fix", "--dry-run", "client"]);
        assert_eq!(c.candidates.len(), 1);
        assert!(c.candidates[0].help.is_some(), "{c:?}");
    }

    #[test]
    fn equals_forms_answer_bare_values() {
        assert_eq!(values_of(&["scan", "--output=y"]), ["yaml"]);
        assert_eq!(values_of(&["fix", "--allow-dns=f"]), ["false"]);
        assert_eq!(values_of(&["scan", "-o=s"]), ["sarif", "summary"]);
        assert_eq!(values_of(&["scan", "-oj"]), ["-ojson"]);
        assert_eq!(values_of(&["scan", "-Aoy"]), ["-Aoyaml"]);
        assert_eq!(values_of(&["scan", "-o"]), ["-o"]);
    }

    #[test]
    fn check_ids_including_after_a_comma() {
        assert_eq!(
            values_of(&["scan", "--checks", ""]),
            [
                "env-secret",
                "env-literal-secret",
                "default-allow-namespace",
                "mutable-image-tag",
                "untrusted-registry",
                "unsigned-image"
            ]
        );
        assert_eq!(
            values_of(&["scan", "--checks", "env-secret,"]),
            [
                "env-secret,env-literal-secret",
                "env-secret,default-allow-namespace",
                "env-secret,mutable-image-tag",
                "env-secret,untrusted-registry",
                "env-secret,unsigned-image"
            ]
        );
        assert_eq!(
            values_of(&["fix", "--checks=env-secret,m"]),
            ["env-secret,mutable-image-tag"]
        );
    }

    #[test]
    fn files_and_directories_fall_back_to_the_shell() {
        assert_eq!(answer(&["scan", "-f", ""]).directive, directive::DEFAULT);
        assert_eq!(
            answer(&["scan", "--filename=x"]).directive,
            directive::DEFAULT
        );
        assert_eq!(answer(&["rollback", ""]).directive, directive::DEFAULT);
        assert_eq!(answer(&["--kubeconfig", ""]).directive, directive::DEFAULT);
        assert_eq!(
            answer(&["scan", "-l", ""]).directive,
            directive::NO_FILE_COMP
        );
        assert!(answer(&["scan", "-l", ""]).candidates.is_empty());
        assert_eq!(
            answer(&["rollback", "dir", ""]).directive,
            directive::NO_FILE_COMP
        );
    }

    #[test]
    fn values_are_not_mistaken_for_subcommands() {
        // `--context fix` names a context called "fix", so we are still at the top level.
        let got = values_of(&["--context", "fix", ""]);
        assert!(got.contains(&"scan".to_owned()), "{got:?}");
        // After a subcommand, flags are that subcommand's.
        let got = values_of(&["scan", "-A", "-"]);
        assert!(got.contains(&"--fail-on".to_owned()), "{got:?}");
    }

    #[test]
    fn context_and_namespace_need_io_and_see_the_connection_flags() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            plan(&words(&["--kubeconfig", "/k", "scan", "--context", "de"])),
            Request::Contexts {
                prefix: "de".into(),
                head: String::new(),
                kubeconfig: Some("/k".into())
            }
        );
        assert_eq!(
            plan(&words(&["scan", "--contexts", "dev,st"])),
            Request::Contexts {
                prefix: "st".into(),
                head: "dev,".into(),
                kubeconfig: None
            },
            "--contexts completes the item after the last comma"
        );
        assert_eq!(
            plan(&words(&["scan", "--contexts=prod,"])),
            Request::Contexts {
                prefix: "".into(),
                head: "prod,".into(),
                kubeconfig: None
            }
        );
        assert_eq!(
            plan(&words(&[
                "scan",
                "--context=dev",
                "--kubeconfig=/k",
                "-n",
                ""
            ])),
            Request::Namespaces {
                prefix: "".into(),
                kubeconfig: Some("/k".into()),
                context: Some("dev".into())
            }
        );
        assert_eq!(
            plan(&words(&["fix", "-ynkube-"])),
            Request::Done(Completions::none(directive::NO_FILE_COMP)),
            "namespaces are only offered as a word of their own"
        );
        assert_eq!(
            plan(&words(&["fix", "--namespace=kube-"])),
            Request::Namespaces {
                prefix: "kube-".into(),
                kubeconfig: None,
                context: None
            }
        );
    }

    #[test]
    fn no_words_is_the_top_level() {
        assert!(values_of(&[]).contains(&"scan".to_owned()));
    }

    #[test]
    fn render_is_cobras_wire_format() {
        let c = Completions {
            candidates: vec![
                Candidate::new("a", Some("first\tline\nsecond".into())),
                Candidate::new("b", None),
            ],
            directive: 4,
        };
        assert_eq!(c.render(), "a\tfirst line\nb\n:4\n");
    }

    #[test]
    fn contexts_from_a_kubeconfig_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: Config\ncurrent-context: dev\nclusters:\n- name: c1\n  cluster: {server: 'https://127.0.0.1:1'}\ncontexts:\n- name: dev\n  context: {cluster: c1, namespace: team}\n- name: prod\n  context: {cluster: c1}\nusers: []\n",
        )
        .unwrap();
        let got = contexts(Some(path.clone()), "");
        assert_eq!(
            got,
            vec![
                Candidate::new("dev", Some("cluster c1, namespace team (current)".into())),
                Candidate::new("prod", Some("cluster c1".into())),
            ]
        );
        assert_eq!(contexts(Some(path), "p").len(), 1);
        assert!(contexts(Some(dir.path().join("missing")), "").is_empty());
    }

    #[test]
    fn completion_scripts_name_the_binary_and_hide_the_protocol() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::PowerShell] {
            let script = String::from_utf8(completion_script(shell)).unwrap();
            assert!(script.contains(BIN_NAME), "{shell}");
            assert!(!script.contains("__complete"), "{shell}");
            assert!(script.contains("scan"), "{shell}");
        }
    }

    #[test]
    fn man_pages_for_the_root_and_each_visible_subcommand() {
        let names: Vec<String> = man_pages().unwrap().into_iter().map(|p| p.0).collect();
        assert_eq!(
            names,
            [
                "kubectl-secfix.1",
                "kubectl-secfix-scan.1",
                "kubectl-secfix-fix.1",
                "kubectl-secfix-rollback.1",
                "kubectl-secfix-post-render.1",
                "kubectl-secfix-completion.1"
            ]
        );
    }
}
