//! STUB
use std::io::IsTerminal as _;
pub struct Term {
    pub stdin_tty: bool,
    pub stderr_tty: bool,
    pub stdout_tty: bool,
}
impl Term {
    pub fn detect() -> Self {
        Term {
            stdin_tty: std::io::stdin().is_terminal(),
            stderr_tty: std::io::stderr().is_terminal(),
            stdout_tty: std::io::stdout().is_terminal(),
        }
    }
    pub fn interactive(&self) -> bool {
        self.stdin_tty && self.stderr_tty
    }
    pub fn stderr_color(&self) -> bool {
        self.stderr_tty
    }
    pub fn stdout_color(&self) -> bool {
        self.stdout_tty
    }
}
