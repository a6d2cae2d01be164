//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
pub struct LookupArgs {
    /// An id (rec_…, pty_…, wrk_…), an ISRC, or for `party` a name.
    pub what: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Recordings in the generated catalog.
    #[arg(long, default_value_t = 100_000)]
    pub recordings: u64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// How many recordings (about a quarter as many parties, and works and releases to match).
    #[arg(long, default_value_t = 100_000)]
    pub recordings: u64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Replace a mirror that is already there.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Kind {
    Recording,
    Party,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// What to look for: title words, artist or credited names, or an ISRC / ISNI / IPI.
    pub query: String,
    /// Print JSON (one array of hits) instead of a table.
    #[arg(long)]
    pub json: bool,
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Only recordings or only parties.
    #[arg(long, value_enum)]
    pub kind: Option<Kind>,
    /// Only recordings with a credit in this role (e.g. producer, mixing_engineer).
    #[arg(long)]
    pub role: Option<String>,
    /// Only recordings crediting this party id (pty_…).
    #[arg(long)]
    pub party: Option<String>,
}
