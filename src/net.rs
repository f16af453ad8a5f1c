//! Where every HTTP client Slate builds (check probes, metric sources,
//! webhooks, the demo fleet) comes from, so HTTPS always has its crypto.

/// Makes rustls's `ring` provider the process's default, once.
///
/// reqwest is built without a provider of its own (`rustls-no-provider`: its
/// default, aws-lc-rs, compiles a large C library) and panics building a
/// client when none is installed. [`client_builder`] calls
/// this, so nothing else needs to; `main` may call it early too. A provider
/// someone installed before is kept.
pub fn install_tls() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A reqwest client builder with TLS ready. Building a client any other way
/// is refused by clippy (`clippy.toml`).
#[allow(clippy::disallowed_methods)]
pub fn client_builder() -> reqwest::ClientBuilder {
    install_tls();
    reqwest::Client::builder()
}
