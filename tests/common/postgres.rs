//! A real PostgreSQL for the team store's tests: the server on
//! 127.0.0.1:5432 (or `$SLATE_TEST_POSTGRES`, an admin URL), one database
//! per test, created with a unique name and dropped when the test ends.
//!
//! Without a server the tests skip — loudly, on stderr — unless
//! `SLATE_REQUIRE_POSTGRES=1` (set by `.ci/run`), where no server is a
//! failure: CI never passes by skipping.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const DEFAULT_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The server's admin URL (`$SLATE_TEST_POSTGRES`, else the local default);
/// the team store's bench creates its database there too.
pub fn admin_url() -> String {
    std::env::var("SLATE_TEST_POSTGRES")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_ADMIN.to_string())
}

/// Runs SQL on a database of the test server; Err when it cannot be reached.
pub fn sql_on(url: &str, sql: &str) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = url.to_string();
    let sql = sql.to_string();
    rt.block_on(async move {
        let connect = tokio_postgres::connect(&url, tokio_postgres::NoTls);
        let (client, conn) = tokio::time::timeout(Duration::from_secs(10), connect)
            .await
            .map_err(|_| "no answer within 10s".to_string())?
            .map_err(|e| e.to_string())?;
        let driver = tokio::spawn(conn);
        let done = client.batch_execute(&sql).await.map_err(|e| {
            e.as_db_error()
                .map(|d| d.message().to_string())
                .unwrap_or(e.to_string())
        });
        drop(client);
        let _ = driver.await;
        done
    })
}

/// A database of its own for one test.
pub struct TestDb {
    pub name: String,
    /// The URL Slate is given (`SLATE_STORE`).
    pub url: String,
    /// Roles made for this test (the server's, not the database's): dropped with it.
    roles: std::sync::Mutex<Vec<String>>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// A fresh, empty database; None (after saying so) when there is no
    /// server and CI did not require one.
    pub fn create(test: &str) -> Option<TestDb> {
        let admin = admin_url();
        let name = format!(
            "slate_t_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            fastrand::u32(..)
        );
        match sql_on(&admin, &format!("CREATE DATABASE {name}")) {
            Ok(()) => {}
            Err(e) => {
                if std::env::var("SLATE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                    panic!("no PostgreSQL at {admin} ({e}), and SLATE_REQUIRE_POSTGRES=1");
                }
                eprintln!(
                    "\n*** SKIPPED {test}: no PostgreSQL answers at {admin} ({e}); \
                     .ci/run installs and starts one ***\n"
                );
                return None;
            }
        }
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        Some(TestDb {
            url: format!("{base}/{name}"),
            name,
            roles: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Runs SQL in this database.
    /// `slate ARGS` in `sb` (a "machine") with this database as its team
    /// store, run to its end within a minute.
    pub fn slate(&self, sb: &super::sandbox::Sandbox, args: &[&str]) -> std::process::Output {
        let child = sb
            .slate()
            .env("SLATE_STORE", &self.url)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start slate");
        super::sandbox::wait_output(child, Duration::from_secs(60), args)
    }

    pub fn sql(&self, sql: &str) {
        sql_on(&self.url, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// One value of a query, as text.
    pub fn value(&self, sql: &str) -> Option<String> {
        self.on_client(async |client| {
            let row = client
                .query_opt(&format!("SELECT ({sql})::text"), &[])
                .await
                .unwrap();
            row.and_then(|r| r.get::<_, Option<String>>(0))
        })
    }

    /// `f` on a connection of its own to the test's database.
    fn on_client<T>(&self, f: impl AsyncFnOnce(&tokio_postgres::Client) -> T) -> T {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
                .await
                .unwrap();
            let driver = tokio::spawn(conn);
            let out = f(&client).await;
            drop(client);
            let _ = driver.await;
            out
        })
    }

    /// The server's plan for `query` (EXPLAIN's lines) with sequential
    /// scans ruled out: an index the query can use is then the one read.
    pub fn plan_without_seq_scan(&self, query: &str) -> String {
        self.on_client(async |client| {
            client
                .batch_execute("SET enable_seqscan = off")
                .await
                .unwrap();
            let rows = client
                .query(&format!("EXPLAIN {query}"), &[])
                .await
                .unwrap();
            rows.iter()
                .map(|r| r.get::<_, String>(0))
                .collect::<Vec<_>>()
                .join("\n")
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // FORCE: Slate processes (or this test's own store) may still be connected.
        let _ = sql_on(
            &admin_url(),
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
        for r in self.roles.lock().unwrap().iter() {
            let _ = sql_on(&admin_url(), &format!("DROP ROLE IF EXISTS {r}"));
        }
    }
}

impl TestDb {
    /// A role of the server for this test only (`<database>_<name>`, with
    /// `LOGIN` when `login`): its name, and the URL that connects as it.
    pub fn role(&self, name: &str, login: bool) -> (String, String) {
        let role = format!("{}_{name}", self.name);
        let login = if login { "LOGIN" } else { "NOLOGIN" };
        sql_on(&admin_url(), &format!("CREATE ROLE {role} {login}")).unwrap();
        self.roles.lock().unwrap().push(role.clone());
        let rest = self.url.split_once("://").unwrap().1;
        let host = rest.split_once('@').map_or(rest, |(_, h)| h);
        (role.clone(), format!("postgres://{role}@{host}"))
    }

    /// `slate run --headless PLAN` started in `sb` with the team store at
    /// `url`, left running (its output piped).
    pub fn start_run(
        &self,
        url: &str,
        sb: &super::sandbox::Sandbox,
        plan: &std::path::Path,
    ) -> std::process::Child {
        sb.slate()
            .env("SLATE_STORE", url)
            .args(["run", "--headless"])
            .arg(plan)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start the run")
    }

    /// `slate ARGS` in `sb`, connecting to the team store as `url` (a role's).
    pub fn slate_as(
        &self,
        url: &str,
        sb: &super::sandbox::Sandbox,
        args: &[&str],
    ) -> std::process::Output {
        let child = sb
            .slate()
            .env("SLATE_STORE", url)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start slate");
        super::sandbox::wait_output(child, Duration::from_secs(90), args)
    }
}

/// A PostgreSQL server of one test's own (`initdb` into a temporary
/// directory, on a free loopback port), which the test may stop and start
/// again: a real server going away, without touching the shared one.
/// Run as uid 65534 when the tests run as root (PostgreSQL refuses root).
pub struct PrivateServer {
    bin: std::path::PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl PrivateServer {
    /// A fresh cluster, started; None (after saying so) when this machine
    /// has no PostgreSQL server programs and CI did not require them.
    pub fn start(test: &str) -> Option<PrivateServer> {
        let Some(bin) = server_bin() else {
            if std::env::var("SLATE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!("no initdb/pg_ctl on this machine, and SLATE_REQUIRE_POSTGRES=1");
            }
            eprintln!("\n*** SKIPPED {test}: no PostgreSQL server programs (initdb, pg_ctl) ***\n");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = PrivateServer { bin, dir, port };
        if nix::unistd::geteuid().is_root() {
            let nobody = nix::unistd::Uid::from_raw(65534);
            std::os::unix::fs::chown(server.dir.path(), Some(nobody.as_raw()), None).unwrap();
        }
        let data = server.data();
        let o = server
            .command("initdb")
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "-D",
            ])
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        server.up();
        Some(server)
    }

    fn data(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, program: &str) -> std::process::Command {
        use std::os::unix::process::CommandExt;
        let mut c = std::process::Command::new(self.bin.join(program));
        if nix::unistd::geteuid().is_root() {
            c.uid(65534).gid(65534);
        }
        c.current_dir(self.dir.path())
            .env_remove("PGDATA")
            .stdin(std::process::Stdio::null());
        c
    }

    /// Starts the server (again) on its port and waits until it answers.
    pub fn up(&self) {
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off",
            self.port
        );
        let o = self
            .command("pg_ctl")
            .args(["-w", "-t", "60", "-o", &opts, "-l"])
            .arg(self.dir.path().join("log"))
            .arg("-D")
            .arg(self.data())
            .arg("start")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// Stops the server the way an operator does in a hurry: every client
    /// is cut off at once.
    pub fn stop_fast(&self) {
        let o = self
            .command("pg_ctl")
            .args(["-w", "-t", "60", "-m", "fast", "-D"])
            .arg(self.data())
            .arg("stop")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// The URL of its `postgres` database as its superuser.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args(["-m", "immediate", "-D"])
            .arg(self.data())
            .arg("stop")
            .output();
    }
}

/// Where `initdb` and `pg_ctl` are: Debian's newest
/// `/usr/lib/postgresql/<version>/bin` (the programs and their files
/// together), else `$PATH`.
fn server_bin() -> Option<std::path::PathBuf> {
    let mut versions: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .filter(|b| b.join("initdb").is_file() && b.join("pg_ctl").is_file())
                .collect()
        })
        .unwrap_or_default();
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    if let Some(b) = versions.pop() {
        return Some(b);
    }
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
}
