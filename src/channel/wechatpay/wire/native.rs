//! NATIVE payments (the customer scans a code the till shows): `/pay/unifiedorder` with `trade_type=NATIVE`
//! returns `code_url` (render it verbatim as a QR code, valid 2 h); `/pay/closeorder` makes an unpaid order
//! unpayable. Both are plain (no client certificate) and signed like every v2 call.

use super::{
    Endpoint, Fields, MerchantIds, Out, Params, ReplyHead, WireError, WireMessage, WireRequest, check_body,
    check_out_no, check_positive,
};
use crate::money::Amount;

/// `trade_type` of a merchant-presented code.
pub const TRADE_TYPE_NATIVE: &str = "NATIVE";

/// `/pay/unifiedorder` for a NATIVE code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnifiedOrderRequest {
    pub merchant: MerchantIds,
    pub device_info: Option<String>,
    /// Goods description, at most 128 characters.
    pub body: String,
    pub attach: Option<String>,
    pub out_trade_no: String,
    /// Integer fen.
    pub total_fee: Amount,
    /// NATIVE: the address of the machine calling the API.
    pub spbill_create_ip: String,
    /// yyyyMMddHHmmss, **Beijing time**.
    pub time_start: Option<String>,
    /// yyyyMMddHHmmss, Beijing time, at least 5 minutes after now for NATIVE.
    pub time_expire: Option<String>,
    /// Internet-reachable, no query string.
    pub notify_url: String,
    /// `NATIVE`.
    pub trade_type: String,
    /// Required when trade_type=NATIVE (at most 32 characters): TillDesk sends the order number.
    pub product_id: Option<String>,
    pub limit_pay: Option<String>,
    pub scene_info: Option<String>,
}

impl UnifiedOrderRequest {
    /// Checks what WeChat Pay would refuse anyway, before anything is sent.
    pub fn validate(&self) -> Result<(), WireError> {
        check_body(&self.body)?;
        check_out_no("out_trade_no", &self.out_trade_no, 32)?;
        check_positive("total_fee", self.total_fee)?;
        if self.total_fee.fen() > i64::from(i32::MAX) {
            return Err(WireError::InvalidRequest {
                field: "total_fee",
                value: self.total_fee.to_string(),
                reason: "is more than WeChat Pay takes in one payment",
            });
        }
        if self.trade_type == TRADE_TYPE_NATIVE && self.product_id.as_deref().is_none_or(|p| p.trim().is_empty()) {
            return Err(WireError::InvalidRequest {
                field: "product_id",
                value: String::new(),
                reason: "is required when trade_type=NATIVE",
            });
        }
        if self.notify_url.trim().is_empty() || self.notify_url.contains('?') {
            return Err(WireError::InvalidRequest {
                field: "notify_url",
                value: self.notify_url.clone(),
                reason: "must be an address without a query string",
            });
        }
        if self.spbill_create_ip.trim().is_empty() {
            return Err(WireError::InvalidRequest {
                field: "spbill_create_ip",
                value: self.spbill_create_ip.clone(),
                reason: "must be the till's IP address",
            });
        }
        Ok(())
    }
}

impl WireMessage for UnifiedOrderRequest {
    fn to_params(&self) -> Params {
        let mut out = Out::default();
        self.merchant.write(&mut out);
        out.opt("device_info", self.device_info.as_ref());
        out.put("body", self.body.as_str());
        out.opt("attach", self.attach.as_ref());
        out.put("out_trade_no", self.out_trade_no.as_str());
        out.fen("total_fee", self.total_fee);
        out.put("spbill_create_ip", self.spbill_create_ip.as_str());
        out.opt("time_start", self.time_start.as_ref());
        out.opt("time_expire", self.time_expire.as_ref());
        out.put("notify_url", self.notify_url.as_str());
        out.put("trade_type", self.trade_type.as_str());
        out.opt("product_id", self.product_id.as_ref());
        out.opt("limit_pay", self.limit_pay.as_ref());
        out.opt("scene_info", self.scene_info.as_ref());
        out.0
    }

    fn from_params(params: &Params) -> Result<Self, WireError> {
        let f = Fields(params);
        Ok(UnifiedOrderRequest {
            merchant: MerchantIds::read(&f)?,
            device_info: f.opt("device_info"),
            body: f.req("body")?,
            attach: f.opt("attach"),
            out_trade_no: f.req("out_trade_no")?,
            total_fee: f.fen("total_fee")?,
            spbill_create_ip: f.req("spbill_create_ip")?,
            time_start: f.time_opt("time_start")?,
            time_expire: f.time_opt("time_expire")?,
            notify_url: f.req("notify_url")?,
            trade_type: f.req("trade_type")?,
            product_id: f.opt("product_id"),
            limit_pay: f.opt("limit_pay"),
            scene_info: f.opt("scene_info"),
        })
    }
}

impl WireRequest for UnifiedOrderRequest {
    const ENDPOINT: Endpoint = Endpoint::UnifiedOrder;
}

/// The unifiedorder reply. On `result_code=SUCCESS`: `trade_type`, `prepay_id` and, for NATIVE, `code_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnifiedOrderResponse {
    pub head: ReplyHead,
    pub device_info: Option<String>,
    pub trade_type: Option<String>,
    pub prepay_id: Option<String>,
    /// `weixin://wxpay/bizpayurl?pr=…`: opaque, shown verbatim as a QR code.
    pub code_url: Option<String>,
}

impl WireMessage for UnifiedOrderResponse {
    fn to_params(&self) -> Params {
        let mut out = Out::default();
        self.head.write(&mut out);
        out.opt("device_info", self.device_info.as_ref());
        out.opt("trade_type", self.trade_type.as_ref());
        out.opt("prepay_id", self.prepay_id.as_ref());
        out.opt("code_url", self.code_url.as_ref());
        out.0
    }

    fn from_params(params: &Params) -> Result<Self, WireError> {
        let f = Fields(params);
        let head = ReplyHead::read(&f)?;
        let (trade_type, prepay_id) = if head.is_success() {
            (Some(f.req("trade_type")?), Some(f.req("prepay_id")?))
        } else {
            (f.opt("trade_type"), f.opt("prepay_id"))
        };
        Ok(UnifiedOrderResponse {
            head,
            device_info: f.opt("device_info"),
            trade_type,
            prepay_id,
            code_url: f.opt("code_url"),
        })
    }
}

/// `/pay/closeorder`: by out_trade_no only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseOrderRequest {
    pub merchant: MerchantIds,
    pub out_trade_no: String,
}

impl WireMessage for CloseOrderRequest {
    fn to_params(&self) -> Params {
        let mut out = Out::default();
        self.merchant.write(&mut out);
        out.put("out_trade_no", self.out_trade_no.as_str());
        out.0
    }

    fn from_params(params: &Params) -> Result<Self, WireError> {
        let f = Fields(params);
        Ok(CloseOrderRequest { merchant: MerchantIds::read(&f)?, out_trade_no: f.req("out_trade_no")? })
    }
}

impl WireRequest for CloseOrderRequest {
    const ENDPOINT: Endpoint = Endpoint::CloseOrder;
}

/// The closeorder reply: `head.err_code` ORDERPAID (paid: a sale), ORDERCLOSED (done), SYSTEMERROR (again)…
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseOrderResponse {
    pub head: ReplyHead,
    pub result_msg: Option<String>,
}

impl WireMessage for CloseOrderResponse {
    fn to_params(&self) -> Params {
        let mut out = Out::default();
        self.head.write(&mut out);
        out.opt("result_msg", self.result_msg.as_ref());
        out.0
    }

    fn from_params(params: &Params) -> Result<Self, WireError> {
        let f = Fields(params);
        Ok(CloseOrderResponse { head: ReplyHead::read(&f)?, result_msg: f.opt("result_msg") })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{from_xml, parse_and_verify_response, signed_response, to_xml};
    use super::*;
    use crate::channel::wechatpay::sign::SignType;

    const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

    fn merchant() -> MerchantIds {
        MerchantIds { appid: "wx2421b1c4370ec43b".into(), mch_id: "10000100".into(), ..Default::default() }
    }

    #[test]
    fn a_native_request_round_trips_and_is_checked() {
        let request = UnifiedOrderRequest {
            merchant: merchant(),
            device_info: Some("T1".into()),
            body: "腾讯充值中心-QQ会员充值".into(),
            attach: None,
            out_trade_no: "20150806125346".into(),
            total_fee: Amount::from_fen(88),
            spbill_create_ip: "123.12.12.123".into(),
            time_start: Some("20261205180000".into()),
            time_expire: Some("20261205180500".into()),
            notify_url: "http://www.weixin.qq.com/wxpay/pay.php".into(),
            trade_type: TRADE_TYPE_NATIVE.into(),
            product_id: Some("12235413214070356458058".into()),
            limit_pay: None,
            scene_info: None,
        };
        request.validate().unwrap();
        let params = request.to_params();
        assert_eq!(params["total_fee"], "88");
        assert_eq!(params["trade_type"], "NATIVE");
        assert_eq!(UnifiedOrderRequest::from_params(&params).unwrap(), request);
        let no_product = UnifiedOrderRequest { product_id: None, ..request.clone() };
        assert!(no_product.validate().unwrap_err().to_string().contains("product_id"));
        let query_url = UnifiedOrderRequest { notify_url: "https://x/notify?a=1".into(), ..request.clone() };
        assert!(query_url.validate().unwrap_err().to_string().contains("notify_url"));
        let bad_time = Params::from([("time_expire".to_owned(), "2026-12-05 18:05:00".to_owned())]);
        let mut with_bad = params.clone();
        with_bad.extend(bad_time);
        assert!(UnifiedOrderRequest::from_params(&with_bad).is_err(), "time_expire is yyyyMMddHHmmss");
    }

    #[test]
    fn the_documented_reply_shape_reads_and_a_signed_reply_verifies() {
        // The reply shape of the unifiedorder documentation, with code_url as NATIVE returns it.
        let xml = "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg>\
            <appid><![CDATA[wx2421b1c4370ec43b]]></appid><mch_id><![CDATA[10000100]]></mch_id>\
            <nonce_str><![CDATA[IITRi8Iabbblz1Jc]]></nonce_str><result_code><![CDATA[SUCCESS]]></result_code>\
            <prepay_id><![CDATA[wx201411101639507cbf6ffd8b0779950874]]></prepay_id>\
            <trade_type><![CDATA[NATIVE]]></trade_type>\
            <code_url><![CDATA[weixin://wxpay/bizpayurl?pr=ozs6x5e]]></code_url></xml>";
        let reply = UnifiedOrderResponse::from_params(&from_xml(xml).unwrap()).unwrap();
        assert_eq!(reply.code_url.as_deref(), Some("weixin://wxpay/bizpayurl?pr=ozs6x5e"));
        assert_eq!(reply.prepay_id.as_deref(), Some("wx201411101639507cbf6ffd8b0779950874"));
        // What the sandbox signs, the client verifies.
        let signed = signed_response(reply.to_params(), KEY, SignType::Md5);
        let verified = parse_and_verify_response(&to_xml(&signed), KEY, SignType::Md5).unwrap();
        assert_eq!(UnifiedOrderResponse::from_params(&verified).unwrap().code_url, reply.code_url);
        // A SUCCESS without prepay_id is not a usable answer.
        let mut missing = from_xml(xml).unwrap();
        missing.remove("prepay_id");
        assert!(UnifiedOrderResponse::from_params(&missing).is_err());
    }

    #[test]
    fn closeorder_round_trips() {
        let request = CloseOrderRequest { merchant: merchant(), out_trade_no: "1217752501201407033233368018".into() };
        assert_eq!(CloseOrderRequest::from_params(&request.to_params()).unwrap(), request);
        let paid = CloseOrderResponse {
            head: ReplyHead::failure(&merchant(), "ORDERPAID", "订单已支付"),
            result_msg: None,
        };
        let mut params = paid.to_params();
        params.insert("nonce_str".into(), "n".into());
        let read = CloseOrderResponse::from_params(&params).unwrap();
        assert_eq!(read.head.err_code.as_deref(), Some("ORDERPAID"));
    }
}
