//! The service's HTTP endpoints: what checks probe, Prometheus scrapes and
//! the `weight` verb steers.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::args::validate_weight;
use super::metrics;
use super::state::Shared;

type Reply = Response<Full<Bytes>>;

pub async fn handle(req: Request<Incoming>, shared: Arc<Shared>) -> Result<Reply, Infallible> {
    let reply = match (req.method(), req.uri().path()) {
        (&Method::GET, "/healthz") => text(StatusCode::OK, "ok\n"),
        (&Method::GET, "/version") => version(&shared),
        (&Method::GET, "/metrics") => {
            let body = shared.stats().render(&shared.version, shared.weight());
            respond(StatusCode::OK, metrics::CONTENT_TYPE, body)
        }
        (&Method::POST, "/admin/weight") => set_weight(&shared, req.uri().query()),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    };
    Ok(reply)
}

fn version(shared: &Shared) -> Reply {
    let body = serde_json::json!({
        "name": shared.name,
        "version": shared.version,
        "weight": shared.weight(),
        "uptime_seconds": shared.started.elapsed().as_secs_f64(),
    });
    respond(StatusCode::OK, "application/json", body.to_string())
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
