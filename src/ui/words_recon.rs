//! Words for the reconciliation core (对账): its errors as kinds phrased in both languages, the acquirers' names,
//! and the one rule for showing fees.
//!
//! **Fees** (WeChat Pay bills carry them to 0.00001 yuan): every screen shows a fee in fen, rounded as the report
//! rounds it ([`fee_text`]), and gives the exact value on hover ([`fee_label`]). Other screens showing fees use
//! these two functions.

use crate::i18n::{Lang, Phrase, Text};
use crate::model::AcquirerKind;
use crate::money::Amount;
use crate::recon::ReconError;

/// An acquirer's name in the UI language (支付宝 / 微信支付; Alipay+ is the network's own name in both).
pub fn acquirer_words(kind: AcquirerKind, lang: Lang) -> &'static str {
    match kind {
        AcquirerKind::Alipay => lang.pick("支付宝", "Alipay"),
        AcquirerKind::WechatPay => lang.pick("微信支付", "WeChat Pay"),
        AcquirerKind::AlipayPlus => "Alipay+",
    }
}

/// The core names acquirers in English ("WeChat Pay", "an Alipay bill"); this gives the name in the UI language.
fn acquirer_in(text: &str, lang: Lang) -> &'static str {
    let kind = if text.contains("Alipay+") {
        AcquirerKind::AlipayPlus
    } else if text.contains("WeChat") {
        AcquirerKind::WechatPay
    } else {
        AcquirerKind::Alipay
    };
    acquirer_words(kind, lang)
}

/// A bill type as the core names it ("SUCCESS", "REFUND", "ALL", "TRADE") in words.
fn bill_type_words(t: &str, lang: Lang) -> String {
    match t {
        "SUCCESS" => lang.pick("成功支付", "SUCCESS").to_owned(),
        "REFUND" => lang.pick("退款", "REFUND").to_owned(),
        "ALL" => lang.pick("全部交易", "ALL").to_owned(),
        "TRADE" | "trade" => lang.pick("业务明细", "trade").to_owned(),
        other => other.to_owned(),
    }
}

/// A fee in fen, the way every screen shows it ("0.41"): the report's `fee_fen`, rounded from the exact value.
pub fn fee_text(fen: Amount) -> String {
    fen.to_string()
}

/// Shows a fee by the one rule: fen on screen, the exact value (as the bill writes it, e.g. "0.41004") on hover.
pub fn fee_label(ui: &mut egui::Ui, fen: Amount, exact: &str, lang: Lang) -> egui::Response {
    let shown = fee_text(fen);
    let r = ui.label(&shown);
    if exact.trim() != shown {
        r.on_hover_text(format!("{}{exact}", lang.pick("账单中的精确值：", "Exact value in the bill: ")))
    } else {
        r
    }
}

/// A fee written as text in the bill ("0.41004", "-0.04000") rounded to the fen ("0.41"), half away from zero as
/// the report rounds; text that is not a number is given back as is.
pub fn fee_text_of(exact: &str) -> String {
    let t = exact.trim();
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return exact.to_owned();
    }
    let Ok(whole) = whole.parse::<i64>() else { return exact.to_owned() };
    let mut f = frac.bytes().map(|b| i64::from(b - b'0'));
    let (d1, d2, d3) = (f.next().unwrap_or(0), f.next().unwrap_or(0), f.next().unwrap_or(0));
    let mut fen = whole.saturating_mul(100).saturating_add(d1 * 10 + d2);
    if d3 >= 5 {
        fen = fen.saturating_add(1);
    }
    fee_text(Amount::from_fen(if negative { -fen } else { fen }))
}

impl Phrase for ReconError {
    fn phrase(&self, lang: Lang) -> String {
        if lang == Lang::En {
            return match self {
                ReconError::Store(e) => crate::ui::words_backoffice::store_error_words(e, lang),
                e => e.to_string(),
            };
        }
        let detail = |e: &dyn std::fmt::Display| tracing::warn!(error = %e, "reconciliation");
        match self {
            ReconError::UnknownAccount(id) => format!("这台收银机没有收单账户 #{id}"),
            ReconError::Io { file, .. } => {
                detail(self);
                format!("{file}：无法读取文件")
            }
            ReconError::UnknownFormat { file, .. } => format!(
                "{file}：不是 TillDesk 认识的账单。应为支付宝账单（GBK 编码 CSV 的 .csv.zip，或其中的业务明细 CSV）或微信支付账单（以“交易时间,公众账号ID,…”开头的文本）"
            ),
            ReconError::WrongAcquirer { file, found, expected } => {
                format!("{file} 是{}账单，但导入时选的是{}", acquirer_in(found, lang), acquirer_in(expected, lang))
            }
            ReconError::Wechat { file, source } => format!("{file}：{}", wechat_bill_zh(source)),
            ReconError::Alipay(e) => alipay_bill_zh(e),
            ReconError::AlipayIn { file, source } => format!("{file}：{}", alipay_bill_zh(source)),
            ReconError::BadZip { file, .. } => format!("{file}：zip 文件已损坏或不完整，请重新下载账单"),
            ReconError::Encoding { file, line, expected, .. } => {
                format!("{file} 第 {line} 行：文字不是有效的 {expected} 编码（文件是否被另存为其他编码？）")
            }
            ReconError::Value { file, line, column, text, expected } => {
                format!("{file} 第 {line} 行“{column}”列：“{text}”不是{}", expected_zh(expected))
            }
            ReconError::Truncated { file, .. } => {
                format!("{file}：文件末尾没有账单合计，可能没有下载完整：请重新下载")
            }
            ReconError::TotalsMismatch { file, .. } => {
                detail(self);
                format!("{file}：账单自身的合计与明细不符，没有导入任何内容")
            }
            ReconError::NoRows { file } => {
                format!("{file}：账单没有任何交易行，无法判断是哪一天的账单；请填写账单日期")
            }
            ReconError::NoDate { file, rows } => {
                format!("{file}：账单有 {rows} 行，但没有一行能说明日期；请填写账单日期")
            }
            ReconError::Utf16 { file, .. } => format!(
                "{file}：文件是 UTF-16 编码（电子表格另存为“Unicode 文本”时会这样）：请使用收单机构提供的原始文件，或重新下载"
            ),
            ReconError::WrongBillType { file, found, expected } => format!(
                "{file} 是{}账单，但要求的是{}账单",
                bill_type_words(found, lang),
                bill_type_words(expected, lang)
            ),
            ReconError::Cancelled => "导入已取消：没有导入任何内容".to_owned(),
            ReconError::NoBill { acquirer, date } => {
                format!("数据库里还没有 {date} 的{}账单：请先下载或导入", acquirer_in(acquirer, lang))
            }
            ReconError::NoBillAtAcquirer { acquirer, date } => {
                format!("{}没有 {date} 的账单（当天没有交易）", acquirer_in(acquirer, lang))
            }
            ReconError::Fetch { acquirer, date, .. } => {
                detail(self);
                format!("{}没有给出 {date} 的账单（详情见日志）", acquirer_in(acquirer, lang))
            }
            ReconError::Export { path, .. } => {
                detail(self);
                format!("无法写入 {}", path.display())
            }
            ReconError::DayClosed { acquirer, date, closed_by, closed_at } => format!(
                "{date} 的{}对账已由 {closed_by} 于 {closed_at}（北京时间）结账；请先重新开账",
                acquirer_in(acquirer, lang)
            ),
            ReconError::BadRun { run, .. } => {
                detail(self);
                format!("无法读取第 {run} 次对账的记录")
            }
            ReconError::Store(e) => crate::ui::words_backoffice::store_error_words(e, lang),
            ReconError::Archive(e) => {
                detail(e);
                use crate::recon::archive::ArchiveError as A;
                match e {
                    A::Write { .. } => "账单已导入，但无法保存到账单存档（详情见日志）".to_owned(),
                    A::Missing { name, date, .. } => format!("存档中的账单 {name}（{date}）不见了：无法重新导入"),
                    A::Changed { name, date, .. } => {
                        format!("存档中的账单 {name}（{date}）在存档后被改动过：没有导入任何内容")
                    }
                    A::Nothing { date, .. } => format!("存档中没有 {date} 的账单"),
                    A::NoDataFolder => "这个数据库不在数据目录中，没有账单存档".to_owned(),
                }
            }
            ReconError::Settlement(e) => {
                use crate::recon::settlement::SettlementError as S;
                match e {
                    S::Read(_) => {
                        detail(e);
                        "支付宝账务明细的内容有误（详情见日志）".to_owned()
                    }
                    S::NoDate { file } => format!("{file}：无法判断账务明细是哪一天的；请填写日期"),
                    S::NoAccountBill { date } => format!("还没有 {date} 的支付宝账务明细：请先下载账务明细"),
                    S::NotAlipay(id) => format!("结算核对只适用于支付宝账户；收单账户 #{id} 不是"),
                }
            }
        }
    }
}

/// A WeChat Pay bill that cannot be read, in Chinese.
fn wechat_bill_zh(e: &crate::channel::wechatpay::bill::BillError) -> String {
    use crate::channel::wechatpay::bill::BillError as B;
    match e {
        B::Io { line, .. } => {
            tracing::warn!(error = %e, "bill");
            format!("第 {line} 行：无法读取账单（详情见日志）")
        }
        B::NotUtf8 { line } => {
            format!("第 {line} 行不是 UTF-8 文字：微信支付账单是 UTF-8 编码（文件是否被电子表格另存过？）")
        }
        B::Empty => "账单是空的：应以“交易时间,公众账号ID,…”表头开始".to_owned(),
        B::LineTooLong { line, limit } => format!("第 {line} 行超过 {limit} 字节：这不是账单文件"),
        B::Utf16 => {
            "文件是 UTF-16 编码（电子表格另存为“Unicode 文本”时会这样），微信支付账单是 UTF-8：请使用原始文件或重新下载"
                .to_owned()
        }
        B::NotABill { .. } => "第 1 行不是微信支付账单的表头（应有“交易时间,公众账号ID,…”等列）".to_owned(),
        B::MissingColumn { line, column } => format!("第 {line} 行：表头缺少每份微信支付账单都有的列“{column}”"),
        B::DuplicateColumn { line, column } => format!("第 {line} 行：表头中“{column}”列出现了两次"),
        B::ColumnCount { line, found, expected } => format!("第 {line} 行有 {found} 个值，但表头有 {expected} 列"),
        B::Value { line, column, text, expected } => {
            format!("第 {line} 行“{column}”列：“{text}”不是{}", expected_zh(expected))
        }
        B::Truncated { line } => {
            format!("第 {line} 行：账单没有结尾的汇总（总交易单数,…）及合计，可能没有下载完整：请重新下载")
        }
        B::AfterSummary { line, text } => format!("第 {line} 行：汇总之后还有多余的内容：“{text}”"),
    }
}

/// What a value should have been ("an amount"), in Chinese.
fn expected_zh(expected: &str) -> &'static str {
    match expected {
        e if e.contains("amount") => "金额",
        e if e.contains("time") || e.contains("date") => "时间",
        e if e.contains("count") || e.contains("number") => "数量",
        e if e.contains("rate") => "费率",
        _ => "有效的值",
    }
}

/// An Alipay bill that cannot be read, in Chinese.
fn alipay_bill_zh(e: &crate::channel::alipay::bill::BillError) -> String {
    use crate::channel::alipay::bill::BillError as B;
    match e {
        B::BadAmount { file, line, column, text, .. } => format!("{file} 第 {line} 行“{column}”列：“{text}”不是金额"),
        B::BadTime { file, line, column, text } => {
            format!("{file} 第 {line} 行“{column}”列：“{text}”不是 2019-09-16 10:55:16 这样的时间")
        }
        B::BadKind { file, line, column, text } => {
            format!("{file} 第 {line} 行“{column}”列：“{text}”既不是交易也不是退款")
        }
        B::EmptyValue { file, line, column } => format!("{file} 第 {line} 行“{column}”列是空的，但每行都需要它"),
        B::MissingColumn { file, line, column } | B::SummaryColumn { file, line, column } => {
            format!("{file} 第 {line} 行：表头没有“{column}”列；这是支付宝业务明细文件吗？")
        }
        B::ColumnCount { file, line, expected, found } => {
            format!("{file} 第 {line} 行有 {found} 列，但表头有 {expected} 列")
        }
        B::UnclosedQuote { file, line } => format!("{file} 第 {line} 行：引号没有闭合"),
        B::LineTooLong { file, line, limit } => format!("{file} 第 {line} 行超过 {limit} 字节：这不是账单文件"),
        B::BadFooter { file, line, .. } => format!("{file} 第 {line} 行不是“#交易合计：…”这样的合计行"),
        B::BadPeriod { file, line, .. } => format!("{file} 第 {line} 行没有“[2019年09月16日 00:00:00]”这样的日期"),
        B::NoHeader { file } => format!("{file}：文件没有表头行；是空文件或没有下载完整吗？"),
        B::Utf16 { file } => format!(
            "{file}：文件是 UTF-16 编码（电子表格另存为“Unicode 文本”时会这样），支付宝账单是 GBK：请使用原始文件或重新下载"
        ),
        B::NotGbk { file, line } => format!("{file} 第 {line} 行：文字不是有效的 GBK（支付宝账单是 GBK 编码）"),
        B::BadCount { file, line, column, text } => format!("{file} 第 {line} 行“{column}”列：“{text}”不是整数"),
        B::NoSummaryTotal { file } => format!("{file}：文件没有合计行（或不止一行），可能没有下载完整：请重新下载"),
        B::SummaryTooLarge { file, limit } => format!("{file}：文件超过 {limit} 字节；这不是支付宝业务明细(汇总)文件"),
        other => {
            tracing::warn!(error = %other, "bill");
            "支付宝账单无法读取（文件损坏或不是账单；详情见日志）".to_owned()
        }
    }
}

/// A reconciliation error in both languages, to keep in screen state.
pub fn recon_error(e: &ReconError) -> Text {
    e.text()
}

/// Why the merchant backend's reconciliation cannot be shown (a till enrolled with a backend).
pub fn remote_error(e: &crate::recon::backend::RemoteError) -> Text {
    use crate::recon::backend::RemoteError as E;
    match e {
        E::Unreachable(_) => {
            tracing::warn!(error = %e, "the merchant backend's reconciliation");
            Text::new(
                "无法连接商户后台，暂时看不到对账报告：请检查网络后点“刷新”",
                "The merchant backend cannot be reached, so its reports cannot be shown: check the network and press Refresh",
            )
        }
        E::SignInRequired => Text::new(
            "请先登录（店主或后台人员）：商户后台的对账报告需要登录后查看",
            "Sign in first (owner or back office): the merchant backend shows its reports to a signed-in operator",
        ),
        E::NotAllowed { .. } => Text::new(
            "收银员不能查看对账：请由店主或后台人员登录",
            "A cashier may not see reconciliation: an owner or back office must sign in",
        ),
        E::NotYourStore => Text::new(
            "这不是本店的对账：后台人员只能查看本收银台门店",
            "That is another store's: back office sees this till's store only",
        ),
        E::NotOnThisEngine => Text::new(
            "商户后台版本较旧：其 PostgreSQL 数据库尚不支持账单和对账，请升级商户后台",
            "The merchant backend is an older version that does not reconcile on PostgreSQL: update the backend",
        ),
        E::NotFound(what) => Text::new(
            "商户后台没有找到所查的门店、收单机构或对账记录：请检查门店代码",
            format!("The merchant backend has no {what}: check the store code"),
        ),
        E::Resolution(r) => refusal(r),
        E::VaultLocked => crate::ui::words_backend::unlock_first(),
        E::Link(l) => crate::ui::words_backend::link_error(l),
        E::Store(s) => crate::ui::words_backoffice::store_error(s),
        E::Refused(_) | E::Broken(_) => {
            tracing::warn!(error = %e, "the merchant backend's reconciliation");
            Text::new("商户后台拒绝了请求（详情见日志）", format!("{e}"))
        }
    }
}

/// A resolution or day closing the merchant backend refused, in both languages.
pub fn refusal(r: &crate::channel::backend::api::ReconRefusal) -> Text {
    use crate::channel::backend::api::ReconRefusal as R;
    let en = crate::recon::backend::refusal_words(r);
    let zh = match crate::recon::backend::as_refused(r) {
        Ok(refused) => crate::ui::reconcile_resolve::refused_zh(&refused),
        Err(R::DayClosed { bill_date, closed_by, closed_at }) => format!(
            "{bill_date} 已由 {closed_by} 于 {}（北京时间）结账：请先重新打开该日",
            crate::time::to_china_display(closed_at)
        ),
        Err(R::OtherStores { bill_date, stores }) => {
            format!("{bill_date} 的账单还包含其他门店（{}）的款项：该日由店主结账或重新打开", stores.join("、"))
        }
        Err(_) => "商户后台拒绝了请求（详情见日志）".to_owned(),
    };
    Text::new(zh, en)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_english(s: &str) -> bool {
        s.split(|c: char| !c.is_ascii_alphanumeric() && c != '.' && c != '_' && c != '-')
            .filter(|t| !t.chars().any(|c| c.is_ascii_digit()))
            .flat_map(|t| t.split(|c: char| !c.is_ascii_alphabetic()).map(str::to_owned).collect::<Vec<_>>())
            .any(|w| w.len() >= 2 && w.chars().any(|c| c.is_ascii_lowercase()))
    }

    #[test]
    fn the_backends_refusals_are_phrased_in_both_languages() {
        use crate::channel::backend::api::ReconRefusal as R;
        let all = [
            R::NotLatestRun { id: 3, run: 1, latest: 2 },
            R::AlreadyResolved { id: 3, resolution: "written_off".into() },
            R::NotResolved { id: 3 },
            R::NoteRequired,
            R::BillRowNotFound { what: "line 9".into(), bill_date: "2026-12-05".into() },
            R::BillRowAmbiguous { line: 9, bill_date: "2026-12-05".into() },
            R::BillRowMatched { line: 9, trade_no: "2026120522001".into() },
            R::NotLocalOnly { id: 3, line: 9 },
            R::BillRowResolved { line: 9, trade_no: "2026120522001".into(), resolution: "adjusted".into() },
            R::BadOutRequestNo { out_request_no: "R 1".into() },
            R::RefundOfAnotherOrder { out_request_no: "R1".into(), belongs_to: "T1".into(), expected: "T2".into() },
            R::CannotAdopt { id: 3 },
            R::NoRun { bill_date: "2026-12-05".into() },
            R::OpenDifferences { bill_date: "2026-12-05".into(), count: 2, run: 7 },
            R::StaleRun { bill_date: "2026-12-05".into(), run: 7 },
            R::NotClosed { bill_date: "2026-12-05".into() },
            R::DayClosed {
                bill_date: "2026-12-05".into(),
                closed_by: "老板".into(),
                closed_at: "2026-12-06T02:00:00Z".into(),
            },
            R::OtherStores { bill_date: "2026-12-05".into(), stores: vec!["S002".into()] },
        ];
        for r in &all {
            let text = refusal(r);
            let zh = text.get(Lang::ZhCn);
            assert!(!has_english(zh), "{r:?}: {zh}");
            assert!(!zh.contains("详情见日志"), "{r:?} has its own words: {zh}");
            assert!(!text.get(Lang::En).is_empty() && !text.get(Lang::En).contains("{"), "{r:?}");
        }
    }

    #[test]
    fn recon_errors_are_phrased_in_both_languages() {
        let no_bill = ReconError::NoBillAtAcquirer { acquirer: "WeChat Pay", date: "2026-11-24".into() };
        assert_eq!(no_bill.phrase(Lang::ZhCn), "微信支付没有 2026-11-24 的账单（当天没有交易）");
        assert_eq!(no_bill.phrase(Lang::En), "WeChat Pay has no bill for 2026-11-24 (no trades that day)");
        let missing = ReconError::NoBill { acquirer: "WeChat Pay", date: "2026-11-24".into() };
        assert_eq!(missing.phrase(Lang::ZhCn), "数据库里还没有 2026-11-24 的微信支付账单：请先下载或导入");
        let wrong = ReconError::WrongAcquirer {
            file: "bill_20261124.zip".into(),
            found: "an Alipay bill",
            expected: "a WeChat Pay bill",
        };
        assert_eq!(wrong.phrase(Lang::ZhCn), "bill_20261124.zip 是支付宝账单，但导入时选的是微信支付");
        let closed = ReconError::DayClosed {
            acquirer: "Alipay",
            date: "2026-11-24".into(),
            closed_by: "王芳".into(),
            closed_at: "2026-11-25 10:00:00".into(),
        };
        assert!(closed.phrase(Lang::ZhCn).starts_with("2026-11-24 的支付宝对账已由 王芳"));
        for e in [
            no_bill,
            missing,
            wrong,
            closed,
            ReconError::Cancelled,
            ReconError::NoRows { file: "bill_20261124.csv".into() },
            ReconError::Truncated { file: "bill_20261124.csv".into(), expected: "总交易单数" },
            ReconError::WrongBillType { file: "bill_20261124.csv".into(), found: "SUCCESS", expected: "REFUND" },
        ] {
            let zh = e.phrase(Lang::ZhCn);
            assert!(!has_english(&zh), "{zh}");
            assert_eq!(e.phrase(Lang::En), e.to_string());
        }
    }

    #[test]
    fn fees_show_in_fen_with_the_exact_value_kept() {
        assert_eq!(fee_text(Amount::from_fen(41)), "0.41");
        assert_eq!(fee_text_of("0.41004"), "0.41");
        assert_eq!(fee_text_of("0.40500"), "0.41");
        assert_eq!(fee_text_of("-0.04000"), "-0.04");
        assert_eq!(fee_text_of("12"), "12.00");
        assert_eq!(fee_text_of("n/a"), "n/a");
    }
}
