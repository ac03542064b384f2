//! The pay → poll → cancel/reverse engine (issue: barcode checkout).
