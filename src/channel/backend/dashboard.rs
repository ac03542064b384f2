//! The till API's dashboard (`GET /v1/dashboard`): the 概览 figures of a span of China days computed at the merchant
//! backend over every order it holds (all tills, all stores), narrowed to what the operator signed in at the till may
//! see. Amounts travel as yuan text like the rest of the API; the till turns the answer back into the
//! [`Dashboard`] its screen draws ([`TryFrom`]), so a head office's screen and a till's own are one screen.

use serde::{Deserialize, Serialize};

use crate::dashboard::{AcquirerSales, Comparison, Dashboard, HourSales, Period, Share, ShareKey};
use crate::model::{AcquirerId, AcquirerKind, OperatorId, StoreId};
use crate::money::Amount;
use crate::store::order_query::{OrderFilter, OrderTotals};

/// `GET /v1/dashboard?from=YYYY-MM-DD&to=YYYY-MM-DD[&store=S001]`: China days, both included (at most
/// [`MAX_DAYS`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardQuery {
    pub from: String,
    pub to: String,
    /// A store code: one store's figures (an owner's choice; back office and cashiers get their store anyway).
    #[serde(default)]
    pub store: Option<String>,
}

/// The longest span the backend adds up at once.
pub const MAX_DAYS: i64 = 366;

/// A count and sums of orders.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// Orders of every status.
    pub count: i64,
    /// Paid (or since refunded) orders and their amount.
    pub paid_count: i64,
    pub paid_amount: String,
    pub refunded_amount: String,
}

/// What a share is a share of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum ShareOf {
    /// A store (the backend's id; its code and name are the share's name).
    Store {
        id: i64,
    },
    /// A cashier (None: orders taken with nobody signed in).
    Cashier {
        id: Option<i64>,
    },
    Wallet {
        wallet: AcquirerKind,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardShare {
    #[serde(flatten)]
    pub of: ShareOf,
    /// "S001 Main Street" for a store, the cashier's name, empty for a wallet.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub name_zh: String,
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardAcquirer {
    /// The backend's acquirer account id.
    pub id: i64,
    pub name: String,
    pub count: i64,
    pub gross: String,
    pub refunded: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardHour {
    pub count: i64,
    pub gross: String,
}

/// The answer: the period's figures, the same span a step and a week back, and the shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardFigures {
    pub from: String,
    pub to: String,
    /// The store asked for, when one was.
    #[serde(default)]
    pub store: Option<String>,
    /// When the backend added them up (UTC).
    pub as_of: String,
    pub totals: Figures,
    /// How many days back `previous` is.
    pub previous_days: i64,
    pub previous: Figures,
    pub last_week: Figures,
    pub by_store: Vec<DashboardShare>,
    pub by_cashier: Vec<DashboardShare>,
    pub by_wallet: Vec<DashboardShare>,
    pub by_acquirer: Vec<DashboardAcquirer>,
    /// 24 hours of day, China time.
    pub by_hour: Vec<DashboardHour>,
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
