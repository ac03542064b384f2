//! The merchant profile, its stores, the acquirers with their onboarding ids, and each store's bindings with the
//! timeline of every onboarding step.

use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::{Result, Store, StoreError, append_audit};
use crate::model::{
    Acquirer, AcquirerBinding, AcquirerId, AcquirerKind, BindingId, BindingStatus, ChannelMode, CodeFormatChoice,
    Merchant, MerchantId, OperatorId, StoreId,
};
use crate::money::Currency;

/// An acquirer TillDesk can onboard stores with: the local row and the acquirer's own id on its onboarding API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnboardingAcquirer {
    pub acquirer: Acquirer,
    /// The acquirer's id in its onboarding URLs (`/onboarding/{onboarding_code}/…`).
    pub onboarding_code: String,
}

/// One step of a binding's onboarding, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingEvent {
    /// UTC, RFC 3339.
    pub at: String,
    pub step: String,
    pub detail: String,
}

const MERCHANT_COLUMNS: &str =
    "id, legal_name, display_name, display_name_zh, mcc, country, city, postal_code, currency, city_zh";
const STORE_COLUMNS: &str = "id, merchant_id, store_code, name, name_zh, address, contact";
const BINDING_COLUMNS: &str = "id, store_id, acquirer_id, status, merchant_id_at_acquirer, cds_platform_id, cds_index, \
     failure_reason, issuer_guid";

fn merchant_from_row(r: &Row<'_>) -> rusqlite::Result<(Merchant, String)> {
    Ok((
        Merchant {
            id: MerchantId(r.get(0)?),
            legal_name: r.get(1)?,
            display_name: r.get(2)?,
            display_name_zh: r.get(3)?,
            mcc: r.get(4)?,
            country: r.get(5)?,
            city: r.get(6)?,
            postal_code: r.get(7)?,
            currency: Currency::CNY,
            city_zh: r.get(9)?,
        },
        r.get(8)?,
    ))
}

fn typed_merchant((mut m, currency): (Merchant, String)) -> Result<Merchant> {
    m.currency = Currency::from_code(&currency).ok_or(StoreError::Corrupt {
        table: "merchants",
        column: "currency",
        value: currency.clone(),
    })?;
    Ok(m)
}

fn store_from_row(r: &Row<'_>) -> rusqlite::Result<crate::model::Store> {
    Ok(crate::model::Store {
        id: StoreId(r.get(0)?),
        merchant_id: MerchantId(r.get(1)?),
        store_code: r.get(2)?,
        name: r.get(3)?,
        name_zh: r.get(4)?,
        address: r.get(5)?,
        contact: r.get(6)?,
    })
}

fn binding_from_row(r: &Row<'_>) -> rusqlite::Result<(AcquirerBinding, String)> {
    Ok((
        AcquirerBinding {
            id: BindingId(r.get(0)?),
            store_id: StoreId(r.get(1)?),
            acquirer_id: AcquirerId(r.get(2)?),
            status: BindingStatus::PendingVerification,
            merchant_id_at_acquirer: r.get(4)?,
            cds_platform_id: r.get(5)?,
            cds_index: r.get(6)?,
            failure_reason: r.get(7)?,
            issuer_guid: r.get(8)?,
        },
        r.get(3)?,
    ))
}

fn typed_binding((mut b, status): (AcquirerBinding, String)) -> Result<AcquirerBinding> {
    b.status = BindingStatus::parse(&status).ok_or(StoreError::Corrupt {
        table: "acquirer_bindings",
        column: "status",
        value: status.clone(),
    })?;
    Ok(b)
}

fn insert_event(tx: &Transaction<'_>, binding: i64, at: &str, step: &str, detail: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO binding_events (binding_id, at, step, detail) VALUES (?1, ?2, ?3, ?4)",
        params![binding, at, step, detail],
    )?;
    Ok(())
}

impl<S: std::ops::Deref<Target = Store>> super::Setup<S> {
    /// A merchant by id.
    pub fn merchant_by_id(&self, id: MerchantId) -> Result<Option<Merchant>> {
        let raw = self
            .conn
            .query_row(&format!("SELECT {MERCHANT_COLUMNS} FROM merchants WHERE id = ?1"), [id.0], merchant_from_row)
            .optional()?;
        raw.map(typed_merchant).transpose()
    }

    /// Every store, in the order they were added.
    pub fn stores(&self) -> Result<Vec<crate::model::Store>> {
        let mut stmt = self.conn.prepare(&format!("SELECT {STORE_COLUMNS} FROM stores ORDER BY id"))?;
        let rows = stmt.query_map([], store_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn store(&self, id: StoreId) -> Result<Option<crate::model::Store>> {
        Ok(self
            .conn
            .query_row(&format!("SELECT {STORE_COLUMNS} FROM stores WHERE id = ?1"), [id.0], store_from_row)
            .optional()?)
    }

    /// A store by the merchant's own store number (`store_code`, e.g. `S001`).
    pub fn store_by_code(&self, store_code: &str) -> Result<Option<crate::model::Store>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {STORE_COLUMNS} FROM stores WHERE store_code = ?1"),
                [store_code],
                store_from_row,
            )
            .optional()?)
    }

    /// The format the store prints its code in.
    pub fn store_code_format(&self, id: StoreId) -> Result<CodeFormatChoice> {
        let text: String = self.conn.query_row("SELECT code_format FROM stores WHERE id = ?1", [id.0], |r| r.get(0))?;
        CodeFormatChoice::parse(&text).ok_or(StoreError::Corrupt {
            table: "stores",
            column: "code_format",
            value: text,
        })
    }

    /// The acquirers that have an onboarding id, in the order they were added.
    pub fn onboarding_acquirers(&self) -> Result<Vec<OnboardingAcquirer>> {
        let with_code: Vec<(i64, String)> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id, onboarding_code FROM acquirers WHERE onboarding_code IS NOT NULL ORDER BY id")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let all = self.acquirers()?;
        Ok(with_code
            .into_iter()
            .filter_map(|(id, onboarding_code)| {
                all.iter().find(|a| a.id.0 == id).map(|a| OnboardingAcquirer { acquirer: a.clone(), onboarding_code })
            })
            .collect())
    }

    /// An acquirer by its onboarding id (`ALIPAY`, `WECHATPAY`, `PARTNER1`, …), case-insensitively.
    pub fn acquirer_by_onboarding_code(&self, code: &str) -> Result<Option<OnboardingAcquirer>> {
        Ok(self.onboarding_acquirers()?.into_iter().find(|a| a.onboarding_code.eq_ignore_ascii_case(code.trim())))
    }

    /// The binding of a store to an acquirer, if onboarding ever started.
    pub fn binding(&self, store: StoreId, acquirer: AcquirerId) -> Result<Option<AcquirerBinding>> {
        let raw = self
            .conn
            .query_row(
                &format!("SELECT {BINDING_COLUMNS} FROM acquirer_bindings WHERE store_id = ?1 AND acquirer_id = ?2"),
                params![store.0, acquirer.0],
                binding_from_row,
            )
            .optional()?;
        raw.map(typed_binding).transpose()
    }

    /// A store's bindings, in the order onboarding started.
    pub fn bindings_for_store(&self, store: StoreId) -> Result<Vec<AcquirerBinding>> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {BINDING_COLUMNS} FROM acquirer_bindings WHERE store_id = ?1 ORDER BY id"))?;
        let rows = stmt.query_map([store.0], binding_from_row)?;
        rows.map(|r| typed_binding(r?)).collect()
    }

    /// Every binding that carries this merchant CDS index.
    pub fn bindings_with_cds_index(&self, cds_index: &str) -> Result<Vec<AcquirerBinding>> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {BINDING_COLUMNS} FROM acquirer_bindings WHERE cds_index = ?1 ORDER BY id"))?;
        let rows = stmt.query_map([cds_index], binding_from_row)?;
        rows.map(|r| typed_binding(r?)).collect()
    }

    /// A binding's steps, oldest first.
    pub fn binding_events(&self, binding: BindingId) -> Result<Vec<BindingEvent>> {
        let mut stmt =
            self.conn.prepare("SELECT at, step, detail FROM binding_events WHERE binding_id = ?1 ORDER BY id")?;
        let rows =
            stmt.query_map([binding.0], |r| Ok(BindingEvent { at: r.get(0)?, step: r.get(1)?, detail: r.get(2)? }))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl<S: std::ops::DerefMut<Target = Store>> super::Setup<S> {
    /// The merchant (the legal entity this till belongs to): the first one, created with the demo store on a fresh
    /// install.
    pub fn merchant(&mut self) -> Result<Merchant> {
        self.default_store()?;
        let raw = self.conn.query_row(
            &format!("SELECT {MERCHANT_COLUMNS} FROM merchants ORDER BY id LIMIT 1"),
            [],
            merchant_from_row,
        )?;
        typed_merchant(raw)
    }

    /// Saves the merchant profile (validated by the caller) and audits the change, in one transaction.
    pub fn update_merchant(&mut self, m: &Merchant, operator: Option<OperatorId>) -> Result<()> {
        let before = self.merchant_by_id(m.id)?;
        let now = crate::time::now_utc();
        self.transaction(|tx| {
            tx.execute(
                "UPDATE merchants SET legal_name = ?2, display_name = ?3, display_name_zh = ?4, mcc = ?5, country = ?6,
                    city = ?7, postal_code = ?8, currency = ?9, city_zh = ?10 WHERE id = ?1",
                params![
                    m.id.0,
                    m.legal_name,
                    m.display_name,
                    m.display_name_zh,
                    m.mcc,
                    m.country,
                    m.city,
                    m.postal_code,
                    m.currency.code(),
                    m.city_zh
                ],
            )?;
            let before = before.as_ref().and_then(|b| serde_json::to_string(b).ok());
            let after = serde_json::to_string(m).ok();
            append_audit(tx, &now, operator, "merchant.update", &m.id.to_string(), before.as_deref(), after.as_deref())
        })
    }

    /// Adds a store (validated by the caller) and audits it.
    pub fn add_store(&mut self, s: &crate::model::Store, operator: Option<OperatorId>) -> Result<StoreId> {
        let now = crate::time::now_utc();
        self.transaction(|tx| {
            tx.execute(
                "INSERT INTO stores (merchant_id, store_code, name, name_zh, address, contact, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![s.merchant_id.0, s.store_code, s.name, s.name_zh, s.address, s.contact, now],
            )?;
            let id = StoreId(tx.last_insert_rowid());
            append_audit(
                tx,
                &now,
                operator,
                "store.create",
                &s.store_code,
                None,
                serde_json::to_string(s).ok().as_deref(),
            )?;
            Ok(id)
        })
    }

    /// Saves a store's details (validated by the caller) and audits the change.
    pub fn update_store(&mut self, s: &crate::model::Store, operator: Option<OperatorId>) -> Result<()> {
        let before = self.store(s.id)?.and_then(|b| serde_json::to_string(&b).ok());
        let now = crate::time::now_utc();
        self.transaction(|tx| {
            tx.execute(
                "UPDATE stores SET store_code = ?2, name = ?3, name_zh = ?4, address = ?5, contact = ?6 WHERE id = ?1",
                params![s.id.0, s.store_code, s.name, s.name_zh, s.address, s.contact],
            )?;
            let after = serde_json::to_string(s).ok();
            append_audit(tx, &now, operator, "store.update", &s.store_code, before.as_deref(), after.as_deref())
        })
    }

    pub fn set_store_code_format(&mut self, id: StoreId, format: CodeFormatChoice) -> Result<()> {
        let before = self.store_code_format(id)?;
        if before == format {
            return Ok(());
        }
        let now = crate::time::now_utc();
        let code = self.store_code(id)?;
        self.transaction(|tx| {
            tx.execute("UPDATE stores SET code_format = ?2 WHERE id = ?1", params![id.0, format.as_str()])?;
            append_audit(tx, &now, None, "store.code_format", &code, Some(before.as_str()), Some(format.as_str()))
        })
    }

    /// Makes sure an acquirer with this onboarding id exists: reuses a row with the same id, else adopts a row of
    /// the same kind without one (the one checkout created), else adds one. Returns its id.
    pub fn ensure_onboarding_acquirer(
        &mut self,
        kind: AcquirerKind,
        name: &str,
        onboarding_code: &str,
        mode: ChannelMode,
    ) -> Result<AcquirerId> {
        if let Some(a) = self.acquirer_by_onboarding_code(onboarding_code)? {
            return Ok(a.acquirer.id);
        }
        let adoptable: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM acquirers WHERE kind = ?1 AND onboarding_code IS NULL ORDER BY id LIMIT 1",
                [kind.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        let now = crate::time::now_utc();
        self.transaction(|tx| {
            let id = match adoptable {
                Some(id) => {
                    tx.execute(
                        "UPDATE acquirers SET onboarding_code = ?2 WHERE id = ?1",
                        params![id, onboarding_code],
                    )?;
                    id
                }
                None => {
                    // Names are unique; a clash gets the onboarding id appended.
                    let taken: bool =
                        tx.query_row("SELECT EXISTS(SELECT 1 FROM acquirers WHERE name = ?1)", [name], |r| r.get(0))?;
                    let name = if taken { format!("{name} ({onboarding_code})") } else { name.to_owned() };
                    tx.execute(
                        "INSERT INTO acquirers (kind, name, mode, gateway_url, onboarding_code, created_at)
                         VALUES (?1, ?2, ?3, '', ?4, ?5)",
                        params![kind.as_str(), name, mode.as_str(), onboarding_code, now],
                    )?;
                    tx.last_insert_rowid()
                }
            };
            append_audit(tx, &now, None, "acquirer.onboarding_code", &id.to_string(), None, Some(onboarding_code))?;
            Ok(AcquirerId(id))
        })
    }

    /// Writes the binding's new state (inserting it on the first step) and the step with its time, in one
    /// transaction. `state.id` is ignored: the binding is found by store and acquirer.
    pub fn save_binding(&mut self, state: &AcquirerBinding, step: &str, detail: &str) -> Result<AcquirerBinding> {
        let now = crate::time::now_utc();
        let id = self.transaction(|tx| {
            tx.execute(
                "INSERT INTO acquirer_bindings (store_id, acquirer_id, status, merchant_id_at_acquirer, cds_platform_id,
                    cds_index, failure_reason, issuer_guid, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
                 ON CONFLICT(store_id, acquirer_id) DO UPDATE SET status = excluded.status,
                    merchant_id_at_acquirer = excluded.merchant_id_at_acquirer,
                    cds_platform_id = excluded.cds_platform_id, cds_index = excluded.cds_index,
                    failure_reason = excluded.failure_reason, issuer_guid = excluded.issuer_guid,
                    updated_at = excluded.updated_at",
                params![
                    state.store_id.0,
                    state.acquirer_id.0,
                    state.status.as_str(),
                    state.merchant_id_at_acquirer,
                    state.cds_platform_id,
                    state.cds_index,
                    state.failure_reason,
                    state.issuer_guid,
                    now
                ],
            )?;
            let id: i64 = tx.query_row(
                "SELECT id FROM acquirer_bindings WHERE store_id = ?1 AND acquirer_id = ?2",
                params![state.store_id.0, state.acquirer_id.0],
                |r| r.get(0),
            )?;
            insert_event(tx, id, &now, step, detail)?;
            Ok(id)
        })?;
        let raw = self.conn.query_row(
            &format!("SELECT {BINDING_COLUMNS} FROM acquirer_bindings WHERE id = ?1"),
            [id],
            binding_from_row,
        )?;
        let saved = typed_binding(raw)?;
        // An active onboarding routes its wallet's codes at the store to the acquirer (unless the owner chose
        // another acquirer for that wallet), as the merchant id it returned.
        if saved.status == crate::model::BindingStatus::Active
            && let Some(kind) = self.acquirers()?.into_iter().find(|a| a.id == saved.acquirer_id).map(|a| a.kind)
        {
            let wallet = crate::model::Wallet::for_protocol(kind.protocol());
            // Audited as route.set; the binding's own timeline stays the acquirer's steps.
            self.route_from_onboarding(
                saved.store_id,
                saved.acquirer_id,
                wallet,
                saved.merchant_id_at_acquirer.as_deref(),
            )?;
        }
        Ok(saved)
    }

    /// Records a step that changes nothing else (e.g. "still being verified").
    pub fn add_binding_event(&mut self, binding: BindingId, step: &str, detail: &str) -> Result<()> {
        let now = crate::time::now_utc();
        self.transaction(|tx| insert_event(tx, binding.0, &now, step, detail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merchant_and_stores_round_trip_with_audit() {
        let mut store = Store::open_in_memory().unwrap();
        let mut m = store.setup_mut().merchant().unwrap();
        assert_eq!(m.display_name, "TILLDESK DEMO");
        m.city_zh = "上海".into();
        m.postal_code = "200000".into();
        store.setup_mut().update_merchant(&m, None).unwrap();
        assert_eq!(store.setup_mut().merchant().unwrap(), m);

        let mut s = store.setup().stores().unwrap().remove(0);
        assert_eq!(s.store_code, "S001");
        s.address = "南京东路 1 号".into();
        store.setup_mut().update_store(&s, None).unwrap();
        assert_eq!(store.setup().store_by_code("S001").unwrap().unwrap().address, "南京东路 1 号");
        let new = crate::model::Store { id: StoreId(0), store_code: "S002".into(), name: "Second".into(), ..s.clone() };
        let id = store.setup_mut().add_store(&new, None).unwrap();
        assert!(store.setup_mut().add_store(&new, None).is_err(), "store codes are unique");
        assert_eq!(store.setup().stores().unwrap().len(), 2);
        assert_eq!(store.setup().store_code_format(id).unwrap(), CodeFormatChoice::Auto);
        store.setup_mut().set_store_code_format(id, CodeFormatChoice::Emvco).unwrap();
        assert_eq!(store.setup().store_code_format(id).unwrap(), CodeFormatChoice::Emvco);
        let actions: Vec<String> = store.recent_audit(10).unwrap().into_iter().map(|a| a.action).collect();
        assert!(actions.contains(&"merchant.update".to_owned()) && actions.contains(&"store.code_format".to_owned()));
    }

    #[test]
    fn onboarding_acquirers_adopt_the_checkout_rows() {
        let mut store = Store::open_in_memory().unwrap();
        let checkout_alipay = store.setup_mut().acquirer_for(AcquirerKind::Alipay).unwrap();
        let a = store
            .setup_mut()
            .ensure_onboarding_acquirer(AcquirerKind::Alipay, "Alipay", "ALIPAY", ChannelMode::Sandbox)
            .unwrap();
        assert_eq!(a, checkout_alipay);
        let p = store
            .setup_mut()
            .ensure_onboarding_acquirer(AcquirerKind::Alipay, "Alipay", "PARTNER1", ChannelMode::Sandbox)
            .unwrap();
        assert_ne!(p, a);
        assert_eq!(
            store
                .setup_mut()
                .ensure_onboarding_acquirer(AcquirerKind::Alipay, "x", "partner1", ChannelMode::Sandbox)
                .unwrap(),
            p
        );
        let codes: Vec<String> =
            store.setup().onboarding_acquirers().unwrap().into_iter().map(|a| a.onboarding_code).collect();
        assert_eq!(codes, ["ALIPAY", "PARTNER1"]);
    }

    #[test]
    fn every_binding_step_is_recorded_with_its_time() {
        let mut store = Store::open_in_memory().unwrap();
        let s = store.setup_mut().default_store().unwrap();
        let a = store
            .setup_mut()
            .ensure_onboarding_acquirer(AcquirerKind::Alipay, "A", "ALIPAY", ChannelMode::Sandbox)
            .unwrap();
        let mut b = AcquirerBinding {
            id: BindingId(0),
            store_id: s,
            acquirer_id: a,
            status: BindingStatus::PendingVerification,
            merchant_id_at_acquirer: Some("ALIPAYM00000001".into()),
            cds_platform_id: None,
            cds_index: None,
            failure_reason: None,
            issuer_guid: Some("com.alipay.sandbox".into()),
        };
        let saved = store.setup_mut().save_binding(&b, "submitted", "merchant id ALIPAYM00000001").unwrap();
        b.status = BindingStatus::Active;
        b.cds_index = Some("IDX1".into());
        let again = store.setup_mut().save_binding(&b, "verified", "").unwrap();
        assert_eq!(saved.id, again.id);
        assert_eq!(store.setup().binding(s, a).unwrap().unwrap().status, BindingStatus::Active);
        assert_eq!(store.setup().bindings_with_cds_index("IDX1").unwrap().len(), 1);
        store.setup_mut().add_binding_event(again.id, "note", "x").unwrap();
        let steps: Vec<String> = store.setup().binding_events(again.id).unwrap().into_iter().map(|e| e.step).collect();
        assert_eq!(steps, ["submitted", "verified", "note"]);
        assert!(store.setup().binding_events(again.id).unwrap().iter().all(|e| e.at.ends_with('Z')));
    }
}
