//! `linerd`: parse arguments, set up logging (stderr, journald-friendly), hand over to the
//! library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use liner_daemon::{Config, config, status};
use tokio_util::sync::CancellationToken;

// glibc's per-thread arenas kept ~200 MB of freed batch buffers resident during a bootstrap
// (measured); mimalloc returns them (with the settings in liner::alloc).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "linerd",
    version,
    about = "The liner sync daemon: keeps the local mirror in step with the upstream"
)]
struct Cli {
    /// The config file (default: liner.toml in the XDG config directory).
    #[arg(long, global = true, env = "LINER_CONFIG")]
    config: Option<PathBuf>,
    /// Print the commented default configuration and exit.
    #[arg(long)]
    print_config: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon (the default).
    Run,
    /// Show what the daemon is doing: connection, lag, last error, edits and quarantine.
    Status {
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.print_config {
        print!("{}", config::DEFAULT_FILE);
        return ExitCode::SUCCESS;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LINER_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    // Before the runtime starts any thread.
    if let Err(e) = liner::alloc::keep_resident_memory_low() {
        tracing::warn!(error = %e, "could not turn transparent huge pages off");
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("linerd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let config = Config::load(cli.config.as_deref())?;
    let file = cli
        .config
        .clone()
        .or_else(|| config::default_path().filter(|p| p.exists()));
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => {
            let token = config::read_token(&config.upstream.token_file)?;
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async {
                let cancel = CancellationToken::new();
                let stop = cancel.clone();
                // Registered before anything else runs, so a SIGTERM at any moment stops the
                // daemon gracefully instead of killing it.
                #[cfg(unix)]
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
                tokio::spawn(async move {
                    #[cfg(unix)]
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                    #[cfg(not(unix))]
                    let _ = tokio::signal::ctrl_c().await;
                    tracing::info!("stopping: finishing the batch in hand");
                    stop.cancel();
                });
                // With a config file, follow its changes; without one, run on defaults + env.
                match file {
                    Some(path) => liner_daemon::run_watching(path, cancel).await,
                    None => liner_daemon::run(config, token, cancel).await,
                }
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { json } => {
            let status = status::read(&config.data().status())?;
            let store = liner::store::Store::open_read_only(config.data().mirror())?;
            let mut counts = serde_json::Map::new();
            for (state, n) in store.outbox_counts()? {
                counts.insert(state.as_str().into(), n.into());
            }
            counts.insert("quarantined".into(), store.quarantine_count()?.into());
            if json {
                let mut v = serde_json::to_value(&status)?;
                v["counts"] = serde_json::Value::Object(counts);
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("state:      {}", status.state.words());
                println!("upstream:   {}", status.upstream);
                if let Some(b) = &status.bootstrap {
                    let total = b.total.map_or("?".into(), |t| t.to_string());
                    let eta = b
                        .eta_seconds
                        .map_or(String::new(), |e| format!(", about {e:.0} s left"));
                    println!(
                        "snapshot:   {} of {total} records, {:.0}/s{eta}",
                        b.done, b.per_second
                    );
                }
                if let Some(n) = status.behind {
                    println!("behind:     {n} changes");
                }
                if let Some(t) = &status.last_poll_at {
                    let ago = t
                        .parse::<jiff::Timestamp>()
                        .ok()
                        .map(|at| jiff::Timestamp::now().duration_since(at).as_secs());
                    match ago {
                        Some(s) => println!("last poll:  {s} s ago ({t})"),
                        None => println!("last poll:  {t}"),
                    }
                }
                if let Some(t) = &status.offline_since {
                    println!("offline since {t}");
                }
                if let Some(e) = &status.last_error {
                    println!("last error: {e}");
                }
                let c = |k: &str| counts.get(k).and_then(|v| v.as_i64()).unwrap_or(0);
                println!(
                    "edits:      {} pending, {} conflicted, {} rejected; {} records quarantined",
                    c("pending"),
                    c("conflicted"),
                    c("rejected"),
                    c("quarantined")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
