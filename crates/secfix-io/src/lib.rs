//! The I/O around kubectl-secfix's core: where objects come from and where changes go.
//!
//! - [`cluster`]: the client (kubeconfig or in-cluster), paged listing, dry run and guarded
//!   apply, the rollback journal, PolicyReports;
//! - [`inventory`]: reading live or `-f` objects into the core's
//!   [`secfix_core::inventory::Collector`];
//! - [`contexts`]: scans of several kubeconfig contexts at once;
//! - [`manifest`]: the offline side (`-f` files in, fixed files out);
//! - [`registry`]: digests and signatures from OCI registries.
//!
//! Nothing here prints: progress is reported through callbacks the binary supplies.

pub mod cluster;
pub mod contexts;
pub mod inventory;
pub mod manifest;
pub mod registry;
