//! The values an Alipay 业务明细 holds: a row of all 25 columns, its kind, and the sums a file states (the footer
//! of 业务明细, the figures of 业务明细(汇总)) or that rows add up to. Imports `money` only.

use time::PrimitiveDateTime;

use crate::money::Amount;

/// 业务类型: a payment or a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BillKind {
    /// 交易
    Trade,
    /// 退款
    Refund,
}

impl BillKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BillKind::Trade => "交易",
            BillKind::Refund => "退款",
        }
    }

    pub fn parse(text: &str) -> Option<BillKind> {
        match text {
            "交易" => Some(BillKind::Trade),
            "退款" => Some(BillKind::Refund),
            _ => None,
        }
    }
}

/// One row of 业务明细: all 25 columns. Amounts are signed (refund rows are negative); times are China time
/// as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlipayBillRow {
    /// 支付宝交易号
    pub trade_no: String,
    /// 商户订单号
    pub out_trade_no: String,
    /// 业务类型
    pub kind: BillKind,
    /// 商品名称
    pub subject: String,
    /// 创建时间 (for refunds: the original trade's time)
    pub created_at: PrimitiveDateTime,
    /// 完成时间 (for refunds: the refund's time)
    pub finished_at: PrimitiveDateTime,
    /// 门店编号
    pub store_id: String,
    /// 门店名称
    pub store_name: String,
    /// 操作员
    pub operator_id: String,
    /// 终端号
    pub terminal_id: String,
    /// 对方账户 (masked buyer account)
    pub buyer_account: String,
    /// 订单金额（元）
    pub order_amount: Amount,
    /// 商家实收（元）
    pub receipt_amount: Amount,
    /// 支付宝红包（元）
    pub alipay_red_packet: Amount,
    /// 集分宝（元）
    pub jifenbao: Amount,
    /// 支付宝优惠（元）
    pub alipay_discount: Amount,
    /// 商家优惠（元）
    pub merchant_discount: Amount,
    /// 券核销金额（元）
    pub coupon_amount: Amount,
    /// 券名称
    pub coupon_name: String,
    /// 商家红包消费金额（元）
    pub merchant_red_packet: Amount,
    /// 卡消费金额（元）
    pub card_amount: Amount,
    /// 退款批次号/请求号: the refund's `out_request_no`; `None` on trade rows.
    pub out_request_no: Option<String>,
    /// 服务费（元）, signed as written.
    pub service_fee: Amount,
    /// 分润（元）
    pub profit_share: Amount,
    /// 备注
    pub remark: String,
}

/// The footer totals of 业务明细 (`#交易合计：…` and `#退款合计：…`), or the same sums computed from rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BillFooter {
    /// 交易合计 N笔
    pub trade_count: u64,
    /// 商家实收共 X元
    pub trade_receipt: Amount,
    /// 商家优惠共 X元
    pub trade_merchant_discount: Amount,
    /// 退款合计 N笔
    pub refund_count: u64,
    /// 商家实收退款共 X元 (negative)
    pub refund_receipt: Amount,
    /// 商家优惠退款共 X元
    pub refund_merchant_discount: Amount,
}

fn add(a: Amount, b: Amount) -> Amount {
    a.checked_add(b).unwrap_or(if b.fen() > 0 { Amount::from_fen(i64::MAX) } else { Amount::from_fen(i64::MIN) })
}

impl BillFooter {
    /// Counts one row in.
    pub fn add_row(&mut self, row: &AlipayBillRow) {
        match row.kind {
            BillKind::Trade => {
                self.trade_count += 1;
                self.trade_receipt = add(self.trade_receipt, row.receipt_amount);
                self.trade_merchant_discount = add(self.trade_merchant_discount, row.merchant_discount);
            }
            BillKind::Refund => {
                self.refund_count += 1;
                self.refund_receipt = add(self.refund_receipt, row.receipt_amount);
                self.refund_merchant_discount = add(self.refund_merchant_discount, row.merchant_discount);
            }
        }
    }

    /// The sums of `rows`: what the footer of a file holding them says.
    pub fn of_rows<'a>(rows: impl IntoIterator<Item = &'a AlipayBillRow>) -> BillFooter {
        let mut totals = BillFooter::default();
        for row in rows {
            totals.add_row(row);
        }
        totals
    }
}

/// The figures of a 业务明细(汇总) row (a store's, or 合计), or the same sums computed from detail rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SummaryFigures {
    /// 交易订单总笔数
    pub trade_count: u64,
    /// 退款订单总笔数
    pub refund_count: u64,
    /// 订单金额（元）, signed (refunds negative)
    pub order_amount: Amount,
    /// 商家实收（元）, signed
    pub receipt_amount: Amount,
    /// 支付宝优惠（元）
    pub alipay_discount: Amount,
    /// 商家优惠（元）
    pub merchant_discount: Amount,
    /// 卡消费金额（元）
    pub card_amount: Amount,
    /// 服务费（元）, signed as written: negative on payments, a credit on refunds
    pub service_fee: Amount,
    /// 分润（元）
    pub profit_share: Amount,
    /// 实收净额（元）: 商家实收 + 服务费
    pub net_amount: Amount,
}

impl SummaryFigures {
    /// Counts one detail row in.
    pub fn add_row(&mut self, row: &AlipayBillRow) {
        match row.kind {
            BillKind::Trade => self.trade_count += 1,
            BillKind::Refund => self.refund_count += 1,
        }
        self.order_amount = add(self.order_amount, row.order_amount);
        self.receipt_amount = add(self.receipt_amount, row.receipt_amount);
        self.alipay_discount = add(self.alipay_discount, row.alipay_discount);
        self.merchant_discount = add(self.merchant_discount, row.merchant_discount);
        self.card_amount = add(self.card_amount, row.card_amount);
        self.service_fee = add(self.service_fee, row.service_fee);
        self.profit_share = add(self.profit_share, row.profit_share);
        self.net_amount = add(self.net_amount, add(row.receipt_amount, row.service_fee));
    }
}
