//! The terminal: TTY and colour facts ([`term`]), the scan table and summary ([`table`],
//! [`summary`]), progress lines ([`progress`]), the coloured diff preview of a fix plan
//! ([`diff`]), and the per-change prompt ([`prompt`]).
//!
//! Everything here writes to strings or to stderr; stdout stays for reports. The interactive
//! loop itself lives in the CLI, which strings these pieces together.

pub mod diff;
pub mod progress;
pub mod prompt;
pub mod summary;
pub mod table;
pub mod term;

#[cfg(test)]
mod tests;
