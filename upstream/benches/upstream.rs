//! The upstream benchmark: seed a catalog, start the real `liner-upstream serve` binary, and
//! load it from this (second) process and from `oha` over loopback, on each backend:
//!
//! - GET a recording with credits at a fixed rate (oha), latency percentiles;
//! - the snapshot of the whole catalog to a client discarding the bytes, records/s;
//! - feed pages of 10,000 changes from random positions, latency percentiles.
//!
//! `cargo bench -p liner-upstream --bench upstream -- [--recordings N] [--backend sqlite|postgres|both]
//! [--dir DIR] [--pg-url URL] [--rate R] [--duration S]` prints one Markdown table. Catalogs are
//! kept (in `--dir`, and as PostgreSQL database `liner_bench_<N>`) and reused when present.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use futures_util::StreamExt;
use liner_upstream::auth::{Role, generate_token, hash_token};
use liner_upstream::store::{self, NewToken};
use rand::{Rng, SeedableRng};

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 1_000_000)]
    recordings: u64,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// sqlite, postgres or both.
    #[arg(long, default_value = "both")]
    backend: String,
    /// Where SQLite catalogs are kept between runs (under the workspace's target directory).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/upstream-bench"))]
    dir: PathBuf,
    /// A PostgreSQL server URL (any database); the bench uses its own database on it.
    #[arg(
        long,
        env = "LINER_TEST_PG_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pg_url: String,
    /// Requests per second for the recording GETs.
    #[arg(long, default_value_t = 2_000)]
    rate: u32,
    /// Seconds of load for the recording GETs.
    #[arg(long, default_value_t = 20)]
    duration: u32,
    /// Feed pages to time.
    #[arg(long, default_value_t = 30)]
    pages: usize,
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Runtime::new()?;
    let backends: Vec<&str> = match args.backend.as_str() {
        "both" => vec!["sqlite", "postgres"],
        "sqlite" => vec!["sqlite"],
        "postgres" => vec!["postgres"],
        other => bail!("--backend {other}: expected sqlite, postgres or both"),
    };
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    for b in &backends {
        let url = rt.block_on(prepare(&args, b))?;
        let results = rt.block_on(measure(&args, &url))?;
        rows.push((b.to_string(), results));
    }
    println!("## liner-upstream bench\n");
    println!(
        "{} recordings (seed {}); server `liner-upstream serve` (release) and load on one 2-core machine over loopback; {} cores\n",
        args.recordings,
        args.seed,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut header = "| measure |".to_owned();
    let mut rule = "|---|".to_owned();
    for (b, _) in &rows {
        header.push_str(&format!(" {b} |"));
        rule.push_str("---|");
    }
    println!("{header}\n{rule}");
    let labels = [
        "catalog (entities, seed time)",
        &format!(
            "GET recording at {} req/s for {} s (oha): p50 / p99 / max",
            args.rate, args.duration
        ),
        "GET recording: achieved rate, non-2xx",
        "snapshot to a discarding client: records, time, **records/s** (target ≥ 300,000)",
        &format!(
            "feed page of 10,000 changes, {} random pages, first read: p50 / p99 / max (target ≤ 50 ms)",
            args.pages
        ),
        "the same pages again (page cache warm): p50 / p99 / max",
    ];
    for (i, label) in labels.iter().enumerate() {
        let mut line = format!("| {label} |");
        for (_, r) in &rows {
            line.push_str(&format!(" {} |", r.get(i).map_or("", String::as_str)));
        }
        println!("{line}");
    }
    Ok(())
}

/// Seeds the catalog for one backend unless it is already there; returns its URL.
async fn prepare(args: &Args, backend: &str) -> Result<String> {
    let url = match backend {
        "sqlite" => {
            std::fs::create_dir_all(&args.dir)?;
            let path = args
                .dir
                .join(format!("catalog-{}-{}.db", args.recordings, args.seed));
            format!(
                "sqlite:{}",
                std::fs::canonicalize(&args.dir)?
                    .join(path.file_name().context("name")?)
                    .display()
            )
        }
        _ => {
            let db = format!("liner_bench_{}_{}", args.recordings, args.seed);
            let (client, conn) = tokio_postgres::connect(&args.pg_url, tokio_postgres::NoTls)
                .await
                .with_context(|| format!("connecting to {}", store::redact_url(&args.pg_url)))?;
            tokio::spawn(conn);
            let exists = client
                .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&db])
                .await?
                .is_some();
            if !exists {
                client
                    .batch_execute(&format!("CREATE DATABASE {db}"))
                    .await?;
            }
            let base = args
                .pg_url
                .rsplit_once('/')
                .map_or(args.pg_url.as_str(), |(b, _)| b);
            format!("{base}/{db}")
        }
    };
    let store = store::open(&url).await?;
    if store.head().await? == 0 {
        eprintln!(
            "bench: seeding {} recordings into {backend}…",
            args.recordings
        );
        let report = liner_upstream::seed::seed(
            store.as_ref(),
            liner::generate::CatalogSpec::new(args.recordings, args.seed).with_history(),
            |_| {},
        )
        .await?;
        eprintln!(
            "bench: seeded {} entities in {:.1} s",
            report.entities,
            report.elapsed.as_secs_f64()
        );
        std::fs::write(
            seed_note(args, backend),
            format!("{:.1}", report.elapsed.as_secs_f64()),
        )?;
    }
    Ok(url)
}

fn seed_note(args: &Args, backend: &str) -> PathBuf {
    args.dir.join(format!(
        "seed-time-{backend}-{}-{}.txt",
        args.recordings, args.seed
    ))
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn start(url: &str) -> Result<(Server, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_liner-upstream"))
        .args(["--db", url, "serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn,liner_upstream=info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .context("starting liner-upstream")?;
    let mut log = BufReader::new(child.stderr.take().context("stderr")?);
    let server = Server(child);
    let mut line = String::new();
    loop {
        line.clear();
        if log.read_line(&mut line)? == 0 {
            bail!("liner-upstream exited before serving");
        }
        if let Some(rest) = line.split("addr=").nth(1) {
            let addr = rest
                .split_whitespace()
                .next()
                .context("address")?
                .to_owned();
            // Keep draining the log so the server never blocks on a full pipe.
            std::thread::spawn(move || for _ in log.lines() {});
            return Ok((server, format!("http://{addr}")));
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn measure(args: &Args, url: &str) -> Result<Vec<String>> {
    let store = store::open(url).await?;
    let counts = store.counts().await?;
    let entities: u64 = counts.iter().map(|(_, n)| n).sum();
    let token = generate_token();
    store
        .create_token(NewToken {
            name: "bench".into(),
            role: Role::Reader,
            parties: vec![],
            hash: hash_token(&token),
        })
        .await?;
    drop(store);
    let seed_time = std::fs::read_to_string(seed_note(
        args,
        if url.starts_with("sqlite") {
            "sqlite"
        } else {
            "postgres"
        },
    ))
    .map(|s| format!("{s} s"))
    .unwrap_or_else(|_| "reused".into());
    let mut out = vec![format!("{entities}, {seed_time}")];

    let (_server, base) = start(url)?;

    // 1. Recording GETs at a fixed rate, spread over 20,000 random recordings.
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    let urls: String = (0..20_000)
        .map(|_| {
            let i = rng.random_range(0..args.recordings);
            format!(
                "{base}/v1/recordings/{}\n",
                liner::generate::recording_id(args.seed, i)
            )
        })
        .collect();
    let url_file = args.dir.join("urls.txt");
    std::fs::write(&url_file, urls)?;
    let oha = Command::new("oha")
        .args([
            "--no-tui",
            "--output-format",
            "json",
            "-q",
            &args.rate.to_string(),
            "-z",
            &format!("{}s", args.duration),
            "-c",
            "16",
            "-H",
            &format!("Authorization: Bearer {token}"),
            "--urls-from-file",
        ])
        .arg(&url_file)
        .output()
        .context("running oha (cargo install oha)")?;
    if !oha.status.success() {
        bail!("oha failed: {}", String::from_utf8_lossy(&oha.stderr));
    }
    let report: serde_json::Value = serde_json::from_slice(&oha.stdout).context("oha JSON")?;
    let pct = |k: &str| report["latencyPercentiles"][k].as_f64().unwrap_or(f64::NAN) * 1000.0;
    out.push(format!(
        "{:.2} ms / **{:.2} ms** / {:.2} ms",
        pct("p50"),
        pct("p99"),
        report["summary"]["slowest"].as_f64().unwrap_or(f64::NAN) * 1000.0
    ));
    let codes = report["statusCodeDistribution"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let non_2xx: u64 = codes
        .iter()
        .filter(|(k, _)| !k.starts_with('2'))
        .filter_map(|(_, v)| v.as_u64())
        .sum();
    out.push(format!(
        "{:.0} req/s, {non_2xx}",
        report["summary"]["requestsPerSec"]
            .as_f64()
            .unwrap_or(f64::NAN)
    ));

    // 2. Snapshot, bytes discarded (no compression: the bench measures the service).
    let http = reqwest::Client::builder().no_gzip().no_zstd().build()?;
    let t = Instant::now();
    let resp = http
        .get(format!("{base}/v1/snapshot"))
        .bearer_auth(&token)
        .send()
        .await?;
    if !resp.status().is_success() {
        bail!("snapshot: {}", resp.status());
    }
    let mut lines = 0u64;
    let mut bytes = 0u64;
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
    }
    let secs = t.elapsed().as_secs_f64();
    let records = lines.saturating_sub(1); // the trailer
    out.push(format!(
        "{records} records ({} MB), {secs:.2} s, **{:.0}/s**",
        bytes / 1_000_000,
        records as f64 / secs
    ));

    // 3. Feed pages of 10,000 from random positions.
    let head: serde_json::Value = http
        .get(format!("{base}/healthz"))
        .send()
        .await?
        .json()
        .await?;
    let epoch = head["epoch"].as_str().context("epoch")?.to_owned();
    let top = head["head"].as_u64().context("head")?;
    // The same random pages twice: first from wherever the OS has the file (cold after a
    // seed of another backend), then again from the page cache, as a daemon tailing the
    // newest pages would find them.
    let positions: Vec<u64> = (0..args.pages)
        .map(|_| rng.random_range(0..top.saturating_sub(10_000).max(1)))
        .collect();
    for _pass in 0..2 {
        let mut times = Vec::new();
        for &since in &positions {
            let cursor = liner::model::Cursor::new(epoch.clone(), since).token();
            let t = Instant::now();
            let text = http
                .get(format!("{base}/v1/changes?since={cursor}&limit=10000"))
                .bearer_auth(&token)
                .send()
                .await?
                .text()
                .await?;
            times.push(t.elapsed());
            let n = text.lines().count();
            if n != 10_001 {
                bail!("a feed page had {n} lines, expected 10,000 and a trailer");
            }
        }
        times.sort();
        let q =
            |f: f64| times[((times.len() as f64 * f).ceil() as usize).clamp(1, times.len()) - 1];
        out.push(format!(
            "{} / **{}** / {}",
            ms(q(0.5)),
            ms(q(0.99)),
            ms(*times.last().context("pages")?)
        ));
    }
    Ok(out)
}
