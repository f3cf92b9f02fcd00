//! STUB (replaced by the report branch).
use crate::model::{Finding, Severity};
pub struct Report {
    pub findings: Vec<Finding>,
    pub suppressed: usize,
    pub scanned: usize,
    pub warnings: Vec<String>,
}
impl Report {
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}
pub fn render_table(_r: &Report, _color: bool) -> String {
    String::new()
}
pub fn to_json(_r: &Report) -> String {
    String::new()
}
pub fn to_yaml(_r: &Report) -> Result<String, String> {
    Ok(String::new())
}
pub fn to_sarif(_r: &Report) -> String {
    String::new()
}
