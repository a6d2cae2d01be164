//! The console benchmark: on a generated mirror, the first frame after start, keystroke →
//! results drawn (the app driven through its event handling and drawn into a `TestBackend`,
//! one key at a time, each waiting for its results), recording detail opened and drawn, and
//! the console's peak RSS, measured in a fresh child process; plus one real start-up of the
//! `liner` binary in tmux, timed until the search prompt is on the screen.
//!
//! `cargo bench -p liner-console --bench console -- [--recordings N] [--dir DIR]` prints one
//! Markdown table. N defaults to 1,000,000; the mirror is kept in DIR (default
//! `target/console-bench/N`) and reused by later runs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use liner::store::Store;
use liner_console::console::{App, Msg, Paths, Session, draw, worker};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Parser, Debug)]
struct Args {
    #[arg(long, default_value_t = 1_000_000)]
    recordings: u64,
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Queries typed (each character by character).
    #[arg(long, default_value_t = 60)]
    queries: usize,
    /// Internal: measure in this process (the parent runs the child with it).
    #[arg(long, hide = true)]
    child: bool,
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> Result<()> {
    let started = Instant::now();
    let args = Args::parse();
    let dir = args.dir.clone().unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../target/console-bench")
            .join(args.recordings.to_string())
    });
    if args.child {
        return measure(&dir, args.queries, started);
    }
    if !dir.join("mirror.sqlite").exists() {
        eprintln!(
            "generating a mirror of {} recordings in {}…",
            args.recordings,
            dir.display()
        );
        liner_console::generate::run(
            liner_console::cli::GenerateArgs {
                recordings: args.recordings,
                seed: 42,
                force: false,
            },
            &dir,
        )?;
    }
    // Measured in a fresh process, so the RSS is the console's and not the generator's.
    let out = Command::new(std::env::current_exe()?)
        .args(["--child", "--queries", &args.queries.to_string(), "--dir"])
        .arg(&dir)
        .output()
        .context("running the measuring child")?;
    if !out.status.success() {
        bail!(
            "the measuring child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let table = String::from_utf8(out.stdout)?;
    let real = real_start(&dir);
    let store = Store::open_read_only(dir.join("mirror.sqlite"))?;
    let [parties, recordings, works, releases] = store.counts()?;
    println!(
        "\n### console bench: {recordings} recordings ({parties} parties, {works} works, {releases} releases), {} cores\n",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("| measure | value | target |\n|---|---|---|");
    print!("{table}");
    match real {
        Ok(d) => println!(
            "| real start-up in tmux: `liner` until the search prompt shows | {:.0} ms | ≤ 100 ms |",
            ms(d)
        ),
        Err(e) => println!("| real start-up in tmux | not measured: {e:#} | ≤ 100 ms |"),
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

struct Driven {
    app: App,
    rx: Receiver<Msg>,
    terminal: Terminal<TestBackend>,
}

impl Driven {
    fn settle(&mut self) {
        while self.app.in_flight() > 0 {
            match self.rx.recv() {
                Ok(m) => self.app.handle(m),
                Err(_) => return,
            }
        }
    }

    fn draw(&mut self) {
        if self.app.take_dirty() {
            let _ = self.terminal.draw(|f| draw::draw(f, &mut self.app));
        }
    }

    fn key(&mut self, code: KeyCode) -> Duration {
        let t = Instant::now();
        self.app
            .handle(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        self.settle();
        self.draw();
        t.elapsed()
    }
}

/// Query set from the mirror: the first two words of sampled titles, every third with a typo,
/// every third with the last word cut short.
fn queries(store: &Store, n: usize) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut after = None;
    let mut i = 0usize;
    while out.len() < n {
        let rows = store.browse_recordings(after, 997)?;
        let Some(last) = rows.last() else { break };
        after = Some(last.id);
        let row = &rows[rows.len() / 2];
        let words: Vec<&str> = row.title.split_whitespace().take(2).collect();
        let mut q = words.join(" ").to_lowercase();
        match i % 3 {
            1 => {
                // A transposition, the commonest typo.
                let mut chars: Vec<char> = q.chars().collect();
                if chars.len() > 3 {
                    chars.swap(2, 3);
                    q = chars.into_iter().collect();
                }
            }
            2 => {
                let keep = q.chars().count().saturating_sub(2).max(1);
                q = q.chars().take(keep).collect();
            }
            _ => {}
        }
        out.push(q);
        i += 1;
    }
    Ok(out)
}

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn measure(dir: &Path, n: usize, started: Instant) -> Result<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    let requests = worker::spawn(Paths::new(dir), tx)?;
    let session = Session {
        actor: "bench".into(),
        who: None,
    };
    let app = App::new(session, requests, true);
    let mut d = Driven {
        app,
        rx,
        terminal: Terminal::new(TestBackend::new(160, 48))?,
    };
    d.draw();
    let first_frame = started.elapsed();
    d.settle();
    d.draw();
    let first_status = started.elapsed();

    let store = Store::open_read_only(dir.join("mirror.sqlite"))?;
    let queries = queries(&store, n)?;
    drop(store);
    // One query to warm the reader (the first search maps the index in).
    for c in "warm".chars() {
        d.key(KeyCode::Char(c));
    }
    for _ in 0..4 {
        d.key(KeyCode::Backspace);
    }
    let mut keys = Vec::new();
    let mut details = Vec::new();
    for q in &queries {
        for c in q.chars() {
            keys.push(d.key(KeyCode::Char(c)));
        }
        details.push(d.key(KeyCode::Enter));
        d.key(KeyCode::Esc);
        d.app.handle(Msg::Key(KeyEvent::new(
            KeyCode::Char('/'),
            KeyModifiers::NONE,
        )));
        d.app.handle(Msg::Key(KeyEvent::new(
            KeyCode::Char('u'),
            KeyModifiers::CONTROL,
        )));
        d.settle();
        d.draw();
    }
    keys.sort();
    details.sort();
    let row = |name: &str, v: &[Duration], target: &str| {
        println!(
            "| {name} (n={}) | p50 {:.2} · p95 {:.2} · p99 {:.2} · max {:.2} ms | {target} |",
            v.len(),
            ms(percentile(v, 0.5)),
            ms(percentile(v, 0.95)),
            ms(percentile(v, 0.99)),
            ms(*v.last().unwrap_or(&Duration::ZERO))
        )
    };
    println!(
        "| first frame after start (TestBackend 160×48) | {:.1} ms | ≤ 100 ms |",
        ms(first_frame)
    );
    println!(
        "| first frame with the sync status read | {:.1} ms | |",
        ms(first_status)
    );
    row("keystroke → results drawn", &keys, "p99 ≤ 16 ms");
    row("Enter → recording detail drawn", &details, "");
    println!(
        "| console RSS after {} queries: now / peak | {:.0} / {:.0} MB | ≤ 100 MB |",
        queries.len(),
        rss_kib("VmRSS:") as f64 / 1024.0,
        rss_kib("VmHWM:") as f64 / 1024.0
    );
    Ok(())
}

/// Starts the real binary in tmux and times it until the search prompt is drawn.
fn real_start(dir: &Path) -> Result<Duration> {
    let socket = tempfile::Builder::new()
        .prefix("liner-bench-tmux")
        .tempdir()?;
    let sock = socket.path().join("s");
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .arg("-S")
            .arg(&sock)
            .args(args)
            .output()
    };
    let bin = env!("CARGO_BIN_EXE_liner");
    let command = format!("'{bin}' --data '{}'", dir.display());
    let t = Instant::now();
    let out = tmux(&[
        "new-session",
        "-d",
        "-s",
        "b",
        "-x",
        "120",
        "-y",
        "30",
        &command,
    ])
    .context("tmux")?;
    if !out.status.success() {
        bail!("tmux: {}", String::from_utf8_lossy(&out.stderr));
    }
    let result = loop {
        let pane = tmux(&["capture-pane", "-p", "-t", "b"])?;
        if String::from_utf8_lossy(&pane.stdout).contains("search ›") {
            break Ok(t.elapsed());
        }
        if t.elapsed() > Duration::from_secs(10) {
            break Err(anyhow::anyhow!("no search prompt after 10 s"));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let _ = tmux(&["kill-server"]);
    result
}
