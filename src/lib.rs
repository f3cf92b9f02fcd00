//! kubectl-secfix: find risky live Kubernetes resources and fix them, safely.
//!
//! The binary is a thin shell over these modules:
//! - [`model`]: workloads, findings, image references (shared vocabulary);
//! - [`checks`]: one pure function per risk, over `k8s-openapi` types;
//! - [`fix`]: one pure builder per fix kind, plus minimal guarded JSON patches;
//! - [`cluster`]: the live side (client, paged listing, dry run and apply, PolicyReports);
//! - [`contexts`]: scans of several kubeconfig contexts at once;
//! - [`manifest`]: the offline side (`-f` files in, fixed files out);
//! - [`registry`]: digests from OCI registries;
//! - [`report`]: table, JSON/YAML and SARIF output, Policy WG reports;
//! - [`ui`]: the terminal (diff preview, prompts, colour);
//! - [`cli`]: flags and the commands that tie the rest together.

pub mod checks;
pub mod cli;
pub mod cluster;
pub mod contexts;
pub mod error;
pub mod fix;
pub(crate) mod inventory;
pub mod manifest;
pub mod model;
pub mod registry;
pub mod report;
pub(crate) mod spill;
pub(crate) mod ui;
