//! The catalog's domain model and its JSON wire format, shared by the service, the daemon and
//! the console.
//!
//! Entities are plain serde structs whose fields are already-validated types (ids,
//! identifiers, roles, [`Writers`]), so a value that deserialised is a value the rules allow.
//! The change record ([`ChangeRecord`]) is the unit of the snapshot and change feed; it keeps
//! its `data` raw until [`ChangeRecord::decode`] turns it into a typed [`Change`], so one bad
//! record can be reported with its field path instead of failing a whole page.

mod change;
mod credit;
mod dispute;
mod event;
mod one_pass;
mod party;
mod recording;
mod release;
mod revision;
mod shares;
pub mod unknown;
mod work;

pub use change::{
    Change, ChangeOp, ChangeRecord, Cursor, DecodeError, Entity, EntityId, EntityKind, Op,
};
pub use credit::{ArtistCredit, Credit, display_artist};
pub use dispute::{Dispute, DisputeNote, DisputeStatus};
pub use event::{Event, EventKind};
pub use party::{Party, PartyKind};
pub use recording::{AcousticFeatures, Recording};
pub use release::{Release, ReleaseType, Track};
pub use revision::{
    Author, Conflict, FieldChange, ItemKey, ListField, Merge, MergeError, Pick, Provenance,
    RawJson, Revision, Source, SourceKind, diff, merge, provenance, resolve,
};
pub use shares::{BasisPoints, ShareError, TOTAL_BP};
pub use unknown::Unknown;
pub use work::{Work, Writer, Writers};
