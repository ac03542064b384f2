//! The backend's staff on PostgreSQL: operators with a role and a PIN (an Argon2 PHC string, the same as the SQLite
//! store's), the same lockout after wrong PINs, and the operator sessions of the tills (token hashes only).

use time::OffsetDateTime;

use super::{PgError, PgStore, Result, audit};
use crate::model::{Operator, OperatorId, Role};
use crate::store::operators::{AuthError, SetActiveError, dummy_hash, hash_pin, lockout_secs, pin_matches};
use crate::store::serve::TillId;

fn operator(id: i64, name: String, role: &str, active: bool) -> Result<Operator> {
    let role =
        Role::parse(role).ok_or_else(|| PgError::Corrupt { table: "operators", column: "role", value: role.into() })?;
    Ok(Operator { id: OperatorId(id), name, role, active })
}

/// Why an operator was not added: a bad name or PIN, or a taken name.
#[derive(Debug)]
pub enum AddRefused {
    Auth(AuthError),
    Taken(String),
}

impl PgStore {
    /// Every operator, owners first.
    pub async fn operators(&self) -> Result<Vec<Operator>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT id, name, role, active FROM operators
                 ORDER BY CASE role WHEN 'owner' THEN 0 WHEN 'back_office' THEN 1 ELSE 2 END, name",
                &[],
            )
            .await?;
        rows.iter().map(|r| operator(r.get(0), r.get(1), r.get(2), r.get(3))).collect()
    }

    pub async fn operator(&self, id: OperatorId) -> Result<Option<Operator>> {
        let conn = self.conn().await?;
        let row = conn.query_opt("SELECT id, name, role, active FROM operators WHERE id = $1", &[&id.0]).await?;
        row.map(|r| operator(r.get(0), r.get(1), r.get(2), r.get(3))).transpose()
    }

    pub async fn has_owner(&self) -> Result<bool> {
        let conn = self.conn().await?;
        Ok(conn.query_one("SELECT EXISTS(SELECT 1 FROM operators WHERE role = 'owner' AND active)", &[]).await?.get(0))
    }

    /// Adds an operator with a hashed PIN; audited as done by `by`.
    pub async fn add_operator(
        &self,
        name: &str,
        role: Role,
        pin: &str,
        by: Option<OperatorId>,
    ) -> Result<Result<Operator, AddRefused>> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 32 {
            return Ok(Err(AddRefused::Auth(AuthError::NameFormat)));
        }
        let hash = match crate::thread_role::blocking(|| hash_pin(pin, role)) {
            Ok(h) => h,
            Err(e) => return Ok(Err(AddRefused::Auth(e))),
        };
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let row = tx
            .query_opt(
                "INSERT INTO operators (name, role, pin_hash, active, created_at) VALUES ($1, $2, $3, TRUE, now())
                 ON CONFLICT (name) DO NOTHING RETURNING id",
                &[&name, &role.as_str(), &hash],
            )
            .await?;
        let Some(row) = row else { return Ok(Err(AddRefused::Taken(name.to_owned()))) };
        let id: i64 = row.get(0);
        audit(&tx, by.map(|b| b.0), "operator.add", name, None, Some(role.as_str())).await?;
        tx.commit().await?;
        Ok(Ok(operator(id, name.to_owned(), role.as_str(), true)?))
    }

    /// Checks a PIN at `now` as the SQLite store does: unknown names and wrong PINs refused alike and audited apart;
    /// after the free tries a lockout that doubles; the right PIN resets the count.
    pub async fn verify_pin(&self, name: &str, pin: &str, now: OffsetDateTime) -> Result<Result<Operator, AuthError>> {
        let name = name.trim();
        let row = {
            let conn = self.conn().await?;
            conn.query_opt(
                "SELECT id, pin_hash, role, locked_until FROM operators WHERE name = $1 AND active",
                &[&name],
            )
            .await?
        };
        let Some(row) = row else {
            let _ = crate::thread_role::blocking(|| pin_matches(pin, dummy_hash()));
            let mut conn = self.conn().await?;
            let tx = conn.transaction().await?;
            audit(&tx, None, "operator.unknown_name", name, None, None).await?;
            tx.commit().await?;
            return Ok(Err(AuthError::NameOrPin));
        };
        let (id, phc, role, locked_until): (i64, String, String, Option<OffsetDateTime>) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        let mut conn = self.conn().await?;
        if let Some(until) = locked_until.filter(|u| *u > now) {
            let seconds = (until - now).whole_seconds().max(1);
            let tx = conn.transaction().await?;
            audit(&tx, Some(id), "operator.pin_locked", name, None, Some(&seconds.to_string())).await?;
            tx.commit().await?;
            return Ok(Err(AuthError::LockedOut { name: name.to_owned(), seconds }));
        }
        if crate::thread_role::blocking(|| pin_matches(pin, &phc)) {
            conn.execute("UPDATE operators SET failed_pins = 0, locked_until = NULL WHERE id = $1", &[&id]).await?;
            return Ok(Ok(operator(id, name.to_owned(), &role, true)?));
        }
        let tx = conn.transaction().await?;
        let failed: i64 = tx
            .query_one("UPDATE operators SET failed_pins = failed_pins + 1 WHERE id = $1 RETURNING failed_pins", &[&id])
            .await?
            .get(0);
        audit(&tx, Some(id), "operator.pin_refused", name, None, Some(&failed.to_string())).await?;
        let secs = lockout_secs(failed);
        if secs > 0 {
            let until = now + time::Duration::seconds(secs);
            tx.execute("UPDATE operators SET locked_until = $2 WHERE id = $1", &[&id, &until]).await?;
            let after = format!("{failed} wrong PINs: locked for {secs} s");
            audit(&tx, Some(id), "operator.locked_out", name, None, Some(&after)).await?;
        }
        tx.commit().await?;
        if secs > 0 {
            return Ok(Err(AuthError::LockedOut { name: name.to_owned(), seconds: secs }));
        }
        Ok(Err(AuthError::NameOrPin))
    }

    /// Gives operator `id` a new PIN (the rule of its role), audited as done by `by`; the lockout count starts again.
    /// An unknown or inactive id: `Ok(Err(NameOrPin))`.
    pub async fn change_pin(
        &self,
        id: OperatorId,
        new_pin: &str,
        by: Option<OperatorId>,
    ) -> Result<Result<Operator, AuthError>> {
        let Some(op) = self.operator(id).await?.filter(|o| o.active) else { return Ok(Err(AuthError::NameOrPin)) };
        let hash = match crate::thread_role::blocking(|| hash_pin(new_pin, op.role)) {
            Ok(h) => h,
            Err(e) => return Ok(Err(e)),
        };
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.execute(
            "UPDATE operators SET pin_hash = $2, failed_pins = 0, locked_until = NULL WHERE id = $1",
            &[&id.0, &hash],
        )
        .await?;
        audit(&tx, by.map(|b| b.0), "operator.pin_change", &op.name, None, None).await?;
        tx.commit().await?;
        Ok(Ok(op))
    }

    /// Deactivates or reactivates operator `name` as the SQLite store does (refused: [`SetActiveError::Unknown`] or
    /// [`SetActiveError::LastOwner`]): the active owners are locked first, so two owners deactivating each other at
    /// once leave one.
    pub async fn set_operator_active(
        &self,
        name: &str,
        active: bool,
        by: Option<OperatorId>,
    ) -> Result<Result<Operator, SetActiveError>> {
        let name = name.trim();
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let owners =
            tx.query("SELECT id FROM operators WHERE role = 'owner' AND active ORDER BY id FOR UPDATE", &[]).await?;
        let row =
            tx.query_opt("SELECT id, name, role, active FROM operators WHERE name = $1 FOR UPDATE", &[&name]).await?;
        let Some(row) = row else { return Ok(Err(SetActiveError::Unknown(name.to_owned()))) };
        let op = operator(row.get(0), row.get(1), row.get(2), row.get(3))?;
        if op.active == active {
            return Ok(Ok(op));
        }
        if !active && op.role == Role::Owner && !owners.iter().any(|r| r.get::<_, i64>(0) != op.id.0) {
            return Ok(Err(SetActiveError::LastOwner(op.name)));
        }
        tx.execute("UPDATE operators SET active = $2 WHERE id = $1", &[&op.id.0, &active]).await?;
        if !active {
            tx.execute("DELETE FROM operator_sessions WHERE operator_id = $1", &[&op.id.0]).await?;
        }
        let (action, before, after) = if active {
            ("operator.reactivate", "inactive", "active")
        } else {
            ("operator.deactivate", "active", "inactive")
        };
        audit(&tx, by.map(|b| b.0), action, &op.name, Some(before), Some(after)).await?;
        tx.commit().await?;
        Ok(Ok(Operator { active, ..op }))
    }

    /// Records an operator session (its token's hash) for `operator` at `till`, valid until `expires_at`.
    pub async fn add_operator_session(
        &self,
        token_hash: &str,
        till: TillId,
        operator: OperatorId,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.execute("DELETE FROM operator_sessions WHERE expires_at < $1", &[&now]).await?;
        tx.execute(
            "INSERT INTO operator_sessions (token_hash, till_id, operator_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[&token_hash, &till.0, &operator.0, &now, &expires_at],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends an operator session of `till` (sign-out); true when there was one.
    pub async fn end_operator_session(&self, token_hash: &str, till: TillId) -> Result<bool> {
        let conn = self.conn().await?;
        let n = conn
            .execute("DELETE FROM operator_sessions WHERE token_hash = $1 AND till_id = $2", &[&token_hash, &till.0])
            .await?;
        Ok(n > 0)
    }

    /// The active operator an unexpired session of `till` names.
    pub async fn operator_session(
        &self,
        token_hash: &str,
        till: TillId,
        now: OffsetDateTime,
    ) -> Result<Option<OperatorId>> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt(
                "SELECT s.operator_id FROM operator_sessions s JOIN operators o ON o.id = s.operator_id
                 WHERE s.token_hash = $1 AND s.till_id = $2 AND s.expires_at > $3 AND o.active",
                &[&token_hash, &till.0, &now],
            )
            .await?;
        Ok(row.map(|r| OperatorId(r.get(0))))
    }

    /// An entry of the audit trail.
    pub async fn audit(&self, operator: Option<OperatorId>, action: &str, subject: &str) -> Result<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        audit(&tx, operator.map(|o| o.0), action, subject, None, None).await?;
        tx.commit().await?;
        Ok(())
    }
}
