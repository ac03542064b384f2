//! The command line, one file per verb (the layout the other `cli_*.rs` files move into over time).

pub mod shifts;
