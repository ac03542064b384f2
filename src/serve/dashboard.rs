//! `GET /v1/dashboard`: the 概览 figures of a span of China days added up at the backend over every till's orders,
//! as the operator signed in at the till may see them (an owner every store, or one asked for; back office the till's
//! store; a cashier the orders they took). On SQLite the till's own dashboard over the backend's file; on PostgreSQL
//! the orders grouped there ([`crate::store::pg::dashboard`]) and made into the same figures.

use super::office::Scope;
use super::{Backend, internal};
use crate::channel::backend::api::ApiError;
use crate::channel::backend::dashboard::{DashboardFigures, DashboardQuery, MAX_DAYS};
use crate::dashboard::{Comparison, Names, Narrow, Period, from_buckets, shifted_filter};
use crate::store::StoreError;
use crate::store::order_query::OrderFilter;

fn day(field: &str, text: &str) -> Result<time::Date, ApiError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text.trim(), &format)
        .map_err(|_| ApiError::BadRequest { field: field.into(), detail: format!("{text:?}: expected YYYY-MM-DD") })
}

impl Backend {
    /// The figures of the China days `q.from` to `q.to` for `scope`.
    pub async fn dashboard(&self, scope: Scope, q: &DashboardQuery) -> Result<DashboardFigures, ApiError> {
        let (first, last) = (day("from", &q.from)?, day("to", &q.to)?);
        if last < first {
            return Err(ApiError::BadRequest { field: "to".into(), detail: format!("{last} is before {first}") });
        }
        if (last - first).whole_days() >= MAX_DAYS {
            return Err(ApiError::BadRequest {
                field: "to".into(),
                detail: format!("at most {MAX_DAYS} days at once"),
            });
        }
        let asked = self.asked_store(q.store.as_deref())?;
        let (store, operator) = scope.narrow(asked)?;
        let narrow = Narrow { store, operator };
        let period = Period::Custom(first, last);
        let now = self.now();
        let d = match self.pg() {
            None => self
                .with_store(|s| crate::dashboard::dashboard_of(s, period, now, narrow))
                .map_err(|e: StoreError| internal(&e))?,
            Some(pg) => {
                let filter = OrderFilter { store, operator, ..period.filter(now) };
                let length = (last - first).whole_days() + 1;
                let buckets = pg.dashboard_buckets(&filter).await.map_err(|e| internal(&e))?;
                let previous = pg.dashboard_totals(&shifted_filter(&filter, length, now)).await;
                let last_week = pg.dashboard_totals(&shifted_filter(&filter, 7, now)).await;
                let compare = Comparison {
                    previous_days: length,
                    previous: previous.map_err(|e| internal(&e))?,
                    last_week: last_week.map_err(|e| internal(&e))?,
                };
                let operators = self.db_operators().await?;
                let (stores, acquirers) = self
                    .with_store(|s| Ok((s.setup().stores()?, s.setup().acquirers()?)))
                    .map_err(|e: StoreError| internal(&e))?;
                let names = Names { stores: &stores, acquirers: &acquirers, operators: &operators };
                from_buckets(period, now, narrow, &buckets, compare, names)
            }
        };
        let store = q.store.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        Ok(DashboardFigures::of(&d, crate::time::format_utc(now), store))
    }
}
