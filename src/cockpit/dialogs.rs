//! Keys inside dialogs: the gate prompt, rollback and quit confirmations,
//! decisions on a blocked rollback, notes, search and help.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{App, Effect, Intent, Modal, QuitState, Search, textarea};
use crate::engine::Action;
use crate::engine::event::RollbackChoice;

impl App {
    pub(super) fn on_modal_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let Some(modal) = self.modal.take() else {
            return Vec::new();
        };
        let mut keep = Some(modal);
        let mut close = false;
        let mut effects = Vec::new();
        match keep.as_mut().expect("just set") {
            Modal::Help { scroll } => match key.code {
                KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('?') => keep = None,
                KeyCode::Down | KeyCode::Char('j') => *scroll = scroll.saturating_add(1),
                KeyCode::Up | KeyCode::Char('k') => *scroll = scroll.saturating_sub(1),
                KeyCode::PageDown => *scroll = scroll.saturating_add(10),
                KeyCode::PageUp => *scroll = scroll.saturating_sub(10),
                _ => {}
            },
            Modal::Quit => match key.code {
                // Detach: the cockpit closes, the release goes on in its engine's process.
                KeyCode::Char('d') | KeyCode::Enter => {
                    keep = None;
                    effects.push(Effect::Quit);
                }
                // The run may have ended while the question was on screen: nothing to abort.
                KeyCode::Char('a') if !self.is_active() => {
                    keep = None;
                    effects.push(Effect::Quit);
                }
                KeyCode::Char('a') => {
                    keep = None;
                    self.quit = QuitState::AfterFinish;
                    self.toast("aborting the release before quitting…", false);
                    effects.push(Effect::Send(Action::Abort {
                        reason: "the operator quit the cockpit".into(),
                    }));
                }
                KeyCode::Char('n') | KeyCode::Esc | KeyCode::Char('q') => keep = None,
                _ => {}
            },
            Modal::Gate { intent, input } => {
                let text = input.lines().join(" ").trim().to_string();
                let waiting = self.run.waiting.clone();
                let reject = (key.code == KeyCode::Char('r') && ctrl)
                    || (key.code == KeyCode::Enter && *intent == Intent::Reject);
                match (key.code, waiting) {
                    (KeyCode::Esc, _) => keep = None,
                    (_, None) if key.code == KeyCode::Enter || reject => {
                        keep = None;
                        self.toast("the gate is no longer waiting", true);
                    }
                    (_, Some(w)) if reject => {
                        if text.is_empty() {
                            self.toast("a rejection needs a reason", true);
                        } else {
                            keep = None;
                            effects.push(Effect::Send(Action::Reject {
                                gate: Some(w.gate),
                                reason: text,
                            }));
                        }
                    }
                    (KeyCode::Enter, Some(w)) => {
                        if w.require_comment && text.is_empty() {
                            self.toast("approval needs a comment", true);
                        } else {
                            keep = None;
                            effects.push(Effect::Send(Action::Approve {
                                gate: Some(w.gate),
                                comment: text,
                            }));
                        }
                    }
                    _ => {
                        input.input(key);
                    }
                }
            }
            Modal::Rollback { env, input } => match key.code {
                KeyCode::Esc => keep = None,
                KeyCode::Enter => {
                    let reason = input.lines().join(" ").trim().to_string();
                    if reason.is_empty() {
                        self.toast("a rollback needs a reason", true);
                    } else {
                        let name = self.run.envs[*env].name.clone();
                        keep = None;
                        effects.push(Effect::Send(Action::Rollback {
                            env: Some(name),
                            reason,
                        }));
                    }
                }
                _ => {
                    input.input(key);
                }
            },
            Modal::Note { input } => match key.code {
                KeyCode::Esc => keep = None,
                KeyCode::Enter => {
                    let text = input.lines().join(" ").trim().to_string();
                    keep = None;
                    if !text.is_empty() {
                        effects.push(Effect::Send(Action::Note { text }));
                    }
                }
                _ => {
                    input.input(key);
                }
            },
            Modal::Search { input } => match key.code {
                KeyCode::Esc => keep = None,
                KeyCode::Enter => {
                    let query = input.lines().join(" ").trim().to_string();
                    keep = None;
                    if query.is_empty() {
                        self.view.search = None;
                    } else {
                        self.view.search = Some(Search {
                            query,
                            current: None,
                        });
                        self.jump_match(false);
                    }
                }
                _ => {
                    input.input(key);
                }
            },
            Modal::Decide { ack } => {
                let choices = self
                    .run
                    .blocked
                    .as_ref()
                    .map(|b| b.choices.clone())
                    .unwrap_or_default();
                match ack {
                    Some(input) => match key.code {
                        KeyCode::Esc => *ack = None,
                        KeyCode::Enter => {
                            let note = input.lines().join(" ").trim().to_string();
                            if note.is_empty() {
                                self.toast("forcing needs an acknowledgement", true);
                            } else {
                                keep = None;
                                effects.push(Effect::Send(Action::Decide {
                                    choice: RollbackChoice::Force,
                                    note,
                                }));
                            }
                        }
                        _ => {
                            input.input(key);
                        }
                    },
                    None => {
                        let pick = match key.code {
                            KeyCode::Char('h') => Some(RollbackChoice::Hold),
                            KeyCode::Char('f') => Some(RollbackChoice::RollForward),
                            KeyCode::Char('r') => Some(RollbackChoice::Retry),
                            KeyCode::Char('F') => Some(RollbackChoice::Force),
                            KeyCode::Char('d') => Some(RollbackChoice::Done),
                            KeyCode::Char('b') => Some(RollbackChoice::Rollback),
                            KeyCode::Esc => {
                                close = true;
                                None
                            }
                            _ => None,
                        };
                        match pick {
                            Some(c) if !choices.contains(&c) => {
                                self.toast("that is not one of the choices here", true)
                            }
                            Some(RollbackChoice::Force) => {
                                *ack = Some(textarea("acknowledge what forcing gives up"))
                            }
                            Some(RollbackChoice::Retry) => {
                                keep = None;
                                effects.push(Effect::Send(Action::Retry));
                            }
                            Some(choice) => {
                                keep = None;
                                effects.push(Effect::Send(Action::Decide {
                                    choice,
                                    note: "decided in the cockpit".into(),
                                }));
                            }
                            None => {}
                        }
                    }
                }
            }
        }
        if close {
            keep = None;
        }
        if self.modal.is_none() {
            self.modal = keep;
        }
        effects
    }
}
