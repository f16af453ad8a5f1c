//! One HTTP probe: status, then (optionally) a body substring and a JSON field.

use std::time::Instant;

use super::Probe;
use crate::plan::HttpCheck;

/// Largest body a probe reads; a health endpoint never needs more.
const MAX_BODY: usize = 1 << 20;

/// `c` is the request as it is sent, secrets' values in its URL and headers;
/// every message says `shown` (the URL as written, masked) instead.
pub async fn http_probe(c: &HttpCheck, shown: &str) -> Probe {
    let started = Instant::now();
    let method = reqwest::Method::from_bytes(c.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let what = format!("{method} {shown}");
    let fail = |msg: String| Probe::new(false, format!("{what}: {msg}"), started);
    let client = match crate::net::client_builder()
        .timeout(c.timeout)
        .no_proxy()
        .build()
    {
        Ok(cl) => cl,
        Err(e) => return fail(format!("cannot build HTTP client: {}", e.without_url())),
    };
    let mut req = client.request(method.clone(), &c.url);
    for (k, v) in &c.headers {
        req = req.header(k, v);
    }
    let resp = match req.send().await {
        Ok(r) => r,
        // reqwest's own words quote the URL asked, secrets and all: not kept.
        Err(e) => {
            let e = e.without_url();
            return fail(if e.is_timeout() {
                format!("no answer within {}", humantime::format_duration(c.timeout))
            } else if e.is_connect() {
                "connection refused or unreachable".to_string()
            } else if e.is_builder() {
                format!("bad request: {}", innermost(&e))
            } else {
                innermost(&e)
            });
        }
    };
    let status = resp.status().as_u16();
    if status != c.expect_status {
        return fail(format!("status {status}, expected {}", c.expect_status));
    }
    if c.contains.is_some() || c.json.is_some() {
        let mut body = Vec::new();
        let mut resp = resp;
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    body.extend_from_slice(&chunk);
                    if body.len() >= MAX_BODY {
                        body.truncate(MAX_BODY);
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => return fail(format!("reading body: {}", e.without_url())),
            }
        }
        let text = String::from_utf8_lossy(&body);
        if let Some(needle) = &c.contains
            && !text.contains(needle.as_str())
        {
            return fail(format!("body does not contain \"{needle}\""));
        }
        if let Some((field, want)) = &c.json {
            match json_field(&text, field) {
                Err(e) => return fail(e),
                Ok(got) if &got != want => {
                    return fail(format!("JSON field `{field}` is {got}, expected {want}"));
                }
                Ok(_) => {}
            }
        }
    }
    let ms = started.elapsed().as_millis();
    Probe::new(true, format!("{what}: {status} in {ms} ms"), started)
}

/// The innermost cause of an error, which names what went wrong ("invalid
/// port number") and never the URL.
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// The value at a dotted path (`checks.db.status`, `items.0.id`) in a JSON text.
fn json_field(text: &str, path: &str) -> Result<serde_json::Value, String> {
    let root: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("body is not JSON ({e})"))?;
    let mut cur = &root;
    for part in path.split('.') {
        let next = match cur {
            serde_json::Value::Object(m) => m.get(part),
            serde_json::Value::Array(a) => part.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        };
        cur = next.ok_or_else(|| format!("JSON body has no field `{path}`"))?;
    }
    Ok(cur.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_paths_reach_objects_and_arrays() {
        let body = r#"{"status":"ok","checks":{"db":{"up":true}},"items":[{"id":7}]}"#;
        assert_eq!(json_field(body, "status").unwrap(), json!("ok"));
        assert_eq!(json_field(body, "checks.db.up").unwrap(), json!(true));
        assert_eq!(json_field(body, "items.0.id").unwrap(), json!(7));
        assert_eq!(
            json_field(body, "checks.cache").unwrap_err(),
            "JSON body has no field `checks.cache`"
        );
        assert!(
            json_field("<html>", "a")
                .unwrap_err()
                .starts_with("body is not JSON")
        );
    }
}
