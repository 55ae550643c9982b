//! JSON-RPC 2.0 over HTTP(S) to one TOS daemon (protocol.md §3.1), returning typed values.

use super::types::{BlockInfo, BlockTemplateReply, NodeInfo, TransactionExecutor, TransactionInfo};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;
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
    #[error("node {url} cannot serve this pool: {reason}")]
    Unusable { url: String, reason: String },
}

impl NodeError {
    /// "Block is already in chain": a retried submission that had in fact succeeded.
    pub fn is_already_in_chain(&self) -> bool {
        matches!(self, NodeError::Rpc { message, .. } if message.contains("already in chain"))
    }

    /// The node answered that it does not know what was asked for ("… not found").
    pub fn is_not_found(&self) -> bool {
        matches!(self, NodeError::Rpc { message, .. } if message.to_ascii_lowercase().contains("not found"))
    }

    /// The node answered and said no (as opposed to not answering).
    pub fn is_refusal(&self) -> bool {
        matches!(self, NodeError::Rpc { .. } | NodeError::Unusable { .. })
    }
}

/// TLS for `https://` nodes (and `wss://` pushes): the system's roots, plus an operator's CA.
pub fn tls_config(extra_ca: Option<&std::path::Path>) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    use anyhow::Context as _;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?;
    let verifier = match extra_ca {
        None => rustls_platform_verifier::Verifier::new(provider),
        Some(path) => {
            let roots = CertificateDer::pem_file_iter(path)
                .with_context(|| format!("cannot read the node CA file {}", path.display()))?
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("{} is not a PEM certificate file", path.display()))?;
            rustls_platform_verifier::Verifier::new_with_extra_roots(roots, provider)
        }
    }
    .context("the system's TLS certificate verifier")?;
    Ok(Arc::new(
        builder.dangerous().with_custom_certificate_verifier(Arc::new(verifier)).with_no_client_auth(),
    ))
}

/// An HTTP(S) client with `tls` for `https://` (nodes, the wallet).
pub fn http_client(timeout: Duration, tls: Arc<rustls::ClientConfig>) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .tls_backend_preconfigured((*tls).clone())
        .build()
        .expect("HTTP client builds")
}

/// One daemon.
pub struct NodeClient {
    pub url: String,
    http: reqwest::Client,
    next_id: AtomicU64,
}

impl NodeClient {
    /// `base` like `http://127.0.0.1:8080` (the `/json_rpc` path is added) or a full `/json_rpc`
    /// URL; `https://` uses `tls`.
    pub fn new(base: &str, timeout: Duration, tls: Arc<rustls::ClientConfig>) -> Self {
        let url = if base.ends_with("/json_rpc") {
            base.to_owned()
        } else {
            format!("{}/json_rpc", base.trim_end_matches('/'))
        };
        NodeClient { url, http: http_client(timeout, tls), next_id: AtomicU64::new(1) }
    }

    /// Calls `method`; `params` of `None` are omitted (the node rejects `{}` for no-param methods).
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Option<Value>,
    ) -> Result<T, NodeError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut body = json!({ "jsonrpc": "2.0", "id": id, "method": method });
        if let Some(p) = params {
            body["params"] = p;
        }
        let transport =
            |e: reqwest::Error| NodeError::Transport { url: self.url.clone(), reason: error_chain(&e) };
        let protocol = |reason: String| NodeError::Protocol { url: self.url.clone(), reason };
        let resp = self.http.post(&self.url).json(&body).send().await.map_err(transport)?;
        let mut v: Value = resp.json().await.map_err(|e| protocol(e.to_string()))?;
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            return Err(NodeError::Rpc {
                url: self.url.clone(),
                method: method.to_owned(),
                code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: err.get("message").and_then(Value::as_str).unwrap_or("").to_owned(),
            });
        }
        let result = v.get_mut("result").map(Value::take).ok_or_else(|| protocol("no result".into()))?;
        serde_json::from_value(result).map_err(|e| protocol(format!("{method}: {e}")))
    }

    pub async fn get_info(&self) -> Result<NodeInfo, NodeError> {
        self.call("get_info", None).await
    }

    pub async fn get_block_template(&self, address: &str) -> Result<BlockTemplateReply, NodeError> {
        self.call("get_block_template", Some(json!({ "address": address }))).await
    }

    /// `submit_block` with the original template and the solved 112-byte header.
    pub async fn submit_block(&self, template_hex: &str, miner_work_hex: &str) -> Result<(), NodeError> {
        let _: Value = self
            .call(
                "submit_block",
                Some(json!({ "block_template": template_hex, "miner_work": miner_work_hex })),
            )
            .await?;
        Ok(())
    }

    pub async fn get_block_by_hash(&self, hash: &str) -> Result<BlockInfo, NodeError> {
        self.call("get_block_by_hash", Some(json!({ "hash": hash, "include_txs": true }))).await
    }

    /// `submit_transaction {data}`: the signed transaction's hex, as the wallet built it.
    pub async fn submit_transaction(&self, tx_hex: &str) -> Result<(), NodeError> {
        let _: Value = self.call("submit_transaction", Some(json!({ "data": tx_hex }))).await?;
        Ok(())
    }

    /// `get_transaction {hash}`; `Ok(None)` when the node does not know the hash at all.
    pub async fn get_transaction(&self, hash: &str) -> Result<Option<TransactionInfo>, NodeError> {
        match self.call("get_transaction", Some(json!({ "hash": hash }))).await {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `get_transaction_executor {hash}`: the executing block's topoheight, timestamp and hash.
    pub async fn get_transaction_executor(&self, hash: &str) -> Result<TransactionExecutor, NodeError> {
        self.call("get_transaction_executor", Some(json!({ "hash": hash }))).await
    }
}

/// An error with its causes ("error sending request: connection refused"), for operators.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}
