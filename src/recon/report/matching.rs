//! Running a day: the day's bounds from the acquirer's cut-off, the store's one walk over the bill rows, the
//! midnight window's carry-over in and out, the local-only orders and refunds, and the run recorded with its
//! discrepancies; store-code payments the till never heard of are recorded from the bill and the day run again.

use time::{Date, PrimitiveDateTime, Time, UtcOffset};

use super::*;
use crate::store::recon::{FieldRules, LocalOnly, NewDiscrepancy};

fn china() -> UtcOffset {
    crate::time::CHINA
}

/// China midnight at the start of `date`, in UTC, as "YYYY-MM-DDTHH:MM:SS" (no suffix, so that stored texts with
/// fractions and "Z" compare correctly as text).
fn utc_bound(t: PrimitiveDateTime) -> String {
    let u = t.assume_offset(china()).to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        u.year(),
        u8::from(u.month()),
        u.day(),
        u.hour(),
        u.minute(),
        u.second()
    )
}

/// Reconciles an acquirer's day: the bill (which must be imported) against local orders and refunds. Records a
/// run with its discrepancies (earlier resolutions carry over) and returns the report.
pub fn reconcile(
    store: &mut Store,
    acquirer: AcquirerKind,
    date: Date,
    options: &ReconOptions,
    lang: Lang,
) -> Result<Report, ReconError> {
    let acquirer_id = store.setup_mut().acquirer_for(acquirer)?;
    reconcile_account(store, acquirer_id, date, options, lang)
}

/// Reconciles one acquirer account's day (ALIPAY and PARTNER1 send separate bills for the payments each took).
///
/// A paid bill row the till has no order for, whose order number the till did not make (its own all start with
/// `TD`, written before the first byte goes out), at an acquirer that takes a store's codes (a route: the store's
/// printed code reaches it), is a wallet's payment of that code whose notification never reached the till: it is
/// recorded as that store's order (source `store_code`) and the day reconciled again, so it is a sale, not a
/// difference. Without a route nothing could have paid a code there, so such a row stays a difference.
pub fn reconcile_account(
    store: &mut Store,
    acquirer_id: crate::model::AcquirerId,
    date: Date,
    options: &ReconOptions,
    lang: Lang,
) -> Result<Report, ReconError> {
    crate::recon::resolve::refuse_if_closed(store, acquirer_id, date)?;
    let report = reconcile_run(store, acquirer_id, date, options, lang)?;
    let unheard: Vec<crate::store::sync::BillPayment> = report
        .discrepancies
        .iter()
        .filter(|d| d.reason == Reason::NoLocalOrder && d.out_request_no.is_none())
        .filter_map(|d| {
            let out_trade_no = d.out_trade_no.clone().filter(|o| !o.starts_with("TD"))?;
            Some(crate::store::sync::BillPayment {
                out_trade_no,
                trade_no: d.trade_no.clone(),
                amount: d.bill_amount?,
                paid_at: d.occurred_at.clone()?,
                subject: d.subject.clone(),
            })
        })
        .collect();
    if unheard.is_empty() || store.setup().route_to_any_store(acquirer_id)?.is_none() {
        return Ok(report);
    }
    let adopted = store.sync_mut().record_bill_store_code_payments(acquirer_id, &unheard)?;
    tracing::info!(adopted, acquirer = %acquirer_id, "store-code payments recorded from the bill");
    if adopted == 0 {
        return Ok(report);
    }
    reconcile_run(store, acquirer_id, date, options, lang)
}

fn reconcile_run(
    store: &mut Store,
    acquirer_id: crate::model::AcquirerId,
    date: Date,
    options: &ReconOptions,
    lang: Lang,
) -> Result<Report, ReconError> {
    let started_at = crate::time::now_utc();
    let acquirer = store
        .setup()
        .acquirers()?
        .into_iter()
        .find(|a| a.id == acquirer_id)
        .map(|a| a.kind)
        .ok_or(ReconError::UnknownAccount(acquirer_id))?;
    let day = date_text(date);
    let bills = store.recon().bills_of_day(acquirer_id, &day)?;
    if bills.is_empty() {
        return Err(ReconError::NoBill { acquirer: acquirer_name(acquirer), date: day });
    }
    let neighbour_in = |d: Option<Date>| -> Result<bool, ReconError> {
        Ok(match d {
            Some(d) => !store.recon().bills_of_day(acquirer_id, &date_text(d))?.is_empty(),
            None => false,
        })
    };
    let previous_in = neighbour_in(date.previous_day())?;
    let next_day = date.next_day().map(date_text);
    let next_in = neighbour_in(date.next_day())?;
    let setting = |prefix: &str| store.setting(&format!("{prefix}{}", acquirer_id.0));
    let cutoff = setting(SETTING_CUTOFF_PREFIX)?.and_then(|c| parse_cutoff(&c)).unwrap_or(0);
    let fee_rate = setting(SETTING_FEE_RATE_PREFIX)?.and_then(|r| parse_fee_rate(&r).map(|ppm| (ppm, r)));

    // The local side of the day runs from the cut-off to the next, with the windows at both ends.
    let start = PrimitiveDateTime::new(date, Time::MIDNIGHT) + Duration::minutes(cutoff);
    let end = start + Duration::days(1);
    let rules = FieldRules {
        time_tolerance_secs: options.time_tolerance.whole_seconds(),
        fee_rate_ppm: fee_rate.as_ref().map(|(ppm, _)| *ppm),
        day_start: utc_bound(start),
    };

    let mut found: Vec<NewDiscrepancy> = Vec::new();
    // Refund differences come after every payment difference in the report.
    let mut refund_found: Vec<NewDiscrepancy> = Vec::new();
    // Refunds of orders the till has no record of: one-sided entries, joined to their payment's difference below.
    let mut orphan_refunds: Vec<NewDiscrepancy> = Vec::new();
    let en = Lang::En;
    let difference = |reason: Reason| NewDiscrepancy {
        kind: reason.kind().as_str().to_owned(),
        reason: reason.as_str().to_owned(),
        explanation: reason.explanation(en).to_owned(),
        ..NewDiscrepancy::default()
    };

    let payment = |p: crate::store::recon::PaymentPair| {
        let reason = match (p.kind.as_str(), p.local_status.as_deref()) {
            ("revoked", Some("PAID" | "PARTIALLY_REFUNDED" | "REFUNDED")) => Some(Reason::ReversedAtAcquirer),
            ("revoked", _) => None, // reversed and not paid locally: consistent, no money moved
            (_, None) => Some(Reason::NoLocalOrder),
            (_, Some("FAILED" | "CLOSED" | "CANCELLED")) => Some(Reason::LocalFailed),
            (_, Some("PAYING" | "UNKNOWN" | "CANCELLING" | "NEEDS_ATTENTION")) => Some(Reason::LocalUnconfirmed),
            (_, Some(_)) if p.local_amount != Some(p.bill_amount) => Some(Reason::PaymentAmount),
            (_, Some(_)) => Some(Reason::FieldsDiffer),
        };
        if let Some(reason) = reason {
            found.push(NewDiscrepancy {
                out_trade_no: Some(p.out_trade_no).filter(|s| !s.is_empty()),
                trade_no: Some(p.trade_no).filter(|s| !s.is_empty()),
                local_amount: p.local_amount,
                bill_amount: Some(p.bill_amount),
                local_status: p.local_status,
                bill_status: Some(p.bill_status),
                bill_line: Some(p.line_no),
                bill_row_id: Some(p.bill_row_id),
                occurred_at: Some(p.occurred_at),
                subject: p.subject,
                fields: p.fields,
                ..difference(reason)
            });
        }
    };
    let refund = |r: crate::store::recon::RefundPair| {
        let bill_ok = r.bill_status == "SUCCESS";
        let unknown = !r.order_found && r.local_status.is_none();
        let reason = match (bill_ok, r.local_status.as_deref()) {
            (true, Some("SUCCESS")) if r.local_amount != Some(r.bill_amount) => Some(Reason::RefundAmount),
            (true, Some("SUCCESS")) => Some(Reason::FieldsDiffer),
            (true, _) if unknown => Some(Reason::RefundNoLocalOrder),
            (true, _) => Some(Reason::RefundedOnlyAtAcquirer),
            (false, Some("SUCCESS")) => Some(Reason::RefundNotThroughAtAcquirer),
            (false, _) => None, // not through on either side yet
        };
        if let Some(reason) = reason {
            let d = NewDiscrepancy {
                out_trade_no: Some(r.out_trade_no).filter(|s| !s.is_empty()),
                trade_no: Some(r.trade_no).filter(|s| !s.is_empty()),
                out_request_no: Some(r.out_request_no).filter(|s| !s.is_empty()),
                local_amount: r.local_amount,
                bill_amount: Some(r.bill_amount),
                local_status: r.local_status,
                bill_status: Some(r.bill_status),
                bill_line: Some(r.line_no),
                bill_row_id: Some(r.bill_row_id),
                occurred_at: Some(r.occurred_at),
                subject: r.subject,
                fields: r.fields,
                ..difference(reason)
            };
            if reason == Reason::RefundNoLocalOrder { orphan_refunds.push(d) } else { refund_found.push(d) }
        }
    };
    let scan = store.recon().recon_bill_rows(acquirer_id, &day, &rules, payment, refund)?;
    // A refund of an unknown order whose payment is in the day's bill too is one one-sided entry with it when it
    // gave the whole payment back (no money was kept): the payment's difference says so and carries the refund
    // amount. A partial refund leaves money kept: the payment stays a payment to adopt, the refund its own entry.
    if !orphan_refunds.is_empty() {
        // Unknown orders' payments by out_trade_no, and the day's refunds of each.
        let mut unknown: std::collections::HashMap<String, (usize, Vec<NewDiscrepancy>)> = found
            .iter()
            .enumerate()
            .filter(|(_, p)| p.reason == Reason::NoLocalOrder.as_str())
            .filter_map(|(i, p)| Some((p.out_trade_no.clone()?, (i, Vec::new()))))
            .collect();
        for d in orphan_refunds {
            match d.out_trade_no.as_ref().and_then(|o| unknown.get_mut(o)) {
                Some((_, refunds)) => refunds.push(d),
                None => refund_found.push(d),
            }
        }
        let reason = Reason::NoLocalOrderRefunded;
        for (i, refunds) in unknown.into_values().filter(|(_, r)| !r.is_empty()) {
            let refunded = refunds.iter().fold(0i64, |sum, d| sum.saturating_add(d.bill_amount.unwrap_or(0)));
            if Some(refunded) != found[i].bill_amount {
                refund_found.extend(refunds);
                continue;
            }
            let p = &mut found[i];
            p.reason = reason.as_str().to_owned();
            p.explanation = reason.explanation(en).to_owned();
            p.fields.push(FieldDiff {
                field: DiffField::RefundAmount,
                bill: Amount::from_fen(refunded).to_string(),
                local: String::new(),
            });
        }
        // Refund differences in the bill's order, whatever order the partial refunds came back in.
        refund_found.sort_by_key(|d| d.bill_row_id);
    }
    found.append(&mut refund_found);
    crate::recon::reversal::drop_reversed_pairs(&mut found);

    // The local side: the day, and the previous day's last minutes (its carry-over).
    let (from, to) = (utc_bound(start - options.window), utc_bound(end));
    let day_from = utc_bound(start);
    let created_from = utc_bound(start - Duration::days(1) - options.window);
    let early_until = utc_bound(start + options.window);
    let late_from = utc_bound(end - options.window);
    let mut carry = CarryOver::default();
    let mut local_only = |l: LocalOnly, mut reason: Reason, found: &mut Vec<NewDiscrepancy>| {
        let at = l.at.as_str();
        let listed = l.listed_on.is_some();
        if at < day_from.as_str() {
            // The previous day's carry-over: a difference here only if neither bill lists it.
            // Listed somewhere, or the previous day's own bill is not in yet: not this day's business.
            if listed || !previous_in {
                return;
            }
            carry.in_missing.add(l.amount);
            if reason == Reason::MissingFromBill {
                reason = Reason::CarriedMissing;
            }
        } else if options.window > Duration::ZERO && at >= late_from.as_str() {
            match (&l.listed_on, next_in) {
                (Some(d), _) if Some(d) == next_day.as_ref() => carry.out_matched.add(l.amount),
                (Some(_), _) => {}
                (None, true) => carry.out_missing.add(l.amount),
                (None, false) => carry.out_waiting.add(l.amount),
            }
            return;
        } else if listed {
            return;
        } else if at < early_until.as_str() && !previous_in {
            carry.back_waiting.add(l.amount);
            return;
        }
        found.push(NewDiscrepancy {
            out_trade_no: Some(l.out_trade_no),
            trade_no: l.trade_no,
            out_request_no: l.out_request_no,
            local_amount: Some(l.amount),
            local_status: Some(l.status),
            occurred_at: Some(l.at),
            subject: l.subject,
            ..difference(reason)
        });
    };
    store.recon().recon_local_only_orders(acquirer_id, &day, &from, &to, &created_from, &scan.matched_orders, |l| {
        local_only(l, Reason::MissingFromBill, &mut found)
    })?;
    store.recon().recon_local_only_refunds(acquirer_id, &day, &from, &to, |l| {
        local_only(l, Reason::RefundedOnlyLocally, &mut found)
    })?;
    carry.in_matched = CountAmount { count: scan.carried_in_count, amount: Amount::from_fen(scan.carried_in_amount) };
    let pending = CountAmount {
        count: carry.out_waiting.count + carry.back_waiting.count,
        amount: Amount::from_fen(carry.out_waiting.amount.fen().saturating_add(carry.back_waiting.amount.fen())),
    };

    let totals = scan.totals;
    let fee = crate::channel::wechatpay::bill::MilliFen::from_milli_fen(totals.fee_milli);
    let fee_fen = Amount::from_fen(crate::store::recon::round_milli(totals.fee_milli));
    // The fees actually charged, with the signs each acquirer writes: Alipay's 服务费 is negative when charged and
    // positive when a refund gives it back (实收净额 = 商家实收 + 服务费); WeChat's 手续费 is positive when charged and
    // negative on refund rows (net = 应结订单金额 − 退款金额 − 手续费).
    let net = match acquirer {
        AcquirerKind::WechatPay => totals.settled.saturating_sub(fee_fen.fen()),
        AcquirerKind::Alipay | AcquirerKind::AlipayPlus => totals.settled.saturating_add(fee_fen.fen()),
    };
    let fees = FeeSummary {
        bill_date: day.clone(),
        payments: CountAmount { count: totals.payment_count, amount: Amount::from_fen(totals.payment_amount) },
        refunds: CountAmount { count: totals.refund_count, amount: Amount::from_fen(totals.refund_amount) },
        fee: fee.to_string(),
        fee_fen,
        discounts: Amount::from_fen(totals.discount),
        net: Amount::from_fen(net),
    };

    let mut kinds: Vec<KindTotal> = DiscrepancyKind::ALL
        .iter()
        .map(|k| KindTotal { kind: *k, count: 0, bill_amount: Amount::ZERO, local_amount: Amount::ZERO })
        .collect();
    for d in &found {
        if let Some(k) = kinds.iter_mut().find(|k| k.kind.as_str() == d.kind) {
            k.count += 1;
            k.bill_amount = Amount::from_fen(k.bill_amount.fen().saturating_add(d.bill_amount.unwrap_or(0)));
            k.local_amount = Amount::from_fen(k.local_amount.fen().saturating_add(d.local_amount.unwrap_or(0)));
        }
    }
    let warnings = bills
        .iter()
        .filter_map(|b| {
            b.totals_mismatch
                .as_ref()
                .map(|m| format!("{}: the bill's own totals do not match its rows: {m}", b.source_name))
        })
        .collect();
    let mut report = Report {
        run_id: 0,
        acquirer,
        bill_date: day.clone(),
        started_at: started_at.clone(),
        window_minutes: options.window.whole_minutes(),
        bills: bills.clone(),
        matched: CountAmount { count: scan.matched_count, amount: Amount::from_fen(scan.matched_amount) },
        matched_refunds: CountAmount {
            count: scan.matched_refund_count,
            amount: Amount::from_fen(scan.matched_refund_amount),
        },
        pending,
        carry,
        cutoff: format!("{:02}:{:02}", cutoff / 60, cutoff % 60),
        time_tolerance_minutes: options.time_tolerance.whole_minutes(),
        fee_rate: fee_rate.map(|(_, text)| text.trim().to_owned()),
        kinds,
        fees,
        warnings,
        discrepancies: Vec::new(),
    };
    let summary_json =
        serde_json::to_string(&report).map_err(|e| ReconError::BadRun { run: 0, message: e.to_string() })?;
    let run_id = store.recon_mut().save_recon_run(
        acquirer_id,
        &day,
        bills.last().map(|b| b.id),
        &started_at,
        &summary_json,
        &found,
    )?;
    report.run_id = run_id;
    report.discrepancies =
        store.recon().run_discrepancies(run_id)?.into_iter().map(|d| Item::from_stored(d, lang)).collect();
    tracing::info!(run_id, acquirer = %acquirer, date = %day, differences = report.discrepancies.len(), "reconciled");
    Ok(report)
}
