//! The event bus's publishing side (issue 9): a found block, a node going down and coming back, a
//! GPU taken out of service and the verifier switching — each arrives on `Pool.bus`.

mod support;

use pool_core::hash::Hash;
use pool_core::{BackendMode, CpuImpl, CpuVerifier, MinerWork, VerifyBackend, VerifyEngine, VerifyError};
use std::sync::Arc;
use std::time::Duration;
use support::*;
use tokio::sync::broadcast;
use tos_pool::devnet::node::DevnetNode;
use tos_pool::events::PoolEvent;
use tos_pool::pool::{Pool, Tuning};
use tos_pool::share_stage::MemorySink;

/// The next event `want` accepts, skipping others, within `within`.
async fn next_event(
    rx: &mut broadcast::Receiver<PoolEvent>,
    within: Duration,
    want: impl Fn(&PoolEvent) -> bool,
) -> PoolEvent {
    tokio::time::timeout(within, async {
        loop {
            match rx.recv().await {
                Ok(e) if want(&e) => return e,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("the bus closed"),
            }
        }
    })
    .await
    .expect("the event in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_found_block_and_a_node_going_down_and_up_are_published() {
    let node = Node::start(DevnetNode::new()).await;
    // Share difficulty = network difficulty: every valid share is a block.
    let (pool, _sink) = pool(config(&[node.url()], "1000")).await;
    let mut rx = pool.bus.subscribe();
    let mut m = Client::connect(&pool);
    let w = m.login("rig").await;
    let nonce = find_nonce(&w.header, &[w.target], &[], 0);
    assert_eq!(m.submit(10, &w.job, nonce).await["result"], true);
    let block_id = hex::encode(w.header.with_nonce(nonce).block_id());
    let e = next_event(&mut rx, Duration::from_secs(10), |e| matches!(e, PoolEvent::BlockFound { .. })).await;
    let PoolEvent::BlockFound { hash, height, finder, worker } = e else { unreachable!() };
    assert_eq!((hash, height, worker.as_str()), (block_id, w.height, "rig"));
    assert_eq!(format!("{finder}.rig"), login("rig"));

    let url = node.url();
    let (chain, addr) = node.stop().await;
    let e = next_event(&mut rx, Duration::from_secs(20), |e| matches!(e, PoolEvent::NodeDown { .. })).await;
    assert!(matches!(&e, PoolEvent::NodeDown { url: u, .. } if *u == url), "{e:?}");
    let _node = Node::start_on(chain, addr).await;
    let e = next_event(&mut rx, Duration::from_secs(20), |e| matches!(e, PoolEvent::NodeUp { .. })).await;
    assert_eq!(e, PoolEvent::NodeUp { url });
    pool.shutdown().await;
}

/// A "GPU" that has lost its device.
struct LostDevice;

impl VerifyBackend for LostDevice {
    fn describe(&self) -> String {
        "lost device".into()
    }
    fn hash_batch(&self, _: &[MinerWork]) -> Result<Vec<Hash>, VerifyError> {
        Err(VerifyError::DeviceLost("simulated".into()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gpu_taken_out_of_service_is_published_with_its_reason_then_the_switch_to_the_cpu() {
    let node = Node::start(DevnetNode::new()).await;
    let cpu = Arc::new(CpuVerifier::new(1, CpuImpl::best()).unwrap());
    let engine = Arc::new(VerifyEngine::new(cpu, Some(Arc::new(LostDevice)), BackendMode::Gpu, 100).unwrap());
    let cfg = config(&[node.url()], "1").check().unwrap();
    let pool = Pool::start_on(&cfg, MemorySink::new(), Tuning::default(), Some(engine)).await.unwrap();
    let mut rx = pool.bus.subscribe();
    let mut m = Client::connect(&pool);
    let w = m.login("rig").await;
    let nonce = find_nonce(&w.header, &[], &[], 0);
    assert_eq!(m.submit(10, &w.job, nonce).await["result"], true, "verified on the CPU instead");
    let e = next_event(&mut rx, Duration::from_secs(10), |e| matches!(e, PoolEvent::GpuOutOfService { .. }))
        .await;
    assert!(matches!(&e, PoolEvent::GpuOutOfService { reason } if reason.contains("device lost")), "{e:?}");
    let e = next_event(&mut rx, Duration::from_secs(5), |e| matches!(e, PoolEvent::VerifierSwitched { .. }))
        .await;
    assert_eq!(e, PoolEvent::VerifierSwitched { mode: "gpu".into(), using_gpu: false });
    // An operator's switch is published too.
    pool.engine.set_mode(BackendMode::Cpu).unwrap();
    let e = next_event(&mut rx, Duration::from_secs(5), |e| matches!(e, PoolEvent::VerifierSwitched { .. }))
        .await;
    assert_eq!(e, PoolEvent::VerifierSwitched { mode: "cpu".into(), using_gpu: false });
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_no_node_accepted_is_published_as_refused() {
    let node = Node::start(DevnetNode::new()).await;
    let (pool, _sink) = pool(config(&[node.url()], "1000")).await;
    let mut rx = pool.bus.subscribe();
    let mut m = Client::connect(&pool);
    let w = m.login("rig").await;
    let _stopped = node.stop().await;
    let nonce = find_nonce(&w.header, &[w.target], &[], 0);
    assert_eq!(m.submit(10, &w.job, nonce).await["result"], true);
    let block_id = hex::encode(w.header.with_nonce(nonce).block_id());
    // Shutdown gives the submission one last attempt, then it is given up.
    tokio::time::timeout(Duration::from_secs(30), pool.shutdown()).await.expect("shutdown completes");
    let e =
        next_event(&mut rx, Duration::from_secs(5), |e| matches!(e, PoolEvent::BlockRefused { .. })).await;
    assert_eq!(e, PoolEvent::BlockRefused { hash: block_id, height: w.height });
}
