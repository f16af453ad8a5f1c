//! The HTTP side of the control verbs: probing an instance's health and
//! steering its weight. Loopback only, proxies ignored.

use std::time::Duration;

/// Per-request bound: a healthy local instance answers in microseconds.
const REQUEST_TIMEOUT: Duration = Duration::from_millis(1000);

/// A small single-threaded runtime for a verb's few requests.
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

pub fn http() -> Result<reqwest::Client, String> {
    crate::net::client_builder()
        .timeout(REQUEST_TIMEOUT)
        .no_proxy()
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))
}

/// True when `GET /healthz` answers 200.
pub async fn healthy(client: &reqwest::Client, port: u16) -> bool {
    let url = format!("http://127.0.0.1:{port}/healthz");
    matches!(client.get(url).send().await, Ok(r) if r.status().is_success())
}

/// `POST /admin/weight?value=W`; returns the instance's name.
pub async fn set_weight(
    client: &reqwest::Client,
    port: u16,
    weight: u32,
) -> Result<String, String> {
    let url = format!("http://127.0.0.1:{port}/admin/weight?value={weight}");
    let resp = client.post(&url).send().await.map_err(|e| {
        if e.is_connect() {
            format!("no demo service answers on 127.0.0.1:{port}")
        } else if e.is_timeout() {
            format!("127.0.0.1:{port} did not answer within {REQUEST_TIMEOUT:?}")
        } else {
            format!("POST {url}: {e}")
        }
    })?;
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!(
            "127.0.0.1:{port} refused weight {weight}: {status} {}",
            body.trim()
        ));
    }
    let reply: serde_json::Value = serde_json::from_str(&body)
        .map_err(|_| format!("127.0.0.1:{port} is not a demo service (answered {body:?})"))?;
    Ok(reply["name"].as_str().unwrap_or("demo").to_string())
}
