//! The wire: every shape that crosses a process boundary, typed once. The service answers
//! from these types and its OpenAPI document is generated from them; the daemon and the
//! console decode into them; linerd's status file, the data directory and `liner.toml` are
//! here too, because linerd writes them and the console reads them.
//!
//! # Evolving the protocol
//!
//! [`PROTOCOL_VERSION`] names the shapes this build speaks; the snapshot and the feed say
//! theirs in the [`PROTOCOL_HEADER`] header and in their trailers.
//!
//! - **Writers refuse, readers tolerate and keep.** The service refuses any member it does not
//!   know in what it is sent (requests deny unknown fields; an entity with one is a 422 that
//!   names its path). Readers (linerd, the console) accept members they do not know in what
//!   they receive: envelopes, trailers and answers ignore them, and entities and revisions keep
//!   them ([`crate::model::unknown`]) in the mirror and send them back with an edit, so an
//!   older linerd mirrors a newer service without quarantining and an older console does not
//!   delete what it cannot see.
//! - **Adding** a member, a query parameter or an endpoint is compatible and bumps
//!   [`PROTOCOL_VERSION`] (the list below says what each version added). A reader never reads
//!   a member's absence as a value unless the member is documented as optional: a missing
//!   required member is a garbled answer (retried and reported), never a default. A reader
//!   that meets a newer version says so in its status and goes on.
//! - **Not compatible**: removing or renaming a member, changing its type or meaning, and
//!   adding a value to a closed vocabulary (credit roles, writer roles, sources, kinds),
//!   because credits decide who gets paid and a role a reader cannot name must not be stored
//!   as something else. Such a change is a new API beside this one (`/v2`), never an edit of
//!   `/v1`.
//! - New things a reader has to handle come on request: the snapshot carries every earlier
//!   revision only when asked (`/v1/snapshot?history=all`), so a reader that cannot take them
//!   never receives them.
//!
//! Versions: 1, the first feed, snapshot and edits; 2, this module: typed problems with a
//! field path per failure, `referenced_by` on a refused delete, the snapshot's `history`
//! (every earlier revision, on request), trailers with `protocol`.

mod answers;
mod collection;
pub mod config;
mod feed;
pub mod layout;
mod outcome;
mod problem;
mod requests;
pub mod status;

pub use answers::{AnswerError, EntityAnswer, Health, HistoryAnswer, HistoryRevision, Me, Role};
pub use collection::Collection;
pub use config::Config;
pub use feed::{FeedTrailer, SnapshotTrailer, Trailer, TrailerError};
pub use layout::DataDir;
pub use outcome::{EditOutcome, OUTCOME_ENCODING, OutcomeError};
pub use problem::{FieldError, Problem};
pub use requests::{CreateRequest, DeleteRequest, PatchRequest};

pub use crate::model::{ChangeRecord, Cursor, EntityKind, Revision};

/// The protocol this build speaks; each compatible addition counts one up.
pub const PROTOCOL_VERSION: u32 = 2;

/// The header that says which protocol version a snapshot or feed page speaks.
pub const PROTOCOL_HEADER: &str = "x-liner-protocol";
/// The snapshot's record count, before its body.
pub const SNAPSHOT_COUNT_HEADER: &str = "x-liner-snapshot-count";
/// The cursor to tail the feed from after a snapshot (see [`SnapshotTrailer::next`]), before
/// its body.
pub const CURSOR_HEADER: &str = "x-liner-cursor";
/// The media type of the snapshot and the feed.
pub const NDJSON: &str = "application/x-ndjson";
/// The media type of every error.
pub const PROBLEM_JSON: &str = "application/problem+json";
