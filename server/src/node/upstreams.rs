//! Several upstream nodes: health from the calls that matter, the template source, block broadcast.
//!
//! * A node's health comes from the calls that matter: every `get_block_template` (any error is a
//!   failure: a node that cannot give templates is no use) and `submit_block` (unreachable is a
//!   failure; a refused block is not), and the periodic check, which is `get_info` **and**
//!   `get_block_template`. Three failures in a row mark it unhealthy, one success heals it.
//! * Of the healthy nodes, the one with the **highest topoheight** serves templates (ties: the
//!   configured order); unhealthy nodes are tried last, so a recovered node is noticed.
//! * A node is used only once `get_info` has shown it is on `pool.network`. A node on another
//!   network, or whose templates carry another miner key than the pool address's, is **refused**
//!   (never used) with an error naming both; the health check looks again, so a fixed node comes
//!   back.
//! * Blocks go to every usable node at once ([`Upstreams::submit_block`]); the block-submission
//!   task (`block_submitter`) retries.

use super::client::{NodeClient, NodeError};
use super::types::{BlockTemplateReply, NodeInfo};
use pool_core::address::{Address, Network};
use pool_core::jobs::Template;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Failures in a row that mark a node unhealthy.
const UNHEALTHY_AFTER: u32 = 3;

#[derive(Debug, Default, Clone)]
struct NodeState {
    healthy: bool,
    failures: u32,
    topoheight: u64,
    /// `get_info` has shown the node is on the pool's network.
    network_checked: bool,
    /// Why the node cannot serve this pool (wrong network or miner key), if it cannot.
    refused: Option<String>,
}

pub struct Upstream {
    pub client: NodeClient,
    state: Mutex<NodeState>,
}

/// A node's state, for status lines and the API.
#[derive(Clone, Debug)]
pub struct UpstreamStatus {
    pub url: String,
    pub healthy: bool,
    pub topoheight: u64,
    pub refused: Option<String>,
}

impl Upstream {
    fn state(&self) -> std::sync::MutexGuard<'_, NodeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_healthy(&self) -> bool {
        let s = self.state();
        s.healthy && s.refused.is_none()
    }

    fn usable(&self) -> bool {
        self.state().refused.is_none()
    }

    fn record(&self, ok: bool) {
        let mut s = self.state();
        if ok {
            s.failures = 0;
            if !s.healthy {
                s.healthy = true;
                tracing::info!(node = %self.client.url, "node is healthy");
            }
        } else {
            s.failures += 1;
            if s.failures >= UNHEALTHY_AFTER && s.healthy {
                s.healthy = false;
                tracing::warn!(node = %self.client.url, "node marked unhealthy after {UNHEALTHY_AFTER} failed calls");
            }
        }
    }

    /// Records a block submission: a refusal by a node that answered is not a health failure.
    fn record_submission<T>(&self, r: &Result<T, NodeError>) {
        self.record(r.as_ref().map_or_else(|e| e.is_refusal(), |_| true));
    }

    fn refuse(&self, reason: String) {
        let mut s = self.state();
        if s.refused.as_deref() != Some(&reason) {
            tracing::error!(node = %self.client.url, %reason, "node refused: it cannot serve this pool");
        }
        s.refused = Some(reason);
    }

    fn accept(&self) {
        let mut s = self.state();
        if s.refused.take().is_some() {
            tracing::info!(node = %self.client.url, "node is usable again");
        }
    }
}

/// The configured nodes, in order of preference.
#[derive(Clone)]
pub struct Upstreams {
    nodes: Arc<Vec<Upstream>>,
    pool_address: Arc<Address>,
    network: Network,
}

/// One node's answer to a block submission.
#[derive(Debug)]
pub struct NodeVerdict {
    pub url: String,
    pub result: Result<(), NodeError>,
}

impl Upstreams {
    pub fn new(
        urls: &[String],
        timeout: Duration,
        tls: Arc<rustls::ClientConfig>,
        pool_address: Address,
        network: Network,
    ) -> Self {
        let nodes = urls
            .iter()
            .map(|u| Upstream {
                client: NodeClient::new(u, timeout, tls.clone()),
                state: Mutex::new(NodeState { healthy: true, ..NodeState::default() }),
            })
            .collect();
        Upstreams { nodes: Arc::new(nodes), pool_address: Arc::new(pool_address), network }
    }

    /// The nodes' JSON-RPC URLs.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.client.url.clone()).collect()
    }

    pub fn status(&self) -> Vec<UpstreamStatus> {
        self.nodes
            .iter()
            .map(|n| {
                let s = n.state();
                UpstreamStatus {
                    url: n.client.url.clone(),
                    healthy: s.healthy,
                    topoheight: s.topoheight,
                    refused: s.refused.clone(),
                }
            })
            .collect()
    }

    /// Checks one node: `get_info` (reachable, on the pool's network), then a template (it can
    /// serve this pool), which is returned.
    pub async fn check(&self, node: &Upstream) -> Result<(NodeInfo, Template), NodeError> {
        let r = node.client.get_info().await;
        if r.is_err() {
            node.record(false);
        }
        let info = r?;
        node.state().topoheight = info.topoheight;
        match Network::from_node_name(&info.network) {
            Some(n) if n == self.network => node.state().network_checked = true,
            _ => {
                let reason = format!(
                    "it runs on network {:?} but pool.network is {:?}: point node.urls at a {:?} node or fix pool.network",
                    info.network, self.network, self.network
                );
                node.refuse(reason.clone());
                return Err(NodeError::Unusable { url: node.client.url.clone(), reason });
            }
        }
        // Right network; the call that matters decides the health (and re-checks the miner key).
        let (t, _) = self.template_from(node).await?;
        Ok((info, t))
    }

    /// Runs [`check`](Self::check) on every node every `every`, until `stop`.
    pub async fn health_loop(self, every: Duration, stop: tokio_util::sync::CancellationToken) {
        loop {
            for node in self.nodes.iter() {
                if let Err(e) = self.check(node).await {
                    tracing::debug!(error = %e, "health check failed");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.cancelled() => return,
            }
        }
    }

    async fn template_from(&self, node: &Upstream) -> Result<(Template, u64), NodeError> {
        let r = node.client.get_block_template(&self.pool_address.to_string()).await;
        node.record(r.is_ok());
        let BlockTemplateReply { template, topoheight, difficulty, .. } = r?;
        let url = || node.client.url.clone();
        let t = Template::new(template, difficulty)
            .map_err(|e| NodeError::Protocol { url: url(), reason: format!("unusable template: {e}") })?;
        if t.template.miner_key != self.pool_address.key {
            let reason = format!(
                "its templates pay miner key {} but pool.address {} has key {}: the node must build templates for the pool address",
                hex::encode(t.template.miner_key),
                self.pool_address,
                hex::encode(self.pool_address.key)
            );
            node.refuse(reason.clone());
            return Err(NodeError::Unusable { url: url(), reason });
        }
        node.accept();
        node.state().topoheight = topoheight;
        Ok((t, topoheight))
    }

    /// A template from the healthy node with the highest topoheight (then from the others).
    pub async fn block_template(&self) -> Result<Template, NodeError> {
        let mut order: Vec<&Upstream> = self.nodes.iter().filter(|n| n.usable()).collect();
        // Stable sort: healthy first, then by topoheight, highest first; ties keep config order.
        order.sort_by_key(|n| {
            let s = n.state();
            (!s.healthy, std::cmp::Reverse(s.topoheight))
        });
        let mut last = None;
        for node in order {
            let checked = node.state().network_checked;
            let r = if checked {
                self.template_from(node).await.map(|(t, _)| t)
            } else {
                self.check(node).await.map(|(_, t)| t)
            };
            match r {
                Ok(t) => return Ok(t),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| NodeError::Unusable {
            url: "-".into(),
            reason: "no usable node (every configured node is refused; see the log)".into(),
        }))
    }

    /// Submits a block to every usable node at once, one attempt each; "already in chain" counts
    /// as accepted.
    pub async fn submit_block(&self, template_hex: &str, miner_work_hex: &str) -> Vec<NodeVerdict> {
        let attempts = self.nodes.iter().filter(|n| n.usable()).map(|node| async move {
            let r = match node.client.submit_block(template_hex, miner_work_hex).await {
                Err(e) if e.is_already_in_chain() => Ok(()),
                r => r,
            };
            node.record_submission(&r);
            NodeVerdict { url: node.client.url.clone(), result: r }
        });
        futures::future::join_all(attempts).await
    }

    pub fn nodes(&self) -> &[Upstream] {
        &self.nodes
    }
}
