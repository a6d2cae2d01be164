//! The daemon benchmark: a cold mirror of the whole catalog from `liner-upstream` (SQLite,
//! served from this process over loopback) by the real `linerd` binary, to searchable; its
//! peak RSS; edit-to-visible latency (an edit accepted upstream, seen in the daemon's mirror
//! and search); CPU while idle; and, in the same run, the foundation bench's apply + index of
//! the same catalog from memory (its own code, `benches/support/load.rs`, on the allocator
//! and settings linerd runs with), which the cold mirror is compared with.
//!
//! The machine's speed drifts by a quarter within minutes, so each cold mirror is compared
//! with the foundation runs just before and just after it: `--rounds R` runs R cold mirrors
//! between R + 1 foundation runs and reports every ratio and their median.
//!
//! `cargo bench -p liner-daemon --bench daemon -- [--recordings N] [--catalog PATH] [--edits E]
//! [--rounds R]`

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use liner::generate::{Batch, CatalogSpec, Generator};
use liner::model::{Cursor, EntityId};
use liner::search::{SearchIndex, SearchRequest};
use liner::store::Store;
use liner_upstream::auth::{Role, generate_token, hash_token};
use liner_upstream::store::{self as upstore, NewToken};
use serde_json::json;

// The foundation bench's own load; only its total is compared here.
#[path = "../../benches/support/load.rs"]
#[allow(dead_code)]
mod load;

// linerd's allocator, for the foundation runs measured here (and the upstream serving).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 1_000_000)]
    recordings: u64,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// A seeded SQLite catalog to serve (the upstream bench leaves one); seeded here if absent.
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Edits timed from upstream acceptance to visible in the mirror and search.
    #[arg(long, default_value_t = 50)]
    edits: usize,
    /// Cold mirrors, each between two foundation runs.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// A catalog without edit histories (every entity at version 1), on both sides: what
    /// full history costs is the difference.
    #[arg(long)]
    no_history: bool,
    #[arg(long, hide = true)]
    bench: bool,
}

/// The catalog both sides load.
fn spec(args: &Args) -> CatalogSpec {
    let mut spec = CatalogSpec::new(args.recordings, args.seed);
    spec.history = !args.no_history;
    spec
}

/// The daemon process, stopped however the bench ends.
struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn proc_field(pid: u32, file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// User + system CPU seconds of a process.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the command name.
    (ticks(11) + ticks(12)) / 100.0
}

/// What the upstream serves, and how to reach it.
struct Upstream {
    base: String,
    token: String,
    /// The feed position a cold mirror is complete at.
    target: String,
    /// Parties and recordings: the documents a complete index holds.
    searchable: u64,
    entities: u64,
}

/// One cold mirror: the daemon still running, and what it took.
struct Cold {
    daemon: Daemon,
    data: PathBuf,
    time: Duration,
    synced_at: Duration,
    rss_mb: u64,
    peak_anon_mb: u64,
    peak_file_mb: u64,
    daemon_cpu: f64,
    upstream_cpu: f64,
}

fn main() -> Result<()> {
    if let Err(e) = liner::alloc::keep_resident_memory_low() {
        eprintln!("bench: could not turn transparent huge pages off: {e}");
    }
    let args = Args::parse();
    let rounds = args.rounds.max(1);
    let work = tempfile::tempdir()?;
    let rt = tokio::runtime::Runtime::new()?;
    let mut rows: Vec<(String, String)> = Vec::new();

    // The upstream, in this process.
    let catalog = match &args.catalog {
        Some(p) => p.clone(),
        None => {
            let default = PathBuf::from(format!(
                "{}/../target/upstream-bench/catalog-{}-{}{}.db",
                env!("CARGO_MANIFEST_DIR"),
                args.recordings,
                args.seed,
                if args.no_history { "-flat" } else { "" }
            ));
            if default.exists() {
                default
            } else {
                work.path().join("catalog.db")
            }
        }
    };
    let url = format!("sqlite:{}", catalog.display());
    let (upstream, store, stop) = rt.block_on(async {
        let store = upstore::open(&url).await?;
        if store.head().await? == 0 {
            eprintln!("bench: seeding {} recordings…", args.recordings);
            liner_upstream::seed::seed(store.as_ref(), spec(&args), |_| {}).await?;
        }
        let token = generate_token();
        store
            .create_token(NewToken {
                name: "bench".into(),
                role: Role::Editor,
                parties: vec![],
                hash: hash_token(&token),
            })
            .await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(liner_upstream::serve(
            store.clone(),
            liner_upstream::Limits::default(),
            listener,
            async {
                let _ = stopped.await;
            },
        ));
        let counts = store.counts().await?;
        let target = Cursor::new(store.epoch().await?, store.head().await?).token();
        let upstream = Upstream {
            base,
            token,
            target,
            entities: counts.iter().map(|(_, n)| n).sum(),
            searchable: counts
                .iter()
                .filter(|(k, _)| {
                    matches!(
                        k,
                        liner::model::EntityKind::Party | liner::model::EntityKind::Recording
                    )
                })
                .map(|(_, n)| n)
                .sum(),
        };
        anyhow::Ok((upstream, store, stop))
    })?;
    rows.push((
        "catalog".into(),
        format!(
            "{} entities ({} recordings), served from SQLite",
            upstream.entities, args.recordings
        ),
    ));

    // The foundation's input, generated once, before anything is timed.
    let batches: Vec<Batch> = Generator::new(spec(&args), 5_000).collect();

    // Foundation, cold mirror, foundation, cold mirror, …, foundation.
    let mut foundations = vec![foundation(&batches, work.path(), 0)?];
    let mut colds: Vec<Cold> = Vec::new();
    let mut later_rows = Vec::new();
    for round in 0..rounds {
        let cold = cold_mirror(&upstream, &work.path().join(format!("home-{round}")))?;
        if round + 1 == rounds {
            // The last daemon stays up for the idle and edit measures.
            idle_and_edits(&args, &upstream, &cold, &mut later_rows)?;
        }
        let mut cold = cold;
        stop_daemon(&mut cold)?;
        colds.push(cold);
        let _ = std::fs::remove_dir_all(work.path().join(format!("home-{round}")));
        foundations.push(foundation(&batches, work.path(), round + 1)?);
    }
    let _ = stop.send(());
    drop(store);
    drop(rt);

    let mut ratios = Vec::new();
    for (i, cold) in colds.iter_mut().enumerate() {
        let (before, after) = (&foundations[i], &foundations[i + 1]);
        let around = (before.time + after.time).as_secs_f64() / 2.0;
        let ratio = cold.time.as_secs_f64() / around;
        ratios.push(ratio);
        rows.push((
            format!(
                "round {}: **cold mirror to searchable** (target ≤ 20 s)",
                i + 1
            ),
            format!(
                "**{:.1} s** (mirror at the head after {:.1} s); CPU: linerd {:.1} s, \
                 upstream and bench {:.1} s",
                cold.time.as_secs_f64(),
                cold.synced_at.as_secs_f64(),
                cold.daemon_cpu,
                cold.upstream_cpu
            ),
        ));
        rows.push((
            format!("round {}: foundation apply + index before / after", i + 1),
            format!(
                "{:.1} s / {:.1} s (CPU {:.1} s / {:.1} s): cold mirror / their mean \
                 **{ratio:.2}×**",
                before.time.as_secs_f64(),
                after.time.as_secs_f64(),
                before.cpu,
                after.cpu
            ),
        ));
        rows.push((
            format!("round {}: **daemon peak RSS** (target ≤ 400 MB)", i + 1),
            format!(
                "**{} MB** (sampled peaks: {} MB anonymous, {} MB file-backed)",
                cold.rss_mb, cold.peak_anon_mb, cold.peak_file_mb
            ),
        ));
    }
    rows.append(&mut later_rows);
    rows.push((
        "graceful stop (SIGTERM)".into(),
        format!("exit 0 after each of the {rounds} cold mirrors"),
    ));
    ratios.sort_by(f64::total_cmp);
    let median = (ratios[(ratios.len() - 1) / 2] + ratios[ratios.len() / 2]) / 2.0;
    rows.push((
        "**cold mirror / foundation** (target ≤ 1.5×)".into(),
        format!(
            "**{median:.2}×** (median of {} round{})",
            ratios.len(),
            if ratios.len() == 1 { "" } else { "s" }
        ),
    ));

    println!("## linerd bench\n");
    println!("one 2-core machine; upstream and daemon on loopback\n");
    println!("| measure | result |\n|---|---|");
    for (k, v) in rows {
        println!("| {k} | {v} |");
    }
    Ok(())
}

/// One foundation apply + index: its time, and the CPU it took (the bench process is
/// otherwise idle meanwhile).
struct Foundation {
    time: Duration,
    cpu: f64,
}

/// The foundation bench's apply + index of the generated catalog, into a fresh directory.
fn foundation(batches: &[Batch], work: &std::path::Path, run: usize) -> Result<Foundation> {
    let dir = work.join(format!("foundation-{run}"));
    std::fs::create_dir_all(&dir)?;
    let cpu_before = cpu_seconds(std::process::id());
    let time =
        load::apply_and_index(batches, &dir.join("mirror.sqlite"), &dir.join("index"))?.total;
    let cpu = cpu_seconds(std::process::id()) - cpu_before;
    eprintln!(
        "bench: foundation {run}: {:.1} s, CPU {cpu:.1} s",
        time.as_secs_f64()
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(Foundation { time, cpu })
}

/// Starts the real linerd on an empty data directory under `home` and waits until its mirror
/// is at the upstream's head and its index holds every searchable document.
fn cold_mirror(upstream: &Upstream, home: &std::path::Path) -> Result<Cold> {
    std::fs::create_dir_all(home)?;
    let token_file = home.join("token");
    std::fs::write(&token_file, &upstream.token)?;
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600))?;
    }
    let data = home.join("data");
    let config = home.join("liner.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[upstream]\nurl = {:?}\ntoken_file = {:?}\n",
            data.display().to_string(),
            upstream.base,
            token_file.display().to_string()
        ),
    )?;
    let t = Instant::now();
    let upstream_cpu_before = cpu_seconds(std::process::id());
    let mut daemon = Daemon(
        Command::new(env!("CARGO_BIN_EXE_linerd"))
            .arg("--config")
            .arg(&config)
            .env("LINER_LOG", "warn")
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting linerd")?,
    );
    let child = &mut daemon.0;
    let pid = child.id();
    let status_path = data.join("status.json");
    let mut synced_at = None;
    let (mut peak_anon, mut peak_file) = (0u64, 0u64);
    let mut next_report = Duration::ZERO;
    loop {
        let anon = proc_field(pid, "status", "RssAnon:").unwrap_or(0);
        if t.elapsed() >= next_report {
            // A memory timeline on stderr: where the peak happens.
            let st = liner_daemon::status::read(&status_path).ok();
            eprintln!(
                "bench: {:>5.1} s  anon {:>4} MB  {:?}  {:?}",
                t.elapsed().as_secs_f64(),
                anon / 1024,
                st.as_ref().map(|s| s.state),
                st.as_ref()
                    .and_then(|s| s.bootstrap.as_ref())
                    .map(|b| b.done)
            );
            next_report += Duration::from_secs(3);
        }
        peak_anon = peak_anon.max(anon);
        peak_file = peak_file.max(proc_field(pid, "status", "RssFile:").unwrap_or(0));
        if let Some(code) = child.try_wait()? {
            bail!("linerd exited early: {code}");
        }
        if synced_at.is_none()
            && liner_daemon::status::read(&status_path).is_ok_and(|s| {
                s.pid == pid && s.cursor.as_deref() == Some(upstream.target.as_str())
            })
        {
            synced_at = Some(t.elapsed());
        }
        if synced_at.is_some()
            && SearchIndex::open_read_only(data.join("index"))
                .is_ok_and(|i| i.num_docs() == upstream.searchable)
        {
            break;
        }
        if t.elapsed() > Duration::from_secs(1800) {
            bail!("no cold mirror after 30 minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let time = t.elapsed();
    Ok(Cold {
        // Where the CPU went: on two cores, the cold mirror is bound by the sum.
        daemon_cpu: cpu_seconds(pid),
        upstream_cpu: cpu_seconds(std::process::id()) - upstream_cpu_before,
        rss_mb: proc_field(pid, "status", "VmHWM:").unwrap_or(0) / 1024,
        peak_anon_mb: peak_anon / 1024,
        peak_file_mb: peak_file / 1024,
        daemon,
        data,
        time,
        synced_at: synced_at.unwrap_or_default(),
    })
}

/// CPU while caught up, then edits accepted upstream until each is visible in the daemon's
/// mirror and search.
fn idle_and_edits(
    args: &Args,
    upstream: &Upstream,
    cold: &Cold,
    rows: &mut Vec<(String, String)>,
) -> Result<()> {
    let pid = cold.daemon.0.id();
    let before = cpu_seconds(pid);
    std::thread::sleep(Duration::from_secs(10));
    let idle = cpu_seconds(pid) - before;
    rows.push((
        "CPU while idle (10 s, long-polling)".into(),
        format!("{:.2} s of CPU = {:.1}%", idle, idle * 10.0),
    ));

    let data = &cold.data;
    let mirror = Store::open_read_only(data.join("mirror.sqlite"))?;
    let (base, token) = (&upstream.base, &upstream.token);
    let http = reqwest::blocking::Client::new();
    let mut times = Vec::new();
    // Titles unique to this run: a reused catalog already has the last run's.
    let run = jiff::Timestamp::now().as_second();
    for i in 0..args.edits {
        let rec = liner::generate::recording_id(args.seed, (i as u64 * 7_919) % args.recordings);
        let id = EntityId::Recording(rec);
        let version = mirror.version_of(id)?.context("recording not mirrored")?;
        let title = format!("Qzxedit{i} Run{run}");
        let r = http
            .patch(format!("{base}/v1/recordings/{rec}"))
            .bearer_auth(token)
            .header("if-match", format!("\"{version}\""))
            .json(&json!({"reason": "bench", "patch": {"title": title}}))
            .send()?;
        let accepted = Instant::now();
        if !r.status().is_success() {
            bail!("edit refused: {}", r.status());
        }
        loop {
            let in_mirror = mirror.version_of(id)? == Some(version + 1);
            let in_search = in_mirror
                && SearchIndex::open_read_only(data.join("index"))
                    .ok()
                    .and_then(|ix| ix.search(&SearchRequest::new(title.to_lowercase())).ok())
                    .is_some_and(|hits| hits.iter().take(3).any(|h| h.id == id));
            if in_search {
                break;
            }
            if accepted.elapsed() > Duration::from_secs(30) {
                bail!("edit {i} never became visible");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        times.push(accepted.elapsed());
    }
    if times.is_empty() {
        return Ok(());
    }
    times.sort();
    let q = |f: f64| times[((times.len() as f64 * f).ceil() as usize).clamp(1, times.len()) - 1];
    rows.push((
        format!(
            "**edit accepted upstream → in mirror and search**, {} edits (target p99 ≤ 1 s)",
            args.edits
        ),
        format!(
            "p50 {:.0} ms / **p99 {:.0} ms** / max {:.0} ms",
            q(0.5).as_secs_f64() * 1e3,
            q(0.99).as_secs_f64() * 1e3,
            times.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)
        ),
    ));
    Ok(())
}

/// Stops a daemon as a user would (SIGTERM) and checks it stops cleanly.
fn stop_daemon(cold: &mut Cold) -> Result<()> {
    let pid = cold.daemon.0.id();
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let exit = cold.daemon.0.wait()?;
    if !exit.success() {
        bail!("linerd did not stop cleanly on SIGTERM: {exit}");
    }
    Ok(())
}
