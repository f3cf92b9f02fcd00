//! The preview of a [`Plan`]: a header, the warnings, the objects it creates first, and a
//! unified diff of the object as YAML, coloured when asked.
//!
//! Design choices:
//! - The diff is of YAML (what `kubectl get -o yaml` users read), not of the JSON patch, with
//!   server bookkeeping removed ([`display_yaml`]) so only the fix's lines differ.
//! - Everything shown comes from the plan's display copies ([`Plan::display_objects`],
//!   [`NewObject::display`]), which go through the core's one redaction pass
//!   ([`Redactor`]); the same pass runs over the rendered text, so a builder mistake cannot
//!   leak one.
//! - Coloured and plain output are the same text: colour only adds escape codes around it,
//!   and without `color` there is no escape byte at all (whatever `console` detects). YAML
//!   escapes control characters in strings, so an object cannot smuggle escape codes in.

use std::fmt::Write as _;

use console::Style;
use serde_json::Value;
use similar::udiff::UnifiedHunkHeader;
use similar::{Algorithm, ChangeTag, TextDiff};

use secfix_core::checks::Delivery;
use secfix_core::fix::redact::Redactor;
use secfix_core::fix::{Action, Plan, Target};
use secfix_core::model::text::{printable, printable_lines};

pub use secfix_core::fix::redact::LAST_APPLIED_ANNOTATION;

/// `metadata` fields the server maintains; they never differ because of a fix.
const SERVER_METADATA: [&str; 6] = [
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
];

/// Lines of context around each change, as `diff -u`.
const CONTEXT: usize = 3;

/// `obj` as YAML, without server noise: `status`, `metadata.managedFields`,
/// `resourceVersion`, `uid`, `creationTimestamp`, `generation`, `selfLink`, the
/// `kubectl apply` annotation, and `creationTimestamp: null` in pod templates. Maps emptied by
/// that (`annotations`, `metadata`) go too; maps that were already empty stay (`{}` can be
/// meaningful, e.g. `podSelector: {}`). `Null` (the "before" of a create) is the empty string.
pub fn display_yaml(obj: &Value) -> String {
    if obj.is_null() {
        return String::new();
    }
    let clean = strip_noise(obj);
    let mut yaml = secfix_io::manifest::to_yaml(&clean).unwrap_or_else(|_| {
        // JSON is YAML; a Value always serializes to JSON.
        serde_json::to_string_pretty(&clean).unwrap_or_default()
    });
    if !yaml.ends_with('\n') {
        yaml.push('\n');
    }
    yaml
}

/// A copy of `obj` without the fields [`display_yaml`] leaves out.
pub(crate) fn strip_noise(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Value::Object(map) = &mut v {
        map.remove("status");
        if let Some(Value::Object(meta)) = map.get_mut("metadata") {
            for key in SERVER_METADATA {
                meta.remove(key);
            }
            if let Some(Value::Object(annotations)) = meta.get_mut("annotations") {
                annotations.remove(LAST_APPLIED_ANNOTATION);
                if annotations.is_empty() {
                    meta.remove("annotations");
                }
            }
            if meta.is_empty() {
                map.remove("metadata");
            }
        }
        if let Some(spec) = map.get_mut("spec") {
            strip_null_timestamps(spec);
        }
    }
    v
}

/// Removes `creationTimestamp: null` from every nested `metadata` (pod and job templates).
fn strip_null_timestamps(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Object(meta)) = map.get_mut("metadata")
                && meta.get("creationTimestamp").is_some_and(Value::is_null)
            {
                meta.remove("creationTimestamp");
            }
            map.values_mut().for_each(strip_null_timestamps);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_null_timestamps),
        _ => {}
    }
}

/// The text shown before the prompt for one plan. Without `color` it holds no escape codes.
pub fn render_preview(plan: &Plan, color: bool) -> String {
    let p = Palette::new(color);
    let scrub = Redactor::for_plan(plan);
    let mut out = String::new();

    let verb = match plan.action {
        Action::Patch { .. } => "patch",
        Action::Create => "create",
    };
    let mut header = format!("{verb} {}", describe(&plan.target));
    if let Some(summary) = findings_summary(plan) {
        header.push_str(&format!(" ({summary})"));
    }
    line(&mut out, &p.header, &scrub.text(&header));

    let app_changes = plan.deliveries().1;
    let lead = (app_changes > 0).then(|| {
        format!(
            "app-change: the app must be changed to read {app_changes} moved secret(s) from \
             the files below (or name the variable it reads with --file-env NAME=VAR)"
        )
    });
    for warning in lead.iter().chain(&plan.warnings) {
        let _ = writeln!(
            out,
            "{} {}",
            p.warning_label.apply_to("warning:"),
            p.warning.apply_to(printable(&scrub.text(warning)))
        );
    }

    if !plan.flows.is_empty() {
        out.push_str(&flow_table(plan));
    }

    for prerequisite in &plan.prerequisites {
        line(
            &mut out,
            &p.header,
            &format!("will create {}", describe(&prerequisite.target)),
        );
        let yaml = scrub
            .text(&display_yaml(&prerequisite.display()))
            .into_owned();
        unified(
            &mut out,
            &p,
            "",
            &yaml,
            "/dev/null",
            &describe(&prerequisite.target),
        );
    }

    let (before, after) = plan.display_objects();
    let before = match plan.action {
        Action::Create => String::new(),
        Action::Patch { .. } => scrub.text(&display_yaml(&before)).into_owned(),
    };
    let after = scrub.text(&display_yaml(&after)).into_owned();
    let name = describe(&plan.target);
    let (old_label, new_label) = match plan.action {
        Action::Create => ("/dev/null".to_string(), name),
        Action::Patch { .. } => (format!("{name} (before)"), format!("{name} (after)")),
    };
    unified(&mut out, &p, &before, &after, &old_label, &new_label);
    out
}

/// The flow table of a NetworkPolicy set: one aligned row per flow (what, from, to, pod
/// ports, why), control characters escaped.
pub(crate) fn flow_table(plan: &Plan) -> String {
    let rows =
        secfix_core::fix::network_policy::render::flow_rows(&plan.target.namespace, &plan.flows);
    let mut table: Vec<[String; 5]> = vec![[
        "FLOW".into(),
        "FROM".into(),
        "TO".into(),
        "PORTS".into(),
        "WHY".into(),
    ]];
    for r in rows {
        table.push([
            r.kind.to_string(),
            printable(&r.from).into_owned(),
            printable(&r.to).into_owned(),
            r.ports,
            printable(&r.why).into_owned(),
        ]);
    }
    let mut widths = [0usize; 5];
    for row in &table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &table {
        let mut l = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                l.push_str(cell);
            } else {
                l.push_str(cell);
                l.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    }
    out
}

/// The JSON patch sent for the plan, pretty-printed (the "show JSON patch" choice); for a
/// create, the object sent. Literal secret values are redacted wherever they appear.
pub fn render_patch(plan: &Plan) -> String {
    let scrub = Redactor::for_plan(plan);
    let value = match plan.display_patch() {
        Some(ops) => ops,
        None => plan.display_objects().1,
    };
    let text = serde_json::to_string_pretty(&value)
        .unwrap_or_else(|e| format!("(cannot render the patch: {e})"));
    // JSON escapes C0 controls but not C1 ones (CSI is U+009B): escape what is left.
    let mut text = printable_lines(&scrub.text(&text)).into_owned();
    text.push('\n');
    text
}

/// The line above a NetworkPolicy set's flow table, the namespace escaped.
pub(crate) fn network_policy_header(namespace: &str) -> String {
    format!("NetworkPolicies for namespace {}:", printable(namespace))
}

/// `Kind ns/name`, or `Kind name` for cluster-scoped objects.
fn describe(target: &Target) -> String {
    if target.namespace.is_empty() {
        format!("{} {}", target.kind, target.name)
    } else {
        format!("{} {}/{}", target.kind, target.namespace, target.name)
    }
}

/// `env-secret, env-literal-secret; severity high`: the distinct checks (in check order) and
/// the highest severity of the plan's findings.
fn findings_summary(plan: &Plan) -> Option<String> {
    let severity = plan.findings.iter().map(|f| f.severity).max()?;
    let mut checks: Vec<_> = plan.findings.iter().map(|f| f.check).collect();
    checks.sort();
    checks.dedup();
    let checks: Vec<_> = checks.iter().map(|c| c.as_str()).collect();
    let mut summary = format!("{}; severity {severity}", checks.join(", "));
    let classes: Vec<String> = [
        (plan.deliveries().0, Delivery::Native),
        (plan.deliveries().1, Delivery::AppChange),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, d)| format!("{n} {d}"))
    .collect();
    if !classes.is_empty() {
        summary.push_str(&format!("; secrets moved: {}", classes.join(", ")));
    }
    Some(summary)
}

/// Writes one line of our own text (header, labels), styled, with control characters
/// escaped: names and warnings can quote cluster data, which must not reach the terminal as
/// escape sequences.
fn line(out: &mut String, style: &Style, text: &str) {
    let _ = writeln!(out, "{}", style.apply_to(printable(text)));
}

/// Appends a unified diff of `old` → `new` (line based, `CONTEXT` lines of context, `@@`
/// hunk headers), with the changed words of changed lines emphasised.
fn unified(out: &mut String, p: &Palette, old: &str, new: &str, old_label: &str, new_label: &str) {
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .diff_lines(old, new);
    let groups = diff.grouped_ops(CONTEXT);
    if groups.is_empty() {
        line(out, &p.context, "(no changes)");
        return;
    }
    line(out, &p.file, &format!("--- {old_label}"));
    line(out, &p.file, &format!("+++ {new_label}"));
    for group in &groups {
        line(out, &p.hunk, &UnifiedHunkHeader::new(group).to_string());
        for op in group {
            for change in diff.iter_inline_changes(op) {
                let (sign, plain, emphasis) = match change.tag() {
                    ChangeTag::Delete => ("-", &p.delete, &p.delete_emphasis),
                    ChangeTag::Insert => ("+", &p.insert, &p.insert_emphasis),
                    ChangeTag::Equal => (" ", &p.context, &p.context),
                };
                let _ = write!(out, "{}", plain.apply_to(sign));
                for (emphasised, text) in change.iter_strings_lossy() {
                    // Style the text, never the newline: an escape code after it would
                    // colour the start of the next line on some terminals.
                    let text = text.trim_end_matches(['\n', '\r']);
                    if text.is_empty() {
                        continue;
                    }
                    let style = if emphasised { emphasis } else { plain };
                    let _ = write!(out, "{}", style.apply_to(text));
                }
                out.push('\n');
            }
        }
    }
}

/// The styles of the preview; all plain when colour is off.
struct Palette {
    header: Style,
    warning_label: Style,
    warning: Style,
    file: Style,
    hunk: Style,
    context: Style,
    delete: Style,
    delete_emphasis: Style,
    insert: Style,
    insert_emphasis: Style,
}

impl Palette {
    fn new(color: bool) -> Self {
        if !color {
            let plain = Style::new().force_styling(false);
            return Palette {
                header: plain.clone(),
                warning_label: plain.clone(),
                warning: plain.clone(),
                file: plain.clone(),
                hunk: plain.clone(),
                context: plain.clone(),
                delete: plain.clone(),
                delete_emphasis: plain.clone(),
                insert: plain.clone(),
                insert_emphasis: plain,
            };
        }
        // force_styling: the caller decided (Term::stderr_color); console's own detection
        // would turn colour off whenever stdout is not a terminal.
        let s = || Style::new().force_styling(true);
        Palette {
            header: s().bold(),
            warning_label: s().yellow().bold(),
            warning: s().yellow(),
            file: s().bold(),
            hunk: s().cyan(),
            context: s(),
            delete: s().red(),
            delete_emphasis: s().red().bright().bold().underlined(),
            insert: s().green(),
            insert_emphasis: s().green().bright().bold().underlined(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::tests::{env_secret_plan, image_pin_plan, literal_plan, network_policy_plan};
    use serde_json::json;

    fn all_plans() -> [Plan; 4] {
        [
            env_secret_plan(),
            literal_plan(),
            network_policy_plan(),
            image_pin_plan(),
        ]
    }

    #[test]
    fn colour_off_has_no_escape_byte() {
        for plan in all_plans() {
            let text = render_preview(&plan, false);
            assert!(!text.contains('\x1b'), "{text}");
            assert!(!render_patch(&plan).contains('\x1b'));
        }
    }

    #[test]
    fn colour_on_is_the_same_text_with_escape_codes() {
        for plan in all_plans() {
            let coloured = render_preview(&plan, true);
            assert!(coloured.contains("\x1b["));
            assert_eq!(
                console::strip_ansi_codes(&coloured),
                render_preview(&plan, false)
            );
        }
    }

    #[test]
    fn colour_on_emphasises_the_changed_word() {
        let p = Palette::new(true);
        let text = render_preview(&image_pin_plan(), true);
        let pinned =
            "nginx:1.27@sha256:6af79ae5de407283dcea8b00d5c37ace95441fd58a8b1d2aa1ed93f5511bb18c";
        let emphasised = p.insert_emphasis.apply_to(pinned).to_string();
        assert!(emphasised.starts_with("\x1b["), "{emphasised:?}");
        assert!(text.contains(&emphasised), "{text}");
        let removed = p.delete_emphasis.apply_to("nginx:1.27").to_string();
        assert!(text.contains(&removed), "{text}");
        // The unchanged key on the same line is not emphasised.
        assert!(!text.contains(&p.insert_emphasis.apply_to("image:").to_string()));
        assert!(text.contains(&p.insert.apply_to("+").to_string()));
        assert!(text.contains(&p.delete.apply_to("-").to_string()));
        let header = p
            .header
            .apply_to("patch Deployment shop/web (mutable-image-tag; severity high)")
            .to_string();
        assert!(text.starts_with(&format!("{header}\n")), "{text}");
    }

    #[test]
    fn noise_is_stripped() {
        let live = env_secret_plan().before;
        let yaml = display_yaml(&live);
        for noise in [
            "managedFields",
            "resourceVersion",
            "uid:",
            "creationTimestamp",
            "generation",
            "last-applied-configuration",
            "status:",
            "readyReplicas",
        ] {
            assert!(!yaml.contains(noise), "{noise} left in:\n{yaml}");
        }
        assert!(yaml.contains("deployment.kubernetes.io/revision"));
        assert!(yaml.contains("name: api"));
    }

    #[test]
    fn maps_emptied_by_stripping_go_but_empty_maps_stay() {
        let obj = json!({
            "kind": "NetworkPolicy",
            "metadata": {
                "uid": "x",
                "annotations": {LAST_APPLIED_ANNOTATION: "{}"}
            },
            "spec": {"podSelector": {}}
        });
        assert_eq!(
            strip_noise(&obj),
            json!({"kind": "NetworkPolicy", "spec": {"podSelector": {}}})
        );
        let kept = json!({"metadata": {"name": "n", "annotations": {"a": "b", LAST_APPLIED_ANNOTATION: "{}"}}});
        assert_eq!(
            strip_noise(&kept),
            json!({"metadata": {"name": "n", "annotations": {"a": "b"}}})
        );
    }

    #[test]
    fn null_is_empty_yaml() {
        assert_eq!(display_yaml(&Value::Null), "");
    }

    #[test]
    fn escape_codes_in_objects_are_not_passed_through() {
        let mut plan = env_secret_plan();
        plan.after["metadata"]["annotations"]["evil"] = json!("\u{1b}[2J\u{1b}]0;pwned\u{7}");
        plan.after["metadata"]["annotations"]["evil-block"] =
            json!("line one\n\u{1b}[31mred\u{1b}[0m\nline three\n\u{9b}2J\n");
        plan.warnings
            .push("owner \u{1b}]0;title\u{7} \u{9b}2J".into());
        plan.target.name = "api\u{1b}[2J".into();
        let text = render_preview(&plan, false);
        assert!(!text.contains('\x1b'), "{text:?}");
        assert!(!text.contains('\x07'), "{text:?}");
        assert!(!text.contains('\u{9b}'), "{text:?}");
        assert!(
            text.contains("warning: owner \\u{1b}]0;title\\u{7} \\u{9b}2J"),
            "{text}"
        );
    }

    #[test]
    fn create_shows_the_whole_object_as_additions() {
        let text = render_preview(&network_policy_plan(), false);
        let body: Vec<_> = text
            .lines()
            .skip_while(|l| !l.starts_with("@@"))
            .skip(1)
            .collect();
        assert!(!body.is_empty());
        assert!(body.iter().all(|l| l.starts_with('+')), "{text}");
        assert!(text.contains("@@ -0,0 +1,"));
    }

    #[test]
    fn unchanged_object_says_so() {
        let mut plan = image_pin_plan();
        plan.after = plan.before.clone();
        assert!(render_preview(&plan, false).ends_with("(no changes)\n"));
    }
}
