//! `linerd`, the sync daemon (mirror, outbox pusher, index maintainer). Its components are
//! built in the daemon issue; until then the binary says so instead of pretending to run.

use std::process::ExitCode;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "linerd", version, about = "The liner sync daemon")]
struct Cli {}

fn main() -> ExitCode {
    let _ = Cli::parse();
    eprintln!(
        "linerd: the sync daemon is not built yet; fill a mirror with `liner generate` meanwhile"
    );
    ExitCode::from(2)
}
