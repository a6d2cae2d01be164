//! The real binaries in a real terminal: `liner demo` in tmux, driven by keys, read back with
//! `capture-pane`; afterwards the upstream's own database must hold the edit.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use liner::model::EntityId;

struct Tmux {
    socket: std::path::PathBuf,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux is required for this test (apt install tmux)")
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "desk"];
        args.extend_from_slice(keys);
        assert!(self.run(&args).status.success());
    }

    fn text(&self, text: &str) {
        assert!(
            self.run(&["send-keys", "-t", "desk", "-l", text])
                .status
                .success()
        );
    }

    fn pane(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "desk"]).stdout)
            .into_owned()
    }

    /// Waits until the pane shows `what`, reading it every 50 ms.
    fn wait_for(&self, what: &str, limit: Duration) -> String {
        let start = Instant::now();
        loop {
            let pane = self.pane();
            if pane.contains(what) {
                return pane;
            }
            assert!(
                start.elapsed() < limit,
                "timed out after {limit:?} waiting for {what:?}; the pane shows:\n{pane}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn isrc_on(pane: &str) -> String {
    let at = pane.find("ISRC ").expect("the detail shows the ISRC") + 5;
    pane[at..]
        .split_whitespace()
        .next()
        .expect("an ISRC")
        .to_owned()
}

/// The version the detail's header shows ("version 4 · popularity …").
fn version_on(pane: &str) -> u64 {
    let at = pane.find("version ").expect("the detail shows its version") + 8;
    pane[at..]
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .expect("a version number")
}

/// Every directory under `root` is 0700 and every file 0600 or tighter.
fn assert_private(root: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let mut files = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).expect("metadata");
        let mode = meta.permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{} is {mode:o}", path.display());
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{} is {mode:o}", path.display());
            for entry in std::fs::read_dir(&path).expect("read_dir") {
                stack.push(entry.expect("entry").path());
            }
        } else {
            files += 1;
        }
    }
    assert!(files >= 4, "the demo wrote {files} files");
}

#[test]
fn liner_demo_in_tmux_find_a_recording_with_a_typo_and_correct_a_credit() {
    let version = Command::new("tmux").arg("-V").output();
    assert!(
        version.is_ok_and(|o| o.status.success()),
        "tmux is required for this test (apt install tmux)"
    );
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("demo");
    let tmux = Tmux {
        socket: dir.path().join("tmux.sock"),
    };
    // A scripted $EDITOR: it writes a reason and adds a credit (the first party, as
    // librettist) to the TOML it is handed, as a person in vi would, and leaves.
    let editor = dir.path().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\n\
         party=$(grep -m1 '^party' \"$1\" | cut -d'\"' -f2)\n\
         sed -i 's/^reason = \"\"/reason = \"libretto per the booklet\"/' \"$1\"\n\
         printf '\\n[[credit]]\\nparty = \"%s\"\\nrole = \"librettist\"\\n' \"$party\" >> \"$1\"\n",
    )
    .expect("editor script");
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let command = format!(
        "NO_COLOR=1 EDITOR='{}' '{}' --data '{}' demo --recordings 2000; echo EXIT=$?; sleep 60",
        editor.display(),
        env!("CARGO_BIN_EXE_liner"),
        data.display()
    );
    let started = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "desk",
        "-x",
        "100",
        "-y",
        "30",
        &command,
    ]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );

    tmux.wait_for("search ›", Duration::from_secs(120));
    tmux.wait_for("✓ synced", Duration::from_secs(120));
    // The demo's data (a catalog, its WAL, a token, logs) is its owner's alone.
    assert_private(&data);
    // A name that is an artist's: their recordings, and below them the parties of that name
    // with what tells them apart.
    tmux.text("bjork");
    let pane = tmux.wait_for("── parties (", Duration::from_secs(10));
    assert!(
        pane.contains("◆ Björk") && pane.contains("recordings"),
        "{pane}"
    );
    // One word no entry has: most of the words still find something, and the screen says so.
    tmux.text(" qqqqzzzz");
    tmux.wait_for("partial: no entry has every word", Duration::from_secs(10));
    tmux.keys(&["C-u"]);
    tmux.text("midnigt");
    let pane = tmux.wait_for("Midnight", Duration::from_secs(10));
    assert!(pane.contains("recording"), "{pane}");

    tmux.keys(&["Enter"]);
    // Not " credits ": the footer's hints say "edit credits" while the detail is loading.
    let pane = tmux.wait_for("popularity", Duration::from_secs(10));
    assert!(
        pane.contains(" credits ") && pane.contains("ISRC "),
        "{pane}"
    );
    let isrc = isrc_on(&pane);
    let before = version_on(&pane);

    tmux.keys(&["E"]);
    tmux.wait_for("credits of", Duration::from_secs(10));
    tmux.keys(&["j", "r"]);
    tmux.wait_for("role · type to filter", Duration::from_secs(10));
    tmux.text("orchestrator");
    tmux.keys(&["Enter"]);
    let pane = tmux.wait_for("unsaved", Duration::from_secs(10));
    assert!(pane.contains("Orchestrator"), "{pane}");
    tmux.keys(&["s"]);
    tmux.wait_for("reason for this change", Duration::from_secs(10));
    tmux.text("orchestrator per the session sheet");
    tmux.keys(&["Enter"]);
    let after = before + 1;
    let pane = tmux.wait_for(&format!("version {after} ·"), Duration::from_secs(60));
    assert!(
        pane.contains("Orchestrator") && pane.contains(&format!("v{after} editor")),
        "{pane}"
    );
    // The footer no longer says the edit is pending once the mirror has it.
    assert!(
        !pane.contains("pending until linerd") && pane.contains("synced: the mirror is at version"),
        "{pane}"
    );

    // `e`: the credits as TOML in $EDITOR; the terminal comes back to a live console.
    tmux.keys(&["e"]);
    let edited = after + 1;
    let pane = tmux.wait_for(&format!("version {edited} ·"), Duration::from_secs(60));
    assert!(
        pane.contains("Librettist") && pane.contains(&format!("v{edited} editor")),
        "{pane}"
    );
    assert!(
        !pane.contains("EXIT="),
        "the console is still running:\n{pane}"
    );
    tmux.keys(&["h"]);
    let pane = tmux.wait_for("libretto per the booklet", Duration::from_secs(10));
    assert!(
        pane.contains("orchestrator per the session sheet"),
        "{pane}"
    );
    tmux.keys(&["Escape"]);
    tmux.wait_for("popularity", Duration::from_secs(10));

    tmux.keys(&["q"]);
    let pane = tmux.wait_for("EXIT=", Duration::from_secs(30));
    assert!(pane.contains("EXIT=0"), "liner demo exits cleanly:\n{pane}");
    assert!(
        !pane.contains("search ›"),
        "the terminal is restored:\n{pane}"
    );

    // On the upstream itself: the revision with its reason and the role change.
    let recording = {
        let store =
            liner::store::Store::open_existing(data.join("mirror/mirror.sqlite")).expect("mirror");
        let ids = store
            .recordings_by_isrc(&isrc.parse().expect("isrc"))
            .expect("lookup");
        ids[0]
    };
    let revisions = upstream_history(
        &data.join("upstream.sqlite"),
        EntityId::Recording(recording),
    );
    let form = &revisions[after as usize - 1];
    assert_eq!(form.revision.reason, "orchestrator per the session sheet");
    assert_eq!(form.revision.version, after);
    let diff = serde_json::to_string(&form.revision.diff).expect("json");
    assert!(diff.contains("\"orchestrator\""), "{diff}");
    let last = revisions.last().expect("revisions");
    assert_eq!(
        (last.revision.version, last.revision.reason.as_str()),
        (edited, "libretto per the booklet")
    );
    assert_eq!(revisions.len() as u64, edited, "every revision is upstream");
}

fn upstream_history(db: &Path, id: EntityId) -> Vec<liner_upstream::store::HistoryEntry> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = liner_upstream::store::open(&format!("sqlite:{}", db.display()))
            .await
            .expect("upstream db");
        store.history(id).await.expect("history")
    })
}
