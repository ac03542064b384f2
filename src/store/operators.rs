//! Staff: operators with a role and a PIN (stored only as an Argon2 PHC string), and the audit entries their
//! actions leave.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rusqlite::{OptionalExtension, params};

use super::{Result, Store, StoreError, append_audit};
use crate::model::{AuditEntry, AuditId, Operator, OperatorId, Role};

/// Why a PIN or an operator was refused. Messages are for the person at the till. A name nobody has and a wrong
/// PIN get the same words (so that names cannot be probed); the audit log records which one it was.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("the name or the PIN is wrong")]
    NameOrPin,
    #[error("too many wrong PINs for {name}: try again in {seconds} s")]
    LockedOut { name: String, seconds: i64 },
    #[error("{role} PINs must be {min} to 12 digits")]
    PinFormat { role: &'static str, min: usize },
    #[error("an operator name must be 1 to 32 characters")]
    NameFormat,
    #[error("{name} is a {role} and may not {action}; sign in as {who}")]
    NotAllowed { name: String, role: &'static str, action: &'static str, who: String },
}

/// Wrong PINs in a row that an operator may enter before the first lockout.
pub const FREE_TRIES: i64 = 5;
/// The first lockout; each further wrong PIN doubles it, up to [`MAX_LOCKOUT_SECS`].
pub const FIRST_LOCKOUT_SECS: i64 = 30;
pub const MAX_LOCKOUT_SECS: i64 = 3600;

/// How long an operator is locked out after `failed` wrong PINs in a row (0 below [`FREE_TRIES`]): 30 s after the
/// 5th, 60 s after the 6th, doubling, at most an hour.
pub fn lockout_secs(failed: i64) -> i64 {
    if failed < FREE_TRIES {
        return 0;
    }
    let doublings = u32::try_from(failed - FREE_TRIES).unwrap_or(u32::MAX).min(20);
    FIRST_LOCKOUT_SECS.saturating_mul(1 << doublings).min(MAX_LOCKOUT_SECS)
}

/// The shortest PIN a role may be given: 6 digits for the owner and back office, 4 for a cashier. (PINs set before
/// this rule keep working for signing in; only adding an operator or changing a PIN checks it.)
pub fn min_pin_len(role: Role) -> usize {
    match role {
        Role::Owner | Role::BackOffice => 6,
        Role::Cashier => 4,
    }
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

/// The roles that may do `permission`, in words: "owner or back office".
pub fn roles_allowed_words(permission: Permission) -> String {
    [Role::Owner, Role::BackOffice, Role::Cashier]
        .into_iter()
        .filter(|r| role_allows(*r, permission))
        .map(role_words)
        .collect::<Vec<_>>()
        .join(" or ")
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
            who: roles_allowed_words(permission),
        })
    }
}

/// Refuses a PIN that `role` may not be given (digits only; see [`min_pin_len`]; at most 12).
pub fn check_pin_format(pin: &str, role: Role) -> std::result::Result<(), AuthError> {
    let min = min_pin_len(role);
    if (min..=12).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(AuthError::PinFormat { role: role_words(role), min })
    }
}

/// The Argon2id PHC string of a PIN for `role`, with a fresh random salt. Slow on purpose: never on the UI thread.
pub fn hash_pin(pin: &str, role: Role) -> std::result::Result<String, AuthError> {
    crate::thread_role::assert_off_ui("Argon2 hashing");
    check_pin_format(pin, role)?;
    let salt_bytes: [u8; 16] = rand::random();
    let format_error = || AuthError::PinFormat { role: role_words(role), min: min_pin_len(role) };
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|_| format_error())?;
    argon2::Argon2::default().hash_password(pin.as_bytes(), &salt).map(|h| h.to_string()).map_err(|_| format_error())
}

/// A hash to check PINs against when the name is unknown (made once per process).
pub(crate) fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_pin("000000", Role::Owner).unwrap_or_default())
}

pub(crate) fn pin_matches(pin: &str, phc: &str) -> bool {
    crate::thread_role::assert_off_ui("Argon2 checking");
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

/// Why an operator was not deactivated or reactivated: nobody has that name, or they are the last active owner
/// (someone must always be able to manage staff).
#[derive(Debug, thiserror::Error)]
pub enum SetActiveError {
    #[error("there is no operator called {0:?}")]
    Unknown(String),
    #[error("{0} is the only active owner: add another owner first")]
    LastOwner(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl<S: std::ops::Deref<Target = Store>> super::Staff<S> {
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

    /// The audit log, newest first, `limit` entries before `before_id` (keyset paging).
    pub fn audit_page(&self, before_id: Option<AuditId>, limit: u32) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, at, operator_id, action, subject, before, after, actor FROM audit_log
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
                actor: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

impl<S: std::ops::DerefMut<Target = Store>> super::Staff<S> {
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
        let hash = hash_pin(pin, role)?;
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
        Ok(self.operator(OperatorId(id))?.ok_or(StoreError::NotFound { what: "operator", key: id.to_string() })?)
    }

    /// Checks a PIN now; see [`Staff::verify_pin_at`].
    pub fn verify_pin(&mut self, name: &str, pin: &str) -> std::result::Result<Operator, VerifyError> {
        self.verify_pin_at(name, pin, time::OffsetDateTime::now_utc())
    }

    /// Checks a PIN at `now` (tests move it). A name nobody has and a wrong PIN are refused alike
    /// ([`AuthError::NameOrPin`]) and audited apart ("operator.unknown_name", "operator.pin_refused"). After
    /// [`FREE_TRIES`] wrong PINs in a row the operator is locked out for [`lockout_secs`] (stored, so it survives a
    /// restart; audited "operator.locked_out"); a try while locked out is refused unchecked ("operator.pin_locked").
    /// The right PIN resets the count. Argon2 is slow on purpose: never call this on the UI thread.
    pub fn verify_pin_at(
        &mut self,
        name: &str,
        pin: &str,
        now: time::OffsetDateTime,
    ) -> std::result::Result<Operator, VerifyError> {
        let name = name.trim();
        let at = crate::time::format_utc(now);
        let now_secs = now.unix_timestamp();
        let row: Option<(i64, String, i64, Option<i64>)> = self
            .conn
            .query_row(
                "SELECT id, pin_hash, failed_pins, locked_until FROM operators WHERE name = ?1 AND active = 1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(StoreError::from)?;
        let Some((id, phc, _, locked_until)) = row else {
            // As slow as a wrong PIN, so that the time taken does not tell which names exist.
            let _ = pin_matches(pin, dummy_hash());
            self.transaction(|tx| append_audit(tx, &at, None, "operator.unknown_name", name, None, None))?;
            return Err(AuthError::NameOrPin.into());
        };
        let operator = Some(OperatorId(id));
        if let Some(until) = locked_until.filter(|u| *u > now_secs) {
            let left = (until - now_secs).to_string();
            self.transaction(|tx| append_audit(tx, &at, operator, "operator.pin_locked", name, None, Some(&left)))?;
            return Err(AuthError::LockedOut { name: name.to_owned(), seconds: until - now_secs }.into());
        }
        if pin_matches(pin, &phc) {
            self.conn
                .execute("UPDATE operators SET failed_pins = 0, locked_until = NULL WHERE id = ?1", [id])
                .map_err(StoreError::from)?;
            return Ok(self.operator(OperatorId(id))?.ok_or(AuthError::NameOrPin)?);
        }
        // Counted inside one IMMEDIATE-like write: read the count again in the transaction (another process may
        // have counted a wrong PIN meanwhile).
        let lock = self.transaction(|tx| {
            let failed: i64 = tx.query_row(
                "UPDATE operators SET failed_pins = failed_pins + 1 WHERE id = ?1 RETURNING failed_pins",
                [id],
                |r| r.get(0),
            )?;
            append_audit(tx, &at, operator, "operator.pin_refused", name, None, Some(&failed.to_string()))?;
            let secs = lockout_secs(failed);
            if secs > 0 {
                tx.execute("UPDATE operators SET locked_until = ?2 WHERE id = ?1", params![id, now_secs + secs])?;
                let after = format!("{failed} wrong PINs: locked for {secs} s");
                append_audit(tx, &at, operator, "operator.locked_out", name, None, Some(&after))?;
            }
            Ok(secs)
        })?;
        if lock > 0 {
            return Err(AuthError::LockedOut { name: name.to_owned(), seconds: lock }.into());
        }
        Err(AuthError::NameOrPin.into())
    }

    /// Gives `id` a new PIN (the rule of its role, [`min_pin_len`]); audited as done by `by`. Hashes: never on the
    /// UI thread.
    pub fn change_pin(
        &mut self,
        id: OperatorId,
        new_pin: &str,
        by: Option<OperatorId>,
    ) -> std::result::Result<(), AddOperatorError> {
        let operator = self.operator(id)?.ok_or(StoreError::NotFound { what: "operator", key: id.0.to_string() })?;
        let hash = hash_pin(new_pin, operator.role)?;
        let now = crate::time::now_utc();
        self.transaction(|tx| {
            tx.execute(
                "UPDATE operators SET pin_hash = ?2, failed_pins = 0, locked_until = NULL WHERE id = ?1",
                params![id.0, hash],
            )?;
            append_audit(tx, &now, by, "operator.pin_change", &operator.name, None, None)
        })?;
        Ok(())
    }

    /// Deactivates (`active` false) or reactivates operator `name`, audited as done by `by`
    /// ("operator.deactivate" / "operator.reactivate"; nothing is written when they already are so). A deactivated
    /// operator cannot sign in, and their sessions at a merchant backend open nothing; their orders and audit entries
    /// stay theirs. The last active owner is never deactivated.
    pub fn set_active(
        &mut self,
        name: &str,
        active: bool,
        by: Option<OperatorId>,
    ) -> std::result::Result<Operator, SetActiveError> {
        let name = name.trim();
        let Some(op) = self.operator_by_name(name)? else { return Err(SetActiveError::Unknown(name.to_owned())) };
        if op.active == active {
            return Ok(op);
        }
        let now = crate::time::now_utc();
        let last_owner = self.transaction(|tx| {
            if !active && op.role == Role::Owner {
                let others: i64 = tx.query_row(
                    "SELECT COUNT(*) FROM operators WHERE role = 'owner' AND active = 1 AND id <> ?1",
                    [op.id.0],
                    |r| r.get(0),
                )?;
                if others == 0 {
                    return Ok(true);
                }
            }
            tx.execute("UPDATE operators SET active = ?2 WHERE id = ?1", params![op.id.0, active])?;
            if !active {
                // At a merchant backend: their operator sessions end with them.
                tx.execute("DELETE FROM backend_operator_sessions WHERE operator_id = ?1", [op.id.0])?;
            }
            let (action, before, after) = if active {
                ("operator.reactivate", "inactive", "active")
            } else {
                ("operator.deactivate", "active", "inactive")
            };
            append_audit(tx, &now, by, action, &op.name, Some(before), Some(after))?;
            Ok(false)
        })?;
        if last_owner {
            return Err(SetActiveError::LastOwner(op.name));
        }
        Ok(Operator { active, ..op })
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
        assert!(!store.staff().has_owner().unwrap());
        let owner = store.staff_mut().add_operator("老板", Role::Owner, "246810", None).unwrap();
        assert!(store.staff().has_owner().unwrap());
        let stored: String =
            store.conn.query_row("SELECT pin_hash FROM operators WHERE id = ?1", [owner.id.0], |r| r.get(0)).unwrap();
        assert!(stored.starts_with("$argon2id$") && !stored.contains("246810"), "{stored}");
        assert_eq!(store.staff_mut().verify_pin("老板", "246810").unwrap().id, owner.id);
        assert!(matches!(store.staff_mut().verify_pin("老板", "000000"), Err(VerifyError::Auth(AuthError::NameOrPin))));
        assert!(matches!(
            store.staff_mut().add_operator("x", Role::Cashier, "12a4", None),
            Err(AddOperatorError::Auth(_))
        ));
        assert!(matches!(
            store.staff_mut().add_operator("老板", Role::Cashier, "1234", None),
            Err(AddOperatorError::Taken(_))
        ));
        let audit = store.staff().audit_page(None, 10).unwrap();
        assert_eq!(audit[0].action, "operator.pin_refused");
        assert_eq!(audit[1].action, "operator.add");
        assert!(audit.iter().all(|a| !a.after.as_deref().unwrap_or("").contains("246810")));
    }

    #[test]
    fn staff_are_deactivated_and_reactivated_but_the_last_owner_stays() {
        let mut store = Store::open_in_memory().unwrap();
        let owner = store.staff_mut().add_operator("老板", Role::Owner, "246810", None).unwrap();
        store.staff_mut().add_operator("小王", Role::Cashier, "1234", Some(owner.id)).unwrap();
        assert!(matches!(
            store.staff_mut().set_active("老板", false, Some(owner.id)),
            Err(SetActiveError::LastOwner(n)) if n == "老板"
        ));
        assert!(store.staff().operator_by_name("老板").unwrap().unwrap().active, "the last owner stays");
        assert!(matches!(store.staff_mut().set_active("nobody", false, None), Err(SetActiveError::Unknown(_))));
        let off = store.staff_mut().set_active(" 小王 ", false, Some(owner.id)).unwrap();
        assert!(!off.active);
        assert!(matches!(store.staff_mut().verify_pin("小王", "1234"), Err(VerifyError::Auth(AuthError::NameOrPin))));
        // Asked again: nothing more is written.
        store.staff_mut().set_active("小王", false, Some(owner.id)).unwrap();
        let audit = store.staff().audit_page(None, 3).unwrap();
        assert_eq!(audit[1].action, "operator.deactivate");
        assert_eq!((audit[1].subject.as_str(), audit[1].operator_id), ("小王", Some(owner.id)));
        assert!(store.staff_mut().set_active("小王", true, Some(owner.id)).unwrap().active);
        assert_eq!(store.staff_mut().verify_pin("小王", "1234").unwrap().name, "小王");
        // A second owner makes the first one's deactivation possible.
        store.staff_mut().add_operator("二老板", Role::Owner, "135790", Some(owner.id)).unwrap();
        assert!(!store.staff_mut().set_active("老板", false, None).unwrap().active);
        assert!(store.staff().has_owner().unwrap());
    }

    #[test]
    fn no_such_name_and_a_wrong_pin_read_the_same_but_are_audited_apart() {
        let mut store = Store::open_in_memory().unwrap();
        store.staff_mut().add_operator("boss", Role::Owner, "246810", None).unwrap();
        let unknown = store.staff_mut().verify_pin("nobody", "246810").unwrap_err().to_string();
        let wrong = store.staff_mut().verify_pin("boss", "111111").unwrap_err().to_string();
        assert_eq!(unknown, wrong);
        assert_eq!(wrong, "the name or the PIN is wrong");
        let audit = store.staff().audit_page(None, 2).unwrap();
        assert_eq!((audit[0].action.as_str(), audit[0].subject.as_str()), ("operator.pin_refused", "boss"));
        assert_eq!((audit[1].action.as_str(), audit[1].subject.as_str()), ("operator.unknown_name", "nobody"));
    }

    #[test]
    fn the_lockout_starts_after_five_wrong_pins_and_doubles_up_to_an_hour() {
        assert_eq!((0..5).map(lockout_secs).collect::<Vec<_>>(), [0, 0, 0, 0, 0]);
        assert_eq!((5..10).map(lockout_secs).collect::<Vec<_>>(), [30, 60, 120, 240, 480]);
        assert_eq!(lockout_secs(12), 3600);
        assert_eq!(lockout_secs(i64::MAX), 3600);
    }

    fn failed_and_locked(store: &Store, name: &str) -> (i64, Option<i64>) {
        store
            .conn
            .query_row("SELECT failed_pins, locked_until FROM operators WHERE name = ?1", [name], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap()
    }

    #[test]
    fn wrong_pins_lock_an_operator_out_for_longer_each_time_across_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("till.sqlite3");
        let mut store = Store::open(&path).unwrap();
        store.staff_mut().add_operator("boss", Role::Owner, "246810", None).unwrap();
        let t0 = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let at = |secs: i64| t0 + time::Duration::seconds(secs);
        let refused = |r: std::result::Result<Operator, VerifyError>| match r {
            Err(VerifyError::Auth(e)) => e,
            other => panic!("expected a refusal, got {other:?}"),
        };
        for i in 0..4 {
            assert_eq!(refused(store.staff_mut().verify_pin_at("boss", "000000", at(i))), AuthError::NameOrPin);
        }
        // The 5th wrong PIN locks for 30 s.
        assert_eq!(
            refused(store.staff_mut().verify_pin_at("boss", "000000", at(4))),
            AuthError::LockedOut { name: "boss".into(), seconds: 30 }
        );
        assert_eq!(failed_and_locked(&store, "boss"), (5, Some(t0.unix_timestamp() + 34)));
        drop(store);
        // The lockout is stored: it holds after a restart, even for the right PIN, which is not even checked.
        let mut store = Store::open(&path).unwrap();
        assert_eq!(
            refused(store.staff_mut().verify_pin_at("boss", "246810", at(14))),
            AuthError::LockedOut { name: "boss".into(), seconds: 20 }
        );
        assert_eq!(failed_and_locked(&store, "boss").0, 5, "a refused try while locked is not counted");
        // After it, one more wrong PIN locks for 60 s, then 120 s.
        assert_eq!(
            refused(store.staff_mut().verify_pin_at("boss", "000000", at(34))),
            AuthError::LockedOut { name: "boss".into(), seconds: 60 }
        );
        assert!(matches!(
            refused(store.staff_mut().verify_pin_at("boss", "246810", at(93))),
            AuthError::LockedOut { .. }
        ));
        assert_eq!(
            refused(store.staff_mut().verify_pin_at("boss", "000000", at(94))),
            AuthError::LockedOut { name: "boss".into(), seconds: 120 }
        );
        // The right PIN after the lockout signs in and resets the count: the next wrong PIN is a plain refusal.
        assert_eq!(store.staff_mut().verify_pin_at("boss", "246810", at(214)).unwrap().name, "boss");
        assert_eq!(failed_and_locked(&store, "boss"), (0, None));
        assert_eq!(refused(store.staff_mut().verify_pin_at("boss", "000000", at(215))), AuthError::NameOrPin);
        // Every refusal and every lockout is in the audit log.
        let actions: Vec<String> =
            store.staff().audit_page(None, 100).unwrap().into_iter().rev().map(|a| a.action).collect::<Vec<_>>();
        let count = |what: &str| actions.iter().filter(|a| *a == what).count();
        assert_eq!(count("operator.pin_refused"), 8);
        assert_eq!(count("operator.locked_out"), 3);
        assert_eq!(count("operator.pin_locked"), 2);
    }

    #[test]
    fn owner_and_back_office_pins_need_six_digits_and_old_short_pins_still_sign_in() {
        let mut store = Store::open_in_memory().unwrap();
        let short = |r: std::result::Result<Operator, AddOperatorError>| {
            matches!(r, Err(AddOperatorError::Auth(AuthError::PinFormat { .. })))
        };
        assert!(short(store.staff_mut().add_operator("boss", Role::Owner, "2468", None)));
        assert!(short(store.staff_mut().add_operator("li", Role::BackOffice, "13579", None)));
        assert!(short(store.staff_mut().add_operator("wang", Role::Cashier, "123", None)));
        assert!(short(store.staff_mut().add_operator("wang", Role::Cashier, "1234567890123", None)));
        assert_eq!(
            store.staff_mut().add_operator("boss", Role::Owner, "2468", None).unwrap_err().to_string(),
            "owner PINs must be 6 to 12 digits"
        );
        let boss = store.staff_mut().add_operator("boss", Role::Owner, "246810", None).unwrap();
        store.staff_mut().add_operator("li", Role::BackOffice, "135790", None).unwrap();
        let wang = store.staff_mut().add_operator("wang", Role::Cashier, "1234", None).unwrap();
        // An owner whose 4-digit PIN was set before the rule still signs in with it...
        let old_hash = hash_pin("2468", Role::Cashier).unwrap();
        store.conn.execute("UPDATE operators SET pin_hash = ?1 WHERE id = ?2", params![old_hash, boss.id.0]).unwrap();
        assert_eq!(store.staff_mut().verify_pin("boss", "2468").unwrap().id, boss.id);
        // ...but a new one must follow it.
        assert!(matches!(
            store.staff_mut().change_pin(boss.id, "1357", Some(boss.id)),
            Err(AddOperatorError::Auth(AuthError::PinFormat { min: 6, .. }))
        ));
        store.staff_mut().change_pin(boss.id, "135791", Some(boss.id)).unwrap();
        assert!(store.staff_mut().verify_pin("boss", "2468").is_err());
        assert_eq!(store.staff_mut().verify_pin("boss", "135791").unwrap().id, boss.id);
        store.staff_mut().change_pin(wang.id, "9876", Some(boss.id)).unwrap();
        assert_eq!(store.staff_mut().verify_pin("wang", "9876").unwrap().id, wang.id);
        assert_eq!(store.staff().audit_page(None, 1).unwrap()[0].action, "operator.pin_change");
    }

    #[test]
    fn entries_without_an_operator_carry_the_session_actor() {
        let mut store = Store::open_in_memory().unwrap();
        store.set_audit_session(None, "command line").unwrap();
        store.set_setting("ui.language", "en", None).unwrap();
        let boss = store.staff_mut().add_operator("boss", Role::Owner, "246810", None).unwrap();
        store.set_audit_session(Some(boss.id), "window").unwrap();
        store.set_setting("ui.language", "zh-CN", None).unwrap();
        let audit = store.staff().audit_page(None, 10).unwrap();
        assert_eq!((audit[0].operator_id, audit[0].actor.as_deref()), (Some(boss.id), Some("window")));
        assert_eq!((audit[1].operator_id, audit[1].actor.as_deref()), (None, Some("command line")));
        assert_eq!((audit[2].operator_id, audit[2].actor.as_deref()), (None, Some("command line")));
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
            "小王 is a cashier and may not refund; sign in as owner or back office"
        );
    }
}
