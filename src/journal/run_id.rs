//! Run ids that sort by start time: `20261122-172458.123-3f9a`.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn new_run_id() -> String {
    let now = jiff::Timestamp::now();
    let stamp = now.strftime("%Y%m%d-%H%M%S.%3f");
    // A short suffix keeps ids distinct when two runs start in the same millisecond.
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mix = (nanos ^ std::process::id().rotate_left(16)).wrapping_mul(2_654_435_761);
    format!("{stamp}-{:04x}", mix >> 16 & 0xffff)
}
