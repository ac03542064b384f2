//! The orders screen's queries: a filter, its count and totals, and keyset pages (only the rows on screen are read,
//! so a million orders scroll as smoothly as ten).

use rusqlite::{ToSql, params_from_iter};

use super::orders::{ORDER_COLUMNS, order_from_row, typed};
use super::{Result, Store};
use crate::model::{AcquirerId, OperatorId, Order, OrderStatus, StoreId};
use crate::money::Amount;

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

/// Whether a search looks like an order number (ours or the acquirer's): ASCII letters and digits, 6 or more. Such
/// a search is a prefix look-up in the out_trade_no and trade_no indexes; anything else also searches the subjects.
fn is_order_number(search: &str) -> bool {
    search.len() >= 6 && search.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The WHERE clause of a filter. `time_sorted`: the rows are wanted newest or oldest first, so the amount range is
/// checked row by row along the time index (`+total_amount`) instead of sorting every order in the range.
fn where_clause_for(filter: &OrderFilter, time_sorted: bool) -> (String, Vec<Box<dyn ToSql>>) {
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
    if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let n = args.len();
        if is_order_number(search) {
            // Every stored order number is ASCII, so all that start with `search` sort below `search` + DEL.
            args.push(Box::new(search.to_owned()));
            args.push(Box::new(format!("{search}\u{7f}")));
            parts.push(format!(
                "((out_trade_no >= ?{a} AND out_trade_no < ?{b}) OR (trade_no >= ?{a} AND trade_no < ?{b}))",
                a = n + 1,
                b = n + 2
            ));
        } else {
            args.push(Box::new(format!("%{}%", escape_like(search))));
            parts.push(format!(
                "(out_trade_no LIKE ?{a} ESCAPE '\\' OR trade_no LIKE ?{a} ESCAPE '\\' OR subject LIKE ?{a} ESCAPE '\\')",
                a = n + 1
            ));
        }
    }
    let sql = if parts.is_empty() { String::new() } else { format!("WHERE {}", parts.join(" AND ")) };
    (sql, args)
}

fn where_clause(filter: &OrderFilter) -> (String, Vec<Box<dyn ToSql>>) {
    where_clause_for(filter, false)
}

pub(super) fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

impl Store {
    /// Count and sums for the filter.
    pub fn order_totals(&self, filter: &OrderFilter) -> Result<OrderTotals> {
        let (where_sql, args) = where_clause(filter);
        let sql = format!(
            "SELECT COUNT(*),
                    COALESCE(SUM(CASE WHEN status IN {PAID_STATES} THEN total_amount END), 0),
                    COALESCE(SUM(refunded_amount), 0),
                    COALESCE(SUM(CASE WHEN status IN {PAID_STATES} THEN 1 END), 0)
             FROM orders {where_sql}"
        );
        Ok(self.conn.query_row(&sql, params_from_iter(args.iter().map(|a| a.as_ref())), |r| {
            Ok(OrderTotals {
                count: r.get(0)?,
                paid_amount: Amount::from_fen(r.get(1)?),
                refunded_amount: Amount::from_fen(r.get(2)?),
                paid_count: r.get(3)?,
            })
        })?)
    }

    /// Up to `limit` orders after `after` (None: from the start) in `sort` order.
    pub fn orders_page(
        &self,
        filter: &OrderFilter,
        sort: OrderSort,
        after: Option<&PageKey>,
        limit: u32,
    ) -> Result<(Vec<Order>, Option<PageKey>)> {
        let (mut where_sql, mut args) = where_clause_for(filter, sort.is_by_time());
        let (column, desc) = sort.column();
        if let Some(key) = after {
            let cmp = if desc { "<" } else { ">" };
            let n = args.len();
            match key {
                PageKey::Time(t, id) => {
                    args.push(Box::new(t.clone()));
                    args.push(Box::new(*id));
                }
                PageKey::Amount(a, id) => {
                    args.push(Box::new(*a));
                    args.push(Box::new(*id));
                }
            }
            let cond = format!("({column}, id) {cmp} (?{}, ?{})", n + 1, n + 2);
            where_sql = if where_sql.is_empty() { format!("WHERE {cond}") } else { format!("{where_sql} AND {cond}") };
        }
        let dir = if desc { "DESC" } else { "ASC" };
        let sql =
            format!("SELECT {ORDER_COLUMNS} FROM orders {where_sql} ORDER BY {column} {dir}, id {dir} LIMIT {limit}");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let raw = stmt
            .query_map(params_from_iter(args.iter().map(|a| a.as_ref())), order_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let orders = raw.into_iter().map(typed).collect::<Result<Vec<_>>>()?;
        let next = orders.last().map(|o| PageKey::of(o, sort));
        Ok((orders, next))
    }

    /// The page starting at row `offset` (for a jump far into the list, where there is no previous page's key).
    pub fn orders_page_at(&self, filter: &OrderFilter, sort: OrderSort, offset: u64, limit: u32) -> Result<Vec<Order>> {
        let (where_sql, args) = where_clause_for(filter, sort.is_by_time());
        let (column, desc) = sort.column();
        let dir = if desc { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders {where_sql} ORDER BY {column} {dir}, id {dir} LIMIT {limit} OFFSET {offset}"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let raw = stmt
            .query_map(params_from_iter(args.iter().map(|a| a.as_ref())), order_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter().map(typed).collect()
    }

    /// Paid totals per acquirer and per local hour-of-day bucket for the dashboard: (acquirer id, hour 0–23 in the
    /// given UTC offset, count, paid amount, refunded amount).
    pub fn sales_breakdown(&self, filter: &OrderFilter, utc_offset_secs: i32) -> Result<Vec<SalesBucket>> {
        let mut filter = filter.clone();
        filter.statuses = vec![OrderStatus::Paid, OrderStatus::PartiallyRefunded, OrderStatus::Refunded];
        let (where_sql, args) = where_clause(&filter);
        let sql = format!(
            "SELECT acquirer_id, CAST(strftime('%H', created_at, '{utc_offset_secs:+} seconds') AS INTEGER) AS h,
                    COUNT(*), SUM(total_amount), SUM(refunded_amount)
             FROM orders {where_sql} GROUP BY acquirer_id, h ORDER BY acquirer_id, h"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params_from_iter(args.iter().map(|a| a.as_ref())), |r| {
            Ok(SalesBucket {
                acquirer: AcquirerId(r.get(0)?),
                hour: r.get::<_, i64>(1)?.clamp(0, 23) as u8,
                count: r.get(2)?,
                paid: Amount::from_fen(r.get(3)?),
                refunded: Amount::from_fen(r.get(4)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Inserts `count` synthetic paid orders spread over the last `days` days (the `dev seed-orders` generator and
    /// the benchmarks), in one transaction.
    pub fn seed_demo_orders(&mut self, count: u64, days: i64, progress: &mut dyn FnMut(u64)) -> Result<()> {
        let store = self.default_store()?;
        let alipay = self.acquirer_for(crate::model::AcquirerKind::Alipay)?;
        let wechat = self.acquirer_for(crate::model::AcquirerKind::WechatPay)?;
        let now = time::OffsetDateTime::now_utc();
        let span = (days.max(1) * 86_400) as u64;
        let subjects = ["拿铁 Latte", "美式咖啡", "三明治 Sandwich", "蛋糕", "矿泉水", "便当 Bento"];
        self.transaction(|tx| {
            let mut stmt = tx.prepare(
                "INSERT INTO orders (out_trade_no, trade_no, store_id, acquirer_id, source, subject, total_amount,
                    currency, refunded_amount, status, created_at, paid_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 'barcode', ?5, ?6, 'CNY', 0, 'PAID', ?7, ?7, ?7)",
            )?;
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
            for i in 0..count {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let at = now - time::Duration::seconds(((i * span) / count.max(1)) as i64);
                let at = crate::time::format_utc(at);
                let fen = 100 + (x % 50_000) as i64;
                let acquirer = if x.is_multiple_of(3) { wechat } else { alipay };
                stmt.execute(rusqlite::params![
                    format!("SEED{i:012}"),
                    format!("T{x:016X}"),
                    store.0,
                    acquirer.0,
                    subjects[(x % subjects.len() as u64) as usize],
                    fen,
                    at
                ])?;
                if i % 10_000 == 0 {
                    progress(i);
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_finds_order_numbers_by_prefix_and_subjects_by_any_part() {
        let mut store = Store::open_in_memory().unwrap();
        store.seed_demo_orders(500, 3, &mut |_| {}).unwrap();
        let all = store.orders_page(&OrderFilter::default(), OrderSort::NewestFirst, None, 500).unwrap().0;
        let target = &all[123];
        let search = |text: &str, sort: OrderSort| {
            let f = OrderFilter { search: Some(text.into()), ..Default::default() };
            let rows = store.orders_page(&f, sort, None, 1000).unwrap().0;
            assert_eq!(rows.len() as i64, store.order_totals(&f).unwrap().count, "{text}: page and count agree");
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
        store.seed_demo_orders(1000, 7, &mut |_| {}).unwrap();
        for sort in [OrderSort::NewestFirst, OrderSort::OldestFirst, OrderSort::LargestFirst, OrderSort::SmallestFirst]
        {
            let mut seen = Vec::new();
            let mut key = None;
            loop {
                let (page, next) = store.orders_page(&OrderFilter::default(), sort, key.as_ref(), 128).unwrap();
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
        let totals = store.order_totals(&filter).unwrap();
        let (all, _) = store.orders_page(&filter, OrderSort::NewestFirst, None, 10_000).unwrap();
        assert_eq!(totals.count as usize, all.len());
        assert_eq!(totals.paid_amount.fen(), all.iter().map(|o| o.total_amount.fen()).sum::<i64>());
        let search = OrderFilter { search: Some("SEED00000000001".into()), ..Default::default() };
        assert_eq!(store.order_totals(&search).unwrap().count, 10, "prefix search on out_trade_no");
        let like = OrderFilter { search: Some("100%".into()), ..Default::default() };
        assert_eq!(store.order_totals(&like).unwrap().count, 0, "LIKE wildcards are literal");
        let by_subject = OrderFilter { search: Some("拿铁".into()), ..Default::default() };
        assert!(store.order_totals(&by_subject).unwrap().count > 0);
    }
}
