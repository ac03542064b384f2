//! `alipay.trade.pay`: charge the buyer's payment code.

use super::*;

/// `scene` for the till scanning the buyer's payment code.
pub const SCENE_BAR_CODE: &str = "bar_code";
/// `product_code` of 当面付.
pub const PRODUCT_FACE_TO_FACE: &str = "FACE_TO_FACE_PAYMENT";

/// biz_content of alipay.trade.pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradePayRequest {
    pub out_trade_no: String,
    pub scene: String,
    pub auth_code: String,
    pub subject: String,
    pub total_amount: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal_id: Option<String>,
    /// e.g. "2m": how long the buyer has to confirm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_express: Option<String>,
}

impl TradePayRequest {
    /// A barcode payment (scene `bar_code`); the optional fields start empty.
    pub fn bar_code(out_trade_no: &str, auth_code: &str, subject: &str, total: Amount) -> Self {
        TradePayRequest {
            out_trade_no: out_trade_no.into(),
            scene: SCENE_BAR_CODE.into(),
            auth_code: auth_code.into(),
            subject: subject.into(),
            total_amount: total.format(),
            product_code: None,
            seller_id: None,
            body: None,
            operator_id: None,
            store_id: None,
            terminal_id: None,
            timeout_express: None,
        }
    }

    pub fn total_amount(&self) -> Result<Amount, WireError> {
        amount("total_amount", &self.total_amount)
    }
}

/// The alipay_trade_pay_response node.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TradePayResponse {
    #[serde(flatten)]
    pub common: CommonResponse,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    /// Masked, e.g. "159****5620".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_logon_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_pay_amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point_amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_amount: Option<String>,
    /// "yyyy-MM-dd HH:mm:ss", China time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gmt_payment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fund_bill_list: Option<Vec<FundBill>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_name: Option<String>,
}

impl TradePayResponse {
    pub fn total_amount(&self) -> Result<Option<Amount>, WireError> {
        optional_amount("total_amount", self.total_amount.as_deref())
    }

    pub fn receipt_amount(&self) -> Result<Option<Amount>, WireError> {
        optional_amount("receipt_amount", self.receipt_amount.as_deref())
    }

    pub fn buyer_pay_amount(&self) -> Result<Option<Amount>, WireError> {
        optional_amount("buyer_pay_amount", self.buyer_pay_amount.as_deref())
    }
}
