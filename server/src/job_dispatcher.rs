//! The job dispatcher task: fetches templates and publishes jobs.
//!
//! * A **new height** is published at once, as a clean job.
//! * The same height with other transactions (or another network difficulty) at most every
//!   `refresh_min` (default 5 s): a node that changes its mempool ten times a second must not
//!   re-issue work to every connection ten times a second. Shares on any job of the current height
//!   stay valid (`pool_core::jobs`), so nothing is lost by waiting.
//! * Every answer counts as the node confirming the work is alive; when no node has answered for
//!   `max_age` the job store expires the work (shares are answered stale) and
//!   [`JobFeed::node_lost`] turns true so connections can tell their miners why.
//!
//! Fetches happen when a node pushes `new_block_template` over its WebSocket (`node::push`, a
//! trigger only), on a polling timer that keeps working without WebSockets, and at once after the
//! pool found a block ([`JobFeed::refresh_now`]).

use crate::clock::now_ms;
use crate::node::Upstreams;
use pool_core::jobs::{FreshnessRules, Job, JobStore, Template};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

/// Shared view of the jobs: the store (for freshness), the newest job, the node-liveness flag.
#[derive(Clone)]
pub struct JobFeed {
    pub store: Arc<Mutex<JobStore>>,
    pub latest: watch::Receiver<Option<Arc<Job>>>,
    /// True while no node has confirmed the work for `max_age`.
    pub node_lost: watch::Receiver<bool>,
    /// Poke after a block is found: fetch a new template at once.
    pub refresh_now: Arc<Notify>,
}

impl JobFeed {
    pub fn store(&self) -> std::sync::MutexGuard<'_, JobStore> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How the dispatcher paces itself.
#[derive(Clone, Copy, Debug)]
pub struct DispatchTiming {
    pub poll: Duration,
    /// Same height, other transactions: at most this often.
    pub refresh_min: Duration,
    pub rules: FreshnessRules,
}

/// The dispatcher's state between fetches.
struct Dispatcher {
    upstreams: Upstreams,
    timing: DispatchTiming,
    store: Arc<Mutex<JobStore>>,
    latest: watch::Sender<Option<Arc<Job>>>,
    node_lost: watch::Sender<bool>,
    published: Option<(Arc<Template>, u64)>,
    /// A same-height change waiting for `refresh_min`.
    held: Option<Template>,
    warned: bool,
}

impl Dispatcher {
    fn publish(&mut self, t: Template, now: u64) {
        let t = Arc::new(t);
        let job = self.store.lock().unwrap_or_else(|e| e.into_inner()).push(t.clone(), now);
        tracing::debug!(job = %job.id, height = t.height, clean = job.clean, "new job");
        self.published = Some((t, now));
        self.held = None;
        self.latest.send_replace(Some(job));
    }

    fn on_template(&mut self, t: Template, now: u64) {
        let Some((last, at)) = self.published.clone() else { return self.publish(t, now) };
        if t.height != last.height {
            return self.publish(t, now); // new height: at once
        }
        let changed = !last.same_work(&t) || last.network_difficulty != t.network_difficulty;
        if !changed {
            self.held = None; // back to what miners already have
            self.store.lock().unwrap_or_else(|e| e.into_inner()).confirm(now);
            return;
        }
        if now.saturating_sub(at) >= self.timing.refresh_min.as_millis() as u64 {
            self.publish(t, now);
        } else {
            self.store.lock().unwrap_or_else(|e| e.into_inner()).confirm(now);
            self.held = Some(t);
        }
    }

    /// How long to wait before the next fetch: the poll interval, or sooner for a held change.
    fn next_wait(&self, now: u64) -> Duration {
        match (&self.held, &self.published) {
            (Some(_), Some((_, at))) => {
                let due = at + self.timing.refresh_min.as_millis() as u64;
                Duration::from_millis(due.saturating_sub(now)).min(self.timing.poll)
            }
            _ => self.timing.poll,
        }
    }

    fn check_liveness(&mut self, now: u64) {
        let lost = self.store.lock().unwrap_or_else(|e| e.into_inner()).expired(now);
        if lost != *self.node_lost.borrow() {
            if lost {
                tracing::error!(
                    max_age_s = self.timing.rules.max_age_ms / 1000,
                    "no node has confirmed the work for too long: shares are answered stale (21) until a node is back"
                );
            } else {
                tracing::info!("a node answers again: shares are credited again");
            }
            self.node_lost.send_replace(lost);
        }
    }

    async fn run(mut self, wake: Arc<Notify>, stop: CancellationToken) {
        loop {
            let fetched = self.upstreams.block_template().await;
            let now = now_ms();
            match fetched {
                Ok(t) => {
                    self.warned = false;
                    self.on_template(t, now);
                }
                Err(e) if !self.warned => {
                    self.warned = true;
                    tracing::error!(error = %e, "no node serves a template; miners keep their last job; retrying");
                }
                Err(_) => {}
            }
            // A held change whose time has come.
            let due = self
                .published
                .as_ref()
                .is_some_and(|(_, at)| now.saturating_sub(*at) >= self.timing.refresh_min.as_millis() as u64);
            if due && let Some(t) = self.held.take() {
                self.publish(t, now);
            }
            self.check_liveness(now);
            tokio::select! {
                _ = tokio::time::sleep(self.next_wait(now)) => {}
                _ = wake.notified() => {}
                _ = stop.cancelled() => return,
            }
        }
    }
}

/// Starts the dispatcher (and one push subscription per node) under `lifecycle`; returns the feed.
pub fn spawn(
    lifecycle: &crate::lifecycle::Lifecycle,
    upstreams: Upstreams,
    tls: Arc<rustls::ClientConfig>,
    epoch_ms: u64,
    timing: DispatchTiming,
) -> JobFeed {
    use crate::lifecycle::Phase;
    let store = Arc::new(Mutex::new(JobStore::new(epoch_ms, timing.rules)));
    let (latest_tx, latest) = watch::channel(None);
    let (lost_tx, node_lost) = watch::channel(false);
    let refresh_now = Arc::new(Notify::new());
    for url in upstreams.urls() {
        let stop = lifecycle.token(Phase::Background);
        lifecycle
            .spawn(Phase::Background, crate::node::push::run(url, tls.clone(), refresh_now.clone(), stop));
    }
    let dispatcher = Dispatcher {
        upstreams,
        timing,
        store: store.clone(),
        latest: latest_tx,
        node_lost: lost_tx,
        published: None,
        held: None,
        warned: false,
    };
    lifecycle
        .spawn(Phase::Background, dispatcher.run(refresh_now.clone(), lifecycle.token(Phase::Background)));
    JobFeed { store, latest, node_lost, refresh_now }
}
