//! Black-box tests of `slate demo-service`: the real binary, loopback only,
//! every wait bounded, and every process a test starts stopped by a guard
//! even when the test fails.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const BIN: &str = env!("CARGO_BIN_EXE_slate");
/// Upper bound for any one CLI invocation (start waits up to 5 s itself).
const CLI_LIMIT: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------- helpers

/// A port that was free a moment ago.
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// Alive and not a zombie (orphans may never be reaped in a container).
fn alive(pid: i32) -> bool {
    if kill(Pid::from_raw(pid), None).is_err() {
        return false;
    }
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let after = &s[s.rfind(')')? + 1..];
            after.split_whitespace().next().map(|st| st != "Z")
        })
        .unwrap_or(false)
}

fn is_demo_service(pid: i32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| String::from_utf8_lossy(&raw).contains("demo-service"))
        .unwrap_or(false)
}

fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(25));
    }
}

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Reads a pipe to EOF on a thread; the receiver gets the text at EOF.
fn drain(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(mut p) = pipe {
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = p.read_to_end(&mut buf);
            let _ = tx.send(String::from_utf8_lossy(&buf).into_owned());
        });
    }
    rx
}

/// Runs a command with piped output, bounded in time. Also proves the
/// command's output pipes reach EOF when it exits (nothing it left behind
/// holds them).
fn run(mut cmd: Command) -> Out {
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn slate");
    let out_rx = drain(child.stdout.take());
    let err_rx = drain(child.stderr.take());
    let deadline = started + CLI_LIMIT;
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {CLI_LIMIT:?}");
        }
        thread::sleep(Duration::from_millis(10));
    };
    let remaining = deadline.saturating_duration_since(Instant::now()) + Duration::from_secs(1);
    let stdout = out_rx
        .recv_timeout(remaining)
        .expect("stdout reached EOF after exit");
    let stderr = err_rx
        .recv_timeout(Duration::from_secs(2))
        .expect("stderr reached EOF after exit");
    Out {
        code: status.code(),
        stdout,
        stderr,
        elapsed: started.elapsed(),
    }
}

/// `slate demo-service ARGS...`, isolated from the user's state and from
/// any owner the test runner's environment might name.
fn slate(home: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.env("SLATE_HOME", home)
        .env_remove("SLATE_DEMO_OWNER")
        .arg("demo-service")
        .args(args);
    c
}

/// One raw HTTP/1.1 exchange: (status, content-type, body).
fn http(port: u16, method: &str, path: &str) -> Option<(u16, String, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(3))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let ctype = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    Some((status, ctype, body.to_string()))
}

fn get(port: u16, path: &str) -> (u16, String, String) {
    http(port, "GET", path).unwrap_or_else(|| panic!("GET {path} on port {port} failed"))
}

/// A sample's value from exposition text, e.g. `demo_requests_total{status="200"}`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// (200s, 500s) from `/metrics`.
fn counters(port: u16) -> (f64, f64) {
    let (_, _, body) = get(port, "/metrics");
    let ok = sample(&body, "demo_requests_total{status=\"200\"}").expect("200 counter");
    let err = sample(&body, "demo_requests_total{status=\"500\"}").expect("500 counter");
    (ok, err)
}

/// The instance's `/version` as JSON.
fn version(port: u16) -> serde_json::Value {
    serde_json::from_str(&get(port, "/version").2).expect("/version is JSON")
}

/// Waits until the instance's traffic generator has finished `n` more
/// ticks; a tick counts once its requests are recorded.
fn wait_ticks(port: u16, n: u64) {
    let ticks = || {
        version(port)["traffic_ticks"]
            .as_u64()
            .expect("traffic_ticks")
    };
    let start = ticks();
    assert!(
        wait_until(Duration::from_secs(10), || ticks() >= start + n),
        "the traffic generator stopped ticking"
    );
}

/// Waits until the instance has been up `secs` by its own clock.
fn wait_uptime(port: u16, secs: f64) {
    assert!(
        wait_until(Duration::from_secs(10), || {
            version(port)["uptime_seconds"]
                .as_f64()
                .expect("uptime_seconds")
                >= secs
        }),
        "the instance's clock did not reach {secs} s"
    );
}

/// The session a process belongs to (`/proc/PID/stat` field 6).
fn session(pid: i32) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    after
        .split_whitespace()
        .nth(3)
        .expect("session")
        .parse()
        .expect("a number")
}

/// Signals sent to `pid` and not yet handled (`SigPnd` and `ShdPnd`).
fn pending_signals(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("status")
        .lines()
        .filter_map(|l| {
            l.strip_prefix("SigPnd:")
                .or_else(|| l.strip_prefix("ShdPnd:"))
        })
        .map(|hex| u64::from_str_radix(hex.trim(), 16).expect("a mask"))
        .fold(0, |a, b| a | b)
}

/// A foreground `serve` this test owns; SIGTERMed (then killed) on drop.
struct Serve {
    child: Child,
    port: u16,
    _home: tempfile::TempDir,
}

impl Serve {
    fn spawn(args: &[&str]) -> Serve {
        let home = tempfile::tempdir().expect("tempdir");
        let mut all = vec!["serve", "--port", "0"];
        all.extend_from_slice(args);
        let mut child = slate(home.path(), &all)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            for _ in lines {}
        });
        let mut serve = Serve {
            child,
            port: 0,
            _home: home,
        };
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("serve announced its address");
        serve.port = line
            .strip_prefix("listening on 127.0.0.1:")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        serve
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// SIGTERM and wait (bounded); None if it had to be killed.
    fn terminate(&mut self) -> Option<ExitStatus> {
        if let Ok(Some(s)) = self.child.try_wait() {
            return Some(s);
        }
        let _ = kill(Pid::from_raw(self.pid()), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// A fleet dir in a tempdir; on drop, `stop --all` and then SIGKILL for any
/// instance this test saw that is somehow still alive.
struct Fleet {
    home: tempfile::TempDir,
    dir: PathBuf,
    seen: Vec<i32>,
}

impl Fleet {
    fn new() -> Fleet {
        let home = tempfile::tempdir().expect("tempdir");
        let dir = home.path().join("fleet");
        Fleet {
            home,
            dir,
            seen: Vec::new(),
        }
    }

    fn dir(&self) -> &str {
        self.dir.to_str().expect("utf-8 tempdir")
    }

    fn cli(&self, args: &[&str]) -> Out {
        run(slate(self.home.path(), args))
    }

    /// `start`, asserting success; returns (pid, port).
    fn start(&mut self, name: &str, version: &str, port: u16, extra: &[&str]) -> (i32, u16) {
        let port_s = port.to_string();
        let mut args = vec![
            "start",
            "--name",
            name,
            "--dir",
            self.dir(),
            "--version",
            version,
            "--port",
            &port_s,
        ]
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.cli(&refs);
        assert_eq!(out.code, Some(0), "start failed: {}", out.stderr);
        let (pid, port) = parse_started(&out.stdout, name, version);
        self.seen.push(pid);
        (pid, port)
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = run(slate(
            self.home.path(),
            &["stop", "--all", "--dir", self.dir()],
        ));
        for &pid in &self.seen {
            if alive(pid) && is_demo_service(pid) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
    }
}

/// Parses `started NAME V on 127.0.0.1:P (pid N)` into (pid, port).
fn parse_started(stdout: &str, name: &str, version: &str) -> (i32, u16) {
    let line = stdout.trim();
    let rest = line
        .strip_prefix(&format!("started {name} {version} on 127.0.0.1:"))
        .unwrap_or_else(|| panic!("unexpected start output {line:?}"));
    let (port, pid) = rest
        .split_once(" (pid ")
        .unwrap_or_else(|| panic!("no pid in {line:?}"));
    let pid = pid.trim_end_matches(')').parse().expect("pid");
    (pid, port.parse().expect("port"))
}

/// A `sleep` that a test owns and always reaps.
struct Sleeper(Child);

impl Sleeper {
    fn spawn() -> Sleeper {
        Sleeper(
            Command::new("sleep")
                .arg("30")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn sleep"),
        )
    }
    /// A `sleep` with every signal blocked (the mask survives exec): a
    /// signal sent to it stays pending, where a test can see it, instead of
    /// ending it at some later moment.
    fn deaf() -> Sleeper {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new("sleep");
        cmd.arg("30")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: between fork and exec only sigprocmask runs, which is
        // async-signal-safe and touches no memory of ours.
        unsafe {
            cmd.pre_exec(|| {
                nix::sys::signal::SigSet::all()
                    .thread_block()
                    .map_err(Into::into)
            });
        }
        Sleeper(cmd.spawn().expect("spawn sleep"))
    }

    fn pid(&self) -> i32 {
        self.0.id() as i32
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// ---------------------------------------------------------------- tests

#[test]
fn bad_build_is_detected_from_the_version() {
    use slate::demo_service::is_bad_build;
    assert!(is_bad_build("2.5.0-bad.1"));
    assert!(is_bad_build("2.5.0-BAD"));
    assert!(!is_bad_build("2.5.0"));
    assert!(!is_bad_build("2.5.0-rc.1"));
}

#[test]
fn serve_answers_healthz_version_and_metrics() {
    let mut s = Serve::spawn(&["--version", "1.4.2", "--name", "web", "--weight", "40"]);

    let (status, _, body) = get(s.port, "/healthz");
    assert_eq!((status, body.trim()), (200, "ok"));

    let (status, ctype, body) = get(s.port, "/version");
    assert_eq!(status, 200);
    assert!(ctype.starts_with("application/json"), "{ctype}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["name"], "web");
    assert_eq!(v["version"], "1.4.2");
    assert_eq!(v["weight"], 40);
    assert!(v["uptime_seconds"].as_f64().expect("uptime") >= 0.0);

    // Synthetic traffic shows up within a few ticks.
    assert!(
        wait_until(Duration::from_secs(5), || counters(s.port).0 > 0.0),
        "no synthetic requests counted"
    );
    let (status, ctype, text) = get(s.port, "/metrics");
    assert_eq!(status, 200);
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    for line in [
        "# TYPE demo_requests_total counter",
        "# TYPE demo_request_duration_seconds histogram",
        "# TYPE demo_traffic_weight gauge",
        "# TYPE demo_build_info gauge",
        "# HELP demo_requests_total",
        "demo_traffic_weight 40",
        "demo_build_info{version=\"1.4.2\"} 1",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(sample(&text, "demo_requests_total{status=\"500\"}").is_some());
    let mut last = 0.0;
    for le in [
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf",
    ] {
        let series = format!("demo_request_duration_seconds_bucket{{le=\"{le}\"}}");
        let v = sample(&text, &series).unwrap_or_else(|| panic!("missing {series}"));
        assert!(v >= last, "buckets must be cumulative");
        last = v;
    }
    let count = sample(&text, "demo_request_duration_seconds_count").expect("count");
    assert_eq!(last, count, "+Inf bucket equals _count");
    assert!(sample(&text, "demo_request_duration_seconds_sum").expect("sum") > 0.0);
    // Good-build latency sits between 30 and 60 ms.
    let b25 = sample(&text, "demo_request_duration_seconds_bucket{le=\"0.025\"}").unwrap();
    let b100 = sample(&text, "demo_request_duration_seconds_bucket{le=\"0.1\"}").unwrap();
    assert_eq!((b25, b100), (0.0, count));

    assert_eq!(get(s.port, "/nope").0, 404);
    assert_eq!(
        get(s.port, "/admin/weight?value=5").0,
        404,
        "GET is not allowed"
    );
    let bad = http(s.port, "POST", "/admin/weight?value=300").expect("post");
    assert_eq!(bad.0, 400);
    assert!(bad.2.contains("0..=100"), "{}", bad.2);
    assert_eq!(http(s.port, "POST", "/admin/weight").expect("post").0, 400);

    let status = s.terminate().expect("serve exits on SIGTERM");
    assert_eq!(status.code(), Some(0), "graceful exit");
}

#[test]
fn weight_zero_stops_traffic_and_restoring_it_resumes() {
    let s = Serve::spawn(&["--version", "1.0.0", "--rate", "1000"]);
    let home = tempfile::tempdir().expect("tempdir");
    let port = s.port.to_string();
    assert!(wait_until(Duration::from_secs(5), || counters(s.port).0 > 0.0));

    let out = run(slate(
        home.path(),
        &["weight", "--port", &port, "--value", "0"],
    ));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "demo weight 0");
    // A tick that read the old weight may still be recording; two ticks on,
    // none is. Then seven ticks at weight 0 record nothing.
    wait_ticks(s.port, 2);
    let before = counters(s.port);
    wait_ticks(s.port, 7);
    assert_eq!(counters(s.port), before, "weight 0 must stop traffic");
    let (_, _, text) = get(s.port, "/metrics");
    assert!(text.contains("demo_traffic_weight 0"));

    let out = run(slate(
        home.path(),
        &["weight", "--port", &port, "--value", "100"],
    ));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // 1000 req/s is 100 a tick: well over 100 more within a few ticks.
    let mut after = before;
    let resumed = wait_until(Duration::from_secs(10), || {
        after = counters(s.port);
        after.0 + after.1 > before.0 + before.1 + 100.0
    });
    assert!(resumed, "traffic must resume: {before:?} -> {after:?}");
}

#[test]
fn bad_build_degrades_while_good_build_stays_healthy() {
    let ramp = ["--rate", "1000", "--ramp-after", "0s", "--ramp-for", "1s"];
    let mut bad_args = vec!["--version", "2.5.0-bad.1"];
    bad_args.extend(ramp);
    let mut good_args = vec!["--version", "2.5.0"];
    good_args.extend(ramp);
    let bad = Serve::spawn(&bad_args);
    let good = Serve::spawn(&good_args);

    let ratio = |(ok, err): (f64, f64)| {
        if ok + err > 0.0 {
            err / (ok + err)
        } else {
            0.0
        }
    };
    let mut seen = 0.0;
    let degraded = wait_until(Duration::from_secs(8), || {
        seen = ratio(counters(bad.port));
        seen > 0.15
    });
    assert!(degraded, "bad build error ratio only reached {seen:.3}");

    let (ok, err) = counters(good.port);
    assert!(ok + err > 500.0, "good build served too little: {ok}+{err}");
    assert!(
        ratio((ok, err)) < 0.05,
        "good build error ratio {}",
        ratio((ok, err))
    );
}

#[test]
fn start_restart_and_stop_manage_a_detached_instance() {
    let mut fleet = Fleet::new();
    let port = free_port();
    let (pid1, p) = fleet.start("api", "1.0.0", port, &["--weight", "25"]);
    assert_eq!(p, port);
    assert!(alive(pid1));
    assert_eq!(get(port, "/healthz").0, 200);
    let pidfile = fleet.dir.join("api.pid");
    let pid_text = std::fs::read_to_string(&pidfile).expect("pidfile");
    assert_eq!(pid_text.trim(), pid1.to_string());
    let rec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fleet.dir.join("api.json")).expect("json"))
            .expect("record");
    assert_eq!(rec["version"], "1.0.0");
    assert_eq!(rec["port"], port);
    assert_eq!(rec["pid"], pid1);
    assert_eq!(rec["weight"], 25);

    // The instance keeps running after `start` returned: it leads a session
    // of its own, so nothing sent to the starter's session or group reaches it.
    assert_eq!(session(pid1), pid1, "the instance leads its own session");
    assert!(alive(pid1));
    assert_eq!(get(port, "/healthz").0, 200);

    // Steering by name updates the record too.
    let out = fleet.cli(&[
        "weight",
        "--name",
        "api",
        "--dir",
        fleet.dir(),
        "--value",
        "60",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "api weight 60");
    let v: serde_json::Value = serde_json::from_str(&get(port, "/version").2).expect("json");
    assert_eq!(v["weight"], 60);

    // Starting again restarts: a new process, the old one gone.
    let (pid2, _) = fleet.start("api", "1.1.0", port, &[]);
    assert_ne!(pid1, pid2);
    assert!(wait_until(Duration::from_secs(2), || !alive(pid1)));
    let v: serde_json::Value = serde_json::from_str(&get(port, "/version").2).expect("json");
    assert_eq!(v["version"], "1.1.0");

    let out = fleet.cli(&["stop", "--name", "api", "--dir", fleet.dir()]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("stopped api"), "{}", out.stdout);
    assert!(!alive(pid2));
    assert!(!pidfile.exists());
    assert!(!fleet.dir.join("api.json").exists());
    assert!(
        http(port, "GET", "/healthz").is_none(),
        "port still answers"
    );

    let out = fleet.cli(&["stop", "--name", "api", "--dir", fleet.dir()]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("not running"), "{}", out.stdout);
}

#[test]
fn stop_with_nothing_running_succeeds() {
    let fleet = Fleet::new();
    let out = fleet.cli(&["stop", "--all", "--dir", fleet.dir()]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("nothing running"), "{}", out.stdout);
    let out = fleet.cli(&["stop", "--name", "ghost", "--dir", fleet.dir()]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(slate::demo_service::stop_all(&fleet.dir), 0);
}

#[test]
fn stop_all_in_process_stops_every_instance() {
    let mut fleet = Fleet::new();
    let (a, _) = fleet.start("a", "1.0.0", 0, &[]);
    let (b, _) = fleet.start("b", "1.0.0", 0, &[]);
    assert_eq!(slate::demo_service::stop_all(&fleet.dir), 2);
    assert!(!alive(a) && !alive(b));
    assert!(!fleet.dir.join("a.pid").exists() && !fleet.dir.join("b.pid").exists());
}

#[test]
fn stale_pidfile_never_kills_a_stranger() {
    let mut fleet = Fleet::new();
    std::fs::create_dir_all(&fleet.dir).expect("fleet dir");
    let stranger = Sleeper::deaf();
    std::fs::write(fleet.dir.join("ghost.pid"), format!("{}\n", stranger.pid())).expect("pidfile");

    let out = fleet.cli(&["stop", "--name", "ghost", "--dir", fleet.dir()]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    std::fs::write(fleet.dir.join("ghost.pid"), format!("{}\n", stranger.pid())).expect("pidfile");
    let out = fleet.cli(&["stop", "--all", "--dir", fleet.dir()]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    std::fs::write(fleet.dir.join("ghost.pid"), format!("{}\n", stranger.pid())).expect("pidfile");
    // A restart over the stale pidfile leaves the stranger alone too.
    let (pid, _) = fleet.start("ghost", "1.0.0", 0, &[]);
    assert_ne!(pid, stranger.pid());

    // Every signal is blocked in the stranger, so one sent to it would still
    // be pending now that the commands that could have sent it have exited.
    assert!(alive(stranger.pid()), "the stranger was killed");
    assert_eq!(
        pending_signals(stranger.pid()),
        0,
        "the stranger was signalled"
    );
}

#[test]
fn owner_watchdog_ends_an_orphaned_instance() {
    let mut fleet = Fleet::new();
    let mut owner = Sleeper::spawn();
    let owner_pid = owner.pid().to_string();
    let (pid, port) = fleet.start("canary", "1.0.0", 0, &["--owner-pid", &owner_pid]);
    // Up long enough, by its own clock, for its watchdog (every 250 ms) to
    // have looked at the owner twice.
    wait_uptime(port, 0.6);
    assert!(alive(pid), "instance died while its owner lives");
    assert_eq!(get(port, "/healthz").0, 200);

    // Killed but not yet reaped: a zombie owner counts as gone.
    owner.0.kill().expect("kill owner");
    assert!(
        wait_until(Duration::from_secs(3), || !alive(pid)),
        "instance outlived its owner"
    );
    let _ = owner.0.wait();
}

#[test]
fn owner_from_the_environment_is_honoured() {
    let owner = Sleeper::spawn();
    let home = tempfile::tempdir().expect("tempdir");
    let mut cmd = slate(home.path(), &["serve", "--version", "1", "--port", "0"]);
    cmd.env("SLATE_DEMO_OWNER", owner.pid().to_string());
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("serve announced its address");
    let port: u16 = first
        .strip_prefix("listening on 127.0.0.1:")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
    // Up long enough, by its own clock, for its watchdog to have looked twice.
    wait_uptime(port, 0.6);
    let still_running = child.try_wait().expect("try_wait").is_none();
    drop(owner);
    let exited = wait_until(Duration::from_secs(3), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    if !exited {
        let _ = child.kill();
    }
    let status = child.wait().expect("wait");
    assert!(still_running, "serve exited while its owner lived");
    assert!(exited, "serve outlived its owner");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn start_from_a_piped_stage_releases_the_pipe() {
    let mut fleet = Fleet::new();
    let owner = Sleeper::spawn();
    let port = free_port().to_string();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(r#""$BIN" demo-service start --name stage --dir "$FLEET" --version 3.0.0 --port "$PORT""#)
        .env("BIN", BIN)
        .env("FLEET", fleet.dir())
        .env("PORT", &port)
        .env("SLATE_HOME", fleet.home.path())
        .env("SLATE_DEMO_OWNER", owner.pid().to_string());
    // `run` reads both pipes to EOF and fails if that takes too long.
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let (pid, _) = parse_started(&out.stdout, "stage", "3.0.0");
    fleet.seen.push(pid);
    assert!(
        out.elapsed < Duration::from_secs(6),
        "took {:?}",
        out.elapsed
    );
    assert!(alive(pid), "the instance must outlive the stage");
    // It is in a session of its own, away from the stage's process group.
    let sid = nix::unistd::getsid(Some(Pid::from_raw(pid))).expect("getsid");
    assert_eq!(sid.as_raw(), pid);
    // The owner named by the environment is handed on to the instance.
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).expect("cmdline");
    let want = format!("--owner-pid\0{}\0", owner.pid());
    assert!(
        String::from_utf8_lossy(&cmdline).contains(&want),
        "owner not passed on: {:?}",
        String::from_utf8_lossy(&cmdline)
    );
}

#[test]
fn bad_input_fails_with_one_clear_line() {
    let mut fleet = Fleet::new();
    let check = |out: Out, what: &str| {
        assert_ne!(out.code, Some(0), "{what} must fail");
        let lines: Vec<&str> = out.stderr.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 1, "{what}: {:?}", out.stderr);
        assert!(
            lines[0].starts_with("slate demo-service: "),
            "{what}: {}",
            lines[0]
        );
    };
    check(
        fleet.cli(&["serve", "--version", "1", "--port", "0", "--weight", "300"]),
        "serve --weight 300",
    );
    check(
        fleet.cli(&[
            "start",
            "--name",
            "x",
            "--dir",
            fleet.dir(),
            "--version",
            "1",
            "--port",
            "0",
            "--weight",
            "300",
        ]),
        "start --weight 300",
    );
    check(
        fleet.cli(&[
            "start",
            "--name",
            "../x",
            "--dir",
            fleet.dir(),
            "--version",
            "1",
            "--port",
            "0",
        ]),
        "start with a path as name",
    );
    let unused = free_port().to_string();
    check(
        fleet.cli(&["weight", "--port", &unused, "--value", "50"]),
        "weight on an unused port",
    );
    check(
        fleet.cli(&[
            "weight",
            "--name",
            "nobody",
            "--dir",
            fleet.dir(),
            "--value",
            "50",
        ]),
        "weight on an unknown name",
    );

    let mut cmd = slate(
        fleet.home.path(),
        &["serve", "--version", "1", "--port", "0"],
    );
    cmd.env("SLATE_DEMO_OWNER", "not-a-pid");
    check(run(cmd), "serve with a malformed SLATE_DEMO_OWNER");
    let dead = {
        let mut s = Sleeper::spawn();
        let _ = s.0.kill();
        let _ = s.0.wait();
        s.pid().to_string()
    };
    let out = fleet.cli(&[
        "start",
        "--name",
        "orphan",
        "--dir",
        fleet.dir(),
        "--version",
        "1",
        "--port",
        "0",
        "--owner-pid",
        &dead,
    ]);
    assert_ne!(
        out.code,
        Some(0),
        "an instance for a dead owner must not start"
    );
    assert!(out.stderr.contains("not running"), "{}", out.stderr);
    assert!(!fleet.dir.join("orphan.pid").exists());

    // A port already taken: start fails, says why, and leaves nothing behind.
    let (_, busy) = fleet.start("first", "1.0.0", 0, &[]);
    let busy = busy.to_string();
    let out = fleet.cli(&[
        "start",
        "--name",
        "second",
        "--dir",
        fleet.dir(),
        "--version",
        "1",
        "--port",
        &busy,
    ]);
    assert_ne!(out.code, Some(0));
    assert!(out.stderr.contains("cannot listen"), "{}", out.stderr);
    assert!(!fleet.dir.join("second.pid").exists());
}
