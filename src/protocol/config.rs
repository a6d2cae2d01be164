//! `liner.toml`, which linerd runs by and the console reads its data directory from: built-in
//! defaults, then the file in the XDG config directory (or `--config FILE`), then `LINER_*`
//! environment variables. The commented default file in `config/liner.toml` is compiled in
//! and is what `linerd --print-config` prints; a test keeps it equal to the built-in defaults.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The commented default configuration file.
pub const DEFAULT_FILE: &str = include_str!("../../config/liner.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("{var}={value:?}: {why}")]
    Env {
        var: &'static str,
        value: String,
        why: String,
    },
    #[error("no {what} directory could be found for this user; set {hint}")]
    NoDir {
        what: &'static str,
        hint: &'static str,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub data_dir: PathBuf,
    pub upstream: Upstream,
    pub sync: Sync,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Upstream {
    pub url: String,
    pub token_file: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sync {
    pub page_size: usize,
    pub wait_seconds: u64,
    pub snapshot_batch: usize,
    pub max_backoff_seconds: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::new(),
            upstream: Upstream::default(),
            sync: Sync::default(),
        }
    }
}

impl Default for Upstream {
    fn default() -> Self {
        Upstream {
            url: "http://127.0.0.1:8480".into(),
            token_file: PathBuf::new(),
        }
    }
}

impl Default for Sync {
    fn default() -> Self {
        Sync {
            page_size: 5_000,
            wait_seconds: 30,
            snapshot_batch: 10_000,
            max_backoff_seconds: 30,
        }
    }
}

impl Sync {
    pub fn wait(&self) -> Duration {
        Duration::from_secs(self.wait_seconds)
    }
    pub fn max_backoff(&self) -> Duration {
        Duration::from_secs(self.max_backoff_seconds.max(1))
    }
}

/// Where the config file is looked for when `--config` is not given.
pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("liner").join("liner.toml"))
}

impl Config {
    /// Defaults, then the file (if it exists; a missing default file is not an error, a
    /// missing `--config` file is), then the environment.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let mut config = match explicit.map(Path::to_path_buf).or_else(default_path) {
            Some(path) if explicit.is_some() || path.exists() => Self::from_file(&path)?,
            _ => Config::default(),
        };
        config.apply_env(|k| std::env::var(k).ok())?;
        config.fill_dirs()?;
        Ok(config)
    }

    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
    }

    /// Applies `LINER_*` overrides read through `var`.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(url) = var("LINER_UPSTREAM_URL") {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::Env {
                    var: "LINER_UPSTREAM_URL",
                    value: url,
                    why: "must be an http:// or https:// URL".into(),
                });
            }
            self.upstream.url = url;
        }
        if let Some(f) = var("LINER_TOKEN_FILE") {
            self.upstream.token_file = f.into();
        }
        if let Some(d) = var("LINER_DATA_DIR") {
            self.data_dir = d.into();
        }
        Ok(())
    }

    fn fill_dirs(&mut self) -> Result<(), ConfigError> {
        if self.data_dir.as_os_str().is_empty() {
            self.data_dir = dirs::data_dir()
                .ok_or(ConfigError::NoDir {
                    what: "data",
                    hint: "data_dir in liner.toml or LINER_DATA_DIR",
                })?
                .join("liner");
        }
        if self.upstream.token_file.as_os_str().is_empty() {
            self.upstream.token_file = dirs::config_dir()
                .ok_or(ConfigError::NoDir {
                    what: "config",
                    hint: "upstream.token_file in liner.toml or LINER_TOKEN_FILE",
                })?
                .join("liner")
                .join("token");
        }
        Ok(())
    }

    /// The files of the data directory.
    pub fn data(&self) -> super::DataDir {
        super::DataDir::new(&self.data_dir)
    }
}

/// Why the token file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(
        "reading the token file {path}: {source}; create it with the token from \
         `liner-upstream token create` (and chmod 600 it)"
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the token file {path} is readable by other users (mode {mode:o}); run: chmod 600 {path}"
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error("the token file {path} is empty")]
    Empty { path: PathBuf },
}

/// Reads the token file, refusing one that other users can read.
pub fn read_token(path: &Path) -> Result<String, TokenError> {
    let read = |source| TokenError::Read {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(TokenError::Exposed {
                path: path.to_owned(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let token = std::fs::read_to_string(path)
        .map_err(read)?
        .trim()
        .to_owned();
    if token.is_empty() {
        return Err(TokenError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commented_default_file_is_the_built_in_default() {
        let parsed: Config = toml::from_str(DEFAULT_FILE).expect("the default file parses");
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let mut c: Config = toml::from_str("[upstream]\nurl = \"http://a:1\"\n").expect("parse");
        c.apply_env(|k| (k == "LINER_UPSTREAM_URL").then(|| "http://b:2".to_owned()))
            .expect("env");
        assert_eq!(c.upstream.url, "http://b:2");
        let err = c
            .apply_env(|k| (k == "LINER_UPSTREAM_URL").then(|| "ftp://x".to_owned()))
            .expect_err("refused");
        assert!(err.to_string().contains("LINER_UPSTREAM_URL"));
    }

    #[test]
    fn unknown_settings_are_errors_that_name_them() {
        let err = toml::from_str::<Config>("[sync]\npage_sise = 10\n").expect_err("typo");
        assert!(err.to_string().contains("page_sise"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_token_file_others_can_read_is_refused_with_the_fix() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, "lnr_abc\n").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = read_token(&path).expect_err("refused").to_string();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert_eq!(read_token(&path).expect("read"), "lnr_abc");
    }
}
