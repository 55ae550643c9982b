//! The API's error answers: a status and a JSON body `{"error": "...", ...}`, never a bare 500
//! for bad input. Anything that is not the client's fault is logged here and answered without
//! internals.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    /// The request is fine but the answer cannot be computed from what is stored.
    #[error("{0}")]
    Unprocessable(String),
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    /// The pool runs without a ledger (or the database is down).
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if crate::ledger::db::is_outage(&e) {
            ApiError::Unavailable("the database is unreachable".into())
        } else {
            ApiError::Internal(e.into())
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::Internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut body = json!({ "error": self.to_string(), "status": status.as_u16() });
        match &self {
            ApiError::Internal(e) => tracing::error!(error = %format!("{e:#}"), "web API request failed"),
            ApiError::RateLimited { retry_after_secs } => body["retry_after_secs"] = json!(retry_after_secs),
            _ => {}
        }
        let mut r = (status, Json(body)).into_response();
        if let ApiError::RateLimited { retry_after_secs } = self {
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        r
    }
}

/// Rewrites any error answer that is not JSON (axum's own rejections: a bad path encoding, a
/// wrong method…) into the API's JSON error body, keeping its status.
pub async fn json_errors(r: Response) -> Response {
    let status = r.status();
    let is_json = r
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return r;
    }
    let (parts, body) = r.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let message = String::from_utf8_lossy(&text).chars().take(200).collect::<String>();
    let message = if message.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        message
    };
    let mut out = (status, Json(json!({ "error": message, "status": status.as_u16() }))).into_response();
    for (k, v) in parts.headers.iter() {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}
