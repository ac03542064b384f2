//! The 交接班 screen's words: shift and day-close errors, wallet lines and what changed since a close, in the
//! current language.

use crate::i18n::{Lang, Phrase};
use crate::money::Amount;
use crate::shifts::{Change, Field, ShiftError, WalletFigures};

impl Phrase for ShiftError {
    fn phrase(&self, lang: Lang) -> String {
        match self {
            ShiftError::NoOpenShift { operator } => match lang {
                Lang::ZhCn => format!("{operator} 在这台收银机上没有未交班的班次"),
                Lang::En => format!("{operator} has no open shift at this till"),
            },
            ShiftError::UnknownShift { id } => match lang {
                Lang::ZhCn => format!("没有班次 {id}"),
                Lang::En => format!("There is no shift {id}"),
            },
            ShiftError::UnknownDayClose { id } => match lang {
                Lang::ZhCn => format!("没有日结记录 {id}"),
                Lang::En => format!("There is no day close {id}"),
            },
            ShiftError::AlreadyClosed { id } => match lang {
                Lang::ZhCn => format!("班次 {id} 已交班"),
                Lang::En => format!("Shift {id} was closed already"),
            },
            ShiftError::NotYours { by, operator } => match lang {
                Lang::ZhCn => format!("{by} 不能为 {operator} 交班：请以 {operator}、店主或后台人员身份登录"),
                Lang::En => {
                    format!("{by} may not close {operator}'s shift: sign in as {operator}, an owner or back office")
                }
            },
            ShiftError::NotSignedIn => {
                lang.pick("交班需要先登录（设置 → 员工）", "Sign in to close a shift (Settings → Staff)").to_owned()
            }
            ShiftError::DayCloseNotAllowed => lang
                .pick("日结需要以店主或后台人员身份登录", "Closing the day needs an owner or back office signed in")
                .to_owned(),
            ShiftError::DayClosed { store, day, closed_at } => {
                let at = crate::time::to_china_display(closed_at);
                match lang {
                    Lang::ZhCn => format!("门店 {store} 的 {day} 已于 {at} 日结：需店主重新打开后才能再次日结"),
                    Lang::En => format!("{day} at store {store} was closed at {at}: an owner must reopen it first"),
                }
            }
            ShiftError::DayNotClosed { store, day } => match lang {
                Lang::ZhCn => format!("门店 {store} 的 {day} 尚未日结"),
                Lang::En => format!("{day} at store {store} is not closed"),
            },
            ShiftError::ReopenNotAllowed => {
                lang.pick("只有店主可以重新打开已日结的营业日", "Only an owner may reopen a closed day").to_owned()
            }
            ShiftError::BadDay { given } => match lang {
                Lang::ZhCn => format!("“{given}”不是日期：请按 YYYY-MM-DD 填写"),
                Lang::En => format!("“{given}” is not a day: use YYYY-MM-DD"),
            },
            ShiftError::Corrupt { what, .. } => match lang {
                Lang::ZhCn => format!("{what} 保存的汇总无法读取"),
                Lang::En => format!("The stored summary of {what} cannot be read"),
            },
            ShiftError::Store(_) => {
                lang.pick("数据库读写失败（详见日志）", "The database could not be read (see the log)").to_owned()
            }
        }
    }
}

/// A wallet line's name in the current language.
pub fn wallet_name(w: &WalletFigures, lang: Lang) -> String {
    match w.kind() {
        Some(crate::model::AcquirerKind::Alipay) => crate::model::Wallet::Alipay.label(lang).to_owned(),
        Some(crate::model::AcquirerKind::WechatPay) => crate::model::Wallet::WechatPay.label(lang).to_owned(),
        Some(crate::model::AcquirerKind::AlipayPlus) => format!("Alipay+ {}", w.name),
        None => lang.pick("合计", "Total").to_owned(),
    }
}

pub fn yuan(fen: i64) -> String {
    format!("¥{}", Amount::from_fen(fen))
}

pub fn field_words(field: Field, lang: Lang) -> &'static str {
    match field {
        Field::PaidCount => lang.pick("收款笔数", "payments"),
        Field::PaidAmount => lang.pick("收款金额", "paid"),
        Field::RefundCount => lang.pick("退款笔数", "refunds"),
        Field::RefundAmount => lang.pick("退款金额", "refunded"),
    }
}

pub fn change_words(c: &Change, lang: Lang) -> String {
    let w = WalletFigures {
        wallet: c.wallet.clone(),
        name: c.name.clone(),
        paid_count: 0,
        paid_fen: 0,
        refund_count: 0,
        refund_fen: 0,
        net_fen: 0,
    };
    let (a, b) =
        if c.field.is_amount() { (yuan(c.before), yuan(c.after)) } else { (c.before.to_string(), c.after.to_string()) };
    format!("{} · {}: {a} → {b}", wallet_name(&w, lang), field_words(c.field, lang))
}
