use super::*;
use crate::metrics::exposition;

fn history(keep_secs: u64, scrapes: &[(f64, &str)]) -> ScrapeHistory {
    let mut h = ScrapeHistory::new(Duration::from_secs(keep_secs));
    for (at, text) in scrapes {
        h.push(*at, exposition::parse(text).expect("test exposition"));
    }
    h
}

fn eval(query: &str, h: &ScrapeHistory) -> Sample {
    ScrapeQuery::compile(query)
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .eval(h)
}

fn value(query: &str, h: &ScrapeHistory) -> f64 {
    match eval(query, h) {
        Sample::Value(v) => v,
        other => panic!("{query}: expected a value, got {other:?}"),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn rejected(query: &str) -> String {
    match ScrapeQuery::compile(query) {
        Ok(_) => panic!("{query}: expected a rejection"),
        Err(e) => e,
    }
}

#[test]
fn rate_handles_counter_resets() {
    // 10 -> 30 (+20), reset to 5 (+5), 5 -> 25 (+20): 45 over 30 s.
    let h = history(
        600,
        &[(0.0, "c 10"), (10.0, "c 30"), (20.0, "c 5"), (30.0, "c 25")],
    );
    assert!(close(value("increase(c[1m])", &h), 45.0));
    assert!(close(value("rate(c[1m])", &h), 1.5));
    // irate: last two points only, 5 -> 25 over 10 s.
    assert!(close(value("irate(c[1m])", &h), 2.0));
    // A drop in the last step counts the new value in full.
    let h = history(600, &[(0.0, "c 100"), (15.0, "c 3")]);
    assert!(close(value("irate(c[1m])", &h), 0.2));
    assert!(close(value("increase(c[1m])", &h), 3.0));
}

#[test]
fn increase_uses_only_the_window() {
    let h = history(
        600,
        &[
            (0.0, "c 0"),
            (15.0, "c 10"),
            (30.0, "c 30"),
            (45.0, "c 60"),
            (60.0, "c 100"),
        ],
    );
    // (30, 60]: scrapes at 45 and 60 (the window is open on the left).
    assert!(close(value("increase(c[30s])", &h), 40.0));
    // (0, 60]: 15..60.
    assert!(close(value("increase(c[1m])", &h), 90.0));
    assert!(close(value("rate(c[1m])", &h), 2.0));
    // Everything kept.
    assert!(close(value("increase(c[10m])", &h), 100.0));
    assert!(close(value("delta(c[10m])", &h), 100.0));
    // A window shorter than the interval still gets the newest two scrapes.
    assert!(close(value("increase(c[1s])", &h), 40.0));
    assert!(close(value("rate(c[1s])", &h), 40.0 / 15.0));
}

#[test]
fn over_time_functions() {
    let h = history(600, &[(0.0, "g 4"), (10.0, "g 1"), (20.0, "g 7")]);
    assert!(close(value("avg_over_time(g[1m])", &h), 4.0));
    assert!(close(value("min_over_time(g[1m])", &h), 1.0));
    assert!(close(value("max_over_time(g[1m])", &h), 7.0));
    assert!(close(value("sum_over_time(g[1m])", &h), 12.0));
    assert!(close(value("count_over_time(g[1m])", &h), 3.0));
    // One scrape is enough for these.
    let one = history(600, &[(0.0, "g 4")]);
    assert!(close(value("max_over_time(g[1m])", &one), 4.0));
}

#[test]
fn series_absent_from_some_scrapes_uses_the_ones_it_is_in() {
    let h = history(
        600,
        &[
            (0.0, "c{k=\"a\"} 1"),
            (10.0, "c{k=\"a\"} 2\nc{k=\"b\"} 100"),
            (20.0, "c{k=\"a\"} 3"),
            (30.0, "c{k=\"a\"} 4\nc{k=\"b\"} 130"),
        ],
    );
    assert!(close(value("rate(c{k=\"b\"}[1m])", &h), 1.5));
    // A series in a single scrape of the window gives nothing, and says so.
    let h = history(
        600,
        &[(0.0, "c{k=\"a\"} 1"), (10.0, "c{k=\"a\"} 2\nc{k=\"b\"} 5")],
    );
    assert_eq!(
        eval("rate(c{k=\"b\"}[1m])", &h),
        Sample::NoData(
            "no series matched `rate(c{k=\"b\"}[1m])`: c{k=\"b\"} is in only one scrape of \
             the window"
                .to_string()
        )
    );
}

#[test]
fn rate_needs_two_scrapes() {
    let h = history(600, &[(0.0, "c 1")]);
    assert_eq!(
        eval("rate(c[1m])", &h),
        Sample::NoData("rate needs two scrapes; only one so far".to_string())
    );
    assert_eq!(
        eval("sum(increase(c[1m])) / 2", &h),
        Sample::NoData("increase needs two scrapes; only one so far".to_string())
    );
}

const REQUESTS_0: &str = r#"
# TYPE demo_requests_total counter
demo_requests_total{route="/",status="200"} 100
demo_requests_total{route="/",status="500"} 10
demo_requests_total{route="/api",status="200"} 50
demo_requests_total{route="/api",status="503"} 0
"#;
const REQUESTS_1: &str = r#"
# TYPE demo_requests_total counter
demo_requests_total{route="/",status="200"} 160
demo_requests_total{route="/",status="500"} 16
demo_requests_total{route="/api",status="200"} 80
demo_requests_total{route="/api",status="503"} 4
"#;

#[test]
fn error_ratio_of_rates() {
    let h = history(600, &[(100.0, REQUESTS_0), (110.0, REQUESTS_1)]);
    // 5xx: +6 +4 = 10; all: +60 +6 +30 +4 = 100.
    let ratio = value(
        r#"sum(rate(demo_requests_total{status=~"5.."}[30s])) / sum(rate(demo_requests_total[30s]))"#,
        &h,
    );
    assert!(close(ratio, 0.1), "{ratio}");
    // No 5xx series at all: nothing to judge, and the message says which part.
    let h = history(
        600,
        &[
            (0.0, "demo_requests_total{status=\"200\"} 1"),
            (10.0, "demo_requests_total{status=\"200\"} 2"),
        ],
    );
    match eval(
        r#"sum(rate(demo_requests_total{status=~"5.."}[30s])) / sum(rate(demo_requests_total[30s]))"#,
        &h,
    ) {
        Sample::NoData(why) => assert!(
            why.ends_with(
                r#": `demo_requests_total{status=~"5.."}` matched nothing in the window"#
            ),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn histogram_quantile_interpolates() {
    let buckets = |c: [u32; 4]| {
        format!(
            "# TYPE d histogram\n\
             d_bucket{{le=\"0.1\"}} {}\nd_bucket{{le=\"0.5\"}} {}\n\
             d_bucket{{le=\"1\"}} {}\nd_bucket{{le=\"+Inf\"}} {}\n",
            c[0], c[1], c[2], c[3]
        )
    };
    let h = history(
        600,
        &[
            (0.0, &buckets([0, 0, 0, 0])),
            (60.0, &buckets([50, 90, 98, 100])),
        ],
    );
    // p50: rank 50 is the top of the first bucket -> 0.1.
    let q = "histogram_quantile(0.5, sum by (le) (rate(d_bucket[1m])))";
    assert!(close(value(q, &h), 0.1));
    // p90: rank 90 is the top of (0.1, 0.5] -> 0.5.
    assert!(close(value(&q.replace("0.5,", "0.9,"), &h), 0.5));
    // p70: rank 70 in (0.1, 0.5], 20 of its 40 -> 0.1 + 0.4 * 0.5 = 0.3.
    assert!(close(value(&q.replace("0.5,", "0.7,"), &h), 0.3));
    // p95: rank 95 in (0.5, 1], 5 of its 8 -> 0.5 + 0.5 * 5/8.
    assert!(close(value(&q.replace("0.5,", "0.95,"), &h), 0.8125));
    // p99: rank 99 is in the +Inf bucket -> highest finite bound.
    assert!(close(value(&q.replace("0.5,", "0.99,"), &h), 1.0));
    // p25 inside the first bucket, interpolated from 0: 0.1 * 25/50.
    assert!(close(value(&q.replace("0.5,", "0.25,"), &h), 0.05));
    assert_eq!(value(&q.replace("0.5,", "1.5,"), &h), f64::INFINITY);
    assert_eq!(value(&q.replace("0.5,", "-1,"), &h), f64::NEG_INFINITY);
}

#[test]
fn histogram_quantile_edge_cases() {
    // No traffic in the window: zero count -> NaN, like Prometheus.
    let h = history(
        600,
        &[
            (0.0, "b{le=\"1\"} 5\nb{le=\"+Inf\"} 5"),
            (10.0, "b{le=\"1\"} 5\nb{le=\"+Inf\"} 5"),
        ],
    );
    assert!(value("histogram_quantile(0.9, rate(b[1m]))", &h).is_nan());
    // No +Inf bucket -> NaN.
    let h = history(600, &[(0.0, "b{le=\"1\"} 5\nb{le=\"2\"} 9")]);
    assert!(value("histogram_quantile(0.9, b)", &h).is_nan());
    // Groups by every label but `le`: two groups -> two series.
    let h = history(
        600,
        &[(
            0.0,
            "b{le=\"1\",r=\"x\"} 1\nb{le=\"+Inf\",r=\"x\"} 2\nb{le=\"1\",r=\"y\"} 1\nb{le=\"+Inf\",r=\"y\"} 1",
        )],
    );
    assert!(
        matches!(eval("histogram_quantile(0.5, b)", &h), Sample::NoData(why) if why.starts_with("query returned 2 series"))
    );
    assert!(close(value("histogram_quantile(0.5, b{r=\"y\"})", &h), 0.5));
}

#[test]
fn grouping_by_and_without() {
    let h = history(600, &[(0.0, REQUESTS_1)]);
    assert_eq!(value("sum(demo_requests_total)", &h), 260.0);
    assert_eq!(
        value("sum by (route) (demo_requests_total{route=\"/api\"})", &h),
        84.0
    );
    assert_eq!(
        value(
            "sum without (status) (demo_requests_total{route=\"/\"})",
            &h
        ),
        176.0
    );
    assert_eq!(value("count(demo_requests_total)", &h), 4.0);
    assert_eq!(value("avg(demo_requests_total)", &h), 65.0);
    assert_eq!(value("min(demo_requests_total)", &h), 4.0);
    assert_eq!(value("max(demo_requests_total)", &h), 160.0);
    assert_eq!(
        eval("sum by (route) (demo_requests_total)", &h),
        Sample::NoData(
            "query returned 2 series ({route=\"/\"}, {route=\"/api\"}); aggregate them, e.g. \
             sum(...)"
                .to_string()
        )
    );
    assert_eq!(
        value("max(sum without (route) (demo_requests_total))", &h),
        240.0
    );
}

#[test]
fn vector_matching_one_to_one() {
    let h = history(
        600,
        &[(
            0.0,
            "errors{route=\"/\",job=\"a\"} 5\nerrors{route=\"/api\",job=\"a\"} 1\n\
             total{route=\"/\",job=\"a\"} 50\ntotal{route=\"/api\",job=\"b\"} 10",
        )],
    );
    // Default matching on all labels but the name: only route="/" pairs up.
    assert!(close(value("errors / total", &h), 0.1));
    // ignoring(job) pairs both; on(route) too.
    assert!(close(value("sum(errors / ignoring(job) total)", &h), 0.2));
    assert!(close(value("sum(errors / on(route) total)", &h), 0.2));
    // The result of on(...) carries only the matching labels.
    assert_eq!(
        eval("errors / on(route) total", &h),
        Sample::NoData(
            "query returned 2 series ({route=\"/\"}, {route=\"/api\"}); aggregate them, e.g. \
             sum(...)"
                .to_string()
        )
    );
    // Two series on one side of a match group is an error.
    match eval("errors / on(job) total", &h) {
        Sample::Error(why) => assert!(
            why.starts_with("several series on the left of `/`"),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn comparisons_filter_or_give_bool() {
    let h = history(600, &[(0.0, "g{k=\"a\"} 1\ng{k=\"b\"} 5\nh{k=\"b\"} 5")]);
    // Filter keeps the vector's value (even with the scalar on the left).
    assert_eq!(value("g > 2", &h), 5.0);
    assert_eq!(value("2 < g", &h), 5.0);
    assert_eq!(value("sum(g > bool 2)", &h), 1.0);
    assert_eq!(value("g == h", &h), 5.0);
    assert_eq!(value("g{k=\"b\"} != bool h", &h), 0.0);
    assert_eq!(value("1 < bool 2", &h), 1.0);
    // A comparison filter keeps the metric name, so the series is reported as g.
    match eval("g >= 1", &h) {
        Sample::NoData(why) => assert!(why.contains("g{k=\"a\"}, g{k=\"b\"}"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(eval("g > 100", &h), Sample::NoData(_)));
}

#[test]
fn arithmetic_and_division_by_zero() {
    let h = history(600, &[(0.0, "zero 0\none 1\nneg -2")]);
    assert!(value("zero / zero", &h).is_nan());
    assert_eq!(value("one / zero", &h), f64::INFINITY);
    assert_eq!(value("neg / zero", &h), f64::NEG_INFINITY);
    assert!(value("0 / 0", &h).is_nan());
    assert_eq!(value("(1 + 2) * 3 - 4 / 2", &h), 7.0);
    assert_eq!(value("7 % 4", &h), 3.0);
    assert_eq!(value("2 ^ 10", &h), 1024.0);
    assert_eq!(value("-neg", &h), 2.0);
    assert_eq!(value("one - neg", &h), 3.0);
    assert_eq!(value("abs(neg)", &h), 2.0);
    assert_eq!(value("clamp_min(neg, 0)", &h), 0.0);
    assert_eq!(value("clamp_max(one, 0.5)", &h), 0.5);
    assert_eq!(value("scalar(one) * 3", &h), 3.0);
    assert!(value("scalar(nothing)", &h).is_nan());
    assert_eq!(value("vector(4) + one", &h), 5.0);
}

#[test]
fn matchers_use_promql_semantics() {
    let h = history(
        600,
        &[(
            0.0,
            "m{s=\"500\"} 1\nm{s=\"503\"} 2\nm{s=\"200\"} 4\nm 8\nm{s=\"\"} 16",
        )],
    );
    // m and m{s=""} are the same series (an empty label is no label); the later wins.
    assert_eq!(value("sum(m{s=~\"5..\"})", &h), 3.0);
    assert_eq!(value("sum(m{s!~\"5..\"})", &h), 20.0);
    assert_eq!(value("sum(m{s!=\"200\"})", &h), 19.0);
    assert_eq!(value("m{s=\"\"}", &h), 16.0);
    assert_eq!(value("sum({__name__=\"m\", s=~\"50.\"})", &h), 3.0);
    // Regexes are anchored.
    assert!(matches!(eval("m{s=~\"5\"}", &h), Sample::NoData(_)));
}

#[test]
fn unsupported_constructs_are_rejected_by_name() {
    let cases = [
        (
            "rate(c[5m] offset 1m)",
            "`offset` is not supported on a direct scrape; use a Prometheus source",
        ),
        (
            "c offset 5m",
            "`offset` is not supported on a direct scrape; use a Prometheus source",
        ),
        (
            "c @ 100",
            "`@` is not supported on a direct scrape; use a Prometheus source",
        ),
        (
            "max_over_time(rate(c[1m])[5m:1m])",
            "subqueries (`x[5m:1m]`) are not supported on a direct scrape; use a Prometheus source",
        ),
        (
            "a and b",
            "`and` is not supported on a direct scrape; use a Prometheus source",
        ),
        (
            "a or vector(0)",
            "`or` is not supported on a direct scrape; use a Prometheus source",
        ),
        (
            "a unless b",
            "`unless` is not supported on a direct scrape; use a Prometheus source",
        ),
        (
            "a / on(x) group_left b",
            "`group_left` is not supported on a direct scrape; use a Prometheus source",
        ),
        (
            "a / on(x) group_right b",
            "`group_right` is not supported on a direct scrape; use a Prometheus source",
        ),
        (
            "topk(3, a)",
            "the `topk` aggregation is not supported on a direct scrape; use a Prometheus source (supported: sum, avg, min, max, count)",
        ),
        (
            "c[5m]",
            "a range selector like `x[5m]` is only supported inside rate, increase, irate, delta or <aggregation>_over_time",
        ),
    ];
    for (query, message) in cases {
        assert_eq!(rejected(query), message, "{query}");
    }
    let e = rejected("time() - c");
    assert!(e.starts_with("function `time` is not supported on a direct scrape; use a Prometheus source (supported: rate, increase"), "{e}");
    assert_eq!(
        rejected("sum(rate(c[5m]"),
        "invalid PromQL: unclosed left parenthesis"
    );
    assert_eq!(
        rejected("foo bar"),
        "invalid PromQL: `foo bar` does not parse"
    );
    assert_eq!(rejected("   "), "the query is empty");
    assert_eq!(rejected("\"text\""), "a string is not a number to judge");
}

#[test]
fn longest_range_is_the_largest_window() {
    let q = ScrapeQuery::compile("rate(a[30s]) / rate(b[2m]) + increase(c[1m])").expect("valid");
    assert_eq!(q.longest_range(), Duration::from_secs(120));
    assert_eq!(
        ScrapeQuery::compile("a + 1")
            .expect("valid")
            .longest_range(),
        Duration::ZERO
    );
}

#[test]
fn no_data_cases() {
    let empty = ScrapeHistory::new(Duration::from_secs(60));
    assert_eq!(
        eval("up", &empty),
        Sample::NoData("no scrape yet".to_string())
    );
    let h = history(600, &[(0.0, "up 1")]);
    assert_eq!(
        eval("down", &h),
        Sample::NoData(
            "no series matched `down`: `down` matched nothing in the newest scrape".to_string()
        )
    );
    assert_eq!(value("up", &h), 1.0);
    assert_eq!(value("sum(up) * 2", &h), 2.0);
}

#[test]
fn more_than_one_series_names_the_first_few() {
    let h = history(
        600,
        &[(
            0.0,
            "x{a=\"1\"} 1\nx{a=\"2\"} 1\nx{a=\"3\"} 1\nx{a=\"4\"} 1",
        )],
    );
    assert_eq!(
        eval("x", &h),
        Sample::NoData(
            "query returned 4 series (x{a=\"1\"}, x{a=\"2\"}, x{a=\"3\"}, ...); aggregate \
             them, e.g. sum(...)"
                .to_string()
        )
    );
}

#[test]
fn history_keeps_its_window() {
    let mut h = ScrapeHistory::new(Duration::from_secs(30));
    assert!(h.is_empty());
    for i in 0..10 {
        h.push(f64::from(i) * 10.0, Exposition::default());
    }
    // Newest at 90: keeps 60, 70, 80, 90.
    assert_eq!(h.len(), 4);
    let mut tiny = ScrapeHistory::new(Duration::ZERO);
    for i in 0..5 {
        tiny.push(f64::from(i), Exposition::default());
    }
    assert_eq!(tiny.len(), 2);
    let mut long = ScrapeHistory::new(Duration::from_secs(1_000_000));
    for i in 0..(MAX_SCRAPES + 50) {
        long.push(i as f64, Exposition::default());
    }
    assert_eq!(long.len(), MAX_SCRAPES);
    // A clock that goes back replaces what is not older.
    // Holds the times 50..=549; 525..=549 are not older than 524.5.
    long.push(524.5, Exposition::default());
    assert_eq!(long.len(), MAX_SCRAPES - 25 + 1);
    long.push(f64::NAN, Exposition::default());
    assert_eq!(long.len(), MAX_SCRAPES - 25 + 1);
}

#[test]
fn odd_queries_do_not_panic() {
    let h = history(600, &[(0.0, REQUESTS_0), (10.0, REQUESTS_1)]);
    let seeds = [
        r#"sum(rate(demo_requests_total{status=~"5.."}[30s])) / sum(rate(demo_requests_total[30s]))"#,
        "histogram_quantile(0.99, sum by (le) (rate(demo_request_duration_seconds_bucket[1m])))",
        "-(1 / 0) % 0 ^ -1 > bool 2",
        "scalar(vector(1)) + clamp_max(abs(x), -1)",
    ];
    let mut rng = fastrand::Rng::with_seed(7);
    let alphabet: Vec<char> = "()[]{}\"=~!<>+-*/%^,.0123456789 abcmsxyz_:@"
        .chars()
        .collect();
    for _ in 0..1500 {
        let mut chars: Vec<char> = seeds[rng.usize(..seeds.len())].chars().collect();
        for _ in 0..rng.usize(1..4) {
            if chars.is_empty() {
                break;
            }
            let at = rng.usize(..chars.len());
            match rng.u8(..3) {
                0 => chars[at] = alphabet[rng.usize(..alphabet.len())],
                1 => {
                    chars.remove(at);
                }
                _ => chars.insert(at, alphabet[rng.usize(..alphabet.len())]),
            }
        }
        let query: String = chars.into_iter().collect();
        if let Ok(q) = ScrapeQuery::compile(&query) {
            let _ = q.eval(&h);
        }
    }
}
