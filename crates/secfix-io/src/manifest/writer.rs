//! Fixed manifests out: what changes, as YAML for stdout, or the files rewritten in place.
//!
//! A rewrite leaves every document it does not change byte for byte as it was. In a changed
//! YAML document only the lines the fix changes are edited ([`super::surgical`]): comments,
//! quoting, key order and flow style stay. A document that cannot be edited in place
//! (anchors, tags, …) is written anew, keeping its `---` line, the comments above its first
//! line and its keys in their order (comments inside it are then lost). New objects (a namespace's NetworkPolicy) go at the
//! end of a YAML file as new documents, into the `items` of a JSON `List`, or, for a JSON file
//! holding plain objects, into a new file beside it, `NAME.secfix.json` (kubectl reads JSON
//! streams, but most JSON tools do not).
//!
//! Rewriting is all or nothing, and never through a trap:
//! 1. every file is rendered first; any failure (or any source that could not be read) and
//!    nothing is written;
//! 2. each file is checked to be the one read, unchanged (same file, size, time and content);
//!    a file with several hard links is refused (replacing it would split them);
//! 3. a temporary file is created beside each target with `O_CREAT|O_EXCL|O_NOFOLLOW` (a
//!    planted file or link there makes it fail instead of being followed), written, given
//!    the target's owner and mode, and flushed to disk (`fsync`);
//! 4. only when all are ready is each renamed over its target (checked unchanged once more
//!    just before), then the directories are flushed. A new file is linked into place only if
//!    nothing exists at its name.
//!
//! A symbolic link named by `-f` (or found in a directory) is written through on purpose: its
//! target gets the new content and the link stays a link.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::ManifestFile;
use super::loader::FileStamp;
use super::stream::Doc;
use secfix_core::model::SourceLocation;

/// One object to replace: where it is in its document, what it was (a digest of it), and
/// what it becomes.
#[derive(Debug, Clone)]
struct Replacement {
    items: Vec<usize>,
    line: usize,
    before: Option<u64>,
    after: Value,
}

/// A digest of a value, to tell that an object is still the one a change was planned from
/// without holding a copy of it.
fn digest(v: &Value) -> u64 {
    use std::hash::Hasher as _;
    struct W(std::collections::hash_map::DefaultHasher);
    impl std::io::Write for W {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.write(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut w = W(std::collections::hash_map::DefaultHasher::new());
    let _ = serde_json::to_writer(&mut w, v);
    w.0.finish()
}

/// Changes to make to the files read: replaced objects by location, and new objects for a
/// file.
#[derive(Debug, Default)]
pub struct Edits {
    /// Keyed by (file as displayed, document index).
    replaced: BTreeMap<(String, usize), Vec<Replacement>>,
    appended: BTreeMap<String, Vec<Value>>,
}

impl Edits {
    /// Replaces the object at `at` with `object`. Rendering refuses it unless the object at
    /// `at` has the same kind, namespace and name.
    pub fn replace(&mut self, at: &SourceLocation, object: Value) {
        self.push(at, None, object);
    }

    /// Replaces the object at `at`, which must still be exactly `before` (the object the
    /// change was planned from): one document's content is never written into another.
    pub(crate) fn replace_checked(&mut self, at: &SourceLocation, before: &Value, after: Value) {
        self.push(at, Some(digest(before)), after);
    }

    fn push(&mut self, at: &SourceLocation, before: Option<u64>, after: Value) {
        let mut items: Vec<usize> = at.item.into_iter().collect();
        items.extend(&at.nested);
        self.replaced
            .entry((at.file.clone(), at.document))
            .or_default()
            .push(Replacement {
                items,
                line: at.line,
                before,
                after,
            });
    }

    /// Adds a new object to (or beside) `file`.
    pub(crate) fn append(&mut self, file: &str, object: Value) {
        self.appended
            .entry(file.to_string())
            .or_default()
            .push(object);
    }

    pub fn is_empty(&self) -> bool {
        self.replaced.is_empty() && self.appended.is_empty()
    }

    /// Whether `file` changes.
    pub(crate) fn touches(&self, file: &str) -> bool {
        self.appended.contains_key(file) || self.replaced.keys().any(|(f, _)| f == file)
    }

    fn replacements(&self, file: &str, doc: usize) -> Option<&Vec<Replacement>> {
        self.replaced.get(&(file.to_string(), doc))
    }
}

pub use secfix_core::model::yaml::to_yaml;

fn identity(v: &Value) -> (Option<&str>, Option<&str>, Option<&str>) {
    let s = |p: &str| v.pointer(p).and_then(Value::as_str);
    (s("/kind"), s("/metadata/namespace"), s("/metadata/name"))
}

/// The document's value with its replacements applied.
fn changed_value(file: &str, doc: &Doc, changes: &[Replacement]) -> Result<Value, String> {
    let mut v = doc.value.clone().ok_or_else(|| {
        format!(
            "{file}:{}: document was not read; nothing written",
            doc.line
        )
    })?;
    for r in changes {
        let mut slot = &mut v;
        for &i in &r.items {
            slot = slot
                .get_mut("items")
                .and_then(|items| items.get_mut(i))
                .ok_or_else(|| format!("{file}:{}: no such List item; nothing written", r.line))?;
        }
        let refused = || {
            format!(
                "{file}:{}: the object there is not the one the fix was planned for; nothing written",
                r.line
            )
        };
        match r.before {
            Some(before) if before != digest(slot) => return Err(refused()),
            None if identity(slot) != identity(&r.after) => return Err(refused()),
            _ => {}
        }
        *slot = r.after.clone();
    }
    Ok(v)
}

/// Offset where a YAML document's content starts: after its `---` line, its comments and
/// blank lines (kept when the document is rewritten).
fn content_start(text: &[u8]) -> usize {
    let mut at = 0;
    for line in text.split_inclusive(|&b| b == b'\n') {
        let t = String::from_utf8_lossy(line);
        let t = t.trim_start_matches([' ', '\t']);
        let skip =
            t.starts_with("---") || t.starts_with('#') || t.starts_with('%') || t.trim().is_empty();
        if !skip {
            break;
        }
        at += line.len();
    }
    at
}

/// The document's body `body` edited in place into `after` (see [`super::surgical`]).
fn in_place(body: &[u8], doc: &Doc, after: &Value) -> Option<String> {
    let body = std::str::from_utf8(body).ok()?;
    let before = doc.value.as_ref()?;
    let ops = secfix_core::fix::patch::diff(before, after, "").ok()?;
    super::surgical::edit(body, &ops, after)
}

/// What a rewrite of one source produces.
#[derive(Debug, Default)]
pub struct Rendered {
    /// The source's new content (`None`: unchanged).
    pub content: Option<Vec<u8>>,
    /// A new file beside it, for objects a JSON file cannot take.
    pub new_file: Option<(PathBuf, Vec<u8>)>,
}

/// The new content of `file` under `edits`.
pub fn render(file: &ManifestFile, edits: &Edits) -> Result<Rendered, String> {
    let name = &file.display;
    let appended = edits.appended.get(name).map(Vec::as_slice).unwrap_or(&[]);
    let mut out: Vec<u8> = Vec::with_capacity(file.bytes.len() + 1024);
    let mut pos = 0;
    let mut changed = false;
    // JSON: new objects go into a List's items when the file is one List.
    let json_list = file.json
        && file.documents.len() == 1
        && file.documents[0]
            .value
            .as_ref()
            .is_some_and(|v| v.get("items").is_some_and(Value::is_array));
    for doc in &file.documents {
        let span = doc.span.start.min(file.bytes.len())..doc.span.end.min(file.bytes.len());
        out.extend_from_slice(&file.bytes[pos..span.start]);
        pos = span.end;
        let changes = edits.replacements(name, doc.index);
        let add_here = json_list && !appended.is_empty();
        if changes.is_none() && !add_here {
            out.extend_from_slice(&file.bytes[span]);
            continue;
        }
        changed = true;
        let mut v = changed_value(name, doc, changes.map(Vec::as_slice).unwrap_or(&[]))?;
        if add_here && let Some(items) = v.get_mut("items").and_then(Value::as_array_mut) {
            items.extend(appended.iter().cloned());
        }
        if file.json {
            out.extend_from_slice(
                serde_json::to_string_pretty(&v)
                    .map_err(|e| e.to_string())?
                    .as_bytes(),
            );
        } else {
            let text = &file.bytes[span.clone()];
            let body_end = doc.tail.map_or(span.end, |t| t.min(span.end)) - span.start;
            let start = content_start(&text[..body_end]);
            out.extend_from_slice(&text[..start]);
            // Only the lines the fix changes, when the document allows it; else anew.
            let in_place = (!add_here)
                .then(|| in_place(&text[start..body_end], doc, &v))
                .flatten();
            match in_place {
                Some(body) => out.extend_from_slice(body.as_bytes()),
                None => out.extend_from_slice(to_yaml(&v)?.as_bytes()),
            }
            out.extend_from_slice(&text[body_end..]);
        }
    }
    out.extend_from_slice(&file.bytes[pos.min(file.bytes.len())..]);
    let mut rendered = Rendered::default();
    if !appended.is_empty() && !json_list {
        if file.json {
            let path = file
                .path
                .as_ref()
                .ok_or("new objects for stdin have no file to go to")?;
            let target = new_file_for(path);
            let value = if appended.len() == 1 {
                appended[0].clone()
            } else {
                serde_json::json!({"apiVersion": "v1", "kind": "List", "items": appended})
            };
            let mut text = serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?;
            text.push('\n');
            rendered.new_file = Some((target, text.into_bytes()));
        } else {
            changed = true;
            for extra in appended {
                if !out.is_empty() && !out.ends_with(b"\n") {
                    out.push(b'\n');
                }
                out.extend_from_slice(b"---\n");
                out.extend_from_slice(to_yaml(extra)?.as_bytes());
            }
        }
    }
    if changed {
        rendered.content = Some(out);
    }
    Ok(rendered)
}

/// Where objects that a JSON file cannot take go: `NAME.secfix.json` beside it.
pub(crate) fn new_file_for(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "manifest".into());
    path.with_file_name(format!("{stem}.secfix.json"))
}

/// Only what changes, as YAML documents: every changed object and every new one. This is
/// what `fix -f` prints, ready for `kubectl apply -f -`; objects it does not change are not
/// repeated: of a changed `List` (what `kubectl get -o yaml` writes) only the changed items
/// are printed, as a `List` of them. Every document printed goes through `shown`, the
/// redaction boundary of the output.
pub fn render_changed(
    files: &[ManifestFile],
    edits: &Edits,
    shown: &dyn Fn(&Value) -> Value,
) -> Result<String, String> {
    let mut docs = Vec::new();
    for f in files {
        for doc in &f.documents {
            if let Some(changes) = edits.replacements(&f.display, doc.index) {
                let changed = changed_value(&f.display, doc, changes)?;
                docs.push(to_yaml(&shown(&changed_only(&changed, changes)))?);
            }
        }
        for extra in edits.appended.get(&f.display).into_iter().flatten() {
            docs.push(to_yaml(&shown(extra))?);
        }
    }
    Ok(docs.join("---\n"))
}

/// Of a changed document, what is printed: the whole object, or for a `List` whose items
/// changed, a `List` of only those items (nested Lists' items included), in file order.
fn changed_only(changed: &Value, changes: &[Replacement]) -> Value {
    if changes.iter().any(|r| r.items.is_empty()) {
        return changed.clone();
    }
    let mut paths: Vec<&[usize]> = changes.iter().map(|r| r.items.as_slice()).collect();
    paths.sort();
    paths.dedup();
    let items: Vec<Value> = paths
        .into_iter()
        .filter_map(|path| {
            let mut slot = changed;
            for &i in path {
                slot = slot.get("items")?.get(i)?;
            }
            Some(slot.clone())
        })
        .collect();
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": items,
    })
}

/// Every object, as YAML documents: the input stream with the changed objects replaced and
/// the new ones after the objects of their file (`post-render`: a Helm post-renderer must
/// hand every object back). JSON input comes out as YAML.
pub fn render_all(files: &[ManifestFile], edits: &Edits) -> Result<String, String> {
    let mut docs = Vec::new();
    for f in files {
        for doc in &f.documents {
            let Some(v) = &doc.value else { continue };
            let v = match edits.replacements(&f.display, doc.index) {
                Some(changes) => changed_value(&f.display, doc, changes)?,
                None => v.clone(),
            };
            if v.is_null() {
                continue;
            }
            docs.push(to_yaml(&v)?);
        }
        for extra in edits.appended.get(&f.display).into_iter().flatten() {
            docs.push(to_yaml(extra)?);
        }
    }
    Ok(docs.join("---\n"))
}

/// Writes a new folder `dir` holding `files` (relative path, content, secret), all or
/// nothing: everything is written into a temporary folder beside it, which is then renamed
/// to `dir`. `dir` must not exist, or be an empty folder. Files marked secret get mode 0600,
/// the others 0644; folders 0755.
pub fn write_new_dir(dir: &Path, files: &[(String, Vec<u8>, bool)]) -> anyhow::Result<()> {
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => {
            if std::fs::read_dir(dir)?.next().is_some() {
                anyhow::bail!(
                    "{}: exists and is not empty; nothing written (name a new folder)",
                    dir.display()
                );
            }
        }
        Ok(_) => anyhow::bail!(
            "{}: exists and is not a folder; nothing written",
            dir.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => anyhow::bail!("{}: {e}; nothing written", dir.display()),
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "overlay".into());
    let temp = parent.join(format!(".{name}.secfix-{}.tmp", std::process::id()));
    std::fs::create_dir(&temp)
        .map_err(|e| anyhow::anyhow!("{}: {e}; nothing written", temp.display()))?;
    let result = (|| -> anyhow::Result<()> {
        for (rel, content, secret) in files {
            if rel.split('/').any(|p| p == ".." || p.is_empty()) {
                anyhow::bail!("{rel}: not a plain relative path");
            }
            let path = temp.join(rel);
            if let Some(p) = path.parent() {
                std::fs::create_dir_all(p)?;
            }
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(if *secret { 0o600 } else { 0o644 })
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(&path)?;
            // The mode asked for, whatever the umask.
            f.set_permissions(std::fs::Permissions::from_mode(if *secret {
                0o600
            } else {
                0o644
            }))?;
            f.write_all(content)?;
            f.sync_all()?;
        }
        if dir.exists() {
            std::fs::remove_dir(dir)?;
        }
        std::fs::rename(&temp, dir)?;
        if let Ok(d) = File::open(&parent) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&temp);
        anyhow::bail!("{}: {e}; nothing written", dir.display());
    }
    Ok(())
}

/// What a rewrite did.
#[derive(Debug, Default)]
pub struct Written {
    /// Files rewritten (as named by `-f`).
    pub rewritten: Vec<PathBuf>,
    /// New files created.
    pub created: Vec<PathBuf>,
}

/// A file ready to be put in place.
struct Staged {
    /// The path as read (a link stays one).
    shown: PathBuf,
    /// Where the content goes (the link's target for a link).
    target: PathBuf,
    /// `None` for a new file.
    stamp: Option<FileStamp>,
    original: Option<Vec<u8>>,
    temp: PathBuf,
}

/// Removes staged temporary files unless disarmed.
struct Cleanup(Vec<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Rewrites every changed file in place, all or nothing (see the module documentation).
pub fn write_in_place(files: &[ManifestFile], edits: &Edits) -> anyhow::Result<Written> {
    let failed: Vec<&str> = files
        .iter()
        .filter(|f| f.failed)
        .map(|f| f.display.as_str())
        .collect();
    if !failed.is_empty() {
        anyhow::bail!(
            "not rewriting anything: {} could not be read completely",
            failed.join(", ")
        );
    }
    let mut plans: Vec<(&ManifestFile, Rendered)> = Vec::new();
    for f in files.iter().filter(|f| edits.touches(&f.display)) {
        if f.path.is_none() {
            anyhow::bail!("--write cannot rewrite stdin (-f -); nothing written");
        }
        let r = render(f, edits).map_err(|e| anyhow::anyhow!("{e}"))?;
        plans.push((f, r));
    }
    let mut staged: Vec<Staged> = Vec::new();
    let mut cleanup = Cleanup(Vec::new());
    for (f, r) in &plans {
        let path = f.path.as_ref().expect("checked above");
        if let Some(content) = &r.content {
            let target = std::fs::canonicalize(path)
                .map_err(|e| anyhow::anyhow!("{}: {e}; nothing written", f.display))?;
            let stamp = f
                .stamp
                .ok_or_else(|| anyhow::anyhow!("{}: not read from a file", f.display))?;
            check_unchanged(&f.display, &target, &stamp, &f.bytes)?;
            if stamp.nlink > 1 {
                anyhow::bail!(
                    "{}: has {} hard links; rewriting it would split them; nothing written",
                    f.display,
                    stamp.nlink
                );
            }
            let temp = stage(&target, content, Some(&stamp))
                .map_err(|e| anyhow::anyhow!("{}: {e}; nothing written", f.display))?;
            cleanup.0.push(temp.clone());
            staged.push(Staged {
                shown: path.clone(),
                target,
                stamp: Some(stamp),
                original: Some(f.bytes.clone()),
                temp,
            });
        }
        if let Some((new, content)) = &r.new_file {
            if new.symlink_metadata().is_ok() {
                anyhow::bail!(
                    "{} already exists (it would hold the new objects for {}); nothing written",
                    new.display(),
                    f.display
                );
            }
            let temp = stage(new, content, f.stamp.as_ref())
                .map_err(|e| anyhow::anyhow!("{}: {e}; nothing written", new.display()))?;
            cleanup.0.push(temp.clone());
            staged.push(Staged {
                shown: new.clone(),
                target: new.clone(),
                stamp: None,
                original: None,
                temp,
            });
        }
    }
    // Last check before anything changes on disk.
    for s in &staged {
        if let (Some(stamp), Some(original)) = (&s.stamp, &s.original) {
            check_unchanged(&s.shown.display().to_string(), &s.target, stamp, original)?;
        } else if s.target.symlink_metadata().is_ok() {
            anyhow::bail!("{} appeared meanwhile; nothing written", s.target.display());
        }
    }
    let mut written = Written::default();
    let mut dirs = Vec::new();
    for s in &staged {
        let result = if s.stamp.is_some() {
            std::fs::rename(&s.temp, &s.target)
        } else {
            // Never replaces a file that appeared meanwhile.
            std::fs::hard_link(&s.temp, &s.target).and_then(|()| std::fs::remove_file(&s.temp))
        };
        if let Err(e) = result {
            let done: Vec<String> = written
                .rewritten
                .iter()
                .chain(&written.created)
                .map(|p| p.display().to_string())
                .collect();
            anyhow::bail!(
                "{}: {e}; already written: {}",
                s.shown.display(),
                if done.is_empty() {
                    "nothing".to_string()
                } else {
                    done.join(", ")
                }
            );
        }
        if let Some(d) = s.target.parent() {
            dirs.push(d.to_path_buf());
        }
        if s.stamp.is_some() {
            written.rewritten.push(s.shown.clone());
        } else {
            written.created.push(s.shown.clone());
        }
    }
    cleanup.0.clear();
    dirs.sort();
    dirs.dedup();
    for d in dirs {
        if let Ok(dir) = File::open(&d) {
            let _ = dir.sync_all();
        }
    }
    Ok(written)
}

/// Refuses unless `target` is the file read, with the same content.
fn check_unchanged(
    shown: &str,
    target: &Path,
    stamp: &FileStamp,
    original: &[u8],
) -> anyhow::Result<()> {
    let changed = || anyhow::anyhow!("{shown}: changed since it was read; nothing written");
    let meta = std::fs::metadata(target).map_err(|_| changed())?;
    if !stamp.unchanged(&FileStamp::of(&meta)) {
        return Err(changed());
    }
    let (now, _) = super::loader::read_all(target).map_err(|_| changed())?;
    if now != original {
        return Err(changed());
    }
    Ok(())
}

/// Writes `content` to a new temporary file beside `target` and flushes it; with `stamp`,
/// the file gets that owner and mode (a new file gets those of the file it sits beside).
fn stage(target: &Path, content: &[u8], stamp: Option<&FileStamp>) -> std::io::Result<PathBuf> {
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut last = None;
    for attempt in 0..16u32 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let temp = dir.join(format!(
            ".{name}.secfix-{}-{nanos:08x}-{attempt}.tmp",
            std::process::id()
        ));
        let opened = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&temp);
        let mut file = match opened {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                last = Some(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        let result = (|| {
            file.write_all(content)?;
            if let Some(s) = stamp {
                let meta = file.metadata()?;
                if (meta.uid(), meta.gid()) != (s.uid, s.gid) {
                    std::os::unix::fs::fchown(&file, Some(s.uid), Some(s.gid)).map_err(|e| {
                        std::io::Error::new(
                            e.kind(),
                            format!("cannot keep the file's owner {}:{} ({e})", s.uid, s.gid),
                        )
                    })?;
                }
                file.set_permissions(std::fs::Permissions::from_mode(s.mode & 0o7777))?;
            }
            file.sync_all()
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&temp);
            return Err(e);
        }
        return Ok(temp);
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("cannot create a temporary file")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{ReadOptions, read};
    use serde_json::json;

    const APP: &str = "# keep me\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v   # inside\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n";

    fn load(paths: &[PathBuf]) -> Vec<ManifestFile> {
        let opts = ReadOptions {
            keep: true,
            ..ReadOptions::default()
        };
        read(paths, &opts, &mut |_, _| {}, &mut |d| {
            assert!(!d.error, "{d}")
        })
    }

    fn located(files: &[ManifestFile], index: usize) -> (SourceLocation, Value) {
        let objs = crate::manifest::objects(files);
        objs[index].clone().swap()
    }

    trait Swap {
        fn swap(self) -> (SourceLocation, Value);
    }
    impl Swap for (Value, SourceLocation) {
        fn swap(self) -> (SourceLocation, Value) {
            (self.1, self.0)
        }
    }

    #[test]
    fn a_file_changed_since_it_was_read_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.yaml");
        std::fs::write(&path, APP).unwrap();
        let files = load(std::slice::from_ref(&path));
        let (loc, before) = located(&files, 1);
        let mut after = before.clone();
        after["data"] = json!({"x": "y"});
        let mut edits = Edits::default();
        edits.replace_checked(&loc, &before, after);
        // Someone edits the file meanwhile (same size, so only the content tells).
        let edited = APP.replace("name: b", "name: c");
        std::fs::write(&path, &edited).unwrap();
        let err = write_in_place(&files, &edits).unwrap_err().to_string();
        assert!(err.contains("changed since it was read"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
    }

    #[test]
    fn one_documents_content_is_never_written_into_another() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.yaml");
        std::fs::write(&path, APP).unwrap();
        let files = load(std::slice::from_ref(&path));
        let (loc_a, a) = located(&files, 0);
        let (_, b) = located(&files, 1);
        // A plan made from b, aimed at a's place.
        let mut edits = Edits::default();
        edits.replace_checked(&loc_a, &b, b.clone());
        let err = render(&files[0], &edits).unwrap_err();
        assert!(err.contains("not the one the fix was planned for"), "{err}");
        // Without the object as read, the identity still has to match.
        let mut edits = Edits::default();
        edits.replace(&loc_a, b);
        assert!(render(&files[0], &edits).is_err());
        let mut edits = Edits::default();
        let mut changed = a.clone();
        changed["data"]["k"] = json!("w");
        edits.replace_checked(&loc_a, &a, changed);
        let out = String::from_utf8(render(&files[0], &edits).unwrap().content.unwrap()).unwrap();
        assert!(out.starts_with("# keep me\napiVersion: v1\n"), "{out}");
        assert!(out.ends_with("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"));
    }

    #[test]
    fn all_files_are_prepared_before_any_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("a.yaml");
        let second = dir.path().join("b.yaml");
        std::fs::write(&first, APP).unwrap();
        std::fs::write(&second, APP).unwrap();
        let files = load(&[first.clone(), second.clone()]);
        let mut edits = Edits::default();
        for i in [0, 2] {
            let (loc, before) = located(&files, i);
            let mut after = before.clone();
            after["data"] = json!({"new": "1"});
            edits.replace_checked(&loc, &before, after);
        }
        // The second file is not what was read any more: the first, already prepared, is
        // not replaced either.
        std::fs::remove_file(&second).unwrap();
        std::fs::create_dir(&second).unwrap();
        assert!(write_in_place(&files, &edits).is_err());
        assert_eq!(std::fs::read_to_string(&first).unwrap(), APP);
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains("secfix-")), "{names:?}");
    }
}
