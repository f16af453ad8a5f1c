//! `slate stats --serve ADDR`: the delivery metrics and the live state as
//! a Prometheus text endpoint (`GET /metrics`).
//!
//! Only a loopback address is served, refused otherwise: the endpoint has
//! no authentication and names releases, environments and their outcomes
//! (SECURITY.md). Every request is bounded: at most [`MAX_CONNECTIONS`]
//! at once (more are closed at once), a request's head must arrive within
//! [`HEAD_TIMEOUT`] and fit hyper's smallest read buffer, and a connection
//! lives at most [`CONNECTION_LIMIT`], so a slow or silent client holds a
//! slot for seconds, never for good. Scrapes compute at most once a
//! second ([`FRESH`]); closer ones get the same text.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Semaphore;

use super::commits::Commits;
use super::exposition::{self, Live};

pub const MAX_CONNECTIONS: usize = 16;
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
pub const CONNECTION_LIMIT: Duration = Duration::from_secs(30);
/// hyper's smallest read buffer: a request head larger than this is refused.
pub const MAX_HEAD: usize = 8192;
const FRESH: Duration = Duration::from_secs(1);

/// What each scrape computes over.
#[derive(Clone)]
pub struct Scope {
    pub state_dir: PathBuf,
    pub release: Option<String>,
    pub env: Option<String>,
    pub since: std::time::Duration,
    pub given: String,
}

/// Checks an address may be served: an IP literal on loopback.
pub fn check_addr(text: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = text.parse().map_err(|_| {
        format!(
            "`{text}` is not an address to serve on; give an IP and a port, like 127.0.0.1:9464"
        )
    })?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "{addr} is not a loopback address: the metrics endpoint has no authentication, so \
             Slate serves it only on 127.0.0.1 or [::1] (reach it from elsewhere through an SSH \
             tunnel or a proxy that authenticates; see SECURITY.md)"
        ));
    }
    Ok(addr)
}

struct Cache {
    commits: Commits,
    last: Option<(Instant, Result<String, String>)>,
}

pub fn run(addr: SocketAddr, scope: Scope) -> i32 {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            crate::warn_user!("slate: cannot start the runtime: {e}");
            return 1;
        }
    };
    let code = rt.block_on(serve(addr, scope));
    rt.shutdown_timeout(Duration::from_millis(200));
    code
}

async fn serve(addr: SocketAddr, scope: Scope) -> i32 {
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            crate::warn_user!("slate: cannot listen on {addr}: {e}");
            return 1;
        }
    };
    let bound = listener.local_addr().unwrap_or(addr);
    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(t), Ok(i)) => (t, i),
        _ => {
            crate::warn_user!("slate: cannot handle signals");
            return 1;
        }
    };
    // Tests and scripts read the port from this line.
    crate::say!("serving delivery metrics on http://{bound}/metrics");
    let cache = Arc::new(Mutex::new(Cache {
        commits: Commits::new(&scope.state_dir),
        last: None,
    }));
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        tokio::select! {
            _ = term.recv() => return 0,
            _ = int.recv() => return 0,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    // Over the limit: closed at once rather than queued.
                    let Ok(permit) = slots.clone().try_acquire_owned() else {
                        drop(stream);
                        continue;
                    };
                    let (cache, scope) = (cache.clone(), scope.clone());
                    tokio::spawn(async move {
                        let svc = service_fn(move |req| {
                            handle(req, cache.clone(), scope.clone())
                        });
                        let conn = http1::Builder::new()
                            .timer(TokioTimer::new())
                            .header_read_timeout(HEAD_TIMEOUT)
                            .max_buf_size(MAX_HEAD)
                            .serve_connection(TokioIo::new(stream), svc);
                        let _ = tokio::time::timeout(CONNECTION_LIMIT, conn).await;
                        drop(permit);
                    });
                }
                Err(e) => {
                    // Usually EMFILE: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

fn reply(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    let ct = if status == StatusCode::OK {
        "text/plain; version=0.0.4; charset=utf-8"
    } else {
        "text/plain; charset=utf-8"
    };
    r.headers_mut()
        .insert(hyper::header::CONTENT_TYPE, ct.parse().expect("static"));
    r
}

async fn handle(
    req: Request<Incoming>,
    cache: Arc<Mutex<Cache>>,
    scope: Scope,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Ok(reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET /metrics\n".into(),
        ));
    }
    if req.uri().path() != "/metrics" {
        return Ok(reply(
            StatusCode::NOT_FOUND,
            "Slate's delivery metrics are at /metrics\n".into(),
        ));
    }
    // The body, if any, is never read: hyper discards it with the connection.
    let text = tokio::task::spawn_blocking(move || scrape(&cache, &scope))
        .await
        .unwrap_or_else(|e| Err(format!("the scrape failed: {e}")));
    Ok(match text {
        Ok(t) => reply(StatusCode::OK, t),
        Err(e) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{}\n", crate::text::neutral::line(&e)),
        ),
    })
}

fn scrape(cache: &Mutex<Cache>, scope: &Scope) -> Result<String, String> {
    let mut c = cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((at, text)) = &c.last
        && at.elapsed() < FRESH
    {
        return text.clone();
    }
    let text = compute(&mut c.commits, scope);
    if let Err(e) = &text {
        tracing::warn!(error = %e, "a scrape failed");
    }
    c.last = Some((Instant::now(), text.clone()));
    text
}

fn compute(commits: &mut Commits, scope: &Scope) -> Result<String, String> {
    let store = open(&scope.state_dir)?;
    let report = super::read(store.as_ref(), commits, scope)?;
    let places = store
        .places(scope.release.as_deref())
        .map_err(|e| e.to_string())?;
    let mut live = Live::default();
    for p in places {
        if scope.env.as_ref().is_some_and(|e| *e != p.env) {
            continue;
        }
        if let Some(newest) = store
            .history(&p, Some(1))
            .map_err(|e| e.to_string())?
            .into_iter()
            .next()
        {
            live.last.push((p.release, p.env, newest.reach.key()));
        }
    }
    drop(store);
    let now = jiff::Timestamp::now();
    for run in crate::runs::active_runs(&scope.state_dir)? {
        if run.engine == crate::runs::Engine::Running {
            live.runs_active += 1;
        }
        if let Some(w) = &run.waiting {
            live.gates_waiting += 1;
            let ms = now
                .duration_since(w.since)
                .as_millis()
                .clamp(0, u64::MAX as i128) as u64;
            live.longest_wait_ms = Some(live.longest_wait_ms.unwrap_or(0).max(ms));
        }
    }
    Ok(exposition::render(&report, &live))
}

/// The store, brought up to date with the journals; problems logged.
pub fn open(state_dir: &Path) -> Result<Box<dyn crate::store::Store>, String> {
    let opened = crate::store::open(state_dir).map_err(|e| e.to_string())?;
    for w in
        crate::store::sync::sync(opened.store.as_ref(), state_dir).map_err(|e| e.to_string())?
    {
        tracing::warn!(warning = %w, "store sync");
    }
    Ok(opened.store)
}
