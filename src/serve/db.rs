//! The backend's persistence, engine chosen by the database URL: [`Database`] says which, [`Shared`] holds it, and
//! the `db_*` methods of [`Backend`] are the one place the two engines meet — the gateway, enrolment, staff and head
//! office call them, never a store directly.
//!
//! - **SQLite** (a path, or `sqlite:PATH`): the whole backend in one file, as in phase 1 ([`crate::store::Store`]).
//! - **PostgreSQL** (`postgres://…`): tills, codes, tokens, orders, refunds, the feed, staff and sessions in the
//!   shared database ([`crate::store::pg::PgStore`]), so several instances serve together; so is the catalogue
//!   (stores, acquirer accounts, routes, settings, the encrypted keys), published in versions
//!   ([`super::catalogue`]) and served by each instance from a copy in its folder.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::{Backend, ServeError};
use crate::model::{Operator, OperatorId, Order, OrderId, Refund, RefundId, RefundStatus, Role, StoreId, Wallet};
use crate::money::Amount;
use crate::store::StoreError;
use crate::store::dynamic::DynamicCodeRow;
use crate::store::operators::{AddOperatorError, AuthError, SetActiveError, VerifyError};
use crate::store::orders::{NewOrder, OrderEvent};
use crate::store::pg::staff::AddRefused;
use crate::store::pg::{PgError, PgStore};
use crate::store::refunds::RefundRefused;
use crate::store::serve::{
    Begun, BegunRefund, FeedEntry, NewShiftReport, Redeemed, ShiftReportFilter, ShiftReportRow, Till, TillId,
};
use crate::store::transitions::{OrderMove, OrderMoved};

/// How long a payment or refund in flight is leased to the instance sending it (recovery elsewhere waits).
pub const WORK_LEASE: time::Duration = time::Duration::minutes(2);

/// Which database a backend runs on, from `--database` / `TILLDESK_DATABASE_URL`.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    /// The URL (it may carry a password: never shown by `Debug`).
    Postgres(String),
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            Database::Postgres(url) => f.debug_tuple("Postgres").field(&redact(url)).finish(),
        }
    }
}

/// A PostgreSQL URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    match rest.split_once('@') {
        Some((user, host)) => {
            let user = user.split_once(':').map_or(user, |(u, _)| u);
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

impl Database {
    /// `text` as a database: a path or `sqlite:PATH` is a SQLite file, `postgres://` / `postgresql://` PostgreSQL;
    /// nothing given: `serve.sqlite3` in `dir`.
    pub fn parse(text: Option<&str>, dir: &Path) -> Result<Database, ServeError> {
        let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(Database::Sqlite(dir.join(super::DATABASE_FILE)));
        };
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Ok(Database::Postgres(text.to_owned()));
        }
        if lower.contains("://") {
            return Err(ServeError::DatabaseUrl(redact(text)));
        }
        Ok(Database::Sqlite(PathBuf::from(text.strip_prefix("sqlite:").unwrap_or(text))))
    }

    /// For messages: the file, or the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(p) => p.display().to_string(),
            Database::Postgres(url) => redact(url),
        }
    }
}

/// Where the backend's shared state lives.
#[derive(Debug, Clone)]
pub(crate) enum Shared {
    /// In the SQLite file of [`Backend::db`], with the catalogue.
    Sqlite,
    Postgres(PgStore),
}

/// A failure of either engine.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Sqlite(#[from] StoreError),
    #[error(transparent)]
    Postgres(#[from] PgError),
    #[error("{0} does not run on PostgreSQL yet (see docs/BACKEND.md)")]
    NotOnPostgres(&'static str),
}

/// Why an operator was not added.
pub(crate) enum AddFailed {
    Auth(AuthError),
    Taken(String),
    Db(DbError),
}

impl From<AddOperatorError> for AddFailed {
    fn from(e: AddOperatorError) -> Self {
        match e {
            AddOperatorError::Auth(a) => AddFailed::Auth(a),
            AddOperatorError::Taken(n) => AddFailed::Taken(n),
            AddOperatorError::Store(s) => AddFailed::Db(s.into()),
        }
    }
}

impl Backend {
    pub(crate) fn pg(&self) -> Option<&PgStore> {
        match &self.shared {
            Shared::Postgres(pg) => Some(pg),
            Shared::Sqlite => None,
        }
    }

    fn sqlite<T>(&self, f: impl FnOnce(&mut crate::store::Store) -> Result<T, StoreError>) -> Result<T, DbError> {
        Ok(self.with_store(f)?)
    }

    fn lease_until(&self) -> OffsetDateTime {
        self.now() + WORK_LEASE
    }

    pub(crate) async fn db_add_till(
        &self,
        store: (StoreId, &str),
        name: &str,
        code_hash: &str,
        expires: OffsetDateTime,
    ) -> Result<Till, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.add_till(store.0, store.1, name, code_hash, expires).await?),
            None => {
                self.sqlite(|s| s.backend_mut().add_till(store.0, name, code_hash, &crate::time::format_utc(expires)))
            }
        }
    }

    pub(crate) async fn db_tills(&self) -> Result<Vec<Till>, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.tills().await?),
            None => self.sqlite(|s| s.backend().tills()),
        }
    }

    pub(crate) async fn db_till(&self, id: TillId) -> Result<Option<Till>, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.till(id).await?),
            None => self.sqlite(|s| s.backend().till(id)),
        }
    }

    pub(crate) async fn db_revoke_till(&self, id: TillId) -> Result<bool, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.revoke_till(id).await?),
            None => self.sqlite(|s| s.backend_mut().revoke_till(id)),
        }
    }

    pub(crate) async fn db_redeem(
        &self,
        code_hash: &str,
        now: OffsetDateTime,
        token_hash: &str,
    ) -> Result<Redeemed, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.redeem_enrolment_code(code_hash, now, token_hash).await?),
            None => self.sqlite(|s| {
                s.backend_mut().redeem_enrolment_code(code_hash, &crate::time::format_utc(now), token_hash)
            }),
        }
    }

    pub(crate) async fn db_till_by_token(&self, token_hash: &str) -> Result<Option<Till>, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.till_by_token(token_hash).await?),
            None => self.sqlite(|s| s.backend().till_by_token(token_hash)),
        }
    }

    pub(crate) async fn db_touch_till(&self, id: TillId, now: OffsetDateTime, gap: i64) -> Result<(), DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.touch_till(id, now, gap).await?),
            None => self.sqlite(|s| s.backend_mut().touch_till(id, now, gap)),
        }
    }

    pub(crate) async fn db_order(&self, id: OrderId) -> Result<Option<Order>, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.order(id).await?),
            None => self.sqlite(|s| s.orders().order(id)),
        }
    }

    pub(crate) async fn db_order_by_number(&self, out_trade_no: &str) -> Result<Option<Order>, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.order_by_out_trade_no(out_trade_no).await?),
            None => self.sqlite(|s| s.orders().order_by_out_trade_no(out_trade_no)),
        }
    }

    pub(crate) async fn db_order_till(&self, id: OrderId) -> Result<Option<TillId>, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.order_till(id).await?),
            None => self.sqlite(|s| s.backend().order_till(id)),
        }
    }

    /// Whether the order is a till's history (taken before the till joined; never sent to an acquirer from here).
    pub(crate) async fn db_is_history_order(&self, id: OrderId) -> Result<bool, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.is_history_order(id).await?),
            None => self.sqlite(|s| s.orders().is_history_order(id)),
        }
    }

    /// Records a till's order from before it joined (see `store::pulled::record_history_order`).
    pub(crate) async fn db_record_history_order(
        &self,
        till: TillId,
        order: &crate::store::pulled::PulledOrder,
    ) -> Result<crate::store::pulled::HistoryRecord, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.record_history_order(till, order).await?),
            None => self.sqlite(|s| s.orders_mut().record_history_order(till, order)),
        }
    }

    pub(crate) async fn db_refund_till(&self, id: RefundId) -> Result<Option<TillId>, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.refund_till(id).await?),
            None => self.sqlite(|s| s.backend().refund_till(id)),
        }
    }

    /// Write-ahead of a till's payment (leased to this instance on PostgreSQL while it is sent).
    pub(crate) async fn db_begin_order(&self, till: TillId, new: &NewOrder) -> Result<Begun, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.begin_till_order(till, new, &self.instance, self.lease_until()).await?),
            None => self.sqlite(|s| s.backend_mut().begin_till_order(till, new)),
        }
    }

    /// Writes a dynamic-code order (主扫) ahead with its `dynamic_codes` row (on PostgreSQL leased until the code
    /// expires: the till that shows it polls it until then).
    pub(crate) async fn db_begin_dynamic_order(
        &self,
        till: TillId,
        new: &NewOrder,
        wallet: Wallet,
        expires_at: OffsetDateTime,
    ) -> Result<Begun, DbError> {
        match self.pg() {
            Some(pg) => {
                let until = self.lease_until().max(expires_at + WORK_LEASE);
                Ok(pg.begin_dynamic_order(till, new, wallet, expires_at, &self.instance, until).await?)
            }
            None => {
                let expires = crate::time::format_utc(expires_at);
                self.sqlite(|s| s.backend_mut().begin_dynamic_order(till, new, wallet, &expires))
            }
        }
    }

    /// The dynamic-code row of an order; None for any other order.
    pub(crate) async fn db_dynamic_code(&self, id: OrderId) -> Result<Option<DynamicCodeRow>, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.dynamic_code(id).await?),
            None => self.sqlite(|s| s.orders().dynamic_code(id)),
        }
    }

    /// Records the code the acquirer made (never replaced); the code on record.
    pub(crate) async fn db_set_dynamic_code(&self, id: OrderId, code: &str) -> Result<String, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.set_dynamic_code(id, code).await?),
            None => self.sqlite(|s| s.orders_mut().set_dynamic_code(id, code)),
        }
    }

    /// Records a shift report once; its id and whether it is new.
    pub(crate) async fn db_record_shift_report(&self, r: &NewShiftReport) -> Result<(i64, bool), DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.record_shift_report(r).await?),
            None => self.sqlite(|s| s.backend_mut().record_shift_report(r)),
        }
    }

    pub(crate) async fn db_shift_reports(&self, filter: &ShiftReportFilter) -> Result<Vec<ShiftReportRow>, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.shift_reports(filter).await?),
            None => self.sqlite(|s| s.backend().shift_reports(filter)),
        }
    }

    /// Moves an order through the transition function of its engine.
    pub(crate) async fn db_move_order(&self, id: OrderId, m: &OrderMove<'_>) -> Result<OrderMoved, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.move_order(id, m).await?),
            None => self.sqlite(|s| s.orders_mut().move_order(id, m)),
        }
    }

    pub(crate) async fn db_order_event(&self, id: OrderId, kind: &str, detail: &str) -> Result<(), DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.add_order_event(id, kind, detail).await?),
            None => self.sqlite(|s| s.orders_mut().add_order_event(id, kind, detail)),
        }
    }

    pub(crate) async fn db_order_events(&self, id: OrderId) -> Result<Vec<OrderEvent>, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.order_events(id).await?),
            None => self.sqlite(|s| s.orders().order_events(id)),
        }
    }

    pub(crate) async fn db_close_number(&self, till: TillId, out_trade_no: &str) -> Result<Option<Order>, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.close_number_unless_ordered(till, out_trade_no).await?),
            None => self.sqlite(|s| s.backend_mut().close_number_unless_ordered(till, out_trade_no)),
        }
    }

    /// A confirmed cancel settles any queued retry of it (the SQLite engine's outbox; PostgreSQL has none).
    pub(crate) async fn db_cancel_delivered(&self, out_trade_no: &str) -> Result<(), DbError> {
        match self.pg() {
            Some(_) => Ok(()),
            None => self.sqlite(|s| {
                s.sync_mut().mark_outbox_delivered(&format!("cancel:{out_trade_no}"))?;
                s.sync_mut().mark_outbox_delivered(&format!("reverse:{out_trade_no}"))
            }),
        }
    }

    pub(crate) async fn db_refund(&self, id: RefundId) -> Result<Option<Refund>, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.refund(id).await?),
            None => self.sqlite(|s| s.refunds().refund(id)),
        }
    }

    pub(crate) async fn db_refund_by_number(&self, out_request_no: &str) -> Result<Option<Refund>, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.refund_by_out_request_no(out_request_no).await?),
            None => self.sqlite(|s| s.refunds().refund_by_out_request_no(out_request_no)),
        }
    }

    pub(crate) async fn db_refunds_of(&self, id: OrderId) -> Result<Vec<Refund>, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.refunds_of(id).await?),
            None => self.sqlite(|s| s.refunds().refunds_of(id)),
        }
    }

    /// Write-ahead of a till's refund: the outer error is the database's, the inner one why it is refused.
    pub(crate) async fn db_begin_refund(
        &self,
        till: TillId,
        numbers: (&str, &str),
        amount: Amount,
        reason: &str,
    ) -> Result<Result<BegunRefund, RefundRefused>, DbError> {
        let (out_trade_no, out_request_no) = numbers;
        match self.pg() {
            Some(pg) => {
                let lease = (self.instance.as_str(), self.lease_until());
                Ok(pg.begin_till_refund(till, out_trade_no, out_request_no, amount, reason, lease).await?)
            }
            None => {
                match self.with_store(|s| {
                    Ok(s.backend_mut().begin_till_refund(till, out_trade_no, out_request_no, amount, reason))
                }) {
                    Ok(Err(RefundRefused::Store(e))) | Err(e) => Err(DbError::Sqlite(e)),
                    Ok(other) => Ok(other),
                }
            }
        }
    }

    /// Moves a refund through the transition function of its engine.
    pub(crate) async fn db_move_refund(&self, id: RefundId, to: RefundStatus, detail: &str) -> Result<(), DbError> {
        match self.pg() {
            Some(pg) => pg.move_refund(id, to, detail).await.map(|_| ()).map_err(DbError::from),
            None => self.sqlite(|s| s.refunds_mut().set_refund_status(id, to, detail)).map(|_| ()),
        }
    }

    pub(crate) async fn db_order_feed(
        &self,
        store: Option<StoreId>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<FeedEntry>, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.order_feed(store, after, limit).await?),
            None => self.sqlite(|s| s.backend().order_feed(store, after, limit)),
        }
    }

    pub(crate) async fn db_operators(&self) -> Result<Vec<Operator>, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.operators().await?),
            None => self.sqlite(|s| s.staff().operators()),
        }
    }

    pub(crate) async fn db_operator(&self, id: OperatorId) -> Result<Option<Operator>, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.operator(id).await?),
            None => self.sqlite(|s| s.staff().operator(id)),
        }
    }

    pub(crate) async fn db_has_owner(&self) -> Result<bool, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.has_owner().await?),
            None => self.sqlite(|s| s.staff().has_owner()),
        }
    }

    /// Checks a PIN (with the lockout): the outer error is the database's.
    pub(crate) async fn db_verify_pin(&self, name: &str, pin: &str) -> Result<Result<Operator, AuthError>, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.verify_pin(name, pin, self.now()).await?),
            None => match self.with_store(|s| Ok::<_, StoreError>(s.staff_mut().verify_pin(name, pin)))? {
                Ok(op) => Ok(Ok(op)),
                Err(VerifyError::Auth(e)) => Ok(Err(e)),
                Err(VerifyError::Store(e)) => Err(DbError::Sqlite(e)),
            },
        }
    }

    pub(crate) async fn db_add_operator(
        &self,
        name: &str,
        role: Role,
        pin: &str,
        by: Option<OperatorId>,
    ) -> Result<Operator, AddFailed> {
        match self.pg() {
            Some(pg) => match pg.add_operator(name, role, pin, by).await {
                Ok(Ok(op)) => Ok(op),
                Ok(Err(AddRefused::Auth(e))) => Err(AddFailed::Auth(e)),
                Ok(Err(AddRefused::Taken(n))) => Err(AddFailed::Taken(n)),
                Err(e) => Err(AddFailed::Db(e.into())),
            },
            None => match self.with_store(|s| Ok::<_, StoreError>(s.staff_mut().add_operator(name, role, pin, by))) {
                Ok(Ok(op)) => Ok(op),
                Ok(Err(AddOperatorError::Auth(e))) => Err(AddFailed::Auth(e)),
                Ok(Err(AddOperatorError::Taken(n))) => Err(AddFailed::Taken(n)),
                Ok(Err(AddOperatorError::Store(e))) | Err(e) => Err(AddFailed::Db(e.into())),
            },
        }
    }

    pub(crate) async fn db_add_session(
        &self,
        token_hash: &str,
        till: TillId,
        operator: OperatorId,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<(), DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.add_operator_session(token_hash, till, operator, now, until).await?),
            None => {
                let (at, until) = (crate::time::format_utc(now), crate::time::format_utc(until));
                self.sqlite(|s| s.backend_mut().add_operator_session(token_hash, till, operator, &at, &until))
            }
        }
    }

    /// Gives operator `id` a new PIN; `Ok(Err(..))`: refused (a bad PIN, an unknown operator).
    pub(crate) async fn db_change_pin(
        &self,
        id: OperatorId,
        new_pin: &str,
        by: Option<OperatorId>,
    ) -> Result<Result<Operator, AddOperatorError>, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.change_pin(id, new_pin, by).await?.map_err(AddOperatorError::Auth)),
            None => self.sqlite(|s| {
                let Some(op) = s.staff().operator(id)?.filter(|o| o.active) else {
                    return Ok(Err(AddOperatorError::Auth(AuthError::NameOrPin)));
                };
                match s.staff_mut().change_pin(id, new_pin, by) {
                    Ok(()) => Ok(Ok(op)),
                    Err(AddOperatorError::Store(e)) => Err(e),
                    Err(refused) => Ok(Err(refused)),
                }
            }),
        }
    }

    /// Deactivates or reactivates operator `name` (their sessions end with a deactivation); `Ok(Err(..))`: refused.
    pub(crate) async fn db_set_active(
        &self,
        name: &str,
        active: bool,
        by: Option<OperatorId>,
    ) -> Result<Result<Operator, SetActiveError>, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.set_operator_active(name, active, by).await?),
            None => self.sqlite(|s| match s.staff_mut().set_active(name, active, by) {
                Ok(op) => Ok(Ok(op)),
                Err(SetActiveError::Store(e)) => Err(e),
                Err(refused) => Ok(Err(refused)),
            }),
        }
    }

    pub(crate) async fn db_end_session(&self, token_hash: &str, till: TillId) -> Result<bool, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.end_operator_session(token_hash, till).await?),
            None => self.sqlite(|s| s.backend_mut().end_operator_session(token_hash, till)),
        }
    }

    pub(crate) async fn db_session(
        &self,
        token_hash: &str,
        till: TillId,
        now: OffsetDateTime,
    ) -> Result<Option<OperatorId>, DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.operator_session(token_hash, till, now).await?),
            None => self.sqlite(|s| s.backend().operator_session(token_hash, till, &crate::time::format_utc(now))),
        }
    }

    pub(crate) async fn db_audit(&self, by: Option<OperatorId>, action: &str, subject: &str) -> Result<(), DbError> {
        match self.pg() {
            Some(pg) => Ok(pg.audit(by, action, subject).await?),
            None => self.sqlite(|s| s.staff_mut().audit(by, action, subject, None, None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_chooses_the_engine_and_passwords_are_never_shown() {
        let dir = Path::new("/data");
        assert_eq!(Database::parse(None, dir).unwrap(), Database::Sqlite(dir.join("serve.sqlite3")));
        assert_eq!(Database::parse(Some("sqlite:/x/b.db"), dir).unwrap(), Database::Sqlite("/x/b.db".into()));
        assert_eq!(Database::parse(Some("b.db"), dir).unwrap(), Database::Sqlite("b.db".into()));
        let pg = Database::parse(Some("postgres://till:s3cret@db:5432/chain"), dir).unwrap();
        assert!(matches!(&pg, Database::Postgres(u) if u.contains("s3cret")));
        assert_eq!(pg.describe(), "postgres://till:***@db:5432/chain");
        assert!(!format!("{pg:?}").contains("s3cret"));
        assert!(matches!(Database::parse(Some("postgresql://db/x"), dir).unwrap(), Database::Postgres(_)));
        assert!(matches!(Database::parse(Some("mysql://db/x"), dir), Err(ServeError::DatabaseUrl(_))));
    }
}
