//! `slate export RUN`: the journal as NDJSON, whole records only, to stdout
//! or to a new file that is never overwritten.

use std::io::Write;
use std::time::Duration;

use crate::common;
use common::sandbox::Sandbox;

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn export_writes_whole_records_and_never_overwrites() {
    let sb = Sandbox::new();
    let plan = sb.plan("plan.toml", common::release_plan!("[[environments]]\nname = \"dev\"\n[[stages]]\nname = \"deploy\"\ncommand = \"echo hi\"\n"));
    assert!(
        sb.run(&["run", "--headless", plan.to_str().unwrap()], LIMIT)
            .status
            .success()
    );
    let run = common::newest_run(sb.home()).unwrap();
    let journal = std::fs::read_to_string(run.join("journal.ndjson")).unwrap();

    let out = sb.run(&["export"], LIMIT);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), journal);

    // A torn last line (an engine killed mid-write) is left out.
    std::fs::OpenOptions::new()
        .append(true)
        .open(run.join("journal.ndjson"))
        .unwrap()
        .write_all(b"{\"seq\":999,\"ev")
        .unwrap();
    let file = sb.path("out.ndjson");
    let out = sb.run(&["export", "latest", "-o", file.to_str().unwrap()], LIMIT);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let n = journal.lines().count();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("exported {n} records to {}", file.display())
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), journal);
    let records = common::parse_journal(&journal, "export");
    assert_eq!(common::ty(&records[0]), "run_started");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let out = sb.run(&["export", "latest", "-o", file.to_str().unwrap()], LIMIT);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists; it was left as it is"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), journal);

    let out = sb.run(&["export", "nosuchrun"], LIMIT);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}
