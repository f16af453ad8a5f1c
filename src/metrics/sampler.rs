//! Taking samples of one metric from its source, keeping what the source
//! needs between samples (the scrape history a rate is computed over).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;

use super::Sample;
use super::exposition;
use super::prometheus::{Prometheus, Reduce};
use super::promql::{ScrapeHistory, ScrapeQuery};

/// Largest `/metrics` page or command output read (a real exporter's page is far smaller).
const MAX_BODY: usize = 16 << 20;

/// A metric's source with placeholders already expanded for one environment.
/// A URL is held twice: `url` to ask, with any secret's value in it, and
/// `shown` (secrets named, credentials masked) for every message.
#[derive(Clone)]
pub enum Source {
    Scrape {
        url: String,
        shown: String,
        query: String,
    },
    Prometheus {
        url: String,
        shown: String,
        query: String,
        range: Option<Duration>,
        reduce: Reduce,
    },
    Http {
        url: String,
        shown: String,
        /// Values filled in, secrets included: never printed.
        headers: Vec<(String, String)>,
        json_path: String,
    },
    Command {
        command: String,
        cwd: PathBuf,
        env: Vec<(String, String)>,
        /// Inherited variables the command must not see.
        unset: Vec<String>,
    },
}

impl std::fmt::Debug for Source {
    // The URL to ask may hold a secret's value: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Scrape { shown, .. } => write!(f, "Scrape({shown})"),
            Source::Prometheus { shown, .. } => write!(f, "Prometheus({shown})"),
            Source::Http { shown, .. } => write!(f, "Http({shown})"),
            Source::Command { .. } => write!(f, "Command"),
        }
    }
}

pub struct Sampler {
    source: Source,
    interval: Duration,
    timeout: Duration,
    scrape: Option<(ScrapeQuery, ScrapeHistory)>,
    /// An SLO's windows, each with its query compiled for a direct scrape;
    /// empty for any other metric.
    windows: Vec<(Duration, Option<ScrapeQuery>)>,
    started: Instant,
}

impl Sampler {
    /// `windows` are an SLO's burn windows (the query's `${window}` filled
    /// in with each); empty for a metric judged by its conditions.
    pub fn new(
        source: Source,
        interval: Duration,
        timeout: Duration,
        windows: &[Duration],
    ) -> Result<Self, String> {
        let mut compiled = Vec::new();
        for &w in windows {
            let q = match &source {
                Source::Scrape { query, .. } => {
                    Some(ScrapeQuery::compile(&crate::plan::with_window(query, w))?)
                }
                _ => None,
            };
            compiled.push((w, q));
        }
        let scrape = match &source {
            Source::Scrape { query, .. } => {
                let q = ScrapeQuery::compile(&match windows.last() {
                    Some(&w) => crate::plan::with_window(query, w),
                    None => query.clone(),
                })?;
                // Keep enough scrapes for the longest range, and a margin for late samples.
                let keep = q.longest_range().max(interval) + interval * 2;
                Some((q, ScrapeHistory::new(keep)))
            }
            _ => None,
        };
        Ok(Self {
            source,
            interval,
            timeout,
            scrape,
            windows: compiled,
            started: Instant::now(),
        })
    }

    /// An SLO's error ratio over each of its windows. A direct scrape's
    /// history must span a window before that window is judged.
    async fn ratios(&mut self) -> Sample {
        let mut out = Vec::new();
        match &self.source {
            Source::Scrape { .. } => {
                if let Err(e) = self.scrape_once().await {
                    return Sample::Error(e);
                }
                let Some((_, h)) = &self.scrape else {
                    return Sample::Error("no scrape history".into());
                };
                for (w, q) in &self.windows {
                    let Some(q) = q else { continue };
                    // A range is full once its oldest scrape is at most an interval inside it.
                    let covered = Duration::from_secs_f64(h.span().max(0.0));
                    if covered + self.interval < *w {
                        return Sample::NoData(format!(
                            "the scrapes so far span {} of the {} window",
                            crate::plan::promql_duration(Duration::from_secs(covered.as_secs())),
                            crate::plan::promql_duration(*w)
                        ));
                    }
                    match q.eval(h) {
                        Sample::Value(x) => out.push((*w, x)),
                        Sample::NoData(why) => {
                            return Sample::NoData(format!(
                                "over {}: {why}",
                                crate::plan::promql_duration(*w)
                            ));
                        }
                        other => return other,
                    }
                }
            }
            Source::Prometheus {
                url, shown, query, ..
            } => {
                let prom = match Prometheus::open(url, shown, self.timeout) {
                    Ok(p) => p,
                    Err(e) => return Sample::Error(e),
                };
                for (w, _) in &self.windows {
                    match prom.instant(&crate::plan::with_window(query, *w)).await {
                        Sample::Value(x) => out.push((*w, x)),
                        Sample::NoData(why) => {
                            return Sample::NoData(format!(
                                "over {}: {why}",
                                crate::plan::promql_duration(*w)
                            ));
                        }
                        other => return other,
                    }
                }
            }
            Source::Command { .. } | Source::Http { .. } => {
                return Sample::Error("an SLO needs a PromQL source".into());
            }
        }
        Sample::Ratios(out)
    }

    /// Takes a baseline before the first measurement, so the first rate has two scrapes.
    pub async fn prime(&mut self) {
        if matches!(self.source, Source::Scrape { .. }) {
            let _ = self.scrape_once().await;
        }
    }

    pub async fn sample(&mut self) -> Sample {
        if !self.windows.is_empty() {
            return self.ratios().await;
        }
        match &self.source {
            Source::Scrape { .. } => match self.scrape_once().await {
                Err(e) => Sample::Error(e),
                Ok(()) => match &self.scrape {
                    Some((q, h)) => q.eval(h),
                    None => Sample::Error("no scrape query".into()),
                },
            },
            Source::Prometheus {
                url,
                shown,
                query,
                range,
                reduce,
            } => {
                let prom = match Prometheus::open(url, shown, self.timeout) {
                    Ok(p) => p,
                    Err(e) => return Sample::Error(e),
                };
                match range {
                    Some(r) => prom.range(query, *r, self.interval, *reduce).await,
                    None => prom.instant(query).await,
                }
            }
            Source::Http {
                url,
                shown,
                headers,
                json_path,
            } => match super::http_json::parse_path(json_path) {
                Ok(path) => {
                    super::http_json::sample(url, shown, headers, &path, json_path, self.timeout)
                        .await
                }
                Err(e) => Sample::Error(e),
            },
            Source::Command {
                command,
                cwd,
                env,
                unset,
            } => run_command(command, cwd, env, unset, self.timeout).await,
        }
    }

    async fn scrape_once(&mut self) -> Result<(), String> {
        let Source::Scrape { url, shown, .. } = &self.source else {
            return Ok(());
        };
        let text = fetch(url, shown, self.timeout).await?;
        let parsed = exposition::parse(&text).map_err(|e| format!("{shown}: {e}"))?;
        let at = self.started.elapsed().as_secs_f64();
        if let Some((_, h)) = &mut self.scrape {
            h.push(at, parsed);
        }
        Ok(())
    }
}

/// `url` is asked; `shown` is what messages say.
async fn fetch(url: &str, shown: &str, timeout: Duration) -> Result<String, String> {
    let client = crate::net::client_builder()
        .timeout(timeout)
        .no_proxy()
        .build()
        .map_err(|e| format!("cannot build HTTP client: {e}"))?;
    // reqwest's errors quote the URL they were given: said without it.
    let mut resp = client.get(url).send().await.map_err(|e| {
        if e.is_timeout() {
            format!(
                "{shown} did not answer within {}",
                humantime::format_duration(timeout)
            )
        } else if e.is_connect() {
            format!("{shown} is unreachable: connection refused")
        } else {
            format!("{shown}: {}", e.without_url())
        }
    })?;
    if !resp.status().is_success() {
        return Err(format!("{shown} answered {}", resp.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("{shown}: {}", e.without_url()))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BODY {
            return Err(format!("{shown}: page larger than {} MiB", MAX_BODY >> 20));
        }
    }
    String::from_utf8(body).map_err(|_| format!("{shown}: page is not UTF-8 text"))
}

/// Runs a command in its own process group and reads one number from its
/// output. Messages say "the command", never its text: a metric's command
/// may span lines, and the metric's name says which one it is.
async fn run_command(
    command: &str,
    cwd: &PathBuf,
    env: &[(String, String)],
    unset: &[String],
    timeout: Duration,
) -> Sample {
    let mut cmd = tokio::process::Command::new("sh");
    for var in unset {
        cmd.env_remove(var);
    }
    cmd.arg("-c")
        .arg(command)
        .current_dir(cwd)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Sample::Error(format!("cannot start the command: {e}")),
    };
    let pgid = child.id();
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let work = async {
        let mut o = Vec::new();
        let mut e = Vec::new();
        if let Some(s) = out.as_mut() {
            let _ = s.take(MAX_BODY as u64).read_to_end(&mut o).await;
        }
        if let Some(s) = err.as_mut() {
            let _ = s.take(64 << 10).read_to_end(&mut e).await;
        }
        (child.wait().await, o, e)
    };
    let (status, stdout, stderr) = match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => {
            if let Some(pg) = pgid {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pg as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            return Sample::Error(format!(
                "the command printed no number within {}",
                humantime::format_duration(timeout)
            ));
        }
    };
    match status {
        Ok(s) if s.success() => parse_number(&String::from_utf8_lossy(&stdout)),
        Ok(s) => {
            let last = String::from_utf8_lossy(&stderr)
                .lines()
                .last()
                .unwrap_or("")
                .trim()
                .to_string();
            Sample::Error(format!(
                "the command exited with {}{}",
                s.code()
                    .map_or("a signal".to_string(), |c| format!("code {c}")),
                if last.is_empty() {
                    String::new()
                } else {
                    format!(": {last}")
                }
            ))
        }
        Err(e) => Sample::Error(format!("the command failed: {e}")),
    }
}

/// The last non-empty line of the output, as a number (empty output is no data).
fn parse_number(out: &str) -> Sample {
    let Some(line) = out.lines().map(str::trim).rfind(|l| !l.is_empty()) else {
        return Sample::NoData("the command printed nothing".into());
    };
    match line {
        "NaN" | "nan" => Sample::Value(f64::NAN),
        "+Inf" | "Inf" | "inf" => Sample::Value(f64::INFINITY),
        "-Inf" | "-inf" => Sample::Value(f64::NEG_INFINITY),
        l => match l.parse::<f64>() {
            Ok(x) => Sample::Value(x),
            Err(_) => Sample::Error(format!("the command printed \"{l}\", not a number")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(c: &str) -> Source {
        Source::Command {
            command: c.into(),
            cwd: std::env::temp_dir(),
            env: vec![("SLATE_TEST_VALUE".into(), "0.25".into())],
            unset: vec!["SLATE_TEST_HIDDEN".into()],
        }
    }

    async fn once(c: &str) -> Sample {
        let mut s =
            Sampler::new(cmd(c), Duration::from_secs(1), Duration::from_secs(2), &[]).unwrap();
        s.sample().await
    }

    #[tokio::test]
    async fn command_sources_print_a_number() {
        assert_eq!(once("echo $SLATE_TEST_VALUE").await, Sample::Value(0.25));
        assert_eq!(
            once("printf 'warming up\\n3\\n\\n'").await,
            Sample::Value(3.0)
        );
        assert!(matches!(once("echo NaN").await, Sample::Value(x) if x.is_nan()));
        assert_eq!(
            once("true").await,
            Sample::NoData("the command printed nothing".into())
        );
        assert_eq!(
            once("echo lots").await,
            Sample::Error("the command printed \"lots\", not a number".into())
        );
        assert_eq!(
            once("echo boom >&2; exit 3").await,
            Sample::Error("the command exited with code 3: boom".into())
        );
    }

    #[tokio::test]
    async fn a_command_that_hangs_is_killed_at_its_timeout() {
        let mut s = Sampler::new(
            cmd("sleep 30"),
            Duration::from_secs(1),
            Duration::from_millis(300),
            &[],
        )
        .unwrap();
        let started = Instant::now();
        let r = s.sample().await;
        assert!(
            matches!(r, Sample::Error(ref m) if m.contains("printed no number within 300ms")),
            "{r:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
