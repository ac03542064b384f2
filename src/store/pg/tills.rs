//! Tills, their one-time enrolment codes and their token hashes on PostgreSQL. Codes and tokens arrive hashed (the
//! caller hashes them); nothing here sees one in the clear.

use time::OffsetDateTime;
use tokio_postgres::Row;

use super::{PgError, PgStore, Result, audit, utc, utc_opt};
use crate::model::StoreId;
use crate::store::serve::{Redeemed, Till, TillId};

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
