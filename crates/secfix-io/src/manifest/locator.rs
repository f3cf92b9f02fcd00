//! Field positions ([`super::position`]) of many findings, read forward through their files
//! instead of holding each file whole: a large `-f` input (issue 26) costs a window of a
//! few objects, and each file is read about once however many findings it has.
//!
//! Findings are located in file and line order; a [`Locator`] keeps its place in the last
//! file it read, so chunks of findings handed over in input order continue where the last
//! one stopped. The window starts at 64 KiB and grows (up to [`MAX_WINDOW`]) while it may
//! end inside the object; an object larger than that keeps its own line only.

use std::io::{BufRead as _, BufReader};

use super::position::{Cut, locate_in_window};
use secfix_core::checks::Finding;

/// The largest window a field is looked for in: the largest document the reader holds
/// whole (`Limits::max_document_bytes`).
pub const MAX_WINDOW: usize = 64 << 20;
const FIRST_WINDOW: usize = 64 << 10;

/// Where the locator stands in one file.
struct Cursor {
    file: String,
    reader: Option<BufReader<std::fs::File>>,
    /// Text read and not yet passed; the window starts at `start`, on line `line`.
    text: String,
    start: usize,
    line: usize,
    eof: bool,
}

impl Cursor {
    fn open(file: &str) -> Cursor {
        Cursor {
            file: file.to_string(),
            reader: std::fs::File::open(file)
                .ok()
                .map(|f| BufReader::with_capacity(1 << 16, f)),
            text: String::new(),
            start: 0,
            line: 1,
            eof: false,
        }
    }

    /// Reads one more line into the text; false at the end (or on an error, which ends
    /// the file here).
    fn read_line(&mut self) -> bool {
        let Some(reader) = self.reader.as_mut().filter(|_| !self.eof) else {
            return false;
        };
        match reader.read_line(&mut self.text) {
            Ok(n) if n > 0 => true,
            _ => {
                self.eof = true;
                false
            }
        }
    }

    /// Moves the window's start to line `line` (not before the current one); false when the
    /// file has fewer lines.
    fn advance_to(&mut self, line: usize) -> bool {
        while self.line < line {
            match self.text[self.start..].find('\n') {
                Some(i) => {
                    self.start += i + 1;
                    self.line += 1;
                }
                None => {
                    // Nothing read past the start: drop it and read the next line.
                    self.text.drain(..self.start);
                    self.start = 0;
                    if !self.read_line() {
                        return false;
                    }
                }
            }
        }
        if self.start > (1 << 20) && self.start > self.text.len() / 2 {
            self.text.drain(..self.start);
            self.start = 0;
        }
        true
    }

    /// Reads until the window holds `want` bytes or the file ends.
    fn fill(&mut self, want: usize) {
        while self.text.len() - self.start < want && self.read_line() {}
    }
}

/// Locates fields file by file, forward; see the module docs.
#[derive(Default)]
pub struct Locator {
    cursor: Option<Cursor>,
}

impl Locator {
    /// Sets the field line and column of every finding of `findings` read from a file (not
    /// stdin), as `position::locate` over the whole file would.
    pub fn locate_all(&mut self, findings: &mut [Finding]) {
        let mut order: Vec<usize> = (0..findings.len())
            .filter(|&i| {
                let f = &findings[i];
                f.source.as_ref().is_some_and(|s| s.file != "-") && !f.path.is_empty()
            })
            .collect();
        let key = |i: &usize| {
            let src = findings[*i].source.as_ref().expect("filtered above");
            (src.file.clone(), src.line)
        };
        order.sort_by_key(key);
        for i in order {
            let f = &mut findings[i];
            let Some(src) = f.source.as_mut() else {
                continue;
            };
            if let Some((line, column)) = self.locate(&src.file, src.line, &f.path) {
                src.field_line = Some(line);
                src.field_column = Some(column);
            }
        }
    }

    /// The line and column of `pointer` in the object that starts on `line` of `file`.
    pub fn locate(&mut self, file: &str, line: usize, pointer: &str) -> Option<(usize, usize)> {
        if line == 0 {
            return None;
        }
        let reuse = self
            .cursor
            .as_ref()
            .is_some_and(|c| c.file == file && c.line <= line);
        if !reuse {
            self.cursor = Some(Cursor::open(file));
        }
        let cursor = self.cursor.as_mut()?;
        cursor.reader.as_ref()?;
        if !cursor.advance_to(line) {
            return None;
        }
        let mut want = FIRST_WINDOW;
        loop {
            cursor.fill(want);
            match locate_in_window(&cursor.text[cursor.start..], cursor.eof, pointer) {
                Ok(found) => return found.map(|(l, c)| (l + line - 1, c)),
                Err(Cut) if want < MAX_WINDOW => want *= 4,
                Err(Cut) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    /// Whatever the order asked in and the window size, the answer is that of `locate`
    /// over the whole text.
    #[test]
    fn the_locator_answers_as_locate_over_the_whole_file() {
        let mut text = String::from("apiVersion: v1\nkind: List\nitems:\n");
        let mut objects = Vec::new();
        for i in 0..400 {
            objects.push(text.lines().count() + 1);
            text.push_str(&format!(
                "- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {{name: web-{i}}}\n  \
                 spec:\n    template:\n      spec:\n        containers:\n        - name: app\n          \
                 image: nginx:{i}\n          env:\n          - {{name: A, value: x}}\n{}",
                "          # padding\n".repeat(i % 50)
            ));
        }
        let json: String = {
            let items: Vec<String> = (0..300)
                .map(|i| {
                    format!(
                        "{{\"kind\": \"Pod\", \"spec\": {{\"containers\": [{{\"name\": \"c\",\n\"image\": \"i:{i}\"}}]}}}}"
                    )
                })
                .collect();
            format!(
                "{{\"kind\": \"List\", \"items\": [{}]}}\n",
                items.join(",\n")
            )
        };
        for (text, pointers) in [
            (
                text.as_str(),
                vec![
                    "/spec/template/spec/containers/0/image",
                    "/spec/template/spec/containers/0/env/0",
                    "/spec/template/spec/containers/1",
                    "/metadata/name",
                ],
            ),
            (json.as_str(), vec!["/spec/containers/0/image", "/nope"]),
        ] {
            let mut file = tempfile::NamedTempFile::new().unwrap();
            file.write_all(text.as_bytes()).unwrap();
            let path = file.path().to_str().unwrap().to_string();
            let starts: Vec<usize> = if text.starts_with('{') {
                (1..=text.lines().count()).collect()
            } else {
                objects.clone()
            };
            let mut locator = Locator::default();
            for (n, &line) in starts.iter().enumerate() {
                for p in &pointers {
                    let want = super::super::position::locate(text, line, p);
                    assert_eq!(locator.locate(&path, line, p), want, "line {line} {p}");
                }
                // Now and then back to an earlier object: the locator starts over.
                if n % 97 == 96 {
                    let back = starts[n / 2];
                    let p = pointers[0];
                    let want = super::super::position::locate(text, back, p);
                    assert_eq!(locator.locate(&path, back, p), want);
                }
            }
        }
    }
}
