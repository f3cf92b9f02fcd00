//! The progress line of `fix --yes` and `rollback` on stderr: how many objects are done,
//! how many failed, of how many (issue 26). Drawn only when stderr is a terminal.

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicUsize, Ordering};

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
mod tests {
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
