//! Writing the Policy WG reports of a scan (`scan --report-to-cluster`) into the cluster.
//!
//! The reports come from [`secfix_core::report::policy_report::build`]; this module only talks to the
//! API server:
//! 1. discovery: are `policyreports` and `clusterpolicyreports` served at
//!    `wgpolicyk8s.io/v1alpha2`? If not, [`WriteError::CrdsMissing`]: kubectl-secfix never
//!    installs the CRDs;
//! 2. it lists the reports labelled as ours ([`MANAGED_BY_LABEL`]) in the scanned scope (all
//!    namespaces, or the one namespace);
//! 3. each namespace with findings gets its `PolicyReport` created, or replaced (an update
//!    guarded by the `resourceVersion` just listed, retried on a conflict); our reports in
//!    scanned namespaces without findings any more are deleted; the `ClusterPolicyReport` is
//!    replaced as a whole after an all-namespaces scan, and only in the scanned namespace's
//!    results after a one-namespace scan;
//! 4. a report of the same name that is not labelled as ours is never overwritten: creating
//!    ours fails with "already exists" and that is reported;
//! 5. after an incomplete scan (some kinds could not be listed: `unlisted`), no report loses
//!    what the scan could not see: results about those kinds and namespace-level results are
//!    kept from the previous reports ([`policy_report::keep_unseen`]), and a report is deleted
//!    only when nothing is left to keep. The caller adds
//!    [`policy_report::incomplete_result`] to the cluster results.
//!
//! Each report is one object; their writes run a few at a time. A failed write is reported in
//! [`Written::errors`] and does not stop the others.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt as _;
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams, Preconditions};
use kube::core::{ApiResource, GroupVersionKind};

use super::{describe_error, status_code};
use secfix_core::report::policy_report::{
    self, CLUSTER_POLICY_REPORT, CLUSTER_POLICY_REPORTS, GROUP, MANAGED_BY_LABEL, POLICY_REPORT,
    POLICY_REPORTS, PolicyReport, PolicyReports, REPORT_NAME, VERSION,
};

/// Writes in flight at once.
const CONCURRENT_WRITES: usize = 8;
/// Attempts of one report's write when another writer changed it in between (409 Conflict).
const ATTEMPTS: usize = 3;

/// What was written.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Written {
    /// `PolicyReport`s created or replaced, by namespace.
    pub namespaces: Vec<String>,
    /// Our `PolicyReport`s deleted because their namespace has no findings any more.
    pub deleted: Vec<String>,
    /// The `ClusterPolicyReport`: `Some(true)` written, `Some(false)` deleted (no results
    /// left), `None` untouched.
    pub cluster: Option<bool>,
    /// Reports that could not be written or deleted, one message each.
    pub errors: Vec<String>,
}

impl Written {
    /// One line for humans, e.g. `wrote 3 PolicyReports and the ClusterPolicyReport; deleted 1
    /// PolicyReport (no findings any more)`.
    pub fn line(&self) -> String {
        let n = self.namespaces.len();
        let mut s = format!("wrote {n} PolicyReport{}", if n == 1 { "" } else { "s" });
        match self.cluster {
            Some(true) => s.push_str(" and the ClusterPolicyReport"),
            Some(false) => s.push_str(" and deleted the ClusterPolicyReport (no results left)"),
            None => {}
        }
        if !self.deleted.is_empty() {
            let d = self.deleted.len();
            s.push_str(&format!(
                "; deleted {d} PolicyReport{} (no findings any more)",
                if d == 1 { "" } else { "s" }
            ));
        }
        s
    }
}

/// Why nothing could be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(
        "the PolicyReport CRDs are not installed in this cluster ({GROUP}/{VERSION} does not serve {}); \
         kubectl-secfix does not install them: install the Kubernetes Policy WG's CRDs \
         (https://github.com/kubernetes-sigs/wg-policy-prototypes/tree/master/policy-report/crd/v1alpha2) \
         or a policy engine that ships them, or scan without --report-to-cluster",
        .missing.join(" and ")
    )]
    CrdsMissing { missing: Vec<&'static str> },
    #[error("cannot check whether the PolicyReport CRDs are installed: {0}")]
    Discovery(String),
    #[error("cannot list the PolicyReports written by kubectl-secfix: {0}")]
    List(String),
}

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(GROUP, VERSION, kind), plural)
}

/// Checks that both report kinds are served.
pub(crate) async fn check_crds(client: &Client) -> Result<(), WriteError> {
    let served: BTreeSet<String> = match client
        .list_api_group_resources(&format!("{GROUP}/{VERSION}"))
        .await
    {
        Ok(list) => list.resources.into_iter().map(|r| r.name).collect(),
        Err(e) if status_code(&e) == Some(404) => BTreeSet::new(),
        Err(e) => return Err(WriteError::Discovery(describe_error(&e))),
    };
    let missing: Vec<&'static str> = [POLICY_REPORTS, CLUSTER_POLICY_REPORTS]
        .into_iter()
        .filter(|r| !served.contains(*r))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(WriteError::CrdsMissing { missing })
    }
}

/// The results of one of our reports as listed (none when it cannot be read as a report).
fn results_of(obj: Option<&DynamicObject>) -> Vec<policy_report::PolicyResult> {
    obj.and_then(|o| serde_json::to_value(o).ok())
        .and_then(|v| serde_json::from_value::<PolicyReport>(v).ok())
        .map(|r| r.results)
        .unwrap_or_default()
}

/// Writes `reports` for a scan of `namespace` (`None`: all namespaces) that could not list
/// the kinds `unlisted` (empty: a complete scan). See the module docs.
pub async fn write(
    client: &Client,
    reports: PolicyReports,
    namespace: Option<&str>,
    unlisted: &BTreeSet<String>,
) -> Result<Written, WriteError> {
    check_crds(client).await?;
    let ns_res = resource(POLICY_REPORT, POLICY_REPORTS);
    let ours = ListParams::default().labels(&policy_report::managed_by_selector());

    let ns_api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ns_res),
        None => Api::all_with(client.clone(), &ns_res),
    };
    let existing: BTreeMap<String, DynamicObject> = ns_api
        .list(&ours)
        .await
        .map_err(|e| WriteError::List(describe_error(&e)))?
        .items
        .into_iter()
        .filter(|o| o.metadata.name.as_deref() == Some(REPORT_NAME))
        .filter_map(|o| Some((o.metadata.namespace.clone()?, o)))
        .collect();

    let mut written = Written::default();
    let PolicyReports {
        namespaces,
        cluster_results,
    } = reports;
    let stale: Vec<String> = existing
        .keys()
        .filter(|ns| !namespaces.contains_key(*ns))
        .cloned()
        .collect();

    // Namespace reports: create or replace, and delete the stale ones, a few at a time.
    enum Job {
        Put(String, Box<PolicyReport>),
        Delete(String),
    }
    let keep = |ns: &str, fresh: Vec<policy_report::PolicyResult>| {
        policy_report::keep_unseen(&results_of(existing.get(ns)), fresh, unlisted)
    };
    let jobs: Vec<Job> = namespaces
        .into_iter()
        .map(|(ns, r)| {
            let results = keep(&ns, r.results);
            let report = policy_report::namespace_report(&ns, results);
            Job::Put(ns, Box::new(report))
        })
        .chain(stale.into_iter().map(|ns| {
            let results = keep(&ns, Vec::new());
            if results.is_empty() {
                Job::Delete(ns)
            } else {
                let report = policy_report::namespace_report(&ns, results);
                Job::Put(ns, Box::new(report))
            }
        }))
        .collect();
    let outcomes: Vec<(Job, Result<(), String>)> = futures::stream::iter(jobs)
        .map(|job| {
            let client = client.clone();
            let ns_res = ns_res.clone();
            let existing = &existing;
            async move {
                let result = match &job {
                    Job::Put(ns, report) => {
                        let api = Api::namespaced_with(client, ns, &ns_res);
                        put(
                            &api,
                            report,
                            existing.get(ns),
                            &format!("{POLICY_REPORT} {ns}/{REPORT_NAME}"),
                        )
                        .await
                    }
                    Job::Delete(ns) => {
                        let api = Api::namespaced_with(client, ns, &ns_res);
                        delete(
                            &api,
                            &existing[ns],
                            &format!("{POLICY_REPORT} {ns}/{REPORT_NAME}"),
                        )
                        .await
                    }
                };
                (job, result)
            }
        })
        .buffer_unordered(CONCURRENT_WRITES)
        .collect()
        .await;
    for (job, result) in outcomes {
        match (job, result) {
            (Job::Put(ns, _), Ok(())) => written.namespaces.push(ns),
            (Job::Delete(ns), Ok(())) => written.deleted.push(ns),
            (_, Err(e)) => written.errors.push(e),
        }
    }
    written.namespaces.sort();
    written.deleted.sort();
    written.errors.sort();

    // The cluster report.
    match write_cluster_report(client, cluster_results, namespace, unlisted).await {
        Ok(done) => written.cluster = done,
        Err(e) => written.errors.push(e),
    }
    Ok(written)
}

/// Writes the ClusterPolicyReport (replaced, merged per namespace after a one-namespace scan,
/// or deleted when nothing is left), retrying on a conflict. `Some(true)`: written,
/// `Some(false)`: deleted, `None`: nothing to do.
async fn write_cluster_report(
    client: &Client,
    cluster_results: Vec<policy_report::PolicyResult>,
    namespace: Option<&str>,
    unlisted: &BTreeSet<String>,
) -> Result<Option<bool>, String> {
    let cluster_res = resource(CLUSTER_POLICY_REPORT, CLUSTER_POLICY_REPORTS);
    let ours = ListParams::default().labels(&policy_report::managed_by_selector());
    let cluster_api: Api<DynamicObject> = Api::all_with(client.clone(), &cluster_res);
    let what = format!("{CLUSTER_POLICY_REPORT} {REPORT_NAME}");
    let mut last_error = None;
    for _ in 0..ATTEMPTS {
        let current = match cluster_api.list(&ours).await {
            Ok(list) => list
                .items
                .into_iter()
                .find(|o| o.metadata.name.as_deref() == Some(REPORT_NAME)),
            Err(e) => {
                last_error = Some(format!("cannot list {what}: {}", describe_error(&e)));
                break;
            }
        };
        // A previous incompleteness marker is replaced like the results it stands beside
        // (whole after an all-namespaces scan, per namespace after a one-namespace scan).
        let old = results_of(current.as_ref());
        let results = match namespace {
            None => cluster_results.clone(),
            Some(ns) => policy_report::merge_cluster_results(&old, cluster_results.clone(), ns),
        };
        let results = policy_report::keep_unseen(&old, results, unlisted);
        let outcome = match (&current, results.is_empty()) {
            (None, true) => Ok(None),
            (Some(obj), true) => delete(&cluster_api, obj, &what)
                .await
                .map(|()| Some(false))
                .map_err(Attempt::Failed),
            (_, false) => {
                let report = policy_report::cluster_report(results);
                put_once(&cluster_api, &report, current.as_ref(), &what)
                    .await
                    .map(|()| Some(true))
            }
        };
        match outcome {
            Ok(done) => return Ok(done),
            Err(Attempt::Conflict(e)) => last_error = Some(e),
            Err(Attempt::Failed(e)) => {
                last_error = Some(e);
                break;
            }
        }
    }
    Err(last_error.unwrap_or_else(|| format!("cannot write {what}")))
}

/// Why one write attempt failed.
enum Attempt {
    /// Someone else changed the report since it was read (409 Conflict): read again, retry.
    Conflict(String),
    Failed(String),
}

impl From<Attempt> for String {
    fn from(a: Attempt) -> String {
        match a {
            Attempt::Conflict(e) | Attempt::Failed(e) => e,
        }
    }
}

/// Creates `report`, or replaces `current` (ours) with it; on a conflict, lists again and
/// retries (up to [`ATTEMPTS`] times).
async fn put(
    api: &Api<DynamicObject>,
    report: &PolicyReport,
    current: Option<&DynamicObject>,
    what: &str,
) -> Result<(), String> {
    let mut current = current.cloned();
    for attempt in 1..=ATTEMPTS {
        match put_once(api, report, current.as_ref(), what).await {
            Ok(()) => return Ok(()),
            Err(Attempt::Conflict(_)) if attempt < ATTEMPTS => {
                let ours = ListParams::default().labels(&policy_report::managed_by_selector());
                current = api
                    .list(&ours)
                    .await
                    .map_err(|e| format!("cannot list {what}: {}", describe_error(&e)))?
                    .items
                    .into_iter()
                    .find(|o| o.metadata.name.as_deref() == Some(REPORT_NAME));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(format!("{what}: changed by someone else on every attempt"))
}

async fn put_once(
    api: &Api<DynamicObject>,
    report: &PolicyReport,
    current: Option<&DynamicObject>,
    what: &str,
) -> Result<(), Attempt> {
    let mut obj: DynamicObject = serde_json::to_value(report)
        .and_then(serde_json::from_value)
        .map_err(|e| Attempt::Failed(format!("{what}: cannot build the object: {e}")))?;
    let pp = PostParams {
        field_manager: Some(secfix_core::report::policy_report::MANAGED_BY.to_string()),
        ..PostParams::default()
    };
    let result = match current {
        Some(cur) => {
            obj.metadata.resource_version = cur.metadata.resource_version.clone();
            api.replace(REPORT_NAME, &pp, &obj).await.map(drop)
        }
        None => api.create(&pp, &obj).await.map(drop),
    };
    result.map_err(|e| match (status_code(&e), current) {
        (Some(409), None) => Attempt::Failed(format!(
            "{what} exists but was not written by kubectl-secfix (no label \
             {MANAGED_BY_LABEL}={}): left alone",
            secfix_core::report::policy_report::MANAGED_BY
        )),
        (Some(409), Some(_)) => Attempt::Conflict(format!(
            "{what}: changed by someone else while being replaced: {}",
            describe_error(&e)
        )),
        _ => Attempt::Failed(format!("cannot write {what}: {}", describe_error(&e))),
    })
}

/// Deletes `obj` (ours), only if it is still the object that was listed (uid precondition).
async fn delete(api: &Api<DynamicObject>, obj: &DynamicObject, what: &str) -> Result<(), String> {
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid: obj.metadata.uid.clone(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match api.delete(REPORT_NAME, &dp).await {
        Ok(_) => Ok(()),
        Err(e) if status_code(&e) == Some(404) => Ok(()),
        Err(e) => Err(format!("cannot delete {what}: {}", describe_error(&e))),
    }
}
