//! Scanning several kubeconfig contexts at once (`scan --all-contexts`, `--contexts a,b`).
//!
//! - [`targets`] picks the contexts from the kubeconfig, in a fixed order: the kubeconfig's for
//!   `--all-contexts`, the order given for `--contexts` (a name given twice is scanned once);
//!   an unknown name is a usage error, before anything is contacted.
//! - [`scan_all`] runs one scan per context, at most `parallel` at once, and returns the
//!   outcomes in that same order, whatever order they finish in. One context failing
//!   (unreachable, forbidden, a broken kubeconfig entry) is its own outcome and never stops the
//!   others.
//! - [`merge`] makes one [`Report`] of them: every finding tagged with its context and server,
//!   findings context by context, counts summed, each warning and error prefixed with its
//!   context, and a [`ContextStatus`] per context.
//!
//! How one context is scanned is the caller's (the same steps as a one-context scan); this
//! module only orchestrates.

use std::future::Future;

use futures::StreamExt as _;
use kube::config::Kubeconfig;

use crate::cluster::client::server_of;
use secfix_core::checks::ContextRef;
use secfix_core::error::UsageError;
use secfix_core::report::{ContextState, ContextStatus, Report};

/// Which contexts to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextSelection {
    /// Every context of the kubeconfig (`--all-contexts`).
    All,
    /// These, in this order (`--contexts a,b`).
    Named(Vec<String>),
}

/// One context to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The context's name in the kubeconfig.
    pub context: String,
    /// Its cluster's API server URL, as the kubeconfig writes it (empty when it names none).
    pub server: String,
}

/// The contexts `selection` names in `kubeconfig`, in scan (and report) order.
pub fn targets(
    kubeconfig: &Kubeconfig,
    selection: &ContextSelection,
) -> Result<Vec<Target>, UsageError> {
    let names: Vec<String> = match selection {
        ContextSelection::All => {
            if kubeconfig.contexts.is_empty() {
                return Err(UsageError(
                    "--all-contexts: the kubeconfig has no contexts".into(),
                ));
            }
            kubeconfig.contexts.iter().map(|c| c.name.clone()).collect()
        }
        ContextSelection::Named(names) => {
            let mut seen = std::collections::BTreeSet::new();
            let names: Vec<String> = names
                .iter()
                .map(|n| n.trim().to_string())
                .filter(|n| seen.insert(n.clone()))
                .collect();
            if names.iter().any(String::is_empty) || names.is_empty() {
                return Err(UsageError(
                    "--contexts: give context names separated by commas".into(),
                ));
            }
            let unknown: Vec<&str> = names
                .iter()
                .filter(|n| !kubeconfig.contexts.iter().any(|c| &c.name == *n))
                .map(String::as_str)
                .collect();
            if !unknown.is_empty() {
                return Err(UsageError(format!(
                    "--contexts: no such context in the kubeconfig: {}",
                    unknown.join(", ")
                )));
            }
            names
        }
    };
    Ok(names
        .into_iter()
        .map(|context| Target {
            server: server_of(kubeconfig, Some(&context)),
            context,
        })
        .collect())
}

/// What one context's scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextScan {
    pub findings: Vec<secfix_core::checks::Finding>,
    pub suppressed: usize,
    pub scanned: usize,
    /// Notes (API versions fallen back to, …).
    pub warnings: Vec<String>,
    /// What could not be read or written (the context counts as failed, exit code 1).
    pub errors: Vec<String>,
    /// What was done besides scanning (PolicyReports written, …).
    pub notes: Vec<String>,
    /// The API server URL the scan used, when the caller knows it better than the kubeconfig
    /// (empty: keep the target's).
    pub server: String,
}

/// One context's outcome: its scan, or why it could not be scanned at all.
pub type Outcome = (Target, Result<ContextScan, String>);

/// Runs `scan` for every target, at most `parallel` (at least 1) at once, and returns the
/// outcomes in the order of `targets`.
///
/// Each context's scan is a task of its own, so contexts are checked on different threads
/// (a large context's pages keep one core busy), and one that panics is that context's
/// failure, not the end of the run. Must be called within a Tokio runtime.
pub async fn scan_all<F, Fut>(targets: Vec<Target>, parallel: usize, scan: F) -> Vec<Outcome>
where
    F: Fn(Target) -> Fut,
    Fut: Future<Output = Result<ContextScan, String>> + Send + 'static,
{
    futures::stream::iter(targets)
        .map(|t| {
            // `buffered` pulls (and so spawns) at most `parallel` of these at a time.
            let task = tokio::spawn(scan(t.clone()));
            async move {
                let outcome = match task.await {
                    Ok(outcome) => outcome,
                    Err(e) => Err(format!("the scan of this context stopped: {e}")),
                };
                (t, outcome)
            }
        })
        .buffered(parallel.max(1))
        .collect()
        .await
}

/// Several contexts' outcomes as one report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Merged {
    /// Findings of every context, context by context; `warnings` holds the warnings and
    /// errors below (as in a one-context scan); `contexts` one status per context.
    pub report: Report,
    /// Warnings, each prefixed with `context NAME: `.
    pub warnings: Vec<String>,
    /// Errors, each prefixed with `context NAME: `; non-empty means exit code 1.
    pub errors: Vec<String>,
    /// Notes, each prefixed with `context NAME: `.
    pub notes: Vec<String>,
}

fn scrub_all(texts: Vec<String>) -> Vec<String> {
    texts
        .into_iter()
        .map(|t| secfix_core::model::text::scrub_userinfo(&t).into_owned())
        .collect()
}

/// Merges outcomes (in the order given) into one report.
pub fn merge(outcomes: Vec<Outcome>) -> Merged {
    let mut m = Merged::default();
    for (target, outcome) in outcomes {
        let prefix = |s: &str| format!("context {}: {s}", target.context);
        let scan = match outcome {
            Ok(scan) => scan,
            Err(e) => ContextScan {
                errors: vec![e],
                ..ContextScan::default()
            },
        };
        // Credentials in a URL are never shown, whoever wrote the URL.
        let server = if scan.server.is_empty() {
            &target.server
        } else {
            &scan.server
        };
        let server = secfix_core::model::text::without_userinfo(server).into_owned();
        let scan = ContextScan {
            errors: scrub_all(scan.errors),
            warnings: scrub_all(scan.warnings),
            notes: scrub_all(scan.notes),
            ..scan
        };
        let origin = ContextRef {
            context: target.context.clone(),
            server: server.clone(),
        };
        m.report.contexts.push(ContextStatus {
            context: target.context.clone(),
            server,
            status: if scan.errors.is_empty() {
                ContextState::Ok
            } else {
                ContextState::Failed
            },
            findings: scan.findings.len(),
            scanned: scan.scanned,
            errors: scan.errors.clone(),
        });
        m.report.suppressed += scan.suppressed;
        m.report.scanned += scan.scanned;
        m.report
            .findings
            .extend(scan.findings.into_iter().map(|mut f| {
                f.origin = Some(origin.clone());
                f
            }));
        m.warnings.extend(scan.warnings.iter().map(|w| prefix(w)));
        m.errors.extend(scan.errors.iter().map(|e| prefix(e)));
        m.notes.extend(scan.notes.iter().map(|n| prefix(n)));
    }
    m.report.warnings = m.warnings.iter().chain(&m.errors).cloned().collect();
    m
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use secfix_core::checks::Finding;

    fn kubeconfig() -> Kubeconfig {
        serde_json::from_value(serde_json::json!({
            "clusters": [
                {"name": "c-prod", "cluster": {"server": "https://prod:6443"}},
                {"name": "c-dev", "cluster": {"server": "https://dev:6443"}},
            ],
            "contexts": [
                {"name": "prod", "context": {"cluster": "c-prod", "user": "u"}},
                {"name": "dev", "context": {"cluster": "c-dev", "user": "u"}},
                {"name": "broken", "context": {"cluster": "gone", "user": "u"}},
            ],
            "current-context": "dev",
        }))
        .unwrap()
    }

    fn names(t: &[Target]) -> Vec<&str> {
        t.iter().map(|t| t.context.as_str()).collect()
    }

    #[test]
    fn all_contexts_in_kubeconfig_order_with_their_servers() {
        let t = targets(&kubeconfig(), &ContextSelection::All).unwrap();
        assert_eq!(names(&t), ["prod", "dev", "broken"]);
        assert_eq!(t[0].server, "https://prod:6443");
        assert_eq!(t[2].server, "", "a dangling cluster has no server");
    }

    #[test]
    fn named_contexts_in_the_order_given_once_each() {
        let sel = ContextSelection::Named(vec!["dev".into(), " prod".into(), "dev".into()]);
        let t = targets(&kubeconfig(), &sel).unwrap();
        assert_eq!(names(&t), ["dev", "prod"]);
    }

    #[test]
    fn unknown_contexts_are_a_usage_error_naming_them() {
        let sel = ContextSelection::Named(vec!["dev".into(), "nope".into(), "gone".into()]);
        let e = targets(&kubeconfig(), &sel).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--contexts: no such context in the kubeconfig: nope, gone"
        );
        let e = targets(&kubeconfig(), &ContextSelection::Named(vec!["".into()])).unwrap_err();
        assert!(e.to_string().contains("separated by commas"), "{e}");
        let e = targets(&Kubeconfig::default(), &ContextSelection::All).unwrap_err();
        assert!(e.to_string().contains("no contexts"), "{e}");
    }

    fn finding(name: &str) -> Finding {
        serde_json::from_value(serde_json::json!({
            "check": "env-secret", "severity": "high", "namespace": "ns", "kind": "Deployment",
            "apiVersion": "apps/v1", "name": name, "path": "/spec", "message": "m",
            "fixable": true,
            "detail": {"type": "secretRef", "secret": "s", "optional": false},
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn at_most_parallel_at_once_outcomes_in_target_order() {
        let targets: Vec<Target> = (0..7)
            .map(|i| Target {
                context: format!("c{i}"),
                server: String::new(),
            })
            .collect();
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let outcomes = scan_all(targets, 2, |t| {
            let (running, peak) = (running.clone(), peak.clone());
            async move {
                if t.context == "c6" {
                    panic!("a bug in one context");
                }
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                // Later contexts finish first.
                let i: u64 = t.context[1..].parse().unwrap();
                tokio::time::sleep(Duration::from_millis(60 - 10 * i)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                if i == 3 {
                    Err("unreachable".to_string())
                } else {
                    Ok(ContextScan {
                        findings: vec![finding(&t.context)],
                        ..ContextScan::default()
                    })
                }
            }
        })
        .await;
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        let order: Vec<&str> = outcomes.iter().map(|(t, _)| t.context.as_str()).collect();
        assert_eq!(order, ["c0", "c1", "c2", "c3", "c4", "c5", "c6"]);
        assert!(outcomes[3].1.is_err());
        let panicked = outcomes[6].1.as_ref().unwrap_err();
        assert!(
            panicked.starts_with("the scan of this context stopped"),
            "{panicked}"
        );
        assert_eq!(outcomes.iter().filter(|(_, r)| r.is_ok()).count(), 5);
    }

    #[test]
    fn merged_findings_carry_their_context_and_failures_are_reported() {
        let t = |c: &str, s: &str| Target {
            context: c.into(),
            server: s.into(),
        };
        let m = merge(vec![
            (
                t("a", "https://a"),
                Ok(ContextScan {
                    findings: vec![finding("x"), finding("y")],
                    suppressed: 1,
                    scanned: 4,
                    warnings: vec!["CronJob: batch/v1 not served".into()],
                    ..ContextScan::default()
                }),
            ),
            (
                t("broken", "https://gone"),
                Err("unreachable: refused".into()),
            ),
            (
                t("b", "https://b"),
                Ok(ContextScan {
                    findings: vec![finding("z")],
                    scanned: 2,
                    errors: vec!["Pods: forbidden".into()],
                    server: "https://b.example:443".into(),
                    ..ContextScan::default()
                }),
            ),
        ]);
        let r = &m.report;
        let got: Vec<(&str, &str, &str)> = r
            .findings
            .iter()
            .map(|f| {
                let o = f.origin.as_ref().unwrap();
                (o.context.as_str(), o.server.as_str(), f.name.as_str())
            })
            .collect();
        assert_eq!(
            got,
            [
                ("a", "https://a", "x"),
                ("a", "https://a", "y"),
                ("b", "https://b.example:443", "z")
            ]
        );
        assert_eq!((r.suppressed, r.scanned), (1, 6));
        let status: Vec<(&str, ContextState, usize)> = r
            .contexts
            .iter()
            .map(|c| (c.context.as_str(), c.status, c.findings))
            .collect();
        assert_eq!(
            status,
            [
                ("a", ContextState::Ok, 2),
                ("broken", ContextState::Failed, 0),
                ("b", ContextState::Failed, 1)
            ]
        );
        assert_eq!(r.contexts[1].errors, ["unreachable: refused"]);
        assert_eq!(r.contexts[1].server, "https://gone");
        assert_eq!(
            m.errors,
            [
                "context broken: unreachable: refused",
                "context b: Pods: forbidden"
            ]
        );
        assert_eq!(m.warnings, ["context a: CronJob: batch/v1 not served"]);
        assert_eq!(r.warnings.len(), 3);
        let json = serde_json::to_value(&r.findings[0]).unwrap();
        assert_eq!(json["context"], "a");
        assert_eq!(json["server"], "https://a");
        let back: Finding = serde_json::from_value(json).unwrap();
        assert_eq!(back, r.findings[0]);
        let plain = serde_json::to_value(finding("p")).unwrap();
        assert!(plain.get("context").is_none() && plain.get("server").is_none());
        let back: Finding = serde_json::from_value(plain).unwrap();
        assert_eq!(back.origin, None);
    }

    /// covers issue #22: a kubeconfig server URL with userinfo (`https://user:pass@host`)
    /// reaches no output format, nor a context's error message.
    #[test]
    fn credentials_in_the_server_url() {
        let pw = "sfxCANARY-url-pw";
        let m = merge(vec![
            (
                Target {
                    context: "prod".into(),
                    server: format!("https://admin:{pw}@prod.example:6443"),
                },
                Ok(ContextScan {
                    findings: vec![finding("x")],
                    scanned: 1,
                    ..ContextScan::default()
                }),
            ),
            (
                Target {
                    context: "gone".into(),
                    server: format!("https://{pw}@gone.example"),
                },
                Err(format!(
                    "cannot reach https://admin:{pw}@gone.example: refused"
                )),
            ),
        ]);
        let r = &m.report;
        let at = secfix_core::report::policy_report::Timestamp {
            seconds: 0,
            nanos: 0,
        };
        let reports = format!(
            "{:?}",
            secfix_core::report::policy_report::build(&r.findings, at)
        );
        let outputs = [
            secfix_core::report::to_json(r),
            secfix_core::report::to_yaml(r).unwrap(),
            secfix_core::report::to_sarif(r),
            secfix_core::report::render_markdown(r),
            secfix_core::report::render_html(r),
            reports,
            format!("{:?}", m),
        ];
        for out in outputs {
            assert!(!out.contains(pw), "{out}");
            assert!(!out.contains("admin@"), "{out}");
        }
        assert_eq!(r.contexts[0].server, "https://prod.example:6443");
    }
}
