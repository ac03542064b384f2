//! Matching one small day at a time: what matches, each kind of difference with its reason and the fields that
//! differ, and what crosses midnight (carried out, matched or missing on the next day, waiting for the previous).

use time::macros::date;

use super::*;
use crate::recon::testing::{bill, import, order, paid, refund, refunded};

const DAY: time::Date = date!(2026 - 11 - 24);

fn run(store: &mut Store, day: time::Date) -> Report {
    reconcile(store, AcquirerKind::WechatPay, day, &ReconOptions::default(), Lang::En).unwrap()
}

fn only(report: &Report) -> &Item {
    assert_eq!(report.discrepancies.len(), 1, "{}", report.to_text());
    &report.discrepancies[0]
}

fn fields(item: &Item) -> Vec<(DiffField, &str, &str)> {
    item.fields.iter().map(|f| (f.field, f.bill.as_str(), f.local.as_str())).collect()
}

#[test]
fn a_payment_and_a_refund_in_both_match_and_are_counted() {
    let mut store = Store::open_in_memory().unwrap();
    order(&mut store, "TD001", 2_000, "PARTIALLY_REFUNDED", "2026-11-24 09:00:00");
    refund(&mut store, "TD001", "RF001", 500, "SUCCESS", "2026-11-24 10:00:00");
    order(&mut store, "TD002", 1_250, "PAID", "2026-11-24 11:00:00");
    let text = bill(&[
        paid("2026-11-24 09:00:01", "TD001", 2_000),
        refunded("2026-11-24 10:00:02", "TD001", 2_000, "RF001", 500),
        paid("2026-11-24 11:00:00", "TD002", 1_250),
    ]);
    import(&mut store, "all.txt", &text, None).unwrap();
    let report = run(&mut store, DAY);
    assert!(report.discrepancies.is_empty(), "{}", report.to_text());
    assert_eq!((report.matched.count, report.matched.amount), (2, Amount::from_fen(3_250)));
    assert_eq!((report.matched_refunds.count, report.matched_refunds.amount), (1, Amount::from_fen(500)));
    assert_eq!((report.fees.payments.count, report.fees.refunds.count), (2, 1));
    assert!(report.kinds.iter().all(|k| k.count == 0), "{:?}", report.kinds);
}

#[test]
fn a_payment_amount_that_differs_is_an_amount_mismatch_with_both_values() {
    let mut store = Store::open_in_memory().unwrap();
    order(&mut store, "TD001", 2_000, "PAID", "2026-11-24 09:00:00");
    import(&mut store, "all.txt", &bill(&[paid("2026-11-24 09:00:00", "TD001", 2_500)]), None).unwrap();
    let report = run(&mut store, DAY);
    let d = only(&report);
    assert_eq!((d.kind, d.reason), (DiscrepancyKind::AmountMismatch, Reason::PaymentAmount));
    assert_eq!((d.bill_amount, d.local_amount), (Some(Amount::from_fen(2_500)), Some(Amount::from_fen(2_000))));
    assert_eq!(d.bill_line, Some(2), "the data row after the header");
    assert_eq!(fields(d), [(DiffField::Amount, "25.00", "20.00")]);
    assert_eq!(report.matched.count, 0);
}

#[test]
fn a_refund_amount_that_differs_is_an_amount_mismatch_of_the_refund() {
    let mut store = Store::open_in_memory().unwrap();
    order(&mut store, "TD001", 2_000, "PARTIALLY_REFUNDED", "2026-11-24 09:00:00");
    refund(&mut store, "TD001", "RF001", 1_000, "SUCCESS", "2026-11-24 10:00:00");
    let text = bill(&[
        paid("2026-11-24 09:00:00", "TD001", 2_000),
        refunded("2026-11-24 10:00:00", "TD001", 2_000, "RF001", 1_500),
    ]);
    import(&mut store, "all.txt", &text, None).unwrap();
    let report = run(&mut store, DAY);
    let d = only(&report);
    assert_eq!((d.kind, d.reason), (DiscrepancyKind::AmountMismatch, Reason::RefundAmount));
    assert_eq!(d.out_request_no.as_deref(), Some("RF001"));
    assert_eq!(fields(d), [(DiffField::RefundAmount, "15.00", "10.00")]);
    assert_eq!(report.matched.count, 1, "the payment itself agrees");
}

#[test]
fn a_fee_a_fen_or_more_from_the_rate_is_a_field_mismatch_and_less_is_not() {
    let mut store = Store::open_in_memory().unwrap();
    let wechat = store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap();
    store.set_setting(&format!("{SETTING_FEE_RATE_PREFIX}{}", wechat.0), "0.60%", None).unwrap();
    order(&mut store, "TD001", 10_000, "PAID", "2026-11-24 09:00:00");
    order(&mut store, "TD002", 10_000, "PAID", "2026-11-24 09:10:00");
    // 0.60% of 100.00 is 0.60000: 0.50000 is ten fen away, 0.60400 less than one.
    let mut far = paid("2026-11-24 09:00:00", "TD001", 10_000);
    far.fee_milli = 50_000;
    let mut near = paid("2026-11-24 09:10:00", "TD002", 10_000);
    near.fee_milli = 60_400;
    import(&mut store, "all.txt", &bill(&[far, near]), None).unwrap();
    let report = run(&mut store, DAY);
    let d = only(&report);
    assert_eq!(
        (d.kind, d.reason, d.out_trade_no.as_deref()),
        (DiscrepancyKind::FieldMismatch, Reason::FieldsDiffer, Some("TD001"))
    );
    assert_eq!(fields(d), [(DiffField::Fee, "0.50000", "0.60000")]);
    assert_eq!(report.fee_rate.as_deref(), Some("0.60%"));
    assert_eq!(report.matched.count, 1);
}

#[test]
fn a_payment_only_in_the_bill_and_an_order_only_at_the_till_are_one_sided() {
    let mut store = Store::open_in_memory().unwrap();
    order(&mut store, "TD001", 800, "PAID", "2026-11-24 12:00:00");
    order(&mut store, "TD003", 300, "FAILED", "2026-11-24 13:00:00");
    let text = bill(&[paid("2026-11-24 11:00:00", "TD002", 1_000), paid("2026-11-24 13:00:00", "TD003", 300)]);
    import(&mut store, "all.txt", &text, None).unwrap();
    let report = run(&mut store, DAY);
    let by = |no: &str| report.discrepancies.iter().find(|d| d.out_trade_no.as_deref() == Some(no)).unwrap();
    assert_eq!(report.discrepancies.len(), 3, "{}", report.to_text());
    let (missing, unknown, failed) = (by("TD001"), by("TD002"), by("TD003"));
    assert_eq!((missing.kind, missing.reason), (DiscrepancyKind::OnlyLocal, Reason::MissingFromBill));
    assert_eq!((missing.local_amount, missing.bill_amount), (Some(Amount::from_fen(800)), None));
    assert_eq!((unknown.kind, unknown.reason), (DiscrepancyKind::OnlyInBill, Reason::NoLocalOrder));
    assert_eq!((unknown.local_amount, unknown.bill_amount), (None, Some(Amount::from_fen(1_000))));
    assert!(unknown.reason.can_adopt());
    assert_eq!((failed.kind, failed.reason), (DiscrepancyKind::OnlyInBill, Reason::LocalFailed));
    assert_eq!(failed.local_status.as_deref(), Some("FAILED"));
    let kind = |k| report.kinds.iter().find(|t| t.kind == k).map(|t| t.count);
    assert_eq!((kind(DiscrepancyKind::OnlyLocal), kind(DiscrepancyKind::OnlyInBill)), (Some(1), Some(2)));
}

#[test]
fn a_payment_of_the_last_minutes_waits_for_the_next_days_bill_and_is_matched_there() {
    let mut store = Store::open_in_memory().unwrap();
    order(&mut store, "TD001", 1_000, "PAID", "2026-11-24 10:00:00");
    order(&mut store, "TD002", 700, "PAID", "2026-11-24 23:58:00");
    import(&mut store, "24.txt", &bill(&[paid("2026-11-24 10:00:00", "TD001", 1_000)]), None).unwrap();
    let first = run(&mut store, DAY);
    assert!(first.discrepancies.is_empty(), "within the midnight window: not a difference\n{}", first.to_text());
    assert_eq!((first.carry.out_waiting.count, first.carry.out_waiting.amount), (1, Amount::from_fen(700)));
    assert_eq!(first.pending.count, 1);

    // The acquirer's clock put it on the 25th, two minutes on (within the time tolerance).
    import(&mut store, "25.txt", &bill(&[paid("2026-11-25 00:00:03", "TD002", 700)]), None).unwrap();
    let next = run(&mut store, date!(2026 - 11 - 25));
    assert!(next.discrepancies.is_empty(), "{}", next.to_text());
    assert_eq!((next.carry.in_matched.count, next.carry.in_matched.amount), (1, Amount::from_fen(700)));
    assert_eq!(next.matched.count, 1);
    let again = run(&mut store, DAY);
    assert_eq!(again.carry.out_matched.count, 1, "seen from the 24th: listed by the next day's bill");
    assert_eq!(again.carry.out_waiting.count, 0);
}

#[test]
fn a_carried_payment_the_next_days_bill_lacks_too_is_a_difference_there_only() {
    let mut store = Store::open_in_memory().unwrap();
    order(&mut store, "TD001", 1_000, "PAID", "2026-11-24 10:00:00");
    order(&mut store, "TD002", 700, "PAID", "2026-11-24 23:58:00");
    order(&mut store, "TD003", 400, "PAID", "2026-11-25 09:00:00");
    import(&mut store, "24.txt", &bill(&[paid("2026-11-24 10:00:00", "TD001", 1_000)]), None).unwrap();
    import(&mut store, "25.txt", &bill(&[paid("2026-11-25 09:00:00", "TD003", 400)]), None).unwrap();
    let next = run(&mut store, date!(2026 - 11 - 25));
    let d = only(&next);
    assert_eq!(
        (d.kind, d.reason, d.out_trade_no.as_deref()),
        (DiscrepancyKind::OnlyLocal, Reason::CarriedMissing, Some("TD002"))
    );
    assert_eq!(next.carry.in_missing.count, 1);
    let first = run(&mut store, DAY);
    assert!(first.discrepancies.is_empty(), "reported once, on the next day\n{}", first.to_text());
    assert_eq!(first.carry.out_missing.count, 1);
}

#[test]
fn a_payment_of_the_first_minutes_waits_for_the_previous_days_bill() {
    let mut store = Store::open_in_memory().unwrap();
    order(&mut store, "TD001", 1_000, "PAID", "2026-11-24 00:04:00");
    order(&mut store, "TD002", 500, "PAID", "2026-11-24 12:00:00");
    import(&mut store, "24.txt", &bill(&[paid("2026-11-24 12:00:00", "TD002", 500)]), None).unwrap();
    let report = run(&mut store, DAY);
    assert!(report.discrepancies.is_empty(), "{}", report.to_text());
    assert_eq!(report.carry.back_waiting.count, 1);
}

#[test]
fn a_reversal_of_a_payment_the_till_shows_paid_is_a_status_mismatch() {
    let mut store = Store::open_in_memory().unwrap();
    order(&mut store, "TD001", 900, "PAID", "2026-11-24 09:00:00");
    let mut revoked = paid("2026-11-24 09:00:00", "TD001", 900);
    revoked.state = "REVOKED";
    revoked.fee_milli = 0;
    import(&mut store, "all.txt", &bill(&[revoked]), None).unwrap();
    let d = only(&run(&mut store, DAY)).clone();
    assert_eq!((d.kind, d.reason), (DiscrepancyKind::StatusMismatch, Reason::ReversedAtAcquirer));
    assert_eq!((d.bill_status.as_deref(), d.local_status.as_deref()), (Some("REVOKED"), Some("PAID")));
}
