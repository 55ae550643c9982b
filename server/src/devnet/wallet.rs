//! A simulated TOS wallet RPC for devnet (protocol.md §4): `POST /json_rpc` on its own listener,
//! HTTP Basic auth when credentials are set, holding the devnet pool address and spending from
//! its balance on the simulated node ([`super::node::DevnetNode`]).
//!
//! * `is_online` → bool; `get_address`; `get_balance` → what the address can spend (its balance
//!   less its transactions waiting in the mempool).
//! * `build_transaction {transfers, fee?, broadcast = true, tx_as_hex = false}`: checks every
//!   transfer (TOS asset, amount ≥ 1, a normal devnet address, ≤ 500), the fee (`value` must
//!   cover the real formula over the transaction's size; `boost` adds to it), the funds ("Insufficient
//!   funds"), takes the node's next nonce (the mempool counted), and signs a devnet transaction
//!   ([`super::transaction`]). `broadcast: true` submits it to the node (its refusal is the
//!   answer, nothing kept); `broadcast: false` needs `tx_as_hex: true`. The result: `hash` at the
//!   top, the transaction's fields, `tx_as_hex`.
//! * Test switches ([`WalletFaults`]): offline (is_online false, builds refused), a delay before
//!   answering a build (the transaction is built, the answer comes too late for the caller),
//!   builds refused with a given message.
//!   Every build is recorded ([`DevnetWallet::builds`]).

use super::node::DevnetNode;
use super::transaction::{DevnetTx, MAX_TRANSFERS};
use crate::rpc::{RpcError, response};
use crate::wallet::Credentials;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use pool_core::address::{Address, Network};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Switches for tests.
#[derive(Debug, Default)]
pub struct WalletFaults {
    /// Not connected to its daemon.
    pub offline: AtomicBool,
    /// Builds are answered this many milliseconds late (after the transaction was built).
    pub build_delay_ms: AtomicU64,
    /// Builds are refused with this message (e.g. the funds were spent elsewhere meanwhile).
    pub fail_builds: Mutex<Option<String>>,
}

/// One `build_transaction` the wallet answered (or would have).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildRecord {
    pub hash: [u8; 32],
    pub transfers: usize,
    pub broadcast: bool,
}

/// The simulated wallet; cheap to clone (shared).
#[derive(Clone)]
pub struct DevnetWallet {
    node: DevnetNode,
    address: Address,
    credentials: Option<Arc<Credentials>>,
    faults: Arc<WalletFaults>,
    builds: Arc<Mutex<Vec<BuildRecord>>>,
}

impl DevnetWallet {
    /// The wallet of `address` on `node`.
    pub fn new(node: DevnetNode, address: Address) -> Self {
        DevnetWallet { node, address, credentials: None, faults: Arc::default(), builds: Arc::default() }
    }

    /// Requires HTTP Basic `credentials` on every call.
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(Arc::new(credentials));
        self
    }

    pub fn faults(&self) -> &WalletFaults {
        &self.faults
    }

    /// Every build, in order.
    pub fn builds(&self) -> Vec<BuildRecord> {
        self.builds.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn address(&self) -> &Address {
        &self.address
    }

    pub async fn bind(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
        tokio::net::TcpListener::bind(addr).await
    }

    /// Serves `POST /json_rpc` until the task is dropped.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        let app = Router::new().route("/json_rpc", post(handle)).with_state(self);
        axum::serve(listener, app).await
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(c) = &self.credentials else { return true };
        let expected = format!("Basic {}", base64(format!("{}:{}", c.user, c.password()).as_bytes()));
        headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok())
            == Some(expected.as_str())
    }

    /// Dispatches one call (builds may be answered late: [`WalletFaults::build_delay_ms`]).
    pub async fn call(&self, method: &str, params: &Value) -> Result<Value, RpcError> {
        let offline = self.faults.offline.load(Ordering::Relaxed);
        match method {
            "is_online" => Ok(json!(!offline)),
            "get_address" => Ok(json!(self.address.to_string())),
            "get_balance" => Ok(json!(self.node.next_nonce_and_spendable(&self.address.key).1)),
            "build_transaction" => {
                if offline {
                    return Err(RpcError::new(-32004, "Wallet is not in online mode (NotOnlineMode)"));
                }
                let refused = self.faults.fail_builds.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let r = match refused {
                    Some(why) => Err(RpcError::new(-32004, why)),
                    None => self.build_transaction(params),
                };
                let delay = self.faults.build_delay_ms.load(Ordering::Relaxed);
                if delay > 0 {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                }
                r
            }
            other => Err(RpcError::new(-32601, format!("Method not found: {other}"))),
        }
    }

    fn build_transaction(&self, params: &Value) -> Result<Value, RpcError> {
        let bad = |m: String| RpcError::invalid_params(format!("Invalid params: {m}"));
        let transfers = params
            .get("transfers")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("transfers required (this wallet builds transfers only)".into()))?;
        if transfers.is_empty() || transfers.len() > MAX_TRANSFERS {
            return Err(bad(format!("{} transfers (1..={MAX_TRANSFERS})", transfers.len())));
        }
        let mut out = Vec::with_capacity(transfers.len());
        for (i, t) in transfers.iter().enumerate() {
            let asset = t.get("asset").and_then(Value::as_str).unwrap_or("");
            if asset != "00".repeat(32) {
                return Err(bad(format!("transfer {i}: unknown asset {asset:?} (TOS is 64 zeros)")));
            }
            let amount = t.get("amount").and_then(Value::as_u64).filter(|a| *a > 0);
            let amount = amount.ok_or_else(|| bad(format!("transfer {i}: amount must be a u64 ≥ 1")))?;
            let dest = t.get("destination").and_then(Value::as_str).unwrap_or("");
            let dest = Address::parse_normal(dest, Network::Devnet)
                .map_err(|e| bad(format!("transfer {i}: invalid address {dest:?}: {e}")))?;
            if t.get("extra_data").is_some_and(|x| !x.is_null()) {
                return Err(bad(format!("transfer {i}: extra_data is not supported by the devnet wallet")));
            }
            out.push((dest.key, amount));
        }
        let broadcast = params.get("broadcast").and_then(Value::as_bool).unwrap_or(true);
        let as_hex = params.get("tx_as_hex").and_then(Value::as_bool).unwrap_or(false);
        if !broadcast && !as_hex {
            return Err(bad("broadcast: false needs tx_as_hex: true (the transaction would be lost)".into()));
        }
        let (nonce, spendable) = self.node.next_nonce_and_spendable(&self.address.key);
        let mut tx =
            DevnetTx { source: self.address.key, nonce, salt: rand::random(), fee: 0, transfers: out };
        let required = tx.required_fee();
        tx.fee = match params.get("fee") {
            None | Some(Value::Null) => required,
            Some(f) => match (f.get("value").and_then(Value::as_u64), f.get("boost").and_then(Value::as_u64))
            {
                (Some(v), None) if v >= required => v,
                (Some(v), None) => {
                    return Err(RpcError::new(-32004, format!("Fee too low: {v} < required {required}")));
                }
                (None, Some(b)) => required.saturating_add(b),
                _ => {
                    return Err(bad(
                        "fee: exactly one of value, boost (multiplier is not supported here)".into()
                    ));
                }
            },
        };
        if tx.cost() > spendable as u128 {
            return Err(RpcError::new(
                -32004,
                format!("Insufficient funds: needed {} (amounts + fee), available {spendable}", tx.cost()),
            ));
        }
        let hash = tx.hash();
        let hex = tx.to_hex();
        if broadcast {
            self.node.submit_transaction_hex(&hex)?;
        }
        self.builds.lock().unwrap_or_else(|e| e.into_inner()).push(BuildRecord {
            hash,
            transfers: tx.transfers.len(),
            broadcast,
        });
        let transfers: Vec<Value> = tx
            .destinations()
            .map(|(a, amount)| json!({ "asset": "00".repeat(32), "amount": amount, "destination": a.to_string(), "extra_data": null }))
            .collect();
        Ok(json!({
            "hash": hex::encode(hash),
            "version": 0,
            "source": self.address.to_string(),
            "data": { "transfers": transfers },
            "fee": tx.fee,
            "nonce": tx.nonce,
            "size": tx.size(),
            "tx_as_hex": if as_hex { json!(hex) } else { Value::Null },
        }))
    }
}

async fn handle(State(wallet): State<DevnetWallet>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if !wallet.authorized(&headers) {
        return (StatusCode::UNAUTHORIZED, [("www-authenticate", "Basic realm=\"wallet\"")], "Unauthorized")
            .into_response();
    }
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return Json(response(&Value::Null, Err(RpcError::new(-32700, "Parse error")))).into_response();
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = req.get("method").and_then(Value::as_str) else {
        return Json(response(&id, Err(RpcError::new(-32600, "Invalid request")))).into_response();
    };
    let params = req.get("params").cloned().unwrap_or(Value::Null);
    Json(response(&id, wallet.call(method, &params).await)).into_response()
}

/// Standard base64 with padding (only to compare an `Authorization` header).
fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                s.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("pool:pw", "cG9vbDpwdw=="),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }
}
