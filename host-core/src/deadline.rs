//! Runs one guest call to completion or to its wall-clock deadline,
//! whichever comes first, on the calling thread. An executor only: it
//! knows futures, not stores or instances.
//!
//! Epoch interruption stops guest *code* at its deadline, but a guest can
//! also wait inside the host: a WASI sleep (`subscribe-duration` +
//! `pollable.block`), `poll` on several pollables, a blocking read, an
//! outgoing HTTP request to a slow peer, an embedder's async host function.
//! Every guest call is therefore made through wasmtime's async entry points
//! (`call_async`, `instantiate_async`; the guest runs on a fiber) and the
//! future is driven here: a call that never waits completes on the first
//! poll, with no timer armed; a call parked in the host is polled again when
//! its waker fires, and dropped when the deadline passes. Dropping the
//! future unwinds the guest's fiber; the store is left unusable, so its
//! owner discards the instance (the caller marks it poisoned).
//!
//! WASI's host implementations are written for tokio (timers, sockets,
//! `spawn_blocking` for file I/O), so the future is polled inside a tokio
//! runtime context: the caller's own if it has one (the server), else
//! wasmtime-wasi's ambient multi-thread runtime, whose worker threads drive
//! the timer and I/O drivers while this thread sleeps.

use std::{
    future::Future,
    pin::pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
    thread::{self, Thread},
    time::Instant,
};

/// Wakes the thread that is driving a guest call.
struct ThreadWaker {
    thread: Thread,
    woken: AtomicBool,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

thread_local! {
    /// One waker per thread, made once: guest calls on a thread are sequential.
    static WAKER: (Arc<ThreadWaker>, Waker) = {
        let inner = Arc::new(ThreadWaker { thread: thread::current(), woken: AtomicBool::new(false) });
        let waker = Waker::from(inner.clone());
        (inner, waker)
    };
}

/// Drives `future` until it completes (`Some`) or `deadline` passes
/// (`None`; the future is dropped, which cancels the guest call).
pub(crate) fn run_until<F: Future>(deadline: Instant, future: F) -> Option<F::Output> {
    wasmtime_wasi::runtime::with_ambient_tokio_runtime(|| {
        WAKER.with(|(inner, waker)| {
            let mut cx = Context::from_waker(waker);
            let mut future = pin!(future);
            loop {
                inner.woken.store(false, Ordering::Release);
                if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                    return Some(output);
                }
                // Parked in the host: sleep until woken or the deadline. On
                // a runtime's worker thread (a server answering inline) the
                // worker's other tasks and its drivers are handed to another
                // thread first, or a timer this call waits for might never fire.
                let wait = || loop {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    thread::park_timeout(deadline - now);
                    if inner.woken.load(Ordering::Acquire) {
                        return true;
                    }
                };
                let on_worker = tokio::runtime::Handle::try_current()
                    .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
                let woken = if on_worker { tokio::task::block_in_place(wait) } else { wait() };
                if !woken {
                    return None;
                }
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_ready_future_completes_without_waiting() {
        let deadline = Instant::now() + Duration::from_secs(5);
        assert_eq!(run_until(deadline, async { 7 }), Some(7));
    }

    #[test]
    fn a_future_woken_by_a_timer_completes() {
        let deadline = Instant::now() + Duration::from_secs(5);
        let out = run_until(deadline, async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            "slept"
        });
        assert_eq!(out, Some("slept"));
    }

    #[test]
    fn a_future_that_never_completes_ends_at_the_deadline() {
        let started = Instant::now();
        let out = run_until(started + Duration::from_millis(50), std::future::pending::<()>());
        assert_eq!(out, None);
        assert!(started.elapsed() >= Duration::from_millis(50));
    }

    #[test]
    fn a_long_sleep_is_cut_at_the_deadline() {
        let started = Instant::now();
        let out = run_until(started + Duration::from_millis(50), async {
            tokio::time::sleep(Duration::from_secs(3600)).await
        });
        assert_eq!(out, None);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
