//! The liner console and its command line: `liner` opens the console on the local mirror;
//! `liner demo` runs an upstream, a daemon and the console in one process; `search`, `show`,
//! `party`, `history` and `status` answer from the mirror for scripts.

pub mod cli;
pub mod console;
pub mod demo;
pub mod generate;
pub mod lookup;
pub mod search;
