//! The real `slate` binary, black-box and headless: runs, verbs, the control
//! socket, recovery, the demo, secrets and hostile files and text. Every
//! process a test starts carries a unique `SLATE_TEST_TAG` and is killed when
//! the test ends (`common::sandbox`); every wait is a bounded poll.

use slate_testkit as common;

mod big_runs;
mod break_glass;
mod control;
mod demo;
mod demo_service;
mod dossier;
mod export;
mod first_steps;
mod freezes;
mod headless;
mod hostile_files;
mod hostile_text;
mod ledger;
mod locks;
mod prometheus;
mod recover;
mod rollback_to;
mod secrets;
mod stats;
mod store_postgres;
mod team_journal;
mod team_locks;
mod team_steer;
mod validate;
mod verify_http_json;
mod verify_prometheus;
mod verify_vars;
mod what_changes;
mod wrong_output;
