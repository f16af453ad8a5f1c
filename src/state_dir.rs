//! Whether Slate may use a state directory, decided before it touches it.
//!
//! Like ssh with `~/.ssh`: a directory that someone else owns, or that group
//! or others may write to, is refused. Whoever can write there could put a
//! symlink where Slate's log goes (and have Slate, maybe running as root,
//! append to any file), or swap `runs/` for a directory of their own and
//! rename, read or forge the runs in it. Root gets no exception.
//!
//! One foreign layout is legitimate: a run shared with a group (`[access]`,
//! see `runs/share.rs`) sits in its owner's state directory, which then lets
//! others pass (`o+x`) but neither list nor write. Its members steer, attach
//! to and read that run by its full id; that is all a foreign state directory
//! is used for, and nothing is written into it.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// How a command uses the state directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Not at all (`slate validate`): no log either.
    None,
    /// Reaches one run by its full id, writing nothing there: the verbs,
    /// `attach`, `show`, `dossier`, `replay`. A group member's use.
    OneRun,
    /// Keeps runs, the index or the log there.
    Own,
}

/// What the state directory is to this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Ours (or not created yet): use it, log there.
    Own,
    /// Another user's, closed to writes: reach a shared run, write nothing.
    Foreign,
    /// Refused, or not needed: write nothing there.
    Unused,
}

fn owner_name(uid: u32) -> String {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| format!("uid {uid}"))
}

fn describe(path: &Path, meta: &std::fs::Metadata) -> String {
    format!(
        "{} (owner {}, mode {:04o})",
        path.display(),
        owner_name(meta.uid()),
        meta.permissions().mode() & 0o7777
    )
}

/// Writable by group or others: anyone of them could replace what is inside.
fn open_to_writes(meta: &std::fs::Metadata) -> bool {
    meta.permissions().mode() & 0o022 != 0
}

/// The state directory and its `runs/` checked for the given use; `Err` is
/// the whole message for the user: what is wrong and what to do.
pub fn admit(state_dir: &Path, used: Use) -> Result<Standing, String> {
    if used == Use::None {
        return Ok(Standing::Unused);
    }
    let me = nix::unistd::geteuid().as_raw();
    // Followed: SLATE_HOME may be a symlink to a directory of one's own.
    let meta = match std::fs::metadata(state_dir) {
        Ok(m) => m,
        // Created owner-only when first needed.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Standing::Own),
        Err(e) => {
            return Err(format!(
                "cannot check the state directory {}: {e}",
                state_dir.display()
            ));
        }
    };
    if !meta.is_dir() {
        return Err(format!(
            "the state directory {} is not a directory; set SLATE_HOME to a directory of your own",
            state_dir.display()
        ));
    }
    if open_to_writes(&meta) {
        return Err(format!(
            "refusing the state directory {}: group or others may write to it, so they could \
             redirect Slate's files; run `chmod go-w {}` if it is yours, or set SLATE_HOME to a \
             directory of your own",
            describe(state_dir, &meta),
            state_dir.display()
        ));
    }
    let foreign = meta.uid() != me;
    if foreign && used == Use::Own {
        return Err(format!(
            "refusing the state directory {}: it belongs to {}, not to you ({}), and Slate keeps \
             its runs and its log only in a directory of your own; set SLATE_HOME to one (a run \
             shared with your group is reached by its full id: slate attach RUN)",
            describe(state_dir, &meta),
            owner_name(meta.uid()),
            owner_name(me)
        ));
    }
    let runs = crate::runs::runs_dir(state_dir);
    match std::fs::symlink_metadata(&runs) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot check {}: {e}", runs.display())),
        Ok(r) if r.file_type().is_symlink() => {
            return Err(format!(
                "refusing {}: it is a symbolic link, and Slate keeps runs only in the state \
                 directory itself; remove the link (and move the runs in, if they are yours)",
                runs.display()
            ));
        }
        Ok(r) if !r.is_dir() => {
            return Err(format!(
                "refusing {}: it is not a directory",
                runs.display()
            ));
        }
        Ok(r) if r.uid() != meta.uid() => {
            return Err(format!(
                "refusing {}: it belongs to {}, not to the state directory's owner {}; remove \
                 it, or set SLATE_HOME to a directory of your own",
                describe(&runs, &r),
                owner_name(r.uid()),
                owner_name(meta.uid())
            ));
        }
        Ok(r) if open_to_writes(&r) => {
            return Err(format!(
                "refusing {}: group or others may write to it; run `chmod go-w {}`",
                describe(&runs, &r),
                runs.display()
            ));
        }
        Ok(_) => {}
    }
    Ok(if foreign {
        Standing::Foreign
    } else {
        Standing::Own
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn chmod(p: &Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn an_own_private_directory_is_used_and_a_writable_one_refused() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("state");
        assert_eq!(admit(&dir, Use::Own), Ok(Standing::Own), "not created yet");
        std::fs::create_dir(&dir).unwrap();
        chmod(&dir, 0o700);
        assert_eq!(admit(&dir, Use::Own), Ok(Standing::Own));
        // What `[access]` does to the directories above a shared run.
        chmod(&dir, 0o701);
        std::fs::create_dir(dir.join("runs")).unwrap();
        chmod(&dir.join("runs"), 0o701);
        assert_eq!(admit(&dir, Use::Own), Ok(Standing::Own));
        chmod(&dir, 0o777);
        let e = admit(&dir, Use::Own).unwrap_err();
        assert!(e.contains("mode 0777"), "{e}");
        assert!(e.contains(&format!("chmod go-w {}", dir.display())), "{e}");
        assert_eq!(admit(&dir, Use::None), Ok(Standing::Unused));
        chmod(&dir, 0o700);
        chmod(&dir.join("runs"), 0o770);
        let e = admit(&dir, Use::OneRun).unwrap_err();
        assert!(e.contains("chmod go-w"), "{e}");
    }

    #[test]
    fn runs_that_point_elsewhere_are_refused() {
        let home = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), home.path().join("runs")).unwrap();
        let e = admit(home.path(), Use::Own).unwrap_err();
        assert!(e.contains("symbolic link"), "{e}");
    }
}
