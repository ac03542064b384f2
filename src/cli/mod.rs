//! The command line, one file per verb: each file holds its verb's arguments (clap) and runs it against the core.
//! `checkout` also holds what the verbs that reach an acquirer share (the sandbox target, the router, the money
//! path), and `staff` how a command signs an operator in.

pub mod acquirers;
pub mod backend;
pub mod checkout;
pub mod keys;
pub mod onboard;
pub mod orders;
pub mod print;
pub mod receipts;
pub mod reconcile;
pub mod reconcile_backend;
pub mod reconcile_resolve;
pub mod serve;
pub mod shifts;
pub mod staff;
pub mod summary;
pub mod sync;
