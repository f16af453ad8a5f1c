//! A test's private world for black-box runs of the real binary: its own
//! SLATE_HOME, a work directory for plans and ledgers, and a tag carried by
//! every process it starts, so whatever is left is killed when it drops.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub struct Sandbox {
    pub home: TempDir,
    pub dir: TempDir,
    pub tag: String,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Self {
        Self {
            home: TempDir::new().expect("tempdir"),
            dir: TempDir::new().expect("tempdir"),
            tag: super::unique(),
        }
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a plan into the work directory, `@DIR@` replaced by its path.
    pub fn plan(&self, name: &str, text: &str) -> PathBuf {
        let dir = self.dir.path().to_str().expect("utf-8 temp path");
        let path = self.path(name);
        std::fs::write(&path, text.replace("@DIR@", dir)).expect("write plan");
        path
    }

    /// The slate binary confined to this sandbox.
    pub fn slate(&self) -> Command {
        let mut cmd = Command::new(crate::slate_bin());
        cmd.env("SLATE_HOME", self.home())
            .env("SLATE_TEST_TAG", &self.tag)
            .env("LEDGER", self.path("ledger"))
            .env_remove("SLATE_LOG")
            // The test harness's own switch; commands would see it among their SLATE_* variables.
            .env_remove("SLATE_REQUIRE_POSTGRES")
            .env_remove("NO_COLOR")
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        cmd
    }

    /// Runs slate to its end (at most `limit`) and returns what it printed.
    pub fn run(&self, args: &[&str], limit: Duration) -> Output {
        let child = self
            .slate()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start slate");
        wait_output(child, limit, args)
    }

    /// The ledger lines stage commands appended.
    pub fn ledger(&self) -> Vec<String> {
        std::fs::read_to_string(self.path("ledger"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Polls until `cond` holds, for at most `limit`.
    pub fn wait_for(&self, what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + limit;
        while !cond() {
            assert!(
                Instant::now() < deadline,
                "gave up after {limit:?} waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        super::kill_tagged(&self.tag);
    }
}

/// Waits for a child with a deadline; kills it and fails the test past it.
/// Its stdout and stderr are read while it runs: a child that prints more
/// than a pipe holds would otherwise wait for a reader that never comes.
pub fn wait_output(mut child: Child, limit: Duration, what: &[&str]) -> Output {
    fn drain(
        pipe: Option<impl std::io::Read + Send + 'static>,
    ) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    }
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let deadline = Instant::now() + limit;
    let (status, late) = loop {
        match child.try_wait().expect("wait for slate") {
            Some(status) => break (status, false),
            None if Instant::now() > deadline => {
                let _ = child.kill();
                break (child.wait().expect("reap slate"), true);
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let output = Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    };
    if late {
        panic!(
            "slate {what:?} did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    output
}
