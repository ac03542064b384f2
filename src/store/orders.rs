//! Orders, order events and refunds (checkout).
