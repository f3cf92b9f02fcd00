//! JSON streams read the way kubectl reads them: one or more top-level objects, one after
//! the other (with or without whitespace between them), in bounded memory.
//!
//! kubectl takes a source as JSON when its first non-blank character is `{`, whatever its
//! file name; anything else is YAML. As in kubectl:
//! - a duplicate key: the last one wins (with a warning naming the object's line);
//! - numbers are held as kubectl holds them: integers up to 2^63 - 1, floats with an integral
//!   value below 2^63 as integers (`1.0` is 1), everything else as a float;
//! - a top-level value that is not an object is refused.
//!
//! The input is first cut into top-level values by its structure (strings and brackets),
//! then each is parsed on its own. When the caller does not keep documents (`scan`), the
//! elements of a top-level object's `items` array are cut and parsed one by one, so a
//! `kubectl get -A -o json` dump of any size is read in the memory of one item; a broken item
//! is reported and the next one is still read. Limits: nodes per object as for YAML
//! ([`Limits::max_nodes`]), serde_json's nesting limit (128), and
//! [`Limits::max_document_bytes`] per value held whole.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io::BufRead;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::scalar;
use super::stream::{Diag, Doc, Job, Limits, Piece, Task};

/// Shared state of one value being parsed.
struct Ctx<'a> {
    limits: &'a Limits,
    nodes: Cell<usize>,
    /// Over the node limit: the rest is skipped.
    over: Cell<bool>,
    duplicates: RefCell<Vec<String>>,
}

impl Ctx<'_> {
    fn count(&self) {
        let n = self.nodes.get() + 1;
        self.nodes.set(n);
        if n > self.limits.max_nodes {
            self.over.set(true);
        }
    }
}

/// Builds one JSON value (kubectl's numbers, duplicate keys noted, node limit).
struct ValueSeed<'c, 'a>(&'c Ctx<'a>);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.0.over.get() {
            d.deserialize_ignored_any(IgnoredAny)?;
            return Ok(Value::Null);
        }
        d.deserialize_any(ValueVisitor(self.0))
    }
}

struct ValueVisitor<'c, 'a>(&'c Ctx<'a>);

impl<'de> Visitor<'de> for ValueVisitor<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        self.0.count();
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        self.0.count();
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        self.0.count();
        Ok(match i64::try_from(v) {
            Ok(i) => Value::Number(i.into()),
            Err(_) => scalar::float_value(v as f64).unwrap_or(Value::Null),
        })
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        self.0.count();
        Ok(scalar::float_value(v).unwrap_or(Value::Null))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        self.0.count();
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        self.0.count();
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        self.0.count();
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        self.0.count();
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.0.count();
        let mut vec = Vec::new();
        while let Some(v) = seq.next_element_seed(ValueSeed(self.0))? {
            if !self.0.over.get() {
                vec.push(v);
            }
        }
        Ok(Value::Array(vec))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.0.count();
        let mut m = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            let v = map.next_value_seed(ValueSeed(self.0))?;
            if self.0.over.get() {
                continue;
            }
            if m.contains_key(&k) {
                self.0.duplicates.borrow_mut().push(k.clone());
            }
            m.insert(k, v);
        }
        Ok(Value::Object(m))
    }
}

/// serde_json's message without its own position (which counts from the value's start).
fn message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Parses one value cut from the input (starting at file line `line`); a top-level
/// `document` must be an object.
pub fn parse(
    bytes: &[u8],
    line: usize,
    limits: &Limits,
    document: bool,
) -> Result<(Value, Vec<Diag>), Diag> {
    let ctx = Ctx {
        limits,
        nodes: Cell::new(0),
        over: Cell::new(false),
        duplicates: RefCell::new(Vec::new()),
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = ValueSeed(&ctx)
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| {
            Diag::error(
                line + e.line().saturating_sub(1),
                format!("invalid JSON at column {}: {}", e.column(), message(&e)),
            )
        })?;
    if ctx.over.get() {
        return Err(Diag::error(
            line,
            format!("object has more than {} JSON values", limits.max_nodes),
        ));
    }
    if document && !v.is_object() {
        return Err(Diag::error(
            line,
            "a JSON document must be an object (kubectl refuses it too)",
        ));
    }
    let warnings = ctx
        .duplicates
        .into_inner()
        .into_iter()
        .map(|k| {
            Diag::warning(
                line,
                format!(
                    "duplicate key `{}` in this object: the last one wins, as in kubectl",
                    k.escape_default()
                ),
            )
        })
        .collect();
    Ok((v, warnings))
}

/// kubectl's sniffing: JSON when the first non-whitespace character of the first 4096
/// bytes is `{`.
pub(crate) fn looks_like_json(head: &[u8]) -> bool {
    let head = &head[..head.len().min(4096)];
    let text = String::from_utf8_lossy(head);
    text.trim_start_matches(char::is_whitespace)
        .starts_with('{')
}

/// Reads bytes one at a time from a buffered reader, counting lines and bytes.
struct Cursor<R> {
    r: R,
    buf: Vec<u8>,
    pos: usize,
    /// Bytes consumed before `buf`.
    base: usize,
    line: usize,
    eof: bool,
}

impl<R: BufRead> Cursor<R> {
    fn new(r: R) -> Self {
        Cursor {
            r,
            buf: Vec::new(),
            pos: 0,
            base: 0,
            line: 1,
            eof: false,
        }
    }

    fn offset(&self) -> usize {
        self.base + self.pos
    }

    #[inline]
    fn peek(&mut self) -> std::io::Result<Option<u8>> {
        if self.pos == self.buf.len() {
            if self.eof {
                return Ok(None);
            }
            self.base += self.buf.len();
            self.buf.clear();
            self.pos = 0;
            let chunk = self.r.fill_buf()?;
            if chunk.is_empty() {
                self.eof = true;
                return Ok(None);
            }
            self.buf.extend_from_slice(chunk);
            let n = chunk.len();
            self.r.consume(n);
        }
        Ok(Some(self.buf[self.pos]))
    }

    /// Takes the next byte into `sink`.
    #[inline]
    fn take(&mut self, sink: &mut Vec<u8>) -> std::io::Result<Option<u8>> {
        let b = self.peek()?;
        if let Some(b) = b {
            self.pos += 1;
            if b == b'\n' {
                self.line += 1;
            }
            sink.push(b);
        }
        Ok(b)
    }

    fn skip_whitespace(&mut self) -> std::io::Result<Option<u8>> {
        loop {
            match self.peek()? {
                Some(b'\n') => {
                    self.line += 1;
                    self.pos += 1;
                }
                Some(b' ' | b'\t' | b'\r') => self.pos += 1,
                other => return Ok(other),
            }
        }
    }

    /// The rest of a string whose `"` was taken.
    fn string(&mut self, sink: &mut Vec<u8>) -> std::io::Result<()> {
        loop {
            if self.peek()?.is_none() {
                return Ok(());
            }
            let rest = &self.buf[self.pos..];
            match memchr::memchr2(b'"', b'\\', rest) {
                Some(i) => {
                    let stop = rest[i];
                    self.line += memchr::memchr_iter(b'\n', &rest[..i]).count();
                    sink.extend_from_slice(&rest[..=i]);
                    self.pos += i + 1;
                    if stop == b'"' {
                        return Ok(());
                    }
                    // The escaped byte.
                    self.take(sink)?;
                }
                None => {
                    self.line += memchr::memchr_iter(b'\n', rest).count();
                    sink.extend_from_slice(rest);
                    self.pos = self.buf.len();
                }
            }
        }
    }

    /// One whole value of any kind (or what is there until a delimiter), into `sink`.
    fn value(&mut self, sink: &mut Vec<u8>) -> std::io::Result<()> {
        match self.peek()? {
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                while let Some(b) = self.take(sink)? {
                    match b {
                        b'"' => self.string(sink)?,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Ok(());
                            }
                        }
                        _ => {}
                    }
                }
                Ok(())
            }
            Some(b'"') => {
                self.take(sink)?;
                self.string(sink)
            }
            Some(_) => {
                // A number or literal: up to a delimiter.
                let before = self.offset();
                while let Some(b) = self.peek()? {
                    if matches!(
                        b,
                        b' ' | b'\t' | b'\r' | b'\n' | b',' | b']' | b'}' | b'{' | b'[' | b'"'
                    ) {
                        break;
                    }
                    self.take(sink)?;
                }
                if self.offset() == before {
                    // A stray delimiter: take it, so the reader moves on.
                    self.take(sink)?;
                }
                Ok(())
            }
            None => Ok(()),
        }
    }
}

/// Cuts a JSON stream into top-level values (and, with `frame`, the items of top-level
/// objects' `items` arrays), in order, as tasks to parse.
pub fn split<R: BufRead>(
    reader: R,
    limits: &Limits,
    frame: bool,
    out: &mut dyn FnMut(Task),
) -> std::io::Result<()> {
    let mut c = Cursor::new(reader);
    let mut index = 0;
    while let Some(first) = c.skip_whitespace()? {
        let start = c.offset();
        let line = c.line;
        let mut doc = Doc {
            index,
            line,
            span: start..start,
            framed: false,
            ..Doc::default()
        };
        let mut whole = Vec::new();
        let mut items = 0;
        if first == b'{' {
            c.take(&mut whole)?;
            loop {
                match c.skip_whitespace()? {
                    None => break,
                    Some(b'}') => {
                        c.take(&mut whole)?;
                        break;
                    }
                    Some(b',') => {
                        c.take(&mut whole)?;
                    }
                    Some(b'"') => {
                        let key_start = whole.len();
                        c.take(&mut whole)?;
                        c.string(&mut whole)?;
                        let is_items = &whole[key_start..] == b"\"items\"";
                        if c.skip_whitespace()? == Some(b':') {
                            c.take(&mut whole)?;
                        }
                        let at_array = c.skip_whitespace()? == Some(b'[');
                        if is_items && at_array {
                            c.take(&mut whole)?;
                            doc.framed = frame;
                            loop {
                                match c.skip_whitespace()? {
                                    None => break,
                                    Some(b']') => {
                                        c.take(&mut whole)?;
                                        break;
                                    }
                                    Some(b',') => {
                                        if !frame {
                                            c.take(&mut whole)?;
                                        } else {
                                            c.pos += 1;
                                        }
                                    }
                                    Some(_) => {
                                        let item_line = c.line;
                                        if frame {
                                            let mut bytes = Vec::new();
                                            c.value(&mut bytes)?;
                                            if bytes.len() > limits.max_document_bytes {
                                                out(Task::Piece(Piece::Diag(Diag::error(
                                                    item_line,
                                                    format!(
                                                        "List item larger than {} MiB",
                                                        limits.max_document_bytes >> 20
                                                    ),
                                                ))));
                                            } else {
                                                out(Task::Job(Job::JsonItem {
                                                    document: index,
                                                    item: items,
                                                    line: item_line,
                                                    bytes,
                                                }));
                                            }
                                        } else {
                                            doc.item_lines.push(item_line);
                                            c.value(&mut whole)?;
                                        }
                                        items += 1;
                                    }
                                }
                            }
                        } else {
                            c.value(&mut whole)?;
                        }
                    }
                    Some(_) => {
                        // Not JSON: keep it for the parser to report.
                        c.value(&mut whole)?;
                    }
                }
                if whole.len() > limits.max_document_bytes {
                    break;
                }
            }
        } else {
            c.value(&mut whole)?;
        }
        doc.span = start..c.offset();
        if whole.len() > limits.max_document_bytes {
            let d = Diag::error(
                line,
                format!(
                    "JSON value larger than {} MiB (only the items of a List are read one by one); the rest of the input is not read",
                    limits.max_document_bytes >> 20
                ),
            );
            doc.error = Some(d.message.clone());
            out(Task::Piece(Piece::Diag(d)));
            out(Task::Piece(Piece::Document(doc)));
            return Ok(());
        }
        out(Task::Job(Job::JsonDocument { doc, bytes: whole }));
        index += 1;
    }
    Ok(())
}
