//! Hostile input must not write the log (issue 7j): one connection flooding bad logins wrote
//! 60 MB/s of INFO lines with 1 KiB of its text each. Its own process: a global subscriber counts
//! every byte the pool logs at INFO and above while 100 connections flood bad logins.

mod support;

use serde_json::json;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use support::*;
use tos_pool::devnet::node::DevnetNode;

#[derive(Clone, Default)]
struct Counter(Arc<AtomicUsize>);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.fetch_add(buf.len(), Ordering::Relaxed);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_bad_logins_writes_a_few_summary_lines_not_one_each() {
    let counter = Counter::default();
    let writer = counter.clone();
    tracing_subscriber::fmt().with_max_level(tracing::Level::INFO).with_writer(move || writer.clone()).init();
    let node = Node::start(DevnetNode::new()).await;
    let (pool, _) = pool(config(&[node.url()], "1")).await;
    let before = counter.0.load(Ordering::Relaxed);
    let junk = format!("tos1{}", "x".repeat(900));
    let mut sent = 0;
    for c in 0..100u32 {
        let peer = std::net::SocketAddr::from(([198, 51, (c / 250) as u8, (c % 250) as u8 + 1], 4000));
        let mut m = Client::connect_from(&pool, peer);
        m.call(1, "mining.subscribe", json!([])).await;
        for id in 0..10u64 {
            if !m.send(json!({"id": 10 + id, "method": "mining.authorize", "params": [junk, "x"]})).await {
                break;
            }
            sent += 1;
            if m.line().await.is_none() {
                break;
            }
        }
    }
    // The summary of the interval, as the 30-s timer would write it.
    pool.ctx.events.flush(std::time::Duration::from_secs(30));
    let logged = counter.0.load(Ordering::Relaxed) - before;
    assert!(sent >= 600, "the flood was sent ({sent} attempts)");
    assert!(logged < 8_192, "{sent} bad logins with 900 bytes each wrote {logged} bytes of log");
}
