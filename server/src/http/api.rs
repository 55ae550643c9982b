//! The REST handlers under `/api/v1`. Read-only; amounts are decimal strings of atomic units
//! (8 decimals), difficulties and hashrates decimal strings (exact). Bad input is a 400, an
//! unknown miner or block a 404 — each with a JSON error body.

use super::HttpState;
use super::error::ApiError;
use super::hashrate::{self, HashratePoint, HashrateWindows};
use super::snapshot::{NetworkView, PoolStatsView};
use crate::ledger::{Ledger, accounts, audit, blocks, queries};
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::routing::get;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

type ApiResult<T> = Result<Json<T>, ApiError>;

/// The API's routes (state still to be given).
pub fn routes() -> Router<Arc<HttpState>> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/pool/stats", get(pool_stats))
        .route("/api/v1/pool/hashrate", get(pool_hashrate))
        .route("/api/v1/network", get(network))
        .route("/api/v1/blocks", get(blocks_list))
        .route("/api/v1/blocks/{hash}/credits", get(block_credits))
        .route("/api/v1/payments", get(payments_list))
        .route("/api/v1/miners/{address}", get(miner))
        .route("/api/v1/miners/{address}/hashrate", get(miner_hashrate))
}

/// Unknown paths.
pub async fn not_found(uri: Uri) -> ApiError {
    let path: String = uri.path().chars().take(200).collect();
    ApiError::NotFound(format!("no such endpoint: {path} (see /api/v1/openapi.json)"))
}

async fn openapi() -> Json<serde_json::Value> {
    Json(super::openapi::document())
}

// ---- query parameters ----

/// The query string's parameters (unknown ones are ignored; a repeated one is a 400).
fn params(uri: &Uri) -> Result<HashMap<String, String>, ApiError> {
    let mut out = HashMap::new();
    let q = uri.query().unwrap_or("");
    if q.len() > 2048 {
        return Err(ApiError::BadRequest("query string too long".into()));
    }
    for (k, v) in form_urlencoded::parse(q.as_bytes()) {
        if out.insert(k.clone().into_owned(), v.into_owned()).is_some() {
            return Err(ApiError::BadRequest(format!("parameter {:?} given twice", clip(&k))));
        }
    }
    Ok(out)
}

fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

/// An integer parameter in `min..=max` (digits only: no sign, no spaces, no exponent).
fn int_param(
    p: &HashMap<String, String>,
    name: &str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, ApiError> {
    let Some(v) = p.get(name) else { return Ok(default) };
    let bad =
        || ApiError::BadRequest(format!("{name} must be an integer from {min} to {max}, not {:?}", clip(v)));
    if v.is_empty() || v.len() > 19 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: i64 = v.parse().map_err(|_| bad())?;
    if !(min..=max).contains(&n) {
        return Err(bad());
    }
    Ok(n)
}

/// `limit` (1..=100, default 20) and `offset` (0..=1 000 000).
fn paging(uri: &Uri) -> Result<(i64, i64), ApiError> {
    let p = params(uri)?;
    Ok((int_param(&p, "limit", 20, 1, 100)?, int_param(&p, "offset", 0, 0, 1_000_000)?))
}

/// `hours` of a chart (1..=720, default 24).
fn hours(uri: &Uri) -> Result<i64, ApiError> {
    int_param(&params(uri)?, "hours", 24, 1, 720)
}

fn ledger(state: &HttpState) -> Result<&Arc<Ledger>, ApiError> {
    state
        .view
        .ledger
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("this pool runs without a database".into()))
}

/// A miner address of this pool's network, from the path.
fn address(state: &HttpState, raw: &str) -> Result<String, ApiError> {
    let network = state.info.network;
    if raw.len() > 128 {
        return Err(ApiError::BadRequest("an address is at most 128 characters".into()));
    }
    pool_core::Address::parse_normal(raw, network).map(|a| a.to_string()).map_err(|_| {
        ApiError::BadRequest(format!(
            "{:?} is not a {} address of this pool's network",
            clip(raw),
            network.hrp()
        ))
    })
}

async fn known_miner(state: &HttpState, raw: &str) -> Result<(String, i64), ApiError> {
    let address = address(state, raw)?;
    let db = ledger(state)?.db();
    match accounts::miner_id(db, &address).await? {
        Some(id) => Ok((address, id)),
        None => Err(ApiError::NotFound(format!("no shares from {address} in this pool"))),
    }
}

// ---- pool ----

/// The configuration the API shows.
#[derive(Serialize)]
pub struct PoolTerms {
    pub network: String,
    pub pool_address: String,
    pub fee_percent: String,
    pub solo_fee_percent: String,
    pub pps_fee_percent: String,
    pub schemes: Vec<String>,
    pub default_scheme: String,
    pub payouts_enabled: bool,
    pub payout_threshold: String,
    pub stratum_port: u16,
    pub stratum_tls_port: Option<u16>,
}

#[derive(Serialize)]
pub struct PoolStatsBody {
    #[serde(flatten)]
    pub stats: PoolStatsView,
    pub pool: PoolTerms,
}

async fn pool_stats(State(state): State<Arc<HttpState>>) -> ApiResult<PoolStatsBody> {
    Ok(Json(pool_stats_body(&state)))
}

/// The latest statistics with the pool's terms (also the WebSocket `stats` message).
pub fn pool_stats_body(state: &HttpState) -> PoolStatsBody {
    let stats = state.snapshot.borrow().stats.clone();
    let i = &state.info;
    PoolStatsBody {
        stats,
        pool: PoolTerms {
            network: state.view.network.clone(),
            pool_address: i.pool_address.clone(),
            fee_percent: i.fee_percent.clone(),
            solo_fee_percent: i.solo_fee_percent.clone(),
            pps_fee_percent: i.pps_fee_percent.clone(),
            schemes: i.schemes.clone(),
            default_scheme: i.default_scheme.clone(),
            payouts_enabled: i.payouts_enabled,
            payout_threshold: i.payout_threshold.to_string(),
            stratum_port: i.stratum_port,
            stratum_tls_port: i.stratum_tls_port,
        },
    }
}

#[derive(Serialize)]
pub struct HashrateHistory {
    pub hours: i64,
    pub bucket_ms: i64,
    pub points: Vec<HashratePoint>,
}

async fn history(state: &HttpState, hours: i64, miner_id: Option<i64>) -> ApiResult<HashrateHistory> {
    let now = crate::clock::now_ms() as i64;
    let minutes =
        queries::minute_work(ledger(state)?.db(), hashrate::history_since(now, hours), miner_id).await?;
    Ok(Json(HashrateHistory {
        hours,
        bucket_ms: hashrate::bucket_ms(hours),
        points: hashrate::history(&minutes, now, hours),
    }))
}

async fn pool_hashrate(State(state): State<Arc<HttpState>>, uri: Uri) -> ApiResult<HashrateHistory> {
    let h = hours(&uri)?;
    history(&state, h, None).await
}

async fn network(State(state): State<Arc<HttpState>>) -> ApiResult<NetworkView> {
    Ok(Json(state.snapshot.borrow().stats.network.clone()))
}

// ---- blocks ----

#[derive(Serialize)]
pub struct Finder {
    pub address: String,
    pub worker: String,
}

#[derive(Serialize)]
pub struct BlockBody {
    pub hash: String,
    pub height: u64,
    /// candidate | immature | mature | orphaned
    pub status: String,
    /// accepted | failed | null while in progress
    pub submitted: Option<String>,
    pub confirmations: u64,
    pub reward: Option<String>,
    pub effort_bp: Option<i64>,
    pub finder: Finder,
    pub scheme: String,
    pub network_difficulty: String,
    pub found_ms: i64,
    pub topoheight: Option<i64>,
    pub block_type: Option<String>,
}

#[derive(Serialize)]
pub struct Page<T> {
    pub total: u64,
    pub limit: i64,
    pub offset: i64,
    pub items: Vec<T>,
}

async fn blocks_list(State(state): State<Arc<HttpState>>, uri: Uri) -> ApiResult<Page<BlockBody>> {
    let (limit, offset) = paging(&uri)?;
    let (rows, total) = queries::blocks_page(ledger(&state)?.db(), limit, offset).await?;
    let height = state.snapshot.borrow().stats.network.height;
    let items = rows
        .into_iter()
        .map(|b| {
            let r = b.row;
            let confirmations = match height {
                // Only a block on the chain has confirmations: not a candidate (it may have been
                // refused), not an orphan.
                Some(h)
                    if (r.status == blocks::status::IMMATURE || r.status == blocks::status::MATURE)
                        && h >= r.height =>
                {
                    h - r.height + 1
                }
                _ => 0,
            };
            BlockBody {
                hash: r.hash_hex(),
                height: r.height,
                status: r.status,
                submitted: r.submitted,
                confirmations,
                reward: r.reward.map(|v| v.to_string()),
                effort_bp: r.effort_bp,
                finder: Finder { address: b.finder_address, worker: r.finder_worker },
                scheme: r.scheme.to_string(),
                network_difficulty: r.network_difficulty.to_string(),
                found_ms: r.found_ms,
                topoheight: r.topoheight,
                block_type: r.block_type,
            }
        })
        .collect();
    Ok(Json(Page { total, limit, offset, items }))
}

#[derive(Serialize)]
pub struct SchemeShare {
    pub scheme: String,
    /// Parts per million of the group's portion.
    pub ppm: u64,
}

#[derive(Serialize)]
pub struct CreditLine {
    pub address: String,
    pub window_work: String,
    pub round_work: String,
    pub shares: Vec<SchemeShare>,
    pub computed: String,
    pub stored: String,
    /// stored − computed (signed).
    pub difference: String,
}

#[derive(Serialize)]
pub struct CreditsBody {
    pub hash: String,
    pub height: u64,
    pub status: String,
    pub scheme: String,
    /// address.worker
    pub finder: String,
    /// The settlement stage audited (`immature` | `mature`); null when nothing is credited.
    pub stage: Option<String>,
    pub reward: Option<String>,
    pub pool_fee: Option<String>,
    pub pps_fund: Option<String>,
    pub fee_bp: Option<u32>,
    pub round_work: Option<String>,
    pub effort_bp: Option<u64>,
    pub credits: Vec<CreditLine>,
    /// Money differences between the stored and the recomputed split (empty: consistent).
    pub differences: Vec<String>,
    pub notes: Vec<String>,
}

async fn block_credits(
    State(state): State<Arc<HttpState>>,
    Path(hash): Path<String>,
) -> ApiResult<CreditsBody> {
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::BadRequest(format!("{:?} is not a block hash (64 hex digits)", clip(&hash))));
    }
    let id = hex::decode(hash.to_ascii_lowercase()).map_err(|_| ApiError::BadRequest("not hex".into()))?;
    let db = ledger(&state)?.db();
    if blocks::by_id(db, &id).await?.is_none() {
        return Err(ApiError::NotFound(format!(
            "block {} is not in this pool's ledger",
            hash.to_ascii_lowercase()
        )));
    }
    let a = audit::audit_block(db, &id, Some(&state.info.rewards)).await.map_err(|e| {
        match e.downcast::<sqlx::Error>() {
            Ok(db_error) => ApiError::from(db_error),
            Err(e) => ApiError::Unprocessable(format!("{e:#}")),
        }
    })?;
    let b = &a.block;
    let credits = a
        .lines
        .iter()
        .map(|l| CreditLine {
            address: l.address.clone(),
            window_work: l.window_work.to_string(),
            round_work: l.round_work.to_string(),
            shares: l
                .shares_ppm
                .iter()
                .map(|(s, p)| SchemeShare { scheme: s.to_string(), ppm: *p })
                .collect(),
            computed: l.computed.to_string(),
            stored: l.stored.to_string(),
            difference: l.difference().to_string(),
        })
        .collect();
    Ok(Json(CreditsBody {
        hash: b.hash_hex(),
        height: b.height,
        status: b.status.clone(),
        scheme: b.scheme.to_string(),
        finder: a.finder.clone(),
        stage: a.settlement.as_ref().map(|s| s.stage.clone()),
        reward: a.settlement.as_ref().map(|s| s.reward.to_string()),
        pool_fee: a.settlement.as_ref().map(|s| s.pool_fee.to_string()),
        pps_fund: a.settlement.as_ref().map(|s| s.pps_fund.to_string()),
        fee_bp: a.computed.as_ref().map(|c| c.terms.fee.bp()),
        round_work: a.computed.as_ref().map(|c| c.round_work.to_string()),
        effort_bp: a.computed.as_ref().map(|c| c.effort_bp),
        credits,
        differences: a.differences.clone(),
        notes: a.notes.clone(),
    }))
}

// ---- payments ----

#[derive(Serialize)]
pub struct PayoutBody {
    pub id: i64,
    /// intent | built | submitted | confirmed | failed
    pub status: String,
    pub tx_hash: Option<String>,
    pub total: String,
    pub tx_fee: String,
    pub recipients: u32,
    pub created_ms: i64,
    pub executed_topoheight: Option<u64>,
}

async fn payments_list(State(state): State<Arc<HttpState>>, uri: Uri) -> ApiResult<Page<PayoutBody>> {
    let (limit, offset) = paging(&uri)?;
    let (rows, total) = queries::payouts_page(ledger(&state)?.db(), limit, offset).await?;
    let items = rows
        .into_iter()
        .map(|p| PayoutBody {
            id: p.id,
            status: p.status.as_str().to_owned(),
            tx_hash: p.tx_hash,
            total: p.total.to_string(),
            tx_fee: p.tx_fee.to_string(),
            recipients: p.recipients,
            created_ms: p.created_ms,
            executed_topoheight: p.executed_topoheight,
        })
        .collect();
    Ok(Json(Page { total, limit, offset, items }))
}

// ---- miners ----

#[derive(Serialize)]
pub struct WorkerBody {
    pub name: String,
    pub hashrate: HashrateWindows,
    pub last_share_ms: i64,
    pub shares_24h: u64,
}

#[derive(Serialize)]
pub struct MinerPaymentBody {
    pub batch_id: i64,
    pub amount: String,
    pub fee_share: String,
    pub status: String,
    pub tx_hash: Option<String>,
    pub created_ms: i64,
}

#[derive(Serialize)]
pub struct DailyEarning {
    /// The UTC day's start (Unix ms).
    pub day_ms: i64,
    /// Net credited that day (signed: an orphan takes back an immature credit).
    pub amount: String,
}

#[derive(Serialize)]
pub struct MinerBody {
    pub address: String,
    pub balance: String,
    pub immature: String,
    pub pending: String,
    pub paid: String,
    pub payout_threshold: String,
    /// Whether the threshold is the miner's own (else the pool's default).
    pub payout_threshold_custom: bool,
    pub hashrate: HashrateWindows,
    pub workers: Vec<WorkerBody>,
    pub payments: Vec<MinerPaymentBody>,
    pub daily_earnings: Vec<DailyEarning>,
}

async fn miner(State(state): State<Arc<HttpState>>, Path(raw): Path<String>) -> ApiResult<MinerBody> {
    let (address, id) = known_miner(&state, &raw).await?;
    let db = ledger(&state)?.db();
    let now = crate::clock::now_ms() as i64;
    let day_ago = now - hashrate::WINDOWS_MS[2] - 60_000;
    let b = accounts::balances(db, id).await?;
    let own = queries::payout_threshold(db, id).await?;
    let workers = queries::workers(db, id, day_ago).await?;
    let mut all = std::collections::BTreeMap::new();
    for w in &workers {
        for (m, work) in &w.minutes {
            let e = all.entry(*m).or_insert(pool_core::U256::ZERO);
            *e = e.checked_add(*work).unwrap_or(pool_core::U256::MAX);
        }
    }
    let payments = queries::miner_payments(db, id, 50).await?;
    let earnings = queries::daily_earnings(db, id, now - 30 * 86_400_000).await?;
    Ok(Json(MinerBody {
        address,
        balance: b.balance.to_string(),
        immature: b.immature.to_string(),
        pending: b.pending.to_string(),
        paid: b.paid.to_string(),
        payout_threshold: own.unwrap_or(state.info.payout_threshold).to_string(),
        payout_threshold_custom: own.is_some(),
        hashrate: hashrate::windows(&all, now),
        workers: workers
            .iter()
            .map(|w| WorkerBody {
                name: w.worker.clone(),
                hashrate: hashrate::windows(&w.minutes, now),
                last_share_ms: w.last_share_ms,
                shares_24h: w.shares,
            })
            .collect(),
        payments: payments
            .into_iter()
            .map(|p| MinerPaymentBody {
                batch_id: p.batch_id,
                amount: p.amount.to_string(),
                fee_share: p.fee_share.to_string(),
                status: p.status,
                tx_hash: p.tx_hash,
                created_ms: p.created_ms,
            })
            .collect(),
        daily_earnings: earnings
            .into_iter()
            .map(|(day_ms, amount)| DailyEarning { day_ms, amount: amount.to_string() })
            .collect(),
    }))
}

async fn miner_hashrate(
    State(state): State<Arc<HttpState>>,
    Path(raw): Path<String>,
    uri: Uri,
) -> ApiResult<HashrateHistory> {
    let h = hours(&uri)?;
    let (_, id) = known_miner(&state, &raw).await?;
    history(&state, h, Some(id)).await
}
