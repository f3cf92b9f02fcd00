//! STUB
use super::{FixOptions, Plan};
use crate::model::Finding;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::NetworkPolicy;
pub fn plan_namespace(
    _ns: &str,
    _f: &[Finding],
    _p: &[NetworkPolicy],
    _s: &[Service],
    _o: &FixOptions,
) -> Option<Plan> {
    None
}
