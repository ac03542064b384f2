//! Payments the acquirer reversed in full that the till shows cancelled.
//!
//! Alipay writes a paid trade cancelled with `action=refund` as its 交易 row and a 退款 row of the whole amount with
//! no out_request_no (the merchant sent none); the till has the order CANCELLED and no refund of its own. Both rows
//! on their own look like differences (a payment the till thinks failed, a refund only at the acquirer); together
//! they say what the till says: no money was kept. WeChat writes such a payment as one REVOKED row, which the
//! matching already takes as consistent with a cancelled order.

use super::report::Reason;
use crate::store::recon::NewDiscrepancy;

/// Drops each cancelled-locally payment together with the acquirer-only refunds of the same trade (without an
/// out_request_no) when those refunds give back exactly the payment's amount.
pub fn drop_reversed_pairs(found: &mut Vec<NewDiscrepancy>) {
    let payment_reason = Reason::LocalFailed.as_str();
    let refund_reason = Reason::RefundedOnlyAtAcquirer.as_str();
    let same_trade = |a: &NewDiscrepancy, b: &NewDiscrepancy| match (&a.trade_no, &b.trade_no) {
        (Some(x), Some(y)) => x == y,
        _ => a.out_trade_no.is_some() && a.out_trade_no == b.out_trade_no,
    };
    let mut drop = vec![false; found.len()];
    for (i, p) in found.iter().enumerate() {
        if p.reason != payment_reason || p.local_status.as_deref() != Some("CANCELLED") {
            continue;
        }
        let Some(paid) = p.bill_amount else { continue };
        let refunds: Vec<usize> = found
            .iter()
            .enumerate()
            .filter(|(j, r)| !drop[*j] && r.reason == refund_reason && r.out_request_no.is_none() && same_trade(p, r))
            .map(|(j, _)| j)
            .collect();
        let back: i64 = refunds.iter().filter_map(|j| found[*j].bill_amount).map(i64::abs).sum();
        if !refunds.is_empty() && back == paid.abs() {
            drop[i] = true;
            for j in refunds {
                drop[j] = true;
            }
        }
    }
    let mut keep = drop.into_iter().map(|d| !d);
    found.retain(|_| keep.next().unwrap_or(true));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(reason: Reason, trade_no: &str, amount: i64, status: Option<&str>) -> NewDiscrepancy {
        NewDiscrepancy {
            kind: reason.kind().as_str().into(),
            reason: reason.as_str().into(),
            out_trade_no: Some(format!("O{trade_no}")),
            trade_no: Some(trade_no.into()),
            out_request_no: None,
            local_amount: None,
            bill_amount: Some(amount),
            local_status: status.map(str::to_owned),
            bill_status: Some("SUCCESS".into()),
            bill_line: None,
            bill_row_id: None,
            occurred_at: None,
            subject: String::new(),
            explanation: String::new(),
            fields: Vec::new(),
        }
    }

    #[test]
    fn a_full_reversal_of_a_cancelled_order_is_no_difference() {
        let mut found = vec![
            d(Reason::LocalFailed, "T1", 1000, Some("CANCELLED")),
            d(Reason::LocalFailed, "T2", 500, Some("FAILED")),
            d(Reason::LocalFailed, "T3", 700, Some("CANCELLED")),
            d(Reason::RefundedOnlyAtAcquirer, "T1", 1000, None),
            d(Reason::RefundedOnlyAtAcquirer, "T2", 500, None),
            d(Reason::RefundedOnlyAtAcquirer, "T3", 300, None),
        ];
        drop_reversed_pairs(&mut found);
        let left: Vec<(&str, &str)> =
            found.iter().map(|d| (d.reason.as_str(), d.trade_no.as_deref().unwrap_or(""))).collect();
        assert_eq!(
            left,
            [
                ("local_failed", "T2"),
                ("local_failed", "T3"),
                ("refunded_only_at_acquirer", "T2"),
                ("refunded_only_at_acquirer", "T3")
            ],
            "only T1 (cancelled, given back in full) is consistent"
        );
    }
}
