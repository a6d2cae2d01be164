//! The daemon benchmark: a cold mirror of the whole catalog from `liner-upstream` (SQLite,
//! served from this process over loopback) by the real `linerd` binary, to searchable; its
//! peak RSS; edit-to-visible latency (an edit accepted upstream, seen in the daemon's mirror
//! and search); CPU while idle; and, in the same run, the foundation's apply + index of the
//! same catalog from memory, which the cold mirror is compared with.
//!
//! `cargo bench -p liner-daemon --bench daemon -- [--recordings N] [--catalog PATH] [--edits E]`

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use liner::generate::{CatalogSpec, Generator};
use liner::model::{Cursor, EntityId};
use liner::search::{SearchIndex, SearchRequest, WriterOptions};
use liner::store::Store;
use liner_upstream::auth::{Role, generate_token, hash_token};
use liner_upstream::store::{self as upstore, NewToken};
use serde_json::json;

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
    #[arg(long, hide = true)]
    bench: bool,
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

fn main() -> Result<()> {
    let args = Args::parse();
    let work = tempfile::tempdir()?;
    let rt = tokio::runtime::Runtime::new()?;
    let mut rows: Vec<(String, String)> = Vec::new();

    // The upstream, in this process.
    let catalog = match &args.catalog {
        Some(p) => p.clone(),
        None => {
            let default = PathBuf::from(format!(
                "../upstream/target/upstream-bench/catalog-{}-{}.db",
                args.recordings, args.seed
            ));
            if default.exists() {
                default
            } else {
                work.path().join("catalog.db")
            }
        }
    };
    let url = format!("sqlite:{}", catalog.display());
    let (base, token, store, stop) = rt.block_on(async {
        let store = upstore::open(&url).await?;
        if store.head().await? == 0 {
            eprintln!("bench: seeding {} recordings…", args.recordings);
            liner_upstream::seed::seed(store.as_ref(), args.recordings, args.seed, |_| {}).await?;
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
        anyhow::Ok((base, token, store, stop))
    })?;
    let counts = rt.block_on(store.counts())?;
    let entities: u64 = counts.iter().map(|(_, n)| n).sum();
    let searchable: u64 = counts
        .iter()
        .filter(|(k, _)| {
            matches!(
                k,
                liner::model::EntityKind::Party | liner::model::EntityKind::Recording
            )
        })
        .map(|(_, n)| n)
        .sum();

    // 1. Cold mirror with the real daemon, to searchable.
    let home = work.path().join("home");
    std::fs::create_dir_all(&home)?;
    let token_file = home.join("token");
    std::fs::write(&token_file, &token)?;
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600))?;
    }
    let data = home.join("data");
    let config = home.join("liner.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[upstream]\nurl = {base:?}\ntoken_file = {:?}\n",
            data.display().to_string(),
            token_file.display().to_string()
        ),
    )?;
    let head = rt.block_on(store.head())?;
    let target = Cursor::new(rt.block_on(store.epoch())?, head).token();
    let t = Instant::now();
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
            && liner_daemon::status::read(&status_path)
                .is_ok_and(|s| s.pid == pid && s.cursor.as_deref() == Some(target.as_str()))
        {
            synced_at = Some(t.elapsed());
        }
        if synced_at.is_some()
            && SearchIndex::open_read_only(data.join("index"))
                .is_ok_and(|i| i.num_docs() == searchable)
        {
            break;
        }
        if t.elapsed() > Duration::from_secs(1800) {
            bail!("no cold mirror after 30 minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let cold = t.elapsed();
    let rss_mb = proc_field(pid, "status", "VmHWM:").unwrap_or(0) / 1024;
    rows.push((
        "catalog".into(),
        format!(
            "{entities} entities ({} recordings), served from SQLite",
            args.recordings
        ),
    ));
    rows.push((
        "**cold mirror to searchable** (target ≤ 20 s)".into(),
        format!(
            "**{:.1} s** (mirror at the head after {:.1} s)",
            cold.as_secs_f64(),
            synced_at.unwrap_or_default().as_secs_f64()
        ),
    ));
    rows.push((
        "**daemon peak RSS** (target ≤ 400 MB)".into(),
        format!(
            "**{rss_mb} MB** (sampled peaks: {} MB anonymous, {} MB file-backed)",
            peak_anon / 1024,
            peak_file / 1024
        ),
    ));

    // 2. Idle: CPU over ten seconds while caught up.
    let before = cpu_seconds(pid);
    std::thread::sleep(Duration::from_secs(10));
    let idle = cpu_seconds(pid) - before;
    rows.push((
        "CPU while idle (10 s, long-polling)".into(),
        format!("{:.2} s of CPU = {:.1}%", idle, idle * 10.0),
    ));

    // 3. Edit accepted upstream → visible in the mirror and in search.
    let mirror = Store::open_read_only(data.join("mirror.sqlite"))?;
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
            .bearer_auth(&token)
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

    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let exit = child.wait()?;
    rows.push(("graceful stop".into(), format!("{exit}")));
    let _ = stop.send(());
    drop(rt);

    // 4. The foundation's apply + index of the same catalog from memory, in this run.
    let foundation = foundation_apply_and_index(&args, work.path())?;
    rows.push((
        "foundation apply + index, same catalog from memory (same run)".into(),
        format!("{:.1} s", foundation.as_secs_f64()),
    ));
    rows.push((
        "**cold mirror / foundation** (target ≤ 1.5×)".into(),
        format!("**{:.2}×**", cold.as_secs_f64() / foundation.as_secs_f64()),
    ));

    println!("## linerd bench\n");
    println!("one 2-core machine; upstream and daemon on loopback\n");
    println!("| measure | result |\n|---|---|");
    for (k, v) in rows {
        println!("| {k} | {v} |");
    }
    Ok(())
}

/// The foundation bench's measure: apply every generated batch into a fresh store (bulk load)
/// while an indexer thread follows the journal, until the index has caught up.
fn foundation_apply_and_index(args: &Args, dir: &std::path::Path) -> Result<Duration> {
    let db = dir.join("foundation.sqlite");
    let batches: Vec<_> =
        Generator::new(CatalogSpec::new(args.recordings, args.seed), 5_000).collect();
    let mut store = Store::open(&db)?;
    let reader = Store::open(&db)?;
    let mut index = SearchIndex::open_writer(
        dir.join("foundation-index"),
        &reader,
        WriterOptions::default(),
    )?;
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let t = Instant::now();
    let indexer = std::thread::spawn(move || -> Result<()> {
        index.set_loading(true);
        while rx.recv().is_ok() {
            while rx.try_recv().is_ok() {}
            index.catch_up(&reader)?;
        }
        index.catch_up(&reader)?;
        index.commit()?;
        Ok(())
    });
    store.begin_bulk_load()?;
    let mut position = 0;
    for b in &batches {
        position += b.changes.len() as u64;
        store.apply_with_popularity(
            &b.changes,
            &b.popularity,
            Some(&Cursor::new("bench", position)),
        )?;
        let _ = tx.send(());
    }
    store.end_bulk_load()?;
    drop(tx);
    indexer
        .join()
        .map_err(|_| anyhow::anyhow!("indexer panicked"))??;
    Ok(t.elapsed())
}
