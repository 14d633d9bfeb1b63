//! The progress display on stderr while an audit collects: instances done, tables read,
//! requests and the time elapsed. Only on a terminal, never in CI, never when asked to be quiet.

use indicatif::{ProgressBar, ProgressStyle};
use preclone::collect::Progress;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Whether to show progress: not with `--no-progress` or `-q`, not when `CI` is set, and only
/// when stderr is a terminal (a log file or a pipe gets no redrawn lines).
pub(crate) fn wanted(no_progress: bool, quiet: bool, stderr_is_terminal: bool, ci: bool) -> bool {
    !no_progress && !quiet && stderr_is_terminal && !ci
}

/// The display, redrawn from the collector's counters until [`Display::finish`].
pub(crate) struct Display {
    bar: ProgressBar,
    stop: Arc<AtomicBool>,
    poller: Option<JoinHandle<()>>,
}

impl Display {
    /// Starts drawing `progress` of a run of `instances` instances.
    pub(crate) fn start(progress: Arc<Progress>, instances: usize) -> Display {
        let bar = ProgressBar::new_spinner();
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} reading, read-only: {msg} · {elapsed}")
        {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        let stop = Arc::new(AtomicBool::new(false));
        let poller = {
            let (bar, stop) = (bar.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let s = progress.snapshot();
                    bar.set_message(format!(
                        "instances {}/{instances} done · {} tables read · {} requests",
                        s.instances_done, s.tables_read, s.requests
                    ));
                    std::thread::sleep(Duration::from_millis(120));
                }
            })
        };
        Display {
            bar,
            stop,
            poller: Some(poller),
        }
    }

    /// Stops and clears the display, so that the reports start on a clean line.
    pub(crate) fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(p) = self.poller.take() {
            let _ = p.join();
        }
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::wanted;

    #[test]
    fn progress_shows_only_on_a_terminal_outside_ci_unless_silenced() {
        assert!(wanted(false, false, true, false));
        assert!(!wanted(false, false, false, false), "not a terminal");
        assert!(!wanted(false, false, true, true), "CI is set");
        assert!(!wanted(true, false, true, false), "--no-progress");
        assert!(!wanted(false, true, true, false), "-q");
    }
}
