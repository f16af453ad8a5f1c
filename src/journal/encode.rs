//! A record as its journal line.
//!
//! Output lines are nearly every record of a flood, and serde's derive
//! spent about 3,800 instructions on each (the enum's tag through a map,
//! the timestamp through `Display`, the text escaped a byte at a time):
//! three quarters of the engine's work per line (callgrind, 200,000 lines).
//! An output record is therefore written here by hand. Its text goes
//! through serde_json's own escaping whenever it holds anything to escape,
//! so only the fixed frame around it is Slate's; its timestamp is
//! formatted once for the lines of one read, which share it. Every other
//! record goes through serde as before. Tests check that a line written
//! here is serde's, byte for byte.

use std::io::{self, Write};

use jiff::Timestamp;

use crate::engine::event::{Event, Record, Stream};

/// Writes records as journal lines (without the newline).
#[derive(Default)]
pub struct Encoder {
    /// The last timestamp written, as JSON text (quotes included).
    ts: Option<(Timestamp, String)>,
}

impl Encoder {
    pub fn write(&mut self, out: &mut impl Write, rec: &Record) -> io::Result<()> {
        let Event::Output {
            env,
            step,
            stream,
            line,
            rollback,
        } = &rec.event
        else {
            return serde_json::to_writer(out, rec).map_err(io::Error::from);
        };
        let mut num = itoa::Buffer::new();
        out.write_all(b"{\"seq\":")?;
        out.write_all(num.format(rec.seq).as_bytes())?;
        out.write_all(b",\"ts\":")?;
        out.write_all(self.timestamp(rec.ts)?.as_bytes())?;
        out.write_all(b",\"event\":{\"type\":\"output\",\"env\":")?;
        out.write_all(num.format(*env).as_bytes())?;
        out.write_all(b",\"step\":")?;
        out.write_all(num.format(*step).as_bytes())?;
        out.write_all(match stream {
            Stream::Stdout => b",\"stream\":\"stdout\",\"line\":",
            Stream::Stderr => b",\"stream\":\"stderr\",\"line\":",
        })?;
        if needs_no_escape(line.as_bytes()) {
            out.write_all(b"\"")?;
            out.write_all(line.as_bytes())?;
            out.write_all(b"\"")?;
        } else {
            serde_json::to_writer(&mut *out, line).map_err(io::Error::from)?;
        }
        if *rollback {
            out.write_all(b",\"rollback\":true")?;
        }
        out.write_all(b"}}")
    }

    /// The line as a string (for a mirror, which keeps the text).
    pub fn line(&mut self, rec: &Record) -> io::Result<String> {
        let mut buf = Vec::with_capacity(256);
        self.write(&mut buf, rec)?;
        // Both paths write JSON, which is UTF-8.
        String::from_utf8(buf).map_err(io::Error::other)
    }

    fn timestamp(&mut self, ts: Timestamp) -> io::Result<&str> {
        if self.ts.as_ref().is_none_or(|(t, _)| *t != ts) {
            self.ts = Some((ts, serde_json::to_string(&ts)?));
        }
        Ok(self
            .ts
            .as_ref()
            .map(|(_, s)| s.as_str())
            .unwrap_or_default())
    }
}

/// Whether serde_json would write `s` inside quotes unchanged: it escapes
/// only `"`, `\` and the C0 controls. Checked 32 bytes at a time without
/// stopping early, which the compiler turns into vector compares.
fn needs_no_escape(s: &[u8]) -> bool {
    s.chunks(32).all(|chunk| {
        !chunk.iter().fold(false, |bad, &b| {
            bad | (b < 0x20) | (b == b'"') | (b == b'\\')
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(seq: u64, ts: Timestamp, line: &str, stream: Stream, rollback: bool) -> Record {
        Record {
            seq,
            ts,
            event: Event::Output {
                env: 3,
                step: 12,
                stream,
                line: line.to_string(),
                rollback,
            },
        }
    }

    fn both(enc: &mut Encoder, rec: &Record) -> (String, String) {
        (enc.line(rec).unwrap(), serde_json::to_string(rec).unwrap())
    }

    #[test]
    fn an_output_line_is_serdes_byte_for_byte() {
        let mut enc = Encoder::default();
        let times = [
            Timestamp::UNIX_EPOCH,
            Timestamp::new(1_764_979_101, 359_553_175).unwrap(),
            Timestamp::new(1_764_979_101, 359_569_980).unwrap(),
            Timestamp::new(1_764_979_101, 0).unwrap(),
            Timestamp::new(-1, 1).unwrap(),
        ];
        let lines = [
            "",
            "00000001 2026-11-22T10:00:00Z INFO migrate: copied row",
            "quote \" backslash \\ slash / tab \t",
            "\u{1b}]52;c;ZWNobyBwd25lZA==\u{7}",
            "cr\r lf\n nul\0 del\u{7f} c1\u{9b} ls\u{2028} bidi\u{202e}",
            "émoji 🚀 中文 \u{feff}",
            &"x\\".repeat(40),
            &"y".repeat(16 * 1024),
        ];
        for (i, ts) in times.iter().enumerate() {
            for line in lines {
                for stream in [Stream::Stdout, Stream::Stderr] {
                    for rollback in [false, true] {
                        let rec = record(i as u64 * 1_000_003, *ts, line, stream, rollback);
                        let (ours, serde) = both(&mut enc, &rec);
                        assert_eq!(ours, serde);
                    }
                }
            }
        }
    }

    #[test]
    fn other_records_are_serdes() {
        let rec = Record {
            seq: 9,
            ts: Timestamp::new(1_764_979_101, 5).unwrap(),
            event: Event::StepStarted {
                env: 0,
                step: 1,
                attempt: 2,
            },
        };
        let (ours, serde) = both(&mut Encoder::default(), &rec);
        assert_eq!(ours, serde);
    }

    proptest! {
        #[test]
        fn any_text_is_written_as_serde_writes_it(
            line in any::<String>(),
            seq in any::<u64>(),
            secs in 0i64..4_000_000_000,
            nanos in 0i32..1_000_000_000,
        ) {
            let ts = Timestamp::new(secs, nanos).unwrap();
            let rec = record(seq, ts, &line, Stream::Stderr, false);
            let (ours, serde) = both(&mut Encoder::default(), &rec);
            prop_assert_eq!(ours, serde);
        }

        #[test]
        fn the_escape_check_agrees_with_serde(bytes in proptest::collection::vec(0u8..0x80, 0..100)) {
            let s = String::from_utf8(bytes).unwrap();
            let escaped = serde_json::to_string(&s).unwrap();
            prop_assert_eq!(needs_no_escape(s.as_bytes()), escaped.len() == s.len() + 2);
        }
    }
}
