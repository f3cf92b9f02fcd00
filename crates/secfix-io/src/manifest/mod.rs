//! The offline side: manifests in (`-f` files, directories, stdin), fixed manifests out.
//!
//! - [`loader`]: which sources `-f` names (directories walked, links followed once, FIFOs
//!   refused) and opening them without blocking;
//! - [`yaml`] and [`scalar`]: YAML read as kubectl reads it (YAML 1.1 scalars, duplicate keys,
//!   document splitting), document by document, and large `List`s item by item;
//! - [`json`]: JSON streams, items of a `List` one by one;
//! - [`stream`]: objects out of one source, Lists (nested too) flattened;
//! - [`writer`]: what changes, for stdout or rewritten in place, all or nothing.
//!
//! Reading is tolerant: a source or document that cannot be read is reported (file and line)
//! and every other one is still read. Objects are handed over as they are read, so `scan`
//! holds one object at a time whatever the size of the input; `fix` keeps every source's
//! bytes and documents to rewrite them.

pub mod json;
pub mod kustomize;
pub mod loader;
mod offline_fix;
pub mod position;
pub mod scalar;
pub mod stream;
pub(crate) mod surgical;
pub mod writer;
pub mod yaml;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read as _};
use std::path::PathBuf;

use serde_json::Value;

use secfix_core::model::SourceLocation;

pub use loader::FileStamp;
pub use offline_fix::{OfflineEdits, offline_edits};
pub use stream::{Doc as Document, Limits};
pub use writer::{Edits, Rendered, Written, render, render_all, render_changed, to_yaml};

pub use secfix_core::model::Diagnostic;

/// A manifest source, kept whole to be rewritten (`fix`).
#[derive(Debug, Clone)]
pub struct ManifestFile {
    /// `None` for stdin.
    pub path: Option<PathBuf>,
    /// The path as shown to the user (`-` for stdin).
    pub display: String,
    /// Read as JSON (kubectl's sniffing: the first non-blank character is `{`).
    pub json: bool,
    /// The source as read.
    pub bytes: Vec<u8>,
    pub documents: Vec<Document>,
    /// The file when it was read (`None` for stdin).
    pub stamp: Option<FileStamp>,
    /// Something in it could not be read: it must not be rewritten.
    pub failed: bool,
}

impl ManifestFile {
    fn unreadable(display: String) -> ManifestFile {
        ManifestFile {
            path: None,
            display,
            json: false,
            bytes: Vec::new(),
            documents: Vec::new(),
            stamp: None,
            failed: true,
        }
    }
}

/// How to read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Keep every source whole (to rewrite it); else hand objects over as they are read.
    pub keep: bool,
    pub limits: Limits,
    /// The namespace of objects that name none (`-n`, else `""`, the unnamed namespace),
    /// for telling duplicate objects apart.
    pub default_namespace: String,
    /// Threads that parse a large source's documents and items in parallel.
    pub threads: usize,
    /// How standard input is named in messages and findings (`-` unless set): what
    /// `kubectl kustomize DIR` rendered is read as standard input, named after DIR.
    pub stdin_display: Option<String>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            keep: false,
            limits: Limits::default(),
            default_namespace: String::new(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
            stdin_display: None,
        }
    }
}

/// Reads every source `-f` names, in order: each object goes to `on_object` as soon as it is
/// read, each problem to `on_diag`. With [`ReadOptions::keep`], returns every source whole
/// (an unreadable one as an empty, failed entry); else nothing.
///
/// Two objects with the same API group, kind, namespace and name get a warning naming both
/// places; each is still read (and fixed) on its own, by where it is.
pub fn read(
    paths: &[PathBuf],
    opts: &ReadOptions,
    on_object: &mut dyn FnMut(Value, SourceLocation),
    on_diag: &mut dyn FnMut(Diagnostic),
) -> Vec<ManifestFile> {
    read_with_stdin(paths, opts, None, on_object, on_diag)
}

/// [`read`], with standard input's content given (`-` then reads `stdin`, not the real
/// standard input): for reading the same input twice.
pub(crate) fn read_with_stdin(
    paths: &[PathBuf],
    opts: &ReadOptions,
    stdin: Option<&[u8]>,
    on_object: &mut dyn FnMut(Value, SourceLocation),
    on_diag: &mut dyn FnMut(Diagnostic),
) -> Vec<ManifestFile> {
    let (specs, path_errors) = loader::expand(paths);
    let mut files = Vec::new();
    for e in path_errors {
        if opts.keep {
            // A rewrite must know that not everything was read.
            files.push(ManifestFile::unreadable(e.path.clone()));
        }
        on_diag(Diagnostic {
            file: e.path,
            line: 0,
            message: e.message,
            error: true,
        });
    }
    let mut seen: HashMap<(String, String, String, String), (String, usize)> = HashMap::new();
    for spec in specs {
        let display = match (&spec.kind, &opts.stdin_display) {
            (loader::SourceKind::Stdin, Some(name)) => name.clone(),
            _ => spec.display.clone(),
        };
        let mut file_failed = false;
        let mut documents = Vec::new();
        let mut handle = |out: stream::Out| match out {
            stream::Out::Object(found) => {
                let location = found.location(&display);
                if let Some(key) = identity(&found.value, &opts.default_namespace) {
                    if let Some((file, line)) = seen.get(&key) {
                        on_diag(Diagnostic {
                            file: display.clone(),
                            line: found.line,
                            message: format!(
                                "{} {}/{} is also defined at {file}:{line}; each is checked and fixed on its own",
                                key.1,
                                secfix_core::model::names::namespace_label(&key.2),
                                key.3
                            ),
                            error: false,
                        });
                    } else {
                        seen.insert(key, (display.clone(), found.line));
                    }
                }
                on_object(found.value, location);
            }
            stream::Out::Diag(d) => {
                file_failed |= d.error;
                on_diag(Diagnostic {
                    file: display.clone(),
                    line: d.line,
                    message: d.message,
                    error: d.error,
                });
            }
            stream::Out::Document(d) => documents.push(d),
        };
        let (bytes, stamp, path, is_json) = match read_source(&spec, opts, stdin, &mut handle) {
            Ok(r) => r,
            Err(message) => {
                on_diag(Diagnostic {
                    file: display.clone(),
                    line: 0,
                    message,
                    error: true,
                });
                if opts.keep {
                    files.push(ManifestFile::unreadable(display));
                }
                continue;
            }
        };
        if opts.keep {
            let failed = file_failed || documents.iter().any(|d: &Document| d.error.is_some());
            files.push(ManifestFile {
                path,
                display,
                json: is_json,
                bytes,
                documents,
                stamp,
                failed,
            });
        }
    }
    files
}

type SourceRead = (Vec<u8>, Option<FileStamp>, Option<PathBuf>, bool);

/// Sources from this size on are parsed on several threads.
const PARALLEL_FROM_BYTES: u64 = 1 << 20;

/// Reads one source through `handle`; with `keep`, returns its bytes.
fn read_source(
    spec: &loader::SourceSpec,
    opts: &ReadOptions,
    stdin: Option<&[u8]>,
    handle: &mut dyn FnMut(stream::Out),
) -> Result<SourceRead, String> {
    let io = |e: std::io::Error| format!("cannot read: {e}");
    // Threads pay off only on large sources.
    let threads = |size: Option<u64>| {
        if size.is_some_and(|s| s < PARALLEL_FROM_BYTES) {
            1
        } else {
            opts.threads
        }
    };
    let l = &opts.limits;
    match &spec.kind {
        loader::SourceKind::Stdin if stdin.is_some() => {
            let bytes = stdin.unwrap_or_default();
            let json = json::looks_like_json(bytes);
            let t = threads(Some(bytes.len() as u64));
            stream::read(bytes, json, opts.keep, l, t, handle).map_err(io)?;
            Ok((
                if opts.keep {
                    bytes.to_vec()
                } else {
                    Vec::new()
                },
                None,
                None,
                json,
            ))
        }
        loader::SourceKind::Stdin => {
            if opts.keep {
                let mut bytes = Vec::new();
                std::io::stdin()
                    .lock()
                    .read_to_end(&mut bytes)
                    .map_err(io)?;
                let json = json::looks_like_json(&bytes);
                let t = threads(Some(bytes.len() as u64));
                stream::read(&bytes[..], json, true, l, t, handle).map_err(io)?;
                Ok((bytes, None, None, json))
            } else {
                let mut r = BufReader::with_capacity(1 << 18, std::io::stdin());
                let json = json::looks_like_json(r.fill_buf().map_err(io)?);
                stream::read(r, json, false, l, threads(None), handle).map_err(io)?;
                Ok((Vec::new(), None, None, json))
            }
        }
        loader::SourceKind::File(path) => {
            if opts.keep {
                let (bytes, stamp) = loader::read_all(path)?;
                let json = json::looks_like_json(&bytes);
                let t = threads(Some(bytes.len() as u64));
                stream::read(&bytes[..], json, true, l, t, handle).map_err(io)?;
                Ok((bytes, Some(stamp), Some(path.clone()), json))
            } else {
                let (file, stamp) = loader::open(path)?;
                let mut r = BufReader::with_capacity(1 << 18, file);
                let json = json::looks_like_json(r.fill_buf().map_err(io)?);
                let t = threads(Some(stamp.size));
                stream::read(r, json, false, l, t, handle).map_err(io)?;
                Ok((Vec::new(), Some(stamp), Some(path.clone()), json))
            }
        }
    }
}

/// (API group, kind, namespace, name) of an object that has a name.
fn identity(v: &Value, default_ns: &str) -> Option<(String, String, String, String)> {
    let name = v.pointer("/metadata/name")?.as_str()?;
    let kind = v.get("kind")?.as_str()?;
    let group = v
        .get("apiVersion")
        .and_then(Value::as_str)
        .and_then(|a| a.split_once('/').map(|(g, _)| g))
        .unwrap_or("");
    let ns = v
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or(default_ns);
    Some((group.into(), kind.into(), ns.into(), name.into()))
}

/// One source read whole from memory, as [`read`] with [`ReadOptions::keep`] reads a file
/// (for tests and fuzzing): the source, and every problem found in it.
pub fn parse_bytes(display: &str, bytes: &[u8]) -> (ManifestFile, Vec<Diagnostic>) {
    let opts = ReadOptions {
        keep: true,
        threads: 1,
        ..ReadOptions::default()
    };
    let json = json::looks_like_json(bytes);
    let mut documents = Vec::new();
    let mut diags = Vec::new();
    let result = stream::read(bytes, json, true, &opts.limits, 1, &mut |o| match o {
        stream::Out::Object(_) => {}
        stream::Out::Diag(d) => diags.push(Diagnostic {
            file: display.to_string(),
            line: d.line,
            message: d.message,
            error: d.error,
        }),
        stream::Out::Document(d) => documents.push(d),
    });
    if let Err(e) = result {
        diags.push(Diagnostic {
            file: display.to_string(),
            line: 0,
            message: format!("cannot read: {e}"),
            error: true,
        });
    }
    let failed = diags.iter().any(|d| d.error) || documents.iter().any(|d| d.error.is_some());
    let file = ManifestFile {
        path: None,
        display: display.to_string(),
        json,
        bytes: bytes.to_vec(),
        documents,
        stamp: None,
        failed,
    };
    (file, diags)
}

/// Every object of the kept files with where it came from; Lists are flattened.
pub fn objects(files: &[ManifestFile]) -> Vec<(Value, SourceLocation)> {
    let mut out = Vec::new();
    for_each_object(files, &mut |v, loc| out.push((v, loc)));
    out
}

/// [`objects`] one at a time (a copy of one object at a time, not of them all).
pub fn for_each_object(files: &[ManifestFile], f: &mut dyn FnMut(Value, SourceLocation)) {
    for file in files {
        for doc in &file.documents {
            let Some(v) = &doc.value else { continue };
            stream::flatten_document(v, doc, &mut |o| {
                if let stream::Out::Object(found) = o {
                    let location = found.location(&file.display);
                    f(found.value, location);
                }
            });
        }
    }
}

/// The first file holding an object of namespace `ns` (objects that name none are in
/// `default_ns`), by reference: nothing is copied.
pub(crate) fn first_file_of_namespace<'a>(
    files: &'a [ManifestFile],
    ns: &str,
    default_ns: &str,
) -> Option<&'a str> {
    // A kustomization file in a -f folder is not an object of any namespace: new objects
    // appended to it would never be rendered.
    let in_ns = |v: &Value| {
        let kustomize = v
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|a| a.starts_with("kustomize.config.k8s.io/"))
            || matches!(
                v.get("kind").and_then(Value::as_str),
                Some("Kustomization" | "Component")
            );
        !kustomize
            && v.pointer("/metadata/name").is_some()
            && v.pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or(default_ns)
                == ns
    };
    fn any(v: &Value, f: &dyn Fn(&Value) -> bool) -> bool {
        match v.get("items").and_then(Value::as_array) {
            Some(items) => items.iter().any(|i| any(i, f)),
            None => f(v),
        }
    }
    files.iter().find_map(|f| {
        f.documents
            .iter()
            .filter_map(|d| d.value.as_ref())
            .any(|v| any(v, &in_ns))
            .then_some(f.display.as_str())
    })
}
