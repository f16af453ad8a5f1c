//! Where the team store is and how to reach it: `SLATE_STORE`, else
//! `[store] url` in the user's `config.toml`. Only `postgres://` URLs are
//! taken (libpq's URL form; its other settings pass through to the driver,
//! e.g. `connect_timeout`, `application_name`, `user`, `dbname`).
//!
//! The password is best not in the URL: `[store] password` names where it
//! lives (`env:NAME` or `file:PATH`, like a plan's `[secrets]`). A URL that
//! holds one anyway is only ever shown masked ([`TeamConfig::shown`]).
//!
//! TLS follows libpq's `sslmode`, decided here because the driver knows
//! only disable/prefer/require: `verify-full` (the default for any host
//! that is not loopback) verifies the server's certificate and name with
//! rustls, against `sslrootcert` when given, else the system's roots;
//! `disable` (the default on loopback and Unix sockets) sends plain text.
//! `require` and `verify-ca` are taken as `verify-full` — never weaker
//! than asked — and `prefer`/`allow`, which would fall back to plain text
//! silently, are refused.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The variable that names the team store, over `config.toml`.
pub const ENV: &str = "SLATE_STORE";

/// How long reaching the server may take when the URL does not say.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How the connection is protected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tls {
    Disable,
    /// Verify the chain and the host name; roots from this file, else the system's.
    VerifyFull {
        root_cert: Option<PathBuf>,
    },
}

/// A team store as configured.
#[derive(Debug, Clone)]
pub struct TeamConfig {
    /// The URL as written (it may hold a password: never shown as is).
    url: String,
    /// Where the password lives (`env:NAME`, `file:PATH`), if it is not in the URL.
    password: Option<String>,
    /// Where this configuration came from, for messages.
    pub source: String,
}

/// What the driver needs: its settings and the TLS mode.
pub struct Connect {
    pub config: tokio_postgres::Config,
    pub tls: Tls,
}

impl TeamConfig {
    pub fn new(url: &str, password: Option<String>, source: String) -> TeamConfig {
        TeamConfig {
            url: url.to_string(),
            password,
            source,
        }
    }

    /// The URL with its user info and credential parameters masked.
    pub fn shown(&self) -> String {
        crate::text::neutral::line(&crate::secrets::url::shown(&self.url)).into_owned()
    }

    /// A key that is the same for the same server and credentials (the
    /// process keeps one connection per key).
    pub fn key(&self) -> String {
        format!("{}\n{}", self.url, self.password.as_deref().unwrap_or(""))
    }

    /// The driver's settings; every problem named, no secret in it.
    pub fn connect(&self) -> Result<Connect, String> {
        let shown = self.shown();
        let Some(rest) = self
            .url
            .strip_prefix("postgres://")
            .or_else(|| self.url.strip_prefix("postgresql://"))
        else {
            return Err(format!(
                "the team store {shown} (from {}) is not a postgres:// URL",
                self.source
            ));
        };
        let (head, query) = match rest.split_once('?') {
            Some((h, q)) => (h, Some(q)),
            None => (rest, None),
        };
        let mut ssl_mode: Option<String> = None;
        let mut root_cert: Option<PathBuf> = None;
        let mut kept = Vec::new();
        for pair in query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_encoding::percent_decode_str(v)
                .decode_utf8()
                .map_err(|_| format!("the team store {shown}: `{k}` is not UTF-8"))?
                .into_owned();
            match k {
                "sslmode" => ssl_mode = Some(value),
                "sslrootcert" => root_cert = Some(PathBuf::from(value)),
                "sslcert" | "sslkey" | "sslpassword" | "sslcrl" | "passfile" => {
                    return Err(format!(
                        "the team store {shown}: `{k}` is not supported (client certificates and pass files are not read); \
                         name the password with [store] password = \"env:NAME\" or \"file:PATH\""
                    ));
                }
                _ => kept.push(pair),
            }
        }
        let driver_url = if kept.is_empty() {
            format!("postgresql://{head}")
        } else {
            format!("postgresql://{head}?{}", kept.join("&"))
        };
        let mut config = driver_url.parse::<tokio_postgres::Config>().map_err(|e| {
            format!(
                "the team store {shown} (from {}) is not a usable URL: {}",
                self.source,
                crate::text::neutral::line(&e.to_string())
            )
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("slate");
        }
        if config.get_dbname().is_none() {
            config.dbname("slate");
        }
        if config.get_user().is_none() {
            let me = nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|u| u.name);
            match me {
                Some(name) => config.user(name),
                None => {
                    return Err(format!(
                        "the team store {shown} names no user, and this process's user has no name"
                    ));
                }
            };
        }
        if let Some(reference) = &self.password {
            config.password(read_password(reference)?);
        }
        let local = config.get_hosts().iter().all(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => is_loopback(name.as_str()),
            tokio_postgres::config::Host::Unix(_) => true,
        });
        let tls = match ssl_mode.as_deref() {
            None if local => Tls::Disable,
            Some("disable") => Tls::Disable,
            None | Some("verify-full" | "verify-ca" | "require") => Tls::VerifyFull { root_cert },
            Some(other) => {
                return Err(format!(
                    "the team store {shown}: sslmode={} is not supported: use verify-full (or disable on a trusted network)",
                    crate::text::neutral::line(other)
                ));
            }
        };
        config.ssl_mode(match tls {
            Tls::Disable => tokio_postgres::config::SslMode::Disable,
            Tls::VerifyFull { .. } => tokio_postgres::config::SslMode::Require,
        });
        Ok(Connect { config, tls })
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The password a reference names. The reference is shown in messages
/// only once it is known to be one (a value written in its place is not).
fn read_password(reference: &str) -> Result<String, String> {
    let shown = crate::text::neutral::line(reference);
    if let Some(var) = reference.strip_prefix("env:") {
        return std::env::var(var)
            .map_err(|_| format!("the team store's password ([store] password = \"{shown}\"): the variable is not set (or not UTF-8)"));
    }
    if let Some(path) = reference.strip_prefix("file:") {
        let text = crate::userfile::read_text(Path::new(path), 64 * 1024).map_err(|e| {
            format!("the team store's password ([store] password = \"{shown}\"): cannot read {path}: {e}")
        })?;
        return Ok(text.trim_end_matches(['\n', '\r']).to_string());
    }
    Err("the team store's [store] password is not a reference: write \"env:NAME\" or \"file:PATH\" \
         (never the password itself)"
        .into())
}

/// The `[store]` table of `config.toml`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreTable {
    url: Option<String>,
    password: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct File {
    store: Option<StoreTable>,
}

/// The team store this process is configured for, if any: `SLATE_STORE`
/// (non-empty), else `[store] url` in `<config_dir>/config.toml`.
pub fn configured(config_dir: &Path) -> Result<Option<TeamConfig>, String> {
    let path = config_dir.join("config.toml");
    let table = if path.exists() {
        let text = crate::userfile::read_text(&path, crate::userfile::CONFIG_CAP)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        from_toml(&text, &path.display().to_string())?
    } else {
        None
    };
    let password = table.as_ref().and_then(|t| t.password.clone());
    if let Some(url) = std::env::var(ENV).ok().filter(|v| !v.is_empty()) {
        return Ok(Some(TeamConfig::new(&url, password, format!("${ENV}"))));
    }
    Ok(table
        .and_then(|t| t.url)
        .map(|url| TeamConfig::new(&url, password, format!("[store] url in {}", path.display()))))
}

/// `[store]` of a config file's text; its problems as `FILE:LINE:COL: message`.
fn from_toml(text: &str, file: &str) -> Result<Option<StoreTable>, String> {
    match toml::from_str::<File>(text) {
        Ok(f) => Ok(f.store),
        Err(e) => {
            let at = e
                .span()
                .map(|s| {
                    let before = &text[..s.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let col = before
                        .rfind('\n')
                        .map_or(before.len(), |i| before.len() - i - 1)
                        + 1;
                    format!("{line}:{col}")
                })
                .unwrap_or_else(|| "1:1".into());
            Err(format!(
                "{file}:{at}: {}",
                crate::text::neutral::line(e.message().trim())
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect(url: &str) -> Result<Connect, String> {
        TeamConfig::new(url, None, "test".into()).connect()
    }

    #[test]
    fn loopback_defaults_to_plain_and_elsewhere_to_verified_tls() {
        assert_eq!(
            connect("postgres://u@127.0.0.1:5432/db").unwrap().tls,
            Tls::Disable
        );
        assert_eq!(
            connect("postgres://u@localhost/db").unwrap().tls,
            Tls::Disable
        );
        assert_eq!(
            connect("postgres://u@db.example.com/db").unwrap().tls,
            Tls::VerifyFull { root_cert: None }
        );
        assert_eq!(
            connect("postgres://u@db.example.com/db?sslmode=verify-full&sslrootcert=%2Fca.pem")
                .unwrap()
                .tls,
            Tls::VerifyFull {
                root_cert: Some(PathBuf::from("/ca.pem"))
            }
        );
        // Never weaker than asked.
        assert_eq!(
            connect("postgres://u@127.0.0.1/db?sslmode=require")
                .unwrap()
                .tls,
            Tls::VerifyFull { root_cert: None }
        );
        let e = connect("postgres://u:hunter22@db.example.com/db?sslmode=prefer")
            .err()
            .unwrap();
        assert!(e.contains("sslmode=prefer is not supported"), "{e}");
        assert!(!e.contains("hunter22"), "{e}");
    }

    #[test]
    fn a_password_in_the_url_is_never_shown() {
        let c = TeamConfig::new(
            "postgres://alice:s3cr3t-pw@db.example.com/team",
            None,
            "t".into(),
        );
        assert_eq!(c.shown(), "postgres://***@db.example.com/team");
        let e = TeamConfig::new("mysql://alice:s3cr3t-pw@db/team", None, "t".into())
            .connect()
            .err()
            .unwrap();
        assert!(
            !e.contains("s3cr3t-pw") && e.contains("not a postgres:// URL"),
            "{e}"
        );
        let e = connect("postgres://alice:s3cr3t-pw@db.example.com:notaport/team")
            .err()
            .unwrap();
        assert!(!e.contains("s3cr3t-pw"), "{e}");
    }

    #[test]
    fn the_password_is_a_reference_never_a_value() {
        let c = TeamConfig::new(
            "postgres://alice@127.0.0.1/team",
            Some("plain-password".into()),
            "t".into(),
        );
        let e = c.connect().err().unwrap();
        assert!(
            e.contains("not a reference") && !e.contains("plain-password"),
            "{e}"
        );
        let c = TeamConfig::new(
            "postgres://alice@127.0.0.1/team",
            Some("env:SLATE_TEST_SURELY_UNSET_PW".into()),
            "t".into(),
        );
        let e = c.connect().err().unwrap();
        assert!(
            e.contains("env:SLATE_TEST_SURELY_UNSET_PW\"): the variable is not set"),
            "{e}"
        );
    }

    #[test]
    fn store_table_problems_have_a_place() {
        let e = from_toml(
            "theme = \"x\"\n[store]\nurl = \"postgres://h/db\"\nuser = 3\n",
            "c.toml",
        )
        .err()
        .unwrap();
        assert!(e.starts_with("c.toml:4:1:"), "{e}");
        let ok = from_toml(
            "[store]\nurl = \"postgres://h/db\"\n[keys]\nquit = \"q\"\n",
            "c.toml",
        )
        .unwrap()
        .unwrap();
        assert_eq!(ok.url.as_deref(), Some("postgres://h/db"));
    }
}
