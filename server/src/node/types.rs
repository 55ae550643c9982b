//! What the node's JSON-RPC answers, as types (protocol.md §3.2). Parsed once, at the client.

use pool_core::Difficulty;
use serde::{Deserialize, Deserializer};

fn difficulty<'de, D: Deserializer<'de>>(d: D) -> Result<Difficulty, D::Error> {
    let s = String::deserialize(d)?;
    Difficulty::from_dec_str(&s).map_err(|e| serde::de::Error::custom(format!("difficulty {s:?}: {e}")))
}

/// `get_info`.
#[derive(Clone, Debug, Deserialize)]
pub struct NodeInfo {
    pub height: u64,
    pub topoheight: u64,
    pub stableheight: u64,
    pub stable_topoheight: u64,
    #[serde(deserialize_with = "difficulty")]
    pub difficulty: Difficulty,
    /// "Mainnet" | "Testnet" | "Stagenet" | "Dev".
    pub network: String,
    #[serde(default)]
    pub block_time_target: u64,
    #[serde(default)]
    pub block_reward: Option<u64>,
    #[serde(default)]
    pub miner_reward: Option<u64>,
    #[serde(default)]
    pub version: Option<String>,
}

/// `get_block_template`.
#[derive(Clone, Debug, Deserialize)]
pub struct BlockTemplateReply {
    /// The BlockHeader hex (protocol.md §1.1).
    pub template: String,
    pub height: u64,
    pub topoheight: u64,
    /// The block target difficulty at the template's tips.
    #[serde(deserialize_with = "difficulty")]
    pub difficulty: Difficulty,
}

/// `get_block_by_hash` (BlockResponse), the fields the pool uses.
#[derive(Clone, Debug, Deserialize)]
pub struct BlockInfo {
    pub hash: String,
    /// None when the block is not (or no longer) in the DAG order.
    pub topoheight: Option<u64>,
    pub height: u64,
    /// "Normal" | "Side" | "Sync" | "Orphaned".
    pub block_type: String,
    pub reward: Option<u64>,
    pub miner_reward: Option<u64>,
    /// Present only with `include_txs: true`.
    #[serde(default)]
    pub total_fees: Option<u64>,
    pub miner: String,
    pub timestamp: u64,
}

/// `get_transaction` (protocol.md §3.2), the fields the payer uses.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct TransactionInfo {
    pub hash: String,
    /// Waiting in the node's mempool: **not** confirmed.
    #[serde(default)]
    pub in_mempool: bool,
    /// The block that executed it; `None` while it is not executed (yet, or any more).
    #[serde(default)]
    pub executed_in_block: Option<String>,
    /// The blocks that include it (a DAG may include it in several; one executes it).
    #[serde(default)]
    pub blocks: Option<Vec<String>>,
}

/// `get_transaction_executor`: where a transaction was executed.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct TransactionExecutor {
    pub block_topoheight: u64,
    pub block_timestamp: u64,
    pub block_hash: String,
}
