//! What an offline fix (`fix -f`) does to the manifest files: the core's plans as file edits.

use serde_json::Value;

use super::{Edits, ManifestFile};
use secfix_core::checks::Finding;
use secfix_core::fix::redact::redact_env_values;
use secfix_core::fix::{Action, Plan};

/// What an offline fix (`fix -f`) does to the manifest files.
#[derive(Debug, Default)]
pub struct OfflineEdits {
    /// The changes `--write` makes to the files.
    pub edits: Edits,
    /// The same changes as stdout may show them: any literal secret still in a changed
    /// object (one no fix moved) redacted.
    pub shown: Edits,
    /// What the user must do before applying (create the Secret a literal now reads, …).
    pub notes: Vec<String>,
}

/// The file edits of `plans`. A namespace's new objects go into the first file holding one
/// of its objects (objects without a namespace count as `default_namespace`). The Secret a
/// literal moves into is never written to a file, since its value would be: a note says to
/// create it.
pub fn offline_edits(
    plans: &[Plan],
    not_fixable: &[Finding],
    files: &[ManifestFile],
    default_namespace: &str,
) -> OfflineEdits {
    let mut out = OfflineEdits::default();
    for plan in plans {
        for p in plan.prerequisites.iter().filter(|p| p.sensitive) {
            let keys: Vec<&str> = p
                .object
                .get("stringData")
                .and_then(Value::as_object)
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            out.notes.push(format!(
                "{} now reads Secret {}/{} (keys {}): create it before applying; an offline \
                 fix never writes secret values",
                plan.target,
                secfix_core::model::names::namespace_label(&p.target.namespace),
                p.target.name,
                keys.join(", ")
            ));
        }
        match &plan.action {
            Action::Patch { .. } => {
                let Some(loc) = plan.findings.iter().find_map(|f| f.source.clone()) else {
                    continue;
                };
                // Only into the document the plan was made from, as it was read.
                out.edits
                    .replace_checked(&loc, &plan.before, plan.after.clone());
                let mut redacted = plan.display_objects().1;
                redact_env_values(&mut redacted, &unmoved_literals(plan, not_fixable));
                out.shown.replace_checked(&loc, &plan.before, redacted);
            }
            Action::Create => {
                let file = plan
                    .findings
                    .iter()
                    .find_map(|f| f.source.as_ref().map(|s| s.file.clone()))
                    .or_else(|| {
                        super::first_file_of_namespace(
                            files,
                            &plan.target.namespace,
                            default_namespace,
                        )
                        .map(str::to_string)
                    });
                if let Some(file) = file {
                    // A policy set: the allow policies, then the default deny.
                    let new = plan
                        .prerequisites
                        .iter()
                        .filter(|p| !p.sensitive)
                        .map(|p| &p.object)
                        .chain(std::iter::once(&plan.after));
                    for object in new {
                        out.edits.append(&file, object.clone());
                        out.shown.append(&file, object.clone());
                    }
                }
            }
        }
    }
    out
}

/// Env names of literal secrets in the plan's object that no fix moved.
fn unmoved_literals<'a>(plan: &Plan, not_fixable: &'a [Finding]) -> Vec<&'a str> {
    not_fixable
        .iter()
        .filter(|f| {
            f.kind == plan.target.kind
                && f.namespace == plan.target.namespace
                && f.name == plan.target.name
        })
        .filter_map(|f| f.detail.get().moved_literal())
        .collect()
}
