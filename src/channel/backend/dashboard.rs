//! The till API's dashboard (`GET /v1/dashboard`): the 概览 figures of a span of China days computed at the merchant
//! backend over every order it holds (all tills, all stores), narrowed to what the operator signed in at the till may
//! see. Amounts travel as yuan text like the rest of the API; the till turns the answer back into the
//! `Dashboard` its screen draws (`crate::dashboard::backend`), so a head office's screen and a till's own are one
//! screen.

use serde::{Deserialize, Serialize};

use crate::model::AcquirerKind;

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
