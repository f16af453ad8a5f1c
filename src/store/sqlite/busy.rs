//! The store's busy handler: how a writer waits for another's
//! transaction (see `pause`).

use std::time::Duration;

use super::BUSY;

/// How long a writer waits before its `n`th look (0-based) at a store
/// another connection is writing. SQLite's own busy timeout sleeps 1 ms
/// first, then 2, 5, 10 … ms: a run's first lock slept a whole 1 ms
/// while the run's recorder indexed its start (one short transaction,
/// about a millisecond with its fsyncs). Short looks first, for the common case of
/// another transaction here ending within a millisecond or two, then
/// longer ones, so a long wait costs few wake-ups.
fn pause(n: u32) -> Duration {
    match n {
        0..16 => Duration::from_micros(125),
        16..24 => Duration::from_millis(1),
        _ => Duration::from_millis(10),
    }
}

/// The store's busy handler: waits [`pause`] and looks again, until
/// the pauses add up to [`BUSY`]; then the writer is told (SQLITE_BUSY).
pub(super) fn wait(n: i32) -> bool {
    #[cfg(test)]
    LOOKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let n = u32::try_from(n).unwrap_or(0);
    if waited(n) >= BUSY {
        return false;
    }
    std::thread::sleep(pause(n));
    true
}

/// How many times a busy handler has looked, for a test to see one wait.
#[cfg(test)]
pub(super) static LOOKS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// The pauses before the `n`th look, added up.
fn waited(n: u32) -> Duration {
    let short = n.min(16);
    let medium = n.clamp(16, 24) - 16;
    let long = n.saturating_sub(24);
    pause(0) * short + pause(16) * medium + pause(24) * long
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer meeting another's transaction looks again within a fraction
    /// of a millisecond at first (SQLite's own timeout sleeps 1 ms, then 2,
    /// then 5), still gives up after [`BUSY`], and a long wait is not a
    /// busy loop.
    #[test]
    fn a_busy_store_is_looked_at_soon_and_given_up_on_after_busy() {
        assert!(pause(0) <= Duration::from_micros(200));
        assert_eq!(waited(0), Duration::ZERO);
        assert_eq!(waited(16), Duration::from_millis(2));
        assert_eq!(waited(24), Duration::from_millis(10));
        // The sum is the sum of the pauses, at every look.
        for n in 0..2000 {
            assert_eq!(waited(n + 1), waited(n) + pause(n), "look {n}");
        }
        let looks = (0..).find(|&n| waited(n) >= BUSY).unwrap();
        assert!(waited(looks) < BUSY + pause(looks), "{looks}");
        assert!(looks < 1100, "{looks} wake-ups before giving up");
        assert!(!wait(looks as i32));
    }
}
