//! Findings kept on disk while a scan runs, so that memory does not grow with the number of
//! findings (issue 26): the scanner's decided findings are taken in chunks of
//! [`CHUNK`], each chunk sorted in report order ([`compare_findings`]) and appended as one
//! *run* to an unnamed temporary file (one JSON line per finding); at the end the runs and
//! the last findings still in memory are merged back in report order, one finding at a time.
//!
//! The merge keeps the order a stable sort of all findings would give: runs are in the order
//! the findings were decided, and of two findings that compare equal, the one from the
//! earlier run comes first (the findings still in memory, decided last, come last).
//!
//! A finding never holds a secret value (see `secfix_core::checks::Finding`), so the file holds
//! nothing the report itself would not show; it is created mode 0600 and unlinked at once
//! (`tempfile::tempfile`), so it disappears with the process however it ends. When it cannot
//! be created or written, the chunk stays in memory instead (nothing is lost; memory is then
//! what it was before) and [`Spill::warning`] says so once.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt as _;

use secfix_core::checks::{Finding, compare_findings};

/// Findings per run: about 3 MB of findings in memory at a time.
pub const CHUNK: usize = 4096;

/// The runs written so far.
pub struct Spill {
    chunk: usize,
    file: Option<std::fs::File>,
    /// Bytes written to `file`.
    len: u64,
    runs: Vec<Run>,
    warning: Option<String>,
}

impl std::fmt::Debug for Spill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spill")
            .field("runs", &self.runs.len())
            .field("findings", &self.findings())
            .finish()
    }
}

enum Run {
    /// `count` findings at `offset..offset + len` of the file.
    Disk { offset: u64, len: u64, count: usize },
    /// A run the file could not take.
    Memory(Vec<Finding>),
}

impl Default for Spill {
    /// Spills every [`CHUNK`] findings.
    fn default() -> Spill {
        Spill::with_chunk(CHUNK)
    }
}

impl Spill {
    /// Spills every `chunk` findings (tests use small chunks).
    pub fn with_chunk(chunk: usize) -> Spill {
        Spill {
            chunk: chunk.max(1),
            file: None,
            len: 0,
            runs: Vec::new(),
            warning: None,
        }
    }

    /// How many decided findings make a run.
    pub fn chunk(&self) -> usize {
        self.chunk
    }

    /// Findings spilled so far.
    pub fn findings(&self) -> usize {
        self.runs
            .iter()
            .map(|r| match r {
                Run::Disk { count, .. } => *count,
                Run::Memory(v) => v.len(),
            })
            .sum()
    }

    /// Why findings stayed in memory after all (said once), if they did.
    pub fn warning(&self) -> Option<&str> {
        self.warning.as_deref()
    }

    /// Sorts `findings` in report order (stable) and appends them as one run.
    pub fn push_run(&mut self, mut findings: Vec<Finding>) {
        if findings.is_empty() {
            return;
        }
        findings.sort_by(compare_findings);
        match self.write(&findings) {
            Ok(run) => self.runs.push(run),
            Err(e) => {
                if self.warning.is_none() {
                    self.warning = Some(format!(
                        "cannot keep findings in a temporary file ({e}): they are kept in memory"
                    ));
                }
                self.runs.push(Run::Memory(findings));
            }
        }
    }

    fn write(&mut self, findings: &[Finding]) -> io::Result<Run> {
        if self.warning.is_some() {
            return Err(io::Error::other("an earlier write failed"));
        }
        if self.file.is_none() {
            self.file = Some(tempfile::tempfile()?);
        }
        let file = self.file.as_ref().expect("created above");
        let offset = self.len;
        let mut out = CountingWriter {
            inner: BufWriter::with_capacity(1 << 16, file),
            written: 0,
        };
        for f in findings {
            serde_json::to_writer(&mut out, f)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        let len = out.written;
        self.len += len;
        Ok(Run::Disk {
            offset,
            len,
            count: findings.len(),
        })
    }

    /// Every spilled finding and then `rest` (findings decided last, already in report
    /// order), merged in report order. A run that cannot be read back ends early with the
    /// error as its last item.
    pub fn merge(self, rest: Vec<Finding>) -> Merge {
        let Spill { file, runs, .. } = self;
        let file = file.map(std::sync::Arc::new);
        let mut sources: Vec<Source> = runs
            .into_iter()
            .map(|r| match r {
                Run::Disk { offset, len, .. } => Source::Disk(BufReader::with_capacity(
                    1 << 16,
                    Slice {
                        file: file.clone().expect("a disk run has a file"),
                        pos: offset,
                        end: offset + len,
                    },
                )),
                Run::Memory(v) => Source::Memory(v.into_iter()),
            })
            .collect();
        sources.push(Source::Memory(rest.into_iter()));
        let mut merge = Merge {
            sources,
            heap: BinaryHeap::new(),
            failed: None,
        };
        for i in 0..merge.sources.len() {
            merge.refill(i);
        }
        merge
    }
}

/// Counts the bytes written through it.
struct CountingWriter<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// One run's bytes of the shared file, read with positioned reads (each run has its own
/// position in the one file).
struct Slice {
    file: std::sync::Arc<std::fs::File>,
    pos: u64,
    end: u64,
}

impl Read for Slice {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.end - self.pos).unwrap_or(usize::MAX);
        let n = buf.len().min(left);
        if n == 0 {
            return Ok(0);
        }
        let got = self.file.read_at(&mut buf[..n], self.pos)?;
        self.pos += got as u64;
        Ok(got)
    }
}

enum Source {
    Disk(BufReader<Slice>),
    Memory(std::vec::IntoIter<Finding>),
}

impl Source {
    fn next(&mut self, line: &mut String) -> Option<io::Result<Finding>> {
        match self {
            Source::Memory(it) => it.next().map(Ok),
            Source::Disk(r) => {
                line.clear();
                match r.read_line(line) {
                    Ok(0) => None,
                    Ok(_) => Some(serde_json::from_str(line).map_err(io::Error::other)),
                    Err(e) => Some(Err(e)),
                }
            }
        }
    }
}

/// The head of one source in the merge.
struct Head {
    finding: Finding,
    source: usize,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    /// Reversed: `BinaryHeap` is a max-heap, the merge wants the least first (then the
    /// earliest source).
    fn cmp(&self, other: &Self) -> Ordering {
        compare_findings(&other.finding, &self.finding).then(other.source.cmp(&self.source))
    }
}

/// The findings of a [`Spill`] in report order (see [`Spill::merge`]).
pub struct Merge {
    sources: Vec<Source>,
    heap: BinaryHeap<Head>,
    failed: Option<io::Error>,
}

impl Merge {
    fn refill(&mut self, i: usize) {
        let mut line = String::new();
        match self.sources[i].next(&mut line) {
            Some(Ok(finding)) => self.heap.push(Head { finding, source: i }),
            Some(Err(e)) if self.failed.is_none() => self.failed = Some(e),
            Some(Err(_)) | None => {}
        }
    }
}

impl Iterator for Merge {
    type Item = io::Result<Finding>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.failed.take() {
            // A run could not be read back: the merge stops here.
            self.heap.clear();
            self.sources.clear();
            return Some(Err(e));
        }
        let Head { finding, source } = self.heap.pop()?;
        self.refill(source);
        Some(Ok(finding))
    }
}

impl secfix_core::inventory::FindingSpill for Spill {
    fn chunk(&self) -> usize {
        Spill::chunk(self)
    }

    fn push_run(&mut self, findings: Vec<Finding>) {
        Spill::push_run(self, findings);
    }

    fn warning(&self) -> Option<&str> {
        Spill::warning(self)
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secfix_core::checks::{CheckId, Detail, Severity};

    fn finding(ns: &str, name: &str, message: &str) -> Finding {
        Finding {
            origin: None,
            check: CheckId::MutableImageTag,
            severity: Severity::Medium,
            namespace: ns.into(),
            kind: "Deployment".into(),
            api_version: "apps/v1".into(),
            name: name.into(),
            container: Some("app".into()),
            path: "/spec/template/spec/containers/0/image".into(),
            at: None,
            message: message.into(),
            fixable: true,
            not_fixable_reason: None,
            source: None,
            detail: Detail::MutableImageTag(
                secfix_core::checks::mutable_image_tag::Detail::Image {
                    image: "nginx".into(),
                    digest: None,
                    digest_source: None,
                },
            ),
            baseline: false,
        }
    }

    /// Whatever the chunk size, the merge gives what one stable sort of every finding gives.
    #[test]
    fn the_merge_is_a_stable_sort_of_everything() {
        let mut all = Vec::new();
        for i in 0..200u32 {
            // Many ties (same namespace and name), told apart only by their message, which
            // the order ignores for equal fields: the stable order must hold.
            let f = finding(&format!("ns-{}", i % 7), &format!("w-{}", i % 5), "m");
            let mut f = f;
            f.not_fixable_reason = Some(format!("decided {i}"));
            all.push(f);
        }
        let mut want = all.clone();
        want.sort_by(compare_findings);
        for chunk in [1, 3, 16, 64, 1000] {
            let mut spill = Spill::with_chunk(chunk);
            let mut pending = Vec::new();
            for f in all.iter().cloned() {
                pending.push(f);
                if pending.len() >= spill.chunk() {
                    spill.push_run(std::mem::take(&mut pending));
                }
            }
            pending.sort_by(compare_findings);
            let got: Vec<Finding> = spill.merge(pending).map(Result::unwrap).collect();
            assert_eq!(got, want, "chunk {chunk}");
        }
    }

    #[test]
    fn nothing_spilled_is_just_the_rest() {
        let rest = vec![finding("a", "x", "m"), finding("b", "y", "m")];
        let got: Vec<Finding> = Spill::default()
            .merge(rest.clone())
            .map(Result::unwrap)
            .collect();
        assert_eq!(got, rest);
    }

    /// A scan whose findings are spilled in tiny chunks reports exactly what the in-memory
    /// scan reports, namespace annotations that arrive after their workloads included.
    #[test]
    fn a_spilled_scan_reports_what_the_in_memory_scan_reports() {
        use secfix_core::checks::{ScanOptions, suppressed_by};
        use secfix_core::inventory::{Collector, Keep};
        use serde_json::json;
        let mut objects = Vec::new();
        for i in 0..40 {
            let ns = format!("ns-{}", i % 4);
            let spec = json!({"containers": [{"name": "app", "image": format!("nginx:{i}"),
                "env": [{"name": "DB_PASSWORD", "value": "hunter2"},
                        {"name": "T", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}]});
            objects.push(json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": format!("web-{}", 40 - i), "namespace": ns},
                "spec": {"template": {"metadata": {"labels": {"app": "x"}}, "spec": spec}}}));
        }
        objects.push(
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "deny", "namespace": "ns-1"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}),
        );
        // Namespace annotations last: the spilled findings are filtered at the merge.
        objects.push(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns-2",
            "annotations": {"secfix.dev/ignore": "env-secret"}}}),
        );
        let keep = Keep::default();
        let mut memory = Collector::new(ScanOptions::default(), keep);
        let mut spilled = Collector::new(ScanOptions::default(), keep)
            .with_spill(Box::new(Spill::with_chunk(5)), None);
        for o in &objects {
            memory.add(o.clone(), None).unwrap();
            spilled.add(o.clone(), None).unwrap();
        }
        let want = memory.finish();
        let mut got = spilled.finish();
        let spill = *got
            .spilled
            .take()
            .unwrap()
            .into_any()
            .downcast::<Spill>()
            .unwrap();
        assert!(spill.findings() > 0);
        let mut suppressed = got.suppressed;
        let findings: Vec<Finding> = spill
            .merge(std::mem::take(&mut got.findings))
            .map(Result::unwrap)
            .filter(|f| {
                let out = suppressed_by(&got.namespace_ignore, f);
                suppressed += usize::from(out);
                !out
            })
            .collect();
        // The typed place of a finding is not written (a streamed scan fixes nothing): the
        // findings are otherwise the same.
        let want_findings: Vec<Finding> = want
            .findings
            .iter()
            .cloned()
            .map(|f| Finding { at: None, ..f })
            .collect();
        assert_eq!(findings, want_findings);
        assert_eq!(suppressed, want.suppressed);
        assert!(want.suppressed > 0);
    }
}
