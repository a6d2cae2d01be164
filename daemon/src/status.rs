//! The daemon's status, written atomically to `status.json` in the data directory whenever it
//! changes, where `linerd status` and the console read it. Counts of pending, conflicted and
//! rejected edits and of quarantined records are not in the file: readers take them from the
//! mirror itself, so they are never stale.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    #[default]
    Starting,
    /// Loading the snapshot into an empty mirror.
    Bootstrapping,
    /// Applying feed pages, behind the upstream head.
    CatchingUp,
    /// At the upstream head, long-polling for more.
    Synced,
    /// The upstream cannot be reached or answers badly; retrying with backoff.
    Offline,
    Stopped,
}

impl State {
    pub fn words(self) -> &'static str {
        match self {
            State::Starting => "starting",
            State::Bootstrapping => "loading the catalog snapshot",
            State::CatchingUp => "catching up",
            State::Synced => "synced",
            State::Offline => "offline",
            State::Stopped => "stopped",
        }
    }
}

/// Bootstrap progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub done: u64,
    pub total: Option<u64>,
    pub per_second: f64,
    pub eta_seconds: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub state: State,
    pub upstream: String,
    /// The daemon's process id, so a reader can tell a stale file from a live daemon.
    pub pid: u32,
    pub updated_at: String,
    /// The feed cursor the mirror is at.
    pub cursor: Option<String>,
    /// Changes between the mirror and the upstream head at the last poll.
    pub behind: Option<u64>,
    /// When a feed page or the snapshot last came through.
    pub last_poll_at: Option<String>,
    pub offline_since: Option<String>,
    /// The last error, in words.
    pub last_error: Option<String>,
    /// Failed attempts in a row since the last success (each after a longer pause).
    #[serde(default)]
    pub retries: u32,
    pub bootstrap: Option<Progress>,
    /// Whom the token belongs to, as the upstream said at the last connection: the console
    /// takes the role (and so whether it may edit) from here.
    #[serde(default)]
    pub who: Option<Who>,
}

/// The token's holder, from the upstream's `/v1/me`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Who {
    pub name: String,
    pub role: String,
    #[serde(default)]
    pub parties: Vec<String>,
    pub may_edit: bool,
}

/// The status file and the status it holds.
#[derive(Debug)]
pub struct StatusFile {
    path: PathBuf,
    current: Mutex<Status>,
}

impl StatusFile {
    pub fn new(path: PathBuf, upstream: &str) -> Self {
        let status = Status {
            upstream: upstream.to_owned(),
            pid: std::process::id(),
            ..Status::default()
        };
        StatusFile {
            path,
            current: Mutex::new(status),
        }
    }

    pub fn get(&self) -> Status {
        self.current.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Changes the status and writes it (temporary file, then rename: readers never see half).
    pub fn update(&self, f: impl FnOnce(&mut Status)) {
        let snapshot = {
            let Ok(mut s) = self.current.lock() else {
                return;
            };
            f(&mut s);
            s.updated_at = jiff::Timestamp::now().to_string();
            s.clone()
        };
        if let Err(e) = write_atomically(&self.path, &snapshot) {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot write the status file");
        }
    }
}

fn write_atomically(path: &Path, status: &Status) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let json = serde_json::to_vec_pretty(status).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, json)?;
    std::fs::rename(&tmp, path)
}

/// Reads a status file.
pub fn read(path: &Path) -> anyhow::Result<Status> {
    use anyhow::Context as _;
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading {} (is linerd running with this data directory?)",
            path.display()
        )
    })?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a status file", path.display()))
}
