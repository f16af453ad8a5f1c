//! One delivery: POST the body, each attempt within the channel's timeout,
//! up to `1 + retries` attempts with a short backoff between them. Success is
//! a 2xx answer. A 4xx other than 408 and 429 is not retried: the same request
//! will not fare better.
//!
//! The URL may hold a token, so no message ever contains it: reqwest's errors
//! lose it (`without_url`), are reduced to plain words ("HTTP 500", "timed out
//! after 5s", "connection refused"), and anything that still quotes a part
//! of the URL has it blanked.

use std::error::Error as _;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::plan::Channel;

/// Wait after the first failed attempt; it doubles after each further one.
const BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_millis(1600);

/// How a delivery went, after its retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub ok: bool,
    pub attempts: u32,
    /// The last answer's HTTP status, when there was one.
    pub status: Option<u16>,
    /// From the first attempt to the final answer or failure.
    pub latency_ms: u64,
    /// Why it failed, in plain words; `None` when delivered.
    pub error: Option<String>,
}

/// The wait before attempt `attempt + 1`.
pub fn backoff(attempt: u32) -> Duration {
    BACKOFF
        .saturating_mul(1 << (attempt.max(1) - 1).min(8))
        .min(MAX_BACKOFF)
}

/// The longest one delivery to `ch` can take: every attempt timing out.
pub fn worst_case(ch: &Channel) -> Duration {
    let waits: Duration = (1..=ch.retries).map(backoff).sum();
    ch.timeout.saturating_mul(ch.retries + 1) + waits
}

/// The client every delivery shares. Redirects are not followed: a webhook
/// that redirects is misconfigured, and following one could carry the body
/// somewhere unexpected.
pub fn client() -> Result<reqwest::Client, String> {
    crate::net::client_builder()
        .user_agent(concat!("slate/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {}", e.without_url()))
}

/// Posts `body` to `ch` until it is accepted or the attempts run out.
pub async fn post(client: &reqwest::Client, ch: &Channel, body: Vec<u8>) -> Outcome {
    let started = Instant::now();
    let body = Bytes::from(body);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let sent = client
            .post(&ch.url)
            .timeout(ch.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send()
            .await;
        let (status, error, retryable) = match sent {
            Ok(resp) => {
                let code = resp.status().as_u16();
                if resp.status().is_success() {
                    return Outcome {
                        ok: true,
                        attempts: attempt,
                        status: Some(code),
                        latency_ms: started.elapsed().as_millis() as u64,
                        error: None,
                    };
                }
                let retryable = !(400..500).contains(&code) || code == 408 || code == 429;
                (Some(code), format!("HTTP {code}"), retryable)
            }
            Err(e) => (None, describe(e, ch), true),
        };
        if !retryable || attempt > ch.retries {
            return Outcome {
                ok: false,
                attempts: attempt,
                status,
                latency_ms: started.elapsed().as_millis() as u64,
                error: Some(error),
            };
        }
        tokio::time::sleep(backoff(attempt)).await;
    }
}

/// A transport error in plain words, without the URL.
fn describe(e: reqwest::Error, ch: &Channel) -> String {
    let e = e.without_url();
    if e.is_timeout() {
        return format!("timed out after {}", humantime::format_duration(ch.timeout));
    }
    // The innermost cause says the most ("dns error: …"); reqwest's own
    // words ("error sending request") the least.
    let mut root = None;
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            let plain = match io.kind() {
                K::ConnectionRefused => Some("connection refused"),
                K::ConnectionReset => Some("connection reset"),
                K::ConnectionAborted => Some("connection aborted"),
                K::UnexpectedEof => Some("the connection closed without an answer"),
                K::TimedOut => Some("timed out"),
                _ => None,
            };
            if let Some(p) = plain {
                return p.to_string();
            }
        }
        root = Some(s.to_string());
        source = s.source();
    }
    let what = if e.is_connect() {
        "cannot connect"
    } else if e.is_builder() {
        "bad request"
    } else {
        "request failed"
    };
    let text = match root.filter(|r| !r.is_empty()) {
        Some(why) => format!("{what}: {why}"),
        None => what.to_string(),
    };
    redact(&text, &ch.url)
}

/// Blanks any part of `url` that could carry a secret (the whole URL, its
/// user info, path and query) wherever it appears in `text`.
pub fn redact(text: &str, url: &str) -> String {
    let mut parts: Vec<String> = vec![url.to_string()];
    if let Ok(u) = reqwest::Url::parse(url) {
        parts.push(u.as_str().to_string());
        if u.path().len() > 1 {
            parts.push(u.path().to_string());
        }
        if let Some(q) = u.query() {
            parts.push(q.to_string());
        }
        if !u.username().is_empty() {
            parts.push(u.username().to_string());
        }
        if let Some(p) = u.password() {
            parts.push(p.to_string());
        }
    }
    parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
    let mut out = text.to_string();
    for p in parts.iter().filter(|p| p.len() >= 4) {
        out = out.replace(p.as_str(), "…");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ChannelFormat;

    fn channel(retries: u32, timeout: Duration) -> Channel {
        Channel {
            name: "ops".into(),
            format: ChannelFormat::Json,
            url: "http://127.0.0.1:9/hooks/T0/B0/secret".into(),
            events: Vec::new(),
            timeout,
            retries,
        }
    }

    #[test]
    fn backoff_doubles_and_stays_short() {
        assert_eq!(backoff(1), Duration::from_millis(200));
        assert_eq!(backoff(2), Duration::from_millis(400));
        assert_eq!(backoff(3), Duration::from_millis(800));
        assert_eq!(backoff(9), MAX_BACKOFF);
    }

    #[test]
    fn the_worst_case_counts_every_attempt_and_wait() {
        let ch = channel(2, Duration::from_secs(5));
        assert_eq!(worst_case(&ch), Duration::from_millis(15_600));
        assert_eq!(
            worst_case(&channel(0, Duration::from_secs(1))),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn secrets_in_the_url_are_blanked() {
        let url = "https://user:pw-1234@hooks.example/services/T0/B0/token?sig=abcd";
        let text = format!("cannot connect: error for {url} at /services/T0/B0/token");
        let out = redact(&text, url);
        assert!(!out.contains("token") && !out.contains("pw-1234"), "{out}");
        assert!(out.starts_with("cannot connect: "), "{out}");
    }
}
