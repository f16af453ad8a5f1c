use super::*;

fn shape(config: &[(&str, &str)], secrets: &[&str], strategy: &str, steps: &[&str]) -> Shape {
    Shape {
        config: config
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        secrets: secrets.iter().map(|s| s.to_string()).collect(),
        strategy: strategy.into(),
        steps: steps.iter().map(|s| s.to_string()).collect(),
    }
}

fn live(
    version: &str,
    artifacts: &[(&str, Option<&str>)],
    shape: Result<Shape, String>,
) -> Baseline {
    Baseline::Known {
        live: Some(Live {
            version: version.into(),
            run_id: "20261201-000000-aaaa".into(),
            since: None,
            artifacts: artifacts
                .iter()
                .map(|(n, d)| (n.to_string(), d.map(str::to_string)))
                .collect(),
            shape,
        }),
        drift: None,
    }
}

fn arts(a: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    a.iter()
        .map(|(n, d)| (n.to_string(), d.map(str::to_string)))
        .collect()
}

#[test]
fn compares_with_what_is_live_not_with_the_plan() {
    let was = shape(
        &[("replicas", "3"), ("log", "info"), ("old", "x")],
        &["db_password"],
        "canary 10%, 100%",
        &["deploy 10%", "gate prod-approval", "deploy 100%"],
    );
    let now = shape(
        &[("replicas", "5"), ("log", "info"), ("new", "y")],
        &["db_password", "api_token"],
        "canary 10%, 50%, 100%",
        &[
            "deploy 10%",
            "gate prod-approval",
            "deploy 50%",
            "deploy 100%",
        ],
    );
    let c = between(
        "3.0",
        &live(
            "1.0",
            &[
                ("api", Some("sha256:aaa")),
                ("web", Some("sha256:bbb")),
                ("gone", Some("sha256:ccc")),
            ],
            Ok(was),
        ),
        &now,
        &arts(&[
            ("api", Some("sha256:aaa")),
            ("web", Some("sha256:ddd")),
            ("cli", None),
        ]),
    )
    .unwrap();
    assert_eq!(c.live.as_ref().unwrap().version, "1.0");
    let states: Vec<(&str, ArtifactState)> = c
        .artifacts
        .iter()
        .map(|a| (a.name.as_str(), a.state))
        .collect();
    assert_eq!(
        states,
        vec![
            ("api", ArtifactState::Same),
            ("web", ArtifactState::Changed),
            ("cli", ArtifactState::Added),
            ("gone", ArtifactState::Removed),
        ]
    );
    let keys: Vec<(&str, Option<&str>, Option<&str>)> = c
        .config
        .iter()
        .map(|k| (k.key.as_str(), k.live.as_deref(), k.new.as_deref()))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("replicas", Some("3"), Some("5")),
            ("new", None, Some("y")),
            ("old", Some("x"), None),
        ]
    );
    assert_eq!(c.secrets_added, vec!["api_token"]);
    assert!(c.secrets_removed.is_empty());
    assert_eq!(
        c.plan,
        vec![
            "~ strategy: canary 10%, 100% → canary 10%, 50%, 100%",
            "+ step deploy 50%"
        ]
    );
    assert_eq!(
        summary(&c),
        "artifacts 1 changed, 1 new, 1 removed, 1 same · config +1 ~1 -1 · secrets +1 -0 · plan 2 changed"
    );
    assert_eq!(
        headline(&c, "prod"),
        "1.0 → 3.0 in prod (run 20261201-000000-aaaa)"
    );
}

#[test]
fn the_first_release_into_an_environment_brings_everything_new() {
    let now = shape(&[("replicas", "2")], &["token"], "all-at-once", &["deploy"]);
    let c = between(
        "1.0",
        &Baseline::Known {
            live: None,
            drift: None,
        },
        &now,
        &arts(&[("api", Some("sha256:aaa"))]),
    )
    .unwrap();
    assert!(c.first());
    assert_eq!(c.artifacts[0].state, ArtifactState::Added);
    assert_eq!(c.config.len(), 1);
    assert_eq!(c.secrets_added, vec!["token"]);
    assert_eq!(
        headline(&c, "prod"),
        "1.0 into prod: the ledger has no version live there"
    );
}

#[test]
fn what_cannot_be_compared_says_so_and_claims_nothing() {
    let now = shape(&[("a", "1")], &[], "all-at-once", &["deploy"]);
    let c = between(
        "2.0",
        &Baseline::Unknown("database is locked".into()),
        &now,
        &[],
    )
    .unwrap();
    assert!(rows(&c).is_empty());
    assert_eq!(summary(&c), "nothing compared");
    assert!(headline(&c, "prod").contains("unknown (database is locked)"));

    let c = between(
        "2.0",
        &live(
            "1.0",
            &[("api", None)],
            Err("the plan of run x no longer loads".into()),
        ),
        &now,
        &arts(&[("api", Some("sha256:aaa"))]),
    )
    .unwrap();
    assert!(c.config.is_empty() && c.plan.is_empty());
    let text: Vec<String> = rows(&c).into_iter().map(|r| r.text).collect();
    assert!(
        text.contains(
            &"config and plan not compared: the plan of run x no longer loads".to_string()
        ),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("artifact api: cannot compare")),
        "{text:?}"
    );
    assert_eq!(between("2.0", &Baseline::NotAsked, &now, &[]), None);
}

#[test]
fn hostile_text_is_neutralised_in_every_row() {
    let was = shape(&[("k", "old")], &[], "all-at-once", &["deploy"]);
    let now = shape(
        &[("k\u{1b}[2J", "v\nforged line"), ("k", "\u{202e}evil")],
        &["tok\rEN"],
        "all-at-once",
        &["deploy\u{7}"],
    );
    let mut c = between(
        "2.0\u{1b}]52;c;x\u{7}",
        &live("1.0\n", &[], Ok(was)),
        &now,
        &[],
    )
    .unwrap();
    c.drift = Some("held\u{1b}[31m".into());
    c.commits = Some(commits(
        "1.0..2.0".into(),
        Ok(vec!["abc \u{1b}[2Jsubject".into()]),
    ));
    let mut all: Vec<String> = rows(&c).into_iter().map(|r| r.text).collect();
    all.push(headline(&c, "pr\u{1b}od"));
    all.push(summary(&c));
    for line in &all {
        assert!(
            !line
                .chars()
                .any(|ch| ch.is_control() || crate::text::neutral::is_bidi(ch)),
            "{line:?}"
        );
    }
}

#[test]
fn long_commit_logs_are_bounded() {
    let lines: Vec<String> = (0..250).map(|i| format!("{i:07x} commit {i}")).collect();
    let mut from_git = lines[..200].to_vec();
    from_git.push("… and 50 more commits".into());
    let c = commits("1.0..2.0".into(), Ok(from_git));
    assert_eq!(c.lines.len(), MAX_COMMITS);
    assert_eq!(c.more, 250 - MAX_COMMITS);
    let e = commits("1.0..2.0".into(), Err("`1.0` is not a ref".into()));
    assert_eq!(e.error.as_deref(), Some("`1.0` is not a ref"));
}
