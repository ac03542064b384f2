//! The dashboard of a till enrolled with a merchant backend: the figures are added up there, over every till's
//! orders, as the operator signed in at the till may see them (an owner all stores, back office the till's store, a
//! cashier their own orders), and come back as the same [`Dashboard`] the screen draws. Here too the conversions
//! between a [`Dashboard`] and the till API's shape (the backend answers with [`DashboardFigures::of`]). May import
//! channel (the backend client and the till API's shapes).

use time::OffsetDateTime;

use super::{AcquirerSales, Comparison, Dashboard, HourSales, Period, Share, ShareKey};
use crate::channel::backend::BackendClient;
use crate::channel::backend::dashboard::{
    DashboardAcquirer, DashboardFigures, DashboardHour, DashboardQuery, DashboardShare, Figures, ShareOf,
};
use crate::model::{AcquirerId, OperatorId, StoreId};
use crate::money::Amount;
use crate::recon::backend::RemoteError;
use crate::store::order_query::{OrderFilter, OrderTotals};

/// The figures of `period` at `now` from the backend (`store`: one store's, by its code), and when it added them up
/// (UTC).
pub async fn figures(
    client: &BackendClient,
    period: Period,
    now: OffsetDateTime,
    store: Option<&str>,
) -> Result<(Dashboard, String), RemoteError> {
    let (first, last) = period.days(now);
    let q = DashboardQuery { from: first.to_string(), to: last.to_string(), store: store.map(str::to_owned) };
    let answer = client.dashboard(&q).await?;
    let mut d = Dashboard::try_from(&answer).map_err(|e| RemoteError::Broken(e.to_string()))?;
    d.period = period;
    Ok((d, answer.as_of))
}

impl From<OrderTotals> for Figures {
    fn from(t: OrderTotals) -> Self {
        Figures {
            count: t.count,
            paid_count: t.paid_count,
            paid_amount: t.paid_amount.to_string(),
            refunded_amount: t.refunded_amount.to_string(),
        }
    }
}

/// A figure of the answer that is not an amount (the field named).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the merchant backend's dashboard has {field} = {value:?}, expected {expected}")]
pub struct BadFigure {
    pub field: &'static str,
    pub value: String,
    pub expected: &'static str,
}

fn amount(field: &'static str, text: &str) -> Result<Amount, BadFigure> {
    Amount::parse_signed(text).map_err(|_| BadFigure { field, value: text.to_owned(), expected: "yuan like 12.34" })
}

fn day(field: &'static str, text: &str) -> Result<time::Date, BadFigure> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format).map_err(|_| BadFigure { field, value: text.to_owned(), expected: "YYYY-MM-DD" })
}

impl TryFrom<&Figures> for OrderTotals {
    type Error = BadFigure;
    fn try_from(f: &Figures) -> Result<Self, BadFigure> {
        Ok(OrderTotals {
            count: f.count,
            paid_amount: amount("paid_amount", &f.paid_amount)?,
            refunded_amount: amount("refunded_amount", &f.refunded_amount)?,
            paid_count: f.paid_count,
        })
    }
}

fn share(s: &Share) -> DashboardShare {
    let of = match s.key {
        ShareKey::Store(id) => ShareOf::Store { id: id.0 },
        ShareKey::Cashier(id) => ShareOf::Cashier { id: id.map(|o| o.0) },
        ShareKey::Wallet(wallet) => ShareOf::Wallet { wallet },
    };
    DashboardShare { of, name: s.name.clone(), name_zh: s.name_zh.clone(), figures: s.totals.into() }
}

impl TryFrom<&DashboardShare> for Share {
    type Error = BadFigure;
    fn try_from(s: &DashboardShare) -> Result<Self, BadFigure> {
        let key = match &s.of {
            ShareOf::Store { id } => ShareKey::Store(StoreId(*id)),
            ShareOf::Cashier { id } => ShareKey::Cashier(id.map(OperatorId)),
            ShareOf::Wallet { wallet } => ShareKey::Wallet(*wallet),
        };
        Ok(Share { key, name: s.name.clone(), name_zh: s.name_zh.clone(), totals: (&s.figures).try_into()? })
    }
}

impl DashboardFigures {
    /// The backend's answer for `d`, added up at `as_of` (`store`: the store code asked for).
    pub fn of(d: &Dashboard, as_of: String, store: Option<String>) -> Self {
        DashboardFigures {
            from: d.days.0.to_string(),
            to: d.days.1.to_string(),
            store,
            as_of,
            totals: d.totals.into(),
            previous_days: d.compare.previous_days,
            previous: d.compare.previous.into(),
            last_week: d.compare.last_week.into(),
            by_store: d.by_store.iter().map(share).collect(),
            by_cashier: d.by_cashier.iter().map(share).collect(),
            by_wallet: d.by_wallet.iter().map(share).collect(),
            by_acquirer: d
                .by_acquirer
                .iter()
                .map(|a| DashboardAcquirer {
                    id: a.acquirer.0,
                    name: a.name.clone(),
                    count: a.count,
                    gross: a.gross.to_string(),
                    refunded: a.refunded.to_string(),
                })
                .collect(),
            by_hour: d.by_hour.iter().map(|h| DashboardHour { count: h.count, gross: h.gross.to_string() }).collect(),
        }
    }
}

impl TryFrom<&DashboardFigures> for Dashboard {
    type Error = BadFigure;
    fn try_from(f: &DashboardFigures) -> Result<Self, BadFigure> {
        let days = (day("from", &f.from)?, day("to", &f.to)?);
        let mut by_hour = [HourSales::default(); 24];
        if f.by_hour.len() != 24 {
            return Err(BadFigure { field: "by_hour", value: f.by_hour.len().to_string(), expected: "24 hours" });
        }
        for (slot, h) in by_hour.iter_mut().zip(&f.by_hour) {
            *slot = HourSales { count: h.count, gross: amount("by_hour.gross", &h.gross)? };
        }
        let shares = |list: &[DashboardShare]| list.iter().map(Share::try_from).collect::<Result<Vec<_>, _>>();
        let by_acquirer = f
            .by_acquirer
            .iter()
            .map(|a| {
                Ok(AcquirerSales {
                    acquirer: AcquirerId(a.id),
                    name: a.name.clone(),
                    count: a.count,
                    gross: amount("by_acquirer.gross", &a.gross)?,
                    refunded: amount("by_acquirer.refunded", &a.refunded)?,
                })
            })
            .collect::<Result<Vec<_>, BadFigure>>()?;
        let (from, to) = crate::dashboard::china_days_bounds(days.0, days.1);
        Ok(Dashboard {
            period: Period::Custom(days.0, days.1),
            compare: Comparison {
                previous_days: f.previous_days,
                previous: (&f.previous).try_into()?,
                last_week: (&f.last_week).try_into()?,
            },
            by_store: shares(&f.by_store)?,
            by_cashier: shares(&f.by_cashier)?,
            by_wallet: shares(&f.by_wallet)?,
            days,
            filter: OrderFilter { from: Some(from), to: Some(to), ..OrderFilter::default() },
            totals: (&f.totals).try_into()?,
            by_acquirer,
            by_hour,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_figures_go_over_the_wire_and_back_unchanged() {
        let mut db = crate::store::Store::open_in_memory().unwrap();
        db.orders_mut().seed_varied_orders(600, 5, 3, &mut |_| {}).unwrap();
        let now = time::OffsetDateTime::now_utc();
        let d = crate::dashboard::dashboard(&db, Period::Last7Days, now).unwrap();
        assert!(d.paid_count() > 0 && d.by_store.len() > 1);
        let wire = DashboardFigures::of(&d, crate::time::format_utc(now), None);
        let json = serde_json::to_string(&wire).unwrap();
        let back: DashboardFigures = serde_json::from_str(&json).unwrap();
        assert_eq!(back, wire);
        let mut again = Dashboard::try_from(&back).unwrap();
        assert_eq!(again.period, Period::Custom(d.days.0, d.days.1));
        again.period = d.period;
        assert_eq!(again, d);
        let store = serde_json::to_value(wire.by_store.first().unwrap()).unwrap();
        assert_eq!(store["by"], "store", "{store}");
        assert!(store["id"].is_i64() && store["figures"]["paid_amount"].is_string(), "{store}");

        let mut broken = wire.clone();
        broken.totals.paid_amount = "lots".into();
        let e = Dashboard::try_from(&broken).unwrap_err();
        assert_eq!((e.field, e.value.as_str()), ("paid_amount", "lots"));
        broken = wire;
        broken.by_hour.pop();
        assert_eq!(Dashboard::try_from(&broken).unwrap_err().field, "by_hour");
    }
}
