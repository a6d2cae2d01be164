//! Helpers shared by the integration tests: fixture paths and small readers for the real
//! DDEX and MusicBrainz files.

#![allow(dead_code)]

use std::path::PathBuf;

pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

pub fn fixtures_with_ext(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![fixture(dir)];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("fixture dir") {
            let p = entry.expect("dir entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The text of every element named `name` (local name, any namespace) in an XML file.
pub fn xml_texts(path: &std::path::Path, names: &[&str]) -> Vec<(String, String)> {
    use quick_xml::events::Event;
    let xml = std::fs::read_to_string(path).expect("fixture xml");
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut stack: Vec<String> = Vec::new();
    let mut out = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                stack.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
            }
            Ok(Event::End(_)) => {
                stack.pop();
            }
            Ok(Event::Text(t)) => {
                if let Some(top) = stack.last()
                    && names.contains(&top.as_str())
                {
                    let text = String::from_utf8_lossy(t.as_ref()).trim().to_owned();
                    if !text.is_empty() {
                        out.push((top.clone(), text));
                    }
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
    out
}

pub fn json(rel: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixture(rel)).expect("fixture json");
    serde_json::from_str(&text).expect("fixture parses")
}

/// Every value under a key named `key`, anywhere in a JSON document.
pub fn json_values<'a>(v: &'a serde_json::Value, key: &str, out: &mut Vec<&'a serde_json::Value>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                if k == key {
                    out.push(x);
                }
                json_values(x, key, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| json_values(x, key, out)),
        _ => {}
    }
}
