//! `liner`: the credits desk's command line. Today it fills a mirror from the catalog
//! generator and searches it; the console and the daemon-backed commands come next.
//!
//! Exit codes: 0 success (for `search`: at least one hit), 1 `search` found nothing, 2 usage
//! error or failure (the message on stderr says what and where).

mod cli;
mod generate;
mod search;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    init_tracing();
    let result = match args.command {
        cli::Command::Generate(a) => generate::run(a).map(|()| true),
        cli::Command::Search(a) => search::run(a),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("liner: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Logs go to stderr, filtered by `LINER_LOG` (default: warnings), so stdout stays data.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LINER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
