//! linerd's status file (`status.json` in the data directory): what the daemon is doing,
//! written whole and renamed into place whenever it changes, read by `linerd status`, `liner
//! status` and the console's header. Counts of edits and quarantined records are not in it:
//! readers take them from the mirror itself, so they are never stale.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Me;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    #[default]
    Starting,
    /// Loading the snapshot into an empty mirror.
    Bootstrapping,
    /// Loading the revisions a mirror made before full history lacks.
    Backfilling,
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
            State::Backfilling => "loading the catalog's full history",
            State::CatchingUp => "catching up",
            State::Synced => "synced",
            State::Offline => "offline",
            State::Stopped => "stopped",
        }
    }
}

/// Progress of a bootstrap or a backfill.
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
    pub who: Option<Me>,
    /// The protocol version the upstream speaks, when it is newer than this linerd's: members
    /// this linerd does not know are kept, not understood.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newer_protocol: Option<u32>,
}

/// Why a status file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("reading {path} (is linerd running with this data directory?): {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a linerd status file: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Reads a status file.
pub fn read(path: &Path) -> Result<Status, StatusError> {
    let text = std::fs::read_to_string(path).map_err(|source| StatusError::Read {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| StatusError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// Writes a status file whole: a temporary file renamed over it, so readers never see half.
pub fn write(path: &Path, status: &Status) -> Result<(), StatusError> {
    let fail = |source| StatusError::Write {
        path: path.to_owned(),
        source,
    };
    let tmp = path.with_extension("json.tmp");
    let json = serde_json::to_vec_pretty(status).map_err(|e| fail(std::io::Error::other(e)))?;
    std::fs::write(&tmp, json).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}
