//! The pure core of kubectl-secfix: what is risky, how to fix it, and how to say so.
//!
//! No I/O happens here: no tokio, no kube client, no HTTP, no clap, no terminal (the
//! workspace's `tests/layers.rs` checks the dependency tree). Objects come in as values,
//! findings, plans and reports go out.
//! - [`model`]: workloads, findings, image references, names, text (the vocabulary);
//! - [`checks`]: the check table and one folder per check (detection, detail, fix);
//! - [`inventory`]: objects in, findings and the evidence fixes need out;
//! - [`fix`]: plans, guarded JSON patches, the output boundary (redaction);
//! - [`report`]: JSON/YAML, SARIF, Markdown, HTML, Policy WG reports;
//! - [`error`]: the usage error the binary maps to exit code 2.

pub mod checks;
pub mod error;
pub mod fix;
pub mod inventory;
pub mod model;
pub mod report;
