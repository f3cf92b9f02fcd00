//! What `scan` and `fix` share: reading the selected objects, live or offline.

use anyhow::Context as _;

use super::UsageError;
use super::args::{GlobalArgs, Selection};
use secfix_core::checks::ScanOptions;
use secfix_core::model::selector::Selector;
use secfix_io::cluster::client::{Connection, connect};
use secfix_io::cluster::list::Scope;
use secfix_io::inventory::{Collector, Inventory, Keep, collect_live, collect_offline};
use secfix_io::manifest::ManifestFile;

/// The objects read, and where from.
pub struct Collected {
    pub inventory: Inventory,
    pub source: Source,
    /// The namespace read live; `None` for all namespaces (`-A`) and offline.
    pub namespace: Option<String>,
}

pub enum Source {
    Live(Connection),
    Offline(Vec<ManifestFile>),
}

impl Collected {}

pub(crate) fn scan_options(selection: &Selection) -> ScanOptions {
    ScanOptions {
        checks: selection.checks.iter().copied().collect(),
        options: selection.options.0.clone(),
    }
}

/// With `-f` nothing is contacted, so a flag that only says how or where to contact a
/// cluster would be silently ignored: it is a usage error instead (exit 2, before any input
/// is read), naming the flag. `extra` holds the command's own such flags that were given.
pub(crate) fn check_offline_flags(
    global: &GlobalArgs,
    selection: &Selection,
    extra: &[&str],
) -> Result<(), UsageError> {
    if selection.files.is_empty() {
        return Ok(());
    }
    let mut given: Vec<&str> = Vec::new();
    if global.context.is_some() {
        given.push("--context");
    }
    if global.kubeconfig.is_some() {
        given.push("--kubeconfig");
    }
    if selection.all_namespaces {
        given.push("-A");
    }
    if !selection.include_kinds.is_empty() {
        given.push("--include-kinds");
    }
    given.extend_from_slice(extra);
    match given.first() {
        None => Ok(()),
        Some(flag) => Err(UsageError(format!(
            "{flag} cannot be combined with -f: manifests are read without contacting any \
             cluster ({})",
            match *flag {
                "-A" =>
                    "they name their own namespaces; -n sets the namespace of objects that name none",
                "--include-kinds" => "every kind with a pod template is checked anyway",
                "--save-patches" =>
                    "-f changes files: nothing is applied, so there is nothing to roll back",
                "--dry-run=server" =>
                    "use --dry-run=client, or drop -f to validate against a cluster",
                _ => "drop the flag, or drop -f to work on a cluster",
            }
        ))),
    }
}

/// With `-f`: an error unless something was read to check (`--allow-empty` accepts none).
/// Empty input after a failed `helm template`, or a directory holding only values files,
/// must not pass as "no findings".
pub(crate) fn check_not_empty(selection: &Selection, collected: &Collected) -> Result<(), String> {
    if selection.files.is_empty()
        || selection.allow_empty
        || collected.inventory.scanned > 0
        || !collected.inventory.input_errors.is_empty()
    {
        return Ok(());
    }
    let paths: Vec<String> = selection
        .files
        .iter()
        .map(|p| match p.to_str() {
            Some("-") => "<stdin>".to_string(),
            _ => p.display().to_string(),
        })
        .collect();
    Err(format!(
        "0 objects scanned from {}: the input holds no workload, pod or namespace to check \
         (--allow-empty accepts that)",
        secfix_core::model::text::printable(&paths.join(", "))
    ))
}

/// Reads the objects `selection` names: manifests with `-f`, else the cluster.
pub async fn collect(
    global: &GlobalArgs,
    selection: &Selection,
    keep: Keep,
) -> anyhow::Result<Collected> {
    collect_with(global, selection, keep, None).await
}

/// [`collect`], keeping the findings in `spill` as they are decided when given.
pub(crate) async fn collect_with(
    global: &GlobalArgs,
    selection: &Selection,
    keep: Keep,
    spill: Option<(secfix_io::spill::Spill, secfix_core::inventory::Prepare)>,
) -> anyhow::Result<Collected> {
    let selector = match &selection.selector {
        Some(s) => Some(Selector::parse(s).map_err(|e| UsageError(format!("-l {s:?}: {e}")))?),
        None => None,
    };
    let opts = scan_options(selection);
    opts.validate()?;
    let mut collector = Collector::new(opts, keep);
    if let Some((spill, prepare)) = spill {
        collector = collector.with_spill(Box::new(spill), prepare);
    }
    if selection.offline() {
        if selection.all_namespaces {
            return Err(UsageError(
                "-A cannot be combined with -f (manifests name their own namespaces)".into(),
            )
            .into());
        }
        // Objects that name no namespace are in `-n` as for `kubectl apply -n NS -f`; without
        // it they stay in the unnamed namespace (whatever namespace they are applied to).
        let mut collector = collector.with_namespace_flag(selection.namespace.as_deref());
        // `fix` keeps the files to rewrite them; `scan` checks objects as they are read.
        let files = match &selection.kustomize {
            Some(dir) => {
                let bytes = secfix_io::manifest::kustomize::render(dir).map_err(|e| match e {
                    secfix_io::manifest::kustomize::RenderError::Input(m) => {
                        anyhow::Error::from(UsageError(m))
                    }
                    secfix_io::manifest::kustomize::RenderError::Tool(m) => anyhow::anyhow!(m),
                })?;
                let name = secfix_io::manifest::kustomize::display_name(dir);
                let rendered = secfix_io::inventory::Rendered {
                    name: &name,
                    bytes: &bytes,
                };
                secfix_io::inventory::collect_offline_from(
                    &mut collector,
                    &[],
                    Some(rendered),
                    keep.objects,
                    selector.as_ref(),
                )
            }
            None => collect_offline(
                &mut collector,
                &selection.files,
                keep.objects,
                selector.as_ref(),
            ),
        };
        return Ok(Collected {
            inventory: collector.finish(),
            source: Source::Offline(files),
            namespace: None,
        });
    }
    let conn = connect(&global.connect_options())
        .await
        .context("cannot connect to the cluster")?;
    Ok(collect_live_from(conn, selection, collector, keep, None).await)
}

/// Reads the cluster of `conn` as `selection` says, into `collector`. Progress goes on
/// `progress` when given (one line of several), else on a spinner of its own (on a terminal).
pub(crate) async fn collect_live_from(
    conn: Connection,
    selection: &Selection,
    collector: Collector,
    keep: Keep,
    progress: Option<&crate::ui::progress::Spinner>,
) -> Collected {
    let namespace = if selection.all_namespaces {
        None
    } else {
        Some(
            selection
                .namespace
                .clone()
                .unwrap_or_else(|| conn.default_namespace.clone()),
        )
    };
    let scope = Scope {
        namespace: namespace.clone(),
        label_selector: selection.selector.clone(),
    };
    let mut collector = collector;
    let include = &selection.include_kinds;
    let own;
    let line = match progress {
        Some(line) => line,
        None => {
            own = crate::ui::progress::Spinner::start("listing…");
            &own
        }
    };
    collect_live(&mut collector, &conn.client, scope, keep, include, &|m| {
        line.set(m)
    })
    .await;
    if progress.is_none() {
        line.clear();
    }
    Collected {
        inventory: collector.finish(),
        source: Source::Live(conn),
        namespace,
    }
}

/// The collector `selection` asks for (its options checked first).
pub(crate) fn collector(selection: &Selection, keep: Keep) -> anyhow::Result<Collector> {
    let opts = scan_options(selection);
    opts.validate()?;
    Ok(Collector::new(opts, keep))
}
