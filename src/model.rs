//! Plain domain types: no I/O. Field names follow the protocols' own words where they exist.

use serde::{Deserialize, Serialize};

use crate::money::{Amount, Currency};

macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    )*};
}

typed_id! {
    /// A merchant (the legal entity) in the local database.
    MerchantId;
    /// A store (a physical shop with its own code) in the local database.
    StoreId;
    /// An acquirer configured in TillDesk (Alipay, WeChat Pay, an Alipay+ partner).
    AcquirerId;
    /// A store's binding to an acquirer (merchant id, CDS index).
    BindingId;
    /// A local order row; the protocol key is `out_trade_no`.
    OrderId;
    /// A local refund row; the protocol key is `out_request_no`.
    RefundId;
    /// An imported bill (对账单).
    BillId;
    /// One row of an imported bill.
    BillRowId;
    /// One reconciliation difference.
    DiscrepancyId;
    /// A staff member who signs in.
    OperatorId;
    /// An append-only audit entry.
    AuditId;
}

/// Declares a string-backed enum with its stored spelling, so SQLite rows and JSON use the same words.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),* }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                $name::parse(&text).ok_or_else(|| serde::de::Error::custom(format!(
                    concat!("unknown ", stringify!($name), " {:?}; expected one of: {}"),
                    text,
                    $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
                )))
            }
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)* _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum! {
    /// Which protocol an acquirer speaks.
    AcquirerKind { Alipay => "alipay", WechatPay => "wechatpay", AlipayPlus => "alipayplus" }
}

impl AcquirerKind {
    /// The payment-code protocol an acquirer of this kind speaks at the till (an Alipay+ partner acquirer takes
    /// Alipay-protocol requests).
    pub fn protocol(self) -> Protocol {
        match self {
            AcquirerKind::WechatPay => Protocol::WechatPay,
            AcquirerKind::Alipay | AcquirerKind::AlipayPlus => Protocol::Alipay,
        }
    }
}

text_enum! {
    /// A payment protocol: how the till talks to an acquirer.
    Protocol { Alipay => "alipay", WechatPay => "wechatpay" }
}

text_enum! {
    /// Whose payment code the customer shows (the wallet app that made it). Each wallet is taken by acquirers of one
    /// protocol.
    Wallet { Alipay => "alipay", WechatPay => "wechatpay" }
}

impl Wallet {
    pub fn protocol(self) -> Protocol {
        match self {
            Wallet::Alipay => Protocol::Alipay,
            Wallet::WechatPay => Protocol::WechatPay,
        }
    }

    /// The wallet whose codes acquirers of `protocol` take.
    pub fn for_protocol(protocol: Protocol) -> Wallet {
        match protocol {
            Protocol::Alipay => Wallet::Alipay,
            Protocol::WechatPay => Wallet::WechatPay,
        }
    }

    pub fn label(self, lang: crate::i18n::Lang) -> &'static str {
        match self {
            Wallet::Alipay => lang.pick("支付宝", "Alipay"),
            Wallet::WechatPay => lang.pick("微信支付", "WeChat Pay"),
        }
    }
}

/// Whose wallet paid an order, as the order records it (its acquirer): the screen names it, the voice announces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaidWith {
    Alipay,
    WechatPay,
    /// Through an Alipay+ partner acquirer, by the name the till records for it.
    AlipayPlus {
        name: String,
    },
}

impl PaidWith {
    /// The wallet behind an order taken by `acquirer`.
    pub fn of(acquirer: &Acquirer) -> PaidWith {
        match acquirer.kind {
            AcquirerKind::Alipay => PaidWith::Alipay,
            AcquirerKind::WechatPay => PaidWith::WechatPay,
            AcquirerKind::AlipayPlus => PaidWith::AlipayPlus { name: acquirer.name.clone() },
        }
    }
}

text_enum! {
    /// How a route came to be: written by onboarding, chosen by the owner, or a direct contract set up by hand.
    RouteSource { Onboarding => "onboarding", Chosen => "chosen", Direct => "direct" }
}

/// Which acquirer account takes one wallet's codes at one store, and as which merchant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub store_id: StoreId,
    pub wallet: Wallet,
    pub acquirer_id: AcquirerId,
    /// The store's merchant id at the acquirer (a sub-merchant of the account); None for a direct contract.
    pub merchant_id: Option<String>,
    pub source: RouteSource,
}

text_enum! {
    /// Whether an acquirer is reached through the embedded sandbox or the real gateway.
    ChannelMode { Sandbox => "sandbox", Live => "live" }
}

text_enum! {
    /// The state of a store's onboarding with an acquirer.
    BindingStatus { PendingVerification => "pending_verification", Active => "active", Failed => "failed" }
}

text_enum! {
    /// Which format a store prints its code in: `auto` = Alipay+ MPM once the store has a CDS index, else EMVCo.
    CodeFormatChoice { Auto => "auto", AlipayPlus => "alipayplus", Emvco => "emvco" }
}

text_enum! {
    /// Order life cycle. PAYING is written before the first byte goes to the acquirer; UNKNOWN while nobody knows
    /// whether the customer paid (polling); CANCELLING while a cancel/reverse is being confirmed; NEEDS_ATTENTION
    /// when it could not be confirmed (the sync worker keeps trying).
    OrderStatus {
        Paying => "PAYING",
        Unknown => "UNKNOWN",
        Paid => "PAID",
        Cancelling => "CANCELLING",
        NeedsAttention => "NEEDS_ATTENTION",
        Cancelled => "CANCELLED",
        Closed => "CLOSED",
        Failed => "FAILED",
        PartiallyRefunded => "PARTIALLY_REFUNDED",
        Refunded => "REFUNDED",
    }
}

text_enum! {
    /// Refund life cycle; WeChat's asynchronous states map onto these.
    RefundStatus { Submitted => "SUBMITTED", Processing => "PROCESSING", Success => "SUCCESS", Failed => "FAILED" }
}

impl RefundStatus {
    /// Plain words for the back office.
    pub fn label(self, lang: crate::i18n::Lang) -> &'static str {
        match self {
            RefundStatus::Submitted => lang.pick("已提交", "submitted"),
            RefundStatus::Processing => lang.pick("处理中", "processing"),
            RefundStatus::Success => lang.pick("退款成功", "refunded"),
            RefundStatus::Failed => lang.pick("退款失败", "failed"),
        }
    }
}

text_enum! {
    /// Where an order came from: the till scanning the customer, or a wallet scanning the store code.
    OrderSource { Barcode => "barcode", StoreCode => "store_code" }
}

text_enum! {
    /// Staff roles: owner (everything), back office (refunds, reconciliation, exports), cashier (checkout, own orders).
    Role { Owner => "owner", BackOffice => "back_office", Cashier => "cashier" }
}

text_enum! {
    /// Kinds of reconciliation differences.
    DiscrepancyKind {
        OnlyInBill => "only_in_bill",
        OnlyLocal => "only_local",
        AmountMismatch => "amount_mismatch",
        StatusMismatch => "status_mismatch",
        FieldMismatch => "field_mismatch",
    }
}

text_enum! {
    /// How a reconciliation difference was resolved: the local record was corrected (adjusted), the customer was
    /// refunded, the difference was accepted as a loss or gain (written off), it was matched by hand to a bill row,
    /// or the bill's payment was adopted as the local order.
    ResolutionKind {
        Adjusted => "adjusted",
        Refunded => "refunded",
        WrittenOff => "written_off",
        Matched => "matched",
        Adopted => "adopted",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Merchant {
    pub id: MerchantId,
    pub legal_name: String,
    /// Latin-letter display name, at most 25 characters (EMVCo tag 59).
    pub display_name: String,
    /// Chinese display name (EMVCo language template, tag 64).
    pub display_name_zh: String,
    /// ISO 18245 merchant category code, 4 digits.
    pub mcc: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub city: String,
    pub postal_code: String,
    pub currency: Currency,
    /// Chinese city (EMVCo language template, tag 64/02); empty for none.
    #[serde(default)]
    pub city_zh: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Store {
    pub id: StoreId,
    pub merchant_id: MerchantId,
    /// The merchant's own store number, sent as `store_id` to the acquirers.
    pub store_code: String,
    pub name: String,
    pub name_zh: String,
    pub address: String,
    pub contact: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acquirer {
    pub id: AcquirerId,
    pub kind: AcquirerKind,
    pub name: String,
    pub mode: ChannelMode,
    pub gateway_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcquirerBinding {
    pub id: BindingId,
    pub store_id: StoreId,
    pub acquirer_id: AcquirerId,
    pub status: BindingStatus,
    /// The merchant identifier the acquirer assigned.
    pub merchant_id_at_acquirer: Option<String>,
    pub cds_platform_id: Option<String>,
    pub cds_index: Option<String>,
    pub failure_reason: Option<String>,
    /// The identifier the acquirer puts in store codes (EMVCo template sub-tag 00 / Alipay+ code issuer id).
    #[serde(default)]
    pub issuer_guid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub out_trade_no: String,
    /// The acquirer's own transaction number, once known.
    pub trade_no: Option<String>,
    pub store_id: StoreId,
    pub acquirer_id: AcquirerId,
    pub operator_id: Option<OperatorId>,
    pub source: OrderSource,
    pub subject: String,
    pub total_amount: Amount,
    pub currency: Currency,
    pub refunded_amount: Amount,
    pub status: OrderStatus,
    /// Only the first 6 and last 4 digits of the customer's payment code are kept.
    pub auth_code_masked: Option<String>,
    /// UTC, RFC 3339.
    pub created_at: String,
    pub paid_at: Option<String>,
    /// The store's merchant id at the acquirer that took the order (None: the account itself, or not recorded).
    #[serde(default)]
    pub acquirer_merchant_id: Option<String>,
    /// The till that took it (Settings → This till).
    #[serde(default)]
    pub terminal_id: Option<String>,
}

impl OrderStatus {
    /// Whether the order's outcome is still open (recovery resumes these on start).
    pub fn is_unfinished(self) -> bool {
        matches!(
            self,
            OrderStatus::Paying | OrderStatus::Unknown | OrderStatus::Cancelling | OrderStatus::NeedsAttention
        )
    }

    /// Plain words for the cashier.
    pub fn label(self, lang: crate::i18n::Lang) -> &'static str {
        match self {
            OrderStatus::Paying => lang.pick("支付中", "paying"),
            OrderStatus::Unknown => lang.pick("确认中", "confirming"),
            OrderStatus::Paid => lang.pick("已支付", "paid"),
            OrderStatus::Cancelling => lang.pick("撤销中", "cancelling"),
            OrderStatus::NeedsAttention => lang.pick("需处理", "needs attention"),
            OrderStatus::Cancelled => lang.pick("已撤销", "cancelled"),
            OrderStatus::Closed => lang.pick("已关闭", "closed"),
            OrderStatus::Failed => lang.pick("失败", "failed"),
            OrderStatus::PartiallyRefunded => lang.pick("部分退款", "partly refunded"),
            OrderStatus::Refunded => lang.pick("已退款", "refunded"),
        }
    }
}

impl Order {
    /// What can still be refunded.
    pub fn refundable(&self) -> Amount {
        self.total_amount.checked_sub(self.refunded_amount).unwrap_or(Amount::ZERO)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub id: RefundId,
    pub order_id: OrderId,
    pub out_request_no: String,
    pub refund_amount: Amount,
    pub reason: String,
    pub status: RefundStatus,
    pub operator_id: Option<OperatorId>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillRow {
    pub id: BillRowId,
    pub bill_id: BillId,
    /// 1-based line in the bill file, for messages.
    pub line_no: i64,
    pub trade_no: Option<String>,
    pub out_trade_no: Option<String>,
    pub out_request_no: Option<String>,
    pub kind: String,
    pub amount: Amount,
    pub fee: Amount,
    pub occurred_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discrepancy {
    pub id: DiscrepancyId,
    pub kind: DiscrepancyKind,
    pub out_trade_no: Option<String>,
    pub local_amount: Option<Amount>,
    pub bill_amount: Option<Amount>,
    pub explanation: String,
    pub resolved: bool,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operator {
    pub id: OperatorId,
    pub name: String,
    pub role: Role,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: AuditId,
    pub at: String,
    pub operator_id: Option<OperatorId>,
    pub action: String,
    pub subject: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// Through what the change was made when recorded ("command line", "window"); None in entries older than
    /// schema 9.
    pub actor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_enums_round_trip() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(*s));
        }
        for k in AcquirerKind::ALL {
            assert_eq!(AcquirerKind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(Role::parse("nobody"), None);
    }

    #[test]
    fn refundable_is_total_minus_refunded() {
        let order = Order {
            id: OrderId(1),
            out_trade_no: "T1".into(),
            trade_no: None,
            store_id: StoreId(1),
            acquirer_id: AcquirerId(1),
            operator_id: None,
            source: OrderSource::Barcode,
            subject: "coffee".into(),
            total_amount: Amount::from_fen(1000),
            currency: Currency::CNY,
            refunded_amount: Amount::from_fen(300),
            status: OrderStatus::PartiallyRefunded,
            auth_code_masked: None,
            created_at: "2026-11-25T00:00:00Z".into(),
            paid_at: None,
            acquirer_merchant_id: None,
            terminal_id: None,
        };
        assert_eq!(order.refundable(), Amount::from_fen(700));
    }
}
