//! The `liner` command line: the lookups of the console's library, and `demo`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use liner_console::cli::{GenerateArgs, LookupArgs, SearchArgs, StatusArgs};

#[derive(Debug, Parser)]
#[command(
    name = "liner",
    version,
    about = "The credits desk of a music streaming catalog"
)]
pub struct Cli {
    /// The config file shared with linerd (default: liner.toml in the XDG config directory).
    #[arg(long, global = true, env = "LINER_CONFIG")]
    pub config: Option<PathBuf>,
    /// The mirror directory, instead of the config's `data_dir`.
    #[arg(long, global = true, env = "LINER_DATA")]
    pub data: Option<PathBuf>,
    /// No colours (state is always in words and symbols too). `NO_COLOR` does the same.
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Without a command: the console on the local mirror.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fill a mirror directory with a generated catalog (deterministic from the seed).
    Generate(GenerateArgs),
    /// Search a mirror as you would type: typos, missing accents and half-typed words are fine.
    Search(SearchArgs),
    /// Everything about one recording: credits grouped by role, works and shares, releases.
    Show(LookupArgs),
    /// Every credit of a party, grouped by role (by name or pty_ id).
    Party(LookupArgs),
    /// Every revision of an entity: who, when, from where, why, and what changed.
    History(LookupArgs),
    /// What the daemon is doing, and the mirror's edits and quarantine.
    Status(StatusArgs),
    /// Try it: an upstream seeded with a generated catalog, a daemon and the console, in one
    /// process, with an editor token. Data goes to a temporary directory unless --data.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Recordings in the generated catalog.
    #[arg(long, default_value_t = 100_000)]
    pub recordings: u64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}
