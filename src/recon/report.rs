//! Matching a day's bill against the till, and the report: matched totals, every difference with a plain-language
//! explanation and a suggested action, the day's fee summary, and the orders near midnight that wait for the
//! neighbouring day's bill.
//!
//! Payments match by out_trade_no (falling back to trade_no), refunds by out_request_no. A local order or refund
//! whose time is within the midnight window of the day's edge, and that no bill lists, is not reported while the
//! neighbouring day's bill is not imported: the acquirer's clock may have put it there.

use serde::{Deserialize, Serialize};
use time::{Date, Duration, PrimitiveDateTime, Time, UtcOffset};

use super::{ReconError, acquirer_name, date_text};
use crate::i18n::Lang;
use crate::model::{AcquirerKind, DiscrepancyId, DiscrepancyKind};
use crate::money::Amount;
use crate::store::Store;
use crate::store::recon::{LocalOnly, NewDiscrepancy, StoredBill, StoredDiscrepancy};

/// The default midnight window.
pub const DEFAULT_WINDOW_MINUTES: i64 = 10;
/// The setting that overrides it.
pub const SETTING_WINDOW_MINUTES: &str = "recon.midnight_window_minutes";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconOptions {
    /// Local orders this close to midnight wait for the neighbouring day's bill.
    pub window: Duration,
}

impl Default for ReconOptions {
    fn default() -> Self {
        ReconOptions { window: Duration::minutes(DEFAULT_WINDOW_MINUTES) }
    }
}

impl ReconOptions {
    /// The window from settings, else the default.
    pub fn from_settings(store: &Store) -> Result<Self, ReconError> {
        let minutes = store
            .setting(SETTING_WINDOW_MINUTES)?
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|m| (0..=720).contains(m))
            .unwrap_or(DEFAULT_WINDOW_MINUTES);
        Ok(ReconOptions { window: Duration::minutes(minutes) })
    }
}

/// Why a difference is there: each reason belongs to one [`DiscrepancyKind`] and has its own words and action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Paid at the acquirer, no local order at all (e.g. a store-code payment).
    NoLocalOrder,
    /// The till thinks it failed, closed or was cancelled.
    LocalFailed,
    /// The till never confirmed it (paying, unknown, cancelling, needs attention).
    LocalUnconfirmed,
    /// Paid locally, in no bill.
    MissingFromBill,
    PaymentAmount,
    RefundAmount,
    /// The acquirer refunded; the till has no successful refund.
    RefundedOnlyAtAcquirer,
    /// The till refunded successfully; no bill lists the refund.
    RefundedOnlyLocally,
    /// The bill says the refund is not (yet) through; the till says it succeeded.
    RefundNotThroughAtAcquirer,
    /// The acquirer reversed the payment (WeChat REVOKED); the till shows it paid.
    ReversedAtAcquirer,
}

impl Reason {
    pub const ALL: [Reason; 10] = [
        Reason::NoLocalOrder,
        Reason::LocalFailed,
        Reason::LocalUnconfirmed,
        Reason::MissingFromBill,
        Reason::PaymentAmount,
        Reason::RefundAmount,
        Reason::RefundedOnlyAtAcquirer,
        Reason::RefundedOnlyLocally,
        Reason::RefundNotThroughAtAcquirer,
        Reason::ReversedAtAcquirer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NoLocalOrder => "no_local_order",
            Reason::LocalFailed => "local_failed",
            Reason::LocalUnconfirmed => "local_unconfirmed",
            Reason::MissingFromBill => "missing_from_bill",
            Reason::PaymentAmount => "payment_amount",
            Reason::RefundAmount => "refund_amount",
            Reason::RefundedOnlyAtAcquirer => "refunded_only_at_acquirer",
            Reason::RefundedOnlyLocally => "refunded_only_locally",
            Reason::RefundNotThroughAtAcquirer => "refund_not_through_at_acquirer",
            Reason::ReversedAtAcquirer => "reversed_at_acquirer",
        }
    }

    pub fn parse(text: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == text)
    }

    pub fn kind(self) -> DiscrepancyKind {
        match self {
            Reason::NoLocalOrder | Reason::LocalFailed | Reason::LocalUnconfirmed => DiscrepancyKind::OnlyInBill,
            Reason::MissingFromBill => DiscrepancyKind::OnlyLocal,
            Reason::PaymentAmount | Reason::RefundAmount => DiscrepancyKind::AmountMismatch,
            Reason::RefundedOnlyAtAcquirer
            | Reason::RefundedOnlyLocally
            | Reason::RefundNotThroughAtAcquirer
            | Reason::ReversedAtAcquirer => DiscrepancyKind::StatusMismatch,
        }
    }

    /// What happened, in plain words.
    pub fn explanation(self, lang: Lang) -> &'static str {
        match self {
            Reason::NoLocalOrder => lang.pick(
                "账单里有这笔收款，收银台却没有记录（例如顾客扫店铺码付款，收银台没有收到通知）。",
                "The acquirer took this payment but the till has no record of it (for example a customer paid by \
                 scanning the store code and the till never heard of it).",
            ),
            Reason::LocalFailed => lang.pick(
                "收银台认为这笔支付失败或已撤销，但收单机构的账单显示已收款。",
                "The till thinks this payment failed or was cancelled, but the acquirer's bill shows it was paid.",
            ),
            Reason::LocalUnconfirmed => lang.pick(
                "收银台一直没有确认这笔支付（仍在等待结果），账单显示已收款。",
                "The till never confirmed this payment (it is still waiting for the outcome), but the bill shows it \
                 was paid.",
            ),
            Reason::MissingFromBill => lang.pick(
                "收银台记录为已支付，但收单机构的账单里没有这笔交易。",
                "The till recorded this order as paid, but the acquirer's bill does not list it.",
            ),
            Reason::PaymentAmount => lang.pick(
                "账单上的订单金额与收银台记录的金额不一致。",
                "The bill's order amount differs from the amount the till recorded.",
            ),
            Reason::RefundAmount => lang.pick(
                "账单上的退款金额与收银台记录的退款金额不一致。",
                "The bill's refund amount differs from the refund the till recorded.",
            ),
            Reason::RefundedOnlyAtAcquirer => lang.pick(
                "收单机构已退款，但收银台没有这笔成功的退款记录。",
                "The acquirer refunded this order, but the till has no successful refund for it.",
            ),
            Reason::RefundedOnlyLocally => lang.pick(
                "收银台记录退款成功，但收单机构的账单里没有这笔退款。",
                "The till recorded a successful refund that the acquirer's bill does not list.",
            ),
            Reason::RefundNotThroughAtAcquirer => lang.pick(
                "账单显示这笔退款尚未成功（处理中或失败），收银台却记录为成功。",
                "The bill shows this refund as not through (processing or failed), but the till recorded it as \
                 successful.",
            ),
            Reason::ReversedAtAcquirer => lang.pick(
                "收单机构已撤销（冲正）这笔支付，收银台却显示已支付。",
                "The acquirer reversed this payment, but the till shows it as paid.",
            ),
        }
    }

    /// What to do about it.
    pub fn action(self, lang: Lang) -> &'static str {
        match self {
            Reason::NoLocalOrder | Reason::LocalUnconfirmed => lang.pick(
                "立即向收单机构查询确认，然后将账单记录补录为本地订单。",
                "Query the acquirer now to confirm, then adopt the bill's record as a local order.",
            ),
            Reason::LocalFailed => lang.pick(
                "立即向收单机构查询；确认已收款后补录为本地订单，或给顾客退款。",
                "Query the acquirer now; if it is paid, adopt the bill's record as the local order, or refund the \
                 customer.",
            ),
            Reason::MissingFromBill => lang.pick(
                "向收单机构查询这笔订单；若未成功收款，联系顾客补付并保留小票。",
                "Query the acquirer for this order; if the money never arrived, contact the customer and keep the \
                 receipt.",
            ),
            Reason::PaymentAmount | Reason::RefundAmount => lang.pick(
                "核对小票并向收单机构查询，更正本地记录或向收单机构提出差错。",
                "Check the receipt and query the acquirer; correct the local record or raise it with the acquirer.",
            ),
            Reason::RefundedOnlyAtAcquirer | Reason::RefundNotThroughAtAcquirer => lang.pick(
                "向收单机构查询退款状态，并更新本地退款记录。",
                "Query the refund at the acquirer and bring the local refund record up to date.",
            ),
            Reason::RefundedOnlyLocally => lang.pick(
                "向收单机构查询这笔退款；若未成功，重新发起退款。",
                "Query this refund at the acquirer; if it did not go through, refund again.",
            ),
            Reason::ReversedAtAcquirer => lang.pick(
                "向收单机构查询；钱已退回顾客，请把本地订单改为已撤销或重新收款。",
                "Query the acquirer; the money went back to the customer, so mark the local order cancelled or take \
                 the payment again.",
            ),
        }
    }

    /// Whether "adopt the bill's record as a local order" applies.
    pub fn can_adopt(self) -> bool {
        matches!(self, Reason::NoLocalOrder | Reason::LocalFailed | Reason::LocalUnconfirmed)
    }
}

/// A discrepancy kind's label.
pub fn kind_label(kind: DiscrepancyKind, lang: Lang) -> &'static str {
    match kind {
        DiscrepancyKind::OnlyInBill => lang.pick("仅账单有", "Only in the bill"),
        DiscrepancyKind::OnlyLocal => lang.pick("仅本地有", "Only local"),
        DiscrepancyKind::AmountMismatch => lang.pick("金额不符", "Amount mismatch"),
        DiscrepancyKind::StatusMismatch => lang.pick("状态不符", "Status mismatch"),
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountAmount {
    pub count: i64,
    pub amount: Amount,
}

impl CountAmount {
    fn add(&mut self, amount: i64) {
        self.count += 1;
        self.amount = Amount::from_fen(self.amount.fen().saturating_add(amount));
    }
}

/// Per kind: how many, and the sums on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindTotal {
    pub kind: DiscrepancyKind,
    pub count: i64,
    pub bill_amount: Amount,
    pub local_amount: Amount,
}

/// The day's money as the bill states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeSummary {
    pub bill_date: String,
    pub payments: CountAmount,
    pub refunds: CountAmount,
    /// The acquirer's fees, exact (WeChat writes 5 decimals), as "0.04000" (negative when charged, as Alipay
    /// writes it; WeChat writes it positive).
    pub fee: String,
    /// The fees rounded to the fen.
    pub fee_fen: Amount,
    /// Discounts and coupons on the day's rows.
    pub discounts: Amount,
    /// What the merchant receives: settled amounts less fees.
    pub net: Amount,
}

/// One difference as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub id: DiscrepancyId,
    pub kind: DiscrepancyKind,
    pub reason: Reason,
    pub out_trade_no: Option<String>,
    pub trade_no: Option<String>,
    pub out_request_no: Option<String>,
    pub local_amount: Option<Amount>,
    pub bill_amount: Option<Amount>,
    pub local_status: Option<String>,
    pub bill_status: Option<String>,
    pub bill_line: Option<i64>,
    /// UTC RFC 3339.
    pub occurred_at: Option<String>,
    pub subject: String,
    pub explanation: String,
    pub action: String,
    pub resolved: bool,
    pub note: Option<String>,
    /// How it was resolved, by whom and when (None while open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<super::resolve::Resolution>,
}

impl Item {
    fn from_stored(d: StoredDiscrepancy, lang: Lang) -> Item {
        let resolution = super::resolve::Resolution::of(&d);
        let f = d.fields;
        let reason = Reason::parse(&f.reason).unwrap_or(Reason::MissingFromBill);
        Item {
            id: d.id,
            kind: crate::model::DiscrepancyKind::parse(&f.kind).unwrap_or(reason.kind()),
            reason,
            out_trade_no: f.out_trade_no,
            trade_no: f.trade_no,
            out_request_no: f.out_request_no,
            local_amount: f.local_amount.map(Amount::from_fen),
            bill_amount: f.bill_amount.map(Amount::from_fen),
            local_status: f.local_status,
            bill_status: f.bill_status,
            bill_line: f.bill_line,
            occurred_at: f.occurred_at,
            subject: f.subject,
            explanation: reason.explanation(lang).to_owned(),
            action: reason.action(lang).to_owned(),
            resolved: d.resolved,
            note: d.note,
            resolution,
        }
    }
}

/// The reconciliation of one acquirer's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub run_id: i64,
    pub acquirer: AcquirerKind,
    pub bill_date: String,
    pub started_at: String,
    pub window_minutes: i64,
    pub bills: Vec<StoredBill>,
    /// Bill payments matching a paid local order one for one.
    pub matched: CountAmount,
    /// Bill refunds matching a successful local refund.
    pub matched_refunds: CountAmount,
    /// Local orders and refunds near midnight waiting for the neighbouring day's bill (not reported).
    pub pending: CountAmount,
    pub kinds: Vec<KindTotal>,
    pub fees: FeeSummary,
    /// Things to know about the bills themselves (totals that do not add up).
    pub warnings: Vec<String>,
    #[serde(default)]
    pub discrepancies: Vec<Item>,
}

fn china() -> UtcOffset {
    UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC)
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
    let acquirer_id = store.acquirer_for(acquirer)?;
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
    super::resolve::refuse_if_closed(store, acquirer_id, date)?;
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
    if unheard.is_empty() || store.route_to_any_store(acquirer_id)?.is_none() {
        return Ok(report);
    }
    let adopted = store.record_bill_store_code_payments(acquirer_id, &unheard)?;
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
        .acquirers()?
        .into_iter()
        .find(|a| a.id == acquirer_id)
        .map(|a| a.kind)
        .ok_or(ReconError::UnknownAccount(acquirer_id))?;
    let day = date_text(date);
    let bills = store.bills_of_day(acquirer_id, &day)?;
    if bills.is_empty() {
        return Err(ReconError::NoBill { acquirer: acquirer_name(acquirer), date: day });
    }
    let neighbour_in = |d: Option<Date>| -> Result<bool, ReconError> {
        Ok(match d {
            Some(d) => !store.bills_of_day(acquirer_id, &date_text(d))?.is_empty(),
            None => false,
        })
    };
    let previous_in = neighbour_in(date.previous_day())?;
    let next_in = neighbour_in(date.next_day())?;

    let mut found: Vec<NewDiscrepancy> = Vec::new();
    // Refund differences come after every payment difference in the report.
    let mut refund_found: Vec<NewDiscrepancy> = Vec::new();
    let en = Lang::En;

    let payment = |p: crate::store::recon::PaymentPair| {
        let reason = match (p.kind.as_str(), p.local_status.as_deref()) {
            ("revoked", Some("PAID" | "PARTIALLY_REFUNDED" | "REFUNDED")) => Some(Reason::ReversedAtAcquirer),
            ("revoked", _) => None, // reversed and not paid locally: consistent, no money moved
            (_, None) => Some(Reason::NoLocalOrder),
            (_, Some("FAILED" | "CLOSED" | "CANCELLED")) => Some(Reason::LocalFailed),
            (_, Some("PAYING" | "UNKNOWN" | "CANCELLING" | "NEEDS_ATTENTION")) => Some(Reason::LocalUnconfirmed),
            (_, Some(_)) => Some(Reason::PaymentAmount),
        };
        if let Some(reason) = reason {
            found.push(NewDiscrepancy {
                kind: reason.kind().as_str().to_owned(),
                reason: reason.as_str().to_owned(),
                out_trade_no: Some(p.out_trade_no).filter(|s| !s.is_empty()),
                trade_no: Some(p.trade_no).filter(|s| !s.is_empty()),
                out_request_no: None,
                local_amount: p.local_amount,
                bill_amount: Some(p.bill_amount),
                local_status: p.local_status,
                bill_status: Some(p.bill_status),
                bill_line: Some(p.line_no),
                bill_row_id: Some(p.bill_row_id),
                occurred_at: Some(p.occurred_at),
                subject: p.subject,
                explanation: reason.explanation(en).to_owned(),
            });
        }
    };
    let refund = |r: crate::store::recon::RefundPair| {
        let bill_ok = r.bill_status == "SUCCESS";
        let reason = match (bill_ok, r.local_status.as_deref()) {
            (true, Some("SUCCESS")) => Some(Reason::RefundAmount),
            (true, _) => Some(Reason::RefundedOnlyAtAcquirer),
            (false, Some("SUCCESS")) => Some(Reason::RefundNotThroughAtAcquirer),
            (false, _) => None, // not through on either side yet
        };
        if let Some(reason) = reason {
            refund_found.push(NewDiscrepancy {
                kind: reason.kind().as_str().to_owned(),
                reason: reason.as_str().to_owned(),
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
                explanation: reason.explanation(en).to_owned(),
            });
        }
    };
    let scan = store.recon_bill_rows(acquirer_id, &day, payment, refund)?;
    found.append(&mut refund_found);
    super::reversal::drop_reversed_pairs(&mut found);

    // The local side of the day, and the midnight windows at both ends.
    let start = PrimitiveDateTime::new(date, Time::MIDNIGHT);
    let end = start + Duration::days(1);
    let (from, to) = (utc_bound(start), utc_bound(end));
    let created_from = utc_bound(start - Duration::days(1));
    let early_until = utc_bound(start + options.window);
    let late_from = utc_bound(end - options.window);
    let waits = |at: &str| (!previous_in && at < early_until.as_str()) || (!next_in && at >= late_from.as_str());
    let mut pending = CountAmount::default();
    let mut local_only = |l: LocalOnly, reason: Reason, found: &mut Vec<NewDiscrepancy>| {
        if waits(&l.at) {
            pending.add(l.amount);
            return;
        }
        found.push(NewDiscrepancy {
            kind: reason.kind().as_str().to_owned(),
            reason: reason.as_str().to_owned(),
            out_trade_no: Some(l.out_trade_no),
            trade_no: l.trade_no,
            out_request_no: l.out_request_no,
            local_amount: Some(l.amount),
            bill_amount: None,
            local_status: Some(l.status),
            bill_status: None,
            bill_line: None,
            bill_row_id: None,
            occurred_at: Some(l.at),
            subject: l.subject,
            explanation: reason.explanation(en).to_owned(),
        });
    };
    store.recon_local_only_orders(acquirer_id, &from, &to, &created_from, &scan.matched_orders, |l| {
        local_only(l, Reason::MissingFromBill, &mut found)
    })?;
    store.recon_local_only_refunds(acquirer_id, &from, &to, |l| {
        local_only(l, Reason::RefundedOnlyLocally, &mut found)
    })?;

    let totals = scan.totals;
    let fee = crate::channel::wechatpay::bill::MilliFen::from_milli_fen(totals.fee_milli);
    let fee_fen = Amount::from_fen(crate::store::recon::round_milli(totals.fee_milli));
    // Alipay writes fees negative (already taken off), WeChat positive: net = settled − |fee|.
    let net = Amount::from_fen(totals.settled.saturating_sub(fee_fen.fen().abs()));
    let fees = FeeSummary {
        bill_date: day.clone(),
        payments: CountAmount { count: totals.payment_count, amount: Amount::from_fen(totals.payment_amount) },
        refunds: CountAmount { count: totals.refund_count, amount: Amount::from_fen(totals.refund_amount) },
        fee: fee.to_string(),
        fee_fen,
        discounts: Amount::from_fen(totals.discount),
        net,
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
        kinds,
        fees,
        warnings,
        discrepancies: Vec::new(),
    };
    let summary_json =
        serde_json::to_string(&report).map_err(|e| ReconError::BadRun { run: 0, message: e.to_string() })?;
    let run_id =
        store.save_recon_run(acquirer_id, &day, bills.last().map(|b| b.id), &started_at, &summary_json, &found)?;
    report.run_id = run_id;
    report.discrepancies = store.run_discrepancies(run_id)?.into_iter().map(|d| Item::from_stored(d, lang)).collect();
    tracing::info!(run_id, acquirer = %acquirer, date = %day, differences = report.discrepancies.len(), "reconciled");
    Ok(report)
}

/// A recorded run's report, as it was, with its discrepancies as they are now (resolutions included).
pub fn load_report(store: &Store, run_id: i64, lang: Lang) -> Result<Report, ReconError> {
    let run = store.recon_run(run_id)?.ok_or(ReconError::BadRun { run: run_id, message: "no such run".into() })?;
    let mut report: Report = serde_json::from_str(&run.summary_json)
        .map_err(|e| ReconError::BadRun { run: run_id, message: e.to_string() })?;
    report.run_id = run_id;
    report.discrepancies = store.run_discrepancies(run_id)?.into_iter().map(|d| Item::from_stored(d, lang)).collect();
    Ok(report)
}

fn opt_amount(a: Option<Amount>) -> String {
    a.map(|a| a.to_string()).unwrap_or_else(|| "-".into())
}

impl Report {
    /// The report as plain text (the CLI prints it; the fixtures' expected reports are written in it).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let name = acquirer_name(self.acquirer);
        out.push_str(&format!("Reconciliation of the {name} bill of {}\n", self.bill_date));
        for b in &self.bills {
            out.push_str(&format!(
                "  bill: {} ({} rows)\n",
                b.source_name.rsplit(['/', '\\']).next().unwrap_or(""),
                b.row_count
            ));
        }
        out.push_str(&format!("  matched payments: {} totalling {}\n", self.matched.count, self.matched.amount));
        out.push_str(&format!(
            "  matched refunds:  {} totalling {}\n",
            self.matched_refunds.count, self.matched_refunds.amount
        ));
        out.push_str(&format!(
            "  waiting for the neighbouring day's bill (within {} min of midnight): {} totalling {}\n",
            self.window_minutes, self.pending.count, self.pending.amount
        ));
        for k in &self.kinds {
            out.push_str(&format!(
                "  {:<16} {} (bill {}, local {})\n",
                format!("{}:", k.kind.as_str()),
                k.count,
                k.bill_amount,
                k.local_amount
            ));
        }
        let f = &self.fees;
        out.push_str(&format!(
            "  fees of {}: payments {} totalling {}, refunds {} totalling {}, fees {}, discounts {}, net {}\n",
            f.bill_date,
            f.payments.count,
            f.payments.amount,
            f.refunds.count,
            f.refunds.amount,
            f.fee,
            f.discounts,
            f.net
        ));
        for w in &self.warnings {
            out.push_str(&format!("  warning: {w}\n"));
        }
        if !self.discrepancies.is_empty() {
            out.push_str("Discrepancies:\n");
        }
        for d in &self.discrepancies {
            let mut keys = format!("out_trade_no={}", d.out_trade_no.as_deref().unwrap_or("-"));
            if let Some(r) = &d.out_request_no {
                keys.push_str(&format!(" out_request_no={r}"));
            }
            out.push_str(&format!(
                "  {} {} {} local={} ({}) bill={} ({}){}{}\n",
                d.kind.as_str(),
                d.reason.as_str(),
                keys,
                opt_amount(d.local_amount),
                d.local_status.as_deref().unwrap_or("-"),
                opt_amount(d.bill_amount),
                d.bill_status.as_deref().unwrap_or("-"),
                d.bill_line.map(|l| format!(" line {l}")).unwrap_or_default(),
                match d.resolution.as_ref().and_then(|r| r.kind) {
                    Some(kind) if d.resolved => format!(" [{kind}: {}]", d.note.as_deref().unwrap_or("")),
                    _ if d.resolved => format!(" [resolved: {}]", d.note.as_deref().unwrap_or("")),
                    _ => String::new(),
                },
            ));
            out.push_str(&format!("    {} {}\n", d.explanation, d.action));
        }
        out
    }

    /// How many discrepancies are still open.
    pub fn open_count(&self) -> usize {
        self.discrepancies.iter().filter(|d| !d.resolved).count()
    }
}
