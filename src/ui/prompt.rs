//! STUB
use super::term::Term;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Apply,
    Skip,
    ShowPatch,
    ApplyAll,
    Quit,
}
pub fn ask(_prompt: &str) -> std::io::Result<Choice> {
    Ok(Choice::Quit)
}
#[derive(Debug, thiserror::Error)]
#[error(
    "stdin is not a terminal: pass --yes to apply without prompts, or --dry-run=server|client to preview"
)]
pub struct NotInteractive;
pub fn require_interactive(term: &Term) -> Result<(), NotInteractive> {
    if term.interactive() {
        Ok(())
    } else {
        Err(NotInteractive)
    }
}
