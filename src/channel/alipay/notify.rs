//! Alipay's asynchronous notification (`application/x-www-form-urlencoded`): the account it names, its RSA2
//! signature over the sorted fields (without `sign` and `sign_type`), then what it says. The reply Alipay expects is
//! the bare word `success` (anything else makes it send the notification again).

use std::collections::BTreeMap;

use super::sign::{self, PublicKey};
use crate::channel::notice::{Notice, PaidNotice, Refused, RefusedKind};
use crate::money::Amount;

/// What Alipay must read back to stop sending a notification, and what makes it try again later.
pub const ACK: &str = "success";
pub const NACK: &str = "failure";

/// Reads and verifies a notification form. `account` finds, by the app_id it names, whose it is and the Alipay
/// public key (支付宝公钥) it must be signed with.
pub fn verify<'k, T>(body: &str, account: impl Fn(&str) -> Option<(T, &'k PublicKey)>) -> Result<(T, Notice), Refused> {
    let params: BTreeMap<String, String> = serde_urlencoded::from_str(body)
        .map_err(|e| RefusedKind::NotReadable { format: "form", detail: e.to_string() }.at(None))?;
    let out = params.get("out_trade_no").map(String::as_str);
    let app_id = params.get("app_id").map(String::as_str).unwrap_or_default();
    let Some((owner, public_key)) = account(app_id) else {
        return Err(RefusedKind::NotOurs { field: "app_id", value: app_id.to_owned() }.at(out));
    };
    let Some(signature) = params.get("sign").filter(|s| !s.is_empty()) else {
        return Err(RefusedKind::Unsigned.at(out));
    };
    if params.get("sign_type").map(String::as_str) != Some("RSA2") {
        return Err(RefusedKind::SignType(format!("sign_type {:?} is not RSA2", params.get("sign_type"))).at(out));
    }
    let content = sign::notify_sign_content(&params);
    if let Err(e) = sign::verify_rsa2(public_key, &content, signature) {
        return Err(RefusedKind::BadSignature { key: "Alipay public key", detail: e.to_string() }.at(out));
    }
    // Verified: from here on the fields are Alipay's.
    let status = params.get("trade_status").map(String::as_str).unwrap_or_default();
    if !matches!(status, "TRADE_SUCCESS" | "TRADE_FINISHED") {
        return Ok((owner, Notice::NotPaid));
    }
    let (Some(out_trade_no), Some(trade_no)) = (out, params.get("trade_no")) else {
        return Err(RefusedKind::NoNumbers("trade_no").at(out));
    };
    let total = params.get("total_amount");
    let Ok(amount) = Amount::parse(total.map(String::as_str).unwrap_or_default()) else {
        return Err(
            RefusedKind::BadAmount { field: "total_amount", text: total.cloned(), expected: "an amount" }.at(out)
        );
    };
    Ok((
        owner,
        Notice::Paid(PaidNotice {
            out_trade_no: out_trade_no.to_owned(),
            trade_no: trade_no.clone(),
            amount,
            paid_at_utc: params.get("gmt_payment").and_then(|t| crate::time::acquirer_time_to_utc(t)),
            subject: params.get("subject").cloned(),
            // The seller's account (PID), not the sub-merchant id the order was sent for: it attributes the notice to
            // a store but is not compared with the order. The amount is.
            merchant_id: params.get("seller_id").cloned(),
            currency: None,
            compare_merchant: false,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::alipay::sign::{PrivateKey, parse_public_key};

    const KEYS: &str = include_str!("../../../tests/vectors/test_keys.json");

    fn key(field: &str) -> String {
        let keys: serde_json::Value = serde_json::from_str(KEYS).unwrap();
        keys["app"][field].as_str().unwrap().to_owned()
    }

    fn signed_form(fields: &[(&str, &str)], private: &PrivateKey) -> String {
        let mut params: BTreeMap<String, String> =
            fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        params.insert("sign_type".into(), "RSA2".into());
        let signature = sign::sign_rsa2(private, &sign::notify_sign_content(&params)).unwrap();
        params.insert("sign".into(), signature);
        serde_urlencoded::to_string(&params).unwrap()
    }

    const PAID: &[(&str, &str)] = &[
        ("app_id", "2021000000000001"),
        ("out_trade_no", "TD1"),
        ("trade_no", "2026120622001"),
        ("trade_status", "TRADE_SUCCESS"),
        ("total_amount", "12.34"),
        ("gmt_payment", "2026-12-06 09:30:00"),
        ("seller_id", "2088000000000001"),
    ];

    #[test]
    fn a_signed_payment_is_read_and_anything_else_refused_with_its_reason() {
        let private = sign::parse_private_key(&key("pkcs8_pem")).unwrap();
        let public = parse_public_key(&key("spki_pem")).unwrap();
        let account = |app_id: &str| (app_id == "2021000000000001").then_some((7, &public));

        let (owner, notice) = verify(&signed_form(PAID, &private), account).unwrap();
        let Notice::Paid(paid) = notice else { panic!("not paid: {notice:?}") };
        assert_eq!(owner, 7);
        assert_eq!((paid.out_trade_no.as_str(), paid.amount), ("TD1", Amount::from_fen(1234)));
        assert_eq!(paid.paid_at_utc.as_deref(), Some("2026-12-06T01:30:00.000000Z"), "China time to UTC");
        assert!(!paid.compare_merchant);

        let waiting: Vec<(&str, &str)> =
            PAID.iter().map(|&(k, v)| if k == "trade_status" { (k, "WAIT_BUYER_PAY") } else { (k, v) }).collect();
        assert_eq!(verify(&signed_form(&waiting, &private), account).unwrap().1, Notice::NotPaid);

        let kind = |body: &str| verify(body, account).unwrap_err().kind;
        let tampered = signed_form(PAID, &private).replace("12.34", "1234.00");
        assert!(matches!(kind(&tampered), RefusedKind::BadSignature { .. }));
        let stranger: Vec<(&str, &str)> =
            PAID.iter().map(|&(k, v)| if k == "app_id" { (k, "2021999") } else { (k, v) }).collect();
        assert_eq!(
            kind(&signed_form(&stranger, &private)),
            RefusedKind::NotOurs { field: "app_id", value: "2021999".into() }
        );
        let unsigned = serde_urlencoded::to_string(PAID).unwrap();
        assert_eq!(kind(&unsigned), RefusedKind::Unsigned);
        let refused = verify(&tampered, account).unwrap_err();
        assert_eq!(refused.out_trade_no.as_deref(), Some("TD1"), "names the order in the log");
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// A form from anywhere on the network is refused or read, never a panic; without a valid RSA2 signature it
        /// is never read as a payment.
        #[test]
        fn any_form_is_refused_or_read_never_a_panic(
            text in "\\PC{0,160}",
            fields in proptest::collection::vec(("[a-z_]{1,14}", "[ -~]{0,20}"), 0..10),
        ) {
            let public = sign::parse_public_key(
                "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAs2XIE5Dj0H4BbshGBV6mnXmMCsYqf3kHgM+TVGwx+f5lEq6JSIBv/p4ZHsd4uDP+jrs7ICIrDgt23sOhEJGDjr6NzVC2CFRl+gz882dIDoB1U12+OM+VhTjMbDK+QQYlv3eBZoppENhL6iiXf12Ecb/iNJ19O+SlJeQy2MwbzBsrSYGb2PhalceN+U6ztW4WqbeZg6O5AnGvP+Kot3HGRbyetaQvuMVbRhcfytykXH7zhWsiBIl5pdHp7YOVjGLrNA4e4g2Qea/7+kLYFOpSbJ7lbL6+o8OSguSb2F70+h99qkFZk8jbg66i9VyA97jsurxT24fMdgha6aVLc2Td6wIDAQAB",
            ).unwrap();
            let account = |_: &str| Some(((), &public));
            let _ = verify(&text, account);
            let mut params: BTreeMap<String, String> = fields.into_iter().collect();
            params.insert("sign_type".into(), "RSA2".into());
            params.insert("sign".into(), "c2lnbmF0dXJl".into());
            params.insert("trade_status".into(), "TRADE_SUCCESS".into());
            let form = serde_urlencoded::to_string(&params).unwrap();
            if let Ok((_, Notice::Paid(_))) = verify(&form, account) {
                prop_assert!(false, "a wrongly signed form was read as a payment: {form}");
            }
        }
    }
}
