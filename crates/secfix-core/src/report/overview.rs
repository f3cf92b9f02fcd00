//! What the overviews for people (`-o summary`, `-o html`, `-o markdown`) are built from:
//! findings grouped per check and per namespace, and the `kubectl secfix fix` commands to
//! run next.
//!
//! Everything here is a pure function of a [`Report`]. Orders are total (ties broken by
//! name), so the renderers' output is deterministic.
//!
//! Suggested commands repeat the scan's selection ([`Origin`]): `--kubeconfig` and
//! `--context` when known (a `fix` goes to the cluster that was scanned, also when the
//! report is read later, elsewhere), `-l`, `--include-system`, and with `-f` the manifest
//! files the findings came from. Every argument is quoted for a POSIX shell where needed.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::{Origin, Report, Summary, Target};
use crate::checks::{CheckId, Delivery, Finding, Severity};

/// What an app change means for the suggested commands (shown when some fix needs one).
pub const APP_CHANGE_NOTE: &str = "An app change moves a secret to a file the app must be changed to read: `fix` asks about it on a terminal, and otherwise (`--yes`, `-f`) leaves it out unless `--allow-app-changes`.";

/// How many namespaces the summary (terminal, Markdown) lists.
pub const TOP_NAMESPACES: usize = 10;

/// How many namespaces get a `fix` command of their own in [`Overview::next`].
pub(crate) const NEXT_STEPS: usize = 3;

/// The grouped view of a [`Report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overview {
    /// The report's counts.
    pub summary: Summary,
    /// One row per check that ran, in [`CheckId::ALL`] order (checks without findings
    /// included, with zeros).
    pub checks: Vec<CheckRow>,
    /// Every namespace with findings, most findings first (then most high, then by name).
    pub namespaces: Vec<NamespaceRow>,
    /// What to run next: a `fix` for each of the [`NEXT_STEPS`] namespaces (for manifests:
    /// files) with the most fixable high findings, then one for the whole scan when more
    /// have fixable findings.
    pub next: Vec<NextStep>,
    /// Findings no `fix` can change (each carries its `notFixableReason`).
    pub not_fixable: usize,
    /// Fixable findings that need an app change ([`needs_app_change`]).
    pub app_change: usize,
}

/// Findings of one check, by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub findings: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub fixable: usize,
    /// Fixable findings whose fix needs the app changed to read the secret from a file
    /// ([`needs_app_change`]): `fix` offers them on a terminal and leaves them out with
    /// `--yes` unless `--allow-app-changes`.
    pub app_change: usize,
}

/// True for a fixable finding whose fix the app must be changed for (a secret moved to a
/// file the image is not known to read).
pub(crate) fn needs_app_change(f: &Finding) -> bool {
    f.fixable && f.detail.delivery() == Some(Delivery::AppChange)
}

impl Counts {
    fn add(&mut self, f: &Finding) {
        self.findings += 1;
        match f.severity {
            Severity::High => self.high += 1,
            Severity::Medium => self.medium += 1,
            Severity::Low => self.low += 1,
        }
        if f.fixable {
            self.fixable += 1;
        }
        if needs_app_change(f) {
            self.app_change += 1;
        }
    }

    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: &Counts) {
        self.findings += other.findings;
        self.high += other.high;
        self.medium += other.medium;
        self.low += other.low;
        self.fixable += other.fixable;
        self.app_change += other.app_change;
    }

    /// `3 high, 2 medium` (severities with findings only; `none` when empty).
    pub fn split(&self) -> String {
        let parts: Vec<String> = [
            (self.high, "high"),
            (self.medium, "medium"),
            (self.low, "low"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, s)| format!("{n} {s}"))
        .collect();
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    }
}

/// One check's findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRow {
    pub check: CheckId,
    pub counts: Counts,
    /// Distinct objects with a finding of this check.
    pub objects: usize,
    /// Distinct namespaces with a finding of this check.
    pub namespaces: usize,
}

/// One namespace's findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceRow {
    /// The kubeconfig context of a multi-cluster scan (see [`context_of`]); `None` for a
    /// scan of one cluster.
    pub context: Option<String>,
    pub namespace: String,
    pub counts: Counts,
}

impl NamespaceRow {
    /// `shop`, or `prod/shop` when the row belongs to a context of a multi-cluster scan.
    pub fn label(&self) -> String {
        match &self.context {
            Some(c) => format!(
                "{c}/{}",
                crate::model::names::namespace_label(&self.namespace)
            ),
            None => crate::model::names::namespace_label(&self.namespace).to_string(),
        }
    }
}

/// A command worth running next, and what it addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextStep {
    /// A complete command line, quoted for a POSIX shell.
    pub command: String,
    /// The findings that exact command fixes unattended (`--yes`, `-f`): app-change moves
    /// only when the command carries `--allow-app-changes`.
    pub counts: Counts,
    /// How many namespaces those are in.
    pub namespaces: usize,
    /// Fixable findings of the same group the command leaves out because the app would have
    /// to change (`--allow-app-changes` includes them).
    pub left_out: usize,
}

impl NextStep {
    /// `6 fixable: 4 high, 2 medium in 2 namespaces; 1 more needs an app change
    /// (--allow-app-changes)`.
    pub fn describe(&self) -> String {
        let mut s = format!("{} fixable: {}", self.counts.findings, self.counts.split());
        if self.namespaces > 1 {
            s.push_str(&format!(" in {} namespaces", self.namespaces));
        }
        match self.counts.app_change {
            0 => {}
            1 => s.push_str("; 1 is an app change"),
            n => s.push_str(&format!("; {n} are app changes")),
        }
        match self.left_out {
            0 => {}
            1 => s.push_str("; 1 more needs an app change (--allow-app-changes)"),
            n => s.push_str(&format!(
                "; {n} more need an app change (--allow-app-changes)"
            )),
        }
        s
    }
}

/// The kubeconfig context a finding came from, for a scan of several clusters.
///
/// Single-cluster scans return `None`, and every grouping below then keys on the namespace
/// alone. Findings of a scan of several contexts carry their context: the namespace rows,
/// charts and suggested commands (`--context`) then follow it.
pub(crate) fn context_of(finding: &Finding) -> Option<&str> {
    finding.context()
}

type NsKey<'a> = (Option<&'a str>, &'a str);

impl Overview {
    pub fn of(report: &Report) -> Overview {
        let origin = &report.origin;
        let summary = report.summary();

        let mut per_check: BTreeMap<CheckId, (Counts, HashSet<ObjectKey<'_>>, HashSet<NsKey<'_>>)> =
            BTreeMap::new();
        let mut per_ns: BTreeMap<NsKey<'_>, NamespaceRow> = BTreeMap::new();
        for f in &report.findings {
            let ctx = context_of(f);
            let (counts, objects, namespaces) = per_check.entry(f.check).or_default();
            counts.add(f);
            objects.insert((ctx, &f.namespace, &f.kind, &f.name));
            namespaces.insert((ctx, &f.namespace));
            let row = per_ns
                .entry((ctx, &f.namespace))
                .or_insert_with(|| NamespaceRow {
                    context: ctx.map(str::to_string),
                    namespace: f.namespace.clone(),
                    counts: Counts::default(),
                });
            row.counts.add(f);
        }

        let checks = CheckId::ALL
            .into_iter()
            .filter_map(|check| {
                let found = per_check.get(&check);
                if found.is_none() && !origin.did_run(check) {
                    return None;
                }
                let (counts, objects, namespaces) = found
                    .map(|(c, o, n)| (*c, o.len(), n.len()))
                    .unwrap_or_default();
                Some(CheckRow {
                    check,
                    counts,
                    objects,
                    namespaces,
                })
            })
            .collect();

        let mut namespaces: Vec<NamespaceRow> = per_ns.into_values().collect();
        namespaces.sort_by(|a, b| {
            (b.counts.findings, b.counts.high, b.counts.medium)
                .cmp(&(a.counts.findings, a.counts.high, a.counts.medium))
                .then_with(|| (&a.context, &a.namespace).cmp(&(&b.context, &b.namespace)))
        });

        let next = next_steps(report, summary.fixable);
        Overview {
            not_fixable: summary.total - summary.fixable,
            app_change: report
                .findings
                .iter()
                .filter(|f| needs_app_change(f))
                .count(),
            summary,
            checks,
            namespaces,
            next,
        }
    }
}

type ObjectKey<'a> = (Option<&'a str>, &'a str, &'a str, &'a str);

/// What a suggested `fix` covers: a namespace of a cluster, or (for manifests, where `-n`
/// selects nothing) the files the findings came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum StepKey<'a> {
    Namespace(Option<&'a str>, &'a str),
    Files(Vec<&'a str>),
}

/// One `fix` per group of fixable findings (see [`StepKey`]), most fixable high findings
/// first, at most [`NEXT_STEPS`]; then one for the whole scan when there are more groups.
fn next_steps(report: &Report, fixable: usize) -> Vec<NextStep> {
    let origin = &report.origin;
    let files = matches!(origin.target, Target::Files(_));
    let mut groups: BTreeMap<StepKey<'_>, Group<'_>> = BTreeMap::new();
    for f in report.findings.iter().filter(|f| f.fixable) {
        let key = if files {
            StepKey::Files(files_of(origin, &[f]))
        } else {
            StepKey::Namespace(context_of(f), &f.namespace)
        };
        groups.entry(key).or_default().add(f);
    }
    let mut ranked: Vec<_> = groups
        .into_iter()
        .map(|(k, mut g)| {
            g.settle();
            (k, g)
        })
        .collect();
    // Worst first by everything fixable there (app changes included).
    ranked.sort_by(|(a, x), (b, y)| {
        let (x, y) = (&x.all, &y.all);
        (y.high, y.medium, y.low)
            .cmp(&(x.high, x.medium, x.low))
            .then_with(|| a.cmp(b))
    });
    let mut steps: Vec<NextStep> = ranked
        .iter()
        .take(NEXT_STEPS)
        .map(|(key, g)| {
            // In CheckId order, as `--checks` lists them everywhere else; no `--checks` (or
            // the scan's) when every check that ran is in.
            let mut ids: Vec<CheckId> = g.checks.iter().copied().collect();
            if CheckId::ALL
                .iter()
                .all(|c| !origin.did_run(*c) || ids.contains(c))
            {
                ids.clone_from(&origin.checks);
            }
            let mut command = match key {
                StepKey::Namespace(context, ns) => {
                    fix_command(origin, *context, Some(ns), &[], &ids)
                }
                StepKey::Files(files) => fix_command(origin, None, None, files, &ids),
            };
            if g.allow_app_changes {
                command.push_str(" --allow-app-changes");
            }
            NextStep {
                command,
                counts: g.counts,
                namespaces: g.namespaces.len(),
                left_out: g.left_out,
            }
        })
        .collect();
    // A scan of several contexts has no one command for everything: `fix` works on one
    // context at a time.
    let several = matches!(origin.target, Target::Contexts { .. });
    if ranked.len() > NEXT_STEPS && !several {
        // The whole scan, without --allow-app-changes: app-change moves are left out.
        let mut counts = Counts::default();
        let mut left_out = 0;
        let mut namespaces = BTreeSet::new();
        for (_, g) in &ranked {
            counts.merge(&g.unattended);
            left_out += g.all.app_change;
            if g.unattended.findings > 0 {
                namespaces.extend(g.namespaces.iter().copied());
            }
        }
        debug_assert_eq!(counts.findings + left_out, fixable);
        steps.push(NextStep {
            command: fix_all_command(origin),
            counts,
            namespaces: namespaces.len(),
            left_out,
        });
    }
    steps
}

/// The fixable findings one suggested `fix` covers.
#[derive(Default)]
struct Group<'a> {
    /// All of them.
    all: Counts,
    /// Those fixed without `--allow-app-changes`.
    unattended: Counts,
    checks: BTreeSet<CheckId>,
    namespaces: BTreeSet<NsKey<'a>>,
    /// What the suggested command fixes, once settled.
    counts: Counts,
    left_out: usize,
    allow_app_changes: bool,
}

impl<'a> Group<'a> {
    fn add(&mut self, f: &'a Finding) {
        self.all.add(f);
        if !needs_app_change(f) {
            self.unattended.add(f);
        }
        self.checks.insert(f.check);
        self.namespaces.insert((context_of(f), &f.namespace));
    }

    /// The command leaves app-change moves out, and says how many, unless they are all it
    /// could fix: then it carries `--allow-app-changes` and counts them.
    fn settle(&mut self) {
        if self.unattended.findings == 0 {
            self.allow_app_changes = true;
            self.counts = self.all;
        } else {
            self.counts = self.unattended;
            self.left_out = self.all.app_change;
        }
    }
}

/// The `-f` arguments for `findings` of a manifest scan: the files they came from (sorted),
/// or the scan's own paths when one of them has no file (a namespace known only from its
/// workloads). Empty for a cluster scan.
fn files_of<'a>(origin: &'a Origin, findings: &[&'a Finding]) -> Vec<&'a str> {
    let Target::Files(paths) = &origin.target else {
        return Vec::new();
    };
    let mut files = BTreeSet::new();
    for f in findings {
        match &f.source {
            Some(s) => {
                files.insert(s.file.as_str());
            }
            None => return paths.iter().map(String::as_str).collect(),
        }
    }
    files.into_iter().collect()
}

/// The command that fixes one finding: the finding's namespace and check (a `fix` cannot
/// pick a single object; on a terminal it asks before each change), with `-f` naming the
/// finding's file for a manifest scan. `None` for a finding that is not fixable.
pub(crate) fn fix_command_for(origin: &Origin, finding: &Finding) -> Option<String> {
    if !finding.fixable {
        return None;
    }
    let mut command = fix_command(
        origin,
        context_of(finding),
        Some(&finding.namespace),
        &files_of(origin, &[finding]),
        &[finding.check],
    );
    // Without it, the very row the command stands on would be left out.
    if needs_app_change(finding) {
        command.push_str(" --allow-app-changes");
    }
    Some(command)
}

/// `kubectl secfix fix` for everything the scan selected.
fn fix_all_command(origin: &Origin) -> String {
    let files: Vec<&str> = match &origin.target {
        Target::Files(paths) => paths.iter().map(String::as_str).collect(),
        _ => Vec::new(),
    };
    let mut args = base_args(origin, None);
    match &origin.target {
        Target::Files(_) => push_files(&mut args, &files, origin),
        _ => match &origin.namespace {
            Some(ns) => args.extend(["-n".into(), ns.clone()]),
            None => args.push("-A".into()),
        },
    }
    selection_args(&mut args, origin, &origin.checks);
    join(&args)
}

fn fix_command(
    origin: &Origin,
    context: Option<&str>,
    namespace: Option<&str>,
    files: &[&str],
    checks: &[CheckId],
) -> String {
    let mut args = base_args(origin, context);
    match &origin.target {
        // With -f, -n is not a filter but the namespace of objects that name none: repeat
        // the scan's, and pick the files instead.
        Target::Files(_) => push_files(&mut args, files, origin),
        _ => {
            if let Some(ns) = namespace.filter(|ns| !ns.is_empty()) {
                args.extend(["-n".into(), ns.to_string()]);
            }
        }
    }
    selection_args(&mut args, origin, checks);
    join(&args)
}

fn base_args(origin: &Origin, context: Option<&str>) -> Vec<String> {
    let mut args: Vec<String> = ["kubectl", "secfix", "fix"].map(String::from).to_vec();
    let (scanned, kubeconfig) = match &origin.target {
        Target::Cluster {
            context,
            kubeconfig,
            ..
        } => (context.as_deref(), kubeconfig),
        Target::Contexts { kubeconfig, .. } => (None, kubeconfig),
        Target::Unknown | Target::Files(_) => return args,
    };
    if let Some(k) = kubeconfig {
        args.extend(["--kubeconfig".into(), k.clone()]);
    }
    if let Some(c) = context.or(scanned) {
        args.extend(["--context".into(), c.to_string()]);
    }
    args
}

fn push_files(args: &mut Vec<String>, files: &[&str], origin: &Origin) {
    for f in files {
        // What `-k DIR` rendered is named `DIR (kustomization)`: fixed with `-k DIR` again.
        match f.strip_suffix(crate::model::names::KUSTOMIZE_SUFFIX) {
            Some(dir) => args.extend(["-k".into(), dir.to_string()]),
            None => args.extend(["-f".into(), f.to_string()]),
        }
    }
    if let Some(ns) = &origin.namespace {
        args.extend(["-n".into(), ns.clone()]);
    }
}

fn selection_args(args: &mut Vec<String>, origin: &Origin, checks: &[CheckId]) {
    if let Some(l) = &origin.selector {
        args.extend(["-l".into(), l.clone()]);
    }
    if !checks.is_empty() {
        let ids: Vec<&str> = checks.iter().map(|c| c.as_str()).collect();
        args.extend(["--checks".into(), ids.join(",")]);
    }
    args.extend(origin.flags.iter().cloned());
}

/// Joins words into one POSIX shell command line, quoting where needed.
fn join(words: &[String]) -> String {
    words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

/// `word` as one POSIX shell word: as is when it holds only characters no shell treats
/// specially (Python's `shlex.quote` set, so `--checks a,b` stays readable), else in single
/// quotes (a `'` inside becomes `'\''`).
fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Detail;
    use crate::model::SourceLocation;

    fn finding(check: CheckId, severity: Severity, ns: &str, name: &str, fixable: bool) -> Finding {
        Finding {
            origin: None,
            check,
            severity,
            namespace: ns.into(),
            kind: "Deployment".into(),
            api_version: "apps/v1".into(),
            name: name.into(),
            container: Some("app".into()),
            path: "/spec".into(),
            at: None,
            message: "m".into(),
            fixable,
            not_fixable_reason: None,
            source: None,
            detail: Detail::MutableImageTag(crate::checks::mutable_image_tag::Detail::Image {
                image: "nginx".into(),
                digest: None,
                digest_source: None,
            }),
            baseline: false,
        }
    }

    fn cluster(context: &str) -> Origin {
        Origin {
            target: Target::Cluster {
                context: Some(context.into()),
                cluster: None,
                kubeconfig: None,
            },
            ..Origin::default()
        }
    }

    #[test]
    fn groups_per_check_and_namespace_worst_first() {
        use CheckId::*;
        use Severity::*;
        let report = Report {
            findings: vec![
                finding(EnvSecret, High, "shop", "api", true),
                finding(EnvSecret, High, "shop", "api", true),
                finding(EnvSecret, High, "jobs", "cron", true),
                finding(MutableImageTag, Medium, "shop", "web", false),
                finding(MutableImageTag, Medium, "a", "x", true),
                finding(MutableImageTag, Medium, "b", "x", true),
            ],
            origin: cluster("prod"),
            ..Report::default()
        };
        let o = Overview::of(&report);
        let rows: Vec<_> = o
            .checks
            .iter()
            .map(|r| {
                (
                    r.check,
                    r.counts.findings,
                    r.objects,
                    r.namespaces,
                    r.counts.fixable,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                (EnvSecret, 3, 2, 2, 3),
                (EnvLiteralSecret, 0, 0, 0, 0),
                (DefaultAllowNamespace, 0, 0, 0, 0),
                (MutableImageTag, 3, 3, 3, 2),
                (UntrustedRegistry, 0, 0, 0, 0),
                (UnsignedImage, 0, 0, 0, 0),
            ]
        );
        let ns: Vec<_> = o.namespaces.iter().map(|n| n.label()).collect();
        assert_eq!(ns, ["shop", "jobs", "a", "b"]);
        assert_eq!(o.namespaces[0].counts.split(), "2 high, 1 medium");
        assert_eq!(o.not_fixable, 1);
        let next: Vec<_> = o.next.iter().map(|s| s.command.as_str()).collect();
        assert_eq!(
            next,
            [
                "kubectl secfix fix --context prod -n shop --checks env-secret",
                "kubectl secfix fix --context prod -n jobs --checks env-secret",
                "kubectl secfix fix --context prod -n a --checks mutable-image-tag",
                "kubectl secfix fix --context prod -A",
            ]
        );
        assert_eq!(o.next[3].counts.findings, 5);
        assert_eq!(o.next[3].namespaces, 4);
    }

    #[test]
    fn a_namespace_with_every_check_fixable_gets_no_checks_flag() {
        let all = |origin: Origin| Report {
            findings: CheckId::ALL
                .iter()
                .map(|c| finding(*c, Severity::High, "shop", "api", true))
                .collect(),
            origin,
            ..Report::default()
        };
        let o = Overview::of(&all(cluster("prod")));
        assert_eq!(
            o.next[0].command,
            "kubectl secfix fix --context prod -n shop"
        );
        let mut picked = cluster("prod");
        picked.checks = vec![CheckId::EnvSecret, CheckId::MutableImageTag];
        let o = Overview::of(&all(picked));
        assert_eq!(
            o.next[0].command,
            "kubectl secfix fix --context prod -n shop --checks env-secret,mutable-image-tag"
        );
    }

    #[test]
    fn checks_that_did_not_run_are_left_out() {
        let report = Report {
            origin: Origin {
                checks: vec![CheckId::MutableImageTag],
                ..Origin::default()
            },
            ..Report::default()
        };
        let o = Overview::of(&report);
        assert_eq!(o.checks.len(), 1);
        assert_eq!(o.checks[0].check, CheckId::MutableImageTag);
        assert!(o.next.is_empty() && o.namespaces.is_empty());
    }

    #[test]
    fn commands_repeat_the_selection_and_quote_for_the_shell() {
        let mut origin = cluster("it's prod");
        if let Target::Cluster { kubeconfig, .. } = &mut origin.target {
            *kubeconfig = Some("/home/me/my config".into());
        }
        origin.selector = Some("app in (web, api)".into());
        origin.flags = vec!["--include-system".into()];
        let f = finding(CheckId::EnvSecret, Severity::High, "kube-system", "x", true);
        assert_eq!(
            fix_command_for(&origin, &f).unwrap(),
            r#"kubectl secfix fix --kubeconfig '/home/me/my config' --context 'it'\''s prod' -n kube-system -l 'app in (web, api)' --checks env-secret --include-system"#
        );
        let mut not = f.clone();
        not.fixable = false;
        assert_eq!(fix_command_for(&origin, &not), None);
    }

    #[test]
    fn quoting_survives_a_real_shell() {
        let words = ["a,b", "x y", "it's", "$HOME", "", "-l=app!=web", "\\n", "ü"];
        for w in words {
            let out = std::process::Command::new("sh")
                .args(["-c", &format!("printf %s {}", quote(w))])
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), w, "{}", quote(w));
        }
        assert_eq!(
            quote("env-secret,mutable-image-tag"),
            "env-secret,mutable-image-tag"
        );
    }

    /// Issue 20: the suggested commands repeated -l, --checks and --include-system only, so
    /// a `fix` suggested after a scan with --include-kinds or --signature-key selected other
    /// objects or pinned unsigned digests.
    #[test]
    fn suggested_commands_repeat_the_policy_flags_the_scan_ran_with() {
        let origin = Origin {
            flags: vec![
                "--signature-key".into(),
                "keys/k1.pub".into(),
                "--include-kinds".into(),
                "apps.kruise.io/v1alpha1/CloneSet".into(),
            ],
            ..cluster("prod")
        };
        let f = finding(
            CheckId::MutableImageTag,
            Severity::Medium,
            "shop",
            "web",
            true,
        );
        assert_eq!(
            fix_command_for(&origin, &f).unwrap(),
            "kubectl secfix fix --context prod -n shop --checks mutable-image-tag \
             --signature-key keys/k1.pub --include-kinds apps.kruise.io/v1alpha1/CloneSet"
        );
    }

    #[test]
    fn manifest_commands_name_the_findings_files() {
        let origin = Origin {
            target: Target::Files(vec!["deploy/".into(), "-".into()]),
            namespace: Some("dev".into()),
            ..Origin::default()
        };
        let mut f = finding(CheckId::EnvSecret, Severity::High, "dev", "api", true);
        f.source = Some(SourceLocation {
            file: "deploy/my api.yaml".into(),
            line: 3,
            ..SourceLocation::default()
        });
        assert_eq!(
            fix_command_for(&origin, &f).unwrap(),
            "kubectl secfix fix -f 'deploy/my api.yaml' -n dev --checks env-secret"
        );
        // A finding without a file (a namespace known from its workloads): the scan's paths.
        let ns = finding(
            CheckId::DefaultAllowNamespace,
            Severity::Medium,
            "dev",
            "dev",
            true,
        );
        assert_eq!(
            fix_command_for(&origin, &ns).unwrap(),
            "kubectl secfix fix -f deploy/ -f - -n dev --checks default-allow-namespace"
        );
        assert_eq!(
            fix_all_command(&origin),
            "kubectl secfix fix -f deploy/ -f - -n dev"
        );
    }
}
