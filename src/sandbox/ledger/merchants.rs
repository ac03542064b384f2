//! The sandbox acquirers' merchants (onboarding: submitted, verified, failed) and the CDS platform's indexes and
//! bindings, in the ledger.

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;
use time::OffsetDateTime;

use super::{Ledger, Result, format_time, parse_time};

impl Ledger {
    pub fn insert_acquirer_merchant(
        &self,
        acquirer_id: &str,
        merchant_id: &str,
        info_json: &str,
        account: Option<&str>,
        active_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO acquirer_merchants (acquirer_id, merchant_id, info_json, status, active_at, account, created_at)
             VALUES (?1, ?2, ?3, 'pending_verification', ?4, ?5, ?6)",
            params![acquirer_id, merchant_id, info_json, format_time(active_at), account, format_time(now)],
        )?;
        Ok(())
    }

    /// An onboarded merchant, its verification settled as of `now`.
    pub fn acquirer_merchant(
        &self,
        acquirer_id: &str,
        merchant_id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<AcquirerMerchant>> {
        let conn = self.conn()?;
        let row = conn
            .query_row(
                "SELECT acquirer_id, merchant_id, info_json, status, reason, active_at, account, created_at
                 FROM acquirer_merchants WHERE acquirer_id = ?1 AND merchant_id = ?2",
                params![acquirer_id, merchant_id],
                AcquirerMerchant::from_row,
            )
            .optional()?;
        let Some(mut m) = row else { return Ok(None) };
        if m.status == "pending_verification" && parse_time(&m.active_at).is_none_or(|t| t <= now) {
            conn.execute(
                "UPDATE acquirer_merchants SET status = 'active' WHERE acquirer_id = ?1 AND merchant_id = ?2",
                params![acquirer_id, merchant_id],
            )?;
            m.status = "active".into();
        }
        Ok(Some(m))
    }

    pub fn fail_acquirer_merchant(&self, acquirer_id: &str, merchant_id: &str, reason: &str) -> Result<()> {
        self.conn()?.execute(
            "UPDATE acquirer_merchants SET status = 'failed', reason = ?3 WHERE acquirer_id = ?1 AND merchant_id = ?2",
            params![acquirer_id, merchant_id, reason],
        )?;
        Ok(())
    }

    /// The CDS index a merchant of an acquirer is bound to, if any.
    pub fn cds_index_of(&self, acquirer_id: &str, merchant_id: &str) -> Result<Option<String>> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT cds_index FROM cds_bindings WHERE acquirer_id = ?1 AND merchant_id = ?2",
                params![acquirer_id, merchant_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn count_acquirer_merchants(&self, acquirer_id: &str) -> Result<i64> {
        Ok(self.conn()?.query_row(
            "SELECT COUNT(*) FROM acquirer_merchants WHERE acquirer_id = ?1",
            [acquirer_id],
            |r| r.get(0),
        )?)
    }

    /// Registers a merchant on the CDS platform and binds the registering acquirer, in one transaction.
    pub fn register_cds(
        &self,
        cds_index: &str,
        platform_id: &str,
        info_json: &str,
        acquirer_id: &str,
        merchant_id: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO cds_indexes (cds_index, platform_id, info_json, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![cds_index, platform_id, info_json, format_time(now)],
        )?;
        tx.execute(
            "INSERT INTO cds_bindings (cds_index, acquirer_id, merchant_id, bound_at) VALUES (?1, ?2, ?3, ?4)",
            params![cds_index, acquirer_id, merchant_id, format_time(now)],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn count_cds_indexes(&self) -> Result<i64> {
        Ok(self.conn()?.query_row("SELECT COUNT(*) FROM cds_indexes", [], |r| r.get(0))?)
    }

    pub fn cds_index(&self, cds_index: &str) -> Result<Option<(String, String)>> {
        Ok(self
            .conn()?
            .query_row("SELECT platform_id, info_json FROM cds_indexes WHERE cds_index = ?1", [cds_index], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?)
    }

    /// The acquirers bound to an index, in binding order: (acquirer_id, merchant_id, bound_at).
    pub fn cds_bindings(&self, cds_index: &str) -> Result<Vec<(String, String, String)>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT acquirer_id, merchant_id, bound_at FROM cds_bindings WHERE cds_index = ?1 ORDER BY rowid",
        )?;
        let rows = stmt.query_map([cds_index], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn bind_cds(&self, cds_index: &str, acquirer_id: &str, merchant_id: &str, now: OffsetDateTime) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO cds_bindings (cds_index, acquirer_id, merchant_id, bound_at) VALUES (?1, ?2, ?3, ?4)",
            params![cds_index, acquirer_id, merchant_id, format_time(now)],
        )?;
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AcquirerMerchant {
    pub acquirer_id: String,
    pub merchant_id: String,
    pub info_json: String,
    pub status: String,
    pub reason: Option<String>,
    pub active_at: String,
    pub account: Option<String>,
    pub created_at: String,
}

impl AcquirerMerchant {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(AcquirerMerchant {
            acquirer_id: r.get(0)?,
            merchant_id: r.get(1)?,
            info_json: r.get(2)?,
            status: r.get(3)?,
            reason: r.get(4)?,
            active_at: r.get(5)?,
            account: r.get(6)?,
            created_at: r.get(7)?,
        })
    }
}
