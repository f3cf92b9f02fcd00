//! Data shared by checks, fixes and reports.

mod diagnostic;
pub mod image_ref;
pub mod names;
pub mod selector;
pub mod signature;
pub mod text;
pub mod workload;
pub mod yaml;

pub use diagnostic::Diagnostic;
pub use image_ref::ImageRef;
pub use workload::{
    ContainerField, ContainerGroup, ContainerRef, FieldRef, SourceLocation, Workload, WorkloadKind,
};

/// The annotation that suppresses checks on an object or a whole namespace:
/// `secfix.dev/ignore: "env-secret,mutable-image-tag"` or `"all"`.
pub(crate) const IGNORE_ANNOTATION: &str = "secfix.dev/ignore";

/// Field manager for every write this tool makes.
pub const FIELD_MANAGER: &str = "kubectl-secfix";

/// What replaces a secret's value wherever one would otherwise be shown or written.
pub const REDACTED: &str = "<redacted>";
