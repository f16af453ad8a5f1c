//! The plan format as a JSON Schema (draft-07), for editors (taplo / Even
//! Better TOML) and `slate schema`.
//!
//! Which keys exist comes from the loader's own key lists (`TOP_KEYS`,
//! `STAGE_KEYS`…, the lists `check_keys` enforces), so the schema cannot
//! name a key the loader refuses nor miss one it accepts. What this file
//! adds is each key's type and a line of help; a key without them is
//! reported by [`undocumented`] (and a test fails), never silently typed
//! as anything.

use serde_json::{Map, Value, json};

use super::access::ACCESS_KEYS;
use super::artifact::ARTIFACT_KEYS;
use super::check::{CHECK_KEYS, JSON_KEYS, NAMED_KEYS};
use super::communication::{CHANNEL_KEYS, COMMUNICATION_KEYS, FORMATS, STAKEHOLDER_KEYS};
use super::environment::{APPROVAL_KEYS, ENV_KEYS, STRATEGY_KEYS, STRATEGY_KINDS};
use super::evidence::{COVERAGE_KEYS, JUNIT_KEYS, SARIF_KEYS};
use super::gate::{GATE_KEYS, GATE_KINDS};
use super::metric::{ANALYSIS_KEYS, METRIC_KEYS, REDUCE};
use super::stage::STAGE_KEYS;
use super::{RELEASE_KEYS, TOP_KEYS};
use crate::evidence::{CoverageFormat, Level};
use crate::plan::{NotifyKind, OnInconclusive, PendingAlerts, StageKind};

/// Where the schema says it lives (`$id`); editors only use it as a name.
pub const SCHEMA_ID: &str = "https://slate.invalid/schema/plan.json";

/// The plan's JSON Schema.
pub fn json_schema() -> Value {
    Builder::default().plan()
}

/// Keys the loader accepts that have no type and help here, as
/// `table.key`. Empty in a consistent build.
pub fn undocumented() -> Vec<String> {
    let mut b = Builder::default();
    b.plan();
    b.missing
}

#[derive(Default)]
struct Builder {
    missing: Vec<String>,
}

fn string(doc: &str) -> Value {
    json!({ "type": "string", "description": doc })
}
fn name(doc: &str) -> Value {
    json!({ "type": "string", "minLength": 1, "description": doc })
}
fn boolean(doc: &str) -> Value {
    json!({ "type": "boolean", "description": doc })
}
fn integer(min: i64, doc: &str) -> Value {
    json!({ "type": "integer", "minimum": min, "description": doc })
}
fn duration(doc: &str) -> Value {
    json!({
        "type": "string",
        "description": format!("{doc} (a duration: \"90s\", \"10m\", \"1h 30m\", \"500ms\")"),
    })
}
fn strings(doc: &str) -> Value {
    json!({ "type": "array", "items": { "type": "string" }, "description": doc })
}
fn one_of(names: &[&str], doc: &str) -> Value {
    json!({ "type": "string", "enum": names, "description": doc })
}
/// A table of plain values (strings, numbers, booleans).
fn scalars(doc: &str) -> Value {
    json!({
        "type": "object",
        "additionalProperties": { "type": ["string", "integer", "number", "boolean"] },
        "description": doc,
    })
}

impl Builder {
    /// A table whose keys are exactly `keys` (the loader's list), each
    /// typed by `ty`.
    fn table(
        &mut self,
        what: &str,
        keys: &[&str],
        required: &[&str],
        doc: &str,
        ty: impl Fn(&mut Self, &str) -> Option<Value>,
    ) -> Value {
        let mut props = Map::new();
        for key in keys {
            match ty(self, key) {
                Some(v) => {
                    props.insert((*key).to_string(), v);
                }
                None => {
                    self.missing.push(format!("{what}.{key}"));
                    props.insert((*key).to_string(), json!({}));
                }
            }
        }
        json!({
            "type": "object",
            "description": doc,
            "properties": props,
            "required": required,
            "additionalProperties": false,
        })
    }

    fn array_of(&mut self, item: Value, doc: &str) -> Value {
        json!({ "type": "array", "items": item, "description": doc })
    }

    fn plan(&mut self) -> Value {
        let mut root = self.table(
            "plan",
            TOP_KEYS,
            &["release", "stages"],
            "A Slate release plan",
            |b, k| {
                Some(match k {
                    "release" => b.release(),
                    "environments" => {
                        let e = b.environment();
                        b.array_of(
                            e,
                            "Environments in promotion order; without them: dev, staging, prod",
                        )
                    }
                    "stages" => {
                        let s = b.stage();
                        b.array_of(s, "The commands of the release, in order")
                    }
                    "gates" => {
                        let g = b.gate();
                        b.array_of(g, "Named gates: manual approvals, soaks, checks, analyses, evidence")
                    }
                    "checks" => {
                        let c = b.check("checks", NAMED_KEYS, &["name"]);
                        b.array_of(c, "Named checks: smoke tests, health checks, check gates")
                    }
                    "metrics" => {
                        let m = b.metric();
                        b.array_of(m, "What to measure during an analysis and how to judge it")
                    }
                    "analyses" => {
                        let a = b.analysis();
                        b.array_of(a, "How long and how often metrics are measured")
                    }
                    "stakeholders" => {
                        let s = b.table(
                            "stakeholders",
                            STAKEHOLDER_KEYS,
                            &["name"],
                            "Someone who must hear about the release",
                            |_, k| {
                                Some(match k {
                                    "name" => name("Who"),
                                    "role" => string("approver, informed, support…"),
                                    "contact" => string("Where to reach them"),
                                    _ => return None,
                                })
                            },
                        );
                        b.array_of(s, "People to keep informed (the dossier's communication plan)")
                    }
                    "channels" => {
                        let c = b.channel();
                        b.array_of(c, "Webhooks that hear about the run")
                    }
                    "communication" => b.table(
                        "communication",
                        COMMUNICATION_KEYS,
                        &[],
                        "How the run keeps people informed",
                        |_, k| {
                            Some(match k {
                                "cadence" => duration("A status update is posted this often"),
                                "support" => string("Who takes over once the release is out"),
                                _ => return None,
                            })
                        },
                    ),
                    "vars" => json!({
                        "type": "object",
                        "description": "Values the plan takes (${var.NAME}, SLATE_VAR_NAME); --set NAME=VALUE overrides",
                        "additionalProperties": {
                            "anyOf": [
                                { "type": ["string", "number", "boolean"], "description": "The default value" },
                                {
                                    "type": "object",
                                    "properties": {
                                        "default": { "type": ["string", "number", "boolean"], "description": "The value unless --set gives one" },
                                        "description": string("What the value is for"),
                                    },
                                    "additionalProperties": false,
                                },
                            ],
                        },
                    }),
                    "freezes" => {
                        let w = b.window("freezes", true);
                        b.array_of(w, "When no run may start promoting into these environments")
                    }
                    "allow" => {
                        let w = b.window("allow", false);
                        b.array_of(w, "When promotion is allowed (outside them it waits; a freeze beats an allow)")
                    }
                    "secrets" => json!({
                        "type": "object",
                        "description": "Secret names (the variables stages get) and where each value lives",
                        "propertyNames": { "pattern": "^[A-Za-z_][A-Za-z0-9_]*$" },
                        "additionalProperties": {
                            "type": "string",
                            "pattern": "^(env|file|cmd):",
                            "description": "env:VARIABLE, file:PATH or cmd:COMMAND, never the value",
                        },
                    }),
                    "artifacts" => {
                        let a = b.table(
                            "artifacts",
                            ARTIFACT_KEYS,
                            &["name"],
                            "A build output promoted unchanged, checked by digest",
                            |_, k| {
                                Some(match k {
                                    "name" => name("The artifact's name"),
                                    "path" => string("A file Slate hashes (relative to the plan)"),
                                    "digest_command" => string("A command that prints the digest"),
                                    "sha256" => json!({
                                        "type": "string",
                                        "pattern": "^\\s*(sha256:)?[0-9a-fA-F]{64}\\s*$",
                                        "description": "The digest it must have",
                                    }),
                                    "timeout" => duration("How long the digest command may take"),
                                    _ => return None,
                                })
                            },
                        );
                        b.array_of(a, "What the release promotes, checked before every environment")
                    }
                    "access" => b.table(
                        "access",
                        ACCESS_KEYS,
                        &[],
                        "Who may enter the run besides its owner",
                        |_, k| {
                            Some(match k {
                                "group" => name("An OS group"),
                                _ => return None,
                            })
                        },
                    ),
                    _ => return None,
                })
            },
        );
        if let Value::Object(m) = &mut root {
            m.insert(
                "$schema".into(),
                json!("http://json-schema.org/draft-07/schema#"),
            );
            m.insert("$id".into(), json!(SCHEMA_ID));
            m.insert("title".into(), json!("Slate release plan"));
        }
        root
    }

    fn release(&mut self) -> Value {
        self.table(
            "release",
            RELEASE_KEYS,
            &["name", "version", "previous_version", "owner"],
            "What is released",
            |_, k| {
                Some(match k {
                    "name" => name("The release's name"),
                    "version" => name("The version being released"),
                    "previous_version" => name("The rollback target"),
                    "owner" => name("Who owns the release"),
                    "notes" => string("Release notes"),
                    "scope" => string("What the release touches, in a line"),
                    "repository" => string("A git repository whose log joins the notes"),
                    "lock_wait" => duration("How long to wait for an environment another run or a hold has (default: refuse at once)"),
                    "break_glass" => strings("Who may cross a freeze or a hold with --break-glass (users, @groups)"),
                    "break_glass_second" => boolean("A break-glass waits for a second person the break-glass policy allows to approve it"),
                    _ => return None,
                })
            },
        )
    }

    /// A freeze (`deny`) or allow window of `[[freezes]]` / `[[allow]]`.
    fn window(&mut self, what: &str, deny: bool) -> Value {
        let keys: Vec<&str> = crate::stopline::window::KEYS
            .iter()
            .copied()
            .filter(|k| deny || *k != "in_flight")
            .collect();
        self.table(what, &keys, &["name"], "A window of time", |_, k| {
            Some(match k {
                "name" => name("The window's name"),
                "environments" => strings("The environments it covers (\"*\" for all)"),
                "reason" => string("Why (shown to every run it stops)"),
                "timezone" => string("The IANA time zone its times are in (e.g. Europe/Berlin)"),
                "from" => string("A fixed range's start (\"2026-12-24 00:00\")"),
                "until" => string("A fixed range's end"),
                "days" => strings("Weekly: the days (mon … sun)"),
                "start" => string("Weekly: the time of day it starts (\"18:00\")"),
                "end" => string("Weekly: the time of day it ends (may cross midnight)"),
                "dates" => strings("Whole days (\"2026-12-25\")"),
                "in_flight" => one_of(&["stop", "finish"], "What a run already inside does"),
                _ => return None,
            })
        })
    }

    fn environment(&mut self) -> Value {
        self.table(
            "environments",
            ENV_KEYS,
            &["name"],
            "An environment",
            |b, k| {
                Some(match k {
                    "name" => name("The environment's name"),
                    "config" => scalars("Values for this environment (SLATE_CONFIG_<KEY>)"),
                    "approval" => b.table(
                        "environments.approval",
                        APPROVAL_KEYS,
                        &[],
                        "Who may approve its manual gates",
                        |_, k| {
                            Some(match k {
                                "required" => integer(1, "Approvals each manual gate needs"),
                                "approvers" => strings("OS users, and groups as \"@name\""),
                                "require_comment" => boolean("An approval must say why"),
                                "four_eyes" => boolean("Whoever started the run may not approve"),
                                _ => return None,
                            })
                        },
                    ),
                    "strategy" => {
                        let t = b.table(
                            "environments.strategy",
                            STRATEGY_KEYS,
                            &["kind"],
                            "A rollout strategy with its settings",
                            |_, k| {
                                Some(match k {
                                    "kind" => one_of(STRATEGY_KINDS, "The strategy"),
                                    "batches" => integer(1, "rolling: how many batches"),
                                    "steps" => json!({
                                        "type": "array",
                                        "items": { "type": "integer", "minimum": 1, "maximum": 100 },
                                        "description": "canary: traffic weights in percent, rising to 100",
                                    }),
                                    "pause" => duration("rolling/canary: the pause between steps"),
                                    "gate" => string("rolling/canary: a gate between steps"),
                                    "analysis" => string("rolling/canary: an analysis during each pause"),
                                    "analysis_at_full" => boolean("canary: run the analysis once more after the 100 % step"),
                                    "color" => string("blue-green: the colour being deployed"),
                                    "switch" => string("blue-green: the command that switches traffic"),
                                    "retire" => string("blue-green: the command that retires the old colour"),
                                    "confirm" => string("blue-green: a gate before the switch"),
                                    _ => return None,
                                })
                            },
                        );
                        json!({
                            "description": "How the rollout stage runs: a kind, or a table with kind and settings",
                            "anyOf": [one_of(STRATEGY_KINDS, "A strategy without settings"), t],
                        })
                    }
                    "gates" => strings("Gates that must pass before the environment starts"),
                    "verify_rollback" => b.check("environments.verify_rollback", &[], &[]),
                    "production" => boolean("Production fails closed on inconclusive analyses"),
                    "rollback_approval" => boolean(
                        "`slate rollback --to` this environment stops at an approval gate first (its approval policy, four-eyes included)",
                    ),
                    "on_inconclusive" => one_of(
                        &OnInconclusive::NAMES,
                        "What an inconclusive analysis does",
                    ),
                    "health" => strings("Named checks run after every rollout step"),
                    "analysis" => string("An analysis run once the rollout is complete"),
                    _ => return None,
                })
            },
        )
    }

    fn stage(&mut self) -> Value {
        self.table(
            "stages",
            STAGE_KEYS,
            &["name", "command"],
            "A stage: one command of the release",
            |_, k| {
                Some(match k {
                    "name" => name("The stage's name"),
                    "kind" => one_of(&StageKind::NAMES, "What kind of stage"),
                    "owner" => string("Who owns it (default: the release owner)"),
                    "command" => string("The command, run by sh -c with SLATE_* variables"),
                    "cwd" => string("Where it runs (relative to the plan)"),
                    "env" => scalars("Extra environment variables"),
                    "timeout" => duration("How long it may run"),
                    "retries" => integer(0, "Further attempts after a failure"),
                    "backoff" => duration("The wait before the first retry"),
                    "rollback" => string("The command that undoes it"),
                    "irreversible" => boolean("It cannot be undone"),
                    "idempotent" => boolean("It may be run again after a crash"),
                    "rollout" => boolean("The stage a rollout strategy repeats"),
                    "environments" => strings("Environments it runs in (default: all)"),
                    "gates_after" => strings("Gates after it succeeded"),
                    "smoke" => strings("Named checks run after it succeeded"),
                    "secrets" => strings("Secrets it gets as variables"),
                    _ => return None,
                })
            },
        )
    }

    fn check(&mut self, what: &str, extra: &[&str], required: &[&str]) -> Value {
        let keys: Vec<&str> = CHECK_KEYS.iter().chain(extra).copied().collect();
        self.table(
            what,
            &keys,
            required,
            "A check: exactly one of command, http, tcp or alerts",
            |b, k| {
                Some(match k {
                    "name" => name("The check's name"),
                    "retries" => integer(0, "Further attempts before it fails"),
                    "interval" => duration("The wait between attempts"),
                    "command" => string("A command that must exit 0"),
                    "http" => string("A URL that must answer"),
                    "tcp" => string("host:port that must accept a connection"),
                    "alerts" => string("A Prometheus server whose alerts must not fire"),
                    "method" => one_of(&["GET", "HEAD", "POST", "PUT"], "http: the method"),
                    "headers" => scalars("http: request headers"),
                    "status" => integer(100, "http: the status it must answer"),
                    "contains" => string("http: text the body must contain"),
                    "json" => b.table(
                        &format!("{what}.json"),
                        JSON_KEYS,
                        &["field"],
                        "http: a JSON field and the value it must have",
                        |_, k| {
                            Some(match k {
                                "field" => string("The field's path"),
                                "equals" => json!({
                                    "type": ["string", "integer", "number", "boolean"],
                                    "description": "The value it must have",
                                }),
                                _ => return None,
                            })
                        },
                    ),
                    "labels" => scalars("alerts: labels the alerts must have"),
                    "pending" => one_of(&PendingAlerts::NAMES, "alerts: what a pending alert does"),
                    "timeout" => duration("How long one attempt may take"),
                    _ => return None,
                })
            },
        )
    }

    fn gate(&mut self) -> Value {
        self.table(
            "gates",
            GATE_KEYS,
            &["name", "kind"],
            "A gate the run must pass",
            |b, k| {
                let report = |b: &mut Self, key: &str, keys: &[&str], doc: &str| {
                    b.table(&format!("gates.{key}"), keys, &["path"], doc, |_, k| {
                        Some(match k {
                            "path" => string("The report file"),
                            "max_failures" => integer(0, "Failed tests tolerated"),
                            "min_tests" => integer(0, "Tests that must have run"),
                            "min_line" => json!({
                                "type": "number", "minimum": 0, "maximum": 100,
                                "description": "Line coverage in percent, at least",
                            }),
                            "format" => one_of(&CoverageFormat::NAMES, "The report's format"),
                            "fail_at" => one_of(&Level::NAMES, "The lowest level that fails"),
                            "allow" => strings("Rules whose findings do not count"),
                            _ => return None,
                        })
                    })
                };
                Some(match k {
                    "name" => name("The gate's name"),
                    "kind" => one_of(GATE_KINDS, "What kind of gate"),
                    "timeout" => duration("How long it may wait"),
                    "require_comment" => boolean("manual: an approval must say why"),
                    "approvals" => integer(1, "manual: approvals it needs"),
                    "wait" => duration("soak: how long to wait"),
                    "check" => {
                        let c = b.check("gates.check", &[], &[]);
                        json!({
                            "description": "check: a named check, or a check table",
                            "anyOf": [{ "type": "string" }, c],
                        })
                    }
                    "retries" => integer(0, "check: further attempts"),
                    "interval" => duration("check: the wait between attempts"),
                    "analysis" => string("analysis: the analysis to run"),
                    "junit" => report(b, "junit", JUNIT_KEYS, "evidence: a JUnit XML report"),
                    "coverage" => {
                        report(b, "coverage", COVERAGE_KEYS, "evidence: a coverage report")
                    }
                    "sarif" => report(b, "sarif", SARIF_KEYS, "evidence: a SARIF report"),
                    "command" => string("evidence: a command that must exit 0"),
                    _ => return None,
                })
            },
        )
    }

    fn metric(&mut self) -> Value {
        self.table(
            "metrics",
            METRIC_KEYS,
            &["name"],
            "A metric: one source (scrape, prometheus or command) and a success or failure condition",
            |_, k| {
                Some(match k {
                    "name" => name("The metric's name"),
                    "unit" => string("Its unit, for display"),
                    "scrape" => string("A /metrics URL to scrape"),
                    "prometheus" => string("A Prometheus server URL"),
                    "command" => string("A command that prints a number"),
                    "query" => string("The query (PromQL, or a series for scrape)"),
                    "range" => duration("prometheus: the range of the query"),
                    "reduce" => one_of(REDUCE, "prometheus: how a range becomes one value"),
                    "interval" => duration("How often it is sampled"),
                    "timeout" => duration("How long one sample may take"),
                    "success" => string("A condition such as \"< 0.05\""),
                    "failure" => string("A condition such as \">= 0.1\""),
                    "http" => string("A URL answering JSON (the HTTP JSON source)"),
                    "json_path" => string("http: the RFC 9535 JSONPath of the number in the answer"),
                    "headers" => json!({
                        "type": "object",
                        "additionalProperties": { "type": "string" },
                        "description": "http: request headers; values may name ${secret.NAME}",
                    }),
                    "objective" => json!({
                        "type": "number",
                        "exclusiveMinimum": 0,
                        "exclusiveMaximum": 100,
                        "description": "An SLO: the percent of good requests (e.g. 99.9), judged by burn rate",
                    }),
                    "good" => string("SLO: the query counting good requests (with `total`)"),
                    "total" => string("SLO: the query counting all requests (with `good`)"),
                    "burn" => json!({
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "short": duration("The short window"),
                                "long": duration("The long window"),
                                "rate": { "type": "number", "exclusiveMinimum": 0, "description": "The burn rate both windows must exceed to fail" },
                            },
                            "required": ["short", "long", "rate"],
                            "additionalProperties": false,
                        },
                        "description": "SLO: window pairs and burn rates (default: 5m/1h at 14.4 and 30m/6h at 6)",
                    }),
                    "wait_for_data" => duration("How long to wait for data before the first judged sample"),
                    "min_data" => json!({
                        "anyOf": [
                            { "type": "integer", "minimum": 1, "maximum": 10000 },
                            { "type": "string", "pattern": "^[0-9]+ samples?$" },
                        ],
                        "description": "Samples with data in a row before judging (\"2 samples\")",
                    }),
                    _ => return None,
                })
            },
        )
    }

    fn analysis(&mut self) -> Value {
        self.table(
            "analyses",
            ANALYSIS_KEYS,
            &["name", "metrics"],
            "An analysis: metrics measured over a window",
            |_, k| {
                Some(match k {
                    "name" => name("The analysis's name"),
                    "metrics" => strings("The metrics it measures"),
                    "count" => integer(1, "How many measurements"),
                    "duration" => duration("How long it measures"),
                    "initial_delay" => duration("The wait before the first measurement"),
                    "failure_limit" => integer(0, "Failed measurements tolerated"),
                    "inconclusive_limit" => integer(0, "Inconclusive measurements tolerated"),
                    "consecutive_error_limit" => integer(0, "Errors in a row tolerated"),
                    _ => return None,
                })
            },
        )
    }

    fn channel(&mut self) -> Value {
        self.table(
            "channels",
            CHANNEL_KEYS,
            &["name", "url"],
            "A webhook",
            |_, k| {
                Some(match k {
                    "name" => name("The channel's name"),
                    "format" => one_of(FORMATS, "The payload's format"),
                    "url" => string("The webhook URL (may hold a token; never shown)"),
                    "events" => json!({
                        "type": "array",
                        "items": { "type": "string", "enum": NotifyKind::NAMES },
                        "description": "What it hears (default: everything)",
                    }),
                    "timeout" => duration("How long one delivery may take"),
                    "retries" => integer(0, "Further attempts after a failed delivery"),
                    _ => return None,
                })
            },
        )
    }
}
