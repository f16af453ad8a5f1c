//! Analyses: what each one measures, every sample (the newest
//! [`SAMPLES_KEPT`] per metric), and its verdict.

use super::{AnalysisView, MetricView, RunState, SAMPLES_KEPT};
use crate::engine::event::*;

pub(super) fn apply(s: &mut RunState, event: &Event) {
    match event {
        Event::AnalysisStarted {
            env,
            step,
            analysis,
            metrics,
            ..
        } => {
            if let Some(e) = s.envs.get_mut(*env) {
                e.analyses.push(AnalysisView {
                    step: *step,
                    name: analysis.clone(),
                    metrics: metrics
                        .iter()
                        .map(|info| MetricView {
                            info: info.clone(),
                            samples: Default::default(),
                            taken: 0,
                            failed: 0,
                            last_shown: String::new(),
                            last_why: String::new(),
                        })
                        .collect(),
                    verdict: None,
                    reason: String::new(),
                });
            }
        }
        Event::MetricSampled {
            env,
            step,
            metric,
            value,
            shown,
            judgement,
            why,
            ..
        } => {
            let view = s
                .envs
                .get_mut(*env)
                .and_then(|e| e.analyses.iter_mut().rev().find(|a| a.step == *step))
                .and_then(|a| a.metrics.iter_mut().find(|m| &m.info.name == metric));
            if let Some(m) = view {
                if m.samples.len() == SAMPLES_KEPT {
                    m.samples.pop_front();
                }
                m.samples.push_back((*value, *judgement));
                // Samples taken while waiting for data are shown, never counted.
                if *judgement != Judgement::Waiting {
                    m.taken += 1;
                }
                if *judgement == Judgement::Fail {
                    m.failed += 1;
                }
                m.last_shown = shown.clone();
                m.last_why = why.clone();
            }
            if let Some(st) = s.step_mut(*env, *step) {
                st.message = format!("{metric} {shown}: {why}");
            }
        }
        Event::AnalysisFinished {
            env,
            step,
            verdict,
            reason,
            ..
        } => {
            let view = s
                .envs
                .get_mut(*env)
                .and_then(|e| e.analyses.iter_mut().rev().find(|a| a.step == *step));
            if let Some(a) = view {
                a.verdict = Some(verdict.clone());
                a.reason = reason.clone();
            }
            if let Some(st) = s.step_mut(*env, *step) {
                st.message = format!("{}: {reason}", verdict.word());
            }
        }
        // Other families' events are dispatched elsewhere (`RunState::apply`).
        _ => {}
    }
}
