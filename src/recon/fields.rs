//! Field-level differences as people read them: each field's name and what to do about it, in the chosen
//! language, and its values (times in China time); and the per-account settings the comparison reads (the
//! acquirer's cut-off, the account's fee rate).

use crate::i18n::Lang;
use crate::store::recon::{DiffField, FieldDiff};

/// "HH:MM" → minutes after midnight; None unless a time of day.
pub fn parse_cutoff(text: &str) -> Option<i64> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m) = (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m) && text.trim().len() == 5).then_some(h * 60 + m)
}

/// A fee rate as a percentage ("0.60%", "0.6") → millionths of the amount (6000); None unless 0–100 % with at most
/// four decimals.
pub fn parse_fee_rate(text: &str) -> Option<i64> {
    let t = text.trim();
    let t = t.strip_suffix('%').unwrap_or(t).trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty() || frac.len() > 4 || !whole.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = if frac.is_empty() { 0 } else { frac.parse::<i64>().ok()? * 10i64.pow(4 - frac.len() as u32) };
    let ppm = whole.checked_mul(10_000)?.checked_add(frac)?;
    (ppm <= 1_000_000).then_some(ppm)
}

/// A field's name for people.
pub fn field_label(field: DiffField, lang: Lang) -> &'static str {
    match field {
        DiffField::Amount => lang.pick("订单金额", "order amount"),
        DiffField::Status => lang.pick("状态", "status"),
        DiffField::Fee => lang.pick("手续费", "fee"),
        DiffField::RefundAmount => lang.pick("退款金额", "refund amount"),
        DiffField::Time => lang.pick("时间", "time"),
        DiffField::MerchantId => lang.pick("商户号", "merchant id"),
    }
}

/// What to do about one differing field; None where the till has no value to correct (the difference's own action
/// says what to do), except for a status, which is always to be queried.
pub fn field_advice(f: &FieldDiff, lang: Lang) -> Option<&'static str> {
    (!f.local.is_empty() || f.field == DiffField::Status).then(|| field_action(f.field, lang))
}

/// What to do when this field differs.
pub fn field_action(field: DiffField, lang: Lang) -> &'static str {
    match field {
        DiffField::Amount => lang.pick(
            "核对小票上的金额；以收单机构的金额为准更正本地记录，或向收单机构提出差错。",
            "Check the amount on the receipt; correct the local record to the acquirer's amount or raise it with \
             the acquirer.",
        ),
        DiffField::Status => lang.pick(
            "向收单机构查询这笔交易的最终状态，并据此更新本地记录。",
            "Query the acquirer for the trade's final status and bring the local record up to date.",
        ),
        DiffField::Fee => lang.pick(
            "手续费与商户费率不符：核对签约费率，向收单机构提出差错。",
            "The fee does not follow the account's rate: check the contract rate and raise it with the acquirer.",
        ),
        DiffField::RefundAmount => lang.pick(
            "核对退款单；以收单机构的退款金额为准更正本地记录，或向收单机构提出差错。",
            "Check the refund slip; correct the local refund to the acquirer's amount or raise it with the acquirer.",
        ),
        DiffField::Time => lang.pick(
            "时间相差超过容差：核对收银台的时钟，确认这笔交易属于哪一天。",
            "The times are further apart than the tolerance: check the till's clock and which day the trade \
             belongs to.",
        ),
        DiffField::MerchantId => lang.pick(
            "账单上的商户号不是收银台下单时的商户号：核对路由设置，款项可能进了另一个商户账户。",
            "The bill names another merchant id than the one the till sent the order for: check the routes; the \
             money may have gone to another merchant account.",
        ),
    }
}

/// A field's value for people: times in China time ("2026-11-24 13:20:00"), "-" for none.
pub fn field_value(field: DiffField, value: &str) -> String {
    if value.is_empty() {
        return "-".to_owned();
    }
    match field {
        DiffField::Time => china_time_text(value),
        _ => value.to_owned(),
    }
}

/// A stored UTC time in China time, "YYYY-MM-DD HH:MM:SS"; text that is not a time is given back as is.
pub fn china_time_text(stored: &str) -> String {
    crate::time::to_china_display(stored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::recon::utc_seconds;

    #[test]
    fn settings_are_read_strictly() {
        assert_eq!(parse_cutoff("00:00"), Some(0));
        assert_eq!(parse_cutoff("23:30"), Some(23 * 60 + 30));
        for bad in ["24:00", "7:00", "12:60", "noon", ""] {
            assert_eq!(parse_cutoff(bad), None, "{bad}");
        }
        assert_eq!(parse_fee_rate("0.60%"), Some(6000));
        assert_eq!(parse_fee_rate("0.6"), Some(6000));
        assert_eq!(parse_fee_rate(" 0.38 % "), Some(3800));
        assert_eq!(parse_fee_rate("0.0025%"), Some(25));
        for bad in ["", "%", "-0.6%", "0.123456", "101%", "0,6%"] {
            assert_eq!(parse_fee_rate(bad), None, "{bad}");
        }
    }

    #[test]
    fn times_are_shown_in_china_time_whatever_the_machine() {
        assert_eq!(china_time_text("2026-11-26T03:20:00Z"), "2026-11-26 11:20:00");
        assert_eq!(china_time_text("2026-11-23T16:00:00.123456Z"), "2026-11-24 00:00:00");
        assert_eq!(field_value(DiffField::Time, ""), "-");
        assert_eq!(field_value(DiffField::Amount, "22.00"), "22.00");
        assert_eq!(utc_seconds(b"1970-01-01T00:01:01Z"), Some(61));
        assert_eq!(utc_seconds(b"2026-11-24"), None);
    }
}
