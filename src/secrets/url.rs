//! A URL as it may be shown: in a message, a record, the dossier, a screen.
//!
//! Check and metric URLs are written by people, and people put credentials
//! in them (`https://user:pass@host/…`, `?token=…`). Every place that shows
//! one goes through [`shown`], which masks the user info and the values of
//! query (and fragment) parameters whose names say they are credentials.
//! A part that refers to a secret (`${secret.NAME}`) is kept as written: it
//! names a secret, it is not one.
//!
//! It works on the text as written, not through a URL parser, so placeholders
//! survive and a URL too broken to parse is masked all the same.

/// What stands for a masked part.
pub const MASK: &str = "***";

/// The URL with its user info and credential-like parameter values masked.
/// Masking is idempotent: a shown URL shows as itself.
pub fn shown(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let mut out = String::with_capacity(url.len());
    out.push_str(scheme);
    match authority.rfind('@') {
        Some(at) => {
            out.push_str(&mask_value(&authority[..at]));
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let (before_fragment, fragment) = match tail.find('#') {
        Some(i) => (&tail[..i], Some(&tail[i + 1..])),
        None => (tail, None),
    };
    match before_fragment.find('?') {
        Some(q) => {
            out.push_str(&before_fragment[..=q]);
            out.push_str(&mask_params(&before_fragment[q + 1..]));
        }
        None => out.push_str(before_fragment),
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(&mask_params(f));
    }
    out
}

/// A webhook URL as it may be journaled: scheme and host only. Hooks carry
/// their token anywhere (Slack's is the path), so all of it but the host is
/// masked.
pub fn shown_webhook(url: &str) -> String {
    let Some(i) = url.find("://") else {
        return MASK.to_string();
    };
    let rest = &url[i + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host = authority
        .rfind('@')
        .map_or(authority, |at| &authority[at + 1..]);
    let mut out = format!("{}{host}", &url[..i + 3]);
    if authority.contains('@') || authority_end < rest.len() {
        out.push('/');
        out.push_str(MASK);
    }
    out
}

/// Whether a query parameter's name says its value is a credential.
pub fn is_credential_name(name: &str) -> bool {
    let n: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    const EXACT: &[&str] = &["key", "sig", "pwd", "pass"];
    const WITHIN: &[&str] = &[
        "token",
        "secret",
        "passw",
        "auth",
        "credential",
        "apikey",
        "accesskey",
        "session",
        "signature",
        "cookie",
    ];
    EXACT.contains(&n.as_str()) || WITHIN.iter().any(|w| n.contains(w))
}

/// `a=1&token=x` with the credential values masked.
fn mask_params(params: &str) -> String {
    params
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, v)) if is_credential_name(k) && !v.is_empty() => {
                format!("{k}={}", mask_value(v))
            }
            _ => p.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A credential masked, whole, so nothing of it is guessable from its
/// length. A value that refers to a secret (`${secret.NAME}`) is a name, not
/// a credential, and shows as written.
pub fn mask_value(value: &str) -> String {
    if value.contains("${secret.") {
        value.to_string()
    } else {
        MASK.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_and_credential_parameters_are_masked() {
        assert_eq!(
            shown("https://deploy:hunter2@api.internal:8443/healthz?env=prod&token=abc123#x"),
            "https://***@api.internal:8443/healthz?env=prod&token=***#x"
        );
        assert_eq!(
            shown("http://h/x?access_token=a&API-Key=b&sig=c&limit=5"),
            "http://h/x?access_token=***&API-Key=***&sig=***&limit=5"
        );
        assert_eq!(
            shown("https://h/cb#access_token=tok&state=1"),
            "https://h/cb#access_token=***&state=1"
        );
        // Nothing to mask: unchanged, placeholders included.
        for plain in [
            "http://127.0.0.1:${config.port}/version",
            "https://prometheus.internal:9090",
            "not a url at all",
            "http://h/x?token=",
        ] {
            assert_eq!(shown(plain), plain);
        }
    }

    #[test]
    fn secret_references_are_names_not_values_and_stay() {
        assert_eq!(
            shown("https://${secret.USER}:${secret.PASS}@h/x?token=${secret.T}"),
            "https://${secret.USER}:${secret.PASS}@h/x?token=${secret.T}"
        );
        assert_eq!(
            shown("https://deploy:${secret.PASS}@h/?key=k-${secret.K}&token=t0k"),
            "https://deploy:${secret.PASS}@h/?key=k-${secret.K}&token=***"
        );
    }

    #[test]
    fn masking_is_idempotent() {
        for url in [
            "https://u:p@h/x?token=t",
            "https://deploy:${secret.P}@h",
            "http://h/x?password=p#sig=s",
        ] {
            let once = shown(url);
            assert_eq!(shown(&once), once, "{url}");
        }
        for url in [
            "http://127.0.0.1:9/hook?token=T",
            "https://h",
            "https://u@h",
        ] {
            let once = shown_webhook(url);
            assert_eq!(shown_webhook(&once), once, "{url}");
        }
    }

    #[test]
    fn a_webhook_shows_its_host_only() {
        assert_eq!(
            shown_webhook("https://hooks.slack.com/services/T000/B000/XXXX"),
            "https://hooks.slack.com/***"
        );
        assert_eq!(
            shown_webhook("http://user:pw@127.0.0.1:9/hook?token=T"),
            "http://127.0.0.1:9/***"
        );
        assert_eq!(
            shown_webhook("https://hooks.example"),
            "https://hooks.example"
        );
        assert_eq!(shown_webhook("garbage"), "***");
    }
}
