//! The error type the core shares with the CLI.
//!
//! The core returns [`UsageError`] for problems with what the user asked for (an unreadable
//! or invalid `-f` file, a bad selector, a flag combination that cannot work); anything else
//! is a runtime error. The CLI maps them to exit codes 2 and 1 (see the README).

/// An error in what the user asked for (bad file, bad flag value, missing `--yes`, …): the
/// CLI exits with code 2. The message names the file, object or flag.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
