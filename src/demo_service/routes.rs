//! The service's HTTP endpoints: what checks probe, Prometheus scrapes, the
//! `weight` verb steers, and `/hooks`, where the demo plan's channel posts
//! its notifications.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::args::validate_weight;
use super::metrics;
use super::state::Shared;

type Reply = Response<Full<Bytes>>;

/// Largest notification body `/hooks` reads.
const MAX_HOOK_BODY: usize = 64 * 1024;
/// How much of a notification the instance's log shows.
const HOOK_LOG_CHARS: usize = 300;

pub async fn handle(req: Request<Incoming>, shared: Arc<Shared>) -> Result<Reply, Infallible> {
    let reply = match (req.method(), req.uri().path()) {
        (&Method::GET, "/healthz") => text(StatusCode::OK, "ok\n"),
        (&Method::GET, "/version") => version(&shared),
        (&Method::GET, "/metrics") => {
            let body = shared.stats().render(&shared.version, shared.weight());
            respond(StatusCode::OK, metrics::CONTENT_TYPE, body)
        }
        (&Method::POST, "/admin/weight") => set_weight(&shared, req.uri().query()),
        (&Method::POST, "/hooks") => hook(req, &shared).await,
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    };
    Ok(reply)
}

fn version(shared: &Shared) -> Reply {
    let body = serde_json::json!({
        "name": shared.name,
        "version": shared.version,
        "weight": shared.weight(),
        "hooks_received": shared.hooks(),
        "traffic_ticks": shared.ticks(),
        "uptime_seconds": shared.started.elapsed().as_secs_f64(),
    });
    respond(StatusCode::OK, "application/json", body.to_string())
}

/// A webhook notification: any JSON body is accepted (204), counted and
/// logged, one line each, in the instance's log.
async fn hook(req: Request<Incoming>, shared: &Shared) -> Reply {
    let body = match Limited::new(req.into_body(), MAX_HOOK_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("cannot read the body: {e}\n"),
            );
        }
    };
    let value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return text(StatusCode::BAD_REQUEST, format!("not JSON: {e}\n")),
    };
    let n = shared.record_hook();
    // Slack-style bodies say it in `text` (shown as Slack would: unescaped);
    // any other JSON is shown whole.
    let said = match value.get("text").and_then(|t| t.as_str()) {
        Some(t) => t
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
        None => value.to_string(),
    };
    let said: String = said.chars().take(HOOK_LOG_CHARS).collect();
    crate::say!("hook {n}: {said}");
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp
}

fn set_weight(shared: &Shared, query: Option<&str>) -> Reply {
    let raw = query
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("value="));
    let Some(raw) = raw else {
        return text(StatusCode::BAD_REQUEST, "missing ?value=W (0..=100)\n");
    };
    let parsed = raw
        .parse::<u32>()
        .map_err(|_| format!("value must be an integer 0..=100, got {raw:?}"))
        .and_then(|w| validate_weight(w, "value").map(|()| w));
    match parsed {
        Ok(w) => {
            shared.set_weight(w);
            let body = serde_json::json!({ "name": shared.name, "weight": w });
            respond(StatusCode::OK, "application/json", body.to_string())
        }
        Err(e) => text(StatusCode::BAD_REQUEST, format!("{e}\n")),
    }
}

fn text(status: StatusCode, body: impl Into<String>) -> Reply {
    respond(status, "text/plain; charset=utf-8", body.into())
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Reply {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}
