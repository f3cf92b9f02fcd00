//! The commands: parse flags, call the focused modules, map outcomes to exit codes.

pub mod args;
pub mod check_flags;
pub mod collect;
pub mod completion;
pub mod fix;
pub mod images;
pub mod rollback;
pub mod scan;
mod scan_stream;

use std::process::ExitCode;

pub use args::Cli;

/// Exit codes: the one definition the README table, `--help` and the man pages are made of
/// ([`exit::TABLE`], `tests/docs.rs` keeps the README's copy fresh).
pub mod exit {
    pub const OK: u8 = 0;
    pub(crate) const RUNTIME: u8 = 1;
    pub(crate) const USAGE: u8 = 2;
    pub const FINDINGS: u8 = 3;

    /// Every exit code and what it means, in order.
    pub const TABLE: [(u8, &str); 4] = [
        (
            OK,
            "success; for `scan`, no finding at or above `--fail-on` (default `low`; findings in \
             `--baseline` never count)",
        ),
        (
            RUNTIME,
            "runtime error: cluster unreachable, a kind forbidden (scan still prints what it \
             found), a context of several failed, PolicyReports not written, `-f` input that \
             cannot be read (named with file and line; everything else is still scanned, and \
             `fix --write` writes nothing), empty input or 0 objects scanned from `-f` (unless \
             `--allow-empty`), a fix or rollback step failed",
        ),
        (
            USAGE,
            "usage error: a bad flag or value, a flag that means nothing with `-f` \
             (`--context`, `--kubeconfig`, `-A`, `--save-patches`, `--dry-run=server`, \
             `--include-kinds`), a prompt needed without a terminal; said before any input is \
             read",
        ),
        (FINDINGS, "`scan` found findings at or above `--fail-on`"),
    ];

    /// The table as Markdown (README.md, generated).
    pub fn markdown_table() -> String {
        let mut out = String::from("| code | meaning |\n|---|---|\n");
        for (code, meaning) in TABLE {
            out.push_str(&format!("| {code} | {meaning} |\n"));
        }
        out
    }

    /// The table for `--help` and the man pages: `Exit codes:` then one wrapped entry each.
    pub fn help_text() -> String {
        let mut out = String::from("Exit codes:");
        for (code, meaning) in TABLE {
            let plain = meaning.replace('`', "");
            let mut line = format!("\n  {code}  ");
            let mut width = 5;
            for word in plain.split(' ') {
                if width + word.len() > 88 && width > 5 {
                    line.push_str("\n     ");
                    width = 5;
                }
                if width > 5 {
                    line.push(' ');
                    width += 1;
                }
                line.push_str(word);
                width += word.len();
            }
            out.push_str(&line);
        }
        out
    }
}

pub use secfix_core::error::UsageError;

pub fn main() -> ExitCode {
    let cli = args::parse(args::global_flags_after_subcommand(std::env::args_os()));
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    // The command runs on a worker (below): give it the main thread's stack size, so deep
    // input recurses no less far than it did on the main thread.
    runtime.thread_stack_size(8 << 20);
    if let Some(n) = cli.command.worker_threads() {
        runtime.worker_threads(n);
    }
    let runtime = match runtime.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::RUNTIME);
        }
    };
    // The command runs as a task on the runtime's workers, not on this thread: with one
    // worker (`fix`, `rollback`) its requests and their connections are then driven by the
    // same thread, where `block_on` here woke this thread from the worker for every response.
    let ran = runtime.block_on(async move {
        match tokio::spawn(run(cli)).await {
            Ok(ran) => ran,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(anyhow::anyhow!("stopped before it finished: {e}")),
        }
    });
    match ran {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            say("error", format!("{e:#}"));
            let code = if e.downcast_ref::<UsageError>().is_some() {
                exit::USAGE
            } else {
                exit::RUNTIME
            };
            ExitCode::from(code)
        }
    }
}

/// Prints `label: text` to stderr with control characters in `text` escaped, as in the
/// table: warnings, errors and notes quote object names, messages and server errors, which
/// must not reach the terminal as escape sequences.
pub fn say(label: &str, text: impl std::fmt::Display) {
    eprintln!(
        "{label}: {}",
        secfix_core::model::text::printable(&text.to_string())
    );
}

/// Writes command output to stdout. A closed pipe (`| head`) ends the output quietly, as
/// for any Unix filter.
pub(crate) fn print_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let result = out
        .write_all(text.as_bytes())
        .and_then(|()| {
            if text.is_empty() || text.ends_with('\n') {
                Ok(())
            } else {
                out.write_all(b"\n")
            }
        })
        .and_then(|()| out.flush());
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Runs one command and returns its exit code.
pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        args::Command::Scan(a) => scan::run(&cli.global, &a).await,
        args::Command::Fix(a) => fix::run(&cli.global, &a).await,
        args::Command::Rollback(a) => rollback::run(&cli.global, &a).await,
        args::Command::PostRender(a) => fix::post_render(&cli.global, &a).await,
        args::Command::Completion(a) => completion::print_completion(&a),
        args::Command::Complete(a) => completion::complete(&cli.global, &a).await,
    }
}
