//! The figures of a shift or a day: per wallet, paid and refunded counts and amounts and the net, from the sales
//! facts the store reads; and what changed in a closed shift's figures since it was frozen.

use serde::{Deserialize, Serialize};

use crate::model::{AcquirerKind, OrderStatus};
use crate::store::shifts::SaleFact;

/// One wallet's line: WeChat Pay, Alipay, or one Alipay+ wallet (by the name the till records for its acquirer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletFigures {
    /// "wechatpay", "alipay" or "alipayplus".
    pub wallet: String,
    /// The Alipay+ wallet's (acquirer's) name; empty for WeChat Pay and Alipay.
    pub name: String,
    pub paid_count: i64,
    pub paid_fen: i64,
    pub refund_count: i64,
    pub refund_fen: i64,
    pub net_fen: i64,
}

impl WalletFigures {
    fn new(wallet: &str, name: &str) -> WalletFigures {
        WalletFigures {
            wallet: wallet.to_owned(),
            name: name.to_owned(),
            paid_count: 0,
            paid_fen: 0,
            refund_count: 0,
            refund_fen: 0,
            net_fen: 0,
        }
    }

    /// The wallet's acquirer kind (None for a total line).
    pub fn kind(&self) -> Option<AcquirerKind> {
        AcquirerKind::parse(&self.wallet)
    }

    /// The wallet in both languages at once, as receipts and exports name it ("微信支付 WeChat Pay").
    pub fn bilingual(&self) -> String {
        match self.kind() {
            Some(kind) => crate::receipt::wallet_words(kind, &self.name),
            None => "合计 Total".to_owned(),
        }
    }

    fn same_key(&self, other: &WalletFigures) -> bool {
        self.wallet == other.wallet && self.name == other.name
    }
}

/// The figures of a shift or a day: one line per wallet (WeChat Pay and Alipay always, Alipay+ wallets when they
/// took something) and the totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub wallets: Vec<WalletFigures>,
    pub paid_count: i64,
    pub paid_fen: i64,
    pub refund_count: i64,
    pub refund_fen: i64,
    pub net_fen: i64,
}

impl Figures {
    /// The totals as a line of their own ("total").
    pub fn total_line(&self) -> WalletFigures {
        WalletFigures {
            wallet: "total".to_owned(),
            name: String::new(),
            paid_count: self.paid_count,
            paid_fen: self.paid_fen,
            refund_count: self.refund_count,
            refund_fen: self.refund_fen,
            net_fen: self.net_fen,
        }
    }
}

/// Whether an order counts as paid (refunded ones were paid first: their refunds count as refunds).
pub fn counts_as_paid(status: OrderStatus) -> bool {
    matches!(status, OrderStatus::Paid | OrderStatus::PartiallyRefunded | OrderStatus::Refunded)
}

/// The figures of `facts`.
pub fn figures(facts: &[SaleFact]) -> Figures {
    let mut wallets = vec![WalletFigures::new("wechatpay", ""), WalletFigures::new("alipay", "")];
    for f in facts.iter().filter(|f| counts_as_paid(f.status)) {
        let name = if f.kind == AcquirerKind::AlipayPlus { f.acquirer_name.trim() } else { "" };
        let key = WalletFigures::new(f.kind.as_str(), name);
        let i = match wallets.iter().position(|w| w.same_key(&key)) {
            Some(i) => i,
            None => {
                wallets.push(key);
                wallets.len() - 1
            }
        };
        let w = &mut wallets[i];
        w.paid_count += 1;
        w.paid_fen += f.total.fen();
        w.refund_count += f.refund_count;
        w.refund_fen += f.refunded.fen();
    }
    // WeChat Pay and Alipay first, then Alipay+ wallets by name.
    wallets[2..].sort_by(|a, b| a.name.cmp(&b.name));
    for w in &mut wallets {
        w.net_fen = w.paid_fen - w.refund_fen;
    }
    let sum = |f: fn(&WalletFigures) -> i64| wallets.iter().map(f).sum::<i64>();
    Figures {
        paid_count: sum(|w| w.paid_count),
        paid_fen: sum(|w| w.paid_fen),
        refund_count: sum(|w| w.refund_count),
        refund_fen: sum(|w| w.refund_fen),
        net_fen: sum(|w| w.net_fen),
        wallets,
    }
}

/// An order whose outcome was still open when the summary was made (the next cashier follows it up).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenOrder {
    pub out_trade_no: String,
    /// As stored: PAYING, UNKNOWN, CANCELLING, NEEDS_ATTENTION.
    pub status: String,
    pub amount_fen: i64,
    pub created_at: String,
}

impl OpenOrder {
    pub fn status(&self) -> Option<OrderStatus> {
        OrderStatus::parse(&self.status)
    }
}

/// The orders of `facts` still open.
pub fn open_orders(facts: &[SaleFact]) -> Vec<OpenOrder> {
    facts
        .iter()
        .filter(|f| f.status.is_unfinished())
        .map(|f| OpenOrder {
            out_trade_no: f.out_trade_no.clone(),
            status: f.status.as_str().to_owned(),
            amount_fen: f.total.fen(),
            created_at: f.created_at.clone(),
        })
        .collect()
}

/// Which figure changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    PaidCount,
    PaidAmount,
    RefundCount,
    RefundAmount,
}

impl Field {
    /// Whether the values are amounts in fen (else counts).
    pub fn is_amount(self) -> bool {
        matches!(self, Field::PaidAmount | Field::RefundAmount)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Field::PaidCount => "paid_count",
            Field::PaidAmount => "paid_amount",
            Field::RefundCount => "refund_count",
            Field::RefundAmount => "refund_amount",
        }
    }
}

/// One figure of a closed shift that is different now (a payment confirmed after the close, a refund of one of
/// its orders made later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub wallet: String,
    pub name: String,
    pub field: Field,
    pub before: i64,
    pub after: i64,
}

/// What differs between the figures frozen at a close (`then`) and the same figures computed now; empty when
/// nothing does.
pub fn changes(then: &Figures, now: &Figures) -> Vec<Change> {
    let mut keys: Vec<&WalletFigures> = then.wallets.iter().collect();
    for w in &now.wallets {
        if !keys.iter().any(|k| k.same_key(w)) {
            keys.push(w);
        }
    }
    let zero = |k: &WalletFigures| WalletFigures::new(&k.wallet, &k.name);
    let mut out = Vec::new();
    for key in keys {
        let a = then.wallets.iter().find(|w| w.same_key(key)).cloned().unwrap_or_else(|| zero(key));
        let b = now.wallets.iter().find(|w| w.same_key(key)).cloned().unwrap_or_else(|| zero(key));
        for (field, before, after) in [
            (Field::PaidCount, a.paid_count, b.paid_count),
            (Field::PaidAmount, a.paid_fen, b.paid_fen),
            (Field::RefundCount, a.refund_count, b.refund_count),
            (Field::RefundAmount, a.refund_fen, b.refund_fen),
        ] {
            if before != after {
                out.push(Change { wallet: key.wallet.clone(), name: key.name.clone(), field, before, after });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Amount;

    fn fact(kind: AcquirerKind, name: &str, fen: i64, status: OrderStatus, refunds: (i64, i64)) -> SaleFact {
        SaleFact {
            out_trade_no: format!("T{fen}"),
            kind,
            acquirer_name: name.into(),
            total: Amount::from_fen(fen),
            status,
            created_at: "2026-12-05T01:00:00.000000Z".into(),
            refund_count: refunds.0,
            refunded: Amount::from_fen(refunds.1),
        }
    }

    #[test]
    fn figures_per_wallet_with_refunds_and_open_orders_left_out() {
        let facts = [
            fact(AcquirerKind::Alipay, "Alipay (sandbox)", 1234, OrderStatus::Paid, (0, 0)),
            fact(AcquirerKind::WechatPay, "WeChat", 560, OrderStatus::PartiallyRefunded, (1, 200)),
            fact(AcquirerKind::AlipayPlus, "Kakao Pay", 1000, OrderStatus::Paid, (0, 0)),
            fact(AcquirerKind::Alipay, "Alipay", 999, OrderStatus::Unknown, (0, 0)),
            fact(AcquirerKind::Alipay, "Alipay", 300, OrderStatus::Cancelled, (0, 0)),
        ];
        let f = figures(&facts);
        let keys: Vec<(&str, &str)> = f.wallets.iter().map(|w| (w.wallet.as_str(), w.name.as_str())).collect();
        assert_eq!(keys, [("wechatpay", ""), ("alipay", ""), ("alipayplus", "Kakao Pay")]);
        assert_eq!((f.wallets[0].paid_count, f.wallets[0].paid_fen, f.wallets[0].refund_fen), (1, 560, 200));
        assert_eq!(f.wallets[0].net_fen, 360);
        assert_eq!((f.wallets[1].paid_count, f.wallets[1].paid_fen), (1, 1234));
        assert_eq!((f.paid_count, f.paid_fen, f.refund_count, f.refund_fen, f.net_fen), (3, 2794, 1, 200, 2594));
        let open = open_orders(&facts);
        assert_eq!(open.len(), 1);
        assert_eq!((open[0].status.as_str(), open[0].amount_fen), ("UNKNOWN", 999));
    }

    #[test]
    fn changes_list_only_what_moved() {
        let then = figures(&[fact(AcquirerKind::Alipay, "", 1000, OrderStatus::Paid, (0, 0))]);
        assert!(changes(&then, &then).is_empty());
        let now = figures(&[
            fact(AcquirerKind::Alipay, "", 1000, OrderStatus::PartiallyRefunded, (1, 300)),
            fact(AcquirerKind::WechatPay, "", 500, OrderStatus::Paid, (0, 0)),
        ]);
        let c = changes(&then, &now);
        let got: Vec<(&str, Field, i64, i64)> =
            c.iter().map(|c| (c.wallet.as_str(), c.field, c.before, c.after)).collect();
        assert_eq!(
            got,
            [
                ("wechatpay", Field::PaidCount, 0, 1),
                ("wechatpay", Field::PaidAmount, 0, 500),
                ("alipay", Field::RefundCount, 0, 1),
                ("alipay", Field::RefundAmount, 0, 300),
            ]
        );
    }
}
