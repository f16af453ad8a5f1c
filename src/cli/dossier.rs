//! `slate dossier RUN`: a run's deployment dossier, generated from its
//! journal — finished, still running, or crashed.

use std::path::Path;

pub fn run(state_dir: &Path, run: &str, out: Option<&Path>) -> i32 {
    let dir = match crate::runs::find_anywhere(state_dir, run) {
        Ok(d) => d,
        Err(e) => {
            crate::warn_user!("slate: {e}");
            return 2;
        }
    };
    let rendered = match crate::dossier::for_run(&dir) {
        Ok(r) => r,
        Err(e) => {
            crate::warn_user!("slate: {e}");
            return 1;
        }
    };
    if let Some(w) = &rendered.warning {
        crate::warn_user!("slate: warning: {w}");
    }
    match out {
        None => {
            crate::output::out_text(rendered.markdown.trim_end());
            0
        }
        Some(path) => match crate::dossier::write_private(path, &rendered.markdown) {
            Ok(()) => {
                crate::warn_user!("slate: dossier written to {}", path.display());
                0
            }
            Err(e) => {
                crate::warn_user!("slate: cannot write {}: {e}", path.display());
                1
            }
        },
    }
}
