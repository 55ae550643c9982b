//! The Stratum V1 dialect tosminer speaks (protocol.md §2), sans I/O: parse one line into a
//! [`Request`], build reply and notification lines. The server owns sockets; this module owns bytes.
//!
//! Pitfalls respected (§2.14): response ids echo the request id (numbers stay numbers), every
//! notification carries `params` as an array, `mining.notify` is exactly
//! `[job_id, header_hex(224), target_hex(64), height (number), clean (bool)]`, submit results are
//! booleans, errors are `[code, "message", null]`.

mod error;

pub use error::StratumError;

use serde_json::{Value, json};

/// Longest line accepted from a miner. tosminer's lines are < 300 bytes; ckpool uses 1 KiB.
pub const MAX_LINE: usize = 1024;

/// A parsed request from a miner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Echoed verbatim in the reply.
    pub id: Value,
    pub method: Method,
}

/// The methods tosminer sends (§2.3), and what we do not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Method {
    Subscribe {
        agent: Option<String>,
    },
    /// `mining.authorize`, or `eth_submitLogin` (EthProxy mode) with `eth_proxy` set.
    Authorize {
        user: String,
        password: Option<String>,
        eth_proxy: bool,
    },
    Submit {
        user: String,
        job_id: String,
        extranonce2: String,
        nonce: String,
    },
    Ping,
    Unknown(String),
}

/// Why a line is not a request; each maps to the error reply it deserves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Not JSON, or not an object: reply `-32700` with a null id.
    Json,
    /// An object without a usable `method`: reply `-32600`.
    InvalidRequest { id: Value },
    /// Known method, wrong params: reply `20`.
    InvalidParams { id: Value, method: &'static str },
}

impl ParseError {
    /// The reply line for this error.
    pub fn reply(&self) -> String {
        match self {
            ParseError::Json => error_reply(&Value::Null, StratumError::ParseError),
            ParseError::InvalidRequest { id } => error_reply(id, StratumError::InvalidRequest),
            ParseError::InvalidParams { id, .. } => error_reply(id, StratumError::InvalidParams),
        }
    }
}

fn strings(params: &Value, min: usize, max: usize) -> Option<Vec<String>> {
    let arr = params.as_array()?;
    if arr.len() < min || arr.len() > max {
        return None;
    }
    arr.iter().map(|v| v.as_str().map(str::to_owned)).collect()
}

impl Request {
    /// Parses one line (without its newline; a trailing `\r` is tolerated).
    pub fn parse(line: &str) -> Result<Request, ParseError> {
        let value: Value = serde_json::from_str(line.trim_end_matches('\r')).map_err(|_| ParseError::Json)?;
        let obj = value.as_object().ok_or(ParseError::Json)?;
        let id = obj.get("id").cloned().unwrap_or(Value::Null);
        let Some(method) = obj.get("method").and_then(Value::as_str) else {
            return Err(ParseError::InvalidRequest { id });
        };
        let params = obj.get("params").cloned().unwrap_or(Value::Array(vec![]));
        let bad = |method: &'static str| ParseError::InvalidParams { id: id.clone(), method };
        let method = match method {
            "mining.subscribe" => {
                let p = params.as_array().ok_or_else(|| bad("mining.subscribe"))?;
                Method::Subscribe { agent: p.first().and_then(Value::as_str).map(str::to_owned) }
            }
            "mining.authorize" => {
                let p = strings(&params, 1, 2).ok_or_else(|| bad("mining.authorize"))?;
                Method::Authorize { user: p[0].clone(), password: p.get(1).cloned(), eth_proxy: false }
            }
            "eth_submitLogin" => {
                let p = strings(&params, 1, 2).ok_or_else(|| bad("eth_submitLogin"))?;
                Method::Authorize { user: p[0].clone(), password: p.get(1).cloned(), eth_proxy: true }
            }
            "mining.submit" => {
                let p = strings(&params, 4, 4).ok_or_else(|| bad("mining.submit"))?;
                let [user, job_id, extranonce2, nonce] = <[String; 4]>::try_from(p).expect("four");
                Method::Submit { user, job_id, extranonce2, nonce }
            }
            "mining.ping" => Method::Ping,
            other => Method::Unknown(other.to_owned()),
        };
        Ok(Request { id, method })
    }
}

fn line(v: Value) -> String {
    let mut s = v.to_string();
    s.push('\n');
    s
}

/// `{"id":…,"result":…,"error":null}`.
pub fn result_reply(id: &Value, result: Value) -> String {
    line(json!({ "id": id, "result": result, "error": null }))
}

/// `{"id":…,"result":null,"error":[code,"message",null]}`.
pub fn error_reply(id: &Value, err: StratumError) -> String {
    line(json!({ "id": id, "result": null, "error": [err.code(), err.message(), null] }))
}

/// An error reply with a more specific message than the code's default.
pub fn error_reply_with(id: &Value, err: StratumError, message: &str) -> String {
    line(json!({ "id": id, "result": null, "error": [err.code(), message, null] }))
}

/// The subscribe result: `[[["mining.notify", sid], ["mining.set_difficulty", sid]], extranonce1, 4]`.
/// extranonce1 only sets tosminer's start nonce (§2.6); the header is unique per connection anyway.
pub fn subscribe_reply(id: &Value, session_id: &str, extranonce1: &str) -> String {
    result_reply(
        id,
        json!([[["mining.notify", session_id], ["mining.set_difficulty", session_id]], extranonce1, 4]),
    )
}

/// `mining.notify` in the TOS format (§2.4), carrying the connection's own share target.
///
/// Built by direct formatting (one allocation): it goes to every connection on every new job, and
/// all fields are hex, numbers or booleans. A job id needing JSON escaping is escaped properly.
pub fn notify(job_id: &str, header_hex: &str, target_hex: &str, height: u64, clean: bool) -> String {
    debug_assert_eq!((header_hex.len(), target_hex.len()), (224, 64));
    let plain = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !(plain(job_id) && plain(header_hex) && plain(target_hex)) {
        return line(
            json!({ "id": null, "method": "mining.notify", "params": [job_id, header_hex, target_hex, height, clean] }),
        );
    }
    let mut s = String::with_capacity(96 + job_id.len() + header_hex.len() + target_hex.len());
    s.push_str("{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"");
    s.push_str(job_id);
    s.push_str("\",\"");
    s.push_str(header_hex);
    s.push_str("\",\"");
    s.push_str(target_hex);
    s.push_str("\",");
    s.push_str(&height.to_string());
    s.push_str(if clean { ",true]}\n" } else { ",false]}\n" });
    s
}

/// `mining.set_difficulty [d]` — cosmetic for tosminer (it mines to the notify target), sent for display.
/// A difficulty beyond 2^53 is sent as the nearest double, which is what tosminer reads anyway.
pub fn set_difficulty(difficulty: &crate::Difficulty) -> String {
    let d = difficulty.value();
    let v = match d.to_u64() {
        Some(x) if x <= 1 << 53 => json!(x),
        _ => json!(d.to_string().parse::<f64>().unwrap_or(f64::MAX)),
    };
    line(json!({ "id": null, "method": "mining.set_difficulty", "params": [v] }))
}

/// `client.reconnect` (tosminer reconnects after its backoff).
pub fn reconnect() -> String {
    line(json!({ "id": null, "method": "client.reconnect", "params": [] }))
}

/// Decodes tosminer's `nonce_hex`: exactly 16 hex characters, the 8 header bytes 40..48 as-is.
pub fn parse_nonce(nonce_hex: &str) -> Option<[u8; 8]> {
    crate::hexutil::decode_array::<8>(nonce_hex).ok()
}

#[cfg(test)]
mod tests;
