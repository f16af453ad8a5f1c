//! Parsing a Prometheus exposition page, as a direct-scrape metric does every
//! interval: 200 series and 2,000 series (histogram buckets with labels).
//! `cargo bench --bench exposition`.

fn main() {
    divan::main();
}

fn page(series: usize) -> String {
    let mut s = String::from(
        "# HELP http_request_duration_seconds Request latency.\n# TYPE http_request_duration_seconds histogram\n",
    );
    let les = [
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
    ];
    let mut n = 0;
    'outer: for route in 0.. {
        for code in ["200", "404", "500"] {
            for le in les {
                s.push_str(&format!(
                    "http_request_duration_seconds_bucket{{route=\"/api/v1/orders/{route}\",code=\"{code}\",le=\"{le}\"}} {}\n",
                    route * 13 + n
                ));
                n += 1;
                if n >= series {
                    break 'outer;
                }
            }
        }
    }
    s
}

#[divan::bench(args = [200, 2_000], sample_count = 50)]
fn parse(bencher: divan::Bencher, series: usize) {
    let text = page(series);
    bencher
        .counter(divan::counter::BytesCount::of_str(&text))
        .bench(|| slate::metrics::exposition::parse(&text).unwrap());
}
