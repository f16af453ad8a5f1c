//! `serve`: one demo service instance in the foreground, until SIGTERM,
//! SIGINT or its owner's end.

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::args::ServeArgs;
use super::routes;
use super::state::Shared;
use super::traffic::{self, Behaviour};
use super::watchdog::Owner;

/// How long open connections (a Prometheus keep-alive, say) get to finish
/// their current request once the instance is asked to stop.
const DRAIN: Duration = Duration::from_secs(1);

pub fn run(args: ServeArgs) -> Result<(), String> {
    args.traffic.validate()?;
    // Checked before anything binds, so a dead owner never leaves a port
    // briefly answering health checks.
    let owner = args.traffic.owner()?.map(Owner::identify).transpose()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let result = rt.block_on(serve(args, owner));
    rt.shutdown_timeout(Duration::from_millis(200));
    result
}

async fn serve(args: ServeArgs, owner: Option<Owner>) -> Result<(), String> {
    let shared = Arc::new(Shared::new(
        args.name.clone(),
        args.version.clone(),
        args.traffic.weight,
    ));
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM handler: {e}"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| format!("SIGINT handler: {e}"))?;

    let behaviour = Behaviour {
        bad: traffic::is_bad_build(&args.version),
        ramp_after: args.traffic.ramp_after,
        ramp_for: args.traffic.ramp_for,
    };
    let generator = tokio::spawn(traffic::generate(
        shared.clone(),
        behaviour,
        args.traffic.rate,
    ));
    // `start` waits for this exact line (in the instance's log) to learn the port.
    crate::say!("listening on {addr}");

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    let owner_says = owner.as_ref().map(Owner::describe).unwrap_or_default();
    let owner_gone = async {
        match owner {
            Some(o) => o.gone().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(owner_gone);
    let why = loop {
        tokio::select! {
            _ = term.recv() => break "SIGTERM".to_string(),
            _ = int.recv() => break "SIGINT".to_string(),
            () = &mut owner_gone => {
                break format!("{owner_says} is gone");
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    conns.spawn(connection(stream, shared.clone(), stop_rx.clone()));
                }
                Err(e) => {
                    // Usually EMFILE: back off instead of spinning.
                    crate::warn_user!("slate demo-service: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
        while conns.try_join_next().is_some() {}
    };
    crate::warn_user!("slate demo-service: {} stopping ({why})", args.name);
    generator.abort();
    drop(listener);
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(DRAIN, async { while conns.join_next().await.is_some() {} }).await;
    Ok(())
}

/// Serves one connection; on stop, lets its in-flight request finish.
async fn connection(stream: TcpStream, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let svc = service_fn(move |req| routes::handle(req, shared.clone()));
    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
