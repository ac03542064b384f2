//! The asynchronous notifications the sandbox owes the merchants' tills: queued with the trade, retried on the
//! platform's schedule until acknowledged.

use rusqlite::params;
use time::OffsetDateTime;

use super::{Ledger, Protocol, Result, format_time, parse_time};

impl Ledger {
    pub fn enqueue_notification(
        &self,
        protocol: Protocol,
        trade_no: &str,
        url: &str,
        content_type: &str,
        body: &str,
        now: OffsetDateTime,
    ) -> Result<i64> {
        let conn = self.conn()?;
        conn.execute(
            "INSERT INTO notifications (protocol, trade_no, url, content_type, body, next_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            params![protocol.as_str(), trade_no, url, content_type, body, format_time(now)],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Notifications due by `now` and not yet acknowledged.
    pub fn due_notifications(&self, now: OffsetDateTime) -> Result<Vec<PendingNotification>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT id, protocol, url, content_type, body, attempts, next_at FROM notifications
             WHERE delivered_at IS NULL ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(PendingNotification {
                id: r.get(0)?,
                protocol: r.get(1)?,
                url: r.get(2)?,
                content_type: r.get(3)?,
                body: r.get(4)?,
                attempts: r.get(5)?,
                next_at: r.get(6)?,
            })
        })?;
        Ok(rows
            .collect::<rusqlite::Result<Vec<_>>>()?
            .into_iter()
            .filter(|n| parse_time(&n.next_at).is_none_or(|t| t <= now))
            .collect())
    }

    pub fn notification_delivered(&self, id: i64, now: OffsetDateTime) -> Result<()> {
        self.conn()?.execute(
            "UPDATE notifications SET attempts = attempts + 1, delivered_at = ?2, last_error = NULL WHERE id = ?1",
            params![id, format_time(now)],
        )?;
        Ok(())
    }

    pub fn notification_failed(&self, id: i64, error: &str, next_at: Option<OffsetDateTime>) -> Result<()> {
        let conn = self.conn()?;
        match next_at {
            Some(next) => conn.execute(
                "UPDATE notifications SET attempts = attempts + 1, last_error = ?2, next_at = ?3 WHERE id = ?1",
                params![id, error, format_time(next)],
            )?,
            // Out of retries: parked, visible in the ledger dump with its last error.
            None => conn.execute(
                "UPDATE notifications SET attempts = attempts + 1, last_error = ?2, next_at = '9999-12-31T00:00:00Z'
                 WHERE id = ?1",
                params![id, error],
            )?,
        };
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct PendingNotification {
    pub id: i64,
    pub protocol: String,
    pub url: String,
    pub content_type: String,
    pub body: String,
    pub attempts: i64,
    pub next_at: String,
}
