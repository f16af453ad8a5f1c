//! How long to wait before trying a failed step again (forward or undo).

use std::time::Duration;

/// Longest wait between retries, however many there are.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Exponential backoff: base, 2×base, 4×base… capped.
pub(super) fn backoff(base: Duration, attempt: u32) -> Duration {
    base.saturating_mul(1 << (attempt - 1).min(16))
        .min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let b = Duration::from_secs(1);
        assert_eq!(backoff(b, 1), b);
        assert_eq!(backoff(b, 3), Duration::from_secs(4));
        assert_eq!(backoff(b, 30), MAX_BACKOFF);
    }
}
