//! A till enrolled with a merchant backend, as the backend tests drive it: its own data folder and vault (holding
//! the backend's token), its router through the backend, its own checkout engine, refund desk and sync worker. Used
//! by the SQLite (`tests/serve.rs`) and PostgreSQL (`tests/serve_pg.rs`) backends' end-to-end tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tilldesk::checkout::{
    Checkout, CheckoutSettings, DynamicInput, DynamicSale, DynamicStart, Outcome, PaymentInput, SystemClock,
};
use tilldesk::model::StoreId;
use tilldesk::money::Amount;
use tilldesk::refund::{RefundDesk, RefundSettings};
use tilldesk::routing::Router;
use tilldesk::secrets::Vault;
use tilldesk::serve::RunningBackend;
use tilldesk::store::Store;
use tilldesk::sync::{SyncSettings, SyncWorker};

/// One till: its data folder, its vault (with the token), and its router through the backend.
pub struct Till {
    pub dir: PathBuf,
    pub db: PathBuf,
    pub vault: Vault,
    pub router: Router,
    pub store_id: StoreId,
}

/// A till named `name` added at `backend` for store S001 and enrolled from its own folder under `parent` with
/// `tilldesk backend join`'s library call.
pub async fn join(backend: &RunningBackend, parent: &Path, name: &str) -> Till {
    join_store(backend, parent, name, "S001").await
}

/// [`join`] for a till of the store `store_code`.
pub async fn join_store(backend: &RunningBackend, parent: &Path, name: &str, store_code: &str) -> Till {
    let code = backend.backend.add_till(store_code, name).await.unwrap().code;
    let url = backend.base_url();
    let dir = parent.join(name.replace(' ', "-"));
    let db = dir.join(tilldesk::config::DATABASE_FILE);
    let home = tilldesk::config::DataHome::open(&dir).unwrap();
    drop(home);
    let mut vault = Vault::unlock(&dir, "till passphrase").unwrap();
    let joined = tilldesk::routing::backend::join(&db, &mut vault, &url, code.expose(), None).await.unwrap();
    assert_eq!((joined.store_code.as_str(), joined.link.till_name.as_str()), (store_code, name));
    let mut store = Store::open(&db).unwrap();
    let router = tilldesk::routing::backend::router(&store, &vault).unwrap().expect("enrolled");
    assert!(router.backend().is_some());
    let store_id = tilldesk::config::this_till(&mut store).unwrap().store_id;
    Till { dir, db, vault, router, store_id }
}

impl Till {
    pub fn store(&self) -> Store {
        Store::open(&self.db).unwrap()
    }

    pub async fn pay(&self, code: &str, fen: i64) -> (tilldesk::model::Order, Outcome) {
        self.pay_as(code, fen, None).await
    }

    /// [`Till::pay`] taken by `operator` (the till's row of them).
    pub async fn pay_as(
        &self,
        code: &str,
        fen: i64,
        operator: Option<tilldesk::model::OperatorId>,
    ) -> (tilldesk::model::Order, Outcome) {
        let engine =
            Checkout::new(self.store(), self.router.clone(), Arc::new(SystemClock), CheckoutSettings::default());
        let input = PaymentInput {
            amount: Amount::from_fen(fen),
            auth_code: code.into(),
            subject: "连锁门店".into(),
            store_id: self.store_id,
            operator_id: operator,
            terminal_id: None,
        };
        engine.pay(input, Arc::new(AtomicBool::new(false)), &|_| {}).await.unwrap()
    }

    /// The till's engine shows a dynamic code (主扫) of `wallet` for `fen`: written ahead at the till, made through
    /// the backend.
    pub async fn show_code(&self, wallet: tilldesk::model::Wallet, fen: i64) -> (Checkout, DynamicSale) {
        let engine =
            Checkout::new(self.store(), self.router.clone(), Arc::new(SystemClock), CheckoutSettings::default());
        let input = DynamicInput {
            amount: Amount::from_fen(fen),
            subject: "连锁门店".into(),
            store_id: self.store_id,
            wallet: Some(wallet),
            operator_id: None,
            terminal_id: None,
        };
        match engine.start_dynamic(input).await.unwrap() {
            DynamicStart::Shown(sale) => (engine, sale),
            DynamicStart::Ended(order, outcome) => panic!("no code: {order:?} {outcome:?}"),
        }
    }

    /// One pass of the till's sync worker (the bills are the backend's).
    pub async fn sync(&self) -> tilldesk::store::sync::SyncRun {
        let settings = SyncSettings { bill_time: None, ..SyncSettings::default() };
        let worker = SyncWorker::new(&self.db, &self.dir, self.router.clone(), None, settings);
        worker.run_once("test").await.unwrap()
    }

    pub fn desk(&self) -> RefundDesk {
        let settings = RefundSettings {
            attempts: 3,
            retry_interval: Duration::from_millis(50),
            follow_window: Duration::from_secs(5),
            follow_interval: Duration::from_millis(100),
        };
        RefundDesk::new(self.store(), self.router.clone(), Arc::new(SystemClock), settings)
    }
}

/// An Alipay store-code payment notice (`trade_status_sync`, TRADE_SUCCESS) for the sandbox's first merchant, signed
/// as the platform signs it; change a field afterwards to forge one.
pub fn store_code_notice(
    accounts: &tilldesk::sandbox::accounts::SandboxAccounts,
    notify_id: &str,
    trade_no: &str,
    out_trade_no: &str,
    total_amount: &str,
) -> std::collections::BTreeMap<String, String> {
    use tilldesk::channel::alipay::sign as alipay_sign;
    let mut p = std::collections::BTreeMap::new();
    for (k, v) in [
        ("notify_time", "2026-11-25 10:00:05"),
        ("notify_type", "trade_status_sync"),
        ("notify_id", notify_id),
        ("app_id", accounts.merchants[0].alipay.app_id.as_str()),
        ("charset", "utf-8"),
        ("version", "1.0"),
        ("sign_type", "RSA2"),
        ("trade_no", trade_no),
        ("out_trade_no", out_trade_no),
        ("trade_status", "TRADE_SUCCESS"),
        ("total_amount", total_amount),
        ("subject", "店铺码付款"),
        ("gmt_payment", "2026-11-25 10:00:04"),
    ] {
        p.insert(k.to_owned(), v.to_owned());
    }
    let key = alipay_sign::parse_private_key(&accounts.platform.alipay_private_key_pkcs8_pem).unwrap();
    let sign = alipay_sign::sign_rsa2(&key, &alipay_sign::notify_sign_content(&p)).unwrap();
    p.insert("sign".into(), sign);
    p
}

/// Adds the second store, S002 "Second" (二店), of the merchant to `store` (a backend's catalogue); its id.
pub fn add_second_store(store: &mut Store) -> StoreId {
    let merchant = store.setup_mut().merchant().unwrap();
    let s002 = tilldesk::model::Store {
        id: StoreId(0),
        merchant_id: merchant.id,
        store_code: "S002".into(),
        name: "Second".into(),
        name_zh: "二店".into(),
        address: String::new(),
        contact: String::new(),
    };
    store.setup_mut().add_store(&s002, None).unwrap()
}
