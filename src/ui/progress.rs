//! Progress on stderr, on a terminal only: one spinner line, or one line per context in a
//! scan of several contexts. Off a terminal nothing is drawn (CI logs stay clean).

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

const TICK: Duration = Duration::from_millis(120);

/// One spinner line; `None` inside when stderr is not a terminal (every call a no-op).
#[derive(Debug, Clone, Default)]
pub struct Spinner(Option<ProgressBar>);

impl Spinner {
    /// A spinner showing `message`, drawn only when stderr is a terminal.
    pub fn start(message: &str) -> Spinner {
        if !std::io::stderr().is_terminal() {
            return Spinner(None);
        }
        let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        pb.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        pb.enable_steady_tick(TICK);
        pb.set_message(message.to_string());
        Spinner(Some(pb))
    }

    /// Shows `message` instead.
    pub fn set(&self, message: &str) {
        if let Some(pb) = &self.0 {
            pb.set_message(message.to_string());
        }
    }

    /// Stops the line, leaving `message` on it.
    pub fn finish(&self, message: &str) {
        if let Some(pb) = &self.0 {
            pb.finish_with_message(message.to_string());
        }
    }

    /// Removes the line.
    pub fn clear(&self) {
        if let Some(pb) = &self.0 {
            pb.finish_and_clear();
        }
    }
}

/// One spinner line per context (prefix: the context name, aligned), on a terminal only.
pub struct Lines {
    multi: Option<MultiProgress>,
    lines: BTreeMap<String, ProgressBar>,
}

impl Lines {
    /// One line per name in `names`, each showing "waiting".
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str> + Clone) -> Lines {
        if !std::io::stderr().is_terminal() {
            return Lines {
                multi: None,
                lines: BTreeMap::new(),
            };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let width = names
            .clone()
            .into_iter()
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(0);
        let style =
            ProgressStyle::with_template(&format!("{{spinner}} {{prefix:{width}}}  {{wide_msg}}"))
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let lines = names
            .into_iter()
            .map(|name| {
                let line = multi.add(ProgressBar::new_spinner());
                line.set_style(style.clone());
                line.set_prefix(secfix_core::model::text::printable(name).into_owned());
                line.set_message("waiting");
                line.enable_steady_tick(TICK);
                (name.to_string(), line)
            })
            .collect();
        Lines {
            multi: Some(multi),
            lines,
        }
    }

    /// The line of `name` as a [`Spinner`] (a no-op one off a terminal).
    pub fn line(&self, name: &str) -> Spinner {
        Spinner(self.lines.get(name).cloned())
    }

    /// Removes every line.
    pub fn clear(&self) {
        if let Some(multi) = &self.multi {
            let _ = multi.clear();
        }
    }
}

/// Counts done and failed objects of a known total, shown as one line on stderr.
#[derive(Default)]
pub struct Tally {
    /// The line, what a done object is called (`applied`, `rolled back`, `validated`), and
    /// the total; set once by [`Tally::set_total`].
    shown: std::sync::OnceLock<(indicatif::ProgressBar, &'static str, usize)>,
    done: AtomicUsize,
    failed: AtomicUsize,
}

impl Tally {
    /// A progress line for `total` objects.
    pub fn new(total: usize, done_word: &'static str) -> Tally {
        let t = Tally::default();
        t.set_total(total, done_word);
        t
    }

    /// Starts the line for `total` objects (once; later calls change nothing). Hidden when
    /// stderr is not a terminal, or there is nothing to do.
    pub fn set_total(&self, total: usize, done_word: &'static str) {
        let bar = if total > 0 && std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(total as u64),
                indicatif::ProgressDrawTarget::stderr(),
            );
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} [{bar:30}] {msg} ({elapsed})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        } else {
            indicatif::ProgressBar::hidden()
        };
        if self.shown.set((bar, done_word, total)).is_ok() {
            self.redraw();
        }
    }

    /// `3 applied, 1 failed, of 10`.
    pub fn line(&self) -> String {
        let (word, total) = self.shown.get().map(|s| (s.1, s.2)).unwrap_or(("done", 0));
        format!(
            "{} {word}, {} failed, of {total}",
            self.done.load(Ordering::SeqCst),
            self.failed.load(Ordering::SeqCst),
        )
    }

    fn redraw(&self) {
        if let Some((bar, ..)) = self.shown.get() {
            bar.set_position(
                (self.done.load(Ordering::SeqCst) + self.failed.load(Ordering::SeqCst)) as u64,
            );
            bar.set_message(self.line());
        }
    }

    /// One object done.
    pub fn done(&self) {
        self.done.fetch_add(1, Ordering::SeqCst);
        self.redraw();
    }

    /// One object failed.
    pub fn failed(&self) {
        self.failed.fetch_add(1, Ordering::SeqCst);
        self.redraw();
    }

    /// One object neither done nor failed (skipped).
    pub fn skipped(&self) {
        if let Some((bar, ..)) = self.shown.get() {
            bar.inc(1);
        }
    }

    /// Writes `f`'s output to the terminal with the progress line out of the way.
    pub fn suspend<T>(&self, f: impl FnOnce() -> T) -> T {
        match self.shown.get() {
            Some((bar, ..)) => bar.suspend(f),
            None => f(),
        }
    }

    /// Removes the line.
    pub fn finish(&self) {
        if let Some((bar, ..)) = self.shown.get() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tally_tests {
    #[test]
    fn the_line_counts_done_and_failed_of_the_total() {
        let t = super::Tally::new(5, "applied");
        t.done();
        t.done();
        t.failed();
        t.skipped();
        assert_eq!(t.line(), "2 applied, 1 failed, of 5");
        t.finish();
    }
}
