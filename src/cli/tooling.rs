//! The verbs that describe Slate to other tools: `slate schema` (the plan
//! format as a JSON Schema, for editors), `slate completions SHELL` and
//! `slate man`. All three are generated from the definitions Slate itself
//! uses (the loader's key lists, the clap command), so they cannot drift.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;

use super::Cli;

/// Writes generated text to stdout as is: it holds no text from people or
/// plans (only Slate's own definitions), and a completion script needs its
/// tabs and quotes untouched. A closed pipe ends it quietly.
fn emit(bytes: &[u8]) -> i32 {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes).and_then(|()| out.flush());
    0
}

/// Writes `text` to `path` (or stdout), telling where it went.
fn write_or_print(text: &str, path: Option<&Path>) -> i32 {
    match path {
        None => emit(text.as_bytes()),
        Some(p) => match std::fs::write(p, text) {
            Ok(()) => {
                crate::warn_user!("slate: written to {}", p.display());
                0
            }
            Err(e) => {
                crate::warn_user!("slate: cannot write {}: {e}", p.display());
                1
            }
        },
    }
}

pub fn schema(out: Option<&Path>) -> i32 {
    let schema = crate::plan::schema::json_schema();
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    write_or_print(&text, out)
}

pub fn completions(shell: clap_complete::Shell) -> i32 {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "slate", &mut buf);
    // Bash also completes run ids, gates and environments, asking slate.
    if shell == clap_complete::Shell::Bash {
        buf.extend_from_slice(super::complete::BASH_DYNAMIC.as_bytes());
    }
    emit(&buf)
}

pub fn man(dir: Option<&Path>) -> i32 {
    let cmd = Cli::command();
    match dir {
        None => {
            let mut buf = Vec::new();
            if let Err(e) = clap_mangen::Man::new(cmd).render(&mut buf) {
                crate::warn_user!("slate: cannot render the man page: {e}");
                return 1;
            }
            emit(&buf)
        }
        Some(dir) => {
            if let Err(e) = std::fs::create_dir_all(dir) {
                crate::warn_user!("slate: cannot create {}: {e}", dir.display());
                return 1;
            }
            match clap_mangen::generate_to(cmd, dir) {
                Ok(()) => {
                    crate::warn_user!("slate: man pages written to {}", dir.display());
                    0
                }
                Err(e) => {
                    crate::warn_user!("slate: cannot write man pages to {}: {e}", dir.display());
                    1
                }
            }
        }
    }
}
