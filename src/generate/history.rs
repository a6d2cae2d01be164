//! Edit histories for generated recordings: a fifth of recordings edited one to five times
//! after their import, by several editors and a label delivery, so the demo and the benches
//! carry the revisions a real desk accumulates (and a bootstrap has them to bring).
//!
//! Edits touch the crew, never the main or featured artists (whose display credit would have
//! to follow): a credit's role corrected, a player added, a credit removed, a printed name
//! set, a version title or genre fixed. Each revision records the field diff of its edit.

use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::Value;

use super::{EPOCH_MS, rng};
use crate::ids::PartyId;
use crate::model::{Credit, Recording, Revision, Source, SourceKind, diff};
use crate::roles::Role;

const HISTORY: u64 = 5;

const EDITORS: &[&str] = &[
    "ann.lindqvist",
    "bo.okafor",
    "cam.reyes",
    "dee.santos",
    "eli.nakamura",
];

const REASONS: &[&str] = &[
    "liner notes of the 2019 reissue",
    "session sheet from the studio",
    "the artist's management confirmed",
    "matched against the label's credit list",
    "typo in the original delivery",
    "player named in the booklet",
];

const CREW: &[Role] = &[
    Role::Producer,
    Role::MixingEngineer,
    Role::MasteringEngineer,
    Role::RecordingEngineer,
    Role::Instrumentalist,
    Role::BackgroundVocalist,
    Role::Arranger,
    Role::Programmer,
];

/// Whether recording `i` is edited after its import, and how many times (one to five).
pub(super) fn edits(seed: u64, i: u64) -> usize {
    let mut r = rng(seed, HISTORY, i);
    if r.random_range(0..5) != 0 {
        return 0;
    }
    r.random_range(1..=5)
}

/// Recording `i` edited `n` times after `first` (its import revision): the final recording and
/// the revisions that made it, oldest first (the import first). `party` names a catalog party
/// for a credit an edit adds.
pub(super) fn edited(
    seed: u64,
    i: u64,
    n: usize,
    mut recording: Recording,
    first: Revision,
    party: impl Fn(&mut SmallRng) -> PartyId,
) -> (Recording, Vec<Revision>) {
    let mut r = rng(seed, HISTORY, i.wrapping_add(1 << 40));
    let mut revisions = vec![first];
    let start_s = (EPOCH_MS / 1000) as i64 + 86_400 * 30;
    for k in 0..n {
        let before = json(&recording);
        edit(&mut r, &mut recording, &party);
        let after = json(&recording);
        let changes = diff(Some(&before), Some(&after));
        if changes.is_empty() {
            continue;
        }
        let version = revisions.len() as u64 + 1;
        let delivery = r.random_range(0..6) == 0;
        let at_s = start_s + (i as i64 % 86_400) * 60 + k as i64 * 86_400 * 7;
        revisions.push(Revision {
            version,
            actor: if delivery {
                "ingest".into()
            } else {
                EDITORS[r.random_range(0..EDITORS.len())].into()
            },
            source: Source {
                kind: if delivery {
                    SourceKind::Delivery
                } else {
                    SourceKind::Editor
                },
                // A label's redelivery covers a whole batch of recordings at once.
                reference: delivery.then(|| format!("dlv-{seed}-{:05}", i / 500 * 5 + k as u64)),
            },
            reason: if delivery {
                "label redelivery".into()
            } else {
                REASONS[r.random_range(0..REASONS.len())].into()
            },
            at: jiff::Timestamp::from_second(at_s).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            diff: changes,
            unknown: Default::default(),
        });
    }
    (recording, revisions)
}

fn json(r: &Recording) -> Value {
    serde_json::to_value(r).unwrap_or(Value::Null)
}

/// One edit of the crew or a descriptive field.
fn edit(r: &mut SmallRng, rec: &mut Recording, party: &impl Fn(&mut SmallRng) -> PartyId) {
    let crew: Vec<usize> = rec
        .credits
        .iter()
        .enumerate()
        .filter(|(_, c)| !matches!(c.role, Role::MainArtist | Role::FeaturedArtist))
        .map(|(i, _)| i)
        .collect();
    match r.random_range(0..6) {
        0 | 1 if !crew.is_empty() => {
            // A role corrected.
            let c = crew[r.random_range(0..crew.len())];
            let role = CREW[r.random_range(0..CREW.len())];
            let instrument = (role == Role::Instrumentalist).then(|| "guitar".to_owned());
            let taken = rec
                .credits
                .iter()
                .any(|o| o.party == rec.credits[c].party && o.role == role);
            if !taken {
                rec.credits[c].role = role;
                rec.credits[c].instrument = instrument;
            }
        }
        2 => {
            // A player added.
            rec.credits.push(Credit {
                party: party(r),
                role: Role::Instrumentalist,
                instrument: Some(
                    ["piano", "bass guitar", "drums", "violin"][r.random_range(0..4)].into(),
                ),
                credited_as: None,
                unknown: Default::default(),
            });
        }
        3 if crew.len() > 1 => {
            // A credit that should not be there.
            let c = crew[r.random_range(0..crew.len())];
            rec.credits.remove(c);
        }
        4 if !crew.is_empty() => {
            // The name the booklet prints.
            let c = crew[r.random_range(0..crew.len())];
            const PRINTED: &[&str] = &[
                "Kid Nova",
                "DJ Saudade",
                "The Professor",
                "Mo B.",
                "Lil' Faro",
            ];
            rec.credits[c].credited_as = Some(PRINTED[r.random_range(0..PRINTED.len())].into());
        }
        _ => {
            rec.genre =
                Some(["pop", "rock", "jazz", "folk", "electronic"][r.random_range(0..5)].into());
        }
    }
}
