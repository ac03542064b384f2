//! Each [`Reason`] a difference has: its kind, its explanation and suggested action in both languages, whether it
//! can be adopted.

use super::*;

impl Reason {
    pub const ALL: [Reason; 14] = [
        Reason::NoLocalOrder,
        Reason::LocalFailed,
        Reason::LocalUnconfirmed,
        Reason::MissingFromBill,
        Reason::PaymentAmount,
        Reason::RefundAmount,
        Reason::RefundedOnlyAtAcquirer,
        Reason::RefundedOnlyLocally,
        Reason::RefundNotThroughAtAcquirer,
        Reason::ReversedAtAcquirer,
        Reason::FieldsDiffer,
        Reason::NoLocalOrderRefunded,
        Reason::RefundNoLocalOrder,
        Reason::CarriedMissing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NoLocalOrder => "no_local_order",
            Reason::LocalFailed => "local_failed",
            Reason::LocalUnconfirmed => "local_unconfirmed",
            Reason::MissingFromBill => "missing_from_bill",
            Reason::PaymentAmount => "payment_amount",
            Reason::RefundAmount => "refund_amount",
            Reason::RefundedOnlyAtAcquirer => "refunded_only_at_acquirer",
            Reason::RefundedOnlyLocally => "refunded_only_locally",
            Reason::RefundNotThroughAtAcquirer => "refund_not_through_at_acquirer",
            Reason::ReversedAtAcquirer => "reversed_at_acquirer",
            Reason::FieldsDiffer => "fields_differ",
            Reason::NoLocalOrderRefunded => "no_local_order_refunded",
            Reason::RefundNoLocalOrder => "refund_no_local_order",
            Reason::CarriedMissing => "carried_missing",
        }
    }

    pub fn parse(text: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == text)
    }

    pub fn kind(self) -> DiscrepancyKind {
        match self {
            Reason::NoLocalOrder
            | Reason::LocalFailed
            | Reason::LocalUnconfirmed
            | Reason::NoLocalOrderRefunded
            | Reason::RefundNoLocalOrder => DiscrepancyKind::OnlyInBill,
            Reason::FieldsDiffer => DiscrepancyKind::FieldMismatch,
            Reason::MissingFromBill | Reason::CarriedMissing => DiscrepancyKind::OnlyLocal,
            Reason::PaymentAmount | Reason::RefundAmount => DiscrepancyKind::AmountMismatch,
            Reason::RefundedOnlyAtAcquirer
            | Reason::RefundedOnlyLocally
            | Reason::RefundNotThroughAtAcquirer
            | Reason::ReversedAtAcquirer => DiscrepancyKind::StatusMismatch,
        }
    }

    /// What happened, in plain words.
    pub fn explanation(self, lang: Lang) -> &'static str {
        match self {
            Reason::NoLocalOrder => lang.pick(
                "账单里有这笔收款，收银台却没有记录（例如顾客扫店铺码付款，收银台没有收到通知）。",
                "The acquirer took this payment but the till has no record of it (for example a customer paid by \
                 scanning the store code and the till never heard of it).",
            ),
            Reason::LocalFailed => lang.pick(
                "收银台认为这笔支付失败或已撤销，但收单机构的账单显示已收款。",
                "The till thinks this payment failed or was cancelled, but the acquirer's bill shows it was paid.",
            ),
            Reason::LocalUnconfirmed => lang.pick(
                "收银台一直没有确认这笔支付（仍在等待结果），账单显示已收款。",
                "The till never confirmed this payment (it is still waiting for the outcome), but the bill shows it \
                 was paid.",
            ),
            Reason::MissingFromBill => lang.pick(
                "收银台记录为已支付，但收单机构的账单里没有这笔交易。",
                "The till recorded this order as paid, but the acquirer's bill does not list it.",
            ),
            Reason::PaymentAmount => lang.pick(
                "账单上的订单金额与收银台记录的金额不一致。",
                "The bill's order amount differs from the amount the till recorded.",
            ),
            Reason::RefundAmount => lang.pick(
                "账单上的退款金额与收银台记录的退款金额不一致。",
                "The bill's refund amount differs from the refund the till recorded.",
            ),
            Reason::RefundedOnlyAtAcquirer => lang.pick(
                "收单机构已退款，但收银台没有这笔成功的退款记录。",
                "The acquirer refunded this order, but the till has no successful refund for it.",
            ),
            Reason::RefundedOnlyLocally => lang.pick(
                "收银台记录退款成功，但收单机构的账单里没有这笔退款。",
                "The till recorded a successful refund that the acquirer's bill does not list.",
            ),
            Reason::RefundNotThroughAtAcquirer => lang.pick(
                "账单显示这笔退款尚未成功（处理中或失败），收银台却记录为成功。",
                "The bill shows this refund as not through (processing or failed), but the till recorded it as \
                 successful.",
            ),
            Reason::ReversedAtAcquirer => lang.pick(
                "收单机构已撤销（冲正）这笔支付，收银台却显示已支付。",
                "The acquirer reversed this payment, but the till shows it as paid.",
            ),
            Reason::FieldsDiffer => lang.pick(
                "金额和状态一致，但下列字段与收银台的记录不同。",
                "The amount and status agree, but the fields below differ from the till's record.",
            ),
            Reason::NoLocalOrderRefunded => lang.pick(
                "单边账：账单里有这笔收款和它的退款，收银台却没有这笔订单的任何记录；钱收了又退回了顾客。",
                "Only in the bill: the bill lists this payment and its refund, but the till has no record of the \
                 order at all; the money came in and went back to the customer.",
            ),
            Reason::CarriedMissing => lang.pick(
                "收银台在前一天结束前几分钟记录为已支付，这笔订单顺延到今天对账，但前一天和今天的账单里都没有它。",
                "The till recorded this order as paid in the previous day's last minutes; it was carried over to this \
                 day, but neither that day's bill nor this one lists it.",
            ),
            Reason::RefundNoLocalOrder => lang.pick(
                "单边账：账单里有这笔退款，收银台却没有被退款的订单；订单的收款不在当日账单里。",
                "Only in the bill: the bill lists this refund, but the till has no record of the refunded order; \
                 the order's payment is not in this day's bill.",
            ),
        }
    }

    /// What to do about it.
    pub fn action(self, lang: Lang) -> &'static str {
        match self {
            Reason::NoLocalOrder | Reason::LocalUnconfirmed => lang.pick(
                "立即向收单机构查询确认，然后将账单记录补录为本地订单。",
                "Query the acquirer now to confirm, then adopt the bill's record as a local order.",
            ),
            Reason::LocalFailed => lang.pick(
                "立即向收单机构查询；确认已收款后补录为本地订单，或给顾客退款。",
                "Query the acquirer now; if it is paid, adopt the bill's record as the local order, or refund the \
                 customer.",
            ),
            Reason::MissingFromBill | Reason::CarriedMissing => lang.pick(
                "向收单机构查询这笔订单；若未成功收款，联系顾客补付并保留小票。",
                "Query the acquirer for this order; if the money never arrived, contact the customer and keep the \
                 receipt.",
            ),
            Reason::PaymentAmount | Reason::RefundAmount => lang.pick(
                "核对小票并向收单机构查询，更正本地记录或向收单机构提出差错。",
                "Check the receipt and query the acquirer; correct the local record or raise it with the acquirer.",
            ),
            Reason::RefundedOnlyAtAcquirer | Reason::RefundNotThroughAtAcquirer => lang.pick(
                "向收单机构查询退款状态，并更新本地退款记录。",
                "Query the refund at the acquirer and bring the local refund record up to date.",
            ),
            Reason::RefundedOnlyLocally => lang.pick(
                "向收单机构查询这笔退款；若未成功，重新发起退款。",
                "Query this refund at the acquirer; if it did not go through, refund again.",
            ),
            Reason::ReversedAtAcquirer => lang.pick(
                "向收单机构查询；钱已退回顾客，请把本地订单改为已撤销或重新收款。",
                "Query the acquirer; the money went back to the customer, so mark the local order cancelled or take \
                 the payment again.",
            ),
            Reason::FieldsDiffer => {
                lang.pick("按每个不同字段的建议核对处理。", "Work through each differing field as suggested for it.")
            }
            Reason::NoLocalOrderRefunded => lang.pick(
                "向收单机构查询确认收款和退款都已完成；不欠任何一方钱，记录说明后标记为已处理。",
                "Query the acquirer to confirm the payment and the refund both went through; nobody is owed money, \
                 so mark it resolved with a note.",
            ),
            Reason::RefundNoLocalOrder => lang.pick(
                "向收单机构查询原订单（在哪一天的账单里）；若收银台从未收过这笔款，记录说明后标记为已处理。",
                "Query the acquirer for the original order (which day's bill it is in); if the till never took that \
                 payment, mark it resolved with a note.",
            ),
        }
    }

    /// Whether "adopt the bill's record as a local order" applies.
    pub fn can_adopt(self) -> bool {
        matches!(self, Reason::NoLocalOrder | Reason::LocalFailed | Reason::LocalUnconfirmed)
    }
}
