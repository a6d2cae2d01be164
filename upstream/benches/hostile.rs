//! The hostile bench: the real `liner-upstream serve` binary under the attacks of issue 17
//! while ordinary clients use it, on an embedded (SQLite) catalog. One 2-core machine runs
//! the service, the attackers and the ordinary load, over loopback.
//!
//! 1. **Slow readers and slowloris.** `--slow-readers` snapshot readers taking a kilobyte a
//!    second and `--slowloris` connections sending a header line now and then, never the end;
//!    meanwhile ordinary GETs of recordings at `--rate` a second (open loop), `/healthz` ten
//!    times a second, and edits at `--writes` a second from four editor tokens. Reported:
//!    the GETs' and `/healthz`'s latency percentiles, failures, the WAL's largest size, and
//!    what happened to the attackers (served, refused, cut off).
//! 2. **The WAL afterwards**: attackers and writers gone, the seconds until the WAL file is
//!    at most 64 MB (and its size then).
//! 3. **Invented methods and paths**: `--invented` requests with made-up methods and paths;
//!    the `/metrics` series before and after.
//! 4. **SIGTERM** with fresh slow readers and slowloris connections open: seconds to exit.
//!
//! `cargo bench -p liner-upstream --bench hostile -- [--recordings N] [--slow-readers N]
//! [--slowloris N] [--rate R] [--writes W] [--duration S] [--invented N] [--binary PATH]`
//! prints a Markdown table. `--binary` runs another build of the service (an older one, for a
//! before/after comparison); only commands every version has are used. It exits non-zero when
//! a bound that is not a timing fails (new series, no exit within 10 s, ordinary requests
//! failing), so CI can run it small.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 20_000)]
    recordings: u64,
    #[arg(long, default_value_t = 64)]
    slow_readers: usize,
    #[arg(long, default_value_t = 500)]
    slowloris: usize,
    /// Ordinary GETs per second.
    #[arg(long, default_value_t = 1_000)]
    rate: u32,
    /// Edits per second, spread over four editor tokens.
    #[arg(long, default_value_t = 100)]
    writes: u32,
    /// Seconds of attack with ordinary load.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Requests with invented methods and paths.
    #[arg(long, default_value_t = 10_000)]
    invented: usize,
    /// The service binary (default: this build's).
    #[arg(long, default_value = env!("CARGO_BIN_EXE_liner-upstream"))]
    binary: PathBuf,
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let _ = liner_upstream::serve::raise_descriptor_limit();
    let rt = tokio::runtime::Runtime::new()?;
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("catalog.db");
    let url = format!("sqlite:{}", db.display());
    let t = Instant::now();
    cli(
        &args.binary,
        &url,
        &["seed", "--generate", &args.recordings.to_string()],
    )?;
    eprintln!(
        "hostile: seeded {} recordings in {:.1} s",
        args.recordings,
        t.elapsed().as_secs_f64()
    );
    let reader = cli(
        &args.binary,
        &url,
        &["token", "create", "--role", "reader", "--name", "reader"],
    )?;
    let editors = (0..4)
        .map(|i| {
            cli(
                &args.binary,
                &url,
                &[
                    "token",
                    "create",
                    "--role",
                    "editor",
                    "--name",
                    &format!("editor{i}"),
                ],
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let report = rt.block_on(run(&args, &url, &db, reader, editors))?;
    report.print(&args);
    if !report.failures.is_empty() {
        for f in &report.failures {
            eprintln!("hostile: FAILED: {f}");
        }
        bail!("{} bound(s) failed", report.failures.len());
    }
    Ok(())
}

/// Runs one command of the service's CLI and returns its standard output, trimmed.
fn cli(binary: &Path, url: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(binary)
        .arg("--db")
        .arg(url)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .with_context(|| format!("running {}", binary.display()))?;
    if !out.status.success() {
        bail!("liner-upstream {} failed", args.join(" "));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

struct Server {
    child: Child,
    base: String,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(binary: &Path, url: &str) -> Result<Server> {
    let mut child = Command::new(binary)
        .args(["--db", url, "serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "error,liner_upstream=info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .context("starting liner-upstream")?;
    let mut log = BufReader::new(child.stderr.take().context("stderr")?);
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
            std::thread::spawn(move || for _ in log.lines() {});
            return Ok(Server {
                child,
                base: format!("http://{addr}"),
                addr,
            });
        }
    }
}

/// What the attackers saw.
#[derive(Debug, Default)]
struct Attackers {
    served: AtomicU64,
    refused: AtomicU64,
    cut: AtomicU64,
}

async fn slow_reader(
    addr: String,
    token: String,
    seen: Arc<Attackers>,
    stop: tokio_util::sync::CancellationToken,
) {
    let Ok(addr) = addr.parse() else { return };
    let Ok(socket) = TcpSocket::new_v4() else {
        return;
    };
    let _ = socket.set_recv_buffer_size(4096);
    let Ok(mut c) = socket.connect(addr).await else {
        seen.refused.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let request = format!(
        "GET /v1/snapshot HTTP/1.1\r\nhost: liner\r\nauthorization: Bearer {token}\r\n\r\n"
    );
    if c.write_all(request.as_bytes()).await.is_err() {
        return;
    }
    let mut buf = [0u8; 1024];
    let mut first = true;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            r = c.read(&mut buf) => match r {
                Ok(0) | Err(_) => {
                    seen.cut.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Ok(n) => {
                    if first {
                        first = false;
                        if buf[..n].starts_with(b"HTTP/1.1 200") {
                            seen.served.fetch_add(1, Ordering::Relaxed);
                        } else {
                            seen.refused.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    }
                }
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

async fn slowloris(addr: String, seen: Arc<Attackers>, stop: tokio_util::sync::CancellationToken) {
    let Ok(mut c) = TcpStream::connect(&addr).await else {
        seen.refused.fetch_add(1, Ordering::Relaxed);
        return;
    };
    if c.write_all(b"GET /healthz HTTP/1.1\r\nhost: liner\r\n")
        .await
        .is_err()
    {
        return;
    }
    seen.served.fetch_add(1, Ordering::Relaxed);
    let mut buf = [0u8; 256];
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            r = c.read(&mut buf) => if matches!(r, Ok(0) | Err(_)) {
                seen.cut.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        if c.write_all(b"x-still: here\r\n").await.is_err() {
            seen.cut.fetch_add(1, Ordering::Relaxed);
            return;
        }
    }
}

/// Starts `readers` slow snapshot readers and `loris` slowloris connections, and waits until
/// each is in place (a reader has its answer's first bytes, a slowloris has sent its half
/// request), or 40 s: a service from before the bounds answers some readers only after its
/// 30 s pool timeout.
async fn attack(
    server: &Server,
    token: &str,
    readers: usize,
    loris: usize,
    stop: &tokio_util::sync::CancellationToken,
) -> (
    Vec<tokio::task::JoinHandle<()>>,
    Arc<Attackers>,
    Arc<Attackers>,
) {
    let seen_readers = Arc::new(Attackers::default());
    let seen_loris = Arc::new(Attackers::default());
    let mut tasks = Vec::new();
    for _ in 0..readers {
        tasks.push(tokio::spawn(slow_reader(
            server.addr.clone(),
            token.to_owned(),
            seen_readers.clone(),
            stop.clone(),
        )));
    }
    for _ in 0..loris {
        tasks.push(tokio::spawn(slowloris(
            server.addr.clone(),
            seen_loris.clone(),
            stop.clone(),
        )));
    }
    let placed = |a: &Attackers| {
        (a.served.load(Ordering::Relaxed) + a.refused.load(Ordering::Relaxed)) as usize
    };
    let started = Instant::now();
    while (placed(&seen_readers) < readers || placed(&seen_loris) < loris)
        && started.elapsed() < Duration::from_secs(40)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (tasks, seen_readers, seen_loris)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn wal_size(db: &Path) -> u64 {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(PathBuf::from(wal)).map_or(0, |m| m.len())
}

#[derive(Debug, Default)]
struct Report {
    recordings: u64,
    gets: Vec<Duration>,
    get_failures: u64,
    health: Vec<Duration>,
    health_failures: u64,
    writes_ok: u64,
    writes_failed: u64,
    wal_max: u64,
    wal_after: Option<(Duration, u64)>,
    readers: (u64, u64, u64),
    loris: (u64, u64, u64),
    series: (usize, usize, usize),
    sigterm: Option<Duration>,
    failures: Vec<String>,
}

impl Report {
    fn print(&self, args: &Args) {
        let mb = |b: u64| format!("{:.1} MB", b as f64 / 1e6);
        let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
        println!("## liner-upstream hostile bench\n");
        println!(
            "{} recordings, SQLite; `{}`; attackers, load and service on one machine over loopback ({} cores)\n",
            self.recordings,
            args.binary.display(),
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        println!("| attack | measure | result |");
        println!("|---|---|---|");
        let attack = format!(
            "{} slow snapshot readers (1 KB/s) + {} slowloris, {} s",
            args.slow_readers, args.slowloris, args.duration
        );
        println!(
            "| {attack} | GET recording at {}/s: p50 / p99 / max | {} / {} / {} ({} failed of {}) |",
            args.rate,
            ms(percentile(&self.gets, 0.5)),
            ms(percentile(&self.gets, 0.99)),
            ms(percentile(&self.gets, 1.0)),
            self.get_failures,
            self.gets.len() as u64 + self.get_failures
        );
        println!(
            "| | /healthz 10/s: p50 / p99 / max | {} / {} / {} ({} failed) |",
            ms(percentile(&self.health, 0.5)),
            ms(percentile(&self.health, 0.99)),
            ms(percentile(&self.health, 1.0)),
            self.health_failures
        );
        println!(
            "| | edits at {}/s (4 tokens) | {} landed, {} failed |",
            args.writes, self.writes_ok, self.writes_failed
        );
        println!(
            "| | slow readers: served / refused (503) / cut off | {} / {} / {} |",
            self.readers.0, self.readers.1, self.readers.2
        );
        println!(
            "| | slowloris: connected / refused / closed by the service | {} / {} / {} |",
            self.loris.0, self.loris.1, self.loris.2
        );
        println!("| | largest WAL | {} |", mb(self.wal_max));
        match self.wal_after {
            Some((t, size)) => println!(
                "| attackers and writers gone | WAL ≤ 64 MB after | {:.1} s ({}) |",
                t.as_secs_f64(),
                mb(size)
            ),
            None => {
                println!("| attackers and writers gone | WAL ≤ 64 MB after | not within 60 s |")
            }
        }
        println!(
            "| {} invented methods and paths | /metrics series: before, after the first 20, after all | {} → {} → {} |",
            args.invented, self.series.0, self.series.1, self.series.2
        );
        match self.sigterm {
            Some(t) => println!(
                "| SIGTERM with slow readers and slowloris open | exit after | {:.2} s |",
                t.as_secs_f64()
            ),
            None => println!(
                "| SIGTERM with slow readers and slowloris open | exit after | not within 10 s |"
            ),
        }
    }
}

/// Sends `n` requests with invented methods, half of them to invented paths.
async fn invent(http: &reqwest::Client, base: &str, n: usize, seed: u64) -> Result<()> {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    let mut sent = Vec::new();
    for i in 0..n {
        let method = format!("M{:08X}", rng.random::<u32>());
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let path = if i % 2 == 0 {
            format!("/v1/x{}", rng.random::<u32>())
        } else {
            "/healthz".to_owned()
        };
        sent.push(http.request(method, format!("{base}{path}")).send());
        if sent.len() == 64 {
            futures_util::future::join_all(std::mem::take(&mut sent)).await;
        }
    }
    futures_util::future::join_all(sent).await;
    Ok(())
}

async fn series(http: &reqwest::Client, base: &str) -> Result<usize> {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .count())
}

async fn run(
    args: &Args,
    url: &str,
    db: &Path,
    reader: String,
    editors: Vec<String>,
) -> Result<Report> {
    let mut report = Report {
        recordings: args.recordings,
        ..Report::default()
    };
    let server = start(&args.binary, url)?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    // Ids to read and parties to edit, from the catalog itself.
    let snapshot = http
        .get(format!("{}/v1/snapshot", server.base))
        .bearer_auth(&reader)
        .send()
        .await?
        .text()
        .await?;
    let mut recordings = Vec::new();
    let mut parties = Vec::new();
    for line in snapshot.lines() {
        let v: serde_json::Value = serde_json::from_str(line)?;
        match v["entity"].as_str() {
            Some("recording") if recordings.len() < 5_000 => {
                recordings.push(v["id"].as_str().unwrap_or_default().to_owned())
            }
            Some("party") if parties.len() < 200 => parties.push((
                v["id"].as_str().unwrap_or_default().to_owned(),
                v["version"].as_u64().unwrap_or(1),
            )),
            _ => {}
        }
    }
    drop(snapshot);
    if recordings.is_empty() || parties.len() < 4 {
        bail!("the seeded catalog has no recordings or parties to use");
    }

    // 1. The attack, with ordinary load.
    let stop = tokio_util::sync::CancellationToken::new();
    let (attackers, readers, loris) =
        attack(&server, &reader, args.slow_readers, args.slowloris, &stop).await;
    let load_end = Instant::now() + Duration::from_secs(args.duration);
    let wal_max = Arc::new(AtomicU64::new(0));
    let wal_watch = {
        let (db, wal_max, stop) = (db.to_path_buf(), wal_max.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.is_cancelled() {
                wal_max.fetch_max(wal_size(&db), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let writers = {
        let per = parties.len() / editors.len();
        let mut tasks = Vec::new();
        for (i, token) in editors.iter().enumerate() {
            let mine: Vec<(String, u64)> = parties[i * per..(i + 1) * per].to_vec();
            let (http, base, token) = (http.clone(), server.base.clone(), token.clone());
            let every =
                Duration::from_secs_f64(editors.len() as f64 / f64::from(args.writes.max(1)));
            tasks.push(tokio::spawn(async move {
                let (mut ok, mut failed) = (0u64, 0u64);
                let mut versions = mine;
                let mut tick = tokio::time::interval(every);
                let mut n = 0usize;
                while Instant::now() < load_end {
                    tick.tick().await;
                    let slot = n % versions.len();
                    n += 1;
                    let (id, version) = &versions[slot];
                    let r = http
                        .patch(format!("{base}/v1/parties/{id}"))
                        .bearer_auth(&token)
                        .header("if-match", format!("\"{version}\""))
                        .json(&serde_json::json!({"reason": "hostile bench", "patch": {"name": format!("Bench Name {n}")}}))
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status() == 200 => {
                            ok += 1;
                            versions[slot].1 += 1;
                        }
                        _ => failed += 1,
                    }
                }
                (ok, failed)
            }));
        }
        tasks
    };
    let health = {
        let (http, base) = (http.clone(), server.base.clone());
        tokio::spawn(async move {
            let mut times = Vec::new();
            let mut failed = 0u64;
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            while Instant::now() < load_end {
                tick.tick().await;
                let t = Instant::now();
                match http
                    .get(format!("{base}/healthz"))
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => times.push(t.elapsed()),
                    _ => failed += 1,
                }
            }
            (times, failed)
        })
    };
    let gets = {
        let mut tick =
            tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(args.rate.max(1))));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let mut inflight = Vec::new();
        while Instant::now() < load_end {
            tick.tick().await;
            let id = &recordings[rng.random_range(0..recordings.len())];
            let req = http
                .get(format!("{}/v1/recordings/{id}", server.base))
                .bearer_auth(&reader)
                .timeout(Duration::from_secs(30));
            inflight.push(tokio::spawn(async move {
                let t = Instant::now();
                match req.send().await {
                    Ok(r) if r.status() == 200 => r.bytes().await.ok().map(|_| t.elapsed()),
                    _ => None,
                }
            }));
        }
        inflight
    };
    for g in gets {
        match g.await? {
            Some(t) => report.gets.push(t),
            None => report.get_failures += 1,
        }
    }
    report.gets.sort();
    let (mut h, hf) = health.await?;
    h.sort();
    report.health = h;
    report.health_failures = hf;
    for w in writers {
        let (ok, failed) = w.await?;
        report.writes_ok += ok;
        report.writes_failed += failed;
    }
    // 2. Attackers gone: the WAL.
    stop.cancel();
    for a in attackers {
        let _ = a.await;
    }
    let _ = wal_watch.await;
    report.wal_max = wal_max.load(Ordering::Relaxed).max(wal_size(db));
    report.readers = (
        readers.served.load(Ordering::Relaxed),
        readers.refused.load(Ordering::Relaxed),
        readers.cut.load(Ordering::Relaxed),
    );
    report.loris = (
        loris.served.load(Ordering::Relaxed),
        loris.refused.load(Ordering::Relaxed),
        loris.cut.load(Ordering::Relaxed),
    );
    let gone = Instant::now();
    while gone.elapsed() < Duration::from_secs(60) {
        // A write now and then, as a live catalog has: SQLite checkpoints on commit.
        let (id, _) = &parties[0];
        let current = http
            .get(format!("{}/v1/parties/{id}", server.base))
            .bearer_auth(&reader)
            .send()
            .await?;
        let version = current
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("\"1\"")
            .to_owned();
        let _ = http
            .patch(format!("{}/v1/parties/{id}", server.base))
            .bearer_auth(&editors[0])
            .header("if-match", version)
            .json(&serde_json::json!({"reason": "hostile bench", "patch": {"name": "After"}}))
            .send()
            .await;
        let size = wal_size(db);
        if size <= 64 * 1024 * 1024 {
            report.wal_after = Some((gone.elapsed(), size));
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    // 3. Invented methods and paths. A few first, so every series a closed label set allows
    // for them exists (the `other` method on a route, `unmatched`, their statuses); then the
    // rest must add none.
    let warm = args.invented.min(20);
    let before_warm = series(&http, &server.base).await?;
    invent(&http, &server.base, warm, 11).await?;
    let before = series(&http, &server.base).await?;
    invent(&http, &server.base, args.invented - warm, 12).await?;
    let after = series(&http, &server.base).await?;
    report.series = (before_warm, before, after);
    if after != before {
        report.failures.push(format!(
            "{} invented methods and paths grew /metrics from {before} to {after} series",
            args.invented - warm
        ));
    }

    // 4. SIGTERM with attackers open.
    let stop = tokio_util::sync::CancellationToken::new();
    let (attackers, _, _) = attack(
        &server,
        &reader,
        args.slow_readers.min(16),
        args.slowloris,
        &stop,
    )
    .await;
    let mut server = server;
    let pid = server.child.id().to_string();
    let t = Instant::now();
    Command::new("kill").args(["-TERM", &pid]).status()?;
    while t.elapsed() < Duration::from_secs(10) {
        if server.child.try_wait()?.is_some() {
            report.sigterm = Some(t.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    for a in attackers {
        let _ = a.await;
    }
    if report.sigterm.is_none() {
        report
            .failures
            .push("the service did not exit within 10 s of SIGTERM".into());
    }
    if report.health_failures > 0 || report.get_failures > report.gets.len() as u64 / 100 {
        report.failures.push(format!(
            "ordinary requests failed under attack: {} GETs, {} /healthz",
            report.get_failures, report.health_failures
        ));
    }
    drop(server);
    Ok(report)
}
