//! Transactions on the daemons (protocol.md §3.2, §4): submitting a signed transaction's hex to
//! every usable node, and finding out where a transaction is — executed (and whether that block is
//! stable), waiting in a mempool, or unknown.
//!
//! What a refusal means decides whether the payer may ever give a payout's money back, so it is
//! read conservatively ([`Submission`]):
//! * "already in mempool / in chain / executed" is as good as accepted;
//! * only a refusal that can never change — the transaction's nonce is already used by another
//!   transaction, or the node cannot parse the hex at all — is [`Submission::RefusedForGood`];
//! * everything else (balance, a nonce ahead, a full mempool, an unknown message, no answer) is
//!   [`Submission::NotNow`]: the same hex is simply submitted again later.

use super::client::NodeError;
use super::upstreams::Upstreams;

/// What the nodes said to a submitted transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Submission {
    /// At least one node took it into its mempool.
    Accepted,
    /// A node already has it (mempool or chain): as good as accepted.
    AlreadyKnown(String),
    /// Every node that answered refused it for a reason that cannot change.
    RefusedForGood(String),
    /// Refused for now, or no node answered: submit the same hex again later.
    NotNow(String),
}

impl Submission {
    /// The transaction is (now) in a node's hands.
    pub fn is_taken(&self) -> bool {
        matches!(self, Submission::Accepted | Submission::AlreadyKnown(_))
    }
}

/// One node's answer, classified.
pub fn classify(r: &Result<(), NodeError>) -> Submission {
    let e = match r {
        Ok(()) => return Submission::Accepted,
        Err(e) => e,
    };
    let NodeError::Rpc { message, code, .. } = e else {
        return Submission::NotNow(e.to_string());
    };
    let m = message.to_ascii_lowercase();
    let known = [
        "already in mempool",
        "already in chain",
        "already in blockchain",
        "already in block",
        "already executed",
    ];
    if known.iter().any(|k| m.contains(k)) {
        return Submission::AlreadyKnown(message.clone());
    }
    let nonce_used = m.contains("nonce") && (m.contains("already used") || m.contains("too low"));
    // -32602: the node cannot even read the hex (it never will).
    if nonce_used || *code == -32602 {
        return Submission::RefusedForGood(e.to_string());
    }
    Submission::NotNow(e.to_string())
}

/// Where a transaction is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxStatus {
    /// Executed in `block` at `topoheight`; `stable` once that topoheight is at or below the
    /// node's stable topoheight (it can no longer be reorganised away).
    Executed { block: String, topoheight: u64, stable: bool },
    /// Waiting in a node's mempool: not confirmed.
    InMempool,
    /// No node knows it. `all_answered`: every usable node answered "not found" (none was silent).
    Unknown { all_answered: bool },
}

impl Upstreams {
    /// Submits `tx_hex` to every usable node at once (see [`Submission`] for the verdict).
    pub async fn submit_transaction(&self, tx_hex: &str) -> Submission {
        let nodes: Vec<_> = self.nodes().iter().collect();
        if nodes.is_empty() {
            return Submission::NotNow("no node configured".into());
        }
        let answers =
            futures::future::join_all(nodes.iter().map(|n| n.client.submit_transaction(tx_hex))).await;
        let verdicts: Vec<Submission> = answers.iter().map(classify).collect();
        if verdicts.contains(&Submission::Accepted) {
            return Submission::Accepted;
        }
        if let Some(k) = verdicts.iter().find(|v| matches!(v, Submission::AlreadyKnown(_))) {
            return k.clone();
        }
        if verdicts.iter().all(|v| matches!(v, Submission::RefusedForGood(_))) {
            let why: Vec<String> = verdicts
                .into_iter()
                .map(|v| match v {
                    Submission::RefusedForGood(w) => w,
                    _ => unreachable!("all refused for good"),
                })
                .collect();
            return Submission::RefusedForGood(why.join("; "));
        }
        let why: Vec<String> = verdicts
            .into_iter()
            .filter_map(|v| match v {
                Submission::NotNow(w) | Submission::RefusedForGood(w) => Some(w),
                _ => None,
            })
            .collect();
        Submission::NotNow(why.join("; "))
    }

    /// Looks `hash` up on every node, in order: the first that has it executed wins (with its
    /// stability), else any mempool holding it. `Err` when no node answered at all.
    pub async fn transaction_status(&self, hash: &str) -> Result<TxStatus, NodeError> {
        let mut in_mempool = false;
        let mut answered = 0usize;
        let mut last_err = None;
        for node in self.nodes() {
            match node.client.get_transaction(hash).await {
                Ok(Some(t)) => {
                    answered += 1;
                    if let Some(block) = t.executed_in_block {
                        let executor = node.client.get_transaction_executor(hash).await;
                        let info = node.client.get_info().await;
                        return Ok(match (executor, info) {
                            (Ok(x), Ok(i)) => TxStatus::Executed {
                                block: x.block_hash,
                                topoheight: x.block_topoheight,
                                stable: x.block_topoheight <= i.stable_topoheight,
                            },
                            // Executed, but where or how final is not known yet: not stable.
                            _ => TxStatus::Executed { block, topoheight: 0, stable: false },
                        });
                    }
                    in_mempool |= t.in_mempool;
                }
                Ok(None) => answered += 1,
                Err(e) => last_err = Some(e),
            }
        }
        if in_mempool {
            return Ok(TxStatus::InMempool);
        }
        match (answered, last_err) {
            (0, Some(e)) => Err(e),
            (_, e) => Ok(TxStatus::Unknown { all_answered: e.is_none() }),
        }
    }

    /// The lowest stable topoheight of the nodes that answer (`None` when none does): what every
    /// answering node holds final.
    pub async fn lowest_stable_topoheight(&self) -> Option<u64> {
        let mut lowest: Option<u64> = None;
        for node in self.nodes() {
            if let Ok(i) = node.client.get_info().await {
                lowest = Some(lowest.map_or(i.stable_topoheight, |l| l.min(i.stable_topoheight)));
            }
        }
        lowest
    }

    /// The highest topoheight any node reports (`None` when no node answers).
    pub async fn topoheight(&self) -> Option<u64> {
        let mut best = None;
        for node in self.nodes() {
            if let Ok(i) = node.client.get_info().await {
                best = best.max(Some(i.topoheight));
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rpc(code: i64, message: &str) -> Result<(), NodeError> {
        Err(NodeError::Rpc {
            url: "n".into(),
            method: "submit_transaction".into(),
            code,
            message: message.into(),
        })
    }

    #[test]
    fn only_unchangeable_refusals_are_for_good() {
        assert_eq!(classify(&Ok(())), Submission::Accepted);
        assert!(matches!(classify(&rpc(200, "Tx abc is already in mempool")), Submission::AlreadyKnown(_)));
        assert!(matches!(classify(&rpc(200, "Tx abc already in blockchain")), Submission::AlreadyKnown(_)));
        assert!(matches!(
            classify(&rpc(200, "Transaction nonce 4 is already used (account nonce 6)")),
            Submission::RefusedForGood(_)
        ));
        assert!(matches!(
            classify(&rpc(-32602, "Invalid transaction: bad magic")),
            Submission::RefusedForGood(_)
        ));
        // Could change: funds may arrive, a gap may fill, the mempool may drain; unknown words too.
        for m in ["Insufficient funds", "Transaction nonce 9 is ahead of 6", "mempool is full", "who knows"] {
            assert!(matches!(classify(&rpc(200, m)), Submission::NotNow(_)), "{m}");
        }
        let down = Err(NodeError::Transport { url: "n".into(), reason: "connection refused".into() });
        assert!(matches!(classify(&down), Submission::NotNow(_)));
    }
}
