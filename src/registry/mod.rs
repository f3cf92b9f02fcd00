//! STUB (replaced by the registry branch).
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::model::ImageRef;

pub struct RegistryOptions {
    pub insecure: Vec<String>,
    pub timeout: Duration,
    pub max_concurrent: usize,
    pub docker_config: Option<PathBuf>,
}
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("not found: {reference}")]
    NotFound { reference: String },
}
pub struct Resolver;
impl Resolver {
    pub fn new(_opts: RegistryOptions) -> Self {
        Resolver
    }
    pub async fn resolve_all(
        &self,
        _refs: &[ImageRef],
    ) -> BTreeMap<String, Result<String, ResolveError>> {
        BTreeMap::new()
    }
}
