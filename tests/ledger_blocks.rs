//! Blocks to maturity, crediting, PPS, audit and pruning — every test on SQLite and on PostgreSQL
//! (a fresh database each), against the simulated node in process (`advance()` makes blocks stable
//! fast; every 25th height is orphaned once stable; side blocks pay 30 %).
//!
//! Expected splits are computed here from the shares the test wrote, share by share, with
//! `pool_core::reward` — independently of the ledger's database loaders.

mod support;

use pool_core::reward::{
    BlockSplit, FeeBp, PpsAccumulator, Ratio, Scheme, ShareWork, pps_value, split_shared, split_solo,
};
use pool_core::work::BlockTemplate;
use pool_core::{Difficulty, Network};
use serde_json::json;
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use support::Node;
use support::db::{Backend, TestDb};
use tos_pool::config::Rewards;
use tos_pool::devnet::node::DevnetNode;
use tos_pool::devnet::{demo_address, pool_address};
use tos_pool::events::{EventBus, PoolEvent};
use tos_pool::ledger::Ledger;
use tos_pool::ledger::accounts::{self, Balances};
use tos_pool::ledger::audit::audit_block;
use tos_pool::ledger::blocks::{self, BlockRow};
use tos_pool::ledger::db::Db;
use tos_pool::ledger::pps::{PpsCrediter, PpsRules};
use tos_pool::ledger::prune::{PruneRules, prune};
use tos_pool::ledger::record::{self, MinerIds};
use tos_pool::ledger::spool::{SpoolRecord, SpooledBlock, SpooledShare};
use tos_pool::ledger::unlocker::{UnlockRules, Unlocker};
use tos_pool::node::Upstreams;
use tos_pool::on_db;

/// The simulated node's block reward, and what its pool address is paid (`miner_reward`).
const REWARD: u64 = 97_486_707;
const MINER_REWARD: u64 = REWARD - REWARD / 10;
/// A side block pays 30 % of the reward.
const SIDE_MINER_REWARD: u64 = REWARD * 30 / 100 - REWARD * 30 / 100 / 10;

/// Generates `<scenario>::sqlite` and `<scenario>::postgres` tests of `async fn scenario(Backend)`.
macro_rules! on_both_databases {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$scenario(super::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$scenario(super::Backend::Postgres).await
            }
        }
    )*};
}

on_both_databases!(
    a_block_goes_candidate_immature_mature_credited_once,
    an_orphaned_block_has_its_immature_credits_reversed,
    a_side_block_is_credited_the_nodes_lower_reward,
    a_run_cut_short_changes_nothing_and_a_second_credit_is_refused,
    failed_and_unknown_blocks_are_orphaned_after_the_bounded_time,
    no_block_is_credited_while_a_spool_holds_records,
    a_solo_block_pays_its_finder_alone,
    pps_shares_are_credited_exactly_once,
    the_audit_finds_no_difference_and_reports_a_tampered_credit,
    pruning_keeps_what_unsettled_blocks_and_the_open_round_need,
    a_blocks_own_share_is_always_in_its_round,
);

// ---------------------------------------------------------------------------------------------
// The environment: a ledger, a simulated node, the upstreams on it.

struct Env {
    // Dropped in this order: the ledger before its database.
    ledger: Arc<Ledger>,
    node: Node,
    upstreams: Upstreams,
    rewards: Rewards,
    miners: MinerIds,
    db: TestDb,
}

/// A block mined on the simulated node for the pool's address.
#[derive(Clone, Debug)]
struct Mined {
    id: [u8; 32],
    height: u64,
    difficulty: Difficulty,
    template_hex: String,
    miner_work_hex: String,
}

fn rewards() -> Rewards {
    Rewards {
        schemes: Scheme::ALL.to_vec(),
        default_scheme: Scheme::Pplns,
        fee: FeeBp::new(100).unwrap(),
        solo_fee: FeeBp::new(150).unwrap(),
        pps_fee: FeeBp::new(300).unwrap(),
        pplns_factor: Ratio::TWO,
    }
}

fn rules() -> UnlockRules {
    UnlockRules {
        every: Duration::from_secs(1),
        stable_margin: 2,
        orphan_unknown_after_ms: 60_000,
        network: Network::Devnet,
    }
}

fn now_ms() -> i64 {
    tos_pool::clock::now_ms() as i64
}

fn address(miner: usize) -> String {
    demo_address(miner).to_string()
}

fn share_id(tag: &str) -> String {
    blake3::hash(tag.as_bytes()).to_hex().to_string()
}

/// A share of `miner` (a demo address index).
fn share(tag: &str, miner: usize, scheme: Scheme, d: u64, ms: i64) -> SpooledShare {
    SpooledShare {
        share_id: share_id(tag),
        address: address(miner),
        worker: "rig".into(),
        scheme: scheme.to_string(),
        difficulty: d.to_string(),
        network_difficulty: "1000".into(),
        height: 1,
        job_id: "j".into(),
        hash: "00".repeat(32),
        is_block: false,
        submitted_ms: ms as u64,
    }
}

impl Env {
    async fn new(backend: Backend) -> Option<Env> {
        let db = TestDb::new(backend).await?;
        let ledger = db.ledger().await;
        let node = Node::start(DevnetNode::new()).await;
        let upstreams = Upstreams::new(
            &[node.url()],
            Duration::from_secs(5),
            tos_pool::node::client::tls_config(None).unwrap(),
            pool_address(),
            Network::Devnet,
        );
        Some(Env { ledger, node, upstreams, rewards: rewards(), miners: MinerIds::default(), db })
    }

    fn db(&self) -> &Db {
        self.ledger.db()
    }

    fn unlocker(&self) -> Unlocker {
        Unlocker::new(self.ledger.clone(), self.upstreams.clone(), self.rewards.clone(), rules())
    }

    async fn write(&self, shares: Vec<SpooledShare>, blocks: Vec<SpooledBlock>) -> record::Written {
        record::write(self.db(), &self.miners, 0, &[SpoolRecord::Batch { shares, blocks }]).await.unwrap()
    }

    async fn outcome(&self, block_id: &[u8], accepted: bool) {
        let rec = SpoolRecord::BlockOutcome {
            block_id: hex::encode(block_id),
            accepted,
            note: if accepted { "node".into() } else { "refused".into() },
        };
        let w = record::write(self.db(), &self.miners, 0, &[rec]).await.unwrap();
        assert_eq!(w.outcomes, 1);
    }

    /// Mines one block on the node's top for the pool address and submits it.
    fn mine(&self) -> Mined {
        self.mine_on(&self.template(), 0)
    }

    fn template(&self) -> serde_json::Value {
        self.node.node.call("get_block_template", &json!({ "address": pool_address().to_string() })).unwrap()
    }

    /// Mines `template` (a `get_block_template` answer) from nonce `start` and submits it.
    fn mine_on(&self, template: &serde_json::Value, start: u64) -> Mined {
        let template_hex = template["template"].as_str().unwrap().to_owned();
        let t = BlockTemplate::from_hex(&template_hex).unwrap();
        let difficulty = Difficulty::from_dec_str(template["difficulty"].as_str().unwrap()).unwrap();
        let work = t.miner_work();
        let nonce = support::find_nonce(&work, &[difficulty.target()], &[], start);
        let solved = work.with_nonce(nonce);
        let r = self
            .node
            .node
            .call("submit_block", &json!({ "block_template": template_hex, "miner_work": solved.to_hex() }));
        assert_eq!(r.unwrap(), json!(true));
        Mined {
            id: solved.block_id(),
            height: t.height,
            difficulty,
            template_hex,
            miner_work_hex: solved.to_hex(),
        }
    }

    fn advance(&self, n: u64) {
        for _ in 0..n {
            self.node.node.advance();
        }
    }

    /// Records `m` as found by `finder` at `found_ms` (its own share of difficulty `d` included),
    /// accepted by the node.
    async fn record_block(&self, m: &Mined, finder: usize, scheme: Scheme, d: u64, found_ms: i64) {
        let mut own = share("unused", finder, scheme, d, found_ms);
        own.share_id = hex::encode(m.id);
        own.is_block = true;
        own.network_difficulty = m.difficulty.to_string();
        let block = SpooledBlock {
            block_id: hex::encode(m.id),
            height: m.height,
            template_hex: m.template_hex.clone(),
            miner_work_hex: m.miner_work_hex.clone(),
            address: address(finder),
            worker: "rig".into(),
            scheme: scheme.to_string(),
            network_difficulty: m.difficulty.to_string(),
            found_ms: found_ms as u64,
        };
        let w = self.write(vec![own], vec![block]).await;
        assert_eq!(w.blocks, 1);
        self.outcome(&m.id, true).await;
    }

    /// A block row the node has never seen (an earlier block, or a failed submission).
    async fn fabricate_block(
        &self,
        tag: &str,
        height: u64,
        finder: usize,
        scheme: Scheme,
        found_ms: i64,
    ) -> Vec<u8> {
        let id = blake3::hash(tag.as_bytes()).as_bytes().to_vec();
        let block = SpooledBlock {
            block_id: hex::encode(&id),
            height,
            template_hex: "00".into(),
            miner_work_hex: "00".into(),
            address: address(finder),
            worker: "rig".into(),
            scheme: scheme.to_string(),
            network_difficulty: "1000".into(),
            found_ms: found_ms as u64,
        };
        assert_eq!(self.write(vec![], vec![block]).await.blocks, 1);
        id
    }

    /// A block row (never seen by the node) and its own share received at `share_ms`, its batch
    /// judged at `found_ms`.
    async fn block_with_share(
        &self,
        tag: &str,
        finder: usize,
        d: u64,
        share_ms: i64,
        found_ms: i64,
    ) -> Vec<u8> {
        let id = blake3::hash(tag.as_bytes()).as_bytes().to_vec();
        let mut own = share("unused", finder, Scheme::Pplns, d, share_ms);
        own.share_id = hex::encode(&id);
        own.is_block = true;
        let block = SpooledBlock {
            block_id: hex::encode(&id),
            height: 1,
            template_hex: "00".into(),
            miner_work_hex: "00".into(),
            address: address(finder),
            worker: "rig".into(),
            scheme: Scheme::Pplns.to_string(),
            network_difficulty: "1000".into(),
            found_ms: found_ms as u64,
        };
        assert_eq!(self.write(vec![own], vec![block]).await.blocks, 1);
        id
    }

    async fn set_status(&self, block_id: &[u8], status: &str) {
        let q = "UPDATE blocks SET status = $2 WHERE block_id = $1";
        on_db!(self.db(), |p| sqlx::query(q).bind(block_id).bind(status).execute(p).await.map(|_| ()))
            .unwrap();
    }

    async fn miner_id(&self, miner: usize) -> i64 {
        accounts::miner_id(self.db(), &address(miner)).await.unwrap().expect("the miner is known")
    }

    async fn balances(&self, miner: usize) -> Balances {
        let id = self.miner_id(miner).await;
        accounts::balances(self.db(), id).await.unwrap()
    }

    async fn block(&self, id: &[u8]) -> BlockRow {
        blocks::by_id(self.db(), id).await.unwrap().expect("the block is recorded")
    }

    async fn pool_account(&self, name: &str) -> i64 {
        let q = "SELECT amount FROM pool_accounts WHERE name = $1";
        let v: Option<i64> =
            on_db!(self.db(), |p| sqlx::query_scalar(q).bind(name).fetch_optional(p).await).unwrap();
        v.unwrap_or(0)
    }

    async fn count(&self, q: &'static str) -> i64 {
        on_db!(self.db(), |p| sqlx::query_scalar::<_, i64>(q).fetch_one(p).await).unwrap()
    }

    /// The stored credits of one stage, by miner id.
    async fn credits(&self, block_id: &[u8], stage: &str) -> BTreeMap<i64, u64> {
        let q = "SELECT miner_id, amount FROM credits WHERE block_id = $1 AND stage = $2";
        let rows: Vec<(i64, i64)> =
            on_db!(self.db(), |p| sqlx::query_as(q).bind(block_id).bind(stage).fetch_all(p).await).unwrap();
        rows.into_iter().map(|(m, a)| (m, a as u64)).collect()
    }

    /// The stored settlement of one stage: (reward, pool_fee, pps_fund).
    async fn settlement(&self, block_id: &[u8], stage: &str) -> Option<(u64, u64, u64)> {
        let q = "SELECT reward, pool_fee, pps_fund FROM settlements WHERE block_id = $1 AND stage = $2";
        let row: Option<(i64, i64, i64)> =
            on_db!(self.db(), |p| sqlx::query_as(q).bind(block_id).bind(stage).fetch_optional(p).await)
                .unwrap();
        row.map(|(r, f, p)| (r as u64, f as u64, p as u64))
    }

    /// Σ credits + pool fee + PPS fund == reward, in the stored rows of `stage`.
    async fn assert_conserved(&self, block_id: &[u8], stage: &str) -> u64 {
        let (reward, fee, fund) = self.settlement(block_id, stage).await.expect("a settlement row");
        let credited: u64 = self.credits(block_id, stage).await.values().sum();
        assert_eq!(
            credited + fee + fund,
            reward,
            "stage {stage}: credits {credited} + fee {fee} + fund {fund}"
        );
        reward
    }

    /// Every miner's balances, by demo index.
    async fn all_balances(&self, miners: &[usize]) -> Vec<Balances> {
        let mut v = Vec::new();
        for &m in miners {
            v.push(self.balances(m).await);
        }
        v
    }

    async fn by_id(&self, split: &BlockSplit<usize>) -> BTreeMap<i64, u64> {
        let mut out = BTreeMap::new();
        for (&m, &a) in &split.credits {
            out.insert(self.miner_id(m).await, a);
        }
        out
    }
}

/// `split_shared` over shares given one by one: `round` as (miner, scheme, d), `window` the PPLNS
/// shares newest first as (miner, d).
fn expected_shared(
    reward: u64,
    d: Difficulty,
    round: &[(usize, Scheme, u64)],
    window: &[(usize, u64)],
) -> BlockSplit<usize> {
    let sw =
        |miner, scheme, v: u64| ShareWork { miner, difficulty: Difficulty::from_u64(v).unwrap(), scheme };
    let round: Vec<_> = round.iter().map(|&(m, s, v)| sw(m, s, v)).collect();
    let window: Vec<_> = window.iter().map(|&(m, v)| sw(m, Scheme::Pplns, v)).collect();
    let r = rewards();
    split_shared(reward, r.fee, d, r.pplns_factor, &round, window).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The scenarios.

/// The shares of the main scenario: a previous round (closed by block B0), this block's round, a
/// share after the block. Returns (round, window newest first) as the split sees them.
async fn main_round(env: &Env, base: i64) -> (Vec<(usize, Scheme, u64)>, Vec<(usize, u64)>) {
    use Scheme::*;
    let before_b0 = vec![
        share("s00", 1, Pplns, 5000, base + 100), // beyond the window: never counted
        share("s0", 2, Pplns, 1000, base + 500),  // crosses the window: counted for 100 of 1000
        share("s1", 1, Pplns, 300, base + 1_000), // the window crosses rounds
        share("s2", 3, Prop, 500, base + 2_000),  // the previous round's PROP: not this block's
        share("s3", 2, Pplns, 400, base + 3_000),
    ];
    env.write(before_b0, vec![]).await;
    let b0 = env.fabricate_block("b0", 0, 1, Pplns, base + 10_000).await;
    env.set_status(&b0, "mature").await;
    let round = vec![
        share("s4", 1, Pplns, 200, base + 11_000),
        share("s5", 2, Pplns, 600, base + 12_000),
        share("s6", 3, Prop, 700, base + 13_000),
        share("s7", 4, Pps, 500, base + 14_000),
        share("s8", 2, Pplns, 250, base + 15_000),
        share("s9", 2, Pplns, 999, base + 25_000), // after the block: not counted
    ];
    env.write(round, vec![]).await;
    (
        vec![
            (1, Pplns, 200),
            (2, Pplns, 600),
            (3, Prop, 700),
            (4, Pps, 500),
            (2, Pplns, 250),
            (1, Pplns, 150),
        ],
        vec![(1, 150), (2, 250), (2, 600), (1, 200), (2, 400), (1, 300), (2, 1000), (1, 5000)],
    )
}

async fn a_block_goes_candidate_immature_mature_credited_once(backend: Backend) {
    let Some(env) = Env::new(backend).await else { return };
    let base = now_ms() - 100_000;
    let (round, window) = main_round(&env, base).await;
    let m = env.mine();
    env.record_block(&m, 1, Scheme::Pplns, 150, base + 20_000).await;
    let miners = [1, 2, 3, 4];
    let want = expected_shared(MINER_REWARD, m.difficulty, &round, &window);
    assert!(want.conserves(MINER_REWARD));
    assert!(want.pps_fund > 0 && want.credits.len() == 3, "PPLNS, PROP and PPS all take part: {want:?}");

    // Not yet stable: immature, the split of the node's reward in `immature`.
    let bus = EventBus::default();
    let mut events = bus.subscribe();
    let unlocker = env.unlocker().with_events(bus);
    let run = unlocker.run_once().await.unwrap();
    assert_eq!((run.immature, run.mature), (1, 0));
    assert!(events.try_recv().is_err(), "immature is not yet an event");
    let b = env.block(&m.id).await;
    assert_eq!(b.status, "immature");
    assert_eq!(
        (b.reward, b.block_type.as_deref(), b.topoheight),
        (Some(MINER_REWARD as i64), Some("Normal"), Some(1))
    );
    // Round: PPLNS 1200 + PROP 700 + PPS 500 = 2400 at D = 1000: 240 %.
    assert_eq!(b.round_work.as_deref(), Some("2400"));
    assert_eq!(b.effort_bp, Some(24_000));
    for &i in &miners {
        let got = env.balances(i).await;
        let credit = want.credits.get(&i).copied().unwrap_or(0);
        assert_eq!(got, Balances { immature: credit, ..Balances::default() }, "miner {i}");
    }
    assert_eq!(env.credits(&m.id, "immature").await, env.by_id(&want).await);
    assert_eq!(env.assert_conserved(&m.id, "immature").await, MINER_REWARD);
    assert_eq!(env.pool_account("pool_fee").await, 0, "an immature fee is not the pool's yet");

    // Run again: nothing moves.
    let before = env.all_balances(&miners).await;
    let run = unlocker.run_once().await.unwrap();
    assert_eq!((run.immature, run.mature, run.waiting), (0, 0, 1));
    assert_eq!(env.all_balances(&miners).await, before);

    // Stable: mature, in `balance`; the immature credits reversed; the fee and PPS portion booked.
    env.advance(30);
    let run = unlocker.run_once().await.unwrap();
    assert_eq!(run.mature, 1);
    let b = env.block(&m.id).await;
    assert_eq!(b.status, "mature");
    assert_eq!(
        events.try_recv().unwrap(),
        PoolEvent::BlockMatured {
            hash: hex::encode(m.id),
            height: m.height,
            reward: MINER_REWARD.to_string()
        }
    );
    for &i in &miners {
        let credit = want.credits.get(&i).copied().unwrap_or(0);
        assert_eq!(env.balances(i).await, Balances { balance: credit, ..Balances::default() }, "miner {i}");
    }
    assert_eq!(env.credits(&m.id, "mature").await, env.by_id(&want).await);
    assert_eq!(env.assert_conserved(&m.id, "mature").await, MINER_REWARD);
    assert_eq!(env.pool_account("pool_fee").await, want.pool_fee as i64);
    assert_eq!(env.pool_account("pps_fund").await, want.pps_fund as i64);
    // One audit row per balance change: 3 immature credits, 3 mature moves.
    assert_eq!(env.count("SELECT COUNT(*) FROM balance_changes WHERE reason = 'block_immature'").await, 3);
    assert_eq!(env.count("SELECT COUNT(*) FROM balance_changes WHERE reason = 'block_mature'").await, 3);
    let net = "SELECT CAST(COALESCE(SUM(d_balance), 0) AS BIGINT) FROM balance_changes";
    assert_eq!(env.count(net).await as u64, want.credits.values().sum::<u64>());
    let net_immature = "SELECT CAST(COALESCE(SUM(d_immature), 0) AS BIGINT) FROM balance_changes";
    assert_eq!(env.count(net_immature).await, 0);

    // And again, twice: never a second credit.
    let after = env.all_balances(&miners).await;
    for _ in 0..2 {
        let run = unlocker.run_once().await.unwrap();
        assert_eq!((run.immature, run.mature, run.orphaned), (0, 0, 0));
    }
    assert_eq!(env.all_balances(&miners).await, after);
    assert!(events.try_recv().is_err(), "published once");
    assert_eq!(env.count("SELECT COUNT(*) FROM balance_changes").await, 6);
    let audit = audit_block(env.db(), &m.id, None).await.unwrap();
    assert!(!audit.has_difference(), "{}", audit.render());
}

async fn an_orphaned_block_has_its_immature_credits_reversed(backend: Backend) {
    let Some(env) = Env::new(backend).await else { return };
    // The node orphans every 25th height once stable: find the block at height 25.
    env.advance(24);
    let base = now_ms() - 10_000;
    env.write(
        vec![share("a", 1, Scheme::Pplns, 400, base), share("b", 2, Scheme::Pplns, 600, base + 1)],
        vec![],
    )
    .await;
    let m = env.mine();
    assert_eq!(m.height, 25);
    env.record_block(&m, 1, Scheme::Pplns, 100, base + 2).await;
    let bus = EventBus::default();
    let mut events = bus.subscribe();
    let unlocker = env.unlocker().with_events(bus);
    assert_eq!(unlocker.run_once().await.unwrap().immature, 1, "ordered, not yet stable: immature");
    let immature = env.balances(1).await.immature + env.balances(2).await.immature;
    assert!(immature > 0);

    // Stable but only just (the margin): it waits. Then orphaned, the immature credits reversed.
    env.advance(24); // height 49: stable height 25, the node reports the block Orphaned
    let run = unlocker.run_once().await.unwrap();
    assert_eq!((run.orphaned, run.waiting), (0, 1), "height 25 + margin 2 > stable height 25");
    env.advance(2);
    let run = unlocker.run_once().await.unwrap();
    assert_eq!(run.orphaned, 1);
    assert_eq!(
        events.try_recv().unwrap(),
        PoolEvent::BlockOrphaned { hash: hex::encode(m.id), height: m.height }
    );
    let b = env.block(&m.id).await;
    assert_eq!(
        (b.status.as_str(), b.reward, b.block_type.as_deref(), b.topoheight),
        ("orphaned", Some(0), Some("Orphaned"), None)
    );
    assert_eq!(b.round_work.as_deref(), Some("1100"), "effort is recorded for orphans too");
    for i in [1, 2] {
        assert_eq!(env.balances(i).await, Balances::default(), "miner {i}");
    }
    let reversed = "SELECT CAST(COALESCE(SUM(d_immature), 0) AS BIGINT) FROM balance_changes WHERE reason = 'block_orphaned'";
    assert_eq!(env.count(reversed).await, -(immature as i64));
    assert_eq!(env.pool_account("pool_fee").await, 0);
    assert!(env.settlement(&m.id, "mature").await.is_none());
    // Orphaned is final.
    env.advance(5);
    let run = unlocker.run_once().await.unwrap();
    assert_eq!(run, Default::default());
}

async fn a_side_block_is_credited_the_nodes_lower_reward(backend: Backend) {
    let Some(env) = Env::new(backend).await else { return };
    let base = now_ms() - 10_000;
    env.write(
        vec![share("a", 1, Scheme::Pplns, 300, base), share("b", 2, Scheme::Prop, 700, base + 1)],
        vec![],
    )
    .await;
    // Two blocks on the same template: the first is Normal (someone else's), ours the Side one.
    let t = env.template();
    let first = env.mine_on(&t, 0);
    let first_nonce = pool_core::MinerWork::from_hex(&first.miner_work_hex).unwrap().nonce();
    let side = env.mine_on(&t, first_nonce + 1);
    assert_ne!(first.id, side.id);
    env.record_block(&side, 1, Scheme::Pplns, 100, base + 2).await;
    env.advance(30);
    let run = env.unlocker().run_once().await.unwrap();
    assert_eq!(run.mature, 1, "candidate straight to mature when first seen stable");
    let b = env.block(&side.id).await;
    assert_eq!(b.block_type.as_deref(), Some("Side"));
    assert_eq!(b.reward, Some(SIDE_MINER_REWARD as i64));
    assert_eq!(env.assert_conserved(&side.id, "mature").await, SIDE_MINER_REWARD);
    let want = expected_shared(
        SIDE_MINER_REWARD,
        side.difficulty,
        &[(1, Scheme::Pplns, 300), (2, Scheme::Prop, 700), (1, Scheme::Pplns, 100)],
        &[(1, 100), (1, 300)],
    );
    assert_eq!(env.credits(&side.id, "mature").await, env.by_id(&want).await);
    assert_eq!(env.balances(2).await.balance, want.credits[&2]);
    assert!(
        env.balances(1).await.balance + env.balances(2).await.balance < MINER_REWARD / 3,
        "30 % of a normal block"
    );
    assert_eq!(env.balances(1).await.immature, 0, "never immature: no reversal needed");
}

/// Two miners, one block mined and recorded; returns it.
async fn simple_block(env: &Env) -> Mined {
    let base = now_ms() - 10_000;
    env.write(
        vec![share("a", 1, Scheme::Pplns, 300, base), share("b", 2, Scheme::Pplns, 700, base + 1)],
        vec![],
    )
    .await;
    let m = env.mine();
    env.record_block(&m, 1, Scheme::Pplns, 100, base + 2).await;
    m
}

async fn a_run_cut_short_changes_nothing_and_a_second_credit_is_refused(backend: Backend) {
    let Some(env) = Env::new(backend).await else { return };
    let m = simple_block(&env).await;
    let unlocker = env.unlocker();
    let zero = vec![Balances::default(); 2];

    // Cut short just before the immature commit: nothing changed; the next run does it once.
    unlocker.interrupt_next_commit();
    assert!(unlocker.run_once().await.is_err());
    assert_eq!(env.block(&m.id).await.status, "candidate");
    assert_eq!(env.all_balances(&[1, 2]).await, zero);
    assert_eq!(env.count("SELECT COUNT(*) FROM credits").await, 0);
    assert_eq!(env.count("SELECT COUNT(*) FROM balance_changes").await, 0);
    assert_eq!(unlocker.run_once().await.unwrap().immature, 1);
    let immature = env.all_balances(&[1, 2]).await;

    // Cut short just before the mature commit: still immature, exactly as before.
    env.advance(30);
    unlocker.interrupt_next_commit();
    assert!(unlocker.run_once().await.is_err());
    assert_eq!(env.block(&m.id).await.status, "immature");
    assert_eq!(env.all_balances(&[1, 2]).await, immature);
    assert!(env.settlement(&m.id, "mature").await.is_none());
    assert_eq!(unlocker.run_once().await.unwrap().mature, 1);
    let mature = env.all_balances(&[1, 2]).await;
    let total: u64 = mature.iter().map(|b| b.balance).sum();
    assert_eq!(total, immature.iter().map(|b| b.immature).sum::<u64>());
    assert!(mature.iter().all(|b| b.immature == 0));
    let changes = env.count("SELECT COUNT(*) FROM balance_changes").await;

    // A writer that wrongly puts the block back to immature cannot credit it again: the credits'
    // primary key refuses the second mature stage and the whole transaction rolls back.
    env.set_status(&m.id, "immature").await;
    let err = unlocker.run_once().await.unwrap_err();
    assert!(format!("{err:#}").contains("not processed"), "{err:#}");
    assert_eq!(env.all_balances(&[1, 2]).await, mature);
    assert_eq!(env.count("SELECT COUNT(*) FROM balance_changes").await, changes);
    assert_eq!(env.count("SELECT COUNT(*) FROM credits WHERE stage = 'mature'").await, 2);
    assert_eq!(env.pool_account("pool_fee").await, rewards().fee.of(MINER_REWARD) as i64);
    // Directly, too.
    let q = "INSERT INTO credits (block_id, miner_id, stage, amount, work) VALUES ($1, $2, 'mature', 1, 1)";
    let id1 = env.miner_id(1).await;
    let dup = on_db!(env.db(), |p| sqlx::query(q).bind(&m.id[..]).bind(id1).execute(p).await.map(|_| ()));
    assert!(dup.is_err(), "the primary key (block, miner, stage) refuses a second credit");
}

async fn failed_and_unknown_blocks_are_orphaned_after_the_bounded_time(backend: Backend) {
    let Some(env) = Env::new(backend).await else { return };
    env.advance(40); // stable height 16
    let old = now_ms() - 2 * rules().orphan_unknown_after_ms as i64;
    let failed_old = env.fabricate_block("failed-old", 5, 1, Scheme::Pplns, old).await;
    env.outcome(&failed_old, false).await;
    let failed_young = env.fabricate_block("failed-young", 6, 1, Scheme::Pplns, now_ms()).await;
    env.outcome(&failed_young, false).await;
    let unknown_unstable = env.fabricate_block("unknown-high", 30, 1, Scheme::Pplns, old - 1).await;
    let run = env.unlocker().run_once().await.unwrap();
    assert_eq!((run.orphaned, run.waiting), (1, 2));
    assert_eq!(env.block(&failed_old).await.status, "orphaned");
    assert_eq!(env.block(&failed_old).await.block_type.as_deref(), Some("Unknown"));
    assert_eq!(env.block(&failed_young).await.status, "candidate", "found too recently");
    assert_eq!(env.block(&unknown_unstable).await.status, "candidate", "height 30 not stable yet");
}

async fn no_block_is_credited_while_a_spool_holds_records(backend: Backend) {
    let Some(env) = Env::new(backend).await else { return };
    let m = simple_block(&env).await;
    let q = "UPDATE instances SET spooled = $1, seen_ms = $2";
    on_db!(env.db(), |p| sqlx::query(q).bind(3i64).bind(now_ms()).execute(p).await.map(|_| ())).unwrap();
    let unlocker = env.unlocker();
    let run = unlocker.run_once().await.unwrap();
    assert_eq!((run.immature, run.held_for_spool), (0, 1));
    assert_eq!(env.block(&m.id).await.status, "candidate");
    assert_eq!(env.balances(1).await, Balances::default());
    on_db!(env.db(), |p| sqlx::query(q).bind(0i64).bind(now_ms()).execute(p).await.map(|_| ())).unwrap();
    assert_eq!(unlocker.run_once().await.unwrap().immature, 1);
}

async fn a_solo_block_pays_its_finder_alone(backend: Backend) {
    let Some(env) = Env::new(backend).await else { return };
    let base = now_ms() - 10_000;
    env.write(
        vec![
            share("solo-old", 5, Scheme::Solo, 400, base), // before the finder's previous solo block
            share("pplns", 1, Scheme::Pplns, 900, base + 10),
            share("solo-new", 5, Scheme::Solo, 200, base + 20),
            share("other-solo", 6, Scheme::Solo, 800, base + 30), // another solo miner's round
        ],
        vec![],
    )
    .await;
    let s0 = env.fabricate_block("s0", 0, 5, Scheme::Solo, base + 5).await;
    env.set_status(&s0, "mature").await;
    let m = env.mine();
    env.record_block(&m, 5, Scheme::Solo, 100, base + 40).await;
    env.advance(30);
    assert_eq!(env.unlocker().run_once().await.unwrap().mature, 1);
    let want = split_solo(MINER_REWARD, rewards().solo_fee, 5usize);
    assert_eq!(env.balances(5).await.balance, want.credits[&5]);
    assert_eq!(env.balances(1).await, Balances::default());
    assert_eq!(env.pool_account("pool_fee").await, want.pool_fee as i64);
    assert_eq!(env.assert_conserved(&m.id, "mature").await, MINER_REWARD);
    let b = env.block(&m.id).await;
    assert_eq!(
        b.round_work.as_deref(),
        Some("300"),
        "the finder's solo shares since its previous solo block"
    );
    assert_eq!(b.effort_bp, Some(3_000));
    // A later shared block's round is not cut by solo blocks.
    let later = env.fabricate_block("later", 9, 1, Scheme::Pplns, base + 50).await;
    let later = env.block(&later).await;
    assert_eq!(blocks::round_start_after(env.db(), &later).await.unwrap(), None);
    let audit = audit_block(env.db(), &m.id, None).await.unwrap();
    assert!(!audit.has_difference(), "{}", audit.render());
}

async fn pps_shares_are_credited_exactly_once(backend: Backend) {
    let Some(env) = Env::new(backend).await else { return };
    let base = now_ms() - 10_000;
    // Two miners; miner 2's network difficulty changes halfway (the carry is converted).
    let mut shares = Vec::new();
    let mut by_miner: BTreeMap<usize, Vec<(u64, u64)>> = BTreeMap::new();
    for i in 0..11u64 {
        let (miner, d, net) = match i % 3 {
            0 => (1, 100, 1000),
            1 => (2, 333, 1000),
            _ => (2, 777, if i > 5 { 3000 } else { 1000 }),
        };
        let mut s = share(&format!("pps{i}"), miner, Scheme::Pps, d, base + i as i64);
        s.network_difficulty = net.to_string();
        shares.push(s);
        by_miner.entry(miner).or_default().push((d, net));
    }
    assert_eq!(env.write(shares.clone(), vec![]).await.shares, 11);
    assert_eq!(env.write(shares, vec![]).await.shares, 0, "a replayed batch queues nothing twice");
    assert_eq!(env.count("SELECT COUNT(*) FROM pps_queue").await, 11);

    let rules = PpsRules {
        every: Duration::from_secs(1),
        batch: 4,
        fee: rewards().pps_fee,
        network: Network::Devnet,
    };
    let pps = PpsCrediter::new(env.ledger.clone(), env.upstreams.clone(), rules);
    pps.interrupt_next_commit();
    assert!(pps.run_once().await.is_err());
    assert_eq!(env.count("SELECT COUNT(*) FROM pps_queue").await, 11, "a cut-short batch leaves the queue");
    assert_eq!(env.balances(1).await, Balances::default());

    let run = pps.run_once().await.unwrap();
    assert_eq!((run.shares, run.reward), (11, Some(MINER_REWARD)));
    let mut total = 0;
    for (&miner, values) in &by_miner {
        let mut acc = PpsAccumulator::default();
        let d = |v| Difficulty::from_u64(v).unwrap();
        let want: u64 = values
            .iter()
            .map(|&(s, n)| acc.credit(&pps_value(d(s), d(n), MINER_REWARD, rewards().pps_fee).unwrap()))
            .sum();
        assert_eq!(env.balances(miner).await.balance, want, "miner {miner}");
        let q = "SELECT carry FROM pps_carry WHERE miner_id = $1";
        let id = env.miner_id(miner).await;
        let carry: String = on_db!(env.db(), |p| sqlx::query_scalar(q).bind(id).fetch_one(p).await).unwrap();
        assert_eq!(carry, acc.to_string(), "the carried fraction of miner {miner}");
        total += want;
    }
    assert_eq!(run.credited, total);
    assert_eq!(env.pool_account("pps_fund").await, -(total as i64), "PPS is paid from the fund");
    assert_eq!(env.count("SELECT COUNT(*) FROM pps_queue").await, 0);
    let audited =
        "SELECT CAST(COALESCE(SUM(d_balance), 0) AS BIGINT) FROM balance_changes WHERE reason = 'pps'";
    assert_eq!(env.count(audited).await as u64, total);
    // Three batches of ≤ 4 shares: at most one audited change per miner per batch.
    assert!(env.count("SELECT COUNT(*) FROM balance_changes").await <= 6);

    let again = pps.run_once().await.unwrap();
    assert_eq!(again.shares, 0);
    assert_eq!(env.balances(1).await.balance + env.balances(2).await.balance, total);
}

async fn the_audit_finds_no_difference_and_reports_a_tampered_credit(backend: Backend) {
    let Some(env) = Env::new(backend).await else { return };
    let base = now_ms() - 100_000;
    let _ = main_round(&env, base).await;
    let m = env.mine();
    env.record_block(&m, 1, Scheme::Pplns, 150, base + 20_000).await;
    env.advance(30);
    assert_eq!(env.unlocker().run_once().await.unwrap().mature, 1);

    let audit = audit_block(env.db(), &m.id, None).await.unwrap();
    let text = audit.render();
    assert!(!audit.has_difference(), "{text}");
    assert_eq!(audit.lines.len(), 4, "the PPS miner has round work but no credit: {text}");
    assert!(audit.lines.iter().all(|l| l.computed == l.stored), "{text}");
    let m1 = env.miner_id(1).await;
    let l1 = audit.lines.iter().find(|l| l.miner_id == m1).unwrap();
    // Window work: miner 1 150 + 200 + 300; miner 2 250 + 600 + 400 + 100 of its crossing share.
    assert_eq!(l1.window_work.to_string(), "650");
    let m2 = env.miner_id(2).await;
    let l2 = audit.lines.iter().find(|l| l.miner_id == m2).unwrap();
    assert_eq!(l2.window_work.to_string(), "1350");
    assert!(text.contains("8 shares read") || text.contains("7 shares read"), "{text}");
    assert!(text.contains("no difference"), "{text}");
    assert!(text.contains("effort 240.00 %"), "{text}");

    let hash = hex::encode(m.id);
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tos-pool"))
            .args(["audit", "block", &hash, "--database-url", &env.db.url])
            .args(args)
            .output()
            .unwrap()
    };
    let out = cli(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("no difference"), "{stdout}");

    // One unit more to miner 1 in the stored credit: found, named, exit code 1.
    let q =
        "UPDATE credits SET amount = amount + 1 WHERE block_id = $1 AND miner_id = $2 AND stage = 'mature'";
    on_db!(env.db(), |p| sqlx::query(q).bind(&m.id[..]).bind(m1).execute(p).await.map(|_| ())).unwrap();
    let audit = audit_block(env.db(), &m.id, None).await.unwrap();
    assert!(audit.has_difference());
    assert!(
        audit.differences.iter().any(|d| d.contains(&format!("miner {m1}")) && d.contains("(+1)")),
        "{:?}",
        audit.differences
    );
    assert!(audit.differences.iter().any(|d| d.contains("do not add up")), "{:?}", audit.differences);
    let out = cli(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("DIFFERENCE"), "{stdout}");
    // Bad input is a usage error.
    let out = Command::new(env!("CARGO_BIN_EXE_tos-pool"))
        .args(["audit", "block", "xyz", "--database-url", &env.db.url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

async fn pruning_keeps_what_unsettled_blocks_and_the_open_round_need(backend: Backend) {
    let Some(env) = Env::new(backend).await else { return };
    const DAY: i64 = 86_400_000;
    let now = now_ms();
    let at = |days: i64| now - days * DAY;
    use Scheme::*;
    // Old history, a settled block B0 at −34 d, an unsettled B1 at −30 d (its round from −33 d,
    // its window 2000 work of shares of 100 back to about −31 d), then the open round.
    let mut shares = Vec::new();
    for i in 0..10 {
        shares.push(share(&format!("old{i}"), 1, Pplns, 100, at(40) + i)); // before B0: not needed
    }
    for i in 0..30 {
        shares.push(share(&format!("b1-{i}"), 2, Pplns, 100, at(33) + i * 1000));
    }
    shares.push(share("b1-prop", 3, Prop, 100, at(33) - 10)); // in B1's round (after B0)
    for i in 0..5 {
        shares.push(share(&format!("open{i}"), 1, Pplns, 100, at(29) + i)); // the open round, old
    }
    for i in 0..5 {
        // 2500 work: the current window (2000) lies within them.
        shares.push(share(&format!("new{i}"), 1, Pplns, 500, at(0) - 1000 + i));
    }
    env.write(shares, vec![]).await;
    let b0 = env.fabricate_block("b0", 1, 1, Pplns, at(34)).await;
    env.set_status(&b0, "mature").await;
    let b1 = env.fabricate_block("b1", 2, 2, Pplns, at(30)).await;
    let rules = PruneRules {
        every: Duration::from_secs(60),
        share_retention_ms: 7 * DAY as u64,
        stats_retention_ms: 30 * DAY as u64,
        chunk_rows: 7, // several chunks
        pplns_factor: Ratio::TWO,
        network: Network::Devnet,
    };
    let d = Difficulty::from_u64(1000).unwrap();
    assert_eq!(env.count("SELECT COUNT(*) FROM shares").await, 51);
    let stats_before = env.count("SELECT COUNT(*) FROM worker_stats").await;

    let done = prune(env.db(), &rules, Some(d), now).await.unwrap();
    assert_eq!(done.shares, 10, "only the shares before B0 (B1 is unsettled; its round starts after B0)");
    assert!(
        done.horizon.as_ref().unwrap().bound_by.contains("round of unsettled block"),
        "{:?}",
        done.horizon
    );
    // Worker statistics older than 30 days (the −40 d, −34 d… minutes) are gone, the rest stay.
    let kept_stats = env.count("SELECT COUNT(*) FROM worker_stats").await;
    assert!(kept_stats < stats_before && kept_stats > 0, "{kept_stats} of {stats_before}");
    let q = "SELECT COUNT(*) FROM worker_stats WHERE minute_ms < $1";
    let stale: i64 = on_db!(env.db(), |p| sqlx::query_scalar(q).bind(at(30)).fetch_one(p).await).unwrap();
    assert_eq!(stale, 0);

    // B1 settles: its shares are no longer needed, but the open round (after B1) is, however old.
    env.set_status(&b1, "mature").await;
    let done = prune(env.db(), &rules, Some(d), now).await.unwrap();
    assert_eq!(done.shares, 31, "B1's round and window");
    assert_eq!(
        env.count("SELECT COUNT(*) FROM shares").await,
        10,
        "the open round is kept, 29 days old or not"
    );
    // A new block closes the open round: now the retention and the current window decide.
    let b2 = env.fabricate_block("b2", 3, 1, Pplns, at(1)).await;
    env.set_status(&b2, "mature").await;
    let done = prune(env.db(), &rules, Some(d), now).await.unwrap();
    assert_eq!(done.shares, 5, "older than 7 days and before the current window");
    assert_eq!(env.count("SELECT COUNT(*) FROM shares").await, 5);
    // Without the node's difficulty no share is pruned.
    let done = prune(env.db(), &rules, None, now + 30 * DAY).await.unwrap();
    assert_eq!((done.shares, done.horizon), (0, None));
}

#[test]
fn blocks_and_retention_sections_have_defaults_and_are_checked() {
    let parse = |extra: &str| {
        let text = format!("[pool]\naddress = \"{}\"\nnetwork = \"devnet\"\n{extra}", pool_address());
        toml::from_str::<tos_pool::config::Config>(&text).unwrap().check()
    };
    let cfg = parse("").unwrap();
    let (b, r) = (&cfg.raw.blocks, &cfg.raw.retention);
    assert_eq!((b.unlock_interval_ms, b.stable_margin, b.orphan_unknown_after_ms), (5_000, 2, 600_000));
    assert_eq!((b.pps_credit_interval_ms, b.pps_credit_batch), (5_000, 20_000));
    assert_eq!(
        (r.share_days, r.worker_stats_days, r.prune_interval_ms, r.prune_chunk_rows),
        (7, 30, 60_000, 10_000)
    );
    let cfg = parse("[blocks]\nstable_margin = 5\n[retention]\nshare_days = 0\n").unwrap();
    assert_eq!((cfg.raw.blocks.stable_margin, cfg.raw.retention.share_days), (5, 0));
    for (bad, says) in [
        ("[blocks]\norphan_unknown_after_ms = 1000\n", "at least 60000"),
        ("[blocks]\npps_credit_batch = 0\n", "pps_credit_batch"),
        ("[blocks]\nunlock_interval_ms = 0\n", "unlock_interval_ms"),
        ("[retention]\nworker_stats_days = 0\n", "worker_stats_days"),
        ("[retention]\nprune_chunk_rows = 0\n", "prune_chunk_rows"),
    ] {
        let e = format!("{:#}", parse(bad).unwrap_err());
        assert!(e.contains(says), "{bad}: {e}");
    }
    assert!(
        toml::from_str::<tos_pool::config::Config>(&format!(
            "[pool]\naddress = \"{}\"\n[blocks]\nunknown_key = 1\n",
            pool_address()
        ))
        .is_err()
    );
}

async fn a_blocks_own_share_is_always_in_its_round(backend: Backend) {
    let Some(env) = Env::new(backend).await else { return };
    let base = now_ms() - 10_000;
    env.write(vec![share("early", 1, Scheme::Pplns, 400, base)], vec![]).await;
    // Block A's share arrives at +5 and its batch is judged at +10; block B's share arrives at +8,
    // while A's batch is still being verified, and is judged in the next batch, at +20.
    let a = env.block_with_share("a", 1, 100, base + 5, base + 10).await;
    let b = env.block_with_share("b", 2, 600, base + 8, base + 20).await;
    let (a, b) = (env.block(&a).await, env.block(&b).await);
    assert_eq!((a.found_ms, b.found_ms), (base + 5, base + 8), "found_ms is the own share's receive time");
    let terms = tos_pool::ledger::split::Terms::for_block(&rewards(), &b);
    let c = tos_pool::ledger::split::compute(env.db(), &b, MINER_REWARD, terms).await.unwrap();
    assert_eq!(c.round_work.to_string(), "600", "B's round holds B's own share");
    assert_eq!(c.round_after_ms, Some(base + 5));
    assert_eq!(c.split.credits.len(), 2, "its window reaches back across A: {:?}", c.split);
    assert_eq!(c.split.pool_fee, rewards().fee.of(MINER_REWARD), "nothing left unassigned");
    let c = tos_pool::ledger::split::compute(env.db(), &a, MINER_REWARD, terms).await.unwrap();
    assert_eq!(c.round_work.to_string(), "500");
}
