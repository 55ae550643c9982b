//! `GET /admin/v1/status` (verifier, nodes, spool) and `POST /admin/v1/verifier` (the runtime
//! switch: it takes effect on the next batch the share stage hands the engine).

use super::AdminState;
use super::auth::KeyName;
use super::error::ApiError;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Extension, State};
use pool_core::BackendMode;
use pool_core::engine::{EngineError, EngineStatus};
use serde::Deserialize;
use serde_json::{Value, json};

/// The verifier's state as the dashboard shows it.
pub fn verifier_json(s: &EngineStatus) -> Value {
    let st = &s.stats;
    let state = match (&s.gpu, &s.gpu_out_of_service) {
        (None, _) => "absent",
        (Some(_), Some(_)) => "out_of_service",
        (Some(_), None) if s.using_gpu => "in_use",
        (Some(_), None) => "idle",
    };
    json!({
        "mode": s.mode.to_string(),
        "using_gpu": s.using_gpu,
        "gpu": {
            "present": s.gpu.is_some(),
            "name": s.gpu,
            "state": state,
            "out_of_service_reason": s.gpu_out_of_service,
        },
        "cpu": s.cpu,
        "stats": {
            "gpu_batches": st.gpu_batches,
            "gpu_shares": st.gpu_shares,
            "cpu_batches": st.cpu_batches,
            "cpu_shares": st.cpu_shares,
            "gpu_rechecked": st.gpu_rechecked,
            "gpu_mismatches": st.gpu_mismatches,
            "gpu_failures": st.gpu_failures,
            "reverified_batches": st.reverified_batches,
        },
    })
}

pub async fn status(State(state): State<AdminState>) -> Json<Value> {
    let nodes: Vec<Value> = state
        .upstreams
        .status()
        .into_iter()
        .map(|n| json!({ "url": n.url, "healthy": n.healthy && n.refused.is_none(), "topoheight": n.topoheight, "refused": n.refused }))
        .collect();
    Json(json!({
        "verifier": verifier_json(&state.engine.status()),
        "nodes": nodes,
        "spool": { "depth": state.ledger.spooled(), "in_outage": state.ledger.in_outage() },
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchRequest {
    mode: String,
}

pub async fn switch(
    State(state): State<AdminState>,
    Extension(KeyName(key)): Extension<KeyName>,
    body: Result<Json<SwitchRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(req) = body?;
    let mode: BackendMode = req.mode.parse().map_err(ApiError::BadRequest)?;
    let before = state.engine.mode();
    state.engine.set_mode(mode).map_err(|e| match e {
        EngineError::NoGpu | EngineError::GpuOutOfService(_) => ApiError::Conflict(e.to_string()),
    })?;
    super::actions::record(state.ledger.db(), &key, "verifier", &format!("{before} -> {mode}")).await;
    Ok(Json(verifier_json(&state.engine.status())))
}
