//! Real things on this machine a test talks to: a webhook receiver on
//! 127.0.0.1 that keeps every request whole, and a git repository with
//! tagged commits (release notes, the commits a promotion brings).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A loopback HTTP receiver that answers 200 and keeps every request it
/// gets (headers and body) in arrival order; returns its URL and the bytes.
pub fn receiver() -> (String, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    let got = Arc::new(Mutex::new(Vec::new()));
    let store = got.clone();
    std::thread::spawn(move || {
        for sock in listener.incoming().take(200) {
            let Ok(mut sock) = sock else { continue };
            let _ = sock.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            // Headers, then as many body bytes as Content-Length says.
            while let Ok(n) = sock.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf);
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        break;
                    }
                }
            }
            store.lock().expect("receiver lock").extend_from_slice(&buf);
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, got)
}

/// The JSON bodies the receiver has, in order (requests whose body is not JSON are skipped).
pub fn json_bodies(got: &Arc<Mutex<Vec<u8>>>) -> Vec<serde_json::Value> {
    let bytes = got.lock().expect("receiver lock").clone();
    let text = String::from_utf8_lossy(&bytes);
    text.split("POST ")
        .filter_map(|req| {
            let (_, body) = req.split_once("\r\n\r\n")?;
            serde_json::from_str(body.trim()).ok()
        })
        .collect()
}

/// Whether git can be run here (tests that need it say SKIPPED without it).
pub fn has_git() -> bool {
    std::process::Command::new("git")
        .arg("--version")
        .output()
        .is_ok()
}

/// Runs git in `repo` as a fixed author, on branch `main`; panics with git's
/// stderr when it fails.
pub fn git(repo: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(repo)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A new repository at `repo` with one empty commit per `(message, tag)`,
/// tagged where a tag is given.
pub fn tagged_repo(repo: &Path, commits: &[(&str, Option<&str>)]) {
    std::fs::create_dir_all(repo).expect("repo directory");
    git(repo, &["init", "-q"]);
    for (message, tag) in commits {
        git(repo, &["commit", "-q", "--allow-empty", "-m", message]);
        if let Some(t) = tag {
            git(repo, &["tag", t]);
        }
    }
}
