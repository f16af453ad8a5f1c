//! Text that people or plans supply, made safe to print.
//!
//! Notes, comments, reasons, names, config values and stage output reach
//! terminals, CI logs and markdown. A terminal obeys what they carry: an
//! escape sequence can set the window title, write the clipboard (OSC 52) or
//! clear the screen; a carriage return or a newline can forge a line such as
//! `✔ released`; a bidi override can make text read backwards. Every output
//! goes through one of these functions, so such text is shown, never obeyed.

pub mod json;
pub mod neutral;
