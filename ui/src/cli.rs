//! The arguments of the lookups the console's library answers (`search`, `show`, `party`,
//! `history`, `status`, `generate`); the `liner` binary composes them into its commands.

use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub struct LookupArgs {
    /// An id (rec_…, pty_…, wrk_…), an ISRC, or a party's name (accents and case as you like;
    /// `show` takes a recording id or an ISRC).
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
    /// What to look for: title words, the display artist, a party's name, alias or
    /// disambiguation, or an ISRC / ISNI / IPI. Other credited names are found through their
    /// party (`--kind party`, then `--party`).
    pub query: String,
    /// Print JSON (one array of hits) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Results per kind (without --kind: this many recordings, then this many parties).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=10_000))]
    pub limit: u16,
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
