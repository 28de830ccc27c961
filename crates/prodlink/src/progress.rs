//! Import progress: a progress bar on a terminal, a log line every few seconds otherwise.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use catalog::import::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Reports import progress to the user.
pub struct CliProgress {
    bar: Option<ProgressBar>,
    label: String,
    last_log: Mutex<Option<Instant>>,
}

impl CliProgress {
    /// A progress reporter; `visible` false logs instead of drawing.
    pub fn new(label: &str, visible: bool) -> Self {
        let bar = (visible && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{prefix} [{bar:30}] {bytes}/{total_bytes} {msg} ({elapsed}, eta {eta})",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(label.to_owned());
            bar
        });
        Self { bar, label: label.to_owned(), last_log: Mutex::new(None) }
    }
}

impl Progress for CliProgress {
    fn start(&self, total_bytes: Option<u64>) {
        if let Some(bar) = &self.bar {
            bar.reset();
            if let Some(t) = total_bytes {
                bar.set_length(t);
            }
        }
    }

    fn update(&self, bytes_read: u64, rows: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(bytes_read);
            bar.set_message(format!("{rows} rows"));
            return;
        }
        let Ok(mut last) = self.last_log.lock() else { return };
        if last.is_none_or(|t| t.elapsed() >= Duration::from_secs(5)) {
            *last = Some(Instant::now());
            tracing::info!(import = %self.label, rows, bytes_read, "import progress");
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Counts products through a long step (embedding): a bar on a terminal, a log line every
/// few seconds otherwise.
pub struct CountProgress {
    bar: Option<ProgressBar>,
    label: String,
    total: u64,
    last_log: Option<Instant>,
}

impl CountProgress {
    /// A counter towards `total`; `visible` false logs instead of drawing.
    pub fn new(label: &str, total: u64, visible: bool) -> Self {
        let bar = (visible && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} products ({per_sec}, eta {eta})",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(label.to_owned());
            bar
        });
        Self { bar, label: label.to_owned(), total, last_log: None }
    }

    /// `n` more done.
    pub fn add(&mut self, n: u64, done: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
            return;
        }
        if self.last_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(5)) {
            self.last_log = Some(Instant::now());
            tracing::info!(step = %self.label, done, total = self.total, "progress");
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
