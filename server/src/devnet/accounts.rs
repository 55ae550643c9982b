//! The simulated node's accounts: plain balances and nonces per key, a transaction mempool, and
//! the transactions each block executed. Kept simple and consistent with the simulated chain:
//!
//! * A block credits its miner with its `miner_reward` when it is added — except the blocks the
//!   node orphans (every 25th height, see `node.rs`), which credit nothing and execute nothing.
//! * `submit_transaction` takes a devnet transaction ([`super::transaction`]) whose nonce is
//!   exactly the source's next one (its account nonce plus its transactions already in the
//!   mempool) and whose cost the source can pay beyond those; it waits in the mempool until the
//!   next block, which executes it (debit, credits, nonce + 1; the fee is burned). It is stable
//!   [`STABLE_LIMIT`](super::node::STABLE_LIMIT) topoheights later, as blocks are.
//! * Refusals speak like the real node's: already in mempool / in blockchain, a nonce already used
//!   (never valid again), a nonce ahead, insufficient funds, an unreadable transaction.
//! * Test switches: [`TxFaults`] (refuse every submission for now), [`Accounts::drop_mempool`]
//!   (a node restart that loses its mempool).

use super::transaction::DevnetTx;
use crate::rpc::RpcError;
use std::collections::HashMap;

/// A transaction a block executed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Executed {
    pub hash: [u8; 32],
    pub tx: DevnetTx,
    pub block: [u8; 32],
    pub topoheight: u64,
    pub timestamp_ms: u64,
}

/// Where a transaction is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxPlace<'a> {
    Mempool(&'a DevnetTx),
    Executed(&'a Executed),
}

/// Switches for tests.
#[derive(Clone, Debug, Default)]
pub struct TxFaults {
    /// Every `submit_transaction` is refused with this message (a temporary refusal).
    pub refuse_submissions: Option<String>,
}

#[derive(Default)]
pub struct Accounts {
    balances: HashMap<[u8; 32], u64>,
    nonces: HashMap<[u8; 32], u64>,
    /// In submission order.
    mempool: Vec<([u8; 32], DevnetTx)>,
    executed: HashMap<[u8; 32], Executed>,
    /// Executed hashes, in execution order.
    history: Vec<[u8; 32]>,
    /// `submit_transaction` calls per hash (taken or not).
    submissions: HashMap<[u8; 32], u32>,
    pub faults: TxFaults,
}

impl Accounts {
    pub fn balance(&self, key: &[u8; 32]) -> u64 {
        self.balances.get(key).copied().unwrap_or(0)
    }

    /// The account nonce (transactions executed from `key`).
    pub fn nonce(&self, key: &[u8; 32]) -> u64 {
        self.nonces.get(key).copied().unwrap_or(0)
    }

    /// What `key`'s mempool transactions will take.
    pub fn pending_cost(&self, key: &[u8; 32]) -> u128 {
        self.mempool.iter().filter(|(_, t)| &t.source == key).map(|(_, t)| t.cost()).sum()
    }

    /// The nonce the next transaction from `key` must carry (mempool counted).
    pub fn next_nonce(&self, key: &[u8; 32]) -> u64 {
        self.nonce(key) + self.mempool.iter().filter(|(_, t)| &t.source == key).count() as u64
    }

    /// The balance less what the mempool will take.
    pub fn spendable(&self, key: &[u8; 32]) -> u64 {
        (self.balance(key) as u128).saturating_sub(self.pending_cost(key)) as u64
    }

    pub fn credit(&mut self, key: &[u8; 32], amount: u64) {
        let b = self.balances.entry(*key).or_insert(0);
        *b = b.saturating_add(amount);
    }

    pub fn submissions(&self, hash: &[u8; 32]) -> u32 {
        self.submissions.get(hash).copied().unwrap_or(0)
    }

    pub fn find(&self, hash: &[u8; 32]) -> Option<TxPlace<'_>> {
        if let Some(e) = self.executed.get(hash) {
            return Some(TxPlace::Executed(e));
        }
        self.mempool.iter().find(|(h, _)| h == hash).map(|(_, t)| TxPlace::Mempool(t))
    }

    /// Every executed transaction, in execution order.
    pub fn history(&self) -> Vec<Executed> {
        self.history.iter().map(|h| self.executed[h].clone()).collect()
    }

    pub fn mempool_len(&self) -> usize {
        self.mempool.len()
    }

    /// Loses the mempool, as a node restart does.
    pub fn drop_mempool(&mut self) {
        self.mempool.clear();
    }

    /// `submit_transaction`.
    pub fn submit(&mut self, hex: &str) -> Result<(), RpcError> {
        let tx = DevnetTx::from_hex(hex)
            .map_err(|e| RpcError::invalid_params(format!("Invalid transaction: {e}")))?;
        let hash = tx.hash();
        *self.submissions.entry(hash).or_insert(0) += 1;
        if let Some(why) = &self.faults.refuse_submissions {
            return Err(RpcError::new(-32004, why.clone()));
        }
        let h = hex::encode(hash);
        if self.executed.contains_key(&hash) {
            return Err(RpcError::new(200 + 11, format!("Tx {h} is already in blockchain")));
        }
        if self.mempool.iter().any(|(m, _)| *m == hash) {
            return Err(RpcError::new(200 + 12, format!("Tx {h} is already in mempool")));
        }
        let account = self.nonce(&tx.source);
        let next = self.next_nonce(&tx.source);
        if tx.nonce < account {
            return Err(RpcError::new(
                200 + 13,
                format!("Transaction nonce {} is already used (account nonce is {account})", tx.nonce),
            ));
        }
        if tx.nonce != next {
            return Err(RpcError::new(
                200 + 14,
                format!("Transaction nonce {} does not follow the mempool (next is {next})", tx.nonce),
            ));
        }
        if tx.fee < tx.required_fee() {
            return Err(RpcError::new(
                200 + 15,
                format!("Fee {} is below the required {}", tx.fee, tx.required_fee()),
            ));
        }
        let spendable = self.spendable(&tx.source);
        if tx.cost() > spendable as u128 {
            return Err(RpcError::new(
                200 + 16,
                format!(
                    "Insufficient funds: the transaction needs {} and the account has {spendable}",
                    tx.cost()
                ),
            ));
        }
        self.mempool.push((hash, tx));
        Ok(())
    }

    /// A block was added: its miner earns `miner_reward`, and it executes the mempool, unless the
    /// node will orphan it (`counts` false).
    pub fn on_block(
        &mut self,
        block: [u8; 32],
        topoheight: u64,
        timestamp_ms: u64,
        miner: [u8; 32],
        miner_reward: u64,
        counts: bool,
    ) {
        if !counts {
            return;
        }
        self.credit(&miner, miner_reward);
        let mut pending = std::mem::take(&mut self.mempool);
        pending.sort_by_key(|(_, t)| (t.source, t.nonce));
        for (hash, tx) in pending {
            let payable = self.balance(&tx.source) as u128 >= tx.cost();
            if tx.nonce != self.nonce(&tx.source) || !payable {
                continue; // cannot execute any more: dropped
            }
            let cost = u64::try_from(tx.cost()).expect("checked against a u64 balance");
            *self.balances.get_mut(&tx.source).expect("payable") -= cost;
            *self.nonces.entry(tx.source).or_insert(0) += 1;
            for (dest, amount) in &tx.transfers {
                self.credit(dest, *amount);
            }
            self.history.push(hash);
            self.executed.insert(hash, Executed { hash, tx, block, topoheight, timestamp_ms });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(nonce: u64, amounts: &[u64]) -> DevnetTx {
        let mut t = DevnetTx {
            source: [9; 32],
            nonce,
            salt: rand::random(),
            fee: 0,
            transfers: amounts.iter().enumerate().map(|(i, a)| ([i as u8; 32], *a)).collect(),
        };
        t.fee = t.required_fee();
        t
    }

    #[test]
    fn a_transaction_executes_once_at_the_next_block() {
        let mut a = Accounts::default();
        a.credit(&[9; 32], 1_000_000);
        let t = tx(0, &[100, 200]);
        assert_eq!(a.submit(&t.to_hex()), Ok(()));
        assert!(a.submit(&t.to_hex()).unwrap_err().message.contains("already in mempool"));
        assert_eq!(a.next_nonce(&[9; 32]), 1);
        assert!(matches!(a.find(&t.hash()), Some(TxPlace::Mempool(_))));
        a.on_block([1; 32], 5, 0, [3; 32], 50, true);
        assert!(matches!(a.find(&t.hash()), Some(TxPlace::Executed(e)) if e.topoheight == 5));
        assert_eq!(a.balance(&[9; 32]), 1_000_000 - 300 - t.fee);
        assert_eq!((a.balance(&[0; 32]), a.balance(&[1; 32]), a.balance(&[3; 32])), (100, 200, 50));
        assert!(a.submit(&t.to_hex()).unwrap_err().message.contains("already in blockchain"));
        assert_eq!(a.submissions(&t.hash()), 3);
        // Another transaction with the used nonce can never execute.
        let stale = tx(0, &[5]);
        assert!(a.submit(&stale.to_hex()).unwrap_err().message.contains("already used"));
        assert!(a.submit(&tx(7, &[5]).to_hex()).unwrap_err().message.contains("does not follow"));
        let broke = tx(1, &[10_000_000]);
        assert!(a.submit(&broke.to_hex()).unwrap_err().message.contains("Insufficient funds"));
        assert_eq!(a.history().len(), 1);
    }

    #[test]
    fn orphaned_blocks_credit_and_execute_nothing() {
        let mut a = Accounts::default();
        a.credit(&[9; 32], 1_000_000);
        let t = tx(0, &[1]);
        a.submit(&t.to_hex()).unwrap();
        a.on_block([1; 32], 25, 0, [3; 32], 50, false);
        assert_eq!((a.balance(&[3; 32]), a.mempool_len()), (0, 1));
        a.drop_mempool();
        assert_eq!(a.find(&t.hash()), None);
    }
}
