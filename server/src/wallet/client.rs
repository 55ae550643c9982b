//! JSON-RPC 2.0 over HTTP(S) to the TOS wallet (protocol.md §4), with HTTP Basic auth when
//! credentials are configured, returning typed values.

use super::credentials::Credentials;
use crate::node::client::error_chain;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The TOS asset id (64 zeros).
pub const TOS_ASSET: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Why a wallet call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WalletError {
    /// No answer (refused, timed out, cut): for `build_transaction` with `broadcast: false`
    /// nothing can have reached the network.
    #[error("wallet {url} unreachable: {reason}")]
    Transport { url: String, reason: String },
    #[error(
        "wallet {url} refused the credentials (HTTP 401): set wallet.credentials_env or wallet.credentials_file to the wallet's --rpc-username:--rpc-password"
    )]
    Unauthorized { url: String },
    #[error("wallet {url} answered something that is not JSON-RPC: {reason}")]
    Protocol { url: String, reason: String },
    #[error("wallet {url} refused {method}: {message} (code {code})")]
    Rpc { url: String, method: String, code: i64, message: String },
}

/// One transfer of a payout transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// A normal address on the pool's network.
    pub destination: String,
    /// Atomic units (≥ 1).
    pub amount: u64,
}

/// A signed transaction the wallet built without broadcasting it.
#[derive(Clone, PartialEq, Eq)]
pub struct BuiltTransaction {
    /// The transaction hash (64 hex): what the daemon knows it by.
    pub hash: String,
    /// The signed transaction, for `submit_transaction`.
    pub hex: String,
}

impl std::fmt::Debug for BuiltTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltTransaction")
            .field("hash", &self.hash)
            .field("hex_len", &self.hex.len())
            .finish()
    }
}

#[derive(Deserialize)]
struct BuildReply {
    hash: String,
    #[serde(default)]
    tx_as_hex: Option<String>,
}

/// The wallet.
pub struct WalletClient {
    pub url: String,
    http: reqwest::Client,
    credentials: Option<Credentials>,
    next_id: AtomicU64,
}

impl std::fmt::Debug for WalletClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalletClient")
            .field("url", &self.url)
            .field("credentials", &self.credentials)
            .finish()
    }
}

impl WalletClient {
    /// `base` like `http://127.0.0.1:8081` (`/json_rpc` is added) or a full `/json_rpc` URL;
    /// `https://` uses `tls`.
    pub fn new(
        base: &str,
        credentials: Option<Credentials>,
        timeout: Duration,
        tls: Arc<rustls::ClientConfig>,
    ) -> Self {
        let url = if base.ends_with("/json_rpc") {
            base.to_owned()
        } else {
            format!("{}/json_rpc", base.trim_end_matches('/'))
        };
        WalletClient {
            url,
            http: crate::node::client::http_client(timeout, tls),
            credentials,
            next_id: AtomicU64::new(1),
        }
    }

    /// Calls `method`; `params` of `None` are omitted.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Option<Value>,
    ) -> Result<T, WalletError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut body = json!({ "jsonrpc": "2.0", "id": id, "method": method });
        if let Some(p) = params {
            body["params"] = p;
        }
        let mut req = self.http.post(&self.url).json(&body);
        if let Some(c) = &self.credentials {
            req = req.basic_auth(&c.user, Some(c.password()));
        }
        let url = || self.url.clone();
        let resp =
            req.send().await.map_err(|e| WalletError::Transport { url: url(), reason: error_chain(&e) })?;
        if resp.status() == reqwest::StatusCode::UNAUTHORIZED {
            return Err(WalletError::Unauthorized { url: url() });
        }
        let status = resp.status();
        let mut v: Value = resp.json().await.map_err(|e| WalletError::Protocol {
            url: url(),
            reason: format!("HTTP {status}: {}", error_chain(&e)),
        })?;
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            return Err(WalletError::Rpc {
                url: url(),
                method: method.to_owned(),
                code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: err.get("message").and_then(Value::as_str).unwrap_or("").to_owned(),
            });
        }
        let result = v
            .get_mut("result")
            .map(Value::take)
            .ok_or_else(|| WalletError::Protocol { url: url(), reason: "no result".into() })?;
        serde_json::from_value(result)
            .map_err(|e| WalletError::Protocol { url: url(), reason: format!("{method}: {e}") })
    }

    /// Whether the wallet is connected to its daemon.
    pub async fn is_online(&self) -> Result<bool, WalletError> {
        self.call("is_online", None).await
    }

    /// The wallet's address (the one it pays from).
    pub async fn get_address(&self) -> Result<String, WalletError> {
        self.call("get_address", None).await
    }

    /// The wallet's TOS balance, atomic units.
    pub async fn get_balance(&self) -> Result<u64, WalletError> {
        self.call("get_balance", None).await
    }

    /// Builds and signs one transaction paying `transfers` with exactly `fee`, **without
    /// broadcasting it** (`broadcast: false, tx_as_hex: true`).
    pub async fn build_transaction(
        &self,
        transfers: &[Transfer],
        fee: u64,
    ) -> Result<BuiltTransaction, WalletError> {
        let transfers: Vec<Value> = transfers
            .iter()
            .map(|t| json!({ "asset": TOS_ASSET, "amount": t.amount, "destination": t.destination, "extra_data": null }))
            .collect();
        let params = json!({
            "transfers": transfers,
            "fee": { "value": fee },
            "broadcast": false,
            "tx_as_hex": true,
        });
        let r: BuildReply = self.call("build_transaction", Some(params)).await?;
        let bad = |reason: String| WalletError::Protocol { url: self.url.clone(), reason };
        if r.hash.len() != 64 || !r.hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(format!("build_transaction: the hash {:?} is not 64 hex characters", r.hash)));
        }
        let hex = r.tx_as_hex.filter(|h| {
            !h.is_empty() && h.len().is_multiple_of(2) && h.bytes().all(|b| b.is_ascii_hexdigit())
        });
        let Some(hex) = hex else {
            return Err(bad(
                "build_transaction: no tx_as_hex in the answer (asked with tx_as_hex: true)".into()
            ));
        };
        Ok(BuiltTransaction { hash: r.hash.to_ascii_lowercase(), hex })
    }
}
