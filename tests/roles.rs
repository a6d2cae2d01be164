//! The role vocabulary against the roles the real DDEX and MusicBrainz files use.

mod common;

use common::{fixtures_with_ext, json, xml_texts};
use liner::roles::Role;

const DDEX_ROLE_ELEMENTS: &[&str] = &[
    "DisplayArtistRole",
    "ArtistRole",
    "Role",
    "ResourceContributorRole",
    "IndirectResourceContributorRole",
];

#[test]
fn every_contributor_role_in_the_ddex_fixtures_maps() {
    let mut seen = std::collections::BTreeMap::new();
    for path in fixtures_with_ext("ddex", "xml") {
        for (element, text) in xml_texts(&path, DDEX_ROLE_ELEMENTS) {
            let mapped = Role::from_ddex(&text)
                .unwrap_or_else(|e| panic!("{} <{element}>: {e}", path.display()));
            seen.insert(text, mapped.role);
        }
    }
    assert_eq!(seen.get("MainArtist"), Some(&Role::MainArtist));
    assert_eq!(seen.get("ComposerLyricist"), Some(&Role::ComposerLyricist));
    assert!(seen.len() >= 2, "{seen:?}");
}

#[test]
fn ern_4x_and_3x_names_for_the_same_job_meet() {
    let role = |s| Role::from_ddex(s).map(|m| m.role);
    // 4.x writes PascalCase codes; some 3.x feeds send them spaced or lower-cased.
    assert_eq!(role("Mixer"), Ok(Role::MixingEngineer));
    assert_eq!(role("MixingEngineer"), Ok(Role::MixingEngineer));
    assert_eq!(role("Orchestra"), Ok(Role::Orchestra));
    assert_eq!(role("Soloist"), Ok(Role::Soloist));
    assert_eq!(role("Composer Lyricist"), Ok(Role::ComposerLyricist));
    assert_eq!(role("Artist"), Ok(Role::Performer));
}

#[test]
fn musicbrainz_recording_relationships_map_with_instruments_and_credited_names() {
    let doc = json("musicbrainz/recording_credits.json");
    let relations = doc["relations"].as_array().expect("relations");
    let mut mapped = Vec::new();
    for rel in relations {
        if rel["target-type"] != "artist" {
            continue;
        }
        let kind = rel["type"].as_str().expect("type");
        let attributes: Vec<String> = rel["attributes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let m = Role::from_musicbrainz(kind, &attributes)
            .unwrap_or_else(|e| panic!("relation {kind}: {e}"));
        let name = rel["artist"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let credited = rel["target-credit"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        mapped.push((name, m.role, m.instrument, credited));
    }
    let find = |n: &str| mapped.iter().find(|m| m.0 == n).cloned().expect(n);
    let guitar = find("Lasse Wellander");
    assert_eq!(
        (guitar.1, guitar.2.as_deref()),
        (Role::Instrumentalist, Some("electric guitar"))
    );
    let frida = find("Anni-Frid Lyngstad");
    assert_eq!(frida.1, Role::Vocalist);
    assert_eq!(
        frida.3.as_deref(),
        Some("Frida"),
        "credited-as name is kept"
    );
    assert_eq!(find("Michael B. Tretow").1, Role::Engineer);
    assert!(mapped.iter().any(|m| m.1 == Role::Producer));
    assert!(mapped.iter().any(|m| m.1 == Role::Arranger));
}

#[test]
fn musicbrainz_work_relationships_map_to_writer_roles() {
    let mut writer_roles = Vec::new();
    for file in [
        "musicbrainz/recording.json",
        "musicbrainz/recording_instrumental.json",
    ] {
        let doc = json(file);
        let mut works = Vec::new();
        common::json_values(&doc, "work", &mut works);
        for work in works {
            for rel in work["relations"].as_array().into_iter().flatten() {
                if rel["target-type"] != "artist" {
                    continue;
                }
                let kind = rel["type"].as_str().expect("type");
                let m = Role::from_musicbrainz(kind, &[]).unwrap_or_else(|e| panic!("{e}"));
                writer_roles.push((kind.to_owned(), m.role.writer_role()));
            }
        }
    }
    assert!(!writer_roles.is_empty());
    for (kind, writer) in &writer_roles {
        assert!(writer.is_some(), "{kind} should be a writer role");
    }
}

#[test]
fn musicbrainz_artist_credits_keep_join_phrases() {
    let doc = json("musicbrainz/recording_multi_artists_1.json");
    let credits = doc["artist-credit"].as_array().expect("artist-credit");
    let display: String = credits
        .iter()
        .map(|c| {
            format!(
                "{}{}",
                c["name"].as_str().unwrap_or(""),
                c["joinphrase"].as_str().unwrap_or("")
            )
        })
        .collect();
    let phrases: Vec<&str> = credits
        .iter()
        .filter_map(|c| c["joinphrase"].as_str())
        .collect();
    assert!(phrases.iter().any(|p| !p.is_empty()), "{phrases:?}");
    // The model's display credit joins the same way.
    let model: Vec<liner::model::ArtistCredit> = credits
        .iter()
        .map(|c| liner::model::ArtistCredit {
            unknown: Default::default(),
            party: liner::ids::PartyId::new(),
            name: c["name"].as_str().unwrap_or("").to_owned(),
            join_phrase: c["joinphrase"].as_str().unwrap_or("").to_owned(),
        })
        .collect();
    assert_eq!(liner::model::display_artist(&model), display);
}
