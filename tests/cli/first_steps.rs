//! A newcomer's first hour (issue 23), black-box through the real binary:
//! `slate init` writes plans that validate and never overwrites a file,
//! `slate plan` previews exactly what a run then does (checked by running
//! it), `slate schema` accepts every valid plan and rejects wrong ones,
//! completions load in a real bash, and the man page renders.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common;
use common::pty::{ENTER, Term};
use common::sandbox::Sandbox;

const LIMIT: Duration = Duration::from_secs(60);
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const TEMPLATES: [&str; 5] = ["local", "ssh", "kubernetes", "systemd", "compose"];

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn fixtures(kind: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(format!("{ROOT}/tests/fixtures/{kind}"))
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------- schema

fn schema(sb: &Sandbox) -> Value {
    let out = sb.run(&["schema"], LIMIT);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("the schema is JSON")
}

fn as_json(toml_text: &str) -> Value {
    toml::from_str::<Value>(toml_text).expect("TOML")
}

#[test]
fn the_schema_accepts_every_valid_plan_and_every_template() {
    let sb = Sandbox::new();
    let schema = schema(&sb);
    let validator = jsonschema::draft7::new(&schema).expect("a valid draft-07 schema");
    let mut plans: Vec<(String, String)> = fixtures("valid")
        .into_iter()
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    plans.push((
        "config.example.toml".into(),
        std::fs::read_to_string(format!("{ROOT}/config.example.toml")).unwrap(),
    ));
    for t in TEMPLATES {
        let dir = sb.path(&format!("tpl-{t}"));
        let out = sb.run(&["init", dir.to_str().unwrap(), "-t", t], LIMIT);
        assert!(out.status.success(), "init {t}: {}", stderr(&out));
        plans.push((
            format!("template {t}"),
            std::fs::read_to_string(dir.join("slate.toml")).unwrap(),
        ));
    }
    assert!(plans.len() > 10);
    for (name, text) in &plans {
        let errors: Vec<String> = validator
            .iter_errors(&as_json(text))
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name} fails the schema: {errors:#?}");
    }
}

#[test]
fn the_schema_rejects_unknown_keys_wrong_types_and_unknown_kinds() {
    let sb = Sandbox::new();
    let schema = schema(&sb);
    let validator = jsonschema::draft7::new(&schema).expect("schema");
    for name in [
        "06-unknown-top-level-key",
        "07-stage-unknown-key",
        "08-unknown-keys-env-gate",
        "09-wrong-types",
        "15-unknown-stage-kind",
        "16-unknown-strategy-kind",
        "31-no-release-table",
    ] {
        let path = format!("{ROOT}/tests/fixtures/invalid/{name}.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        // The loader refuses it (the fixture's own test says how) ...
        let out = sb.run(&["validate", &path], LIMIT);
        assert_eq!(out.status.code(), Some(2), "{name} is invalid");
        // ... and so does the schema, so an editor flags it as it is typed.
        assert!(
            !validator.is_valid(&as_json(&text)),
            "the schema accepts {name}"
        );
    }
    // A misspelt key anywhere (here in an environment's approval table) too.
    let text = r#"
[release]
name = "a"
version = "2"
previous_version = "1"
owner = "o"
[[environments]]
name = "prod"
approval = { requierd = 2 }
[[stages]]
name = "s"
command = "true"
"#;
    assert!(!validator.is_valid(&as_json(text)));
}

#[test]
fn the_schema_describes_every_key_the_loader_accepts_and_the_shipped_copy_is_current() {
    // Keys come from the loader's own lists; each must have a type and help.
    assert_eq!(
        slate::plan::schema::undocumented(),
        Vec::<String>::new(),
        "keys the loader accepts without a type in the schema"
    );
    let sb = Sandbox::new();
    let generated = schema(&sb);
    let shipped: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{ROOT}/assets/plan.schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        generated, shipped,
        "assets/plan.schema.json is stale: slate schema -o assets/plan.schema.json"
    );
    let example = std::fs::read_to_string(format!("{ROOT}/config.example.toml")).unwrap();
    assert!(
        example.starts_with("#:schema ./assets/plan.schema.json\n"),
        "config.example.toml names its schema for taplo"
    );
    // Every table says which keys it has and refuses others.
    fn walk(v: &Value, path: &str, tables: &mut usize) {
        if let Some(props) = v.get("properties").and_then(Value::as_object) {
            *tables += 1;
            assert_eq!(
                v.get("additionalProperties"),
                Some(&Value::Bool(false)),
                "{path} allows unknown keys"
            );
            for (k, p) in props {
                assert!(
                    p.get("description").and_then(Value::as_str).is_some(),
                    "{path}.{k} has no description"
                );
                walk(p, &format!("{path}.{k}"), tables);
            }
        }
        for key in ["items", "anyOf"] {
            match v.get(key) {
                Some(Value::Array(a)) => a.iter().for_each(|x| walk(x, path, tables)),
                Some(x) => walk(x, path, tables),
                None => {}
            }
        }
    }
    let mut tables = 0;
    walk(&generated, "plan", &mut tables);
    assert!(tables >= 15, "only {tables} tables described");
}

// ---------------------------------------------------------------- init

#[test]
fn every_template_writes_a_plan_that_validates_and_previews() {
    let sb = Sandbox::new();
    let list = sb.run(&["init", "--list"], LIMIT);
    assert!(list.status.success());
    for t in TEMPLATES {
        assert!(stdout(&list).contains(t), "--list names {t}");
        let dir = sb.path(t);
        let out = sb.run(&["init", dir.to_str().unwrap(), "--template", t], LIMIT);
        assert!(out.status.success(), "init {t}: {}", stderr(&out));
        let plan = dir.join("slate.toml");
        let text = std::fs::read_to_string(&plan).unwrap();
        assert!(text.starts_with("#:schema ./slate.schema.json\n"), "{t}");
        assert!(dir.join("slate.schema.json").is_file());
        if t != "local" {
            assert!(text.contains("FILL IN"), "{t} names what to fill in");
        }
        let v = sb.run(&["validate", plan.to_str().unwrap()], LIMIT);
        assert!(v.status.success(), "{t} validates: {}", stderr(&v));
        let p = sb.run(&["plan", plan.to_str().unwrap()], LIMIT);
        assert!(p.status.success(), "{t} previews: {}", stderr(&p));
    }
}

#[test]
fn init_never_overwrites_a_file_without_force_nor_writes_through_a_symlink() {
    let sb = Sandbox::new();
    let dir = sb.path("here");
    std::fs::create_dir(&dir).unwrap();
    let plan = dir.join("slate.toml");
    std::fs::write(&plan, "mine\n").unwrap();
    let d = dir.to_str().unwrap();
    let out = sb.run(&["init", d, "-t", "ssh"], LIMIT);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&plan).unwrap(), "mine\n");

    let out = sb.run(&["init", d, "-t", "ssh", "--force"], LIMIT);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::read_to_string(&plan)
            .unwrap()
            .contains("[release]")
    );

    // A symlink in the plan's place is never written through, forced or not.
    let target = sb.path("elsewhere.txt");
    std::fs::write(&target, "precious\n").unwrap();
    let linked = sb.path("linked");
    std::fs::create_dir(&linked).unwrap();
    std::os::unix::fs::symlink(&target, linked.join("slate.toml")).unwrap();
    for extra in [None, Some("--force")] {
        let mut args = vec!["init", linked.to_str().unwrap(), "-t", "compose"];
        args.extend(extra);
        let out = sb.run(&args, LIMIT);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n");
    }

    // A file where the directory should be.
    let file = sb.path("a-file");
    std::fs::write(&file, "x").unwrap();
    let out = sb.run(&["init", file.to_str().unwrap(), "-t", "ssh"], LIMIT);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot"), "{}", stderr(&out));
}

#[test]
fn init_names_the_templates_when_it_cannot_ask() {
    let sb = Sandbox::new();
    let out = sb.run(
        &["init", sb.path("x").to_str().unwrap(), "-t", "kubernets"],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("did you mean `kubernetes`"),
        "{}",
        stderr(&out)
    );
    // stdin is not a terminal: no prompt, a message and a status.
    let out = sb.run(&["init", sb.path("y").to_str().unwrap()], LIMIT);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--template"), "{}", stderr(&out));
    assert!(!sb.path("y").join("slate.toml").exists());
}

#[test]
fn init_on_a_terminal_asks_which_template() {
    let sb = Sandbox::new();
    let dir = sb.path("asked");
    let mut term = Term::builder(&["init", dir.to_str().unwrap()])
        .env("SLATE_HOME", sb.home())
        .cwd(sb.dir.path())
        .size(100, 30)
        .start();
    term.wait_for("Number or name", Duration::from_secs(20));
    term.send(b"3");
    term.send(ENTER);
    assert!(term.wait_exit(Duration::from_secs(20)).success());
    let text = std::fs::read_to_string(dir.join("slate.toml")).unwrap();
    assert!(text.contains("kubectl"), "the third template is kubernetes");
}

// ---------------------------------------------------------------- plan

#[test]
fn plan_refuses_bad_input_with_a_message_and_a_status() {
    let sb = Sandbox::new();
    let out = sb.run(&["plan", "no-such.toml"], LIMIT);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no-such.toml"), "{}", stderr(&out));

    std::fs::create_dir(sb.path("adir")).unwrap();
    let out = sb.run(&["plan", sb.path("adir").to_str().unwrap()], LIMIT);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).is_empty());

    // A FIFO nobody writes to and a file past the plan size cap: refused
    // at once, not waited on nor read whole.
    let fifo = sb.path("fifo.toml");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let huge = sb.path("huge.toml");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(64 * 1024 * 1024)
        .unwrap();
    for (what, path) in [("fifo", &fifo), ("huge", &huge)] {
        for verb in ["plan", "doctor"] {
            let out = sb.run(&[verb, path.to_str().unwrap()], LIMIT);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{verb} {what}: {}",
                stderr(&out)
            );
        }
    }

    // An invalid plan: the same FILE:LINE:COL report as `slate validate`.
    let bad = format!("{ROOT}/tests/fixtures/invalid/09-wrong-types.toml");
    let planned = sb.run(&["plan", &bad], LIMIT);
    let validated = sb.run(&["validate", &bad], LIMIT);
    assert_eq!(planned.status.code(), Some(2));
    assert_eq!(stderr(&planned), stderr(&validated));
    assert!(stderr(&planned).contains("09-wrong-types.toml:"));

    let example = format!("{ROOT}/config.example.toml");
    let out = sb.run(&["plan", &example, "--env", "prd"], LIMIT);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("did you mean `prod`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn plan_text_from_a_hostile_plan_cannot_drive_the_terminal() {
    let sb = Sandbox::new();
    let plan = sb.plan(
        "hostile.toml",
        "[release]\nname = \"x\"\nversion = \"2\"\nprevious_version = \"1\"\nowner = \"o\"\n\
         notes = \"line\\u001b[2Jcleared\\nforged\"\n\
         [[stages]]\nname = \"s\"\ncommand = \"echo \\u001b]52;c;aGk=\\u0007 \\u009b31m\"\n\
         env = { NOTE = \"a\\u001b[31mred\" }\n",
    );
    for args in [vec![], vec!["--dossier"], vec!["--json"]] {
        let mut a = vec!["plan", plan.to_str().unwrap()];
        a.extend(args.iter().copied());
        let out = sb.run(&a, LIMIT);
        assert!(out.status.success(), "{a:?}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\u{9b}'),
            "{a:?} printed a control character: {text:?}"
        );
        if args == ["--json"] {
            // Still JSON, holding the command as written.
            let v: Value = serde_json::from_str(&text).expect("valid JSON");
            let command = v["environments"][0]["steps"][0]["command"]
                .as_str()
                .unwrap();
            assert!(command.contains("\u{1b}]52;") && command.contains('\u{9b}'));
        }
    }
    // Written to a file, the same.
    let file = sb.path("preview.txt");
    let out = sb.run(
        &["plan", plan.to_str().unwrap(), "-o", file.to_str().unwrap()],
        LIMIT,
    );
    assert!(out.status.success());
    assert!(!std::fs::read_to_string(&file).unwrap().contains('\u{1b}'));
}

/// The journal of the newest run in `home`.
fn journal(home: &Path) -> Vec<Value> {
    let dir = common::newest_run(home).expect("a run");
    common::read_journal(&dir.join("journal.ndjson"))
}

fn preview_json(sb: &Sandbox, plan: &Path) -> Value {
    let out = sb.run(&["plan", plan.to_str().unwrap(), "--json"], LIMIT);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn labels(preview: &Value) -> Vec<Vec<String>> {
    preview["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["steps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["label"].as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn the_example_runs_the_steps_its_preview_shows_in_that_order() {
    let sb = Sandbox::new();
    let example = Path::new(ROOT).join("config.example.toml");
    let preview = preview_json(&sb, &example);
    let out = sb
        .slate()
        .args([
            "run",
            example.to_str().unwrap(),
            "--headless",
            "--auto-approve",
        ])
        .env("SLATE_EXAMPLE_ROOT", sb.path("example-root"))
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let recs = journal(sb.home());
    let started = common::only(&recs, "run_started");
    let outline: Vec<Vec<String>> = started["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["steps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["label"].as_str().unwrap().to_string())
                .collect()
        })
        .collect();
    assert_eq!(labels(&preview), outline, "the steps, per environment");
    // And the run walked them in that order, each once.
    let walked: Vec<(u64, u64)> = common::events(&recs, "step_started")
        .iter()
        .filter(|r| r["attempt"] == 1)
        .map(|r| (r["env"].as_u64().unwrap(), r["step"].as_u64().unwrap()))
        .collect();
    let planned: Vec<(u64, u64)> = outline
        .iter()
        .enumerate()
        .flat_map(|(e, steps)| (0..steps.len()).map(move |s| (e as u64, s as u64)))
        .collect();
    assert_eq!(walked, planned);
}

#[test]
fn every_command_gets_the_variables_its_preview_shows() {
    let sb = Sandbox::new();
    // Each command writes its SLATE_* variables (and the stage's own) to
    // the next numbered file, so the files line up with the run steps.
    let record = r#"n=$(ls "@DIR@/vars" | wc -l); env | grep -E '^(SLATE_|NOTE=)' | grep -vE '^SLATE_(RUN_ID|RUN_DIR|ATTEMPT|STEP_ID|BIN|TEST_TAG|HOME)=' | sort > "@DIR@/vars/$(printf %03d "$n")""#;
    std::fs::create_dir(sb.path("vars")).unwrap();
    let plan = sb.plan(
        "vars.toml",
        &format!(
            r#"
[release]
name = "shop"
version = "2.0"
previous_version = "1.9"
owner = "me"

[[environments]]
name = "dev"
config = {{ replicas = 1, "log-level" = "debug" }}

[[environments]]
name = "staging"
config = {{ replicas = 2 }}
strategy = {{ kind = "rolling", batches = 2 }}

[[environments]]
name = "prod"
strategy = {{ kind = "canary", steps = [50, 100] }}

[[environments]]
name = "live-bg"
production = false
strategy = {{ kind = "blue-green", color = "green", switch = '''{record}''' }}

[[stages]]
name = "prepare"
env = {{ NOTE = "hello world" }}
command = '''{record}'''

[[stages]]
name = "deploy"
rollout = true
command = '''{record}'''
"#
        ),
    );
    let preview = preview_json(&sb, &plan);
    let out = sb.run(&["run", plan.to_str().unwrap(), "--headless"], LIMIT);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut files: Vec<_> = std::fs::read_dir(sb.path("vars"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let expected: Vec<Vec<String>> = preview["environments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["steps"].as_array().unwrap().clone())
        .filter(|s| s["kind"] == "run")
        .map(|s| {
            let mut v: Vec<String> = s["vars"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
                .collect();
            v.sort();
            v
        })
        .collect();
    let got: Vec<Vec<String>> = files
        .iter()
        .map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect()
        })
        .collect();
    assert_eq!(
        expected.len(),
        11,
        "the run steps: 2 + 3 + 3 + 3 (a switch)"
    );
    assert_eq!(got, expected);
    // Values the run alone knows are named, not made up.
    let run_vars: Vec<&str> = preview["run_vars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(run_vars.contains(&"SLATE_RUN_ID"));
}

#[test]
fn plan_json_names_secrets_and_never_their_values_or_webhook_urls() {
    let sb = Sandbox::new();
    let plan = sb.plan(
        "secret.toml",
        r#"
[release]
name = "x"
version = "2"
previous_version = "1"
owner = "o"

[secrets]
DB_PASSWORD = "env:SLATE_TEST_DB_PASSWORD"

[[channels]]
name = "ops"
url = "http://127.0.0.1:9/hooks/T0K3N-in-the-url"

[[stages]]
name = "migrate"
secrets = ["DB_PASSWORD"]
command = "true"
"#,
    );
    for args in [vec!["--json"], vec![], vec!["--dossier"]] {
        let mut a = vec!["plan", plan.to_str().unwrap()];
        a.extend(args.iter().copied());
        let out = sb
            .slate()
            .args(&a)
            .env("SLATE_TEST_DB_PASSWORD", "hunter2-value")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(!text.contains("hunter2-value"), "{a:?}");
        assert!(!text.contains("T0K3N"), "{a:?}: {text}");
        if args == ["--json"] {
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["secrets"][0]["name"], "DB_PASSWORD");
            assert_eq!(
                v["environments"][0]["steps"][0]["secrets"][0],
                "DB_PASSWORD"
            );
        }
    }
}

#[test]
fn plan_shows_rollback_order_irreversible_steps_and_the_minimum_duration() {
    let sb = Sandbox::new();
    let plan = sb.plan(
        "undo.toml",
        r#"
[release]
name = "x"
version = "2"
previous_version = "1"
owner = "o"

[[environments]]
name = "prod"
gates = ["soak"]

[[gates]]
name = "soak"
kind = "soak"
wait = "90s"

[[stages]]
name = "schema"
command = "true"
rollback = "undo-schema"
[[stages]]
name = "drop-column"
irreversible = true
command = "true"
[[stages]]
name = "deploy"
command = "true"
rollback = "undo-deploy"
"#,
    );
    let v = preview_json(&sb, &plan);
    let undo: Vec<(String, bool)> = v["environments"][0]["undo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["label"].as_str().unwrap().to_string(),
                u["irreversible"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(
        undo,
        [
            ("deploy".to_string(), false),
            ("drop-column".to_string(), true),
            ("schema".to_string(), false),
        ]
    );
    assert_eq!(v["min_duration_ms"], 90_000);
    let text = stdout(&sb.run(&["plan", plan.to_str().unwrap()], LIMIT));
    assert!(
        text.contains("IRREVERSIBLE — a rollback stops here"),
        "{text}"
    );
    assert!(text.contains("$ undo-deploy"), "{text}");
    assert!(text.contains("At least 1m 30s"), "{text}");
}

// ---------------------------------------------------------------- completions, man

#[test]
fn completions_are_generated_for_every_shell() {
    let sb = Sandbox::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = sb.run(&["completions", shell], LIMIT);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let text = stdout(&out);
        for verb in ["validate", "plan", "init", "completions"] {
            assert!(text.contains(verb), "{shell} completes {verb}");
        }
    }
    let out = sb.run(&["completions", "tcsh"], LIMIT);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_man_page_renders_and_writes_one_page_per_verb() {
    let sb = Sandbox::new();
    let out = sb.run(&["man"], LIMIT);
    assert!(out.status.success());
    let page = stdout(&out);
    assert!(page.contains(".TH slate 1"), "{page}");
    assert!(page.contains("validate"));
    let dir = sb.path("man");
    let out = sb.run(&["man", "--dir", dir.to_str().unwrap()], LIMIT);
    assert!(out.status.success(), "{}", stderr(&out));
    for page in [
        "slate.1",
        "slate-plan.1",
        "slate-init.1",
        "slate-validate.1",
    ] {
        assert!(dir.join(page).is_file(), "{page}");
    }
}

/// Bash in a pty, reading its screen through vt100.
struct Bash {
    writer: Box<dyn Write + Send>,
    screen: Arc<Mutex<vt100::Parser>>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

impl Bash {
    fn start(home: &Path, slate_home: &Path) -> Bash {
        use portable_pty::{CommandBuilder, PtySize, native_pty_system};
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 120,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("pty");
        let mut cmd = CommandBuilder::new("bash");
        cmd.args(["--norc", "--noprofile", "-i"]);
        cmd.env("PS1", "$ ");
        cmd.env("HOME", home);
        cmd.env("TERM", "xterm");
        cmd.env("SLATE_HOME", slate_home);
        // `slate complete`, which the script asks, is found on PATH.
        let bin = Path::new(env!("CARGO_BIN_EXE_slate")).parent().unwrap();
        cmd.env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        );
        let child = pair.slave.spawn_command(cmd).expect("bash");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let screen = Arc::new(Mutex::new(vt100::Parser::new(24, 120, 0)));
        let s = screen.clone();
        std::thread::spawn(move || {
            let _keep = pair.master;
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                s.lock().unwrap().process(&buf[..n]);
            }
        });
        Bash {
            writer,
            screen,
            child,
        }
    }

    fn send(&mut self, s: &str) {
        self.writer.write_all(s.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    fn wait_for(&self, needle: &str) -> String {
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen.lock().unwrap().screen().contents();
            if screen.contains(needle) {
                return screen;
            }
            assert!(
                Instant::now() < end,
                "bash never showed {needle:?}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Bash {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn bash_completion_loads_in_a_real_shell_and_completes_a_verb() {
    let sb = Sandbox::new();
    let script = sb.path("slate.bash");
    let out = sb.run(&["completions", "bash"], LIMIT);
    std::fs::write(&script, &out.stdout).unwrap();
    let mut bash = Bash::start(sb.dir.path(), sb.home());
    bash.wait_for("$ ");
    bash.send(&format!(
        "source '{}' && echo loaded-ok\r",
        script.display()
    ));
    bash.wait_for("loaded-ok");
    // `slate vali<Tab>` becomes `slate validate `; `slate init --temp<Tab>` too.
    bash.send("slate vali\t");
    bash.wait_for("slate validate");
    bash.send("\x15slate init --temp\t");
    bash.wait_for("slate init --template");
}

// ---------------------------------------------------------------- doctor

#[test]
fn doctor_tries_the_plans_metric_sources_and_channels_and_says_what_to_fix() {
    let sb = Sandbox::new();
    let listening = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let up = listening.local_addr().unwrap().port();
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let plan = sb.plan(
        "doctor.toml",
        &format!(
            r#"
[release]
name = "x"
version = "2"
previous_version = "1"
owner = "o"

[[metrics]]
name = "errors"
scrape = "http://127.0.0.1:{up}/metrics"
query = "errors_total"
success = "< 1"

[[channels]]
name = "ops"
url = "http://127.0.0.1:{down}/hook/T0K3N"

[[stages]]
name = "s"
command = "true"
"#
        ),
    );
    let out = sb.run(&["doctor", plan.to_str().unwrap()], LIMIT);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line about {needle}:\n{text}"))
            .to_string()
    };
    assert!(line("metric errors").starts_with("ok"), "{text}");
    assert!(line("channel ops").starts_with("FIX"), "{text}");
    assert!(line("state directory").starts_with("ok"), "{text}");
    assert!(
        !text.contains("T0K3N"),
        "a channel URL is never shown: {text}"
    );
    // One line per finding.
    assert!(
        text.lines()
            .all(|l| l.starts_with("ok") || l.starts_with("note") || l.starts_with("FIX"))
    );
    drop(listening);

    // A bad plan: the validator's report and status 2.
    let bad = format!("{ROOT}/tests/fixtures/invalid/09-wrong-types.toml");
    let out = sb.run(&["doctor", &bad], LIMIT);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("09-wrong-types.toml:"));
}

#[test]
fn doctor_refuses_a_state_directory_others_may_write() {
    let sb = Sandbox::new();
    use std::os::unix::fs::PermissionsExt;
    let home = sb.path("open-home");
    std::fs::create_dir(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = sb
        .slate()
        .arg("doctor")
        .env("SLATE_HOME", &home)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.lines()
            .any(|l| l.starts_with("FIX") && l.contains("state directory")),
        "{text}"
    );
    // Doctor wrote nothing there.
    assert_eq!(std::fs::read_dir(&home).unwrap().count(), 0);
}

#[test]
fn bash_completes_run_ids_gates_and_environments_by_asking_slate() {
    let sb = Sandbox::new();
    let plan = sb.plan(
        "gated.toml",
        r#"
[release]
name = "x"
version = "2"
previous_version = "1"
owner = "o"

[[environments]]
name = "qa-zone"
[[environments]]
name = "prod-zone"
gates = ["big-button"]

[[gates]]
name = "big-button"
kind = "manual"

[[stages]]
name = "s"
command = "true"
"#,
    );
    let out = sb.run(
        &[
            "run",
            plan.to_str().unwrap(),
            "--headless",
            "--auto-approve",
        ],
        LIMIT,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let run_id = common::newest_run(sb.home())
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let script = sb.path("slate.bash");
    std::fs::write(&script, sb.run(&["completions", "bash"], LIMIT).stdout).unwrap();
    let mut bash = Bash::start(sb.dir.path(), sb.home());
    bash.wait_for("$ ");
    bash.send(&format!(
        "source '{}' && echo loaded-ok\r",
        script.display()
    ));
    bash.wait_for("loaded-ok");
    // The run's id: `slate show 2<Tab>` (ids start with the year).
    bash.send("slate show 2\t");
    bash.wait_for(&format!("slate show {run_id}"));
    bash.send("\x15slate approve latest big\t");
    bash.wait_for("slate approve latest big-button");
    bash.send(&format!("\x15slate plan {} --env prod-\t", plan.display()));
    bash.wait_for("--env prod-zone");
}

// ---------------------------------------------------------------- snapshots

#[test]
fn the_preview_of_a_canary_plan_reads_as_reviewed() {
    let sb = Sandbox::new();
    let plan = format!("{ROOT}/tests/fixtures/valid/canary.toml");
    let out = sb.run(&["plan", &plan], LIMIT);
    assert!(out.status.success(), "{}", stderr(&out));
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn every_valid_fixture_starts_the_run_its_preview_shows() {
    for fixture in fixtures("valid") {
        // A copy in the sandbox: its commands (`make build`, `cargo
        // publish`…) then find nothing of this repository to act on, and
        // the run is stopped once it has journaled what it will walk.
        let sb = Sandbox::new();
        let name = fixture.file_name().unwrap().to_str().unwrap().to_string();
        let plan = sb.plan(&name, &std::fs::read_to_string(&fixture).unwrap());
        let preview = preview_json(&sb, &plan);
        let mut child = sb
            .slate()
            .args(["run", plan.to_str().unwrap(), "--headless"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("slate run");
        let mut started = None;
        sb.wait_for(&format!("{name}: run_started"), LIMIT, || {
            // Whether it has ended is asked first: its journal is then complete.
            let ended = child.try_wait().ok().flatten().is_some();
            started = common::newest_run(sb.home())
                .map(|d| common::read_journal(&d.join("journal.ndjson")))
                .and_then(|recs| {
                    recs.first()
                        .filter(|r| common::ty(r) == "run_started")
                        .map(|r| r["event"].clone())
                });
            started.is_some() || ended
        });
        let _ = child.kill();
        let _ = child.wait();
        let started = started.unwrap_or_else(|| panic!("{name}: the run never started"));
        let outline: Vec<Vec<String>> = started["environments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                e["steps"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s["label"].as_str().unwrap().to_string())
                    .collect()
            })
            .collect();
        assert_eq!(labels(&preview), outline, "{name}");
    }
}
