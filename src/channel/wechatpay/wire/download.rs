//! `/pay/downloadbill`.

use super::*;

// --- /pay/downloadbill

/// `/pay/downloadbill`. The reply is the bill as plain text, or an XML failure; see [`DownloadBillReply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadBillRequest {
    pub merchant: MerchantIds,
    pub device_info: Option<String>,
    /// yyyyMMdd.
    pub bill_date: String,
    pub bill_type: BillType,
    /// `GZIP` asks for a compressed bill, which TillDesk does not read: leave it `None`.
    pub tar_type: Option<String>,
}

impl DownloadBillRequest {
    /// Checks the date shape.
    pub fn validate(&self) -> Result<(), WireError> {
        if self.bill_date.len() == 8 && self.bill_date.bytes().all(|b| b.is_ascii_digit()) {
            Ok(())
        } else {
            Err(WireError::InvalidRequest {
                field: "bill_date",
                value: self.bill_date.clone(),
                reason: "must be a date like 20240101 (yyyyMMdd)",
            })
        }
    }
}

impl WireMessage for DownloadBillRequest {
    fn to_params(&self) -> Params {
        let mut out = Out::default();
        self.merchant.write(&mut out);
        out.opt("device_info", self.device_info.as_ref());
        out.put("bill_date", self.bill_date.as_str());
        out.put("bill_type", self.bill_type.as_str());
        out.opt("tar_type", self.tar_type.as_ref());
        out.0
    }

    fn from_params(params: &Params) -> Result<Self, WireError> {
        let f = Fields(params);
        Ok(DownloadBillRequest {
            merchant: MerchantIds::read(&f)?,
            device_info: f.opt("device_info"),
            bill_date: f.req("bill_date")?,
            bill_type: f.parse_opt("bill_type", BillType::parse, BillType::expected)?.unwrap_or(BillType::All),
            tar_type: f.opt("tar_type"),
        })
    }
}

impl WireRequest for DownloadBillRequest {
    const ENDPOINT: Endpoint = Endpoint::DownloadBill;
}

/// What `/pay/downloadbill` answered: the bill text, or an unsigned XML failure (e.g. `No Bill Exist`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadBillReply {
    Bill(String),
    Fail { return_msg: String, error_code: Option<String> },
}

impl DownloadBillReply {
    /// Tells a bill from a failure by its first bytes (`<xml>`), and refuses gzip or non-UTF-8 bodies.
    pub fn parse(body: &[u8]) -> Result<Self, WireError> {
        if body.starts_with(&[0x1f, 0x8b]) {
            return Err(WireError::GzipBill);
        }
        let text = std::str::from_utf8(body).map_err(|e| WireError::BillNotUtf8(e.valid_up_to()))?;
        let head = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
        if !head.starts_with("<xml") && !head.starts_with("<?xml") {
            return Ok(DownloadBillReply::Bill(text.to_owned()));
        }
        let params = from_xml(text)?;
        let f = Fields(&params);
        match f.opt("return_code").as_deref() {
            Some("FAIL") => Ok(DownloadBillReply::Fail {
                return_msg: f.opt("return_msg").unwrap_or_default(),
                error_code: f.opt("error_code"),
            }),
            Some(other) => Err(WireError::BadField {
                field: "return_code".into(),
                value: other.to_owned(),
                expected: "FAIL (a successful downloadbill reply is the bill text, not XML)".into(),
            }),
            None => Err(WireError::MissingField("return_code".into())),
        }
    }

    /// The body the sandbox sends.
    pub fn to_body(&self) -> String {
        match self {
            DownloadBillReply::Bill(text) => text.clone(),
            DownloadBillReply::Fail { return_msg, error_code } => {
                let mut params = fail_reply(return_msg);
                if let Some(code) = error_code {
                    params.insert("error_code".into(), code.clone());
                }
                to_xml(&params)
            }
        }
    }
}
