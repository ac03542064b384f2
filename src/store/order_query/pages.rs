//! Keyset pages of the filter and windows anywhere in it (no long OFFSET scan), with each row's fee and failure.

use std::collections::HashMap;

use rusqlite::params_from_iter;

use super::*;

impl Store {
    /// A search of a few subjects is read one subject at a time along `orders(subject, created_at, id)`, each
    /// already in order, and the pages merged: no sort of every matching order.
    pub(super) fn merged_subjects(search: &Search) -> Option<Vec<Search>> {
        match search {
            Search::Subjects(subjects) if subjects.len() > 1 && subjects.len() <= MERGED_SUBJECTS => {
                Some(subjects.iter().map(|s| Search::Subjects(vec![s.clone()])).collect())
            }
            _ => None,
        }
    }

    pub(super) fn page_after(
        &self,
        filter: &OrderFilter,
        search: &Search,
        sort: OrderSort,
        after: Option<&PageKey>,
        limit: u32,
    ) -> Result<Vec<Order>> {
        if let Some(each) = Self::merged_subjects(search) {
            let mut rows = Vec::new();
            for one in &each {
                rows.extend(self.page_after(filter, one, sort, after, limit)?);
            }
            return Ok(merge_sorted(rows, sort, 0, limit));
        }
        let (mut where_sql, mut args) = where_clause_for(filter, search, sort.is_by_time());
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
        let source = orders_source(search);
        let sql =
            format!("SELECT {ORDER_COLUMNS} FROM {source} {where_sql} ORDER BY {column} {dir}, id {dir} LIMIT {limit}");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let raw = stmt
            .query_map(params_from_iter(args.iter().map(|a| a.as_ref())), order_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter().map(typed).collect()
    }

    pub(super) fn page_at(
        &self,
        filter: &OrderFilter,
        search: &Search,
        sort: OrderSort,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<Order>> {
        if let Some(each) = Self::merged_subjects(search) {
            let wanted = u32::try_from(offset + u64::from(limit)).unwrap_or(u32::MAX);
            let mut rows = Vec::new();
            for one in &each {
                rows.extend(self.page_at(filter, one, sort, 0, wanted)?);
            }
            return Ok(merge_sorted(rows, sort, offset, limit));
        }
        let (where_sql, args) = where_clause_for(filter, search, sort.is_by_time());
        let (column, desc) = sort.column();
        let dir = if desc { "DESC" } else { "ASC" };
        let source = orders_source(search);
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM {source} {where_sql} ORDER BY {column} {dir}, id {dir} LIMIT {limit} OFFSET {offset}"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let raw = stmt
            .query_map(params_from_iter(args.iter().map(|a| a.as_ref())), order_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter().map(typed).collect()
    }
}

impl<S: std::ops::Deref<Target = Store>> crate::store::Orders<S> {
    /// The `limit` orders from row `offset` of the filter in `sort` order, `total` being the filter's count. No long
    /// OFFSET scan: in time order over whole days the running totals say which day holds the row (an offset inside
    /// one day), then the rest follows by keyset; otherwise the scan starts from the nearer end.
    pub fn orders_window(
        &self,
        filter: &OrderFilter,
        sort: OrderSort,
        offset: u64,
        limit: u32,
        total: u64,
    ) -> Result<Vec<Order>> {
        if offset >= total || limit == 0 {
            return Ok(Vec::new());
        }
        let search = self.resolve_search(filter)?;
        if sort.is_by_time()
            && let Some(days) = whole_days(filter, &search)
        {
            let (table, where_sql, args) = day_totals_where(filter, &search, &days);
            let dir = if sort.column().1 { "DESC" } else { "ASC" };
            let sql = format!(
                "SELECT day, SUM(orders) FROM {table} {where_sql} GROUP BY day HAVING SUM(orders) > 0 ORDER BY day {dir}"
            );
            let counts: Vec<(String, i64)> = self
                .conn
                .prepare_cached(&sql)?
                .query_map(params_from_iter(args.iter().map(|a| a.as_ref())), |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut skipped = 0u64;
            for (day, n) in counts {
                let n = n.max(0) as u64;
                if skipped + n <= offset {
                    skipped += n;
                    continue;
                }
                let Some((from, to)) = china_day_bounds(&day) else { break };
                let narrowed = OrderFilter { from: Some(from), to: Some(to), ..filter.clone() };
                let first = self.page_at(&narrowed, &search, sort, offset - skipped, 1)?;
                let Some(first) = first.into_iter().next() else { break };
                let key = PageKey::of(&first, sort);
                let rest = self.page_after(filter, &search, sort, Some(&key), limit - 1)?;
                let mut rows = Vec::with_capacity(limit as usize);
                rows.push(first);
                rows.extend(rest);
                return Ok(rows);
            }
        }
        if offset * 2 > total {
            // From the other end: the last rows of this order are the first of the reverse order.
            let end = (offset + u64::from(limit)).min(total);
            let from_end = total - end;
            let mut rows = self.page_at(filter, &search, sort.reversed(), from_end, (end - offset) as u32)?;
            rows.reverse();
            return Ok(rows);
        }
        self.page_at(filter, &search, sort, offset, limit)
    }

    /// The fee the acquirers' bills charged and, for a failed order, the acquirer's failure (code and words) for
    /// each of `ids` (the rows on screen).
    pub fn order_list_extras(&self, ids: &[OrderId]) -> Result<HashMap<OrderId, OrderExtras>> {
        let mut out = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let list = ids.iter().map(|i| i.0.to_string()).collect::<Vec<_>>().join(",");
        let sql = format!(
            "SELECT o.id,
                    (SELECT SUM(b.fee) FROM bill_rows b WHERE b.out_trade_no = o.out_trade_no),
                    CASE WHEN o.status = 'FAILED' THEN (SELECT e.detail FROM order_events e
                        WHERE e.order_id = o.id AND e.kind = 'failed' ORDER BY e.id DESC LIMIT 1) END
             FROM orders o WHERE o.id IN ({list})"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt
            .query_map([], |r| Ok((OrderId(r.get(0)?), r.get::<_, Option<i64>>(1)?, r.get::<_, Option<String>>(2)?)))?;
        for row in rows {
            let (id, fee, failure) = row?;
            let failure = failure.as_deref().and_then(AcquirerFailure::from_detail);
            out.insert(id, OrderExtras { fee: fee.map(Amount::from_fen), failure });
        }
        Ok(out)
    }

    /// Up to `limit` orders after `after` (None: from the start) in `sort` order.
    pub fn orders_page(
        &self,
        filter: &OrderFilter,
        sort: OrderSort,
        after: Option<&PageKey>,
        limit: u32,
    ) -> Result<(Vec<Order>, Option<PageKey>)> {
        let search = self.resolve_search(filter)?;
        let orders = self.page_after(filter, &search, sort, after, limit)?;
        let next = orders.last().map(|o| PageKey::of(o, sort));
        Ok((orders, next))
    }

    /// The page starting at row `offset` (for a jump far into the list, where there is no previous page's key).
    pub fn orders_page_at(&self, filter: &OrderFilter, sort: OrderSort, offset: u64, limit: u32) -> Result<Vec<Order>> {
        let search = self.resolve_search(filter)?;
        self.page_at(filter, &search, sort, offset, limit)
    }
}
