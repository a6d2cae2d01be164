//! The `liner` binary as a user runs it: generate a mirror, search it, read the exit codes.

use std::process::Command;

fn liner() -> Command {
    Command::new(env!("CARGO_BIN_EXE_liner"))
}

/// A generated mirror of `recordings` recordings in a new directory, and the first recording
/// a search for "a" finds there (its JSON hit).
fn mirror_with_a_recording(
    recordings: u32,
) -> (tempfile::TempDir, std::path::PathBuf, serde_json::Value) {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("mirror");
    let out = liner()
        .args([
            "generate",
            "--recordings",
            &recordings.to_string(),
            "--data",
        ])
        .arg(&data)
        .output()
        .expect("generate");
    assert!(out.status.success());
    let out = liner()
        .args([
            "search",
            "a",
            "--json",
            "--limit",
            "1",
            "--kind",
            "recording",
            "--data",
        ])
        .arg(&data)
        .output()
        .expect("search");
    let hits: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    (dir, data, hits[0].clone())
}

#[test]
fn generate_then_search_as_a_user_would() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("mirror");
    let out = liner()
        .args(["generate", "--recordings", "2000", "--data"])
        .arg(&data)
        .output()
        .expect("run liner generate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2000 recordings"), "{stderr}");

    // A second generate into the same directory refuses instead of mixing catalogs.
    let again = liner()
        .args(["generate", "--data"])
        .arg(&data)
        .output()
        .expect("run");
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));

    // Björk is in every generated catalog; typed without the accent and half-finished.
    let out = liner()
        .args(["search", "bjo", "--json", "--kind", "party", "--data"])
        .arg(&data)
        .output()
        .expect("run liner search");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hits: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    let names: Vec<&str> = hits
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|h| h["title"].as_str())
        .collect();
    assert!(names.contains(&"Björk"), "{names:?}");

    // The table form, for people.
    let out = liner()
        .args(["search", "bjork", "--data"])
        .arg(&data)
        .output()
        .expect("run");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.starts_with("KIND"), "{table}");
    assert!(table.contains("Björk"), "{table}");

    // Without --kind: recordings first, then parties (a name finds the artist and their
    // records), each party with what tells it apart from others of its name.
    let out = liner()
        .args(["search", "bjork", "--json", "--data"])
        .arg(&data)
        .output()
        .expect("run");
    let hits: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let hits = hits.as_array().expect("array");
    let kinds: Vec<&str> = hits.iter().filter_map(|h| h["kind"].as_str()).collect();
    let first_party = kinds.iter().position(|k| *k == "party").expect("a party");
    assert!(first_party > 0, "recordings come first: {kinds:?}");
    assert!(
        kinds[first_party..].iter().all(|k| *k == "party"),
        "{kinds:?}"
    );
    let party = &hits[first_party];
    assert!(
        party["party_kind"].is_string() && party["credits"].is_u64(),
        "{party}"
    );
    assert!(hits.iter().all(|h| h["partial"] == false));

    // A word no entry has: the entries with the other words, marked partial, and said so.
    let out = liner()
        .args(["search", "bjork qqqqzzzz", "--json", "--data"])
        .arg(&data)
        .output()
        .expect("run");
    let hits: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let hits = hits.as_array().expect("array");
    assert!(!hits.is_empty() && hits.iter().all(|h| h["partial"] == true));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no entry has every word"), "{err}");

    // Nothing found: exit 1, a word on stderr, nothing on stdout.
    let out = liner()
        .args(["search", "qqqqzzzz", "--data"])
        .arg(&data)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());

    // Bad input: an unknown role is named, with the ones that exist.
    let out = liner()
        .args(["search", "x", "--role", "caterer", "--data"])
        .arg(&data)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown role \"caterer\"") && err.contains("producer"),
        "{err}"
    );

    // Piped into a reader that stops early (`| head -1`): a clean exit, not a panic.
    let mut child = liner()
        .args([
            "search",
            "",
            "--role",
            "main_artist",
            "--json",
            "--limit",
            "2000",
            "--data",
        ])
        .arg(&data)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::BufRead as _;
        let mut first = String::new();
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        stdout.read_line(&mut first).expect("read");
        assert!(first.starts_with('['), "{first}");
    }
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn search_without_a_mirror_says_how_to_make_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = liner()
        .args(["search", "x", "--data"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("liner generate --data"));
}

/// Every command's output piped into a reader that stops after one line, and into one that
/// closes before anything is written: each ends quietly, never a panic (101) or a message;
/// once its output is refused, with exit 0.
#[test]
fn every_command_ends_quietly_on_a_closed_pipe() {
    let (_dir, data, hit) = mirror_with_a_recording(1500);
    let rec = hit["id"].as_str().expect("a recording").to_owned();
    let commands: Vec<Vec<&str>> = vec![
        vec!["search", "a"],
        vec!["search", "a", "--json"],
        vec!["show", &rec],
        vec!["show", &rec, "--json"],
        vec!["party", "Björk"],
        vec!["party", "Björk", "--json"],
        vec!["history", &rec],
        vec!["history", &rec, "--json"],
        vec!["status"],
        vec!["status", "--json"],
    ];
    for args in &commands {
        // Its exit code when its whole output is read (`status` says 1: no daemon runs).
        let normal = liner()
            .args(args)
            .arg("--data")
            .arg(&data)
            .output()
            .expect("run")
            .status
            .code();
        // `| head -1`, with the exit status of liner itself: whether head has gone when liner
        // writes again is a race, so its own code or 0 for a refused write.
        let shell = format!(
            "'{}' {} --data '{}' | head -1 >/dev/null; exit ${{PIPESTATUS[0]}}",
            env!("CARGO_BIN_EXE_liner"),
            args.iter()
                .map(|a| format!("'{a}'"))
                .collect::<Vec<_>>()
                .join(" "),
            data.display()
        );
        let out = Command::new("bash")
            .args(["-c", &shell])
            .output()
            .expect("bash");
        assert!(
            (out.status.code() == normal || out.status.code() == Some(0)) && out.stderr.is_empty(),
            "liner {args:?} | head -1: {:?} {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        // A reader that closes at once: every write fails with a broken pipe.
        let mut child = liner()
            .args(args)
            .arg("--data")
            .arg(&data)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        assert_eq!(
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            (Some(0), ""),
            "liner {args:?} into a closed pipe"
        );
    }
}

/// Text in a mirror from before the service's text rules (or from an import) is printed with
/// its control, bidirectional and invisible format characters as code points: nothing the
/// CLI prints can act on the terminal or hide from its reader.
#[test]
fn show_prints_hidden_characters_as_code_points() {
    let (_dir, data, hit) = mirror_with_a_recording(500);
    let rec = hit["id"].as_str().expect("a recording").to_owned();
    let title = hit["title"].as_str().expect("a title").to_owned();
    let db = rusqlite::Connection::open(data.join("mirror.sqlite")).expect("mirror");
    let changed = db
        .execute(
            "UPDATE recording SET title = ?1 WHERE title = ?2",
            [
                "Clipboard\u{1b}]52;c;aGk=\u{7} \u{202E}gnos",
                title.as_str(),
            ],
        )
        .expect("update");
    assert!(changed >= 1, "{title}");
    drop(db);
    let out = liner()
        .args(["show", &rec, "--data"])
        .arg(&data)
        .output()
        .expect("show");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        shown.contains("Clipboard⟨U+001B⟩]52;c;aGk=⟨U+0007⟩ ⟨U+202E⟩gnos"),
        "{shown}"
    );
    assert!(
        !shown
            .chars()
            .any(|c| c != '\n' && (c.is_control() || liner::text::forbidden(c).is_some())),
        "{shown:?}"
    );
}

/// What people type where the commands used to want ids: `party bjork` (no accent, lower
/// case), `history` with an ISRC or a name, `--limit 0` refused with a reason, `status --json`
/// with named counts, and `--data` pointed at a `liner demo --data` directory, whose mirror is
/// one level down.
#[test]
fn the_commands_take_what_people_type() {
    let (dir, data, hit) = mirror_with_a_recording(1500);
    let run = |args: &[&str], data: &std::path::Path| {
        liner()
            .args(args)
            .arg("--data")
            .arg(data)
            .output()
            .expect("run")
    };

    // Björk's name as typed on any keyboard finds the same as the exact name does.
    let exact = run(&["party", "Björk"], &data);
    let typed = run(&["party", "bjork"], &data);
    assert_eq!(typed.status.code(), exact.status.code());
    assert_eq!(typed.stdout, exact.stdout);
    if typed.status.code() == Some(3) {
        // Several Björks: each candidate with what tells it apart, not a bare id.
        let err = String::from_utf8_lossy(&typed.stderr);
        assert!(err.contains("recordings") && err.contains("Björk"), "{err}");
    } else {
        assert_eq!(
            typed.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&typed.stderr)
        );
    }

    // history by ISRC: the recording's revisions.
    let isrc = hit["isrc"].as_str().expect("the hit has an ISRC");
    let out = run(&["history", isrc], &data);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("v1"));
    // history by a party's name.
    let out = run(&["history", "bjork"], &data);
    assert!(matches!(out.status.code(), Some(0 | 3)), "{out:?}");

    // --limit 0 is refused, saying what is allowed.
    let out = run(&["search", "a", "--limit", "0"], &data);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--limit") && err.contains("1..=10000"),
        "{err}"
    );

    // status --json names its counts.
    let out = run(&["status", "--json"], &data);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(status["counts"]["recordings"], 1500, "{status}");

    // A demo's directory: the mirror is in its `mirror/`.
    let demo = dir.path().join("demo");
    std::fs::create_dir_all(&demo).expect("demo dir");
    std::fs::rename(&data, demo.join("mirror")).expect("move the mirror");
    let out = run(&["search", "a", "--json"], &demo);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
