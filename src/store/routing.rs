//! Routes: which acquirer account takes which wallet's codes at which store (see `crate::routing`).

use rusqlite::{OptionalExtension, params};

use super::{Result, Store, StoreError, append_audit};
use crate::model::{AcquirerId, OperatorId, Route, RouteSource, StoreId, Wallet};

/// A route with the names a person reads: for `tilldesk acquirers list` and the Acquirers screen.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RouteView {
    pub store_id: StoreId,
    pub store_code: String,
    pub wallet: Wallet,
    pub acquirer_id: AcquirerId,
    /// The acquirer's onboarding id (ALIPAY, WECHATPAY, PARTNER1…), or its name when it has none.
    pub acquirer: String,
    pub acquirer_name: String,
    pub merchant_id: Option<String>,
    pub source: RouteSource,
    /// The store's onboarding with that acquirer (`active`, `pending_verification`, `failed`), or `direct`.
    pub status: String,
}

fn route_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, String, i64, Option<String>, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn typed(raw: (i64, String, i64, Option<String>, String)) -> Result<Route> {
    let (store_id, wallet, acquirer_id, merchant_id, source) = raw;
    Ok(Route {
        store_id: StoreId(store_id),
        wallet: Wallet::parse(&wallet).ok_or(StoreError::Corrupt {
            table: "routes",
            column: "wallet",
            value: wallet,
        })?,
        acquirer_id: AcquirerId(acquirer_id),
        merchant_id,
        source: RouteSource::parse(&source).ok_or(StoreError::Corrupt {
            table: "routes",
            column: "source",
            value: source,
        })?,
    })
}

impl<S: std::ops::Deref<Target = Store>> super::Setup<S> {
    /// The route of `wallet` at `store`, if it has one.
    pub fn route(&self, store: StoreId, wallet: Wallet) -> Result<Option<Route>> {
        self.conn
            .prepare_cached(
                "SELECT store_id, wallet, acquirer_id, merchant_id, source FROM routes WHERE store_id = ?1 AND wallet = ?2",
            )?
            .query_row(params![store.0, wallet.as_str()], route_from_row)
            .optional()?
            .map(typed)
            .transpose()
    }

    /// The route an order was taken through: its store's route to the order's acquirer (None when the store no
    /// longer routes any wallet to that acquirer).
    pub fn route_to(&self, store: StoreId, acquirer: AcquirerId) -> Result<Option<Route>> {
        self.conn
            .query_row(
                "SELECT store_id, wallet, acquirer_id, merchant_id, source FROM routes
                 WHERE store_id = ?1 AND acquirer_id = ?2 ORDER BY wallet LIMIT 1",
                params![store.0, acquirer.0],
                route_from_row,
            )
            .optional()?
            .map(typed)
            .transpose()
    }

    /// Some store whose codes `acquirer` takes (the first), if any.
    pub fn route_to_any_store(&self, acquirer: AcquirerId) -> Result<Option<StoreId>> {
        Ok(self
            .conn
            .query_row(
                "SELECT store_id FROM routes WHERE acquirer_id = ?1 ORDER BY store_id LIMIT 1",
                [acquirer.0],
                |r| r.get(0),
            )
            .optional()?
            .map(StoreId))
    }

    /// Every route, by store then wallet.
    pub fn routes(&self) -> Result<Vec<Route>> {
        let mut stmt = self.conn.prepare(
            "SELECT store_id, wallet, acquirer_id, merchant_id, source FROM routes ORDER BY store_id, wallet",
        )?;
        let raw: Vec<_> = stmt.query_map([], route_from_row)?.collect::<rusqlite::Result<_>>()?;
        raw.into_iter().map(typed).collect()
    }

    /// Every route with store numbers, acquirer names and onboarding status, by store number then wallet.
    /// Every route with its store and acquirer, and where it stands: a route on a direct contract is `direct` (an
    /// onboarding with the same acquirer that failed or is pending does not change it); any other route shows its
    /// binding's status.
    pub fn route_views(&self) -> Result<Vec<RouteView>> {
        let mut stmt = self.conn.prepare(
            "SELECT r.store_id, s.store_code, r.wallet, r.acquirer_id, COALESCE(a.onboarding_code, a.name), a.name,
                    r.merchant_id, r.source,
                    CASE WHEN r.source = 'direct' THEN 'direct' ELSE COALESCE(b.status, 'direct') END
             FROM routes r
             JOIN stores s ON s.id = r.store_id
             JOIN acquirers a ON a.id = r.acquirer_id
             LEFT JOIN acquirer_bindings b ON b.store_id = r.store_id AND b.acquirer_id = r.acquirer_id
             ORDER BY s.store_code, r.wallet",
        )?;
        let raw: Vec<_> = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, String>(8)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        raw.into_iter()
            .map(|(store_id, store_code, wallet, acquirer_id, acquirer, acquirer_name, merchant_id, source, status)| {
                let route = typed((store_id, wallet, acquirer_id, merchant_id, source))?;
                Ok(RouteView {
                    store_id: route.store_id,
                    store_code,
                    wallet: route.wallet,
                    acquirer_id: route.acquirer_id,
                    acquirer,
                    acquirer_name,
                    merchant_id: route.merchant_id,
                    source: route.source,
                    status,
                })
            })
            .collect()
    }
}

impl<S: std::ops::DerefMut<Target = Store>> super::Setup<S> {
    /// Sets (or replaces) the route of `route.wallet` at `route.store_id`, audited.
    pub fn set_route(&mut self, route: &Route, operator: Option<OperatorId>) -> Result<()> {
        let now = crate::time::now_utc();
        let before = self.route(route.store_id, route.wallet)?;
        self.transaction(|tx| {
            tx.execute(
                "INSERT INTO routes (store_id, wallet, acquirer_id, merchant_id, source, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
                 ON CONFLICT (store_id, wallet) DO UPDATE SET acquirer_id = excluded.acquirer_id,
                    merchant_id = excluded.merchant_id, source = excluded.source, updated_at = excluded.updated_at",
                params![
                    route.store_id.0,
                    route.wallet.as_str(),
                    route.acquirer_id.0,
                    route.merchant_id,
                    route.source.as_str(),
                    now
                ],
            )?;
            let describe =
                |r: &Route| format!("acquirer #{} merchant {}", r.acquirer_id, r.merchant_id.as_deref().unwrap_or("-"));
            append_audit(
                tx,
                &now,
                operator,
                "route.set",
                &format!("store #{} {}", route.store_id, route.wallet),
                before.as_ref().map(describe).as_deref(),
                Some(&describe(route)),
            )
        })
    }

    /// Removes the route of `wallet` at `store` (the store then refuses that wallet's codes), audited.
    pub fn remove_route(&mut self, store: StoreId, wallet: Wallet, operator: Option<OperatorId>) -> Result<bool> {
        let now = crate::time::now_utc();
        let Some(before) = self.route(store, wallet)? else { return Ok(false) };
        let before =
            format!("acquirer #{} merchant {}", before.acquirer_id, before.merchant_id.as_deref().unwrap_or("-"));
        self.transaction(|tx| {
            let n = tx
                .execute("DELETE FROM routes WHERE store_id = ?1 AND wallet = ?2", params![store.0, wallet.as_str()])?;
            if n > 0 {
                let subject = format!("store #{store} {wallet}");
                append_audit(tx, &now, operator, "route.remove", &subject, Some(&before), Some("not taken"))?;
            }
            Ok(n > 0)
        })
    }

    /// Onboarding made `acquirer` active for `store` with `merchant_id`: the acquirer takes its wallet's codes there
    /// unless the store already routes that wallet elsewhere (the owner's choice stands); a route to the same
    /// acquirer gets the new merchant id. Returns whether a route was written.
    pub fn route_from_onboarding(
        &mut self,
        store: StoreId,
        acquirer: AcquirerId,
        wallet: Wallet,
        merchant_id: Option<&str>,
    ) -> Result<bool> {
        match self.route(store, wallet)? {
            Some(r) if r.acquirer_id != acquirer => Ok(false),
            Some(r) if r.merchant_id.as_deref() == merchant_id => Ok(false),
            _ => {
                let route = Route {
                    store_id: store,
                    wallet,
                    acquirer_id: acquirer,
                    merchant_id: merchant_id.map(str::to_owned),
                    source: RouteSource::Onboarding,
                };
                self.set_route(&route, None)?;
                Ok(true)
            }
        }
    }
}

impl<S: std::ops::DerefMut<Target = Store>> super::Setup<S> {
    /// The store a payment notification belongs to: the store whose route to `acquirer` carries `merchant_id`, else
    /// the store onboarded there with that merchant id, else the store the acquirer takes payments for directly
    /// (a route without a merchant id), else any store routed to it, else the first store.
    pub fn store_for_acquirer_merchant(&mut self, acquirer: AcquirerId, merchant_id: Option<&str>) -> Result<StoreId> {
        let one = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> Result<Option<i64>> {
            Ok(self.conn.query_row(sql, p, |r| r.get(0)).optional()?)
        };
        if let Some(m) = merchant_id.filter(|m| !m.is_empty()) {
            let found = one(
                "SELECT store_id FROM routes WHERE acquirer_id = ?1 AND merchant_id = ?2 ORDER BY store_id LIMIT 1",
                &[&acquirer.0, &m],
            )?
            .or(one(
                "SELECT store_id FROM acquirer_bindings WHERE acquirer_id = ?1 AND merchant_id_at_acquirer = ?2
                 ORDER BY store_id LIMIT 1",
                &[&acquirer.0, &m],
            )?);
            if let Some(id) = found {
                return Ok(StoreId(id));
            }
        }
        let found = one(
            "SELECT store_id FROM routes WHERE acquirer_id = ?1 ORDER BY merchant_id IS NOT NULL, store_id LIMIT 1",
            &[&acquirer.0],
        )?
        .or(one("SELECT id FROM stores ORDER BY id LIMIT 1", &[])?);
        match found {
            Some(id) => Ok(StoreId(id)),
            None => self.default_store(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{
        AcquirerBinding, AcquirerKind, BindingId, BindingStatus, ChannelMode, Route, RouteSource, Wallet,
    };
    use crate::store::Store;

    #[test]
    fn a_direct_route_stays_direct_when_an_onboarding_with_its_acquirer_fails() {
        let mut store = Store::open_in_memory().unwrap();
        let shop = store.setup_mut().default_store().unwrap();
        let wechat = store
            .setup_mut()
            .ensure_onboarding_acquirer(AcquirerKind::WechatPay, "WeChat Pay", "WECHATPAY", ChannelMode::Sandbox)
            .unwrap();
        let alipay = store
            .setup_mut()
            .ensure_onboarding_acquirer(AcquirerKind::Alipay, "Alipay", "ALIPAY", ChannelMode::Sandbox)
            .unwrap();
        let route =
            |wallet, acquirer_id, source| Route { store_id: shop, wallet, acquirer_id, merchant_id: None, source };
        store.setup_mut().set_route(&route(Wallet::WechatPay, wechat, RouteSource::Direct), None).unwrap();
        store.setup_mut().set_route(&route(Wallet::Alipay, alipay, RouteSource::Onboarding), None).unwrap();
        for acquirer_id in [wechat, alipay] {
            let binding = AcquirerBinding {
                id: BindingId(0),
                store_id: shop,
                acquirer_id,
                status: BindingStatus::Failed,
                merchant_id_at_acquirer: None,
                cds_platform_id: None,
                cds_index: None,
                failure_reason: Some("MCC 7995 is not accepted".into()),
                issuer_guid: None,
            };
            store.setup_mut().save_binding(&binding, "failed", "refused by the acquirer").unwrap();
        }
        let views = store.setup().route_views().unwrap();
        let status = |wallet| views.iter().find(|v| v.wallet == wallet).map(|v| v.status.clone());
        assert_eq!(status(Wallet::WechatPay).as_deref(), Some("direct"), "the direct contract still takes WeChat Pay");
        assert_eq!(status(Wallet::Alipay).as_deref(), Some("failed"), "an onboarded route shows its binding");
    }
}
