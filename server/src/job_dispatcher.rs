//! The job dispatcher task: fetches templates and publishes a new job whenever the work changes (new
//! tips or transactions) — clean when the height changes — and at least every `refresh` even when
//! nothing moves (tosminer reconnects after 60 s without a job).
//!
//! Fetches happen when a node pushes `new_block_template` over its WebSocket (protocol.md §3.4 —
//! used as a trigger only: the event's template is built for the node's DEV key), and on a polling
//! timer that keeps working when no WebSocket is available.

use crate::node::Upstreams;
use pool_core::Difficulty;
use pool_core::jobs::{Job, JobStore, Template};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// Shared view of the jobs: the store (for share lookups) and a channel announcing the newest.
#[derive(Clone)]
pub struct Jobs {
    pub store: Arc<Mutex<JobStore>>,
    pub latest: watch::Receiver<Option<Arc<Job>>>,
    /// Poke after a block is found: fetch a new template at once.
    pub refresh_now: Arc<Notify>,
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn parse_template(v: &Value) -> Result<Template, String> {
    let hex = v.get("template").and_then(Value::as_str).ok_or("no template in get_block_template")?;
    let diff = v.get("difficulty").and_then(Value::as_str).ok_or("no difficulty in get_block_template")?;
    let difficulty =
        Difficulty::from_dec_str(diff).map_err(|e| format!("bad network difficulty {diff:?}: {e}"))?;
    Template::new(hex.to_owned(), difficulty).map_err(|e| format!("bad template: {e}"))
}

/// Keeps a `new_block_template` WebSocket subscription to `http_url`'s node open, poking `wake` on
/// every event; reconnects with backoff. Polling covers the gaps.
fn spawn_push(http_url: String, wake: Arc<Notify>) {
    let ws_url = http_url.replacen("http://", "ws://", 1).replacen("https://", "wss://", 1);
    tokio::spawn(async move {
        use futures::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        let mut backoff = Duration::from_secs(1);
        loop {
            match tokio_tungstenite::connect_async(ws_url.as_str()).await {
                Ok((mut ws, _)) => {
                    let sub = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": {"notify": "new_block_template"}});
                    if ws.send(Message::Text(sub.to_string().into())).await.is_ok() {
                        tracing::info!(node = %ws_url, "subscribed to new_block_template");
                        backoff = Duration::from_secs(1);
                        while let Some(Ok(msg)) = ws.next().await {
                            if let Message::Text(t) = msg
                                && t.contains("\"new_block_template\"")
                            {
                                wake.notify_one();
                            }
                        }
                    }
                    tracing::debug!(node = %ws_url, "WebSocket closed; polling continues");
                }
                Err(e) => tracing::debug!(node = %ws_url, error = %e, "no WebSocket; polling continues"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    });
}

/// Starts the dispatcher; returns the shared view.
pub fn spawn(
    upstreams: Upstreams,
    pool_address: String,
    epoch_ms: u64,
    poll: Duration,
    refresh: Duration,
) -> Jobs {
    let store = Arc::new(Mutex::new(JobStore::new(epoch_ms, 8, 2_000)));
    let (tx, rx) = watch::channel(None);
    let refresh_now = Arc::new(Notify::new());
    let jobs = Jobs { store: store.clone(), latest: rx, refresh_now: refresh_now.clone() };
    for url in upstreams.urls() {
        spawn_push(url.trim_end_matches("/json_rpc").to_owned() + "/json_rpc", refresh_now.clone());
    }
    tokio::spawn(async move {
        let mut last: Option<Arc<Template>> = None;
        let mut last_sent = 0u64;
        let mut warned = false;
        loop {
            match upstreams.block_template(&pool_address).await {
                Ok(v) => match parse_template(&v) {
                    Ok(t) => {
                        warned = false;
                        let now = now_ms();
                        let changed = last
                            .as_ref()
                            .is_none_or(|l| !l.same_work(&t) || l.network_difficulty != t.network_difficulty);
                        if changed || now.saturating_sub(last_sent) >= refresh.as_millis() as u64 {
                            let t = Arc::new(t);
                            let job = store.lock().unwrap_or_else(|e| e.into_inner()).push(t.clone(), now);
                            tracing::debug!(job = %job.id, height = t.height, clean = job.clean, "new job");
                            last = Some(t);
                            last_sent = now;
                            let _ = tx.send(Some(job));
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "the node sent an unusable template"),
                },
                Err(e) if !warned => {
                    warned = true;
                    tracing::error!(error = %e, "no node answers get_block_template; miners keep their last job; retrying");
                }
                Err(_) => {}
            }
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = refresh_now.notified() => {}
            }
        }
    });
    jobs
}
