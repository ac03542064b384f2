//! The acquirers' verified notifications on PostgreSQL: a store-code payment becomes a PAID order, one of the tills'
//! open orders moves to PAID through [`super::moves`], a repeat changes nothing; refused ones are logged (the newest
//! few, as the SQLite store keeps them). The number's advisory lock (as for a pay) makes two instances receiving the
//! same notification at once record it once.

use super::moves::{event, move_order};
use super::{PgStore, Result, parse_utc};
use crate::model::OrderId;
use crate::store::sync::{NoticeOutcome, PaidNotice, REJECTED_NOTICES_DAYS, REJECTED_NOTICES_KEPT};
use crate::store::transitions::{OrderMove, PaidFacts};

impl PgStore {
    /// Records a verified payment notice once (see the module doc).
    pub async fn record_paid_notice(&self, notice: &PaidNotice<'_>) -> Result<NoticeOutcome> {
        let paid_at = parse_utc(notice.paid_at_utc)?;
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock(20232, hashtext($1))", &[&notice.out_trade_no]).await?;
        let seen = tx
            .execute(
                "UPDATE notifications SET times = times + 1 WHERE protocol = $1 AND notify_key = $2 AND verified",
                &[&notice.protocol, &notice.trade_no],
            )
            .await?;
        if seen > 0 {
            tx.commit().await?;
            return Ok(NoticeOutcome::AlreadyRecorded);
        }
        let existing = tx.query_opt("SELECT id FROM orders WHERE out_trade_no = $1", &[&notice.out_trade_no]).await?;
        let outcome = match existing {
            None => {
                let row = tx
                    .query_one(
                        "INSERT INTO orders (out_trade_no, trade_no, store_id, acquirer_id, source, subject,
                            total_amount, currency, status, created_at, paid_at, updated_at, acquirer_merchant_id)
                         VALUES ($1, $2, $3, $4, 'store_code', $5, $6, 'CNY', 'PAID', $7, $7, now(), $8) RETURNING id",
                        &[
                            &notice.out_trade_no,
                            &notice.trade_no,
                            &notice.store_id.0,
                            &notice.acquirer_id.0,
                            &notice.subject,
                            &notice.amount.fen(),
                            &paid_at,
                            &notice.acquirer_merchant_id,
                        ],
                    )
                    .await?;
                let detail = format!("{} notification, {}", notice.protocol, notice.amount);
                event(&tx, OrderId(row.get(0)), "store_code_paid", &detail).await?;
                NoticeOutcome::NewStoreCodeOrder
            }
            Some(row) => {
                let detail = format!("{} notification", notice.protocol);
                let facts = PaidFacts {
                    amount: Some(notice.amount),
                    currency: notice.currency,
                    merchant_id: notice.acquirer_merchant_id.filter(|_| notice.compare_merchant),
                };
                let paid = OrderMove::paid("paid", &detail, Some(notice.trade_no), Some(notice.paid_at_utc), facts);
                NoticeOutcome::of_move(move_order(&tx, OrderId(row.get(0)), &paid).await?)
            }
        };
        let label = outcome.label();
        tx.execute(
            "INSERT INTO notifications (protocol, notify_key, out_trade_no, trade_no, verified, outcome, detail,
                received_at)
             VALUES ($1, $2, $3, $2, TRUE, $4, $5, now())",
            &[&notice.protocol, &notice.trade_no, &notice.out_trade_no, &label, &notice.amount.to_string()],
        )
        .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Logs a refused notification and prunes the refused ones to the newest few of the last days.
    pub async fn record_rejected_notice(
        &self,
        protocol: &str,
        notify_key: &str,
        out_trade_no: Option<&str>,
        reason: &str,
    ) -> Result<()> {
        let cutoff = time::OffsetDateTime::now_utc() - time::Duration::days(REJECTED_NOTICES_DAYS);
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.execute(
            "INSERT INTO notifications (protocol, notify_key, out_trade_no, verified, outcome, detail, received_at)
             VALUES ($1, $2, $3, FALSE, 'rejected', $4, now())",
            &[&protocol, &notify_key, &out_trade_no, &reason],
        )
        .await?;
        tx.execute(
            "DELETE FROM notifications WHERE NOT verified AND (received_at < $1 OR id <= (
                SELECT id FROM notifications WHERE NOT verified ORDER BY id DESC LIMIT 1 OFFSET $2))",
            &[&cutoff, &REJECTED_NOTICES_KEPT],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
