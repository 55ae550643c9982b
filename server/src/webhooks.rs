//! Webhooks: the events a `[[webhooks]]` entry names, POSTed to its URL as JSON (the event's own
//! JSON — `{"event":"block_found",…}` — plus `sent_ms`).
//!
//! Per webhook, a forwarder listens on the bus and puts matching events in a **bounded** queue
//! ([`QUEUE`]): when the endpoint is so slow or down that the queue is full, the newest event is
//! dropped with a warning, so the pool never waits and memory never grows. A sender takes events
//! in order and retries each with exponential backoff (any non-2xx answer or transport error) up
//! to `max_attempts`, then drops it with a warning. Shutdown stops both at once.

use crate::config::WebhookSection;
use crate::events::{EventBus, PoolEvent};
use futures::future::BoxFuture;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

/// Events queued per webhook before new ones are dropped.
pub const QUEUE: usize = 256;

/// The wait before each retry: `first`, doubling, at most `max`.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { first: Duration::from_millis(500), max: Duration::from_secs(30) }
    }
}

impl Backoff {
    /// The wait after failed attempt `n` (1-based).
    pub fn after(&self, n: u32) -> Duration {
        self.first.saturating_mul(1u32 << (n.saturating_sub(1)).min(16)).min(self.max)
    }
}

/// Counters, per webhook (for tests and logs).
#[derive(Debug, Default)]
pub struct WebhookStats {
    pub delivered: AtomicU64,
    pub failed_attempts: AtomicU64,
    /// Given up after `max_attempts`.
    pub abandoned: AtomicU64,
    /// Dropped because the queue was full.
    pub dropped: AtomicU64,
}

struct Hook {
    url: String,
    events: HashSet<String>,
    max_attempts: u32,
    http: reqwest::Client,
    backoff: Backoff,
    stats: Arc<WebhookStats>,
}

/// The tasks of every configured webhook (to spawn under the pool's lifecycle) and their stats.
pub fn tasks(
    bus: &EventBus,
    hooks: &[WebhookSection],
    backoff: Backoff,
    tls: Arc<rustls::ClientConfig>,
    stop: CancellationToken,
) -> (Vec<BoxFuture<'static, ()>>, Vec<Arc<WebhookStats>>) {
    let mut tasks: Vec<BoxFuture<'static, ()>> = Vec::new();
    let mut stats = Vec::new();
    for h in hooks {
        let hook = Arc::new(Hook {
            url: h.url.clone(),
            events: h.events.iter().cloned().collect(),
            max_attempts: h.max_attempts.max(1),
            http: crate::node::client::http_client(Duration::from_millis(h.timeout_ms), tls.clone()),
            backoff,
            stats: Arc::new(WebhookStats::default()),
        });
        tracing::info!(url = %redacted(&hook.url), events = ?h.events, "webhook configured");
        stats.push(hook.stats.clone());
        let (tx, rx) = mpsc::channel(QUEUE);
        tasks.push(Box::pin(forward(hook.clone(), bus.subscribe(), tx, stop.clone())));
        tasks.push(Box::pin(send(hook, rx, stop.clone())));
    }
    (tasks, stats)
}

/// A URL for the log: its query string (often a token) left out.
/// A webhook URL as logs and the admin API show it: scheme and host only. Chat services put their
/// token in the path (`/api/webhooks/ID/TOKEN`), others in the query or the user part.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return "[redacted]".into() };
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{scheme}://{host}/[redacted]")
}

async fn forward(
    hook: Arc<Hook>,
    mut events: broadcast::Receiver<PoolEvent>,
    queue: mpsc::Sender<PoolEvent>,
    stop: CancellationToken,
) {
    loop {
        let event = tokio::select! {
            e = events.recv() => e,
            _ = stop.cancelled() => return,
        };
        match event {
            Ok(e) if hook.events.contains(e.name()) => {
                if queue.try_send(e).is_err() {
                    let n = hook.stats.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                    if n == 1 || n.is_multiple_of(100) {
                        tracing::warn!(url = %redacted(&hook.url), dropped = n, queue = QUEUE,
                            "webhook queue full (the endpoint is slow or down): events dropped");
                    }
                }
            }
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(url = %redacted(&hook.url), missed = n, "webhook fell behind the event bus: events missed");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

async fn send(hook: Arc<Hook>, mut queue: mpsc::Receiver<PoolEvent>, stop: CancellationToken) {
    loop {
        let event = tokio::select! {
            e = queue.recv() => match e { Some(e) => e, None => return },
            _ = stop.cancelled() => return,
        };
        let mut body = serde_json::to_value(&event).unwrap_or_default();
        if let serde_json::Value::Object(m) = &mut body {
            m.insert("sent_ms".into(), crate::clock::now_ms().into());
        }
        let mut attempt = 1;
        loop {
            let error = match hook.http.post(&hook.url).json(&body).send().await {
                Ok(r) if r.status().is_success() => {
                    hook.stats.delivered.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Ok(r) => format!("HTTP {}", r.status()),
                Err(e) => e.without_url().to_string(),
            };
            hook.stats.failed_attempts.fetch_add(1, Ordering::Relaxed);
            if attempt >= hook.max_attempts {
                hook.stats.abandoned.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(url = %redacted(&hook.url), event = event.name(), attempts = attempt, %error,
                    "webhook not delivered: giving up on this event");
                break;
            }
            tracing::debug!(url = %redacted(&hook.url), event = event.name(), attempt, %error, "webhook failed; retrying");
            tokio::select! {
                _ = tokio::time::sleep(hook.backoff.after(attempt)) => {}
                _ = stop.cancelled() => return,
            }
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let b = Backoff { first: Duration::from_millis(100), max: Duration::from_secs(1) };
        let waits: Vec<u128> = (1..=6).map(|n| b.after(n).as_millis()).collect();
        assert_eq!(waits, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.after(1000), Duration::from_secs(1));
    }

    #[test]
    fn a_token_in_the_query_is_kept_out_of_the_log() {
        assert_eq!(redacted("https://h.example/x?token=abc"), "https://h.example/[redacted]");
        assert_eq!(
            redacted("https://discord.example/api/webhooks/1/SECRET"),
            "https://discord.example/[redacted]"
        );
        assert_eq!(redacted("http://user:pw@h.example:8080"), "http://h.example:8080/[redacted]");
    }
}
