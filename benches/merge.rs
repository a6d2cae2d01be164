//! The three-way merge of a 50-credit recording, as the pusher runs it on a 412: the edit
//! (mine) changed, removed and added credits, the other desk (theirs, over three revisions)
//! did the same to other credits and to one of mine, and the merge goes credit by credit.
//! Prints a table of timings; the target is 100 µs.
//!
//! `cargo bench --bench merge -- --rounds 2000`

use std::hint::black_box;
use std::time::{Duration, Instant};

use clap::Parser;

// linerd's allocator: the pusher merges in linerd.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use liner::model::{Credit, FieldChange, Merge, RawJson, Revision, Source, SourceKind, merge};
use serde_json::{Map, Value, json};

#[derive(Debug, Parser)]
struct Args {
    /// Merges timed (after a warm-up of a tenth as many).
    #[arg(long, default_value_t = 2_000)]
    rounds: usize,
    /// Credits on the recording.
    #[arg(long, default_value_t = 50)]
    credits: usize,
    #[arg(long, hide = true)]
    bench: bool,
}

const ROLES: [&str; 6] = [
    "producer",
    "mixing_engineer",
    "instrumentalist",
    "vocalist",
    "arranger",
    "recording_engineer",
];

fn credit(i: usize, role: &str) -> Value {
    let mut c = json!({"party": format!("pty_01J9Z3Q8V4W5X6Y7Z8A9B0C{:03}", i), "role": role});
    if role == "instrumentalist" {
        c["instrument"] = json!("guitar");
    }
    c
}

/// A credit list as the service writes it into a revision: the model's own encoding.
fn canonical(list: &Value) -> RawJson {
    match serde_json::from_value::<Vec<Credit>>(list.clone()) {
        Ok(credits) => RawJson::of(&credits).expect("json"),
        Err(_) => RawJson::from(list),
    }
}

fn revision(version: u64, old: &Value, new: &Value) -> Revision {
    Revision {
        version,
        actor: "other desk".into(),
        source: Source {
            kind: SourceKind::Editor,
            reference: None,
        },
        reason: format!("revision {version}"),
        at: jiff::Timestamp::UNIX_EPOCH,
        diff: vec![FieldChange {
            path: "/credits".into(),
            old: Some(canonical(old)),
            new: Some(canonical(new)),
        }],
        unknown: Default::default(),
    }
}

fn main() {
    let args = Args::parse();
    let n = args.credits.max(12);
    let base: Vec<Value> = (0..n).map(|i| credit(i, ROLES[i % ROLES.len()])).collect();
    // Theirs: three revisions, each changing a few credits and adding one.
    let mut theirs = base.clone();
    let mut history = vec![Revision {
        diff: Vec::new(),
        ..revision(1, &Value::Null, &Value::Null)
    }];
    for v in 0..3 {
        let before = Value::Array(theirs.clone());
        theirs[1 + v * 2]["credited_as"] = json!(format!("printed {v}"));
        theirs[2 + v * 2]["role"] = json!("remixer");
        theirs.push(credit(100 + v, "performer"));
        history.push(revision(
            v as u64 + 2,
            &before,
            &Value::Array(theirs.clone()),
        ));
    }
    // Mine: other credits changed, one removed, two added, and one of theirs changed too.
    let mut mine = base.clone();
    for i in [n - 1, n - 2, n - 3, n - 4] {
        mine[i]["role"] = json!("mastering_engineer");
    }
    mine[2]["role"] = json!("programmer");
    mine.remove(n - 5);
    mine.push(credit(200, "orchestrator"));
    mine.push(credit(201, "librettist"));
    let mut patch = Map::new();
    patch.insert("credits".into(), Value::Array(mine));
    let current = json!({"credits": theirs});

    let once = || merge(&patch, 1, 4, &current, &history).expect("merge");
    let outcome = once();
    let conflicts = match &outcome {
        Merge::Conflict { conflicts, .. } => conflicts.len(),
        _ => 0,
    };
    for _ in 0..args.rounds / 10 {
        black_box(once());
    }
    let mut times: Vec<Duration> = (0..args.rounds)
        .map(|_| {
            let t = Instant::now();
            black_box(once());
            t.elapsed()
        })
        .collect();
    times.sort_unstable();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    let us = |d: Duration| format!("{:.1} µs", d.as_secs_f64() * 1e6);
    println!(
        "three-way merge, {n} credits (mine: 8 changes, theirs: 3 revisions, {conflicts} conflict), {} rounds",
        args.rounds
    );
    println!("| measure | result | target |");
    println!("|---|---|---|");
    println!(
        "| merge p50 / p99 / max | {} / **{}** / {} | p99 ≤ 100 µs: {} |",
        us(at(0.5)),
        us(at(0.99)),
        us(at(1.0)),
        if at(0.99) <= Duration::from_micros(100) {
            "met"
        } else {
            "MISSED"
        }
    );
}
