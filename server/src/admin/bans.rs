//! Bans by the operator: an IP (its source: the IPv4 address or the IPv6 /64) is refused at
//! connect, for `duration_secs`; an address is refused at `mining.authorize` until unbanned.
//! Both are in memory (a restart lifts them; `admin_actions` keeps the record).

use super::AdminState;
use super::auth::KeyName;
use super::error::ApiError;
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Extension, Path, State};
use pool_core::address::Address;
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::IpAddr;

/// An IP ban lasts this long unless the request says otherwise.
const DEFAULT_BAN_SECS: u64 = 24 * 3600;
/// At most a year.
const MAX_BAN_SECS: u64 = 366 * 24 * 3600;

/// What a ban names.
enum Target {
    Ip(IpAddr),
    Address(Address),
}

fn parse_target(state: &AdminState, s: &str) -> Result<Target, ApiError> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(Target::Ip(ip));
    }
    Address::parse_normal(s, state.network).map(Target::Address).map_err(|e| {
        ApiError::BadRequest(format!(
            "{:?} is neither an IP address nor a normal {} address: {e}",
            crate::log_limit::clip(s),
            state.network.hrp()
        ))
    })
}

pub async fn list(State(state): State<AdminState>) -> Json<Value> {
    let now = crate::clock::now_ms();
    let ips: Vec<Value> = state
        .stratum
        .bans()
        .live_bans(now)
        .into_iter()
        .map(|(ip, until)| json!({ "ip": ip.to_string(), "until_ms": until }))
        .collect();
    let addresses: Vec<Value> = state
        .stratum
        .banned_addresses()
        .iter()
        .map(|(a, since)| json!({ "address": a, "since_ms": since }))
        .collect();
    Json(json!({ "ips": ips, "addresses": addresses }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BanRequest {
    /// An IP address or a miner address.
    #[serde(alias = "ip", alias = "address")]
    target: String,
    /// IP bans only (default a day).
    duration_secs: Option<u64>,
}

pub async fn ban(
    State(state): State<AdminState>,
    Extension(KeyName(key)): Extension<KeyName>,
    body: Result<Json<BanRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(req) = body?;
    let now = crate::clock::now_ms();
    let (reply, detail) = match parse_target(&state, req.target.trim())? {
        Target::Ip(ip) => {
            let secs = req.duration_secs.unwrap_or(DEFAULT_BAN_SECS);
            if secs == 0 || secs > MAX_BAN_SECS {
                return Err(ApiError::BadRequest(format!("duration_secs must be 1..={MAX_BAN_SECS}")));
            }
            let until = now + secs * 1000;
            state.stratum.bans().ban_until(ip, until);
            let source = pool_core::policy::ban_source(ip).to_string();
            (json!({ "banned": "ip", "ip": source, "until_ms": until }), format!("ip {source} for {secs} s"))
        }
        Target::Address(a) => {
            if req.duration_secs.is_some() {
                return Err(ApiError::BadRequest("duration_secs applies to IP bans only".into()));
            }
            let a = a.to_string();
            state.stratum.ban_address(&a, now);
            (json!({ "banned": "address", "address": a }), format!("address {a}"))
        }
    };
    super::actions::record(state.ledger.db(), &key, "ban", &detail).await;
    Ok(Json(reply))
}

pub async fn unban(
    State(state): State<AdminState>,
    Extension(KeyName(key)): Extension<KeyName>,
    target: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(target) = target?;
    let (lifted, what) = match parse_target(&state, &target)? {
        Target::Ip(ip) => (state.stratum.bans().unban(ip), pool_core::policy::ban_source(ip).to_string()),
        Target::Address(a) => {
            let a = a.to_string();
            (state.stratum.unban_address(&a), a)
        }
    };
    if !lifted {
        return Err(ApiError::NotFound(format!("{what} is not banned")));
    }
    super::actions::record(state.ledger.db(), &key, "unban", &what).await;
    Ok(Json(json!({ "unbanned": what })))
}
