//! Objects out of one source, in order, as they are read: documents of a YAML stream, values
//! of a JSON stream, and the items of `List`s (any object with an `items` key, as kubectl
//! takes it; nested Lists are flattened too, which kubectl 1.32 refuses).
//!
//! Documents that are not Kubernetes objects (empty, `null`, a scalar, a sequence, a mapping
//! without `kind`: Helm values files, `Chart.yaml`) are skipped without a word; kubectl would
//! refuse them, but a directory of manifests often holds such files.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::ops::Range;
use std::sync::{Mutex, mpsc};

use serde_json::Value;

use super::{json, yaml};

pub use super::yaml::Limits;

/// What a reader hands over, in input order.
#[derive(Debug)]
pub enum Piece {
    /// One document (its index in the source, counting empty ones).
    Document(Doc),
    /// One item of a large `List` document read item by item: its document holds no items.
    Item {
        document: usize,
        item: usize,
        line: usize,
        value: Value,
    },
    /// A problem at a line: an error skips the document or item it is in.
    Diag(Diag),
}

/// One document of a source.
#[derive(Debug, Clone, Default)]
pub struct Doc {
    pub index: usize,
    /// Line of the document's first content line (or of its start when it has none).
    pub line: usize,
    /// Byte range of the document in the source (for YAML, with the `---` line opening it).
    pub span: Range<usize>,
    /// Byte offset where text ignored after a `...` begins (inside `span`), if any.
    pub tail: Option<usize>,
    /// `None` for an empty document, one that failed (`error`) or one read item by item.
    pub value: Option<Value>,
    /// Why the document could not be read.
    pub error: Option<String>,
    /// True when its items were handed over one by one as [`Piece::Item`].
    pub framed: bool,
    /// Line of each element of the document's top-level `items` (when it is a List read
    /// whole; YAML documents read whole give none and their items take the document's line).
    pub item_lines: Vec<usize>,
}

/// A warning or an error at one line of the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diag {
    pub error: bool,
    pub line: usize,
    pub message: String,
}

impl Diag {
    pub fn error(line: usize, message: impl Into<String>) -> Diag {
        Diag {
            error: true,
            line,
            message: message.into(),
        }
    }

    pub fn warning(line: usize, message: impl Into<String>) -> Diag {
        Diag {
            error: false,
            line,
            message: message.into(),
        }
    }
}

/// One object of a source and where it is.
#[derive(Debug, Clone)]
pub struct Found {
    pub value: Value,
    /// 1-based line of the object (its document's, or its List item's).
    pub line: usize,
    /// Index of its document in the source.
    pub document: usize,
    /// Its position in the (nested) `items` of its document; empty for a whole document.
    pub items: Vec<usize>,
}

impl Found {
    /// Where the object stands in `file` (its path as shown).
    pub(crate) fn location(&self, file: &str) -> secfix_core::model::SourceLocation {
        secfix_core::model::SourceLocation {
            file: file.to_string(),
            line: self.line,
            field_line: None,
            field_column: None,
            document: self.document,
            item: self.items.first().copied(),
            nested: self
                .items
                .get(1..)
                .map(<[usize]>::to_vec)
                .unwrap_or_default(),
        }
    }
}

/// What reading a source gives, as it goes.
#[derive(Debug)]
pub enum Out {
    Object(Found),
    Diag(Diag),
    /// A document is complete (only when documents are kept).
    Document(Doc),
}

/// Work the splitters hand out, in input order.
#[derive(Debug)]
pub enum Task {
    /// Nothing to parse (a diagnostic, an empty document).
    Piece(Piece),
    /// Text to parse: done on a worker thread when the source is large.
    Job(Job),
}

/// A unit of input that parses on its own.
#[derive(Debug)]
pub enum Job {
    /// A YAML document read whole: `base` is the file line before its text, and the first
    /// `shift` lines of the text are directives added in front.
    YamlDocument {
        doc: Doc,
        text: String,
        base: usize,
        shift: usize,
    },
    /// One item of a large YAML List (text re-indented as a block node).
    YamlItem {
        document: usize,
        item: usize,
        line: usize,
        text: String,
    },
    /// What is left of a large YAML List document without its items.
    YamlWrapper {
        doc: Doc,
        text: String,
        first_line: usize,
    },
    /// A JSON top-level value read whole.
    JsonDocument { doc: Doc, bytes: Vec<u8> },
    /// One item of a JSON List read item by item.
    JsonItem {
        document: usize,
        item: usize,
        line: usize,
        bytes: Vec<u8>,
    },
}

/// Anchors by name, shared by the items of one large YAML List.
pub(crate) type Anchors = HashMap<String, (Value, usize)>;

/// What a job gives.
struct Done {
    pieces: Vec<Piece>,
    /// Anchors a YAML item defined (for items after it).
    anchors: Anchors,
    /// A YAML item that refers to an anchor of an earlier item: run it again, in order, with
    /// the anchors known by then.
    retry: Option<Job>,
}

impl Job {
    /// Runs the job. `names`: the anchors of earlier items (`None` on a worker thread, which
    /// cannot know them yet).
    fn run(self, limits: &Limits, names: Option<&mut Anchors>) -> Done {
        let mut done = Done {
            pieces: Vec::new(),
            anchors: Anchors::new(),
            retry: None,
        };
        match self {
            Job::YamlDocument {
                mut doc,
                text,
                base,
                shift,
            } => {
                let mut local = Anchors::new();
                match yaml::parse(&text, base, shift, limits, &mut local) {
                    Ok(p) => {
                        done.pieces.extend(p.warnings.into_iter().map(Piece::Diag));
                        doc.value = p.value;
                        doc.item_lines = p.item_lines;
                    }
                    Err(f) => {
                        doc.error = Some(format!("line {}: {}", f.diag.line, f.diag.message));
                        done.pieces.push(Piece::Diag(f.diag));
                    }
                }
                done.pieces.push(Piece::Document(doc));
            }
            Job::YamlItem {
                document,
                item,
                line,
                text,
            } => {
                let on_worker = names.is_none();
                let mut local = Anchors::new();
                let table = names.unwrap_or(&mut local);
                match yaml::parse(&text, line - 1, 0, limits, table) {
                    Ok(p) => {
                        done.pieces.extend(p.warnings.into_iter().map(Piece::Diag));
                        done.pieces.push(Piece::Item {
                            document,
                            item,
                            line,
                            value: p.value.unwrap_or(Value::Null),
                        });
                        done.anchors = local;
                    }
                    Err(f) if f.missing_anchor && on_worker => {
                        done.retry = Some(Job::YamlItem {
                            document,
                            item,
                            line,
                            text,
                        });
                    }
                    Err(f) => done.pieces.push(Piece::Diag(f.diag)),
                }
            }
            Job::YamlWrapper {
                mut doc,
                text,
                first_line,
            } => {
                let mut local = Anchors::new();
                // The wrapper's lines are not contiguous (the items are cut out): its problems
                // are reported at its first line.
                if let Err(f) = yaml::parse(&text, 0, 0, limits, &mut local) {
                    let d = Diag::error(first_line, f.diag.message);
                    doc.error = Some(format!("line {}: {}", d.line, d.message));
                    done.pieces.push(Piece::Diag(d));
                }
                done.pieces.push(Piece::Document(doc));
            }
            Job::JsonDocument { mut doc, bytes } => {
                match json::parse(&bytes, doc.line, limits, true) {
                    Ok((v, warnings)) => {
                        done.pieces.extend(warnings.into_iter().map(Piece::Diag));
                        doc.value = Some(v);
                    }
                    Err(d) => {
                        doc.error = Some(format!("line {}: {}", d.line, d.message));
                        done.pieces.push(Piece::Diag(d));
                    }
                }
                done.pieces.push(Piece::Document(doc));
            }
            Job::JsonItem {
                document,
                item,
                line,
                bytes,
            } => match json::parse(&bytes, line, limits, false) {
                Ok((value, warnings)) => {
                    done.pieces.extend(warnings.into_iter().map(Piece::Diag));
                    done.pieces.push(Piece::Item {
                        document,
                        item,
                        line,
                        value,
                    });
                }
                Err(d) => done.pieces.push(Piece::Diag(d)),
            },
        }
        done
    }
}

/// Runs the tasks a splitter produces and hands their pieces over in input order. With more
/// than one thread, the splitter runs on its own thread and jobs on `threads` workers; at
/// most a fixed window of tasks is in flight, so memory stays bounded.
fn execute<P>(
    threads: usize,
    limits: &Limits,
    produce: P,
    out: &mut dyn FnMut(Piece),
) -> std::io::Result<()>
where
    P: FnOnce(&mut dyn FnMut(Task)) -> std::io::Result<()> + Send,
{
    let mut names = Anchors::new();
    let finish = |done: Done, names: &mut Anchors, out: &mut dyn FnMut(Piece)| {
        let done = match done.retry {
            Some(job) => job.run(limits, Some(names)),
            None => done,
        };
        names.extend(done.anchors);
        for p in done.pieces {
            out(p);
        }
    };
    if threads <= 1 {
        return produce(&mut |task| match task {
            Task::Piece(p) => out(p),
            Task::Job(job) => {
                let done = job.run(limits, Some(&mut names));
                finish(done, &mut names, out);
            }
        });
    }
    let window = 16 * threads;
    let (task_tx, task_rx) = mpsc::sync_channel::<(u64, Task)>(window);
    let task_rx = Mutex::new(task_rx);
    std::thread::scope(|s| {
        let (done_tx, done_rx) = mpsc::channel::<(u64, Done)>();
        let (permit_tx, permit_rx) = mpsc::sync_channel::<()>(window);
        for _ in 0..window {
            let _ = permit_tx.send(());
        }
        let producer = s.spawn(move || {
            let mut seq = 0u64;
            produce(&mut |task| {
                // Waits while `window` tasks are in flight.
                if permit_rx.recv().is_ok() {
                    let _ = task_tx.send((seq, task));
                    seq += 1;
                }
            })
        });
        let task_rx = &task_rx;
        for _ in 0..threads {
            let done_tx = done_tx.clone();
            s.spawn(move || {
                loop {
                    let next = task_rx.lock().map(|rx| rx.recv());
                    let Ok(Ok((seq, task))) = next else { break };
                    let done = match task {
                        Task::Piece(p) => Done {
                            pieces: vec![p],
                            anchors: Anchors::new(),
                            retry: None,
                        },
                        Task::Job(job) => job.run(limits, None),
                    };
                    if done_tx.send((seq, done)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        let mut pending: BTreeMap<u64, Done> = BTreeMap::new();
        let mut next = 0u64;
        for (seq, done) in done_rx {
            pending.insert(seq, done);
            while let Some(done) = pending.remove(&next) {
                finish(done, &mut names, out);
                next += 1;
                let _ = permit_tx.send(());
            }
        }
        drop(permit_tx);
        producer
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the manifest reader failed")))
    })
}

/// Reads one source. `keep` keeps whole documents (for rewriting); without it, large Lists
/// are read item by item. `json` is kubectl's sniffing result for the source. `threads`
/// parse documents and items in parallel (1: all on this thread).
pub fn read<R: BufRead + Send>(
    reader: R,
    json: bool,
    keep: bool,
    limits: &Limits,
    threads: usize,
    out: &mut dyn FnMut(Out),
) -> std::io::Result<()> {
    let mut on_piece = |p: Piece| match p {
        Piece::Diag(d) => out(Out::Diag(d)),
        Piece::Item {
            document,
            item,
            line,
            value,
        } => flatten(value, line, document, vec![item], &[], out),
        Piece::Document(mut doc) => {
            if keep {
                if let Some(v) = &doc.value {
                    flatten_document(v, &doc, out);
                }
                out(Out::Document(doc));
            } else if let Some(v) = doc.value.take() {
                flatten(v, doc.line, doc.index, Vec::new(), &doc.item_lines, out);
            }
        }
    };
    let limits_copy = *limits;
    if json {
        execute(
            threads,
            limits,
            move |emit| json::split(reader, &limits_copy, !keep, emit),
            &mut on_piece,
        )
    } else {
        execute(
            threads,
            limits,
            move |emit| yaml::split(reader, &limits_copy, !keep, emit),
            &mut on_piece,
        )
    }
}

/// Hands over the objects of a document read whole.
pub(crate) fn flatten_document(v: &Value, doc: &Doc, out: &mut dyn FnMut(Out)) {
    flatten(
        v.clone(),
        doc.line,
        doc.index,
        Vec::new(),
        &doc.item_lines,
        out,
    );
}

/// Hands over `v`, or each object of it when it is a List (recursively).
fn flatten(
    v: Value,
    line: usize,
    document: usize,
    path: Vec<usize>,
    item_lines: &[usize],
    out: &mut dyn FnMut(Out),
) {
    match v {
        Value::Object(mut m) if m.contains_key("items") => match m.remove("items") {
            Some(Value::Array(items)) => {
                for (i, item) in items.into_iter().enumerate() {
                    let mut p = path.clone();
                    p.push(i);
                    let l = item_lines.get(i).copied().unwrap_or(line);
                    if !item.is_object() {
                        if !item.is_null() {
                            out(Out::Diag(Diag::error(
                                l,
                                format!(
                                    "item {} of a List is not an object (kubectl refuses it too)",
                                    display_path(&p)
                                ),
                            )));
                        }
                        continue;
                    }
                    flatten(item, l, document, p, &[], out);
                }
            }
            Some(Value::Null) | None => {}
            Some(_) => out(Out::Diag(Diag::error(
                line,
                "`items` of a List is not an array (kubectl refuses it too)",
            ))),
        },
        Value::Object(m) if m.get("kind").and_then(Value::as_str).is_some() => {
            out(Out::Object(Found {
                value: Value::Object(m),
                line,
                document,
                items: path,
            }));
        }
        _ => {}
    }
}

fn display_path(p: &[usize]) -> String {
    p.iter().map(usize::to_string).collect::<Vec<_>>().join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read_all(text: &str, keep: bool) -> (Vec<Found>, Vec<Diag>, Vec<Doc>) {
        read_with(text, keep, &Limits::default())
    }

    fn read_with(text: &str, keep: bool, limits: &Limits) -> (Vec<Found>, Vec<Diag>, Vec<Doc>) {
        let mut objects = Vec::new();
        let mut diags = Vec::new();
        let mut docs = Vec::new();
        let is_json = json::looks_like_json(text.as_bytes());
        read(
            text.as_bytes(),
            is_json,
            keep,
            limits,
            1,
            &mut |o| match o {
                Out::Object(f) => objects.push(f),
                Out::Diag(d) => diags.push(d),
                Out::Document(d) => docs.push(d),
            },
        )
        .unwrap();
        (objects, diags, docs)
    }

    fn names(objects: &[Found]) -> Vec<String> {
        objects
            .iter()
            .map(|f| {
                f.value["metadata"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    }

    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n";

    #[test]
    fn multi_document_yaml_with_lines_and_empty_documents() {
        let text = format!(
            "# leading\n{CM}---\n# only a comment\n---\n{}",
            CM.replace("a\n", "b\n")
        );
        let (objects, diags, docs) = read_all(&text, true);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(names(&objects), ["a", "b"]);
        assert_eq!(objects[0].line, 2);
        assert_eq!(objects[1].line, 9);
        assert_eq!(objects[1].document, 2);
        assert_eq!(docs.len(), 3);
        // Spans cover the file, each document with its `---` line.
        assert_eq!(docs[0].span.start, 0);
        assert_eq!(docs[1].span.start, docs[0].span.end);
        assert_eq!(docs[2].span.end, text.len());
        assert!(text[docs[2].span.clone()].starts_with("---\n"));
    }

    #[test]
    fn a_bad_document_is_reported_and_the_others_are_read() {
        let text = format!(
            "{CM}---\nkind: X\nmetadata: [oops\n---\n{}",
            CM.replace("a\n", "c\n")
        );
        let (objects, diags, _) = read_all(&text, false);
        assert_eq!(names(&objects), ["a", "c"]);
        assert_eq!(diags.len(), 1);
        assert!(diags[0].error);
        assert_eq!(diags[0].line, 7, "{diags:?}");
        assert!(diags[0].message.starts_with("invalid YAML"), "{diags:?}");
    }

    #[test]
    fn kubectl_refuses_text_after_the_separator_and_so_do_we_for_that_document() {
        let text = format!(
            "{CM}--- !!map\n{}----\n{}",
            CM.replace("a\n", "b\n"),
            CM.replace("a\n", "c\n")
        );
        let (objects, diags, _) = read_all(&text, false);
        assert_eq!(names(&objects), ["a"]);
        assert_eq!(diags.len(), 2);
        assert_eq!(diags[0].line, 5);
        assert!(diags[0].message.contains("invalid document separator"));
        assert!(!diags[0].message.contains("!!map"), "{}", diags[0].message);
        assert!(diags[0].message.contains("text after it not shown"));
        assert_eq!(diags[1].line, 10);
    }

    #[test]
    fn yaml_directive_and_document_end_are_read() {
        let text = format!(
            "%YAML 1.1\n---\n{CM}...\n# trailing\n---\n%YAML 1.2\n---\n{}...\n",
            CM.replace("a\n", "b\n")
        );
        let (objects, diags, _) = read_all(&text, true);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(names(&objects), ["a", "b"]);
        assert_eq!(objects[0].line, 3);
        assert_eq!(objects[1].line, 12);
    }

    #[test]
    fn content_after_document_end_is_ignored_with_a_warning() {
        let text = format!("{CM}...\n{}", CM.replace("a\n", "b\n"));
        let (objects, diags, _) = read_all(&text, false);
        assert_eq!(names(&objects), ["a"]);
        assert_eq!(diags.len(), 1);
        assert!(!diags[0].error);
        assert_eq!(diags[0].line, 6);
    }

    #[test]
    fn duplicate_keys_last_wins_with_a_warning_naming_the_line() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\ndata: {x: 1, x: 2}\n";
        let (objects, diags, _) = read_all(text, false);
        assert_eq!(names(&objects), ["b"]);
        assert_eq!(objects[0].value["data"]["x"], json!(2));
        let lines: Vec<usize> = diags.iter().map(|d| d.line).collect();
        assert_eq!(lines, [5, 6]);
        assert!(
            diags
                .iter()
                .all(|d| !d.error && d.message.contains("duplicate key"))
        );
        // JSON too.
        let (objects, diags, _) = read_all("{\"kind\": \"A\",\n \"kind\": \"B\"}", false);
        assert_eq!(objects[0].value["kind"], "B");
        assert_eq!(diags[0].line, 1);
    }

    #[test]
    fn octal_and_yaml_1_1_values_as_kubectl_reads_them() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  volumes:\n  - name: s\n    secret: {secretName: s, defaultMode: 0400}\n  x: [yes, on, 0o644, 1.0, 1:20, ~]\n  y: 1\n";
        let (objects, _, _) = read_all(text, false);
        let spec = &objects[0].value["spec"];
        assert_eq!(spec["volumes"][0]["secret"]["defaultMode"], json!(256));
        assert_eq!(spec["x"], json!([true, true, 420, 1, "1:20", null]));
        // `y:` is a YAML 1.1 boolean key.
        assert_eq!(spec["true"], json!(1));
    }

    #[test]
    fn merge_keys_and_anchors() {
        let text = "kind: X\nbase: &b {a: 1, b: 2}\nother: &o {b: 20, c: 30}\nx:\n  a: 0\n  <<: *b\n  c: 3\nz:\n  <<: [*b, *o]\n  d: 4\nq:\n  '<<': *b\n";
        let (objects, diags, _) = read_all(text, false);
        assert!(diags.is_empty(), "{diags:?}");
        let v = &objects[0].value;
        assert_eq!(v["x"], json!({"a": 1, "b": 2, "c": 3}));
        assert_eq!(v["z"], json!({"a": 1, "b": 2, "c": 30, "d": 4}));
        assert_eq!(v["q"], json!({"<<": {"a": 1, "b": 2}}));
        let (_, diags, _) = read_all("kind: X\ns: &s [1]\nx:\n  <<: *s\n", false);
        assert!(diags[0].error && diags[0].message.contains("map merge"));
    }

    #[test]
    fn alias_bombs_stop_at_the_node_limit_of_one_object() {
        let mut text = String::from("kind: X\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
        }
        text.push_str(&format!("---\n{CM}"));
        let (objects, diags, _) = read_all(&text, false);
        assert_eq!(names(&objects), ["a"], "the next document is still read");
        assert!(
            diags[0].error && diags[0].message.contains("YAML nodes"),
            "{diags:?}"
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!(
            "kind: X\nx: {}{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let (objects, diags, _) = read_all(&text, false);
        assert!(objects.is_empty());
        assert!(diags[0].error, "{diags:?}");
        let json_text = format!(
            "{{\"kind\": \"X\", \"x\": {}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let (objects, diags, _) = read_all(&json_text, false);
        assert!(objects.is_empty());
        assert!(diags[0].error, "{diags:?}");
    }

    #[test]
    fn lists_nested_lists_and_items_of_any_kind_are_flattened() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items:\n  - {kind: ConfigMap, metadata: {name: inner}}\n- {kind: ConfigMap, metadata: {name: outer}}\n- 5\n";
        let (objects, diags, _) = read_all(text, false);
        assert_eq!(names(&objects), ["inner", "outer"]);
        assert_eq!(objects[0].items, [0, 0]);
        assert_eq!(objects[1].items, [1]);
        assert_eq!(diags.len(), 1);
        // Any object with `items` is a List, as for kubectl.
        let (objects, _, _) = read_all(
            "kind: Foo\nitems:\n- {kind: ConfigMap, metadata: {name: x}}\n",
            false,
        );
        assert_eq!(names(&objects), ["x"]);
    }

    #[test]
    fn non_objects_and_objects_without_kind_are_skipped() {
        let (objects, diags, _) =
            read_all("hello\n---\n- a\n---\nname: values\n---\nnull\n", false);
        assert!(objects.is_empty());
        assert!(diags.is_empty());
    }

    #[test]
    fn json_streams_and_lists() {
        let text = "{\"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"a\"}}\n{\"kind\":\"List\",\"items\":[\n{\"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"b\"}},\n {\"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"c\", \"n\": 1.0}}]}";
        for keep in [false, true] {
            let (objects, diags, _) = read_all(text, keep);
            assert!(diags.is_empty(), "{diags:?}");
            assert_eq!(names(&objects), ["a", "b", "c"]);
            assert_eq!(
                objects.iter().map(|f| f.line).collect::<Vec<_>>(),
                [1, 3, 4]
            );
            assert_eq!(objects[2].value["metadata"]["n"], json!(1));
        }
        // A syntax error ends the stream; what came before is read.
        let (objects, diags, _) = read_all("{\"kind\": \"A\"}\n{\"kind\": }", false);
        assert_eq!(objects.len(), 1);
        assert_eq!(diags[0].line, 2);
    }

    #[test]
    fn large_lists_are_read_item_by_item_with_their_lines() {
        let limits = Limits {
            frame_bytes: 64,
            ..Limits::default()
        };
        let mut text = String::from("apiVersion: v1\nitems:\n");
        for i in 0..50 {
            text.push_str(&format!("- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c{i}\n  data:\n    k: |\n      line\n\n      # not a comment\n"));
        }
        text.push_str("kind: List\nmetadata:\n  resourceVersion: \"\"\n---\n");
        text.push_str(CM);
        let (objects, diags, docs) = read_with(&text, false, &limits);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(objects.len(), 51);
        assert_eq!(objects[0].line, 3);
        assert_eq!(objects[1].line, 12);
        assert_eq!(objects[49].items, [49]);
        assert_eq!(
            objects[3].value["data"]["k"],
            json!("line\n\n# not a comment\n")
        );
        assert_eq!(names(&objects)[50], "a");
        assert!(docs.is_empty());
        // The same read whole gives the same objects.
        let (whole, _, _) = read_with(&text, true, &Limits::default());
        assert_eq!(
            whole.iter().map(|f| &f.value).collect::<Vec<_>>(),
            objects.iter().map(|f| &f.value).collect::<Vec<_>>()
        );
    }

    #[test]
    fn framed_items_can_alias_earlier_items_and_a_bad_item_is_skipped() {
        let limits = Limits {
            frame_bytes: 16,
            ..Limits::default()
        };
        let text = "items:\n- &first {kind: ConfigMap, metadata: {name: a}}\n- {kind: ConfigMap, metadata: [oops}\n- *first\n";
        let (objects, diags, _) = read_with(text, false, &limits);
        assert_eq!(names(&objects), ["a", "a"]);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].line, 3);
    }

    #[test]
    fn json_items_are_limited_per_object_not_per_file() {
        let limits = Limits {
            max_nodes: 20,
            ..Limits::default()
        };
        let item = "{\"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"x\"}}";
        let items = vec![item; 100].join(",\n");
        let text = format!("{{\"kind\": \"List\", \"items\": [\n{items}]}}");
        let (objects, diags, _) = read_with(&text, false, &limits);
        assert_eq!(objects.len(), 100);
        assert!(diags.is_empty(), "{diags:?}");
        let big = format!(
            "{{\"kind\": \"List\", \"items\": [{item}, {{\"kind\": \"X\", \"a\": [{}]}}, {item}]}}",
            vec!["1"; 50].join(",")
        );
        let (objects, diags, _) = read_with(&big, false, &limits);
        assert_eq!(objects.len(), 2);
        assert_eq!(diags.len(), 1);
    }

    #[test]
    fn yaml_items_are_limited_per_object_not_per_file() {
        let limits = Limits {
            max_nodes: 20,
            ..Limits::default()
        };
        let mut text = String::from("kind: List\nitems:\n");
        for _ in 0..100 {
            text.push_str("- {kind: ConfigMap, metadata: {name: x}}\n");
        }
        for keep in [true, false] {
            let (objects, diags, _) = read_with(&text, keep, &limits);
            assert_eq!(objects.len(), 100);
            assert!(diags.is_empty(), "{diags:?}");
        }
    }

    #[test]
    fn crlf_bom_and_invalid_utf8() {
        let text = "\u{feff}apiVersion: v1\r\nkind: ConfigMap\r\nmetadata: {name: a}\r\ndata:\r\n  k: |\r\n    x\r\n    y\r\n---\r\n\u{feff}kind: ConfigMap\r\nmetadata: {name: b}\r\n";
        let (objects, diags, _) = read_all(text, false);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(names(&objects), ["a", "b"]);
        assert_eq!(objects[0].value["data"]["k"], json!("x\ny\n"));
        let mut bytes = CM.as_bytes().to_vec();
        bytes.extend_from_slice(b"---\nkind: X\nx: \xff\n---\n");
        bytes.extend_from_slice(CM.replace("a\n", "b\n").as_bytes());
        let mut objects = Vec::new();
        let mut diags = Vec::new();
        read(
            &bytes[..],
            false,
            false,
            &Limits::default(),
            1,
            &mut |o| match o {
                Out::Object(f) => objects.push(f),
                Out::Diag(d) => diags.push(d),
                Out::Document(_) => {}
            },
        )
        .unwrap();
        assert_eq!(names(&objects), ["a", "b"]);
        assert_eq!(diags[0].line, 7);
    }

    fn read_threads(text: &str, threads: usize, limits: &Limits) -> (Vec<Found>, Vec<Diag>) {
        let mut objects = Vec::new();
        let mut diags = Vec::new();
        let is_json = json::looks_like_json(text.as_bytes());
        read(
            text.as_bytes(),
            is_json,
            false,
            limits,
            threads,
            &mut |o| match o {
                Out::Object(f) => objects.push(f),
                Out::Diag(d) => diags.push(d),
                Out::Document(_) => {}
            },
        )
        .unwrap();
        (objects, diags)
    }

    #[test]
    fn parallel_reading_gives_the_same_objects_and_problems_in_order() {
        let limits = Limits {
            frame_bytes: 256,
            ..Limits::default()
        };
        let mut list = String::from("apiVersion: v1\nitems:\n");
        for i in 0..300 {
            match i {
                7 => list.push_str("- &shared {kind: ConfigMap, metadata: {name: anchor}}\n"),
                250 => list.push_str("- *shared\n"),
                100 => list.push_str("- {kind: ConfigMap, metadata: [broken}\n"),
                _ => list.push_str(&format!(
                    "- {{kind: ConfigMap, metadata: {{name: c{i}}}, data: {{a: 1, a: 2}}}}\n"
                )),
            }
        }
        list.push_str("kind: List\n");
        let mut stream = String::new();
        for i in 0..300 {
            stream.push_str(&format!("---\nkind: ConfigMap\nmetadata: {{name: s{i}}}\n"));
        }
        let mut json_list = String::from("{\"kind\": \"List\", \"items\": [");
        for i in 0..300 {
            if i > 0 {
                json_list.push_str(",\n");
            }
            json_list.push_str(&format!(
                "{{\"kind\": \"ConfigMap\", \"metadata\": {{\"name\": \"j{i}\"}}}}"
            ));
        }
        json_list.push_str("]}");
        for text in [&list, &stream, &json_list] {
            let (one, d1) = read_threads(text, 1, &limits);
            let (four, d4) = read_threads(text, 4, &limits);
            assert!(one.len() >= 299);
            assert_eq!(
                one.iter().map(|f| (&f.value, f.line)).collect::<Vec<_>>(),
                four.iter().map(|f| (&f.value, f.line)).collect::<Vec<_>>()
            );
            assert_eq!(d1, d4);
        }
        let (objects, diags) = read_threads(&list, 4, &limits);
        assert_eq!(names(&objects).iter().filter(|n| *n == "anchor").count(), 2);
        assert_eq!(diags.iter().filter(|d| d.error).count(), 1);
    }
}
