//! A generic HTTP JSON metric source: GET a URL (headers may carry a
//! secret), read one number out of the JSON answer with a JSONPath
//! (RFC 9535), so a team on Datadog, CloudWatch behind a proxy, New Relic or
//! an in-house service can feed an analysis without an integration.
//!
//! An answer that cannot be had (unreachable, timeout, an HTTP error, a body
//! that is not JSON or too large) is an error; an answer with nothing to
//! judge (the path matches nothing, several values, null, a string that is
//! no number, an object) is no data. Both say why.

use std::time::Duration;

use serde_json::Value;
use serde_json_path::JsonPath;

use super::Sample;

/// Largest answer read: far above any one metric's series.
const MAX_BODY: usize = 4 << 20;

/// Parses a JSONPath as the plan writes it, with the parser's reason.
pub fn parse_path(path: &str) -> Result<JsonPath, String> {
    JsonPath::parse(path).map_err(|e| format!("invalid JSONPath `{path}`: {e}"))
}

/// Asks `url` (with `headers`, values filled in) and reads the number at `path`.
/// `shown` is the URL every message says instead.
pub async fn sample(
    url: &str,
    shown: &str,
    headers: &[(String, String)],
    path: &JsonPath,
    path_text: &str,
    timeout: Duration,
) -> Sample {
    let client = match crate::net::client_builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .no_proxy()
        .build()
    {
        Ok(c) => c,
        Err(e) => return Sample::Error(format!("cannot build HTTP client: {e}")),
    };
    let mut req = client.get(url).header("Accept", "application/json");
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    // reqwest's errors quote the URL they were given: said without it.
    let mut resp = match req.send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return Sample::Error(format!(
                "{shown} did not answer within {}",
                humantime::format_duration(timeout)
            ));
        }
        Err(e) if e.is_connect() => {
            return Sample::Error(format!("{shown} is unreachable: connection refused"));
        }
        Err(e) if e.is_builder() => {
            return Sample::Error(format!("{shown}: the request cannot be made (a header?)"));
        }
        Err(e) => return Sample::Error(format!("{shown}: {}", e.without_url())),
    };
    if !resp.status().is_success() {
        return Sample::Error(format!("{shown} answered {}", resp.status()));
    }
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_BODY {
                    return Sample::Error(format!(
                        "{shown}: answer larger than {} MiB",
                        MAX_BODY >> 20
                    ));
                }
            }
            Ok(None) => break,
            Err(e) if e.is_timeout() => {
                return Sample::Error(format!(
                    "{shown} did not finish answering within {}",
                    humantime::format_duration(timeout)
                ));
            }
            Err(e) => return Sample::Error(format!("{shown}: {}", e.without_url())),
        }
    }
    let json: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return Sample::Error(format!("{shown} answered something that is not JSON ({e})"));
        }
    };
    read(&json, path, path_text)
}

/// The number at `path` in `json`.
pub fn read(json: &Value, path: &JsonPath, path_text: &str) -> Sample {
    let nodes = path.query(json);
    match nodes.len() {
        0 => Sample::NoData(format!("`{path_text}` matched nothing in the answer")),
        1 => number(nodes.first().expect("one"), path_text),
        n => Sample::NoData(format!(
            "`{path_text}` matched {n} values; one is judged (pick it, e.g. with [0] or [-1])"
        )),
    }
}

fn number(v: &Value, path_text: &str) -> Sample {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(x) => Sample::Value(x),
            None => Sample::NoData(format!("`{path_text}` is a number out of range")),
        },
        // Some APIs quote numbers, and JSON has no NaN or Infinity of its own.
        Value::String(s) => match s.trim() {
            "NaN" | "nan" => Sample::Value(f64::NAN),
            "+Inf" | "Inf" | "inf" | "Infinity" => Sample::Value(f64::INFINITY),
            "-Inf" | "-inf" | "-Infinity" => Sample::Value(f64::NEG_INFINITY),
            t => match t.parse::<f64>() {
                Ok(x) => Sample::Value(x),
                Err(_) => Sample::NoData(format!(
                    "`{path_text}` is the text \"{}\", not a number",
                    shorten(s)
                )),
            },
        },
        Value::Null => Sample::NoData(format!("`{path_text}` is null")),
        Value::Bool(b) => Sample::NoData(format!("`{path_text}` is {b}, not a number")),
        Value::Array(a) => Sample::NoData(format!(
            "`{path_text}` is a list of {} values, not a number",
            a.len()
        )),
        Value::Object(_) => Sample::NoData(format!("`{path_text}` is an object, not a number")),
    }
}

/// A hostile answer's text, cut to a readable length.
fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(json: &str, path: &str) -> Sample {
        read(
            &serde_json::from_str(json).unwrap(),
            &parse_path(path).unwrap(),
            path,
        )
    }

    #[test]
    fn reads_realistic_shapes() {
        // Datadog's timeseries query: the newest point of the first series.
        let dd = r#"{"status":"ok","series":[{"metric":"errors","pointlist":[[1700000000000,0.01],[1700000060000,0.02]]}]}"#;
        assert_eq!(at(dd, "$.series[0].pointlist[-1][1]"), Sample::Value(0.02));
        assert_eq!(at(r#"{"value":"0.5"}"#, "$.value"), Sample::Value(0.5));
        assert!(matches!(at(r#"{"v":"NaN"}"#, "$.v"), Sample::Value(x) if x.is_nan()));
    }

    #[test]
    fn nothing_to_judge_says_why() {
        let cases = [
            (
                r#"{"series":[]}"#,
                "$.series[0].pointlist[-1][1]",
                "matched nothing",
            ),
            (r#"{"a":[1,2]}"#, "$.a[*]", "matched 2 values"),
            (r#"{"v":null}"#, "$.v", "is null"),
            (
                r#"{"v":"lots"}"#,
                "$.v",
                "is the text \"lots\", not a number",
            ),
            (r#"{"v":{"x":1}}"#, "$.v", "is an object"),
            (r#"{"v":true}"#, "$.v", "is true, not a number"),
        ];
        for (json, path, want) in cases {
            match at(json, path) {
                Sample::NoData(why) => assert!(why.contains(want), "{why}"),
                other => panic!("{json}: {other:?}"),
            }
        }
        assert!(parse_path("$.[").is_err());
    }
}
