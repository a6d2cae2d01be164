//! A deterministic, realistic catalog generator for demos, tests and benchmarks.
//!
//! The same seed gives the same catalog, byte for byte. Artists are Zipf-distributed (a few
//! have thousands of recordings, most have a handful), distinct parties share names, names
//! and titles carry diacritics, display credits join artists with " feat. " and " & ",
//! recordings carry 2–8 credits, works 1–5 writers whose shares total exactly 100%, and
//! releases have ordered track lists. It streams: parties are a pure function of their index
//! and recordings are produced release by release, so 10M recordings need no more memory than
//! one batch.

mod history;
mod words;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Zipf};

use crate::ident::{Gtin, Ipi, Isni, Isrc, Iswc};
use crate::ids::{PartyId, RecordingId, ReleaseId, WorkId};
use crate::model::{
    AcousticFeatures, ArtistCredit, BasisPoints, Change, Credit, Entity, Party, PartyKind,
    Recording, Release, ReleaseType, Revision, Source, SourceKind, TOTAL_BP, Track, Work, Writer,
    Writers,
};
use crate::roles::{Role, WriterRole};
use words::*;

/// 2020-01-01T00:00:00Z: ids and revision times count from here so they are reproducible.
const EPOCH_MS: u64 = 1_577_836_800_000;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct CatalogSpec {
    pub recordings: u64,
    pub seed: u64,
    /// Whether a fifth of recordings carry an edit history (one to five revisions after their
    /// import, by several editors and deliveries).
    pub history: bool,
}

impl CatalogSpec {
    pub fn new(recordings: u64, seed: u64) -> Self {
        CatalogSpec {
            recordings,
            seed,
            history: false,
        }
    }

    /// The same catalog with edit histories (see [`CatalogSpec::history`]).
    pub fn with_history(self) -> Self {
        CatalogSpec {
            history: true,
            ..self
        }
    }

    /// One party for every four recordings: enough for a long tail of session players.
    pub fn parties(&self) -> u64 {
        (self.recordings / 4).max(FAMOUS.len() as u64 + 40)
    }
}

/// One batch in apply order, with the popularity scores of its recordings.
#[derive(Debug, Default)]
pub struct Batch {
    pub changes: Vec<Change>,
    pub popularity: Vec<(RecordingId, f32)>,
}

fn mix(seed: u64, stream: u64, i: u64) -> u64 {
    // SplitMix64 finaliser over the three inputs: independent streams per kind and index.
    let mut z =
        seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn rng(seed: u64, stream: u64, i: u64) -> SmallRng {
    SmallRng::seed_from_u64(mix(seed, stream, i))
}

fn pick<'a, R: Rng>(r: &mut R, list: &[&'a str]) -> &'a str {
    list[r.random_range(0..list.len())]
}

const PARTY: u64 = 1;
const RECORDING: u64 = 2;
const WORK: u64 = 3;
const RELEASE: u64 = 4;
const ISNI: u64 = 5;
const IPI: u64 = 6;

pub fn party_id(seed: u64, i: u64) -> PartyId {
    PartyId::from_parts(EPOCH_MS + i, u128::from(mix(seed, PARTY, i)))
}

pub fn recording_id(seed: u64, i: u64) -> RecordingId {
    RecordingId::from_parts(EPOCH_MS + i, u128::from(mix(seed, RECORDING, i)))
}

pub fn work_id(seed: u64, i: u64) -> WorkId {
    WorkId::from_parts(EPOCH_MS + i, u128::from(mix(seed, WORK, i)))
}

pub fn release_id(seed: u64, i: u64) -> ReleaseId {
    ReleaseId::from_parts(EPOCH_MS + i, u128::from(mix(seed, RELEASE, i)))
}

fn revision(seed: u64, offset_s: u64) -> Revision {
    let at = jiff::Timestamp::from_second((EPOCH_MS / 1000 + offset_s) as i64)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    Revision {
        unknown: Default::default(),
        version: 1,
        actor: "import".into(),
        source: Source {
            kind: SourceKind::Import,
            reference: Some(format!("seed-{seed}")),
        },
        reason: "initial catalog load".into(),
        at,
        diff: Vec::new(),
    }
}

/// Party `i` of the catalog: a pure function of the seed and index.
pub fn party(seed: u64, i: u64) -> Party {
    let mut r = rng(seed, PARTY, i);
    let id = party_id(seed, i);
    if let Some((name, sort, kind)) = FAMOUS.get(i as usize) {
        return Party {
            unknown: Default::default(),
            id,
            name: (*name).into(),
            sort_name: (*sort).into(),
            kind: if *kind == "group" {
                PartyKind::Group
            } else {
                PartyKind::Person
            },
            aliases: Vec::new(),
            isni: Some(isni(seed, i)),
            ipi: None,
            disambiguation: None,
        };
    }
    // Every 50th party shares its name with the one 7 before: same-name parties are normal.
    let (name, sort, kind) = if i % 50 == 7 && i > 7 + FAMOUS.len() as u64 {
        let twin = party(seed, i - 7);
        (twin.name, twin.sort_name, twin.kind)
    } else {
        match r.random_range(0..10) {
            0..=5 => {
                let first = pick(&mut r, FIRST);
                let last = format!("{}{}", pick(&mut r, LAST_HEAD), pick(&mut r, LAST_TAIL));
                (
                    format!("{first} {last}"),
                    format!("{last}, {first}"),
                    PartyKind::Person,
                )
            }
            6..=7 => {
                let name = format!(
                    "The {} {}",
                    pick(&mut r, ADJECTIVES),
                    pick(&mut r, GROUP_NOUNS)
                );
                (name.clone(), name, PartyKind::Group)
            }
            8 => {
                let name = format!("{}{}", pick(&mut r, STAGE), pick(&mut r, STAGE_TAIL));
                (name.clone(), name, PartyKind::Person)
            }
            _ => {
                let name = format!("{} {}", pick(&mut r, NOUNS), pick(&mut r, GROUP_NOUNS));
                (name.clone(), name, PartyKind::Group)
            }
        }
    };
    let disambiguation = (i % 50 == 7).then(|| {
        format!("{} {}", pick(&mut r, GENRES), "artist, b. 19")
            + &format!("{:02}", r.random_range(40..99))
    });
    let aliases = if r.random_bool(0.05) {
        vec![format!(
            "{}{}",
            pick(&mut r, STAGE),
            pick(&mut r, STAGE_TAIL)
        )]
    } else {
        Vec::new()
    };
    Party {
        unknown: Default::default(),
        id,
        name,
        sort_name: sort,
        kind,
        aliases,
        isni: r.random_bool(0.3).then(|| isni(seed, i)),
        ipi: (kind == PartyKind::Person && r.random_bool(0.4)).then(|| ipi(seed, i)),
        disambiguation,
    }
}

/// Party `i`'s identifier digits: a bijection of `[0, 10^8)` (shifted by the seed) that looks
/// random, so no two parties of a catalog share an ISNI or an IPI (the service refuses an
/// identifier another entity holds) while neighbours' numbers still look unrelated. Random
/// digits gave 26 shared ISNIs among the 250,000 parties of a million-recording catalog.
/// Catalogs past 10^8 parties would repeat.
fn spread(seed: u64, stream: u64, i: u64) -> u64 {
    const SPACE: u64 = 100_000_000;
    // Odd and not a multiple of 5, so coprime with 10^8: multiplying permutes the residues.
    const STEP: u64 = 73_939_133;
    (i % SPACE * STEP + mix(seed, stream, 0) % SPACE) % SPACE
}

fn isni(seed: u64, i: u64) -> Isni {
    let d = format!("0000000{:08}", spread(seed, ISNI, i));
    let s = format!("{d}{}", Isni::check_char_for(d.as_bytes()));
    Isni::parse(&s).unwrap_or_else(|e| unreachable!("generated ISNI {s}: {e}"))
}

fn ipi(seed: u64, i: u64) -> Ipi {
    // A leading 1: nine digits that are never all zero, which no IPI is.
    let d = format!("1{:08}", spread(seed, IPI, i));
    let s = format!("{d}{:02}", Ipi::check_digits_for(d.as_bytes()));
    Ipi::parse(&s).unwrap_or_else(|e| unreachable!("generated IPI {s}: {e}"))
}

fn iswc(i: u64) -> Iswc {
    let mut nine = [0u8; 9];
    let s = format!("{:09}", i % 1_000_000_000);
    nine.copy_from_slice(s.as_bytes());
    let text = format!("T{s}{}", Iswc::check_digit_for(&nine));
    Iswc::parse(&text).unwrap_or_else(|e| unreachable!("generated ISWC {text}: {e}"))
}

fn upc(i: u64) -> Gtin {
    let body = format!("19{:09}", i % 1_000_000_000);
    let text = format!("{body}{}", Gtin::check_digit_for(body.as_bytes()));
    Gtin::parse(&text).unwrap_or_else(|e| unreachable!("generated UPC {text}: {e}"))
}

fn isrc(i: u64, r: &mut SmallRng) -> Isrc {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let block = i / 100_000;
    let reg: String = [block / 1296, (block / 36) % 36, block % 36]
        .iter()
        .map(|&d| char::from(ALNUM[d as usize % 36]))
        .collect();
    let text = format!(
        "{}{reg}{:02}{:05}",
        pick(r, COUNTRIES),
        r.random_range(0..25),
        i % 100_000
    );
    Isrc::parse(&text).unwrap_or_else(|e| unreachable!("generated ISRC {text}: {e}"))
}

fn title(r: &mut SmallRng) -> String {
    match r.random_range(0..6) {
        0 => format!("{} {}", pick(r, ADJECTIVES), pick(r, NOUNS)),
        1 => format!("{} the {}", pick(r, VERBS), pick(r, NOUNS)),
        2 => format!("{} of {}", pick(r, NOUNS), pick(r, NOUNS)),
        3 => format!(
            "{} {} {}",
            pick(r, ADJECTIVES),
            pick(r, NOUNS),
            pick(r, NOUNS)
        ),
        4 => format!("{} in the {}", pick(r, VERBS), pick(r, NOUNS)),
        _ => pick(r, NOUNS).to_string(),
    }
}

/// The catalog as a stream of batches in apply order: parties first, then release by release
/// the new works, the recordings and the release.
#[derive(Debug)]
pub struct Generator {
    spec: CatalogSpec,
    parties: u64,
    zipf: Zipf<f64>,
    batch: usize,
    next_party: u64,
    next_recording: u64,
    next_release: u64,
    /// Indexes of the last works created, which covers and live takes reuse: only works that
    /// exist may be linked.
    recent_works: std::collections::VecDeque<u64>,
}

impl Generator {
    pub fn new(spec: CatalogSpec, batch: usize) -> Self {
        let parties = spec.parties();
        Generator {
            spec,
            parties,
            zipf: Zipf::new(parties as f64, 1.07).unwrap_or_else(|e| unreachable!("zipf: {e}")),
            batch: batch.max(1),
            next_party: 0,
            next_recording: 0,
            next_release: 0,
            recent_works: std::collections::VecDeque::with_capacity(100),
        }
    }

    /// The party index behind a Zipf rank: famous names are the most popular, the rest are
    /// spread over the index space so popularity is not simply "low ids".
    fn artist_for_rank(&self, rank: u64) -> u64 {
        let famous = FAMOUS.len() as u64;
        if rank < famous {
            rank
        } else {
            famous + (rank - famous).wrapping_mul(7_919) % (self.parties - famous)
        }
    }

    fn zipf_artist(&self, r: &mut SmallRng) -> (u64, u64) {
        let rank = (self.zipf.sample(r) as u64)
            .saturating_sub(1)
            .min(self.parties - 1);
        (self.artist_for_rank(rank), rank)
    }

    fn any_party(&self, r: &mut SmallRng) -> u64 {
        r.random_range(0..self.parties)
    }

    fn party_name(&self, i: u64) -> String {
        party(self.spec.seed, i).name
    }

    fn release(&mut self, out: &mut Batch) {
        let seed = self.spec.seed;
        let rel = self.next_release;
        self.next_release += 1;
        let mut r = rng(seed, RELEASE, rel);
        let (artist, rank) = self.zipf_artist(&mut r);
        let remaining = self.spec.recordings - self.next_recording;
        let len = match r.random_range(0..10) {
            0..=3 => 1,
            4..=5 => r.random_range(3..=6),
            _ => r.random_range(8..=14),
        }
        .min(remaining);
        let artist_name = self.party_name(artist);
        let artist_popularity = 1000.0 / ((rank + 1) as f32).powf(0.8);
        let mut tracks = Vec::new();
        let mut first_title = None;
        for position in 1..=len {
            let i = self.next_recording;
            self.next_recording += 1;
            let (recording, work, pop) = self.recording(i, artist, &artist_name, artist_popularity);
            if let Some(work) = work {
                out.changes.push(Change::upsert(
                    Entity::Work(work),
                    1,
                    Some(revision(seed, i)),
                ));
            }
            first_title.get_or_insert_with(|| recording.title.clone());
            tracks.push(Track {
                unknown: Default::default(),
                disc: 1,
                position: position as u16,
                recording: recording.id,
            });
            out.popularity.push((recording.id, pop));
            out.changes.push(self.recording_change(i, recording));
        }
        let release_type = match len {
            1 => ReleaseType::Single,
            2..=6 => ReleaseType::Ep,
            _ => ReleaseType::Album,
        };
        let release = Release {
            unknown: Default::default(),
            id: release_id(seed, rel),
            upc: r.random_bool(0.9).then(|| upc(rel)),
            title: if release_type == ReleaseType::Single {
                first_title.unwrap_or_default()
            } else {
                title(&mut r)
            },
            release_type,
            label: Some(pick(&mut r, LABELS).to_owned()),
            release_date: Some(format!(
                "{}-{:02}-{:02}",
                r.random_range(1965..2026),
                r.random_range(1..13),
                r.random_range(1..29)
            )),
            display_artist: vec![ArtistCredit {
                unknown: Default::default(),
                party: party_id(seed, artist),
                name: artist_name,
                join_phrase: String::new(),
            }],
            tracks,
        };
        out.changes.push(Change::upsert(
            Entity::Release(release),
            1,
            Some(revision(seed, rel)),
        ));
    }

    /// Recording `i` as the catalog has it now: version 1 from its import, or, with edit
    /// histories, the version its edits made, with every earlier revision.
    fn recording_change(&self, i: u64, recording: Recording) -> Change {
        let seed = self.spec.seed;
        let n = if self.spec.history {
            history::edits(seed, i)
        } else {
            0
        };
        if n == 0 {
            return Change::upsert(Entity::Recording(recording), 1, Some(revision(seed, i)));
        }
        let parties = self.parties;
        let (recording, mut revisions) =
            history::edited(seed, i, n, recording, revision(seed, i), |r| {
                party_id(seed, r.random_range(0..parties))
            });
        let last = revisions.pop();
        let version = last.as_ref().map_or(1, |r| r.version);
        let mut change = Change::upsert(Entity::Recording(recording), version, last);
        change.history = revisions;
        change
    }

    /// Recording `i` on a release by `artist`, with its work when the work is new.
    fn recording(
        &mut self,
        i: u64,
        artist: u64,
        artist_name: &str,
        artist_popularity: f32,
    ) -> (Recording, Option<Work>, f32) {
        let seed = self.spec.seed;
        let mut r = rng(seed, RECORDING, i);
        // Mostly the release artist; sometimes a guest takes the lead on a compilation.
        let main = if r.random_bool(0.9) {
            artist
        } else {
            self.zipf_artist(&mut r).0
        };
        let main_name = if main == artist {
            artist_name.to_owned()
        } else {
            self.party_name(main)
        };
        let mut display = vec![ArtistCredit {
            unknown: Default::default(),
            party: party_id(seed, main),
            name: main_name,
            join_phrase: String::new(),
        }];
        let mut credits = vec![Credit {
            unknown: Default::default(),
            party: party_id(seed, main),
            role: Role::MainArtist,
            instrument: None,
            credited_as: None,
        }];
        let guest = r.random_range(0..100);
        let other = self.zipf_artist(&mut r).0;
        if guest < 28 && other != main {
            let (phrase, role) = if guest < 20 {
                (" feat. ", Role::FeaturedArtist)
            } else {
                (" & ", Role::MainArtist)
            };
            display[0].join_phrase = phrase.into();
            display.push(ArtistCredit {
                unknown: Default::default(),
                party: party_id(seed, other),
                name: self.party_name(other),
                join_phrase: String::new(),
            });
            credits.push(Credit {
                unknown: Default::default(),
                party: party_id(seed, other),
                role,
                instrument: None,
                credited_as: None,
            });
        }
        // Crew: producer, engineers, players. 2–8 credits in all.
        let target = r.random_range(2..=8usize).max(credits.len());
        let crew = [
            Role::Producer,
            Role::MixingEngineer,
            Role::Instrumentalist,
            Role::Instrumentalist,
            Role::MasteringEngineer,
            Role::Vocalist,
            Role::RecordingEngineer,
            Role::Arranger,
        ];
        let mut k = 0;
        while credits.len() < target {
            let role = crew[k % crew.len()];
            k += 1;
            let p = if role == Role::Producer && r.random_bool(0.5) {
                self.zipf_artist(&mut r).0
            } else {
                self.any_party(&mut r)
            };
            credits.push(Credit {
                unknown: Default::default(),
                party: party_id(seed, p),
                role,
                instrument: (role == Role::Instrumentalist)
                    .then(|| pick(&mut r, INSTRUMENTS).to_owned()),
                credited_as: None,
            });
        }
        // 15% reuse an earlier work (covers, live takes); the rest bring their own.
        let (work_index, new_work) = if self.recent_works.len() >= 100 && r.random_bool(0.15) {
            (
                self.recent_works[r.random_range(0..self.recent_works.len())],
                false,
            )
        } else {
            if self.recent_works.len() == 100 {
                self.recent_works.pop_front();
            }
            self.recent_works.push_back(i);
            (i, true)
        };
        let work_id_ = work_id(seed, work_index);
        let title = title(&mut r);
        let work = new_work.then(|| self.work(i, work_id_, &title, main));
        let recording = Recording {
            unknown: Default::default(),
            id: recording_id(seed, i),
            isrc: r.random_bool(0.95).then(|| isrc(i, &mut r)),
            title,
            version_title: r
                .random_bool(0.1)
                .then(|| pick(&mut r, VERSIONS).to_owned()),
            duration_ms: Some(r.random_range(90_000..420_000)),
            display_artist: display,
            explicit: r.random_bool(0.1),
            language: Some(pick(&mut r, LANGUAGES).to_owned()),
            genre: Some(pick(&mut r, GENRES).to_owned()),
            features: r.random_bool(0.8).then(|| AcousticFeatures {
                tempo_deci_bpm: r.random_range(600..1900),
                key: r.random_range(0..12),
                minor: r.random_bool(0.4),
                energy: r.random_range(0..1000),
                danceability: r.random_range(0..1000),
            }),
            works: vec![work_id_],
            credits,
        };
        let popularity = artist_popularity * r.random_range(0.05f32..1.0);
        (recording, work, popularity)
    }

    /// The work a new recording brings: its title, the main artist as first writer.
    fn work(&self, i: u64, id: WorkId, title: &str, main: u64) -> Work {
        let seed = self.spec.seed;
        let mut r = rng(seed, WORK, i);
        // Most songs have one to three writers; a few have five.
        let n = [1, 1, 1, 2, 2, 2, 3, 3, 4, 5][r.random_range(0..10)];
        let weights: Vec<u32> = (0..n).map(|_| r.random_range(1..10)).collect();
        let sum: u32 = weights.iter().sum();
        let mut shares: Vec<u32> = weights
            .iter()
            .map(|w| w * u32::from(TOTAL_BP) / sum)
            .collect();
        // Integer division leaves a remainder: it goes to the first writer, so the total is
        // exactly 10,000 bp.
        shares[0] += u32::from(TOTAL_BP) - shares.iter().sum::<u32>();
        let roles = [
            WriterRole::ComposerLyricist,
            WriterRole::Composer,
            WriterRole::Lyricist,
            WriterRole::Arranger,
            WriterRole::Publisher,
        ];
        let writers = shares
            .into_iter()
            .enumerate()
            .map(|(k, share)| Writer {
                unknown: Default::default(),
                party: party_id(seed, if k == 0 { main } else { self.any_party(&mut r) }),
                role: roles[if k == 0 {
                    0
                } else {
                    r.random_range(0..roles.len())
                }],
                share: Some(BasisPoints::new(share).unwrap_or_else(|e| unreachable!("share: {e}"))),
            })
            .collect();
        Work {
            unknown: Default::default(),
            id,
            iswc: r.random_bool(0.7).then(|| iswc(i + 1_000_000)),
            title: title.to_owned(),
            writers: Writers::new(writers).unwrap_or_else(|e| unreachable!("writers: {e}")),
        }
    }
}

impl Iterator for Generator {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        let mut out = Batch::default();
        while self.next_party < self.parties && out.changes.len() < self.batch {
            let i = self.next_party;
            self.next_party += 1;
            out.changes.push(Change::upsert(
                Entity::Party(party(self.spec.seed, i)),
                1,
                Some(revision(self.spec.seed, i)),
            ));
        }
        while self.next_party >= self.parties
            && self.next_recording < self.spec.recordings
            && out.changes.len() < self.batch
        {
            self.release(&mut out);
        }
        (!out.changes.is_empty()).then_some(out)
    }
}
