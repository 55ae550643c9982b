//! `GET /admin/v1/payouts` (batches in flight, recent batches, the totals) and
//! `POST /admin/v1/payouts/dry-run` (what the payer would pay now: the plan of `tos-pool payouts
//! --dry-run`, nothing written, nothing sent). Amounts are atomic units as strings.

use super::AdminState;
use super::auth::KeyName;
use super::error::ApiError;
use crate::ledger::payer::{self, WalletView};
use crate::ledger::payout_store::{self, BatchRow};
use axum::Json;
use axum::extract::{Extension, State};
use serde_json::{Value, json};

/// Recent batches shown.
const RECENT: i64 = 50;

fn batch_json(b: &BatchRow) -> Value {
    json!({
        "id": b.id,
        "status": b.status.as_str(),
        "tx_hash": b.tx_hash,
        "total": b.total.to_string(),
        "tx_fee": b.tx_fee.to_string(),
        "recipients": b.recipients,
        "created_ms": b.created_ms,
        "updated_ms": b.updated_ms,
        "submit_attempts": b.submit_attempts,
        "executed_block": b.executed_block,
        "executed_topoheight": b.executed_topoheight,
        "error": b.error,
    })
}

pub async fn view(State(state): State<AdminState>) -> Result<Json<Value>, ApiError> {
    let db = state.ledger.db();
    let open = payout_store::open_batches(db).await.map_err(ApiError::internal)?;
    let recent = payout_store::recent_batches(db, RECENT).await.map_err(ApiError::internal)?;
    let m = payout_store::summary(db).await.map_err(ApiError::internal)?;
    Ok(Json(json!({
        "enabled": state.config.payouts.enabled,
        "pending": open.iter().map(batch_json).collect::<Vec<_>>(),
        "recent": recent.iter().map(batch_json).collect::<Vec<_>>(),
        "summary": {
            "owed": m.balance.to_string(),
            "pending": m.pending.to_string(),
            "paid": m.paid.to_string(),
            "confirmed_payments": m.confirmed_payments,
            "open_batches": m.open_batches,
            "failed_batches": m.failed_batches,
        },
    })))
}

pub async fn dry_run(
    State(state): State<AdminState>,
    Extension(KeyName(key)): Extension<KeyName>,
) -> Result<Json<Value>, ApiError> {
    let cfg = &state.config;
    let db = state.ledger.db();
    let wallet = payer::wallet_view(cfg).await.map_err(ApiError::internal)?;
    let open = payout_store::open_batches(db).await.map_err(ApiError::internal)?;
    let plan = payer::plan_round(db, cfg.network, wallet.available(), &cfg.payouts.policy)
        .await
        .map_err(ApiError::internal)?;
    super::actions::record(db, &key, "payouts_dry_run", &format!("{} batches planned", plan.batches.len()))
        .await;
    let wallet = match wallet {
        WalletView::NotConfigured => json!({ "state": "not_configured" }),
        WalletView::Answered { url, online, balance } => {
            json!({ "state": if online { "online" } else { "offline" }, "url": url, "balance": balance.to_string() })
        }
        WalletView::Unreachable { url, error } => {
            json!({ "state": "unreachable", "url": url, "error": error })
        }
    };
    let batches: Vec<Value> = plan
        .batches
        .iter()
        .map(|b| {
            json!({
                "sends": b.sent().to_string(),
                "tx_fee": b.tx_fee.to_string(),
                "wallet_cost": b.wallet_cost().to_string(),
                "payments": b.payments.iter().map(|p| json!({
                    "miner": p.miner, "address": p.address,
                    "debit": p.debit.to_string(), "sends": p.send.to_string(), "fee_share": p.fee_share.to_string(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(json!({
        "dry_run": true,
        "wallet": wallet,
        "blocked_by_batch_in_flight": open.iter().any(|b| b.executed_block.is_none()),
        "in_flight": open.iter().map(batch_json).collect::<Vec<_>>(),
        "batches": batches,
        "skipped": plan.skipped.iter().map(|s| json!({
            "miner": s.miner, "address": crate::log_limit::clip(&s.address),
            "balance": s.balance.to_string(), "reason": s.reason.to_string(),
        })).collect::<Vec<_>>(),
        "deferred": plan.deferred.iter().map(|d| json!({
            "miner": d.miner, "address": d.address, "amount": d.amount.to_string(), "reason": d.reason.to_string(),
        })).collect::<Vec<_>>(),
        "total": {
            "payments": plan.batches.iter().map(|b| b.payments.len()).sum::<usize>(),
            "wallet_cost": plan.wallet_cost().to_string(),
        },
    })))
}
