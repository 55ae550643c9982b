//! Several upstream nodes: health checks, template source with failover, block broadcast to all.

use super::client::{NodeClient, NodeError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

/// Failures in a row that mark a node unhealthy.
const UNHEALTHY_AFTER: u32 = 3;

pub struct Upstream {
    pub client: NodeClient,
    healthy: AtomicBool,
    failures: AtomicU32,
}

impl Upstream {
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    fn record(&self, ok: bool) {
        if ok {
            self.failures.store(0, Ordering::Relaxed);
            if !self.healthy.swap(true, Ordering::Relaxed) {
                tracing::info!(node = %self.client.url, "node is healthy again");
            }
        } else if self.failures.fetch_add(1, Ordering::Relaxed) + 1 >= UNHEALTHY_AFTER
            && self.healthy.swap(false, Ordering::Relaxed)
        {
            tracing::warn!(node = %self.client.url, "node marked unhealthy after {UNHEALTHY_AFTER} failures");
        }
    }
}

/// The configured nodes, in order of preference.
#[derive(Clone)]
pub struct Upstreams {
    nodes: Arc<Vec<Upstream>>,
}

/// The outcome of broadcasting a block.
#[derive(Debug)]
pub struct BlockBroadcast {
    /// Nodes that accepted (or already had) the block.
    pub accepted: Vec<String>,
    pub rejected: Vec<NodeError>,
}

impl Upstreams {
    pub fn new(urls: &[String], timeout: Duration) -> Self {
        let nodes = urls
            .iter()
            .map(|u| Upstream {
                client: NodeClient::new(u, timeout),
                healthy: AtomicBool::new(true),
                failures: AtomicU32::new(0),
            })
            .collect();
        Upstreams { nodes: Arc::new(nodes) }
    }

    /// The nodes' JSON-RPC URLs.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.client.url.clone()).collect()
    }

    /// Checks every node with `get_info` every `every`, so an unhealthy node that recovers is
    /// used again (and a dead one is noticed before a block needs it).
    pub fn spawn_health_checks(&self, every: Duration) {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                for node in this.nodes.iter() {
                    let ok = node.client.get_info().await.is_ok();
                    node.record(ok);
                }
                tokio::time::sleep(every).await;
            }
        });
    }

    /// `get_block_template` from the first healthy node that answers (then from unhealthy ones,
    /// so a recovered node is noticed).
    pub async fn block_template(&self, address: &str) -> Result<serde_json::Value, NodeError> {
        let mut last = None;
        let order =
            self.nodes.iter().filter(|n| n.is_healthy()).chain(self.nodes.iter().filter(|n| !n.is_healthy()));
        for node in order {
            match node.client.get_block_template(address).await {
                Ok(v) => {
                    node.record(true);
                    return Ok(v);
                }
                Err(e) => {
                    node.record(false);
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| NodeError::Transport {
            url: "-".into(),
            reason: "no nodes configured".into(),
        }))
    }

    /// Submits a block to every node at once, retrying each a few times; "already in chain" counts
    /// as accepted.
    pub async fn submit_block(&self, template_hex: &str, miner_work_hex: &str) -> BlockBroadcast {
        let attempts = self.nodes.iter().map(|node| async move {
            let mut last = None;
            for attempt in 0..3u64 {
                match node.client.submit_block(template_hex, miner_work_hex).await {
                    Ok(_) => return (node, Ok(())),
                    Err(e) if e.is_already_in_chain() => return (node, Ok(())),
                    Err(e @ NodeError::Rpc { .. }) => return (node, Err(e)),
                    Err(e) => last = Some(e),
                }
                tokio::time::sleep(Duration::from_millis(100 * (attempt + 1))).await;
            }
            (node, Err(last.expect("three failures")))
        });
        let mut out = BlockBroadcast { accepted: vec![], rejected: vec![] };
        for (node, r) in futures::future::join_all(attempts).await {
            node.record(!matches!(r, Err(NodeError::Transport { .. })));
            match r {
                Ok(()) => out.accepted.push(node.client.url.clone()),
                Err(e) => out.rejected.push(e),
            }
        }
        out
    }
}
