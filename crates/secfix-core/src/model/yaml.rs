//! Objects as YAML, the way `fix` writes them into manifests and overlays.

use serde_json::Value;

/// YAML for a rewritten document. Long strings (pinned image references) stay on one line
/// instead of being folded, so a rewrite changes as few lines as possible.
pub fn to_yaml(v: &Value) -> Result<String, String> {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.folded_wrap_chars = usize::MAX;
    serde_saphyr::to_string_with_options(v, options).map_err(|e| e.to_string())
}
