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
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fill a mirror directory with a generated catalog (deterministic from the seed).
    Generate(GenerateArgs),
    /// Search a mirror as you would type: typos, missing accents and half-typed words are fine.
    Search(SearchArgs),
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// How many recordings (about a quarter as many parties, and works and releases to match).
    #[arg(long, default_value_t = 100_000)]
    pub recordings: u64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The mirror directory (SQLite database and search index).
    #[arg(long, env = "LINER_DATA")]
    pub data: PathBuf,
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
    /// The mirror directory.
    #[arg(long, env = "LINER_DATA")]
    pub data: PathBuf,
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
