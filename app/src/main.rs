//! `liner`: the console on the local mirror, a one-process demo, and commands for scripts. This
//! binary is the composition: the console's library knows neither the daemon nor the service;
//! `demo` brings all three together here.
//!
//! Exit codes: 0 success; 1 nothing found (`search`, `show`, `party`, `history`) or, for
//! `status`, the daemon is not running or offline; 2 usage error or failure (the message on
//! stderr says what and where); 3 a name that fits several parties (`party`; the candidates are
//! listed).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use liner::protocol::{Config, DataDir};
use liner_console::lookup::Found;
use liner_console::{console, generate, lookup, search};

use liner_app::cli::{self, Command};
use liner_app::demo;

// The console shares a process with the daemon in `liner demo`; mimalloc keeps freed batch
// buffers from staying resident, as in linerd.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let color = !args.no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let result = match args.command {
        None => data_dir(&args.config, &args.data).and_then(|dir| {
            let dir = demo_mirror(dir);
            log_to_file(&dir)?;
            open_console(&dir, color).map(|()| Found::Yes)
        }),
        Some(Command::Demo(d)) => {
            demo::run(d, args.data.clone(), color, log_to_file).map(|()| Found::Yes)
        }
        Some(command) => {
            log_to_stderr();
            data_dir(&args.config, &args.data).and_then(|dir| match command {
                Command::Generate(a) => generate::run(a, &dir).map(|()| Found::Yes),
                command => run_on_mirror(command, &demo_mirror(dir)),
            })
        }
    };
    match result {
        Ok(Found::Yes) => ExitCode::SUCCESS,
        Ok(Found::No) => ExitCode::from(1),
        Ok(Found::Several) => ExitCode::from(3),
        // The reader of stdout went away (`| head -1`): done, as `cat` would be.
        Err(e) if lookup::closed_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("liner: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run_on_mirror(command: Command, dir: &Path) -> anyhow::Result<Found> {
    match command {
        Command::Search(a) => search::run(a, dir).map(Found::from),
        Command::Show(a) => lookup::show(dir, &a),
        Command::Party(a) => lookup::party(dir, &a),
        Command::History(a) => lookup::history(dir, &a),
        Command::Status(a) => lookup::status(dir, &a),
        Command::Generate(_) | Command::Demo(_) => unreachable!("handled by main"),
    }
}

/// A `liner demo --data DIR` directory holds its mirror in `DIR/mirror`: the commands find it
/// there when pointed at the demo's directory.
fn demo_mirror(dir: PathBuf) -> PathBuf {
    let inner = dir.join("mirror");
    if !DataDir::new(&dir).mirror().exists() && DataDir::new(&inner).mirror().exists() {
        inner
    } else {
        dir
    }
}

/// `--data`, else the data directory of the config linerd reads.
fn data_dir(config: &Option<PathBuf>, data: &Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(d) = data {
        return Ok(d.clone());
    }
    let config = Config::load(config.as_deref()).context("reading the configuration")?;
    Ok(config.data_dir)
}

fn open_console(dir: &Path, color: bool) -> anyhow::Result<()> {
    let paths = DataDir::new(dir);
    let who = liner::protocol::status::read(&paths.status())
        .ok()
        .and_then(|s| s.who);
    let actor = who
        .as_ref()
        .map(|w| w.name.clone())
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "console".into());
    console::run(paths, console::Session { actor, who }, color)
}

/// The console owns the screen: logs go to `liner.log` in the data directory.
fn log_to_file(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = DataDir::new(dir).console_log();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening the log file {}", path.display()))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .init();
    memory_settings();
    Ok(())
}

/// Logs go to stderr, filtered by `LINER_LOG` (default: warnings), so stdout stays data.
fn log_to_stderr() {
    tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(std::io::stderr)
        .init();
    memory_settings();
}

/// The allocator settings, once logging is set up (each command sets it up before its work's
/// threads start), so that a refusal reaches the log rather than nowhere.
fn memory_settings() {
    if let Err(e) = liner::alloc::keep_resident_memory_low() {
        tracing::warn!(error = %e, "could not turn transparent huge pages off");
    }
}

fn filter() -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_env("LINER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"))
}
