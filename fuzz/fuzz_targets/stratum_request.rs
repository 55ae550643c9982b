//! The Stratum codec on arbitrary bytes, read as the server reads a connection: the input is cut
//! into newline-delimited lines of at most `MAX_LINE` bytes (a longer line ends the connection),
//! blank lines are keep-alives, and every other line goes through `Request::parse_bytes` (bytes that
//! are not UTF-8 JSON are a parse error like any other junk). For every line, every reply the server
//! could send must be exactly one line of JSON that echoes the request id **exactly as sent** (its
//! raw text) when it is a number or a string, or `null` when the line is not a request or its id is
//! anything else (an object id could carry a raw CR into the reply line: the fuzzer found it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pool_core::stratum::{self, MAX_LINE, Method, ParseError, Request, RequestId, StratumError};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::collections::HashMap;
use tos_pool_fuzz as _; // the allocation guard

const ERRORS: [StratumError; 17] = [
    StratumError::InvalidParams,
    StratumError::JobNotFound,
    StratumError::StaleJob,
    StratumError::NoLiveNode,
    StratumError::NotRecorded,
    StratumError::AuthorizeLimited,
    StratumError::Duplicate,
    StratumError::LowDifficulty,
    StratumError::Unauthorized,
    StratumError::NotSubscribed,
    StratumError::MethodNotFound,
    StratumError::ParseError,
    StratumError::InvalidRequest,
    StratumError::TooLarge,
    StratumError::InvalidAddress,
    StratumError::InvalidWorker,
    StratumError::RateLimited,
];

/// Fails to compile when a variant is added to `StratumError` until it is added to `ERRORS` too.
const _: fn(StratumError) = |e| match e {
    StratumError::InvalidParams
    | StratumError::JobNotFound
    | StratumError::StaleJob
    | StratumError::NoLiveNode
    | StratumError::NotRecorded
    | StratumError::AuthorizeLimited
    | StratumError::Duplicate
    | StratumError::LowDifficulty
    | StratumError::Unauthorized
    | StratumError::NotSubscribed
    | StratumError::MethodNotFound
    | StratumError::ParseError
    | StratumError::InvalidRequest
    | StratumError::TooLarge
    | StratumError::InvalidAddress
    | StratumError::InvalidWorker
    | StratumError::RateLimited => {}
};

/// The worked example's header and share target (protocol.md §2.12), for `notify`.
const HEADER: &str = "4b8bafa0959fab6d9bc47e1f00534478a7ee3a161751c3d82c492e391c0641ad0000018f1cbd697000000000000000000000000157e887b45989a727b6786e1bd250de65042d9381822fa73d01d2c4ffd67ad13934337b85c34985491c437386c95de0d97017131088724cfbedebdc55";
const TARGET: &str = "0fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

fuzz_target!(|data: &[u8]| {
    for raw in data.split(|&b| b == b'\n') {
        if raw.len() > MAX_LINE {
            // The server answers TooLarge with a null id and disconnects.
            reply(&stratum::error_reply(&RequestId::null(), StratumError::TooLarge), &RequestId::null());
            return;
        }
        if stratum::is_blank(raw) {
            continue; // a keep-alive: no reply at all
        }
        check_line(raw);
    }
});

/// The raw text of the line's `id`, decided independently of the codec: `None` when the line is not
/// a UTF-8 JSON object (the reply then carries a null id).
fn expected_id(raw: &[u8]) -> Option<String> {
    let line = std::str::from_utf8(raw).ok()?;
    let line = line.strip_suffix('\r').unwrap_or(line);
    if !line.trim_start().starts_with('{') {
        return None;
    }
    let fields: HashMap<String, Box<RawValue>> = serde_json::from_str(line).ok()?;
    // JSON-RPC ids are numbers, strings or null; any other id is answered with null.
    let id = fields
        .get("id")
        .map(|r| r.get())
        .filter(|t| t.starts_with(|c: char| c == '"' || c == '-' || c.is_ascii_digit()));
    Some(id.unwrap_or("null").to_owned())
}

fn check_line(raw: &[u8]) {
    let expected = expected_id(raw);
    let line = String::from_utf8_lossy(raw);
    let req = match Request::parse_bytes(raw) {
        Ok(req) => req,
        Err(e) => {
            let id = match &e {
                // (A JSON object the codec refuses outright: duplicate keys, a wrongly typed field
                // it cannot skip. Junk either way; the reply's id is null.)
                ParseError::Json => RequestId::null(),
                ParseError::InvalidRequest { id } | ParseError::InvalidParams { id, .. } => {
                    assert_eq!(
                        expected.as_deref(),
                        Some(id.as_json()),
                        "refusal carries another id: {line:?}"
                    );
                    id.clone()
                }
            };
            let r = reply(&e.reply(), &id);
            assert!(r["result"].is_null() && r["error"].is_array(), "a refusal is an error reply");
            return;
        }
    };
    assert_eq!(expected.as_deref(), Some(req.id.as_json()), "parsed id differs from the line's: {line:?}");
    let id = &req.id;
    // Every code goes through the same builder: one per line keeps each execution cheap, and the
    // fuzzer's varied line lengths reach them all.
    let err = ERRORS[line.len() % ERRORS.len()];
    let r = reply(&stratum::error_reply(id, err), id);
    assert_eq!(r["error"], json!([err.code(), err.message(), null]));
    assert!(r["result"].is_null());
    let r = reply(&stratum::result_reply(id, json!(true)), id);
    assert_eq!((&r["result"], &r["error"]), (&json!(true), &Value::Null));
    match &req.method {
        Method::Subscribe { agent } => {
            reply(&stratum::subscribe_reply(id, "1", "00000000"), id);
            if let Some(agent) = agent {
                // Attacker text inside a message must stay inside the JSON string.
                let r = reply(&stratum::error_reply_with(id, StratumError::InvalidRequest, agent), id);
                assert_eq!(r["error"][1].as_str(), Some(agent.as_str()));
            }
        }
        Method::Authorize { user, password, .. } => {
            for text in std::iter::once(user).chain(password) {
                let r = reply(&stratum::error_reply_with(id, StratumError::InvalidAddress, text), id);
                assert_eq!(r["error"][1].as_str(), Some(text.as_str()));
            }
        }
        Method::Submit { user, job_id, extranonce2, nonce } => {
            assert!([user, job_id, extranonce2, nonce].iter().all(|s| s.len() < MAX_LINE));
            match stratum::parse_nonce(nonce) {
                Some(bytes) => assert_eq!(hex::encode(bytes), nonce.to_ascii_lowercase()),
                None => assert!(nonce.len() != 16 || !nonce.bytes().all(|b| b.is_ascii_hexdigit())),
            }
            // A job id is the pool's, but the notify builder must stay valid JSON for any string.
            for clean in [true, false] {
                let n = notification(&stratum::notify(job_id, HEADER, TARGET, 45, clean));
                assert_eq!(n["method"], "mining.notify");
                assert_eq!(n["params"], json!([job_id, HEADER, TARGET, 45, clean]));
            }
        }
        Method::Ping => {
            reply(&stratum::result_reply(id, json!("pong")), id);
        }
        Method::Unknown(name) => {
            assert!(!matches!(
                name.as_str(),
                "mining.subscribe" | "mining.authorize" | "eth_submitLogin" | "mining.submit" | "mining.ping"
            ));
        }
    }
}

/// One line: exactly one `\n`, at the end, and a JSON object before it.
fn one_json_line(line: &str) -> serde_json::Map<String, Value> {
    let body = line.strip_suffix('\n').unwrap_or_else(|| panic!("no final newline: {line:?}"));
    assert!(!body.contains('\n') && !body.contains('\r'), "more than one line: {line:?}");
    // Fields as raw text first: an echoed id such as `1E1970177` is valid JSON (RFC 8259 sets no
    // range) that serde_json refuses as a value. The id's text is compared by `reply`; every
    // other field must be an ordinary value.
    let fields: HashMap<String, Box<RawValue>> =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not a JSON object ({e}): {line:?}"));
    let number = |t: &str| t.starts_with(|c: char| c == '-' || c.is_ascii_digit());
    fields
        .into_iter()
        .map(|(k, v)| match serde_json::from_str::<Value>(v.get()) {
            Ok(value) => (k, value),
            Err(_) if k == "id" && number(v.get()) => (k, Value::String(v.get().to_owned())),
            Err(e) => panic!("field {k} is not a JSON value ({e}): {line:?}"),
        })
        .collect()
}

/// A reply: one JSON line with `id` (echoed byte for byte as the request sent it), `result` and
/// `error`.
fn reply(line: &str, id: &RequestId) -> Value {
    let obj = one_json_line(line);
    let texts: HashMap<String, Box<RawValue>> =
        serde_json::from_str(line.trim_end()).expect("one_json_line parsed it");
    assert_eq!(
        texts.get("id").map(|r| r.get()),
        Some(id.as_json()),
        "the reply does not echo the id: {line:?}"
    );
    assert!(obj.contains_key("result") && obj.contains_key("error"), "{line:?}");
    assert_eq!(obj.len(), 3, "{line:?}");
    Value::Object(obj)
}

/// A notification: one JSON line with a null `id`, a `method` and `params` as an array (§2.14).
fn notification(line: &str) -> Value {
    let obj = one_json_line(line);
    assert_eq!(obj.get("id"), Some(&Value::Null), "{line:?}");
    assert!(obj.get("method").is_some_and(Value::is_string), "{line:?}");
    assert!(obj.get("params").is_some_and(Value::is_array), "{line:?}");
    Value::Object(obj)
}
