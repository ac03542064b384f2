//! The filter's count and sums: from the running totals per China day (and per amount band, per hour) when the filter
//! allows, else over the orders; the breakdowns of the overview and the dashboard's sales by hour.

use rusqlite::{ToSql, params_from_iter};

use super::*;

pub(super) fn totals_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OrderTotals> {
    Ok(OrderTotals {
        count: r.get(0)?,
        paid_amount: Amount::from_fen(r.get(1)?),
        refunded_amount: Amount::from_fen(r.get(2)?),
        paid_count: r.get(3)?,
    })
}

/// A filter's date bounds as China days [from, to): None when the filter cannot be answered from the running totals
/// (a search, an amount range, or a bound that is not a China midnight).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct WholeDays {
    from: Option<String>,
    to: Option<String>,
}

pub(super) fn whole_days(filter: &OrderFilter, search: &Search) -> Option<WholeDays> {
    if matches!(search, Search::General(_)) || filter.min_amount.is_some() || filter.max_amount.is_some() {
        return None;
    }
    let day = |bound: &Option<String>| -> Option<Option<String>> {
        let Some(text) = bound else { return Some(None) };
        let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
        let china = t.to_offset(crate::time::CHINA);
        (china.time() == time::Time::MIDNIGHT).then(|| Some(china.date().to_string()))
    };
    Some(WholeDays { from: day(&filter.from)?, to: day(&filter.to)? })
}

/// The stored UTC bounds [start, end) of a China day written "YYYY-MM-DD".
pub(super) fn china_day_bounds(day: &str) -> Option<(String, String)> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(day, &format).ok()?;
    Some(crate::time::local_day_bounds(date, crate::time::CHINA))
}

/// The running totals a filter of whole days is read from, and the WHERE clause over them: `order_day_totals`, or
/// `order_day_subject_totals` for a search resolved to subjects.
pub(super) fn day_totals_where(
    filter: &OrderFilter,
    search: &Search,
    days: &WholeDays,
) -> (&'static str, String, Vec<Box<dyn ToSql>>) {
    let mut parts: Vec<String> = Vec::new();
    let mut args: Vec<Box<dyn ToSql>> = Vec::new();
    let mut push = |sql: &str, value: Box<dyn ToSql>, parts: &mut Vec<String>| {
        args.push(value);
        parts.push(sql.replace('?', &format!("?{}", args.len())));
    };
    let table = match search {
        Search::Subjects(subjects) => {
            let ids = subjects.iter().map(|(id, _)| id.to_string()).collect::<Vec<_>>().join(", ");
            parts.push(format!("subject_id IN ({ids})"));
            "order_day_subject_totals"
        }
        Search::None | Search::General(_) => "order_day_totals",
    };
    if let Some(from) = &days.from {
        push("day >= ?", Box::new(from.clone()), &mut parts);
    }
    if let Some(to) = &days.to {
        push("day < ?", Box::new(to.clone()), &mut parts);
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
    if !filter.statuses.is_empty() {
        let list = filter.statuses.iter().map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(", ");
        parts.push(format!("status IN ({list})"));
    }
    let sql = if parts.is_empty() { String::new() } else { format!("WHERE {}", parts.join(" AND ")) };
    (table, sql, args)
}

impl Store {
    /// Count and sums of an amount range (without a search). Without an acquirer or cashier: the bands wholly inside
    /// the range over whole China days from the running totals per band (migration 0021), the orders of the bands
    /// the range's ends cut through along the covering amount index, and the part-days at either end of the period
    /// by [`Store::amount_range_walk`]. Otherwise all of it by that walk.
    pub(super) fn amount_range_totals(&self, filter: &OrderFilter) -> Result<OrderTotals> {
        let (min, max) = (filter.min_amount.map(|a| a.fen()), filter.max_amount.map(|a| a.fen()));
        if let (Some(min), Some(max)) = (min, max)
            && min > max
        {
            return Ok(OrderTotals::default());
        }
        if filter.acquirer.is_some() || filter.operator.is_some() {
            return self.amount_range_walk(filter);
        }
        let everything = OrderFilter { min_amount: None, max_amount: None, ..filter.clone() };
        if let Some(days) = whole_days(&everything, &Search::None) {
            return self.amount_band_totals(filter, &days);
        }
        let Some(parts) = split_at_china_midnights(filter) else { return self.amount_range_walk(filter) };
        let mut sum = OrderTotals::default();
        for (part, whole) in parts {
            let period = OrderFilter { min_amount: None, max_amount: None, ..part.clone() };
            let t = match whole_days(&period, &Search::None).filter(|_| whole) {
                Some(days) => self.amount_band_totals(&part, &days)?,
                None => self.amount_range_walk(&part)?,
            };
            sum = sum.plus(t);
        }
        Ok(sum)
    }

    /// An amount range over whole China days (no acquirer, cashier or search): the whole bands from
    /// `order_band_totals`, the cut bands at the range's ends along the covering amount index.
    pub(super) fn amount_band_totals(&self, filter: &OrderFilter, days: &WholeDays) -> Result<OrderTotals> {
        let (min, max) = (filter.min_amount.map(|a| a.fen()), filter.max_amount.map(|a| a.fen()));
        let plan = AmountBands::of(min, max);
        let walk = |lo: Option<i64>, hi: Option<i64>| {
            let part = OrderFilter {
                min_amount: lo.map(Amount::from_fen),
                max_amount: hi.map(Amount::from_fen),
                ..filter.clone()
            };
            self.totals_from(&part, &Search::None, "orders INDEXED BY orders_amount")
        };
        let Some((whole_lo, whole_hi)) = plan.whole else { return walk(min, max) };
        let (_, where_sql, mut args) = day_totals_where(filter, &Search::None, days);
        let mut parts: Vec<String> = where_sql.strip_prefix("WHERE ").map(str::to_owned).into_iter().collect();
        if let Some(lo) = whole_lo {
            args.push(Box::new(lo));
            parts.push(format!("band >= ?{}", args.len()));
        }
        if let Some(hi) = whole_hi {
            args.push(Box::new(hi));
            parts.push(format!("band < ?{}", args.len()));
        }
        let where_sql = if parts.is_empty() { String::new() } else { format!("WHERE {}", parts.join(" AND ")) };
        let sql = format!(
            "SELECT COALESCE(SUM(orders), 0),
                    COALESCE(SUM(CASE WHEN status IN {PAID_STATES} THEN amount END), 0),
                    COALESCE(SUM(refunded), 0),
                    COALESCE(SUM(CASE WHEN status IN {PAID_STATES} THEN orders END), 0)
             FROM order_band_totals {where_sql}"
        );
        let mut sum = self
            .conn
            .prepare_cached(&sql)?
            .query_row(params_from_iter(args.iter().map(|a| a.as_ref())), totals_from_row)?;
        if let Some((lo, hi)) = plan.below {
            sum = sum.plus(walk(Some(lo), Some(hi))?);
        }
        if let Some((lo, hi)) = plan.above {
            sum = sum.plus(walk(Some(lo), Some(hi))?);
        }
        Ok(sum)
    }

    /// Count and sums of an amount range by the shortest of three walks: the orders of the period along the time
    /// index; the range along the covering amount index; or everything in the period (from the running totals) less
    /// the orders outside the range, along the amount index. The period's count comes from the running totals, the
    /// range's share from 64 orders spread over the table; the answer is exact either way.
    pub(super) fn amount_range_walk(&self, filter: &OrderFilter) -> Result<OrderTotals> {
        let (min, max) = (filter.min_amount.map(|a| a.fen()), filter.max_amount.map(|a| a.fen()));
        let everything = OrderFilter { min_amount: None, max_amount: None, ..filter.clone() };
        let in_period = self.orders().order_totals(&everything)?;
        let all = self.orders().order_totals(&OrderFilter::default())?.count;
        let share = self.amount_range_share(min, max)?;
        // Reading an order row along the time index costs about twice an entry of the covering amount index.
        let by_time = if filter.from.is_some() || filter.to.is_some() { 2 * in_period.count } else { i64::MAX };
        let in_range = (share * all as f64) as i64;
        let outside = all - in_range;
        let source = if by_time <= in_range.min(outside) {
            "orders INDEXED BY orders_created_at"
        } else if in_range <= outside {
            "orders INDEXED BY orders_amount"
        } else {
            let mut sum = in_period;
            if let Some(min) = min {
                let below = OrderFilter { max_amount: Some(Amount::from_fen(min - 1)), ..everything.clone() };
                sum = sum.minus(self.totals_from(&below, &Search::None, "orders INDEXED BY orders_amount")?);
            }
            if let Some(max) = max {
                let above = OrderFilter { min_amount: Some(Amount::from_fen(max + 1)), ..everything.clone() };
                sum = sum.minus(self.totals_from(&above, &Search::None, "orders INDEXED BY orders_amount")?);
            }
            return Ok(sum);
        };
        self.totals_from(filter, &Search::None, source)
    }

    /// The share of all orders whose amount is in [min, max], judged from 64 orders spread over the table.
    pub(super) fn amount_range_share(&self, min: Option<i64>, max: Option<i64>) -> Result<f64> {
        let (first, last): (Option<i64>, Option<i64>) = self
            .conn
            .prepare_cached("SELECT (SELECT MIN(id) FROM orders), (SELECT MAX(id) FROM orders)")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let (Some(first), Some(last)) = (first, last) else { return Ok(0.0) };
        let ids = (0..64).map(|k| (first + (last - first) * k / 63).to_string()).collect::<Vec<_>>().join(",");
        let amounts: Vec<i64> = self
            .conn
            .prepare(&format!("SELECT total_amount FROM orders WHERE id IN ({ids})"))?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if amounts.is_empty() {
            return Ok(0.0);
        }
        let inside = amounts.iter().filter(|a| min.is_none_or(|m| **a >= m) && max.is_none_or(|m| **a <= m)).count();
        Ok(inside as f64 / amounts.len() as f64)
    }

    /// Count and sums of a filter of whole days from the running totals.
    pub(super) fn day_totals(&self, filter: &OrderFilter, search: &Search, days: &WholeDays) -> Result<OrderTotals> {
        {
            let (table, where_sql, args) = day_totals_where(filter, search, days);
            let sql = format!(
                "SELECT COALESCE(SUM(orders), 0),
                        COALESCE(SUM(CASE WHEN status IN {PAID_STATES} THEN amount END), 0),
                        COALESCE(SUM(refunded), 0),
                        COALESCE(SUM(CASE WHEN status IN {PAID_STATES} THEN orders END), 0)
                 FROM {table} {where_sql}"
            );
            Ok(self
                .conn
                .prepare_cached(&sql)?
                .query_row(params_from_iter(args.iter().map(|a| a.as_ref())), totals_from_row)?)
        }
    }

    pub(super) fn totals_over_orders(&self, filter: &OrderFilter, search: &Search) -> Result<OrderTotals> {
        self.totals_from(filter, search, totals_source(filter, search))
    }

    pub(super) fn totals_from(&self, filter: &OrderFilter, search: &Search, source: &str) -> Result<OrderTotals> {
        let (where_sql, args) = where_clause_for(filter, search, false);
        let sql = format!(
            "SELECT COUNT(*),
                    COALESCE(SUM(CASE WHEN status IN {PAID_STATES} THEN total_amount END), 0),
                    COALESCE(SUM(refunded_amount), 0),
                    COALESCE(SUM(CASE WHEN status IN {PAID_STATES} THEN 1 END), 0)
             FROM {source} {where_sql}"
        );
        Ok(self.conn.query_row(&sql, params_from_iter(args.iter().map(|a| a.as_ref())), totals_from_row)?)
    }
}

impl<S: std::ops::Deref<Target = Store>> crate::store::Orders<S> {
    /// Count and sums for the filter: from the running totals when the filter is whole China days, stores,
    /// acquirers, cashiers, statuses and a search of subjects (a few hundred rows, whatever the number of orders),
    /// else from the orders.
    pub fn order_totals(&self, filter: &OrderFilter) -> Result<OrderTotals> {
        let search = self.resolve_search(filter)?;
        if let Some(days) = whole_days(filter, &search) {
            return self.day_totals(filter, &search, &days);
        }
        if matches!(search, Search::General(_)) {
            return self.totals_over_orders(filter, &search);
        }
        let amount_range = filter.min_amount.is_some() || filter.max_amount.is_some();
        if !amount_range {
            // Bounds inside a day (the 概览's "so far" comparisons, a time of day): the whole days between them from
            // the running totals, the part-days at either end over their orders.
            if let Some(parts) = split_at_china_midnights(filter) {
                let mut sum = OrderTotals::default();
                for (part, whole) in parts {
                    let t = match whole_days(&part, &search).filter(|_| whole) {
                        Some(days) => self.day_totals(&part, &search, &days)?,
                        None => self.totals_over_orders(&part, &search)?,
                    };
                    sum = sum.plus(t);
                }
                return Ok(sum);
            }
        } else if search == Search::None {
            return self.amount_range_totals(filter);
        }
        self.totals_over_orders(filter, &search)
    }

    /// Count and sums for the filter, summed over the orders themselves with every search word checked on each
    /// order (what the running totals and the subject lookup must equal).
    pub fn order_totals_scan(&self, filter: &OrderFilter) -> Result<OrderTotals> {
        let words = SearchWord::parse(filter.search.as_deref().unwrap_or(""));
        let search = if words.is_empty() { Search::None } else { Search::General(words) };
        self.totals_over_orders(filter, &search)
    }

    /// Count and sums per store, acquirer, cashier or China day (the 概览's breakdowns), from the running totals
    /// when the filter allows, else grouped over the orders. Keys with no order are left out.
    pub fn order_totals_by(&self, filter: &OrderFilter, by: TotalsBy) -> Result<Vec<(TotalsKey, OrderTotals)>> {
        let search = self.resolve_search(filter)?;
        let (column, orders_column) = match by {
            TotalsBy::Store => ("store_id", "store_id".to_owned()),
            TotalsBy::Acquirer => ("acquirer_id", "acquirer_id".to_owned()),
            TotalsBy::Operator => ("operator_id", "COALESCE(operator_id, 0)".to_owned()),
            TotalsBy::Day => ("day", "COALESCE(date(created_at, '+8 hours'), '')".to_owned()),
        };
        let (sql, args) = if let Some(days) = whole_days(filter, &search) {
            let (table, where_sql, args) = day_totals_where(filter, &search, &days);
            let sql = format!(
                "SELECT {column}, COALESCE(SUM(orders), 0),
                        COALESCE(SUM(CASE WHEN status IN {PAID_STATES} THEN amount END), 0),
                        COALESCE(SUM(refunded), 0),
                        COALESCE(SUM(CASE WHEN status IN {PAID_STATES} THEN orders END), 0)
                 FROM {table} {where_sql} GROUP BY 1 HAVING SUM(orders) > 0 ORDER BY 1"
            );
            (sql, args)
        } else {
            let (where_sql, args) = where_clause_for(filter, &search, false);
            let sql = format!(
                "SELECT {orders_column}, COUNT(*),
                        COALESCE(SUM(CASE WHEN status IN {PAID_STATES} THEN total_amount END), 0),
                        COALESCE(SUM(refunded_amount), 0),
                        COALESCE(SUM(CASE WHEN status IN {PAID_STATES} THEN 1 END), 0)
                 FROM {source} {where_sql} GROUP BY 1 ORDER BY 1",
                source = orders_source(&search)
            );
            (sql, args)
        };
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(args.iter().map(|a| a.as_ref())), |r| {
            let key = match by {
                TotalsBy::Day => TotalsKey::Day(r.get(0)?),
                _ => TotalsKey::Id(r.get(0)?),
            };
            let totals = OrderTotals {
                count: r.get(1)?,
                paid_amount: Amount::from_fen(r.get(2)?),
                refunded_amount: Amount::from_fen(r.get(3)?),
                paid_count: r.get(4)?,
            };
            Ok((key, totals))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Paid totals per acquirer and per local hour-of-day bucket for the dashboard: (acquirer id, hour 0–23 in the
    /// given UTC offset, count, paid amount, refunded amount). In China time over whole days, without a search or an
    /// amount range, from the running totals per hour; otherwise grouped over the orders.
    pub fn sales_breakdown(&self, filter: &OrderFilter, utc_offset_secs: i32) -> Result<Vec<SalesBucket>> {
        let mut filter = filter.clone();
        filter.statuses = vec![OrderStatus::Paid, OrderStatus::PartiallyRefunded, OrderStatus::Refunded];
        let search = self.resolve_search(&filter)?;
        let china = utc_offset_secs == crate::time::CHINA.whole_seconds();
        let (sql, args) = match whole_days(&filter, &search) {
            Some(days) if china && search == Search::None => {
                let (_, where_sql, args) = day_totals_where(&filter, &search, &days);
                let sql = format!(
                    "SELECT acquirer_id, hour, SUM(orders), SUM(amount), SUM(refunded) FROM order_hour_totals
                     {where_sql} GROUP BY acquirer_id, hour HAVING SUM(orders) > 0 ORDER BY acquirer_id, hour"
                );
                (sql, args)
            }
            _ => {
                let (where_sql, args) = where_clause_for(&filter, &search, false);
                let sql = format!(
                    "SELECT acquirer_id, CAST(strftime('%H', created_at, '{utc_offset_secs:+} seconds') AS INTEGER) AS h,
                            COUNT(*), SUM(total_amount), SUM(refunded_amount)
                     FROM {source} {where_sql} GROUP BY acquirer_id, h ORDER BY acquirer_id, h",
                    source = orders_source(&search)
                );
                (sql, args)
            }
        };
        let mut stmt = self.conn.prepare_cached(&sql)?;
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
}

/// The orders the count and sums of `filter` are read from: `orders_source`, or for an amount range without a
/// search the covering amount index (only the range is walked, and no order row is read).
pub(super) fn totals_source(filter: &OrderFilter, search: &Search) -> &'static str {
    let amount_range = filter.min_amount.is_some() || filter.max_amount.is_some();
    match search {
        Search::None if amount_range => "orders INDEXED BY orders_amount",
        _ => orders_source(search),
    }
}

/// A filter whose time bounds are not both China midnights, cut at the midnights inside it: (part, whether the part
/// is whole days). None when there is nothing to cut (no bounds, or both within one day).
pub(super) fn split_at_china_midnights(filter: &OrderFilter) -> Option<Vec<(OrderFilter, bool)>> {
    use time::format_description::well_known::Rfc3339;
    let parse = |b: &Option<String>| b.as_deref().and_then(|t| time::OffsetDateTime::parse(t, &Rfc3339).ok());
    let (from, to) = (parse(&filter.from), parse(&filter.to));
    if (filter.from.is_some() && from.is_none()) || (filter.to.is_some() && to.is_none()) {
        return None;
    }
    let midnight = |t: time::OffsetDateTime| t.to_offset(crate::time::CHINA).replace_time(time::Time::MIDNIGHT);
    // The first midnight at or after `from`, the last at or before `to`.
    let from_cut = from.map(|f| {
        let m = midnight(f);
        if m < f { m + time::Duration::days(1) } else { m }
    });
    let to_cut = to.map(midnight);
    if from_cut.is_none() && to_cut.is_none() {
        return None;
    }
    if let (Some(a), Some(b)) = (from_cut, to_cut)
        && a >= b
    {
        return None;
    }
    let utc = crate::time::format_utc;
    let mut parts = Vec::new();
    if let (Some(f), Some(cut)) = (from, from_cut)
        && f < cut
    {
        parts.push((OrderFilter { from: filter.from.clone(), to: Some(utc(cut)), ..filter.clone() }, false));
    }
    parts.push((OrderFilter { from: from_cut.map(utc), to: to_cut.map(utc), ..filter.clone() }, true));
    if let (Some(t), Some(cut)) = (to, to_cut)
        && cut < t
    {
        parts.push((OrderFilter { from: Some(utc(cut)), to: filter.to.clone(), ..filter.clone() }, false));
    }
    Some(parts)
}

/// How an amount range [min, max] (fen, either end open) is answered from the band totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct AmountBands {
    /// The whole bands: those whose lowest amount is in [lo, hi) (None: open). None when no band is wholly inside.
    pub(super) whole: Option<(Option<i64>, Option<i64>)>,
    /// The orders below the whole bands, walked: [min, first whole band).
    pub(super) below: Option<(i64, i64)>,
    /// The orders above the whole bands, walked: [last whole band's end, max].
    pub(super) above: Option<(i64, i64)>,
}

impl AmountBands {
    pub(super) fn of(min: Option<i64>, max: Option<i64>) -> AmountBands {
        // Amounts are at least 1 fen: a lower bound of 1 or less bounds nothing.
        let min = min.filter(|m| *m > 1);
        let lo = min.map(|m| {
            let (band_lo, band_hi) = amount_band(m);
            if band_lo == m { m } else { band_hi }
        });
        let hi = max.map(|m| {
            let (band_lo, band_hi) = amount_band(m);
            if band_hi == m.saturating_add(1) { band_hi } else { band_lo }
        });
        if let (Some(lo), Some(hi)) = (lo, hi)
            && lo >= hi
        {
            return AmountBands { whole: None, below: None, above: None };
        }
        AmountBands {
            whole: Some((lo, hi)),
            below: min.zip(lo).filter(|(m, lo)| m < lo).map(|(m, lo)| (m, lo - 1)),
            above: max.zip(hi).filter(|(m, hi)| *m >= *hi).map(|(m, hi)| (hi, m)),
        }
    }
}
