//! Exporting a dossier next to the person who asked for it: a new file in
//! the current directory, never one that already exists.

use std::io::Write;
use std::path::{Path, PathBuf};

/// How many `-N` suffixes are tried before giving up.
const MAX_TRIES: usize = 1000;

/// Writes `text` to `dir/dossier-RUN.md`, or `dossier-RUN-1.md`, `-2`… when
/// taken. The file is created exclusively, so a file that appears meanwhile
/// is never overwritten either.
pub fn write_new(dir: &Path, run_id: &str, text: &str) -> std::io::Result<PathBuf> {
    // A run id is a directory name; keep it one path component all the same.
    let stem: String = run_id
        .chars()
        .map(|c| if c == '/' || c == '\0' { '_' } else { c })
        .collect();
    for n in 0..MAX_TRIES {
        let name = match n {
            0 => format!("dossier-{stem}.md"),
            n => format!("dossier-{stem}-{n}.md"),
        };
        let path = dir.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                f.write_all(text.as_bytes())?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(format!(
        "dossier-{stem}.md and {MAX_TRIES} numbered variants already exist"
    )))
}

/// The path as a person would type it: `./name` when it is in `cwd`.
pub fn shown(path: &Path, cwd: &Path) -> String {
    match path.strip_prefix(cwd) {
        Ok(rel) => format!("./{}", rel.display()),
        Err(_) => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_overwrites() {
        let dir = tempfile::TempDir::new().unwrap();
        let a = write_new(dir.path(), "20261122-1403-ab", "one").unwrap();
        let b = write_new(dir.path(), "20261122-1403-ab", "two").unwrap();
        let c = write_new(dir.path(), "20261122-1403-ab", "three").unwrap();
        assert_eq!(shown(&a, dir.path()), "./dossier-20261122-1403-ab.md");
        assert_eq!(shown(&b, dir.path()), "./dossier-20261122-1403-ab-1.md");
        assert_eq!(shown(&c, dir.path()), "./dossier-20261122-1403-ab-2.md");
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "one");
        assert_eq!(std::fs::read_to_string(&c).unwrap(), "three");
    }

    #[test]
    fn odd_run_ids_stay_in_the_directory() {
        let dir = tempfile::TempDir::new().unwrap();
        let p = write_new(dir.path(), "../x", "t").unwrap();
        assert_eq!(p.parent(), Some(dir.path()));
    }
}
