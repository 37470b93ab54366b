//! [`Background`]: one named thread that repeats a step until its handle is
//! dropped (the epoch ticker, the metrics monitor, a project watch). Owns the
//! stop flag, the wake-up and the join; knows nothing of what the step does.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::Duration,
};

use crate::{Error, Result};

/// What a step tells its loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Run the step again.
    Again,
    /// Stop the thread (what it served is gone).
    Stop,
}

/// A thread running a step every `every` (or as fast as the step returns,
/// for a step that waits itself) until dropped; dropping it stops the
/// thread and waits for it.
#[derive(Debug)]
pub(crate) struct Background {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Background {
    /// Starts thread `airssys-NAME`: it waits `every` (woken early by the
    /// drop), then runs `step`, until the handle is dropped or `step`
    /// returns [`Step::Stop`]. A step that waits on its own (a channel with
    /// a timeout) passes `every` zero and checks [`Stopping`] itself.
    pub(crate) fn start(
        name: &'static str,
        every: Duration,
        mut step: impl FnMut(&Stopping) -> Step + Send + 'static,
    ) -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Stopping(stop.clone());
        let thread = thread::Builder::new()
            .name(format!("airssys-{name}"))
            .spawn(move || {
                while !stopping.is_set() {
                    if !every.is_zero() {
                        thread::park_timeout(every);
                        if stopping.is_set() {
                            break;
                        }
                    }
                    if step(&stopping) == Step::Stop {
                        break;
                    }
                }
            })
            .map_err(Error::thread(name))?;
        Ok(Background { stop, thread: Some(thread) })
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// Whether the handle of the running [`Background`] was dropped.
#[derive(Debug, Clone)]
pub(crate) struct Stopping(Arc<AtomicBool>);

impl Stopping {
    /// True once the handle is dropped.
    pub(crate) fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[test]
    fn a_background_step_repeats_until_the_handle_is_dropped() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let handle = Background::start("test", Duration::from_millis(1), move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
            Step::Again
        })
        .unwrap();
        while runs.load(Ordering::SeqCst) < 3 {
            thread::sleep(Duration::from_millis(1));
        }
        drop(handle);
        let after = runs.load(Ordering::SeqCst);
        thread::sleep(Duration::from_millis(20));
        assert_eq!(runs.load(Ordering::SeqCst), after, "no step after the drop returned");
    }

    #[test]
    fn a_long_wait_ends_at_once_when_dropped() {
        let handle = Background::start("test", Duration::from_secs(3600), |_| Step::Again).unwrap();
        let started = std::time::Instant::now();
        drop(handle);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
