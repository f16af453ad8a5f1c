//! The real slate binary in a pseudo-terminal, read through a vt100 parser:
//! for end-to-end tests of the full-screen commands.
//!
//! A reader thread feeds everything slate writes into the parser (and keeps
//! the raw bytes, escape sequences included), so a test reads the screen as a
//! person would see it. Every wait is bounded: by its own timeout and, when
//! the test set one, by the test's whole budget; nothing sleeps blindly.
//! Dropping a [`Term`] SIGKILLs slate and, when it was started with a tag,
//! everything still carrying that `SLATE_TEST_TAG`, also when a test panics.
//! [`Term::hang_up`] closes the terminal under slate, as a dropped SSH
//! session does.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use portable_pty::{Child, CommandBuilder, ExitStatus, MasterPty, PtySize, native_pty_system};

const POLL: Duration = Duration::from_millis(20);

/// Leaves the alternate screen / shows the cursor (what a restored terminal gets).
pub const LEAVE_ALT_SCREEN: &str = "\x1b[?1049l";
pub const ENTER_ALT_SCREEN: &str = "\x1b[?1049h";
pub const SHOW_CURSOR: &str = "\x1b[?25h";

pub const ENTER: &[u8] = b"\r";
pub const ESC: &[u8] = b"\x1b";
pub const TAB: &[u8] = b"\t";
pub const CTRL_C: &[u8] = b"\x03";
pub const CTRL_R: &[u8] = b"\x12";
pub const CTRL_S: &[u8] = b"\x13";

fn pty_size(cols: u16, rows: u16) -> PtySize {
    PtySize {
        rows,
        cols,
        pixel_width: 0,
        pixel_height: 0,
    }
}

/// What the reader thread shares with the test.
struct Shared {
    parser: Mutex<vt100::Parser>,
    /// Every byte slate wrote to the terminal, in order.
    raw: Mutex<Vec<u8>>,
    /// The terminal's output side is closed (slate and everything holding the pty are gone).
    eof: AtomicBool,
    /// Tells the reader thread to let go of the terminal.
    stop: AtomicBool,
}

/// How to start slate in a terminal: `Term::builder(args)…start()`.
pub struct TermBuilder {
    cmd: CommandBuilder,
    cols: u16,
    rows: u16,
    tag: Option<String>,
    budget: Option<Duration>,
    context: Option<Context>,
}

/// Extra text for failure messages (say, the run's journal).
type Context = Box<dyn Fn() -> String + Send + Sync>;

impl TermBuilder {
    /// The terminal's size (80×24 unless set).
    pub fn size(mut self, cols: u16, rows: u16) -> Self {
        self.cols = cols;
        self.rows = rows;
        self
    }

    pub fn cwd(mut self, dir: impl AsRef<OsStr>) -> Self {
        self.cmd.cwd(dir);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Self {
        self.cmd.env_remove(key);
        self
    }

    /// Sets `SLATE_TEST_TAG` (stages inherit it); dropping the terminal kills
    /// whatever still carries the tag.
    pub fn tag(mut self, tag: &str) -> Self {
        self.cmd.env("SLATE_TEST_TAG", tag);
        self.tag = Some(tag.to_string());
        self
    }

    /// The most the whole test may take from now: every wait is cut short by it.
    pub fn budget(mut self, budget: Duration) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Text added to every failure message, after the screen.
    pub fn context(mut self, f: impl Fn() -> String + Send + Sync + 'static) -> Self {
        self.context = Some(Box::new(f));
        self
    }

    pub fn start(self) -> Term {
        let deadline = self.budget.map(|b| Instant::now() + b);
        let pair = native_pty_system()
            .openpty(pty_size(self.cols, self.rows))
            .expect("open a pty");
        let child = pair.slave.spawn_command(self.cmd).expect("spawn slate");
        // Only slate may hold the terminal's slave side: then its exit closes the stream.
        drop(pair.slave);
        let shared = Arc::new(Shared {
            parser: Mutex::new(vt100::Parser::new(self.rows, self.cols, 0)),
            raw: Mutex::new(Vec::new()),
            eof: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        // Our own copy of the master side, read with a timeout, so that
        // `hang_up` can make the thread let go of it.
        let master_fd = pair.master.as_raw_fd().expect("the pty's master fd");
        // SAFETY: the master outlives this borrow, which is only duplicated.
        let borrowed = unsafe { BorrowedFd::borrow_raw(master_fd) };
        let mut reader = File::from(
            borrowed
                .try_clone_to_owned()
                .expect("duplicate the pty's master"),
        );
        let s = Arc::clone(&shared);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            while !s.stop.load(Ordering::SeqCst) {
                let mut fds = [PollFd::new(reader.as_fd(), PollFlags::POLLIN)];
                match poll(&mut fds, PollTimeout::from(50u16)) {
                    Ok(0) => continue,
                    Ok(_) => {}
                    Err(nix::errno::Errno::EINTR) => continue,
                    Err(_) => break,
                }
                match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        s.raw.lock().unwrap().extend_from_slice(&buf[..n]);
                        s.parser.lock().unwrap().process(&buf[..n]);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    // EIO: the last holder of the slave side is gone.
                    Err(_) => break,
                }
            }
            s.eof.store(true, Ordering::SeqCst);
        });
        let writer = pair.master.take_writer().expect("pty writer");
        Term {
            child: Mutex::new(child),
            status: Mutex::new(None),
            writer: Some(writer),
            master: Some(pair.master),
            reader: Some(reader),
            shared,
            tag: self.tag,
            deadline,
            budget: self.budget,
            context: self.context,
        }
    }
}

/// `slate ARGS` running in a pseudo-terminal.
pub struct Term {
    child: Mutex<Box<dyn Child + Send + Sync>>,
    status: Mutex<Option<ExitStatus>>,
    /// `None` once the terminal was hung up.
    writer: Option<Box<dyn Write + Send>>,
    /// Closing the master (with every copy of it) hangs up slate's terminal.
    master: Option<Box<dyn MasterPty + Send>>,
    reader: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
    tag: Option<String>,
    deadline: Option<Instant>,
    budget: Option<Duration>,
    context: Option<Context>,
}

impl Term {
    /// `slate ARGS` with `TERM=xterm-256color` and no `SLATE_LOG`; set the
    /// rest on the builder.
    pub fn builder(args: &[&str]) -> TermBuilder {
        let mut cmd = CommandBuilder::new(crate::slate_bin());
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("SLATE_LOG");
        TermBuilder {
            cmd,
            cols: 80,
            rows: 24,
            tag: None,
            budget: None,
            context: None,
        }
    }

    /// Starts `slate ARGS` in a `cols`×`rows` terminal with `env` set, in `cwd`.
    pub fn spawn(args: &[&str], env: &[(&str, &Path)], cwd: &Path, cols: u16, rows: u16) -> Term {
        let mut b = Term::builder(args).cwd(cwd).size(cols, rows);
        for (k, v) in env {
            b = b.env(k, v);
        }
        b.start()
    }

    /// The `SLATE_TEST_TAG` slate was started with, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn pid(&self) -> i32 {
        self.child
            .lock()
            .unwrap()
            .process_id()
            .expect("slate has a pid") as i32
    }

    /// The screen as text, one line per row.
    pub fn screen(&self) -> String {
        self.shared.parser.lock().unwrap().screen().contents()
    }

    /// The vt100 parser, for what the text does not show (modes, cursor).
    pub fn parser(&self) -> MutexGuard<'_, vt100::Parser> {
        self.shared.parser.lock().unwrap()
    }

    /// Everything slate wrote to the terminal so far, escape sequences included.
    pub fn raw(&self) -> String {
        String::from_utf8_lossy(&self.shared.raw.lock().unwrap()).into_owned()
    }

    /// Whether the terminal's output side is closed (all slate wrote has been read).
    pub fn eof(&self) -> bool {
        self.shared.eof.load(Ordering::SeqCst)
    }

    pub fn send(&mut self, keys: &[u8]) {
        let writer = self.writer.as_mut().expect("the terminal was hung up");
        writer.write_all(keys).expect("write keys to the pty");
        writer.flush().expect("flush keys");
    }

    /// Pastes `text` as a terminal does once the program asked for
    /// bracketed paste: wrapped in the paste markers, so it arrives as one
    /// paste and not as keys. Waits (bounded) until slate has asked for it.
    pub fn paste(&mut self, text: &str) {
        self.wait_until("bracketed paste to be on", Duration::from_secs(10), || {
            self.parser().screen().bracketed_paste()
        });
        let mut bytes = b"\x1b[200~".to_vec();
        bytes.extend_from_slice(text.as_bytes());
        bytes.extend_from_slice(b"\x1b[201~");
        self.send(&bytes);
    }

    fn master(&self) -> &(dyn MasterPty + Send) {
        self.master.as_deref().expect("the terminal was hung up")
    }

    /// Resizes the terminal (the parser first, so the redraw lands in the new size).
    pub fn resize(&self, cols: u16, rows: u16) {
        self.parser().screen_mut().set_size(rows, cols);
        self.master()
            .resize(pty_size(cols, rows))
            .expect("resize pty");
    }

    /// Closes the terminal's master side, every copy of it, as a dropped SSH
    /// session or a dead terminal emulator does: slate's terminal hangs up
    /// (SIGHUP to it, end of input). Slate is left running; what it wrote
    /// until then stays readable, nothing after.
    pub fn hang_up(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the pty reader thread");
        }
        // The writer first: dropping it may still write an end-of-file.
        self.writer = None;
        self.master = None;
        self.shared.eof.store(true, Ordering::SeqCst);
    }

    /// Whether slate is still running.
    pub fn alive(&self) -> bool {
        let mut status = self.status.lock().unwrap();
        if status.is_none() {
            *status = self.child.lock().unwrap().try_wait().expect("try_wait");
        }
        status.is_none()
    }

    fn exit_status(&self) -> Option<ExitStatus> {
        self.status.lock().unwrap().clone()
    }

    /// `timeout` from now, cut to the test's budget.
    fn end(&self, timeout: Duration) -> Instant {
        let end = Instant::now() + timeout;
        self.deadline.map_or(end, |d| end.min(d))
    }

    /// Fails the test: `why`, then the screen and the test's context.
    fn fail(&self, why: &str) -> ! {
        let extra = self.context.as_ref().map(|f| f()).unwrap_or_default();
        panic!("{why}\n--- screen ---\n{}\n{extra}", self.screen());
    }

    /// Polls `cond` until it holds or `timeout` (cut to the test's budget) passes.
    /// If slate exits first, `cond` gets one last look, once its last output
    /// has been read, before the wait fails.
    pub fn wait_until(&self, what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
        let end = self.end(timeout);
        loop {
            if cond() {
                return;
            }
            let alive = self.alive();
            if !alive {
                // The last bytes may still be in flight to the parser.
                self.wait_eof(Duration::from_secs(2));
                if cond() {
                    return;
                }
            }
            if !alive || Instant::now() >= end {
                let why = match self.exit_status() {
                    Some(s) => format!("slate exited ({s:?})"),
                    None if self.deadline.is_some_and(|d| Instant::now() >= d) => format!(
                        "the test's budget of {:?} ran out",
                        self.budget.unwrap_or_default()
                    ),
                    None => format!("gave up after {timeout:?}"),
                };
                self.fail(&format!("{why} waiting for {what}"));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until the screen shows `needle`; returns the screen.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        self.wait_for_all(&[needle], timeout)
    }

    /// Waits until every needle is on screen at once; returns the screen.
    pub fn wait_for_all(&self, needles: &[&str], timeout: Duration) -> String {
        self.wait_until(&format!("{needles:?} on screen"), timeout, || {
            let s = self.screen();
            needles.iter().all(|n| s.contains(n))
        });
        self.screen()
    }

    /// Waits until the screen no longer shows `needle`; returns the screen.
    pub fn wait_without(&self, needle: &str, timeout: Duration) -> String {
        self.wait_until(&format!("{needle:?} to leave the screen"), timeout, || {
            !self.screen().contains(needle)
        });
        self.screen()
    }

    /// Waits until the terminal's output side is closed; whether it was.
    pub fn wait_eof(&self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while !self.eof() && Instant::now() < end {
            std::thread::sleep(POLL);
        }
        self.eof()
    }

    /// Waits for slate to exit (killing it and failing after `timeout`, cut to
    /// the test's budget), then up to 5 s for its last output to be read
    /// ([`Term::eof`] says whether it was).
    pub fn wait_exit(&self, timeout: Duration) -> ExitStatus {
        let end = self.end(timeout);
        while self.alive() {
            if Instant::now() >= end {
                let _ = self.child.lock().unwrap().kill();
                self.fail(&format!("slate did not exit within {timeout:?}"));
            }
            std::thread::sleep(POLL);
        }
        self.wait_eof(Duration::from_secs(5));
        self.exit_status().expect("exited")
    }

    /// Whether the terminal is in canonical mode with echo (not raw), as the
    /// line discipline itself reports it.
    pub fn tty_is_cooked(&self) -> bool {
        // Linux values of ICANON and ECHO.
        const ICANON: u64 = 0o000002;
        const ECHO: u64 = 0o000010;
        let termios = self.master().get_termios().expect("tcgetattr on the pty");
        let flags = u64::from(termios.local_flags.bits());
        flags & ICANON != 0 && flags & ECHO != 0
    }

    /// After exit: the terminal was handed back (alternate screen left and
    /// not re-entered, cursor shown, mouse capture and bracketed paste off,
    /// cooked mode); returns
    /// what slate printed afterwards on the normal screen.
    pub fn assert_terminal_restored(&self) -> String {
        let raw = self.raw();
        let leave = raw.rfind(LEAVE_ALT_SCREEN).unwrap_or_else(|| {
            panic!(
                "slate never left the alternate screen; output ends with {:?}",
                tail(&raw)
            )
        });
        assert!(
            raw[leave..].contains(SHOW_CURSOR),
            "the cursor was not shown again after leaving the alternate screen; output ends with {:?}",
            tail(&raw)
        );
        assert!(
            !raw[leave..].contains(ENTER_ALT_SCREEN),
            "slate went back into the alternate screen after leaving it"
        );
        let text = {
            let parser = self.parser();
            let screen = parser.screen();
            assert!(
                !screen.alternate_screen(),
                "the terminal is still on the alternate screen"
            );
            assert!(!screen.hide_cursor(), "the cursor is still hidden");
            assert_eq!(
                screen.mouse_protocol_mode(),
                vt100::MouseProtocolMode::None,
                "mouse capture is still on"
            );
            assert!(!screen.bracketed_paste(), "bracketed paste is still on");
            screen.contents()
        };
        assert!(
            self.tty_is_cooked(),
            "the terminal was left in raw mode (no line editing, no echo)"
        );
        text
    }
}

/// The last 300 bytes or so of `s` (on a character boundary).
pub fn tail(s: &str) -> &str {
    let mut i = s.len().saturating_sub(300);
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

/// The line of `screen` holding `needle`.
pub fn line_with<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line holds {needle:?}:\n{screen}"))
}

impl Drop for Term {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Ok(None) = child.try_wait()
            && let Some(pid) = child.process_id()
        {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
            let _ = child.wait();
        }
        if let Some(tag) = &self.tag {
            super::kill_tagged(tag);
        }
    }
}
