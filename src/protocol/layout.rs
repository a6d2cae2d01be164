//! Where a workstation's files live inside its data directory. linerd creates them; the
//! console, the CLI and `liner demo` find them by the same names.

use std::path::{Path, PathBuf};

/// The files of one data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    pub root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }

    /// The mirror's SQLite database.
    pub fn mirror(&self) -> PathBuf {
        self.root.join("mirror.sqlite")
    }

    /// The search index directory.
    pub fn index(&self) -> PathBuf {
        self.root.join("index")
    }

    /// linerd's status file.
    pub fn status(&self) -> PathBuf {
        self.root.join("status.json")
    }

    /// The console's log (the console never writes logs onto the screen).
    pub fn console_log(&self) -> PathBuf {
        self.root.join("liner.log")
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}
