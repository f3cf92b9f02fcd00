//! Progress on stderr, on a terminal only: one spinner line, or one line per context in a
//! scan of several contexts. Off a terminal nothing is drawn (CI logs stay clean).

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
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
