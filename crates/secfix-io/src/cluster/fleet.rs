//! Applying plans several at a time (issue 26), each one journaled so that a run killed at
//! any moment leaves records `rollback` replays exactly.
//!
//! Per object the order is fixed: server dry run, a *pending* record (on disk), the
//! write (each created object's uid recorded as soon as it exists), then the record marked
//! applied. A killed run leaves at most the objects in flight with pending records, which
//! `rollback` resolves against the live object (`fix::fleet::classify_pending`).

use std::future::Future;
use std::path::PathBuf;

use anyhow::Context as _;
use futures::StreamExt as _;
use kube::Client;

use super::apply::{self, ApplyError, Outcome};
use super::journal::{LazyJournal, Record};
use secfix_core::fix::Plan;
use secfix_core::fix::redact::Redactor;

/// A plan that was written.
#[derive(Debug, Default)]
pub struct Applied {
    /// Its record, when patches are saved.
    pub saved: Option<PathBuf>,
    /// Said about it although it was written (the record could not be marked applied).
    pub note: Option<String>,
}

/// Runs the journal's file I/O (small writes, synced) off the async workers' hot path.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

fn journal_error(plan: &Plan, e: &anyhow::Error) -> ApplyError {
    ApplyError {
        target: Box::new(plan.target.clone()),
        stage: "saving the rollback record",
        message: format!("{e:#}; nothing was written"),
        code: None,
    }
}

/// Applies one plan: the server dry run (or the result of one already sent, `dry`), then the
/// pending record, the write, and the record marked applied. A write that fails removes its
/// pending record again (it wrote nothing: a failed write deletes what it created).
pub async fn apply_journaled(
    client: &Client,
    plan: &Plan,
    journal: &LazyJournal,
    dry: Option<Result<Outcome, ApplyError>>,
) -> Result<Applied, ApplyError> {
    let dry = match dry {
        Some(d) => d?,
        None => apply::send(client, plan, true).await?,
    };
    // Only the first object opens (creates) the journal's directory, off the async worker:
    // handing the worker over for every object cost more than the rest of its journaling.
    let journal = if journal.needs_opening() {
        blocking(|| journal.get())
    } else {
        journal.get()
    }
    .map_err(|e| journal_error(plan, &e))?;
    let Some(j) = journal else {
        // Patches are not saved: no record to build or write.
        return apply::send(client, plan, false)
            .await
            .map(|_| Applied::default());
    };
    // Built once: the pending and the applied record both redact with it.
    let redactor = Redactor::for_plan(plan);
    let mut record = Record::pending(plan, &dry, &redactor);
    // Written on the async worker (a small file, not waited for on disk: cheaper than
    // handing it to another thread and back), then synced with the other records in flight.
    let p = j
        .write_unsynced(&record)
        .map_err(|e| journal_error(plan, &e))?;
    j.durable(&p)
        .await
        .with_context(|| format!("cannot sync {} to disk", p.display()))
        .map_err(|e| journal_error(plan, &e))?;
    // A created object's uid is saved before the next write (a failure to save it is
    // reported with the result: the write itself goes on, and the object is cleaned up if
    // the plan fails).
    let mut uid_error: Option<String> = None;
    let mut on_created = |c: &apply::Created| {
        record.created_now(c);
        if let Err(e) = blocking(|| j.replace(&p, &record)) {
            uid_error.get_or_insert(format!("{e:#}"));
        }
    };
    let sent = apply::send_recording(client, plan, false, &mut on_created).await;
    match sent {
        Ok(outcome) => {
            let done = record.applied(plan, &dry, &outcome, &redactor);
            // On the async worker: usually a 7-byte overwrite, never waited for on disk,
            // cheaper than handing it to another thread and back.
            let note = match (j.mark(&p, &record, done.as_ref()), uid_error) {
                (Ok(()), None) => None,
                (Ok(()), Some(e)) => Some(format!(
                    "applied; a created object's uid was saved late ({e})"
                )),
                (Err(e), _) => Some(format!(
                    "applied, but its rollback record is still marked pending ({e:#}); \
                     rollback checks the object and undoes it"
                )),
            };
            Ok(Applied {
                saved: Some(p),
                note,
            })
        }
        Err(e) => {
            let _ = off_thread(move || j.remove(&p)).await;
            Err(e)
        }
    }
}

/// Runs a journal write (small, synced to disk) on the blocking pool, so the other objects'
/// requests go on meanwhile and their syncs overlap.
async fn off_thread<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(h) => h
            .spawn_blocking(f)
            .await
            .map_err(|e| anyhow::anyhow!("the journal write stopped: {e}"))?,
        Err(_) => f(),
    }
}

/// Runs `work` for every item of `items`, at most `parallel` at once, started in order;
/// `done` gets each result in the items' order, as soon as it and every earlier one are
/// finished (so what it prints is the same whatever finishes first).
pub async fn in_order<I, T, F, Fut>(
    items: impl IntoIterator<Item = I>,
    parallel: usize,
    work: F,
    mut done: impl FnMut(T),
) where
    F: Fn(I) -> Fut,
    Fut: Future<Output = T>,
{
    let mut pending: std::collections::BTreeMap<usize, T> = std::collections::BTreeMap::new();
    let mut next = 0usize;
    let mut results = futures::stream::iter(items.into_iter().enumerate())
        .map(|(i, item)| {
            let fut = work(item);
            async move { (i, fut.await) }
        })
        .buffer_unordered(parallel.max(1));
    while let Some((i, out)) = results.next().await {
        pending.insert(i, out);
        while let Some(out) = pending.remove(&next) {
            done(out);
            next += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// covers issue #26: results come out in the items' order whatever finishes first, and
    /// no more than `parallel` run at once.
    #[tokio::test]
    async fn results_come_in_order_with_a_bounded_number_in_flight() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let mut seen = Vec::new();
        in_order(
            0..20u64,
            3,
            |i| {
                let (running, peak) = (&running, &peak);
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis((20 - i) % 7)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    i
                }
            },
            |i| seen.push(i),
        )
        .await;
        assert_eq!(seen, (0..20).collect::<Vec<_>>());
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }
}
