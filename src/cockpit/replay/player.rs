//! The replay player: a run's records, how far they have been played, and a
//! virtual clock. Pure: it is told how much real time passed and answers
//! which records are now due, so speed, idle compression and jumps are
//! testable without a terminal or a timer.

use std::borrow::Cow;
use std::ops::Range;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::tape::Tape;
use crate::engine::event::{Event, Record, StepStatus};

/// The speeds `+` and `-` step through.
pub const SPEEDS: [f64; 9] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];
pub const MIN_SPEED: f64 = SPEEDS[0];
pub const MAX_SPEED: f64 = SPEEDS[SPEEDS.len() - 1];

/// A quiet stretch between two records that would take longer than this in
/// real time (at the current speed) is cut to this length: its first and
/// last halves play, the middle is skipped. An hour at a gate takes 3 s.
pub const IDLE: Duration = Duration::from_secs(3);

/// An idle stretch that was cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skip {
    /// How much of the run's time was not played.
    pub skipped: SignedDuration,
    /// The virtual clock just after the cut.
    pub at: Timestamp,
}

/// How the state shown must change after the player moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    /// Apply these records on top of what is shown.
    Forward(Range<usize>),
    /// The position went back: rebuild from `records[..n]`.
    Rebuild(usize),
}

/// What the replay keys ask the player for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    TogglePause,
    Step,
    Faster,
    Slower,
    NextInterest,
    PrevInterest,
    Start,
    End,
}

impl Control {
    pub fn from_action(a: crate::cockpit::keymap::UiAction) -> Option<Control> {
        use crate::cockpit::keymap::UiAction as A;
        Some(match a {
            A::ReplayPause => Control::TogglePause,
            A::ReplayStep => Control::Step,
            A::ReplayFaster => Control::Faster,
            A::ReplaySlower => Control::Slower,
            A::ReplayNext => Control::NextInterest,
            A::ReplayPrev => Control::PrevInterest,
            A::ReplayStart => Control::Start,
            A::ReplayEnd => Control::End,
            _ => return None,
        })
    }
}

/// Where a reviewer wants to stop: gates, decisions, failures, the end.
pub fn is_interesting(e: &Event) -> bool {
    match e {
        Event::GateWaiting { .. }
        | Event::Approved { .. }
        | Event::Rejected { .. }
        | Event::GateFailed { .. }
        | Event::AnalysisFinished { .. }
        | Event::RollbackStarted { .. }
        | Event::RollbackBlocked { .. }
        | Event::RunFinished { .. }
        | Event::PauseRequested { .. } => true,
        Event::StepFinished { status, .. } | Event::RollbackStepFinished { status, .. } => {
            *status != StepStatus::Succeeded
        }
        _ => false,
    }
}

pub struct Player {
    tape: Tape,
    /// Records `..pos` have been played; never 0 (the run's start is always shown).
    pos: usize,
    clock: Timestamp,
    speed: f64,
    paused: bool,
    skip: Option<Skip>,
}

fn scaled(real: Duration, speed: f64) -> SignedDuration {
    SignedDuration::from_secs_f64(real.as_secs_f64() * speed)
}

impl Player {
    /// A player showing the first record, paused: the viewer starts it.
    pub fn new(records: Vec<Record>, speed: f64) -> Result<Player, String> {
        Player::on(Tape::from_records(records), speed)
    }

    /// A player over a tape (a journal read without holding its output).
    pub fn on(tape: Tape, speed: f64) -> Result<Player, String> {
        let first = tape
            .ts(0)
            .ok_or_else(|| "the journal holds no records".to_string())?;
        if tape.states().is_empty() {
            return Err("the journal holds no state records".to_string());
        }
        Ok(Player {
            tape,
            pos: 1,
            clock: first,
            speed: speed.clamp(MIN_SPEED, MAX_SPEED),
            paused: true,
            skip: None,
        })
    }

    pub fn tape(&self) -> &Tape {
        &self.tape
    }

    /// Every record, read back in full (tests and small runs; a viewer
    /// works from the tape).
    pub fn records(&self) -> Vec<Record> {
        self.read(0..self.tape.len())
    }

    /// The records played so far, read back in full.
    pub fn played(&self) -> Vec<Record> {
        self.read(0..self.pos)
    }

    fn read(&self, range: Range<usize>) -> Vec<Record> {
        range
            .filter_map(|i| self.tape.get(i).map(Cow::into_owned))
            .collect()
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn len(&self) -> usize {
        self.tape.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tape.is_empty()
    }

    pub fn clock(&self) -> Timestamp {
        self.clock
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    pub fn paused(&self) -> bool {
        self.paused
    }

    pub fn at_end(&self) -> bool {
        self.pos == self.tape.len()
    }

    pub fn skip(&self) -> Option<Skip> {
        self.skip
    }

    /// Whether the journal ends with the run's end (not a crash or a run still going).
    pub fn finished(&self) -> bool {
        self.tape
            .states()
            .iter()
            .any(|r| matches!(r.event, Event::RunFinished { .. }))
    }

    /// The longest quiet stretch played in full at the current speed.
    pub fn idle_cap(&self) -> SignedDuration {
        scaled(IDLE, self.speed)
    }

    pub fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
    }

    pub fn set_speed(&mut self, speed: f64) {
        self.speed = speed.clamp(MIN_SPEED, MAX_SPEED);
    }

    /// The next speed up (or down) the ladder, from wherever `--speed` put it.
    pub fn faster(&mut self, up: bool) {
        let next = if up {
            SPEEDS.iter().copied().find(|&s| s > self.speed)
        } else {
            SPEEDS.iter().rev().copied().find(|&s| s < self.speed)
        };
        if let Some(s) = next {
            self.speed = s;
        }
    }

    /// While the next record is far off: where the clock jumps from, and to.
    fn idle_cut(&self) -> Option<(Timestamp, Timestamp)> {
        let next = self.tape.ts(self.pos)?;
        let prev = self.tape.ts(self.pos - 1)?;
        let cap = self.idle_cap();
        let half = cap / 2;
        let land = next - half;
        (next.duration_since(prev) > cap && self.clock < land).then_some((prev + half, land))
    }

    /// Lets `real` time pass while playing; returns the records now due.
    pub fn advance(&mut self, real: Duration) -> Range<usize> {
        let from = self.pos;
        if self.paused {
            return from..from;
        }
        let mut budget = scaled(real, self.speed);
        while let Some(next) = self.tape.ts(self.pos) {
            if let Some((cut_at, land)) = self.idle_cut() {
                if self.clock >= cut_at {
                    self.skip = Some(Skip {
                        skipped: land.duration_since(self.clock),
                        at: land,
                    });
                    self.clock = land;
                    continue;
                }
                let to_cut = cut_at.duration_since(self.clock);
                if budget < to_cut {
                    self.clock += budget;
                    break;
                }
                budget -= to_cut;
                self.clock = cut_at;
                continue;
            }
            // Timestamps come from a wall clock and may step back: never wait for those.
            let wait = next.duration_since(self.clock).max(SignedDuration::ZERO);
            if wait > budget {
                self.clock += budget;
                break;
            }
            budget -= wait;
            self.clock = self.clock.max(next);
            self.pos += 1;
        }
        from..self.pos
    }

    /// Real time until something is due (a record or an idle cut); `None`
    /// while paused or at the end.
    pub fn until_next(&self) -> Option<Duration> {
        if self.paused {
            return None;
        }
        let next = self.tape.ts(self.pos)?;
        let target = self.idle_cut().map_or(next, |(cut_at, _)| cut_at);
        let virt = target
            .duration_since(self.clock)
            .max(SignedDuration::ZERO)
            .as_secs_f64();
        Some(Duration::from_secs_f64(virt / self.speed))
    }

    /// Moves to just after record `n - 1`, its clock with it.
    pub fn seek(&mut self, n: usize) -> Move {
        let n = n.clamp(1, self.tape.len());
        let from = self.pos;
        self.pos = n;
        self.clock = self.tape.ts(n - 1).unwrap_or(self.clock);
        self.skip = None;
        if n >= from {
            Move::Forward(from..n)
        } else {
            Move::Rebuild(n)
        }
    }

    /// Plays exactly one more record, and pauses (one can't step while playing).
    pub fn step(&mut self) -> Option<Move> {
        self.paused = true;
        (!self.at_end()).then(|| self.seek(self.pos + 1))
    }

    /// Plays up to and including the next record of interest, and pauses there.
    pub fn next_interest(&mut self) -> Option<Move> {
        let k = (self.pos..self.tape.len()).find(|&k| self.interesting(k))?;
        self.paused = true;
        Some(self.seek(k + 1))
    }

    /// Goes back to the record of interest before the one shown last, and pauses.
    pub fn prev_interest(&mut self) -> Option<Move> {
        let shown = self.pos - 1;
        let k = (0..shown).rev().find(|&k| self.interesting(k))?;
        self.paused = true;
        Some(self.seek(k + 1))
    }

    /// Output is never a place to stop; a state record may be.
    fn interesting(&self, k: usize) -> bool {
        self.tape.kept(k).is_some_and(|r| is_interesting(&r.event))
    }

    /// The record the viewer is looking at: the last one played.
    pub fn current(&self) -> Cow<'_, Record> {
        // A line that can no longer be read back (the file changed under
        // the viewer) shows as the run's start rather than failing.
        self.tape
            .get(self.pos - 1)
            .unwrap_or_else(|| Cow::Borrowed(&self.tape.states()[0]))
    }
}
