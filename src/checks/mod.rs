//! STUB (replaced by the checks branch).
use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::networking::v1::NetworkPolicy;

use crate::model::{CheckId, Finding, Workload};

#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    pub checks: BTreeSet<CheckId>,
    pub include_system: bool,
}
pub struct Scanner {
    scanned: usize,
}
impl Scanner {
    pub fn new(_opts: ScanOptions) -> Self {
        Scanner { scanned: 0 }
    }
    pub fn add_namespace(&mut self, _ns: &Namespace) {}
    pub fn add_network_policy(&mut self, _np: &NetworkPolicy) {}
    pub fn add_workload(&mut self, _w: &Workload) {
        self.scanned += 1;
    }
    pub fn scanned(&self) -> usize {
        self.scanned
    }
    pub fn finish(self) -> ScanResult {
        ScanResult {
            findings: vec![],
            suppressed: 0,
            scanned: self.scanned,
        }
    }
}
pub struct ScanResult {
    pub findings: Vec<Finding>,
    pub suppressed: usize,
    pub scanned: usize,
}
