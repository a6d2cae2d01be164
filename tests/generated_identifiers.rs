//! The generated catalog holds no identifier twice: the service refuses an ISRC, ISWC, ISNI or
//! IPI another live entity of its kind holds, so a duplicate here would stop `liner-upstream
//! seed` half-way. Random ISNI digits once gave 26 shared values in a million-recording
//! catalog, hence the large party range below.

use std::collections::HashMap;

use liner::generate::{CatalogSpec, Generator, party};
use liner::model::{ChangeOp, Entity};

/// Records `value` for `who`, failing on the second holder.
fn hold(
    seen: &mut HashMap<(&'static str, String), String>,
    scheme: &'static str,
    value: &str,
    who: String,
) {
    if let Some(first) = seen.insert((scheme, value.to_owned()), who.clone()) {
        panic!("{scheme} {value} is held by {first} and by {who}");
    }
}

#[test]
fn the_parties_of_a_million_recording_catalog_share_no_isni_or_ipi() {
    for seed in [42, 7] {
        let parties = CatalogSpec::new(1_000_000, seed).parties();
        let mut seen = HashMap::new();
        let (mut isnis, mut ipis) = (0, 0);
        for i in 0..parties {
            let p = party(seed, i);
            if let Some(isni) = &p.isni {
                hold(&mut seen, "isni", isni.as_str(), p.id.to_string());
                isnis += 1;
            }
            if let Some(ipi) = &p.ipi {
                hold(&mut seen, "ipi", ipi.as_str(), p.id.to_string());
                ipis += 1;
            }
        }
        // Still a realistic mix: most parties have neither, some have one or both.
        assert!(isnis > parties / 5 && isnis < parties / 2, "{isnis} ISNIs");
        assert!(ipis > parties / 10 && ipis < parties / 2, "{ipis} IPIs");
    }
}

#[test]
fn a_generated_catalog_with_histories_holds_each_identifier_once() {
    let mut seen = HashMap::new();
    for batch in Generator::new(CatalogSpec::new(20_000, 42).with_history(), 2_000) {
        for change in batch.changes {
            let ChangeOp::Upsert(entity) = change.op else {
                continue;
            };
            let who = change.id.to_string();
            match &entity {
                Entity::Recording(r) => {
                    if let Some(isrc) = &r.isrc {
                        hold(&mut seen, "isrc", isrc.as_str(), who);
                    }
                }
                Entity::Work(w) => {
                    if let Some(iswc) = &w.iswc {
                        hold(&mut seen, "iswc", iswc.as_str(), who);
                    }
                }
                Entity::Party(p) => {
                    if let Some(isni) = &p.isni {
                        hold(&mut seen, "isni", isni.as_str(), who.clone());
                    }
                    if let Some(ipi) = &p.ipi {
                        hold(&mut seen, "ipi", ipi.as_str(), who);
                    }
                }
                Entity::Release(_) => {}
            }
        }
    }
    for scheme in ["isrc", "iswc", "isni", "ipi"] {
        assert!(
            seen.keys().any(|(s, _)| *s == scheme),
            "the catalog has no {scheme} at all"
        );
    }
}
