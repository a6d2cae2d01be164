//! The daemon's status file, kept current: every change is written whole to `status.json` in
//! the data directory (its format is [`liner::protocol::status`], which the console reads).

use std::path::PathBuf;
use std::sync::Mutex;

pub use liner::protocol::status::{Progress, State, Status, read};

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
        if let Err(e) = liner::protocol::status::write(&self.path, &snapshot) {
            tracing::warn!(error = %e, "cannot write the status file");
        }
    }
}
