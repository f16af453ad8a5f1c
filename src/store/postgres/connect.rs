//! The team store's connections: one per process (cached, made again when
//! the server closed it), each driven by a private current-thread runtime
//! on the calling thread, every call bounded in time; TLS through rustls
//! on the ring provider; driver errors as one line in the server's words.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_postgres::Client;

use super::config::{self, TeamConfig};
use super::{PgError, StoreError};

/// A connection's private runtime, which may be dropped anywhere: dropping
/// a runtime waits for its tasks, which tokio forbids inside another
/// runtime (the engine host, when a connection fails or is replaced), so
/// this one is let go in the background.
pub(super) struct Rt(Option<tokio::runtime::Runtime>);

impl Drop for Rt {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl std::ops::Deref for Rt {
    type Target = tokio::runtime::Runtime;
    fn deref(&self) -> &tokio::runtime::Runtime {
        // Only `drop` takes it out.
        self.0
            .as_ref()
            .expect("a connection's runtime lives as long as the connection")
    }
}

pub(super) struct Conn {
    pub(super) rt: Rt,
    pub(super) client: Client,
}

/// The process's connection, by configuration: the recorder opens the
/// store for every write, and a connection (with TLS) costs round trips.
pub(super) static CACHE: Mutex<Option<(String, Arc<Mutex<Conn>>)>> = Mutex::new(None);

/// Runs `f` on `rt`, bounded by `limit` (None: it did not finish in time).
pub(super) fn drive<T, F>(rt: &tokio::runtime::Runtime, limit: Duration, f: F) -> Option<T>
where
    T: Send,
    F: AsyncFnOnce() -> T + Send,
{
    let run = move || rt.block_on(async { tokio::time::timeout(limit, f()).await.ok() });
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|s| s.spawn(run).join()).unwrap_or_else(|p| std::panic::resume_unwind(p))
    } else {
        run()
    }
}

/// One call on a connection of its own (connected, used, dropped), bounded
/// by `limit`; `f`'s error, or why the server could not be asked.
pub(super) fn once<T: Send>(
    team: &TeamConfig,
    limit: Duration,
    f: impl AsyncFnOnce(&mut Client) -> Result<T, String> + Send,
) -> Result<T, String> {
    let Conn { rt, mut client } = connect(team).map_err(|e| e.to_string())?;
    drive(&rt, limit, async move || f(&mut client).await)
        .unwrap_or_else(|| Err("the team store did not answer".into()))
}

pub(super) fn connect(team: &TeamConfig) -> Result<Conn, StoreError> {
    let shown = team.shown();
    let c = team.connect().map_err(StoreError::Other)?;
    let limit = c
        .config
        .get_connect_timeout()
        .copied()
        .unwrap_or(config::CONNECT_TIMEOUT)
        .saturating_mul(2);
    let tls = match &c.tls {
        config::Tls::Disable => None,
        config::Tls::VerifyFull { root_cert } => Some(
            rustls_config(root_cert.as_deref())
                .map_err(|e| StoreError::Other(format!("the team store {shown}: {e}")))?,
        ),
    };
    let rt = Rt(Some(
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                StoreError::Other(format!("cannot start the team store's runtime: {e}"))
            })?,
    ));
    let config = c.config;
    let connected = drive(&rt, limit, async move || match tls {
        None => config
            .connect(tokio_postgres::NoTls)
            .await
            .map(|(client, conn)| {
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "team store connection ended");
                    }
                });
                client
            }),
        Some(tls) => config
            .connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
            .await
            .map(|(client, conn)| {
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "team store connection ended");
                    }
                });
                client
            }),
    });
    match connected {
        Some(Ok(client)) => Ok(Conn { rt, client }),
        Some(Err(e)) => Err(StoreError::Other(format!(
            "cannot reach the team store {shown} (from {}): {}",
            team.source,
            describe(&e)
        ))),
        None => Err(StoreError::Other(format!(
            "cannot reach the team store {shown} (from {}): no answer within {}s",
            team.source,
            limit.as_secs()
        ))),
    }
}

/// rustls with the system's roots, or only those of `root_cert`.
pub(super) fn rustls_config(root_cert: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    crate::net::install_tls();
    match root_cert {
        Some(path) => {
            use rustls_pki_types::CertificateDer;
            use rustls_pki_types::pem::PemObject;
            let mut roots = rustls::RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read sslrootcert {}: {e}", path.display()))?;
            for cert in certs {
                let cert = cert.map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            }
            if roots.is_empty() {
                return Err(format!(
                    "sslrootcert {} holds no certificate",
                    path.display()
                ));
            }
            Ok(rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth())
        }
        None => {
            use rustls_platform_verifier::ConfigVerifierExt;
            rustls::ClientConfig::with_platform_verifier()
                .map_err(|e| format!("cannot load the system's certificate roots: {e}"))
        }
    }
}

/// A driver error as one line, the server's own words when it has them.
pub(super) fn describe(e: &PgError) -> String {
    let text = match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => {
            let mut s = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(inner) = source {
                s.push_str(": ");
                s.push_str(&inner.to_string());
                source = inner.source();
            }
            s
        }
    };
    crate::text::neutral::line(&text).into_owned()
}

/// The process's connection for `team`, made when there is none or the
/// last one closed.
pub(super) fn cached(team: &TeamConfig) -> Result<Arc<Mutex<Conn>>, StoreError> {
    let key = team.key();
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((k, conn)) = cache.as_ref()
        && *k == key
        && !conn
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .client
            .is_closed()
    {
        return Ok(conn.clone());
    }
    let conn = Arc::new(Mutex::new(connect(team)?));
    *cache = Some((key, conn.clone()));
    Ok(conn)
}
