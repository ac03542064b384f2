//! 概览 The sales dashboard: today or this week at a glance — gross, refunds, net, count, average ticket — and the
//! same money by acquirer and by local hour of day.
//!
//! Every figure comes from the Orders screen's own queries ([`Store::order_totals`] and [`Store::sales_breakdown`])
//! over the [`OrderFilter`] the period describes, so the dashboard and the orders list of the same filter always
//! agree. Refunds are those of the period's orders (what the Orders screen's totals count).

use time::{OffsetDateTime, UtcOffset};

use crate::i18n::Lang;
use crate::model::AcquirerId;
use crate::money::Amount;
use crate::store::order_query::{OrderFilter, OrderTotals};
use crate::store::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Period {
    #[default]
    Today,
    /// Monday to Sunday, local time.
    ThisWeek,
}

impl Period {
    pub const ALL: [Period; 2] = [Period::Today, Period::ThisWeek];

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Period::Today => lang.pick("今天", "Today"),
            Period::ThisWeek => lang.pick("本周", "This week"),
        }
    }

    /// The local days (first, last) of this period around `now`, in the local zone `offset`.
    pub fn days(self, now: OffsetDateTime, offset: UtcOffset) -> (time::Date, time::Date) {
        let today = now.to_offset(offset).date();
        match self {
            Period::Today => (today, today),
            Period::ThisWeek => {
                let monday = today - time::Duration::days(i64::from(today.weekday().number_days_from_monday()));
                (monday, monday + time::Duration::days(6))
            }
        }
    }

    /// The orders filter of this period: from the first day's midnight to the one after the last day.
    pub fn filter(self, now: OffsetDateTime, offset: UtcOffset) -> OrderFilter {
        let (first, last) = self.days(now, offset);
        let (from, _) = crate::time::local_day_bounds(first, offset);
        let (_, to) = crate::time::local_day_bounds(last, offset);
        OrderFilter { from: Some(from), to: Some(to), ..Default::default() }
    }
}

/// One acquirer's share of the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquirerSales {
    pub acquirer: AcquirerId,
    pub name: String,
    pub count: i64,
    pub gross: Amount,
    pub refunded: Amount,
}

impl AcquirerSales {
    pub fn net(&self) -> Amount {
        Amount::from_fen(self.gross.fen() - self.refunded.fen())
    }
}

/// One local hour of day (over the whole period).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HourSales {
    pub count: i64,
    pub gross: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dashboard {
    pub period: Period,
    /// The period's local days (first, last).
    pub days: (time::Date, time::Date),
    /// The filter behind every number: the same filter on the Orders screen shows the same totals.
    pub filter: OrderFilter,
    pub totals: OrderTotals,
    pub by_acquirer: Vec<AcquirerSales>,
    pub by_hour: [HourSales; 24],
}

impl Dashboard {
    pub fn gross(&self) -> Amount {
        self.totals.paid_amount
    }

    pub fn refunds(&self) -> Amount {
        self.totals.refunded_amount
    }

    pub fn net(&self) -> Amount {
        self.totals.net()
    }

    /// Paid orders.
    pub fn paid_count(&self) -> i64 {
        self.totals.paid_count
    }

    /// Gross over paid orders, rounded half up to the fen; None with no paid order.
    pub fn average_ticket(&self) -> Option<Amount> {
        let n = self.totals.paid_count;
        (n > 0).then(|| Amount::from_fen((2 * self.totals.paid_amount.fen() + n) / (2 * n)))
    }

    /// The busiest hour by gross, when anything was sold.
    pub fn peak_hour(&self) -> Option<(u8, HourSales)> {
        (0u8..24)
            .map(|h| (h, self.by_hour[usize::from(h)]))
            .filter(|(_, s)| s.count > 0)
            .max_by_key(|(h, s)| (s.gross.fen(), std::cmp::Reverse(*h)))
    }
}

/// The dashboard of `period` around `now` in the local zone `offset`.
pub fn dashboard(db: &Store, period: Period, now: OffsetDateTime, offset: UtcOffset) -> Result<Dashboard, StoreError> {
    let days = period.days(now, offset);
    let filter = period.filter(now, offset);
    let totals = db.order_totals(&filter)?;
    let acquirers = db.acquirers()?;
    let mut by_acquirer: Vec<AcquirerSales> = Vec::new();
    let mut by_hour = [HourSales::default(); 24];
    for bucket in db.sales_breakdown(&filter, offset.whole_seconds())? {
        let hour = &mut by_hour[usize::from(bucket.hour.min(23))];
        hour.count += bucket.count;
        hour.gross = Amount::from_fen(hour.gross.fen() + bucket.paid.fen());
        match by_acquirer.iter_mut().find(|a| a.acquirer == bucket.acquirer) {
            Some(a) => {
                a.count += bucket.count;
                a.gross = Amount::from_fen(a.gross.fen() + bucket.paid.fen());
                a.refunded = Amount::from_fen(a.refunded.fen() + bucket.refunded.fen());
            }
            None => by_acquirer.push(AcquirerSales {
                acquirer: bucket.acquirer,
                name: acquirers
                    .iter()
                    .find(|a| a.id == bucket.acquirer)
                    .map_or_else(|| format!("#{}", bucket.acquirer.0), |a| a.name.clone()),
                count: bucket.count,
                gross: bucket.paid,
                refunded: bucket.refunded,
            }),
        }
    }
    by_acquirer.sort_by_key(|a| std::cmp::Reverse(a.gross.fen()));
    Ok(Dashboard { period, days, filter, totals, by_acquirer, by_hour })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_week_runs_monday_to_sunday_in_local_time() {
        let shanghai = UtcOffset::from_hms(8, 0, 0).unwrap();
        // Wednesday 2026-11-25 01:30 in Shanghai is still Tuesday in UTC.
        let now = datetime!(2026-11-24 17:30 UTC);
        let week = Period::ThisWeek.filter(now, shanghai);
        assert_eq!(week.from.as_deref(), Some("2026-11-22T16:00:00.000000Z"), "Monday 23rd 00:00 +08");
        assert_eq!(week.to.as_deref(), Some("2026-11-29T16:00:00.000000Z"), "Monday 30th 00:00 +08");
        let today = Period::Today.filter(now, shanghai);
        assert_eq!(today.from.as_deref(), Some("2026-11-24T16:00:00.000000Z"));
        assert_eq!(today.to.as_deref(), Some("2026-11-25T16:00:00.000000Z"));
    }

    #[test]
    fn every_figure_adds_up_to_the_orders_totals() {
        let mut db = Store::open_in_memory().unwrap();
        db.seed_demo_orders(3000, 10, &mut |_| {}).unwrap();
        let offset = UtcOffset::from_hms(8, 0, 0).unwrap();
        let d = dashboard(&db, Period::ThisWeek, OffsetDateTime::now_utc(), offset).unwrap();
        assert_eq!(d.totals, db.order_totals(&d.filter).unwrap());
        assert!(d.paid_count() > 0);
        let by_acquirer: i64 = d.by_acquirer.iter().map(|a| a.gross.fen()).sum();
        let by_hour: i64 = d.by_hour.iter().map(|h| h.gross.fen()).sum();
        let count: i64 = d.by_hour.iter().map(|h| h.count).sum();
        assert_eq!((by_acquirer, by_hour, count), (d.gross().fen(), d.gross().fen(), d.paid_count()));
        let refunded: i64 = d.by_acquirer.iter().map(|a| a.refunded.fen()).sum();
        assert_eq!(refunded, d.refunds().fen());
        let avg = d.average_ticket().unwrap().fen();
        assert!((avg * d.paid_count() - d.gross().fen()).abs() <= d.paid_count());
    }

    #[test]
    fn the_average_ticket_rounds_half_up() {
        let day = time::macros::date!(2026 - 11 - 25);
        let d = Dashboard {
            period: Period::Today,
            days: (day, day),
            filter: OrderFilter::default(),
            totals: OrderTotals {
                count: 2,
                paid_amount: Amount::from_fen(301),
                refunded_amount: Amount::ZERO,
                paid_count: 2,
            },
            by_acquirer: Vec::new(),
            by_hour: [HourSales::default(); 24],
        };
        assert_eq!(d.average_ticket(), Some(Amount::from_fen(151)));
    }
}
