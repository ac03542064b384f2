//! Tills, their one-time enrolment codes and their token hashes on PostgreSQL. Codes and tokens arrive hashed (the
//! caller hashes them); nothing here sees one in the clear.

use time::OffsetDateTime;
use tokio_postgres::Row;

use super::{PgError, PgStore, Result, audit, utc, utc_opt};
use crate::model::StoreId;
use crate::store::serve::{NewShiftReport, Redeemed, ShiftReportFilter, ShiftReportRow, Till, TillId};

const TILL_COLUMNS: &str = "t.id, t.store_id, t.store_code, t.name, t.created_at, t.enrolled_at, t.last_contact_at, \
     t.revoked_at, (SELECT MAX(c.expires_at) FROM enrolment_codes c WHERE c.till_id = t.id AND c.used_at IS NULL \
     AND t.enrolled_at IS NULL)";

fn till_from_row(r: &Row) -> Till {
    Till {
        id: TillId(r.get(0)),
        store_id: StoreId(r.get(1)),
        store_code: r.get(2),
        name: r.get(3),
        created_at: utc(r.get(4)),
        enrolled_at: utc_opt(r.get(5)),
        last_contact_at: utc_opt(r.get(6)),
        revoked_at: utc_opt(r.get(7)),
        code_expires_at: utc_opt(r.get(8)),
    }
}

impl PgStore {
    /// Adds a till of the store (`store_id`, `store_code` from the catalogue) with its first enrolment code, audited,
    /// in one transaction.
    pub async fn add_till(
        &self,
        store_id: StoreId,
        store_code: &str,
        name: &str,
        code_hash: &str,
        expires_at: OffsetDateTime,
    ) -> Result<Till> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let id: i64 = tx
            .query_one(
                "INSERT INTO tills (store_id, store_code, name, created_at) VALUES ($1, $2, $3, now()) RETURNING id",
                &[&store_id.0, &store_code, &name.trim()],
            )
            .await?
            .get(0);
        tx.execute(
            "INSERT INTO enrolment_codes (code_hash, till_id, created_at, expires_at) VALUES ($1, $2, now(), $3)",
            &[&code_hash, &id, &expires_at],
        )
        .await?;
        audit(&tx, None, "till.add", &id.to_string(), None, Some(name.trim())).await?;
        tx.commit().await?;
        self.till(TillId(id)).await?.ok_or(PgError::NotFound { what: "till", key: id.to_string() })
    }

    /// Every till, in the order they were added.
    pub async fn tills(&self) -> Result<Vec<Till>> {
        let conn = self.conn().await?;
        let rows = conn.query(&format!("SELECT {TILL_COLUMNS} FROM tills t ORDER BY t.id"), &[]).await?;
        Ok(rows.iter().map(till_from_row).collect())
    }

    pub async fn till(&self, id: TillId) -> Result<Option<Till>> {
        let conn = self.conn().await?;
        let row = conn.query_opt(&format!("SELECT {TILL_COLUMNS} FROM tills t WHERE t.id = $1"), &[&id.0]).await?;
        Ok(row.as_ref().map(till_from_row))
    }

    /// The till whose token hashes to `token_hash` (revoked ones too: the caller says so).
    pub async fn till_by_token(&self, token_hash: &str) -> Result<Option<Till>> {
        let conn = self.conn().await?;
        let stmt = conn.prepare_cached(&format!("SELECT {TILL_COLUMNS} FROM tills t WHERE t.token_hash = $1")).await?;
        Ok(conn.query_opt(&stmt, &[&token_hash]).await?.as_ref().map(till_from_row))
    }

    /// Revokes a till: its token stops working at once (audited). False when it was revoked already.
    pub async fn revoke_till(&self, id: TillId) -> Result<bool> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let n =
            tx.execute("UPDATE tills SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", &[&id.0]).await?;
        if n == 0 {
            let exists: bool = tx.query_one("SELECT EXISTS(SELECT 1 FROM tills WHERE id = $1)", &[&id.0]).await?.get(0);
            if !exists {
                return Err(PgError::NotFound { what: "till", key: id.to_string() });
            }
            return Ok(false);
        }
        audit(&tx, None, "till.revoke", &id.to_string(), None, None).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Spends an enrolment code (hashed) at `now` and stores the new token's hash, in one transaction (the code's row
    /// locked): a code works once, before it expires, for a till that was not revoked.
    pub async fn redeem_enrolment_code(
        &self,
        code_hash: &str,
        now: OffsetDateTime,
        token_hash: &str,
    ) -> Result<Redeemed> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let code = tx
            .query_opt(
                "SELECT c.till_id, c.expires_at, c.used_at IS NOT NULL, t.revoked_at IS NOT NULL
                 FROM enrolment_codes c JOIN tills t ON t.id = c.till_id WHERE c.code_hash = $1 FOR UPDATE",
                &[&code_hash],
            )
            .await?;
        let Some(code) = code else { return Ok(Redeemed::Unknown) };
        let (till, expires_at, used, revoked): (i64, OffsetDateTime, bool, bool) =
            (code.get(0), code.get(1), code.get(2), code.get(3));
        if used {
            return Ok(Redeemed::Used);
        }
        if expires_at <= now {
            return Ok(Redeemed::Expired);
        }
        if revoked {
            return Ok(Redeemed::Revoked);
        }
        tx.execute("UPDATE enrolment_codes SET used_at = $2 WHERE code_hash = $1", &[&code_hash, &now]).await?;
        tx.execute(
            "UPDATE tills SET token_hash = $2, enrolled_at = $3, last_contact_at = $3 WHERE id = $1",
            &[&till, &token_hash, &now],
        )
        .await?;
        audit(&tx, None, "till.enrol", &till.to_string(), None, None).await?;
        tx.commit().await?;
        let till = self.till(TillId(till)).await?.ok_or(PgError::NotFound { what: "till", key: till.to_string() })?;
        Ok(Redeemed::Enrolled(till))
    }

    /// Records that the till was heard from at `now`, at most once per `gap_secs`.
    pub async fn touch_till(&self, id: TillId, now: OffsetDateTime, gap_secs: i64) -> Result<()> {
        let before = now - time::Duration::seconds(gap_secs);
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "UPDATE tills SET last_contact_at = $2 WHERE id = $1 AND (last_contact_at IS NULL OR last_contact_at < $3)",
            )
            .await?;
        conn.execute(&stmt, &[&id.0, &now, &before]).await?;
        Ok(())
    }
}

impl PgStore {
    /// Records a shift report once (by till, kind and the till's number); its id, and whether it is new.
    pub async fn record_shift_report(&self, r: &NewShiftReport) -> Result<(i64, bool)> {
        let conn = self.conn().await?;
        let inserted = conn
            .query_opt(
                "INSERT INTO shift_reports (till_id, kind, till_ref, store_id, operator, opened_at, closed_at,
                    business_day, paid_count, paid_fen, refund_count, refund_fen, net_fen, summary, received_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, now())
                 ON CONFLICT (till_id, kind, till_ref) DO NOTHING RETURNING id",
                &[
                    &r.till.0,
                    &r.kind,
                    &r.till_ref,
                    &r.store_id.0,
                    &r.operator,
                    &r.opened_at,
                    &r.closed_at,
                    &r.business_day,
                    &r.paid_count,
                    &r.paid_fen,
                    &r.refund_count,
                    &r.refund_fen,
                    &r.net_fen,
                    &r.summary,
                ],
            )
            .await?;
        if let Some(row) = inserted {
            return Ok((row.get(0), true));
        }
        let row = conn
            .query_one(
                "SELECT id FROM shift_reports WHERE till_id = $1 AND kind = $2 AND till_ref = $3",
                &[&r.till.0, &r.kind, &r.till_ref],
            )
            .await?;
        Ok((row.get(0), false))
    }

    /// The shift reports `filter` asks for, newest first.
    pub async fn shift_reports(&self, filter: &ShiftReportFilter) -> Result<Vec<ShiftReportRow>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT r.id, r.kind, r.till_id, t.name, r.store_id, r.operator, r.opened_at, r.closed_at,
                        r.business_day, r.paid_count, r.paid_fen, r.refund_count, r.refund_fen, r.net_fen
                 FROM shift_reports r JOIN tills t ON t.id = r.till_id
                 WHERE ($1::BIGINT IS NULL OR r.store_id = $1) AND ($2::TEXT IS NULL OR r.operator = $2)
                   AND ($3::TEXT IS NULL OR r.kind = $3) AND ($4::TEXT IS NULL OR r.closed_at >= $4)
                   AND ($5::TEXT IS NULL OR r.closed_at < $5) AND r.id < $6
                 ORDER BY r.id DESC LIMIT $7",
                &[
                    &filter.store.map(|s| s.0),
                    &filter.operator,
                    &filter.kind,
                    &filter.from,
                    &filter.to,
                    &filter.before.unwrap_or(i64::MAX),
                    &filter.limit,
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| ShiftReportRow {
                id: r.get(0),
                kind: r.get(1),
                till_id: TillId(r.get(2)),
                till_name: r.get(3),
                store_id: StoreId(r.get(4)),
                operator: r.get(5),
                opened_at: r.get(6),
                closed_at: r.get(7),
                business_day: r.get(8),
                paid_count: r.get(9),
                paid_fen: r.get(10),
                refund_count: r.get(11),
                refund_fen: r.get(12),
                net_fen: r.get(13),
            })
            .collect())
    }
}
