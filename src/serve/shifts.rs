//! Shift reports at the backend (交接班, 日结): a till enrolled with the backend sends each shift it closes and each
//! day close with its frozen figures (`POST /v1/shifts`, once per till and till-side number), and head office lists
//! every till's (`GET /v1/shifts`): an owner every store, back office their store, a cashier their own shifts.

use super::office::Scope;
use super::{Backend, Till, internal};
use crate::channel::backend::api::{
    ApiError, ShiftFigures, ShiftKind, ShiftQuery, ShiftReport, ShiftReportLine, ShiftReportList, ShiftReported,
};
use crate::money::Amount;
use crate::store::serve::{NewShiftReport, ShiftReportFilter, ShiftReportRow};

/// Reports per page at most.
const PAGE: u32 = 200;

fn bad(field: &str, detail: &str) -> ApiError {
    ApiError::BadRequest { field: field.into(), detail: detail.into() }
}

fn fen(field: &str, text: &str) -> Result<i64, ApiError> {
    Amount::parse(text).map(|a| a.fen()).map_err(|e| bad(field, &e.to_string()))
}

fn utc(field: &str, text: &str) -> Result<String, ApiError> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(crate::time::format_utc)
        .map_err(|_| bad(field, "a UTC time, RFC 3339"))
}

fn day(field: &str, text: &str) -> Result<time::Date, ApiError> {
    crate::shifts::parse_day(text).map_err(|_| bad(field, "a day, YYYY-MM-DD"))
}

fn line(row: ShiftReportRow, store_code: String) -> Result<ShiftReportLine, ApiError> {
    let kind = ShiftKind::parse(&row.kind).ok_or_else(|| internal(&format!("shift report {}: kind", row.id)))?;
    Ok(ShiftReportLine {
        id: row.id,
        kind,
        till_id: row.till_id.0,
        till_name: row.till_name,
        store_code,
        operator: row.operator,
        opened_at: row.opened_at,
        closed_at: row.closed_at,
        business_day: row.business_day,
        figures: ShiftFigures {
            paid_count: row.paid_count,
            paid: Amount::from_fen(row.paid_fen).to_string(),
            refund_count: row.refund_count,
            refunded: Amount::from_fen(row.refund_fen).to_string(),
            net: Amount::from_fen(row.net_fen).to_string(),
        },
    })
}

impl Backend {
    /// `POST /v1/shifts`: records a till's shift or day close once.
    pub async fn report_shift(&self, till: &Till, r: &ShiftReport) -> Result<ShiftReported, ApiError> {
        if r.operator.trim().is_empty() {
            return Err(bad("operator", "empty"));
        }
        if r.kind == ShiftKind::DayClose {
            let Some(d) = r.business_day.as_deref() else {
                return Err(bad("business_day", "a day close names its day"));
            };
            day("business_day", d)?;
        }
        let new = NewShiftReport {
            till: till.id,
            store_id: till.store_id,
            kind: r.kind.as_str().to_owned(),
            till_ref: r.till_ref,
            operator: r.operator.trim().to_owned(),
            opened_at: r.opened_at.as_deref().map(|t| utc("opened_at", t)).transpose()?,
            closed_at: utc("closed_at", &r.closed_at)?,
            business_day: r.business_day.clone(),
            paid_count: r.figures.paid_count,
            paid_fen: fen("figures.paid", &r.figures.paid)?,
            refund_count: r.figures.refund_count,
            refund_fen: fen("figures.refunded", &r.figures.refunded)?,
            net_fen: fen("figures.net", &r.figures.net)?,
            summary: r.summary.to_string(),
        };
        let (id, new) = self.db_record_shift_report(&new).await?;
        if new {
            tracing::info!(till = %till.id, kind = r.kind.as_str(), till_ref = r.till_ref, "shift report");
        }
        Ok(ShiftReported { id, new })
    }

    /// `GET /v1/shifts`, within `scope`.
    pub async fn shift_reports(&self, scope: Scope, q: &ShiftQuery) -> Result<ShiftReportList, ApiError> {
        let asked = self.asked_store(q.store.as_deref())?;
        let (store, own) = scope.narrow(asked)?;
        let operator = match own {
            Some(id) => Some(self.db_operator(id).await?.ok_or(ApiError::SignInRequired)?.name),
            None => None,
        };
        let from = q.from.as_deref().map(|d| day("from", d)).transpose()?;
        let to = q.to.as_deref().map(|d| day("to", d)).transpose()?;
        let limit = q.limit.unwrap_or(50).clamp(1, PAGE);
        let filter = ShiftReportFilter {
            store,
            operator,
            kind: q.kind.map(|k| k.as_str().to_owned()),
            from: from.map(|d| crate::shifts::day_bounds(d).0),
            to: to.map(|d| crate::shifts::day_bounds(d).1),
            before: q.after,
            limit: i64::from(limit) + 1,
        };
        let mut rows = self.db_shift_reports(&filter).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next = if more { rows.last().map(|r| r.id) } else { None };
        let codes = self.catalogue_names()?.stores;
        let reports = rows
            .into_iter()
            .map(|r| {
                let code = codes.get(&r.store_id).cloned().unwrap_or_else(|| r.store_id.to_string());
                line(r, code)
            })
            .collect::<Result<_, _>>()?;
        Ok(ShiftReportList { reports, next })
    }
}
