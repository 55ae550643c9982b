//! `GET /admin/v1/config`: the effective configuration with secrets redacted. The configuration
//! keeps secrets out by design (the database password and the wallet credentials come from the
//! environment or a file, named here, never read here); what could still carry one is redacted:
//! a URL's user information and query string, and any key that names a secret.

use super::AdminState;
use axum::Json;
use axum::extract::State;
use serde_json::Value;

pub const REDACTED: &str = "[redacted]";

/// Keys whose values are secrets whatever they hold.
fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["password", "secret", "token", "api_key", "apikey", "private"].iter().any(|s| k.contains(s))
}

/// `scheme://user:pass@host/path?query` → `scheme://[redacted]@host/path?[redacted]`.
fn redact_url(s: &str) -> String {
    let Some((scheme, rest)) = s.split_once("://") else { return s.to_owned() };
    let (authority, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("{REDACTED}@{host}"),
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, _)) => format!("{path}?{REDACTED}"),
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// Redacts in place, recursively.
pub fn redact(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if is_secret_key(k) && !v.is_null() {
                    *v = Value::String(REDACTED.into());
                } else {
                    redact(v);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(redact),
        Value::String(s) if s.contains("://") => *s = redact_url(s),
        _ => {}
    }
}

pub async fn view(State(state): State<AdminState>) -> Json<Value> {
    let mut v = serde_json::to_value(&state.config.raw).unwrap_or(Value::Null);
    redact(&mut v);
    if let Some(hooks) = v.get_mut("webhooks").and_then(Value::as_array_mut) {
        for (hook, raw) in hooks.iter_mut().zip(&state.config.raw.webhooks) {
            hook["url"] = Value::String(crate::webhooks::redacted(&raw.url));
        }
    }
    if let Value::Object(m) = &mut v {
        m.insert("effective_verifier".into(), Value::String(state.engine.mode().to_string()));
    }
    Json(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_urls_and_secret_keys_are_redacted() {
        let mut v = serde_json::json!({
            "database": { "url": "postgres://pool:hunter2@db:5432/pool?sslmode=require", "url_env": "DB_URL" },
            "webhooks": [{ "url": "https://hooks.example/x?token=abc", "events": ["node_down"] }],
            "x": { "api_token": "abc", "password": null },
            "node": { "urls": ["http://127.0.0.1:8080"] },
        });
        redact(&mut v);
        let text = v.to_string();
        assert!(!text.contains("hunter2") && !text.contains("abc"), "{text}");
        assert_eq!(v["database"]["url"], "postgres://[redacted]@db:5432/pool?[redacted]");
        assert_eq!(v["database"]["url_env"], "DB_URL", "the name of a variable is not a secret");
        assert_eq!(v["node"]["urls"][0], "http://127.0.0.1:8080");
        assert!(v["x"]["password"].is_null());
    }
}
