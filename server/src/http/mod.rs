//! The public web server: REST API under `/api/v1`, the WebSocket feed at `/api/v1/ws`, the
//! OpenAPI document at `/api/v1/openapi.json`, and the dashboard at `/`.
//!
//! | module | what it holds |
//! |---|---|
//! | [`api`] | the REST handlers (read-only; the ledger through [`crate::ledger::queries`]) |
//! | [`openapi`] | the OpenAPI 3.1 document the responses are held to |
//! | [`ws`] | WebSocket topics, the bounded per-connection queue, slow consumers dropped |
//! | [`snapshot`] | the pool's numbers recomputed every few seconds, shared by REST and WebSocket |
//! | [`hashrate`] | hashrate windows and charts from the per-minute rollups (exact integers) |
//! | [`incremental`] | what the snapshot keeps between refreshes: minute sums, the open round's work |
//! | [`rate_limit`] | per-IP token buckets, memory-capped |
//! | [`error`] | the JSON error answers |
//! | [`dashboard`] | the dashboard files compiled into the binary ([`dashboard_router`]) |
//!
//! The server runs under the pool's [`Lifecycle`](crate::lifecycle::Lifecycle) in
//! [`Phase::Background`]: it stops (and closes every WebSocket) when that phase is cancelled.

pub mod api;
pub mod dashboard;
pub mod error;
pub mod hashrate;
pub mod incremental;
pub mod openapi;
pub mod rate_limit;
pub mod snapshot;
pub mod ws;

pub use dashboard::dashboard_router;

use crate::config::{Checked, HttpSection, Rewards};
use crate::events::EventBus;
use crate::job_dispatcher::JobFeed;
use crate::ledger::Ledger;
use crate::lifecycle::Phase;
use crate::node::Upstreams;
use crate::pool::Pool;
use crate::stats::PoolStats;
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use pool_core::VerifyEngine;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The longest an API request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Handles to the running pool the web server reads.
#[derive(Clone)]
pub struct PoolView {
    pub ledger: Option<Arc<Ledger>>,
    pub engine: Arc<VerifyEngine>,
    pub jobs: JobFeed,
    pub upstreams: Upstreams,
    pub stats: Arc<PoolStats>,
    pub bus: EventBus,
    /// `mainnet` | `testnet` | `stagenet` | `devnet`.
    pub network: String,
}

/// What the configuration says that the API shows.
#[derive(Clone, Debug)]
pub struct PoolInfo {
    pub network: pool_core::Network,
    pub pool_address: String,
    pub fee_percent: String,
    pub solo_fee_percent: String,
    pub pps_fee_percent: String,
    pub schemes: Vec<String>,
    pub default_scheme: String,
    pub payouts_enabled: bool,
    /// Atomic units.
    pub payout_threshold: u64,
    pub stratum_port: u16,
    pub stratum_tls_port: Option<u16>,
    pub rewards: Rewards,
}

impl PoolInfo {
    pub fn new(cfg: &Checked, pool: &Pool) -> Self {
        let r = &cfg.raw.rewards;
        PoolInfo {
            network: cfg.network,
            pool_address: cfg.address.to_string(),
            fee_percent: r.fee_percent.clone(),
            solo_fee_percent: r.solo_fee_percent.clone(),
            pps_fee_percent: r.pps_fee_percent.clone(),
            schemes: cfg.rewards.schemes.iter().map(|s| s.to_string()).collect(),
            default_scheme: cfg.rewards.default_scheme.to_string(),
            payouts_enabled: cfg.payouts.enabled,
            payout_threshold: cfg.payouts.policy.default_threshold(),
            stratum_port: pool.stratum_addr.port(),
            stratum_tls_port: pool.tls_addr.map(|a| a.port()),
            rewards: cfg.rewards.clone(),
        }
    }
}

/// The web server's settings.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    pub listen: SocketAddr,
    pub cors_origins: Vec<String>,
    pub rate_limit_per_minute: u64,
    pub ws_max_connections: usize,
    /// Messages queued per WebSocket before it counts as a slow consumer and is closed.
    pub ws_queue: usize,
    /// How often the statistics are recomputed and pushed.
    pub stats_every: Duration,
}

impl From<&HttpSection> for HttpSettings {
    fn from(h: &HttpSection) -> Self {
        HttpSettings {
            listen: h.listen,
            cors_origins: h.cors_origins.clone(),
            rate_limit_per_minute: h.rate_limit_per_minute,
            ws_max_connections: h.ws_max_connections,
            ws_queue: ws::DEFAULT_QUEUE,
            stats_every: Duration::from_secs(5),
        }
    }
}

/// Everything a request handler reads.
pub struct HttpState {
    pub view: PoolView,
    pub info: PoolInfo,
    pub snapshot: watch::Receiver<Arc<snapshot::Snapshot>>,
    pub limiter: rate_limit::RateLimiter,
    pub ws: ws::WsHub,
}

/// A running web server.
pub struct HttpServer {
    pub addr: SocketAddr,
    pub state: Arc<HttpState>,
}

async fn limit(State(state): State<Arc<HttpState>>, req: Request, next: Next) -> Response {
    let ip = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    if let Some(ip) = ip
        && let Err(retry_after_secs) = state.limiter.check(ip, crate::clock::now_ms())
    {
        return error::ApiError::RateLimited { retry_after_secs }.into_response();
    }
    next.run(req).await
}

fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(CorsLayer::new().allow_origin(allow).allow_methods([Method::GET]))
}

/// The whole public router: API (rate-limited, CORS as configured), dashboard, JSON 404s.
pub fn router(state: Arc<HttpState>, cors_origins: &[String]) -> Router {
    // A request that cannot be answered in time (a database that stalls) is a 503, not a pile-up.
    let timeout =
        tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, REQUEST_TIMEOUT);
    let mut api = api::routes()
        .route("/api/v1/ws", axum::routing::get(ws::upgrade))
        .layer(timeout)
        .layer(middleware::from_fn_with_state(state.clone(), limit));
    if let Some(c) = cors(cors_origins) {
        api = api.layer(c);
    }
    api.with_state(state)
        .merge(dashboard_router())
        .fallback(api::not_found)
        .layer(middleware::map_response(error::json_errors))
}

/// Starts the web server on `settings.listen` under the pool's lifecycle.
pub async fn start(pool: &Pool, cfg: &Checked, settings: HttpSettings) -> anyhow::Result<HttpServer> {
    let view = PoolView {
        ledger: pool.ledger.clone(),
        engine: pool.engine.clone(),
        jobs: pool.jobs.clone(),
        upstreams: pool.upstreams.clone(),
        stats: pool.stats.clone(),
        bus: pool.bus.clone(),
        network: cfg.raw.pool.network.clone(),
    };
    let lifecycle = pool.lifecycle();
    let stop = lifecycle.token(Phase::Background);
    let (snapshot, refresher) = snapshot::spawn_refresher(view.clone(), settings.stats_every, stop.clone());
    lifecycle.spawn(Phase::Background, refresher);
    let state = Arc::new(HttpState {
        view,
        info: PoolInfo::new(cfg, pool),
        snapshot,
        limiter: rate_limit::RateLimiter::new(settings.rate_limit_per_minute),
        ws: ws::WsHub::new(settings.ws_max_connections, settings.ws_queue, stop.clone()),
    });
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen for HTTP on {}: {e}", settings.listen))?;
    let addr = listener.local_addr()?;
    let app = router(state.clone(), &settings.cors_origins);
    tracing::info!(%addr, "web API and dashboard listening");
    println!("http listening on {addr}");
    lifecycle.spawn(Phase::Background, async move {
        let served = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the web server stopped");
        }
    });
    Ok(HttpServer { addr, state })
}
