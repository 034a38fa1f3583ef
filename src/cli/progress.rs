//! How the command line shows a library job's progress: a bar with rate and ETA on a terminal,
//! plain lines when standard error is a file or a pipe (logs, CI, scripts), nothing with `quiet`.

use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use slipstream::progress::{Progress, Report};

/// The progress handle for a command: silent when `quiet`, else drawn on standard error.
pub(super) fn on_stderr(quiet: bool) -> Progress {
    match (quiet, std::io::stderr().is_terminal()) {
        (true, _) => Progress::silent(),
        (false, true) => Progress::to(Bar::default()),
        (false, false) => Progress::to(Lines),
    }
}

/// Every advance and note as a line of its own, as a log wants them.
struct Lines;

impl Report for Lines {
    fn start(&self, _what: &str, _total: u64) {}

    fn advance(&self, _done: u64, line: &str) {
        if !line.is_empty() {
            eprintln!("{line}");
        }
    }

    fn note(&self, line: &str) {
        eprintln!("{line}");
    }

    fn finish(&self) {}
}

/// A bar for the current stage; notes print above it.
#[derive(Default)]
struct Bar(Mutex<Option<ProgressBar>>);

impl Report for Bar {
    fn start(&self, what: &str, total: u64) {
        let bar = ProgressBar::new(total);
        if let Ok(style) = ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} ({per_sec}, ETA {eta})\n{wide_msg}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(what.to_string());
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(bar);
        }
    }

    fn advance(&self, done: u64, line: &str) {
        if let Ok(slot) = self.0.lock() {
            if let Some(bar) = slot.as_ref() {
                bar.set_position(done);
                bar.set_message(line.to_string());
            }
        }
    }

    fn note(&self, line: &str) {
        match self.0.lock().ok().as_deref().and_then(Option::as_ref) {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.0.lock() {
            if let Some(bar) = slot.take() {
                bar.finish();
            }
        }
    }
}
