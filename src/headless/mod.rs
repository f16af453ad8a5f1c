//! The headless printer: one line per record, for scripts and CI. The
//! headless front end that drives a run with it is `host::headless`.

mod format;

pub use format::Printer;
