//! A simulated TOS node for devnet: the real node's JSON-RPC shapes (protocol.md §3) over HTTP
//! `POST /json_rpc`, templates in the real serialization, and `submit_block` checked with TOS Hash
//! V3 against the network target and the rules of §3.5.
//!
//! * Blocks come only from submissions; the difficulty follows the hashrate towards 1 s blocks
//!   (never below the devnet minimum of 1,000). Each block remembers the difficulty its children
//!   were issued at, and a block is judged against its parent's.
//! * A block on the newest tip is `Normal`; on a tip up to 3 heights back it is accepted as `Side`.
//! * [`DevnetNode::churn_mempool`] changes the template's transactions N times a second, as a busy
//!   network does (the pool must not re-issue work that often).
//! * Stable height = height − 24; every 25th accepted block is orphaned when it becomes stable
//!   (topoheight null, type `Orphaned`), so the pool's block tracking meets orphans.
//! * Accounts ([`super::accounts`]): a block credits its miner's `miner_reward` (the pool's
//!   wallet earns its blocks); `submit_transaction` / `get_transaction` /
//!   `get_transaction_executor` / `get_balance` / `get_nonce` serve devnet transactions
//!   ([`super::transaction`]): in the mempool until the next block, executed in it, stable 24
//!   topoheights later.
//! * WebSocket on the same path (`GET /json_rpc` with upgrade): `subscribe {"notify": "new_block_template"}`
//!   pushes an event on every accepted block, as the real node does (with the DEV key as miner, so
//!   subscribers use it as a trigger only).

use super::accounts::{Accounts, Executed, TxFaults, TxPlace};
use crate::rpc::{RpcError, response};
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use pool_core::address::{Address, Network};
use pool_core::work::{BlockTemplate, MinerWork};
use pool_core::{Difficulty, U256};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub const MIN_DIFFICULTY: u64 = 1_000;
pub const STABLE_LIMIT: u64 = 24;
const BLOCK_TIME_MS: u64 = 1_000;
const SIDE_DEPTH: u64 = 3;
const REWARD: u64 = 97_486_707;

#[derive(Clone, Debug)]
struct Block {
    hash: [u8; 32],
    height: u64,
    topoheight: u64,
    timestamp_ms: u64,
    difficulty: Difficulty,
    kind: &'static str,
    miner: Address,
    nonce: u64,
    extra_nonce: [u8; 32],
    tips: Vec<[u8; 32]>,
    /// The difficulty of templates on top of this block (what its children must meet).
    children_difficulty: Difficulty,
}

struct Chain {
    /// When each height appeared (Unix µs), for benchmarks' notify latency; bounded like `blocks`.
    appeared_us: std::collections::BTreeMap<u64, u64>,
    blocks: Vec<Block>,
    by_hash: HashMap<[u8; 32], usize>,
    difficulty: Difficulty,
    min_difficulty: u64,
    accepted: u64,
    /// The simulated mempool: transaction hashes every template carries.
    mempool: Vec<[u8; 32]>,
    /// Balances, nonces, payout transactions.
    accounts: Accounts,
}

/// Every 25th block is orphaned once it is stable (so the pool's block tracking meets orphans).
fn will_orphan(height: u64) -> bool {
    height.is_multiple_of(25)
}

/// A block's reward after the side-block reduction.
fn block_reward(kind: &str) -> u64 {
    match kind {
        "Side" => REWARD * 30 / 100,
        _ => REWARD,
    }
}

/// The miner's part of `reward` (the dev fee is 10 %).
fn miner_reward(reward: u64) -> u64 {
    reward - reward / 10
}

impl Chain {
    fn push(&mut self, block: Block) {
        self.accounts.on_block(
            block.hash,
            block.topoheight,
            block.timestamp_ms,
            block.miner.key,
            miner_reward(block_reward(block.kind)),
            !will_orphan(block.height),
        );
        let index = self.blocks.len();
        self.by_hash.insert(block.hash, index);
        self.blocks.push(block);
        // Keep the simulated chain bounded (about an hour of blocks).
        if self.blocks.len() > 5_000 {
            let drop = self.blocks.len() - 4_000;
            self.blocks.drain(..drop);
            self.by_hash = self.blocks.iter().enumerate().map(|(i, b)| (b.hash, i)).collect();
        }
    }
}

/// Ways the simulated node can misbehave, for tests of the pool's node handling.
#[derive(Clone, Debug, Default)]
pub struct Quirks {
    /// Reported by `get_info` instead of "Dev" (a node on another network).
    pub network: Option<String>,
    /// Templates pay this key whatever address was asked for (a node built for another wallet).
    pub miner_key: Option<[u8; 32]>,
    /// `get_block_template` and `submit_block` are not served (a node started without its getwork
    /// server).
    pub no_getwork: bool,
}

/// The simulated node's state; cheap to clone (shared).
#[derive(Clone)]
pub struct DevnetNode {
    chain: Arc<Mutex<Chain>>,
    quirks: Arc<Quirks>,
    /// Fires on every accepted block (drives `new_block_template` events).
    blocks: tokio::sync::broadcast::Sender<u64>,
}

use crate::clock::now_ms;

impl DevnetNode {
    pub fn new() -> Self {
        Self::with_min_difficulty(MIN_DIFFICULTY)
    }

    /// A node whose difficulty never drops below `min` (benchmarks use a huge one: no blocks).
    pub fn with_min_difficulty(min: u64) -> Self {
        Self::with_quirks(min, Quirks::default())
    }

    /// A node with `quirks`.
    pub fn with_quirks(min: u64, quirks: Quirks) -> Self {
        let genesis = Block {
            hash: *blake3::hash(b"tos-pool devnet genesis").as_bytes(),
            height: 0,
            topoheight: 0,
            timestamp_ms: now_ms(),
            difficulty: Difficulty::from_u64(min.max(1)).expect("non-zero"),
            kind: "Normal",
            miner: Address::normal(false, [0; 32]),
            nonce: 0,
            extra_nonce: [0; 32],
            tips: vec![],
            children_difficulty: Difficulty::from_u64(min.max(1)).expect("non-zero"),
        };
        let mut by_hash = HashMap::new();
        by_hash.insert(genesis.hash, 0);
        DevnetNode {
            chain: Arc::new(Mutex::new(Chain {
                appeared_us: Default::default(),
                blocks: vec![genesis],
                by_hash,
                difficulty: Difficulty::from_u64(min.max(1)).expect("non-zero"),
                min_difficulty: min.max(1),
                accepted: 0,
                mempool: Vec::new(),
                accounts: Accounts::default(),
            })),
            blocks: tokio::sync::broadcast::channel(64).0,
            quirks: Arc::new(quirks),
        }
    }

    /// Serves `POST /json_rpc` on `addr` until the task is dropped.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        let app = Router::new().route("/json_rpc", post(handle).get(websocket)).with_state(self);
        axum::serve(listener, app).await
    }

    pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
        tokio::net::TcpListener::bind(addr).await
    }

    /// Serves `POST /json_rpc` (and the WebSocket) over TLS: an `https://` node.
    pub async fn serve_tls(
        self,
        listener: tokio::net::TcpListener,
        acceptor: tokio_rustls::TlsAcceptor,
    ) -> std::io::Result<()> {
        let app = Router::new().route("/json_rpc", post(handle).get(websocket)).with_state(self);
        axum::serve(TlsListener { tcp: listener, acceptor }, app).await
    }

    /// Mines one block on the top at the current difficulty (as another miner on the network
    /// would); returns its height.
    pub fn mine_one(&self) -> u64 {
        let (mut t, d) = self.template_for(&Address::normal(false, [1; 32]));
        let target = d.target();
        let mut hasher = pool_core::hash::TosHasher::new();
        t.nonce = (0u64..)
            .find(|&n| target.is_met_by(&hasher.hash(t.miner_work().with_nonce(n).as_bytes())))
            .expect("some nonce meets the target");
        self.submit_block(&json!({ "block_template": t.to_hex() })).expect("a valid block");
        t.height
    }

    /// Current height (for tests and logs).
    pub fn height(&self) -> u64 {
        self.lock().blocks.last().map_or(0, |b| b.height)
    }

    pub fn accepted_blocks(&self) -> u64 {
        self.lock().accepted
    }

    /// Replaces the mempool `per_second` times a second (with a `new_block_template` event each
    /// time, as the real node sends on new transactions), forever.
    pub async fn churn_mempool(self, per_second: u32) {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(1) / per_second.max(1));
        loop {
            every.tick().await;
            let height = {
                let mut c = self.lock();
                let n = 1 + rand::random::<u8>() as usize % 4;
                c.mempool = (0..n).map(|_| rand::random::<[u8; 32]>()).collect();
                c.blocks.last().map_or(0, |b| b.height)
            };
            let _ = self.blocks.send(height);
        }
    }

    /// Appends a block on the top as if another miner on the network had found it (no proof of
    /// work, no retarget): the benchmark's steady block rate. Returns the new height.
    pub fn advance(&self) -> u64 {
        let height = {
            let mut c = self.lock();
            let top = c.blocks.last().expect("genesis").clone();
            let now = now_ms();
            let block = Block {
                hash: *blake3::hash(&[&top.hash[..], &now.to_be_bytes()].concat()).as_bytes(),
                height: top.height + 1,
                topoheight: top.topoheight + 1,
                timestamp_ms: now.max(top.timestamp_ms),
                difficulty: c.difficulty,
                kind: "Normal",
                miner: Address::normal(false, [2; 32]),
                nonce: 0,
                extra_nonce: [0; 32],
                tips: vec![top.hash],
                children_difficulty: c.difficulty,
            };
            let height = block.height;
            c.push(block);
            let us = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_micros() as u64);
            c.appeared_us.insert(height, us);
            while c.appeared_us.len() > 10_000 {
                c.appeared_us.pop_first();
            }
            height
        };
        let _ = self.blocks.send(height);
        height
    }

    /// When each recent height appeared, Unix µs (`devnet_block_times`).
    pub fn block_times(&self) -> Vec<(u64, u64)> {
        self.lock().appeared_us.iter().map(|(h, t)| (*h, *t)).collect()
    }

    /// Sets the mempool (tests).
    pub fn set_mempool(&self, txs: Vec<[u8; 32]>) {
        self.lock().mempool = txs;
    }

    /// `address`'s balance (atomic units).
    pub fn balance(&self, address: &Address) -> u64 {
        self.lock().accounts.balance(&address.key)
    }

    /// Credits `amount` to `address` out of nothing (a devnet faucet: tests fund the pool wallet).
    pub fn fund(&self, address: &Address, amount: u64) {
        self.lock().accounts.credit(&address.key, amount);
    }

    /// The nonce `key`'s next transaction must carry, and what it can still spend (the mempool
    /// counted): what a wallet needs to build a transaction.
    pub fn next_nonce_and_spendable(&self, key: &[u8; 32]) -> (u64, u64) {
        let c = self.lock();
        (c.accounts.next_nonce(key), c.accounts.spendable(key))
    }

    /// `submit_transaction` of a devnet transaction's hex.
    pub fn submit_transaction_hex(&self, hex: &str) -> Result<(), RpcError> {
        self.lock().accounts.submit(hex)
    }

    /// Every transaction executed so far, in order.
    pub fn executed_transactions(&self) -> Vec<Executed> {
        self.lock().accounts.history()
    }

    /// How many times `hash` was submitted (taken or refused).
    pub fn submissions(&self, hash: &[u8; 32]) -> u32 {
        self.lock().accounts.submissions(hash)
    }

    /// Transactions waiting for the next block.
    pub fn mempool_transactions(&self) -> usize {
        self.lock().accounts.mempool_len()
    }

    /// Loses every waiting transaction, as a node restart does.
    pub fn drop_mempool(&self) {
        self.lock().accounts.drop_mempool();
    }

    /// Sets the transaction test switches.
    pub fn set_tx_faults(&self, faults: TxFaults) {
        self.lock().accounts.faults = faults;
    }

    fn tx_hash_param(params: &Value) -> Result<[u8; 32], RpcError> {
        let h = params
            .get("hash")
            .and_then(Value::as_str)
            .ok_or_else(|| RpcError::invalid_params("hash required"))?;
        pool_core::hexutil::decode_array(h).map_err(|e| RpcError::invalid_params(e.to_string()))
    }

    fn submit_transaction(&self, params: &Value) -> Result<Value, RpcError> {
        let data = params
            .get("data")
            .and_then(Value::as_str)
            .ok_or_else(|| RpcError::invalid_params("data required"))?;
        self.submit_transaction_hex(data)?;
        Ok(json!(true))
    }

    fn get_transaction(&self, params: &Value) -> Result<Value, RpcError> {
        let hash = Self::tx_hash_param(params)?;
        let c = self.lock();
        let (tx, executed) = match c.accounts.find(&hash) {
            None => return Err(RpcError::new(-32004, "Transaction not found")),
            Some(TxPlace::Mempool(t)) => (t.clone(), None),
            Some(TxPlace::Executed(e)) => (e.tx.clone(), Some(hex::encode(e.block))),
        };
        let transfers: Vec<Value> = tx
            .destinations()
            .map(|(a, amount)| json!({ "asset": "00".repeat(32), "amount": amount, "destination": a.to_string() }))
            .collect();
        Ok(json!({
            "hash": hex::encode(hash),
            "in_mempool": executed.is_none(),
            "executed_in_block": executed,
            "blocks": executed.as_ref().map(|b| vec![b.clone()]),
            "first_seen": null,
            "version": 0,
            "source": Address::normal(false, tx.source).to_string(),
            "data": { "transfers": transfers },
            "fee": tx.fee,
            "nonce": tx.nonce,
            "size": tx.size(),
        }))
    }

    fn get_transaction_executor(&self, params: &Value) -> Result<Value, RpcError> {
        let hash = Self::tx_hash_param(params)?;
        match self.lock().accounts.find(&hash) {
            Some(TxPlace::Executed(e)) => Ok(json!({
                "block_topoheight": e.topoheight,
                "block_timestamp": e.timestamp_ms,
                "block_hash": hex::encode(e.block),
            })),
            _ => Err(RpcError::new(-32004, "Transaction executor not found")),
        }
    }

    fn get_balance(&self, params: &Value) -> Result<Value, RpcError> {
        let address = Self::address(params)?;
        let c = self.lock();
        let topo = c.blocks.last().map_or(0, |b| b.topoheight);
        Ok(json!({ "balance": c.accounts.balance(&address.key), "topoheight": topo }))
    }

    fn get_nonce(&self, params: &Value) -> Result<Value, RpcError> {
        let address = Self::address(params)?;
        let c = self.lock();
        let topo = c.blocks.last().map_or(0, |b| b.topoheight);
        Ok(json!({ "nonce": c.accounts.nonce(&address.key), "topoheight": topo }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Chain> {
        self.chain.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Dispatches one JSON-RPC call.
    pub fn call(&self, method: &str, params: &Value) -> Result<Value, RpcError> {
        if self.quirks.no_getwork
            && matches!(method, "get_block_template" | "get_miner_work" | "submit_block")
        {
            return Err(RpcError::new(-32601, format!("Method not found: {method}")));
        }
        match method {
            "get_info" => Ok(self.get_info()),
            "get_height" => Ok(json!(self.height())),
            "get_block_template" => self.get_block_template(params),
            "get_miner_work" => self.get_miner_work(params),
            "submit_block" => self.submit_block(params),
            "get_block_by_hash" => self.get_block_by_hash(params),
            "devnet_block_times" => Ok(json!(self.block_times())),
            "submit_transaction" => self.submit_transaction(params),
            "get_transaction" => self.get_transaction(params),
            "get_transaction_executor" => self.get_transaction_executor(params),
            "get_balance" => self.get_balance(params),
            "get_nonce" => self.get_nonce(params),
            other => Err(RpcError::new(-32601, format!("Method not found: {other}"))),
        }
    }

    fn get_info(&self) -> Value {
        let c = self.lock();
        let top = c.blocks.last().expect("genesis");
        json!({
            "height": top.height,
            "topoheight": top.topoheight,
            "stableheight": top.height.saturating_sub(STABLE_LIMIT),
            "stable_topoheight": top.topoheight.saturating_sub(STABLE_LIMIT),
            "pruned_topoheight": null,
            "top_block_hash": hex::encode(top.hash),
            "difficulty": c.difficulty.to_string(),
            "block_time_target": BLOCK_TIME_MS,
            "average_block_time": BLOCK_TIME_MS,
            "block_reward": REWARD,
            "dev_reward": REWARD / 10,
            "miner_reward": REWARD - REWARD / 10,
            "mempool_size": 0,
            "version": "tos-pool-devnet",
            "network": self.quirks.network.as_deref().unwrap_or("Dev"),
            "block_version": 0,
        })
    }

    fn address(params: &Value) -> Result<Address, RpcError> {
        let s = params
            .get("address")
            .and_then(Value::as_str)
            .ok_or_else(|| RpcError::invalid_params("address required"))?;
        Address::parse_normal(s, Network::Devnet)
            .map_err(|e| RpcError::invalid_params(format!("Invalid address: {e}")))
    }

    fn template_for(&self, miner: &Address) -> (BlockTemplate, Difficulty) {
        let c = self.lock();
        let top = c.blocks.last().expect("genesis");
        let mut extra_nonce = [0u8; 32];
        extra_nonce.copy_from_slice(&rand::random::<[u8; 32]>());
        let t = BlockTemplate {
            version: 0,
            height: top.height + 1,
            timestamp_ms: now_ms().max(top.timestamp_ms),
            nonce: 0,
            extra_nonce,
            tips: vec![top.hash],
            txs: c.mempool.clone(),
            miner_key: miner.key,
            vrf: Some(None),
        };
        (t, c.difficulty)
    }

    fn get_block_template(&self, params: &Value) -> Result<Value, RpcError> {
        let mut miner = Self::address(params)?;
        if let Some(key) = self.quirks.miner_key {
            miner.key = key;
        }
        let (t, d) = self.template_for(&miner);
        let topo = self.lock().blocks.last().map_or(0, |b| b.topoheight);
        Ok(
            json!({ "template": t.to_hex(), "algorithm": "tos/v3", "height": t.height, "topoheight": topo + 1, "difficulty": d.to_string() }),
        )
    }

    fn get_miner_work(&self, params: &Value) -> Result<Value, RpcError> {
        let hex = params
            .get("template")
            .and_then(Value::as_str)
            .ok_or_else(|| RpcError::invalid_params("template required"))?;
        let mut t = BlockTemplate::from_hex(hex).map_err(|e| RpcError::invalid_params(e.to_string()))?;
        if params.get("address").is_some() {
            t.miner_key = Self::address(params)?.key;
        }
        let d = self.lock().difficulty;
        Ok(
            json!({ "algorithm": "tos/v3", "miner_work": t.miner_work().to_hex(), "height": t.height, "difficulty": d.to_string(), "topoheight": t.height }),
        )
    }

    fn submit_block(&self, params: &Value) -> Result<Value, RpcError> {
        let hex = params
            .get("block_template")
            .and_then(Value::as_str)
            .ok_or_else(|| RpcError::invalid_params("block_template required"))?;
        let mut t = BlockTemplate::from_hex(hex)
            .map_err(|e| RpcError::invalid_params(format!("Invalid block template: {e}")))?;
        if let Some(mw) = params.get("miner_work").and_then(Value::as_str) {
            let w = MinerWork::from_hex(mw)
                .map_err(|e| RpcError::invalid_params(format!("Invalid miner work: {e}")))?;
            // As the node does: copy timestamp, nonce, extra nonce and miner key; ignore the work hash.
            t.timestamp_ms = w.timestamp_ms();
            t.nonce = w.nonce();
            t.extra_nonce = w.extra_nonce();
            t.miner_key = w.miner_key();
        }
        let header = t.miner_work();
        let hash = header.block_id();
        let mut c = self.lock();
        if c.by_hash.contains_key(&hash) {
            return Err(RpcError::new(200 + 6, "Block is already in chain"));
        }
        let [parent_hash] = t.tips[..] else {
            return Err(RpcError::new(200 + 3, "Invalid tips count"));
        };
        let Some(&parent_i) = c.by_hash.get(&parent_hash) else {
            return Err(RpcError::new(200 + 4, "Invalid tip: unknown block"));
        };
        let parent = c.blocks[parent_i].clone();
        let top = c.blocks.last().expect("genesis").clone();
        if parent.height + 1 != t.height {
            return Err(RpcError::new(
                200 + 5,
                format!("Invalid block height {} for parent height {}", t.height, parent.height),
            ));
        }
        if top.height > parent.height + SIDE_DEPTH {
            return Err(RpcError::new(200 + 7, "Block height is below the stable height"));
        }
        let now = now_ms();
        if t.timestamp_ms < parent.timestamp_ms {
            return Err(RpcError::new(200 + 8, format!("Timestamp {} is less than parent", t.timestamp_ms)));
        }
        if t.timestamp_ms > now + 2_000 {
            return Err(RpcError::new(
                200 + 9,
                format!("Timestamp {} is greater than current time {now}", t.timestamp_ms),
            ));
        }
        // Difficulty at the tips: what the parent's children were issued (for the top, the current).
        let difficulty = parent.children_difficulty;
        let pow = pool_core::hash::tos_hash_v3(header.as_bytes());
        if !difficulty.target().is_met_by(&pow) {
            return Err(RpcError::new(200 + 10, "Invalid difficulty"));
        }
        let miner = Address::normal(false, t.miner_key);
        let kind = if parent.hash == top.hash { "Normal" } else { "Side" };
        let mut block = Block {
            hash,
            height: t.height,
            topoheight: top.topoheight + 1,
            timestamp_ms: t.timestamp_ms,
            difficulty,
            kind,
            miner,
            nonce: t.nonce,
            extra_nonce: t.extra_nonce,
            tips: t.tips.clone(),
            children_difficulty: c.difficulty,
        };
        if kind == "Normal" {
            // Retarget towards 1 s blocks: d' = d × 1000 / elapsed, within ×2 / ÷2.
            let elapsed = t
                .timestamp_ms
                .saturating_sub(parent.timestamp_ms)
                .clamp(BLOCK_TIME_MS / 2, BLOCK_TIME_MS * 2);
            let next = c
                .difficulty
                .value()
                .checked_mul_u64(BLOCK_TIME_MS)
                .unwrap_or(U256::MAX)
                .div_rem_u64(elapsed)
                .expect("non-zero")
                .0;
            c.difficulty = Difficulty::new(next.max(U256::from_u64(c.min_difficulty))).expect("non-zero");
            block.children_difficulty = c.difficulty;
            // The included transactions leave the mempool.
            c.mempool.retain(|tx| !t.txs.contains(tx));
        }
        c.push(block);
        c.accepted += 1;
        tracing::debug!(height = t.height, kind, hash = %hex::encode(hash), "devnet node accepted a block");
        let _ = self.blocks.send(t.height);
        Ok(json!(true))
    }

    fn get_block_by_hash(&self, params: &Value) -> Result<Value, RpcError> {
        let h = params
            .get("hash")
            .and_then(Value::as_str)
            .ok_or_else(|| RpcError::invalid_params("hash required"))?;
        let hash: [u8; 32] =
            pool_core::hexutil::decode_array(h).map_err(|e| RpcError::invalid_params(e.to_string()))?;
        let c = self.lock();
        let Some(&i) = c.by_hash.get(&hash) else {
            return Err(RpcError::new(-32004, "Block not found"));
        };
        let b = &c.blocks[i];
        let top = c.blocks.last().expect("genesis");
        let orphaned = will_orphan(b.height) && b.height + STABLE_LIMIT <= top.height;
        let reward = block_reward(b.kind);
        Ok(json!({
            "hash": hex::encode(b.hash),
            "topoheight": if orphaned { Value::Null } else { json!(b.topoheight) },
            "block_type": if orphaned { "Orphaned" } else { b.kind },
            "difficulty": b.difficulty.to_string(),
            "reward": if orphaned { Value::Null } else { json!(reward) },
            "miner_reward": if orphaned { Value::Null } else { json!(miner_reward(reward)) },
            "dev_reward": if orphaned { Value::Null } else { json!(reward / 10) },
            "total_fees": if params.get("include_txs").and_then(Value::as_bool).unwrap_or(false) { json!(0) } else { Value::Null },
            "cumulative_difficulty": b.difficulty.to_string(),
            "total_size_in_bytes": 125,
            "version": 0,
            "tips": b.tips.iter().map(hex::encode).collect::<Vec<_>>(),
            "timestamp": b.timestamp_ms,
            "height": b.height,
            "nonce": b.nonce,
            "extra_nonce": hex::encode(b.extra_nonce),
            "miner": b.miner.to_string(),
            "txs_hashes": [],
        }))
    }
}

impl Default for DevnetNode {
    fn default() -> Self {
        Self::new()
    }
}

/// A TLS listener for axum: accepts TCP, completes the handshake, hands over the stream.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else { continue };
            if let Ok(Ok(tls)) =
                tokio::time::timeout(std::time::Duration::from_secs(5), self.acceptor.accept(tcp)).await
            {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

async fn handle(State(node): State<DevnetNode>, body: axum::body::Bytes) -> Json<Value> {
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return Json(response(&Value::Null, Err(RpcError::new(-32700, "Parse error"))));
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    if req.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Json(response(&id, Err(RpcError::new(-32600, "Invalid JSON-RPC version"))));
    }
    let Some(method) = req.get("method").and_then(Value::as_str) else {
        return Json(response(&id, Err(RpcError::new(-32600, "Invalid request"))));
    };
    let params = req.get("params").cloned().unwrap_or(Value::Null);
    if params.as_object().is_some_and(|o| o.is_empty()) {
        return Json(response(&id, Err(RpcError::new(-32602, "Unexpected parameters"))));
    }
    // Hashing a submitted block takes ~20 µs: fine on the async thread for a devnet.
    Json(response(&id, node.call(method, &params)))
}

/// `GET /json_rpc` with upgrade: JSON-RPC over WebSocket with `subscribe` / `unsubscribe`.
async fn websocket(State(node): State<DevnetNode>, upgrade: WebSocketUpgrade) -> impl IntoResponse {
    upgrade.on_upgrade(move |socket| serve_websocket(node, socket))
}

async fn serve_websocket(node: DevnetNode, mut socket: WebSocket) {
    let mut blocks = node.blocks.subscribe();
    let mut subscription: Option<Value> = None;
    loop {
        tokio::select! {
            msg = socket.recv() => {
                let Some(Ok(Message::Text(text))) = msg else { return };
                let Ok(req) = serde_json::from_str::<Value>(&text) else { continue };
                let id = req.get("id").cloned().unwrap_or(Value::Null);
                let method = req.get("method").and_then(Value::as_str).unwrap_or("");
                let event = req.pointer("/params/notify").and_then(Value::as_str);
                let reply = match (method, event) {
                    ("subscribe", Some("new_block_template")) if subscription.is_some() => response(&id, Err(RpcError::new(-2, "already subscribed"))),
                    ("subscribe", Some("new_block_template")) => {
                        subscription = Some(id.clone());
                        response(&id, Ok(json!(true)))
                    }
                    ("unsubscribe", Some("new_block_template")) if subscription.is_some() => {
                        subscription = None;
                        response(&id, Ok(json!(true)))
                    }
                    ("unsubscribe", _) => response(&id, Err(RpcError::new(-1, "not subscribed"))),
                    ("subscribe", _) => response(&id, Err(RpcError::invalid_params("unsupported event"))),
                    (m, _) => response(&id, node.call(m, &req.get("params").cloned().unwrap_or(Value::Null))),
                };
                if socket.send(Message::Text(reply.to_string().into())).await.is_err() {
                    return;
                }
            }
            height = blocks.recv() => {
                if height.is_err() {
                    continue; // lagged: the next block will notify again
                }
                let Some(id) = subscription.clone() else { continue };
                // As the real node: the template is built for the DEV key; subscribers re-fetch.
                let (t, d) = node.template_for(&Address::normal(false, [0; 32]));
                let event = json!({"jsonrpc": "2.0", "id": id, "result": {
                    "event": "new_block_template", "template": t.to_hex(), "algorithm": "tos/v3",
                    "height": t.height, "topoheight": t.height, "difficulty": d.to_string()
                }});
                if socket.send(Message::Text(event.to_string().into())).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mines `t` (whose timestamp is set by the caller) to `meet` but not `miss`; submits it.
    fn mine(
        node: &DevnetNode,
        mut t: BlockTemplate,
        meet: Difficulty,
        miss: Option<Difficulty>,
    ) -> Result<Value, RpcError> {
        let mut h = pool_core::hash::TosHasher::new();
        t.nonce = (0u64..)
            .find(|&n| {
                let hash = h.hash(t.miner_work().with_nonce(n).as_bytes());
                meet.target().is_met_by(&hash) && !miss.is_some_and(|m| m.target().is_met_by(&hash))
            })
            .unwrap();
        node.submit_block(&json!({ "block_template": t.to_hex() }))
    }

    #[test]
    fn a_sibling_is_judged_at_the_difficulty_its_parent_gave_its_children() {
        let node = DevnetNode::with_min_difficulty(1000);
        let miner = Address::normal(false, [3; 32]);
        let d = |v: u64| Difficulty::from_u64(v).unwrap();
        // Two fast blocks double the difficulty twice: 1000 → 2000 → 4000.
        for _ in 0..2 {
            let (mut t, diff) = node.template_for(&miner);
            t.timestamp_ms = node.lock().blocks.last().unwrap().timestamp_ms;
            mine(&node, t, diff, None).unwrap();
        }
        // A slow block (2 s after its parent) on top, mined at 4000: its children get 2000.
        let (mut t, diff) = node.template_for(&miner);
        assert_eq!(diff, d(4000));
        let parent_ts = node.lock().blocks.last().unwrap().timestamp_ms;
        t.timestamp_ms = parent_ts + 2000;
        let slow_ts = t.timestamp_ms;
        mine(&node, t, diff, None).unwrap();
        let (child, child_diff) = node.template_for(&miner);
        assert_eq!(child_diff, d(2000), "the slow block's children are issued 2000");
        // Two children of the slow block, both found at 2000 but not at 4000 (the parent's own):
        // the first is Normal, the second a valid sibling (Side), not "Invalid difficulty".
        let mut a = child.clone();
        a.timestamp_ms = slow_ts;
        let mut b = child;
        b.timestamp_ms = slow_ts;
        b.extra_nonce[0] ^= 1; // another miner's block, not the same one twice
        mine(&node, a, d(2000), Some(d(4000))).unwrap();
        let r = mine(&node, b, d(2000), Some(d(4000)));
        assert_eq!(r, Ok(json!(true)), "the sibling is accepted");
        assert_eq!(node.lock().blocks.last().unwrap().kind, "Side");
    }
}
