//! Starting the engine host's process: `posix_spawn` with
//! `POSIX_SPAWN_SETSID`, so the host is in a session of its own (no
//! controlling terminal: a dropped terminal's SIGHUP never reaches it)
//! from its first instruction.
//!
//! Written against `nix::spawn` rather than `std::process::Command`
//! because the standard library has no `setsid` but through `pre_exec`,
//! which makes it `fork` the cockpit: copying the page tables of a process
//! with a runtime's threads, and making every page the cockpit then writes
//! (it draws the plan's outline meanwhile) a copy-on-write fault until the
//! child execs. `posix_spawn` shares the address space until the exec
//! instead. Measured in `docs/PERFORMANCE.md`: the host ready 1 ms sooner
//! quiet and 4 ms sooner under load.

use std::ffi::{CString, OsString};
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use nix::errno::Errno;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

/// A host process this one started (and so reaps).
#[derive(Debug)]
pub struct Host {
    pid: Pid,
}

/// How a host ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// Its exit status, if it exited.
    pub code: Option<i32>,
    /// As people read it: "exit status: 2", "signal: SIGKILL".
    pub shown: String,
}

impl Host {
    pub fn id(&self) -> u32 {
        self.pid.as_raw().unsigned_abs()
    }

    /// Waits for the host to end (retrying when a signal interrupts).
    pub fn wait(self) -> Result<Ended, Errno> {
        loop {
            match waitpid(self.pid, None) {
                Ok(WaitStatus::Exited(_, code)) => {
                    return Ok(Ended {
                        code: Some(code),
                        shown: format!("exit status: {code}"),
                    });
                }
                Ok(WaitStatus::Signaled(_, signal, _)) => {
                    return Ok(Ended {
                        code: None,
                        shown: format!("signal: {}", signal.as_str()),
                    });
                }
                Ok(_) | Err(Errno::EINTR) => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// Starts `exe` with `args` (its own name first) and this process's
/// environment, in a session of its own: stdin `/dev/null`, stdout a pipe
/// whose read end is returned, stderr `stderr` (else `/dev/null`). The
/// child starts with no signal blocked and SIGPIPE at its default, as
/// `std::process::Command` would leave them.
pub fn spawn(exe: &Path, args: &[OsString], stderr: Option<File>) -> std::io::Result<(Host, File)> {
    use nix::spawn::{PosixSpawnAttr, PosixSpawnFileActions, PosixSpawnFlags, posix_spawn};
    let cstring = |b: Vec<u8>| {
        CString::new(b).map_err(|_| std::io::Error::other("an argument holds a NUL byte"))
    };
    let argv = std::iter::once(exe.as_os_str().to_os_string())
        .chain(args.iter().cloned())
        .map(|a| cstring(a.into_vec()))
        .collect::<Result<Vec<_>, _>>()?;
    let envp = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k.into_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            cstring(kv)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (read, write): (OwnedFd, OwnedFd) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    let null_in = File::open("/dev/null")?;
    let err = match stderr {
        Some(f) => f,
        None => std::fs::OpenOptions::new().write(true).open("/dev/null")?,
    };
    let mut actions = PosixSpawnFileActions::init()?;
    // dup2 clears close-on-exec on the copy; the originals close at the exec.
    actions.add_dup2(null_in.as_raw_fd(), 0)?;
    actions.add_dup2(write.as_raw_fd(), 1)?;
    actions.add_dup2(err.as_raw_fd(), 2)?;
    let mut attr = PosixSpawnAttr::init()?;
    let setsid = PosixSpawnFlags::from_bits_retain(nix::libc::POSIX_SPAWN_SETSID as _);
    attr.set_flags(
        setsid | PosixSpawnFlags::POSIX_SPAWN_SETSIGMASK | PosixSpawnFlags::POSIX_SPAWN_SETSIGDEF,
    )?;
    attr.set_sigmask(&SigSet::empty())?;
    let mut default = SigSet::empty();
    default.add(Signal::SIGPIPE);
    attr.set_sigdefault(&default)?;
    let pid = posix_spawn(exe, &actions, &attr, &argv, &envp)?;
    drop(write);
    Ok((Host { pid }, File::from(read)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// The child is in a session of its own (its session id is its pid),
    /// reads `/dev/null`, writes the pipe, gets this environment and its
    /// arguments as given (a space, an empty one), and its end is told.
    #[test]
    fn a_host_starts_in_its_own_session_with_its_stdio_and_ends_told() {
        // Field 6 of /proc/PID/stat is the session id.
        let script = "a1=$1; a2=$2; set -- $(cat /proc/$$/stat); \
                      echo \"$6 $$ [$a1] [$a2] $HOME\"; \
                      cat; echo read-done; echo to-stderr >&2; exit 3";
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("err");
        let (host, mut out) = spawn(
            Path::new("/bin/sh"),
            &[
                "-c".into(),
                script.into(),
                "sh".into(),
                "a b".into(),
                "".into(),
            ],
            Some(File::create(&log).unwrap()),
        )
        .unwrap();
        let pid = host.id();
        let mut said = String::new();
        out.read_to_string(&mut said).unwrap();
        let ended = host.wait().unwrap();
        assert_eq!(ended.code, Some(3), "{ended:?}");
        assert_eq!(ended.shown, "exit status: 3");
        let first = said.lines().next().unwrap();
        let home = std::env::var("HOME").unwrap_or_default();
        assert_eq!(first, format!("{pid} {pid} [a b] [] {home}"), "{said}");
        assert_eq!(
            said.lines().nth(1),
            Some("read-done"),
            "stdin is empty: {said}"
        );
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "to-stderr\n");
    }

    #[test]
    fn a_host_killed_by_a_signal_is_told_so_and_a_missing_binary_is_an_error() {
        let (host, _out) = spawn(
            Path::new("/bin/sh"),
            &["-c".into(), "kill -9 $$".into()],
            None,
        )
        .unwrap();
        let ended = host.wait().unwrap();
        assert_eq!(ended.code, None);
        assert_eq!(ended.shown, "signal: SIGKILL");
        assert!(spawn(Path::new("/nonexistent/slate"), &[], None).is_err());
    }
}
