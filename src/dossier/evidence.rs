//! Part of section 4: what evidence gates judged (test results,
//! coverage, security scans, check commands) and the findings that blocked.

use super::input::Input;
use super::md::{self, Table};
use crate::engine::event::Event;

pub fn write(out: &mut String, input: &Input) {
    md::heading(out, 3, "Evidence");
    let mut t = Table::new(&["Environment", "Gate", "Kind", "File", "Result", "Summary"]);
    let mut blocking: Vec<String> = Vec::new();
    for (_, ev) in input.events() {
        let Event::EvidenceChecked {
            env,
            gate,
            kind,
            path,
            ok,
            summary,
            findings,
            more,
            ..
        } = ev
        else {
            continue;
        };
        t.row(vec![
            md::text(input.env_name(*env)),
            md::text(gate),
            kind.word().into(),
            md::code(path),
            if *ok {
                "✔ passed".into()
            } else {
                "✘ failed".into()
            },
            md::text(summary),
        ]);
        for f in findings {
            let mut item = format!(
                "{} · {} {}: **{}**",
                md::text(input.env_name(*env)),
                kind.word(),
                md::code(path),
                md::text(&f.id)
            );
            if !f.location.is_empty() {
                item.push_str(&format!(" at {}", md::code(&f.location)));
            }
            if !f.detail.is_empty() {
                item.push_str(&format!(" — {}", md::text(&f.detail)));
            }
            blocking.push(item);
        }
        if *more > 0 {
            blocking.push(format!(
                "{} · {} {}: …and {more} more (the report has them all)",
                md::text(input.env_name(*env)),
                kind.word(),
                md::code(path)
            ));
        }
    }
    if t.is_empty() {
        md::para(out, "No evidence gates ran.");
        return;
    }
    t.write(out);
    if !blocking.is_empty() {
        md::para(out, "Blocking findings:");
        md::bullets(out, &blocking);
    }
}
