//! The Stratum V1 dialect tosminer speaks (protocol.md §2), sans I/O: parse one line into a
//! [`Request`], build reply and notification lines. The server owns sockets; this module owns bytes.
//!
//! Pitfalls respected (§2.14): response ids echo the request id (numbers stay numbers), every
//! notification carries `params` as an array, `mining.notify` is exactly
//! `[job_id, header_hex(224), target_hex(64), height (number), clean (bool)]`, submit results are
//! booleans, errors are `[code, "message", null]`.

mod error;

pub use error::StratumError;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

/// Longest line accepted from a miner. tosminer's lines are < 300 bytes; ckpool uses 1 KiB.
pub const MAX_LINE: usize = 1024;

/// A request id exactly as the miner sent it: the raw JSON text, echoed verbatim in the reply (a
/// 40-digit number stays 40 digits; parsing it into a JSON value would turn it into a float).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RequestId(Box<str>);

impl RequestId {
    /// `null`: the id of replies to lines with no usable id, and of notifications.
    pub fn null() -> Self {
        RequestId("null".into())
    }

    /// An integer id (what tosminer sends).
    pub fn number(n: u64) -> Self {
        RequestId(n.to_string().into())
    }

    /// The raw JSON text.
    pub fn as_json(&self) -> &str {
        &self.0
    }

    /// A JSON-RPC id is a number, a string or null, echoed as its exact text (neither can hold raw
    /// whitespace). An object or array id could carry a raw CR or tab into the reply line, and a
    /// `true` is no id at all: those are answered with `null`.
    fn from_raw(raw: Option<&RawValue>) -> Self {
        match raw.map(RawValue::get) {
            Some(t) if t.starts_with(['"', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']) => {
                RequestId(t.into())
            }
            _ => Self::null(),
        }
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A parsed request from a miner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Echoed verbatim in the reply.
    pub id: RequestId,
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
    /// Not JSON (binary, invalid UTF-8 included), or not an object: reply `-32700` with a null id.
    Json,
    /// An object without a usable `method`: reply `-32600`.
    InvalidRequest { id: RequestId },
    /// Known method, wrong params: reply `20`.
    InvalidParams { id: RequestId, method: &'static str },
}

impl ParseError {
    /// The reply line for this error.
    pub fn reply(&self) -> String {
        match self {
            ParseError::Json => error_reply(&RequestId::null(), StratumError::ParseError),
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

/// The envelope of a request, fields kept raw until we know what they are.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    method: Option<&'a RawValue>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
}

impl Request {
    /// Parses one line (without its newline; a trailing `\r` is tolerated).
    pub fn parse(line: &str) -> Result<Request, ParseError> {
        Self::parse_bytes(line.as_bytes())
    }

    /// Parses one line of raw bytes: what a socket delivers. Bytes that are not UTF-8 JSON are a
    /// parse error like any other junk.
    pub fn parse_bytes(line: &[u8]) -> Result<Request, ParseError> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = std::str::from_utf8(line).map_err(|_| ParseError::Json)?;
        // Only an object is a request (serde would read an array into the envelope too).
        if !line.trim_start().starts_with('{') {
            return Err(ParseError::Json);
        }
        let env: Envelope<'_> = serde_json::from_str(line).map_err(|_| ParseError::Json)?;
        let id = RequestId::from_raw(env.id);
        let Some(method) = env.method.and_then(|m| serde_json::from_str::<String>(m.get()).ok()) else {
            return Err(ParseError::InvalidRequest { id });
        };
        let params = match env.params {
            Some(p) => serde_json::from_str::<Value>(p.get()).map_err(|_| ParseError::Json)?,
            None => Value::Array(vec![]),
        };
        let bad = |method: &'static str| ParseError::InvalidParams { id: id.clone(), method };
        let method = match method.as_str() {
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
            _ => Method::Unknown(method),
        };
        Ok(Request { id, method })
    }
}

/// Whether a line carries nothing (a keep-alive): ignored, never counted as malformed.
pub fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

fn line(v: Value) -> String {
    let mut s = v.to_string();
    s.push('\n');
    s
}

/// `{"id":…,"result":…,"error":null}`.
pub fn result_reply(id: &RequestId, result: Value) -> String {
    format!("{{\"id\":{},\"result\":{},\"error\":null}}\n", id.as_json(), result)
}

/// `{"id":…,"result":null,"error":[code,"message",null]}`.
pub fn error_reply(id: &RequestId, err: StratumError) -> String {
    error_reply_with(id, err, &err.message())
}

/// An error reply with a more specific message than the code's default.
pub fn error_reply_with(id: &RequestId, err: StratumError, message: &str) -> String {
    format!(
        "{{\"id\":{},\"result\":null,\"error\":[{},{},null]}}\n",
        id.as_json(),
        err.code(),
        Value::from(message)
    )
}

/// The subscribe result: `[[["mining.notify", sid], ["mining.set_difficulty", sid]], extranonce1, 4]`.
/// extranonce1 only sets tosminer's start nonce (§2.6); the header is unique per connection anyway.
pub fn subscribe_reply(id: &RequestId, session_id: &str, extranonce1: &str) -> String {
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

/// `client.show_message [text]`: tosminer writes it to its log.
pub fn show_message(text: &str) -> String {
    line(json!({ "id": null, "method": "client.show_message", "params": [text] }))
}

/// Decodes tosminer's `nonce_hex`: exactly 16 hex characters, the 8 header bytes 40..48 as-is.
pub fn parse_nonce(nonce_hex: &str) -> Option<[u8; 8]> {
    crate::hexutil::decode_array::<8>(nonce_hex).ok()
}

#[cfg(test)]
mod tests;
