//! 收银 Checkout, a till run from across the counter: a large amount, a full-width result banner naming the wallet,
//! function keys on the buttons, and a keyboard flow a USB scanner fits into: type the amount, Enter, scan (digits
//! and Enter), and the payment runs off the UI thread. After any result the amount field is empty and has the focus,
//! so the next keystrokes start the next sale; the window repaints itself when the result arrives.
//!
//! The screen holds no engine: it asks the queue for the counter's engine ([`crate::queue::Counter`], built off the
//! UI thread from the channels the window names), sends it commands — pay with the amount and the scanned auth_code,
//! cancel, query an order — and renders the events that come back. Its drawing is in `checkout/view.rs`.

mod view;

use crate::checkout::{Outcome, PaymentInput, Progress};
use crate::i18n::{Lang, Text};
use crate::model::{ChannelMode, Order, PaidWith};
use crate::money::Amount;
use crate::queue::{Counter, CounterError, CounterEvent, Finished, PayEvent, PaymentRun, Ticket, poll_slot};
use crate::sound::{Announced, Cue};
use crate::store::StoreError;
use crate::ui::Ctx;
use crate::ui::checkout_words::{amount_words, checkout_error_words, not_a_code_words, store_words};
use crate::ui::hotkeys::Action;

/// Where the till stands.
#[derive(Debug, Default)]
enum Phase {
    /// No engine yet (the sandbox is starting, or nothing is configured).
    #[default]
    Offline,
    /// The engine is being built off the UI thread.
    Starting,
    /// Resuming unfinished orders after a restart: no new payment until done.
    Recovering,
    Ready,
    Paying {
        run: PaymentRun,
        progress: Option<Progress>,
        amount: Amount,
    },
}

#[derive(Default)]
pub struct CheckoutScreen {
    amount_text: String,
    subject: String,
    scan_text: String,
    phase: Phase,
    /// The counter's engine on the queue, once asked for.
    counter: Option<Counter>,
    last: Option<Finished>,
    /// Why the sale cannot go ahead (both languages: worded when drawn).
    message: Option<Text>,
    recent: Vec<Order>,
    /// The recent payments are read again (on the queue) when false.
    recent_loaded: bool,
    recent_reading: Option<Ticket<Result<Vec<Order>, StoreError>>>,
    focus_scan: bool,
    /// Put the focus in the amount field on the next frame (after a result, F1, Esc).
    focus_amount: bool,
    recovered: Option<usize>,
    /// `Ctx::channel_generation` the engine was built for: a newer one (mode, keys) rebuilds it between payments.
    built_for: u64,
    /// The generation whose engine could not be built: asked again once the channels change.
    failed_for: Option<u64>,
    /// Why there is no engine yet (live mode without keys, another window owning the till).
    offline_reason: Option<Text>,
    /// 动态码 F2: the dynamic-code sale (button, key, full-screen panel).
    dynamic: crate::ui::dynamic_code::DynamicHook,
    /// 小票: printed after a paid sale as the settings say, reprinted with F9 (never takes the focus).
    receipts: crate::ui::orders::ReceiptPrinter,
    /// The order picked in the recent list (F3 refunds it; the last order otherwise).
    selected: Option<String>,
    /// Set by F3: the shell opens this order's refund form.
    open_refund: Option<String>,
    /// The cashier pressed cancel: the end of this payment needs no failure beep.
    cancelled_by_cashier: bool,
    /// 查单 (F4): what it found.
    query: Option<Result<Order, Text>>,
    /// 查单 (F4) running.
    querying: Option<Ticket<Result<Option<Order>, StoreError>>>,
}

impl std::fmt::Debug for CheckoutScreen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckoutScreen").field("amount_text", &self.amount_text).finish_non_exhaustive()
    }
}

const AMOUNT_ID: &str = "checkout-amount";
const SCAN_ID: &str = "checkout-scan";

/// Banner colours: paid, failed, waiting or unknown.
const GREEN: egui::Color32 = egui::Color32::from_rgb(30, 140, 70);
const RED: egui::Color32 = egui::Color32::from_rgb(190, 40, 40);
const AMBER: egui::Color32 = egui::Color32::from_rgb(235, 165, 20);

/// The wallet's name on the banner: 微信支付, 支付宝, or the Alipay+ acquirer's name as the order records it.
pub fn wallet_name(wallet: &PaidWith, lang: Lang) -> String {
    match wallet {
        PaidWith::Alipay => lang.pick("支付宝", "Alipay").to_owned(),
        PaidWith::WechatPay => lang.pick("微信支付", "WeChat Pay").to_owned(),
        PaidWith::AlipayPlus { name } => format!("Alipay+ · {name}"),
    }
}

fn announced(wallet: &PaidWith) -> Announced {
    match wallet {
        PaidWith::Alipay => Announced::Alipay,
        PaidWith::WechatPay => Announced::WechatPay,
        PaidWith::AlipayPlus { .. } => Announced::AlipayPlus,
    }
}

impl CheckoutScreen {
    /// Starts a new sale: the amount field, empty, with the focus (F1 from another screen).
    pub fn start_sale(&mut self) {
        if !matches!(self.phase, Phase::Paying { .. }) {
            self.focus_amount = true;
        }
    }

    /// The order whose refund form F3 asked for (taken once; the shell opens it).
    pub fn take_open_refund(&mut self) -> Option<String> {
        self.open_refund.take()
    }

    /// Asks the queue for the engine once the channels exist (the embedded sandbox listens, or the live keys are
    /// unlocked); the engine runs crash recovery before taking payments. A change of mode or keys rebuilds it between
    /// payments; one that could not be built is asked for again when the channels change.
    fn ensure_engine(&mut self, ctx: &Ctx) {
        let stale = self.built_for != ctx.channel_generation;
        if stale && matches!(self.phase, Phase::Ready) {
            self.counter = None;
            self.phase = Phase::Offline;
        }
        if !matches!(self.phase, Phase::Offline) {
            return;
        }
        if let (Some(zh), Some(en)) =
            (ctx.money_path.elsewhere_words(Lang::ZhCn), ctx.money_path.elsewhere_words(Lang::En))
        {
            self.offline_reason = Some(Text::new(zh, en));
            return;
        }
        if ctx.runtime.is_none() || self.failed_for == Some(ctx.channel_generation) {
            return;
        }
        let channels = match ctx.channels() {
            Ok(channels) => channels,
            Err(reason) => {
                // In sandbox mode the sandbox is only starting: the plain "waiting" line says enough.
                self.offline_reason = (ctx.mode == ChannelMode::Live).then_some(reason);
                return;
            }
        };
        if let Ok(counter) = Counter::open(&ctx.queue, channels) {
            self.offline_reason = None;
            self.built_for = ctx.channel_generation;
            self.counter = Some(counter);
            self.phase = Phase::Starting;
        }
    }

    /// Takes what the engine, the payment running on it and the queue answered since the last frame.
    fn drain(&mut self, ctx: &mut Ctx) {
        let events = self.counter.as_mut().map(Counter::poll).unwrap_or_default();
        for event in events {
            match event {
                CounterEvent::Built(Ok(())) => self.phase = Phase::Recovering,
                CounterEvent::Built(Err(e)) => {
                    self.phase = Phase::Offline;
                    self.counter = None;
                    self.failed_for = Some(self.built_for);
                    match e {
                        CounterError::Channels(e) => {
                            let words = ctx.channels_words(&e);
                            self.offline_reason = (ctx.mode == ChannelMode::Live).then_some(words);
                        }
                        CounterError::Store(e) => ctx.error = Some(store_words(&e)),
                    }
                }
                CounterEvent::Recovered(result) => {
                    self.phase = Phase::Ready;
                    match result {
                        Ok(n) => self.recovered = Some(n),
                        Err(e) => ctx.error = Some(store_words(&e)),
                    }
                    self.recent_loaded = false;
                    self.focus_amount = true;
                }
            }
        }
        let mut done = None;
        if let Phase::Paying { run, progress, .. } = &mut self.phase {
            for event in run.poll() {
                match event {
                    PayEvent::Progress(p) => *progress = Some(p),
                    PayEvent::Done(result) => done = Some(*result),
                }
            }
        }
        if let Some(result) = done {
            self.finish(ctx, result.map_err(|e| checkout_error_words(&e)));
        }
        if let Some(answer) = poll_slot(&mut self.querying) {
            self.query = match answer {
                Ok(Ok(Some(order))) => Some(Ok(order)),
                Ok(Ok(None)) => None,
                Ok(Err(e)) => Some(Err(store_words(&e))),
                Err(e) => {
                    tracing::warn!(error = %e, "order check");
                    Some(Err(Text::new("查单未完成，请重试", "The order check did not finish: try again")))
                }
            };
            self.recent_loaded = false;
        }
        if let Some(answer) = poll_slot(&mut self.recent_reading) {
            match answer {
                Ok(Ok(recent)) => self.recent = recent,
                Ok(Err(e)) => tracing::warn!(error = %e, "recent payments"),
                Err(e) => tracing::warn!(error = %e, "recent payments"),
            }
        }
        if !self.recent_loaded && self.recent_reading.is_none() {
            self.recent_reading = Some(ctx.queue.submit(|s| s.store.orders().recent_orders(12)));
            self.recent_loaded = true;
        }
    }

    /// A payment ended: the banner shows it, the till sounds it, and the next sale starts in an empty amount field.
    fn finish(&mut self, ctx: &Ctx, result: Result<Finished, Text>) {
        self.phase = Phase::Ready;
        let cue = match &result {
            Ok((order, Outcome::Paid { .. }, wallet)) => {
                Some(Cue::Paid { wallet: wallet.as_ref().map(announced), amount: order.total_amount })
            }
            _ if self.cancelled_by_cashier => None,
            _ => Some(Cue::Failed),
        };
        if let Some(cue) = cue {
            ctx.sound.play(cue);
        }
        match result {
            Ok(done) => {
                if matches!(done.1, Outcome::Paid { .. }) {
                    self.receipts.after_sale(ctx, &done.0.out_trade_no, None);
                }
                // On the recent list at once; the list is read again from the database behind it.
                self.recent.retain(|o| o.out_trade_no != done.0.out_trade_no);
                self.recent.insert(0, done.0.clone());
                self.last = Some(done);
                self.message = None;
            }
            Err(e) => self.message = Some(e),
        }
        // Never the previous amount for the next customer by accident.
        self.amount_text.clear();
        zeroize::Zeroize::zeroize(&mut self.scan_text);
        self.focus_amount = true;
        self.focus_scan = false;
        self.cancelled_by_cashier = false;
        self.selected = None;
        self.query = None;
        self.recent_loaded = false;
    }

    /// The typed amount, or why it cannot be charged.
    fn amount(&self) -> Result<Amount, Text> {
        let text = self.amount_text.trim();
        if text.len() >= 16 && crate::channel::auth_code::route_auth_code(text).is_ok() {
            return Err(Text::new("这是付款码：请先输入金额", "That is a payment code: type the amount first"));
        }
        match Amount::parse(text) {
            Ok(a) if a.fen() > 0 => Ok(a),
            Ok(_) => Err(Text::new("金额必须大于 0.00", "The amount must be more than 0.00")),
            Err(e) => Err(amount_words(&e)),
        }
    }

    fn start_payment(&mut self, ctx: &Ctx) {
        let amount = match self.amount() {
            Ok(a) => a,
            Err(e) => {
                self.message = Some(e);
                self.focus_amount = true;
                return;
            }
        };
        let code = crate::channel::AuthCode::new(&self.scan_text);
        if let Err(e) = crate::channel::auth_code::route_auth_code(code.expose()) {
            // Not a payment code (a product barcode, a link): the amount stays, the scan field waits for the code.
            self.message = Some(not_a_code_words(&e));
            zeroize::Zeroize::zeroize(&mut self.scan_text);
            self.focus_scan = true;
            return;
        }
        let subject =
            if self.subject.trim().is_empty() { "TillDesk".to_owned() } else { self.subject.trim().to_owned() };
        // Recorded for this till's store and the signed-in operator (none when nobody is signed in).
        let input = PaymentInput {
            amount,
            auth_code: code,
            subject,
            store_id: ctx.till.store_id,
            operator_id: ctx.operator_id(),
            terminal_id: ctx.till.terminal_id.clone(),
        };
        let Some(run) = self.counter.as_ref().and_then(|c| c.pay(input)) else {
            self.message =
                Some(Text::new("收款需要网络：收单通道尚未就绪", "Payments need the network: no channel is ready"));
            return;
        };
        self.phase = Phase::Paying { run, progress: None, amount };
        self.last = None;
        self.message = None;
        self.query = None;
        self.cancelled_by_cashier = false;
    }

    /// 查单 (F4): the last (or picked) order as it stands; one left unfinished is resolved with the acquirer first.
    fn start_query(&mut self, _ctx: &Ctx) {
        let Some(out_trade_no) = self.target() else { return };
        if self.querying.is_some() || matches!(self.phase, Phase::Paying { .. }) {
            return;
        }
        let Some(ticket) = self.counter.as_ref().and_then(|c| c.query(out_trade_no)) else { return };
        self.querying = Some(ticket);
        self.query = None;
    }

    /// Whether 查单 is running.
    fn querying(&self) -> bool {
        self.querying.is_some()
    }

    /// The order F3 and F4 act on: the one picked in the recent list, else the last one taken here.
    fn target(&self) -> Option<String> {
        self.selected.clone().or_else(|| self.last.as_ref().map(|(o, _, _)| o.out_trade_no.clone()))
    }

    /// The function keys (F2 动态码 and F9 重打小票 are bound by the screens that own those actions).
    fn keys(&mut self, ui: &egui::Ui, ctx: &Ctx) -> bool {
        let keys = &ctx.keys;
        let mut submit = false;
        if keys.pressed(ui.ctx(), Action::Charge) {
            submit = self.charge_key();
        }
        if keys.pressed(ui.ctx(), Action::Refund) {
            self.refund_key();
        }
        if keys.pressed(ui.ctx(), Action::Query) {
            self.start_query(ctx);
        }
        if keys.pressed(ui.ctx(), Action::Cancel) {
            self.cancel_key();
        }
        submit
    }

    /// 收款: with an amount and a code, charge; with an amount, go to the scan field; else start a sale.
    fn charge_key(&mut self) -> bool {
        if matches!(self.phase, Phase::Paying { .. }) {
            return false;
        }
        match self.amount() {
            Ok(_) if !self.scan_text.trim().is_empty() => return true,
            Ok(_) => self.focus_scan = true,
            Err(_) => self.focus_amount = true,
        }
        false
    }

    fn refund_key(&mut self) {
        if let Some(no) = self.target() {
            self.open_refund = Some(no);
        }
    }

    /// 取消: a payment in progress is cancelled (or reversed) by the engine; a sale being typed is cleared.
    fn cancel_key(&mut self) {
        if let Phase::Paying { run, .. } = &self.phase {
            run.cancel();
            self.cancelled_by_cashier = true;
            return;
        }
        self.amount_text.clear();
        zeroize::Zeroize::zeroize(&mut self.scan_text);
        self.message = None;
        self.focus_amount = true;
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        self.ensure_engine(ctx);
        self.drain(ctx);
        let ready = matches!(self.phase, Phase::Ready) && !ctx.offline();
        let dynamic_screen = self.dynamic.show(ui, ctx, self.counter.as_ref(), &mut self.amount_text, ready);
        if let Some(out_trade_no) = self.dynamic.take_paid() {
            self.receipts.after_sale(ctx, &out_trade_no, None);
        }
        if dynamic_screen {
            self.recent_loaded = false;
            return;
        }
        // F9: the last sale's receipt again.
        if let Some((order, ..)) = &self.last
            && ctx.keys.pressed(ui.ctx(), crate::ui::hotkeys::Action::Reprint)
        {
            let out_trade_no = order.out_trade_no.clone();
            self.receipts.print(ctx, &out_trade_no, None);
        }
        if matches!(self.phase, Phase::Paying { .. }) {
            // The seconds waited tick on screen.
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(500));
        }
        let mut submit = self.keys(ui, ctx);
        let lang = ctx.lang;
        let narrow = ui.available_width() < 900.0;
        egui::Panel::right("checkout-recent").resizable(false).default_size(if narrow { 210.0 } else { 290.0 }).show(
            ui,
            |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("checkout-recent-scroll")
                    .show(ui, |ui| self.recent_list(ui, lang));
            },
        );
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::vertical().id_salt("checkout-main").auto_shrink([false, false]).show(ui, |ui| {
                if ctx.offline() {
                    ui.colored_label(
                        ui.visuals().error_fg_color,
                        lang.pick(
                            "离线：收款需要网络。订单、退款记录和报表仍可查看；网络恢复后自动同步。",
                            "Offline: payments need the network. Orders, refunds and reports still work; TillDesk \
                             catches up by itself when the network is back.",
                        ),
                    );
                }
                self.status_line(ui, lang);
                self.banner(ui, lang);
                self.receipts.show(ui, ctx);
                ui.add_space(10.0);
                // On a large screen the fields and the keypad grow (up to half again) and sit in the middle, so
                // the counter reads from a metre away instead of a small form in a corner.
                let available = ui.available_width();
                let scale = (available / 760.0).clamp(1.0, 1.5);
                let (entry_width, keypad_width) = (330.0 * scale, (3.0 * 64.0 + 12.0) * scale);
                let margin = ((available - entry_width - 16.0 - keypad_width) / 2.0).max(0.0);
                ui.horizontal_top(|ui| {
                    ui.add_space(margin);
                    ui.vertical(|ui| {
                        ui.set_width(entry_width);
                        submit |= self.entry(ui, ctx);
                        ui.add_space(8.0);
                        self.buttons(ui, ctx, &mut submit);
                    });
                    ui.add_space(16.0);
                    if !matches!(self.phase, Phase::Paying { .. }) {
                        self.keypad(ui, scale);
                    }
                });
                self.details(ui, lang);
            });
        });
        if submit && matches!(self.phase, Phase::Ready) && !ctx.offline() {
            self.start_payment(ctx);
        }
    }
}
