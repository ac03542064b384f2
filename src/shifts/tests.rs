//! Tests of shifts and day closes: frozen summaries, the differences from the previous close, and the CSV, on a
//! database in memory. They import `shifts`, `store` and `model`.

use super::*;
use crate::model::{AcquirerKind, OrderStatus, RefundStatus};
use crate::money::Amount;
use crate::store::orders::NewOrder;
use crate::store::transitions::{OrderMove, PaidFacts};

fn now() -> String {
    crate::time::now_utc()
}

struct Fixture {
    db: Store,
    till: ThisTill,
    owner: Operator,
    amy: Operator,
    n: u32,
}

fn fixture() -> Fixture {
    let mut db = Store::open_in_memory().unwrap();
    let till = crate::config::this_till(&mut db).unwrap();
    let owner = db.staff_mut().add_operator("boss", Role::Owner, "246810", None).unwrap();
    let amy = db.staff_mut().add_operator("amy", Role::Cashier, "1357", Some(owner.id)).unwrap();
    Fixture { db, till, owner, amy, n: 0 }
}

impl Fixture {
    /// A sale of `fen` through `kind`, by `operator`, ending in `paid` (PAID) or left UNKNOWN.
    fn sale(&mut self, kind: AcquirerKind, fen: i64, operator: Option<OperatorId>, paid: bool) -> String {
        self.n += 1;
        let out = format!("T{}", self.n);
        let acquirer = self.db.setup_mut().acquirer_for(kind).unwrap();
        let order = self
            .db
            .orders_mut()
            .create_order(&NewOrder {
                out_trade_no: out.clone(),
                store_id: self.till.store_id,
                acquirer_id: acquirer,
                operator_id: operator,
                subject: "x".into(),
                total_amount: Amount::from_fen(fen),
                auth_code_masked: "280000******0000".into(),
                acquirer_merchant_id: None,
                terminal_id: self.till.terminal_id.clone(),
            })
            .unwrap();
        if paid {
            self.pay(&out);
        } else {
            self.db.orders_mut().move_order(order.id, &OrderMove::to(OrderStatus::Unknown, "unknown", "")).unwrap();
        }
        out
    }

    fn pay(&mut self, out: &str) {
        let order = self.db.orders().order_by_out_trade_no(out).unwrap().unwrap();
        let facts = PaidFacts { amount: Some(order.total_amount), ..Default::default() };
        self.db.orders_mut().move_order(order.id, &OrderMove::paid("paid", "", Some(out), Some("now"), facts)).unwrap();
    }

    fn refund(&mut self, out: &str, fen: i64) {
        let (_, r) =
            self.db.refunds_mut().create_refund(out, Amount::from_fen(fen), "test", Some(self.owner.id)).unwrap();
        self.db.refunds_mut().set_refund_status(r.id, RefundStatus::Success, "ok").unwrap();
    }
}

#[test]
fn signing_in_as_a_cashier_opens_one_shift_and_a_second_sign_in_finds_it() {
    let mut f = fixture();
    let first = on_sign_in(&mut f.db, &f.till, &f.amy, &now()).unwrap().unwrap();
    assert!(first.created);
    let again = on_sign_in(&mut f.db, &f.till, &f.amy, &now()).unwrap().unwrap();
    assert_eq!((again.shift_id, again.created), (first.shift_id, false));
    assert_eq!(on_sign_in(&mut f.db, &f.till, &f.owner, &now()).unwrap(), None, "an owner opens none by signing in");
    let audit = f.db.recent_audit(10).unwrap();
    assert_eq!(audit.iter().filter(|a| a.action == "shift.open").count(), 1);
}

#[test]
fn a_shift_closes_with_its_operators_sales_per_wallet_and_is_frozen() {
    let mut f = fixture();
    let opened = open(&mut f.db, &f.till, &f.amy, &now()).unwrap();
    let amy = Some(f.amy.id);
    let a = f.sale(AcquirerKind::Alipay, 1234, amy, true);
    let w = f.sale(AcquirerKind::WechatPay, 560, amy, true);
    f.sale(AcquirerKind::Alipay, 999, amy, false);
    f.sale(AcquirerKind::Alipay, 5000, None, true); // nobody signed in: in no shift
    f.sale(AcquirerKind::Alipay, 7000, Some(f.owner.id), true); // someone else's
    f.refund(&w, 200);
    // A cashier may not close another's shift; nobody signed in may not either.
    let bob = f.db.staff_mut().add_operator("bob", Role::Cashier, "2468", Some(f.owner.id)).unwrap();
    assert!(matches!(close(&mut f.db, opened.shift_id, Some(&bob), &now()), Err(ShiftError::NotYours { .. })));
    assert!(matches!(close(&mut f.db, opened.shift_id, None, &now()), Err(ShiftError::NotSignedIn)));
    let s = close_mine(&mut f.db, &f.till, &f.amy, &now()).unwrap();
    assert!(s.closed);
    let fig = &s.figures;
    assert_eq!(
        (fig.wallets[0].wallet.as_str(), fig.wallets[0].paid_fen, fig.wallets[0].refund_fen),
        ("wechatpay", 560, 200)
    );
    assert_eq!(
        (fig.wallets[1].wallet.as_str(), fig.wallets[1].paid_count, fig.wallets[1].paid_fen),
        ("alipay", 1, 1234)
    );
    assert_eq!((fig.paid_count, fig.paid_fen, fig.refund_count, fig.refund_fen, fig.net_fen), (2, 1794, 1, 200, 1594));
    assert_eq!(s.open_orders.len(), 1);
    assert!(s.previous.is_none());
    // Frozen: a refund made later does not change it.
    f.refund(&a, 100);
    assert_eq!(summary_of(&f.db, opened.shift_id, &now()).unwrap(), s);
    assert!(matches!(close_mine(&mut f.db, &f.till, &f.amy, &now()), Err(ShiftError::NoOpenShift { .. })));
    // The next shift of this till lists what changed in the previous one since its close.
    let next = open(&mut f.db, &f.till, &f.amy, &now()).unwrap();
    assert!(next.created);
    let t = f.db.orders().order_by_out_trade_no("T3").unwrap().unwrap();
    let facts = PaidFacts { amount: Some(t.total_amount), ..Default::default() };
    f.db.orders_mut().move_order(t.id, &OrderMove::paid("paid", "", Some("T3"), Some("now"), facts)).unwrap();
    let s2 = close(&mut f.db, next.shift_id, Some(&f.owner), &now()).unwrap();
    assert_eq!(s2.figures.paid_count, 0);
    assert_eq!(s2.closed_by, "boss");
    let prev = s2.previous.unwrap();
    assert_eq!(prev.shift_id, opened.shift_id);
    let got: Vec<(&str, Field, i64, i64)> =
        prev.changes.iter().map(|c| (c.wallet.as_str(), c.field, c.before, c.after)).collect();
    assert_eq!(
        got,
        [
            ("alipay", Field::PaidCount, 1, 2),
            ("alipay", Field::PaidAmount, 1234, 2233),
            ("alipay", Field::RefundCount, 0, 1),
            ("alipay", Field::RefundAmount, 0, 100),
        ]
    );
}

#[test]
fn the_day_close_counts_everyone_closes_open_shifts_and_is_refused_twice() {
    let mut f = fixture();
    let opened = open(&mut f.db, &f.till, &f.amy, &now()).unwrap();
    f.sale(AcquirerKind::Alipay, 1000, Some(f.amy.id), true);
    f.sale(AcquirerKind::WechatPay, 250, None, true);
    let day = today();
    let plan = day_plan(&f.db, f.till.store_id, day, &now()).unwrap();
    assert_eq!(plan.open_shifts.iter().map(|s| s.id).collect::<Vec<_>>(), [opened.shift_id]);
    assert!(matches!(
        close_day(&mut f.db, f.till.store_id, day, Some(&f.amy), &now()),
        Err(ShiftError::DayCloseNotAllowed)
    ));
    let (id, d) = close_day(&mut f.db, f.till.store_id, day, Some(&f.owner), &now()).unwrap();
    assert_eq!((d.figures.paid_count, d.figures.paid_fen), (2, 1250));
    assert_eq!((d.no_operator.paid_count, d.no_operator.paid_fen), (1, 250));
    assert_eq!(d.closed_shifts, [opened.shift_id]);
    assert_eq!(d.shifts.len(), 1);
    assert_eq!(d.shifts[0].paid_fen, 1000);
    assert!(f.db.shifts().shift(opened.shift_id).unwrap().unwrap().closed_at.is_some());
    assert_eq!(day_summary(&f.db, id).unwrap(), d);
    assert!(matches!(
        close_day(&mut f.db, f.till.store_id, day, Some(&f.owner), &now()),
        Err(ShiftError::DayClosed { .. })
    ));
    assert!(matches!(reopen_day(&mut f.db, f.till.store_id, day, &f.amy, &now()), Err(ShiftError::ReopenNotAllowed)));
    reopen_day(&mut f.db, f.till.store_id, day, &f.owner, &now()).unwrap();
    let (id2, _) = close_day(&mut f.db, f.till.store_id, day, Some(&f.owner), &now()).unwrap();
    assert_ne!(id, id2);
    let actions: Vec<String> = f.db.recent_audit(50).unwrap().into_iter().map(|a| a.action).collect();
    assert_eq!(actions.iter().filter(|a| *a == "day.close").count(), 2);
    assert_eq!(actions.iter().filter(|a| *a == "day.reopen").count(), 1);
    assert_eq!(list_days(&f.db, Some(f.till.store_id), Some(day)).unwrap().len(), 2);
}

#[test]
fn the_csv_has_a_bom_one_row_per_wallet_and_the_totals() {
    let mut f = fixture();
    open(&mut f.db, &f.till, &f.amy, &now()).unwrap();
    f.sale(AcquirerKind::Alipay, 1234, Some(f.amy.id), true);
    let s = close_mine(&mut f.db, &f.till, &f.amy, &now()).unwrap();
    let bytes = export::csv(&s.figures);
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
    let text = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert_eq!(lines[2], "支付宝 Alipay,1,12.34,0,0.00,12.34");
    assert_eq!(lines[3], "合计 Total,1,12.34,0,0.00,12.34");
}
