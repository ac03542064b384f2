//! Matching: one walk over a day's bill rows with their local order and refund (in two halves at once for a big
//! day), the fields that differ under the day's rules, and the till's paid orders and refunds no bill mentions.

use rusqlite::types::ValueRef;
use rusqlite::{Connection, params};

use super::super::{Result, Store, StoreError};
use super::*;

fn text_of(v: ValueRef<'_>) -> Option<&[u8]> {
    match v {
        ValueRef::Text(t) if !t.is_empty() => Some(t),
        _ => None,
    }
}

fn lossy(v: Option<&[u8]>) -> String {
    v.map(|t| String::from_utf8_lossy(t).into_owned()).unwrap_or_default()
}

/// Whether the bill's time is further than `tolerance` seconds from the till's; unreadable times never differ.
fn time_apart(bill: Option<&[u8]>, local: Option<&[u8]>, tolerance: i64) -> bool {
    let (Some(bill), Some(local)) = (bill.and_then(utc_seconds), local.and_then(utc_seconds)) else { return false };
    (bill - local).abs() > tolerance
}

const PAID_FAMILY: &str = "('PAID', 'PARTIALLY_REFUNDED', 'REFUNDED')";

impl Store {
    /// [`Recon::recon_bill_rows`], walking the day in two halves at once from `parallel_from` rows.
    pub(super) fn recon_bill_rows_split(
        &self,
        acquirer: AcquirerId,
        bill_date: &str,
        rules: &FieldRules,
        parallel_from: i64,
        mut payment: impl FnMut(PaymentPair),
        mut refund: impl FnMut(RefundPair),
    ) -> Result<BillDayScan> {
        // A big day is walked in two halves at once, each on its own connection (the second one read-only, on
        // another core): the halves are split by row id, which follows the bill's order, and the second half's
        // findings are handed on after the first's, so the callbacks see exactly the one-pass order.
        let mut ids: Option<(i64, i64)> = None;
        {
            let mut stmt = self.conn.prepare_cached(
                "SELECT first_row, last_row FROM bills
                 WHERE acquirer_id = ?1 AND bill_date = ?2 AND first_row IS NOT NULL",
            )?;
            let mut rows = stmt.query(params![acquirer.0, bill_date])?;
            while let Some(r) = rows.next()? {
                let (first, last): (i64, i64) = (r.get(0)?, r.get(1)?);
                ids = Some(ids.map_or((first, last), |(a, b)| (a.min(first), b.max(last))));
            }
        }
        let mut deliver = |f: Found| match f {
            Found::Payment(p) => payment(p),
            Found::Refund(r) => refund(r),
        };
        // Another connection sees only what is committed: never from inside a transaction.
        let on_disk = self.path.as_os_str() != ":memory:" && self.conn.is_autocommit();
        let Some((first, last)) = ids.filter(|(a, b)| on_disk && b - a >= parallel_from) else {
            let mut scan = scan_bill_rows(&self.conn, acquirer, bill_date, rules, (i64::MIN, i64::MAX), &mut deliver)?;
            scan.matched_orders.sort_unstable();
            scan.matched_orders.dedup();
            return Ok(scan);
        };
        let middle = first + (last - first) / 2;
        let path = self.path.as_path();
        let (mut scan, second) = std::thread::scope(|scope| -> Result<(BillDayScan, Result<HalfScan>)> {
            let second = scope.spawn(move || -> Result<HalfScan> {
                let mut conn = Connection::open_with_flags(
                    path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                conn.busy_handler(Some(crate::store::busy_wait))?;
                let mut later = Vec::new();
                let scan =
                    scan_bill_rows(&conn, acquirer, bill_date, rules, (middle, i64::MAX), &mut |f| later.push(f))?;
                Ok((scan, later))
            });
            let scan = scan_bill_rows(&self.conn, acquirer, bill_date, rules, (i64::MIN, middle), &mut deliver)?;
            let second = second.join().unwrap_or_else(|_| {
                Err(StoreError::Corrupt {
                    table: "bill_rows",
                    column: "scan",
                    value: "the second half's scan stopped".into(),
                })
            });
            Ok((scan, second))
        })?;
        let (rest, later) = second?;
        for f in later {
            deliver(f);
        }
        scan.add(rest);
        scan.matched_orders.sort_unstable();
        scan.matched_orders.dedup();
        Ok(scan)
    }
}

impl<S: std::ops::Deref<Target = Store>> crate::store::Recon<S> {
    /// Walks every row of the day's bills once, in bill order: payments and reversals with their local order (by
    /// out_trade_no, else trade_no), refunds with the local refund of their out_request_no and the local order.
    /// Payments that match a paid local order one for one (same amount, and no other field differs under `rules`)
    /// and refunds that match a successful local refund are counted; every other payment or reversal goes to
    /// `payment`, every other refund to `refund`, each with the fields that differ. Also sums the day's money
    /// ([`BillDayTotals`]), lists the local orders the rows found and counts what was carried in from the day
    /// before.
    pub fn recon_bill_rows(
        &self,
        acquirer: AcquirerId,
        bill_date: &str,
        rules: &FieldRules,
        payment: impl FnMut(PaymentPair),
        refund: impl FnMut(RefundPair),
    ) -> Result<BillDayScan> {
        self.recon_bill_rows_split(acquirer, bill_date, rules, PARALLEL_SCAN_ROWS, payment, refund)
    }

    /// Paid local orders of the acquirer whose time is in `[from, to)` (UTC, RFC 3339 without suffix) that no bill
    /// of `bill_date` lists, by out_trade_no or trade_no, in time order, each with the day of another bill that
    /// lists it, if one does. `found` (sorted) are orders already known to be in a bill of the day (from
    /// [`Recon::recon_bill_rows`]): they are skipped without a look-up.
    #[allow(clippy::too_many_arguments)]
    pub fn recon_local_only_orders(
        &self,
        acquirer: AcquirerId,
        bill_date: &str,
        from: &str,
        to: &str,
        created_from: &str,
        found: &[i64],
        mut each: impl FnMut(LocalOnly),
    ) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT o.id, o.out_trade_no, o.trade_no, o.total_amount, o.status, COALESCE(o.paid_at, o.created_at),
                    o.subject
             FROM orders o
             WHERE o.acquirer_id = ?1 AND o.created_at >= ?4 AND o.created_at < ?3
               AND o.status IN {PAID_FAMILY}
               AND COALESCE(o.paid_at, o.created_at) >= ?2 AND COALESCE(o.paid_at, o.created_at) < ?3"
        ))?;
        // The day of a bill listing it: this day's first, so that "listed elsewhere" means not listed here.
        let mut listed = self.conn.prepare_cached(
            "SELECT COALESCE(
                 (SELECT bl.bill_date FROM bill_rows b JOIN bills bl ON bl.id = b.bill_id
                  WHERE b.out_trade_no = ?2 AND bl.acquirer_id = ?1 AND bl.bill_date <> ''
                    AND b.kind IN ('payment', 'revoked')
                  ORDER BY bl.bill_date = ?4 DESC LIMIT 1),
                 (SELECT bl.bill_date FROM bill_rows b JOIN bills bl ON bl.id = b.bill_id
                  WHERE ?3 IS NOT NULL AND ?3 <> '' AND b.trade_no = ?3 AND bl.acquirer_id = ?1
                    AND bl.bill_date <> '' AND b.kind IN ('payment', 'revoked')
                  ORDER BY bl.bill_date = ?4 DESC LIMIT 1))",
        )?;
        let mut missing: Vec<(i64, LocalOnly)> = Vec::new();
        let mut rows = stmt.query(params![acquirer.0, from, to, created_from])?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            if found.binary_search(&id).is_ok() {
                continue;
            }
            let out_trade_no: String = r.get(1)?;
            let trade_no: Option<String> = r.get(2)?;
            let listed_on: Option<String> =
                listed.query_row(params![acquirer.0, out_trade_no, trade_no, bill_date], |r| r.get(0))?;
            if listed_on.as_deref() == Some(bill_date) {
                continue;
            }
            missing.push((
                id,
                LocalOnly {
                    out_trade_no,
                    trade_no,
                    out_request_no: None,
                    amount: r.get(3)?,
                    status: r.get(4)?,
                    at: r.get(5)?,
                    subject: r.get(6)?,
                    listed_on,
                },
            ));
        }
        // Text compares byte by byte here as in SQLite (BINARY collation).
        missing.sort_unstable_by(|(a_id, a), (b_id, b)| a.at.cmp(&b.at).then(a_id.cmp(b_id)));
        for (_, l) in missing {
            each(l);
        }
        Ok(())
    }

    /// Successful local refunds of the acquirer created in `[from, to)` that no bill of `bill_date` lists, each
    /// with the day of another bill that lists it, if one does.
    pub fn recon_local_only_refunds(
        &self,
        acquirer: AcquirerId,
        bill_date: &str,
        from: &str,
        to: &str,
        mut each: impl FnMut(LocalOnly),
    ) -> Result<()> {
        // CROSS JOIN keeps the day's refunds (by created_at) the outer loop: otherwise SQLite may walk every order
        // of the acquirer.
        let mut stmt = self.conn.prepare(
            "SELECT o.out_trade_no, o.trade_no, r.out_request_no, r.refund_amount, r.status, r.created_at, o.subject,
                    (SELECT bl.bill_date FROM bill_rows b JOIN bills bl ON bl.id = b.bill_id
                     WHERE b.out_request_no = r.out_request_no AND bl.acquirer_id = ?1
                       AND bl.bill_date <> '' AND b.kind = 'refund' LIMIT 1)
             FROM refunds r CROSS JOIN orders o ON o.id = r.order_id
             WHERE o.acquirer_id = ?1 AND r.status = 'SUCCESS' AND r.created_at >= ?2 AND r.created_at < ?3
               AND NOT EXISTS (SELECT 1 FROM bill_rows b JOIN bills bl ON bl.id = b.bill_id
                               WHERE b.out_request_no = r.out_request_no AND bl.acquirer_id = ?1
                                 AND bl.bill_date = ?4 AND b.kind = 'refund')
             ORDER BY r.created_at, r.id",
        )?;
        let mut rows = stmt.query(params![acquirer.0, from, to, bill_date])?;
        while let Some(r) = rows.next()? {
            each(LocalOnly {
                out_trade_no: r.get(0)?,
                trade_no: r.get(1)?,
                out_request_no: r.get(2)?,
                amount: r.get(3)?,
                status: r.get(4)?,
                at: r.get(5)?,
                subject: r.get(6)?,
                listed_on: r.get(7)?,
            });
        }
        Ok(())
    }
}

/// A day with at least this many bill rows is walked in two halves at once ([`Recon::recon_bill_rows`]).
const PARALLEL_SCAN_ROWS: i64 = 100_000;

/// The second half of a day's rows: its sums and what it found, to be handed on after the first half's.
type HalfScan = (BillDayScan, Vec<Found>);

/// What [`scan_bill_rows`] reports, in the bill's order.
enum Found {
    Payment(PaymentPair),
    Refund(RefundPair),
}

impl BillDayScan {
    /// Adds a later part of the day's rows.
    fn add(&mut self, other: BillDayScan) {
        self.matched_count += other.matched_count;
        self.matched_amount = self.matched_amount.saturating_add(other.matched_amount);
        self.matched_refund_count += other.matched_refund_count;
        self.matched_refund_amount = self.matched_refund_amount.saturating_add(other.matched_refund_amount);
        let (t, o) = (&mut self.totals, other.totals);
        t.payment_count += o.payment_count;
        t.payment_amount = t.payment_amount.saturating_add(o.payment_amount);
        t.refund_count += o.refund_count;
        t.refund_amount = t.refund_amount.saturating_add(o.refund_amount);
        t.fee_milli = t.fee_milli.saturating_add(o.fee_milli);
        t.settled = t.settled.saturating_add(o.settled);
        t.discount = t.discount.saturating_add(o.discount);
        self.matched_orders.extend(other.matched_orders);
        self.carried_in_count += other.carried_in_count;
        self.carried_in_amount = self.carried_in_amount.saturating_add(other.carried_in_amount);
    }
}

/// The day's bill rows with their local order and refund, in the bill's order, row ids in `[?3, ?4)`. The rows
/// are reached through each bill's row-id range (migration 0014), not an index.
pub(super) const SCAN_BILL_ROWS: &str = "SELECT b.kind, b.amount, b.fee_milli, b.settled, b.discount, b.status,
                    o.id, o.total_amount, o.status, r.id, r.refund_amount, r.status,
                    b.id, b.line_no, b.trade_no, b.out_trade_no, b.out_request_no, b.occurred_at, b.subject,
                    COALESCE(o.paid_at, o.created_at), o.acquirer_merchant_id, b.merchant_ref, r.created_at
             FROM bills bl JOIN bill_rows b ON b.id BETWEEN bl.first_row AND bl.last_row AND b.bill_id = bl.id
             LEFT JOIN orders o ON o.id = COALESCE(
                 (SELECT id FROM orders WHERE out_trade_no = b.out_trade_no),
                 (SELECT id FROM orders WHERE trade_no = b.trade_no AND b.trade_no <> '' LIMIT 1))
             LEFT JOIN refunds r ON b.kind = 'refund' AND r.out_request_no = b.out_request_no
             WHERE bl.acquirer_id = ?1 AND bl.bill_date = ?2 AND b.id >= ?3 AND b.id < ?4
             ORDER BY bl.id, b.id";

/// The rows of the day's bills whose id is in `[ids.0, ids.1)`, in the bill's order: see [`Recon::recon_bill_rows`].
/// `matched_orders` comes back unsorted.
fn scan_bill_rows(
    conn: &Connection,
    acquirer: AcquirerId,
    bill_date: &str,
    rules: &FieldRules,
    ids: (i64, i64),
    found: &mut dyn FnMut(Found),
) -> Result<BillDayScan> {
    // bill_rows.id grows with line_no within a bill (rows go in in file order, in one transaction), so
    // "bl.id, b.id" is the bill's own order and needs no sort.
    let mut stmt = conn.prepare_cached(SCAN_BILL_ROWS)?;
    let mut rows = stmt.query(params![acquirer.0, bill_date, ids.0, ids.1])?;
    let mut scan = BillDayScan::default();
    let t = &mut scan.totals;
    let text =
        |r: &rusqlite::Row<'_>, i: usize| -> Result<String> { Ok(r.get::<_, Option<String>>(i)?.unwrap_or_default()) };
    let tolerance = rules.time_tolerance_secs.max(0);
    let day_start = rules.day_start.as_bytes();
    let amount_text = |fen: i64| crate::money::Amount::from_fen(fen).to_string();
    while let Some(r) = rows.next()? {
        let bill_amount: i64 = r.get(1)?;
        let fee_milli: i64 = r.get(2)?;
        t.fee_milli = t.fee_milli.saturating_add(fee_milli);
        t.settled = t.settled.saturating_add(r.get(3)?);
        t.discount = t.discount.saturating_add(r.get(4)?);
        let kind = match r.get_ref(0)? {
            ValueRef::Text(b"payment") => BillRowKind::Payment,
            ValueRef::Text(b"refund") => BillRowKind::Refund,
            ValueRef::Text(b"revoked") => BillRowKind::Revoked,
            _ => continue, // not a kind this version writes: in the day's sums only
        };
        let bill_ok = matches!(r.get_ref(5)?, ValueRef::Text(b"SUCCESS"));
        let order_id: Option<i64> = r.get(6)?;
        let bill_at = text_of(r.get_ref(17)?);
        match kind {
            BillRowKind::Payment | BillRowKind::Revoked => {
                let local_amount: Option<i64> = r.get(7)?;
                if kind == BillRowKind::Payment {
                    t.payment_count += 1;
                    t.payment_amount = t.payment_amount.saturating_add(bill_amount);
                }
                if let Some(id) = order_id {
                    scan.matched_orders.push(id);
                }
                let paid = matches!(r.get_ref(8)?, ValueRef::Text(b"PAID" | b"PARTIALLY_REFUNDED" | b"REFUNDED"));
                let local_at = text_of(r.get_ref(19)?);
                // Fields compared on paid payments only: an unpaid order's difference is its status.
                let (time_apart, merchant_apart, fee_expected) = if kind == BillRowKind::Payment && paid {
                    let merchants = (text_of(r.get_ref(20)?), text_of(r.get_ref(21)?));
                    let fee_expected = rules.fee_rate_ppm.map(|ppm| bill_amount.saturating_mul(ppm) / 1000);
                    (
                        time_apart(bill_at, local_at, tolerance),
                        matches!(merchants, (Some(ours), Some(theirs)) if ours != theirs),
                        fee_expected.filter(|e| (fee_milli.abs() - e).abs() >= 1000),
                    )
                } else {
                    (false, false, None)
                };
                let same_amount = local_amount == Some(bill_amount);
                if kind == BillRowKind::Payment
                    && paid
                    && same_amount
                    && !time_apart
                    && !merchant_apart
                    && fee_expected.is_none()
                {
                    scan.matched_count += 1;
                    scan.matched_amount = scan.matched_amount.saturating_add(bill_amount);
                    if local_at.is_some_and(|at| at < day_start) {
                        scan.carried_in_count += 1;
                        scan.carried_in_amount = scan.carried_in_amount.saturating_add(bill_amount);
                    }
                    continue;
                }
                let local_status: Option<String> = r.get(8)?;
                let mut fields = Vec::new();
                if let Some(local) = local_amount.filter(|_| !same_amount) {
                    fields.push(FieldDiff {
                        field: DiffField::Amount,
                        bill: amount_text(bill_amount),
                        local: amount_text(local),
                    });
                }
                if let Some(local) = &local_status
                    && (paid == (kind == BillRowKind::Revoked))
                {
                    fields.push(FieldDiff { field: DiffField::Status, bill: text(r, 5)?, local: local.clone() });
                }
                if let Some(expected) = fee_expected {
                    let exact = |m: i64| crate::channel::wechatpay::bill::MilliFen::from_milli_fen(m).to_string();
                    fields.push(FieldDiff {
                        field: DiffField::Fee,
                        bill: exact(fee_milli.abs()),
                        local: exact(expected),
                    });
                }
                if time_apart {
                    fields.push(FieldDiff { field: DiffField::Time, bill: lossy(bill_at), local: lossy(local_at) });
                }
                if merchant_apart {
                    fields.push(FieldDiff { field: DiffField::MerchantId, bill: text(r, 21)?, local: text(r, 20)? });
                }
                found(Found::Payment(PaymentPair {
                    kind: kind.as_str().to_owned(),
                    bill_amount,
                    local_amount,
                    local_status,
                    bill_row_id: r.get(12)?,
                    line_no: r.get(13)?,
                    trade_no: text(r, 14)?,
                    out_trade_no: text(r, 15)?,
                    bill_status: r.get(5)?,
                    occurred_at: r.get(17)?,
                    subject: r.get(18)?,
                    order_id,
                    fields,
                }));
            }
            BillRowKind::Refund => {
                t.refund_count += 1;
                t.refund_amount = t.refund_amount.saturating_add(bill_amount);
                let local_id: Option<i64> = r.get(9)?;
                let local_amount: Option<i64> = r.get(10)?;
                let local_ok = matches!(r.get_ref(11)?, ValueRef::Text(b"SUCCESS"));
                // A refund's time is not compared: the till keeps only its own request time, not the acquirer's.
                let local_from = text_of(r.get_ref(22)?);
                let same_amount = local_amount == Some(bill_amount);
                if bill_ok && local_id.is_some() && local_ok && same_amount {
                    scan.matched_refund_count += 1;
                    scan.matched_refund_amount = scan.matched_refund_amount.saturating_add(bill_amount);
                    if local_from.is_some_and(|at| at < day_start) {
                        scan.carried_in_count += 1;
                        scan.carried_in_amount = scan.carried_in_amount.saturating_add(bill_amount);
                    }
                    continue;
                }
                let local_status: Option<String> = r.get(11)?;
                let mut fields = Vec::new();
                if let Some(local) = local_amount.filter(|_| !same_amount) {
                    fields.push(FieldDiff {
                        field: DiffField::RefundAmount,
                        bill: amount_text(bill_amount),
                        local: amount_text(local),
                    });
                }
                if bill_ok != local_ok && (local_id.is_some() || order_id.is_some()) {
                    fields.push(FieldDiff {
                        field: DiffField::Status,
                        bill: text(r, 5)?,
                        local: local_status.clone().unwrap_or_default(),
                    });
                }
                found(Found::Refund(RefundPair {
                    bill_row_id: r.get(12)?,
                    line_no: r.get(13)?,
                    trade_no: text(r, 14)?,
                    out_trade_no: text(r, 15)?,
                    out_request_no: text(r, 16)?,
                    bill_status: r.get(5)?,
                    bill_amount,
                    occurred_at: r.get(17)?,
                    subject: r.get(18)?,
                    local_amount,
                    local_status,
                    order_found: order_id.is_some(),
                    fields,
                }));
            }
        }
    }
    Ok(scan)
}
