//! How long library jobs (training, evaluation, calibration, benchmarks) say how far they are,
//! instead of printing: they call a [`Progress`] handle, and whoever runs them decides what that
//! shows. The command line draws a bar on a terminal and plain lines otherwise; tests and
//! scripts pass [`Progress::silent`]. Jobs that report one outcome per item (`prepare`,
//! `generate`) take a callback per outcome instead.

use std::fmt;
use std::sync::Arc;

/// What receives a job's progress. Called from the job's loop: keep it cheap.
pub trait Report: Send + Sync {
    /// A stage of `total` steps begins (`what`: "training", "evaluating", …).
    fn start(&self, what: &str, total: u64);
    /// `done` of the stage's steps are finished; `line` says how it goes, in words.
    fn advance(&self, done: u64, line: &str);
    /// A line of its own: what the job is about to do, a validation result.
    fn note(&self, line: &str);
    /// The stage has ended.
    fn finish(&self);
}

/// The handle a job holds: silent by default, cheap to clone.
#[derive(Clone, Default)]
pub struct Progress(Option<Arc<dyn Report>>);

impl Progress {
    /// Reports nothing.
    pub fn silent() -> Self {
        Progress(None)
    }

    /// Reports to `report`.
    pub fn to(report: impl Report + 'static) -> Self {
        Progress(Some(Arc::new(report)))
    }

    /// Whether anything listens (a job may skip composing its lines when not).
    pub fn is_silent(&self) -> bool {
        self.0.is_none()
    }

    pub fn start(&self, what: &str, total: u64) {
        if let Some(r) = &self.0 {
            r.start(what, total);
        }
    }

    /// Steps done, with the line `line()` composes (only composed when someone listens).
    pub fn advance(&self, done: u64, line: impl FnOnce() -> String) {
        if let Some(r) = &self.0 {
            r.advance(done, &line());
        }
    }

    pub fn note(&self, line: impl FnOnce() -> String) {
        if let Some(r) = &self.0 {
            r.note(&line());
        }
    }

    pub fn finish(&self) {
        if let Some(r) = &self.0 {
            r.finish();
        }
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_silent() {
            "Progress(silent)"
        } else {
            "Progress(reporting)"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Report for Arc<Recorder> {
        fn start(&self, what: &str, total: u64) {
            self.0.lock().unwrap().push(format!("start {what} {total}"));
        }
        fn advance(&self, done: u64, line: &str) {
            self.0.lock().unwrap().push(format!("{done}: {line}"));
        }
        fn note(&self, line: &str) {
            self.0.lock().unwrap().push(line.to_string());
        }
        fn finish(&self) {
            self.0.lock().unwrap().push("finish".into());
        }
    }

    #[test]
    fn a_silent_handle_composes_nothing_and_a_listening_one_passes_everything_on() {
        let silent = Progress::silent();
        silent.advance(1, || panic!("composed a line nobody reads"));
        silent.note(|| panic!("composed a note nobody reads"));
        let recorder = Arc::new(Recorder::default());
        let p = Progress::to(recorder.clone());
        p.clone().start("training", 3);
        p.advance(1, || "loss 0.5".into());
        p.note(|| "validation".into());
        p.finish();
        assert_eq!(
            *recorder.0.lock().unwrap(),
            ["start training 3", "1: loss 0.5", "validation", "finish"]
        );
    }
}
