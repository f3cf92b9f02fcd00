//! `--write` that keeps a file's style: the JSON patch between an object as read and as
//! fixed, applied to the document's text instead of writing the document anew. Comments,
//! key order, quoting, and flow maps and sequences (`{name: a}`, `[a, b]`) stay as they
//! were; what the fix adds to a flow collection is written in flow style, to a block one in
//! block style at its indentation.
//!
//! Careful: after every operation the text is parsed again, and at the end it must read
//! back (as kubectl reads it) as exactly the fixed object. If anything is not understood
//! (anchors and aliases, tags, multi-line plain scalars, complex keys) or does not read
//! back, [`edit`] returns `None` and the writer writes the document anew.

use granit_parser::{Event, Parser, ScalarStyle, StructureStyle};
use json_patch::PatchOperation;
use serde_json::Value;

/// A node of the document with where it is in the text (byte offsets).
#[derive(Debug)]
struct Node {
    start: usize,
    end: usize,
    flow: bool,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Scalar(ScalarStyle),
    /// Entries: key, where the key starts, the value.
    Map(Vec<(String, usize, Node)>),
    Seq(Vec<Node>),
}

type Open = (Node, Option<(String, usize)>);

/// Adds a finished node to its parent (or makes it the root).
fn attach(stack: &mut [Open], root: &mut Option<Node>, node: Node) -> Option<()> {
    match stack.last_mut() {
        None => *root = Some(node),
        Some((parent, pending)) => {
            parent.end = parent.end.max(node.end);
            match &mut parent.kind {
                Kind::Seq(items) => items.push(node),
                Kind::Map(entries) => {
                    let (k, at) = pending.take()?;
                    entries.push((k, at, node));
                }
                Kind::Scalar(_) => return None,
            }
        }
    }
    Some(())
}

/// The tree of `text`'s one document; `None` for what this module does not edit.
fn tree(text: &str) -> Option<Node> {
    let mut options = granit_parser::Options::default();
    options.set_emit_comments(false);
    let parser = Parser::new_from_str_with_options(text, options);
    let mut stack: Vec<Open> = Vec::new();
    let mut root = None;
    let mut documents = 0;
    for ev in parser {
        let (ev, span) = ev.ok()?;
        let start = span.start.byte_offset()?;
        let end = span.end.byte_offset()?;
        match ev {
            Event::StreamStart | Event::StreamEnd => {}
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return None;
                }
            }
            Event::DocumentEnd => {}
            Event::Scalar(value, style, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return None;
                }
                if let Some((parent, pending)) = stack.last_mut()
                    && matches!(parent.kind, Kind::Map(_))
                    && pending.is_none()
                {
                    *pending = Some((value.into_owned(), start));
                    parent.end = parent.end.max(end);
                    continue;
                }
                if style == ScalarStyle::Plain && text.get(start..end)?.contains('\n') {
                    return None;
                }
                let node = Node {
                    start,
                    end,
                    flow: false,
                    kind: Kind::Scalar(style),
                };
                attach(&mut stack, &mut root, node)?;
            }
            Event::MappingStart(style, anchor, ref tag)
            | Event::SequenceStart(style, anchor, ref tag) => {
                if anchor != 0 || tag.is_some() {
                    return None;
                }
                // A collection as a key is not edited.
                if let Some((parent, None)) = stack.last()
                    && matches!(parent.kind, Kind::Map(_))
                {
                    return None;
                }
                let is_map = matches!(ev, Event::MappingStart(..));
                let flow = style == StructureStyle::Flow;
                let node = Node {
                    start,
                    end: start,
                    flow,
                    kind: if is_map {
                        Kind::Map(Vec::new())
                    } else {
                        Kind::Seq(Vec::new())
                    },
                };
                stack.push((node, None));
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let (mut node, pending) = stack.pop()?;
                if pending.is_some() {
                    return None;
                }
                if node.flow {
                    node.end = end;
                }
                attach(&mut stack, &mut root, node)?;
            }
            _ => return None,
        }
    }
    root
}

/// The tokens of a JSON pointer.
fn tokens(path: &str) -> Vec<String> {
    path.split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn child<'a>(node: &'a Node, token: &str) -> Option<&'a Node> {
    match &node.kind {
        Kind::Map(entries) => entries.iter().find(|(k, _, _)| k == token).map(|e| &e.2),
        Kind::Seq(items) => items.get(token.parse::<usize>().ok()?),
        Kind::Scalar(_) => None,
    }
}

fn locate<'a>(root: &'a Node, tokens: &[String]) -> Option<&'a Node> {
    tokens.iter().try_fold(root, |n, t| child(n, t))
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// Just past the end of the line `at` is on (after its `\n`, or the end of the text).
fn next_line(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |i| at + i + 1)
}

fn column(text: &str, at: usize) -> usize {
    at - line_start(text, at)
}

/// A scalar as YAML, in the old one's quoting when it had quotes.
fn scalar(v: &Value, old: Option<ScalarStyle>) -> Option<String> {
    let s = match v {
        Value::String(s) => s,
        Value::Null => return Some("null".into()),
        Value::Bool(_) | Value::Number(_) => return Some(v.to_string()),
        _ => return None,
    };
    let json = || serde_json::to_string(s).ok();
    match old {
        Some(ScalarStyle::DoubleQuoted) => json(),
        Some(ScalarStyle::SingleQuoted) if !s.contains('\n') => {
            Some(format!("'{}'", s.replace('\'', "''")))
        }
        _ => {
            let plain = super::to_yaml(v).ok()?;
            let plain = plain.trim_end_matches('\n');
            let flow_safe = !plain.contains([',', '[', ']', '{', '}', '#', '\n'])
                && !plain.contains(": ")
                && !plain.is_empty();
            if flow_safe {
                Some(plain.to_string())
            } else {
                json()
            }
        }
    }
}

/// A value in flow style (`{name: a, value: b}`).
fn flow(v: &Value) -> Option<String> {
    Some(match v {
        Value::Object(m) => {
            let parts: Option<Vec<String>> = m
                .iter()
                .map(|(k, v)| {
                    Some(format!(
                        "{}: {}",
                        scalar(&Value::String(k.clone()), None)?,
                        flow(v)?
                    ))
                })
                .collect();
            format!("{{{}}}", parts?.join(", "))
        }
        Value::Array(a) => {
            let parts: Option<Vec<String>> = a.iter().map(flow).collect();
            format!("[{}]", parts?.join(", "))
        }
        _ => scalar(v, None)?,
    })
}

/// A value in block style: its first line not indented, the others by `col`.
fn block(v: &Value, col: usize) -> Option<String> {
    let text = super::to_yaml(v).ok()?;
    let pad = format!("\n{}", " ".repeat(col));
    Some(text.trim_end_matches('\n').replace('\n', &pad))
}

fn is_collection(v: &Value) -> bool {
    matches!(v, Value::Object(m) if !m.is_empty()) || matches!(v, Value::Array(a) if !a.is_empty())
}

/// The text of `value` taking the place of `old`.
fn replacement(text: &str, old: &Node, value: &Value) -> Option<String> {
    match &old.kind {
        Kind::Scalar(style) if !is_collection(value) => match value {
            Value::Object(_) | Value::Array(_) => flow(value),
            _ => scalar(value, Some(*style)),
        },
        Kind::Scalar(_) => flow(value),
        _ if old.flow || !is_collection(value) => flow(value),
        _ => block(value, column(text, old.start)),
    }
}

/// `text` with `from..to` replaced by `with`.
fn splice(text: &str, from: usize, to: usize, with: &str) -> String {
    let mut s = String::with_capacity(text.len() + with.len());
    s.push_str(&text[..from]);
    s.push_str(with);
    s.push_str(&text[to..]);
    s
}

/// Applies one operation to `text`; `None` when it cannot be done here.
fn apply(text: &str, op: &PatchOperation) -> Option<String> {
    let root = tree(text)?;
    match op {
        PatchOperation::Replace(o) => {
            let t = tokens(&o.path.to_string());
            let node = locate(&root, &t)?;
            let new = replacement(text, node, &o.value)?;
            Some(splice(text, node.start, node.end, &new))
        }
        PatchOperation::Remove(o) => {
            let t = tokens(&o.path.to_string());
            let (last, parent_path) = t.split_last()?;
            remove(text, locate(&root, parent_path)?, last)
        }
        PatchOperation::Add(o) => {
            let t = tokens(&o.path.to_string());
            let (last, parent_path) = t.split_last()?;
            let parent = locate(&root, parent_path)?;
            match &parent.kind {
                Kind::Map(entries) => add_to_map(text, parent, entries, last, &o.value),
                Kind::Seq(items) => add_to_seq(text, parent, items, last, &o.value),
                Kind::Scalar(_) => None,
            }
        }
        _ => None,
    }
}

/// Removes member `last` of `parent`: its lines in block style (which it must have to
/// itself), its text and separator in flow style. An emptied flow collection becomes `{}`
/// or `[]`; an emptied block one is not done here.
fn remove(text: &str, parent: &Node, last: &str) -> Option<String> {
    // (start, end) of each member: its key (or item) start, its value's end.
    let members: Vec<(usize, usize)> = match &parent.kind {
        Kind::Map(entries) => entries.iter().map(|(_, at, v)| (*at, v.end)).collect(),
        Kind::Seq(items) => items.iter().map(|n| (n.start, n.end)).collect(),
        Kind::Scalar(_) => return None,
    };
    let i = match &parent.kind {
        Kind::Map(entries) => entries.iter().position(|(k, _, _)| k == last)?,
        _ => last.parse::<usize>().ok().filter(|i| *i < members.len())?,
    };
    if members.len() == 1 {
        // An emptied collection: written as `{}` or `[]` in its place.
        let empty = if matches!(parent.kind, Kind::Map(_)) {
            "{}"
        } else {
            "[]"
        };
        return parent
            .flow
            .then(|| splice(text, parent.start, parent.end, empty));
    }
    let (start, end) = members[i];
    if parent.flow {
        return Some(if i + 1 < members.len() {
            splice(text, start, members[i + 1].0, "")
        } else {
            splice(text, members[i - 1].1, end, "")
        });
    }
    let from = line_start(text, start);
    let to = if i + 1 < members.len() {
        line_start(text, members[i + 1].0)
    } else {
        next_line(text, end)
    };
    // The member must have its lines to itself.
    if text[from..start]
        .trim_start()
        .trim_start_matches('-')
        .trim()
        != ""
    {
        return None;
    }
    Some(splice(text, from, to, ""))
}

/// Adds (or replaces) key `last` of map `parent`: after its last entry, at the indent of
/// its first key in block style.
fn add_to_map(
    text: &str,
    parent: &Node,
    entries: &[(String, usize, Node)],
    last: &str,
    value: &Value,
) -> Option<String> {
    if let Some((_, _, node)) = entries.iter().find(|(k, _, _)| k == last) {
        let new = replacement(text, node, value)?;
        return Some(splice(text, node.start, node.end, &new));
    }
    let key = scalar(&Value::String(last.to_string()), None)?;
    if parent.flow {
        let entry = format!("{key}: {}", flow(value)?);
        return Some(match entries.last() {
            Some((_, _, v)) => splice(text, v.end, v.end, &format!(", {entry}")),
            None => splice(text, parent.start + 1, parent.start + 1, &entry),
        });
    }
    let (_, first_key, _) = entries.first()?;
    let indent = column(text, *first_key);
    let pad = " ".repeat(indent);
    let value = if is_collection(value) {
        let inner = " ".repeat(indent + 2);
        format!("\n{inner}{}", block(value, indent + 2)?)
    } else {
        format!(" {}", flow(value)?)
    };
    let at = next_line(text, parent.end);
    let mut entry = format!("{pad}{key}:{value}\n");
    if at == text.len() && !text.ends_with('\n') {
        entry.insert(0, '\n');
    }
    Some(splice(text, at, at, &entry))
}

/// Inserts an item into sequence `parent` at index `last` (`-`: at the end), at the
/// column of its first item's dash in block style.
fn add_to_seq(
    text: &str,
    parent: &Node,
    items: &[Node],
    last: &str,
    value: &Value,
) -> Option<String> {
    let index = if last == "-" {
        items.len()
    } else {
        last.parse::<usize>().ok().filter(|i| *i <= items.len())?
    };
    if parent.flow {
        let item = flow(value)?;
        return Some(if index < items.len() {
            let at = items[index].start;
            splice(text, at, at, &format!("{item}, "))
        } else if let Some(prev) = items.last() {
            splice(text, prev.end, prev.end, &format!(", {item}"))
        } else {
            splice(text, parent.start + 1, parent.start + 1, &item)
        });
    }
    let first = items.first()?;
    let dash =
        text[line_start(text, first.start)..first.start].find('-')? + line_start(text, first.start);
    let dash_col = column(text, dash);
    let mut item = format!(
        "{}- {}\n",
        " ".repeat(dash_col),
        block(value, dash_col + 2)?
    );
    let at = if index < items.len() {
        line_start(text, items[index].start)
    } else {
        next_line(text, parent.end)
    };
    if at == text.len() && !text.ends_with('\n') {
        item.insert(0, '\n');
    }
    Some(splice(text, at, at, &item))
}

/// `text` (one document's body) with `ops` applied in place, if it then reads back as
/// `after`; else `None`.
pub(crate) fn edit(text: &str, ops: &[PatchOperation], after: &Value) -> Option<String> {
    let mut out = text.to_string();
    for op in ops {
        out = apply(&out, op)?;
    }
    let (file, diags) = super::parse_bytes("-", out.as_bytes());
    if !diags.is_empty() || file.documents.len() != 1 {
        return None;
    }
    (file.documents[0].value.as_ref() == Some(after)).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(text: &str, after: Value) -> String {
        let (file, _) = super::super::parse_bytes("-", text.as_bytes());
        let before = file.documents[0].value.clone().unwrap();
        let ops = secfix_core::fix::patch::diff(&before, &after, "").unwrap();
        edit(text, &ops, &after).unwrap_or_else(|| panic!("not edited in place: {ops:?}"))
    }

    const COMMENTED: &str = "\
apiVersion: apps/v1   # the API
kind: Deployment
metadata:
  name: web          # keep
spec:
  template:
    spec:
      # the only container
      containers:
      - name: app
        image: \"nginx:1.25\"   # pinned below
        env:
        - name: MODE
          value: prod
        - name: DB_PASSWORD
          valueFrom: {secretKeyRef: {name: db, key: password}}
";

    /// Covers issue 24 item 6: a fix written with --write changes only its own lines:
    /// comments, quoting and flow maps stay.
    #[test]
    fn a_commented_file_keeps_everything_but_the_fix() {
        let (file, _) = super::super::parse_bytes("-", COMMENTED.as_bytes());
        let mut after = file.documents[0].value.clone().unwrap();
        let c = &mut after["spec"]["template"]["spec"]["containers"][0];
        c["image"] = json!("nginx:1.25@sha256:abc");
        c["env"][1] =
            json!({"name": "DB_PASSWORD_FILE", "value": "/var/run/secrets/secfix/db/password"});
        c["volumeMounts"] = json!([{"name": "secfix-db", "mountPath": "/var/run/secrets/secfix/db", "readOnly": true}]);
        after["spec"]["template"]["spec"]["volumes"] =
            json!([{"name": "secfix-db", "secret": {"secretName": "db"}}]);
        let out = run(COMMENTED, after);
        let changed: Vec<_> = similar::TextDiff::from_lines(COMMENTED, out.as_str())
            .iter_all_changes()
            .filter(|c| c.tag() != similar::ChangeTag::Equal)
            .map(|c| format!("{}{}", c.tag(), c.value()))
            .collect();
        assert_eq!(
            changed,
            [
                "-        image: \"nginx:1.25\"   # pinned below\n",
                "+        image: \"nginx:1.25@sha256:abc\"   # pinned below\n",
                "-        - name: DB_PASSWORD\n",
                "-          valueFrom: {secretKeyRef: {name: db, key: password}}\n",
                "+        - name: DB_PASSWORD_FILE\n",
                "+          value: /var/run/secrets/secfix/db/password\n",
                "+        volumeMounts:\n",
                "+          - name: secfix-db\n",
                "+            mountPath: /var/run/secrets/secfix/db\n",
                "+            readOnly: true\n",
                "+      volumes:\n",
                "+        - name: secfix-db\n",
                "+          secret:\n",
                "+            secretName: db\n",
            ]
            .map(String::from)
            .to_vec(),
            "{out}"
        );
    }

    /// Covers issue 24 item 6: flow maps and sequences stay flow, and what is added to them
    /// is flow too.
    #[test]
    fn flow_style_stays_flow() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, labels: {app: web}}\nspec:\n  template:\n    spec:\n      containers: [{name: app, image: nginx, env: [{name: A, value: x}, {name: TOKEN, valueFrom: {secretKeyRef: {name: t, key: k}}}]}]\n";
        let (file, _) = super::super::parse_bytes("-", text.as_bytes());
        let mut after = file.documents[0].value.clone().unwrap();
        let c = &mut after["spec"]["template"]["spec"]["containers"][0];
        c["image"] = json!("nginx@sha256:abc");
        c["env"].as_array_mut().unwrap().remove(1);
        c["volumeMounts"] = json!([{"name": "v", "mountPath": "/m"}]);
        let out = run(text, after);
        assert_eq!(
            out,
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, labels: {app: web}}\nspec:\n  template:\n    spec:\n      containers: [{name: app, image: nginx@sha256:abc, env: [{name: A, value: x}], volumeMounts: [{name: v, mountPath: /m}]}]\n"
        );
    }

    #[test]
    fn anchors_are_left_to_the_full_rewrite() {
        let text = "a: &x {b: 1}\nc: *x\n";
        let ops: Vec<PatchOperation> =
            serde_json::from_value(json!([{"op": "replace", "path": "/a/b", "value": 2}])).unwrap();
        assert_eq!(
            edit(text, &ops, &json!({"a": {"b": 2}, "c": {"b": 1}})),
            None
        );
    }
}
