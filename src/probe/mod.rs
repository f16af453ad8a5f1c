//! Probes that need no process: HTTP requests, TCP connects, and Prometheus
//! alert queries. Each returns pass/fail, a one-line message and the latency.
//! (Command checks run through the engine, which supervises processes.)

mod http;

use std::time::{Duration, Instant};

pub use http::http_probe as http;

use crate::metrics::prometheus::{Alert, Prometheus};
use crate::plan::PendingAlerts;

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

/// How often a waiting alerts check asks again: Prometheus evaluates its
/// rules every few seconds at best, so more often would learn nothing.
const ALERTS_POLL: Duration = Duration::from_secs(1);

/// Passes while no alert with all of `labels` is firing, nor pending (its
/// condition holds; only its `for:` period has not run out) unless `pending`
/// says to ignore those. With `PendingAlerts::Wait` a pending alert is asked
/// about again until `timeout`: the check passes once nothing matches, and
/// fails if it fires or is still pending then. `base` is the URL as asked
/// (secrets' values in it), `shown` as messages say it.
pub async fn alerts(
    base: &str,
    shown: &str,
    labels: &[(String, String)],
    timeout: Duration,
    pending: PendingAlerts,
) -> Probe {
    let started = Instant::now();
    let fail = |msg: String| Probe::new(false, msg, started);
    let prom = match Prometheus::open(base, shown, timeout) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let selector = labels
        .iter()
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let deadline = started + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let active = match tokio::time::timeout(left, prom.alerts(labels)).await {
            Ok(Ok(a)) => a,
            Ok(Err(e)) => return fail(format!("cannot read alerts: {e}")),
            Err(_) => {
                return fail(format!(
                    "cannot read alerts: prometheus at {shown} did not answer within {}",
                    humantime::format_duration(timeout)
                ));
            }
        };
        let (firing, waiting): (Vec<&Alert>, Vec<&Alert>) = active.iter().partition(|a| a.firing());
        if !firing.is_empty() {
            return fail(alert_list(&firing, "firing", &selector));
        }
        if waiting.is_empty() || pending == PendingAlerts::Ignore {
            let mut msg = format!("no alert firing for {{{selector}}}");
            if !waiting.is_empty() {
                msg.push_str(&format!(
                    " ({} pending, ignored: {})",
                    waiting.len(),
                    waiting
                        .iter()
                        .map(|a| describe_alert(a))
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
            } else if pending != PendingAlerts::Ignore {
                msg = format!("no alert firing or pending for {{{selector}}}");
            }
            return Probe::new(true, msg, started);
        }
        if pending == PendingAlerts::Fail {
            return fail(alert_list(&waiting, "pending", &selector));
        }
        if Instant::now() + ALERTS_POLL >= deadline {
            return fail(format!(
                "{} after {}",
                alert_list(&waiting, "still pending", &selector),
                humantime::format_duration(timeout)
            ));
        }
        tokio::time::sleep(ALERTS_POLL).await;
    }
}

/// "2 alerts firing for {service="api"}: A firing since 12:03:07 (value 0.3) {…}; B …"
fn alert_list(alerts: &[&Alert], state: &str, selector: &str) -> String {
    format!(
        "{} alert{} {state} for {{{selector}}}: {}",
        alerts.len(),
        if alerts.len() == 1 { "" } else { "s" },
        alerts
            .iter()
            .map(|a| describe_alert(a))
            .collect::<Vec<_>>()
            .join("; ")
    )
}

/// One alert in a line, from what the alerts API says of it:
/// `CanaryErrorRatioHigh firing since 12:03:07 (value 0.3) {instance="10.0.0.7:8080"}`.
/// Label values are quoted with escapes, so a hostile one stays on its line.
fn describe_alert(a: &Alert) -> String {
    let mut out = if a.name.is_empty() {
        "(unnamed alert)".to_string()
    } else {
        format!("{:?}", a.name).trim_matches('"').to_string()
    };
    out.push(' ');
    out.push_str(&a.state);
    if let Some(since) = a.active_at.as_deref().and_then(local_time) {
        out.push_str(&format!(" since {since}"));
    }
    if let Some(v) = &a.value {
        let shown = v
            .trim()
            .parse::<f64>()
            .map(crate::plan::condition::fmt_num)
            .unwrap_or_else(|_| format!("{v:?}"));
        out.push_str(&format!(" (value {shown})"));
    }
    let labels: Vec<String> = a
        .labels
        .iter()
        .filter(|(k, _)| k.as_str() != "alertname")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    if !labels.is_empty() {
        out.push_str(&format!(" {{{}}}", labels.join(", ")));
    }
    out
}

/// `2026-12-03T12:03:07.123Z` as the local wall-clock time `12:03:07`.
fn local_time(rfc3339: &str) -> Option<String> {
    let ts: jiff::Timestamp = rfc3339.parse().ok()?;
    Some(
        ts.to_zoned(jiff::tz::TimeZone::system())
            .strftime("%H:%M:%S")
            .to_string(),
    )
}

fn plain_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        _ => e.to_string(),
    }
}
