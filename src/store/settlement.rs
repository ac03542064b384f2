//! Alipay's account bill (账务明细) in the database, and the trade bill rows the settlement check compares it with.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Result, Store};
use crate::model::AcquirerId;

/// An account bill to store.
#[derive(Debug, Clone)]
pub struct NewAccountBill<'a> {
    pub acquirer_id: AcquirerId,
    pub bill_date: &'a str,
    pub account: &'a str,
    pub source_name: &'a str,
    pub content_hash: &'a str,
    pub income_count: i64,
    pub income: i64,
    pub expense_count: i64,
    pub expense: i64,
}

/// One balance movement to store (amounts in fen, expense positive, time UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountBillRow {
    pub line_no: i64,
    pub entry_no: String,
    pub biz_no: String,
    pub out_trade_no: String,
    pub subject: String,
    pub occurred_at: String,
    pub income: i64,
    pub expense: i64,
    pub balance: Option<i64>,
    pub biz_type: String,
    pub remark: String,
}

/// A stored account bill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredAccountBill {
    pub id: i64,
    pub acquirer_id: AcquirerId,
    pub bill_date: String,
    pub account: String,
    pub source_name: String,
    pub content_hash: String,
    pub income_count: i64,
    pub income: i64,
    pub expense_count: i64,
    pub expense: i64,
    pub row_count: i64,
    pub imported_at: String,
}

/// A trade bill row as the settlement check needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeBillEntry {
    /// payment | refund | revoked
    pub kind: String,
    pub trade_no: String,
    pub out_trade_no: String,
    pub out_request_no: Option<String>,
    /// 商家实收 (negative on refunds), fen.
    pub settled: i64,
    /// 服务费 in 1/1000 fen, with Alipay's sign (negative when charged).
    pub fee_milli: i64,
    pub line_no: i64,
}

const BILL_COLUMNS: &str = "b.id, b.acquirer_id, b.bill_date, b.account, b.source_name, b.content_hash, b.income_count,
    b.income, b.expense_count, b.expense, (SELECT COUNT(*) FROM account_bill_rows r WHERE r.account_bill_id = b.id),
    b.imported_at";

fn bill_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredAccountBill> {
    Ok(StoredAccountBill {
        id: r.get(0)?,
        acquirer_id: AcquirerId(r.get(1)?),
        bill_date: r.get(2)?,
        account: r.get(3)?,
        source_name: r.get(4)?,
        content_hash: r.get(5)?,
        income_count: r.get(6)?,
        income: r.get(7)?,
        expense_count: r.get(8)?,
        expense: r.get(9)?,
        row_count: r.get(10)?,
        imported_at: r.get(11)?,
    })
}

impl<S: std::ops::Deref<Target = Store>> super::Recon<S> {
    /// The account bill of an account's day, if imported.
    pub fn account_bill_of_day(&self, acquirer: AcquirerId, bill_date: &str) -> Result<Option<StoredAccountBill>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {BILL_COLUMNS} FROM account_bills b WHERE b.acquirer_id = ?1 AND b.bill_date = ?2"),
                params![acquirer.0, bill_date],
                bill_from_row,
            )
            .optional()?)
    }

    /// An account bill's rows, in file order.
    pub fn account_bill_rows(&self, bill_id: i64) -> Result<Vec<AccountBillRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT line_no, entry_no, biz_no, out_trade_no, subject, occurred_at, income, expense, balance, biz_type,
                    remark
             FROM account_bill_rows WHERE account_bill_id = ?1 ORDER BY line_no, id",
        )?;
        let rows = stmt.query_map([bill_id], |r| {
            Ok(AccountBillRow {
                line_no: r.get(0)?,
                entry_no: r.get(1)?,
                biz_no: r.get(2)?,
                out_trade_no: r.get(3)?,
                subject: r.get(4)?,
                occurred_at: r.get(5)?,
                income: r.get(6)?,
                expense: r.get(7)?,
                balance: r.get(8)?,
                biz_type: r.get(9)?,
                remark: r.get(10)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The trade bill rows of an account's day (every bill of that day), in bill order.
    pub fn trade_bill_entries(&self, acquirer: AcquirerId, bill_date: &str) -> Result<Vec<TradeBillEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT b.kind, b.trade_no, b.out_trade_no, b.out_request_no, b.settled, b.fee_milli, b.line_no
             FROM bills bl JOIN bill_rows b ON b.id BETWEEN bl.first_row AND bl.last_row AND b.bill_id = bl.id
             WHERE bl.acquirer_id = ?1 AND bl.bill_date = ?2
             ORDER BY bl.id, b.id",
        )?;
        let rows = stmt.query_map(params![acquirer.0, bill_date], |r| {
            Ok(TradeBillEntry {
                kind: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                trade_no: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                out_trade_no: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                out_request_no: r.get(3)?,
                settled: r.get(4)?,
                fee_milli: r.get(5)?,
                line_no: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl<S: std::ops::DerefMut<Target = Store>> super::Recon<S> {
    /// Stores an account bill with its rows in one transaction, replacing the account's bill of that day. Returns
    /// the bill, and whether the same file was there already (then nothing changed).
    pub fn import_account_bill(
        &mut self,
        new: &NewAccountBill<'_>,
        rows: &[AccountBillRow],
    ) -> Result<(StoredAccountBill, bool)> {
        let now = crate::time::now_utc();
        self.transaction(|tx| {
            let existing = tx
                .query_row(
                    &format!(
                        "SELECT {BILL_COLUMNS} FROM account_bills b WHERE b.acquirer_id = ?1 AND b.bill_date = ?2"
                    ),
                    params![new.acquirer_id.0, new.bill_date],
                    bill_from_row,
                )
                .optional()?;
            if let Some(bill) = existing {
                if bill.content_hash == new.content_hash {
                    return Ok((bill, true));
                }
                tx.execute("DELETE FROM account_bill_rows WHERE account_bill_id = ?1", [bill.id])?;
                tx.execute("DELETE FROM account_bills WHERE id = ?1", [bill.id])?;
            }
            tx.execute(
                "INSERT INTO account_bills (acquirer_id, bill_date, account, source_name, content_hash, income_count,
                    income, expense_count, expense, imported_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    new.acquirer_id.0,
                    new.bill_date,
                    new.account,
                    new.source_name,
                    new.content_hash,
                    new.income_count,
                    new.income,
                    new.expense_count,
                    new.expense,
                    now
                ],
            )?;
            let id = tx.last_insert_rowid();
            let mut insert = tx.prepare_cached(
                "INSERT INTO account_bill_rows (account_bill_id, line_no, entry_no, biz_no, out_trade_no, subject,
                    occurred_at, income, expense, balance, biz_type, remark)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?;
            for r in rows {
                insert.execute(params![
                    id,
                    r.line_no,
                    r.entry_no,
                    r.biz_no,
                    r.out_trade_no,
                    r.subject,
                    r.occurred_at,
                    r.income,
                    r.expense,
                    r.balance,
                    r.biz_type,
                    r.remark
                ])?;
            }
            drop(insert);
            let bill = tx.query_row(
                &format!("SELECT {BILL_COLUMNS} FROM account_bills b WHERE b.id = ?1"),
                [id],
                bill_from_row,
            )?;
            Ok((bill, false))
        })
    }
}
