//! WeChat Pay's payment result notification (v2 XML): the merchant it names, its signature with the API key (the
//! algorithm it declares), then what it says. The reply is an `<xml>` with `return_code` SUCCESS, or FAIL and a
//! reason (WeChat Pay then sends it again).

use super::sign::{self, SignType};
use super::wire;
use crate::channel::notice::{Notice, PaidNotice, Refused, RefusedKind};
use crate::money::Amount;

/// The acknowledgement WeChat Pay must read back to stop sending a notification.
pub const ACK: &str =
    "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>";

/// A refusal: WeChat Pay sends the notification again later.
pub fn nack(reason: &str) -> String {
    wire::to_xml(&wire::fail_reply(reason))
}

/// Reads and verifies a notification. `account` finds, by the mch_id it names, whose it is and the API v2 key it
/// must be signed with.
pub fn verify<'k, T>(body: &str, account: impl Fn(&str) -> Option<(T, &'k str)>) -> Result<(T, Notice), Refused> {
    let params =
        wire::from_xml(body).map_err(|e| RefusedKind::NotReadable { format: "XML", detail: e.to_string() }.at(None))?;
    let out = params.get("out_trade_no").map(String::as_str);
    let mch_id = params.get("mch_id").map(String::as_str).unwrap_or_default();
    let Some((owner, api_key)) = account(mch_id) else {
        return Err(RefusedKind::NotOurs { field: "mch_id", value: mch_id.to_owned() }.at(out));
    };
    if params.get("sign").is_none_or(|s| s.is_empty()) {
        return Err(RefusedKind::Unsigned.at(out));
    }
    let sign_type =
        SignType::of(&params).map_err(|e| RefusedKind::SignType(format!("unknown sign_type: {e}")).at(out))?;
    if let Err(e) = sign::verify(&params, api_key, sign_type) {
        return Err(RefusedKind::BadSignature { key: "API key", detail: e.to_string() }.at(out));
    }
    let success = |f: &str| params.get(f).is_some_and(|v| v == "SUCCESS");
    if !success("return_code") || !success("result_code") {
        return Ok((owner, Notice::NotPaid));
    }
    let (Some(out_trade_no), Some(trade_no)) = (out, params.get("transaction_id")) else {
        return Err(RefusedKind::NoNumbers("transaction_id").at(out));
    };
    let total_fee = params.get("total_fee");
    let Some(fen) = total_fee.and_then(|f| f.parse::<i64>().ok()).filter(|f| *f > 0) else {
        return Err(RefusedKind::BadAmount {
            field: "total_fee",
            text: total_fee.cloned(),
            expected: "an amount in fen",
        }
        .at(out));
    };
    Ok((
        owner,
        Notice::Paid(PaidNotice {
            out_trade_no: out_trade_no.to_owned(),
            trade_no: trade_no.clone(),
            amount: Amount::from_fen(fen),
            paid_at_utc: params.get("time_end").and_then(|t| crate::time::acquirer_time_to_utc(t)),
            subject: params.get("attach").cloned(),
            // Service-provider mode names the sub-merchant (the store's merchant id at the acquirer).
            merchant_id: params.get("sub_mch_id").cloned(),
            currency: params.get("fee_type").cloned(),
            compare_merchant: true,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

    fn signed(fields: &[(&str, &str)], sign_type: SignType) -> String {
        let params = fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        wire::to_xml(&wire::signed_request(params, KEY, sign_type))
    }

    const PAID: &[(&str, &str)] = &[
        ("return_code", "SUCCESS"),
        ("result_code", "SUCCESS"),
        ("mch_id", "1900000109"),
        ("sub_mch_id", "1900000188"),
        ("out_trade_no", "TD2"),
        ("transaction_id", "4200000001"),
        ("total_fee", "560"),
        ("fee_type", "CNY"),
        ("time_end", "20261206093000"),
    ];

    #[test]
    fn a_signed_payment_is_read_and_anything_else_refused_with_its_reason() {
        let account = |mch_id: &str| (mch_id == "1900000109").then_some(("WECHATPAY", KEY));
        for sign_type in [SignType::Md5, SignType::HmacSha256] {
            let (owner, notice) = verify(&signed(PAID, sign_type), account).unwrap();
            let Notice::Paid(paid) = notice else { panic!("not paid: {notice:?}") };
            assert_eq!(owner, "WECHATPAY");
            assert_eq!((paid.out_trade_no.as_str(), paid.amount), ("TD2", Amount::from_fen(560)));
            assert_eq!(paid.merchant_id.as_deref(), Some("1900000188"));
            assert_eq!(paid.paid_at_utc.as_deref(), Some("2026-12-06T01:30:00.000000Z"));
            assert!(paid.compare_merchant);
        }
        let failed: Vec<(&str, &str)> =
            PAID.iter().map(|&(k, v)| if k == "result_code" { (k, "FAIL") } else { (k, v) }).collect();
        assert_eq!(verify(&signed(&failed, SignType::Md5), account).unwrap().1, Notice::NotPaid);

        let kind = |body: &str| verify(body, account).unwrap_err().kind;
        let tampered = signed(PAID, SignType::Md5).replace("<total_fee>560<", "<total_fee>56000<");
        assert!(matches!(kind(&tampered), RefusedKind::BadSignature { .. }), "{tampered}");
        let stranger: Vec<(&str, &str)> =
            PAID.iter().map(|&(k, v)| if k == "mch_id" { (k, "1999") } else { (k, v) }).collect();
        assert_eq!(
            kind(&signed(&stranger, SignType::Md5)),
            RefusedKind::NotOurs { field: "mch_id", value: "1999".into() }
        );
        let unsigned = wire::to_xml(&PAID.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect());
        assert_eq!(kind(&unsigned), RefusedKind::Unsigned);
        assert!(matches!(kind("not xml"), RefusedKind::NotReadable { format: "XML", .. }));
        let no_amount: Vec<(&str, &str)> = PAID.iter().copied().filter(|(k, _)| *k != "total_fee").collect();
        let refused = verify(&signed(&no_amount, SignType::Md5), account).unwrap_err();
        assert_eq!(refused.out_trade_no.as_deref(), Some("TD2"));
        assert!(matches!(refused.kind, RefusedKind::BadAmount { field: "total_fee", text: None, .. }));
        // The reply WeChat Pay reads back.
        assert!(nack("bad sign").contains("<return_code><![CDATA[FAIL]]></return_code>"));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// A notification body from anywhere on the network is refused or read, never a panic; one without the
        /// right signature is never read as a payment.
        #[test]
        fn any_body_is_refused_or_read_never_a_panic(
            text in "\\PC{0,160}",
            fields in proptest::collection::vec(("[a-z_]{1,14}", "[ -~]{0,20}"), 0..10),
        ) {
            let account = |_: &str| Some(((), "192006250b4c09247ec02edce69f6a2d"));
            let _ = verify(&text, account);
            let params = fields.into_iter().collect();
            let unsigned = wire::to_xml(&params);
            if let Ok((_, Notice::Paid(_))) = verify(&unsigned, account) {
                prop_assert!(false, "an unsigned or wrongly signed body was read as a payment: {unsigned}");
            }
        }
    }
}
