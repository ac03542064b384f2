//! Payment round-trip benchmark (filled in with the checkout engine).
fn main() {}
