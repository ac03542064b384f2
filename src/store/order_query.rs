//! The orders screen's queries: a filter, its count and totals, and keyset pages (only the rows on screen are read,
//! so a million orders scroll as smoothly as ten).

use rusqlite::{ToSql, params_from_iter};

use super::orders::{ORDER_COLUMNS, order_from_row, typed};
use super::{Result, Store};
use crate::model::{AcquirerId, OperatorId, Order, OrderId, OrderStatus, StoreId};
use crate::money::Amount;

mod pages;
mod seed;
mod totals;

use totals::*;

/// What the back office is looking for. Every field is optional; dates are UTC RFC 3339 bounds (`from` inclusive,
/// `to` exclusive) computed by the caller from the local day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFilter {
    pub from: Option<String>,
    pub to: Option<String>,
    pub store: Option<StoreId>,
    pub acquirer: Option<AcquirerId>,
    pub statuses: Vec<OrderStatus>,
    pub min_amount: Option<Amount>,
    pub max_amount: Option<Amount>,
    pub operator: Option<OperatorId>,
    /// out_trade_no or trade_no prefix, or a word in the subject.
    pub search: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderSort {
    #[default]
    NewestFirst,
    OldestFirst,
    LargestFirst,
    SmallestFirst,
}

impl OrderSort {
    /// The indexed column this order walks, and whether it walks it downwards.
    fn column(self) -> (&'static str, bool) {
        match self {
            OrderSort::NewestFirst => ("created_at", true),
            OrderSort::OldestFirst => ("created_at", false),
            OrderSort::LargestFirst => ("total_amount", true),
            OrderSort::SmallestFirst => ("total_amount", false),
        }
    }

    fn is_by_time(self) -> bool {
        matches!(self, OrderSort::NewestFirst | OrderSort::OldestFirst)
    }

    /// The same order walked from the other end.
    pub fn reversed(self) -> OrderSort {
        match self {
            OrderSort::NewestFirst => OrderSort::OldestFirst,
            OrderSort::OldestFirst => OrderSort::NewestFirst,
            OrderSort::LargestFirst => OrderSort::SmallestFirst,
            OrderSort::SmallestFirst => OrderSort::LargestFirst,
        }
    }
}

/// Where a page ends, so the next one starts right after it (keyset paging).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageKey {
    Time(String, i64),
    Amount(i64, i64),
}

impl PageKey {
    /// The key of `order` in `sort` order: the next page starts after it.
    pub fn of(order: &Order, sort: OrderSort) -> PageKey {
        match sort {
            OrderSort::NewestFirst | OrderSort::OldestFirst => PageKey::Time(order.created_at.clone(), order.id.0),
            OrderSort::LargestFirst | OrderSort::SmallestFirst => PageKey::Amount(order.total_amount.fen(), order.id.0),
        }
    }
}

/// Count and sums of the orders a filter matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct OrderTotals {
    pub count: i64,
    /// Sum of total_amount over paid (or refunded) orders.
    pub paid_amount: Amount,
    pub refunded_amount: Amount,
    pub paid_count: i64,
}

impl OrderTotals {
    fn plus(self, other: OrderTotals) -> OrderTotals {
        OrderTotals {
            count: self.count + other.count,
            paid_amount: Amount::from_fen(self.paid_amount.fen() + other.paid_amount.fen()),
            refunded_amount: Amount::from_fen(self.refunded_amount.fen() + other.refunded_amount.fen()),
            paid_count: self.paid_count + other.paid_count,
        }
    }

    fn minus(self, other: OrderTotals) -> OrderTotals {
        OrderTotals {
            count: self.count - other.count,
            paid_amount: Amount::from_fen(self.paid_amount.fen() - other.paid_amount.fen()),
            refunded_amount: Amount::from_fen(self.refunded_amount.fen() - other.refunded_amount.fen()),
            paid_count: self.paid_count - other.paid_count,
        }
    }

    pub fn net(&self) -> Amount {
        Amount::from_fen(self.paid_amount.fen() - self.refunded_amount.fen())
    }
}

/// One acquirer's paid orders in one local hour of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SalesBucket {
    pub acquirer: AcquirerId,
    pub hour: u8,
    pub count: i64,
    pub paid: Amount,
    pub refunded: Amount,
}

const PAID_STATES: &str = "('PAID', 'PARTIALLY_REFUNDED', 'REFUNDED')";

/// How one word of the search box is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchWord {
    /// A token with a digit in it, ASCII only ("TD2026", "2088", "SEED0000"): a prefix of out_trade_no or trade_no,
    /// through their B-tree indexes.
    Number(String),
    /// Three characters or more ("Sandwich", "三明治", "latte"): anywhere in the subject, out_trade_no or trade_no,
    /// through the trigram index (case-insensitive).
    Text(String),
    /// One or two characters ("拿铁", "水", "TD"): too short for trigrams; anywhere in a subject (a scan of the
    /// distinct subjects), or the start of an order number.
    Short(String),
}

impl SearchWord {
    /// The words of a search, each looked up on its own; an order must match all of them.
    pub fn parse(search: &str) -> Vec<SearchWord> {
        search
            .split_whitespace()
            .map(|w| {
                let ascii_number = w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if ascii_number && w.bytes().any(|b| b.is_ascii_digit()) {
                    SearchWord::Number(w.to_owned())
                } else if w.chars().count() >= 3 {
                    SearchWord::Text(w.to_owned())
                } else {
                    SearchWord::Short(w.to_owned())
                }
            })
            .collect()
    }
}

/// An FTS5 query for `text` as one phrase of trigrams (quotes doubled, so nothing in it is an FTS operator).
fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// At most this many distinct subjects are looked up one by one (and their pages merged); a word matching more is
/// read with one `subject IN (…)`.
const MERGED_SUBJECTS: usize = 32;
/// A search matching more distinct subjects than this is answered over the orders themselves.
const MAX_SUBJECTS: usize = 2_000;

/// A search, resolved before any order is read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Search {
    /// No search words.
    None,
    /// The search matches exactly the orders whose subject is one of these (its words are in the subject and in no
    /// order number): (id in `order_subjects`, subject). Read along `orders(subject, created_at, id)`; counted from the
    /// running totals per day × subject.
    Subjects(Vec<(i64, String)>),
    /// Anything else (an order-number prefix, a word also found in order numbers, a short Latin word): every word
    /// checked over the orders.
    General(Vec<SearchWord>),
}

/// The WHERE clause of a filter. `time_sorted`: the rows are wanted newest or oldest first, so the amount range is
/// checked row by row along the time index (`+total_amount`) instead of sorting every order in the range.
fn where_clause_for(filter: &OrderFilter, search: &Search, time_sorted: bool) -> (String, Vec<Box<dyn ToSql>>) {
    let mut parts: Vec<String> = Vec::new();
    let mut args: Vec<Box<dyn ToSql>> = Vec::new();
    let mut push = |sql: &str, value: Box<dyn ToSql>, parts: &mut Vec<String>| {
        args.push(value);
        parts.push(sql.replace('?', &format!("?{}", args.len())));
    };
    if let Some(from) = &filter.from {
        push("created_at >= ?", Box::new(from.clone()), &mut parts);
    }
    if let Some(to) = &filter.to {
        push("created_at < ?", Box::new(to.clone()), &mut parts);
    }
    if let Some(s) = filter.store {
        push("store_id = ?", Box::new(s.0), &mut parts);
    }
    if let Some(a) = filter.acquirer {
        push("acquirer_id = ?", Box::new(a.0), &mut parts);
    }
    if let Some(o) = filter.operator {
        push("operator_id = ?", Box::new(o.0), &mut parts);
    }
    let amount = if time_sorted { "+total_amount" } else { "total_amount" };
    if let Some(min) = filter.min_amount {
        push(&format!("{amount} >= ?"), Box::new(min.fen()), &mut parts);
    }
    if let Some(max) = filter.max_amount {
        push(&format!("{amount} <= ?"), Box::new(max.fen()), &mut parts);
    }
    if !filter.statuses.is_empty() {
        let list = filter.statuses.iter().map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(", ");
        parts.push(format!("status IN ({list})"));
    }
    match search {
        Search::None => {}
        Search::Subjects(subjects) => {
            let first = args.len() + 1;
            for (_, subject) in subjects {
                args.push(Box::new(subject.clone()));
            }
            if subjects.is_empty() {
                parts.push("0".to_owned());
            } else {
                let list = (first..first + subjects.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
                parts.push(format!("subject IN ({list})"));
            }
        }
        Search::General(words) => {
            for word in words {
                let n = args.len();
                match word {
                    SearchWord::Number(prefix) => {
                        // Every stored order number is ASCII, so all that start with `prefix` sort below `prefix` +
                        // DEL.
                        args.push(Box::new(prefix.clone()));
                        args.push(Box::new(format!("{prefix}\u{7f}")));
                        parts.push(format!(
                            "((out_trade_no >= ?{a} AND out_trade_no < ?{b}) OR (trade_no >= ?{a} AND trade_no < ?{b}))",
                            a = n + 1,
                            b = n + 2
                        ));
                    }
                    SearchWord::Text(text) => {
                        args.push(Box::new(fts_phrase(text)));
                        parts.push(format!(
                            "(subject IN (SELECT subject FROM order_subjects WHERE id IN
                                (SELECT rowid FROM order_subjects_fts WHERE order_subjects_fts MATCH ?{a}))
                              OR id IN (SELECT rowid FROM order_numbers_fts WHERE order_numbers_fts MATCH ?{a}))",
                            a = n + 1
                        ));
                    }
                    SearchWord::Short(text) if text.is_ascii() => {
                        // One or two letters: the start of an order number, or anywhere in the subject.
                        args.push(Box::new(text.clone()));
                        args.push(Box::new(format!("{text}\u{7f}")));
                        args.push(Box::new(format!("%{}%", escape_like(text))));
                        parts.push(format!(
                            "((out_trade_no >= ?{a} AND out_trade_no < ?{b}) OR (trade_no >= ?{a} AND trade_no < ?{b})
                              OR subject LIKE ?{c} ESCAPE '\\')",
                            a = n + 1,
                            b = n + 2,
                            c = n + 3
                        ));
                    }
                    SearchWord::Short(text) => {
                        // Order numbers are ASCII: anything else can only be in the subject.
                        args.push(Box::new(format!("%{}%", escape_like(text))));
                        parts.push(format!("subject LIKE ?{} ESCAPE '\\'", n + 1));
                    }
                }
            }
        }
    }
    let sql = if parts.is_empty() { String::new() } else { format!("WHERE {}", parts.join(" AND ")) };
    (sql, args)
}

pub(super) fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// What the 概览 breaks totals down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotalsBy {
    Store,
    Acquirer,
    /// The cashier (0: none recorded).
    Operator,
    /// The China day.
    Day,
}

/// A breakdown's key: a store, acquirer or operator id, or a China day "YYYY-MM-DD".
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TotalsKey {
    Id(i64),
    Day(String),
}

/// The acquirer's own reason for a failed payment: its code ("USERPAYING", "ACQ.PAYMENT_AUTH_CODE_INVALID") and its
/// words, as the timeline recorded them ("code: message").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquirerFailure {
    pub code: String,
    pub message: String,
}

impl AcquirerFailure {
    pub fn from_detail(detail: &str) -> Option<AcquirerFailure> {
        let (code, message) = detail.split_once(": ").unwrap_or((detail, ""));
        let code = code.trim();
        let looks_like_code = !code.is_empty()
            && code.len() <= 64
            && code.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        looks_like_code.then(|| AcquirerFailure { code: code.to_owned(), message: message.trim().to_owned() })
    }
}

/// What the orders list shows beside an order that is not in the order itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderExtras {
    /// The fee in the acquirers' bills (None until a bill with the order is imported).
    pub fee: Option<Amount>,
    pub failure: Option<AcquirerFailure>,
}

impl Store {
    /// Resolves the filter's search words (see [`Search`]): a word of letters found in no order number, or a short
    /// word of Chinese, is looked up among the distinct subjects.
    fn resolve_search(&self, filter: &OrderFilter) -> Result<Search> {
        let words = SearchWord::parse(filter.search.as_deref().unwrap_or(""));
        if words.is_empty() {
            return Ok(Search::None);
        }
        let mut parts = Vec::new();
        let mut args: Vec<String> = Vec::new();
        for word in &words {
            match word {
                SearchWord::Number(_) => return Ok(Search::General(words)),
                SearchWord::Short(text) => {
                    // One or two letters are the start of an order number or anywhere in a subject; order numbers
                    // are ASCII, so a short word with another character in it can only be in a subject.
                    if text.is_ascii() {
                        let upper = format!("{text}\u{7f}");
                        let in_numbers: bool = self
                            .conn
                            .prepare_cached(
                                "SELECT EXISTS (SELECT 1 FROM orders WHERE out_trade_no >= ?1 AND out_trade_no < ?2)
                                     OR EXISTS (SELECT 1 FROM orders WHERE trade_no >= ?1 AND trade_no < ?2)",
                            )?
                            .query_row([text, &upper], |r| r.get(0))?;
                        if in_numbers {
                            return Ok(Search::General(words));
                        }
                    }
                    args.push(format!("%{}%", escape_like(text)));
                    parts.push(format!("subject LIKE ?{} ESCAPE '\\'", args.len()));
                }
                SearchWord::Text(text) => {
                    let phrase = fts_phrase(text);
                    if text.is_ascii() {
                        let in_numbers: bool = self
                            .conn
                            .prepare_cached(
                                "SELECT EXISTS (SELECT 1 FROM order_numbers_fts WHERE order_numbers_fts MATCH ?1)",
                            )?
                            .query_row([&phrase], |r| r.get(0))?;
                        if in_numbers {
                            return Ok(Search::General(words));
                        }
                    }
                    args.push(phrase);
                    parts.push(format!(
                        "id IN (SELECT rowid FROM order_subjects_fts WHERE order_subjects_fts MATCH ?{})",
                        args.len()
                    ));
                }
            }
        }
        let sql = format!(
            "SELECT id, subject FROM order_subjects WHERE orders > 0 AND {} ORDER BY id LIMIT {}",
            parts.join(" AND "),
            MAX_SUBJECTS + 1
        );
        let subjects = self
            .conn
            .prepare_cached(&sql)?
            .query_map(params_from_iter(args.iter()), |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<(i64, String)>>>()?;
        if subjects.len() > MAX_SUBJECTS {
            return Ok(Search::General(words));
        }
        Ok(Search::Subjects(subjects))
    }
}

/// The orders a query reads: along the subject index for a search of a few subjects (SQLite would otherwise walk the
/// status or store index for a filter that has one, checking every order's subject).
fn orders_source(search: &Search) -> &'static str {
    match search {
        Search::Subjects(s) if !s.is_empty() && s.len() <= MERGED_SUBJECTS => {
            "orders INDEXED BY orders_subject_created"
        }
        _ => "orders",
    }
}

/// The amount band of `fen` as [its lowest amount, the next band's lowest), in fen: the rule of migration 0021's
/// running totals (1.00 yuan steps below 20.00, … 1,000.00 steps from 10,000.00).
pub(super) fn amount_band(fen: i64) -> (i64, i64) {
    let step = match fen {
        ..2_000 => 100,
        2_000..5_000 => 200,
        5_000..20_000 => 500,
        20_000..50_000 => 1_000,
        50_000..100_000 => 2_000,
        100_000..200_000 => 5_000,
        200_000..500_000 => 10_000,
        500_000..1_000_000 => 20_000,
        _ => 100_000,
    };
    let lo = fen - fen.rem_euclid(step);
    (lo, lo.saturating_add(step))
}

/// Rows of several already-sorted pages in `sort` order: `limit` of them from row `offset`.
fn merge_sorted(mut rows: Vec<Order>, sort: OrderSort, offset: u64, limit: u32) -> Vec<Order> {
    let (_, desc) = sort.column();
    rows.sort_by(|a, b| {
        let order = match sort.is_by_time() {
            true => (a.created_at.as_str(), a.id.0).cmp(&(b.created_at.as_str(), b.id.0)),
            false => (a.total_amount.fen(), a.id.0).cmp(&(b.total_amount.fen(), b.id.0)),
        };
        if desc { order.reverse() } else { order }
    });
    rows.into_iter().skip(usize::try_from(offset).unwrap_or(usize::MAX)).take(limit as usize).collect()
}

/// A pseudo-random generator for seeding (xorshift64; reproducible).
fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

#[cfg(test)]
mod tests {
    /// Every filter a person can make of whole days, stores, acquirers, cashiers and statuses.
    fn day_filters(store: &Store) -> Vec<OrderFilter> {
        let today = time::OffsetDateTime::now_utc().to_offset(crate::time::CHINA).date();
        let bounds = |d: time::Date| crate::time::local_day_bounds(d, crate::time::CHINA);
        let stores = store.setup().stores().unwrap();
        let acquirers = store.setup().acquirers().unwrap();
        let mut filters = vec![OrderFilter::default()];
        for back in [0i64, 1, 3, 6] {
            let first = today - time::Duration::days(back);
            filters.push(OrderFilter { from: Some(bounds(first).0), to: Some(bounds(today).1), ..Default::default() });
            filters.push(OrderFilter { from: Some(bounds(first).0), to: Some(bounds(first).1), ..Default::default() });
        }
        let mut more = Vec::new();
        for f in &filters {
            more.push(OrderFilter { statuses: vec![OrderStatus::Paid], ..f.clone() });
            more.push(OrderFilter { statuses: vec![OrderStatus::Failed, OrderStatus::Closed], ..f.clone() });
            more.push(OrderFilter { store: stores.last().map(|s| s.id), ..f.clone() });
            more.push(OrderFilter { acquirer: acquirers.first().map(|a| a.id), ..f.clone() });
            more.push(OrderFilter { operator: Some(OperatorId(1)), ..f.clone() });
        }
        filters.extend(more);
        filters
    }

    #[test]
    fn running_totals_equal_a_plain_sum_after_payments_refunds_and_status_changes() {
        let mut store = Store::open_in_memory().unwrap();
        store.staff_mut().add_operator("ann", crate::model::Role::Cashier, "135790", None).unwrap();
        store.orders_mut().seed_varied_orders(3000, 8, 7, &mut |_| {}).unwrap();
        let check = |store: &Store, round: usize| {
            let mut filters = day_filters(store);
            // Searches of subjects are read from the running totals per day × subject.
            for f in day_filters(store).into_iter().step_by(3) {
                for word in ["Sandwich", "三明治", "拿铁", "latte", "Sandwich 三明治", "Croissant"] {
                    filters.push(OrderFilter { search: Some(word.into()), ..f.clone() });
                }
            }
            for f in &filters {
                if f.search.is_some() {
                    assert!(
                        matches!(store.resolve_search(f).unwrap(), Search::Subjects(_)),
                        "{f:?} is looked up among the subjects"
                    );
                }
                // Bounds at a time of day (the 概览's "so far"): whole days from the running totals, the part-days
                // over the orders; an amount range, either way round.
                if f.search.is_none() {
                    for cut in [f.from.as_deref(), f.to.as_deref()].into_iter().flatten() {
                        let inside = time::OffsetDateTime::parse(cut, &time::format_description::well_known::Rfc3339)
                            .unwrap()
                            + time::Duration::minutes(377);
                        let early = time::OffsetDateTime::parse(cut, &time::format_description::well_known::Rfc3339)
                            .unwrap()
                            - time::Duration::minutes(1111);
                        let hundred = Some(Amount::from_fen(10_000));
                        for g in [
                            OrderFilter { to: Some(crate::time::format_utc(inside)), ..f.clone() },
                            OrderFilter { from: Some(crate::time::format_utc(early)), ..f.clone() },
                            OrderFilter { from: Some(crate::time::format_utc(inside)), ..f.clone() },
                            OrderFilter {
                                from: Some(crate::time::format_utc(early)),
                                min_amount: hundred,
                                ..f.clone()
                            },
                            OrderFilter { to: Some(crate::time::format_utc(inside)), max_amount: hundred, ..f.clone() },
                        ] {
                            assert_eq!(
                                store.orders().order_totals(&g).unwrap(),
                                store.orders().order_totals_scan(&g).unwrap(),
                                "{g:?}"
                            );
                        }
                    }
                    for (min, max) in [
                        (Some(1), None),
                        (Some(15_000), None),
                        (None, Some(200)),
                        (Some(150), Some(29_000)),
                        (Some(900), Some(100)),
                        // Ranges at and between the bands of the running totals per amount band.
                        (Some(10_000), None),
                        (Some(5_000), Some(15_000)),
                        (Some(2_000), Some(4_999)),
                        (Some(2_001), Some(2_100)),
                        (Some(1_999), Some(2_200)),
                        (Some(100), Some(199)),
                        (None, Some(20_000)),
                        (Some(2), Some(1_000_000)),
                    ] {
                        let g = OrderFilter {
                            min_amount: min.map(Amount::from_fen),
                            max_amount: max.map(Amount::from_fen),
                            ..f.clone()
                        };
                        assert_eq!(
                            store.orders().order_totals(&g).unwrap(),
                            store.orders().order_totals_scan(&g).unwrap(),
                            "{g:?}"
                        );
                    }
                }
                // The chart's hours from the running totals per hour equal the hours grouped over the orders.
                let hours = store.orders().sales_breakdown(f, crate::time::CHINA.whole_seconds()).unwrap();
                let scan_filter = OrderFilter { min_amount: Some(Amount::from_fen(1)), ..f.clone() };
                let scanned = store.orders().sales_breakdown(&scan_filter, crate::time::CHINA.whole_seconds()).unwrap();
                assert_eq!(hours, scanned, "round {round}: hours of {f:?}");
            }
            for f in filters {
                assert!(
                    whole_days(&f, &store.resolve_search(&f).unwrap()).is_some(),
                    "{f:?} is read from the running totals"
                );
                assert_eq!(
                    store.orders().order_totals(&f).unwrap(),
                    store.orders().order_totals_scan(&f).unwrap(),
                    "round {round}: {f:?}"
                );
                for by in [TotalsBy::Store, TotalsBy::Acquirer, TotalsBy::Operator, TotalsBy::Day] {
                    let fast = store.orders().order_totals_by(&f, by).unwrap();
                    let scan_filter = OrderFilter { min_amount: Some(Amount::from_fen(1)), ..f.clone() };
                    let slow = store.orders().order_totals_by(&scan_filter, by).unwrap();
                    assert_eq!(fast, slow, "round {round}: {by:?} of {f:?}");
                }
            }
        };
        check(&store, 0);
        // Random payments, refunds, failures, moves of day, store and cashier; new orders through create_order.
        let mut x = 0xDEAD_BEEF_u64;
        let ids: Vec<i64> = {
            let mut stmt = store.conn.prepare("SELECT id FROM orders").unwrap();
            stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
        };
        for round in 1..=4 {
            for _ in 0..200 {
                let id = ids[(next(&mut x) % ids.len() as u64) as usize];
                match next(&mut x) % 6 {
                    0 => {
                        store
                            .conn
                            .execute("UPDATE orders SET status = 'PAYING', refunded_amount = 0 WHERE id = ?1", [id])
                            .unwrap();
                        let facts = crate::store::transitions::PaidFacts::default();
                        let paid =
                            crate::store::transitions::OrderMove::paid("paid", "", Some("T1"), Some("now"), facts);
                        store.orders_mut().move_order(OrderId(id), &paid).unwrap();
                    }
                    1 => {
                        store
                            .conn
                            .execute(
                                "UPDATE orders SET status = 'PARTIALLY_REFUNDED', refunded_amount = total_amount / 3 WHERE id = ?1",
                                [id],
                            )
                            .unwrap();
                    }
                    2 => {
                        store
                            .conn
                            .execute(
                                "UPDATE orders SET status = 'REFUNDED', refunded_amount = total_amount WHERE id = ?1",
                                [id],
                            )
                            .unwrap();
                    }
                    3 => {
                        store
                            .conn
                            .execute("UPDATE orders SET status = 'FAILED', refunded_amount = 0 WHERE id = ?1", [id])
                            .unwrap();
                    }
                    4 => {
                        store
                            .conn
                            .execute(
                                "UPDATE orders SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', created_at, '-1 day'),
                                    store_id = 1, operator_id = NULL WHERE id = ?1",
                                [id],
                            )
                            .unwrap();
                    }
                    _ => {
                        let n = next(&mut x);
                        let new = crate::store::orders::NewOrder {
                            out_trade_no: format!("NEW{n:016X}"),
                            store_id: StoreId(1),
                            acquirer_id: store.setup().acquirers().unwrap()[0].id,
                            operator_id: Some(OperatorId(1)),
                            subject: "Sandwich".into(),
                            total_amount: Amount::from_fen(100 + (n % 999) as i64),
                            auth_code_masked: String::new(),
                            acquirer_merchant_id: None,
                            terminal_id: None,
                        };
                        store.orders_mut().create_order(&new).unwrap();
                    }
                }
            }
            check(&store, round);
        }
        store.conn.execute("DELETE FROM order_events WHERE order_id = ?1", [ids[0]]).unwrap();
        store.conn.execute("DELETE FROM orders WHERE id = ?1", [ids[0]]).unwrap();
        check(&store, 99);
    }

    #[test]
    fn the_band_totals_group_every_order_by_the_rust_band_rule() {
        let mut store = Store::open_in_memory().unwrap();
        store.orders_mut().seed_varied_orders(500, 3, 5, &mut |_| {}).unwrap();
        let acquirer = store.setup().acquirers().unwrap()[0].id;
        // Every step's edges, and amounts far above the last step.
        let edges = [
            1,
            99,
            100,
            101,
            1_999,
            2_000,
            2_199,
            4_999,
            5_000,
            19_999,
            20_000,
            49_999,
            50_000,
            99_999,
            100_000,
            199_999,
            200_000,
            499_999,
            500_000,
            999_999,
            1_000_000,
            1_099_999,
            1_100_000,
            123_456_789,
        ];
        for (i, fen) in edges.into_iter().enumerate() {
            let new = crate::store::orders::NewOrder {
                out_trade_no: format!("EDGE{i:04}"),
                store_id: StoreId(1),
                acquirer_id: acquirer,
                operator_id: None,
                subject: "Edge".into(),
                total_amount: Amount::from_fen(fen),
                auth_code_masked: String::new(),
                acquirer_merchant_id: None,
                terminal_id: None,
            };
            store.orders_mut().create_order(&new).unwrap();
        }
        let stored: Vec<(i64, String, i64, String, i64, i64, i64)> = {
            let mut stmt = store
                .conn
                .prepare(
                    "SELECT band, day, store_id, status, orders, amount, refunded FROM order_band_totals
                     WHERE orders <> 0 ORDER BY 1, 2, 3, 4",
                )
                .unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        type Key = (i64, String, i64, String);
        let mut grouped: std::collections::BTreeMap<Key, (i64, i64, i64)> = Default::default();
        let mut stmt = store
            .conn
            .prepare("SELECT total_amount, date(created_at, '+8 hours'), store_id, status, refunded_amount FROM orders")
            .unwrap();
        for row in stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get(4)?,
                ))
            })
            .unwrap()
        {
            let (fen, day, store_id, status, refunded): (i64, String, i64, String, i64) = row.unwrap();
            let (lo, hi) = amount_band(fen);
            assert!(lo <= fen && fen < hi, "{fen} is in its band [{lo}, {hi})");
            let e = grouped.entry((lo, day, store_id, status)).or_default();
            *e = (e.0 + 1, e.1 + fen, e.2 + refunded);
        }
        let expected: Vec<_> = grouped.into_iter().map(|((b, d, s, st), (n, a, r))| (b, d, s, st, n, a, r)).collect();
        assert_eq!(stored, expected);
        // The bands tile the amounts: each band ends where the next begins.
        let mut fen = 1;
        while fen < 2_000_000 {
            let (lo, hi) = amount_band(fen);
            assert_eq!(amount_band(hi - 1), (lo, hi));
            assert_eq!(amount_band(hi).0, hi);
            fen = hi;
        }
    }

    #[test]
    fn an_amount_range_is_split_into_whole_bands_and_the_cut_ends() {
        let plan = AmountBands::of;
        // 100.00 and up: every band from 100.00, nothing walked.
        assert_eq!(
            plan(Some(10_000), None),
            AmountBands { whole: Some((Some(10_000), None)), below: None, above: None }
        );
        // 50.00–150.00: bands 50.00 … 145.00, and the orders of exactly 150.00 walked.
        assert_eq!(
            plan(Some(5_000), Some(15_000)),
            AmountBands { whole: Some((Some(5_000), Some(15_000))), below: None, above: Some((15_000, 15_000)) }
        );
        // 19.99–22.00: the cut band below (19.99) and above (22.00) walked, the band 20.00–21.99 whole.
        assert_eq!(
            plan(Some(1_999), Some(2_200)),
            AmountBands {
                whole: Some((Some(2_000), Some(2_200))),
                below: Some((1_999, 1_999)),
                above: Some((2_200, 2_200))
            }
        );
        // Inside one band: all walked.
        assert_eq!(plan(Some(2_001), Some(2_100)), AmountBands { whole: None, below: None, above: None });
        // A lower bound of 1 fen bounds nothing.
        assert_eq!(
            plan(Some(1), Some(1_999)),
            AmountBands { whole: Some((None, Some(2_000))), below: None, above: None }
        );
    }

    #[test]
    fn a_word_of_letters_searches_subjects_and_numbers_through_the_trigram_index() {
        let mut store = Store::open_in_memory().unwrap();
        store.orders_mut().seed_varied_orders(2000, 5, 3, &mut |_| {}).unwrap();
        fn counted(store: &Store, text: &str) -> i64 {
            let f = OrderFilter { search: Some(text.into()), ..Default::default() };
            let totals = store.orders().order_totals(&f).unwrap();
            assert_eq!(totals, store.orders().order_totals_scan(&f).unwrap());
            totals.count
        }
        let count = |text: &str| counted(&store, text);
        let subjects = |needle: &str| -> i64 {
            store
                .conn
                .query_row("SELECT COUNT(*) FROM orders WHERE instr(lower(subject), lower(?1)) > 0", [needle], |r| {
                    r.get(0)
                })
                .unwrap()
        };
        // "Sandwich" (8 letters) was once taken for an order number: now it finds the subjects.
        assert_eq!(SearchWord::parse("Sandwich"), [SearchWord::Text("Sandwich".into())]);
        let sandwiches = count("Sandwich");
        assert!(sandwiches > 200, "{sandwiches}");
        assert_eq!(sandwiches, subjects("Sandwich"));
        assert_eq!(count("sandwich"), sandwiches, "case-insensitive");
        assert_eq!(count("andwi"), sandwiches, "any part of a word");
        assert_eq!(count("三明治"), sandwiches, "Chinese words of three characters");
        assert_eq!(count("拿铁"), subjects("拿铁"), "two characters: a scan");
        assert_eq!(count("Sandwich Latte"), 0, "every word must match");
        // Letters also find order numbers (out_trade_no TD0003…): "TD000" is a number prefix, "TD" a short word.
        assert_eq!(count("TD0003"), 2000);
        assert_eq!(count("TD0003000000000042"), 1);
        assert_eq!(SearchWord::parse("TD0003"), [SearchWord::Number("TD0003".into())]);
        // The index follows updates and inserts.
        store
            .conn
            .execute("UPDATE orders SET subject = 'Birthday cake' WHERE out_trade_no = 'TD0003000000000042'", [])
            .unwrap();
        assert_eq!(count("birthday"), 1);
        store
            .conn
            .execute("UPDATE orders SET trade_no = 'ZZQ77' WHERE out_trade_no = 'TD0003000000000042'", [])
            .unwrap();
        assert_eq!(count("ZZQ7"), 1, "trade_no prefix");
        let new = crate::store::orders::NewOrder {
            out_trade_no: "TDNEW1".into(),
            store_id: StoreId(1),
            acquirer_id: store.setup().acquirers().unwrap()[0].id,
            operator_id: None,
            subject: "Croissant".into(),
            total_amount: Amount::from_fen(1200),
            auth_code_masked: String::new(),
            acquirer_merchant_id: None,
            terminal_id: None,
        };
        store.orders_mut().create_order(&new).unwrap();
        assert_eq!(counted(&store, "croissant"), 1);
        assert_eq!(counted(&store, "\"quoted\" OR x"), 0, "FTS operators are taken as text");
    }

    #[test]
    fn windows_anywhere_in_the_list_equal_the_keyset_walk() {
        let mut store = Store::open_in_memory().unwrap();
        store.orders_mut().seed_varied_orders(1500, 6, 11, &mut |_| {}).unwrap();
        let today = time::OffsetDateTime::now_utc().to_offset(crate::time::CHINA).date();
        let (from, _) = crate::time::local_day_bounds(today - time::Duration::days(3), crate::time::CHINA);
        let filters = [
            OrderFilter::default(),
            OrderFilter { statuses: vec![OrderStatus::Paid], from: Some(from.clone()), ..Default::default() },
            OrderFilter { search: Some("Sandwich".into()), ..Default::default() },
            OrderFilter { min_amount: Some(Amount::from_fen(10_000)), ..Default::default() },
            // Two subjects (merged page by page), over whole days (the day found from the running totals) and not.
            OrderFilter { search: Some("拿铁".into()), ..Default::default() },
            OrderFilter { search: Some("Latte".into()), from: Some(from.clone()), ..Default::default() },
            OrderFilter { search: Some("Latte".into()), statuses: vec![OrderStatus::Paid], ..Default::default() },
            OrderFilter {
                search: Some("latte".into()),
                min_amount: Some(Amount::from_fen(5_000)),
                ..Default::default()
            },
            // An order-number prefix and a subject word together: every word checked on the orders.
            OrderFilter { search: Some("TD0011 Latte".into()), ..Default::default() },
        ];
        store
            .conn
            .execute("UPDATE orders SET subject = '冰拿铁 Iced Latte' WHERE id % 3 = 0 AND subject LIKE '拿铁%'", [])
            .unwrap();
        assert!(matches!(
            store.resolve_search(&filters[4]).unwrap(),
            Search::Subjects(s) if s.len() == 2
        ));
        assert!(matches!(store.resolve_search(&filters[8]).unwrap(), Search::General(_)));
        for f in &filters {
            for sort in [OrderSort::NewestFirst, OrderSort::OldestFirst, OrderSort::LargestFirst] {
                let total = store.orders().order_totals(f).unwrap().count as u64;
                let (all, _) = store.orders().orders_page(f, sort, None, 10_000).unwrap();
                assert_eq!(all.len() as u64, total);
                for offset in [0, 1, 99, total / 2, total.saturating_sub(100), total.saturating_sub(1), total] {
                    let window = store.orders().orders_window(f, sort, offset, 100, total).unwrap();
                    let expected: Vec<_> = all.iter().skip(offset as usize).take(100).map(|o| o.id).collect();
                    let got: Vec<_> = window.iter().map(|o| o.id).collect();
                    assert_eq!(got, expected, "{f:?} {sort:?} at {offset}");
                }
            }
        }
    }

    /// The plan SQLite chooses for the first page of `filter`, newest first.
    fn first_page_plan(store: &Store, filter: &OrderFilter) -> Vec<String> {
        let search = store.resolve_search(filter).unwrap();
        let (where_sql, args) = where_clause_for(filter, &search, true);
        let sql = format!(
            "EXPLAIN QUERY PLAN SELECT {ORDER_COLUMNS} FROM {source} {where_sql} ORDER BY created_at DESC, id DESC LIMIT 100",
            source = orders_source(&search)
        );
        let mut stmt = store.conn.prepare(&sql).unwrap();
        stmt.query_map(params_from_iter(args.iter().map(|a| a.as_ref())), |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn a_frequent_word_reads_its_first_page_along_the_subject_index_without_sorting() {
        let mut store = Store::open_in_memory().unwrap();
        store.orders_mut().seed_varied_orders(3000, 5, 9, &mut |_| {}).unwrap();
        for f in [
            OrderFilter { search: Some("Sandwich".into()), ..Default::default() },
            OrderFilter { search: Some("三明治".into()), statuses: vec![OrderStatus::Paid], ..Default::default() },
            OrderFilter { search: Some("sandwich".into()), store: Some(StoreId(1)), ..Default::default() },
        ] {
            assert!(matches!(store.resolve_search(&f).unwrap(), Search::Subjects(s) if s.len() == 1), "{f:?}");
            let plan = first_page_plan(&store, &f);
            assert!(plan.iter().any(|p| p.contains("orders_subject_created")), "{f:?}: {plan:?}");
            assert!(!plan.iter().any(|p| p.contains("TEMP B-TREE")), "{f:?}: {plan:?}");
        }
        // A word of letters inside an order number is checked on the orders (it may be in a subject or a number).
        store.conn.execute("UPDATE orders SET trade_no = '2026CAFEBABE0001' WHERE id = 5", []).unwrap();
        let f = OrderFilter { search: Some("cafe".into()), ..Default::default() };
        assert!(matches!(store.resolve_search(&f).unwrap(), Search::General(_)), "{f:?}");
        let totals = store.orders().order_totals(&f).unwrap();
        assert!(totals.count >= 1);
        assert_eq!(totals, store.orders().order_totals_scan(&f).unwrap());
        // One or two Latin letters: the start of an order number ("TD…") or anywhere in a subject ("an": Sandwich
        // and Americano).
        let f = OrderFilter { search: Some("TD".into()), ..Default::default() };
        assert!(matches!(store.resolve_search(&f).unwrap(), Search::General(_)));
        assert_eq!(store.orders().order_totals(&f).unwrap().count, 3000);
        let f = OrderFilter { search: Some("an".into()), ..Default::default() };
        assert!(matches!(store.resolve_search(&f).unwrap(), Search::Subjects(s) if s.len() == 2));
        let expected: i64 =
            store.conn.query_row("SELECT COUNT(*) FROM orders WHERE subject LIKE '%an%'", [], |r| r.get(0)).unwrap();
        assert_eq!(store.orders().order_totals(&f).unwrap().count, expected);
        assert_eq!(store.orders().order_totals_scan(&f).unwrap().count, expected);
        // A word that is nowhere: no subject, nothing read.
        let f = OrderFilter { search: Some("Croissant".into()), ..Default::default() };
        assert_eq!(store.resolve_search(&f).unwrap(), Search::Subjects(Vec::new()));
        assert_eq!(store.orders().order_totals(&f).unwrap().count, 0);
        assert!(store.orders().orders_page(&f, OrderSort::NewestFirst, None, 10).unwrap().0.is_empty());
    }

    #[test]
    fn failed_orders_carry_the_acquirers_code_and_words() {
        let mut store = Store::open_in_memory().unwrap();
        store.orders_mut().seed_varied_orders(400, 2, 5, &mut |_| {}).unwrap();
        let f = OrderFilter { statuses: vec![OrderStatus::Failed], ..Default::default() };
        let (failed, _) = store.orders().orders_page(&f, OrderSort::NewestFirst, None, 50).unwrap();
        assert!(!failed.is_empty());
        let extras = store.orders().order_list_extras(&failed.iter().map(|o| o.id).collect::<Vec<_>>()).unwrap();
        assert!(failed.iter().all(|o| extras[&o.id].failure.is_some()));
        let failure = AcquirerFailure::from_detail("ACQ.BUYER_BALANCE_NOT_ENOUGH: 顾客余额不足").unwrap();
        assert_eq!((failure.code.as_str(), failure.message.as_str()), ("ACQ.BUYER_BALANCE_NOT_ENOUGH", "顾客余额不足"));
        assert_eq!(AcquirerFailure::from_detail("the network is down (timeout)"), None);
    }

    use super::*;

    #[test]
    fn search_finds_order_numbers_by_prefix_and_subjects_by_any_part() {
        let mut store = Store::open_in_memory().unwrap();
        store.orders_mut().seed_demo_orders(500, 3, &mut |_| {}).unwrap();
        let all = store.orders().orders_page(&OrderFilter::default(), OrderSort::NewestFirst, None, 500).unwrap().0;
        let target = &all[123];
        let search = |text: &str, sort: OrderSort| {
            let f = OrderFilter { search: Some(text.into()), ..Default::default() };
            let rows = store.orders().orders_page(&f, sort, None, 1000).unwrap().0;
            assert_eq!(
                rows.len() as i64,
                store.orders().order_totals(&f).unwrap().count,
                "{text}: page and count agree"
            );
            rows
        };
        let by_number = search(&target.out_trade_no, OrderSort::NewestFirst);
        assert_eq!(by_number.len(), 1);
        assert_eq!(by_number[0].id, target.id);
        let prefix: String = target.out_trade_no.chars().take(8).collect();
        assert!(search(&prefix, OrderSort::LargestFirst).iter().any(|o| o.id == target.id));
        if let Some(trade_no) = &target.trade_no {
            assert!(search(trade_no, OrderSort::OldestFirst).iter().any(|o| o.id == target.id));
        }
        let latte = search("拿铁", OrderSort::NewestFirst);
        assert!(!latte.is_empty() && latte.iter().all(|o| o.subject.contains("拿铁")));
        assert_eq!(latte.len(), all.iter().filter(|o| o.subject.contains("拿铁")).count());
        assert!(search("100%_", OrderSort::NewestFirst).is_empty(), "LIKE wildcards are taken literally");
    }

    #[test]
    fn pages_walk_every_order_once_in_order_and_totals_match() {
        let mut store = Store::open_in_memory().unwrap();
        store.orders_mut().seed_demo_orders(1000, 7, &mut |_| {}).unwrap();
        for sort in [OrderSort::NewestFirst, OrderSort::OldestFirst, OrderSort::LargestFirst, OrderSort::SmallestFirst]
        {
            let mut seen = Vec::new();
            let mut key = None;
            loop {
                let (page, next) =
                    store.orders().orders_page(&OrderFilter::default(), sort, key.as_ref(), 128).unwrap();
                if page.is_empty() {
                    break;
                }
                seen.extend(page);
                key = next;
            }
            assert_eq!(seen.len(), 1000, "{sort:?}");
            let ok = seen.windows(2).all(|w| match sort {
                OrderSort::NewestFirst => (&w[0].created_at, w[0].id.0) > (&w[1].created_at, w[1].id.0),
                OrderSort::OldestFirst => (&w[0].created_at, w[0].id.0) < (&w[1].created_at, w[1].id.0),
                OrderSort::LargestFirst => (w[0].total_amount, w[0].id.0) > (w[1].total_amount, w[1].id.0),
                OrderSort::SmallestFirst => (w[0].total_amount, w[0].id.0) < (w[1].total_amount, w[1].id.0),
            });
            assert!(ok, "{sort:?} order");
        }
        let filter = OrderFilter {
            min_amount: Some(Amount::from_fen(10_000)),
            max_amount: Some(Amount::from_fen(20_000)),
            ..Default::default()
        };
        let totals = store.orders().order_totals(&filter).unwrap();
        let (all, _) = store.orders().orders_page(&filter, OrderSort::NewestFirst, None, 10_000).unwrap();
        assert_eq!(totals.count as usize, all.len());
        assert_eq!(totals.paid_amount.fen(), all.iter().map(|o| o.total_amount.fen()).sum::<i64>());
        let search = OrderFilter { search: Some("SEED00000000001".into()), ..Default::default() };
        assert_eq!(store.orders().order_totals(&search).unwrap().count, 10, "prefix search on out_trade_no");
        let like = OrderFilter { search: Some("100%".into()), ..Default::default() };
        assert_eq!(store.orders().order_totals(&like).unwrap().count, 0, "LIKE wildcards are literal");
        let by_subject = OrderFilter { search: Some("拿铁".into()), ..Default::default() };
        assert!(store.orders().order_totals(&by_subject).unwrap().count > 0);
    }
}
