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

fn admin_url() -> String {
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
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
                .await
                .unwrap();
            let driver = tokio::spawn(conn);
            let row = client
                .query_opt(&format!("SELECT ({sql})::text"), &[])
                .await
                .unwrap();
            drop(client);
            let _ = driver.await;
            row.and_then(|r| r.get::<_, Option<String>>(0))
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
