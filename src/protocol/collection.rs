//! The collections under `/v1` and the entity kind each holds.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::{EntityId, EntityKind};

/// A collection's path segment: `/v1/recordings/rec_…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Collection {
    Recordings,
    Works,
    Parties,
    Releases,
}

impl Collection {
    pub const ALL: [Collection; 4] = [
        Collection::Recordings,
        Collection::Works,
        Collection::Parties,
        Collection::Releases,
    ];

    pub fn of(kind: EntityKind) -> Collection {
        match kind {
            EntityKind::Recording => Collection::Recordings,
            EntityKind::Work => Collection::Works,
            EntityKind::Party => Collection::Parties,
            EntityKind::Release => Collection::Releases,
        }
    }

    pub fn kind(self) -> EntityKind {
        match self {
            Collection::Recordings => EntityKind::Recording,
            Collection::Works => EntityKind::Work,
            Collection::Parties => EntityKind::Party,
            Collection::Releases => EntityKind::Release,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Collection::Recordings => "recordings",
            Collection::Works => "works",
            Collection::Parties => "parties",
            Collection::Releases => "releases",
        }
    }

    /// The collection a path segment names, if any.
    pub fn parse(segment: &str) -> Option<Collection> {
        Collection::ALL.into_iter().find(|c| c.as_str() == segment)
    }

    /// The path of one entity: `/v1/recordings/rec_…`.
    pub fn path(id: EntityId) -> String {
        format!("/v1/{}/{id}", Collection::of(id.kind()).as_str())
    }
}

impl std::fmt::Display for Collection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collections_and_kinds_map_both_ways() {
        for c in Collection::ALL {
            assert_eq!(Collection::of(c.kind()), c);
            assert_eq!(Collection::parse(c.as_str()), Some(c));
        }
        assert_eq!(Collection::parse("songs"), None);
    }
}
