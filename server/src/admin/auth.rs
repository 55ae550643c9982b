//! The admin API's gate: `Authorization: Bearer <key>` checked against the stored hashes on every
//! request (missing, unknown or revoked: 401); a request from a browser page of another origin is
//! refused (403) — the API sends no CORS headers, so it is same-origin only.

use super::AdminState;
use super::error::ApiError;
use super::keys::{self, KeyRefused};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;

/// The key's name, for handlers (they log it, never the key).
#[derive(Clone, Debug)]
pub struct KeyName(pub String);

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| key.trim())
}

/// An `Origin` naming another host than the request's own `Host`.
fn cross_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return false };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest).trim_end_matches('/');
    origin_host != host
}

pub async fn require_key(
    State(state): State<AdminState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if cross_origin(req.headers()) {
        return Err(ApiError::Forbidden(
            "cross-origin requests are refused: the admin API is same-origin only".into(),
        ));
    }
    let presented = bearer(req.headers()).map(str::to_owned);
    let stored = match keys::load(state.ledger.db()).await {
        Ok(stored) => {
            *state.known_keys.lock().unwrap_or_else(|e| e.into_inner()) = Some(stored.clone());
            stored
        }
        // The database is down: the keys last read still open the API (the operator may need
        // it most now); a revocation made meanwhile applies once the database answers.
        Err(e) => match state.known_keys.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            Some(stored) => {
                tracing::warn!(error = %e, "admin keys unreadable: checking against the keys last read");
                stored
            }
            None => return Err(ApiError::internal(format!("reading the admin keys: {e}"))),
        },
    };
    match keys::match_key(&stored, presented.as_deref()) {
        Ok(name) => {
            req.extensions_mut().insert(KeyName(name));
            Ok(next.run(req).await)
        }
        Err(why) => {
            if why != KeyRefused::Missing {
                state.stratum.events.note("admin_key_refused", || why.to_string());
            }
            Err(ApiError::Unauthorized(why.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (k.clone(), v.parse().unwrap())).collect()
    }

    #[test]
    fn the_bearer_key_is_read_case_insensitively() {
        assert_eq!(bearer(&headers(&[(header::AUTHORIZATION, "Bearer tpk_1")])), Some("tpk_1"));
        assert_eq!(bearer(&headers(&[(header::AUTHORIZATION, "bearer  tpk_1 ")])), Some("tpk_1"));
        assert_eq!(bearer(&headers(&[(header::AUTHORIZATION, "Basic eDp5")])), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }

    #[test]
    fn only_another_origin_is_refused() {
        let same = headers(&[(header::HOST, "127.0.0.1:8089"), (header::ORIGIN, "http://127.0.0.1:8089")]);
        assert!(!cross_origin(&same));
        let other = headers(&[(header::HOST, "127.0.0.1:8089"), (header::ORIGIN, "https://evil.example")]);
        assert!(cross_origin(&other));
        assert!(!cross_origin(&headers(&[(header::HOST, "x")])), "no Origin: not a browser page");
    }
}
