//! The share service in process (issue 7): the share stage, the job feed, the block submitter and
//! the lifecycle, driven through the library's public API with Stratum clients over
//! `tokio::io::duplex` and a simulated node on loopback.

mod support;

use pool_core::hash::Hash;
use pool_core::{
    BackendMode, CpuImpl, CpuVerifier, Difficulty, MinerWork, VerifyBackend, VerifyEngine, VerifyError,
};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use support::*;
use tos_pool::devnet::node::DevnetNode;
use tos_pool::pool::{Pool, Tuning};
use tos_pool::share_stage::{BlockOutcome, MemorySink};

fn network_target() -> pool_core::Target {
    Difficulty::from_u64(tos_pool::devnet::node::MIN_DIFFICULTY).unwrap().target()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miner_restarting_its_nonces_on_every_notify_gets_no_duplicates_at_connect() {
    let node = Node::start(DevnetNode::new()).await;
    let (pool, sink) = pool(config(&[node.url()], "1")).await;
    let mut m = Client::connect(&pool);
    let first = m.login("rig").await;
    // Difficulty 1: every nonce is a share. tosminer starts from its start nonce on every notify;
    // its devices miss the first notify and get the re-issue (§2.2).
    let nonces: Vec<u64> =
        (0..3).map(|i| find_nonce(&first.header, &[], &[network_target()], i * 1000)).collect();
    for (i, n) in nonces.iter().enumerate() {
        assert_eq!(m.submit(10 + i as u64, &first.job, *n).await["result"], true);
    }
    let again = m.notify().await;
    assert_ne!(again.header, first.header, "the re-issue is fresh work: a new header");
    assert_ne!(again.job, first.job);
    let nonces: Vec<u64> =
        (0..3).map(|i| find_nonce(&again.header, &[], &[network_target()], i * 1000)).collect();
    for (i, n) in nonces.iter().enumerate() {
        let r = m.submit(20 + i as u64, &again.job, *n).await;
        assert_eq!(r["result"], true, "the same nonces on the re-issue are new shares: {r}");
    }
    assert_eq!(sink.share_count(), 6);
    assert!(m.line_within(Duration::from_secs(2)).await.is_none(), "re-issued once only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_re_issue_after_authorize_when_other_work_went_out() {
    let node = Node::start(DevnetNode::new()).await;
    let (pool, _) = pool(config(&[node.url()], "1")).await;
    let mut m = Client::connect(&pool);
    let first = m.login("rig").await;
    // Another miner finds a block: the new height goes out at once, before the re-issue is due.
    let n = node.node.clone();
    tokio::task::spawn_blocking(move || n.mine_one()).await.unwrap();
    let next = m.notify().await;
    assert_eq!(next.height, first.height + 1);
    assert!(next.clean);
    assert!(m.line_within(Duration::from_millis(2500)).await.is_none(), "no re-issue: work went out since");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_churn_ten_times_a_second_is_paced_and_old_jobs_of_the_height_stay_valid() {
    let node = Node::start(DevnetNode::new()).await;
    tokio::spawn(node.node.clone().churn_mempool(10));
    let mut cfg = config(&[node.url()], "1");
    cfg.node.job_refresh_min_ms = 1_000;
    let (pool, _) = pool(cfg).await;
    let mut m = Client::connect(&pool);
    let first = m.login("rig").await;
    let started = tokio::time::Instant::now();
    let mut notifies = Vec::new();
    while started.elapsed() < Duration::from_secs(4) {
        if let Some(line) = m.line_within(Duration::from_millis(100)).await {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            if v["method"] == "mining.notify" {
                notifies.push(Work::from_notify(&v));
            }
        }
    }
    // The re-issue after authorize plus at most one transaction change a second (40 changes were
    // offered).
    assert!((2..=6).contains(&notifies.len()), "{} notifies in 4 s", notifies.len());
    assert!(notifies.iter().all(|w| w.height == first.height && !w.clean), "same height, not clean");
    let changed = notifies.iter().filter(|w| w.header.work_hash() != first.header.work_hash()).count();
    assert!(changed >= 2, "transaction changes do reach miners ({changed})");
    // A share on the very first job, four seconds and several templates later: still valid.
    let n = find_nonce(&first.header, &[], &[network_target()], 0);
    let r = m.submit(50, &first.job, n).await;
    assert_eq!(r["result"], true, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_race_is_credited_as_the_previous_issue() {
    let node = Node::start(DevnetNode::new()).await;
    let (pool, sink) = pool(config(&[node.url()], "100")).await;
    let mut m = Client::connect(&pool);
    let a = m.login("rig").await;
    let b = m.notify().await; // the re-issue: newest now
    // tosminer found and checked this nonce on A's header, then labelled it with B's job id.
    let race = |from: u64| {
        (from..)
            .find(|&n| a.meets(n, &a.target) && !a.meets(n, &network_target()) && !b.meets(n, &b.target))
            .unwrap()
    };
    let nonce = race(0);
    let r = m.submit(10, &b.job, nonce).await;
    assert_eq!(r["result"], true, "credited as the previous issue: {r}");
    let credited = sink.recent_shares().pop().unwrap();
    assert_eq!(credited.job_id, a.job, "under the previous issue's id");
    assert_eq!(credited.difficulty, Difficulty::from_u64(100).unwrap());
    assert_eq!(pool.stats.race_credited.load(Ordering::Relaxed), 1);
    // Its duplicate key is the previous issue's.
    assert_eq!(code(&m.submit(11, &a.job, nonce).await), 22);
    // Meeting neither target: still low difficulty.
    let neither = (0u64..).find(|&n| !a.meets(n, &a.target) && !b.meets(n, &b.target)).unwrap();
    assert_eq!(code(&m.submit(12, &b.job, neither).await), 23);
    // Past the window (2 s after B went out), no retry.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let late = race(nonce + 1);
    assert_eq!(code(&m.submit(13, &b.job, late).await), 23);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_lines_keep_alives_and_exact_ids() {
    let node = Node::start(DevnetNode::new()).await;
    let (pool, _) = pool(config(&[node.url()], "1")).await;
    let mut m = Client::connect(&pool);
    // Keep-alives are ignored, however many (they banned an IP after six).
    for _ in 0..20 {
        assert!(m.send_raw(b"\n  \n\t\r\n").await);
    }
    assert_eq!(m.call(1, "mining.ping", json!([])).await["result"], "pong");
    // Binary and invalid UTF-8: a parse error, not a silent close.
    assert!(m.send_raw(b"\xff\xfe\x00\x01garbage\xc3\x28\n").await);
    let v: serde_json::Value = serde_json::from_str(&m.line().await.unwrap()).unwrap();
    assert_eq!(v, json!({"id": null, "result": null, "error": [-32700, "Parse error", null]}));
    // Request ids come back exactly as sent.
    let big = "1234567890123456789012345678901234567890";
    assert!(
        m.send_raw(format!("{{\"id\":{big},\"method\":\"mining.ping\",\"params\":[]}}\n").as_bytes()).await
    );
    assert_eq!(m.line().await.unwrap(), format!("{{\"id\":{big},\"result\":\"pong\",\"error\":null}}"));
    // A valid re-authorize is answered but sends no new work.
    let _first = m.login("rig").await;
    let _reissue = m.notify().await;
    for id in 10..13 {
        assert_eq!(m.call(id, "mining.authorize", json!([login("rig"), "x"])).await["result"], true);
    }
    assert!(m.line_within(Duration::from_millis(1_500)).await.is_none(), "no job per re-authorize");
    // Another login on the same connection is refused.
    assert_eq!(code(&m.call(14, "mining.authorize", json!([login("other"), "x"])).await), -1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorize_flood_is_limited_counted_as_junk_and_summarised() {
    let node = Node::start(DevnetNode::new()).await;
    let (pool, _) = pool(config(&[node.url()], "1")).await;
    let peer: std::net::SocketAddr = "198.51.100.9:5000".parse().unwrap();
    let mut m = Client::connect_from(&pool, peer);
    assert!(m.call(1, "mining.subscribe", json!([])).await["result"].is_array());
    let junk = format!("tos1{}", "q".repeat(900));
    let mut replies = 0;
    for id in 0..50u64 {
        if !m.send(json!({"id": 100 + id, "method": "mining.authorize", "params": [junk, "x"]})).await {
            break;
        }
        let mut line = m.line().await;
        while line.as_deref().is_some_and(|l| l.contains("\"method\"")) {
            line = m.line().await; // set_difficulty after subscribe
        }
        match line {
            Some(line) => {
                replies += 1;
                assert!(line.len() < 300, "no echo of the attacker's 900 characters: {line}");
            }
            None => break,
        }
    }
    // Five bad logins, then the authorize limit (itself junk): banned and closed.
    assert_eq!(replies, 6, "closed after a handful of bad logins");
    assert!(
        pool.ctx.bans().is_banned(peer.ip(), tos_pool::clock::now_ms()),
        "counted toward the abuse limit"
    );
    let events = pool.ctx.events.take();
    let count = |name: &str| events.iter().find(|(e, _, _)| *e == name).map_or(0, |e| e.1);
    assert_eq!(count("authorize_bad_address"), 5, "summarised: {events:?}");
    assert_eq!(count("authorize_rate_limited"), 1);
    assert_eq!(count("ip_banned_for_junk"), 1);
    let sample = &events.iter().find(|(e, _, _)| *e == "authorize_bad_address").unwrap().2;
    assert!(sample.chars().count() < 120, "the sample is clipped: {sample}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_node_for_max_job_age_shares_are_stale_and_miners_are_told() {
    let node = Node::start(DevnetNode::new()).await;
    let mut cfg = config(&[node.url()], "1");
    cfg.node.max_job_age_ms = 1_000;
    let (pool, sink) = pool(cfg).await;
    let mut m = Client::connect(&pool);
    let w = m.login("rig").await;
    let (chain, addr) = node.stop().await;
    let told = m.next_note("client.show_message").await;
    assert!(told["params"][0].as_str().unwrap().contains("lost contact"), "{told}");
    let n = find_nonce(&w.header, &[], &[network_target()], 0);
    let r = m.submit(10, &w.job, n).await;
    assert_eq!(code(&r), 21, "{r}");
    assert!(r["error"][1].as_str().unwrap().contains("lost contact with its TOS nodes"));
    let before = sink.share_count();
    // The node comes back: miners are told, shares count again.
    let _node = Node::start_on(chain, addr).await;
    let back = m.next_note("client.show_message").await;
    assert!(back["params"][0].as_str().unwrap().contains("back"), "{back}");
    let n2 = find_nonce(&w.header, &[], &[network_target()], n + 1);
    assert_eq!(m.submit(11, &w.job, n2).await["result"], true);
    assert_eq!(sink.share_count(), before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_node_serves_the_pool() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let dir = std::env::temp_dir().join(format!(
        "tos-pool-https-{}-{}",
        std::process::id(),
        tos_pool::clock::now_ms()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("node-ca.pem");
    std::fs::write(&ca, cert.cert.pem()).unwrap();
    let key = dir.join("node-key.pem");
    std::fs::write(&key, cert.signing_key.serialize_pem()).unwrap();
    let acceptor = tos_pool::stratum::tls_acceptor(&ca, &key).unwrap();
    let listener = DevnetNode::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let node = DevnetNode::new();
    tokio::spawn(node.clone().serve_tls(listener, acceptor));
    let mut cfg = config(&[format!("https://localhost:{port}/json_rpc")], "1");
    cfg.node.ca_file = Some(ca);
    let (pool, _) = pool(cfg).await;
    let mut m = Client::connect(&pool);
    let w = m.login("rig").await;
    assert_eq!(w.height, node.height() + 1, "work from the https node");
    // Without the node's CA the certificate is not trusted: no work, and the log says why.
    let (untrusting, _) = support::pool(config(&[format!("https://localhost:{port}/json_rpc")], "1")).await;
    let mut m2 = Client::connect(&untrusting);
    assert!(m2.call(1, "mining.subscribe", json!([])).await["result"].is_array());
    assert_eq!(m2.call(2, "mining.authorize", json!([login("rig"), "x"])).await["result"], true);
    assert!(m2.line_within(Duration::from_secs(1)).await.is_none(), "an untrusted certificate gives no work");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_come_from_the_highest_healthy_node_and_unusable_nodes_are_refused_naming_why() {
    use tos_pool::devnet::node::Quirks;
    let min = tos_pool::devnet::node::MIN_DIFFICULTY;
    let no_getwork =
        Node::start(DevnetNode::with_quirks(min, Quirks { no_getwork: true, ..Quirks::default() })).await;
    let mainnet = Node::start(DevnetNode::with_quirks(
        min,
        Quirks { network: Some("Mainnet".into()), ..Quirks::default() },
    ))
    .await;
    let wrong_key =
        Node::start(DevnetNode::with_quirks(min, Quirks { miner_key: Some([5; 32]), ..Quirks::default() }))
            .await;
    let low = Node::start(DevnetNode::new()).await;
    let high = Node::start(DevnetNode::new()).await;
    for _ in 0..3 {
        let n = high.node.clone();
        tokio::task::spawn_blocking(move || n.mine_one()).await.unwrap();
    }
    // Every node at least as high as `low` in config order before it: only topoheight decides.
    for n in [&no_getwork, &mainnet, &wrong_key] {
        for _ in 0..5 {
            let n = n.node.clone();
            tokio::task::spawn_blocking(move || n.mine_one()).await.unwrap();
        }
    }
    let urls: Vec<String> =
        [&no_getwork, &mainnet, &wrong_key, &low, &high].iter().map(|n| n.url()).collect();
    let (pool, _) = pool(config(&urls, "1")).await;
    let mut m = Client::connect(&pool);
    let mut job = m.login("rig").await;
    // The first job may come from `low` (the first usable node in config order, before the others
    // are checked); once the health checks know every topoheight, work comes from `high`.
    while job.height != high.node.height() + 1 {
        job = m.notify().await;
    }
    let status = pool.upstreams.status();
    let by_url = |u: &str| status.iter().find(|s| s.url == u).unwrap().clone();
    let s = by_url(&mainnet.url());
    let why = s.refused.expect("a node on another network is refused");
    assert!(why.contains("Mainnet") && why.contains("Devnet"), "{why}");
    let s = by_url(&wrong_key.url());
    let why = s.refused.expect("a node paying another key is refused");
    assert!(
        why.contains(&hex::encode([5u8; 32])) && why.contains(&tos_pool::devnet::pool_address().to_string()),
        "{why}"
    );
    // get_info answers, templates do not: unhealthy, and it stays so across health checks.
    assert!(eventually(Duration::from_secs(15), || !by_url_now(&pool, &no_getwork.url()).healthy).await);
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(!by_url_now(&pool, &no_getwork.url()).healthy, "still unhealthy after a get_info health check");
    assert!(by_url_now(&pool, &high.url()).healthy && by_url_now(&pool, &low.url()).healthy);
}

fn by_url_now(pool: &Pool, url: &str) -> tos_pool::node::upstreams::UpstreamStatus {
    pool.upstreams.status().into_iter().find(|s| s.url == url).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_found_while_the_node_is_down_is_submitted_when_it_is_back() {
    let node = Node::start(DevnetNode::new()).await;
    // Share difficulty = network difficulty: every valid share is a block.
    let (pool, sink) = pool(config(&[node.url()], "1000")).await;
    let mut m = Client::connect(&pool);
    let w = m.login("rig").await;
    let (chain, addr) = node.stop().await;
    let nonce = find_nonce(&w.header, &[w.target], &[], 0);
    assert_eq!(m.submit(10, &w.job, nonce).await["result"], true, "the share is answered at once");
    let block_id = w.header.with_nonce(nonce).block_id();
    assert_eq!(sink.blocks().len(), 1, "the candidate went to the sink with its batch");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(sink.outcomes().is_empty(), "still trying while the node is down");
    let _node = Node::start_on(chain.clone(), addr).await;
    assert!(
        eventually(Duration::from_secs(15), || sink
            .outcomes()
            .iter()
            .any(|o| matches!(o, BlockOutcome::Accepted { block_id: b, .. } if *b == block_id)))
        .await,
        "accepted once the node is back: {:?}",
        sink.outcomes()
    );
    assert_eq!(chain.accepted_blocks(), 1);
}

/// A CPU backend that sleeps before each batch (a slow verifier) or panics on its first batches.
struct SlowOrFlaky {
    inner: CpuVerifier,
    sleep: Duration,
    panics: AtomicU32,
}

impl VerifyBackend for SlowOrFlaky {
    fn describe(&self) -> String {
        "slow or flaky cpu".into()
    }
    fn hash_batch(&self, headers: &[MinerWork]) -> Result<Vec<Hash>, VerifyError> {
        std::thread::sleep(self.sleep);
        if self.panics.load(Ordering::SeqCst) > 0 {
            self.panics.fetch_sub(1, Ordering::SeqCst);
            panic!("simulated verifier crash");
        }
        self.inner.hash_batch(headers)
    }
}

async fn pool_on(node: &Node, start: &str, sleep: Duration, panics: u32) -> (Pool, Arc<MemorySink>) {
    let cpu = SlowOrFlaky {
        inner: CpuVerifier::new(1, CpuImpl::best()).unwrap(),
        sleep,
        panics: AtomicU32::new(panics),
    };
    let engine = Arc::new(VerifyEngine::new(Arc::new(cpu), None, BackendMode::Cpu, 100).unwrap());
    let sink = MemorySink::new();
    let cfg = config(&[node.url()], start).check().unwrap();
    let pool = Pool::start_on(&cfg, sink.clone(), Tuning::default(), Some(engine)).await.unwrap();
    (pool, sink)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verification_that_panics_is_redone_on_the_cpu_and_the_share_answered() {
    let node = Node::start(DevnetNode::new()).await;
    let (pool, sink) = pool_on(&node, "1", Duration::ZERO, 1).await;
    let mut m = Client::connect(&pool);
    let w = m.login("rig").await;
    let n = find_nonce(&w.header, &[], &[network_target()], 0);
    assert_eq!(m.submit(10, &w.job, n).await["result"], true);
    assert_eq!(pool.stats.batches_reverified.load(Ordering::Relaxed), 1);
    assert_eq!(sink.share_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_the_sink_cannot_take_is_answered_not_recorded() {
    let node = Node::start(DevnetNode::new()).await;
    let (pool, sink) = pool(config(&[node.url()], "1")).await;
    let mut m = Client::connect(&pool);
    let w = m.login("rig").await;
    sink.set_failing(true);
    let n = find_nonce(&w.header, &[], &[network_target()], 0);
    let r = m.submit(10, &w.job, n).await;
    assert_eq!(code(&r), 20, "{r}");
    assert!(r["error"][1].as_str().unwrap().contains("not recorded"));
    sink.set_failing(false);
    let n = find_nonce(&w.header, &[], &[network_target()], n + 1);
    assert_eq!(m.submit(11, &w.job, n).await["result"], true);
    assert_eq!(sink.share_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_owed_shares_then_reconnects_then_flushes() {
    let node = Node::start(DevnetNode::new()).await;
    // A slow verifier: the share is still being verified when shutdown begins.
    let (pool, sink) = pool_on(&node, "1", Duration::from_millis(400), 0).await;
    let mut m = Client::connect(&pool);
    let w = m.login("rig").await;
    let _ = m.notify().await; // the re-issue
    let n = find_nonce(&w.header, &[], &[network_target()], 0);
    assert!(m.send(json!({"id": 10, "method": "mining.submit", "params": ["x", w.job, "00000000", hex::encode(n.to_be_bytes())]})).await);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let shutdown = tokio::spawn(pool.shutdown());
    let reply: serde_json::Value = serde_json::from_str(&m.line().await.unwrap()).unwrap();
    assert_eq!(reply, json!({"id": 10, "result": true, "error": null}), "the owed answer first");
    let bye: serde_json::Value = serde_json::from_str(&m.line().await.unwrap()).unwrap();
    assert_eq!(bye["method"], "client.reconnect");
    assert_eq!(m.line().await, None, "then closed");
    shutdown.await.unwrap();
    assert_eq!(sink.share_count(), 1);
    assert_eq!(sink.flushes(), 1, "the sink is flushed once, after the stage drained");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_block_submissions_in_progress() {
    let node = Node::start(DevnetNode::new()).await;
    let (pool, sink) = pool(config(&[node.url()], "1000")).await;
    let mut m = Client::connect(&pool);
    let w = m.login("rig").await;
    let _stopped = node.stop().await;
    let nonce = find_nonce(&w.header, &[w.target], &[], 0);
    assert_eq!(m.submit(10, &w.job, nonce).await["result"], true);
    tokio::time::sleep(Duration::from_millis(500)).await; // the submitter is retrying
    assert!(sink.outcomes().is_empty());
    tokio::time::timeout(Duration::from_secs(30), pool.shutdown()).await.expect("shutdown completes");
    let block_id = w.header.with_nonce(nonce).block_id();
    let outcomes = sink.outcomes();
    assert!(
        matches!(outcomes.as_slice(), [BlockOutcome::Failed { block_id: b, .. }] if *b == block_id),
        "the submission was finished (and logged in full) before shutdown completed: {outcomes:?}"
    );
}
