//! Writer shares from a real split sheet, parsed exactly into basis points.

mod common;

use liner::ids::{PartyId, WorkId};
use liner::model::{BasisPoints, ShareError, Work, Writer, Writers};
use liner::roles::WriterRole;

#[test]
fn the_split_sheet_parses_into_exact_basis_points() {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(common::fixture("shares/dataimport.csv"))
        .expect("csv");
    let headers = reader.headers().expect("headers").clone();
    let mut complete = 0;
    let mut incomplete = Vec::new();
    for row in reader.records() {
        let row = row.expect("row");
        let mut total = 0u32;
        let mut writers = Vec::new();
        for (i, h) in headers.iter().enumerate() {
            if h.starts_with("Writer ") && h.ends_with(" Share") {
                let v = row.get(i).unwrap_or("").trim();
                if v.is_empty() {
                    continue;
                }
                let bp = BasisPoints::parse_share(v).unwrap_or_else(|e| panic!("{v}: {e}"));
                total += u32::from(bp.get());
                writers.push(Writer {
                    unknown: Default::default(),
                    party: PartyId::new(),
                    role: WriterRole::Composer,
                    share: Some(bp),
                });
            }
        }
        if writers.is_empty() {
            continue;
        }
        match Writers::new(writers) {
            Ok(w) => {
                assert_eq!(w.total(), 10_000);
                complete += 1;
            }
            Err(ShareError::Total { total: t }) => {
                assert_eq!(t, total);
                incomplete.push(t);
            }
            Err(e) => panic!("{e}"),
        }
    }
    // "0.6667" + "33.33%" is one of the sheet's exact 100% splits.
    assert!(
        complete >= 10,
        "{complete} complete, {incomplete:?} not 100%"
    );
}

#[test]
fn a_work_cannot_hold_a_split_off_by_one_basis_point() {
    let w = |bp| Writer {
        unknown: Default::default(),
        party: PartyId::new(),
        role: WriterRole::ComposerLyricist,
        share: Some(BasisPoints::new(bp).expect("in range")),
    };
    let err = Writers::new(vec![w(5_000), w(4_999)]).expect_err("9,999 bp");
    assert_eq!(
        err.to_string(),
        "writer shares total 9999 bp (99.99%), they must total exactly 10000 bp (100%)"
    );
    // And not through JSON either.
    let json = format!(
        r#"{{"id":"{}","title":"x","writers":[{{"party":"{}","role":"composer","share":5000}},{{"party":"{}","role":"lyricist","share":5001}}]}}"#,
        WorkId::new(),
        PartyId::new(),
        PartyId::new()
    );
    let err = serde_json::from_str::<Work>(&json).expect_err("10,001 bp");
    assert!(
        err.to_string().contains("writer shares total 10001 bp"),
        "{err}"
    );
}
