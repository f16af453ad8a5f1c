//! What a journal line is, read from its first bytes without parsing it
//! whole. Output lines are nearly every line of a flood and most readers
//! (the dossier, a status, catching up a subscriber) only need to know that
//! a line *is* output, for which step, and its sequence number; parsing ~200
//! bytes of JSON per line for that is what made large journals slow.
//!
//! The engine writes records with serde's field order (`seq`, `ts`, `event`
//! with `type` first, then the variant's fields in declaration order), so
//! the head is a fixed shape. A line of another shape (hand-edited, or a
//! future writer) gets `None` and the caller parses it in full.

/// The start of one journal line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    /// `(env, step)` when the record is a stage's output line.
    pub output: Option<(usize, usize)>,
}

const SEQ: &[u8] = b"{\"seq\":";
const TS: &[u8] = b",\"ts\":\"";
const EVENT: &[u8] = b",\"event\":{\"type\":\"";
const OUTPUT: &[u8] = b"output\",\"env\":";
const STEP: &[u8] = b",\"step\":";

/// The line's sequence number and, for output, its step; `None` when the
/// line does not start the way the engine writes records.
pub fn head(line: &[u8]) -> Option<Head> {
    let (seq, rest) = number(line.strip_prefix(SEQ)?)?;
    let rest = rest.strip_prefix(TS)?;
    let close = memchr::memchr(b'"', rest)?;
    let rest = rest[close + 1..].strip_prefix(EVENT)?;
    let Some(rest) = rest.strip_prefix(OUTPUT) else {
        return Some(Head { seq, output: None });
    };
    let (env, rest) = number(rest)?;
    let (step, _) = number(rest.strip_prefix(STEP)?)?;
    Some(Head {
        seq,
        output: Some((usize::try_from(env).ok()?, usize::try_from(step).ok()?)),
    })
}

/// When the record on a line of the engine's shape was written, read from
/// its first bytes; `None` for a line of another shape.
pub fn timestamp(line: &[u8]) -> Option<jiff::Timestamp> {
    let (_, rest) = number(line.strip_prefix(SEQ)?)?;
    let rest = rest.strip_prefix(TS)?;
    let close = memchr::memchr(b'"', rest)?;
    std::str::from_utf8(&rest[..close]).ok()?.parse().ok()
}

/// The head of any record line: read from its first bytes when it has the
/// engine's shape, else by parsing it whole; errs when it is not a record.
pub fn read_head(line: &[u8]) -> Result<Head, serde_json::Error> {
    if let Some(h) = head(line) {
        return Ok(h);
    }
    let rec: crate::engine::event::Record = serde_json::from_slice(line)?;
    let output = match rec.event {
        crate::engine::event::Event::Output { env, step, .. } => Some((env, step)),
        _ => None,
    };
    Ok(Head {
        seq: rec.seq,
        output,
    })
}

/// A decimal number at the start of `s`, and what follows it.
fn number(s: &[u8]) -> Option<(u64, &[u8])> {
    let end = s
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    if end == 0 || end > 19 {
        return None;
    }
    let n = s[..end]
        .iter()
        .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    Some((n, &s[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::event::{Event, Record, Stream};

    fn line(seq: u64, event: Event) -> Vec<u8> {
        let rec = Record {
            seq,
            ts: jiff::Timestamp::from_second(1_800_000_000).unwrap(),
            event,
        };
        serde_json::to_vec(&rec).unwrap()
    }

    #[test]
    fn reads_what_the_engine_writes() {
        let out = line(
            2_000_005,
            Event::Output {
                env: 2,
                step: 11,
                stream: Stream::Stderr,
                line: "\"quoted\" {\"seq\":1}".into(),
                rollback: true,
            },
        );
        assert_eq!(
            head(&out),
            Some(Head {
                seq: 2_000_005,
                output: Some((2, 11))
            })
        );
        let state = line(7, Event::EnvStarted { env: 0 });
        assert_eq!(
            head(&state),
            Some(Head {
                seq: 7,
                output: None
            })
        );
    }

    #[test]
    fn another_shape_is_parsed_whole() {
        let reordered = br#"{"event":{"type":"output","env":1,"step":2,"stream":"stdout","line":"x"},"ts":"2027-01-15T08:00:00Z","seq":9}"#;
        assert_eq!(head(reordered), None);
        assert_eq!(
            read_head(reordered).unwrap(),
            Head {
                seq: 9,
                output: Some((1, 2))
            }
        );
        assert!(read_head(br#"{"nope":1}"#).is_err());
    }

    #[test]
    fn another_shape_is_left_to_the_full_parser() {
        assert_eq!(
            head(br#"{"ts":"x","seq":1,"event":{"type":"output"}}"#),
            None
        );
        assert_eq!(head(br#"{"seq":,"ts":"x"}"#), None);
        assert_eq!(head(b""), None);
        assert_eq!(
            head(br#"{"seq":99999999999999999999,"ts":"x","event":{"type":"output"}}"#),
            None
        );
        // An output head cut short is not taken for a state change.
        assert_eq!(
            head(br#"{"seq":3,"ts":"x","event":{"type":"output","env":1}"#),
            None
        );
    }
}
