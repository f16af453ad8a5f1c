//! Files people point Slate at: a plan, `config.toml`, a theme, an artifact.
//!
//! Only a regular file is read. A FIFO would block the open or the read
//! forever, a device such as `/dev/zero` (often behind a symlink) never
//! ends, and a directory is not text. The kind is checked before the open,
//! and again on what the open returned (opened non-blocking, so a file
//! swapped for a FIFO in between cannot block it either). Text files are
//! capped by their size before a byte is read.

use std::fs::{File, Metadata};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The most plan text Slate reads: a generous plan is a few hundred KiB.
pub const PLAN_CAP: u64 = 4 * 1024 * 1024;

/// The most a user's `config.toml` or theme may hold.
pub const CONFIG_CAP: u64 = 1024 * 1024;

/// Why a file is not read: `None` for a regular file.
fn not_regular(meta: &Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        None
    } else if t.is_dir() {
        Some("it is a directory, not a file")
    } else if t.is_fifo() {
        Some("it is a FIFO (named pipe), not a regular file")
    } else if t.is_char_device() || t.is_block_device() {
        Some("it is a device, not a regular file")
    } else if t.is_socket() {
        Some("it is a socket, not a regular file")
    } else {
        Some("it is not a regular file")
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// The file at `path` (symlinks followed), open for reading, if it is a
/// regular file; else why not, in words.
pub fn open_regular(path: &Path) -> Result<(File, Metadata), String> {
    let meta = std::fs::metadata(path).map_err(|e| io_reason(&e))?;
    if let Some(why) = not_regular(&meta) {
        return Err(why.into());
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| io_reason(&e))?;
    let meta = file.metadata().map_err(|e| io_reason(&e))?;
    if let Some(why) = not_regular(&meta) {
        return Err(why.into());
    }
    Ok((file, meta))
}

/// "4 MiB", "1.5 MiB", "512 KiB", "12 bytes".
fn size(n: u64) -> String {
    crate::evidence::bytes_text(n)
}

/// A regular file's text, at most `cap` bytes of UTF-8; else why not, in words.
pub fn read_text(path: &Path, cap: u64) -> Result<String, String> {
    let (file, meta) = open_regular(path)?;
    if meta.len() > cap {
        return Err(format!(
            "it is {}, more than the {} Slate reads",
            size(meta.len()),
            size(cap)
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_reason(&e))?;
    if bytes.len() as u64 > cap {
        return Err(format!("it grew past the {} Slate reads", size(cap)));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "it is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_cap_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        std::fs::write(p("plan.toml"), "a = 1\n").unwrap();
        assert_eq!(read_text(&p("plan.toml"), 100).unwrap(), "a = 1\n");

        nix::unistd::mkfifo(&p("fifo.toml"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert_eq!(
            read_text(&p("fifo.toml"), 100).unwrap_err(),
            "it is a FIFO (named pipe), not a regular file"
        );
        std::os::unix::fs::symlink("/dev/zero", p("zero.toml")).unwrap();
        assert_eq!(
            read_text(&p("zero.toml"), 100).unwrap_err(),
            "it is a device, not a regular file"
        );
        assert_eq!(
            read_text(dir.path(), 100).unwrap_err(),
            "it is a directory, not a file"
        );
        std::fs::write(p("big.toml"), vec![b'#'; 2048]).unwrap();
        assert_eq!(
            read_text(&p("big.toml"), 1024).unwrap_err(),
            "it is 2 KiB, more than the 1 KiB Slate reads"
        );
        std::fs::write(p("bin.toml"), b"ok\xff\xfe").unwrap();
        assert_eq!(
            read_text(&p("bin.toml"), 100).unwrap_err(),
            "it is not UTF-8 text (invalid byte at offset 2)"
        );
        assert_eq!(read_text(&p("none.toml"), 100).unwrap_err(), "no such file");
    }
}
