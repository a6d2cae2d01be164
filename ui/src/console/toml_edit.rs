//! Editing a recording's credits in `$EDITOR`, kubectl-edit style: the credits rendered as
//! TOML, the file read back when the editor exits, and, when it does not parse or breaks a
//! rule, the same text handed back with the errors as comments at the top. An empty file, or
//! one left unchanged, cancels.

use liner::ids::PartyId;
use liner::model::{Credit, Recording};
use liner::roles::Role;
use serde::Deserialize;

use super::edit::check_credits;

const ERROR_MARK: &str = "# error: ";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    credit: Vec<TomlCredit>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlCredit {
    party: String,
    role: String,
    #[serde(default)]
    instrument: Option<String>,
    #[serde(default)]
    credited_as: Option<String>,
}

/// What came back from the editor.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Cancelled,
    Edited {
        credits: Vec<Credit>,
        reason: String,
    },
    /// The text to reopen the editor with (errors on top).
    Invalid(String),
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The credits as TOML, each party's current name in a comment.
pub fn render(recording: &Recording, version: u64, names: &[(PartyId, String)]) -> String {
    let mut out = format!(
        "# Credits of {} ({}), version {version}.\n\
         # Change, add or remove [[credit]] blocks, write a reason, save and quit: the edit is\n\
         # queued for upstream. Roles: {}.\n\
         # An empty file, or quitting without a change, cancels.\n\n\
         reason = \"\"\n",
        quote(&recording.title),
        recording.id,
        Role::ALL
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    for c in &recording.credits {
        let name = names
            .iter()
            .find(|(p, _)| *p == c.party)
            .map(|(_, n)| n.as_str())
            .unwrap_or("");
        out.push_str(&format!(
            "\n[[credit]]\nparty = \"{}\"  # {name}\nrole = \"{}\"\n",
            c.party,
            c.role.as_str()
        ));
        if let Some(i) = &c.instrument {
            out.push_str(&format!("instrument = {}\n", quote(i)));
        }
        if let Some(a) = &c.credited_as {
            out.push_str(&format!("credited_as = {}\n", quote(a)));
        }
    }
    out
}

/// Reads the editor's text back. `original` is what was handed to the editor.
pub fn read_back(base: &Recording, original: &str, edited: &str) -> Outcome {
    let body: String = edited
        .lines()
        .filter(|l| !l.starts_with(ERROR_MARK))
        .collect::<Vec<_>>()
        .join("\n");
    if body.trim().is_empty() || body.trim() == original.trim() {
        return Outcome::Cancelled;
    }
    let errors = problems(base, &body);
    match errors {
        Ok((credits, reason)) => Outcome::Edited { credits, reason },
        Err(errors) => {
            let mut text: String = errors
                .iter()
                .map(|e| format!("{ERROR_MARK}{}\n", e.replace('\n', " ")))
                .collect();
            text.push_str(&body);
            text.push('\n');
            Outcome::Invalid(text)
        }
    }
}

fn problems(base: &Recording, body: &str) -> Result<(Vec<Credit>, String), Vec<String>> {
    let doc: Document = toml::from_str(body).map_err(|e| vec![e.to_string()])?;
    let mut errors = Vec::new();
    let mut credits = Vec::new();
    for (i, c) in doc.credit.iter().enumerate() {
        let n = i + 1;
        let party = c.party.parse::<PartyId>();
        let role = Role::from_wire(&c.role);
        if let Err(e) = &party {
            errors.push(format!("credit {n}: party {:?}: {e}", c.party));
        }
        if role.is_none() {
            errors.push(format!("credit {n}: unknown role {:?}", c.role));
        }
        if let (Ok(party), Some(role)) = (party, role) {
            credits.push(Credit {
                unknown: Default::default(),
                party,
                role,
                instrument: c.instrument.clone().filter(|s| !s.is_empty()),
                credited_as: c.credited_as.clone().filter(|s| !s.is_empty()),
            });
        }
    }
    if doc.reason.trim().is_empty() {
        errors.push("reason is required: say why the credits change".into());
    }
    if errors.is_empty() {
        errors.extend(check_credits(base, &credits, |p| p.to_string()));
    }
    if errors.is_empty() {
        keep_unknown(base, &mut credits);
        Ok((credits, doc.reason.trim().to_owned()))
    } else {
        Err(errors)
    }
}

/// Members of a credit this build does not know (see [`liner::model::unknown`]) are not in
/// the TOML; each edited credit takes back those of the credit it was: the same party, role
/// and instrument, or else the one credit of that party.
fn keep_unknown(base: &Recording, credits: &mut [Credit]) {
    for c in credits.iter_mut() {
        let same = base
            .credits
            .iter()
            .find(|o| o.party == c.party && o.role == c.role && o.instrument == c.instrument);
        let of_party: Vec<&Credit> = base.credits.iter().filter(|o| o.party == c.party).collect();
        let was = same.or(match of_party.as_slice() {
            [one] => Some(*one),
            _ => None,
        });
        if let Some(was) = was {
            c.unknown = was.unknown.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_this_build_does_not_know_survive_the_round_trip() {
        let mut r = recording();
        r.credits[0]
            .unknown
            .insert("royalty_code", serde_json::json!("RC-7"));
        let text = render(&r, 1, &[]);
        let first = r.credits[0].role.as_str();
        let edited = text
            .replacen(&format!("role = \"{first}\""), "role = \"remixer\"", 1)
            .replacen("reason = \"\"", "reason = \"sleeve\"", 1);
        let Outcome::Edited { credits, .. } = read_back(&r, &text, &edited) else {
            panic!("expected an edit");
        };
        assert_eq!(
            credits[0].unknown.get("royalty_code"),
            Some(&serde_json::json!("RC-7"))
        );
    }

    fn recording() -> Recording {
        let generator =
            liner::generate::Generator::new(liner::generate::CatalogSpec::new(50, 7), 100);
        generator
            .flat_map(|b| b.changes)
            .find_map(|c| match c.op {
                liner::model::ChangeOp::Upsert(liner::model::Entity::Recording(r))
                    if !r.credits.is_empty() =>
                {
                    Some(r)
                }
                _ => None,
            })
            .expect("the generator makes credited recordings")
    }

    #[test]
    fn an_unchanged_or_empty_file_cancels() {
        let r = recording();
        let text = render(&r, 1, &[]);
        assert_eq!(read_back(&r, &text, &text), Outcome::Cancelled);
        assert_eq!(read_back(&r, &text, "  \n"), Outcome::Cancelled);
    }

    #[test]
    fn a_changed_role_with_a_reason_comes_back_as_credits() {
        let r = recording();
        let text = render(&r, 1, &[]);
        let first = r.credits[0].role.as_str();
        let edited = text
            .replacen(
                &format!("role = \"{first}\""),
                "role = \"mixing_engineer\"",
                1,
            )
            .replacen("reason = \"\"", "reason = \"liner notes say so\"", 1);
        match read_back(&r, &text, &edited) {
            Outcome::Edited { credits, reason } => {
                assert_eq!(credits[0].role, Role::MixingEngineer);
                assert_eq!(reason, "liner notes say so");
            }
            other => panic!("expected an edit, got {other:?}"),
        }
    }

    #[test]
    fn errors_come_back_as_comments_on_top_and_go_away_when_fixed() {
        let r = recording();
        let text = render(&r, 1, &[]);
        let broken = text.replacen("role = \"", "role = \"chief_", 1);
        let Outcome::Invalid(again) = read_back(&r, &text, &broken) else {
            panic!("expected errors");
        };
        assert!(again.starts_with("# error: "), "{again}");
        assert!(again.contains("unknown role \"chief_"), "{again}");
        assert!(again.contains("reason is required"), "{again}");
        let fixed = again.replacen("role = \"chief_", "role = \"", 1).replacen(
            "reason = \"\"",
            "reason = \"typo\"",
            1,
        );
        assert!(matches!(
            read_back(&r, &text, &fixed),
            Outcome::Cancelled | Outcome::Edited { .. }
        ));
        let Outcome::Invalid(toml_error) = read_back(&r, &text, "reason = \"x\"\n[[credit]\n")
        else {
            panic!("expected a TOML error");
        };
        assert!(toml_error.starts_with("# error: "));
    }
}
