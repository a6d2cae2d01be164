//! The relevance bench on a tenth of the real-name list, with its targets as thresholds: the
//! intended recording in the top 3 for queries typed exact, with one typo, cut short and both,
//! none of them empty, and cut-short queries never more than a point behind SQLite FTS5.
//! `cargo bench --bench relevance` measures the whole list.

#[path = "../benches/support/real_names.rs"]
mod real_names;

use real_names::Class;

#[test]
fn real_names_typed_four_ways_find_the_intended_recording() {
    let rows = real_names::rows(std::path::Path::new(real_names::FIXTURE), 10).expect("rows");
    assert!(rows.len() > 3_500, "{} rows", rows.len());
    let catalog = real_names::catalog(&rows);
    let (_dir, index) = real_names::index(&catalog).expect("index");
    let queries = real_names::queries(&rows, 250, 42);
    assert_eq!(queries.len(), 4 * 250);
    let liner = real_names::run_liner(&index, &rows, &catalog, &queries).expect("liner");
    let conn = real_names::fts(&rows).expect("fts");
    let fts = real_names::run_fts(&conn, &rows, &queries).expect("fts5");
    let mut failures = Vec::new();
    for ((class, l), (_, f)) in liner.iter().zip(&fts) {
        let floor = match class {
            Class::Exact => 99.0,
            Class::Typo => 95.0,
            Class::Cut => 99.0_f64.max(f.top3_pct() - 1.0),
            Class::TypoCut => 90.0,
        };
        if l.top3_pct() < floor || l.empty > 0 {
            failures.push(format!(
                "{}: {:.1}% in the top 3 (at least {floor:.1}%), {} empty; misses: {:?}",
                class.label(),
                l.top3_pct(),
                l.empty,
                &l.misses[..l.misses.len().min(10)]
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
