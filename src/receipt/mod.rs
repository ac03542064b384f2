//! Receipts (小票): a [`Receipt`] built from an order (or one of its refunds) and the store data, laid out for 58 mm
//! and 80 mm thermal paper ([`layout`]), and turned into ESC/POS bytes ([`escpos`]) or a PDF ([`pdf`]) by pure
//! functions; [`output`] sends the bytes to a raw TCP printer (port 9100), a CUPS queue or a file.
//!
//! Settings (`receipt.mode`, `receipt.printer`, `receipt.width` in the settings table): whether a receipt is printed
//! after each payment and refund (always / ask / never), where, and on which paper. Until a printer is configured the
//! mode is "never" whatever is stored.

pub mod escpos;
pub mod handover;
pub mod layout;
pub mod output;
pub mod pdf;

use crate::model::{AcquirerKind, Order};
use crate::money::Amount;
use crate::store::Store;

pub use layout::{Row, Width};
pub use output::Target;

/// Settings keys.
pub const SETTING_MODE: &str = "receipt.mode";
pub const SETTING_PRINTER: &str = "receipt.printer";
pub const SETTING_WIDTH: &str = "receipt.width";

/// What goes wrong making or printing a receipt.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("there is no order {out_trade_no}")]
    UnknownOrder { out_trade_no: String },
    #[error("order {out_trade_no} has no refund {out_request_no}")]
    UnknownRefund { out_trade_no: String, out_request_no: String },
    #[error("{given:?} is not a paper width: use 58 or 80")]
    BadWidth { given: String },
    #[error("{given:?} is not a receipt mode: use always, ask or never")]
    BadMode { given: String },
    #[error("{given:?} is not a printer: use tcp://HOST:PORT (a network printer, port 9100) or cups:QUEUE")]
    BadPrinter { given: String },
    #[error("no receipt printer is configured (tilldesk receipts settings --printer tcp://HOST:9100)")]
    NoPrinter,
    #[error("cannot reach the printer at {address}: {source}")]
    Unreachable { address: String, source: std::io::Error },
    #[error("the printer at {address} did not take the receipt: {source}")]
    Send { address: String, source: std::io::Error },
    #[error("cannot print to the CUPS queue {queue}: {detail}")]
    Cups { queue: String, detail: String },
    #[error("cannot write {path}: {source}")]
    Write { path: std::path::PathBuf, source: std::io::Error },
    #[error("cannot make the receipt PDF: {0}")]
    Pdf(Box<crate::print::PrintError>),
    #[error("cannot make the receipt's QR code: {0}")]
    Qr(#[from] crate::mpm::MpmError),
    #[error("cannot read the order: {0}")]
    Store(#[from] crate::store::StoreError),
}

impl From<crate::print::PrintError> for ReceiptError {
    fn from(e: crate::print::PrintError) -> Self {
        ReceiptError::Pdf(Box::new(e))
    }
}

/// The refund a refund receipt is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundPart {
    pub out_request_no: String,
    pub amount: Amount,
    /// Shown in the store's zone.
    pub at: String,
    pub status: String,
}

/// Everything a receipt shows, as display text (times already in the store's zone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub merchant: String,
    pub store: String,
    pub till: String,
    /// The cashier who took the payment (or the refund); "—" when nobody was signed in.
    pub cashier: String,
    pub wallet: String,
    pub total: Amount,
    pub refunded: Amount,
    /// When it was paid ("—" when not paid).
    pub paid_at: String,
    pub out_trade_no: String,
    /// The acquirer's transaction number ("—" until known).
    pub trade_no: String,
    pub refund: Option<RefundPart>,
    pub reprint: bool,
    /// When the receipt is printed.
    pub printed_at: String,
}

/// The dash shown for anything missing.
pub const NONE: &str = "—";

/// The wallet's words on a receipt for an order taken by an acquirer of `kind`.
pub fn wallet_words(kind: AcquirerKind, acquirer_name: &str) -> String {
    match kind {
        AcquirerKind::Alipay => "支付宝 Alipay".to_owned(),
        AcquirerKind::WechatPay => "微信支付 WeChat Pay".to_owned(),
        AcquirerKind::AlipayPlus if acquirer_name.trim().is_empty() => "Alipay+".to_owned(),
        AcquirerKind::AlipayPlus => format!("Alipay+ {}", acquirer_name.trim()),
    }
}

impl Receipt {
    /// The receipt of order `out_trade_no` (of its refund `refund`, when given) from the database, printed at
    /// `printed_at_utc` (RFC 3339).
    pub fn from_store(
        db: &Store,
        out_trade_no: &str,
        refund: Option<&str>,
        reprint: bool,
        printed_at_utc: &str,
    ) -> Result<Receipt, ReceiptError> {
        let order = db
            .orders()
            .order_by_out_trade_no(out_trade_no.trim())?
            .ok_or_else(|| ReceiptError::UnknownOrder { out_trade_no: out_trade_no.trim().to_owned() })?;
        let refund = match refund {
            None => None,
            Some(no) => {
                let r =
                    db.refunds().refunds_of(order.id)?.into_iter().find(|r| r.out_request_no == no.trim()).ok_or_else(
                        || ReceiptError::UnknownRefund {
                            out_trade_no: order.out_trade_no.clone(),
                            out_request_no: no.trim().to_owned(),
                        },
                    )?;
                Some(r)
            }
        };
        let store = db.setup().store(order.store_id)?;
        let merchant = match &store {
            Some(s) => db.setup().merchant_by_id(s.merchant_id)?,
            None => None,
        };
        let acquirer = db.setup().acquirers()?.into_iter().find(|a| a.id == order.acquirer_id);
        let cashier_id = refund.as_ref().and_then(|r| r.operator_id).or(order.operator_id);
        let cashier = match cashier_id {
            Some(id) => db.staff().operator(id)?.map(|o| o.name),
            None => None,
        };
        let first = |names: &[&str]| names.iter().map(|n| n.trim()).find(|n| !n.is_empty()).map(str::to_owned);
        Ok(Receipt {
            merchant: merchant
                .as_ref()
                .and_then(|m| first(&[&m.display_name_zh, &m.display_name, &m.legal_name]))
                .unwrap_or_else(|| NONE.to_owned()),
            store: store
                .as_ref()
                .and_then(|s| first(&[&s.name_zh, &s.name, &s.store_code]))
                .unwrap_or_else(|| NONE.to_owned()),
            till: order.terminal_id.clone().filter(|t| !t.trim().is_empty()).unwrap_or_else(|| NONE.to_owned()),
            cashier: cashier.filter(|c| !c.trim().is_empty()).unwrap_or_else(|| NONE.to_owned()),
            wallet: acquirer.map_or_else(|| NONE.to_owned(), |a| wallet_words(a.kind, &a.name)),
            refund: refund.map(|r| RefundPart {
                out_request_no: r.out_request_no,
                amount: r.refund_amount,
                at: crate::time::to_china_display(&r.created_at),
                status: r.status.label(crate::i18n::Lang::ZhCn).to_owned(),
            }),
            printed_at: crate::time::to_china_display(printed_at_utc),
            reprint,
            ..Receipt::of_order(&order)
        })
    }

    /// The order's own fields (names left as "—").
    fn of_order(order: &Order) -> Receipt {
        Receipt {
            merchant: NONE.to_owned(),
            store: NONE.to_owned(),
            till: NONE.to_owned(),
            cashier: NONE.to_owned(),
            wallet: NONE.to_owned(),
            total: order.total_amount,
            refunded: order.refunded_amount,
            paid_at: order.paid_at.as_deref().map_or_else(|| NONE.to_owned(), crate::time::to_china_display),
            out_trade_no: order.out_trade_no.clone(),
            trade_no: order.trade_no.clone().filter(|t| !t.is_empty()).unwrap_or_else(|| NONE.to_owned()),
            refund: None,
            reprint: false,
            printed_at: NONE.to_owned(),
        }
    }
}

/// When a receipt is printed after a payment or a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    Always,
    /// The cashier is asked (without taking the next scan's focus).
    Ask,
    #[default]
    Never,
}

impl Mode {
    pub fn parse(text: &str) -> Result<Mode, ReceiptError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "always" => Ok(Mode::Always),
            "ask" => Ok(Mode::Ask),
            "never" => Ok(Mode::Never),
            _ => Err(ReceiptError::BadMode { given: text.to_owned() }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Always => "always",
            Mode::Ask => "ask",
            Mode::Never => "never",
        }
    }
}

/// The receipt settings as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiptSettings {
    pub mode: Mode,
    pub printer: Option<Target>,
    pub width: Width,
}

impl ReceiptSettings {
    /// The stored settings; a value that no longer parses counts as unset.
    pub fn load(db: &Store) -> Result<ReceiptSettings, ReceiptError> {
        let get = |key| db.setting(key).map(|v| v.filter(|v| !v.trim().is_empty()));
        Ok(ReceiptSettings {
            mode: get(SETTING_MODE)?.and_then(|m| Mode::parse(&m).ok()).unwrap_or_default(),
            printer: get(SETTING_PRINTER)?.and_then(|p| Target::parse(&p).ok()),
            width: get(SETTING_WIDTH)?.and_then(|w| Width::parse(&w).ok()).unwrap_or_default(),
        })
    }

    /// Stores the settings (audited as settings changes are).
    pub fn save(&self, db: &mut Store, operator: Option<crate::model::OperatorId>) -> Result<(), ReceiptError> {
        db.set_setting(SETTING_MODE, self.mode.as_str(), operator)?;
        db.set_setting(SETTING_PRINTER, &self.printer.as_ref().map(Target::to_string).unwrap_or_default(), operator)?;
        db.set_setting(SETTING_WIDTH, self.width.as_str(), operator)?;
        Ok(())
    }

    /// The mode in effect: "never" while no printer is configured.
    pub fn effective_mode(&self) -> Mode {
        if self.printer.is_none() { Mode::Never } else { self.mode }
    }
}

/// What [`after_sale`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterSale {
    /// Mode never (or no printer): nothing printed.
    Skipped,
    /// Mode ask: the UI should offer a "print receipt" button (which calls [`print_receipt`]); nothing printed yet.
    Ask,
    /// Printed to this printer.
    Printed(String),
}

/// After a payment (or a refund, with `refund`) has succeeded: prints its receipt when the settings say always.
/// Blocking (database and network): call it off the UI thread, e.g. from the thread that delivered the result.
pub fn after_sale(db: &Store, out_trade_no: &str, refund: Option<&str>) -> Result<AfterSale, ReceiptError> {
    let settings = ReceiptSettings::load(db)?;
    match settings.effective_mode() {
        Mode::Never => Ok(AfterSale::Skipped),
        Mode::Ask => Ok(AfterSale::Ask),
        Mode::Always => {
            let receipt = Receipt::from_store(db, out_trade_no, refund, false, &crate::time::now_utc())?;
            let target = settings.printer.ok_or(ReceiptError::NoPrinter)?;
            output::send(&target, &escpos::encode(&receipt, settings.width), output::DEFAULT_TIMEOUT)?;
            Ok(AfterSale::Printed(target.to_string()))
        }
    }
}

/// Where a receipt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Printed {
    Printer(String),
    Pdf(std::path::PathBuf),
}

/// Prints the receipt of `out_trade_no` (a refund's, with `refund`) on the configured printer, or, with none
/// configured, saves it as a PDF at `pdf_fallback` (its folder made when missing). Blocking: off the UI thread.
pub fn print_receipt(
    db: &Store,
    out_trade_no: &str,
    refund: Option<&str>,
    reprint: bool,
    pdf_fallback: &std::path::Path,
) -> Result<Printed, ReceiptError> {
    let settings = ReceiptSettings::load(db)?;
    let receipt = Receipt::from_store(db, out_trade_no, refund, reprint, &crate::time::now_utc())?;
    match settings.printer {
        Some(target) => {
            output::send(&target, &escpos::encode(&receipt, settings.width), output::DEFAULT_TIMEOUT)?;
            Ok(Printed::Printer(target.to_string()))
        }
        None => {
            let bytes = pdf::render(&receipt, settings.width)?;
            if let Some(folder) = pdf_fallback.parent().filter(|f| !f.as_os_str().is_empty()) {
                std::fs::create_dir_all(folder)
                    .map_err(|source| ReceiptError::Write { path: folder.to_owned(), source })?;
            }
            output::write_file(pdf_fallback, &bytes)?;
            Ok(Printed::Pdf(pdf_fallback.to_owned()))
        }
    }
}

/// A receipt for a test print (Settings → Receipts): the merchant's and store's names, made-up numbers marked as a
/// test, printed at `printed_at_utc`.
pub fn test_receipt(merchant: &str, store: &str, printed_at_utc: &str) -> Receipt {
    let printed_at = crate::time::to_china_display(printed_at_utc);
    Receipt {
        merchant: merchant.to_owned(),
        store: store.to_owned(),
        till: "测试 TEST".to_owned(),
        cashier: NONE.to_owned(),
        wallet: "测试打印 Test print".to_owned(),
        total: Amount::from_fen(1234),
        refunded: Amount::ZERO,
        paid_at: printed_at.clone(),
        out_trade_no: "TEST-RECEIPT-0001".to_owned(),
        trade_no: NONE.to_owned(),
        refund: None,
        reprint: false,
        printed_at,
    }
}

/// Prints a test receipt on `target` at `width`. Blocking: off the UI thread.
pub fn test_print(target: &Target, width: Width, receipt: &Receipt) -> Result<(), ReceiptError> {
    output::send(target, &escpos::encode(receipt, width), output::DEFAULT_TIMEOUT)
}
