//! `kubectl secfix rollback DIR`: apply the saved inverses, newest first. Each inverse is
//! guarded by the `resourceVersion` the fix produced, so an object changed since is
//! reported and left alone, never overwritten.

use anyhow::Context as _;

use super::args::{DryRun, GlobalArgs, RollbackArgs};
use super::exit;
use secfix_io::cluster::apply::{delete_by_uid, patch_guarded};
use secfix_io::cluster::client::connect;
use secfix_io::cluster::journal::read_all_with;

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
    let mut failed = 0;
    let mut done = 0;
    for (path, rec) in records.iter().rev() {
        let target = &rec.target;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(inverse) = &rec.inverse {
            match patch_guarded(&conn.client, target, inverse, dry).await {
                Ok(_) => {
                    done += 1;
                    line(format!(
                        "{} {target} ({name})",
                        if dry { "validated" } else { "restored" }
                    ));
                }
                Err(e) => {
                    failed += 1;
                    line(format!("failed   {target} ({name}): {e}"));
                }
            }
        }
        // Newest first: a NetworkPolicy set's default deny goes before its allow policies,
        // so no moment has the deny without the allows.
        for c in rec.created.iter().rev() {
            let t = &c.target;
            if c.keep {
                line(format!(
                    "kept     {t}: the restored spec references it (delete it when no longer needed)"
                ));
                continue;
            }
            if dry {
                line(format!("would delete {t}"));
                continue;
            }
            match delete_by_uid(&conn.client, t, &c.uid).await {
                Ok(()) => {
                    done += 1;
                    line(format!("deleted  {t}"));
                }
                Err(e) => {
                    failed += 1;
                    line(format!("failed   {t}: {e}"));
                }
            }
        }
    }
    line(format!("{done} rolled back, {failed} failed"));
    Ok(if failed > 0 { exit::RUNTIME } else { exit::OK })
}

/// One line of the rollback report on stdout, control characters escaped (it quotes names
/// from the records and server errors).
fn line(text: String) {
    println!("{}", secfix_core::model::text::printable(&text));
}
