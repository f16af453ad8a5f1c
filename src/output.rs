//! Writing to stdout/stderr without ever panicking: a closed pipe (`| head`)
//! or a terminal that went away must not crash Slate, least of all mid-release.

use std::io::Write;

pub fn out(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

pub fn err(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// `println!` that ignores a closed stdout.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => { $crate::output::out(&format!($($arg)*)) };
}

/// `eprintln!` that ignores a closed stderr.
#[macro_export]
macro_rules! warn_user {
    ($($arg:tt)*) => { $crate::output::err(&format!($($arg)*)) };
}
