//! `slate complete KIND [TARGET]` (hidden): the names a shell completes
//! that only Slate knows — run ids, a run's gates, the environments of a
//! plan or a run — one per line. The bash script `slate completions bash`
//! prints asks it; it never fails loudly (a shell completing is no place
//! for errors) and reads at most the first record of a journal.

use std::io::{BufRead, Read};
use std::path::Path;

use crate::engine::event::Record;
use crate::journal::JOURNAL_FILE;
use crate::plan::Plan;

/// At most this many run ids are offered, newest first.
const MAX_RUNS: usize = 200;
/// The first record holds the plan (≤ 4 MiB, escaped as JSON): a bound for it.
const FIRST_RECORD_CAP: u64 = 16 * 1024 * 1024;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Kind {
    /// Run ids, newest first, and `latest`
    Runs,
    /// The gates of a run (TARGET: a run id)
    Gates,
    /// The environments of a plan file or a run (TARGET)
    Envs,
}

pub fn run(state_dir: &Path, kind: Kind, target: Option<&str>) -> i32 {
    let names = match kind {
        Kind::Runs => runs(state_dir),
        Kind::Gates => run_plan(state_dir, target.unwrap_or("latest"))
            .map(|p| p.gates.iter().map(|g| g.name.clone()).collect())
            .unwrap_or_default(),
        Kind::Envs => {
            let target = target.unwrap_or("latest");
            let plan = match crate::plan::load_file(Path::new(target)) {
                Ok(p) => Some(p),
                Err(_) => run_plan(state_dir, target),
            };
            plan.map(|p| p.environments.iter().map(|e| e.name.clone()).collect())
                .unwrap_or_default()
        }
    };
    for n in names {
        crate::output::out(&n);
    }
    0
}

fn runs(state_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(crate::runs::runs_dir(state_dir)) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join(JOURNAL_FILE).is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    // Run ids sort by time: newest first.
    ids.sort_unstable_by(|a, b| b.cmp(a));
    ids.truncate(MAX_RUNS);
    ids.insert(0, "latest".to_string());
    ids
}

/// The plan a run was started with, from its journal's first record.
fn run_plan(state_dir: &Path, run: &str) -> Option<Plan> {
    let dir = crate::runs::find_run(state_dir, run).ok()?;
    let (file, _) = crate::userfile::open_regular(&dir.join(JOURNAL_FILE)).ok()?;
    let mut line = String::new();
    std::io::BufReader::new(file)
        .take(FIRST_RECORD_CAP)
        .read_line(&mut line)
        .ok()?;
    let record: Record = serde_json::from_str(line.trim_end()).ok()?;
    crate::runs::recorded_plan(std::slice::from_ref(&record))?.ok()
}

/// Bash: clap's completion for everything, with the names above where a
/// verb takes a run, a gate or an environment. Appended to clap's script;
/// it takes over the `complete` registration and hands every other word
/// to clap's `_slate`.
pub const BASH_DYNAMIC: &str = r#"
# Names only slate knows: run ids, a run's gates, environments.
_slate_names() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" verb="${COMP_WORDS[1]}"
    local names=""
    if [[ "$prev" == "--env" && $COMP_CWORD -ge 3 ]]; then
        names="$(command slate complete envs -- "${COMP_WORDS[2]}" 2>/dev/null)"
    elif [[ $COMP_CWORD -eq 2 && "$cur" != -* ]]; then
        case "$verb" in
            approve|reject|pause|resume|rollback|abort|decide|retry|note|recover|show|dossier|replay|attach|review)
                names="$(command slate complete runs 2>/dev/null)" ;;
        esac
    elif [[ $COMP_CWORD -eq 3 && "$cur" != -* && ( "$verb" == approve || "$verb" == reject ) ]]; then
        names="$(command slate complete gates -- "${COMP_WORDS[2]}" 2>/dev/null)"
    fi
    if [[ -n "$names" ]]; then
        local IFS=$'\n'
        COMPREPLY=( $(compgen -W "$names" -- "$cur") )
        return 0
    fi
    _slate "$@"
}
complete -F _slate_names -o bashdefault -o default slate
"#;
