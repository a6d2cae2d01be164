//! liner: the catalog model, identifiers, wire protocol, local mirror store and search index
//! shared by the console (`liner`), the sync daemon (`linerd`) and the reference catalog
//! service (`liner-upstream`).
//!
//! - [`ids`]: prefixed, sortable entity ids.
//! - [`ident`]: external identifiers (ISRC, ISWC, IPI, ISNI, GTIN) with their check rules.
//! - [`roles`]: the one credit-role vocabulary and its DDEX / MusicBrainz mappings.
//! - [`model`]: entities, revisions with their diff, merge and provenance, change records and
//!   cursors.
//! - [`protocol`]: every shape that crosses a process boundary, and how the protocol evolves.
//! - [`store`]: the SQLite mirror that applies change records idempotently.
//! - [`search`]: the tantivy projection of the store for search as you type.
//! - [`generate`]: a deterministic, realistic catalog generator for demos and benchmarks.
//! - [`text`]: what text people read may hold, its normal form, and printing it safely.
//! - [`alloc`]: allocator settings for the binaries.

pub mod alloc;
pub mod generate;
pub mod ident;
pub mod ids;
pub mod model;
mod parsed;
pub mod protocol;
pub mod roles;
pub mod search;
pub mod store;
pub mod text;
