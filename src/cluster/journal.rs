//! Saved patches: one JSON file per applied plan, holding the forward patch and its
//! inverse, so `kubectl secfix rollback DIR` can undo the run.
//!
//! Files are written `0600` in a `0700` directory: they name Secrets (never their values).
//! Each file is written to a temporary name and renamed, so a crash never leaves half a
//! record.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use super::apply::Outcome;
use crate::fix::{Plan, Target};

pub const RECORD_API_VERSION: &str = "secfix.dev/v1";
pub const RECORD_KIND: &str = "FixRecord";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub api_version: String,
    pub kind: String,
    pub target: Target,
    /// The check ids fixed.
    pub checks: Vec<String>,
    /// The patch that was applied (guarded by the old `resourceVersion`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward: Option<json_patch::Patch>,
    /// The patch that undoes it (guarded by the `resourceVersion` the fix produced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inverse: Option<json_patch::Patch>,
    /// Objects the fix created; rollback deletes those not marked `keep`.
    #[serde(default)]
    pub created: Vec<CreatedRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedRecord {
    pub target: Target,
    pub uid: String,
    /// Rollback leaves it in place (see `apply::Created::keep_on_rollback`).
    pub keep: bool,
}

impl Record {
    pub fn new(plan: &Plan, outcome: &Outcome) -> Self {
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
            forward: plan.forward_patch(),
            inverse: outcome
                .new_resource_version
                .as_deref()
                .and_then(|rv| plan.inverse_patch(rv)),
            created: outcome
                .created
                .iter()
                .map(|c| CreatedRecord {
                    target: c.target.clone(),
                    uid: c.uid.clone(),
                    keep: c.keep_on_rollback,
                })
                .collect(),
        }
    }
}

/// A directory of records being written.
pub struct Journal {
    dir: PathBuf,
    next: usize,
}

impl Journal {
    /// Creates `dir` (mode 0700) if needed; numbering continues after existing records.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        fs::create_dir_all(dir).with_context(|| {
            format!("--save-patches {}: cannot create directory", dir.display())
        })?;
        set_mode(dir, 0o700)?;
        let next = list(dir)?.len() + 1;
        Ok(Journal {
            dir: dir.to_path_buf(),
            next,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes one record as `NNN-kind-namespace-name.json` (mode 0600).
    pub fn write(&mut self, record: &Record) -> anyhow::Result<PathBuf> {
        let t = &record.target;
        let name = format!(
            "{:03}-{}-{}-{}.json",
            self.next,
            t.kind.to_lowercase(),
            t.namespace,
            t.name
        );
        let path = self.dir.join(name);
        let tmp = self.dir.join(format!(".{}.tmp", self.next));
        let body = serde_json::to_vec_pretty(record)?;
        {
            let mut f = open_private(&tmp)?;
            f.write_all(&body)?;
            f.write_all(b"\n")?;
            f.sync_all()?;
        }
        fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
        self.next += 1;
        Ok(path)
    }
}

/// A journal opened when the first record is written, so a run that applies nothing leaves
/// nothing behind; or at once, so an unusable directory stops a run before anything is
/// written. `None` as the directory saves nothing.
pub struct LazyJournal {
    dir: Option<PathBuf>,
    journal: Option<Journal>,
}

impl LazyJournal {
    /// `eager`: open (create) the directory now (an explicit `--save-patches DIR`).
    pub fn open(dir: Option<PathBuf>, eager: bool) -> anyhow::Result<Self> {
        let journal = match &dir {
            Some(d) if eager => Some(Journal::open(d)?),
            _ => None,
        };
        Ok(LazyJournal { dir, journal })
    }

    /// Saves the record of an applied plan; `None` when patches are not being saved.
    pub fn save(
        &mut self,
        plan: &crate::fix::Plan,
        outcome: &super::apply::Outcome,
    ) -> anyhow::Result<Option<PathBuf>> {
        let Some(dir) = &self.dir else {
            return Ok(None);
        };
        let journal = match &mut self.journal {
            Some(j) => j,
            None => self.journal.insert(Journal::open(dir)?),
        };
        journal.write(&Record::new(plan, outcome)).map(Some)
    }

    /// The directory, once something was saved (or it was opened eagerly).
    pub fn dir(&self) -> Option<PathBuf> {
        self.journal.as_ref().map(|j| j.dir().to_path_buf())
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

/// Reads and checks every record of `dir` before anything is rolled back, so a bad file
/// stops the rollback before the first write.
pub fn read_all(dir: &Path) -> anyhow::Result<Vec<(PathBuf, Record)>> {
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
            Ok((p, rec))
        })
        .collect()
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

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set permissions of {}", path.display()))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> anyhow::Result<()> {
    Ok(())
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

    #[test]
    fn records_are_private_and_numbered() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("p");
        let mut j = Journal::open(&dir).unwrap();
        let rec = Record {
            api_version: RECORD_API_VERSION.into(),
            kind: RECORD_KIND.into(),
            target: crate::fix::Target {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: "ns".into(),
                name: "web".into(),
            },
            checks: vec!["env-secret".into()],
            forward: None,
            inverse: None,
            created: vec![],
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
        assert_eq!(j2.next, 2);
        assert_eq!(read_all(&dir).unwrap().len(), 1);
    }
}
