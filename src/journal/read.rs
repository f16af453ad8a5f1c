//! Reading a journal back, tolerating a torn last line.

use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::engine::event::Record;

#[derive(Debug)]
pub struct ReadJournal {
    pub records: Vec<Record>,
    /// Set when the last line was cut off mid-write (a crash) and was skipped.
    pub warning: Option<String>,
}

#[derive(Debug)]
pub enum JournalError {
    Io(String),
    Corrupt { line: usize, message: String },
}

impl std::fmt::Display for JournalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JournalError::Io(e) => write!(f, "{e}"),
            JournalError::Corrupt { line, message } => {
                write!(f, "journal is corrupt at line {line}: {message}")
            }
        }
    }
}

impl std::error::Error for JournalError {}

/// Reads every record. A bad last line is a torn write and only warns; a bad
/// line anywhere else means the journal cannot be trusted and is an error.
pub fn read_journal(path: &Path) -> Result<ReadJournal, JournalError> {
    let file = std::fs::File::open(path)
        .map_err(|e| JournalError::Io(format!("{}: {e}", path.display())))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut records = Vec::new();
    let mut buf = Vec::new();
    let mut line_no = 0;
    let mut pending_error: Option<(usize, String)> = None;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| JournalError::Io(format!("{}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if let Some((line, message)) = pending_error.take() {
            return Err(JournalError::Corrupt { line, message });
        }
        let complete = buf.last() == Some(&b'\n');
        let text = trim_newline(&buf);
        if text.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        match serde_json::from_slice::<Record>(text) {
            Ok(rec) => {
                if let Some(last) = records.last().map(|r: &Record| r.seq)
                    && rec.seq != last + 1
                {
                    pending_error = Some((
                        line_no,
                        format!("sequence jumps from {last} to {}", rec.seq),
                    ));
                    continue;
                }
                records.push(rec);
            }
            Err(e) => {
                let message = e.to_string();
                if !complete {
                    return Ok(ReadJournal {
                        records,
                        warning: Some(format!(
                            "{}: ignored a torn last line ({line_no}) left by an interrupted write",
                            path.display()
                        )),
                    });
                }
                pending_error = Some((line_no, message));
            }
        }
    }
    if let Some((line, message)) = pending_error {
        // The bad line was the last one: a torn write whose newline made it to disk.
        return Ok(ReadJournal {
            records,
            warning: Some(format!(
                "{}: ignored an unreadable last line ({line}: {message})",
                path.display()
            )),
        });
    }
    Ok(ReadJournal {
        records,
        warning: None,
    })
}

fn trim_newline(buf: &[u8]) -> &[u8] {
    let mut end = buf.len();
    while end > 0 && matches!(buf[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &buf[..end]
}
