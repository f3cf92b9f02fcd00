//! The per-change prompt, drawn on stderr with dialoguer.
//!
//! Prompts never hang on a non-TTY: [`require_interactive`] says so up front (naming `--yes`
//! and `--dry-run`), and [`ask`]/[`confirm`] check both streams again before drawing
//! (dialoguer only checks stderr, and would otherwise read keys from a pipe).
//!
//! Ctrl-C: console reads keys in raw mode, sees `^C`, raises `SIGINT` on the process and then
//! returns an `Interrupted` error. With the default `SIGINT` disposition the process ends right
//! there, with the cursor hidden; so the CLI keeps a `SIGINT` listener (e.g.
//! `tokio::signal::ctrl_c()`) alive while prompting, and then [`ask`] restores the cursor and
//! answers [`Choice::Quit`]. [`restore_terminal`] is there for the CLI's own signal path.

use std::io;

use dialoguer::Select;
use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};

use super::term::Term;

/// What the user wants done with one change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// Apply this change.
    Apply,
    /// Leave this object alone and go on.
    Skip,
    /// Print the JSON patch, then ask again.
    ShowPatch,
    /// Apply this change and every remaining one without asking.
    ApplyAll,
    /// Apply nothing more and stop (also Esc, `q` and Ctrl-C).
    Quit,
}

impl Choice {
    /// The menu, in display order. The first entry is the default selection: the change was
    /// already accepted by a server-side dry run, and every apply is saved with its inverse.
    /// A change the app must be adapted to defaults to [`Choice::Skip`] instead.
    pub const ALL: [Choice; 5] = [
        Choice::Apply,
        Choice::Skip,
        Choice::ShowPatch,
        Choice::ApplyAll,
        Choice::Quit,
    ];

    /// The menu line for this choice (stable: the pty tests match on it).
    pub fn label(self) -> &'static str {
        match self {
            Choice::Apply => "apply",
            Choice::Skip => "skip",
            Choice::ShowPatch => "show JSON patch",
            Choice::ApplyAll => "apply all remaining",
            Choice::Quit => "quit",
        }
    }

    /// The choice for a menu index; `None` (Esc, `q`) and anything out of range quit.
    fn from_index(index: Option<usize>) -> Choice {
        index
            .and_then(|i| Choice::ALL.get(i).copied())
            .unwrap_or(Choice::Quit)
    }
}

impl std::fmt::Display for Choice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// Prompts cannot be shown: stdin or stderr is not a terminal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{stream} is not a terminal: pass --yes to apply without prompts, or --dry-run=server|client to preview"
)]
pub struct NotInteractive {
    /// `stdin` or `stderr`.
    pub stream: &'static str,
}

impl From<NotInteractive> for io::Error {
    fn from(e: NotInteractive) -> Self {
        io::Error::new(io::ErrorKind::NotConnected, e)
    }
}

/// Checks that prompts can be shown (stdin and stderr are terminals), naming the stream that
/// is not and the flags that avoid prompting.
pub fn require_interactive(term: &Term) -> Result<(), NotInteractive> {
    if !term.stdin_tty {
        Err(NotInteractive { stream: "stdin" })
    } else if !term.stderr_tty {
        Err(NotInteractive { stream: "stderr" })
    } else {
        Ok(())
    }
}

/// Shows `prompt` with the [`Choice`] menu on stderr, `default` selected, and waits for a
/// choice. Esc, `q` and Ctrl-C answer [`Choice::Quit`]; the cursor is shown again in every
/// case.
pub fn ask(prompt: &str, default: Choice) -> io::Result<Choice> {
    let term = live_term()?;
    let theme = theme(&term);
    let default = Choice::ALL.iter().position(|c| *c == default).unwrap_or(0);
    let result = Select::with_theme(theme.as_ref())
        .with_prompt(secfix_core::model::text::printable(prompt))
        .items(Choice::ALL.iter().map(|c| c.label()))
        .default(default)
        .interact_opt();
    match finish(result)? {
        Answer::Value(index) => Ok(Choice::from_index(index)),
        Answer::Interrupted => Ok(Choice::Quit),
    }
}

/// [`ask`], given up when `interrupted` turns true first: a Ctrl-C typed while console is
/// between two key reads (the terminal in its normal mode) reaches the process as `SIGINT`,
/// which the CLI catches, and never reaches the prompt, which would then wait forever (seen
/// under load: `ctrl_c_at_the_prompt_stops_cleanly_with_nothing_applied` timed out). The
/// prompt runs on a thread of its own; when the flag wins, the terminal's mode is put back
/// as it was before the prompt, the cursor shown, and the answer is [`Choice::Quit`] (the
/// abandoned thread ends with the process).
pub fn ask_unless(
    prompt: &str,
    default: Choice,
    interrupted: &std::sync::atomic::AtomicBool,
) -> io::Result<Choice> {
    use std::sync::atomic::Ordering;
    use std::sync::mpsc::RecvTimeoutError;
    if interrupted.load(Ordering::SeqCst) {
        return Ok(Choice::Quit);
    }
    let mode = mode::saved();
    let (tx, rx) = std::sync::mpsc::channel();
    let question = prompt.to_string();
    std::thread::spawn(move || {
        // The receiver may be gone (interrupted): nothing is left to tell.
        let _ = tx.send(ask(&question, default));
    });
    loop {
        match rx.recv_timeout(std::time::Duration::from_millis(50)) {
            Ok(answer) => return answer,
            Err(RecvTimeoutError::Timeout) if interrupted.load(Ordering::SeqCst) => {
                if let Some(m) = &mode {
                    mode::restore(m);
                }
                restore_terminal();
                let stderr = console::Term::stderr();
                if stderr.is_term() {
                    let _ = stderr.write_line("");
                }
                return Ok(Choice::Quit);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                return Err(io::Error::other("the prompt ended without an answer"));
            }
        }
    }
}

/// The terminal's mode (termios) of standard input, which console puts in raw mode while it
/// reads a key and back after.
#[cfg(unix)]
mod mode {
    pub(super) fn saved() -> Option<libc::termios> {
        let mut t = std::mem::MaybeUninit::<libc::termios>::uninit();
        // SAFETY: tcgetattr writes a whole termios into `t` when it returns 0, and only then
        // is `t` read.
        (unsafe { libc::tcgetattr(libc::STDIN_FILENO, t.as_mut_ptr()) } == 0)
            .then(|| unsafe { t.assume_init() })
    }

    pub(super) fn restore(t: &libc::termios) {
        // SAFETY: `t` is a termios tcgetattr filled for this very terminal. Best effort: if
        // it fails, the shell resets the mode when the process ends.
        let _ = unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, t) };
    }
}

#[cfg(not(unix))]
mod mode {
    pub(super) fn saved() -> Option<()> {
        None
    }

    pub(super) fn restore(_: &()) {}
}

/// Puts the terminal back after an interrupted prompt: shows the cursor on stderr.
pub fn restore_terminal() {
    let stderr = console::Term::stderr();
    // Only a terminal has a cursor; never write escape codes into a redirected stderr.
    // Best effort: if the write fails there is nothing left to restore.
    if stderr.is_term() {
        let _ = stderr.show_cursor();
    }
}

enum Answer<T> {
    Value(T),
    Interrupted,
}

/// Restores the cursor (dialoguer only does so on a normal answer) and sorts Ctrl-C from
/// real I/O errors.
fn finish<T>(result: dialoguer::Result<T>) -> io::Result<Answer<T>> {
    match result {
        Ok(v) => Ok(Answer::Value(v)),
        Err(e) => {
            restore_terminal();
            let e = io::Error::from(e);
            if e.kind() == io::ErrorKind::Interrupted {
                // Leave the prompt line so later output starts on a clean line.
                let stderr = console::Term::stderr();
                if stderr.is_term() {
                    let _ = stderr.write_line("");
                }
                Ok(Answer::Interrupted)
            } else {
                Err(e)
            }
        }
    }
}

/// Checks the streams now (not from a stale [`Term`]) so a prompt never reads a pipe.
fn live_term() -> io::Result<Term> {
    let term = Term::detect();
    require_interactive(&term)?;
    Ok(term)
}

fn theme(term: &Term) -> Box<dyn Theme> {
    if term.stderr_color() {
        Box::new(ColorfulTheme::default())
    } else {
        Box::new(SimpleTheme)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(stdin_tty: bool, stderr_tty: bool) -> Term {
        Term {
            stdin_tty,
            stderr_tty,
            stdout_tty: false,
        }
    }

    #[test]
    fn not_interactive_names_the_stream_and_the_flags() {
        let e = require_interactive(&term(false, true)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "stdin is not a terminal: pass --yes to apply without prompts, or --dry-run=server|client to preview"
        );
        let e = require_interactive(&term(true, false)).unwrap_err();
        assert!(e.to_string().starts_with("stderr is not a terminal"));
        assert!(require_interactive(&term(true, true)).is_ok());
    }

    #[test]
    fn cancel_and_out_of_range_quit() {
        assert_eq!(Choice::from_index(None), Choice::Quit);
        assert_eq!(Choice::from_index(Some(99)), Choice::Quit);
        for (i, c) in Choice::ALL.iter().enumerate() {
            assert_eq!(Choice::from_index(Some(i)), *c);
        }
    }

    #[test]
    fn interrupt_is_an_answer_other_errors_are_errors() {
        let interrupted: dialoguer::Result<usize> =
            Err(io::Error::new(io::ErrorKind::Interrupted, "read interrupted").into());
        assert!(matches!(finish(interrupted), Ok(Answer::Interrupted)));
        let broken: dialoguer::Result<usize> =
            Err(io::Error::new(io::ErrorKind::BrokenPipe, "gone").into());
        assert_eq!(
            finish(broken).err().map(|e| e.kind()),
            Some(io::ErrorKind::BrokenPipe)
        );
    }

    #[test]
    fn prompts_refuse_without_a_terminal() {
        // `cargo test` captures output: stdin/stderr are not both terminals in CI. When they
        // are (a developer's shell), skip rather than block on a key press.
        if Term::detect().interactive() {
            return;
        }
        let e = ask("apply?", Choice::Apply).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotConnected);
        assert!(e.to_string().contains("--yes"));
    }
}
