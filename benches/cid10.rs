//! CID-10 search latency over the bundled table (plain harness: `cargo bench --bench cid10`).
//! Runs a fixed mix of what professionals type (codes, prefixes, words with and without
//! accents, one letter) and prints p50/p99/max per query kind and overall. The figures go
//! to docs/performance.md.

use std::hint::black_box;
use std::time::{Duration, Instant};

use atende::domain::cid10::table;

const QUERIES: &[(&str, &str)] = &[
    ("code", "J11.1"),
    ("code", "i10"),
    ("prefix", "e1"),
    ("prefix", "J"),
    ("words", "infarto agudo do miocárdio"),
    ("words", "infeccao trato urin"),
    ("words", "diabetes mellitus insulino"),
    ("words", "hipertensao"),
    ("typing", "d"),
    ("typing", "di"),
    ("typing", "dia"),
    ("typing", "fratura de"),
    ("none", "xilofone quântico"),
];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    let start = Instant::now();
    let t = table();
    println!("index: {} codes built in {:?}", t.len(), start.elapsed());
    let rounds = 400;
    let mut all = Vec::new();
    for (kind, q) in QUERIES {
        let mut times = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let s = Instant::now();
            black_box(t.search(black_box(q), 20));
            times.push(s.elapsed());
        }
        times.sort_unstable();
        println!(
            "{kind:7} {q:32} total {:5}  p50 {:>9.3?}  p99 {:>9.3?}  max {:>9.3?}",
            t.search(q, 1).1,
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times[times.len() - 1]
        );
        all.extend(times);
    }
    all.sort_unstable();
    println!(
        "all {} searches: p50 {:?}  p99 {:?}  max {:?}",
        all.len(),
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        all[all.len() - 1]
    );
}
