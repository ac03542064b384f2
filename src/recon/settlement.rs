//! Settlement: did the day's trade net arrive in the Alipay balance?
//!
//! Alipay's account bill (账务明细, `bill_type=signcustomer`) lists every balance movement. Each trade and refund of
//! the day's trade bill (业务明细) should have its balance row (业务流水号 = 支付宝交易号, 商户订单号 = out_trade_no), each
//! fee its 收费 row, and Σ收入 − Σ支出 of those rows should be the trade bill's net: Σ商家实收 + Σ服务费 with Alipay's
//! signs (a fee charged is negative, a fee given back on a refund positive). [`check`] reports the rows missing from
//! the account bill, the rows there that no trade of the day explains, and the rows that differ; withdrawals and
//! transfers (提现, 转账, 充值) are balance movements but not sales and are only counted.

use std::path::Path;

use serde::Serialize;
use time::{Date, PrimitiveDateTime, UtcOffset};

use super::{ReconError, date_text};
use crate::channel::alipay::account_bill::{self, AccountBill, AccountBillError};
use crate::i18n::Lang;
use crate::model::{AcquirerId, AcquirerKind};
use crate::money::Amount;
use crate::store::Store;
use crate::store::archive::ArchiveSource;
use crate::store::settlement::{AccountBillRow, NewAccountBill, StoredAccountBill};

/// The archive's format names of account bills.
pub const FORMAT_ZIP: &str = "alipay_account_zip";
pub const FORMAT_CSV: &str = "alipay_account_csv";

#[derive(Debug, thiserror::Error)]
pub enum SettlementError {
    #[error(transparent)]
    Read(#[from] AccountBillError),
    #[error("{file}: cannot tell which day the account bill is for; give the date (--date YYYY-MM-DD)")]
    NoDate { file: String },
    #[error(
        "there is no Alipay account bill (账务明细) for {date}: fetch it (bills fetch --type signcustomer) or import it"
    )]
    NoAccountBill { date: String },
    #[error("the settlement check is for Alipay accounts; acquirer #{0} is not one")]
    NotAlipay(AcquirerId),
}

/// Whether an archived format is an account bill.
pub fn is_account_format(format: &str) -> bool {
    format == FORMAT_ZIP || format == FORMAT_CSV
}

/// Whether the file at `path` is an Alipay account bill (zip with a 账务明细 entry, or its CSV), by content.
pub fn is_account_file(path: &Path) -> bool {
    use std::io::Read as _;
    let Ok(mut file) = std::fs::File::open(path) else { return false };
    let mut head = [0u8; 4];
    if file.read_exact(&mut head).is_err() {
        return false;
    }
    if head.starts_with(b"PK") {
        // Entry names are at the end of a zip: read it whole (account bills are small next to trade bills).
        return std::fs::read(path).is_ok_and(|bytes| account_bill::looks_like_account_bill(&bytes));
    }
    let mut rest = Vec::with_capacity(4096);
    let _ = file.take(4092).read_to_end(&mut rest);
    let mut bytes = head.to_vec();
    bytes.extend(rest);
    account_bill::looks_like_account_bill(&bytes)
}

/// How an account bill import ended.
#[derive(Debug, Clone, Serialize)]
pub struct AccountImport {
    pub file: String,
    pub already_imported: bool,
    pub bill: StoredAccountBill,
}

impl AccountImport {
    pub fn message(&self, lang: Lang) -> String {
        let b = &self.bill;
        if self.already_imported {
            lang.pick(
                &format!(
                    "{} 已导入过（{} 的支付宝账务明细，{} 行）：没有任何改动。",
                    self.file, b.bill_date, b.row_count
                ),
                &format!(
                    "{} was already imported (Alipay account bill of {}, {} rows): nothing changed.",
                    self.file, b.bill_date, b.row_count
                ),
            )
            .to_owned()
        } else {
            lang.pick(
                &format!("已导入 {} 行：{} 的支付宝账务明细（{}）。", b.row_count, b.bill_date, self.file),
                &format!("Imported {} rows: Alipay account bill of {} ({}).", b.row_count, b.bill_date, self.file),
            )
            .to_owned()
        }
    }
}

fn china() -> UtcOffset {
    crate::time::CHINA
}

fn utc(t: PrimitiveDateTime) -> String {
    crate::time::format_utc(t.assume_offset(china()))
}

/// Imports an account bill file (zip or CSV; `name` in messages) as the account's bill of its day, all or nothing:
/// a file whose rows do not add up to its own totals is refused. When `keep` says where the file came from, it is
/// archived once imported.
pub fn import_account_file(
    store: &mut Store,
    path: &Path,
    name: &str,
    acquirer: Option<AcquirerId>,
    date: Option<Date>,
    keep: Option<ArchiveSource>,
) -> Result<AccountImport, ReconError> {
    let bytes = std::fs::read(path).map_err(|source| ReconError::Io { file: name.to_owned(), source })?;
    let zip = bytes.starts_with(b"PK");
    let bill =
        if zip { account_bill::read_account_zip(&bytes, name) } else { account_bill::read_account_csv(&bytes, name) }
            .map_err(SettlementError::from)?;
    let mismatches = bill.mismatches();
    if !mismatches.is_empty() {
        return Err(SettlementError::Read(AccountBillError::Totals {
            file: name.to_owned(),
            details: mismatches.join("; "),
        })
        .into());
    }
    let day =
        date.or(bill.start).or_else(|| majority_day(&bill)).ok_or(SettlementError::NoDate { file: name.to_owned() })?;
    let acquirer_id = match acquirer {
        Some(id) => id,
        None => store.setup_mut().acquirer_for(AcquirerKind::Alipay)?,
    };
    let hash = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    let rows: Vec<AccountBillRow> = bill
        .rows
        .iter()
        .map(|r| AccountBillRow {
            line_no: r.line as i64,
            entry_no: r.entry_no.clone(),
            biz_no: r.biz_no.clone(),
            out_trade_no: r.out_trade_no.clone(),
            subject: r.subject.clone(),
            occurred_at: utc(r.occurred_at),
            income: r.income.fen(),
            expense: r.expense.fen(),
            balance: r.balance.map(Amount::fen),
            biz_type: r.biz_type.clone(),
            remark: r.remark.clone(),
        })
        .collect();
    let day_text = date_text(day);
    let (stored, already) = store.recon_mut().import_account_bill(
        &NewAccountBill {
            acquirer_id,
            bill_date: &day_text,
            account: &bill.account,
            source_name: name,
            content_hash: &hash,
            income_count: bill.stated.income_count as i64,
            income: bill.stated.income.fen(),
            expense_count: bill.stated.expense_count as i64,
            expense: bill.stated.expense.fen(),
        },
        &rows,
    )?;
    if let Some(source) = keep {
        super::archive::keep_file(
            store,
            path,
            &super::archive::ArchiveEntry {
                acquirer_id,
                bill_date: &day_text,
                format: if zip { FORMAT_ZIP } else { FORMAT_CSV },
                bill_type: "signcustomer",
                source,
            },
        )?;
    }
    tracing::info!(file = name, rows = stored.row_count, already, "account bill import");
    Ok(AccountImport { file: name.to_owned(), already_imported: already, bill: stored })
}

fn majority_day(bill: &AccountBill) -> Option<Date> {
    let mut votes: Vec<(Date, usize)> = Vec::new();
    for r in &bill.rows {
        let d = r.occurred_at.date();
        match votes.iter_mut().find(|(day, _)| *day == d) {
            Some((_, n)) => *n += 1,
            None => votes.push((d, 1)),
        }
    }
    votes.into_iter().max_by_key(|(d, n)| (*n, std::cmp::Reverse(*d))).map(|(d, _)| d)
}

/// What a balance movement is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Movement {
    Payment,
    Refund,
    Fee,
}

impl Movement {
    pub fn as_str(self) -> &'static str {
        match self {
            Movement::Payment => "payment",
            Movement::Refund => "refund",
            Movement::Fee => "fee",
        }
    }

    pub fn name(self, lang: Lang) -> &'static str {
        match self {
            Movement::Payment => lang.pick("收款", "payment"),
            Movement::Refund => lang.pick("退款", "refund"),
            Movement::Fee => lang.pick("服务费", "fee"),
        }
    }
}

/// What is wrong with one balance row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Issue {
    /// The trade bill has it; the account bill has no balance row for it.
    Missing,
    /// The account bill has a balance row no trade of the day's trade bill explains.
    Extra,
    /// Both have it, with a different amount or out_trade_no.
    Different,
}

impl Issue {
    pub fn as_str(self) -> &'static str {
        match self {
            Issue::Missing => "missing",
            Issue::Extra => "extra",
            Issue::Different => "different",
        }
    }

    pub fn name(self, lang: Lang) -> &'static str {
        match self {
            Issue::Missing => lang.pick("账务明细缺少", "missing from the account bill"),
            Issue::Extra => lang.pick("账务明细多出", "only in the account bill"),
            Issue::Different => lang.pick("金额或订单号不同", "different"),
        }
    }
}

/// One row that does not agree. Amounts are signed balance movements (+ 收入, − 支出).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettlementItem {
    pub issue: Issue,
    pub movement: Movement,
    pub trade_no: String,
    pub out_trade_no: String,
    /// What the trade bill says should have moved.
    pub expected: Option<Amount>,
    /// What the account bill moved.
    pub found: Option<Amount>,
    /// The out_trade_no (商户订单号) of the balance row when it differs from the trade bill's.
    pub found_out_trade_no: Option<String>,
    pub trade_bill_line: Option<i64>,
    pub account_bill_line: Option<i64>,
}

/// The settlement check of an account's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettlementCheck {
    pub acquirer_id: AcquirerId,
    pub bill_date: String,
    pub account_bill: String,
    /// Trades and refunds of the trade bill.
    pub trade_rows: i64,
    /// The trade bill's net: Σ商家实收 + Σ服务费 (Alipay's signs).
    pub trade_net: Amount,
    /// Σ收入 − Σ支出 of the balance rows of the day's trades (matched or different).
    pub arrived: Amount,
    /// Balance rows that agree with the trade bill.
    pub matched: i64,
    /// Withdrawals, transfers and top-ups (not sales): count and Σ收入 − Σ支出.
    pub other_count: i64,
    pub other_amount: Amount,
    pub items: Vec<SettlementItem>,
}

impl SettlementCheck {
    /// True when every trade's money arrived as the trade bill says.
    pub fn ok(&self) -> bool {
        self.items.is_empty() && self.arrived == self.trade_net
    }

    /// The check as text (the command line's output; both languages).
    pub fn to_text(&self, lang: Lang) -> String {
        let mut out = String::new();
        out.push_str(&match lang {
            Lang::ZhCn => format!("{} 结算核对（支付宝账务明细 {}）\n", self.bill_date, self.account_bill),
            _ => format!("Settlement of {} (Alipay account bill {})\n", self.bill_date, self.account_bill),
        });
        out.push_str(&match lang {
            Lang::ZhCn => format!(
                "  业务明细净额 {}（{} 行），到账 {}，相符 {} 行，其他资金变动 {} 笔共 {}\n",
                self.trade_net, self.trade_rows, self.arrived, self.matched, self.other_count, self.other_amount
            ),
            _ => format!(
                "  trade bill net {} ({} rows), arrived {}, matching balance rows {}, other movements {} totalling {}\n",
                self.trade_net, self.trade_rows, self.arrived, self.matched, self.other_count, self.other_amount
            ),
        });
        out.push_str(if self.ok() {
            lang.pick("  结果：当日净额已全部到账。\n", "  result: the day's net arrived in full.\n")
        } else {
            lang.pick("  结果：有差异，见下。\n", "  result: differences, listed below.\n")
        });
        let amount = |a: Option<Amount>| a.map(|a| a.to_string()).unwrap_or_else(|| "-".into());
        for i in &self.items {
            out.push_str(&format!(
                "  {} {} trade_no={} out_trade_no={} {}={} {}={}",
                i.issue.as_str(),
                i.movement.as_str(),
                i.trade_no,
                i.out_trade_no,
                lang.pick("应到", "expected"),
                amount(i.expected),
                lang.pick("实到", "found"),
                amount(i.found),
            ));
            if let Some(other) = &i.found_out_trade_no {
                out.push_str(&format!(" {}={other}", lang.pick("账务明细订单号", "account_bill_out_trade_no")));
            }
            if let Some(line) = i.trade_bill_line {
                out.push_str(&format!(" {} {line}", lang.pick("业务明细行", "trade_bill_line")));
            }
            if let Some(line) = i.account_bill_line {
                out.push_str(&format!(" {} {line}", lang.pick("账务明细行", "account_bill_line")));
            }
            out.push('\n');
        }
        out
    }
}

/// Business types that move the balance without being sales.
const NOT_SALES: [&str; 3] = ["提现", "转账", "充值"];

struct Expected {
    movement: Movement,
    trade_no: String,
    out_trade_no: String,
    amount: i64,
    line: i64,
}

/// Checks an Alipay account's day: the imported account bill against the imported trade bill.
pub fn check(store: &Store, acquirer_id: AcquirerId, date: Date) -> Result<SettlementCheck, ReconError> {
    let day = date_text(date);
    let kind = store.setup().acquirers()?.into_iter().find(|a| a.id == acquirer_id).map(|a| a.kind);
    match kind {
        None => return Err(ReconError::UnknownAccount(acquirer_id)),
        Some(k) if k != AcquirerKind::Alipay => return Err(SettlementError::NotAlipay(acquirer_id).into()),
        Some(_) => {}
    }
    if store.recon().bills_of_day(acquirer_id, &day)?.is_empty() {
        return Err(ReconError::NoBill { acquirer: "Alipay", date: day });
    }
    let account_bill = store
        .recon()
        .account_bill_of_day(acquirer_id, &day)?
        .ok_or(SettlementError::NoAccountBill { date: day.clone() })?;
    let rows = store.recon().account_bill_rows(account_bill.id)?;
    let entries = store.recon().trade_bill_entries(acquirer_id, &day)?;

    let mut expected = Vec::new();
    let mut trade_net = 0i64;
    let mut trade_rows = 0i64;
    for e in &entries {
        let movement = match e.kind.as_str() {
            "payment" => Movement::Payment,
            "refund" => Movement::Refund,
            _ => continue,
        };
        trade_rows += 1;
        let fee = crate::store::recon::round_milli(e.fee_milli);
        trade_net = trade_net.saturating_add(e.settled).saturating_add(fee);
        let base = |movement, amount| Expected {
            movement,
            trade_no: e.trade_no.clone(),
            out_trade_no: e.out_trade_no.clone(),
            amount,
            line: e.line_no,
        };
        expected.push(base(movement, e.settled));
        if fee != 0 {
            expected.push(base(Movement::Fee, fee));
        }
    }

    // The account bill's rows: what each is for (None: not a sale).
    let movement_of = |r: &AccountBillRow| -> Option<Movement> {
        if NOT_SALES.contains(&r.biz_type.as_str()) || r.biz_no.is_empty() {
            None
        } else if r.biz_type == "收费" {
            Some(Movement::Fee)
        } else if r.expense == 0 {
            Some(Movement::Payment)
        } else {
            Some(Movement::Refund)
        }
    };
    let net = |r: &AccountBillRow| r.income.saturating_sub(r.expense);
    let mut used = vec![false; rows.len()];
    let mut other_count = 0i64;
    let mut other_amount = 0i64;
    for r in &rows {
        if movement_of(r).is_none() {
            other_count += 1;
            other_amount = other_amount.saturating_add(net(r));
        }
    }
    let mut items = Vec::new();
    let mut matched = 0i64;
    let mut arrived = 0i64;
    let mut unmatched: Vec<&Expected> = Vec::new();
    // Exact matches first (same trade, same movement, same amount), then rows of the same trade and movement that
    // differ.
    for e in &expected {
        let hit = rows.iter().enumerate().position(|(i, r)| {
            !used[i] && movement_of(r) == Some(e.movement) && r.biz_no == e.trade_no && net(r) == e.amount
        });
        match hit {
            Some(i) => {
                used[i] = true;
                arrived = arrived.saturating_add(net(&rows[i]));
                let r = &rows[i];
                if !r.out_trade_no.is_empty() && !e.out_trade_no.is_empty() && r.out_trade_no != e.out_trade_no {
                    items.push(SettlementItem {
                        issue: Issue::Different,
                        movement: e.movement,
                        trade_no: e.trade_no.clone(),
                        out_trade_no: e.out_trade_no.clone(),
                        expected: Some(Amount::from_fen(e.amount)),
                        found: Some(Amount::from_fen(net(r))),
                        found_out_trade_no: Some(r.out_trade_no.clone()),
                        trade_bill_line: Some(e.line),
                        account_bill_line: Some(r.line_no),
                    });
                } else {
                    matched += 1;
                }
            }
            None => unmatched.push(e),
        }
    }
    for e in unmatched {
        let near = rows
            .iter()
            .enumerate()
            .position(|(i, r)| !used[i] && movement_of(r) == Some(e.movement) && r.biz_no == e.trade_no);
        let item = match near {
            Some(i) => {
                used[i] = true;
                let r = &rows[i];
                arrived = arrived.saturating_add(net(r));
                SettlementItem {
                    issue: Issue::Different,
                    movement: e.movement,
                    trade_no: e.trade_no.clone(),
                    out_trade_no: e.out_trade_no.clone(),
                    expected: Some(Amount::from_fen(e.amount)),
                    found: Some(Amount::from_fen(net(r))),
                    found_out_trade_no: (r.out_trade_no != e.out_trade_no && !r.out_trade_no.is_empty())
                        .then(|| r.out_trade_no.clone()),
                    trade_bill_line: Some(e.line),
                    account_bill_line: Some(r.line_no),
                }
            }
            None => SettlementItem {
                issue: Issue::Missing,
                movement: e.movement,
                trade_no: e.trade_no.clone(),
                out_trade_no: e.out_trade_no.clone(),
                expected: Some(Amount::from_fen(e.amount)),
                found: None,
                found_out_trade_no: None,
                trade_bill_line: Some(e.line),
                account_bill_line: None,
            },
        };
        items.push(item);
    }
    for (i, r) in rows.iter().enumerate() {
        let Some(movement) = movement_of(r) else { continue };
        if used[i] {
            continue;
        }
        items.push(SettlementItem {
            issue: Issue::Extra,
            movement,
            trade_no: r.biz_no.clone(),
            out_trade_no: r.out_trade_no.clone(),
            expected: None,
            found: Some(Amount::from_fen(net(r))),
            found_out_trade_no: None,
            trade_bill_line: None,
            account_bill_line: Some(r.line_no),
        });
    }
    items.sort_by_key(|i| (i.trade_bill_line.unwrap_or(i64::MAX), i.account_bill_line.unwrap_or(i64::MAX)));
    Ok(SettlementCheck {
        acquirer_id,
        bill_date: day,
        account_bill: account_bill.source_name.rsplit(['/', '\\']).next().unwrap_or("").to_owned(),
        trade_rows,
        trade_net: Amount::from_fen(trade_net),
        arrived: Amount::from_fen(arrived),
        matched,
        other_count,
        other_amount: Amount::from_fen(other_amount),
        items,
    })
}

/// Where a downloaded account bill is kept besides the archive: `<data>/bills/alipay/signcustomer/<file name>` (the
/// trade bill of the day has the same name).
pub fn saved_path(data_dir: &Path, date: Date, file_name: &str) -> std::path::PathBuf {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let base = if base.is_empty() || base == "." || base == ".." {
        format!("alipay-{}-signcustomer.csv.zip", date_text(date))
    } else {
        base.to_owned()
    };
    data_dir.join("bills").join("alipay").join("signcustomer").join(base)
}

/// Asks the acquirer for the account bill of `date` (China time).
pub async fn fetch_account(
    channel: &dyn crate::channel::Channel,
    date: Date,
) -> Result<super::fetch::FetchedBill, ReconError> {
    use crate::channel::BillResult;
    let acquirer = super::acquirer_name(channel.kind());
    match channel.account_bill(date).await {
        BillResult::Bill { file_name, bytes } => Ok(super::fetch::FetchedBill { file_name, bytes }),
        BillResult::NoBill => Err(ReconError::NoBillAtAcquirer { acquirer, date: date_text(date) }),
        BillResult::Failed(message) => Err(ReconError::Fetch { acquirer, date: date_text(date), message }),
    }
}

/// Keeps a downloaded account bill in the data folder, imports it as that account's bill of that day, and archives
/// it (source: fetched).
pub fn save_and_import_account(
    store: &mut Store,
    data_dir: &Path,
    account: AcquirerId,
    date: Date,
    bill: &super::fetch::FetchedBill,
) -> Result<AccountImport, ReconError> {
    let path = saved_path(data_dir, date, &bill.file_name);
    let io = |source| ReconError::Io { file: path.display().to_string(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("part");
    {
        use std::io::Write as _;
        let mut file = crate::private_files::create_private_file(&tmp).map_err(io)?;
        file.write_all(&bill.bytes).map_err(io)?;
    }
    std::fs::rename(&tmp, &path).map_err(io)?;
    let name = path.display().to_string();
    import_account_file(store, &path, &name, Some(account), Some(date), Some(ArchiveSource::Fetched))
}
