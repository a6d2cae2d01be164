//! Identifier rules against every real identifier in the fixtures: the valid ones parse and
//! normalise, the known-bad ones fail with the rule named. Plus properties: normalising is
//! idempotent and parse∘display round-trips.

mod common;

use common::{fixture, fixtures_with_ext, json, json_values, xml_texts};
use liner::ident::{Gtin, IdentifierError, Ipi, Isni, Isrc, Iswc, Rule};
use proptest::prelude::*;

#[test]
fn every_isrc_in_the_ddex_fixtures_is_checked() {
    let mut valid = 0;
    for path in fixtures_with_ext("ddex", "xml") {
        for (_, text) in xml_texts(&path, &["ISRC"]) {
            let parsed = Isrc::parse(&text);
            if text == "USTEST0000001" {
                // The synthetic 4.3 sample's ISRC has 13 characters: a known-bad input.
                let err = parsed.expect_err("13-character ISRC");
                assert_eq!(
                    err.rule,
                    Rule::Length {
                        expected: "12",
                        found: 13
                    }
                );
                assert_eq!(
                    err.to_string(),
                    "invalid ISRC \"USTEST0000001\": it must have 12 characters, found 13"
                );
            } else {
                let isrc = parsed.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert_eq!(isrc.as_str(), text);
                valid += 1;
            }
        }
    }
    assert!(
        valid >= 7,
        "expected the real ISRCs of ERN 3.7 and 3.8.2, found {valid}"
    );
}

#[test]
fn icpns_in_the_ddex_fixtures_are_valid_gtins() {
    let mut seen = 0;
    for path in fixtures_with_ext("ddex", "xml") {
        for (_, text) in xml_texts(&path, &["ICPN", "EAN", "UPC"]) {
            let gtin = Gtin::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(gtin.gtin14().len(), 14);
            seen += 1;
        }
    }
    assert!(seen >= 1);
}

#[test]
fn musicbrainz_identifiers_parse_and_the_bad_barcode_fails() {
    let mut found = Vec::new();
    for file in [
        "musicbrainz/artist.json",
        "musicbrainz/artist_arabic.json",
        "musicbrainz/recording.json",
        "musicbrainz/recording_instrumental.json",
        "musicbrainz/recording_video.json",
        "musicbrainz/release.json",
        "musicbrainz/release_multidisc.json",
    ] {
        let doc = json(file);
        for key in ["isrcs", "iswcs", "ipis", "isnis", "barcode"] {
            let mut values = Vec::new();
            json_values(&doc, key, &mut values);
            for v in values {
                let texts: Vec<&str> = match v {
                    serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_str()).collect(),
                    serde_json::Value::String(s) => vec![s.as_str()],
                    _ => vec![],
                };
                for t in texts {
                    found.push((key, t.to_owned()));
                }
            }
        }
    }
    let mut checked = 0;
    for (key, text) in &found {
        let result: Result<String, IdentifierError> = match *key {
            "isrcs" => Isrc::parse(text).map(|v| v.to_string()),
            "iswcs" => Iswc::parse(text).map(|v| v.to_string()),
            "ipis" => Ipi::parse(text).map(|v| v.to_string()),
            "isnis" => Isni::parse(text).map(|v| v.to_string()),
            _ => Gtin::parse(text).map(|v| v.to_string()),
        };
        if text == "123" {
            let err = result.expect_err("a 3-digit barcode");
            assert!(matches!(err.rule, Rule::Length { found: 3, .. }), "{err}");
        } else {
            result.unwrap_or_else(|e| panic!("{key} {text}: {e}"));
            checked += 1;
        }
    }
    assert!(checked >= 7, "found {found:?}");
    // Display forms as people write them.
    assert_eq!(
        Iswc::parse("T0701781136").map(|v| v.to_string()),
        Ok("T-070.178.113-6".into())
    );
    assert_eq!(
        Isni::parse("0000000364434564").map(|v| v.to_string()),
        Ok("0000 0003 6443 4564".into())
    );
}

#[test]
fn split_sheet_identifiers_normalise_and_the_zero_ipi_fails() {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(fixture("shares/dataimport.csv"))
        .expect("csv");
    let headers = reader.headers().expect("headers").clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (mut isrcs, mut ipis, mut iswcs) = (0, 0, 0);
    for row in reader.records() {
        let row = row.expect("row");
        for (i, h) in headers.iter().enumerate() {
            let v = row.get(i).unwrap_or("").trim();
            if v.is_empty() {
                continue;
            }
            if h.ends_with(" ISRC") {
                // Hyphenated as "JM-K40-14-00002".
                let isrc = Isrc::parse(v).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(isrc.as_str(), v.replace('-', ""));
                isrcs += 1;
            } else if h.ends_with(" IPI") {
                if v.bytes().all(|b| b == b'0') {
                    let err = Ipi::parse(v).expect_err("zero IPI");
                    assert_eq!(err.rule, Rule::Syntax("zero is not an IPI name number"));
                } else {
                    // Short IPIs lose their leading zeros in spreadsheets.
                    let ipi = Ipi::parse(v).unwrap_or_else(|e| panic!("{e}"));
                    assert_eq!(ipi.as_str().len(), 11);
                    ipis += 1;
                }
            } else if Some(i) == col("ISWC") {
                Iswc::parse(v).unwrap_or_else(|e| panic!("{e}"));
                iswcs += 1;
            }
        }
    }
    assert!(
        isrcs >= 20 && ipis >= 20 && iswcs >= 1,
        "{isrcs} {ipis} {iswcs}"
    );
}

#[test]
fn known_bad_identifiers_name_their_rule() {
    // The 3.8.2 profile samples' ISWC and the 4.3 DJ-mix sample's ICPN, per the data notes.
    let err = Iswc::parse("T1234567890").expect_err("bad ISWC check digit");
    assert_eq!(
        err.to_string(),
        "invalid ISWC \"T1234567890\": the ISWC mod-10 check gives 4, but it ends in 0"
    );
    let err = Gtin::parse("123123123123").expect_err("bad GTIN check digit");
    assert!(
        matches!(
            err.rule,
            Rule::CheckDigit {
                algorithm: "GTIN mod-10",
                ..
            }
        ),
        "{err}"
    );
    let err = Isni::parse("0000000364434565").expect_err("bad ISNI");
    assert!(matches!(
        err.rule,
        Rule::CheckDigit {
            algorithm: "ISO 7064 MOD 11-2",
            ..
        }
    ));
    let err = Ipi::parse("00600664285").expect_err("bad IPI");
    assert!(matches!(
        err.rule,
        Rule::CheckDigit {
            algorithm: "IPI mod-101",
            ..
        }
    ));
    assert!(matches!(
        Isrc::parse("1SRC12345678").map_err(|e| e.rule),
        Err(Rule::Syntax(_))
    ));
    assert!(matches!(
        Isrc::parse("").map_err(|e| e.rule),
        Err(Rule::Empty)
    ));
}

#[test]
fn normalisation_accepts_what_people_type() {
    assert_eq!(
        Isrc::parse("us-rc1-76-07839").map(|i| i.as_str().to_owned()),
        Ok("USRC17607839".into())
    );
    assert_eq!(
        Isrc::parse("ISRC US RC1 76 07839").map(|i| i.to_string()),
        Ok("US-RC1-76-07839".into())
    );
    assert_eq!(
        Iswc::parse("t-034.524.680-1").map(|i| i.as_str().to_owned()),
        Ok("T0345246801".into())
    );
    assert_eq!(
        Isni::parse("ISNI 0000 0003 6443 4564").map(|i| i.as_str().to_owned()),
        Ok("0000000364434564".into())
    );
    assert_eq!(
        Gtin::parse("4 547366 518764").map(|i| i.as_str().to_owned()),
        Ok("4547366518764".into())
    );
    // An Icelandic ISRC starting with "ISRC" keeps its prefix.
    assert_eq!(
        Isrc::parse("ISRCX1234567").map(|i| i.as_str().to_owned()),
        Ok("ISRCX1234567".into())
    );
}

fn isrc_strategy() -> impl Strategy<Value = String> {
    "[A-Z]{2}[A-Z0-9]{3}[0-9]{7}"
}

fn with_noise(code: &str, seps: &[usize]) -> String {
    let mut out = String::new();
    for (i, c) in code.chars().enumerate() {
        if seps.contains(&i) && i > 0 {
            out.push(['-', ' ', '.'][i % 3]);
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

proptest! {
    #[test]
    fn isrc_normalise_is_idempotent_and_display_round_trips(code in isrc_strategy(), seps in proptest::collection::vec(0usize..12, 0..4)) {
        let noisy = with_noise(&code, &seps);
        let parsed = Isrc::parse(&noisy).expect("valid after noise");
        prop_assert_eq!(parsed.as_str(), code.as_str());
        prop_assert_eq!(Isrc::parse(parsed.as_str()).expect("compact"), parsed.clone());
        prop_assert_eq!(Isrc::parse(&parsed.to_string()).expect("display"), parsed);
    }

    #[test]
    fn iswc_round_trips(digits in "[0-9]{9}") {
        let nine: [u8; 9] = digits.as_bytes().try_into().expect("nine digits");
        let code = format!("T{digits}{}", Iswc::check_digit_for(&nine));
        let parsed = Iswc::parse(&code).expect("valid");
        prop_assert_eq!(Iswc::parse(&parsed.to_string()).expect("display"), parsed.clone());
        prop_assert_eq!(Iswc::parse(parsed.as_str()).expect("compact"), parsed);
        // Any other last digit fails.
        let last = code.as_bytes()[10] - b'0';
        let wrong = format!("T{digits}{}", (last + 1) % 10);
        prop_assert!(Iswc::parse(&wrong).is_err());
    }

    #[test]
    fn ipi_round_trips(digits in "[0-9]{9}") {
        prop_assume!(digits.bytes().any(|b| b != b'0'));
        let code = format!("{digits}{:02}", Ipi::check_digits_for(digits.as_bytes()));
        let parsed = Ipi::parse(&code).expect("valid");
        prop_assert_eq!(Ipi::parse(&parsed.to_string()).expect("display"), parsed.clone());
        let trimmed = code.trim_start_matches('0');
        prop_assert_eq!(Ipi::parse(trimmed).expect("no leading zeros"), parsed);
    }

    #[test]
    fn isni_round_trips(digits in "[0-9]{15}") {
        let code = format!("{digits}{}", Isni::check_char_for(digits.as_bytes()));
        let parsed = Isni::parse(&code).expect("valid");
        prop_assert_eq!(Isni::parse(&parsed.to_string()).expect("display"), parsed.clone());
        prop_assert_eq!(Isni::parse(parsed.as_str()).expect("compact"), parsed);
    }

    #[test]
    fn gtin_round_trips(digits in "[0-9]{11,13}") {
        let code = format!("{digits}{}", Gtin::check_digit_for(digits.as_bytes()));
        let parsed = Gtin::parse(&code).expect("valid");
        prop_assert_eq!(Gtin::parse(&parsed.to_string()).expect("display"), parsed.clone());
        let last = code.as_bytes()[code.len() - 1] - b'0';
        let wrong = format!("{digits}{}", (last + 1) % 10);
        prop_assert!(Gtin::parse(&wrong).is_err());
    }
}
