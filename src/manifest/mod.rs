//! The offline side: manifests in (`-f` files, directories, stdin), fixed manifests out.
//!
//! Files are split into YAML documents at `---` lines and each document is parsed on its
//! own, so a rewrite can leave every document it does not change byte for byte as it was.
//! A changed document is re-serialized with its keys in their original order (comments
//! inside that document are not kept). A JSON file is one document.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::UsageError;
use crate::model::SourceLocation;

/// One YAML (or JSON) document of a file.
#[derive(Debug, Clone)]
pub struct Document {
    /// 1-based line of the document's first content line (after `---` and comments).
    pub line: usize,
    /// The document's text, including its leading `---` line if it had one.
    pub text: String,
    /// `None` for an empty document (only comments or blank lines).
    pub value: Option<Value>,
}

/// A manifest file and its documents.
#[derive(Debug, Clone)]
pub struct ManifestFile {
    /// `None` for stdin.
    pub path: Option<PathBuf>,
    /// The path as shown to the user (`-` for stdin).
    pub display: String,
    pub json: bool,
    pub documents: Vec<Document>,
}

/// Reads every path (`-` is stdin; directories are walked for .yaml, .yml and .json, in
/// sorted order). Any unreadable file or unparseable document fails the whole load with
/// an error naming the file and line, before anything else happens.
pub fn load(paths: &[PathBuf]) -> Result<Vec<ManifestFile>, UsageError> {
    let mut files = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| UsageError(format!("-f -: cannot read stdin: {e}")))?;
            files.push(parse_file(None, "-".into(), &text, false)?);
            continue;
        }
        let meta =
            fs::metadata(path).map_err(|e| UsageError(format!("-f {}: {e}", path.display())))?;
        let found: Vec<PathBuf> = if meta.is_dir() {
            let mut v: Vec<PathBuf> = walkdir::WalkDir::new(path)
                .sort_by_file_name()
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file() && is_manifest(e.path()))
                .map(|e| e.into_path())
                .collect();
            v.sort();
            v
        } else {
            vec![path.clone()]
        };
        for file in found {
            let text = fs::read_to_string(&file)
                .map_err(|e| UsageError(format!("-f {}: {e}", file.display())))?;
            let json = file.extension().is_some_and(|x| x == "json");
            files.push(parse_file(
                Some(file.clone()),
                file.display().to_string(),
                &text,
                json,
            )?);
        }
    }
    Ok(files)
}

fn is_manifest(p: &Path) -> bool {
    p.extension()
        .and_then(|x| x.to_str())
        .is_some_and(|x| matches!(x, "yaml" | "yml" | "json"))
}

/// Parses one file's text into documents.
pub fn parse_file(
    path: Option<PathBuf>,
    display: String,
    text: &str,
    json: bool,
) -> Result<ManifestFile, UsageError> {
    let documents = if json || looks_like_json(text) {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| UsageError(format!("{display}:{}: invalid JSON: {e}", e.line())))?;
        vec![Document {
            line: 1,
            text: text.to_string(),
            value: Some(value),
        }]
    } else {
        split_documents(text)
            .into_iter()
            .map(|(line, chunk)| {
                let value = if has_content(&chunk) {
                    let v: Value = serde_saphyr::from_str(&chunk).map_err(|e| {
                        let at = e
                            .location()
                            .map_or(line, |l| line + (l.line() as usize).saturating_sub(1));
                        UsageError(format!(
                            "{display}:{at}: invalid YAML: {}",
                            yaml_message(&e.to_string())
                        ))
                    })?;
                    (!v.is_null()).then_some(v)
                } else {
                    None
                };
                Ok(Document {
                    line: line + first_content_line(&chunk),
                    text: chunk,
                    value,
                })
            })
            .collect::<Result<_, UsageError>>()?
    };
    Ok(ManifestFile {
        path,
        display,
        json: json || looks_like_json(text),
        documents,
    })
}

/// The parser's message without its own (document-relative) position prefix.
fn yaml_message(s: &str) -> String {
    let first = s.lines().next().unwrap_or(s);
    let re = regex::Regex::new(r"^(error: )?line \d+ column \d+: ").expect("static regex");
    re.replace(first, "").into_owned()
}

fn looks_like_json(text: &str) -> bool {
    text.trim_start().starts_with('{')
}

fn is_separator(line: &str) -> bool {
    line == "---" || line.starts_with("--- ") || line.starts_with("---\t") || line == "---\r"
}

fn is_content(l: &str) -> bool {
    let t = l.trim();
    !t.is_empty() && !t.starts_with('#') && !is_separator(l) && t != "..."
}

fn has_content(chunk: &str) -> bool {
    chunk.lines().any(is_content)
}

/// 0-based offset of the chunk's first content line (0 when it has none).
fn first_content_line(chunk: &str) -> usize {
    chunk.lines().position(is_content).unwrap_or(0)
}

/// Splits at `---` lines; each chunk keeps its separator line. Returns (1-based line of the
/// chunk's first line, chunk text).
fn split_documents(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut current = String::new();
    let mut start = 1;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end_matches(['\n', '\r']);
        if is_separator(bare) && !current.is_empty() {
            out.push((start, std::mem::take(&mut current)));
            start = i + 1;
        }
        current.push_str(line);
    }
    if !current.is_empty() || out.is_empty() {
        out.push((start, current));
    }
    out
}

/// Every object of the files with where it came from; `kind: List` documents are
/// expanded into their items.
pub fn objects(files: &[ManifestFile]) -> Vec<(Value, SourceLocation)> {
    let mut out = Vec::new();
    for f in files {
        for (d, doc) in f.documents.iter().enumerate() {
            let Some(v) = &doc.value else { continue };
            let loc = |item| SourceLocation {
                file: f.display.clone(),
                line: doc.line,
                document: d,
                item,
            };
            if is_list(v) {
                for (i, item) in v["items"].as_array().into_iter().flatten().enumerate() {
                    out.push((item.clone(), loc(Some(i))));
                }
            } else {
                out.push((v.clone(), loc(None)));
            }
        }
    }
    out
}

/// The first file holding an object of namespace `ns` (objects that name none are in
/// `default_ns`), by reference: nothing is copied.
pub fn first_file_of_namespace<'a>(
    files: &'a [ManifestFile],
    ns: &str,
    default_ns: &str,
) -> Option<&'a str> {
    let in_ns = |v: &Value| {
        v.pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or(default_ns)
            == ns
    };
    files.iter().find_map(|f| {
        f.documents
            .iter()
            .filter_map(|d| d.value.as_ref())
            .any(|v| {
                if is_list(v) {
                    v["items"].as_array().into_iter().flatten().any(in_ns)
                } else {
                    in_ns(v)
                }
            })
            .then_some(f.display.as_str())
    })
}

fn is_list(v: &Value) -> bool {
    v.get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k == "List" || k.ends_with("List"))
        && v.get("items").is_some_and(Value::is_array)
}

/// Changes to make to the loaded files: replaced objects by location, and new documents
/// appended to a file.
/// Replacement objects for one document: `(item index in a List, new object)`.
type DocumentChanges = Vec<(Option<usize>, Value)>;

#[derive(Debug, Default)]
pub struct Edits {
    /// Keyed by (file as displayed, document index).
    replaced: BTreeMap<(String, usize), DocumentChanges>,
    appended: BTreeMap<String, Vec<Value>>,
}

impl Edits {
    pub fn replace(&mut self, at: &SourceLocation, object: Value) {
        self.replaced
            .entry((at.file.clone(), at.document))
            .or_default()
            .push((at.item, object));
    }

    pub fn append(&mut self, file: &str, object: Value) {
        self.appended
            .entry(file.to_string())
            .or_default()
            .push(object);
    }

    pub fn is_empty(&self) -> bool {
        self.replaced.is_empty() && self.appended.is_empty()
    }

    /// Whether `file` changes.
    pub fn touches(&self, file: &str) -> bool {
        self.appended.contains_key(file) || self.replaced.keys().any(|(f, _)| f == file)
    }
}

/// YAML for a rewritten document. Long strings (pinned image references) stay on one line
/// instead of being folded, so a rewrite changes as few lines as possible.
pub fn to_yaml(v: &Value) -> Result<String, String> {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.folded_wrap_chars = usize::MAX;
    serde_saphyr::to_string_with_options(v, options).map_err(|e| e.to_string())
}

/// The file's new text: untouched documents verbatim, changed ones re-serialized.
pub fn render(file: &ManifestFile, edits: &Edits) -> Result<String, String> {
    if file.json {
        let mut v = file
            .documents
            .first()
            .and_then(|d| d.value.clone())
            .unwrap_or(Value::Null);
        if let Some(changes) = edits.replaced.get(&(file.display.clone(), 0)) {
            apply_changes(&mut v, changes);
        }
        let mut out = serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?;
        out.push('\n');
        for extra in edits.appended.get(&file.display).into_iter().flatten() {
            out.push_str(&serde_json::to_string_pretty(extra).map_err(|e| e.to_string())?);
            out.push('\n');
        }
        return Ok(out);
    }
    let mut out = String::new();
    for (d, doc) in file.documents.iter().enumerate() {
        match (edits.replaced.get(&(file.display.clone(), d)), &doc.value) {
            (Some(changes), Some(v)) => {
                let mut v = v.clone();
                apply_changes(&mut v, changes);
                if let Some(first) = doc.text.lines().next().filter(|l| is_separator(l)) {
                    out.push_str(first);
                    out.push('\n');
                }
                out.push_str(&to_yaml(&v)?);
            }
            _ => out.push_str(&doc.text),
        }
    }
    for extra in edits.appended.get(&file.display).into_iter().flatten() {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str("---\n");
        out.push_str(&to_yaml(extra)?);
    }
    Ok(out)
}

/// Only what changes, as YAML documents: every changed object (a changed `List` as its
/// whole document) and every new one. This is what `fix -f` prints, ready for
/// `kubectl apply -f -`; documents it does not change are not repeated.
pub fn render_changed(files: &[ManifestFile], edits: &Edits) -> Result<String, String> {
    let mut docs = Vec::new();
    for f in files {
        for (d, doc) in f.documents.iter().enumerate() {
            if let (Some(changes), Some(v)) =
                (edits.replaced.get(&(f.display.clone(), d)), &doc.value)
            {
                let mut v = v.clone();
                apply_changes(&mut v, changes);
                docs.push(to_yaml(&v)?);
            }
        }
        for extra in edits.appended.get(&f.display).into_iter().flatten() {
            docs.push(to_yaml(extra)?);
        }
    }
    Ok(docs.join("---\n"))
}

fn apply_changes(doc: &mut Value, changes: &[(Option<usize>, Value)]) {
    for (item, new) in changes {
        match item {
            Some(i) => {
                if let Some(slot) = doc.get_mut("items").and_then(|v| v.get_mut(*i)) {
                    *slot = new.clone();
                }
            }
            None => *doc = new.clone(),
        }
    }
}

/// Rewrites every changed file in place. Every file is rendered first; nothing is
/// written unless all render. Each file is replaced atomically (temp file + rename),
/// keeping its permissions.
pub fn write_in_place(files: &[ManifestFile], edits: &Edits) -> anyhow::Result<Vec<PathBuf>> {
    let mut rendered = Vec::new();
    for f in files.iter().filter(|f| edits.touches(&f.display)) {
        let Some(path) = &f.path else {
            anyhow::bail!("--write cannot rewrite stdin (-f -)");
        };
        let text = render(f, edits).map_err(|e| anyhow::anyhow!("{}: {e}", f.display))?;
        rendered.push((path.clone(), text));
    }
    let mut written = Vec::new();
    for (path, text) in rendered {
        let tmp = path.with_extension("secfix.tmp");
        fs::write(&tmp, text).map_err(|e| anyhow::anyhow!("{}: {e}", tmp.display()))?;
        if let Ok(meta) = fs::metadata(&path) {
            let _ = fs::set_permissions(&tmp, meta.permissions());
        }
        fs::rename(&tmp, &path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MULTI: &str = "# leading comment\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n# only a comment\n---\nkind: ConfigMap\napiVersion: v1\nmetadata: {name: c}\n";

    #[test]
    fn splits_documents_with_lines() {
        let f = parse_file(None, "m.yaml".into(), MULTI, false).unwrap();
        assert_eq!(f.documents.len(), 3);
        assert_eq!(f.documents[0].line, 2);
        assert!(f.documents[1].value.is_none());
        assert_eq!(f.documents[2].line, 9);
        let objs = objects(&[f]);
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[1].1.line, 9);
    }

    #[test]
    fn render_keeps_untouched_documents_verbatim_and_key_order() {
        let f = parse_file(None, "m.yaml".into(), MULTI, false).unwrap();
        let mut edits = Edits::default();
        let objs = objects(std::slice::from_ref(&f));
        let mut changed = objs[1].0.clone();
        changed["data"] = json!({"k": "v"});
        edits.replace(&objs[1].1, changed);
        let out = render(&f, &edits).unwrap();
        assert!(out.starts_with("# leading comment\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n# only a comment\n---\n"));
        let tail = &out[out.rfind("---\n").unwrap() + 4..];
        assert!(
            tail.starts_with("kind: ConfigMap\napiVersion: v1\n"),
            "{tail}"
        );
        assert!(tail.contains("k: v"));
    }

    #[test]
    fn lists_are_expanded_and_rewritten_by_item() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: a}}\n- {apiVersion: v1, kind: Pod, metadata: {name: b}}\n";
        let f = parse_file(None, "l.yaml".into(), text, false).unwrap();
        let objs = objects(std::slice::from_ref(&f));
        assert_eq!(objs.len(), 2);
        let mut edits = Edits::default();
        let mut b = objs[1].0.clone();
        b["metadata"]["labels"] = json!({"x": "y"});
        edits.replace(&objs[1].1, b);
        let out: Value = serde_saphyr::from_str(&render(&f, &edits).unwrap()).unwrap();
        assert_eq!(out["items"][1]["metadata"]["labels"]["x"], "y");
        assert!(out["items"][0]["metadata"].get("labels").is_none());
    }

    #[test]
    fn bad_yaml_names_file_and_document_line() {
        let err =
            parse_file(None, "bad.yaml".into(), "a: 1\n---\nb: [unclosed\n", false).unwrap_err();
        assert_eq!(err.0, "bad.yaml:3: invalid YAML: unclosed bracket '['");
    }

    #[test]
    fn json_files_are_one_document() {
        let f = parse_file(
            None,
            "x.json".into(),
            "{\"kind\": \"Pod\", \"apiVersion\": \"v1\"}",
            true,
        )
        .unwrap();
        assert_eq!(objects(&[f]).len(), 1);
    }
}
