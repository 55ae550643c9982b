//! `/api/v1/ws`: the live feed. A client sends `{"subscribe": ["blocks", "payments", "stats",
//! "pool", "miner:<address>"]}` (and `{"unsubscribe": [...]}`); the server answers
//! `{"subscribed": [...]}` and pushes `{"topic": "...", "data": {...}}`: bus events as they happen
//! (`data.event` names them) and the pool statistics every few seconds (and at once on subscribing).
//!
//! Each connection has a bounded queue to its socket writer. When it is full — the client does not
//! read fast enough — or the connection fell behind the event bus, the connection is closed: a slow
//! consumer is dropped, never buffered without bound. Connections are capped pool-wide.

use super::HttpState;
use super::error::ApiError;
use crate::events::PoolEvent;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt as _, StreamExt as _};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, mpsc};
use tokio_util::sync::CancellationToken;

/// Messages queued per connection before it is a slow consumer.
pub const DEFAULT_QUEUE: usize = 256;
/// Topics one connection may hold.
pub const MAX_TOPICS: usize = 16;
/// Largest client message (subscriptions are short).
const MAX_CLIENT_MESSAGE: usize = 4096;
/// Connections one client (IPv4 address, IPv6 /64) may hold: one client cannot take every slot.
pub const MAX_PER_CLIENT: usize = 16;
/// A write the client does not take within this long closes the connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// The WebSocket side of the server: the connection cap and counters.
pub struct WsHub {
    permits: Arc<Semaphore>,
    max: usize,
    per_client: Arc<Mutex<HashMap<IpAddr, usize>>>,
    queue: usize,
    stop: CancellationToken,
    /// Connections closed for not reading fast enough.
    pub dropped_slow: AtomicU64,
    pub accepted: AtomicU64,
}

impl WsHub {
    pub fn new(max: usize, queue: usize, stop: CancellationToken) -> Self {
        WsHub {
            permits: Arc::new(Semaphore::new(max)),
            max,
            per_client: Arc::default(),
            queue: queue.max(1),
            stop,
            dropped_slow: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
        }
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.max - self.permits.available_permits()
    }
}

/// The topics an event is pushed to.
pub fn topics_of(e: &PoolEvent) -> Vec<String> {
    let base = match e {
        PoolEvent::BlockFound { .. }
        | PoolEvent::BlockRefused { .. }
        | PoolEvent::BlockMatured { .. }
        | PoolEvent::BlockOrphaned { .. } => "blocks",
        PoolEvent::PaymentSent { .. }
        | PoolEvent::PaymentConfirmed { .. }
        | PoolEvent::PaymentFailed { .. } => "payments",
        PoolEvent::GpuOutOfService { .. } | PoolEvent::VerifierSwitched { .. } => "pool",
        // Node URLs are the operator's internal addresses: webhooks and the admin API only.
        PoolEvent::NodeDown { .. } | PoolEvent::NodeUp { .. } => return Vec::new(),
    };
    let mut t = vec![base.to_owned()];
    if let Some(m) = e.miner() {
        t.push(format!("miner:{m}"));
    }
    t
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientMessage {
    #[serde(default)]
    subscribe: Vec<String>,
    #[serde(default)]
    unsubscribe: Vec<String>,
}

/// The topic as events are matched against it (a miner's address in its canonical spelling).
fn check_topic(t: &str, network: pool_core::Network) -> Result<String, String> {
    match t {
        "blocks" | "payments" | "stats" | "pool" => Ok(t.to_owned()),
        _ => match t.strip_prefix("miner:") {
            Some(a) if let Ok(addr) = pool_core::Address::parse_normal(a, network) => {
                Ok(format!("miner:{addr}"))
            }
            Some(_) => Err("miner:<address>: not an address of this pool's network".into()),
            None => Err("unknown topic: use blocks, payments, stats, pool or miner:<address>".into()),
        },
    }
}

/// Applies a client message; the answer to send.
fn handle(text: &str, topics: &mut BTreeSet<String>, network: pool_core::Network) -> (Value, bool) {
    let msg: ClientMessage = match serde_json::from_str(text) {
        Ok(m) => m,
        Err(_) => {
            return (
                json!({"error": "send {\"subscribe\": [topics]} or {\"unsubscribe\": [topics]}"}),
                false,
            );
        }
    };
    let mut subscribe = Vec::with_capacity(msg.subscribe.len());
    for t in &msg.subscribe {
        match check_topic(t, network) {
            Ok(canonical) => subscribe.push(canonical),
            Err(e) => return (json!({"error": e, "topic": t.chars().take(128).collect::<String>()}), false),
        }
    }
    let before = topics.contains("stats");
    for t in msg.unsubscribe {
        let t = check_topic(&t, network).unwrap_or(t);
        topics.remove(&t);
    }
    for t in subscribe {
        if topics.len() >= MAX_TOPICS && !topics.contains(&t) {
            return (json!({"error": format!("at most {MAX_TOPICS} topics per connection")}), false);
        }
        topics.insert(t);
    }
    let stats_new = !before && topics.contains("stats");
    (json!({"subscribed": topics}), stats_new)
}

/// One client's share of the connections, given back when the connection ends.
struct ClientSlot {
    table: Arc<Mutex<HashMap<IpAddr, usize>>>,
    key: IpAddr,
}

impl ClientSlot {
    fn take(table: &Arc<Mutex<HashMap<IpAddr, usize>>>, ip: IpAddr) -> Option<ClientSlot> {
        let key = super::rate_limit::key(ip);
        let mut t = table.lock().unwrap_or_else(|e| e.into_inner());
        let n = t.entry(key).or_default();
        if *n >= MAX_PER_CLIENT {
            return None;
        }
        *n += 1;
        Some(ClientSlot { table: table.clone(), key })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = t.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                t.remove(&self.key);
            }
        }
    }
}

/// `GET /api/v1/ws`.
pub async fn upgrade(
    State(state): State<Arc<HttpState>>,
    extensions: axum::http::Extensions,
    ws: WebSocketUpgrade,
) -> Response {
    let slot = match extensions.get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(addr)) => match ClientSlot::take(&state.ws.per_client, addr.ip()) {
            Some(slot) => Some(slot),
            None => {
                return ApiError::RateLimited { retry_after_secs: 60 }.into_response();
            }
        },
        None => None,
    };
    let Ok(permit) = state.ws.permits.clone().try_acquire_owned() else {
        return ApiError::Unavailable("too many WebSocket connections; try again later".into())
            .into_response();
    };
    ws.max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| serve(socket, state, (permit, slot)))
}

fn stats_message(state: &HttpState) -> Value {
    json!({"topic": "stats", "data": super::api::pool_stats_body(state)})
}

async fn serve(socket: WebSocket, state: Arc<HttpState>, _held: (OwnedSemaphorePermit, Option<ClientSlot>)) {
    state.ws.accepted.fetch_add(1, Ordering::Relaxed);
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::channel::<Message>(state.ws.queue);
    let writer = tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            let closing = matches!(m, Message::Close(_));
            match tokio::time::timeout(WRITE_TIMEOUT, sink.send(m)).await {
                Ok(Ok(())) if !closing => {}
                _ => break,
            }
        }
    });
    let mut topics = BTreeSet::new();
    let mut events = state.view.bus.subscribe();
    let mut stats = state.snapshot.clone();
    stats.mark_unchanged();
    let network = state.info.network;
    let push = |v: Value| tx.try_send(Message::Text(v.to_string().into()));
    let slow = loop {
        let sent = tokio::select! {
            _ = state.ws.stop.cancelled() => {
                let _ = tx.try_send(Message::Close(None));
                break false;
            }
            m = stream.next() => match m {
                Some(Ok(Message::Text(t))) => {
                    let (answer, stats_new) = handle(t.as_str(), &mut topics, network);
                    let r = push(answer);
                    if stats_new && r.is_ok() { push(stats_message(&state)) } else { r }
                }
                Some(Ok(Message::Binary(_))) => push(json!({"error": "send JSON text messages"})),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break false,
                Some(Ok(_)) => Ok(()),
            },
            e = events.recv() => match e {
                Ok(event) => {
                    let mut r = Ok(());
                    for t in topics_of(&event).into_iter().filter(|t| topics.contains(t)) {
                        r = push(json!({"topic": t, "data": &event}));
                        if r.is_err() { break; }
                    }
                    r
                }
                // Fell behind the bus: as slow as a full queue.
                Err(broadcast::error::RecvError::Lagged(_)) => break true,
                Err(broadcast::error::RecvError::Closed) => break false,
            },
            c = stats.changed() => match c {
                Ok(()) if topics.contains("stats") => push(stats_message(&state)),
                Ok(()) => Ok(()),
                Err(_) => break false,
            },
        };
        match sent {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => break true,
            Err(mpsc::error::TrySendError::Closed(_)) => break false,
        }
    };
    if slow {
        state.ws.dropped_slow.fetch_add(1, Ordering::Relaxed);
        tracing::debug!("a WebSocket client did not keep up: connection closed");
        // Closed at once: the queue is not drained to a client that does not read.
        writer.abort();
    } else {
        drop(tx);
        let _ = tokio::time::timeout(WRITE_TIMEOUT, writer).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_client_holds_at_most_its_share_and_gets_it_back() {
        let table = Arc::default();
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let slots: Vec<_> = (0..MAX_PER_CLIENT).map(|_| ClientSlot::take(&table, a).unwrap()).collect();
        assert!(ClientSlot::take(&table, "2001:db8::2".parse().unwrap()).is_none(), "the same /64");
        assert!(ClientSlot::take(&table, "192.0.2.1".parse().unwrap()).is_some(), "another client");
        drop(slots);
        let again = ClientSlot::take(&table, a);
        assert!(again.is_some());
        assert_eq!(table.lock().unwrap().len(), 1, "freed entries are removed");
    }
    use pool_core::Network;

    #[test]
    fn subscriptions_are_checked_and_capped() {
        let mut t = BTreeSet::new();
        let (a, stats) = handle(r#"{"subscribe": ["blocks", "stats"]}"#, &mut t, Network::Devnet);
        assert_eq!(a["subscribed"], json!(["blocks", "stats"]));
        assert!(stats);
        let (a, _) = handle(r#"{"subscribe": ["../etc"]}"#, &mut t, Network::Devnet);
        assert!(a["error"].is_string());
        let (a, _) = handle(r#"{"subscribe": ["miner:tos1nope"]}"#, &mut t, Network::Devnet);
        assert!(a["error"].is_string());
        let (a, _) = handle(r#"{"unsubscribe": ["stats"]}"#, &mut t, Network::Devnet);
        assert_eq!(a["subscribed"], json!(["blocks"]));
        let (a, _) = handle("not json", &mut t, Network::Devnet);
        assert!(a["error"].is_string());
    }

    #[test]
    fn events_go_to_their_topics() {
        let e =
            PoolEvent::BlockFound { hash: "h".into(), height: 1, finder: "tst1x".into(), worker: "w".into() };
        assert_eq!(topics_of(&e), vec!["blocks".to_owned(), "miner:tst1x".to_owned()]);
        assert_eq!(
            topics_of(&PoolEvent::PaymentConfirmed { tx_hash: "t".into() }),
            vec!["payments".to_owned()]
        );
    }
}
