//! [`Bus`]: fans values out to subscribers (guest log lines, rollout
//! events); a subscriber that went away is dropped, and emitting costs one
//! atomic load while nobody listens. Knows nothing of what it carries.

use std::sync::{
    Mutex,
    atomic::{AtomicBool, Ordering},
    mpsc,
};

/// A fan-out of `T` to every live subscriber.
#[derive(Debug)]
pub(crate) struct Bus<T> {
    listening: AtomicBool,
    subscribers: Mutex<Vec<mpsc::Sender<T>>>,
}

impl<T> Default for Bus<T> {
    fn default() -> Self {
        Bus { listening: AtomicBool::new(false), subscribers: Mutex::new(Vec::new()) }
    }
}

impl<T: Clone> Bus<T> {
    /// Whether anyone listens (emitting is free otherwise).
    pub(crate) fn is_listened_to(&self) -> bool {
        self.listening.load(Ordering::Relaxed)
    }

    /// A receiver of every value emitted from now on.
    pub(crate) fn subscribe(&self) -> mpsc::Receiver<T> {
        let (tx, rx) = mpsc::channel();
        let mut subscribers = self.subscribers.lock().unwrap_or_else(|p| p.into_inner());
        subscribers.push(tx);
        self.listening.store(true, Ordering::Relaxed);
        rx
    }

    /// Sends `value` to every subscriber still there.
    pub(crate) fn emit(&self, value: T) {
        if !self.is_listened_to() {
            return;
        }
        let mut subscribers = self.subscribers.lock().unwrap_or_else(|p| p.into_inner());
        subscribers.retain(|tx| tx.send(value.clone()).is_ok());
        self.listening.store(!subscribers.is_empty(), Ordering::Relaxed);
    }
}
