//! The edit forms: a recording's credits and a work's writer shares. They hold the edited
//! value next to the original, check it live with the same model rules the upstream applies
//! (so a save that would be refused is never queued), and turn it into the field patch the
//! outbox carries.

use liner::ids::{PartyId, RecordingId, WorkId};
use liner::model::{BasisPoints, Credit, Entity, EntityKind, Recording, TOTAL_BP, Writer};
use liner::roles::Role;
use serde_json::{Value, json};

use super::list::ListCursor;
use super::worker::DetailData;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditCredit {
    pub credit: Credit,
    pub party_name: String,
}

#[derive(Debug, Clone)]
pub struct CreditForm {
    pub recording: RecordingId,
    pub base_version: u64,
    base: Recording,
    original: Vec<Credit>,
    pub credits: Vec<EditCredit>,
    pub cursor: ListCursor,
}

impl CreditForm {
    pub fn new(data: &DetailData) -> CreditForm {
        let d = &data.detail;
        CreditForm {
            recording: d.recording.id,
            base_version: d.version,
            base: d.recording.clone(),
            original: d.credits.iter().map(|c| c.credit.clone()).collect(),
            credits: d
                .credits
                .iter()
                .map(|c| EditCredit {
                    credit: c.credit.clone(),
                    party_name: c.party_name.clone(),
                })
                .collect(),
            cursor: ListCursor::default(),
        }
    }

    pub fn title(&self) -> &str {
        &self.base.title
    }

    pub fn changed(&self) -> bool {
        self.credits
            .iter()
            .map(|c| &c.credit)
            .ne(self.original.iter())
    }

    pub fn selected(&mut self) -> Option<&mut EditCredit> {
        self.credits.get_mut(self.cursor.selected)
    }

    pub fn add(&mut self, party: PartyId, party_name: String, role: Role) {
        self.credits.push(EditCredit {
            credit: Credit {
                unknown: Default::default(),
                party,
                role,
                instrument: None,
                credited_as: None,
            },
            party_name,
        });
        self.cursor.bottom(self.credits.len());
    }

    pub fn remove_selected(&mut self) -> Option<EditCredit> {
        if self.cursor.selected < self.credits.len() {
            let gone = self.credits.remove(self.cursor.selected);
            self.cursor.clamp(self.credits.len());
            Some(gone)
        } else {
            None
        }
    }

    /// What is wrong with the credits as they stand, in words; empty when they can be saved.
    pub fn problems(&self) -> Vec<String> {
        let credits: Vec<Credit> = self.credits.iter().map(|c| c.credit.clone()).collect();
        check_credits(&self.base, &credits, |p| {
            self.credits
                .iter()
                .find(|c| c.credit.party == p)
                .map(|c| c.party_name.clone())
                .unwrap_or_else(|| p.to_string())
        })
    }

    pub fn patch(&self) -> Value {
        let credits: Vec<&Credit> = self.credits.iter().map(|c| &c.credit).collect();
        json!({ "credits": credits })
    }
}

/// The model's rules for a recording with `credits`, plus the desk's own: one party is not
/// credited twice in one role.
pub fn check_credits(
    base: &Recording,
    credits: &[Credit],
    name: impl Fn(PartyId) -> String,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, c) in credits.iter().enumerate() {
        if credits[..i]
            .iter()
            .any(|o| o.party == c.party && o.role == c.role)
        {
            problems.push(format!(
                "{} is credited twice as {}",
                name(c.party),
                c.role.label().to_lowercase()
            ));
        }
        for (what, v) in [
            ("instrument", &c.instrument),
            ("credited as", &c.credited_as),
        ] {
            if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
                problems.push(format!(
                    "credit {}: {what} is blank; clear it instead",
                    i + 1
                ));
            }
        }
    }
    let mut candidate = base.clone();
    candidate.credits = credits.to_vec();
    match serde_json::to_string(&candidate) {
        Ok(json) => {
            if let Err((path, message)) = Entity::from_json(EntityKind::Recording, &json) {
                problems.push(format!("{path}: {message}"));
            }
        }
        Err(e) => problems.push(e.to_string()),
    }
    problems
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditWriter {
    pub writer: Writer,
    pub party_name: String,
}

#[derive(Debug, Clone)]
pub struct SharesForm {
    pub work: WorkId,
    pub title: String,
    pub base_version: u64,
    original: Vec<Writer>,
    pub writers: Vec<EditWriter>,
    pub cursor: ListCursor,
}

impl SharesForm {
    pub fn new(view: &liner::store::WorkView) -> SharesForm {
        SharesForm {
            work: view.work.id,
            title: view.work.title.clone(),
            base_version: view.version,
            original: view.writers.iter().map(|w| w.writer.clone()).collect(),
            writers: view
                .writers
                .iter()
                .map(|w| EditWriter {
                    writer: w.writer.clone(),
                    party_name: w.party_name.clone(),
                })
                .collect(),
            cursor: ListCursor::default(),
        }
    }

    pub fn changed(&self) -> bool {
        self.writers
            .iter()
            .map(|w| &w.writer)
            .ne(self.original.iter())
    }

    pub fn total(&self) -> u32 {
        self.writers
            .iter()
            .filter_map(|w| w.writer.share)
            .map(|s| u32::from(s.get()))
            .sum()
    }

    /// Moves the selected writer's share by `delta` basis points, within 0..=100%.
    pub fn nudge(&mut self, delta: i32) {
        if let Some(w) = self.writers.get_mut(self.cursor.selected) {
            let now = w.writer.share.map_or(0, |s| i32::from(s.get()));
            let next = (now + delta).clamp(0, i32::from(TOTAL_BP)) as u32;
            if let Ok(bp) = BasisPoints::new(next) {
                w.writer.share = Some(bp);
            }
        }
    }

    pub fn problems(&self) -> Vec<String> {
        let total = self.total();
        if total == u32::from(TOTAL_BP) {
            Vec::new()
        } else {
            let gap = percent(total.abs_diff(u32::from(TOTAL_BP)));
            let fix = if total < u32::from(TOTAL_BP) {
                format!("{gap} unassigned")
            } else {
                format!("{gap} too much")
            };
            vec![format!(
                "shares total {}; they must total exactly 100.00% ({fix})",
                percent(total)
            )]
        }
    }

    pub fn patch(&self) -> Value {
        let writers: Vec<&Writer> = self.writers.iter().map(|w| &w.writer).collect();
        json!({ "writers": writers })
    }
}

/// A writer's share as people read it; "share hidden" where the token may not see it.
pub fn share_text(share: Option<BasisPoints>) -> String {
    share.map_or_else(|| "share hidden".into(), |s| percent(u32::from(s.get())))
}

/// Basis points as a percentage with two decimals.
pub fn percent(bp: u32) -> String {
    format!("{}.{:02}%", bp / 100, bp % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_keep_both_decimals() {
        assert_eq!(percent(10_000), "100.00%");
        assert_eq!(percent(3_333), "33.33%");
        assert_eq!(percent(5), "0.05%");
    }
}
