//! JSON-RPC 2.0 over HTTP to one TOS daemon (protocol.md §3.1).

use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Why a node call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NodeError {
    #[error("node {url} unreachable: {reason}")]
    Transport { url: String, reason: String },
    #[error("node {url} answered something that is not JSON-RPC: {reason}")]
    Protocol { url: String, reason: String },
    #[error("node {url} refused {method}: {message} (code {code})")]
    Rpc { url: String, method: String, code: i64, message: String },
}

impl NodeError {
    /// "Block is already in chain": a retried submission that had in fact succeeded.
    pub fn is_already_in_chain(&self) -> bool {
        matches!(self, NodeError::Rpc { message, .. } if message.contains("already in chain"))
    }
}

/// One daemon.
pub struct NodeClient {
    pub url: String,
    http: reqwest::Client,
    next_id: AtomicU64,
}

impl NodeClient {
    /// `base` like `http://127.0.0.1:8080` (the `/json_rpc` path is added) or a full `/json_rpc` URL.
    pub fn new(base: &str, timeout: Duration) -> Self {
        let url = if base.ends_with("/json_rpc") {
            base.to_owned()
        } else {
            format!("{}/json_rpc", base.trim_end_matches('/'))
        };
        let http = reqwest::Client::builder().timeout(timeout).build().expect("HTTP client builds");
        NodeClient { url, http, next_id: AtomicU64::new(1) }
    }

    /// Calls `method`; `params` of `None` are omitted (the node rejects `{}` for no-param methods).
    pub async fn call(&self, method: &str, params: Option<Value>) -> Result<Value, NodeError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut body = json!({ "jsonrpc": "2.0", "id": id, "method": method });
        if let Some(p) = params {
            body["params"] = p;
        }
        let transport =
            |e: reqwest::Error| NodeError::Transport { url: self.url.clone(), reason: e.to_string() };
        let resp = self.http.post(&self.url).json(&body).send().await.map_err(transport)?;
        let v: Value = resp
            .json()
            .await
            .map_err(|e| NodeError::Protocol { url: self.url.clone(), reason: e.to_string() })?;
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            return Err(NodeError::Rpc {
                url: self.url.clone(),
                method: method.to_owned(),
                code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: err.get("message").and_then(Value::as_str).unwrap_or("").to_owned(),
            });
        }
        v.get("result")
            .cloned()
            .ok_or_else(|| NodeError::Protocol { url: self.url.clone(), reason: "no result".into() })
    }

    pub async fn get_info(&self) -> Result<Value, NodeError> {
        self.call("get_info", None).await
    }

    pub async fn get_block_template(&self, address: &str) -> Result<Value, NodeError> {
        self.call("get_block_template", Some(json!({ "address": address }))).await
    }

    /// `submit_block` with the original template and the solved 112-byte header.
    pub async fn submit_block(&self, template_hex: &str, miner_work_hex: &str) -> Result<Value, NodeError> {
        self.call(
            "submit_block",
            Some(json!({ "block_template": template_hex, "miner_work": miner_work_hex })),
        )
        .await
    }
}
