//! The pool's event bus: what happened, as it happens, for anyone who listens (the WebSocket feed,
//! webhooks, the log). Publishing never blocks and never fails: with no listener an event is dropped,
//! and a listener that falls more than [`CAPACITY`] events behind loses the oldest and is told how
//! many (tokio's `broadcast` semantics), so a slow consumer can never hold up the pool.

use serde::Serialize;
use tokio::sync::broadcast;

/// Events buffered per listener before the slowest loses the oldest.
pub const CAPACITY: usize = 1024;

/// Something a miner, an operator or an integration wants to hear about.
/// Amounts are atomic units (8 decimals) as strings; difficulties are decimal strings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum PoolEvent {
    /// A block-grade share was found and submitted (it may still be refused by the nodes).
    BlockFound {
        hash: String,
        height: u64,
        finder: String,
        worker: String,
    },
    /// No node accepted a found block: every node refused it, or none answered before the
    /// submitter gave up (its template and work are in the log for resubmission).
    BlockRefused {
        hash: String,
        height: u64,
    },
    /// A block reached maturity and its reward was credited.
    BlockMatured {
        hash: String,
        height: u64,
        reward: String,
    },
    /// A block left the main chain for good.
    BlockOrphaned {
        hash: String,
        height: u64,
    },
    /// A payout transaction was submitted to the network.
    PaymentSent {
        tx_hash: String,
        recipients: u32,
        total: String,
    },
    /// A payout transaction was executed in a stable block.
    PaymentConfirmed {
        tx_hash: String,
    },
    /// A payout could not be made (the balances were restored; the reason says what to do).
    PaymentFailed {
        reason: String,
        recipients: u32,
        total: String,
    },
    /// The GPU was taken out of service; verification continues on the CPU.
    GpuOutOfService {
        reason: String,
    },
    /// The verifier backend was switched (by an operator or by `auto`).
    VerifierSwitched {
        mode: String,
        using_gpu: bool,
    },
    /// An upstream node stopped answering (or started again).
    NodeDown {
        url: String,
        reason: String,
    },
    NodeUp {
        url: String,
    },
}

impl PoolEvent {
    /// The name used in webhook configuration and in WebSocket messages.
    pub fn name(&self) -> &'static str {
        match self {
            PoolEvent::BlockFound { .. } => "block_found",
            PoolEvent::BlockRefused { .. } => "block_refused",
            PoolEvent::BlockMatured { .. } => "block_matured",
            PoolEvent::BlockOrphaned { .. } => "block_orphaned",
            PoolEvent::PaymentSent { .. } => "payment_sent",
            PoolEvent::PaymentConfirmed { .. } => "payment_confirmed",
            PoolEvent::PaymentFailed { .. } => "payment_failed",
            PoolEvent::GpuOutOfService { .. } => "gpu_out_of_service",
            PoolEvent::VerifierSwitched { .. } => "verifier_switched",
            PoolEvent::NodeDown { .. } => "node_down",
            PoolEvent::NodeUp { .. } => "node_up",
        }
    }

    /// The address of the miner this event concerns, if any (for `miner:<address>` topics).
    pub fn miner(&self) -> Option<&str> {
        match self {
            PoolEvent::BlockFound { finder, .. } => Some(finder),
            _ => None,
        }
    }
}

/// Every event name, for checking configuration.
pub const EVENT_NAMES: [&str; 11] = [
    "block_found",
    "block_refused",
    "block_matured",
    "block_orphaned",
    "payment_sent",
    "payment_confirmed",
    "payment_failed",
    "gpu_out_of_service",
    "verifier_switched",
    "node_down",
    "node_up",
];

/// A cheap handle to the bus; clone it into every task that publishes or listens.
#[derive(Clone, Debug)]
pub struct EventBus {
    tx: broadcast::Sender<PoolEvent>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus { tx: broadcast::channel(CAPACITY).0 }
    }
}

impl EventBus {
    /// Publishes an event to every current listener; never blocks.
    pub fn publish(&self, event: PoolEvent) {
        tracing::debug!(event = event.name(), "pool event");
        let _ = self.tx.send(event);
    }

    /// A new listener, hearing events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<PoolEvent> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_listed_and_unique() {
        let e = PoolEvent::NodeUp { url: "x".into() };
        assert!(EVENT_NAMES.contains(&e.name()));
        let mut names = EVENT_NAMES.to_vec();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), EVENT_NAMES.len());
    }

    #[test]
    fn serialises_with_its_name() {
        let e = PoolEvent::BlockOrphaned { hash: "ab".into(), height: 7 };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["event"], e.name());
        assert_eq!(v["height"], 7);
    }

    #[tokio::test]
    async fn a_slow_listener_loses_the_oldest_not_the_publisher() {
        let bus = EventBus::default();
        let mut rx = bus.subscribe();
        for i in 0..(CAPACITY as u64 + 10) {
            bus.publish(PoolEvent::BlockOrphaned { hash: String::new(), height: i });
        }
        assert!(matches!(rx.recv().await, Err(broadcast::error::RecvError::Lagged(10))));
        assert!(matches!(rx.recv().await, Ok(PoolEvent::BlockOrphaned { height: 10, .. })));
    }
}
