//! Where a field of an object read with `-f` stands in its file: the line and column of the
//! field the JSON pointer names (its key, for a mapping entry; its first character, for a
//! sequence item), so SARIF and `-o wide` point at the offending field, not at the document.
//!
//! Pure: it takes the file's text. YAML and JSON alike are read with [`granit_parser`] (JSON
//! is YAML's flow style), starting at the object's own line, so the splitting into documents
//! and `List` items does not have to be repeated.

use granit_parser::{Event, Parser};

/// Line (1-based) and column (1-based, in characters) of `pointer` (a JSON pointer into the
/// object) in `text`, for the object whose document or `List` item starts on `line`. `None`
/// when the field is not found there (the caller then keeps the object's line).
pub fn locate(text: &str, line: usize, pointer: &str) -> Option<(usize, usize)> {
    if line == 0 {
        return None;
    }
    // The object's text from its first line on; a JSON object may follow other text on that
    // line (`"items": [{`): that text is blanked out, keeping columns.
    let mut offset = 0;
    for _ in 1..line {
        offset += text[offset..].find('\n')? + 1;
    }
    let rest = &text[offset..];
    let first_end = rest.find('\n').unwrap_or(rest.len());
    let first = &rest[..first_end];
    let owned;
    let source = match first.find('{') {
        Some(i) if first[..i].trim_start().starts_with('"') || first[..i].contains('[') => {
            owned = format!("{}{}", " ".repeat(first[..i].chars().count()), &rest[i..]);
            owned.as_str()
        }
        _ => rest,
    };
    let target: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    find(source, &target).map(|(l, c)| (l + line - 1, c + 1))
}

enum Frame {
    /// A mapping: the key whose value comes next (`None`: a key comes next).
    Map(Option<String>),
    /// A sequence: the index of the next item.
    Seq(usize),
}

/// Walks the events of the first document of `text`, keeping the path of the node being
/// read; returns (1-based line, 0-based column) where `target` starts. A sequence as the
/// root (a `List` item read from its own line) stands for its first item.
fn find(text: &str, target: &[String]) -> Option<(usize, usize)> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut path: Vec<String> = Vec::new();
    // The root is a sequence: its item 0 is the object.
    let mut root_seq = false;
    for ev in Parser::new_from_str(text) {
        let (ev, span) = ev.ok()?;
        let at = (span.start.line(), span.start.col());
        // The path of the node this event starts (for a node, not a key or an end).
        let node_path = |stack: &[Frame], path: &[String]| -> Option<Vec<String>> {
            let mut p = path.to_vec();
            match stack.last() {
                Some(Frame::Map(Some(k))) => p.push(k.clone()),
                Some(Frame::Map(None)) => return None,
                Some(Frame::Seq(i)) => p.push(i.to_string()),
                None => {}
            }
            Some(p)
        };
        let relative = |p: &[String], root_seq: bool| -> Vec<String> {
            if root_seq {
                p.iter().skip(1).cloned().collect()
            } else {
                p.to_vec()
            }
        };
        match ev {
            Event::DocumentEnd => return None,
            Event::Scalar(value, ..) => {
                if let Some(Frame::Map(key @ None)) = stack.last_mut() {
                    // A key: the field is on its line.
                    let mut p = path.clone();
                    p.push(value.to_string());
                    if relative(&p, root_seq) == target && !(root_seq && p.len() < 2) {
                        return Some(at);
                    }
                    *key = Some(value.to_string());
                    continue;
                }
                let p = node_path(&stack, &path)?;
                if relative(&p, root_seq) == target && !(root_seq && p.is_empty()) {
                    return Some(at);
                }
                advance(&mut stack);
            }
            Event::Alias(_) => {
                if let Some(Frame::Map(key @ None)) = stack.last_mut() {
                    *key = Some(String::new());
                    continue;
                }
                advance(&mut stack);
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let is_seq = matches!(ev, Event::SequenceStart(..));
                if stack.is_empty() && is_seq {
                    root_seq = true;
                }
                if let Some(Frame::Map(None)) = stack.last() {
                    // A complex key: not a Kubernetes field.
                    return None;
                }
                let p = node_path(&stack, &path)?;
                let rel = relative(&p, root_seq);
                if !stack.is_empty() && rel == target && !(root_seq && p.is_empty()) {
                    return Some(at);
                }
                if root_seq
                    && stack.len() == 1
                    && let Some(Frame::Seq(i)) = stack.last()
                    && *i > 0
                {
                    return None; // past the first item
                }
                if !stack.is_empty() {
                    path = p;
                }
                stack.push(if is_seq {
                    Frame::Seq(0)
                } else {
                    Frame::Map(None)
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                if !stack.is_empty() {
                    path.pop();
                }
                advance(&mut stack);
                if stack.is_empty() {
                    return None;
                }
            }
            _ => {}
        }
    }
    None
}

/// A node is complete: its mapping waits for a key again, its sequence for the next item.
fn advance(stack: &mut [Frame]) {
    match stack.last_mut() {
        Some(Frame::Map(key)) => *key = None,
        Some(Frame::Seq(i)) => *i += 1,
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "\
# comment
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx:1.25
        env:
        - name: A
          value: x
        - {name: DB_PASSWORD, value: hunter2}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  spec:
    containers:
    - name: c
      image: busybox
";

    #[test]
    fn yaml_fields_are_found_at_their_own_line_and_column() {
        let at = |line, p| locate(YAML, line, p);
        assert_eq!(
            at(2, "/spec/template/spec/containers/0/image"),
            Some((10, 9))
        );
        assert_eq!(
            at(2, "/spec/template/spec/containers/0/env/0"),
            Some((12, 11))
        );
        assert_eq!(
            at(2, "/spec/template/spec/containers/0/env/1"),
            Some((14, 11))
        );
        assert_eq!(
            at(2, "/spec/template/spec/containers/0/env/1/value"),
            Some((14, 31))
        );
        assert_eq!(at(2, "/metadata/name"), Some((4, 12)));
        assert_eq!(at(2, "/spec/template/spec/containers/0/env/2"), None);
        // A List item, from its own line.
        assert_eq!(at(19, "/spec/containers/0/image"), Some((24, 7)));
        assert_eq!(at(19, "/kind"), Some((20, 3)));
    }

    #[test]
    fn json_fields_are_found_too() {
        let json = "{\n  \"kind\": \"List\",\n  \"items\": [{\n    \"kind\": \"Pod\",\n    \"spec\": {\"containers\": [\n      {\"name\": \"c\", \"image\": \"busybox\"}]}\n  }]\n}\n";
        assert_eq!(locate(json, 3, "/spec/containers/0/image"), Some((6, 21)));
        assert_eq!(locate(json, 3, "/kind"), Some((4, 5)));
        assert_eq!(locate(json, 1, "/items/0/kind"), Some((4, 5)));
    }
}
