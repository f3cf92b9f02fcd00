//! The machine formats (`-o json`, `-o yaml`, `-o sarif`) written finding by finding to a
//! writer, byte for byte the documents [`super::to_json`], [`super::to_yaml`] and
//! [`super::to_sarif`] return, without holding the findings or the document in memory
//! (issue 26): the findings come from an iterator (in report order, e.g. merged back from
//! `crate::spill`), and the counts that the documents carry (`summary`, SARIF's
//! `baselineState`) are computed beforehand by the caller, in a first pass.
//!
//! If the iterator fails partway (a temporary file that cannot be read back), the findings
//! array ends there and the rest of the document is still written, so the document stays
//! well-formed; its `summary.total` then counts more findings than it lists, and the caller
//! says so on stderr and exits 1 ([`Written::failed`]).

use std::cell::{Cell, RefCell};
use std::io::{self, Write};

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct, Serializer};
use serde_json::Value;

use super::{API_VERSION, KIND, Report, Summary};
use crate::checks::Finding;

/// What a streamed report is made of.
pub struct Streamed<'a, I> {
    /// Every field but `findings`, which is not read.
    pub report: &'a Report,
    /// The counts over every finding `findings` yields.
    pub summary: &'a Summary,
    /// The findings, in report order.
    pub findings: I,
}

/// How writing went, when the writer itself did not fail.
#[derive(Debug, Default)]
pub struct Written {
    /// Findings written.
    pub findings: usize,
    /// The findings could not all be read: the document lists `findings` of them.
    pub failed: Option<io::Error>,
}

/// The findings array: serialized from the iterator, once.
struct Findings<'a, I, F> {
    items: RefCell<Option<I>>,
    len: usize,
    map: F,
    written: &'a Cell<usize>,
    failed: &'a RefCell<Option<io::Error>>,
}

impl<I, F, T> Serialize for Findings<'_, I, F>
where
    I: Iterator<Item = io::Result<Finding>>,
    F: Fn(Finding) -> T,
    T: Serialize,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len))?;
        let items = self.items.borrow_mut().take();
        for item in items.into_iter().flatten() {
            match item {
                Ok(f) => {
                    seq.serialize_element(&(self.map)(f))?;
                    self.written.set(self.written.get() + 1);
                }
                Err(e) => {
                    *self.failed.borrow_mut() = Some(e);
                    break;
                }
            }
        }
        seq.end()
    }
}

/// The scan report document of `super::json::ScanReport`, field for field, with the
/// findings streamed.
struct Document<'a, S> {
    findings: S,
    report: &'a Report,
    summary: &'a Summary,
}

impl<S: Serialize> Serialize for Document<'_, S> {
    fn serialize<Ser: Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        let r = self.report;
        let len = 5 + usize::from(!r.errors.is_empty()) + usize::from(!r.contexts.is_empty());
        let mut doc = serializer.serialize_struct("ScanReport", len)?;
        doc.serialize_field("apiVersion", API_VERSION)?;
        doc.serialize_field("kind", KIND)?;
        doc.serialize_field("findings", &self.findings)?;
        doc.serialize_field("summary", self.summary)?;
        doc.serialize_field("warnings", &r.warnings)?;
        if r.errors.is_empty() {
            doc.skip_field("errors")?;
        } else {
            doc.serialize_field("errors", &r.errors)?;
        }
        if r.contexts.is_empty() {
            doc.skip_field("contexts")?;
        } else {
            doc.serialize_field("contexts", &r.contexts)?;
        }
        doc.end()
    }
}

fn io_error(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

/// `-o json`: [`super::to_json`]'s document, C0/C1 controls escaped as the CLI prints it
/// (`crate::model::text::json_escaped_controls`), without a trailing newline.
pub fn write_json<W, I>(out: W, s: Streamed<'_, I>) -> io::Result<Written>
where
    W: Write,
    I: Iterator<Item = io::Result<Finding>>,
{
    let (written, failed) = (Cell::new(0), RefCell::new(None));
    let doc = Document {
        findings: Findings {
            items: RefCell::new(Some(s.findings)),
            len: s.summary.total,
            map: |f: Finding| f,
            written: &written,
            failed: &failed,
        },
        report: s.report,
        summary: s.summary,
    };
    let mut out = EscapeControls::new(out);
    serde_json::to_writer_pretty(&mut out, &doc).map_err(io::Error::from)?;
    out.finish()?;
    Ok(Written {
        findings: written.get(),
        failed: failed.into_inner(),
    })
}

/// `-o yaml`: [`super::to_yaml`]'s document (trailing whitespace trimmed, as there).
pub fn write_yaml<W, I>(out: W, s: Streamed<'_, I>) -> io::Result<Written>
where
    W: Write,
    I: Iterator<Item = io::Result<Finding>>,
{
    let (written, failed) = (Cell::new(0), RefCell::new(None));
    let doc = Document {
        findings: Findings {
            items: RefCell::new(Some(s.findings)),
            len: s.summary.total,
            map: |f: Finding| f,
            written: &written,
            failed: &failed,
        },
        report: s.report,
        summary: s.summary,
    };
    let mut out = TrimEnd::new(out);
    serde_saphyr::to_io_writer(&mut out, &doc).map_err(io_error)?;
    out.finish()?;
    Ok(Written {
        findings: written.get(),
        failed: failed.into_inner(),
    })
}

/// `-o sarif`: [`super::to_sarif`]'s log, controls escaped as for JSON.
pub fn write_sarif<W, I>(out: W, s: Streamed<'_, I>) -> io::Result<Written>
where
    W: Write,
    I: Iterator<Item = io::Result<Finding>>,
{
    let log = super::sarif::sarif_log_with(s.report, s.summary, Vec::new());
    let log = serde_json::to_value(&log).map_err(io_error)?;
    let baseline = s.summary.baseline > 0;
    let (written, failed) = (Cell::new(0), RefCell::new(None));
    let results = Findings {
        items: RefCell::new(Some(s.findings)),
        len: s.summary.total,
        map: move |f: Finding| super::sarif::sarif_result(&f, baseline),
        written: &written,
        failed: &failed,
    };
    let doc = WithHole {
        value: &log,
        path: &["runs", "0", "results"],
        hole: &results,
    };
    let mut out = EscapeControls::new(out);
    serde_json::to_writer_pretty(&mut out, &doc).map_err(io::Error::from)?;
    out.finish()?;
    Ok(Written {
        findings: written.get(),
        failed: failed.into_inner(),
    })
}

/// A JSON value serialized as itself, except the value at `path` (object keys and array
/// indexes), which is `hole`.
struct WithHole<'a, H> {
    value: &'a Value,
    path: &'a [&'a str],
    hole: &'a H,
}

impl<H: Serialize> Serialize for WithHole<'_, H> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Some((first, rest)) = self.path.split_first() else {
            return self.hole.serialize(serializer);
        };
        let inner = |value| WithHole {
            value,
            path: rest,
            hole: self.hole,
        };
        match self.value {
            Value::Object(m) => {
                let mut map = serializer.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    if k == first {
                        map.serialize_entry(k, &inner(v))?;
                    } else {
                        map.serialize_entry(k, v)?;
                    }
                }
                map.end()
            }
            Value::Array(items) => {
                let at = first.parse::<usize>().ok();
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for (i, v) in items.iter().enumerate() {
                    if Some(i) == at {
                        seq.serialize_element(&inner(v))?;
                    } else {
                        seq.serialize_element(v)?;
                    }
                }
                seq.end()
            }
            other => other.serialize(serializer),
        }
    }
}

/// Writes C0 and C1 control characters other than `\n`, `\r` and `\t` as `\u00XX` escapes,
/// as `crate::model::text::json_escaped_controls` does to a whole document: in JSON they can
/// only be inside strings, where the escape means the same character.
pub struct EscapeControls<W: Write> {
    inner: W,
    /// The last byte written was 0xC2, the lead byte of U+0080..U+00BF.
    lead: bool,
}

impl<W: Write> EscapeControls<W> {
    pub fn new(inner: W) -> Self {
        EscapeControls { inner, lead: false }
    }

    /// Writes what is held back and flushes.
    pub fn finish(mut self) -> io::Result<()> {
        if std::mem::take(&mut self.lead) {
            self.inner.write_all(&[0xC2])?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Write for EscapeControls<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut clean = 0;
        for (i, &b) in buf.iter().enumerate() {
            if self.lead {
                self.lead = false;
                if (0x80..=0x9F).contains(&b) {
                    write!(self.inner, "\\u{:04x}", b)?;
                    clean = i + 1;
                    continue;
                }
                self.inner.write_all(&[0xC2])?;
                clean = i;
            }
            let control = (b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t')) || b == 0x7F;
            if control || b == 0xC2 {
                self.inner.write_all(&buf[clean..i])?;
                clean = i + 1;
                if control {
                    write!(self.inner, "\\u{:04x}", b)?;
                } else {
                    self.lead = true;
                }
            }
        }
        self.inner.write_all(&buf[clean..])?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Holds trailing whitespace back, so that the text written ends as `str::trim_end` would
/// leave it.
pub struct TrimEnd<W: Write> {
    inner: W,
    /// Whitespace (and a character not complete yet) at the end of what was written.
    tail: Vec<u8>,
}

impl<W: Write> TrimEnd<W> {
    pub fn new(inner: W) -> Self {
        TrimEnd {
            inner,
            tail: Vec::new(),
        }
    }

    /// Drops the trailing whitespace and flushes.
    pub fn finish(mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> Write for TrimEnd<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut data = std::mem::take(&mut self.tail);
        data.extend_from_slice(buf);
        let valid = match std::str::from_utf8(&data) {
            Ok(s) => s.len(),
            Err(e) => e.valid_up_to(),
        };
        let text = std::str::from_utf8(&data[..valid]).unwrap_or_default();
        let keep = text.trim_end().len();
        self.inner.write_all(&data[..keep])?;
        data.drain(..keep);
        self.tail = data;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::text::json_escaped_controls;

    #[test]
    fn controls_are_escaped_as_the_whole_document_escape_does() {
        let text = "a\u{85}b\u{7f}c\u{1b}d\u{a0}e\u{c2}\u{9f}\n\té\u{80}";
        let want = json_escaped_controls(text).into_owned();
        // Every way of cutting the bytes into writes.
        for cut in 0..text.len() {
            let mut out = Vec::new();
            let mut w = EscapeControls::new(&mut out);
            w.write_all(&text.as_bytes()[..cut]).unwrap();
            w.write_all(&text.as_bytes()[cut..]).unwrap();
            w.finish().unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), want, "cut at {cut}");
        }
    }

    #[test]
    fn trailing_whitespace_is_trimmed_as_trim_end_does() {
        let text = "a: b\n  \u{a0}c \n\u{2003}\n \n";
        for cut in 0..text.len() {
            let mut out = Vec::new();
            let mut w = TrimEnd::new(&mut out);
            w.write_all(&text.as_bytes()[..cut]).unwrap();
            w.write_all(&text.as_bytes()[cut..]).unwrap();
            w.finish().unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                text.trim_end(),
                "cut {cut}"
            );
        }
    }
}
