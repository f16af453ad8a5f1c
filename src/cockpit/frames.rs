//! How often the cockpit may draw: at most [`PER_SECOND`] frames a second on
//! average, and a few at once after a quiet spell.
//!
//! A flood of records must not become a flood of frames, so frames are
//! capped. A plain gap between frames, though, also delays the second of two
//! changes that arrive a few milliseconds apart — the run's start and its
//! first gate, an approval and the step it lets go — by the whole gap: the
//! screen then settles 33 ms after it could have. A token bucket keeps the
//! cap for floods (it is empty there, and refills at the same rate) while a
//! change after a quiet spell is drawn at once.

use std::time::Duration;

use tokio::time::Instant;

/// The average cap, frames a second.
pub const PER_SECOND: u32 = 30;
/// Frames that may be drawn back to back after a quiet spell: a run's
/// start journals half a dozen records in as many milliseconds, each read
/// and drawn as it lands (three left the last of them 33 ms late, measured
/// with `bench/whole.py --only 2`).
const BURST: f64 = 8.0;

#[derive(Debug, Clone)]
pub struct Frames {
    tokens: f64,
    at: Instant,
}

impl Frames {
    /// A full bucket: the first frames are drawn at once.
    pub fn new(now: Instant) -> Frames {
        Frames {
            tokens: BURST,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let gained = now.saturating_duration_since(self.at).as_secs_f64() * f64::from(PER_SECOND);
        self.tokens = (self.tokens + gained).min(BURST);
        self.at = now;
    }

    /// When a frame may be drawn: `now` if one may be drawn now.
    pub fn next_at(&self, now: Instant) -> Instant {
        let mut b = self.clone();
        b.refill(now);
        if b.tokens >= 1.0 {
            return now;
        }
        now + Duration::from_secs_f64((1.0 - b.tokens) / f64::from(PER_SECOND))
    }

    /// Records a frame drawn at `now`. A frame the cap did not allow (a key
    /// is answered at once) still counts, so keys during a flood do not
    /// add frames on top of the cap's.
    pub fn drawn(&mut self, now: Instant) {
        self.refill(now);
        self.tokens = (self.tokens - 1.0).max(-BURST);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn changes_after_a_quiet_spell_are_drawn_at_once() {
        let t0 = Instant::now();
        let mut f = Frames::new(t0);
        // The run's start, then its first gate 5 ms later: both at once.
        assert_eq!(f.next_at(t0), t0);
        f.drawn(t0);
        assert_eq!(f.next_at(t0 + ms(5)), t0 + ms(5));
        f.drawn(t0 + ms(5));
        // After a quiet second the bucket is full again.
        let later = t0 + ms(1005);
        for _ in 0..BURST as u32 {
            assert_eq!(f.next_at(later), later);
            f.drawn(later);
        }
        assert!(
            f.next_at(later) > later,
            "one more at once is over the burst"
        );
    }

    #[test]
    fn a_flood_is_held_to_the_average_rate() {
        let t0 = Instant::now();
        let mut f = Frames::new(t0);
        // Draw whenever allowed for ten seconds of records arriving every ms.
        let mut drawn = 0u32;
        let mut now = t0;
        let end = t0 + Duration::from_secs(10);
        while now < end {
            if f.next_at(now) <= now {
                f.drawn(now);
                drawn += 1;
            }
            now += ms(1);
        }
        let cap = 10 * PER_SECOND + BURST as u32;
        assert!(drawn <= cap, "{drawn} frames in 10 s, cap {cap}");
        assert!(drawn >= 10 * PER_SECOND - 2, "{drawn} frames in 10 s");
    }

    #[test]
    fn frames_drawn_for_keys_count_against_the_cap() {
        let t0 = Instant::now();
        let mut f = Frames::new(t0);
        for _ in 0..20 {
            f.drawn(t0);
        }
        // In debt: the next frame the cap allows is some way off, bounded
        // by the burst's worth of frames at the average rate (0.3 s).
        let next = f.next_at(t0);
        assert!(
            next > t0 + ms(250) && next <= t0 + ms(310),
            "{:?}",
            next - t0
        );
    }
}
