//! Webhooks (issue 9): events POSTed as JSON to a local receiver that fails the first attempts —
//! delivered once it answers, after backoff; events not configured are not sent; a dead endpoint
//! fills a bounded queue and the rest is dropped, never blocking the publisher.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::Value;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tos_pool::config::WebhookSection;
use tos_pool::events::{EventBus, PoolEvent};
use tos_pool::webhooks::{self, Backoff, QUEUE};

#[derive(Default)]
struct Receiver {
    /// Attempts to refuse (500) before accepting.
    fail_first: AtomicU32,
    attempts: AtomicU32,
    accepted: Mutex<Vec<(Instant, Value)>>,
}

async fn receive(State(r): State<Arc<Receiver>>, Json(body): Json<Value>) -> StatusCode {
    r.attempts.fetch_add(1, Ordering::SeqCst);
    if r.fail_first.load(Ordering::SeqCst) > 0 {
        r.fail_first.fetch_sub(1, Ordering::SeqCst);
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    r.accepted.lock().unwrap().push((Instant::now(), body));
    StatusCode::NO_CONTENT
}

async fn receiver(fail_first: u32) -> (Arc<Receiver>, String) {
    let r = Arc::new(Receiver { fail_first: AtomicU32::new(fail_first), ..Receiver::default() });
    let app = axum::Router::new().route("/hook", post(receive)).with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook?token=x", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (r, url)
}

fn hook(url: &str, events: &[&str], max_attempts: u32) -> WebhookSection {
    WebhookSection {
        url: url.into(),
        events: events.iter().map(|e| e.to_string()).collect(),
        timeout_ms: 2_000,
        max_attempts,
    }
}

fn start(
    bus: &EventBus,
    hooks: &[WebhookSection],
    backoff: Backoff,
) -> (CancellationToken, Vec<Arc<webhooks::WebhookStats>>) {
    let stop = CancellationToken::new();
    let tls = tos_pool::node::client::tls_config(None).unwrap();
    let (tasks, stats) = webhooks::tasks(bus, hooks, backoff, tls, stop.clone());
    for t in tasks {
        tokio::spawn(t);
    }
    (stop, stats)
}

async fn eventually(within: Duration, cond: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_is_retried_with_backoff_until_the_receiver_takes_it() {
    let (r, url) = receiver(3).await;
    let bus = EventBus::default();
    let backoff = Backoff { first: Duration::from_millis(100), max: Duration::from_secs(1) };
    let (stop, stats) = start(&bus, &[hook(&url, &["block_found", "node_down"], 6)], backoff);
    tokio::time::sleep(Duration::from_millis(50)).await; // the forwarder is subscribed
    let started = Instant::now();
    bus.publish(PoolEvent::BlockOrphaned { hash: "aa".into(), height: 1 }); // not configured
    bus.publish(PoolEvent::BlockFound {
        hash: "ab".into(),
        height: 7,
        finder: "tst1x".into(),
        worker: "rig".into(),
    });
    assert!(eventually(Duration::from_secs(10), || !r.accepted.lock().unwrap().is_empty()).await);
    let (at, body) = r.accepted.lock().unwrap()[0].clone();
    assert_eq!(body["event"], "block_found");
    assert_eq!((body["hash"].as_str(), body["height"].as_u64()), (Some("ab"), Some(7)));
    assert!(body["sent_ms"].as_u64().is_some());
    assert_eq!(r.attempts.load(Ordering::SeqCst), 4, "three refusals, then taken");
    // 100 + 200 + 400 ms of backoff.
    assert!(at - started >= Duration::from_millis(700), "{:?}", at - started);
    let s = &stats[0];
    assert_eq!((s.delivered.load(Ordering::SeqCst), s.failed_attempts.load(Ordering::SeqCst)), (1, 3));
    bus.publish(PoolEvent::NodeDown { url: "http://n".into(), reason: "gone".into() });
    assert!(eventually(Duration::from_secs(5), || r.accepted.lock().unwrap().len() == 2).await);
    assert_eq!(r.accepted.lock().unwrap()[1].1["event"], "node_down");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(r.accepted.lock().unwrap().len(), 2, "the orphan event was never sent");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_endpoint_fills_a_bounded_queue_and_the_publisher_never_waits() {
    // Nothing listens on this port: every attempt fails, slowly backing off.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", l.local_addr().unwrap())
    };
    let bus = EventBus::default();
    let backoff = Backoff { first: Duration::from_secs(5), max: Duration::from_secs(5) };
    let (stop, stats) = start(&bus, &[hook(&dead, &["node_up"], 3)], backoff);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let n = QUEUE + 300;
    let started = Instant::now();
    for i in 0..n {
        bus.publish(PoolEvent::NodeUp { url: format!("http://n{i}") });
        if i % 200 == 0 {
            tokio::task::yield_now().await; // let the forwarder keep up with the bus
        }
    }
    assert!(started.elapsed() < Duration::from_millis(500), "publishing never waits");
    let s = stats[0].clone();
    assert!(eventually(Duration::from_secs(5), || s.dropped.load(Ordering::SeqCst) > 0).await);
    // One in the sender's hands, QUEUE queued, the rest dropped.
    let dropped = s.dropped.load(Ordering::SeqCst) as usize;
    assert!(dropped >= n - QUEUE - 1 && dropped < n, "dropped {dropped} of {n}");
    stop.cancel();
}

#[test]
fn webhook_configuration_is_checked_against_the_event_names() {
    let mut cfg = tos_pool::devnet::devnet_config(
        "127.0.0.1:0".parse().unwrap(),
        "127.0.0.1:1".parse().unwrap(),
        "cpu",
    );
    cfg.webhooks = vec![hook("http://h/x", &["block_found", "block_exploded"], 3)];
    let e = format!("{:#}", cfg.clone().check().unwrap_err());
    assert!(e.contains("block_exploded") && e.contains("node_down"), "{e}");
    cfg.webhooks = vec![hook("ftp://h/x", &["block_found"], 3)];
    assert!(cfg.clone().check().is_err());
    cfg.webhooks = vec![hook("http://h/x", &[], 3)];
    assert!(cfg.clone().check().is_err());
    cfg.webhooks = vec![hook("https://h/x", &tos_pool::events::EVENT_NAMES, 3)];
    cfg.check().unwrap();
}
