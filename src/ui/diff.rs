//! STUB
use crate::fix::Plan;
pub fn render_preview(plan: &Plan, _color: bool) -> String {
    format!("{}\n", plan.target)
}
pub fn render_patch(plan: &Plan) -> String {
    serde_json::to_string_pretty(&plan.forward_patch()).unwrap_or_default()
}
