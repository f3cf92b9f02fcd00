//! Terminal facts: which standard streams are TTYs, and whether to colour each one.
//!
//! Colour rules (kubectl conventions and <https://no-color.org>): colour only on a TTY, never
//! when `NO_COLOR` is set to a non-empty value, never with `TERM=dumb`. The rules live in the
//! pure function [`color_allowed`] so they are tested without touching the process
//! environment.

use std::ffi::OsStr;
use std::io::IsTerminal;

/// Which standard streams are terminals, detected once at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Term {
    pub stdin_tty: bool,
    pub stderr_tty: bool,
    pub stdout_tty: bool,
}

impl Term {
    /// Asks the OS about the three standard streams (`isatty`).
    pub(crate) fn detect() -> Self {
        Term {
            stdin_tty: std::io::stdin().is_terminal(),
            stderr_tty: std::io::stderr().is_terminal(),
            stdout_tty: std::io::stdout().is_terminal(),
        }
    }

    /// Prompts are possible: they read keys from stdin and draw on stderr, so both must be
    /// terminals (dialoguer fails with "not a terminal" otherwise; we check first).
    #[cfg(test)]
    pub fn interactive(&self) -> bool {
        self.stdin_tty && self.stderr_tty
    }

    /// Colour for what we write to stderr (the preview, prompts, progress).
    pub(crate) fn stderr_color(&self) -> bool {
        color_allowed(self.stderr_tty, &env_lookup)
    }

    /// Colour for what we write to stdout (reports).
    pub(crate) fn stdout_color(&self) -> bool {
        color_allowed(self.stdout_tty, &env_lookup)
    }

    /// The height of the terminal stdout writes to, in lines; `None` when stdout is not a
    /// terminal (or its size is unknown).
    pub(crate) fn stdout_rows(&self) -> Option<usize> {
        if !self.stdout_tty {
            return None;
        }
        console::Term::stdout()
            .size_checked()
            .map(|(rows, _)| usize::from(rows))
    }
}

fn env_lookup(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name)
}

/// Whether a stream may be coloured, given whether it is a TTY and a way to read the
/// environment (`env("NO_COLOR")`, `env("TERM")`).
///
/// `NO_COLOR` follows the no-color.org wording: "when present and not an empty string
/// (regardless of its value)". `TERM=dumb` terminals do not understand escape codes.
pub(crate) fn color_allowed<V: AsRef<OsStr>>(tty: bool, env: &dyn Fn(&str) -> Option<V>) -> bool {
    if !tty {
        return false;
    }
    if env("NO_COLOR").is_some_and(|v| !v.as_ref().is_empty()) {
        return false;
    }
    if env("TERM").is_some_and(|v| v.as_ref() == "dumb") {
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }

    #[test]
    fn colour_only_on_a_tty() {
        assert!(color_allowed(true, &env(&[("TERM", "xterm-256color")])));
        assert!(color_allowed(true, &env(&[])));
        assert!(!color_allowed(false, &env(&[("TERM", "xterm-256color")])));
    }

    #[test]
    fn no_color_with_any_non_empty_value_disables_colour() {
        for value in ["1", "0", "false", "yes", " "] {
            assert!(
                !color_allowed(true, &env(&[("NO_COLOR", value), ("TERM", "xterm")])),
                "NO_COLOR={value:?}"
            );
        }
        // no-color.org: an empty NO_COLOR does not count.
        assert!(color_allowed(
            true,
            &env(&[("NO_COLOR", ""), ("TERM", "xterm")])
        ));
    }

    #[test]
    fn dumb_terminal_gets_no_colour() {
        assert!(!color_allowed(true, &env(&[("TERM", "dumb")])));
        assert!(color_allowed(true, &env(&[("TERM", "dumber")])));
    }

    #[test]
    fn interactive_needs_stdin_and_stderr() {
        let t = |stdin_tty, stderr_tty, stdout_tty| Term {
            stdin_tty,
            stderr_tty,
            stdout_tty,
        };
        assert!(t(true, true, false).interactive());
        assert!(!t(false, true, true).interactive());
        assert!(!t(true, false, true).interactive());
        assert!(!t(false, false, false).stderr_color());
        assert!(!t(false, false, false).stdout_color());
    }
}
