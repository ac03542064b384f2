//! Shifts (交接班) and the day close (日结).
//!
//! A cashier's shift belongs to a store, this till's terminal and the cashier; signing in as a cashier opens it,
//! closing it at the handover computes its summary and freezes it (stored as JSON), so that a reprint months later
//! gives the same slip. The summary counts the orders that operator took at that till between open and close, per
//! wallet (paid, refunded — refunds of those orders made before the close — and the net), lists the orders still
//! open, and compares the previous close of this till with the same figures computed now (payments confirmed and
//! refunds made since). The day close does the same for a store's China business day: every order of the store
//! that day (sales with nobody signed in too), the shifts of the day (still-open ones are closed first), frozen,
//! once per day unless an owner reopens it.
//!
//! No egui, no SQL: the store reads and writes (`crate::store::shifts`).

pub mod export;
pub mod summary;

use serde::{Deserialize, Serialize};

use crate::config::ThisTill;
use crate::model::{Operator, OperatorId, Role, StoreId};
use crate::store::shifts::{DayCloseRow, SaleScope, ShiftRow, Taker};
use crate::store::{Store, StoreError};
pub use summary::{Change, Field, Figures, OpenOrder, WalletFigures};

/// What goes wrong with a shift or a day close (the UI phrases each kind).
#[derive(Debug, thiserror::Error)]
pub enum ShiftError {
    #[error("{operator} has no open shift at this till")]
    NoOpenShift { operator: String },
    #[error("there is no shift {id}")]
    UnknownShift { id: i64 },
    #[error("there is no day close {id}")]
    UnknownDayClose { id: i64 },
    #[error("shift {id} was closed already")]
    AlreadyClosed { id: i64 },
    #[error("{by} may not close {operator}'s shift: sign in as {operator}, an owner or back office")]
    NotYours { by: String, operator: String },
    #[error("closing a shift needs the operator signed in")]
    NotSignedIn,
    #[error("closing the day needs an owner or back office signed in")]
    DayCloseNotAllowed,
    #[error("{day} at store {store} was closed at {closed_at}: an owner must reopen it first")]
    DayClosed { store: String, day: String, closed_at: String },
    #[error("{day} at store {store} is not closed")]
    DayNotClosed { store: String, day: String },
    #[error("only an owner may reopen a closed day")]
    ReopenNotAllowed,
    #[error("{given:?} is not a day: use YYYY-MM-DD")]
    BadDay { given: String },
    #[error("the stored summary of {what} cannot be read: {detail}")]
    Corrupt { what: String, detail: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type Result<T, E = ShiftError> = std::result::Result<T, E>;

/// The previous close of this till, compared with now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousClose {
    pub shift_id: i64,
    pub operator: String,
    pub closed_at: String,
    /// Empty when nothing changed since.
    pub changes: Vec<Change>,
}

/// A shift's handover summary (frozen at close; a running one while open).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftSummary {
    pub shift_id: i64,
    pub store_code: String,
    pub store_name: String,
    /// This till's terminal id ('' when it has none).
    pub terminal_id: String,
    pub operator: String,
    pub opened_at: String,
    /// When it was closed; for a running summary, when it was computed.
    pub closed_at: String,
    pub closed: bool,
    /// Who closed it (the operator, an owner or back office, or the day close).
    pub closed_by: String,
    pub figures: Figures,
    pub open_orders: Vec<OpenOrder>,
    pub previous: Option<PreviousClose>,
}

/// One shift on a day close.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayShift {
    pub shift_id: i64,
    pub operator: String,
    pub terminal_id: String,
    pub opened_at: String,
    pub closed_at: String,
    pub paid_count: i64,
    pub paid_fen: i64,
    pub refund_fen: i64,
    pub net_fen: i64,
}

/// A store's day close (日结), frozen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaySummary {
    pub store_code: String,
    pub store_name: String,
    /// The China business day, YYYY-MM-DD.
    pub business_day: String,
    pub closed_at: String,
    pub closed_by: String,
    /// Every order of the store that day.
    pub figures: Figures,
    /// Of which taken with nobody signed in (in no shift).
    pub no_operator: Figures,
    pub shifts: Vec<DayShift>,
    /// Shifts still open that this day close closed.
    pub closed_shifts: Vec<i64>,
    pub open_orders: Vec<OpenOrder>,
}

/// A shift in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShiftLine {
    pub id: i64,
    pub store_code: String,
    pub terminal_id: String,
    pub operator: String,
    pub opened_at: String,
    pub closed_at: Option<String>,
    /// Frozen figures once closed; computed now while open.
    pub figures: Figures,
}

/// A day close in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayLine {
    pub id: i64,
    pub store_code: String,
    pub business_day: String,
    pub closed_at: String,
    pub reopened_at: Option<String>,
    pub figures: Figures,
}

/// A shift opened (or found open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub shift_id: i64,
    pub opened_at: String,
    /// False: it was open already.
    pub created: bool,
}

fn store_words(db: &Store, id: StoreId) -> Result<(String, String)> {
    let s = db.setup().store(id)?.ok_or(StoreError::NotFound { what: "store", key: id.to_string() })?;
    let name = [&s.name_zh, &s.name, &s.store_code].into_iter().map(|n| n.trim()).find(|n| !n.is_empty());
    Ok((s.store_code.clone(), name.unwrap_or_default().to_owned()))
}

fn terminal(till: &ThisTill) -> &str {
    till.terminal_id.as_deref().unwrap_or("")
}

fn parse<T: serde::de::DeserializeOwned>(text: &str, what: String) -> Result<T> {
    serde_json::from_str(text).map_err(|e| ShiftError::Corrupt { what, detail: e.to_string() })
}

fn freeze<T: Serialize>(value: &T, what: String) -> Result<String> {
    serde_json::to_string(value).map_err(|e| ShiftError::Corrupt { what, detail: e.to_string() })
}

/// Opens `operator`'s shift at this till, or finds the one already open.
pub fn open(db: &mut Store, till: &ThisTill, operator: &Operator, now: &str) -> Result<Opened> {
    let (row, created) = db.shifts_mut().open_shift(till.store_id, terminal(till), operator.id, now)?;
    Ok(Opened { shift_id: row.id, opened_at: row.opened_at, created })
}

/// What signing in does: a cashier's shift opens when none is open (other roles open one only when asked).
pub fn on_sign_in(db: &mut Store, till: &ThisTill, operator: &Operator, now: &str) -> Result<Option<Opened>> {
    if operator.role != Role::Cashier {
        return Ok(None);
    }
    open(db, till, operator, now).map(Some)
}

/// The open shift of `operator` at this till.
pub fn open_shift_of(db: &Store, till: &ThisTill, operator: OperatorId) -> Result<Option<ShiftRow>> {
    Ok(db.shifts().open_shift_of(till.store_id, terminal(till), operator)?)
}

fn shift_scope<'a>(row: &'a ShiftRow, to: &'a str, refunds_before: Option<&'a str>) -> SaleScope<'a> {
    SaleScope {
        store_id: row.store_id,
        terminal_id: Some(&row.terminal_id),
        taker: Taker::Operator(row.operator_id),
        from: &row.opened_at,
        to,
        refunds_before,
    }
}

/// A shift's summary: the frozen one once closed, else computed up to `now` (the previous close compared too).
pub fn summary_of(db: &Store, id: i64, now: &str) -> Result<ShiftSummary> {
    let row = db.shifts().shift(id)?.ok_or(ShiftError::UnknownShift { id })?;
    match &row.summary {
        Some(frozen) => parse(frozen, format!("shift {id}")),
        None => compute(db, &row, now, ""),
    }
}

fn compute(db: &Store, row: &ShiftRow, until: &str, closed_by: &str) -> Result<ShiftSummary> {
    let facts = db.shifts().sale_facts(&shift_scope(row, until, Some(until)))?;
    let (store_code, store_name) = store_words(db, row.store_id)?;
    let previous = match db.shifts().previous_closed_shift(row.store_id, &row.terminal_id, until, row.id)? {
        Some(prev) => Some(previous_close(db, &prev, until)?),
        None => None,
    };
    Ok(ShiftSummary {
        shift_id: row.id,
        store_code,
        store_name,
        terminal_id: row.terminal_id.clone(),
        operator: row.operator_name.clone(),
        opened_at: row.opened_at.clone(),
        closed_at: until.to_owned(),
        closed: !closed_by.is_empty(),
        closed_by: closed_by.to_owned(),
        figures: summary::figures(&facts),
        open_orders: summary::open_orders(&facts),
        previous,
    })
}

/// The previous closed shift's frozen figures against the same figures computed at `now`.
fn previous_close(db: &Store, prev: &ShiftRow, now: &str) -> Result<PreviousClose> {
    let frozen: ShiftSummary = match &prev.summary {
        Some(text) => parse(text, format!("shift {}", prev.id))?,
        None => return Err(ShiftError::Corrupt { what: format!("shift {}", prev.id), detail: "no summary".into() }),
    };
    let closed_at = prev.closed_at.clone().unwrap_or_default();
    let facts = db.shifts().sale_facts(&shift_scope(prev, &closed_at, Some(now)))?;
    Ok(PreviousClose {
        shift_id: prev.id,
        operator: prev.operator_name.clone(),
        closed_at,
        changes: summary::changes(&frozen.figures, &summary::figures(&facts)),
    })
}

/// Closes shift `id` at `now` as `by` (its operator, an owner or back office; None only before any owner exists)
/// and returns its frozen summary.
pub fn close(db: &mut Store, id: i64, by: Option<&Operator>, now: &str) -> Result<ShiftSummary> {
    let row = db.shifts().shift(id)?.ok_or(ShiftError::UnknownShift { id })?;
    if row.closed_at.is_some() {
        return Err(ShiftError::AlreadyClosed { id });
    }
    let by_name = match by {
        Some(op) if op.id == row.operator_id || matches!(op.role, Role::Owner | Role::BackOffice) => op.name.clone(),
        Some(op) => return Err(ShiftError::NotYours { by: op.name.clone(), operator: row.operator_name.clone() }),
        None if db.staff().has_owner()? => return Err(ShiftError::NotSignedIn),
        None => row.operator_name.clone(),
    };
    close_row(db, &row, by.map(|o| o.id), &by_name, now)
}

fn close_row(db: &mut Store, row: &ShiftRow, by: Option<OperatorId>, by_name: &str, now: &str) -> Result<ShiftSummary> {
    let summary = compute(db, row, now, by_name)?;
    let text = freeze(&summary, format!("shift {}", row.id))?;
    if !db.shifts_mut().close_shift(row.id, now, by, &text)? {
        return Err(ShiftError::AlreadyClosed { id: row.id });
    }
    Ok(summary)
}

/// Closes `operator`'s open shift at this till (signed in as themselves).
pub fn close_mine(db: &mut Store, till: &ThisTill, operator: &Operator, now: &str) -> Result<ShiftSummary> {
    let row = open_shift_of(db, till, operator.id)?
        .ok_or_else(|| ShiftError::NoOpenShift { operator: operator.name.clone() })?;
    close(db, row.id, Some(operator), now)
}

/// The UTC bounds of a China business day.
pub fn day_bounds(day: time::Date) -> (String, String) {
    crate::time::local_day_bounds(day, crate::time::CHINA)
}

/// Reads "YYYY-MM-DD".
pub fn parse_day(text: &str) -> Result<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text.trim(), &format).map_err(|_| ShiftError::BadDay { given: text.trim().to_owned() })
}

/// A day as "YYYY-MM-DD".
pub fn day_text(day: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", day.year(), u8::from(day.month()), day.day())
}

/// Today in China.
pub fn today() -> time::Date {
    crate::time::china_date(time::OffsetDateTime::now_utc())
}

/// What closing a day would do: the shifts it would close first, and whether the day is closed already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayPlan {
    pub open_shifts: Vec<ShiftLine>,
    pub closed: Option<DayCloseRow>,
}

/// What closing `day` at `store_id` would do (nothing is changed).
pub fn day_plan(db: &Store, store_id: StoreId, day: time::Date, now: &str) -> Result<DayPlan> {
    let (from, to) = day_bounds(day);
    let mut open_shifts = Vec::new();
    for row in db.shifts().shifts_overlapping(store_id, &from, &to)?.into_iter().filter(|r| r.closed_at.is_none()) {
        open_shifts.push(line_of(db, &row, now)?);
    }
    Ok(DayPlan { open_shifts, closed: db.shifts().day_close_of(store_id, &day_text(day))? })
}

fn may_close_day(db: &Store, by: Option<&Operator>) -> Result<()> {
    match by {
        Some(op) if matches!(op.role, Role::Owner | Role::BackOffice) => Ok(()),
        Some(_) => Err(ShiftError::DayCloseNotAllowed),
        None if db.staff().has_owner()? => Err(ShiftError::DayCloseNotAllowed),
        None => Ok(()),
    }
}

/// Closes `day` at `store_id` as `by` (owner or back office): closes the shifts of the day still open, then freezes
/// the day's summary. Refused when the day is closed already. Returns the day close's id and summary.
pub fn close_day(
    db: &mut Store,
    store_id: StoreId,
    day: time::Date,
    by: Option<&Operator>,
    now: &str,
) -> Result<(i64, DaySummary)> {
    may_close_day(db, by)?;
    let (store_code, store_name) = store_words(db, store_id)?;
    let day_words = day_text(day);
    if let Some(closed) = db.shifts().day_close_of(store_id, &day_words)? {
        return Err(ShiftError::DayClosed { store: store_code, day: day_words, closed_at: closed.closed_at });
    }
    let (from, to) = day_bounds(day);
    let by_name = by.map_or_else(|| "—".to_owned(), |o| o.name.clone());
    let mut closed_shifts = Vec::new();
    for row in db.shifts().shifts_overlapping(store_id, &from, &to)?.into_iter().filter(|r| r.closed_at.is_none()) {
        close_row(db, &row, by.map(|o| o.id), &by_name, now)?;
        closed_shifts.push(row.id);
    }
    let mut shifts = Vec::new();
    for row in db.shifts().shifts_overlapping(store_id, &from, &to)? {
        let frozen = summary_of(db, row.id, now)?;
        shifts.push(DayShift {
            shift_id: row.id,
            operator: row.operator_name.clone(),
            terminal_id: row.terminal_id.clone(),
            opened_at: row.opened_at.clone(),
            closed_at: frozen.closed_at.clone(),
            paid_count: frozen.figures.paid_count,
            paid_fen: frozen.figures.paid_fen,
            refund_fen: frozen.figures.refund_fen,
            net_fen: frozen.figures.net_fen,
        });
    }
    let scope =
        |taker| SaleScope { store_id, terminal_id: None, taker, from: &from, to: &to, refunds_before: Some(now) };
    let all = db.shifts().sale_facts(&scope(Taker::Anyone))?;
    let nobody = db.shifts().sale_facts(&scope(Taker::Nobody))?;
    let summary = DaySummary {
        store_code: store_code.clone(),
        store_name,
        business_day: day_words.clone(),
        closed_at: now.to_owned(),
        closed_by: by_name,
        figures: summary::figures(&all),
        no_operator: summary::figures(&nobody),
        shifts,
        closed_shifts,
        open_orders: summary::open_orders(&all),
    };
    let text = freeze(&summary, format!("day {day_words}"))?;
    match db.shifts_mut().insert_day_close(store_id, &day_words, now, by.map(|o| o.id), &text)? {
        Some(id) => Ok((id, summary)),
        None => Err(ShiftError::DayClosed { store: store_code, day: day_words, closed_at: now.to_owned() }),
    }
}

/// Reopens a closed day (an owner only), so that it can be closed again.
pub fn reopen_day(db: &mut Store, store_id: StoreId, day: time::Date, by: &Operator, now: &str) -> Result<()> {
    if by.role != Role::Owner {
        return Err(ShiftError::ReopenNotAllowed);
    }
    let day_words = day_text(day);
    if !db.shifts_mut().reopen_day_close(store_id, &day_words, by.id, now)? {
        let (store, _) = store_words(db, store_id)?;
        return Err(ShiftError::DayNotClosed { store, day: day_words });
    }
    Ok(())
}

/// A day close's frozen summary.
pub fn day_summary(db: &Store, id: i64) -> Result<DaySummary> {
    let row = db.shifts().day_close(id)?.ok_or(ShiftError::UnknownDayClose { id })?;
    parse(&row.summary, format!("day close {id}"))
}

fn line_of(db: &Store, row: &ShiftRow, now: &str) -> Result<ShiftLine> {
    let summary = summary_of(db, row.id, now)?;
    Ok(ShiftLine {
        id: row.id,
        store_code: summary.store_code,
        terminal_id: row.terminal_id.clone(),
        operator: row.operator_name.clone(),
        opened_at: row.opened_at.clone(),
        closed_at: row.closed_at.clone(),
        figures: summary.figures,
    })
}

/// Shifts (of a store, opened on a China day, when given), newest first, with their figures.
pub fn list(db: &Store, store_id: Option<StoreId>, day: Option<time::Date>, now: &str) -> Result<Vec<ShiftLine>> {
    let bounds = day.map(day_bounds);
    let rows = db.shifts().shift_list(
        store_id,
        bounds.as_ref().map(|b| b.0.as_str()),
        bounds.as_ref().map(|b| b.1.as_str()),
        500,
    )?;
    rows.iter().map(|row| line_of(db, row, now)).collect()
}

/// Day closes (of a store, of one day, when given), newest first.
pub fn list_days(db: &Store, store_id: Option<StoreId>, day: Option<time::Date>) -> Result<Vec<DayLine>> {
    let day = day.map(day_text);
    let rows = db.shifts().day_closes(store_id, day.as_deref(), 200)?;
    rows.into_iter()
        .map(|row| {
            let summary: DaySummary = parse(&row.summary, format!("day close {}", row.id))?;
            Ok(DayLine {
                id: row.id,
                store_code: summary.store_code,
                business_day: row.business_day,
                closed_at: row.closed_at,
                reopened_at: row.reopened_at,
                figures: summary.figures,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
