//! `liner-upstream`, the reference catalog service. Built in the upstream issue; until then
//! the binary says so instead of pretending to serve.

use std::process::ExitCode;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "liner-upstream",
    version,
    about = "The liner reference catalog service"
)]
struct Cli {}

fn main() -> ExitCode {
    let _ = Cli::parse();
    eprintln!("liner-upstream: the catalog service is not built yet");
    ExitCode::from(2)
}
