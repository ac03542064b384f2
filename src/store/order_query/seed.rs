//! Synthetic orders for the `dev seed-orders` generator, the benchmarks, screenshots and tests.

use super::*;

impl<S: std::ops::DerefMut<Target = Store>> crate::store::Orders<S> {
    /// Inserts `count` synthetic paid orders spread over the last `days` days (the `dev seed-orders` generator and
    /// the benchmarks), in one transaction.
    pub fn seed_demo_orders(&mut self, count: u64, days: i64, progress: &mut dyn FnMut(u64)) -> Result<()> {
        let store = self.setup_mut().default_store()?;
        let alipay = self.setup_mut().acquirer_for(crate::model::AcquirerKind::Alipay)?;
        let wechat = self.setup_mut().acquirer_for(crate::model::AcquirerKind::WechatPay)?;
        let now = time::OffsetDateTime::now_utc();
        let span = (days.max(1) * 86_400) as u64;
        let subjects = ["拿铁 Latte", "美式咖啡", "三明治 Sandwich", "蛋糕", "矿泉水", "便当 Bento"];
        self.transaction(|tx| {
            let mut stmt = tx.prepare(
                "INSERT INTO orders (out_trade_no, trade_no, store_id, acquirer_id, source, subject, total_amount,
                    currency, refunded_amount, status, created_at, paid_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 'barcode', ?5, ?6, 'CNY', 0, 'PAID', ?7, ?7, ?7)",
            )?;
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
            for i in 0..count {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let at = now - time::Duration::seconds(((i * span) / count.max(1)) as i64);
                let at = crate::time::format_utc(at);
                let fen = 100 + (x % 50_000) as i64;
                let acquirer = if x.is_multiple_of(3) { wechat } else { alipay };
                stmt.execute(rusqlite::params![
                    format!("SEED{i:012}"),
                    format!("T{x:016X}"),
                    store.0,
                    acquirer.0,
                    subjects[(x % subjects.len() as u64) as usize],
                    fen,
                    at
                ])?;
                if i % 10_000 == 0 {
                    progress(i);
                }
            }
            Ok(())
        })
    }
}

impl<S: std::ops::DerefMut<Target = Store>> crate::store::Orders<S> {
    /// Inserts `count` synthetic orders over the last `days` days the way a busy merchant has them (the benchmarks,
    /// screenshots and tests): three stores, the three wallets, two cashiers and none, subjects like "三明治
    /// Sandwich", most paid, some refunded in part or whole, some failed with an acquirer's code, some closed. One
    /// transaction; `seed` makes it reproducible.
    pub fn seed_varied_orders(
        &mut self,
        count: u64,
        days: i64,
        seed: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<()> {
        let first = self.setup_mut().default_store()?;
        let now = crate::time::now_utc();
        let mut stores = vec![first.0];
        let merchant: i64 =
            self.conn.query_row("SELECT merchant_id FROM stores WHERE id = ?1", [first.0], |r| r.get(0))?;
        for (code, name, zh) in [("S002", "Riverside", "滨江店"), ("S003", "Airport", "机场店")] {
            let id: Option<i64> = rusqlite::OptionalExtension::optional(self.conn.query_row(
                "SELECT id FROM stores WHERE store_code = ?1",
                [code],
                |r| r.get(0),
            ))?;
            let id = match id {
                Some(id) => id,
                None => {
                    self.conn.execute(
                        "INSERT INTO stores (merchant_id, store_code, name, name_zh, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                        rusqlite::params![merchant, code, name, zh, now],
                    )?;
                    self.conn.last_insert_rowid()
                }
            };
            stores.push(id);
        }
        let acquirers = [
            self.setup_mut().acquirer_for(crate::model::AcquirerKind::Alipay)?.0,
            self.setup_mut().acquirer_for(crate::model::AcquirerKind::WechatPay)?.0,
            self.setup_mut().acquirer_for(crate::model::AcquirerKind::AlipayPlus)?.0,
        ];
        let operators: Vec<i64> = {
            let mut stmt = self.conn.prepare("SELECT id FROM operators ORDER BY id LIMIT 2")?;
            stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
        };
        let subjects =
            ["三明治 Sandwich", "拿铁 Latte", "美式咖啡 Americano", "蛋糕 Cake", "矿泉水 Water", "便当 Bento"];
        let failures = [
            "ACQ.PAYMENT_AUTH_CODE_INVALID: 支付失败，获取顾客账户信息失败",
            "ACQ.BUYER_BALANCE_NOT_ENOUGH: 顾客余额不足",
            "NOTENOUGH: 用户余额不足",
            "AUTHCODEEXPIRE: 二维码已过期，请用户在微信上刷新后再试",
        ];
        let end = time::OffsetDateTime::now_utc();
        let span = (days.max(1) * 86_400) as u64;
        self.transaction(|tx| {
            let mut insert = tx.prepare(
                "INSERT INTO orders (out_trade_no, trade_no, store_id, acquirer_id, operator_id, source, subject,
                    total_amount, currency, refunded_amount, status, auth_code_masked, created_at, paid_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'barcode', ?6, ?7, 'CNY', ?8, ?9, ?10, ?11, ?12, ?11)",
            )?;
            let mut event =
                tx.prepare("INSERT INTO order_events (order_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4)")?;
            let mut x: u64 = seed | 1;
            for i in 0..count {
                let r = next(&mut x);
                let at = end - time::Duration::seconds((((count - 1 - i) * span) / count.max(1)) as i64);
                let at = crate::time::format_utc(at);
                let fen = 100 + (r % 30_000) as i64;
                let roll = (r >> 20) % 100;
                let (status, refunded) = match roll {
                    0..=84 => ("PAID", 0),
                    85..=87 => ("REFUNDED", fen),
                    88..=89 => ("PARTIALLY_REFUNDED", fen / 2),
                    90..=94 => ("FAILED", 0),
                    _ => ("CLOSED", 0),
                };
                let paid = matches!(status, "PAID" | "REFUNDED" | "PARTIALLY_REFUNDED");
                let operator =
                    if operators.is_empty() { None } else { operators.get(((r >> 8) % 3) as usize).copied() };
                insert.execute(rusqlite::params![
                    format!("TD{seed:04}{i:012}"),
                    paid.then(|| format!("2026{r:016X}")),
                    stores[((r >> 4) % stores.len() as u64) as usize],
                    acquirers[((r >> 12) % 3) as usize],
                    operator,
                    subjects[((r >> 32) % subjects.len() as u64) as usize],
                    fen,
                    refunded,
                    status,
                    "280000******0000",
                    at,
                    paid.then_some(&at),
                ])?;
                if status == "FAILED" {
                    let id = tx.last_insert_rowid();
                    event.execute(rusqlite::params![id, at, "created", ""])?;
                    event.execute(rusqlite::params![id, at, "failed", failures[((r >> 40) % 4) as usize]])?;
                }
                if i % 10_000 == 0 {
                    progress(i);
                }
            }
            Ok(())
        })
    }
}
