//! How a bill import ended ([`ImportOutcome`]) and the one line that tells the user, in either language.

use serde::Serialize;

use super::import::BillFormat;
use crate::i18n::Lang;
use crate::model::AcquirerKind;
use crate::store::recon::{BillType, ImportResult, StoredBill};

/// How an import ended, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportResultKind {
    /// The bill is in (see `replaced`, `superseded`, `alongside` for what became of the day's other bills).
    Imported,
    /// The same bill was imported before: nothing changed.
    AlreadyImported,
    /// A SUCCESS or REFUND bill of a day whose complete (ALL) bill is in: nothing changed.
    AlreadyCovered,
}

/// Something the user should know about an import that went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportWarning {
    /// An Alipay bill without its 业务明细(汇总) file: only the detail's footer totals were checked.
    NoSummaryEntry,
    /// A SUCCESS bill whose day has no REFUND bill yet: the day's refunds are not in the bill set.
    RefundBillMissing,
    /// A REFUND bill whose day has no SUCCESS bill yet: the day's payments are not in the bill set.
    SuccessBillMissing,
}

/// How an import ended.
#[derive(Debug, Clone, Serialize)]
pub struct ImportOutcome {
    /// The name used in messages.
    pub file: String,
    pub format: BillFormat,
    pub acquirer: AcquirerKind,
    /// What the file lists (WeChat Pay ALL / SUCCESS / REFUND, Alipay trade).
    pub bill_type: BillType,
    pub result: ImportResultKind,
    /// True when the same rows were imported before: nothing changed.
    pub already_imported: bool,
    /// The rows the file holds.
    pub file_rows: i64,
    /// The bill that now stands for the file: the new one, the same one imported before, or the day's complete
    /// bill that already covers it.
    pub bill: StoredBill,
    /// An earlier bill of the same day and type that this one replaced (a re-download).
    pub replaced: Option<StoredBill>,
    /// The day's SUCCESS and REFUND bills that this complete bill took the place of.
    pub superseded: Vec<StoredBill>,
    /// The day's other bills this one stands beside (SUCCESS and REFUND together make the day).
    pub alongside: Vec<StoredBill>,
    pub warnings: Vec<ImportWarning>,
}

/// The acquirer's name in the window's language.
fn acquirer_label(kind: AcquirerKind, lang: Lang) -> &'static str {
    match kind {
        AcquirerKind::Alipay => lang.pick("支付宝", "Alipay"),
        AcquirerKind::WechatPay => lang.pick("微信支付", "WeChat Pay"),
        AcquirerKind::AlipayPlus => "Alipay+",
    }
}

/// "微信支付退款订单账单" / "WeChat Pay REFUND bill".
fn bill_words(kind: AcquirerKind, bill_type: BillType, lang: Lang) -> String {
    let acquirer = acquirer_label(kind, lang);
    match lang {
        Lang::ZhCn => {
            let t = match bill_type {
                BillType::All => "全部订单",
                BillType::Success => "成功订单",
                BillType::Refund => "退款订单",
                BillType::Trade => "业务",
            };
            format!("{acquirer}{t}账单")
        }
        _ => format!("{acquirer} {} bill", bill_type.as_str()),
    }
}

impl ImportOutcome {
    pub(super) fn from_result(
        file: &str,
        format: BillFormat,
        bill_type: BillType,
        warnings: Vec<ImportWarning>,
        result: ImportResult,
    ) -> Self {
        let outcome = |result, bill: StoredBill, file_rows| ImportOutcome {
            file: file.to_owned(),
            format,
            acquirer: format.acquirer(),
            bill_type,
            result,
            already_imported: result == ImportResultKind::AlreadyImported,
            file_rows,
            bill,
            replaced: None,
            superseded: Vec::new(),
            alongside: Vec::new(),
            warnings: warnings.clone(),
        };
        match result {
            ImportResult::Imported { bill, replaced, superseded, alongside } => {
                let rows = bill.row_count;
                let mut done = outcome(ImportResultKind::Imported, bill, rows);
                // Half a day: until the other half is in, its payments or refunds would show as differences.
                let other = match bill_type {
                    BillType::Success => Some((BillType::Refund, ImportWarning::RefundBillMissing)),
                    BillType::Refund => Some((BillType::Success, ImportWarning::SuccessBillMissing)),
                    BillType::All | BillType::Trade => None,
                };
                if let Some((other, warning)) = other
                    && !alongside.iter().any(|b| b.bill_type == other)
                {
                    done.warnings.push(warning);
                }
                ImportOutcome { replaced, superseded, alongside, ..done }
            }
            ImportResult::AlreadyImported { bill } => {
                let rows = bill.row_count;
                outcome(ImportResultKind::AlreadyImported, bill, rows)
            }
            ImportResult::AlreadyCovered { by, rows } => {
                outcome(ImportResultKind::AlreadyCovered, by, i64::try_from(rows).unwrap_or(i64::MAX))
            }
        }
    }

    /// One line for the user, in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        let words = |b: &StoredBill| bill_words(self.acquirer, b.bill_type, lang);
        let this = bill_words(self.acquirer, self.bill_type, lang);
        let at = crate::time::to_china_display(&self.bill.imported_at);
        let (file, date, rows) = (&self.file, &self.bill.bill_date, self.file_rows);
        let mut text = match self.result {
            ImportResultKind::AlreadyImported => match lang {
                Lang::ZhCn => format!("{file} 已于 {at} 导入过（{date} 的{this}，{rows} 行）：没有任何改动。"),
                _ => format!("{file} was already imported on {at} ({this} of {date}, {rows} rows): nothing changed."),
            },
            ImportResultKind::AlreadyCovered => {
                let (by, src) = (words(&self.bill), &self.bill.source_name);
                match lang {
                    Lang::ZhCn => format!(
                        "{file}（{rows} 行）是 {date} 的{this}，而当日已于 {at} 导入的{by}（{src}）已包含这些交易：没有任何改动。"
                    ),
                    _ => format!(
                        "{file} ({rows} rows) is the {this} of {date}, which the {by} imported on {at} ({src}) already \
                         covers: nothing changed."
                    ),
                }
            }
            ImportResultKind::Imported => match lang {
                Lang::ZhCn => format!("已导入 {rows} 行：{date} 的{this}（{file}）。"),
                _ => format!("Imported {rows} rows: {this} of {date} ({file})."),
            },
        };
        if let Some(old) = &self.replaced {
            let (src, n) = (&old.source_name, old.row_count);
            text.push(' ');
            text.push_str(&match lang {
                Lang::ZhCn => format!("它替换了之前导入的同一份账单 {src}（{n} 行，重新下载）。"),
                _ => format!("It replaces the same bill imported before ({src}, {n} rows: a re-download)."),
            });
        }
        if !self.superseded.is_empty() {
            let kinds: Vec<String> = self.superseded.iter().map(words).collect();
            let sources: Vec<&str> = self.superseded.iter().map(|b| b.source_name.as_str()).collect();
            text.push(' ');
            text.push_str(&match lang {
                Lang::ZhCn => format!(
                    "它包含并取代了当日之前导入的{}（{}），不会重复计算。",
                    kinds.join("和"),
                    sources.join("、")
                ),
                _ => format!(
                    "It covers and takes the place of the day's {} imported before ({}): nothing is counted twice.",
                    kinds.join(" and "),
                    sources.join(", ")
                ),
            });
        }
        for other in &self.alongside {
            let (kind, src, n) = (words(other), &other.source_name, other.row_count);
            text.push(' ');
            text.push_str(&match lang {
                Lang::ZhCn => format!("它与当日之前导入的{kind}（{src}，{n} 行）合起来构成当天的账单。"),
                _ => {
                    format!("Together with the day's {kind} imported before ({src}, {n} rows) it makes the day's bill.")
                }
            });
        }
        if self.result == ImportResultKind::Imported
            && let Some(mismatch) = &self.bill.totals_mismatch
        {
            text.push(' ');
            text.push_str(
                lang.pick("注意：账单合计与明细不符：", "Warning: the bill's totals do not match its rows: "),
            );
            text.push_str(mismatch);
        }
        for warning in &self.warnings {
            text.push(' ');
            text.push_str(match warning {
                ImportWarning::RefundBillMissing => lang.pick(
                    "当日的退款订单账单还未导入：请一并导入，否则当日退款会显示为差异。",
                    "The day's REFUND bill is not imported yet: import it too, or the day's refunds show as differences.",
                ),
                ImportWarning::SuccessBillMissing => lang.pick(
                    "当日的成功订单账单还未导入：请一并导入，否则当日收款会显示为差异。",
                    "The day's SUCCESS bill is not imported yet: import it too, or the day's payments show as \
                     differences.",
                ),
                ImportWarning::NoSummaryEntry => lang.pick(
                    "注意：导入的文件中没有业务明细(汇总)，合计只按明细末尾的合计行核对。",
                    "Note: the import had no 业务明细(汇总) file, so the totals were checked against the detail's \
                     footer only.",
                ),
            });
        }
        text
    }
}
