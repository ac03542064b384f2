//! Staff: operators with a role and a PIN (stored only as an Argon2 PHC string), and the audit entries their
//! actions leave.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rusqlite::{OptionalExtension, params};

use super::{Result, Store, StoreError, append_audit};
use crate::model::{AuditEntry, AuditId, Operator, OperatorId, Role};

/// Why a PIN or an operator was refused. Messages are for the person at the till.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("no active operator is called {0:?}")]
    NoSuchOperator(String),
    #[error("the PIN is wrong")]
    WrongPin,
    #[error("a PIN must be 4 to 12 digits")]
    PinFormat,
    #[error("an operator name must be 1 to 32 characters")]
    NameFormat,
    #[error("{name} is a {role} and may not {action}; ask the owner or back office")]
    NotAllowed { name: String, role: &'static str, action: &'static str },
}

/// What each role may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    TakePayments,
    Refund,
    Reconcile,
    Export,
    SeeAllOrders,
    ManageStaff,
    ChangeSettings,
    ViewAudit,
}

impl Permission {
    pub fn words(self) -> &'static str {
        match self {
            Permission::TakePayments => "take payments",
            Permission::Refund => "refund",
            Permission::Reconcile => "reconcile bills",
            Permission::Export => "export",
            Permission::SeeAllOrders => "see other operators' orders",
            Permission::ManageStaff => "manage staff",
            Permission::ChangeSettings => "change settings",
            Permission::ViewAudit => "view the audit log",
        }
    }
}

/// owner: everything; back office: refunds, reconciliation, exports, all orders; cashier: checkout and own orders.
pub fn role_allows(role: Role, permission: Permission) -> bool {
    match role {
        Role::Owner => true,
        Role::BackOffice => matches!(
            permission,
            Permission::TakePayments
                | Permission::Refund
                | Permission::Reconcile
                | Permission::Export
                | Permission::SeeAllOrders
        ),
        Role::Cashier => matches!(permission, Permission::TakePayments),
    }
}

pub fn role_words(role: Role) -> &'static str {
    match role {
        Role::Owner => "owner",
        Role::BackOffice => "back office",
        Role::Cashier => "cashier",
    }
}

/// Refuses unless `operator` may do `permission`.
pub fn require(operator: &Operator, permission: Permission) -> std::result::Result<(), AuthError> {
    if role_allows(operator.role, permission) {
        Ok(())
    } else {
        Err(AuthError::NotAllowed {
            name: operator.name.clone(),
            role: role_words(operator.role),
            action: permission.words(),
        })
    }
}

fn check_pin_format(pin: &str) -> std::result::Result<(), AuthError> {
    if (4..=12).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(AuthError::PinFormat)
    }
}

/// The Argon2id PHC string of a PIN, with a fresh random salt.
pub fn hash_pin(pin: &str) -> std::result::Result<String, AuthError> {
    check_pin_format(pin)?;
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|_| AuthError::PinFormat)?;
    argon2::Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| AuthError::PinFormat)
}

fn pin_matches(pin: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| argon2::Argon2::default().verify_password(pin.as_bytes(), &hash).is_ok())
}

fn operator_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, String, String, bool)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn typed_operator(raw: (i64, String, String, bool)) -> Result<Operator> {
    let (id, name, role, active) = raw;
    let role =
        Role::parse(&role).ok_or(StoreError::Corrupt { table: "operators", column: "role", value: role.clone() })?;
    Ok(Operator { id: OperatorId(id), name, role, active })
}

/// Adding an operator failed: a bad name or PIN, a taken name, or the database.
#[derive(Debug, thiserror::Error)]
pub enum AddOperatorError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("there is already an operator called {0:?}")]
    Taken(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// Every operator, owners first.
    pub fn operators(&self) -> Result<Vec<Operator>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, name, role, active FROM operators
             ORDER BY CASE role WHEN 'owner' THEN 0 WHEN 'back_office' THEN 1 ELSE 2 END, name",
        )?;
        let raw = stmt.query_map([], operator_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter().map(typed_operator).collect()
    }

    pub fn operator(&self, id: OperatorId) -> Result<Option<Operator>> {
        let raw = self
            .conn
            .query_row("SELECT id, name, role, active FROM operators WHERE id = ?1", [id.0], operator_from_row)
            .optional()?;
        raw.map(typed_operator).transpose()
    }

    pub fn operator_by_name(&self, name: &str) -> Result<Option<Operator>> {
        let raw = self
            .conn
            .query_row("SELECT id, name, role, active FROM operators WHERE name = ?1", [name.trim()], operator_from_row)
            .optional()?;
        raw.map(typed_operator).transpose()
    }

    /// Whether the first-run owner exists.
    pub fn has_owner(&self) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM operators WHERE role = 'owner' AND active = 1)",
            [],
            |r| r.get(0),
        )?)
    }

    /// Adds an operator with a hashed PIN; audited as done by `by` (None on first run).
    pub fn add_operator(
        &mut self,
        name: &str,
        role: Role,
        pin: &str,
        by: Option<OperatorId>,
    ) -> std::result::Result<Operator, AddOperatorError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 32 {
            return Err(AuthError::NameFormat.into());
        }
        if self.operator_by_name(name)?.is_some() {
            return Err(AddOperatorError::Taken(name.to_owned()));
        }
        let hash = hash_pin(pin)?;
        let now = crate::time::now_utc();
        let id = self.transaction(|tx| {
            tx.execute(
                "INSERT INTO operators (name, role, pin_hash, active, created_at) VALUES (?1, ?2, ?3, 1, ?4)",
                params![name, role.as_str(), hash, now],
            )?;
            let id = tx.last_insert_rowid();
            append_audit(tx, &now, by, "operator.add", name, None, Some(role.as_str()))?;
            Ok(id)
        })?;
        Ok(self.operator(OperatorId(id))?.ok_or(StoreError::Sql(rusqlite::Error::QueryReturnedNoRows))?)
    }

    /// Checks a PIN. A wrong PIN is audited (who tried, not the PIN).
    pub fn verify_pin(&mut self, name: &str, pin: &str) -> std::result::Result<Operator, VerifyError> {
        let row: Option<(i64, String)> = self
            .conn
            .query_row("SELECT id, pin_hash FROM operators WHERE name = ?1 AND active = 1", [name.trim()], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(StoreError::from)?;
        let Some((id, phc)) = row else {
            return Err(AuthError::NoSuchOperator(name.trim().to_owned()).into());
        };
        if !pin_matches(pin, &phc) {
            let now = crate::time::now_utc();
            self.transaction(|tx| {
                append_audit(tx, &now, Some(OperatorId(id)), "operator.pin_refused", name, None, None)
            })?;
            return Err(AuthError::WrongPin.into());
        }
        Ok(self.operator(OperatorId(id))?.ok_or(AuthError::NoSuchOperator(name.to_owned()))?)
    }

    /// Writes one audit entry on its own (a money action writes its entry inside its own transaction instead).
    pub fn audit(
        &mut self,
        operator: Option<OperatorId>,
        action: &str,
        subject: &str,
        before: Option<&str>,
        after: Option<&str>,
    ) -> Result<()> {
        let now = crate::time::now_utc();
        self.transaction(|tx| append_audit(tx, &now, operator, action, subject, before, after))
    }

    /// The audit log, newest first, `limit` entries before `before_id` (keyset paging).
    pub fn audit_page(&self, before_id: Option<AuditId>, limit: u32) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, at, operator_id, action, subject, before, after FROM audit_log
             WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![before_id.map_or(i64::MAX, |a| a.0), limit], |r| {
            Ok(AuditEntry {
                id: AuditId(r.get(0)?),
                at: r.get(1)?,
                operator_id: r.get::<_, Option<i64>>(2)?.map(OperatorId),
                action: r.get(3)?,
                subject: r.get(4)?,
                before: r.get(5)?,
                after: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

/// A PIN check failed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_hashed_checked_and_audited() {
        let mut store = Store::open_in_memory().unwrap();
        assert!(!store.has_owner().unwrap());
        let owner = store.add_operator("老板", Role::Owner, "246810", None).unwrap();
        assert!(store.has_owner().unwrap());
        let stored: String =
            store.conn.query_row("SELECT pin_hash FROM operators WHERE id = ?1", [owner.id.0], |r| r.get(0)).unwrap();
        assert!(stored.starts_with("$argon2id$") && !stored.contains("246810"), "{stored}");
        assert_eq!(store.verify_pin("老板", "246810").unwrap().id, owner.id);
        assert!(matches!(store.verify_pin("老板", "000000"), Err(VerifyError::Auth(AuthError::WrongPin))));
        assert!(matches!(store.verify_pin("nobody", "1234"), Err(VerifyError::Auth(AuthError::NoSuchOperator(_)))));
        assert!(matches!(store.add_operator("x", Role::Cashier, "12a4", None), Err(AddOperatorError::Auth(_))));
        assert!(matches!(store.add_operator("老板", Role::Cashier, "1234", None), Err(AddOperatorError::Taken(_))));
        let audit = store.audit_page(None, 10).unwrap();
        assert_eq!(audit[0].action, "operator.pin_refused");
        assert_eq!(audit[1].action, "operator.add");
        assert!(audit.iter().all(|a| !a.after.as_deref().unwrap_or("").contains("246810")));
    }

    #[test]
    fn roles_allow_what_the_issue_says() {
        use Permission::*;
        assert!(
            [TakePayments, Refund, Reconcile, Export, ManageStaff, ViewAudit]
                .iter()
                .all(|p| role_allows(Role::Owner, *p))
        );
        assert!(role_allows(Role::BackOffice, Refund) && role_allows(Role::BackOffice, Export));
        assert!(!role_allows(Role::BackOffice, ManageStaff) && !role_allows(Role::BackOffice, ViewAudit));
        assert!(role_allows(Role::Cashier, TakePayments));
        assert!(!role_allows(Role::Cashier, Refund) && !role_allows(Role::Cashier, SeeAllOrders));
        let cashier = Operator { id: OperatorId(3), name: "小王".into(), role: Role::Cashier, active: true };
        assert_eq!(
            require(&cashier, Refund).unwrap_err().to_string(),
            "小王 is a cashier and may not refund; ask the owner or back office"
        );
    }
}
