//! Shared by the reconciliation tests: the fixtures folder and loading the till's records from
//! tests/fixtures/recon/local_20261124.csv.
#![allow(dead_code)]

use std::path::PathBuf;

use tilldesk::model::AcquirerKind;
use tilldesk::store::Store;
use tilldesk::store::recon::{SeedOrder, SeedRefund};

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recon").join(name)
}

/// "2026-11-24 09:15:03" China time → "2026-11-24T01:15:03Z".
pub fn china_to_utc(text: &str) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let t = time::PrimitiveDateTime::parse(text, format).unwrap();
    let u = t.assume_offset(time::macros::offset!(+8)).to_offset(time::UtcOffset::UTC);
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    u.format(f).unwrap()
}

fn fen(text: &str) -> i64 {
    tilldesk::money::Amount::parse(text).unwrap().fen()
}

/// Writes the till's orders and refunds of one acquirer from the fixture.
pub fn seed_local(store: &mut Store, kind: AcquirerKind) {
    seed_local_from(store, kind, "local_20261124.csv");
}

/// Writes the till's orders and refunds of one acquirer from a fixture file (an order's optional 11th value is the
/// merchant id at the acquirer it was sent for).
pub fn seed_local_from(store: &mut Store, kind: AcquirerKind, file: &str) {
    let text = std::fs::read_to_string(fixture(file)).unwrap();
    let mut merchant_ids = Vec::new();
    let acquirer_id = store.setup_mut().acquirer_for(kind).unwrap();
    let mut orders = Vec::new();
    let mut refunds = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        if f[1] != kind.as_str() {
            continue;
        }
        if f[0] == "order"
            && let Some(id) = f.get(10)
        {
            merchant_ids.push((f[2].to_owned(), (*id).to_owned()));
        }
        match f[0] {
            "order" => orders.push(SeedOrder {
                out_trade_no: f[2].into(),
                trade_no: Some(f[3].to_owned()).filter(|s| !s.is_empty()),
                acquirer_id,
                subject: f[9].into(),
                total_amount: fen(f[4]),
                refunded_amount: fen(f[5]),
                status: f[6].into(),
                created_at: china_to_utc(f[7]),
                paid_at: Some(f[8]).filter(|s| !s.is_empty()).map(china_to_utc),
            }),
            "refund" => refunds.push(SeedRefund {
                out_trade_no: f[2].into(),
                out_request_no: f[3].into(),
                refund_amount: fen(f[4]),
                status: f[5].into(),
                created_at: china_to_utc(f[6]),
            }),
            other => panic!("unknown record {other}"),
        }
    }
    store.recon_mut().seed_orders(orders).unwrap();
    store.recon_mut().seed_refunds(refunds).unwrap();
    store.recon_mut().seed_acquirer_merchant_ids(&merchant_ids).unwrap();
}

/// Rows in bills and bill_rows.
pub fn bill_counts(store: &Store) -> (i64, i64) {
    let counts = store.table_counts().unwrap();
    let get = |t: &str| counts.iter().find(|(n, _)| *n == t).map(|(_, c)| *c).unwrap();
    (get("bills"), get("bill_rows"))
}
