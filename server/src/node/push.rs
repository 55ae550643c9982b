//! A node's WebSocket `new_block_template` push (protocol.md §3.4), used as a **trigger** only: the
//! event's template is built for the node's DEV key, so the dispatcher re-fetches for the pool.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Keeps a subscription to `http_url`'s node open, poking `wake` on every event; reconnects with
/// backoff until `stop`. Polling covers the gaps.
pub async fn run(
    http_url: String,
    tls: Arc<rustls::ClientConfig>,
    wake: Arc<Notify>,
    stop: CancellationToken,
) {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let ws_url = http_url.replacen("http://", "ws://", 1).replacen("https://", "wss://", 1);
    let mut backoff = Duration::from_secs(1);
    loop {
        let connect = tokio_tungstenite::connect_async_tls_with_config(
            ws_url.as_str(),
            None,
            false,
            Some(tokio_tungstenite::Connector::Rustls(tls.clone())),
        );
        let session = async {
            match connect.await {
                Ok((mut ws, _)) => {
                    let sub = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": {"notify": "new_block_template"}});
                    if ws.send(Message::Text(sub.to_string().into())).await.is_ok() {
                        tracing::info!(node = %ws_url, "subscribed to new_block_template");
                        backoff = Duration::from_secs(1);
                        while let Some(Ok(msg)) = ws.next().await {
                            if let Message::Text(t) = msg
                                && t.contains("\"new_block_template\"")
                            {
                                wake.notify_one();
                            }
                        }
                    }
                    tracing::debug!(node = %ws_url, "WebSocket closed; polling continues");
                }
                Err(e) => tracing::debug!(node = %ws_url, error = %e, "no WebSocket; polling continues"),
            }
        };
        tokio::select! {
            _ = session => {}
            _ = stop.cancelled() => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.cancelled() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}
