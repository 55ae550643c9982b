//! One cancellation token and task tracker for every task, and the ordered shutdown.
//!
//! Every task is spawned into a [`Phase`]. Shutdown cancels the phases in order and waits for each
//! phase's tasks to finish before cancelling the next — no sleeps:
//!
//! 1. [`Phase::Accept`]: stop accepting connections;
//! 2. [`Phase::Connections`]: each connection stops reading, writes the answers to shares already
//!    submitted, sends `client.reconnect` and closes;
//! 3. [`Phase::Shares`]: the share stage verifies, judges and records what is still queued; then the
//!    sink is flushed;
//! 4. [`Phase::Blocks`]: block submissions in progress are finished (or logged in full);
//! 5. [`Phase::Background`]: job dispatcher, node health checks, summaries.

use std::future::Future;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The shutdown order of the pool's tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Accept,
    Connections,
    Shares,
    Blocks,
    Background,
}

impl Phase {
    pub const ORDER: [Phase; 5] =
        [Phase::Accept, Phase::Connections, Phase::Shares, Phase::Blocks, Phase::Background];

    fn index(self) -> usize {
        self as usize
    }
}

/// The pool's tasks, by phase.
#[derive(Clone)]
pub struct Lifecycle {
    root: CancellationToken,
    phases: [(CancellationToken, TaskTracker); 5],
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self::new()
    }
}

impl Lifecycle {
    pub fn new() -> Self {
        let root = CancellationToken::new();
        let phases = Phase::ORDER.map(|_| (root.child_token(), TaskTracker::new()));
        Lifecycle { root, phases }
    }

    /// Cancelled when `phase` is asked to stop.
    pub fn token(&self, phase: Phase) -> CancellationToken {
        self.phases[phase.index()].0.clone()
    }

    /// Spawns a task of `phase`.
    pub fn spawn<F>(&self, phase: Phase, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.phases[phase.index()].1.spawn(task);
    }

    /// Spawns blocking work of `phase` (its completion is waited for like a task's).
    pub fn spawn_blocking<F, R>(&self, phase: Phase, work: F) -> tokio::task::JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.phases[phase.index()].1.spawn_blocking(work)
    }

    /// Tasks of `phase` still running.
    pub fn running(&self, phase: Phase) -> usize {
        self.phases[phase.index()].1.len()
    }

    /// Stops `phase` and waits for its tasks.
    pub async fn stop(&self, phase: Phase) {
        let (token, tracker) = &self.phases[phase.index()];
        token.cancel();
        tracker.close();
        tracker.wait().await;
    }

    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.phases[0].0.is_cancelled()
    }

    /// Cancels everything at once (after the ordered stops, or on a fatal error).
    pub fn cancel_all(&self) {
        self.root.cancel();
    }
}
