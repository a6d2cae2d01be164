//! The composition of liner's three parts: `liner demo` runs the catalog service, the sync
//! daemon and the console in one process ([`demo`]), which is the only place that knows all
//! three; the `liner` binary's command line ([`cli`]) adds it to the console's lookups.

pub mod cli;
pub mod demo;
