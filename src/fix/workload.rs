//! STUB
use super::{FixOptions, Plan};
use crate::model::{Finding, Workload};
#[derive(Debug, thiserror::Error)]
#[error("fix error")]
pub struct FixError;
pub fn plan_workload(
    _w: &Workload,
    _f: &[Finding],
    _o: &FixOptions,
) -> Result<Option<Plan>, FixError> {
    Ok(None)
}
