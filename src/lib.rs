//! kubectl-secfix: find risky live Kubernetes resources and fix them, safely.
//!
//! The binary is a thin shell over two crates whose edges are the layers
//! (docs/architecture.md):
//! - `secfix-core`: model, checks, fix planning, redaction, reports; pure;
//! - `secfix-io`: cluster, manifests, registry, evidence, journal;
//! - here: [`cli`] (flags and the commands that tie the rest together) and [`ui`] (the
//!   terminal: tables, diff preview, prompts, progress, colour).
//!
//! The core and I/O modules are re-exported under their usual names so that tests, benches
//! and fuzz targets reach them through one crate.

pub use secfix_core::{checks, error, fix, inventory, model, report};
pub use secfix_io::{cluster, contexts, manifest, registry};

pub mod cli;
pub mod ui;
