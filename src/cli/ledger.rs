//! `slate ledger` (what is live in each environment of each release, and
//! each environment's history, newest first, with drift flagged) and
//! `slate store rebuild`. Both read or write the store, never every journal.

use std::path::Path;

use serde::Serialize;

use crate::store::{Deployment, Left, Place, Reach, Store};

pub struct LedgerArgs {
    pub release: Option<String>,
    pub env: Option<String>,
    /// Past versions per environment (None: all).
    pub limit: Option<usize>,
    pub json: bool,
}

/// One environment of one release.
#[derive(Debug, Serialize)]
pub struct EnvLedger {
    pub release: String,
    pub env: String,
    /// The newest version that went live and stays so.
    pub live: Option<Deployment>,
    /// Why what runs there may not be what the ledger says.
    pub drift: Vec<String>,
    /// Pinned by a rollback to a known-good version: runs need `--unpin`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin: Option<crate::store::pins::Pin>,
    pub history: Vec<Entry>,
}

#[derive(Debug, Serialize)]
pub struct Entry {
    #[serde(flatten)]
    pub deployment: Deployment,
    /// How it left the environment; none while live or in progress.
    pub left: Option<Left>,
}

#[derive(Serialize)]
struct Ledger<'a> {
    environments: &'a [EnvLedger],
}

/// The ledger of the places that match, from the store.
pub fn read(
    store: &dyn Store,
    release: Option<&str>,
    env: Option<&str>,
    limit: Option<usize>,
) -> Result<Vec<EnvLedger>, String> {
    let places: Vec<Place> = store
        .places(release)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|p| env.is_none_or(|e| p.env == e))
        .collect();
    let mut out = Vec::with_capacity(places.len());
    for place in places {
        let live = store.live(&place).map_err(|e| e.to_string())?;
        let history = store.history(&place, limit).map_err(|e| e.to_string())?;
        let drift = drift(live.as_ref(), &history);
        let left = crate::store::ledger::annotate(&history);
        let pin = store
            .pin(&place.release, &place.env)
            .map_err(|e| e.to_string())?;
        out.push(EnvLedger {
            release: place.release,
            env: place.env,
            live,
            drift,
            pin,
            history: history
                .into_iter()
                .zip(left)
                .map(|(deployment, left)| Entry { deployment, left })
                .collect(),
        });
    }
    Ok(out)
}

/// An environment drifts from the ledger when its newest run stopped
/// inside it part-way: it may run a mix of versions.
fn drift(live: Option<&Deployment>, history: &[Deployment]) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(newest) = history.first()
        && newest.reach.part_way()
        && live.is_none_or(|l| l.run_id != newest.run_id)
    {
        out.push(format!(
            "its last run ({}, version {}) {} part-way: it may run a mix of {} and {}",
            newest.run_id,
            newest.version,
            match newest.reach {
                Reach::Interrupted => "was interrupted",
                Reach::Held => "ended held",
                _ => "failed",
            },
            newest.version,
            live.map(|l| l.version.as_str())
                .unwrap_or("what was there before"),
        ));
    }
    out
}

pub fn run(state_dir: &Path, args: &LedgerArgs) -> i32 {
    let store = match open(state_dir) {
        Some(s) => s,
        None => return 1,
    };
    let ledger = match read(
        store.as_ref(),
        args.release.as_deref(),
        args.env.as_deref(),
        args.limit,
    ) {
        Ok(l) => l,
        Err(e) => {
            crate::warn_user!("slate: {e}");
            return 1;
        }
    };
    if args.json {
        return match crate::text::json::to_string_pretty(&Ledger {
            environments: &ledger,
        }) {
            Ok(text) => {
                crate::output::out_text(&text);
                0
            }
            Err(e) => {
                crate::warn_user!("slate: {e}");
                1
            }
        };
    }
    if ledger.is_empty() {
        crate::say!("{}", nothing(args));
        return 0;
    }
    let mut release = None;
    for e in &ledger {
        if release != Some(&e.release) {
            if release.is_some() {
                crate::say!("");
            }
            crate::say!("{}", e.release);
            release = Some(&e.release);
        }
        crate::say!("  {}", live_line(e));
        for d in &e.drift {
            crate::say!("    ! drift: {d}");
        }
        if let Some(p) = &e.pin {
            crate::say!(
                "    ⚑ pinned: {} since {}; a run promoting here needs --unpin REASON",
                p.describe(&e.env),
                when(Some(p.at))
            );
        }
        for h in &e.history {
            crate::say!("    {}", history_line(h));
        }
    }
    0
}

fn nothing(args: &LedgerArgs) -> String {
    match (&args.release, &args.env) {
        (Some(r), Some(e)) => format!("The ledger knows nothing of release {r} in {e}."),
        (Some(r), None) => format!("The ledger knows no release {r}."),
        (None, Some(e)) => format!("The ledger knows no environment {e}."),
        (None, None) => "The ledger is empty: no run has entered an environment yet.".into(),
    }
}

fn when(t: Option<jiff::Timestamp>) -> String {
    t.map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "?".into())
}

/// `prod  1.4.0 live since 2026-03-01 12:00 (run …)`.
pub fn live_line(e: &EnvLedger) -> String {
    match &e.live {
        Some(l) => format!(
            "{}  {} live since {} (run {}){}",
            e.env,
            l.version,
            when(l.live_at),
            l.run_id,
            glass(l)
        ),
        None => format!("{}  nothing live that Slate deployed", e.env),
    }
}

/// "  by BREAK-GLASS (alice: CVE-1; approved by bob)" when the version got
/// into the environment past a freeze or a hold.
fn glass(d: &Deployment) -> String {
    use crate::store::ledger::{BREAK_GLASS_APPROVED_HOW, BREAK_GLASS_HOW};
    let Some(g) = d.approvals.iter().find(|a| a.how == BREAK_GLASS_HOW) else {
        return String::new();
    };
    let approved = d
        .approvals
        .iter()
        .find(|a| a.how == BREAK_GLASS_APPROVED_HOW)
        .map(|a| format!("; approved by {}", a.user))
        .unwrap_or_default();
    format!("  by BREAK-GLASS ({}: {}{approved})", g.user, g.comment)
}

/// One version's visit, as `slate ledger` and the board's history pane list it.
pub fn history_line(h: &Entry) -> String {
    let d = &h.deployment;
    let what = match (&h.left, d.reach) {
        (None, Reach::Deployed) => "live".to_string(),
        (None, r) => r.word().to_string(),
        (Some(l), _) if l.how == "superseded" => format!(
            "superseded by {} {}",
            l.by_version.as_deref().unwrap_or("?"),
            when(l.at)
        ),
        (Some(l), _) if l.how == "superseded_by_rollback" => format!(
            "superseded by rollback to {} {}",
            l.by_version.as_deref().unwrap_or("?"),
            when(l.at)
        ),
        (Some(_), r) => r.word().to_string(),
    };
    let mut line = format!(
        "{}  {}  {what}  run {}",
        when(d.started),
        d.version,
        d.run_id
    );
    let approvers: Vec<String> = d
        .approvals
        .iter()
        .map(|a| match a.how.as_str() {
            crate::store::ledger::ROLLBACK_HOW => format!("{} (rollback: {})", a.user, a.comment),
            crate::store::ledger::BREAK_GLASS_HOW => {
                format!("{} (BREAK-GLASS: {})", a.user, a.comment)
            }
            crate::store::ledger::BREAK_GLASS_APPROVED_HOW => {
                format!("{} (approved the break-glass)", a.user)
            }
            how => format!("{} ({})", a.user, how.replace('_', " ")),
        })
        .collect();
    if !approvers.is_empty() {
        line.push_str(&format!("  approved by {}", approvers.join(", ")));
    }
    let failed: Vec<&str> = d
        .verdicts
        .iter()
        .filter(|v| v.verdict != "passed")
        .map(|v| v.name.as_str())
        .collect();
    if !d.verdicts.is_empty() {
        if failed.is_empty() {
            let n = d.verdicts.len();
            let s = if n == 1 { "" } else { "s" };
            line.push_str(&format!("  {n} verdict{s} passed"));
        } else {
            line.push_str(&format!("  not passed: {}", failed.join(", ")));
        }
    }
    if !d.message.is_empty() {
        line.push_str(&format!("  ({})", d.message));
    }
    line
}

/// Opens the store, saying what opening it had to say; None (having said
/// why) when it cannot be used.
pub fn open(state_dir: &Path) -> Option<Box<dyn Store>> {
    let opened = match crate::store::open(state_dir) {
        Ok(o) => o,
        Err(e) => {
            crate::warn_user!("slate: {e}");
            return None;
        }
    };
    for n in &opened.notices {
        crate::warn_user!("slate: {n}");
    }
    match crate::store::sync::sync(opened.store.as_ref(), state_dir) {
        Ok(warnings) => {
            for w in warnings {
                crate::warn_user!("slate: warning: {w}");
            }
        }
        Err(e) => {
            crate::warn_user!("slate: {e}");
            return None;
        }
    }
    Some(opened.store)
}

/// `slate store rebuild`.
pub fn rebuild(state_dir: &Path) -> i32 {
    match crate::store::rebuild(state_dir) {
        Ok(r) => {
            if let Some(aside) = &r.moved {
                crate::warn_user!(
                    "slate: the unreadable store was moved to {}",
                    aside.display()
                );
            }
            for s in &r.skipped {
                crate::warn_user!("slate: warning: skipped {s}");
            }
            crate::say!(
                "rebuilt the store {} from {} run journal{}",
                state_dir.join(crate::store::STORE_FILE).display(),
                r.runs,
                if r.runs == 1 { "" } else { "s" }
            );
            0
        }
        Err(e) => {
            crate::warn_user!("slate: {e}");
            1
        }
    }
}
