//! The studio's runtime thread. Every request is a call of host-core's
//! `Runtime` trait made here, off the UI thread, and so is the studio's
//! file I/O (saving `project.ron`, Save As, loading an input); each answer
//! comes back as a [`Reply`] that says what happened (opened, deployed,
//! granted, denied, saved, failed with its cause) and wakes the UI.
//! Deploys, grants and rollbacks (a canary takes many seconds and needs
//! traffic) run on threads of their own, so pipeline runs keep working
//! while a rollout is under way. Rollout progress, guest log lines and
//! metrics arrive from one subscription per runtime. Knows nothing of the
//! studio's state or widgets.
//!
//! [`messages`] holds what is said, [`calls`] what the thread does; this
//! file is the handle the UI holds.

pub mod calls;
pub mod messages;

use std::{
    path::PathBuf,
    sync::mpsc::{Receiver, Sender, TryRecvError, channel},
};

pub use messages::{RegistryEntry, Reply, Request, ServiceInfo, Target, contract_of};

/// The handle the UI holds.
#[derive(Debug)]
pub struct Worker {
    requests: Sender<Request>,
    replies: Receiver<Reply>,
    /// Requests sent and not answered yet.
    pub pending: usize,
}

impl Worker {
    /// Starts the thread; `wake` is called after each reply (repaint).
    /// `cache_dir` is the compile cache (`None`: the user's default).
    pub fn start(wake: impl Fn() + Send + Sync + 'static, cache_dir: Option<PathBuf>) -> Self {
        let (requests, inbox) = channel::<Request>();
        let (tx, replies) = channel::<Reply>();
        let outbox = calls::Outbox::new(tx, wake);
        std::thread::Builder::new()
            .name("studio-runtime".into())
            .spawn(move || calls::run(inbox, outbox, cache_dir))
            .ok();
        Worker { requests, replies, pending: 0 }
    }

    /// Sends a request.
    pub fn send(&mut self, request: Request) {
        let counted = !matches!(request, Request::Refresh);
        if self.requests.send(request).is_ok() && counted {
            self.pending += 1;
        }
    }

    /// The next reply, if one arrived.
    pub fn poll(&mut self) -> Option<Reply> {
        match self.replies.try_recv() {
            Ok(reply) => {
                if reply.answers() {
                    self.pending = self.pending.saturating_sub(1);
                }
                Some(reply)
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => None,
        }
    }
}
