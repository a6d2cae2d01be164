//! `liner-upstream`: parse arguments, set up logging, hand over to the library.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use liner_upstream::auth::{Role, generate_token, hash_token};
use liner_upstream::store::{self, NewToken};
use liner_upstream::{Limits, Settings};

#[derive(Debug, Parser)]
#[command(
    name = "liner-upstream",
    version,
    about = "The liner reference catalog service"
)]
struct Cli {
    /// The catalog database: sqlite:PATH (embedded) or postgres://USER@HOST/DB.
    #[arg(
        long,
        global = true,
        env = "LINER_UPSTREAM_DB",
        default_value = "sqlite:./catalog.db"
    )]
    db: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the /v1 API.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8480")]
        listen: String,
        /// Largest request body, in bytes.
        #[arg(long, default_value_t = 1 << 20)]
        max_body_bytes: usize,
        /// Client connections open at once (capped by the open-file limit); one more gets 503.
        #[arg(long, default_value_t = 1024)]
        max_connections: usize,
        /// Snapshots served at once; one more gets 503 with Retry-After.
        #[arg(long, default_value_t = 8)]
        snapshot_streams: usize,
        /// Each token's sustained edits (creates, patches, deletes) per second; past it and
        /// the burst, 429 with Retry-After. Kept in the database, shared by every instance.
        #[arg(long, default_value_t = 50.0)]
        edits_per_second: f64,
        /// Edits a token may make at once after a quiet spell.
        #[arg(long, default_value_t = 500)]
        edit_burst: u32,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Load a generated sample catalog (as revisions with source `import`).
    Seed {
        /// How many recordings to generate (with their parties, works and releases).
        #[arg(long)]
        generate: u64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Every entity at version 1, without the edit histories a fifth of recordings get.
        #[arg(long)]
        no_history: bool,
    },
    /// Check the identifiers one entity holds at a time (ISRC, ISWC, ISNI, IPI).
    Identifiers {
        #[command(subcommand)]
        command: IdentifiersCommand,
    },
}

#[derive(Debug, Subcommand)]
enum IdentifiersCommand {
    /// List every value more than one live entity holds (stored before such writes were
    /// refused), one line each: scheme, value, the holders' ids. Nothing is changed.
    Duplicates,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print it once (only its hash is stored).
    Create {
        #[arg(long)]
        role: Role,
        /// Who holds it, as revisions will name them.
        #[arg(long)]
        name: String,
        /// Party ids an artist token is bound to (repeat for several).
        #[arg(long = "party")]
        parties: Vec<liner::ids::PartyId>,
    },
    /// List tokens (never the tokens themselves).
    List,
    /// Revoke a token by its id.
    Revoke { id: i64 },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,tower_http=warn".into());
    // JSON lines for log collectors; readable text otherwise.
    if std::env::var("LINER_LOG_FORMAT").is_ok_and(|f| f == "json") {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("liner-upstream: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("liner-upstream: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve {
            listen,
            max_body_bytes,
            max_connections,
            snapshot_streams,
            edits_per_second,
            edit_burst,
        } => {
            if !(edits_per_second.is_finite() && edits_per_second > 0.0) || edit_burst == 0 {
                anyhow::bail!("--edits-per-second and --edit-burst must be above zero");
            }
            let room = liner_upstream::serve::raise_descriptor_limit().unwrap_or(max_connections);
            if room < max_connections {
                tracing::warn!(
                    max_connections,
                    room,
                    "the open-file limit leaves room for fewer connections; capping them"
                );
            }
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("listening on {listen}"))?;
            let settings = Settings {
                db: cli.db,
                limits: Limits {
                    max_body_bytes,
                    max_connections: max_connections.min(room).max(1),
                    snapshot_streams: snapshot_streams.max(1),
                    edit_budget: liner_upstream::budget::Budget {
                        per_second: edits_per_second,
                        burst: edit_burst,
                    },
                    ..Limits::default()
                },
            };
            liner_upstream::run(settings, listener, shutdown_signal()).await?;
        }
        Command::Token { command } => {
            let store = store::open(&cli.db).await?;
            match command {
                TokenCommand::Create {
                    role,
                    name,
                    parties,
                } => {
                    if role == Role::Artist && parties.is_empty() {
                        anyhow::bail!("an artist token must be bound to at least one --party ID");
                    }
                    if role != Role::Artist && !parties.is_empty() {
                        anyhow::bail!("only artist tokens are bound to parties; drop --party");
                    }
                    for party in &parties {
                        match store.get(liner::model::EntityId::Party(*party)).await? {
                            Some(s) if !s.deleted => {}
                            Some(_) => anyhow::bail!(
                                "--party {party}: that party was deleted; an artist token speaks for a party that exists"
                            ),
                            None => anyhow::bail!(
                                "--party {party}: no such party in this catalog; an artist token speaks for a party that exists"
                            ),
                        }
                    }
                    let token = generate_token();
                    let id = store
                        .create_token(NewToken {
                            name: name.clone(),
                            role,
                            parties,
                            hash: hash_token(&token),
                        })
                        .await?;
                    eprintln!(
                        "created token {id} for {name} ({role}); it is shown only this once:"
                    );
                    println!("{token}");
                }
                TokenCommand::List => {
                    for t in store.list_tokens().await? {
                        let parties: Vec<String> =
                            t.parties.iter().map(ToString::to_string).collect();
                        println!(
                            "{}\t{}\t{}\t{}\t{}{}",
                            t.id,
                            t.role,
                            t.name,
                            t.created_at,
                            parties.join(","),
                            t.revoked_at
                                .map(|r| format!("\trevoked {r}"))
                                .unwrap_or_default()
                        );
                    }
                }
                TokenCommand::Revoke { id } => {
                    if !store.revoke_token(id).await? {
                        eprintln!("liner-upstream: no live token with id {id}");
                        return Ok(ExitCode::from(1));
                    }
                    eprintln!("revoked token {id}");
                }
            }
        }
        Command::Identifiers {
            command: IdentifiersCommand::Duplicates,
        } => {
            let store = store::open(&cli.db).await?;
            let duplicates = store.identifier_duplicates().await?;
            for d in &duplicates {
                let ids: Vec<String> = d.holders.iter().map(ToString::to_string).collect();
                println!("{}\t{}\t{}", d.held.scheme, d.held.value, ids.join(","));
            }
            if duplicates.is_empty() {
                eprintln!("no identifier is held by more than one live entity");
            } else {
                eprintln!(
                    "{} identifier values are held by more than one live entity: correct the \
                     holders that are wrong (each stays editable meanwhile)",
                    duplicates.len()
                );
            }
        }
        Command::Seed {
            generate,
            seed,
            no_history,
        } => {
            let store = store::open(&cli.db).await?;
            let mut last = std::time::Instant::now();
            let mut spec = liner::generate::CatalogSpec::new(generate, seed);
            spec.history = !no_history;
            let report = liner_upstream::seed::seed(store.as_ref(), spec, |n| {
                if last.elapsed().as_secs() >= 2 {
                    eprintln!("liner-upstream: seeded {n} entities…");
                    last = std::time::Instant::now();
                }
            })
            .await?;
            eprintln!(
                "liner-upstream: seeded {} entities ({} revisions) in {:.1} s (feed head {})",
                report.entities,
                report.revisions,
                report.elapsed.as_secs_f64(),
                report.head
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
