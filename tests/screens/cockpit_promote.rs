//! The cockpit's new keys and dialogs with no terminal: promote (`P`), skip
//! to the last rollout step (`S`), hold the canary at a weight (`W`, or
//! `:weight N`), the `:` command palette, abort asking why, Esc letting go
//! of a search, `y` copying and `z` zooming — their refusals (read-only, the
//! run not waiting) included. Then snapshots of the palette, the reason
//! dialog and the held gauge.

use ratatui::crossterm::event::KeyCode;
use slate::cockpit::app::{App, Effect, Modal, Panel, Search};
use slate::cockpit::dialog::palette;
use slate::cockpit::dialog::reason::Ask;
use slate::cockpit::keymap::Keymap;
use slate::engine::Action;
use slate::engine::event::*;

use crate::common;
use common::state::*;

const PLAN: &str = r#"
[release]
name = "svc"
version = "2.5.0-rc.12+build.4471"
previous_version = "2.4.9"
owner = "me"
[[environments]]
name = "prod"
strategy = { kind = "canary", steps = [10, 50, 100], pause = "1h" }
[[stages]]
name = "deploy"
command = "true"
rollback = "true"
rollout = true
"#;

struct Feed {
    seq: u64,
}

impl Feed {
    fn rec(&mut self, event: Event) -> Record {
        self.seq += 1;
        Record {
            seq: self.seq,
            ts: t0() + jiff::SignedDuration::from_millis(self.seq as i64 * 100),
            event,
        }
    }

    fn apply(&mut self, app: &mut App, event: Event) -> Vec<Effect> {
        let r = self.rec(event);
        app.apply_record(&r)
    }
}

fn started() -> Event {
    // The outline the engine journals for PLAN, so it cannot drift from it.
    let plan = slate::plan::parse(PLAN, "t.toml", ".".into()).expect("PLAN parses");
    let outline = slate::engine::outline(&plan).remove(0);
    Event::RunStarted {
        run_id: "r-2026".into(),
        plan_path: "t.toml".into(),
        plan_source: PLAN.into(),
        release: "svc".into(),
        version: "2.5.0-rc.12+build.4471".into(),
        previous_version: "2.4.9".into(),
        owner: "me".into(),
        environments: vec![outline],
        actor: actor("starter", "cockpit"),
        pid: 1,
        pre_approved: Vec::new(),
        sealed: Vec::new(),
        auto_approve: false,
        vars: Vec::new(),
        rollback_to: None,
    }
}

/// The canary ran at 10% and its hour's pause has begun.
fn at_pause() -> (App, Feed) {
    let mut app = app_on(PLAN, Keymap::default());
    let mut f = Feed { seq: 0 };
    for e in [
        started(),
        Event::EnvStarted { env: 0 },
        Event::StepStarted {
            env: 0,
            step: 0,
            attempt: 1,
        },
        Event::StepFinished {
            env: 0,
            step: 0,
            attempt: 1,
            status: StepStatus::Succeeded,
            exit_code: Some(0),
            duration_ms: 5,
            message: "ok".into(),
        },
        Event::StepStarted {
            env: 0,
            step: 1,
            attempt: 1,
        },
        Event::TimerStarted {
            env: 0,
            step: 1,
            started: t0(),
            duration_ms: 3_600_000,
        },
    ] {
        f.apply(&mut app, e);
    }
    (app, f)
}

fn typed(app: &mut App, s: &str) {
    for c in s.chars() {
        app.on_key(key(c));
    }
}

fn enter(app: &mut App) -> Vec<Effect> {
    app.on_key(code(KeyCode::Enter))
}

fn toast(app: &App) -> &str {
    app.toast.as_ref().map(|t| t.text.as_str()).unwrap_or("")
}

#[test]
fn promote_asks_why_then_sends_promote() {
    let (mut app, _) = at_pause();
    assert!(app.on_key(key('P')).is_empty());
    assert!(matches!(
        app.modal,
        Some(Modal::Reason {
            ask: Ask::Promote { full: false },
            ..
        })
    ));
    // No reason: the engine's own words, and the dialog stays.
    assert!(enter(&mut app).is_empty());
    assert_eq!(toast(&app), "a promotion needs a reason");
    assert!(app.modal.is_some());
    typed(&mut app, "p99 flat");
    assert_eq!(
        enter(&mut app),
        [Effect::Send(Action::Promote {
            full: false,
            reason: "p99 flat".into()
        })]
    );
    assert!(app.modal.is_none());
}

#[test]
fn skip_sends_promote_full() {
    let (mut app, _) = at_pause();
    app.on_key(key('S'));
    typed(&mut app, "hotfix");
    assert_eq!(
        enter(&mut app),
        [Effect::Send(Action::Promote {
            full: true,
            reason: "hotfix".into()
        })]
    );
}

#[test]
fn promote_is_refused_while_a_step_runs_and_in_read_only() {
    let (mut app, mut f) = at_pause();
    f.apply(
        &mut app,
        Event::StepFinished {
            env: 0,
            step: 1,
            attempt: 1,
            status: StepStatus::Succeeded,
            exit_code: None,
            duration_ms: 1,
            message: "pause over".into(),
        },
    );
    f.apply(
        &mut app,
        Event::StepStarted {
            env: 0,
            step: 2,
            attempt: 1,
        },
    );
    assert!(app.on_key(key('P')).is_empty());
    assert!(app.modal.is_none());
    assert_eq!(toast(&app), "promote: no pause or soak is being waited out");

    let (mut app, _) = at_pause();
    app.set_read_only("replay");
    for k in ['P', 'S', 'W'] {
        assert!(app.on_key(key(k)).is_empty());
        assert!(app.modal.is_none(), "{k}");
        assert!(
            toast(&app).starts_with("read-only (replay)"),
            "{}",
            toast(&app)
        );
    }
}

#[test]
fn weight_opens_the_palette_with_weight_then_asks_why() {
    let (mut app, _) = at_pause();
    app.on_key(key('W'));
    assert!(matches!(app.modal, Some(Modal::Palette { .. })));
    typed(&mut app, "25");
    assert!(enter(&mut app).is_empty());
    assert!(matches!(
        app.modal,
        Some(Modal::Reason {
            ask: Ask::Weight(25),
            ..
        })
    ));
    typed(&mut app, "hold here");
    assert_eq!(
        enter(&mut app),
        [Effect::Send(Action::Weight {
            weight: 25,
            reason: "hold here".into()
        })]
    );
}

#[test]
fn a_weight_without_a_number_is_refused_in_the_palette() {
    let (mut app, _) = at_pause();
    app.on_key(key(':'));
    typed(&mut app, "weight lots");
    assert!(enter(&mut app).is_empty());
    assert_eq!(toast(&app), "weight needs a number: :weight 25");
    assert!(matches!(app.modal, Some(Modal::Palette { .. })));
    // Out of range is the engine's to refuse (one rule, in one place): it is sent.
    let mut input = String::new();
    input.push_str("weight 150");
    let (mut app, _) = at_pause();
    app.on_key(key(':'));
    typed(&mut app, &input);
    enter(&mut app);
    typed(&mut app, "why not");
    assert_eq!(
        enter(&mut app),
        [Effect::Send(Action::Weight {
            weight: 150,
            reason: "why not".into()
        })]
    );
}

#[test]
fn the_palette_matches_fuzzily_and_runs_what_the_keys_run() {
    let (mut app, _) = at_pause();
    let names: Vec<&str> = palette::matching(&app, "skp")
        .iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names.first(), Some(&"skip"), "{names:?}");
    let all = palette::matching(&app, "");
    assert!(all.iter().any(|e| e.name == "promote" && e.key == "P"));
    assert!(all.iter().any(|e| e.name == "weight" && e.args == "N"));
    assert!(all.iter().all(|e| e.name != "palette"));
    // `:prom` Enter is `P`.
    app.on_key(key(':'));
    typed(&mut app, "prom");
    enter(&mut app);
    assert!(matches!(
        app.modal,
        Some(Modal::Reason {
            ask: Ask::Promote { full: false },
            ..
        })
    ));
    // Tab completes the highlighted name; arrows choose.
    let (mut app, _) = at_pause();
    app.on_key(key(':'));
    typed(&mut app, "wei");
    app.on_key(code(KeyCode::Tab));
    typed(&mut app, "30");
    enter(&mut app);
    assert!(matches!(
        app.modal,
        Some(Modal::Reason {
            ask: Ask::Weight(30),
            ..
        })
    ));
    // :note with text sends it at once.
    let (mut app, _) = at_pause();
    app.on_key(key(':'));
    typed(&mut app, "note looks good");
    assert_eq!(
        enter(&mut app),
        [Effect::Send(Action::Note {
            text: "looks good".into()
        })]
    );
    // Nothing matches: said, and the palette stays.
    let (mut app, _) = at_pause();
    app.on_key(key(':'));
    typed(&mut app, "qqqqzzz");
    assert!(enter(&mut app).is_empty());
    assert!(toast(&app).starts_with("no command matches"));
    assert!(matches!(app.modal, Some(Modal::Palette { .. })));
    app.on_key(code(KeyCode::Esc));
    assert!(app.modal.is_none());
}

#[test]
fn the_palette_refuses_what_the_mode_forbids_with_the_reason() {
    let (mut app, _) = at_pause();
    // No gate waits: approve is listed with why, and refused with it.
    let approve = palette::matching(&app, "approve");
    assert_eq!(
        palette::unavailable(&app, approve[0].run).as_deref(),
        Some("no gate is waiting")
    );
    app.on_key(key(':'));
    typed(&mut app, "approve");
    assert!(enter(&mut app).is_empty());
    assert_eq!(toast(&app), "approve: no gate is waiting");
    assert!(app.modal.is_none());

    let (mut app, _) = at_pause();
    app.set_read_only("attach --read-only");
    for cmd in ["promote", "abort", "note hi", "weight 20"] {
        app.on_key(key(':'));
        typed(&mut app, cmd);
        assert!(enter(&mut app).is_empty(), "{cmd}");
        assert!(
            toast(&app).ends_with("read-only (attach --read-only)"),
            "{cmd}: {}",
            toast(&app)
        );
        assert!(app.modal.is_none(), "{cmd}");
    }
    // Looking around still works from the palette.
    app.on_key(key(':'));
    typed(&mut app, "zoom");
    enter(&mut app);
    assert!(app.view.zoom);
}

#[test]
fn abort_from_the_palette_asks_why() {
    let (mut app, _) = at_pause();
    app.on_key(key(':'));
    typed(&mut app, "abort");
    enter(&mut app);
    typed(&mut app, "error budget\u{7} gone");
    let fx = enter(&mut app);
    assert!(
        matches!(fx.as_slice(), [Effect::Send(Action::Abort { reason })] if reason.starts_with("error budget")),
        "{fx:?}"
    );
    assert_eq!(
        app.quit,
        slate::cockpit::app::QuitState::Running,
        "not quitting"
    );
}

#[test]
fn esc_lets_go_of_a_search_and_returns_to_the_live_tail() {
    let (mut app, _) = at_pause();
    app.view.search = Some(Search {
        query: "error".into(),
        current: Some(3),
    });
    app.view.follow = false;
    app.view.log_scroll = 12;
    assert!(app.on_key(code(KeyCode::Esc)).is_empty());
    assert!(app.view.search.is_none());
    assert!(app.view.follow);
    assert_eq!(app.view.log_scroll, 0);
}

#[test]
fn y_copies_the_approve_command_at_a_gate_else_the_run_id() {
    let (mut app, _) = at_pause();
    assert_eq!(app.on_key(key('y')), [Effect::Copy("r-2026".into())]);
    assert_eq!(toast(&app), "copied the run id: r-2026");
    let mut app = app_on(&plan(false, false), Keymap::default());
    let mut f = Feed { seq: 0 };
    for e in [
        run_started(&plan(false, false)),
        Event::EnvStarted { env: 1 },
        Event::GateWaiting {
            env: 1,
            step: 0,
            gate: "go".into(),
            required: 1,
            require_comment: false,
            timeout_ms: None,
            since: None,
        },
    ] {
        f.apply(&mut app, e);
    }
    assert_eq!(
        app.on_key(key('y')),
        [Effect::Copy("slate approve r go --comment ''".into())]
    );
}

#[test]
fn z_zooms_the_focused_panel_and_back() {
    let (mut app, _) = at_pause();
    app.view.focus = Panel::Metrics;
    app.on_key(key('z'));
    let a = slate::cockpit::ui::areas(&app, app.view.size);
    assert_eq!(a.panels.len(), 1);
    assert_eq!(a.panels[0].0, Panel::Metrics);
    app.on_key(key('z'));
    assert!(slate::cockpit::ui::areas(&app, app.view.size).panels.len() > 1);
}

#[test]
fn a_held_weight_shows_on_the_gauge() {
    let (mut app, mut f) = at_pause();
    f.apply(
        &mut app,
        Event::WeightHeld {
            env: 0,
            step: 1,
            canary: 0,
            weight: 25,
            actor: actor("bob", "socket"),
            reason: "slow".into(),
        },
    );
    let screen = common::render::text(common::render::render(&mut app, 120, 40).backend().buffer());
    assert!(screen.contains("canary held at 25%"), "{screen}");
}

#[test]
fn the_footer_lists_what_works_now() {
    let (mut app, _) = at_pause();
    let footer = |app: &mut App| {
        let screen = common::render::text(common::render::render(app, 120, 40).backend().buffer());
        screen.lines().last().unwrap_or("").to_string()
    };
    let main = footer(&mut app);
    assert!(main.contains("P promote"), "{main}");
    assert!(main.contains(": command"), "{main}");
    // In a dialog, the dialog's keys only.
    app.on_key(key(':'));
    let in_palette = footer(&mut app);
    assert!(in_palette.contains("Enter run"), "{in_palette}");
    assert!(!in_palette.contains("promote"), "{in_palette}");
    app.on_key(code(KeyCode::Esc));
    // Read-only: nothing that would change the run.
    app.set_read_only("replay");
    let ro = footer(&mut app);
    assert!(!ro.contains("promote") && !ro.contains("rollback"), "{ro}");
    assert!(ro.contains("? help"), "{ro}");
    // A key unbound by the user is never named.
    let mut keymap = Keymap::default();
    keymap.set(slate::cockpit::keymap::UiAction::Promote, Vec::new());
    let (mut app, _) = at_pause();
    app.keymap = keymap;
    let f = footer(&mut app);
    assert!(!f.contains("promote"), "{f}");
}

/// The screen as text, for snapshots.
fn screen(app: &mut App, w: u16, h: u16) -> String {
    common::render::text(common::render::render(app, w, h).backend().buffer())
}

#[test]
fn snapshot_the_palette_filtered_to_promotions() {
    let (mut app, _) = at_pause();
    app.on_key(key(':'));
    typed(&mut app, "pro");
    insta::assert_snapshot!("palette_pro_100x30", screen(&mut app, 100, 30));
}

#[test]
fn snapshot_the_palette_listing_everything_read_only() {
    let (mut app, _) = at_pause();
    app.set_read_only("replay");
    app.on_key(key(':'));
    insta::assert_snapshot!("palette_read_only_100x30", screen(&mut app, 100, 30));
}

#[test]
fn snapshot_the_skip_dialog_with_a_hostile_reason_typed() {
    let (mut app, _) = at_pause();
    app.on_key(key('S'));
    // Pasted text with controls and a newline arrives as one clean line.
    app.on_paste("ship\u{1b}[31m it\nnow\u{202e}");
    insta::assert_snapshot!("skip_reason_80x24", screen(&mut app, 80, 24));
}

#[test]
fn snapshot_a_held_canary_zoomed_at_80x24() {
    let (mut app, mut f) = at_pause();
    f.apply(
        &mut app,
        Event::WeightHeld {
            env: 0,
            step: 1,
            canary: 0,
            weight: 25,
            actor: actor("bob", "socket"),
            reason: "slow".into(),
        },
    );
    app.view.focus = Panel::Pipeline;
    app.on_key(key('z'));
    insta::assert_snapshot!("held_zoomed_pipeline_80x24", screen(&mut app, 80, 24));
}

#[test]
fn a_decision_by_someone_else_is_a_toast_naming_them() {
    let (mut app, mut f) = at_pause();
    f.apply(
        &mut app,
        Event::Promoted {
            env: 0,
            step: 1,
            full: false,
            actor: actor("bob", "socket"),
            reason: "LGTM".into(),
            skipped: Vec::new(),
        },
    );
    assert_eq!(toast(&app), "bob promoted: LGTM");
    // This cockpit's own decision is answered by its reply, not a toast.
    app.toast = None;
    f.apply(
        &mut app,
        Event::WeightHeld {
            env: 0,
            step: 1,
            canary: 0,
            weight: 20,
            actor: actor("me", "cockpit"),
            reason: "mine".into(),
        },
    );
    assert!(app.toast.is_none());
}

#[test]
fn snapshot_the_header_read_only_and_attached() {
    let (mut app, _) = at_pause();
    app.set_read_only("attach --read-only");
    let s = screen(&mut app, 80, 24);
    assert!(s.lines().next().unwrap().contains("[READ-ONLY]"), "{s}");
    insta::assert_snapshot!("read_only_80x24", s);
    let (mut app, _) = at_pause();
    app.attached = true;
    let s = screen(&mut app, 200, 50);
    assert!(s.lines().next().unwrap().contains("[ATTACHED]"), "{s}");
    insta::assert_snapshot!("attached_long_version_200x50", s);
}

/// Three analyses of one run: at 10% (passed), at 50% (passed), at 100%
/// (measuring, one sample over its threshold).
fn three_analyses(app: &mut App, f: &mut Feed) {
    use slate::engine::event::{Judgement, MetricInfo, Verdict};
    let info = MetricInfo {
        name: "error_ratio".into(),
        unit: String::new(),
        condition: "< 0.05".into(),
        threshold: Some(0.05),
        interval_ms: 1000,
        count: 6,
    };
    for (step, values, verdict) in [
        (
            1usize,
            vec![0.01, 0.012, 0.011, 0.009, 0.01, 0.01],
            Some(Verdict::Passed),
        ),
        (
            3,
            vec![0.02, 0.018, 0.021, 0.02, 0.019, 0.02],
            Some(Verdict::Passed),
        ),
        (4, vec![0.03, 0.07], None),
    ] {
        f.apply(
            app,
            Event::AnalysisStarted {
                env: 0,
                step,
                analysis: format!("canary-health@{step}"),
                metrics: vec![info.clone()],
                window_ms: Some(6000),
            },
        );
        for v in values {
            let judgement = if v < 0.05 {
                Judgement::Pass
            } else {
                Judgement::Fail
            };
            f.apply(
                app,
                Event::MetricSampled {
                    env: 0,
                    step,
                    analysis: format!("canary-health@{step}"),
                    metric: "error_ratio".into(),
                    value: Some(v),
                    shown: format!("{v}"),
                    judgement,
                    why: String::new(),
                },
            );
        }
        if let Some(verdict) = verdict {
            f.apply(
                app,
                Event::AnalysisFinished {
                    env: 0,
                    step,
                    analysis: format!("canary-health@{step}"),
                    verdict,
                    reason: "error_ratio < 0.05 for 6 of 6 samples".into(),
                },
            );
        }
    }
}

#[test]
fn the_metrics_panel_keeps_every_analysis_newest_first_and_scrolls() {
    let (mut app, mut f) = at_pause();
    three_analyses(&mut app, &mut f);
    app.view.focus = Panel::Metrics;
    app.on_key(key('z'));
    let s = screen(&mut app, 100, 30);
    let at = |name: &str| {
        s.find(name)
            .unwrap_or_else(|| panic!("{name} missing:\n{s}"))
    };
    // Newest first; the 10% step's samples did not vanish.
    assert!(at("canary-health@4") < at("canary-health@3"));
    assert!(at("canary-health@3") < at("canary-health@1"));
    insta::assert_snapshot!("metrics_three_analyses_100x30", s);
    // Down scrolls the panel; the newest analysis goes out of view.
    for _ in 0..4 {
        app.on_key(key('j'));
    }
    let s = screen(&mut app, 100, 30);
    assert!(!s.contains("canary-health@4"), "{s}");
    assert!(s.contains("canary-health@1"), "{s}");
}

#[test]
fn the_approval_prompt_lists_the_evidence_so_far_strongest_first() {
    use slate::engine::event::{CheckRole, MetricInfo, Verdict};
    let src = plan(false, false);
    let mut app = app_on(&src, Keymap::default());
    let mut f = Feed { seq: 0 };
    let info = MetricInfo {
        name: "error_ratio".into(),
        unit: String::new(),
        condition: "< 0.05".into(),
        threshold: Some(0.05),
        interval_ms: 1000,
        count: 3,
    };
    for e in [
        run_started(&src),
        Event::EnvStarted { env: 0 },
        Event::CheckResult {
            env: 0,
            step: 1,
            check: "healthz".into(),
            role: CheckRole::Smoke,
            attempt: 1,
            ok: true,
            latency_ms: 12,
            message: "200".into(),
        },
        Event::CheckResult {
            env: 0,
            step: 1,
            check: "version".into(),
            role: CheckRole::Smoke,
            attempt: 1,
            ok: false,
            latency_ms: 30,
            message: "\u{1b}]52;c;AAAA\u{7}wrong".into(),
        },
        Event::AnalysisStarted {
            env: 0,
            step: 1,
            analysis: "post-deploy".into(),
            metrics: vec![info],
            window_ms: None,
        },
        Event::AnalysisFinished {
            env: 0,
            step: 1,
            analysis: "post-deploy".into(),
            verdict: Verdict::Passed,
            reason: "ok".into(),
        },
        Event::EnvStarted { env: 1 },
        Event::GateWaiting {
            env: 1,
            step: 0,
            gate: "go".into(),
            required: 1,
            require_comment: false,
            timeout_ms: None,
            since: None,
        },
    ] {
        f.apply(&mut app, e);
    }
    let items: Vec<String> = slate::cockpit::dialog::gate::evidence(&app, 1)
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    assert_eq!(
        items,
        [
            "✘ dev · check version (30 ms)",
            "✔ dev · analysis post-deploy passed (0 samples)",
            "✔ dev · check healthz (12 ms)",
        ]
    );
    app.on_key(key('a'));
    let s = screen(&mut app, 100, 40);
    assert!(s.contains("analysis post-deploy passed"), "{s}");
    insta::assert_snapshot!("approve_evidence_100x40", s);
}

/// The verbs that reach beyond the run: `:lock` and `:freeze` apply to the
/// environment the matrix shows and need words; `:export` names a file;
/// `:theme` switches the theme; `:attach` needs a run. Refused read-only
/// where they would stop anyone's line; hostile words go to the verb as
/// typed, its answer comes back as a toast.
#[test]
fn lock_freeze_export_theme_and_attach_from_the_palette() {
    use slate::cockpit::app::Verb;
    let run = |cmd: &str| {
        let (mut app, _) = at_pause();
        app.on_key(key(':'));
        typed(&mut app, cmd);
        let fx = enter(&mut app);
        (app, fx)
    };
    let (app, fx) = run("lock incident 42");
    assert_eq!(
        fx,
        [Effect::Verb(Verb::Hold {
            env: "prod".into(),
            reason: "incident 42".into()
        })]
    );
    assert!(app.modal.is_none());
    let (app, fx) = run("lock");
    assert!(fx.is_empty());
    assert_eq!(toast(&app), "lock needs a reason: :lock incident 42");
    assert!(matches!(app.modal, Some(Modal::Palette { .. })));

    let (_, fx) = run("freeze 2h board meeting");
    assert_eq!(
        fx,
        [Effect::Verb(Verb::Freeze {
            env: "prod".into(),
            until: "2h".into(),
            reason: "board meeting".into()
        })]
    );
    let (_, fx) = run("freeze 2026-12-28 08:00 end of year");
    assert_eq!(
        fx,
        [Effect::Verb(Verb::Freeze {
            env: "prod".into(),
            until: "2026-12-28 08:00".into(),
            reason: "end of year".into()
        })]
    );
    let (app, fx) = run("freeze 2h");
    assert!(fx.is_empty());
    assert_eq!(
        toast(&app),
        "freeze needs an end and a reason: :freeze 2h incident 42"
    );

    let (_, fx) = run("export");
    assert_eq!(
        fx,
        [Effect::Verb(Verb::Export {
            path: "slate-r-2026.ndjson".into()
        })]
    );
    let (_, fx) = run("export /tmp/x.ndjson");
    assert_eq!(
        fx,
        [Effect::Verb(Verb::Export {
            path: "/tmp/x.ndjson".into()
        })]
    );

    let (app, fx) = run("theme light");
    assert!(fx.is_empty());
    assert_eq!(app.theme.name, "light");
    assert_eq!(toast(&app), "theme light");
    let (app, _) = run("theme neon");
    assert!(
        toast(&app).starts_with("unknown theme `neon`"),
        "{}",
        toast(&app)
    );
    assert!(matches!(app.modal, Some(Modal::Palette { .. })));
    let (app, _) = run("theme");
    assert!(
        toast(&app).starts_with("theme needs a name: default, light"),
        "{}",
        toast(&app)
    );

    let (app, fx) = run("attach");
    assert!(fx.is_empty());
    assert!(
        toast(&app).starts_with("attach needs a run"),
        "{}",
        toast(&app)
    );
    assert!(app.then_attach.is_none());

    // Read-only: a hold or a freeze would stop others' runs too.
    for cmd in ["lock why", "freeze 2h why"] {
        let (mut app, _) = at_pause();
        app.set_read_only("attach --read-only");
        app.on_key(key(':'));
        typed(&mut app, cmd);
        assert!(enter(&mut app).is_empty(), "{cmd}");
        assert!(
            toast(&app).ends_with("read-only (attach --read-only)"),
            "{cmd}: {}",
            toast(&app)
        );
    }
    // What the verb answered is the toast.
    let (mut app, _) = at_pause();
    app.on_reply("lock", Err("already held: prod is held by bob".into()));
    assert_eq!(toast(&app), "lock: already held: prod is held by bob");
    // A hold's reason is someone's text (`slate lock --reason $'\e]0;x\a'`):
    // drawn as symbols, never sent to the terminal.
    app.on_reply(
        "lock",
        Err("already held: prod is held by bob: \u{1b}]0;pwn\u{7}\nnext".into()),
    );
    let s = screen(&mut app, 100, 30);
    assert!(s.contains("prod is held by bob: ␛]0;pwn␇⏎next"), "{s}");
    assert!(!s.contains('\u{1b}') && !s.contains('\u{7}'), "{s:?}");
}

#[test]
fn until_and_reason_takes_a_duration_or_a_date_and_time() {
    assert_eq!(
        palette::until_and_reason("90m deploy window"),
        Some(("90m".into(), "deploy window".into()))
    );
    assert_eq!(
        palette::until_and_reason("2026-12-28 08:00 holiday"),
        Some(("2026-12-28 08:00".into(), "holiday".into()))
    );
    // A date alone is an end (checked by the verb), the rest the reason.
    assert_eq!(
        palette::until_and_reason("2026-12-28 holiday"),
        Some(("2026-12-28".into(), "holiday".into()))
    );
    assert_eq!(palette::until_and_reason("2h"), None);
    assert_eq!(palette::until_and_reason(""), None);
}
