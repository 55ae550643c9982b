//! The public web API, in process over real sockets: a pool on the simulated node with a ledger
//! (SQLite and PostgreSQL, a fresh database each) seeded through the ledger's own write path,
//! and the web server on an ephemeral port.
//!
//! Every answer — successes, 400s, 404s, 429s — is validated against the schema the OpenAPI
//! document declares for that path and status. Hostile input in every path and query parameter
//! must be a JSON 4xx, never a 500. The WebSocket feed delivers a published bus event, and a client
//! that stops reading is disconnected.

mod support;

use futures::{SinkExt as _, StreamExt as _};
use pool_core::reward::Scheme;
use pool_core::work::BlockTemplate;
use pool_core::{Address, Difficulty};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use support::Node;
use support::db::{Backend, TestDb};
use tokio_tungstenite::tungstenite::Message;
use tos_pool::devnet::node::DevnetNode;
use tos_pool::devnet::{demo_address, pool_address};
use tos_pool::events::PoolEvent;
use tos_pool::http::{HttpServer, HttpSettings};
use tos_pool::ledger::Ledger;
use tos_pool::ledger::record::{self, MinerIds};
use tos_pool::ledger::spool::{SpoolRecord, SpooledBlock, SpooledShare};
use tos_pool::ledger::unlocker::{UnlockRules, Unlocker};
use tos_pool::on_db;
use tos_pool::pool::Pool;

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
    every_answer_holds_to_the_openapi_document,
    hostile_input_is_a_json_4xx_never_a_500,
    the_rate_limit_is_per_ip,
    the_websocket_feed_pushes_events_and_drops_slow_consumers,
);

// ---------------------------------------------------------------------------------------------
// The environment.

struct Env {
    http: HttpServer,
    pool: Option<Pool>,
    ledger: Arc<Ledger>,
    node: Node,
    checked: tos_pool::config::Checked,
    block_hash: String,
    _db: TestDb,
}

fn now_ms() -> i64 {
    tos_pool::clock::now_ms() as i64
}

fn settings(rate_limit_per_minute: u64) -> HttpSettings {
    HttpSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        cors_origins: vec!["https://stats.example".into()],
        rate_limit_per_minute,
        ws_max_connections: 8,
        ws_queue: 8,
        stats_every: Duration::from_millis(200),
    }
}

fn share(tag: &str, miner: usize, worker: &str, d: u64, ms: i64) -> SpooledShare {
    SpooledShare {
        share_id: blake3::hash(tag.as_bytes()).to_hex().to_string(),
        address: demo_address(miner).to_string(),
        worker: worker.into(),
        scheme: Scheme::Pplns.to_string(),
        difficulty: d.to_string(),
        network_difficulty: "1000".into(),
        height: 1,
        job_id: "j".into(),
        hash: "00".repeat(32),
        is_block: false,
        submitted_ms: ms as u64,
    }
}

/// Mines a block on the node for the pool address and records it as found by demo miner 1, with
/// shares of miners 1 and 2 before it; the unlocker makes it immature (credited).
async fn seed(ledger: &Ledger, node: &Node) -> String {
    let db = ledger.db();
    let ids = MinerIds::default();
    let base = now_ms() - 120_000;
    let shares = vec![
        share("a", 1, "rig", 3000, base),
        share("b", 2, "laptop", 7000, base + 1_000),
        share("c", 1, "rig2", 500, base + 61_000),
    ];
    record::write(db, &ids, 0, &[SpoolRecord::Batch { shares, blocks: vec![] }]).await.unwrap();

    let template =
        node.node.call("get_block_template", &json!({ "address": pool_address().to_string() })).unwrap();
    let template_hex = template["template"].as_str().unwrap().to_owned();
    let t = BlockTemplate::from_hex(&template_hex).unwrap();
    let difficulty = Difficulty::from_dec_str(template["difficulty"].as_str().unwrap()).unwrap();
    let work = t.miner_work();
    let nonce = support::find_nonce(&work, &[difficulty.target()], &[], 0);
    let solved = work.with_nonce(nonce);
    let r = node
        .node
        .call("submit_block", &json!({ "block_template": template_hex, "miner_work": solved.to_hex() }));
    assert_eq!(r.unwrap(), json!(true));
    let id = solved.block_id();
    let found = base + 62_000;
    let mut own = share("own", 1, "rig", 100, found);
    own.share_id = hex::encode(id);
    own.is_block = true;
    own.network_difficulty = difficulty.to_string();
    let block = SpooledBlock {
        block_id: hex::encode(id),
        height: t.height,
        template_hex: template_hex.clone(),
        miner_work_hex: solved.to_hex(),
        address: demo_address(1).to_string(),
        worker: "rig".into(),
        scheme: Scheme::Pplns.to_string(),
        network_difficulty: difficulty.to_string(),
        found_ms: found as u64,
    };
    record::write(db, &ids, 0, &[SpoolRecord::Batch { shares: vec![own], blocks: vec![block] }])
        .await
        .unwrap();
    let outcome =
        SpoolRecord::BlockOutcome { block_id: hex::encode(id), accepted: true, note: "node".into() };
    record::write(db, &ids, 0, &[outcome]).await.unwrap();
    // A block no node ever heard of (a failed submission), for a second status.
    let failed = SpooledBlock {
        block_id: blake3::hash(b"failed block").to_hex().to_string(),
        height: 1,
        template_hex: "00".into(),
        miner_work_hex: "00".into(),
        address: demo_address(2).to_string(),
        worker: "laptop".into(),
        scheme: Scheme::Pplns.to_string(),
        network_difficulty: "1000".into(),
        found_ms: (base + 500) as u64,
    };
    record::write(db, &ids, 0, &[SpoolRecord::Batch { shares: vec![], blocks: vec![failed] }]).await.unwrap();

    hex::encode(id)
}

async fn settle(
    ledger: Arc<Ledger>,
    checked: &tos_pool::config::Checked,
    upstreams: tos_pool::node::Upstreams,
) {
    let unlocker =
        Unlocker::new(ledger, upstreams, checked.rewards.clone(), UnlockRules::from_config(checked));
    for _ in 0..20 {
        let run = unlocker.run_once().await.unwrap();
        if run.immature + run.mature > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn payouts(ledger: &Ledger) {
    let db = ledger.db();
    let now = now_ms();
    let miner: i64 = on_db!(db, |p| sqlx::query_scalar("SELECT id FROM miners WHERE address = $1")
        .bind(demo_address(1).to_string())
        .fetch_one(p)
        .await)
    .unwrap();
    let batch = "INSERT INTO payout_batches (status, tx_hash, tx_fee, total, recipients, created_ms, updated_ms, instance_id) \
                 VALUES ('confirmed', $1, 1000, 150000000, 1, $2, $2, 0)";
    on_db!(db, |p| sqlx::query(batch).bind("ab".repeat(32)).bind(now).execute(p).await.map(|_| ())).unwrap();
    let id: i64 =
        on_db!(db, |p| sqlx::query_scalar("SELECT MAX(id) FROM payout_batches").fetch_one(p).await).unwrap();
    let payment = "INSERT INTO payments (batch_id, miner_id, address, debit, amount, fee_share, status) \
                   VALUES ($1, $2, $3, 150000000, 150000000, 0, 'confirmed')";
    on_db!(db, |p| sqlx::query(payment)
        .bind(id)
        .bind(miner)
        .bind(demo_address(1).to_string())
        .execute(p)
        .await
        .map(|_| ()))
    .unwrap();
    let open = "INSERT INTO payout_batches (status, tx_fee, total, recipients, created_ms, updated_ms, instance_id) \
                VALUES ('intent', 0, 42, 1, $1, $1, 0)";
    on_db!(db, |p| sqlx::query(open).bind(now).execute(p).await.map(|_| ())).unwrap();
}

impl Env {
    async fn new(backend: Backend, rate_limit_per_minute: u64) -> Option<Env> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let db = TestDb::new(backend).await?;
        let ledger = db.ledger().await;
        let node = Node::start(DevnetNode::new()).await;
        let mut cfg = support::config(&[node.url()], "1000");
        cfg.blocks.unlock_interval_ms = 3_600_000;
        let checked = cfg.check().unwrap();
        let pool = Pool::start(&checked, ledger.clone()).await.unwrap();
        let block_hash = seed(&ledger, &node).await;
        settle(ledger.clone(), &checked, pool.upstreams.clone()).await;
        payouts(&ledger).await;
        let http = tos_pool::http::start(&pool, &checked, settings(rate_limit_per_minute)).await.unwrap();
        Some(Env { http, pool: Some(pool), ledger, node, checked, block_hash, _db: db })
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http.addr)
    }

    async fn stop(mut self) {
        if let Some(p) = self.pool.take() {
            p.shutdown().await;
        }
        let _ = (&self.ledger, &self.node, &self.checked);
    }
}

// ---------------------------------------------------------------------------------------------
// The OpenAPI document as validators.

struct Contract {
    doc: Value,
}

impl Contract {
    async fn fetch(env: &Env) -> Contract {
        let doc: Value = reqwest::get(env.url("/api/v1/openapi.json")).await.unwrap().json().await.unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        Contract { doc }
    }

    /// The schema declared for `template` (a path of the document) answering `status`.
    fn schema(&self, template: &str, status: u16) -> Value {
        let s = &self.doc["paths"][template]["get"]["responses"][status.to_string()]["content"]["application/json"]
            ["schema"];
        assert!(s.is_object(), "the document declares no {status} answer for {template}");
        let mut root = s.clone();
        root["components"] = self.doc["components"].clone();
        root
    }

    fn check(&self, template: &str, status: u16, body: &Value) {
        let schema = self.schema(template, status);
        let v = jsonschema::validator_for(&schema).expect("a valid schema");
        let errors: Vec<String> =
            v.iter_errors(body).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{template} {status}: {errors:#?}\n{body:#}");
    }

    /// The error schema (every error answer, whatever the path).
    fn check_error(&self, body: &Value) {
        let mut root = json!({"$ref": "#/components/schemas/Error"});
        root["components"] = self.doc["components"].clone();
        let v = jsonschema::validator_for(&root).unwrap();
        assert!(v.is_valid(body), "not an error body: {body}");
    }
}

async fn get(url: &str) -> (u16, Value, reqwest::header::HeaderMap) {
    let r = reqwest::get(url).await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let text = r.text().await.unwrap();
    assert!(ct.starts_with("application/json"), "{url}: {status} with content-type {ct:?}: {text}");
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: not JSON ({e}): {text}")), headers)
}

// ---------------------------------------------------------------------------------------------

async fn every_answer_holds_to_the_openapi_document(backend: Backend) {
    let Some(env) = Env::new(backend, 10_000).await else { return };
    let c = Contract::fetch(&env).await;
    let miner = demo_address(1).to_string();
    let stranger = Address::normal(false, [42; 32]).to_string();
    // Wait for the first statistics snapshot.
    let mut stats = Value::Null;
    for _ in 0..100 {
        stats = get(&env.url("/api/v1/pool/stats")).await.1;
        if stats["updated_ms"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.check("/api/v1/pool/stats", 200, &stats);
    assert_eq!(stats["database"]["kind"], if backend == Backend::Sqlite { "sqlite" } else { "postgresql" });
    assert_eq!(stats["miners"], 2, "{stats}");
    assert_eq!(stats["workers"], 3, "{stats}");
    assert_ne!(stats["hashrate"]["10m"], "0");
    assert_eq!(stats["verifier"]["mode"], "cpu");
    assert_eq!(stats["pool"]["schemes"], json!(["pplns", "solo"]));
    assert_eq!(stats["network"]["network"], "devnet");
    // The open round: shares after the newest block, read incrementally by the refresher (a share
    // counts once it is a few seconds old: batches still committing are left for the next read).
    assert_eq!(stats["round"]["work"], "0", "{stats}");
    let late = share("late", 2, "laptop", 4321, now_ms() - 1_000);
    record::write(
        env.ledger.db(),
        &MinerIds::default(),
        0,
        &[SpoolRecord::Batch { shares: vec![late], blocks: vec![] }],
    )
    .await
    .unwrap();
    let mut round = Value::Null;
    for _ in 0..300 {
        round = get(&env.url("/api/v1/pool/stats")).await.1["round"].clone();
        if round["work"] == "4321" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(round["work"], "4321", "{round}");
    assert!(round["effort_bp"].as_u64().is_some_and(|e| e > 0), "{round}");

    let cases: Vec<(&str, String, u16)> = vec![
        ("/api/v1/pool/hashrate", "/api/v1/pool/hashrate".into(), 200),
        ("/api/v1/pool/hashrate", "/api/v1/pool/hashrate?hours=1".into(), 200),
        ("/api/v1/pool/hashrate", "/api/v1/pool/hashrate?hours=720".into(), 200),
        ("/api/v1/network", "/api/v1/network".into(), 200),
        ("/api/v1/blocks", "/api/v1/blocks".into(), 200),
        ("/api/v1/blocks", "/api/v1/blocks?limit=1&offset=1".into(), 200),
        ("/api/v1/blocks", "/api/v1/blocks?offset=1000000".into(), 200),
        ("/api/v1/blocks/{hash}/credits", format!("/api/v1/blocks/{}/credits", env.block_hash), 200),
        (
            "/api/v1/blocks/{hash}/credits",
            format!("/api/v1/blocks/{}/credits", env.block_hash.to_uppercase()),
            200,
        ),
        ("/api/v1/blocks/{hash}/credits", format!("/api/v1/blocks/{}/credits", "0".repeat(64)), 404),
        ("/api/v1/blocks/{hash}/credits", "/api/v1/blocks/xyz/credits".into(), 400),
        ("/api/v1/payments", "/api/v1/payments".into(), 200),
        ("/api/v1/payments", "/api/v1/payments?limit=100".into(), 200),
        ("/api/v1/miners/{address}", format!("/api/v1/miners/{miner}"), 200),
        ("/api/v1/miners/{address}", format!("/api/v1/miners/{stranger}"), 404),
        ("/api/v1/miners/{address}", "/api/v1/miners/tos1notanaddress".into(), 400),
        ("/api/v1/miners/{address}/hashrate", format!("/api/v1/miners/{miner}/hashrate?hours=2"), 200),
        ("/api/v1/miners/{address}/hashrate", format!("/api/v1/miners/{stranger}/hashrate"), 404),
        ("/api/v1/blocks", "/api/v1/blocks?limit=0".into(), 400),
        ("/api/v1/ws", "/api/v1/ws".into(), 400),
    ];
    let mut bodies = std::collections::HashMap::new();
    for (template, path, want) in &cases {
        let (status, body, _) = get(&env.url(path)).await;
        assert_eq!(status, *want, "{path}: {body}");
        c.check(template, status, &body);
        bodies.insert(path.clone(), body);
    }

    // The numbers behind the shapes.
    let blocks = &bodies["/api/v1/blocks"];
    assert_eq!(blocks["total"], 2);
    let found =
        blocks["items"].as_array().unwrap().iter().find(|b| b["hash"] == env.block_hash.as_str()).unwrap();
    assert_eq!(found["status"], "immature", "{found}");
    assert_eq!(found["finder"]["address"], miner.as_str());
    assert!(found["reward"].as_str().is_some_and(|r| r != "0"));
    assert_eq!(bodies["/api/v1/blocks?limit=1&offset=1"]["items"].as_array().unwrap().len(), 1);
    assert_eq!(bodies["/api/v1/blocks?offset=1000000"]["items"], json!([]));

    let credits = &bodies[&format!("/api/v1/blocks/{}/credits", env.block_hash)];
    assert_eq!(credits["differences"], json!([]), "{credits:#}");
    // The same numbers the audit computes, and they add up to the reward.
    let audit =
        tos_pool::ledger::audit::audit_block(env.ledger.db(), &hex::decode(&env.block_hash).unwrap(), None)
            .await
            .unwrap();
    let lines = credits["credits"].as_array().unwrap();
    assert_eq!(lines.len(), audit.lines.len());
    for (l, a) in lines.iter().zip(&audit.lines) {
        assert_eq!(l["address"], a.address.as_str());
        assert_eq!(l["stored"], a.stored.to_string());
        assert_eq!(l["computed"], a.computed.to_string());
    }
    let sum: u64 = lines.iter().map(|l| l["stored"].as_str().unwrap().parse::<u64>().unwrap()).sum::<u64>()
        + credits["pool_fee"].as_str().unwrap().parse::<u64>().unwrap()
        + credits["pps_fund"].as_str().unwrap().parse::<u64>().unwrap();
    assert_eq!(sum.to_string(), credits["reward"].as_str().unwrap());

    let payments = &bodies["/api/v1/payments"];
    assert_eq!(payments["total"], 2);
    assert_eq!(payments["items"][1]["tx_hash"], "ab".repeat(32));

    let m = &bodies[&format!("/api/v1/miners/{miner}")];
    let workers: Vec<&str> =
        m["workers"].as_array().unwrap().iter().map(|w| w["name"].as_str().unwrap()).collect();
    assert_eq!(workers, ["rig", "rig2"]);
    assert!(m["workers"][0]["last_share_ms"].as_i64().unwrap() > 0);
    assert_ne!(m["immature"], "0", "the immature credit shows: {m}");
    assert_eq!(m["paid"], "0", "paid moves only with the payer's balance changes");
    assert_eq!(m["payments"][0]["tx_hash"], "ab".repeat(32));
    assert_eq!(m["payments"][0]["amount"], "150000000");
    assert_eq!(m["payout_threshold"], env.checked.payouts.policy.default_threshold().to_string());
    assert_eq!(m["daily_earnings"].as_array().unwrap().len(), 1, "{m}");
    assert_eq!(m["daily_earnings"][0]["amount"], m["immature"]);

    // CORS: the configured origin is allowed, another is not.
    let client = reqwest::Client::new();
    let r = client
        .get(env.url("/api/v1/network"))
        .header("Origin", "https://stats.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers().get("access-control-allow-origin").unwrap(), "https://stats.example");
    let r =
        client.get(env.url("/api/v1/network")).header("Origin", "https://evil.example").send().await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());

    // The dashboard is served from the same listener.
    let r = reqwest::get(env.url("/")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
    assert!(r.text().await.unwrap().contains("/assets/app.js"));
    env.stop().await;
}

async fn hostile_input_is_a_json_4xx_never_a_500(backend: Backend) {
    let Some(env) = Env::new(backend, 100_000).await else { return };
    let c = Contract::fetch(&env).await;
    let long = "A".repeat(10 * 1024);
    let hostile: Vec<String> = vec![
        "99999999999999999999999999999999".into(),
        "18446744073709551616".into(),
        "9223372036854775808".into(),
        "-1".into(),
        "-0".into(),
        "1e3".into(),
        "0x10".into(),
        "+5".into(),
        "%20%31".into(),
        "%EF%BC%91".into(), // fullwidth digit one
        "%C3%BC%E2%9C%93%F0%9F%92%A5".into(),
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd".into(),
        "..%2F..%2F".into(),
        "%00".into(),
        "%FF%FE".into(),
        "%".into(),
        "'%20OR%201=1--".into(),
        "%3Cscript%3E".into(),
        long.clone(),
        "".into(),
    ];
    let miner = demo_address(1).to_string();
    let mut checked = 0;
    for h in &hostile {
        let mut urls = vec![
            format!("/api/v1/miners/{h}"),
            format!("/api/v1/miners/{h}/hashrate"),
            format!("/api/v1/blocks/{h}/credits"),
        ];
        for q in ["limit", "offset"] {
            urls.push(format!("/api/v1/blocks?{q}={h}"));
            urls.push(format!("/api/v1/payments?{q}={h}"));
        }
        urls.push(format!("/api/v1/pool/hashrate?hours={h}"));
        urls.push(format!("/api/v1/miners/{miner}/hashrate?hours={h}"));
        for u in urls {
            let (status, body, _) = get(&env.url(&u)).await;
            assert!((400..500).contains(&status), "{}: {status} {body}", &u[..u.len().min(120)]);
            c.check_error(&body);
            checked += 1;
        }
    }
    // Repeated and huge query strings, wrong methods, unknown paths, a WebSocket path without upgrade.
    for u in [
        "/api/v1/blocks?limit=1&limit=2".to_owned(),
        format!("/api/v1/blocks?x={long}"),
        "/api/v1/nope".into(),
        "/api/v1/miners/".into(),
        "/api/v1/ws".into(),
        "/assets/../../etc/passwd".into(),
    ] {
        let (status, body, _) = get(&env.url(&u)).await;
        assert!((400..500).contains(&status), "{}: {status} {body}", &u[..u.len().min(120)]);
        c.check_error(&body);
    }
    let r = reqwest::Client::new().post(env.url("/api/v1/pool/stats")).body("{}").send().await.unwrap();
    assert_eq!(r.status(), 405);
    c.check_error(&r.json().await.unwrap());
    assert!(checked > 150);
    env.stop().await;
}

async fn the_rate_limit_is_per_ip(backend: Backend) {
    let Some(env) = Env::new(backend, 5).await else { return };
    let c = Contract::fetch(&env).await; // one request
    for _ in 0..4 {
        assert_eq!(get(&env.url("/api/v1/network")).await.0, 200);
    }
    let (status, body, headers) = get(&env.url("/api/v1/network")).await;
    assert_eq!(status, 429, "{body}");
    c.check_error(&body);
    assert!(headers.get("retry-after").is_some());
    // Another client address has its own allowance (loopback answers for all of 127/8).
    let other = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let r = other.get(env.url("/api/v1/network")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // The dashboard itself is not rate-limited.
    assert_eq!(reqwest::get(env.url("/")).await.unwrap().status(), 200);
    env.stop().await;
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("a message in time");
        match m.expect("open").expect("no error") {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            _ => continue,
        }
    }
}

async fn the_websocket_feed_pushes_events_and_drops_slow_consumers(backend: Backend) {
    let Some(env) = Env::new(backend, 10_000).await else { return };
    let c = Contract::fetch(&env).await;
    let ws_url = format!("ws://{}/api/v1/ws", env.http.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(&ws_url).await.unwrap();
    let miner = demo_address(1).to_string();
    ws.send(Message::Text(
        json!({"subscribe": ["blocks", "stats", format!("miner:{miner}")]}).to_string().into(),
    ))
    .await
    .unwrap();
    let first = next_json(&mut ws).await;
    assert_eq!(first["subscribed"], json!(["blocks", format!("miner:{miner}"), "stats"]));
    // The statistics at once, then every 200 ms; each one is the REST stats object.
    for _ in 0..2 {
        let m = next_json(&mut ws).await;
        assert_eq!(m["topic"], "stats", "{m}");
        c.check("/api/v1/pool/stats", 200, &m["data"]);
    }
    let pool = env.pool.as_ref().unwrap();
    pool.bus.publish(PoolEvent::PaymentConfirmed { tx_hash: "t".into() }); // not subscribed
    pool.bus.publish(PoolEvent::BlockFound {
        hash: "cd".repeat(32),
        height: 77,
        finder: miner.clone(),
        worker: "rig".into(),
    });
    let mut got = Vec::new();
    while got.len() < 2 {
        let m = next_json(&mut ws).await;
        if m["topic"] != "stats" {
            got.push(m);
        }
    }
    assert_eq!(got[0]["topic"], "blocks");
    assert_eq!(got[0]["data"]["event"], "block_found");
    assert_eq!(got[0]["data"]["height"], 77);
    assert_eq!(got[1]["topic"], format!("miner:{miner}"));
    // Bad subscriptions are answered, not fatal.
    ws.send(Message::Text(json!({"subscribe": ["miner:../../etc"]}).to_string().into())).await.unwrap();
    loop {
        let m = next_json(&mut ws).await;
        if m["topic"] != "stats" {
            assert!(m["error"].is_string(), "{m}");
            break;
        }
    }
    ws.close(None).await.unwrap();

    // A client that stops reading: the server closes it instead of buffering.
    let (mut slow, _) = tokio_tungstenite::connect_async(&ws_url).await.unwrap();
    slow.send(Message::Text(json!({"subscribe": ["blocks"]}).to_string().into())).await.unwrap();
    let _ = next_json(&mut slow).await;
    let hub = &env.http.state.ws;
    assert!(
        tokio::time::timeout(Duration::from_secs(5), async {
            while hub.open() != 1 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .is_ok()
    );
    let big = "ef".repeat(8 * 1024);
    let mut published = 0u64;
    for i in 0..20_000u64 {
        pool.bus.publish(PoolEvent::BlockFound {
            hash: big.clone(),
            height: i,
            finder: miner.clone(),
            worker: "w".into(),
        });
        published += 1;
        if hub.dropped_slow.load(Ordering::Relaxed) > 0 {
            break;
        }
        if i % 64 == 0 {
            tokio::task::yield_now().await;
        }
    }
    assert!(
        support::eventually(Duration::from_secs(10), || hub.dropped_slow.load(Ordering::Relaxed) == 1).await,
        "the slow consumer was not dropped"
    );
    assert!(support::eventually(Duration::from_secs(10), || hub.open() == 0).await);
    // What it can still read ends with the connection closed, well short of everything published.
    let mut received = 0u64;
    let drained = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(m) = slow.next().await {
            match m {
                Ok(Message::Text(_)) => received += 1,
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(drained.is_ok(), "the connection was not closed");
    assert!(received < published, "received {received} of {published}");

    // The connection cap: 8 here; a 9th is refused with a JSON 503.
    let mut open = Vec::new();
    for _ in 0..8 {
        open.push(tokio_tungstenite::connect_async(&ws_url).await.unwrap().0);
    }
    match tokio_tungstenite::connect_async(&ws_url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status().as_u16(), 503),
        other => panic!("a 9th connection: {:?}", other.map(|_| ())),
    }
    drop(open);

    // Shutdown does not wait on an open feed: the server closes it.
    assert!(support::eventually(Duration::from_secs(10), || hub.open() == 0).await);
    let (mut last, _) = tokio_tungstenite::connect_async(&ws_url).await.unwrap();
    last.send(Message::Text(json!({"subscribe": ["stats"]}).to_string().into())).await.unwrap();
    let _ = next_json(&mut last).await;
    assert!(
        tokio::time::timeout(Duration::from_secs(15), env.stop()).await.is_ok(),
        "shutdown hung on a WebSocket"
    );
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(m)) = last.next().await {
            if m.is_close() {
                break;
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the feed was not closed at shutdown");
}

#[test]
fn the_http_section_is_optional_with_defaults_and_checked() {
    let base = format!("[pool]\naddress = \"{}\"\nnetwork = \"devnet\"\n", pool_address());
    let parse = |extra: &str| -> anyhow::Result<tos_pool::config::Checked> {
        let raw: tos_pool::config::Config = toml::from_str(&format!("{base}{extra}"))?;
        raw.check()
    };
    assert!(parse("").unwrap().raw.http.is_none(), "no [http]: no web server");
    let h = parse("[http]\n").unwrap().raw.http.unwrap();
    assert_eq!(h.listen, "0.0.0.0:8088".parse().unwrap());
    assert!(h.cors_origins.is_empty(), "no CORS unless configured");
    assert_eq!(h.rate_limit_per_minute, 120);
    let h = parse("[http]\nlisten = \"127.0.0.1:9000\"\ncors_origins = [\"https://a.example\", \"*\"]\n")
        .unwrap();
    assert_eq!(h.raw.http.unwrap().cors_origins.len(), 2);
    for bad in [
        "[http]\nrate_limit_per_minute = 0\n",
        "[http]\nws_max_connections = 0\n",
        "[http]\ncors_origins = [\"a.example\"]\n",
        "[http]\nlisten = \"nope\"\n",
        "[http]\nunknown = 1\n",
    ] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}
