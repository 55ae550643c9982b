//! The admin API, on its own listener (`[admin] listen`, loopback by default), behind API keys
//! stored hashed ([`keys`]; `tos-pool admin create-key`). Every route but `/metrics` needs
//! `Authorization: Bearer <key>`; every error is JSON; every action is logged with the key's name
//! and written to `admin_actions` ([`actions`]). No CORS headers: same-origin only.
//!
//! | route | what |
//! |---|---|
//! | `GET /admin/v1/status` | verifier (mode, GPU state and why it is out of service), nodes, spool |
//! | `POST /admin/v1/verifier` | `{"mode":"auto|gpu|cpu"}`: switches on the next batch; answers the new state |
//! | `GET /admin/v1/bans`, `POST /admin/v1/bans`, `DELETE /admin/v1/bans/{ip-or-address}` | operator bans |
//! | `GET /admin/v1/payouts`, `POST /admin/v1/payouts/dry-run` | payout batches; what would be paid now |
//! | `GET /admin/v1/config` | the effective configuration, secrets redacted |
//! | `GET /metrics` | Prometheus (no key: scrapers on the admin network) |

pub mod actions;
pub mod auth;
pub mod bans;
pub mod config_view;
pub mod error;
pub mod keys;
pub mod payouts;
pub mod status;

use crate::config::Checked;
use crate::ledger::Ledger;
use crate::metrics::{MetricsSource, metrics_router};
use crate::node::Upstreams;
use crate::stratum::Context;
use axum::Router;
use axum::routing::{delete, get, post};
use pool_core::VerifyEngine;
use pool_core::address::Network;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// What the handlers share (cheap to clone).
#[derive(Clone)]
pub struct AdminState {
    pub ledger: Arc<Ledger>,
    pub engine: Arc<VerifyEngine>,
    pub upstreams: Upstreams,
    pub stratum: Arc<Context>,
    pub config: Arc<Checked>,
    pub network: Network,
    pub metrics: MetricsSource,
    /// The keys as last read from the database (used while it is unreachable).
    pub known_keys: Arc<Mutex<Option<Vec<keys::StoredKey>>>>,
}

async fn not_found() -> error::ApiError {
    error::ApiError::NotFound("no such admin route".into())
}

/// The admin routes (keyed) and `/metrics`.
pub fn admin_router(state: AdminState) -> Router {
    let keyed = Router::new()
        .route("/admin/v1/status", get(status::status))
        .route("/admin/v1/verifier", post(status::switch))
        .route("/admin/v1/bans", get(bans::list).post(bans::ban))
        .route("/admin/v1/bans/{target}", delete(bans::unban))
        .route("/admin/v1/payouts", get(payouts::view))
        .route("/admin/v1/payouts/dry-run", post(payouts::dry_run))
        .route("/admin/v1/config", get(config_view::view))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_key))
        .with_state(state.clone());
    // The dashboard (stateless, its own pages) too, so its operator page calls these routes from
    // the same origin with the operator's key; the public pages live on the `[http]` listener.
    metrics_router(state.metrics.clone()).merge(crate::http::dashboard_router()).merge(keyed)
}

/// Binds the admin listener and serves until `stop`; returns the bound address.
pub async fn serve(
    listen: SocketAddr,
    state: AdminState,
    stop: CancellationToken,
) -> anyhow::Result<(SocketAddr, impl std::future::Future<Output = ()> + Send + 'static)> {
    if !listen.ip().is_loopback() {
        tracing::warn!(%listen, "the admin API listens beyond loopback: keep it on a private network");
    }
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        anyhow::anyhow!("cannot listen for the admin API on {listen}: {e} (set [admin] listen)")
    })?;
    let addr = listener.local_addr()?;
    let app = admin_router(state);
    let task = async move {
        let r =
            axum::serve(listener, app).with_graceful_shutdown(async move { stop.cancelled().await }).await;
        if let Err(e) = r {
            tracing::error!(error = %e, "the admin API stopped");
        }
    };
    Ok((addr, task))
}
