//! 概览 The sales dashboard: a span of China business days (today, yesterday, the last 7 days, this month, or
//! typed) at a glance — gross, refunds, net, count, average ticket — compared with the day before and the same
//! weekday a week before, and the same money by store, cashier, wallet and hour of day (China time).
//!
//! Every figure comes from the Orders screen's own queries ([`Orders::order_totals`] and [`Orders::sales_breakdown`])
//! over the [`OrderFilter`] the period describes, so the dashboard and the orders list of the same filter always
//! agree. Refunds are those of the period's orders (what the Orders screen's totals count).

use time::OffsetDateTime;

use crate::i18n::Lang;
use crate::model::{AcquirerId, AcquirerKind, OperatorId, StoreId};
use crate::money::Amount;
use crate::store::order_query::{OrderFilter, OrderTotals, TotalsBy, TotalsKey};
use crate::store::{Store, StoreError};

pub mod backend;

/// A span of China business days (the acquirers' calendar, whatever the machine's zone): the presets the Orders,
/// Refunds and 概览 screens offer, or days the person typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Period {
    #[default]
    Today,
    Yesterday,
    /// Today and the six days before it.
    Last7Days,
    /// From the 1st of this month to today.
    ThisMonth,
    /// From `first` to `last`, both included.
    Custom(time::Date, time::Date),
}

impl Period {
    /// The presets, in the order the screens show them.
    pub const PRESETS: [Period; 4] = [Period::Today, Period::Yesterday, Period::Last7Days, Period::ThisMonth];

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Period::Today => lang.pick("今天", "Today"),
            Period::Yesterday => lang.pick("昨天", "Yesterday"),
            Period::Last7Days => lang.pick("近 7 天", "Last 7 days"),
            Period::ThisMonth => lang.pick("本月", "This month"),
            Period::Custom(..) => lang.pick("自定义", "Custom"),
        }
    }

    /// The China days (first, last) of this period at `now`; a custom span typed backwards is put right.
    pub fn days(self, now: OffsetDateTime) -> (time::Date, time::Date) {
        let today = crate::time::china_date(now);
        let back = |n: i64| today - time::Duration::days(n);
        match self {
            Period::Today => (today, today),
            Period::Yesterday => (back(1), back(1)),
            Period::Last7Days => (back(6), today),
            Period::ThisMonth => (today.replace_day(1).unwrap_or(today), today),
            Period::Custom(a, b) => (a.min(b), a.max(b)),
        }
    }

    /// The orders filter of this period: from the first China day's midnight to the one after the last day.
    pub fn filter(self, now: OffsetDateTime) -> OrderFilter {
        let (first, last) = self.days(now);
        let (from, to) = china_days_bounds(first, last);
        OrderFilter { from: Some(from), to: Some(to), ..Default::default() }
    }
}

/// The stored UTC bounds [from, to) of the China days `first` to `last`.
pub fn china_days_bounds(first: time::Date, last: time::Date) -> (String, String) {
    let (from, _) = crate::time::local_day_bounds(first, crate::time::CHINA);
    let (_, to) = crate::time::local_day_bounds(last, crate::time::CHINA);
    (from, to)
}

/// What a share of the period is: a store, a cashier (None: no one signed in) or a wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareKey {
    Store(StoreId),
    Cashier(Option<OperatorId>),
    Wallet(AcquirerKind),
}

/// One store's, cashier's or wallet's part of the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub key: ShareKey,
    /// The store's or cashier's name as recorded (merchant data); empty for a wallet.
    pub name: String,
    /// The store's Chinese name, when it has one.
    pub name_zh: String,
    pub totals: OrderTotals,
}

/// The same period one step back (the day before, or as many days before) and one week back (the same weekdays),
/// up to the same time of day when the period runs to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comparison {
    /// How many days back `previous` is (1 for a day: yesterday).
    pub previous_days: i64,
    pub previous: OrderTotals,
    pub last_week: OrderTotals,
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
    pub compare: Comparison,
    pub by_store: Vec<Share>,
    pub by_cashier: Vec<Share>,
    pub by_wallet: Vec<Share>,
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

/// `filter` with its bounds moved `days` back, cut at `now` moved back as much (so that today until now is compared
/// with yesterday until the same time).
pub fn shifted_filter(filter: &OrderFilter, days: i64, now: OffsetDateTime) -> OrderFilter {
    let back = |t: &str| {
        OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .ok()
            .map(|t| crate::time::format_utc(t - time::Duration::days(days)))
    };
    let cut = crate::time::format_utc(now - time::Duration::days(days));
    let to = filter.to.as_deref().and_then(back).map(|to| if to > cut { cut.clone() } else { to });
    OrderFilter { from: filter.from.as_deref().and_then(back), to, ..filter.clone() }
}

/// The totals of `filter` moved `days` back ([`shifted_filter`]).
fn shifted(db: &Store, filter: &OrderFilter, days: i64, now: OffsetDateTime) -> Result<OrderTotals, StoreError> {
    db.orders().order_totals(&shifted_filter(filter, days, now))
}

/// The dashboard of `period` at `now` (China days; hours of day in China time).
pub fn dashboard(db: &Store, period: Period, now: OffsetDateTime) -> Result<Dashboard, StoreError> {
    dashboard_of(db, period, now, Narrow::default())
}

/// Whose orders a dashboard adds up: one store's, one cashier's (a merchant backend answering a back-office clerk or
/// a cashier), or all (default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Narrow {
    pub store: Option<StoreId>,
    pub operator: Option<OperatorId>,
}

impl Narrow {
    fn filter(self, filter: OrderFilter) -> OrderFilter {
        OrderFilter { store: self.store, operator: self.operator, ..filter }
    }
}

/// The names the figures are shown with: the stores, acquirer accounts and staff of the database they come from.
#[derive(Debug, Clone, Copy)]
pub struct Names<'a> {
    pub stores: &'a [crate::model::Store],
    pub acquirers: &'a [crate::model::Acquirer],
    pub operators: &'a [crate::model::Operator],
}

impl Names<'_> {
    fn store_share(&self, id: StoreId, totals: OrderTotals) -> Share {
        let s = self.stores.iter().find(|s| s.id == id);
        Share {
            key: ShareKey::Store(id),
            name: s.map_or_else(|| format!("#{}", id.0), |s| format!("{} {}", s.store_code, s.name)),
            name_zh: s.map_or_else(String::new, |s| format!("{} {}", s.store_code, s.name_zh)),
            totals,
        }
    }

    fn cashier_share(&self, id: Option<OperatorId>, totals: OrderTotals) -> Share {
        let name = id
            .and_then(|id| self.operators.iter().find(|o| o.id == id))
            .map_or_else(|| id.map_or_else(String::new, |i| format!("#{}", i.0)), |o| o.name.clone());
        Share { key: ShareKey::Cashier(id), name, name_zh: String::new(), totals }
    }

    fn acquirer(&self, id: AcquirerId) -> Option<&crate::model::Acquirer> {
        self.acquirers.iter().find(|a| a.id == id)
    }

    fn acquirer_name(&self, id: AcquirerId) -> String {
        self.acquirer(id).map_or_else(|| format!("#{}", id.0), |a| a.name.clone())
    }
}

/// Adds one acquirer's (paid) sales of one hour.
fn add_sale(
    by_acquirer: &mut Vec<AcquirerSales>,
    names: &Names<'_>,
    acquirer: AcquirerId,
    sale: (i64, Amount, Amount),
) {
    let (count, gross, refunded) = sale;
    match by_acquirer.iter_mut().find(|a| a.acquirer == acquirer) {
        Some(a) => {
            a.count += count;
            a.gross = Amount::from_fen(a.gross.fen() + gross.fen());
            a.refunded = Amount::from_fen(a.refunded.fen() + refunded.fen());
        }
        None => {
            by_acquirer.push(AcquirerSales { acquirer, name: names.acquirer_name(acquirer), count, gross, refunded })
        }
    }
}

/// Adds an account's totals to its wallet's share (an account the names do not know is left out, as the Orders
/// screen's wallet filter would).
fn add_wallet(by_wallet: &mut Vec<Share>, names: &Names<'_>, acquirer: AcquirerId, totals: OrderTotals) {
    let Some(kind) = names.acquirer(acquirer).map(|a| a.kind) else { return };
    match by_wallet.iter_mut().find(|s| s.key == ShareKey::Wallet(kind)) {
        Some(s) => s.totals = add_totals(s.totals, totals),
        None => {
            by_wallet.push(Share { key: ShareKey::Wallet(kind), name: String::new(), name_zh: String::new(), totals })
        }
    }
}

/// The dashboard of `period` at `now` over the orders `narrow` leaves (China days; hours of day in China time), from
/// the running totals of the till's database.
pub fn dashboard_of(db: &Store, period: Period, now: OffsetDateTime, narrow: Narrow) -> Result<Dashboard, StoreError> {
    let days = period.days(now);
    let filter = narrow.filter(period.filter(now));
    let totals = db.orders().order_totals(&filter)?;
    let length = (days.1 - days.0).whole_days() + 1;
    let compare = Comparison {
        previous_days: length,
        previous: shifted(db, &filter, length, now)?,
        last_week: shifted(db, &filter, 7, now)?,
    };
    let (acquirers, stores, operators) = (db.setup().acquirers()?, db.setup().stores()?, db.staff().operators()?);
    let names = Names { stores: &stores, acquirers: &acquirers, operators: &operators };
    let mut by_acquirer: Vec<AcquirerSales> = Vec::new();
    let mut by_hour = [HourSales::default(); 24];
    for bucket in db.orders().sales_breakdown(&filter, crate::time::CHINA.whole_seconds())? {
        let hour = &mut by_hour[usize::from(bucket.hour.min(23))];
        hour.count += bucket.count;
        hour.gross = Amount::from_fen(hour.gross.fen() + bucket.paid.fen());
        add_sale(&mut by_acquirer, &names, bucket.acquirer, (bucket.count, bucket.paid, bucket.refunded));
    }
    by_acquirer.sort_by_key(|a| std::cmp::Reverse(a.gross.fen()));
    let id_of = |k: &TotalsKey| match k {
        TotalsKey::Id(i) => *i,
        TotalsKey::Day(_) => 0,
    };
    let by_store = db
        .orders()
        .order_totals_by(&filter, TotalsBy::Store)?
        .into_iter()
        .map(|(k, totals)| names.store_share(StoreId(id_of(&k)), totals))
        .collect();
    let by_cashier = db
        .orders()
        .order_totals_by(&filter, TotalsBy::Operator)?
        .into_iter()
        .map(|(k, totals)| names.cashier_share(Some(OperatorId(id_of(&k))).filter(|o| o.0 != 0), totals))
        .collect();
    let mut by_wallet: Vec<Share> = Vec::new();
    for (k, t) in db.orders().order_totals_by(&filter, TotalsBy::Acquirer)? {
        add_wallet(&mut by_wallet, &names, AcquirerId(id_of(&k)), t);
    }
    Ok(Dashboard { period, compare, by_store, by_cashier, by_wallet, days, filter, totals, by_acquirer, by_hour })
}

/// One group of a period's orders, as a database without the till's running totals (the merchant backend's
/// PostgreSQL) adds them up: one store's, acquirer account's and cashier's orders of one China hour of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    pub store: StoreId,
    pub acquirer: AcquirerId,
    pub operator: Option<OperatorId>,
    /// 0–23, China time.
    pub hour: u8,
    pub totals: OrderTotals,
}

/// The dashboard of `period` at `now` from its orders' [`Bucket`]s and the comparison's totals (read by the caller
/// with [`Period::filter`] moved as [`shifted_filter`] moves it): the same figures [`dashboard_of`] reads from the
/// running totals.
pub fn from_buckets(
    period: Period,
    now: OffsetDateTime,
    narrow: Narrow,
    buckets: &[Bucket],
    compare: Comparison,
    names: Names<'_>,
) -> Dashboard {
    let days = period.days(now);
    let filter = narrow.filter(period.filter(now));
    let mut totals = OrderTotals::default();
    let mut by_hour = [HourSales::default(); 24];
    let mut by_acquirer: Vec<AcquirerSales> = Vec::new();
    let mut stores: Vec<(StoreId, OrderTotals)> = Vec::new();
    let mut cashiers: Vec<(Option<OperatorId>, OrderTotals)> = Vec::new();
    let mut accounts: Vec<(AcquirerId, OrderTotals)> = Vec::new();
    fn add<K: PartialEq + Copy>(list: &mut Vec<(K, OrderTotals)>, key: K, t: OrderTotals) {
        match list.iter_mut().find(|(k, _)| *k == key) {
            Some((_, sum)) => *sum = add_totals(*sum, t),
            None => list.push((key, t)),
        }
    }
    for b in buckets {
        let t = b.totals;
        totals = add_totals(totals, t);
        add(&mut stores, b.store, t);
        add(&mut cashiers, b.operator, t);
        add(&mut accounts, b.acquirer, t);
        if t.paid_count > 0 {
            let hour = &mut by_hour[usize::from(b.hour.min(23))];
            hour.count += t.paid_count;
            hour.gross = Amount::from_fen(hour.gross.fen() + t.paid_amount.fen());
            add_sale(&mut by_acquirer, &names, b.acquirer, (t.paid_count, t.paid_amount, t.refunded_amount));
        }
    }
    by_acquirer.sort_by_key(|a| std::cmp::Reverse(a.gross.fen()));
    stores.sort_by_key(|(id, _)| id.0);
    cashiers.sort_by_key(|(id, _)| id.map_or(0, |o| o.0));
    accounts.sort_by_key(|(id, _)| id.0);
    let by_store = stores.into_iter().map(|(id, t)| names.store_share(id, t)).collect();
    let by_cashier = cashiers.into_iter().map(|(id, t)| names.cashier_share(id, t)).collect();
    let mut by_wallet = Vec::new();
    for (id, t) in accounts {
        add_wallet(&mut by_wallet, &names, id, t);
    }
    Dashboard { period, compare, by_store, by_cashier, by_wallet, days, filter, totals, by_acquirer, by_hour }
}

pub fn add_totals(a: OrderTotals, b: OrderTotals) -> OrderTotals {
    OrderTotals {
        count: a.count + b.count,
        paid_amount: Amount::from_fen(a.paid_amount.fen() + b.paid_amount.fen()),
        refunded_amount: Amount::from_fen(a.refunded_amount.fen() + b.refunded_amount.fen()),
        paid_count: a.paid_count + b.paid_count,
    }
}

/// How a figure moved against the one compared: the change in per mille of the earlier one (None when it was 0).
pub fn change_permille(now: i64, before: i64) -> Option<i64> {
    (before != 0).then(|| ((now - before) * 1000) / before.abs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn presets_are_china_business_days_whatever_the_machines_zone() {
        // Wednesday 2026-11-25 01:30 in China is still Tuesday in UTC.
        let now = datetime!(2026-11-24 17:30 UTC);
        let today = Period::Today.filter(now);
        assert_eq!(today.from.as_deref(), Some("2026-11-24T16:00:00.000000Z"), "25th 00:00 +08");
        assert_eq!(today.to.as_deref(), Some("2026-11-25T16:00:00.000000Z"));
        let yesterday = Period::Yesterday.filter(now);
        assert_eq!(yesterday.from.as_deref(), Some("2026-11-23T16:00:00.000000Z"));
        assert_eq!(yesterday.to.as_deref(), Some("2026-11-24T16:00:00.000000Z"));
        let week = Period::Last7Days.days(now);
        assert_eq!((week.0.to_string(), week.1.to_string()), ("2026-11-19".into(), "2026-11-25".into()));
        let month = Period::ThisMonth.filter(now);
        assert_eq!(month.from.as_deref(), Some("2026-10-31T16:00:00.000000Z"), "1 Nov 00:00 +08");
        let a = time::macros::date!(2026 - 11 - 20);
        let b = time::macros::date!(2026 - 11 - 10);
        assert_eq!(Period::Custom(a, b).days(now), (b, a), "typed backwards");
        // Just before China midnight the day is still the same.
        assert_eq!(Period::Today.days(datetime!(2026-11-25 15:59:59 UTC)).0.to_string(), "2026-11-25");
        assert_eq!(Period::Today.days(datetime!(2026-11-25 16:00:00 UTC)).0.to_string(), "2026-11-26");
    }

    #[test]
    fn compare_and_breakdowns_add_up() {
        let mut db = Store::open_in_memory().unwrap();
        db.orders_mut().seed_varied_orders(4000, 20, 9, &mut |_| {}).unwrap();
        let now = OffsetDateTime::now_utc();
        let d = dashboard(&db, Period::Last7Days, now).unwrap();
        for shares in [&d.by_store, &d.by_cashier, &d.by_wallet] {
            let paid: i64 = shares.iter().map(|s| s.totals.paid_amount.fen()).sum();
            let count: i64 = shares.iter().map(|s| s.totals.count).sum();
            assert_eq!((paid, count), (d.gross().fen(), d.totals.count));
        }
        assert_eq!(d.by_store.len(), 3);
        assert_eq!(d.by_wallet.len(), 3);
        let y = dashboard(&db, Period::Yesterday, now).unwrap();
        assert_eq!(y.compare.previous_days, 1);
        let (first, _) = y.days;
        let before = Period::Custom(first - time::Duration::days(1), first - time::Duration::days(1));
        assert_eq!(y.compare.previous, db.orders().order_totals(&before.filter(now)).unwrap());
        let week_before = Period::Custom(first - time::Duration::days(7), first - time::Duration::days(7));
        assert_eq!(y.compare.last_week, db.orders().order_totals(&week_before.filter(now)).unwrap());
        assert_eq!(change_permille(110, 100), Some(100));
        assert_eq!(change_permille(5, 0), None);
    }

    /// The fold a backend on PostgreSQL uses, fed the orders one by one, gives what the running totals give.
    #[test]
    fn buckets_of_the_orders_give_the_same_figures_as_the_running_totals() {
        use crate::model::OrderStatus;
        let mut db = Store::open_in_memory().unwrap();
        db.orders_mut().seed_varied_orders(3000, 20, 5, &mut |_| {}).unwrap();
        let now = OffsetDateTime::now_utc();
        for narrow in [Narrow::default(), Narrow { store: Some(StoreId(1)), operator: None }] {
            let expected = dashboard_of(&db, Period::Last7Days, now, narrow).unwrap();
            assert!(expected.paid_count() > 0 && expected.refunds().fen() > 0, "refunds are in the sample");
            let orders = db
                .orders()
                .orders_page_at(&expected.filter, crate::store::order_query::OrderSort::NewestFirst, 0, 100_000)
                .unwrap();
            assert_eq!(orders.len() as i64, expected.totals.count);
            let mut buckets: Vec<Bucket> = Vec::new();
            for o in orders {
                let at = OffsetDateTime::parse(&o.created_at, &time::format_description::well_known::Rfc3339).unwrap();
                let paid =
                    matches!(o.status, OrderStatus::Paid | OrderStatus::PartiallyRefunded | OrderStatus::Refunded);
                let t = OrderTotals {
                    count: 1,
                    paid_amount: if paid { o.total_amount } else { Amount::ZERO },
                    refunded_amount: o.refunded_amount,
                    paid_count: i64::from(paid),
                };
                let hour = at.to_offset(crate::time::CHINA).hour();
                let key = (o.store_id, o.acquirer_id, o.operator_id, hour);
                match buckets.iter_mut().find(|b| (b.store, b.acquirer, b.operator, b.hour) == key) {
                    Some(b) => b.totals = add_totals(b.totals, t),
                    None => buckets.push(Bucket {
                        store: o.store_id,
                        acquirer: o.acquirer_id,
                        operator: o.operator_id,
                        hour,
                        totals: t,
                    }),
                }
            }
            let (acquirers, stores, operators) =
                (db.setup().acquirers().unwrap(), db.setup().stores().unwrap(), db.staff().operators().unwrap());
            let names = Names { stores: &stores, acquirers: &acquirers, operators: &operators };
            let mut got = from_buckets(Period::Last7Days, now, narrow, &buckets, expected.compare, names);
            let mut expected = expected;
            for d in [&mut got, &mut expected] {
                d.by_cashier.sort_by_key(|s| format!("{:?}", s.key));
                d.by_wallet.sort_by_key(|s| format!("{:?}", s.key));
                d.by_store.sort_by_key(|s| format!("{:?}", s.key));
                d.by_acquirer.sort_by_key(|a| a.acquirer.0);
            }
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn every_figure_adds_up_to_the_orders_totals() {
        let mut db = Store::open_in_memory().unwrap();
        db.orders_mut().seed_demo_orders(3000, 10, &mut |_| {}).unwrap();
        let d = dashboard(&db, Period::Last7Days, OffsetDateTime::now_utc()).unwrap();
        assert_eq!(d.totals, db.orders().order_totals(&d.filter).unwrap());
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
            compare: Comparison {
                previous_days: 1,
                previous: OrderTotals::default(),
                last_week: OrderTotals::default(),
            },
            by_store: Vec::new(),
            by_cashier: Vec::new(),
            by_wallet: Vec::new(),
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
