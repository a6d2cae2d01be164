//! The config watcher: tells the daemon when `liner.toml` changed on disk (debounced, so an
//! editor's write-rename-chmod sequence is one change). It watches the file's directory, not
//! the file, because editors replace files rather than write them in place.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use notify_debouncer_mini::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};

/// Keeps watching while it lives.
pub struct ConfigWatcher {
    _debouncer: Debouncer<RecommendedWatcher>,
}

impl std::fmt::Debug for ConfigWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigWatcher").finish_non_exhaustive()
    }
}

/// Sends `()` on `changed` whenever `file` is written, replaced or removed.
pub fn watch(
    file: &Path,
    changed: tokio::sync::mpsc::UnboundedSender<()>,
) -> anyhow::Result<ConfigWatcher> {
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let name: PathBuf = file
        .file_name()
        .context("the config path names no file")?
        .into();
    let mut debouncer = new_debouncer(
        Duration::from_millis(250),
        move |res: DebounceEventResult| match res {
            Ok(events) => {
                if events
                    .iter()
                    .any(|e| e.path.file_name() == Some(name.as_os_str()))
                {
                    let _ = changed.send(());
                }
            }
            Err(e) => tracing::warn!(error = %e, "watching the config file"),
        },
    )
    .context("starting the config file watcher")?;
    debouncer
        .watcher()
        .watch(&dir, RecursiveMode::NonRecursive)
        .with_context(|| format!("watching {}", dir.display()))?;
    Ok(ConfigWatcher {
        _debouncer: debouncer,
    })
}
