//! STUB (replaced by the ui branch).
pub mod diff;
pub mod prompt;
pub mod term;
