//! `slate init [DIR] [--template NAME]`: writes a commented, working plan
//! (`slate.toml`) for a common target, and the plan schema beside it
//! (`slate.schema.json`) so an editor with taplo completes and checks keys.
//! An existing file is never replaced without `--force`.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::Path;

/// The plan file `init` writes.
pub const PLAN_FILE: &str = "slate.toml";
/// The schema file it writes beside the plan (named by the plan's `#:schema` line).
pub const SCHEMA_FILE: &str = "slate.schema.json";

/// A starting point: its name, what it targets, and its text.
pub struct Template {
    pub name: &'static str,
    pub about: &'static str,
    pub text: &'static str,
}

pub const TEMPLATES: &[Template] = &[
    Template {
        name: "local",
        about: "shell scripts on this machine (the complete example plan)",
        text: include_str!("../../config.example.toml"),
    },
    Template {
        name: "ssh",
        about: "hosts over SSH, in rolling batches",
        text: include_str!("../../assets/init/ssh.toml"),
    },
    Template {
        name: "kubernetes",
        about: "a Kubernetes Deployment with kubectl (rollout status, rollout undo)",
        text: include_str!("../../assets/init/kubernetes.toml"),
    },
    Template {
        name: "systemd",
        about: "a systemd service on this machine",
        text: include_str!("../../assets/init/systemd.toml"),
    },
    Template {
        name: "compose",
        about: "a Docker Compose project",
        text: include_str!("../../assets/init/compose.toml"),
    },
];

/// The plan text `init` writes for `t`: the template under a `#:schema`
/// line naming the schema file beside it (replacing the template's own).
pub fn plan_text(t: &Template) -> String {
    let body = match t.text.strip_prefix("#:schema") {
        Some(rest) => rest.split_once('\n').map_or("", |(_, b)| b),
        None => t.text,
    };
    format!("#:schema ./{SCHEMA_FILE}\n{body}")
}

fn find(name: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.name == name)
}

fn names() -> String {
    TEMPLATES
        .iter()
        .map(|t| t.name)
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn run(args: super::args::InitArgs) -> i32 {
    if args.list {
        for t in TEMPLATES {
            crate::say!("{:<11} {}", t.name, t.about);
        }
        return 0;
    }
    let template = match &args.template {
        Some(name) => match find(name) {
            Some(t) => t,
            None => {
                crate::warn_user!(
                    "slate: no template `{name}`{} (templates: {})",
                    crate::plan::diagnostic::suggestion(name, TEMPLATES.iter().map(|t| t.name)),
                    names()
                );
                return 2;
            }
        },
        None if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() => match ask() {
            Some(t) => t,
            None => return 2,
        },
        None => {
            crate::warn_user!(
                "slate: name a template with --template (templates: {}; slate init --list says what each is)",
                names()
            );
            return 2;
        }
    };
    write(&args.dir, template, args.force)
}

/// Asks on the terminal which template; `None` when nothing usable was typed.
fn ask() -> Option<&'static Template> {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "Which kind of release is this plan for?");
    for (i, t) in TEMPLATES.iter().enumerate() {
        let _ = writeln!(err, "  {}) {:<11} {}", i + 1, t.name, t.about);
    }
    let _ = write!(err, "Number or name [1]: ");
    let _ = err.flush();
    let mut line = String::new();
    // One line, bounded: a terminal that sends no newline cannot grow it forever.
    let n = std::io::stdin()
        .lock()
        .take(256)
        .read_line(&mut line)
        .ok()?;
    if n == 0 {
        return None;
    }
    let answer = line.trim();
    let chosen = if answer.is_empty() {
        TEMPLATES.first()
    } else if let Ok(i) = answer.parse::<usize>() {
        i.checked_sub(1).and_then(|i| TEMPLATES.get(i))
    } else {
        find(answer)
    };
    if chosen.is_none() {
        crate::warn_user!("slate: no template `{answer}` (templates: {})", names());
    }
    chosen
}

fn write(dir: &Path, t: &Template, force: bool) -> i32 {
    if let Err(e) = std::fs::create_dir_all(dir) {
        crate::warn_user!("slate: cannot create {}: {e}", dir.display());
        return 1;
    }
    let plan = dir.join(PLAN_FILE);
    let schema_path = dir.join(SCHEMA_FILE);
    let mut schema =
        serde_json::to_string_pretty(&crate::plan::schema::json_schema()).unwrap_or_default();
    schema.push('\n');
    match create(&plan, &plan_text(t), force) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            crate::warn_user!(
                "slate: {} already exists; it is left as it is (--force replaces it)",
                plan.display()
            );
            return 1;
        }
        Err(e) => {
            crate::warn_user!("slate: cannot write {}: {e}", plan.display());
            return 1;
        }
    }
    crate::say!("wrote {} ({} template)", plan.display(), t.name);
    // The schema is Slate's own and only ever regenerated; an existing one
    // is still left alone without --force, like any file.
    match create(&schema_path, &schema, force) {
        Ok(()) => crate::say!(
            "wrote {} (editors with taplo complete and check the plan with it)",
            schema_path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => crate::say!(
            "kept {} (--force replaces it; slate schema prints the current one)",
            schema_path.display()
        ),
        Err(e) => crate::warn_user!("slate: cannot write {}: {e}", schema_path.display()),
    }
    crate::say!("next: fill in the lines marked FILL IN, then");
    crate::say!("  slate validate {}", plan.display());
    crate::say!("  slate plan {}", plan.display());
    crate::say!("  slate run {}", plan.display());
    0
}

/// Creates `path` (never through a symlink); an existing file is an
/// `AlreadyExists` error unless `force`, and only a regular file is replaced.
fn create(path: &Path, text: &str, force: bool) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true)
        .mode(0o644)
        .custom_flags(nix::libc::O_NOFOLLOW);
    if force {
        if let Ok(m) = std::fs::symlink_metadata(path)
            && !m.file_type().is_file()
        {
            return Err(std::io::Error::other("it exists and is not a regular file"));
        }
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    opts.open(path)?.write_all(text.as_bytes())
}
