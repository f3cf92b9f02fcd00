//! YAML streams read the way kubectl reads them, document by document (and, for a large
//! `List`, item by item), in bounded memory.
//!
//! Documents are split as kubectl's `YAMLReader` splits them: at lines that start with `---`
//! followed by nothing but spaces or a comment. A `---` line followed by anything else
//! (`--- !tag`, `--- {a: 1}`, `----`) is refused, as kubectl refuses it; here only the
//! document it starts is lost, the others are still read. Line breaks are `\n` or `\r\n`.
//!
//! Each document is parsed on its own with [`granit_parser`] (the parser under serde-saphyr),
//! and its scalars are resolved as YAML 1.1 by go-yaml v2 would ([`super::scalar`]). On top
//! of what kubectl does:
//! - a `%YAML 1.1`/`%YAML 1.2` (or `%TAG`) directive before a `---` is accepted and applies to
//!   the next document (kubectl 1.32 refuses the file: "did not find expected <document
//!   start>");
//! - duplicate mapping keys: the last one wins, as in kubectl, with a warning naming the line;
//! - after a `...` document end, kubectl ignores the rest up to the next `---`; so do we, with a
//!   warning when that rest is not empty.
//!
//! Limits (each failure is reported with its line and only that document or object is
//! skipped): [`Limits::max_nodes`] YAML nodes per object (aliases count the nodes they
//! repeat, which stops alias bombs), [`Limits::max_depth`] levels of nesting, and
//! [`Limits::max_document_bytes`] for one document that is not read item by item.
//!
//! A document larger than [`Limits::frame_bytes`] whose root is a block mapping with an
//! `items:` key at column 0 (a `kubectl get -o yaml` dump) is read item by item when nothing
//! needs its text (`scan`): each item of that top-level sequence is parsed and handed over on
//! its own, so memory stays at the size of one item. An alias in one item may refer to an
//! anchor of an earlier item.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;

use granit_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Value};

use super::scalar::{self, CoreTag, Scalar};
use super::stream::{Anchors, Diag, Doc, Job, Piece, Task};

/// Resource limits for reading one source.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// YAML nodes (or JSON values) per object: a document, or an item of a `List`.
    pub max_nodes: usize,
    /// Nesting depth of mappings and sequences.
    pub max_depth: usize,
    /// Size of one document held in memory whole.
    pub max_document_bytes: usize,
    /// Above this size a `List` document is read item by item (when its text is not kept).
    pub frame_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_nodes: 250_000,
            max_depth: 200,
            max_document_bytes: 64 << 20,
            frame_bytes: 4 << 20,
        }
    }
}

/// Splits a YAML stream into documents (and the items of large `List` documents, when
/// `frame`: only when the caller does not need documents whole), in order, as tasks to
/// parse. I/O errors end the read.
pub fn split<R: BufRead>(
    reader: R,
    limits: &Limits,
    frame: bool,
    out: &mut dyn FnMut(Task),
) -> std::io::Result<()> {
    let mut split = Splitter::new(reader, *limits, frame);
    split.run(out)
}

/// A line of the source: its bytes as read, and its text as kubectl's line reader gives it
/// (line break dropped, `\n` added).
struct Line {
    /// 1-based line number.
    number: usize,
    /// Byte offset of the line in the source.
    offset: usize,
    /// Length in the source, line break included.
    raw_len: usize,
    text: String,
    /// The line was not valid UTF-8.
    bad_utf8: bool,
}

/// The document being accumulated.
#[derive(Default)]
struct Current {
    index: usize,
    /// First line of the chunk (its `---` line, or the first line of the file).
    first_line: usize,
    /// Byte range of the chunk in the source.
    start: usize,
    end: usize,
    /// `%` directive lines seen before any content.
    directives: String,
    /// Text for the parser (normalized lines), while not read item by item.
    text: String,
    /// (line number, offset in `text`) of every line in `text`.
    line_starts: Vec<(usize, usize)>,
    /// Line of the first content line.
    content_line: Option<usize>,
    /// After a `...` line: byte offset where the ignored tail starts.
    tail: Option<usize>,
    /// First non-blank line of the ignored tail.
    tail_content: Option<usize>,
    /// The chunk cannot be read: (line, why).
    error: Option<(usize, String)>,
    framer: Option<Framer>,
}

impl Current {
    fn new(index: usize, first_line: usize, start: usize) -> Self {
        Current {
            index,
            first_line,
            start,
            end: start,
            ..Current::default()
        }
    }

    /// The `i`-th line of `text`.
    fn text_line(&self, i: usize) -> &str {
        let at = self.line_starts[i].1;
        let end = self
            .line_starts
            .get(i + 1)
            .map_or(self.text.len(), |&(_, e)| e);
        &self.text[at..end]
    }
}

struct Splitter<R> {
    reader: R,
    limits: Limits,
    frame: bool,
    line_no: usize,
    offset: usize,
    buf: Vec<u8>,
    /// Directives of a chunk that held nothing else, for the next document.
    carried_directives: String,
    /// The last line's text (reused: no allocation per line).
    spare: String,
}

fn is_blank_or_comment(t: &str) -> bool {
    let t = t.trim_start_matches([' ', '\t']);
    t.is_empty() || t.starts_with('#') || t.starts_with('\n') || t.starts_with("\r\n")
}

/// Go's `strings.TrimSpace`, enough for what follows `---`.
fn go_trim(s: &str) -> &str {
    s.trim_matches(char::is_whitespace)
}

/// What a line that starts with `---` is: `Ok(true)` a separator, `Err(rest)` a refused one.
fn separator(text: &str) -> Option<Result<(), &str>> {
    let rest = go_trim(text.strip_prefix("---")?);
    Some(if rest.is_empty() || rest.starts_with('#') {
        Ok(())
    } else {
        Err(rest)
    })
}

/// A `...` document end line (optionally followed by spaces or a comment).
fn is_document_end(text: &str) -> bool {
    text.strip_prefix("...").is_some_and(|rest| {
        let rest = go_trim(rest);
        rest.is_empty() || rest.starts_with('#')
    })
}

impl<R: BufRead> Splitter<R> {
    fn new(reader: R, limits: Limits, frame: bool) -> Self {
        Splitter {
            reader,
            limits,
            frame,
            line_no: 0,
            offset: 0,
            buf: Vec::new(),
            carried_directives: String::new(),
            spare: String::new(),
        }
    }

    fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        self.buf.clear();
        let n = self.reader.read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        let offset = self.offset;
        self.offset += n;
        let mut body: &[u8] = &self.buf;
        if let Some(b) = body.strip_suffix(b"\n") {
            body = b.strip_suffix(b"\r").unwrap_or(b);
        }
        let mut text = std::mem::take(&mut self.spare);
        text.clear();
        let bad_utf8 = match std::str::from_utf8(body) {
            Ok(s) => {
                text.push_str(s);
                false
            }
            Err(_) => true,
        };
        text.push('\n');
        Ok(Some(Line {
            number: self.line_no,
            offset,
            raw_len: n,
            text,
            bad_utf8,
        }))
    }

    fn run(&mut self, out: &mut dyn FnMut(Task)) -> std::io::Result<()> {
        let mut cur = Current::new(0, 1, 0);
        while let Some(line) = self.next_line()? {
            if let Some(sep) = separator(&line.text) {
                // Every separator starts a chunk (holding its `---` line), except at the very
                // start of the file.
                if line.offset > 0 {
                    cur.end = line.offset;
                    let index = cur.index + 1;
                    self.finish(
                        std::mem::replace(&mut cur, Current::new(index, line.number, line.offset)),
                        out,
                    );
                }
                cur.end = line.offset + line.raw_len;
                if sep.is_err() {
                    // What follows the `---` is never quoted: it may be a value.
                    cur.error = Some((
                        line.number,
                        "invalid document separator: only a comment may follow `---` on its line (kubectl refuses it too; text after it not shown)".to_string(),
                    ));
                }
                continue;
            }
            cur.end = line.offset + line.raw_len;
            self.line(&mut cur, &line, out);
            self.spare = line.text;
        }
        self.finish(cur, out);
        Ok(())
    }

    fn line(&mut self, cur: &mut Current, line: &Line, out: &mut dyn FnMut(Task)) {
        if cur.error.is_some() {
            return;
        }
        if line.bad_utf8 {
            cur.error = Some((line.number, "invalid UTF-8".into()));
            cur.text = String::new();
            cur.line_starts = Vec::new();
            cur.framer = None;
            return;
        }
        if cur.tail.is_some() {
            if cur.tail_content.is_none() && !is_blank_or_comment(&line.text) {
                cur.tail_content = Some(line.number);
            }
            return;
        }
        if cur.content_line.is_none() {
            if line.text.starts_with('%') {
                cur.directives.push_str(&line.text);
                return;
            }
            if !is_blank_or_comment(&line.text) {
                cur.content_line = Some(line.number);
            }
        }
        if is_document_end(&line.text) {
            cur.tail = Some(line.offset);
            return;
        }
        if let Some(framer) = &mut cur.framer {
            framer.line(line.number, &line.text, out);
            return;
        }
        cur.line_starts.push((line.number, cur.text.len()));
        cur.text.push_str(&line.text);
        if self.frame && cur.text.len() > self.limits.frame_bytes && cur.framer.is_none() {
            self.try_frame(cur, out);
        }
        if cur.framer.is_none() && cur.text.len() > self.limits.max_document_bytes {
            cur.error = Some((
                cur.content_line.unwrap_or(cur.first_line),
                format!(
                    "document larger than {} MiB (only a block-style List is read item by item)",
                    self.limits.max_document_bytes >> 20
                ),
            ));
            cur.text = String::new();
            cur.line_starts = Vec::new();
        }
    }

    /// Starts reading a large document item by item, if it is a block mapping with an
    /// `items:` key at column 0.
    fn try_frame(&mut self, cur: &mut Current, out: &mut dyn FnMut(Task)) {
        let lines = cur.line_starts.len();
        let first = (0..lines)
            .map(|i| cur.text_line(i))
            .find(|l| !is_blank_or_comment(l));
        let block_mapping = first.is_some_and(|l| {
            !l.starts_with([
                ' ', '\t', '{', '[', '-', '?', '!', '&', '*', '|', '>', '\'', '"',
            ])
        });
        if !block_mapping || !(0..lines).any(|i| is_items_key(cur.text_line(i))) {
            return;
        }
        let directives = format!("{}{}", self.carried_directives, cur.directives);
        let mut framer = Framer::new(self.limits, cur.index, &directives);
        for i in 0..lines {
            let number = cur.line_starts[i].0;
            framer.line(number, cur.text_line(i), out);
        }
        cur.text = String::new();
        cur.line_starts = Vec::new();
        cur.framer = Some(framer);
    }

    fn finish(&mut self, mut cur: Current, out: &mut dyn FnMut(Task)) {
        let piece = |p| Task::Piece(p);
        let line = cur.content_line.unwrap_or(cur.first_line);
        let mut doc = Doc {
            index: cur.index,
            line,
            span: cur.start..cur.end.max(cur.start),
            tail: cur.tail,
            value: None,
            error: None,
            framed: false,
            item_lines: Vec::new(),
        };
        if let Some(at) = cur.tail_content {
            out(piece(Piece::Diag(Diag::warning(
                at,
                "content after a `...` document end is ignored until the next `---` (kubectl ignores it too)",
            ))));
        }
        if let Some((at, message)) = cur.error.take() {
            out(piece(Piece::Diag(Diag::error(at, message.clone()))));
            doc.error = Some(format!("line {at}: {message}"));
            self.carried_directives.clear();
            out(piece(Piece::Document(doc)));
            return;
        }
        let mut directives = std::mem::take(&mut self.carried_directives);
        directives.push_str(&cur.directives);
        if let Some(mut framer) = cur.framer.take() {
            doc.framed = true;
            framer.finish(doc, out);
            return;
        }
        if cur.content_line.is_none() {
            // Only comments, blank lines or directives: directives carry to the next document.
            self.carried_directives = directives;
            out(piece(Piece::Document(doc)));
            return;
        }
        // The parser sees the directives and a `---` (when there are directives), then the
        // document's lines.
        let base = cur.line_starts.first().map_or(line, |&(n, _)| n) - 1;
        let (text, shift) = if directives.is_empty() {
            (cur.text, 0)
        } else {
            let shift = directives.lines().count() + 1;
            (format!("{directives}---\n{}", cur.text), shift)
        };
        out(Task::Job(Job::YamlDocument {
            doc,
            text,
            base,
            shift,
        }));
    }
}

fn is_items_key(line: &str) -> bool {
    line.strip_prefix("items")
        .map(|r| r.trim_start_matches([' ', '\t']))
        .and_then(|r| r.strip_prefix(':'))
        .is_some_and(is_blank_or_comment)
}

/// Cuts the top-level `items` sequence of a large document into items, by indentation:
/// an item starts at a `- ` at the sequence's column and goes on while lines are indented
/// deeper (or blank, or comments).
struct Framer {
    limits: Limits,
    document: usize,
    state: FrameState,
    /// Lines of the document outside `items` (with `items:` itself kept), parsed at the end.
    wrapper: String,
    wrapper_first_line: usize,
    /// Item being accumulated: its first line and text (`None` text: too large, skipped).
    item: Option<(usize, Option<String>)>,
    items: usize,
    indent: Option<usize>,
}

#[derive(PartialEq, Eq)]
enum FrameState {
    Before,
    Items,
    After,
}

impl Framer {
    fn new(limits: Limits, document: usize, directives: &str) -> Framer {
        let mut wrapper = directives.to_string();
        if !wrapper.is_empty() {
            wrapper.push_str("---\n");
        }
        Framer {
            limits,
            document,
            state: FrameState::Before,
            wrapper,
            wrapper_first_line: 0,
            item: None,
            items: 0,
            indent: None,
        }
    }

    fn wrapper_line(&mut self, number: usize, text: &str) {
        if self.wrapper_first_line == 0 {
            self.wrapper_first_line = number;
        }
        self.wrapper.push_str(text);
    }

    fn append(&mut self, text: &str) {
        let max = self.limits.max_document_bytes;
        if let Some((_, t)) = &mut self.item
            && let Some(buf) = t
        {
            buf.push_str(text);
            if buf.len() > max {
                *t = None;
            }
        }
    }

    fn line(&mut self, number: usize, text: &str, out: &mut dyn FnMut(Task)) {
        match self.state {
            FrameState::Before => {
                if is_items_key(text) {
                    self.state = FrameState::Items;
                }
                self.wrapper_line(number, text);
            }
            FrameState::After => self.wrapper_line(number, text),
            FrameState::Items => {
                if is_blank_or_comment(text) {
                    self.append(text);
                    return;
                }
                let indent = text.len() - text.trim_start_matches(' ').len();
                let rest = &text[indent..];
                let starts_item = rest.starts_with("- ") || rest == "-\n";
                if starts_item && self.indent.is_none_or(|n| n == indent) {
                    self.indent = Some(indent);
                    self.flush(out);
                    let mut t = String::with_capacity(4096);
                    t.push_str(&text[..indent]);
                    t.push(' ');
                    t.push_str(&rest[1..]);
                    self.item = Some((number, Some(t)));
                } else if self.item.is_some() && self.indent.is_some_and(|n| indent > n) {
                    self.append(text);
                } else {
                    self.flush(out);
                    self.state = FrameState::After;
                    self.wrapper_line(number, text);
                }
            }
        }
    }

    fn flush(&mut self, out: &mut dyn FnMut(Task)) {
        let Some((line, text)) = self.item.take() else {
            return;
        };
        let item = self.items;
        self.items += 1;
        match text {
            Some(text) => out(Task::Job(Job::YamlItem {
                document: self.document,
                item,
                line,
                text,
            })),
            None => out(Task::Piece(Piece::Diag(Diag::error(
                line,
                format!(
                    "List item larger than {} MiB",
                    self.limits.max_document_bytes >> 20
                ),
            )))),
        }
    }

    fn finish(&mut self, doc: Doc, out: &mut dyn FnMut(Task)) {
        self.flush(out);
        out(Task::Job(Job::YamlWrapper {
            doc,
            text: std::mem::take(&mut self.wrapper),
            first_line: self.wrapper_first_line.max(1),
        }));
    }
}

/// A document or item parsed.
pub struct Parsed {
    pub value: Option<Value>,
    /// Line of each item of the root mapping's `items` sequence.
    pub item_lines: Vec<usize>,
    pub warnings: Vec<Diag>,
}

/// Why a document or item could not be read.
pub struct ParseFail {
    pub diag: Diag,
    /// It refers to an anchor that `names` does not hold (yet).
    pub missing_anchor: bool,
}

/// Parses one document's text into a value. `base` is the file line before the text's first
/// line; the first `shift` lines of the text were added (directives and `---`). `names` holds
/// anchors by name that an alias may refer to, and gets the ones this text defines.
pub fn parse(
    text: &str,
    base: usize,
    shift: usize,
    limits: &Limits,
    names: &mut Anchors,
) -> Result<Parsed, ParseFail> {
    let mut options = granit_parser::Options::default();
    options.set_emit_comments(false);
    options.emit_anchor_events = true;
    options.emit_unresolved_aliases = true;
    options.block_nesting_limit = limits.max_depth;
    options.flow_nesting_limit = limits.max_depth;
    let parser = Parser::new_from_str_with_options(text, options);
    let line_of = |l: usize| (base + l).saturating_sub(shift).max(base + 1);
    let mut b = Builder::new(limits, names);
    let mut documents = 0;
    let fail = |diag, b: &Builder| ParseFail {
        diag,
        missing_anchor: b.missing_anchor,
    };
    for ev in parser {
        let (ev, span) = match ev {
            Ok(e) => e,
            Err(e) => {
                let d = Diag::error(
                    line_of(e.marker().line()),
                    format!(
                        "invalid YAML at column {}: {}",
                        e.marker().col() + 1,
                        e.info()
                    ),
                );
                return Err(fail(d, &b));
            }
        };
        let line = line_of(span.start.line());
        match ev {
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    // The splitter cut everything after a `...` line: nothing else gets here.
                    break;
                }
            }
            Event::DocumentEnd => {
                if documents >= 1 {
                    break;
                }
            }
            ev => {
                let column = span.start.col() + 1;
                if let Err(m) = b.event(ev, line) {
                    let m = format!("{m} (at column {column})");
                    return Err(fail(Diag::error(line, m), &b));
                }
            }
        }
    }
    let warnings = b
        .warnings
        .drain(..)
        .map(|(l, m)| Diag::warning(l, m))
        .collect();
    Ok(Parsed {
        value: b.root.take(),
        item_lines: std::mem::take(&mut b.item_lines),
        warnings,
    })
}

/// Where a map is in reading its next entry.
enum KeyState {
    /// The next node is a key.
    Want,
    /// The next node is the value of this key (its line, for warnings).
    Have(String, usize),
    /// The next node is merged in (`<<`).
    Merge,
}

enum Frame {
    Map {
        map: Map<String, Value>,
        key: KeyState,
        /// Keys set by a merge (a later explicit key overrides them without a warning).
        merged: Option<HashSet<String>>,
        anchor: usize,
        /// Node count when the frame started (for anchors).
        nodes_at_start: usize,
        /// This mapping is the root of a document (items of its `items` count on their own).
        root: bool,
    },
    Seq {
        vec: Vec<Value>,
        anchor: usize,
        nodes_at_start: usize,
        /// This is the root mapping's `items` sequence: each item is its own object.
        items: bool,
    },
}

/// Builds a [`Value`] from parser events.
struct Builder<'a> {
    limits: &'a Limits,
    stack: Vec<Frame>,
    root: Option<Value>,
    /// Anchored nodes by parser id: the value and how many nodes it holds.
    anchors: HashMap<usize, (Value, usize)>,
    /// Anchored nodes by name (shared across the items of one framed document).
    names: &'a mut Anchors,
    /// The last completed anchored scalar (its `Anchor` event follows it).
    last_anchor: usize,
    /// Names of anchored collections not complete yet.
    pending_names: Vec<(usize, String)>,
    /// Nodes in the current object; a stack when inside a root `items` sequence.
    nodes: Vec<usize>,
    /// Total nodes (for anchor sizes).
    total: usize,
    warnings: Vec<(usize, String)>,
    /// The value just completed came from an alias (a merge of an aliased sequence fails).
    from_alias: bool,
    /// Line of each item of the root mapping's `items` sequence.
    item_lines: Vec<usize>,
    /// An alias referred to an anchor `names` does not hold.
    missing_anchor: bool,
}

impl<'a> Builder<'a> {
    fn new(limits: &'a Limits, names: &'a mut Anchors) -> Self {
        Builder {
            limits,
            stack: Vec::new(),
            root: None,
            anchors: HashMap::new(),
            names,
            last_anchor: 0,
            pending_names: Vec::new(),
            nodes: vec![0],
            total: 0,
            warnings: Vec::new(),
            from_alias: false,
            item_lines: Vec::new(),
            missing_anchor: false,
        }
    }

    fn count(&mut self, n: usize) -> Result<(), String> {
        self.total += n;
        let top = self.nodes.last_mut().expect("node counter");
        *top += n;
        if *top > self.limits.max_nodes {
            return Err(format!(
                "object has more than {} YAML nodes (aliases count what they repeat)",
                self.limits.max_nodes
            ));
        }
        Ok(())
    }

    /// True when the next node starts an item of the root `items` sequence.
    fn at_item_start(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Seq { items: true, .. }))
    }

    /// True when the next node is the value of the root mapping's `items` key.
    fn at_root_items(&self) -> bool {
        self.stack.len() == 1
            && matches!(
                self.stack.last(),
                Some(Frame::Map { root: true, key: KeyState::Have(k, _), .. }) if k == "items"
            )
    }

    fn wants_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame::Map {
                key: KeyState::Want,
                ..
            })
        )
    }

    fn event(&mut self, ev: Event<'_>, line: usize) -> Result<(), String> {
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let core = tag.as_deref().map(|t| {
                    let (h, s) = t.parts();
                    CoreTag::from_uri(&format!("{h}{s}"))
                });
                let resolved = scalar::resolve(&text, style == ScalarStyle::Plain, core)?;
                self.scalar(resolved, anchor, line)
            }
            Event::Anchor(id, name) => {
                self.name_anchor(id, name.into_owned());
                Ok(())
            }
            Event::Alias(id) => {
                let (v, n) = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| "alias to an anchor that is not complete yet".to_string())?;
                self.alias(v, n, line)
            }
            Event::UnresolvedAlias(name) => {
                let Some((v, n)) = self.names.get(name.as_ref()).cloned() else {
                    self.missing_anchor = true;
                    return Err(format!("unknown anchor `{}`", printable(&name)));
                };
                self.alias(v, n, line)
            }
            Event::MappingStart(_, anchor, _) => self.start_collection(true, anchor, line),
            Event::SequenceStart(_, anchor, _) => self.start_collection(false, anchor, line),
            Event::MappingEnd | Event::SequenceEnd => self.end_collection(line),
            _ => Ok(()),
        }
    }

    /// A scalar: a key when the map wants one, else a value (anchored when it has one).
    fn scalar(&mut self, resolved: Scalar, anchor: usize, line: usize) -> Result<(), String> {
        if self.at_item_start() {
            self.nodes.push(0);
            self.item_lines.push(line);
        }
        self.count(1)?;
        if self.wants_key() {
            if anchor != 0 {
                let v = match &resolved {
                    Scalar::Merge => Value::String("<<".into()),
                    s => scalar::to_value(s.clone()).unwrap_or(Value::Null),
                };
                self.anchors.insert(anchor, (v, 1));
                self.last_anchor = anchor;
            }
            return self.key(resolved, line);
        }
        let value = scalar::to_value(resolved)?;
        if anchor != 0 {
            self.anchors.insert(anchor, (value.clone(), 1));
            self.last_anchor = anchor;
        }
        self.from_alias = false;
        self.complete(value, line)
    }

    /// An anchor's name: a scalar's is known now; a collection's when it completes.
    fn name_anchor(&mut self, id: usize, name: String) {
        let target = if self.last_anchor == id {
            self.anchors.get(&id).cloned()
        } else {
            None
        };
        match target {
            Some(v) => {
                self.names.insert(name, v);
            }
            None => {
                self.pending_names.push((id, name));
            }
        }
    }

    /// A map or sequence opens: a frame on the stack, within the depth limit.
    fn start_collection(&mut self, is_map: bool, anchor: usize, line: usize) -> Result<(), String> {
        if self.wants_key() {
            return Err(scalar::invalid_key());
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(format!(
                "nesting deeper than {} levels",
                self.limits.max_depth
            ));
        }
        let item_start = self.at_item_start();
        let root_items = self.at_root_items();
        if item_start {
            self.nodes.push(0);
            self.item_lines.push(line);
        }
        self.count(1)?;
        let nodes_at_start = self.total;
        let root = self.stack.is_empty();
        self.stack.push(if is_map {
            Frame::Map {
                map: Map::new(),
                key: KeyState::Want,
                merged: None,
                anchor,
                nodes_at_start,
                root,
            }
        } else {
            Frame::Seq {
                vec: Vec::new(),
                anchor,
                nodes_at_start,
                items: root_items,
            }
        });
        Ok(())
    }

    /// A map or sequence closes: its value completes, and its anchor (with its size, for
    /// the alias budget) and any pending name are recorded.
    fn end_collection(&mut self, line: usize) -> Result<(), String> {
        let frame = self.stack.pop().ok_or("unbalanced YAML events")?;
        let (value, anchor, start) = match frame {
            Frame::Map {
                map,
                anchor,
                nodes_at_start,
                ..
            } => (Value::Object(map), anchor, nodes_at_start),
            Frame::Seq {
                vec,
                anchor,
                nodes_at_start,
                ..
            } => (Value::Array(vec), anchor, nodes_at_start),
        };
        if anchor != 0 {
            let size = self.total - start + 1;
            self.anchors.insert(anchor, (value.clone(), size));
            if let Some(i) = self.pending_names.iter().position(|(id, _)| *id == anchor) {
                let (_, name) = self.pending_names.swap_remove(i);
                self.names.insert(name, (value.clone(), size));
            }
        }
        self.from_alias = false;
        self.complete(value, line)
    }

    fn alias(&mut self, v: Value, n: usize, line: usize) -> Result<(), String> {
        if self.wants_key() {
            let k = scalar::value_to_key(&v)?;
            self.count(1)?;
            return self.key(Scalar::Str(k), line);
        }
        if self.at_item_start() {
            self.nodes.push(0);
            self.item_lines.push(line);
        }
        self.count(n)?;
        self.from_alias = true;
        self.complete(v, line)
    }

    fn key(&mut self, k: Scalar, line: usize) -> Result<(), String> {
        let state = match k {
            Scalar::Merge => KeyState::Merge,
            k => KeyState::Have(scalar::to_key(k)?, line),
        };
        if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
            *key = state;
        }
        Ok(())
    }

    /// A node is complete: it goes into its parent (or becomes the root).
    fn complete(&mut self, value: Value, line: usize) -> Result<(), String> {
        let from_alias = self.from_alias;
        let item_end = self.at_item_start();
        match self.stack.last_mut() {
            None => {
                self.root = Some(value);
                Ok(())
            }
            Some(Frame::Seq { vec, .. }) => {
                vec.push(value);
                if item_end && self.nodes.len() > 1 {
                    self.nodes.pop();
                }
                Ok(())
            }
            Some(Frame::Map {
                map, key, merged, ..
            }) => match std::mem::replace(key, KeyState::Want) {
                KeyState::Want => Err("mapping value without a key".into()),
                KeyState::Have(k, key_line) => {
                    let was_merged = merged.as_mut().is_some_and(|m| m.remove(&k));
                    if map.insert(k.clone(), value).is_some() && !was_merged {
                        self.warnings.push((
                            key_line,
                            format!(
                                "duplicate key `{}`: the last one wins, as in kubectl",
                                printable(&k)
                            ),
                        ));
                    }
                    let _ = line;
                    Ok(())
                }
                KeyState::Merge => {
                    let merged = merged.get_or_insert_with(HashSet::new);
                    merge(map, merged, value, from_alias)
                }
            },
        }
    }
}

/// go-yaml v2's merge (`<<`): a mapping (or an alias to one) is merged in, overwriting keys
/// set before it; a sequence of mappings is merged last to first, so earlier ones win.
fn merge(
    map: &mut Map<String, Value>,
    merged: &mut HashSet<String>,
    value: Value,
    from_alias: bool,
) -> Result<(), String> {
    let wrong =
        || "map merge requires a mapping or a sequence of mappings as the value".to_string();
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                merged.insert(k.clone());
                map.insert(k, v);
            }
            Ok(())
        }
        Value::Array(items) if !from_alias => {
            if !items.iter().all(Value::is_object) {
                return Err(wrong());
            }
            for item in items.into_iter().rev() {
                if let Value::Object(m) = item {
                    for (k, v) in m {
                        merged.insert(k.clone());
                        map.insert(k, v);
                    }
                }
            }
            Ok(())
        }
        _ => Err(wrong()),
    }
}

/// Text safe to print: control characters escaped.
fn printable(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}
