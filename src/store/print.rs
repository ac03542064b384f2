//! Read-only: the stores with their merchant and acquirer bindings, for printing their codes.

use rusqlite::params;

use super::{Result, Store, StoreError};
use crate::model::{AcquirerKind, BindingStatus, Merchant, MerchantId, Store as StoreRow, StoreId};
use crate::money::Currency;

/// One binding of a store, with what a printed code needs from its acquirer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintBinding {
    pub acquirer_kind: AcquirerKind,
    pub acquirer_name: String,
    pub status: BindingStatus,
    pub merchant_id_at_acquirer: Option<String>,
    /// The identifier the acquirer puts in store codes, when the database records it.
    pub issuer_guid: Option<String>,
    pub cds_platform_id: Option<String>,
    pub cds_index: Option<String>,
}

/// A store as its printed code needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintableStore {
    pub store: StoreRow,
    pub merchant: Merchant,
    /// The merchant's Chinese city, when the database records it.
    pub city_zh: Option<String>,
    /// `auto`, `alipayplus` or `emvco`, when the database records it.
    pub code_format: Option<String>,
    pub bindings: Vec<PrintBinding>,
}

impl<S: std::ops::Deref<Target = Store>> super::Setup<S> {
    /// Every store (in id order) with its merchant and bindings.
    pub fn printable_stores(&self) -> Result<Vec<PrintableStore>> {
        let mut stmt = self.conn.prepare(
            "SELECT s.id, s.merchant_id, s.store_code, s.name, s.name_zh, s.address, s.contact,
                    m.legal_name, m.display_name, m.display_name_zh, m.mcc, m.country, m.city, m.postal_code,
                    m.currency, m.city_zh, s.code_format
             FROM stores s JOIN merchants m ON m.id = s.merchant_id
             ORDER BY s.id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                StoreRow {
                    id: StoreId(r.get(0)?),
                    merchant_id: MerchantId(r.get(1)?),
                    store_code: r.get(2)?,
                    name: r.get(3)?,
                    name_zh: r.get(4)?,
                    address: r.get(5)?,
                    contact: r.get(6)?,
                },
                (
                    r.get::<_, String>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, String>(9)?,
                    r.get::<_, String>(10)?,
                    r.get::<_, String>(11)?,
                    r.get::<_, String>(12)?,
                    r.get::<_, String>(13)?,
                ),
                r.get::<_, String>(14)?,
                r.get::<_, Option<String>>(15)?,
                r.get::<_, Option<String>>(16)?,
            ))
        })?;
        let mut stores = Vec::new();
        for row in rows {
            let (
                store,
                (legal_name, display_name, display_name_zh, mcc, country, city, postal_code),
                currency,
                city_zh,
                code_format,
            ) = row?;
            let currency = Currency::from_code(&currency).ok_or(StoreError::Corrupt {
                table: "merchants",
                column: "currency",
                value: currency.clone(),
            })?;
            let merchant = Merchant {
                id: store.merchant_id,
                legal_name,
                display_name,
                display_name_zh,
                mcc,
                country,
                city,
                postal_code,
                currency,
                city_zh: city_zh.clone().unwrap_or_default(),
            };
            stores.push(PrintableStore {
                store,
                merchant,
                city_zh: city_zh.filter(|c| !c.trim().is_empty()),
                code_format,
                bindings: Vec::new(),
            });
        }
        let mut stmt = self.conn.prepare(
            "SELECT b.store_id, a.kind, a.name, b.status, b.merchant_id_at_acquirer, b.issuer_guid,
                    b.cds_platform_id, b.cds_index
             FROM acquirer_bindings b JOIN acquirers a ON a.id = b.acquirer_id
             WHERE b.store_id = ?1
             ORDER BY b.id",
        )?;
        for printable in &mut stores {
            let rows = stmt.query_map(params![printable.store.id.0], |r| {
                Ok((
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            })?;
            for row in rows {
                let (kind, acquirer_name, status, merchant_id_at_acquirer, issuer_guid, cds_platform_id, cds_index) =
                    row?;
                let acquirer_kind = AcquirerKind::parse(&kind).ok_or(StoreError::Corrupt {
                    table: "acquirers",
                    column: "kind",
                    value: kind.clone(),
                })?;
                let status = BindingStatus::parse(&status).ok_or(StoreError::Corrupt {
                    table: "acquirer_bindings",
                    column: "status",
                    value: status.clone(),
                })?;
                printable.bindings.push(PrintBinding {
                    acquirer_kind,
                    acquirer_name,
                    status,
                    merchant_id_at_acquirer,
                    issuer_guid,
                    cds_platform_id,
                    cds_index,
                });
            }
        }
        Ok(stores)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_come_with_merchant_and_bindings() {
        let mut store = Store::open_in_memory().unwrap();
        let id = store.setup_mut().default_store().unwrap();
        let alipay = store.setup_mut().acquirer_for(AcquirerKind::Alipay).unwrap();
        store
            .conn
            .execute(
                "INSERT INTO acquirer_bindings (store_id, acquirer_id, status, merchant_id_at_acquirer, created_at, updated_at)
                 VALUES (?1, ?2, 'active', '2088000000000001', 'now', 'now')",
                params![id.0, alipay.0],
            )
            .unwrap();
        let stores = store.setup().printable_stores().unwrap();
        assert_eq!(stores.len(), 1);
        let s = &stores[0];
        assert_eq!((s.store.store_code.as_str(), s.store.name_zh.as_str()), ("S001", "演示门店"));
        assert_eq!(s.merchant.display_name, "TILLDESK DEMO");
        assert_eq!(s.bindings.len(), 1);
        assert_eq!(s.bindings[0].acquirer_kind, AcquirerKind::Alipay);
        assert_eq!(s.bindings[0].status, BindingStatus::Active);
        assert_eq!(s.bindings[0].merchant_id_at_acquirer.as_deref(), Some("2088000000000001"));
        assert_eq!(s.bindings[0].issuer_guid, None);
    }
}
