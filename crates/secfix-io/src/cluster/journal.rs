//! Saved patches: one JSON file per applied plan, holding the forward patch and its
//! inverse, so `kubectl secfix rollback DIR` can undo the run.
//!
//! Files are written `0600` in a `0700` directory (one `fix` creates; an existing directory
//! keeps its mode): they name Secrets (never their values). Each file is written to a
//! temporary name and linked into place, so a crash never leaves half a record and an
//! existing record is never overwritten. `rollback` trusts nothing it reads: see
//! [`read_all`].

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use json_patch::PatchOperation;
use serde_json::Value;

use super::apply::Outcome;
use secfix_core::fix::redact::Redactor;
use secfix_core::fix::{Plan, Target};
use secfix_core::model::WorkloadKind;

pub(crate) const RECORD_API_VERSION: &str = "secfix.dev/v1";
pub(crate) const RECORD_KIND: &str = "FixRecord";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub api_version: String,
    pub kind: String,
    pub target: Target,
    /// The check ids fixed.
    pub checks: Vec<String>,
    /// The patch that was applied: `test` ops on the pod spec the fix read, then the ops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward: Option<json_patch::Patch>,
    /// The patch that undoes it: `test` ops on the pod spec as the fix left it, then the
    /// ops. No `resourceVersion`: status writes and scaling leave it valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inverse: Option<json_patch::Patch>,
    /// Objects the fix created; rollback deletes those not marked `keep`.
    #[serde(default)]
    pub created: Vec<CreatedRecord>,
    /// `pending`: written before the patch was sent and not yet marked applied (the run was
    /// killed in between, or is still going). Absent in applied records (and in those of
    /// older versions). See [`Record::pending`].
    #[serde(default, skip_serializing_if = "State::is_applied")]
    pub state: State,
}

/// Whether a record's write is known to have happened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    #[default]
    Applied,
    /// Saved before the write; rollback decides from the object what happened
    /// ([`secfix_core::fix::fleet::classify_pending`]).
    Pending,
}

impl State {
    fn is_applied(&self) -> bool {
        *self == State::Applied
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedRecord {
    pub target: Target,
    pub uid: String,
    /// Rollback leaves it in place (see `apply::Created::keep_on_rollback`).
    pub keep: bool,
}

impl Record {
    /// The record of `plan` written with `outcome`; `redactor` is the plan's
    /// ([`Redactor::for_plan`], built once per object by the caller).
    pub fn new(plan: &Plan, outcome: &Outcome, redactor: &Redactor) -> Self {
        let mut checks: Vec<String> = plan
            .findings
            .iter()
            .map(|f| f.check.as_str().to_string())
            .collect();
        checks.dedup();
        Record {
            api_version: RECORD_API_VERSION.into(),
            kind: RECORD_KIND.into(),
            target: plan.target.clone(),
            checks,
            // Saved as shown: values redacted, the last-applied annotation included (issue
            // #22). Rollback reads only the inverse.
            forward: plan
                .display_patch_with(redactor)
                .and_then(|p| serde_json::from_value(p).ok()),
            inverse: inverse_of(plan, outcome, redactor),
            created: created_of(outcome),
            state: State::Applied,
        }
    }

    /// This pending record, built from the dry run `dry`, once its write succeeded with
    /// `outcome`: the inverse taken from the object the write returned and the created
    /// objects, marked applied. The forward patch is the one already recorded (built once per
    /// object: at fleet scale each redacted copy costs).
    ///
    /// `None` when only the state changes (the usual case): the write returned the object
    /// its dry run did, so the inverse, which reads nothing else, is the one recorded, and
    /// created what the record lists. Nothing is then built or compared ([`Journal::mark`]).
    pub fn applied(
        &self,
        plan: &Plan,
        dry: &Outcome,
        outcome: &Outcome,
        redactor: &Redactor,
    ) -> Option<Self> {
        let same_object = match (&dry.after, &outcome.after) {
            (Some(d), Some(o)) => same_but_resource_version(d, o),
            _ => false,
        };
        let created = created_of(outcome);
        if same_object && created == self.created {
            return None;
        }
        Some(Record {
            inverse: if same_object {
                self.inverse.clone()
            } else {
                inverse_of(plan, outcome, redactor)
            },
            created,
            state: State::Applied,
            ..self.clone()
        })
    }

    /// Whether `other` is this record but for its state.
    fn same_but_state(&self, other: &Record) -> bool {
        let Record {
            api_version,
            kind,
            target,
            checks,
            forward,
            inverse,
            created,
            state: _,
        } = self;
        *api_version == other.api_version
            && *kind == other.kind
            && *target == other.target
            && *checks == other.checks
            && *forward == other.forward
            && *inverse == other.inverse
            && *created == other.created
    }

    /// The record saved before the plan's real write, from its server dry run (`dry`): the
    /// inverse is taken from the object the dry run returned (what the write will leave, with
    /// the server's defaults), created objects are listed with no uid until the write
    /// creates them ([`Record::created_now`]).
    pub fn pending(plan: &Plan, dry: &Outcome, redactor: &Redactor) -> Self {
        let mut rec = Record::new(plan, dry, redactor);
        rec.state = State::Pending;
        for c in &mut rec.created {
            c.uid.clear();
        }
        rec
    }

    /// A pending record once `created` exists: its uid is recorded (so rollback can delete it
    /// even if the run is killed before the patch).
    pub fn created_now(&mut self, created: &super::apply::Created) {
        match self
            .created
            .iter_mut()
            .find(|c| c.target == created.target && c.uid.is_empty())
        {
            Some(c) => c.uid = created.uid.clone(),
            None => self.created.push(CreatedRecord {
                target: created.target.clone(),
                uid: created.uid.clone(),
                keep: created.keep_on_rollback,
            }),
        }
    }
}

/// A directory of records being written.
pub(crate) struct Journal {
    dir: PathBuf,
    /// The next record number (shared by concurrent writers).
    next: std::sync::atomic::AtomicUsize,
    /// Syncs making the records durable, shared by the writers in flight (Linux).
    #[cfg(target_os = "linux")]
    synced: std::sync::Arc<GroupSync>,
    /// The files written since the last sync began: the next one syncs them (Linux).
    #[cfg(target_os = "linux")]
    unsynced: Unsynced,
    /// Records are written as unnamed files, then linked under their name (Linux's
    /// `O_TMPFILE`); cleared the first time the file system refuses.
    #[cfg(target_os = "linux")]
    unnamed_files: std::sync::atomic::AtomicBool,
}

impl Journal {
    /// Creates `dir` (mode 0700) if needed; an existing directory keeps its mode (it is not
    /// ours to change). Numbering continues after the highest existing record number.
    /// Another run creating `dir` at the same moment is fine: both write into it, and no
    /// record of one replaces a record of the other ([`Journal::write`]).
    pub(crate) fn open(dir: &Path) -> anyhow::Result<Self> {
        if !dir.is_dir() {
            match create_dir_and_parents(dir) {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => {}
                r => r.with_context(|| {
                    format!("--save-patches {}: cannot create directory", dir.display())
                })?,
            }
        }
        Self::opened(dir)
    }

    /// Creates a new directory of this run's own: `dir`, or when that exists (another run
    /// started in the same second) `dir-2`, `dir-3`, … Records of two runs never share a
    /// directory, so rolling one back never touches the other.
    pub(crate) fn open_new(dir: &Path) -> anyhow::Result<Self> {
        for n in 1usize.. {
            let candidate = if n == 1 {
                dir.to_path_buf()
            } else {
                let mut name = dir.as_os_str().to_owned();
                name.push(format!("-{n}"));
                PathBuf::from(name)
            };
            match create_dir_and_parents(&candidate) {
                Ok(()) => return Self::opened(&candidate),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!(
                            "--save-patches {}: cannot create directory",
                            candidate.display()
                        )
                    });
                }
            }
        }
        unreachable!("some suffix is free")
    }

    /// The journal of the existing directory `dir`.
    fn opened(dir: &Path) -> anyhow::Result<Self> {
        let next = list(dir)?
            .iter()
            .filter_map(|p| record_number(p))
            .max()
            .unwrap_or(0)
            + 1;
        #[cfg(target_os = "linux")]
        let unsynced = Unsynced::default();
        #[cfg(target_os = "linux")]
        let synced = {
            let d = fs::File::open(dir)
                .with_context(|| format!("cannot open directory {}", dir.display()))?;
            let files = unsynced.clone();
            GroupSync::new(move || files.sync_with(&d))
        };
        Ok(Journal {
            dir: dir.to_path_buf(),
            next: next.into(),
            #[cfg(target_os = "linux")]
            synced,
            #[cfg(target_os = "linux")]
            unsynced,
            #[cfg(target_os = "linux")]
            unnamed_files: true.into(),
        })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes one record as `NNN-kind-namespace-name.json` (mode 0600, on disk before this
    /// returns: [`Journal::make_durable`]). An existing file is never replaced: the number
    /// moves on until a free name is found. Safe to call from several threads at once.
    #[cfg(test)]
    pub(crate) fn write(&self, record: &Record) -> anyhow::Result<PathBuf> {
        let path = self.write_unsynced(record)?;
        self.make_durable(&path)
            .with_context(|| format!("cannot sync {} to disk", path.display()))?;
        Ok(path)
    }

    /// [`Journal::write`] but for the sync: the record survives a killed process as soon as
    /// this returns, and a crash of the machine once [`Journal::durable`] has returned. It
    /// appears whole or not at all: written unnamed (or under a temporary name), then
    /// linked under its own.
    pub(crate) fn write_unsynced(&self, record: &Record) -> anyhow::Result<PathBuf> {
        let body = record_body(record)?;
        #[cfg(target_os = "linux")]
        if self
            .unnamed_files
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            match unnamed::write(&self.dir, &body) {
                Ok(f) => {
                    let link = |path: &Path| unnamed::link(&f, path);
                    if let Some(path) = self.link_numbered(record, link, unnamed::unsupported)? {
                        self.unsynced.add(f);
                        return Ok(path);
                    }
                }
                Err(e) if unnamed::unsupported(&e) => {}
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("cannot write in {}", self.dir.display()));
                }
            }
            // This file system (or a missing /proc) does not do it: named temporary files.
            self.unnamed_files
                .store(false, std::sync::atomic::Ordering::Relaxed);
        }
        let tmp = self.temp_file(&body)?;
        let linked = self.link_numbered(record, |path| fs::hard_link(&tmp, path), |_| false);
        let _ = fs::remove_file(&tmp);
        let path = linked?.ok_or_else(|| anyhow::anyhow!("cannot link {}", tmp.display()))?;
        self.to_sync(&path)?;
        Ok(path)
    }

    /// The file at `path`, just written, is synced by the next sync (on Linux, where a sync
    /// takes the files handed to it; elsewhere [`Journal::make_durable`] syncs it by name).
    fn to_sync(&self, path: &Path) -> anyhow::Result<()> {
        #[cfg(target_os = "linux")]
        self.unsynced
            .add(fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?);
        #[cfg(not(target_os = "linux"))]
        let _ = path;
        Ok(())
    }

    /// Links a record's file under the next free `NNN-…` name with `link`: `None` when its
    /// error is one `unsupported` says means that kind of file cannot be linked here. A name
    /// that exists is never replaced (the link fails and the number moves on).
    fn link_numbered(
        &self,
        record: &Record,
        link: impl Fn(&Path) -> std::io::Result<()>,
        unsupported: impl Fn(&std::io::Error) -> bool,
    ) -> anyhow::Result<Option<PathBuf>> {
        use std::sync::atomic::Ordering::SeqCst;
        loop {
            let path = self.dir.join(record_file_name(
                self.next.fetch_add(1, SeqCst),
                &record.target,
            ));
            match link(&path) {
                Ok(()) => return Ok(Some(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) if unsupported(&e) => return Ok(None),
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot write {}", path.display()));
                }
            }
        }
    }

    /// Returns once what was written so far (by [`Journal::write_unsynced`]) is on disk;
    /// the wait does not hold an async worker. On Linux the writers in flight share the
    /// sync ([`GroupSync::sync_async`]) of the files written so far ([`Unsynced`]).
    pub(crate) async fn durable(&self, path: &Path) -> std::io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            let _ = path;
            self.synced.sync_async().await
        }
        #[cfg(not(target_os = "linux"))]
        {
            let (path, dir) = (path.to_path_buf(), self.dir.clone());
            tokio::task::spawn_blocking(move || sync_file_and_dir(&path, &dir))
                .await
                .map_err(std::io::Error::other)?
        }
    }

    /// Replaces the record at `path`, one this journal wrote (a pending record given a created
    /// object's uid), on disk before this returns: written beside it and renamed over it, so
    /// a crash leaves the old record or the new one, never half of one.
    pub(crate) fn replace(&self, path: &Path, record: &Record) -> anyhow::Result<()> {
        let tmp = self.temp_file(&record_body(record)?)?;
        fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
        self.to_sync(path)?;
        self.make_durable(path)
            .with_context(|| format!("cannot sync {} to disk", path.display()))
    }

    /// Marks the pending record at `path` (`pending`, as last written) applied as `done`
    /// (`None`: `pending` itself, [`Record::applied`]), without waiting for the disk: should
    /// the machine itself crash before the data reaches the disk, the record is still the
    /// pending one, which `rollback` resolves from the object just as well.
    ///
    /// When `done` is `pending` but for its state (the usual case: the write left what its
    /// dry run said), only the state's 7 bytes change, `pending` → `applied`, overwritten in
    /// place with one write a killed run cannot tear. Otherwise the new record is written
    /// beside it and renamed over it (atomic: a killed run leaves one record or the other).
    /// Overwriting in place frees no inode: replacing one file per object made every new
    /// file of a large run slower to create on ext4 (its allocator skips recently freed
    /// inodes one by one), a third of `fix`'s own CPU at 1,000 objects.
    pub(crate) fn mark(
        &self,
        path: &Path,
        pending: &Record,
        done: Option<&Record>,
    ) -> anyhow::Result<()> {
        let only_the_state = match done {
            None => true,
            Some(done) => done.state == State::Applied && pending.same_but_state(done),
        };
        if pending.state == State::Pending && only_the_state && overwrite_state(path).is_ok() {
            return Ok(());
        }
        let done = match done {
            Some(done) => done.clone(),
            None => Record {
                state: State::Applied,
                ..pending.clone()
            },
        };
        let tmp = self.temp_file(&record_body(&done)?)?;
        fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Removes the record at `path`, one this journal wrote (a pending record whose write
    /// failed and wrote nothing).
    pub(crate) fn remove(&self, path: &Path) -> anyhow::Result<()> {
        fs::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))?;
        // Best effort: a removal lost in a crash leaves a pending record of a write that never
        // happened, which rollback resolves from the object.
        let _ = self.make_durable(&self.dir);
        Ok(())
    }

    /// Returns once the record just written or renamed at `path` is on disk, content and
    /// name, so it survives a crash of the machine (a killed process needs no more than the
    /// write itself).
    ///
    /// On Linux one sync does it for every record written so far, and the writers in flight
    /// share it (group commit, [`GroupSync`]): the files handed to it since the last one
    /// ([`Journal::to_sync`]), then the directory ([`Unsynced::sync_with`]). Elsewhere the
    /// file and the directory are synced.
    fn make_durable(&self, path: &Path) -> std::io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            let _ = path;
            self.synced.sync()
        }
        #[cfg(not(target_os = "linux"))]
        sync_file_and_dir(path, &self.dir)
    }

    /// `body` in a new temporary file of the directory (mode 0600; [`Journal::make_durable`]
    /// syncs it once it has its name).
    fn temp_file(&self, body: &[u8]) -> anyhow::Result<PathBuf> {
        static TMP: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let tmp = self.dir.join(format!(
            ".{}-{}.tmp",
            std::process::id(),
            TMP.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        let _ = fs::remove_file(&tmp);
        let mut f = open_private(&tmp)?;
        f.write_all(body)?;
        Ok(tmp)
    }
}

/// The inverse patch of `plan`, guarded by the object the server returned.
fn inverse_of(plan: &Plan, outcome: &Outcome, redactor: &Redactor) -> Option<json_patch::Patch> {
    outcome
        .after
        .as_ref()
        .and_then(|after| plan.inverse_patch_with(redactor, after))
}

/// Whether two versions of an object are the same but for `metadata.resourceVersion` (a dry
/// run's and its write's: everything an inverse patch is built from is then the same).
fn same_but_resource_version(a: &Value, b: &Value) -> bool {
    use serde_json::Map;
    /// `m`'s members but `resourceVersion`, all in `other`, with as many members.
    fn same_but_version(m: &Map<String, Value>, other: &Map<String, Value>) -> bool {
        let members =
            |m: &Map<String, Value>| m.len() - usize::from(m.contains_key("resourceVersion"));
        members(m) == members(other)
            && m.iter()
                .filter(|(k, _)| *k != "resourceVersion")
                .all(|(k, v)| other.get(k) == Some(v))
    }
    match (a.as_object(), b.as_object()) {
        (Some(a), Some(b)) => {
            a.len() == b.len()
                && a.iter().all(|(k, va)| match (b.get(k), k.as_str()) {
                    (Some(vb), "metadata") => match (va.as_object(), vb.as_object()) {
                        (Some(ma), Some(mb)) => same_but_version(ma, mb),
                        _ => va == vb,
                    },
                    (vb, _) => vb == Some(va),
                })
        }
        _ => a == b,
    }
}

/// What `outcome` created, as records.
fn created_of(outcome: &Outcome) -> Vec<CreatedRecord> {
    outcome
        .created
        .iter()
        .map(|c| CreatedRecord {
            target: c.target.clone(),
            uid: c.uid.clone(),
            keep: c.keep_on_rollback,
        })
        .collect()
}

/// A record's file: pretty JSON and a newline.
fn record_body(record: &Record) -> anyhow::Result<Vec<u8>> {
    let mut body = serde_json::to_vec_pretty(record)?;
    body.push(b'\n');
    Ok(body)
}

/// The end of a pending record's file (`state` is the record's last field), and where in it
/// the state's value starts.
const PENDING_TAIL: &[u8] = b"  \"state\": \"pending\"\n}\n";
const STATE_IN_TAIL: u64 = 12;

/// Overwrites `pending` with `applied` at the end of the pending record at `path`; an error
/// when the file does not end as a pending record does.
#[cfg(unix)]
fn overwrite_state(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt as _;
    let f = fs::OpenOptions::new().read(true).write(true).open(path)?;
    let at = f
        .metadata()?
        .len()
        .checked_sub(PENDING_TAIL.len() as u64)
        .ok_or_else(|| std::io::Error::other("not a pending record"))?;
    let mut tail = [0u8; PENDING_TAIL.len()];
    f.read_exact_at(&mut tail, at)?;
    if tail != *PENDING_TAIL {
        return Err(std::io::Error::other("not a pending record"));
    }
    match f.write_at(b"applied", at + STATE_IN_TAIL)? {
        7 => Ok(()),
        _ => Err(std::io::Error::other("short write")),
    }
}

#[cfg(not(unix))]
fn overwrite_state(_: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other("rewritten whole"))
}

/// The records written since the last sync began, kept open for the next one.
///
/// A sync flushes these files and the journal's directory, nothing else: a `syncfs` of the
/// whole file system took the same time on a quiet disk, but waited for everything any
/// other program had written (a build beside the fix made it 30 times slower per record).
#[cfg(target_os = "linux")]
#[derive(Clone, Default)]
struct Unsynced(std::sync::Arc<std::sync::Mutex<Vec<fs::File>>>);

#[cfg(target_os = "linux")]
impl Unsynced {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<fs::File>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `f` is synced by the next sync to begin.
    fn add(&self, f: fs::File) {
        self.lock().push(f);
    }

    /// Syncs the data of every file added before this call, then `dir` (the names linked or
    /// renamed into it). A file that fails fails the sync; the files after it are not
    /// retried (their writers fail with it).
    fn sync_with(&self, dir: &fs::File) -> std::io::Result<()> {
        let files = std::mem::take(&mut *self.lock());
        for f in &files {
            f.sync_data()?;
        }
        dir.sync_all()
    }
}

/// Syncs the file `path` (unless it is `dir` itself), then the directory `dir`, so a name
/// linked or renamed into it survives a crash of the machine (a killed process needs no more
/// than the write itself). The directory's sync is best effort.
#[cfg(not(target_os = "linux"))]
fn sync_file_and_dir(path: &Path, dir: &Path) -> std::io::Result<()> {
    if path != dir {
        fs::File::open(path)?.sync_all()?;
    }
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Group commit: callers that need a sync done after their change share one. A caller's
/// change is covered by a sync that started after it asked; one runs at a time, and whoever
/// asks while none runs starts the next, covering everyone who asked before it started.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
struct GroupSync {
    state: std::sync::Mutex<SyncState>,
    /// Blocking callers wait on it for the running sync to end.
    finished: std::sync::Condvar,
    /// Counts the syncs that ended: async callers wait on it.
    ended: tokio::sync::watch::Sender<u64>,
    /// The sync.
    run: Box<dyn Fn() -> std::io::Result<()> + Send + Sync>,
}

#[derive(Default)]
struct SyncState {
    /// Callers so far, numbered from 1.
    asked: u64,
    /// Every caller up to this number is covered.
    covered: u64,
    running: bool,
    /// How the last sync ended (an error's kind and text).
    failed: Option<(std::io::ErrorKind, String)>,
}

impl SyncState {
    /// How the sync that covered a caller ended: the last one to end (a later sync that
    /// failed fails those it covered, and everyone still waiting).
    fn outcome(&self) -> std::io::Result<()> {
        match &self.failed {
            None => Ok(()),
            Some((kind, text)) => Err(std::io::Error::new(*kind, text.clone())),
        }
    }
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
impl GroupSync {
    fn new(run: impl Fn() -> std::io::Result<()> + Send + Sync + 'static) -> std::sync::Arc<Self> {
        std::sync::Arc::new(GroupSync {
            state: Default::default(),
            finished: Default::default(),
            ended: tokio::sync::watch::Sender::new(0),
            run: Box::new(run),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SyncState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A caller's number.
    fn ask(&self) -> u64 {
        let mut st = self.lock();
        st.asked += 1;
        st.asked
    }

    /// Runs one sync, covering the callers up to `covers`, and tells everyone waiting.
    fn run_one(&self, covers: u64) {
        let ended = (self.run)();
        let mut st = self.lock();
        st.running = false;
        st.covered = st.covered.max(covers);
        st.failed = ended.err().map(|e| (e.kind(), e.to_string()));
        drop(st);
        self.finished.notify_all();
        self.ended.send_modify(|n| *n += 1);
    }

    /// Returns once a sync that started after this call has finished, with how the last
    /// one to finish ended.
    fn sync(&self) -> std::io::Result<()> {
        let mine = self.ask();
        let mut st = self.lock();
        loop {
            if st.covered >= mine {
                return st.outcome();
            }
            if st.running {
                st = self
                    .finished
                    .wait(st)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                continue;
            }
            st.running = true;
            let covers = st.asked;
            drop(st);
            self.run_one(covers);
            st = self.lock();
        }
    }

    /// [`GroupSync::sync`] for async callers: the sync runs on the blocking pool and the
    /// wait holds no thread. Before it starts one, the caller lets the other tasks run once,
    /// so those whose responses are in write their records first and share it (at 1,000
    /// objects, syncs rarely coincide otherwise: one per record).
    async fn sync_async(self: &std::sync::Arc<Self>) -> std::io::Result<()> {
        let mine = self.ask();
        tokio::task::yield_now().await;
        loop {
            // Subscribed before the state is read: a sync ending in between is not missed.
            let mut ended = self.ended.subscribe();
            // `Some(covers)`: this caller starts the next sync, covering callers up to it.
            let start = {
                let mut st = self.lock();
                if st.covered >= mine {
                    return st.outcome();
                }
                (!st.running).then(|| {
                    st.running = true;
                    st.asked
                })
            };
            match start {
                Some(covers) => {
                    // The task publishes its end itself: a caller dropped meanwhile (the run
                    // interrupted) leaves no sync marked running forever.
                    let me = std::sync::Arc::clone(self);
                    tokio::task::spawn_blocking(move || me.run_one(covers))
                        .await
                        .map_err(std::io::Error::other)?;
                }
                None => ended.changed().await.map_err(std::io::Error::other)?,
            }
        }
    }
}

/// Records written as unnamed files (`O_TMPFILE`) and linked under their name through
/// `/proc/self/fd`: a record appears whole or not at all, with no temporary name to remove
/// (two fewer directory changes per object than a named temporary file).
#[cfg(target_os = "linux")]
mod unnamed {
    use std::fs;
    use std::io::Write as _;
    use std::path::Path;

    /// `body` in a new unnamed file of `dir`, mode 0600.
    pub(super) fn write(dir: &Path, body: &[u8]) -> std::io::Result<fs::File> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut f = fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_TMPFILE)
            .mode(0o600)
            .open(dir)?;
        f.write_all(body)?;
        Ok(f)
    }

    /// Gives the unnamed file `f` the name `path`; fails if it exists.
    pub(super) fn link(f: &fs::File, path: &Path) -> std::io::Result<()> {
        use std::os::fd::AsRawFd as _;
        use std::os::unix::ffi::OsStrExt as _;
        let from = std::ffi::CString::new(format!("/proc/self/fd/{}", f.as_raw_fd()))
            .map_err(std::io::Error::other)?;
        let to =
            std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
        // SAFETY: both paths are NUL-terminated strings that outlive the call, and `f` keeps
        // the descriptor named by `from` open.
        let rc = unsafe {
            libc::linkat(
                libc::AT_FDCWD,
                from.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                libc::AT_SYMLINK_FOLLOW,
            )
        };
        match rc {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        }
    }

    /// Errors that mean this file system or system does not do unnamed files (or `/proc`
    /// is missing): records are then written under a temporary name.
    pub(super) fn unsupported(e: &std::io::Error) -> bool {
        matches!(
            e.raw_os_error(),
            Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL | libc::ENOENT | libc::EXDEV)
        )
    }
}

/// `NNN-kind-namespace-name.json`.
fn record_file_name(n: usize, t: &Target) -> String {
    format!(
        "{n:03}-{}-{}-{}.json",
        t.kind.to_lowercase(),
        t.namespace,
        t.name
    )
}

/// The `NNN` of a record file name.
fn record_number(p: &Path) -> Option<usize> {
    let name = p.file_name()?.to_str()?;
    let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// A journal opened when the first record is written, so a run that applies nothing leaves
/// nothing behind ([`LazyJournal::new_dir`]); or at once, so an unusable directory stops a
/// run before anything is written ([`LazyJournal::at`]).
pub struct LazyJournal {
    saving: Saving,
    journal: std::sync::OnceLock<std::sync::Arc<Journal>>,
    /// Held while the directory is being opened (created) by the first writer.
    opening: std::sync::Mutex<()>,
}

/// Where a [`LazyJournal`] saves records.
enum Saving {
    Nothing,
    /// In this directory, created if needed ([`Journal::open`]).
    In(PathBuf),
    /// In a new directory of this name, or the next free `-N` ([`Journal::open_new`]).
    InNew(PathBuf),
}

impl LazyJournal {
    /// Saves nothing.
    pub fn none() -> Self {
        Self::with(Saving::Nothing)
    }

    /// The journal in `dir` (an explicit `--save-patches DIR`), opened (created) now, so an
    /// unusable directory stops the run before anything is written.
    pub fn at(dir: PathBuf) -> anyhow::Result<Self> {
        let lazy = Self::with(Saving::In(dir));
        lazy.get()?;
        Ok(lazy)
    }

    /// A journal in a new directory of this run's own, created on first use: `dir`, or
    /// `dir-2`, … when another run already has it ([`Journal::open_new`]).
    pub fn new_dir(dir: PathBuf) -> Self {
        Self::with(Saving::InNew(dir))
    }

    fn with(saving: Saving) -> Self {
        LazyJournal {
            saving,
            journal: std::sync::OnceLock::new(),
            opening: std::sync::Mutex::new(()),
        }
    }

    /// Whether [`LazyJournal::get`] would open (create) the directory: patches are saved and
    /// nothing opened it yet.
    pub(crate) fn needs_opening(&self) -> bool {
        !matches!(self.saving, Saving::Nothing) && self.journal.get().is_none()
    }

    /// The journal, opened on first use; `None` when patches are not being saved.
    pub(crate) fn get(&self) -> anyhow::Result<Option<std::sync::Arc<Journal>>> {
        let (dir, open): (&Path, fn(&Path) -> anyhow::Result<Journal>) = match &self.saving {
            Saving::Nothing => return Ok(None),
            Saving::In(dir) => (dir, Journal::open),
            Saving::InNew(dir) => (dir, Journal::open_new),
        };
        if let Some(j) = self.journal.get() {
            return Ok(Some(j.clone()));
        }
        let _held = self.opening.lock().unwrap_or_else(|e| e.into_inner());
        if self.journal.get().is_none() {
            let _ = self.journal.set(std::sync::Arc::new(open(dir)?));
        }
        Ok(self.journal.get().cloned())
    }

    /// The directory, once something was saved (or it was opened eagerly).
    pub fn dir(&self) -> Option<PathBuf> {
        self.journal.get().map(|j| j.dir().to_path_buf())
    }
}

/// The records in `dir`, in the order they were written.
pub fn list(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("cannot read directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.as_bytes().first().is_some_and(u8::is_ascii_digit))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Reads and checks every record of `dir` before anything is rolled back (and before any
/// cluster is contacted), so a bad or planted file stops the rollback before the first write:
///
/// - `dir` and every record are owned by the user running rollback and not writable by group
///   or others, and records are regular files (not symlinks);
/// - the file name is the one `fix` gives that record (`NNN-kind-namespace-name.json`);
/// - the target is a kind `fix` patches, with its API version (a built-in workload kind, a
///   controller of [`crate::cluster::discovery::TEMPLATE_KINDS`], or one of `include`, the
///   kinds given to `rollback --include-kinds`); created objects are kinds `fix` creates
///   (NetworkPolicy, Secret) in the target's namespace;
/// - every inverse starts with a `test` (of the pod spec the fix left; in records of older
///   versions, of `/metadata/resourceVersion`), and its ops are `add`/`remove`/`replace`/`test`
///   under the object's pod spec, where fixes write.
#[cfg(test)]
pub(crate) fn read_all(dir: &Path) -> anyhow::Result<Vec<(PathBuf, Record)>> {
    read_all_with(dir, &[])
}

/// [`read_all`], also accepting fixes of the `include` kinds.
pub fn read_all_with(
    dir: &Path,
    include: &[crate::cluster::discovery::KindRef],
) -> anyhow::Result<Vec<(PathBuf, Record)>> {
    check_private(dir, true)?;
    let paths = list(dir)?;
    if paths.is_empty() {
        anyhow::bail!(
            "{}: no saved patches (expected NNN-*.json files written by `fix --save-patches`)",
            dir.display()
        );
    }
    paths
        .into_iter()
        .map(|p| {
            check_private(&p, false)?;
            let text =
                fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
            let rec: Record = serde_json::from_str(&text)
                .with_context(|| format!("{}: not a secfix patch record", p.display()))?;
            if rec.api_version != RECORD_API_VERSION || rec.kind != RECORD_KIND {
                anyhow::bail!(
                    "{}: unsupported record {}/{} (expected {RECORD_API_VERSION}/{RECORD_KIND})",
                    p.display(),
                    rec.api_version,
                    rec.kind
                );
            }
            verify_record_with(&p, &rec, include).map_err(|why| {
                anyhow::anyhow!("{}: refused, not a record `fix` writes: {why}", p.display())
            })?;
            Ok((p, rec))
        })
        .collect()
}

/// What a record may hold (see [`read_all`]); the reason names no value.
#[cfg(test)]
pub(crate) fn verify_record(path: &Path, rec: &Record) -> Result<(), String> {
    verify_record_with(path, rec, &[])
}

/// Where a kind found by discovery keeps its pod spec, if `fix` patches it: a controller of
/// [`crate::cluster::discovery::TEMPLATE_KINDS`] (at `spec.template.spec`), or one of
/// `include` (at either template path).
fn discovered_pointers(
    api_version: &str,
    kind: &str,
    include: &[crate::cluster::discovery::KindRef],
) -> Option<&'static [&'static str]> {
    let known = crate::cluster::discovery::TEMPLATE_KINDS
        .iter()
        .any(|(g, v, k)| format!("{g}/{v}") == api_version && *k == kind);
    if known {
        return Some(&["/spec/template/spec"]);
    }
    include
        .iter()
        .any(|k| k.api_version() == api_version && k.kind == kind)
        .then_some(&[
            "/spec/template/spec",
            "/spec/jobTemplate/spec/template/spec",
        ])
}

/// [`verify_record`], also accepting fixes of the `include` kinds.
pub(crate) fn verify_record_with(
    path: &Path,
    rec: &Record,
    include: &[crate::cluster::discovery::KindRef],
) -> Result<(), String> {
    let t = &rec.target;
    let number = record_number(path).ok_or("the file name has no record number")?;
    let file = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if file != record_file_name(number, t) {
        return Err(format!(
            "the file name does not match the record's target {} {}/{}",
            t.kind, t.namespace, t.name
        ));
    }
    let created_only = rec.inverse.is_none() && rec.forward.is_none();
    let pointers: &[&str] = match WorkloadKind::from_kind(&t.kind) {
        Some(kind) => {
            let versions: &[&str] = match kind {
                WorkloadKind::CronJob => &["batch/v1", "batch/v1beta1"],
                k => &[k.api_version()][..],
            };
            if !versions.contains(&t.api_version.as_str()) {
                return Err(format!("{} is not served as {}", t.kind, t.api_version));
            }
            match kind {
                WorkloadKind::Pod => &["/spec"],
                WorkloadKind::CronJob => &["/spec/jobTemplate/spec/template/spec"],
                _ => &["/spec/template/spec"],
            }
        }
        None if created_only && t.kind == "NetworkPolicy" => {
            if t.api_version != "networking.k8s.io/v1" {
                return Err(format!("{} is not served as {}", t.kind, t.api_version));
            }
            &[]
        }
        None => discovered_pointers(&t.api_version, &t.kind, include).ok_or_else(|| {
            format!(
                "fix never patches a {} ({}; a kind fixed with --include-kinds needs rollback \
                 --include-kinds too)",
                t.kind, t.api_version
            )
        })?,
    };
    for c in &rec.created {
        let ok = matches!(
            (c.target.kind.as_str(), c.target.api_version.as_str()),
            ("NetworkPolicy", "networking.k8s.io/v1") | ("Secret", "v1")
        ) && c.target.namespace == t.namespace;
        if !ok {
            return Err(format!(
                "fix never creates {} {}/{} for it",
                c.target.kind, c.target.namespace, c.target.name
            ));
        }
    }
    let Some(inverse) = &rec.inverse else {
        return Ok(());
    };
    if pointers.is_empty() {
        return Err(format!("fix never patches a {}", t.kind));
    }
    // Tests may name the pod spec itself; changes only what lies under it.
    let within = |p: &str, or_at: bool| {
        pointers.iter().any(|pointer| {
            p.strip_prefix(pointer)
                .is_some_and(|rest| (or_at && rest.is_empty()) || rest.starts_with('/'))
        })
    };
    let mut ops = inverse.0.iter().peekable();
    match ops.peek() {
        Some(PatchOperation::Test(op)) if op.path.as_str() == "/metadata/resourceVersion" => {
            ops.next();
        }
        Some(PatchOperation::Test(op)) if within(op.path.as_str(), true) => {}
        _ => return Err("the inverse does not start with a test of what the fix wrote".into()),
    }
    for op in ops {
        let (path, test) = match op {
            PatchOperation::Add(o) => (o.path.as_str(), false),
            PatchOperation::Remove(o) => (o.path.as_str(), false),
            PatchOperation::Replace(o) => (o.path.as_str(), false),
            PatchOperation::Test(o) => (o.path.as_str(), true),
            _ => return Err("the inverse moves or copies values (fix never does)".into()),
        };
        if !within(path, test) {
            return Err(format!(
                "the inverse writes {path}, outside {}",
                pointers.join(" and ")
            ));
        }
    }
    Ok(())
}

/// A directory (`dir`) or record file must belong to the user running rollback and not be
/// writable by anyone else; a record must be a regular file, not a link.
#[cfg(unix)]
fn check_private(path: &Path, dir: bool) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let meta =
        fs::symlink_metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let meta = if dir && meta.file_type().is_symlink() {
        fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?
    } else {
        meta
    };
    let what = if dir { "directory" } else { "record" };
    if dir && !meta.is_dir() {
        anyhow::bail!("{}: not a directory", path.display());
    }
    if !dir && !meta.file_type().is_file() {
        anyhow::bail!(
            "{}: refused: the {what} is not a regular file",
            path.display()
        );
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        anyhow::bail!(
            "{}: refused: the {what} belongs to uid {}, not to you (uid {me})",
            path.display(),
            meta.uid()
        );
    }
    if meta.mode() & 0o022 != 0 {
        anyhow::bail!(
            "{}: refused: the {what} is writable by group or others (mode {:o}); `chmod go-w` it if you trust its contents",
            path.display(),
            meta.mode() & 0o777
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path, _: bool) -> anyhow::Result<()> {
    Ok(())
}

/// Creates `dir` (mode 0700) and any missing parents; `AlreadyExists` when `dir` exists.
fn create_dir_and_parents(dir: &Path) -> std::io::Result<()> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    create_private_dir(dir)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    fs::DirBuilder::new().mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir(dir)
}

#[cfg(unix)]
fn open_private(path: &Path) -> anyhow::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> anyhow::Result<fs::File> {
    fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))
}

/// The default `--save-patches` directory in interactive mode:
/// `$XDG_STATE_HOME/kubectl-secfix/patches/<UTC timestamp>` (else `~/.local/state/…`).
pub fn default_dir() -> PathBuf {
    let base = dirs::state_dir()
        .or_else(|| dirs::home_dir().map(|h| h.join(".local/state")))
        .unwrap_or_else(std::env::temp_dir);
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    base.join("kubectl-secfix").join("patches").join(stamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: two interactive fixes started in the same second both took the default
    /// directory's timestamped name, and the second failed with "File exists" (CI, stop 30).
    #[test]
    fn runs_started_in_the_same_second_get_directories_of_their_own() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state/patches/20261207T154352Z");
        let dirs: Vec<PathBuf> = std::thread::scope(|s| {
            let runs: Vec<_> = (0..8)
                .map(|_| s.spawn(|| Journal::open_new(&dir).unwrap().dir().to_path_buf()))
                .collect();
            runs.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let distinct: std::collections::BTreeSet<_> = dirs.iter().collect();
        assert_eq!(distinct.len(), 8, "{dirs:?}");
        assert!(dirs.contains(&dir));
        assert!(dirs.contains(&tmp.path().join("state/patches/20261207T154352Z-8")));
        #[cfg(unix)]
        for d in &dirs {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(fs::metadata(d).unwrap().permissions().mode() & 0o777, 0o700);
        }
    }

    #[test]
    fn an_explicit_directory_is_shared_by_runs_opening_it_at_once() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b/p");
        std::thread::scope(|s| {
            let runs: Vec<_> = (0..8).map(|_| s.spawn(|| Journal::open(&dir))).collect();
            for r in runs {
                assert_eq!(r.join().unwrap().unwrap().dir(), dir);
            }
        });
    }

    #[test]
    fn a_dry_run_and_its_write_are_the_same_object_but_for_the_resource_version() {
        use serde_json::json;
        let dry = json!({"metadata": {"name": "web", "resourceVersion": "7", "generation": 3},
            "spec": {"replicas": 1}, "status": {"replicas": 1}});
        let mut write = dry.clone();
        write["metadata"]["resourceVersion"] = json!("8");
        assert!(same_but_resource_version(&dry, &write));
        write["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("resourceVersion");
        assert!(same_but_resource_version(&dry, &write));
        for (pointer, value) in [
            ("/status/replicas", json!(0)),
            ("/metadata/generation", json!(4)),
            ("/spec/replicas", json!(2)),
        ] {
            let mut other = dry.clone();
            *other.pointer_mut(pointer).unwrap() = value;
            assert!(!same_but_resource_version(&dry, &other), "{pointer}");
        }
        let mut annotated = dry.clone();
        annotated["metadata"]["annotations"] = json!({"a": "b"});
        assert!(!same_but_resource_version(&dry, &annotated));
        assert!(!same_but_resource_version(&annotated, &dry));
    }

    /// covers issue #26: an applied record keeps its pending inverse when the write returned
    /// what the dry run did, and takes a fresh one from the write otherwise: the same
    /// inverse either way as building it from the write.
    #[test]
    fn the_applied_inverse_is_the_dry_runs_only_when_the_write_returned_the_same() {
        use secfix_core::fix::{Action, Plan};
        use serde_json::json;
        let before = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns", "resourceVersion": "7"},
            "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "a:1"}]}}}});
        let mut after = before.clone();
        after["spec"]["template"]["spec"]["containers"][0]["image"] = json!("a:2");
        let plan = Plan {
            target: Target {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: "ns".into(),
                name: "web".into(),
            },
            findings: vec![],
            action: Action::Patch {
                resource_version: Some("7".into()),
                pointer: "/spec/template/spec".into(),
                guards: vec![],
                ops: vec![],
                inverse: vec![],
            },
            prerequisites: vec![],
            warnings: vec![],
            moved: vec![],
            before,
            after: after.clone(),
            flows: vec![],
        };
        let redactor = Redactor::for_plan(&plan);
        let outcome = |obj: Value| Outcome {
            after: Some(obj),
            created: vec![],
        };
        let dry = outcome(after.clone());
        let pending = Record::pending(&plan, &dry, &redactor);
        let mut written = after.clone();
        written["metadata"]["resourceVersion"] = json!("8");
        // Only the state changes: nothing is built.
        assert_eq!(
            pending.applied(&plan, &dry, &outcome(written.clone()), &redactor),
            None
        );
        assert_eq!(
            pending.inverse,
            Record::new(&plan, &outcome(written), &redactor).inverse
        );
        // A webhook changed the image between the dry run and the write.
        let mut mutated = after.clone();
        mutated["spec"]["template"]["spec"]["containers"][0]["image"] = json!("a:3");
        let done = pending
            .applied(&plan, &dry, &outcome(mutated.clone()), &redactor)
            .expect("a new inverse");
        assert!(!pending.same_but_state(&done));
        assert_eq!(
            done.inverse,
            Record::new(&plan, &outcome(mutated), &redactor).inverse
        );
    }

    #[test]
    fn records_are_private_and_numbered() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("p");
        let j = Journal::open(&dir).unwrap();
        let rec = Record {
            api_version: RECORD_API_VERSION.into(),
            kind: RECORD_KIND.into(),
            target: secfix_core::fix::Target {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: "ns".into(),
                name: "web".into(),
            },
            checks: vec!["env-secret".into()],
            forward: None,
            inverse: None,
            created: vec![],
            state: State::Applied,
        };
        let p = j.write(&rec).unwrap();
        assert!(p.ends_with("001-deployment-ns-web.json"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert_eq!(
                fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
                0o700
            );
        }
        let j2 = Journal::open(&dir).unwrap();
        assert_eq!(j2.next.into_inner(), 2);
        assert_eq!(read_all(&dir).unwrap().len(), 1);
    }

    /// covers issue #26: writers in flight share syncs, and none returns before a
    /// sync that started after it asked has finished; blocking and async callers alike.
    #[test]
    fn concurrent_writers_share_syncs() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
        let started = Arc::new(AtomicU64::new(0));
        let finished = Arc::new(AtomicU64::new(0));
        let group = {
            let (started, finished) = (started.clone(), finished.clone());
            GroupSync::new(move || {
                started.fetch_add(1, SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(20));
                finished.fetch_add(1, SeqCst);
                Ok(())
            })
        };
        // Each writer notes the syncs started before it asks: one of those it must not
        // count on.
        let check = |before: u64| {
            assert!(
                finished.load(SeqCst) > before,
                "returned before a later sync"
            );
        };
        std::thread::scope(|s| {
            for _ in 0..16 {
                s.spawn(|| {
                    let before = started.load(SeqCst);
                    group.sync().unwrap();
                    check(before);
                });
            }
        });
        let n = started.load(SeqCst);
        assert!((1..16).contains(&n), "{n} syncs for 16 blocking writers");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        rt.block_on(async {
            let tasks: Vec<_> = (0..16)
                .map(|_| {
                    let (group, started, finished) =
                        (group.clone(), started.clone(), finished.clone());
                    tokio::spawn(async move {
                        let before = started.load(SeqCst);
                        group.sync_async().await.unwrap();
                        assert!(
                            finished.load(SeqCst) > before,
                            "returned before a later sync"
                        );
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        });
        let async_syncs = started.load(SeqCst) - n;
        assert!(
            (1..16).contains(&async_syncs),
            "{async_syncs} syncs for 16 async writers"
        );
    }

    /// A failed sync fails the writers it covered, async ones too, and the next sync that
    /// succeeds clears it.
    #[test]
    fn a_failed_sync_fails_its_writers() {
        use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
        let fail = std::sync::Arc::new(AtomicBool::new(true));
        let group = {
            let fail = fail.clone();
            GroupSync::new(move || match fail.load(SeqCst) {
                true => Err(std::io::Error::other("disk on fire")),
                false => Ok(()),
            })
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let err = rt.block_on(group.sync_async()).unwrap_err();
        assert!(err.to_string().contains("disk on fire"), "{err}");
        assert!(group.sync().is_err());
        fail.store(false, SeqCst);
        rt.block_on(group.sync_async()).unwrap();
        group.sync().unwrap();
    }

    /// Regression (issue 26): a record's sync was a `syncfs`, which waits for whatever any
    /// program wrote on that file system. A sync now takes the records written since the
    /// last one (unnamed, under a temporary name, or replaced) and syncs them and the
    /// directory.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_sync_takes_only_the_records_written_since_the_last_one() {
        use std::sync::atomic::Ordering::SeqCst;
        let tmp = tempfile::tempdir().unwrap();
        let j = Journal::open(&tmp.path().join("p")).unwrap();
        let rec = web(serde_json::json!([guard()]));
        let first = j.write_unsynced(&rec).unwrap();
        j.unnamed_files.store(false, SeqCst);
        let second = j.write_unsynced(&rec).unwrap();
        assert_eq!(j.unsynced.lock().len(), 2);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(j.durable(&second)).unwrap();
        assert!(j.unsynced.lock().is_empty());
        j.replace(&first, &rec).unwrap();
        assert!(j.unsynced.lock().is_empty());
        j.remove(&second).unwrap();
        assert_eq!(read_all(&j.dir).unwrap().len(), 1);
    }

    /// Records appear whole under their name, mode 0600, with no temporary file left
    /// behind: written unnamed and linked (Linux), or under a temporary name and renamed.
    #[test]
    fn records_leave_no_temporary_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("p");
        let j = Journal::open(&dir).unwrap();
        let rec = web(serde_json::json!([guard()]));
        let first = j.write_unsynced(&rec).unwrap();
        #[cfg(target_os = "linux")]
        {
            assert!(
                j.unnamed_files.load(std::sync::atomic::Ordering::SeqCst),
                "this file system takes unnamed files"
            );
            j.unnamed_files
                .store(false, std::sync::atomic::Ordering::SeqCst);
        }
        let second = j.write_unsynced(&rec).unwrap();
        let mut names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "001-deployment-shop-web.json",
                "002-deployment-shop-web.json"
            ]
        );
        for p in [first, second] {
            let back: Record = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
            assert_eq!(back, rec);
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                assert_eq!(
                    fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                    0o600
                );
            }
        }
    }

    /// covers issue #26: a record whose write changed nothing but its state is marked
    /// applied in place from the pending record alone; one whose file no longer ends as a
    /// pending record does is written whole, applied.
    #[test]
    fn a_pending_record_alone_is_marked_applied() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("p");
        let j = Journal::open(&dir).unwrap();
        let mut pending = web(serde_json::json!([guard()]));
        pending.state = State::Pending;
        let path = j.write(&pending).unwrap();
        let len = fs::metadata(&path).unwrap().len();
        j.mark(&path, &pending, None).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().len(), len);
        let (_, read) = read_all(&dir).unwrap().pop().unwrap();
        assert_eq!(read.state, State::Applied);
        assert!(pending.same_but_state(&read));
        // Already applied (the tail no longer reads pending): written whole, still applied.
        j.mark(&path, &pending, None).unwrap();
        let (_, again) = read_all(&dir).unwrap().pop().unwrap();
        assert_eq!(again, read);
    }

    /// Marking 1,000 records applied by writing each anew and renaming it over the pending
    /// one freed an inode per object, and ext4 then took longer for every new file (a third
    /// of `fix`'s CPU at 1,000 objects): an unchanged record is marked in place.
    #[test]
    fn marking_a_record_applied_rewrites_seven_bytes_in_place() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("p");
        let j = Journal::open(&dir).unwrap();
        let inverse =
            serde_json::json!([guard(), {"op": "remove", "path": "/spec/template/spec/volumes/0"}]);
        let mut pending = web(inverse.clone());
        pending.state = State::Pending;
        let path = j.write(&pending).unwrap();
        let before = fs::read(&path).unwrap();
        let done = web(inverse);
        j.mark(&path, &pending, Some(&done)).unwrap();
        let after = fs::read(&path).unwrap();
        assert_eq!(after.len(), before.len());
        let text = String::from_utf8(after).unwrap();
        assert!(text.ends_with("  \"state\": \"applied\"\n}\n"), "{text}");
        assert_eq!(read_all(&dir).unwrap()[0].1.state, State::Applied);
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            let ino = fs::metadata(&path).unwrap().ino();
            // A record that differs from the pending one is written whole and renamed over it.
            let mut other = pending.clone();
            other.checks = vec!["env-literal-secret".into()];
            other.state = State::Applied;
            j.mark(&path, &pending, Some(&other)).unwrap();
            assert_ne!(fs::metadata(&path).unwrap().ino(), ino);
            let (_, read) = read_all(&dir).unwrap().pop().unwrap();
            assert_eq!((read.state, read.checks), (State::Applied, other.checks));
        }
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file is left"
        );
    }

    /// covers issue #26: a pending record is replaced in place (same name, still 0600) when
    /// a created object's uid is known and when it is marked applied; applied records carry
    /// no `state`, and records of earlier versions read as applied.
    #[test]
    fn a_pending_record_is_replaced_in_place_until_marked_applied() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("p");
        let j = Journal::open(&dir).unwrap();
        let mut rec = web(
            serde_json::json!([guard(), {"op": "remove", "path": "/spec/template/spec/volumes/0"}]),
        );
        let secret = secfix_core::fix::Target {
            api_version: "v1".into(),
            kind: "Secret".into(),
            namespace: "shop".into(),
            name: "web-secfix".into(),
        };
        rec.state = State::Pending;
        rec.created = vec![CreatedRecord {
            target: secret.clone(),
            uid: String::new(),
            keep: true,
        }];
        let path = j.write(&rec).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"state\": \"pending\""), "{text}");
        rec.created_now(&crate::cluster::apply::Created {
            target: secret,
            uid: "u-1".into(),
            keep_on_rollback: true,
        });
        j.replace(&path, &rec).unwrap();
        let (_, read) = read_all(&dir).unwrap().pop().unwrap();
        assert_eq!(read.state, State::Pending);
        assert_eq!(read.created[0].uid, "u-1");
        rec.state = State::Applied;
        j.replace(&path, &rec).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(!text.contains("state"), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        // Only the record is left: no temporary file.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        assert_eq!(read_all(&dir).unwrap()[0].1.state, State::Applied);
        j.remove(&path).unwrap();
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
    }

    fn record(kind: &str, api: &str, ns: &str, name: &str, inverse: serde_json::Value) -> Record {
        Record {
            api_version: RECORD_API_VERSION.into(),
            kind: RECORD_KIND.into(),
            target: secfix_core::fix::Target {
                api_version: api.into(),
                kind: kind.into(),
                namespace: ns.into(),
                name: name.into(),
            },
            checks: vec!["env-secret".into()],
            forward: None,
            inverse: Some(serde_json::from_value(inverse).unwrap()),
            created: vec![],
            state: State::Applied,
        }
    }

    /// The record of Deployment `shop/web` with `inverse`.
    fn web(inverse: serde_json::Value) -> Record {
        record("Deployment", "apps/v1", "shop", "web", inverse)
    }

    fn guard() -> serde_json::Value {
        serde_json::json!({"op": "test", "path": "/metadata/resourceVersion", "value": "7"})
    }

    /// covers issue #15 (item 11): only records `fix` writes pass, whatever their file says.
    #[test]
    fn rollback_refuses_records_fix_never_writes() {
        let ok_inverse = serde_json::json!([guard(),
            {"op": "remove", "path": "/spec/template/spec/volumes/0"}]);
        let ok = web(ok_inverse.clone());
        let p = Path::new("/d/001-deployment-shop-web.json");
        assert_eq!(verify_record(p, &ok), Ok(()));
        // The example: a kube-system Secret's /data/token under a Deployment's name.
        let planted = record(
            "Secret",
            "v1",
            "kube-system",
            "token",
            serde_json::json!([guard(), {"op": "replace", "path": "/data/token", "value": "eA=="}]),
        );
        assert!(verify_record(p, &planted).is_err());
        let p_secret = Path::new("/d/001-secret-kube-system-token.json");
        assert!(
            verify_record(p_secret, &planted)
                .unwrap_err()
                .contains("never patches a Secret")
        );
        // File name and record disagree.
        assert!(verify_record(Path::new("/d/001-deployment-shop-api.json"), &ok).is_err());
        assert!(verify_record(Path::new("/d/deployment-shop-web.json"), &ok).is_err());
        // No guard first; a path outside the pod spec; move/copy; a kind's wrong API version.
        for inverse in [
            serde_json::json!([{"op": "remove", "path": "/spec/template/spec/volumes/0"}]),
            serde_json::json!([{"op": "remove", "path": "/spec/template/spec/volumes/0"}, guard()]),
            serde_json::json!([guard(), {"op": "replace", "path": "/metadata/labels", "value": {}}]),
            serde_json::json!([guard(), {"op": "replace", "path": "/spec/template/specx", "value": 1}]),
            serde_json::json!([guard(), {"op": "copy", "from": "/spec/template/spec/containers/0", "path": "/spec/template/spec/containers/1"}]),
        ] {
            let r = web(inverse.clone());
            assert!(verify_record(p, &r).is_err(), "{inverse}");
        }
        assert!(verify_record(p, &record("Deployment", "v1", "shop", "web", ok_inverse)).is_err());
        let pod = record(
            "Pod",
            "v1",
            "shop",
            "bare",
            serde_json::json!([guard(),
            {"op": "replace", "path": "/spec/containers/0/image", "value": "a@sha256:00"}]),
        );
        assert_eq!(
            verify_record(Path::new("/d/002-pod-shop-bare.json"), &pod),
            Ok(())
        );
    }

    /// covers issue #15 (item 11): a world-writable directory or a record another user could
    /// have written is refused before anything else happens.
    #[cfg(unix)]
    #[test]
    fn rollback_refuses_a_directory_or_record_others_can_write() {
        use std::os::unix::fs::PermissionsExt as _;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("p");
        let j = Journal::open(&dir).unwrap();
        let rec = web(
            serde_json::json!([guard(), {"op": "remove", "path": "/spec/template/spec/volumes/0"}]),
        );
        let path = j.write(&rec).unwrap();
        assert_eq!(read_all(&dir).unwrap().len(), 1);
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let e = read_all(&dir).unwrap_err().to_string();
        assert!(e.contains("writable by group or others"), "{e}");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o620)).unwrap();
        assert!(read_all(&dir).unwrap_err().to_string().contains("writable"));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        // A symlinked record is refused too.
        let link = dir.join("002-deployment-shop-web.json");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert!(
            read_all(&dir)
                .unwrap_err()
                .to_string()
                .contains("not a regular file")
        );
    }

    /// covers issue #15 (item 11): `--save-patches DIR` leaves an existing directory's mode
    /// alone, and numbering never lands on an existing record.
    #[cfg(unix)]
    #[test]
    fn save_patches_keeps_an_existing_directory_and_never_overwrites_a_record() {
        use std::os::unix::fs::PermissionsExt as _;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("shared");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o750)).unwrap();
        fs::write(dir.join("001-deployment-a-a.json"), "first").unwrap();
        fs::write(dir.join("003-deployment-a-c.json"), "third").unwrap();
        let j = Journal::open(&dir).unwrap();
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o750
        );
        let rec = record(
            "Deployment",
            "apps/v1",
            "a",
            "c",
            serde_json::json!([guard(), {"op": "remove", "path": "/spec/template/spec/volumes/0"}]),
        );
        let p = j.write(&rec).unwrap();
        assert!(p.ends_with("004-deployment-a-c.json"), "{}", p.display());
        assert_eq!(
            fs::read_to_string(dir.join("003-deployment-a-c.json")).unwrap(),
            "third"
        );
        // A name taken behind the journal's back is skipped, never replaced.
        fs::write(dir.join("005-deployment-a-c.json"), "planted").unwrap();
        let p = j.write(&rec).unwrap();
        assert!(p.ends_with("006-deployment-a-c.json"), "{}", p.display());
        assert_eq!(
            fs::read_to_string(dir.join("005-deployment-a-c.json")).unwrap(),
            "planted"
        );
    }

    #[test]
    fn rollback_accepts_the_pod_template_controllers_fix_patches_and_no_other_kind() {
        let inverse = serde_json::json!([
            {"op": "test", "path": "/metadata/resourceVersion", "value": "7"},
            {"op": "remove", "path": "/spec/template/spec/volumes/0"}]);
        let check = |kind: &str, api: &str, include: &[crate::cluster::discovery::KindRef]| {
            let rec = record(kind, api, "ns", "x", inverse.clone());
            let path = PathBuf::from(record_file_name(1, &rec.target));
            verify_record_with(&path, &rec, include)
        };
        assert_eq!(check("Rollout", "argoproj.io/v1alpha1", &[]), Ok(()));
        assert_eq!(
            check("DeploymentConfig", "apps.openshift.io/v1", &[]),
            Ok(())
        );
        assert!(check("Rollout", "evil.io/v1", &[]).is_err());
        let widget = crate::cluster::discovery::KindRef::parse("example.com/v1/Widget").unwrap();
        assert!(
            check("Widget", "example.com/v1", &[])
                .unwrap_err()
                .contains("--include-kinds")
        );
        assert_eq!(
            check("Widget", "example.com/v1", std::slice::from_ref(&widget)),
            Ok(())
        );
        // Never outside the pod template, whatever the kind.
        let rec = record(
            "Rollout",
            "argoproj.io/v1alpha1",
            "ns",
            "x",
            serde_json::json!([
                {"op": "test", "path": "/metadata/resourceVersion", "value": "7"},
                {"op": "replace", "path": "/spec/replicas", "value": 0}]),
        );
        let path = PathBuf::from(record_file_name(1, &rec.target));
        assert!(verify_record_with(&path, &rec, &[widget]).is_err());
    }
}
