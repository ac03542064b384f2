//! The life cycles of the money-moving entities, each as one table of allowed moves: an order, a refund, an outbox
//! entry. Pure (no I/O): the store's transition functions (`store::transitions`) consult these and nothing else
//! writes a status.
//!
//! Who asks matters for orders only: the acquirer's live answers (pay, query, cancel, notifications) move an order
//! along its protocol; a person adopting a payment from the acquirer's bill ([`Authority::Bill`]) may also settle an
//! order the till had given up on as paid, because the bill is the acquirer's final word.

use crate::model::{OrderStatus, RefundStatus};

/// Who moves an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    /// The checkout, recovery, the sync worker or a notification: what the acquirer answered.
    Acquirer,
    /// A clerk adopting a payment found in the acquirer's bill (reconciliation).
    Bill,
}

/// Whether a move may happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A real change of status.
    Move,
    /// Already there: the move changes nothing (a repeated confirmation); an event may still be recorded.
    Stay,
    /// Not allowed: the status stays and the caller is told.
    Forbidden,
}

/// The order table. Read a row as "from this status, the order may become …".
///
/// - PAYING → UNKNOWN, PAID, FAILED, CLOSED, CANCELLING, NEEDS_ATTENTION
/// - UNKNOWN → PAID, FAILED, CLOSED, CANCELLING, NEEDS_ATTENTION
/// - CANCELLING → CANCELLED, CLOSED, NEEDS_ATTENTION (never PAID: the cancel is on its way and will return the money)
/// - NEEDS_ATTENTION → CANCELLING, CANCELLED, CLOSED (never PAID, for the same reason)
/// - PAID → PARTIALLY_REFUNDED, REFUNDED
/// - PARTIALLY_REFUNDED → REFUNDED
/// - CANCELLED, CLOSED, FAILED, REFUNDED: final
///
/// With [`Authority::Bill`] any status that holds no money yet (PAYING, UNKNOWN, CANCELLING, NEEDS_ATTENTION,
/// CANCELLED, CLOSED, FAILED) may also become PAID.
pub fn order_move(from: OrderStatus, to: OrderStatus, by: Authority) -> Verdict {
    use OrderStatus::*;
    if from == to {
        return Verdict::Stay;
    }
    let allowed = match from {
        Paying => matches!(to, Unknown | Paid | Failed | Closed | Cancelling | NeedsAttention),
        Unknown => matches!(to, Paid | Failed | Closed | Cancelling | NeedsAttention),
        Cancelling => matches!(to, Cancelled | Closed | NeedsAttention),
        NeedsAttention => matches!(to, Cancelling | Cancelled | Closed),
        Paid => matches!(to, PartiallyRefunded | Refunded),
        PartiallyRefunded => matches!(to, Refunded),
        Cancelled | Closed | Failed | Refunded => false,
    };
    let by_bill = by == Authority::Bill
        && to == Paid
        && matches!(from, Paying | Unknown | Cancelling | NeedsAttention | Cancelled | Closed | Failed);
    if allowed || by_bill { Verdict::Move } else { Verdict::Forbidden }
}

/// The refund table: SUBMITTED → PROCESSING, SUCCESS, FAILED; PROCESSING → SUCCESS, FAILED; SUCCESS and FAILED are
/// final.
pub fn refund_move(from: RefundStatus, to: RefundStatus) -> Verdict {
    use RefundStatus::*;
    if from == to {
        return Verdict::Stay;
    }
    let allowed = match from {
        Submitted => matches!(to, Processing | Success | Failed),
        Processing => matches!(to, Success | Failed),
        Success | Failed => false,
    };
    if allowed { Verdict::Move } else { Verdict::Forbidden }
}

/// An outbox entry's state (stored as `delivered_at` and `last_error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    /// Waiting for (another) delivery attempt.
    Pending,
    /// The acquirer confirmed it.
    Delivered,
    /// The acquirer refused it for good; a person takes over.
    Refused,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Delivered => "delivered",
            OutboxState::Refused => "refused",
        }
    }
}

/// The outbox table: PENDING → PENDING (another attempt later), DELIVERED, REFUSED; DELIVERED and REFUSED are final.
pub fn outbox_move(from: OutboxState, to: OutboxState) -> Verdict {
    use OutboxState::*;
    match (from, to) {
        (Pending, Pending) => Verdict::Move,
        (Pending, Delivered | Refused) => Verdict::Move,
        (a, b) if a == b => Verdict::Stay,
        _ => Verdict::Forbidden,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OrderStatus::*;

    /// The order table written out pair by pair: every move not listed is forbidden.
    const ORDER_ALLOWED: &[(OrderStatus, OrderStatus)] = &[
        (Paying, Unknown),
        (Paying, Paid),
        (Paying, Failed),
        (Paying, Closed),
        (Paying, Cancelling),
        (Paying, NeedsAttention),
        (Unknown, Paid),
        (Unknown, Failed),
        (Unknown, Closed),
        (Unknown, Cancelling),
        (Unknown, NeedsAttention),
        (Cancelling, Cancelled),
        (Cancelling, Closed),
        (Cancelling, NeedsAttention),
        (NeedsAttention, Cancelling),
        (NeedsAttention, Cancelled),
        (NeedsAttention, Closed),
        (Paid, PartiallyRefunded),
        (Paid, Refunded),
        (PartiallyRefunded, Refunded),
    ];

    #[test]
    fn every_order_move_is_in_the_table_or_forbidden() {
        let mut forbidden = 0;
        for &from in OrderStatus::ALL {
            for &to in OrderStatus::ALL {
                let verdict = order_move(from, to, Authority::Acquirer);
                let expected = if from == to {
                    Verdict::Stay
                } else if ORDER_ALLOWED.contains(&(from, to)) {
                    Verdict::Move
                } else {
                    forbidden += 1;
                    Verdict::Forbidden
                };
                assert_eq!(verdict, expected, "{from} → {to}");
            }
        }
        assert_eq!(forbidden, 10 * 9 - ORDER_ALLOWED.len());
    }

    #[test]
    fn a_cancel_on_its_way_is_never_overtaken_by_paid() {
        assert_eq!(order_move(Cancelling, Paid, Authority::Acquirer), Verdict::Forbidden);
        assert_eq!(order_move(NeedsAttention, Paid, Authority::Acquirer), Verdict::Forbidden);
        assert_eq!(order_move(Cancelled, Paid, Authority::Acquirer), Verdict::Forbidden);
    }

    #[test]
    fn the_bill_may_settle_an_unpaid_order_as_paid_and_nothing_else() {
        for &from in OrderStatus::ALL {
            for &to in OrderStatus::ALL {
                let acquirer = order_move(from, to, Authority::Acquirer);
                let bill = order_move(from, to, Authority::Bill);
                let holds_money = matches!(from, Paid | PartiallyRefunded | Refunded);
                if to == Paid && from != Paid && !holds_money {
                    assert_eq!(bill, Verdict::Move, "{from} → PAID by the bill");
                } else {
                    assert_eq!(bill, acquirer, "{from} → {to}");
                }
            }
        }
    }

    #[test]
    fn every_refund_move_is_in_the_table_or_forbidden() {
        use RefundStatus::*;
        let allowed = [
            (Submitted, Processing),
            (Submitted, Success),
            (Submitted, Failed),
            (Processing, Success),
            (Processing, Failed),
        ];
        for &from in RefundStatus::ALL {
            for &to in RefundStatus::ALL {
                let expected = if from == to {
                    Verdict::Stay
                } else if allowed.contains(&(from, to)) {
                    Verdict::Move
                } else {
                    Verdict::Forbidden
                };
                assert_eq!(refund_move(from, to), expected, "{from} → {to}");
            }
        }
    }

    #[test]
    fn every_outbox_move_is_in_the_table_or_forbidden() {
        use OutboxState::*;
        let all = [Pending, Delivered, Refused];
        for from in all {
            for to in all {
                let expected = match (from, to) {
                    (Pending, _) => Verdict::Move,
                    (a, b) if a == b => Verdict::Stay,
                    _ => Verdict::Forbidden,
                };
                assert_eq!(outbox_move(from, to), expected, "{} → {}", from.as_str(), to.as_str());
            }
        }
    }
}
