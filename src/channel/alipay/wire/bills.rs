//! Bills (`alipay.data.dataservice.bill.downloadurl.query`) and store codes.

use super::*;

/// `bill_type` of the trade bill (业务账单); `signcustomer` is the account bill (账务账单).
pub const BILL_TYPE_TRADE: &str = "trade";
pub const BILL_TYPE_SIGNCUSTOMER: &str = "signcustomer";

/// biz_content of alipay.data.dataservice.bill.downloadurl.query. `bill_date` is `yyyy-MM-dd` (daily) or
/// `yyyy-MM` (monthly), past dates only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillDownloadUrlQueryRequest {
    pub bill_type: String,
    pub bill_date: String,
}

impl BillDownloadUrlQueryRequest {
    /// The daily trade bill of `date`.
    pub fn daily_trade(date: time::Date) -> Self {
        Self::daily(date, BILL_TYPE_TRADE)
    }

    /// The daily bill of `date` of a type: `trade` (业务账单) or `signcustomer` (账务账单).
    pub fn daily(date: time::Date, bill_type: &str) -> Self {
        BillDownloadUrlQueryRequest {
            bill_type: bill_type.into(),
            bill_date: format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day()),
        }
    }
}

/// The alipay_data_dataservice_bill_downloadurl_query_response node. The URL expires about 30 s after issue.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BillDownloadUrlQueryResponse {
    #[serde(flatten)]
    pub common: CommonResponse,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_download_url: Option<String>,
}

/// biz_content of alipay.trade.precreate (the buyer scans a QR code the till shows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradePrecreateRequest {
    pub out_trade_no: String,
    pub total_amount: String,
    pub subject: String,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_express: Option<String>,
    /// How long the code itself may be scanned, from its creation: `1m`…`2h` for 当面付.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_code_timeout_express: Option<String>,
}

impl TradePrecreateRequest {
    pub fn new(out_trade_no: &str, subject: &str, total: Amount) -> Self {
        TradePrecreateRequest {
            out_trade_no: out_trade_no.into(),
            total_amount: total.format(),
            subject: subject.into(),
            product_code: None,
            seller_id: None,
            body: None,
            operator_id: None,
            store_id: None,
            terminal_id: None,
            timeout_express: None,
            qr_code_timeout_express: None,
        }
    }

    pub fn total_amount(&self) -> Result<Amount, WireError> {
        amount("total_amount", &self.total_amount)
    }
}

/// The alipay_trade_precreate_response node.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TradePrecreateResponse {
    #[serde(flatten)]
    pub common: CommonResponse,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    /// The code to show, e.g. "https://qr.alipay.com/bax…".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_code: Option<String>,
}
