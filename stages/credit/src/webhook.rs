//! Push: each configured receiver gets every disclosure of the feed as a signed POST, in feed
//! order (so in order per subject), retried with back-off until it answers 2xx — one task per
//! receiver, apart from the stages, with its position in the feed kept durably, so a receiver
//! that is down for an hour gets everything, once, when it returns.
//!
//! Each request carries `X-Spotcheck-Signature: sha256=<hex HMAC-SHA256 of the body with the
//! shared secret>` and `Idempotency-Key: <disclosure_id>:<action>` for a first action and
//! `<disclosure_id>:r<revision>` for every later one (a retraction or a correction reuses its
//! publication's `disclosure_id`, so the id alone would make the receiver drop it).
//! A receiver de-duplicates on that key: a crash between its 2xx and our cursor update re-sends.

use crate::store::CreditStore;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use spotcheck_runtime::retry::{self, Retryable};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const SIGNATURE_HEADER: &str = "x-spotcheck-signature";
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// A receiver of the disclosures.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub url: String,
    /// Shared with the receiver, which checks the signature with it.
    pub secret: String,
}

/// `sha256=<hex>` of the body under the secret.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

const FIRST_RETRY: Duration = Duration::from_secs(1);
const LONGEST_RETRY: Duration = Duration::from_secs(60);
const PAGE: usize = 100;
/// How long a receiver has to accept the connection, and then to answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

/// Delivers the feed to `hook` until `shutdown`.
pub async fn deliver(store: Arc<CreditStore>, hook: Webhook, shutdown: CancellationToken) {
    // No redirects: a signed disclosure goes to the configured receiver or nowhere (a 302 sent
    // it to another address). A redirect is a refusal, retried, with the address it named.
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(RESPONSE_TIMEOUT)
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, url = %hook.url, "cannot create the webhook client");
            return;
        }
    };
    loop {
        let cursor = match store.webhook_cursor(&hook.url) {
            Ok(cursor) => cursor,
            Err(error) => {
                tracing::error!(%error, "cannot read the webhook cursor");
                return;
            }
        };
        let page = tokio::select! {
            _ = shutdown.cancelled() => return,
            page = store.page_waiting(cursor, PAGE, Duration::from_secs(30)) => page,
        };
        let page = match page {
            Ok(page) => page,
            Err(error) => {
                tracing::error!(%error, "cannot read the feed for the webhook");
                return;
            }
        };
        for (position, item) in page.positions.iter().zip(&page.items) {
            if !send_until_acknowledged(&client, &hook, item, &shutdown).await {
                return; // shutting down: the cursor stays before this disclosure
            }
            if let Err(error) = store.set_webhook_cursor(&hook.url, *position) {
                tracing::error!(%error, "cannot store the webhook cursor");
                return;
            }
        }
    }
}

/// POSTs one disclosure until a 2xx; false if shutdown stopped the retries. The first POST is
/// made even when shutdown has begun.
async fn send_until_acknowledged(
    client: &reqwest::Client,
    hook: &Webhook,
    item: &serde_json::Value,
    shutdown: &CancellationToken,
) -> bool {
    let body = item.to_string().into_bytes();
    let id = item["disclosure_id"].as_str().unwrap_or_default();
    // A correction is a second `publish` under the same id: its revision tells it apart.
    let key = match item["revision"].as_u64() {
        Some(revision) if revision > 1 => format!("{id}:r{revision}"),
        _ => format!("{id}:{}", item["action"].as_str().unwrap_or_default()),
    };
    let attempts = retry::Attempts::new(shutdown);
    let attempt = || async {
        if !attempts.may_run() {
            return Err("shutting down".to_owned());
        }
        let response = client
            .post(&hook.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature(&hook.secret, &body))
            .header(IDEMPOTENCY_HEADER, &key)
            .body(body.clone())
            .send()
            .await
            .map_err(|error| format!("webhook unreachable: {error}"))?;
        if response.status().is_success() {
            return Ok(());
        }
        let receiver = response
            .remote_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default();
        Err(format!(
            "webhook {receiver} refused a disclosure with {} (redirects are not followed) {location}",
            response.status()
        ))
    };
    attempt
        .retry(retry::doubling(FIRST_RETRY, LONGEST_RETRY))
        .sleep(retry::UntilShutdown(shutdown.clone()))
        .when(|_| !shutdown.is_cancelled())
        .notify(|why, wait| tracing::warn!(url = %hook.url, %why, ?wait, "retrying"))
        .await
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hex_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// A receiver that answers one request with `200` and then closes; it returns the request.
    async fn one_shot_receiver() -> (String, tokio::task::JoinHandle<String>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!("http://{}/hook", listener.local_addr().expect("bound"));
        let served = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("a connection");
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            // Read until the body (Content-Length bytes after the blank line) has arrived.
            loop {
                let read = socket.read(&mut buffer).await.expect("readable");
                request.extend_from_slice(&buffer[..read]);
                let text = String::from_utf8_lossy(&request).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(str::to_owned)
                        })
                        .and_then(|n| n.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if body.len() >= length || read == 0 {
                        socket
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                            .await
                            .expect("writable");
                        return text;
                    }
                }
            }
        });
        (url, served)
    }

    #[tokio::test]
    async fn a_disclosure_in_hand_is_posted_once_even_when_shutdown_has_begun() {
        let (url, served) = one_shot_receiver().await;
        let hook = Webhook {
            url,
            secret: "s".into(),
        };
        let shutdown = CancellationToken::new();
        shutdown.cancel();
        let item = serde_json::json!({"disclosure_id": "D-1", "action": "publish", "revision": 1});
        let client = reqwest::Client::new();
        assert!(
            send_until_acknowledged(&client, &hook, &item, &shutdown).await,
            "the first POST is made, and its 2xx counts"
        );
        let request = served.await.expect("the receiver ran");
        assert!(
            request.contains("idempotency-key: D-1:publish"),
            "{request}"
        );
    }
}
