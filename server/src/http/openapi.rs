//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`, written by hand. Its schemas are
//! strict (every field required, no others allowed): the tests validate every endpoint's answers
//! against them, so the document and the handlers cannot drift apart silently.

use serde_json::{Map, Value, json};

/// An object schema: every listed property required, no other allowed.
fn object(props: &[(&str, Value)]) -> Value {
    let mut properties = Map::new();
    for (k, v) in props {
        properties.insert((*k).to_owned(), v.clone());
    }
    let required: Vec<&str> = props.iter().map(|(k, _)| *k).collect();
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
}

fn schema(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn nullable(t: &str) -> Value {
    json!({"type": [t, "null"]})
}

/// A decimal integer string (atomic units, difficulty, H/s).
fn decimal() -> Value {
    json!({"type": "string", "pattern": "^[0-9]+$"})
}

fn signed_decimal() -> Value {
    json!({"type": "string", "pattern": "^-?[0-9]+$"})
}

fn nullable_decimal() -> Value {
    json!({"type": ["string", "null"], "pattern": "^[0-9]+$"})
}

fn uint() -> Value {
    json!({"type": "integer", "minimum": 0})
}

fn int() -> Value {
    json!({"type": "integer"})
}

fn nullable_uint() -> Value {
    json!({"type": ["integer", "null"], "minimum": 0})
}

fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}

fn page(item: &str) -> Value {
    object(&[
        ("total", uint()),
        ("limit", json!({"type": "integer", "minimum": 1, "maximum": 100})),
        ("offset", uint()),
        ("items", json!({"type": "array", "items": schema(item)})),
    ])
}

fn schemas() -> Value {
    let hashrate = object(&[("10m", decimal()), ("1h", decimal()), ("24h", decimal())]);
    let network = object(&[
        ("network", json!({"type": "string"})),
        ("height", nullable_uint()),
        ("topoheight", nullable_uint()),
        ("difficulty", nullable_decimal()),
        ("hashrate", nullable_decimal()),
        ("block_time_ms", nullable_uint()),
        ("nodes", uint()),
        ("nodes_healthy", uint()),
    ]);
    let verifier = object(&[
        ("mode", json!({"enum": ["auto", "gpu", "cpu"]})),
        ("using_gpu", json!({"type": "boolean"})),
        ("gpu", nullable("string")),
        ("cpu", json!({"type": "string"})),
        ("gpu_out_of_service", nullable("string")),
        ("shares_per_second", uint()),
        ("gpu_shares", uint()),
        ("cpu_shares", uint()),
    ]);
    let round = object(&[
        ("work", decimal()),
        ("effort_bp", nullable_uint()),
        ("started_after_ms", json!({"type": ["integer", "null"]})),
    ]);
    let database = json!({"oneOf": [
        {"type": "null"},
        object(&[("kind", json!({"enum": ["postgresql", "sqlite"]})), ("in_outage", json!({"type": "boolean"})), ("spooled", uint())]),
    ]});
    let terms = object(&[
        ("network", json!({"type": "string"})),
        ("pool_address", json!({"type": "string"})),
        ("fee_percent", json!({"type": "string"})),
        ("solo_fee_percent", json!({"type": "string"})),
        ("pps_fee_percent", json!({"type": "string"})),
        ("schemes", json!({"type": "array", "items": {"enum": ["pplns", "pps", "prop", "solo"]}})),
        ("default_scheme", json!({"enum": ["pplns", "pps", "prop", "solo"]})),
        ("payouts_enabled", json!({"type": "boolean"})),
        ("payout_threshold", decimal()),
        ("stratum_port", json!({"type": "integer", "minimum": 0, "maximum": 65535})),
        ("stratum_tls_port", json!({"type": ["integer", "null"], "minimum": 0, "maximum": 65535})),
    ]);
    let pool_stats = object(&[
        ("updated_ms", uint()),
        ("hashrate", schema("HashrateWindows")),
        ("miners", uint()),
        ("workers", uint()),
        ("round", schema("Round")),
        ("shares_accepted", uint()),
        ("shares_rejected", uint()),
        ("connections", uint()),
        ("blocks_found", uint()),
        ("verifier", schema("Verifier")),
        ("database", schema("Database")),
        ("network", schema("Network")),
        ("pool", schema("PoolTerms")),
    ]);
    let point = object(&[("t_ms", int()), ("hashrate", decimal())]);
    let history = object(&[
        ("hours", json!({"type": "integer", "minimum": 1, "maximum": 720})),
        ("bucket_ms", uint()),
        ("points", json!({"type": "array", "items": schema("HashratePoint")})),
    ]);
    let block = object(&[
        ("hash", json!({"type": "string", "pattern": "^[0-9a-f]{64}$"})),
        ("height", uint()),
        ("status", json!({"enum": ["candidate", "immature", "mature", "orphaned"]})),
        ("submitted", json!({"enum": ["accepted", "failed", null]})),
        ("confirmations", uint()),
        ("reward", nullable_decimal()),
        ("effort_bp", nullable_uint()),
        ("finder", object(&[("address", json!({"type": "string"})), ("worker", json!({"type": "string"}))])),
        ("scheme", json!({"enum": ["pplns", "pps", "prop", "solo"]})),
        ("network_difficulty", decimal()),
        ("found_ms", int()),
        ("topoheight", json!({"type": ["integer", "null"]})),
        ("block_type", nullable("string")),
    ]);
    let credit = object(&[
        ("address", json!({"type": "string"})),
        ("window_work", decimal()),
        ("round_work", decimal()),
        (
            "shares",
            json!({"type": "array", "items": object(&[("scheme", json!({"type": "string"})), ("ppm", json!({"type": "integer", "minimum": 0, "maximum": 1_000_000}))])}),
        ),
        ("computed", decimal()),
        ("stored", decimal()),
        ("difference", signed_decimal()),
    ]);
    let credits = object(&[
        ("hash", json!({"type": "string", "pattern": "^[0-9a-f]{64}$"})),
        ("height", uint()),
        ("status", json!({"enum": ["candidate", "immature", "mature", "orphaned"]})),
        ("scheme", json!({"type": "string"})),
        ("finder", json!({"type": "string"})),
        ("stage", json!({"enum": ["immature", "mature", null]})),
        ("reward", nullable_decimal()),
        ("pool_fee", nullable_decimal()),
        ("pps_fund", nullable_decimal()),
        ("fee_bp", nullable_uint()),
        ("round_work", nullable_decimal()),
        ("effort_bp", nullable_uint()),
        ("credits", json!({"type": "array", "items": schema("CreditLine")})),
        ("differences", strings()),
        ("notes", strings()),
    ]);
    let payout = object(&[
        ("id", int()),
        ("status", json!({"enum": ["intent", "built", "submitted", "confirmed", "failed"]})),
        ("tx_hash", nullable("string")),
        ("total", decimal()),
        ("tx_fee", decimal()),
        ("recipients", uint()),
        ("created_ms", int()),
        ("executed_topoheight", nullable_uint()),
    ]);
    let worker = object(&[
        ("name", json!({"type": "string"})),
        ("hashrate", schema("HashrateWindows")),
        ("last_share_ms", int()),
        ("shares_24h", uint()),
    ]);
    let miner_payment = object(&[
        ("batch_id", int()),
        ("amount", decimal()),
        ("fee_share", decimal()),
        ("status", json!({"type": "string"})),
        ("tx_hash", nullable("string")),
        ("created_ms", int()),
    ]);
    let miner = object(&[
        ("address", json!({"type": "string"})),
        ("balance", decimal()),
        ("immature", decimal()),
        ("pending", decimal()),
        ("paid", decimal()),
        ("payout_threshold", decimal()),
        ("payout_threshold_custom", json!({"type": "boolean"})),
        ("hashrate", schema("HashrateWindows")),
        ("workers", json!({"type": "array", "items": schema("Worker")})),
        ("payments", json!({"type": "array", "items": schema("MinerPayment")})),
        (
            "daily_earnings",
            json!({"type": "array", "items": object(&[("day_ms", int()), ("amount", signed_decimal())])}),
        ),
    ]);
    let error = json!({
        "type": "object",
        "properties": {
            "error": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "retry_after_secs": uint(),
        },
        "required": ["error", "status"],
    });
    json!({
        "HashrateWindows": hashrate,
        "HashratePoint": point,
        "HashrateHistory": history,
        "Network": network,
        "Verifier": verifier,
        "Round": round,
        "Database": database,
        "PoolTerms": terms,
        "PoolStats": pool_stats,
        "Block": block,
        "BlockPage": page("Block"),
        "CreditLine": credit,
        "BlockCredits": credits,
        "Payout": payout,
        "PayoutPage": page("Payout"),
        "Worker": worker,
        "MinerPayment": miner_payment,
        "Miner": miner,
        "Error": error,
    })
}

fn ok(name: &str, description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema(name)}}})
}

fn err(description: &str) -> Value {
    ok("Error", description)
}

fn query(name: &str, description: &str, min: i64, max: i64, default: i64) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description,
           "schema": {"type": "integer", "minimum": min, "maximum": max, "default": default}})
}

fn path_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": {"type": "string"}})
}

fn get(summary: &str, params: Vec<Value>, responses: Value) -> Value {
    let mut r = responses;
    r["429"] = err("Over the per-IP rate limit (see Retry-After)");
    r["503"] = err("No database, or it is unreachable");
    json!({"get": {"summary": summary, "parameters": params, "responses": r}})
}

/// The document.
pub fn document() -> Value {
    let paging = || {
        vec![query("limit", "Items per page", 1, 100, 20), query("offset", "Items to skip", 0, 1_000_000, 0)]
    };
    let hours = || vec![query("hours", "Chart length in hours", 1, 720, 24)];
    let address = || path_param("address", "A miner's payout address on this pool's network");
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "tos-pool public API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Read-only pool data. Amounts are decimal strings of atomic units (8 decimals); \
                difficulties and hashrates (H/s) are decimal strings. Errors are JSON: {\"error\": \"...\", \"status\": n}. \
                Live feed: WebSocket at /api/v1/ws — send {\"subscribe\": [\"blocks\", \"payments\", \"stats\", \"pool\", \"miner:<address>\"]} \
                (or {\"unsubscribe\": [...]}); the server answers {\"subscribed\": [...]} and pushes {\"topic\": t, \"data\": {...}}: \
                pool events (data.event: block_found, block_matured, block_orphaned, payment_sent, payment_confirmed, …) and the \
                PoolStats object every few seconds. A client that does not read fast enough is disconnected."
        },
        "paths": {
            "/api/v1/pool/stats": get("Pool statistics, terms and the verifier", vec![],
                json!({"200": ok("PoolStats", "Pool statistics")})),
            "/api/v1/pool/hashrate": get("Pool hashrate chart", hours(),
                json!({"200": ok("HashrateHistory", "Points, oldest first"), "400": err("Bad parameter")})),
            "/api/v1/network": get("The chain as the pool's nodes see it", vec![],
                json!({"200": ok("Network", "Network")})),
            "/api/v1/blocks": get("Blocks found, newest first", paging(),
                json!({"200": ok("BlockPage", "A page of blocks"), "400": err("Bad paging")})),
            "/api/v1/blocks/{hash}/credits": get("A block's credits, recomputed from the stored shares (as `tos-pool audit block`)",
                vec![path_param("hash", "The block hash (64 hex digits)")],
                json!({"200": ok("BlockCredits", "Credits"), "400": err("Not a block hash"),
                       "404": err("Unknown block"), "422": err("Cannot be recomputed (shares pruned, no stored terms)")})),
            "/api/v1/payments": get("Payout transactions, newest first", paging(),
                json!({"200": ok("PayoutPage", "A page of payouts"), "400": err("Bad paging")})),
            "/api/v1/miners/{address}": get("A miner: balances, hashrate, workers, payments, earnings", vec![address()],
                json!({"200": ok("Miner", "The miner"), "400": err("Not an address of this network"), "404": err("No shares from this address")})),
            "/api/v1/miners/{address}/hashrate": get("A miner's hashrate chart", { let mut p = vec![address()]; p.extend(hours()); p },
                json!({"200": ok("HashrateHistory", "Points, oldest first"), "400": err("Bad address or parameter"), "404": err("No shares from this address")})),
            "/api/v1/ws": {"get": {
                "summary": "The live feed (WebSocket; see the description above for its messages)",
                "parameters": [],
                "responses": {
                    "101": {"description": "Switched to the WebSocket protocol"},
                    "400": err("Not a WebSocket upgrade"),
                    "429": err("Over the per-IP rate limit (see Retry-After)"),
                    "503": err("Too many WebSocket connections"),
                },
            }},
        },
        "components": {"schemas": schemas()},
    })
}
