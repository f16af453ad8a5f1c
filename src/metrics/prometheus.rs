//! Client for Prometheus's HTTP API: instant queries, range queries reduced to one
//! number, and firing alerts.
//!
//! Every answer becomes a [`Sample`] that keeps "Prometheus had nothing to judge"
//! ([`Sample::NoData`]: an empty result, several series where one was expected,
//! a series without points) apart from "Prometheus could not be asked"
//! ([`Sample::Error`]: unreachable, timed out, an API error, an answer that is not
//! the API's JSON), because the analysis treats the first as inconclusive and
//! counts the second towards its consecutive-error limit.
//!
//! The client never uses a proxy (Prometheus is usually next door, and a proxy
//! from the environment would silently route release gates elsewhere), bounds
//! every request by the configured timeout, and reads at most 8 MiB of a body.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::{StatusCode, Url};
use serde::Deserialize;
use serde_json::Value as Json;

use crate::metrics::Sample;
use crate::metrics::promql::{several_series_message, shorten};

/// Bodies larger than this are refused rather than buffered.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// How a range query's points become one number. `Max`, `Min` and `Mean` skip NaN
/// points (NaN only if every point is NaN); `Last` takes the last point as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduce {
    Last,
    Max,
    Min,
    Mean,
}

/// An alert as `/api/v1/alerts` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The `alertname` label (empty if absent).
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// `firing`, `pending` or (Prometheus 3) `inactive`.
    pub state: String,
    /// When the alert became active, as Prometheus wrote it (RFC 3339).
    pub active_at: Option<String>,
    /// The value of the rule's expression when it was last evaluated, as
    /// Prometheus wrote it (`"3e-01"`).
    pub value: Option<String>,
}

impl Alert {
    pub fn firing(&self) -> bool {
        self.state == "firing"
    }

    pub fn pending(&self) -> bool {
        self.state == "pending"
    }
}

/// One Prometheus server.
#[derive(Clone)]
pub struct Prometheus {
    base: Url,
    /// The base URL as messages show it.
    shown: String,
    client: reqwest::Client,
    timeout: Duration,
}

impl std::fmt::Debug for Prometheus {
    // The base URL may hold a secret's value; the shown one never does.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Prometheus({})", self.shown)
    }
}

impl Prometheus {
    /// `base_url` like `http://127.0.0.1:9090` (a trailing slash and a path prefix
    /// such as `/prometheus` are fine). `timeout` bounds each request as a whole.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, String> {
        Self::open(base_url, &crate::secrets::url::shown(base_url), timeout)
    }

    /// [`Prometheus::new`] for a URL that may hold a secret's value: `shown`
    /// is what every message says instead.
    pub fn open(base_url: &str, shown: &str, timeout: Duration) -> Result<Self, String> {
        let shown = crate::secrets::url::shown(shown.trim().trim_end_matches('/'));
        let base = Url::parse(base_url.trim().trim_end_matches('/'))
            .map_err(|e| format!("invalid Prometheus URL \"{shown}\": {e}"))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(format!(
                "invalid Prometheus URL \"{shown}\": the scheme must be http or https"
            ));
        }
        if timeout.is_zero() {
            return Err("the Prometheus timeout must be longer than zero".to_string());
        }
        let client = crate::net::client_builder()
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| format!("cannot set up an HTTP client for Prometheus: {e}"))?;
        Ok(Self {
            base,
            shown,
            client,
            timeout,
        })
    }

    /// `GET /api/v1/query`: the query's value now. A scalar or a single series is
    /// the value; no series or several are "no data".
    pub async fn instant(&self, query: &str) -> Sample {
        let data = match self.api_get("api/v1/query", &[("query", query)]).await {
            Ok(data) => data,
            Err(why) => return Sample::Error(why),
        };
        match self.query_data(data) {
            Err(why) => Sample::Error(why),
            Ok(QueryData::Matrix(_)) => Sample::Error(
                "the query gives a range vector; wrap the range selector in a function such \
                 as rate(...)"
                    .to_string(),
            ),
            Ok(data) => single_value(data, query, None),
        }
    }

    /// `GET /api/v1/query_range` over the last `range` every `step`: the one series
    /// expected, its points reduced to one number.
    pub async fn range(
        &self,
        query: &str,
        range: Duration,
        step: Duration,
        reduce: Reduce,
    ) -> Sample {
        if step.is_zero() {
            return Sample::Error("the range query step must be longer than zero".to_string());
        }
        let end = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let start = format!("{:.3}", end - range.as_secs_f64());
        let end = format!("{end:.3}");
        let step = format!("{:.3}", step.as_secs_f64());
        let params = [
            ("query", query),
            ("start", start.as_str()),
            ("end", end.as_str()),
            ("step", step.as_str()),
        ];
        let data = match self.api_get("api/v1/query_range", &params).await {
            Ok(data) => data,
            Err(why) => return Sample::Error(why),
        };
        match self.query_data(data) {
            Err(why) => Sample::Error(why),
            Ok(data) => single_value(data, query, Some((range, reduce))),
        }
    }

    /// `GET /api/v1/alerts`: the active alerts (pending or firing) that carry
    /// every given label with the given value.
    pub async fn alerts(&self, labels: &[(String, String)]) -> Result<Vec<Alert>, String> {
        #[derive(Deserialize)]
        struct AlertsData {
            #[serde(default)]
            alerts: Vec<RawAlert>,
        }
        #[derive(Deserialize)]
        struct RawAlert {
            #[serde(default)]
            labels: BTreeMap<String, String>,
            #[serde(default)]
            state: String,
            #[serde(rename = "activeAt")]
            active_at: Option<String>,
            #[serde(default)]
            value: Option<Json>,
        }
        let data = self.api_get("api/v1/alerts", &[]).await?;
        let data: AlertsData = serde_json::from_value(data).map_err(|e| {
            format!(
                "prometheus at {} answered an unexpected alert list: {e}",
                self.shown
            )
        })?;
        Ok(data
            .alerts
            .into_iter()
            .filter(|a| a.state == "firing" || a.state == "pending")
            .filter(|a| labels.iter().all(|(k, v)| a.labels.get(k) == Some(v)))
            .map(|a| Alert {
                name: a.labels.get("alertname").cloned().unwrap_or_default(),
                labels: a.labels,
                state: a.state,
                active_at: a.active_at,
                value: a.value.map(|v| match v {
                    Json::String(s) => s,
                    other => other.to_string(),
                }),
            })
            .collect())
    }

    /// One API call: the `data` of a successful answer, or why there is none.
    async fn api_get(&self, path: &str, params: &[(&str, &str)]) -> Result<Json, String> {
        let url = self.endpoint(path, params);
        // reqwest's own timeout covers the request; this one also covers a body
        // that trickles in.
        let (status, body) = tokio::time::timeout(self.timeout, self.fetch(url))
            .await
            .map_err(|_| self.timed_out())??;
        match serde_json::from_slice::<Envelope>(&body) {
            Ok(envelope) if envelope.status == "error" => Err(format!(
                "prometheus: {}: {}",
                envelope.error_type.as_deref().unwrap_or("error"),
                one_line(envelope.error.as_deref().unwrap_or("no message"))
            )),
            Ok(_) if !status.is_success() => Err(self.http_error(status, &body)),
            Ok(envelope) if envelope.status == "success" => envelope.data.ok_or_else(|| {
                format!("prometheus at {} answered success without data", self.shown)
            }),
            Ok(envelope) => Err(format!(
                "prometheus at {} answered an unknown status \"{}\"",
                self.shown,
                shorten(&envelope.status)
            )),
            Err(_) if !status.is_success() => Err(self.http_error(status, &body)),
            Err(e) => Err(format!(
                "prometheus at {} answered malformed JSON: {e}",
                self.shown
            )),
        }
    }

    fn endpoint(&self, path: &str, params: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        let joined = format!("{}/{path}", url.path().trim_end_matches('/'));
        url.set_path(&joined);
        url.set_query(None);
        url.set_fragment(None);
        if !params.is_empty() {
            url.query_pairs_mut().extend_pairs(params);
        }
        url
    }

    /// Status and body, the body capped at [`MAX_BODY`].
    async fn fetch(&self, url: Url) -> Result<(StatusCode, Vec<u8>), String> {
        let mut response = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| self.request_error(&e))?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.request_error(&e))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(format!(
                    "prometheus at {} sent more than {} MiB; narrow the query",
                    self.shown,
                    MAX_BODY / (1024 * 1024)
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body))
    }

    fn query_data(&self, data: Json) -> Result<QueryData, String> {
        serde_json::from_value(data).map_err(|e| {
            format!(
                "prometheus at {} answered an unexpected result: {e}",
                self.shown
            )
        })
    }

    fn timed_out(&self) -> String {
        format!(
            "prometheus at {} did not answer within {}",
            self.shown,
            humantime::format_duration(self.timeout)
        )
    }

    fn request_error(&self, e: &reqwest::Error) -> String {
        if e.is_timeout() {
            return self.timed_out();
        }
        let cause = root_cause(e);
        if e.is_connect() {
            format!("prometheus at {} is unreachable: {cause}", self.shown)
        } else {
            format!("prometheus at {}: request failed: {cause}", self.shown)
        }
    }

    fn http_error(&self, status: StatusCode, body: &[u8]) -> String {
        let text = String::from_utf8_lossy(body);
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        let mut message = format!("prometheus at {} answered HTTP {status}", self.shown);
        if !first.is_empty() {
            message.push_str(": ");
            message.push_str(&shorten(first));
        }
        message
    }
}

/// The API's envelope around every answer.
#[derive(Deserialize)]
struct Envelope {
    status: String,
    data: Option<Json>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
}

/// `data` of a query answer.
#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum QueryData {
    Scalar(Point),
    String(serde::de::IgnoredAny),
    Vector(Vec<InstantSeries>),
    Matrix(Vec<RangeSeries>),
}

/// `[unix time, "value"]`; the value is a string so that NaN and ±Inf survive JSON.
type Point = (Json, Json);

#[derive(Deserialize)]
struct InstantSeries {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    value: Option<Point>,
}

#[derive(Deserialize)]
struct RangeSeries {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<Point>,
}

/// The one number a query answer comes to. `range` is `Some` for a range query:
/// its window (for messages) and how to reduce the series' points.
fn single_value(data: QueryData, query: &str, range: Option<(Duration, Reduce)>) -> Sample {
    let over = range
        .map(|(r, _)| format!(" over the last {}", humantime::format_duration(r)))
        .unwrap_or_default();
    let no_series = || Sample::NoData(format!("no series matched `{}`{over}", shorten(query)));
    match data {
        QueryData::Scalar(point) => to_sample(point_value(&point)),
        QueryData::String(_) => {
            Sample::Error("the query gives a string, not a number to judge".to_string())
        }
        QueryData::Vector(series) => match series.as_slice() {
            [] => no_series(),
            [only] => match &only.value {
                Some(point) => to_sample(point_value(point)),
                None => Sample::Error(
                    "the query gives a native histogram; use histogram_quantile(...) or \
                     histogram_count(...) to get a number"
                        .to_string(),
                ),
            },
            several => Sample::NoData(several_series_message(
                several.len(),
                several.iter().map(|s| &s.metric),
            )),
        },
        QueryData::Matrix(series) => match series.as_slice() {
            [] => no_series(),
            [only] => {
                let values: Result<Vec<f64>, String> =
                    only.values.iter().map(point_value).collect();
                match values {
                    Err(why) => Sample::Error(why),
                    Ok(values) if values.is_empty() => {
                        Sample::NoData(format!("`{}` has no float points{over}", shorten(query)))
                    }
                    Ok(values) => {
                        let reduce = range.map_or(Reduce::Last, |(_, reduce)| reduce);
                        Sample::Value(reduce_points(&values, reduce))
                    }
                }
            }
            several => Sample::NoData(several_series_message(
                several.len(),
                several.iter().map(|s| &s.metric),
            )),
        },
    }
}

fn to_sample(value: Result<f64, String>) -> Sample {
    match value {
        Ok(v) => Sample::Value(v),
        Err(why) => Sample::Error(why),
    }
}

/// A point's value: `"1.5"`, `"NaN"`, `"+Inf"`, `"-Inf"` (a bare number is taken too).
fn point_value(point: &Point) -> Result<f64, String> {
    let parsed = match &point.1 {
        Json::String(text) => text.parse::<f64>().ok(),
        Json::Number(n) => n.as_f64(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        format!(
            "prometheus answered an unparsable sample value {}",
            shorten(&point.1.to_string())
        )
    })
}

/// `values` is not empty.
fn reduce_points(values: &[f64], reduce: Reduce) -> f64 {
    let numbers = || values.iter().copied().filter(|v| !v.is_nan());
    match reduce {
        Reduce::Last => values.last().copied().unwrap_or(f64::NAN),
        Reduce::Max => numbers().reduce(f64::max).unwrap_or(f64::NAN),
        Reduce::Min => numbers().reduce(f64::min).unwrap_or(f64::NAN),
        Reduce::Mean => {
            let (sum, count) = numbers().fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
            if count == 0 {
                f64::NAN
            } else {
                sum / count as f64
            }
        }
    }
}

/// The innermost error's text, without the OS error number: "connection refused".
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = e;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    let text = innermost.to_string();
    let text = match text.find(" (os error") {
        Some(at) => &text[..at],
        None => text.as_str(),
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "unknown error".to_string(),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::future::Future;
    use std::net::SocketAddr;

    use bytes::Bytes;
    use http_body_util::Full;
    use hyper::body::Incoming;
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper::{Request, Response};
    use hyper_util::rt::TokioIo;
    use tokio::net::TcpListener;

    use super::*;

    /// Every test finishes within this, whatever the code under test does.
    const TEST_LIMIT: Duration = Duration::from_secs(10);

    async fn bounded<T>(f: impl Future<Output = T>) -> T {
        tokio::time::timeout(TEST_LIMIT, f)
            .await
            .expect("test took too long")
    }

    struct Canned {
        status: u16,
        body: String,
        delay: Duration,
    }

    fn ok(body: &str) -> Canned {
        Canned {
            status: 200,
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    fn vector(result: &str) -> Canned {
        ok(&format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{result}]}}}}"#
        ))
    }

    fn matrix(result: &str) -> Canned {
        ok(&format!(
            r#"{{"status":"success","data":{{"resultType":"matrix","result":[{result}]}}}}"#
        ))
    }

    fn api_error(status: u16, kind: &str, message: &str) -> Canned {
        Canned {
            status,
            body: format!(r#"{{"status":"error","errorType":"{kind}","error":"{message}"}}"#),
            delay: Duration::ZERO,
        }
    }

    /// The canned answer for a request, by path and `query` parameter.
    fn route(path: &str, params: &BTreeMap<String, String>) -> Canned {
        let path = path.strip_prefix("/prom").unwrap_or(path);
        let query = params.get("query").map_or("", String::as_str);
        match path {
            "/api/v1/query" => match query {
                "scalar_q" => ok(
                    r#"{"status":"success","data":{"resultType":"scalar","result":[1712345678.9,"1.5"]}}"#,
                ),
                "empty_q" => vector(""),
                "one_q" => vector(r#"{"metric":{"job":"api"},"value":[1712345678,"42"]}"#),
                "nan_q" => vector(r#"{"metric":{},"value":[1712345678,"NaN"]}"#),
                "three_q" => vector(
                    r#"{"metric":{"status":"500"},"value":[1,"1"]},
                       {"metric":{"status":"502"},"value":[1,"2"]},
                       {"metric":{"status":"503"},"value":[1,"3"]}"#,
                ),
                "hist_q" => vector(r#"{"metric":{},"histogram":[1,{"count":"3","sum":"1"}]}"#),
                "string_q" => ok(
                    r#"{"status":"success","data":{"resultType":"string","result":[1,"hello"]}}"#,
                ),
                "matrix_q" => matrix(r#"{"metric":{},"values":[[1,"1"]]}"#),
                "bad_q" => api_error(400, "bad_data", "1:5: parse error: unexpected <EOF>"),
                "html_q" => Canned {
                    status: 502,
                    body: "<html>\n<body>upstream is down</body></html>".to_string(),
                    delay: Duration::ZERO,
                },
                "garbage_q" => ok("{not json"),
                "odd_value_q" => vector(r#"{"metric":{},"value":[1,"fast"]}"#),
                "slow_q" => Canned {
                    delay: Duration::from_secs(3),
                    ..vector(r#"{"metric":{},"value":[1,"1"]}"#)
                },
                "huge_q" => ok(&" ".repeat(MAX_BODY + 10)),
                _ => api_error(400, "bad_data", "unknown test query"),
            },
            "/api/v1/query_range" => {
                let numbers_ok = ["start", "end", "step"]
                    .iter()
                    .all(|k| params.get(*k).is_some_and(|v| v.parse::<f64>().is_ok()));
                let (start, end) = (
                    params.get("start").and_then(|v| v.parse::<f64>().ok()),
                    params.get("end").and_then(|v| v.parse::<f64>().ok()),
                );
                if !numbers_ok
                    || start
                        .zip(end)
                        .is_none_or(|(s, e)| (e - s - 300.0).abs() > 1.0)
                {
                    return api_error(400, "bad_data", "bad start/end/step");
                }
                match query {
                    "series_q" => matrix(
                        r#"{"metric":{"job":"api"},"values":[[1,"1"],[2,"5"],[3,"NaN"],[4,"3"]]}"#,
                    ),
                    "inf_q" => matrix(r#"{"metric":{},"values":[[1,"+Inf"],[2,"-Inf"],[3,"2"]]}"#),
                    "allnan_q" => matrix(r#"{"metric":{},"values":[[1,"NaN"]]}"#),
                    "none_q" => matrix(""),
                    "nopoints_q" => matrix(r#"{"metric":{}}"#),
                    "multi_q" => matrix(
                        r#"{"metric":{"__name__":"up","job":"a"},"values":[[1,"1"]]},
                           {"metric":{"__name__":"up","job":"b"},"values":[[1,"1"]]}"#,
                    ),
                    _ => api_error(400, "bad_data", "unknown test query"),
                }
            }
            "/api/v1/alerts" => ok(r#"{"status":"success","data":{"alerts":[
                {"labels":{"alertname":"HighErrorRate","service":"api","severity":"page"},
                 "annotations":{},"state":"firing","activeAt":"2024-04-05T10:00:00Z","value":"1e+00"},
                {"labels":{"alertname":"HighLatency","service":"api"},
                 "annotations":{},"state":"pending","activeAt":"2024-04-05T10:01:00Z","value":"1e+00"},
                {"labels":{"alertname":"DiskFull","service":"db"},
                 "annotations":{},"state":"firing","activeAt":"2024-04-05T09:00:00Z","value":"1e+00"}
            ]}}"#),
            _ => Canned {
                status: 404,
                body: "404 page not found".to_string(),
                delay: Duration::ZERO,
            },
        }
    }

    async fn respond(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
        let uri = format!("http://test{}", req.uri());
        let (path, params) = match Url::parse(&uri) {
            Ok(url) => (
                url.path().to_string(),
                url.query_pairs().into_owned().collect(),
            ),
            Err(_) => (String::new(), BTreeMap::new()),
        };
        let canned = route(&path, &params);
        tokio::time::sleep(canned.delay).await;
        let mut response = Response::new(Full::new(Bytes::from(canned.body)));
        *response.status_mut() = hyper::StatusCode::from_u16(canned.status)
            .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
        Ok(response)
    }

    /// A canned Prometheus on a free loopback port.
    async fn server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local address");
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service_fn(respond))
                        .await;
                });
            }
        });
        addr
    }

    async fn client() -> Prometheus {
        let addr = server().await;
        Prometheus::new(&format!("http://{addr}/"), Duration::from_secs(5)).expect("client")
    }

    #[tokio::test]
    async fn scalar_result_is_a_value() {
        bounded(async {
            assert_eq!(client().await.instant("scalar_q").await, Sample::Value(1.5));
        })
        .await;
    }

    #[tokio::test]
    async fn vector_results_by_count() {
        bounded(async {
            let p = client().await;
            assert_eq!(p.instant("one_q").await, Sample::Value(42.0));
            assert_eq!(
                p.instant("empty_q").await,
                Sample::NoData("no series matched `empty_q`".to_string())
            );
            assert_eq!(
                p.instant("three_q").await,
                Sample::NoData(
                    "query returned 3 series ({status=\"500\"}, {status=\"502\"}, \
                     {status=\"503\"}); aggregate them, e.g. sum(...)"
                        .to_string()
                )
            );
            assert!(matches!(p.instant("nan_q").await, Sample::Value(v) if v.is_nan()));
            assert!(matches!(p.instant("hist_q").await, Sample::Error(why) if why.contains("native histogram")));
        })
        .await;
    }

    #[tokio::test]
    async fn string_and_matrix_results_are_errors_for_instant() {
        bounded(async {
            let p = client().await;
            assert_eq!(
                p.instant("string_q").await,
                Sample::Error("the query gives a string, not a number to judge".to_string())
            );
            assert!(matches!(p.instant("matrix_q").await, Sample::Error(why) if why.contains("range vector")));
        })
        .await;
    }

    #[tokio::test]
    async fn api_error_is_reported_with_its_type() {
        bounded(async {
            assert_eq!(
                client().await.instant("bad_q").await,
                Sample::Error(
                    "prometheus: bad_data: 1:5: parse error: unexpected <EOF>".to_string()
                )
            );
        })
        .await;
    }

    #[tokio::test]
    async fn non_json_http_error_reports_the_status() {
        bounded(async {
            let addr = server().await;
            let p =
                Prometheus::new(&format!("http://{addr}"), Duration::from_secs(5)).expect("client");
            assert_eq!(
                p.instant("html_q").await,
                Sample::Error(format!(
                    "prometheus at http://{addr} answered HTTP 502 Bad Gateway: <html>"
                ))
            );
        })
        .await;
    }

    #[tokio::test]
    async fn malformed_json_and_values_are_errors() {
        bounded(async {
            let p = client().await;
            match p.instant("garbage_q").await {
                Sample::Error(why) => assert!(why.contains("answered malformed JSON"), "{why}"),
                other => panic!("{other:?}"),
            }
            assert_eq!(
                p.instant("odd_value_q").await,
                Sample::Error(
                    "prometheus answered an unparsable sample value \"fast\"".to_string()
                )
            );
        })
        .await;
    }

    #[tokio::test]
    async fn oversized_body_is_refused() {
        bounded(async {
            match client().await.instant("huge_q").await {
                Sample::Error(why) => assert!(
                    why.ends_with("sent more than 8 MiB; narrow the query"),
                    "{why}"
                ),
                other => panic!("{other:?}"),
            }
        })
        .await;
    }

    #[tokio::test]
    async fn slow_server_times_out() {
        bounded(async {
            let addr = server().await;
            let p = Prometheus::new(&format!("http://{addr}"), Duration::from_millis(200))
                .expect("client");
            assert_eq!(
                p.instant("slow_q").await,
                Sample::Error(format!(
                    "prometheus at http://{addr} did not answer within 200ms"
                ))
            );
        })
        .await;
    }

    #[tokio::test]
    async fn closed_port_is_unreachable() {
        bounded(async {
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind loopback");
            let addr = listener.local_addr().expect("local address");
            drop(listener);
            let p =
                Prometheus::new(&format!("http://{addr}"), Duration::from_secs(5)).expect("client");
            assert_eq!(
                p.instant("one_q").await,
                Sample::Error(format!(
                    "prometheus at http://{addr} is unreachable: connection refused"
                ))
            );
            let e = p.alerts(&[]).await.expect_err("refused");
            assert!(e.ends_with("is unreachable: connection refused"), "{e}");
        })
        .await;
    }

    #[tokio::test]
    async fn range_reduces_the_single_series() {
        bounded(async {
            let p = client().await;
            let five_min = Duration::from_secs(300);
            let step = Duration::from_secs(15);
            let r = |q: &'static str, reduce| {
                let p = p.clone();
                async move { p.range(q, five_min, step, reduce).await }
            };
            assert_eq!(r("series_q", Reduce::Last).await, Sample::Value(3.0));
            assert_eq!(r("series_q", Reduce::Max).await, Sample::Value(5.0));
            assert_eq!(r("series_q", Reduce::Min).await, Sample::Value(1.0));
            assert_eq!(r("series_q", Reduce::Mean).await, Sample::Value(3.0));
            assert_eq!(r("inf_q", Reduce::Max).await, Sample::Value(f64::INFINITY));
            assert_eq!(
                r("inf_q", Reduce::Min).await,
                Sample::Value(f64::NEG_INFINITY)
            );
            assert!(matches!(r("allnan_q", Reduce::Mean).await, Sample::Value(v) if v.is_nan()));
            assert_eq!(
                r("none_q", Reduce::Last).await,
                Sample::NoData("no series matched `none_q` over the last 5m".to_string())
            );
            assert_eq!(
                r("nopoints_q", Reduce::Last).await,
                Sample::NoData("`nopoints_q` has no float points over the last 5m".to_string())
            );
            assert_eq!(
                r("multi_q", Reduce::Last).await,
                Sample::NoData(
                    "query returned 2 series (up{job=\"a\"}, up{job=\"b\"}); aggregate them, \
                     e.g. sum(...)"
                        .to_string()
                )
            );
            assert!(matches!(
                p.range("series_q", five_min, Duration::ZERO, Reduce::Last)
                    .await,
                Sample::Error(_)
            ));
        })
        .await;
    }

    #[tokio::test]
    async fn alerts_are_the_active_ones_filtered_by_labels() {
        bounded(async {
            let p = client().await;
            let all = p.alerts(&[]).await.expect("alerts");
            let names: Vec<(&str, &str)> = all
                .iter()
                .map(|a| (a.name.as_str(), a.state.as_str()))
                .collect();
            assert_eq!(
                names,
                [
                    ("HighErrorRate", "firing"),
                    ("HighLatency", "pending"),
                    ("DiskFull", "firing")
                ]
            );
            let api = p
                .alerts(&[("service".to_string(), "api".to_string())])
                .await
                .expect("alerts");
            assert_eq!(api.len(), 2);
            assert!(api[0].firing() && api[1].pending());
            assert_eq!(api[0].active_at.as_deref(), Some("2024-04-05T10:00:00Z"));
            assert_eq!(api[0].value.as_deref(), Some("1e+00"));
            assert_eq!(
                api[0].labels.get("severity").map(String::as_str),
                Some("page")
            );
            let none = p
                .alerts(&[("service".to_string(), "web".to_string())])
                .await
                .expect("alerts");
            assert!(none.is_empty());
        })
        .await;
    }

    #[tokio::test]
    async fn base_url_with_path_prefix() {
        bounded(async {
            let addr = server().await;
            let p = Prometheus::new(&format!("http://{addr}/prom/"), Duration::from_secs(5))
                .expect("client");
            assert_eq!(p.instant("one_q").await, Sample::Value(42.0));
        })
        .await;
    }

    #[test]
    fn bad_base_urls_are_rejected() {
        assert!(Prometheus::new("not a url", Duration::from_secs(1)).is_err());
        assert!(Prometheus::new("ftp://host", Duration::from_secs(1)).is_err());
        assert!(Prometheus::new("http://host:9090", Duration::ZERO).is_err());
    }

    #[test]
    fn reduce_skips_nan_points() {
        let values = [f64::NAN, 2.0, f64::NAN, 4.0, f64::NAN];
        assert!(reduce_points(&values, Reduce::Last).is_nan());
        assert_eq!(reduce_points(&values, Reduce::Max), 4.0);
        assert_eq!(reduce_points(&values, Reduce::Min), 2.0);
        assert_eq!(reduce_points(&values, Reduce::Mean), 3.0);
    }
}
