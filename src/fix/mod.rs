//! TODO
pub mod patch;
