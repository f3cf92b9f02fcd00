//! The terminal: TTY and colour facts ([`term`]), the coloured diff preview of a fix plan
//! ([`diff`]), and the per-change prompt ([`prompt`]).
//!
//! Everything here writes to strings or to stderr; stdout stays for reports. The interactive
//! loop itself lives in the CLI, which strings these pieces together.

pub mod diff;
pub mod prompt;
pub mod term;

pub use diff::{display_yaml, render_patch, render_preview};
pub use prompt::{Choice, NotInteractive, ask, confirm, require_interactive, restore_terminal};
pub use term::Term;

#[cfg(test)]
mod tests;
