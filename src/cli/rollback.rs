//! `kubectl secfix rollback DIR`: apply the saved inverses, newest first, `--parallel N`
//! objects at once (the records of one object in order). Each inverse is guarded by the
//! content the fix left (see `cluster::apply::patch_guarded`), so an object changed since is
//! reported and left alone, never overwritten. A record a killed `fix` left pending is
//! resolved against the object first (`fix::fleet::classify_pending`).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use kube::Client;

use super::args::{DryRun, GlobalArgs, RollbackArgs};
use super::exit;
use crate::ui::progress::Tally;
use secfix_core::fix::Target;
use secfix_core::fix::fleet::{Pending, classify_pending, independent_groups};
use secfix_io::cluster::apply::{delete_by_uid, get, patch_guarded};
use secfix_io::cluster::client::connect;
use secfix_io::cluster::journal::{Record, State, read_all_with};

pub async fn run(global: &GlobalArgs, args: &RollbackArgs) -> anyhow::Result<u8> {
    if args.dry_run == DryRun::Client {
        return Err(super::UsageError("rollback supports --dry-run=server or none".into()).into());
    }
    // Read and check every record before the first write.
    let records = read_all_with(&args.dir, &args.include_kinds)
        .map_err(|e| super::UsageError(format!("{e:#}")))?;
    let conn = connect(&global.connect_options())
        .await
        .context("cannot connect to the cluster")?;
    let dry = args.dry_run == DryRun::Server;
    // Kinds a fix reached through discovery (Argo Rollouts, …) are found again the same way.
    for (_, rec) in &records {
        let targets = std::iter::once(&rec.target).chain(rec.created.iter().map(|c| &c.target));
        for t in targets {
            if let Err(e) =
                secfix_io::cluster::discovery::ensure_known(&conn.client, &t.api_version, &t.kind)
                    .await
            {
                super::say("warning", format!("{t}: {e}"));
            }
        }
    }
    // Newest first; records that touch the same object stay in that order, one after the
    // other, while other objects are rolled back beside them.
    let newest_first: Vec<&(PathBuf, Record)> = records.iter().rev().collect();
    let keys: Vec<Vec<&Target>> = newest_first
        .iter()
        .map(|(_, rec)| {
            std::iter::once(&rec.target)
                .chain(rec.created.iter().map(|c| &c.target))
                .collect()
        })
        .collect();
    let groups = independent_groups(&keys);
    let tally = Tally::new(records.len(), "rolled back");
    let (mut failed, mut done) = (0, 0);
    let (client, tally_ref, newest_first) = (&conn.client, &tally, &newest_first);
    secfix_io::cluster::fleet::in_order(
        groups,
        usize::from(args.parallel.n),
        |group: Vec<usize>| async move {
            let mut reports = Vec::with_capacity(group.len());
            for i in group {
                let (path, rec) = newest_first[i];
                let report = roll_back(client, path, rec, dry).await;
                if report.failed > 0 {
                    tally_ref.failed();
                } else {
                    tally_ref.done();
                }
                reports.push(report);
            }
            reports
        },
        |reports| {
            tally.suspend(|| {
                for r in reports {
                    done += r.done;
                    failed += r.failed;
                    for l in r.lines {
                        line(l);
                    }
                }
            })
        },
    )
    .await;
    tally.finish();
    line(format!("{done} rolled back, {failed} failed"));
    Ok(if failed > 0 { exit::RUNTIME } else { exit::OK })
}

/// What rolling back one record did: its lines for stdout, and the counts.
#[derive(Default)]
struct Report {
    lines: Vec<String>,
    done: usize,
    failed: usize,
}

/// Rolls back one record: its inverse (a pending record's only once the object shows the
/// patch went through), then the objects it created, newest first.
async fn roll_back(client: &Client, path: &Path, rec: &Record, dry: bool) -> Report {
    let mut r = Report::default();
    let target = &rec.target;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let pending = rec.state == State::Pending;
    if let Some(inverse) = &rec.inverse {
        let decision = match (&rec.forward, pending) {
            (Some(forward), true) => match get(client, target).await {
                Ok(Some(live)) => classify_pending(forward, inverse, &live),
                Ok(None) => Pending::Changed("the object (it is gone)".into()),
                Err(e) => {
                    r.failed += 1;
                    r.lines.push(format!("failed   {target} ({name}): {e}"));
                    return r;
                }
            },
            _ => Pending::Applied,
        };
        match decision {
            Pending::Applied => match patch_guarded(client, target, inverse, dry).await {
                Ok(_) => {
                    r.done += 1;
                    r.lines.push(format!(
                        "{} {target} ({name})",
                        if dry { "validated" } else { "restored" }
                    ));
                }
                Err(e) => {
                    r.failed += 1;
                    r.lines.push(format!("failed   {target} ({name}): {e}"));
                }
            },
            Pending::NotApplied => r.lines.push(format!(
                "not applied {target} ({name}): the fix run stopped before this patch was \
                 written; nothing to undo"
            )),
            Pending::Changed(at) => {
                r.failed += 1;
                r.lines.push(format!(
                    "refused  {target} ({name}): the fix run stopped while writing it, and {} \
                     is neither what the fix read nor what it wrote: changed by someone else; \
                     not rolled back, nothing was written",
                    secfix_core::model::text::printable(&at)
                ));
                for c in &rec.created {
                    r.lines.push(format!(
                        "kept     {}: created for that fix; delete it when no longer needed",
                        c.target
                    ));
                }
                return r;
            }
        }
    }
    // Newest first: a NetworkPolicy set's default deny goes before its allow policies,
    // so no moment has the deny without the allows.
    for c in rec.created.iter().rev() {
        let t = &c.target;
        if c.keep {
            r.lines.push(format!(
                "kept     {t}: the restored spec references it (delete it when no longer needed)"
            ));
            continue;
        }
        if c.uid.is_empty() {
            // A pending record: the run stopped before this object was created, or while it
            // was (then its uid was never saved, and it is not deleted blindly).
            match get(client, t).await {
                Ok(None) => r
                    .lines
                    .push(format!("not created {t}: the fix run stopped before it")),
                Ok(Some(_)) => {
                    r.failed += 1;
                    r.lines.push(format!(
                        "unknown  {t} ({name}): the fix run stopped while creating it, so its \
                         uid was not saved and it is not deleted; if the fix created it, \
                         `kubectl delete {} -n {} {}`",
                        t.kind.to_lowercase(),
                        t.namespace,
                        t.name
                    ));
                }
                Err(e) => {
                    r.failed += 1;
                    r.lines.push(format!("failed   {t}: {e}"));
                }
            }
            continue;
        }
        if dry {
            r.lines.push(format!("would delete {t}"));
            continue;
        }
        match delete_by_uid(client, t, &c.uid).await {
            Ok(()) => {
                r.done += 1;
                r.lines.push(format!("deleted  {t}"));
            }
            Err(e) => {
                r.failed += 1;
                r.lines.push(format!("failed   {t}: {e}"));
            }
        }
    }
    r
}

/// One line of the rollback report on stdout, control characters escaped (it quotes names
/// from the records and server errors).
fn line(text: String) {
    println!("{}", secfix_core::model::text::printable(&text));
}
