//! The relevance bench: how often search finds what a person means on real names.
//!
//! A catalog of the Billboard 200's charted albums (38,259 rows; see
//! `benches/support/real_names.rs`), queries typed four ways from drawn rows, the intended
//! recording's place in the results, and SQLite FTS5 prefix queries over the same rows in the
//! same run. The foundation bench measures speed at a million generated recordings; this one
//! measures whether the answer is right.
//!
//! `cargo bench --bench relevance -- [--step N] [--queries Q] [--seed S] [--misses M]`
//! prints one Markdown table.

use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Parser;

#[path = "support/real_names.rs"]
mod real_names;

use real_names::{Class, Outcome};

#[derive(Parser, Debug)]
struct Args {
    /// Every N-th row of the list (1: all 38,259).
    #[arg(long, default_value_t = 1)]
    step: usize,
    /// Rows drawn, each typed once in every class.
    #[arg(long, default_value_t = 250)]
    queries: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Print this many missed queries per class, with what came first instead.
    #[arg(long, default_value_t = 0)]
    misses: usize,
    /// cargo passes --bench; ignore it.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let rows = real_names::rows(std::path::Path::new(real_names::FIXTURE), args.step)?;
    let catalog = real_names::catalog(&rows);
    let t = Instant::now();
    let (_dir, index) = real_names::index(&catalog)?;
    let built = t.elapsed();
    let queries = real_names::queries(&rows, args.queries, args.seed);
    // Warm up once over everything.
    real_names::run_liner(&index, &rows, &catalog, &queries)?;
    let liner = real_names::run_liner(&index, &rows, &catalog, &queries)?;
    let conn = real_names::fts(&rows)?;
    let fts = real_names::run_fts(&conn, &rows, &queries)?;

    println!("\n## liner relevance bench\n");
    println!(
        "{} recordings from the Billboard 200 list ({}), {} parties; {} rows drawn with seed {}; built in {:.2} s; index {:.1} MB; {} cores\n",
        rows.len(),
        ordinal(args.step),
        catalog.changes.len() - rows.len(),
        queries.len() / 4,
        args.seed,
        built.as_secs_f64(),
        index.disk_bytes()? as f64 / 1e6,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!(
        "| query class (title words + first artist word) | liner top 3 | liner empty | liner p50 / p99 | FTS5 prefix top 3 | FTS5 empty | FTS5 p50 / p99 |"
    );
    println!("|---|---|---|---|---|---|---|");
    for ((class, mut l), (_, mut f)) in liner.into_iter().zip(fts) {
        println!(
            "| {} | **{:.1}%** | {:.1}% | {} | {:.1}% | {:.1}% | {} |",
            class.label(),
            l.top3_pct(),
            l.empty_pct(),
            pcts(&mut l.latencies),
            f.top3_pct(),
            f.empty_pct(),
            pcts(&mut f.latencies)
        );
        print_misses(class, &l, args.misses);
    }
    Ok(())
}

fn print_misses(class: Class, o: &Outcome, n: usize) {
    for (q, first) in o.misses.iter().take(n) {
        eprintln!("miss ({:?}): {q:?} → {first}", class);
    }
}

fn ordinal(step: usize) -> String {
    if step == 1 {
        "every row".into()
    } else {
        format!("every {step}th row")
    }
}

fn pcts(v: &mut [Duration]) -> String {
    v.sort_unstable();
    let p = |q: f64| {
        let i = ((v.len() as f64 - 1.0) * q).round() as usize;
        v.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    format!("{:.2} / {:.2} ms", p(0.5), p(0.99))
}
