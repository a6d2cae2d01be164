//! The liner console and the lookups of its command line, over the local mirror only: the
//! console reads SQLite and the search index and writes outbox rows; `search`, `show`,
//! `party`, `history` and `status` answer from the mirror for scripts. It imports neither the
//! daemon nor the service: the formats it shares with them are in [`liner::protocol`], and
//! `liner demo`, which runs all three, is composed by the `liner` binary (crate `liner-app`).

pub mod cli;
pub mod console;
pub mod generate;
pub mod lookup;
pub mod search;
