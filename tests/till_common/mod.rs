//! A till enrolled with a merchant backend, as the backend tests drive it: its own data folder and vault (holding
//! the backend's token), its router through the backend, its own checkout engine, refund desk and sync worker. Used
//! by the SQLite (`tests/serve.rs`) and PostgreSQL (`tests/serve_pg.rs`) backends' end-to-end tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tilldesk::checkout::{Checkout, CheckoutSettings, Outcome, PaymentInput, SystemClock};
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
    let code = backend.backend.add_till("S001", name).await.unwrap().code;
    let url = backend.base_url();
    let dir = parent.join(name.replace(' ', "-"));
    let db = dir.join(tilldesk::config::DATABASE_FILE);
    let home = tilldesk::config::DataHome::open(&dir).unwrap();
    drop(home);
    let mut vault = Vault::unlock(&dir, "till passphrase").unwrap();
    let joined = tilldesk::routing::backend::join(&db, &mut vault, &url, code.expose(), None).await.unwrap();
    assert_eq!((joined.store_code.as_str(), joined.link.till_name.as_str()), ("S001", name));
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
        let engine =
            Checkout::new(self.store(), self.router.clone(), Arc::new(SystemClock), CheckoutSettings::default());
        let input = PaymentInput {
            amount: Amount::from_fen(fen),
            auth_code: code.into(),
            subject: "连锁门店".into(),
            store_id: self.store_id,
            operator_id: None,
            terminal_id: None,
        };
        engine.pay(input, Arc::new(AtomicBool::new(false)), &|_| {}).await.unwrap()
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
