//! Watches the verifier engine and the upstream nodes and publishes their transitions on the
//! [`EventBus`]: `gpu_out_of_service` (with the reason), `verifier_switched`, `node_down`,
//! `node_up`. Polling a cheap status (atomics and short mutexes) keeps the engine and the node
//! client free of any knowledge of the bus, and catches every cause of a change — the admin
//! switch, `auto`'s calibration, a faulty GPU — in one place.

use crate::events::{EventBus, PoolEvent};
use crate::node::Upstreams;
use crate::node::upstreams::UpstreamStatus;
use pool_core::VerifyEngine;
use pool_core::engine::EngineStatus;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the status is read: fast enough for an operator watching the switch.
pub const EVERY: Duration = Duration::from_millis(250);

/// What the watcher last saw of the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
struct VerifierSeen {
    mode: String,
    using_gpu: bool,
    out_of_service: Option<String>,
}

impl From<&EngineStatus> for VerifierSeen {
    fn from(s: &EngineStatus) -> Self {
        VerifierSeen {
            mode: s.mode.to_string(),
            using_gpu: s.using_gpu,
            out_of_service: s.gpu_out_of_service.clone(),
        }
    }
}

/// The events between two readings of the engine.
fn verifier_events(before: &VerifierSeen, now: &VerifierSeen) -> Vec<PoolEvent> {
    let mut out = Vec::new();
    if before.out_of_service.is_none()
        && let Some(reason) = &now.out_of_service
    {
        out.push(PoolEvent::GpuOutOfService { reason: reason.clone() });
    }
    if (before.mode.as_str(), before.using_gpu) != (now.mode.as_str(), now.using_gpu) {
        out.push(PoolEvent::VerifierSwitched { mode: now.mode.clone(), using_gpu: now.using_gpu });
    }
    out
}

/// The events between two readings of the nodes (by URL; a node is healthy when it answers and
/// can serve this pool).
fn node_events(before: &HashMap<String, bool>, now: &[UpstreamStatus]) -> Vec<PoolEvent> {
    now.iter()
        .filter_map(|n| {
            let healthy = n.healthy && n.refused.is_none();
            match (before.get(&n.url).copied().unwrap_or(true), healthy) {
                (true, false) => Some(PoolEvent::NodeDown {
                    url: n.url.clone(),
                    reason: n.refused.clone().unwrap_or_else(|| "it stopped answering".into()),
                }),
                (false, true) => Some(PoolEvent::NodeUp { url: n.url.clone() }),
                _ => None,
            }
        })
        .collect()
}

fn healthy_map(now: &[UpstreamStatus]) -> HashMap<String, bool> {
    now.iter().map(|n| (n.url.clone(), n.healthy && n.refused.is_none())).collect()
}

/// Runs until `stop`, publishing every transition seen.
pub async fn run(engine: Arc<VerifyEngine>, upstreams: Upstreams, bus: EventBus, stop: CancellationToken) {
    let mut verifier = VerifierSeen::from(&engine.status());
    let mut nodes = healthy_map(&upstreams.status());
    let mut every = tokio::time::interval(EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stop.cancelled() => return,
        }
        let now = VerifierSeen::from(&engine.status());
        for e in verifier_events(&verifier, &now) {
            bus.publish(e);
        }
        verifier = now;
        let status = upstreams.status();
        for e in node_events(&nodes, &status) {
            bus.publish(e);
        }
        nodes = healthy_map(&status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(mode: &str, using_gpu: bool, oos: Option<&str>) -> VerifierSeen {
        VerifierSeen { mode: mode.into(), using_gpu, out_of_service: oos.map(Into::into) }
    }

    #[test]
    fn a_gpu_fault_is_reported_once_with_its_reason_and_the_switch_to_the_cpu() {
        let before = seen("gpu", true, None);
        let after = seen("gpu", false, Some("GPU batch failed: device lost"));
        assert_eq!(
            verifier_events(&before, &after),
            vec![
                PoolEvent::GpuOutOfService { reason: "GPU batch failed: device lost".into() },
                PoolEvent::VerifierSwitched { mode: "gpu".into(), using_gpu: false },
            ]
        );
        assert!(verifier_events(&after, &after).is_empty());
    }

    #[test]
    fn nodes_are_reported_on_transitions_only() {
        let status = |healthy: bool, refused: Option<&str>| UpstreamStatus {
            url: "http://n".into(),
            healthy,
            topoheight: 1,
            refused: refused.map(Into::into),
        };
        let up = healthy_map(&[status(true, None)]);
        assert!(node_events(&up, &[status(true, None)]).is_empty());
        assert!(matches!(&node_events(&up, &[status(true, Some("wrong network"))])[..],
            [PoolEvent::NodeDown { reason, .. }] if reason == "wrong network"));
        let down = healthy_map(&[status(false, None)]);
        assert_eq!(
            node_events(&down, &[status(true, None)]),
            vec![PoolEvent::NodeUp { url: "http://n".into() }]
        );
    }
}
