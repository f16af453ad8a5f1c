//! Probes that need no process: HTTP requests, TCP connects, and Prometheus
//! alert queries. Each returns pass/fail, a one-line message and the latency.
//! (Command checks run through the engine, which supervises processes.)

mod http;

use std::time::{Duration, Instant};

pub use http::http_probe as http;

use crate::metrics::prometheus::Prometheus;

#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub ok: bool,
    pub message: String,
    pub latency_ms: u64,
}

impl Probe {
    fn new(ok: bool, message: String, started: Instant) -> Self {
        Self {
            ok,
            message,
            latency_ms: started.elapsed().as_millis() as u64,
        }
    }
}

/// Passes when a TCP connection opens within the timeout.
pub async fn tcp(addr: &str, timeout: Duration) -> Probe {
    let started = Instant::now();
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => {
            let ms = started.elapsed().as_millis();
            Probe::new(true, format!("TCP {addr}: connected in {ms} ms"), started)
        }
        Ok(Err(e)) => Probe::new(false, format!("TCP {addr}: {}", plain_io(&e)), started),
        Err(_) => Probe::new(
            false,
            format!(
                "TCP {addr}: no connection within {}",
                humantime::format_duration(timeout)
            ),
            started,
        ),
    }
}

/// Passes while no alert with all of `labels` is firing.
pub async fn alerts(base: &str, labels: &[(String, String)], timeout: Duration) -> Probe {
    let started = Instant::now();
    let prom = match Prometheus::new(base, timeout) {
        Ok(p) => p,
        Err(e) => return Probe::new(false, e, started),
    };
    let selector = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ");
    match prom.firing_alerts(labels).await {
        Ok(firing) if firing.is_empty() => {
            Probe::new(true, format!("no alert firing for {{{selector}}}"), started)
        }
        Ok(firing) => {
            let names: Vec<&str> = firing.iter().map(|a| a.name.as_str()).collect();
            Probe::new(
                false,
                format!(
                    "{} alert{} firing for {{{selector}}}: {}",
                    firing.len(),
                    if firing.len() == 1 { "" } else { "s" },
                    names.join(", ")
                ),
                started,
            )
        }
        Err(e) => Probe::new(false, format!("cannot read alerts: {e}"), started),
    }
}

fn plain_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        _ => e.to_string(),
    }
}
