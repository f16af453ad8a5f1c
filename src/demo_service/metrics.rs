//! The service's counters and their Prometheus text exposition (format
//! 0.0.4), written by hand: the handful of series the demo needs does not
//! justify a metrics library.

use std::fmt::Write;

use super::traffic::Sample;

/// The content type Prometheus expects for the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// Histogram upper bounds, in seconds, with their `le` label spelling.
const BUCKETS: [(f64, &str); 10] = [
    (0.005, "0.005"),
    (0.01, "0.01"),
    (0.025, "0.025"),
    (0.05, "0.05"),
    (0.1, "0.1"),
    (0.25, "0.25"),
    (0.5, "0.5"),
    (1.0, "1"),
    (2.5, "2.5"),
    (5.0, "5"),
];

/// Everything counted since the process started.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub ok: u64,
    pub errors: u64,
    /// Per-bucket (non-cumulative) counts; made cumulative when rendered.
    buckets: [u64; BUCKETS.len()],
    sum_seconds: f64,
}

impl Stats {
    pub fn observe(&mut self, s: &Sample) {
        if s.ok {
            self.ok += 1;
        } else {
            self.errors += 1;
        }
        if let Some(i) = BUCKETS.iter().position(|(le, _)| s.latency_seconds <= *le) {
            self.buckets[i] += 1;
        }
        self.sum_seconds += s.latency_seconds;
    }

    pub fn count(&self) -> u64 {
        self.ok + self.errors
    }

    /// The exposition body: every series is always present (zeros included),
    /// so queries and alerts never see a gap at start-up.
    pub fn render(&self, version: &str, weight: u32) -> String {
        let mut out = String::with_capacity(2048);
        // `write!` into a String cannot fail; the results are ignored.
        let _ = writeln!(
            out,
            "# HELP demo_requests_total Requests served, by HTTP status."
        );
        let _ = writeln!(out, "# TYPE demo_requests_total counter");
        let _ = writeln!(out, "demo_requests_total{{status=\"200\"}} {}", self.ok);
        let _ = writeln!(out, "demo_requests_total{{status=\"500\"}} {}", self.errors);

        let name = "demo_request_duration_seconds";
        let _ = writeln!(out, "# HELP {name} Request latency.");
        let _ = writeln!(out, "# TYPE {name} histogram");
        let mut cumulative = 0;
        for ((_, le), n) in BUCKETS.iter().zip(self.buckets) {
            cumulative += n;
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", self.count());
        let _ = writeln!(out, "{name}_sum {}", self.sum_seconds);
        let _ = writeln!(out, "{name}_count {}", self.count());

        let _ = writeln!(
            out,
            "# HELP demo_traffic_weight Share of traffic routed to this instance (0-100)."
        );
        let _ = writeln!(out, "# TYPE demo_traffic_weight gauge");
        let _ = writeln!(out, "demo_traffic_weight {weight}");

        let _ = writeln!(out, "# HELP demo_build_info The running build.");
        let _ = writeln!(out, "# TYPE demo_build_info gauge");
        let _ = writeln!(
            out,
            "demo_build_info{{version=\"{}\"}} 1",
            escape_label(version)
        );
        out
    }
}

/// Label values escape backslash, double quote and newline.
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_zeros_are_rendered() {
        let empty = Stats::default().render("1.0", 100);
        assert!(empty.contains("demo_requests_total{status=\"500\"} 0\n"));
        let mut s = Stats::default();
        for (ok, latency_seconds) in [(true, 0.004), (false, 0.04), (true, 7.0)] {
            s.observe(&Sample {
                ok,
                latency_seconds,
            });
        }
        let text = s.render("a\"b", 50);
        for line in [
            "demo_requests_total{status=\"200\"} 2",
            "demo_requests_total{status=\"500\"} 1",
            "demo_request_duration_seconds_bucket{le=\"0.005\"} 1",
            "demo_request_duration_seconds_bucket{le=\"0.05\"} 2",
            "demo_request_duration_seconds_bucket{le=\"5\"} 2",
            "demo_request_duration_seconds_bucket{le=\"+Inf\"} 3",
            "demo_request_duration_seconds_count 3",
            "demo_traffic_weight 50",
            "demo_build_info{version=\"a\\\"b\"} 1",
        ] {
            assert!(text.contains(&format!("{line}\n")), "missing {line}");
        }
    }
}
