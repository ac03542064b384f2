//! 收银 Checkout, a till run from across the counter: a large amount, a full-width result banner naming the wallet,
//! function keys on the buttons, and a keyboard flow a USB scanner fits into: type the amount, Enter, scan (digits
//! and Enter), and the payment runs off the UI thread. After any result the amount field is empty and has the focus,
//! so the next keystrokes start the next sale; the window repaints itself when the result arrives.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};

use crate::checkout::{Checkout, CheckoutSettings, Outcome, PaymentInput, Progress, SystemClock};
use crate::i18n::{Lang, Text};
use crate::model::{Order, OrderStatus, PaidWith};
use crate::money::Amount;
use crate::sound::{Announced, Cue};
use crate::ui::Ctx;
use crate::ui::checkout_words::{amount_words, checkout_error_words, not_a_code_words, store_words};
use crate::ui::hotkeys::Action;

/// A payment's end as the screen shows it: the order, how it ended, and whose wallet paid.
type Finished = (Order, Outcome, Option<PaidWith>);

enum Event {
    Ready(Result<Arc<Checkout>, Text>),
    Recovered(Result<usize, Text>),
    Progress(Progress),
    Done(Box<Result<Finished, Text>>),
    /// The answer to 查单 (F4): the order as it stands now.
    Queried(Box<Result<Option<Order>, Text>>),
}

/// Where the till stands.
#[derive(Default)]
enum Phase {
    /// No engine yet (the sandbox is starting, or nothing is configured).
    #[default]
    Offline,
    Starting,
    /// Resuming unfinished orders after a restart: no new payment until done.
    Recovering,
    Ready,
    Paying {
        cancel: Arc<AtomicBool>,
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
    engine: Option<Arc<Checkout>>,
    events: Option<(Sender<Event>, Receiver<Event>)>,
    last: Option<Finished>,
    /// Why the sale cannot go ahead (both languages: worded when drawn).
    message: Option<Text>,
    recent: Vec<Order>,
    recent_loaded: bool,
    focus_scan: bool,
    /// Put the focus in the amount field on the next frame (after a result, F1, Esc).
    focus_amount: bool,
    recovered: Option<usize>,
    /// `Ctx::channel_generation` the engine was built for: a newer one (mode, keys) rebuilds it between payments.
    built_for: u64,
    /// Why there is no engine yet (live mode without keys, the sandbox still starting).
    offline_reason: Option<String>,
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
    /// 查单 (F4): running, or what it found.
    query: Option<Result<Order, Text>>,
    querying: bool,
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
    fn sender(&mut self) -> Sender<Event> {
        let (tx, _) = self.events.get_or_insert_with(std::sync::mpsc::channel);
        tx.clone()
    }

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

    /// Builds the engine once the channels exist (the embedded sandbox listens, or the live keys are unlocked), then
    /// runs crash recovery before taking payments. A change of mode or keys rebuilds it between payments.
    fn ensure_engine(&mut self, ctx: &Ctx, repaint: &egui::Context) {
        let stale = self.built_for != ctx.channel_generation;
        if stale && matches!(self.phase, Phase::Ready) {
            self.engine = None;
            self.phase = Phase::Offline;
        }
        if !matches!(self.phase, Phase::Offline) {
            return;
        }
        if let Some(words) = ctx.money_path.elsewhere_words(ctx.lang) {
            self.offline_reason = Some(words);
            return;
        }
        let Some(runtime) = ctx.runtime.clone() else { return };
        let router = match ctx.router() {
            Ok(c) => c,
            Err(reason) => {
                // In sandbox mode the sandbox is only starting: the plain "waiting" line says enough.
                self.offline_reason = (ctx.mode == crate::model::ChannelMode::Live).then_some(reason);
                return;
            }
        };
        self.offline_reason = None;
        self.built_for = ctx.channel_generation;
        let db = ctx.home.store.path().to_owned();
        let settings = CheckoutSettings::load(&ctx.home.store).unwrap_or_default();
        let tx = self.sender();
        let repaint = repaint.clone();
        self.phase = Phase::Starting;
        runtime.spawn(async move {
            let built = crate::store::Store::open(&db)
                .map(|store| Arc::new(Checkout::new(store, router, Arc::new(SystemClock), settings)))
                .map_err(|e| store_words(&e));
            let engine = built.clone();
            let _ = tx.send(Event::Ready(built));
            repaint.request_repaint();
            if let Ok(engine) = engine {
                let recovered = engine.recover_crashed().await.map(|r| r.len()).map_err(|e| store_words(&e));
                let _ = tx.send(Event::Recovered(recovered));
                repaint.request_repaint();
            }
        });
    }

    fn drain(&mut self, ctx: &mut Ctx) {
        let Some((_, rx)) = &self.events else { return };
        let mut events = Vec::new();
        while let Ok(e) = rx.try_recv() {
            events.push(e);
        }
        for event in events {
            match event {
                Event::Ready(Ok(engine)) => {
                    self.engine = Some(engine);
                    self.phase = Phase::Recovering;
                }
                Event::Ready(Err(e)) => {
                    self.phase = Phase::Offline;
                    ctx.error = Some(e);
                }
                Event::Recovered(result) => {
                    self.phase = Phase::Ready;
                    match result {
                        Ok(n) => self.recovered = Some(n),
                        Err(e) => ctx.error = Some(e),
                    }
                    self.recent_loaded = false;
                    self.focus_amount = true;
                }
                Event::Progress(p) => {
                    if let Phase::Paying { progress, .. } = &mut self.phase {
                        *progress = Some(p);
                    }
                }
                Event::Done(result) => self.finish(ctx, *result),
                Event::Queried(result) => {
                    self.querying = false;
                    self.query = match *result {
                        Ok(Some(order)) => Some(Ok(order)),
                        Ok(None) => None,
                        Err(e) => Some(Err(e)),
                    };
                    self.recent_loaded = false;
                }
            }
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

    fn start_payment(&mut self, ctx: &Ctx, repaint: &egui::Context) {
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
        let (Some(engine), Some(runtime)) = (self.engine.clone(), ctx.runtime.clone()) else {
            self.message =
                Some(Text::new("收款需要网络：收单通道尚未就绪", "Payments need the network: no channel is ready"));
            return;
        };
        let cancel = Arc::new(AtomicBool::new(false));
        self.phase = Phase::Paying { cancel: cancel.clone(), progress: None, amount };
        self.last = None;
        self.message = None;
        self.query = None;
        self.cancelled_by_cashier = false;
        let tx = self.sender();
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
        let progress_tx = Mutex::new((tx.clone(), repaint.clone()));
        let repaint = repaint.clone();
        runtime.spawn(async move {
            let report = move |p: Progress| {
                if let Ok(guard) = progress_tx.lock() {
                    let _ = guard.0.send(Event::Progress(p));
                    guard.1.request_repaint();
                }
            };
            let result = engine.pay(input, cancel, &report).await.map_err(|e| checkout_error_words(&e)).map(
                |(order, outcome)| {
                    let wallet = engine.paid_with(&order);
                    (order, outcome, wallet)
                },
            );
            let _ = tx.send(Event::Done(Box::new(result)));
            // The window shows the result and takes the next sale's keystrokes without waiting for an input event.
            repaint.request_repaint();
        });
    }

    /// 查单 (F4): the last (or picked) order as it stands; one left unfinished is resolved with the acquirer first.
    fn start_query(&mut self, ctx: &Ctx, repaint: &egui::Context) {
        let Some(out_trade_no) = self.target() else { return };
        let (Some(engine), Some(runtime)) = (self.engine.clone(), ctx.runtime.clone()) else { return };
        if self.querying || matches!(self.phase, Phase::Paying { .. }) {
            return;
        }
        self.querying = true;
        self.query = None;
        let tx = self.sender();
        let repaint = repaint.clone();
        runtime.spawn(async move {
            let result = async {
                let now = engine.order(&out_trade_no).map_err(|e| store_words(&e))?;
                if now.as_ref().is_some_and(|o| o.status.is_unfinished()) {
                    engine.recover().await.map_err(|e| store_words(&e))?;
                    return engine.order(&out_trade_no).map_err(|e| store_words(&e));
                }
                Ok(now)
            }
            .await;
            let _ = tx.send(Event::Queried(Box::new(result)));
            repaint.request_repaint();
        });
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
            self.start_query(ctx, ui.ctx());
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
        if let Phase::Paying { cancel, .. } = &self.phase {
            cancel.store(true, Ordering::SeqCst);
            self.cancelled_by_cashier = true;
            return;
        }
        self.amount_text.clear();
        zeroize::Zeroize::zeroize(&mut self.scan_text);
        self.message = None;
        self.focus_amount = true;
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let repaint = ui.ctx().clone();
        self.ensure_engine(ctx, &repaint);
        self.drain(ctx);
        let ready = matches!(self.phase, Phase::Ready) && !ctx.offline();
        let dynamic_screen = self.dynamic.show(ui, ctx, self.engine.clone(), &mut self.amount_text, ready);
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
        if !self.recent_loaded {
            self.recent = ctx.home.store.recent_orders(12).unwrap_or_default();
            self.recent_loaded = true;
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
            self.start_payment(ctx, &repaint);
        }
    }

    fn status_line(&self, ui: &mut egui::Ui, lang: Lang) {
        match &self.phase {
            Phase::Offline => {
                match &self.offline_reason {
                    Some(reason) => {
                        ui.colored_label(ui.visuals().warn_fg_color, reason);
                    }
                    None => {
                        ui.label(lang.pick(
                            "收款需要网络：正在等待收单通道…",
                            "Payments need the network: waiting for a channel…",
                        ));
                    }
                }
            }
            Phase::Starting => {
                ui.label(lang.pick("正在连接收单通道…", "Connecting to the acquirers…"));
            }
            Phase::Recovering => {
                ui.label(lang.pick(
                    "正在恢复上次未完成的订单，完成前暂不收款…",
                    "Resuming unfinished orders from last time; payments wait until this is done…",
                ));
            }
            Phase::Ready => {
                let text = match self.recovered {
                    Some(n) if n > 0 => format!(
                        "{} {n}",
                        lang.pick("可以收款。已恢复上次未完成的订单：", "Ready. Unfinished orders resumed:")
                    ),
                    _ => lang.pick("可以收款", "Ready to take payments").to_owned(),
                };
                ui.label(text);
            }
            Phase::Paying { .. } => {
                ui.label(lang.pick("正在收款", "Taking a payment"));
            }
        }
    }

    /// The full-width banner readable from a metre away: green paid, red failed, amber waiting or unknown.
    fn banner(&self, ui: &mut egui::Ui, lang: Lang) {
        let (fill, title, amount, line): (egui::Color32, String, Option<Amount>, Option<String>) = match &self.phase {
            Phase::Paying { progress, amount, .. } => {
                let title = match progress {
                    None | Some(Progress::Sending { .. }) => {
                        lang.pick("正在请求收款…", "Requesting payment…").to_owned()
                    }
                    Some(Progress::Waiting { elapsed, .. }) => format!(
                        "{} {} s",
                        lang.pick("等待顾客输入密码…", "waiting for the customer to enter the password…"),
                        elapsed.as_secs()
                    ),
                    Some(Progress::Cancelling { attempt }) => {
                        format!("{} #{attempt}", lang.pick("正在撤销订单…", "cancelling the order…"))
                    }
                };
                let out = match progress {
                    Some(Progress::Sending { out_trade_no }) => Some(out_trade_no.clone()),
                    _ => None,
                };
                (AMBER, title, Some(*amount), out)
            }
            _ => match (&self.message, &self.last) {
                (Some(m), _) => (RED, m.get(lang).to_owned(), None, None),
                (None, Some((order, outcome, wallet))) => {
                    let (fill, title) = outcome_title(outcome, wallet.as_ref(), lang);
                    (fill, title, Some(order.total_amount), Some(order.out_trade_no.clone()))
                }
                (None, None) => return,
            },
        };
        let text_color = if fill == AMBER { egui::Color32::BLACK } else { egui::Color32::WHITE };
        egui::Frame::new().fill(fill).corner_radius(6.0).inner_margin(egui::Margin::symmetric(16, 10)).show(ui, |ui| {
            ui.set_min_width(ui.available_width());
            ui.set_min_height(48.0);
            ui.horizontal_wrapped(|ui| {
                if matches!(self.phase, Phase::Paying { .. }) {
                    ui.add(egui::Spinner::new().size(28.0).color(text_color));
                }
                ui.label(egui::RichText::new(title).size(28.0).strong().color(text_color));
                if let Some(a) = amount {
                    ui.add_space(12.0);
                    ui.label(egui::RichText::new(format!("¥{a}")).size(28.0).strong().color(text_color));
                }
            });
            if let Some(no) = line {
                ui.label(
                    egui::RichText::new(format!("{} {no}", lang.pick("订单号", "Order"))).size(16.0).color(text_color),
                );
            }
        });
    }

    /// The amount (large), the scan field and a note. Returns true when the scanner's Enter asks to charge.
    fn entry(&mut self, ui: &mut egui::Ui, ctx: &Ctx) -> bool {
        let lang = ctx.lang;
        let paying = matches!(self.phase, Phase::Paying { .. });
        let mut submit = false;
        // The fields fill the entry column (330 points, more on a large screen).
        let width = (ui.available_width() - 10.0).max(320.0);
        let label = ui.label(egui::RichText::new(lang.pick("金额（元）", "Amount (CNY)")).size(16.0));
        let amount = ui
            .add_enabled(
                !paying,
                egui::TextEdit::singleline(&mut self.amount_text)
                    .id(egui::Id::unique(AMOUNT_ID))
                    .hint_text(egui::RichText::new("0.00").size(52.0))
                    .desired_width(width)
                    .font(egui::FontId::proportional(52.0)),
            )
            .labelled_by(label.id);
        if amount.changed() {
            // Not filtered: "12,34" must be refused on Enter, never read as 1234.
            self.message = None;
        }
        if amount.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            match self.amount() {
                Ok(_) => self.focus_scan = true,
                Err(e) => {
                    if self.amount_text.trim().len() >= 16 {
                        self.amount_text.clear();
                    }
                    self.message = Some(e);
                    self.focus_amount = true;
                }
            }
        }
        if !paying && (self.focus_amount || (self.amount_text.is_empty() && ui.memory(|m| m.focused().is_none()))) {
            amount.request_focus();
            self.focus_amount = false;
        }
        ui.add_space(6.0);
        let label = ui.label(egui::RichText::new(lang.pick("付款码", "Payment code")).size(16.0));
        let scan = ui
            .add_enabled(
                !paying,
                egui::TextEdit::singleline(&mut self.scan_text)
                    .id(egui::Id::unique(SCAN_ID))
                    .hint_text(lang.pick("扫描顾客付款码", "scan the customer's code"))
                    .desired_width(width)
                    .min_size(egui::vec2(width, 44.0))
                    .align(egui::Align2::LEFT_CENTER)
                    .font(egui::FontId::proportional(22.0)),
            )
            .labelled_by(label.id);
        if self.focus_scan && !paying {
            scan.request_focus();
            self.focus_scan = false;
        }
        if scan.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) && !self.scan_text.trim().is_empty() {
            submit = true;
        }
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            // The row as high as the field, so the label sits level with it.
            ui.set_min_height(44.0);
            let label = ui.label(lang.pick("备注", "Note"));
            let note_width = ui.available_width().max(270.0);
            let note = egui::TextEdit::singleline(&mut self.subject)
                .desired_width(note_width)
                .min_size(egui::vec2(note_width, 44.0))
                .align(egui::Align2::LEFT_CENTER);
            ui.add_enabled(!paying, note).labelled_by(label.id);
        });
        submit
    }

    /// The function buttons, each with its key (收款 F1, 退款 F3, 查单 F4, 取消 Esc), at least 44 points high.
    fn buttons(&mut self, ui: &mut egui::Ui, ctx: &Ctx, submit: &mut bool) {
        let lang = ctx.lang;
        let keys = &ctx.keys;
        // Two to a row across the entry column, however wide it grew.
        let width = ((ui.available_width() - ui.spacing().item_spacing.x) / 2.0).max(158.0);
        let size = egui::vec2(width, 48.0);
        let big = |text: String| egui::Button::new(egui::RichText::new(text).size(18.0)).min_size(size);
        let ready = matches!(self.phase, Phase::Ready) && !ctx.offline();
        let paying = matches!(self.phase, Phase::Paying { .. });
        let has_target = self.target().is_some();
        let mut refund = false;
        let mut query = false;
        let mut cancel = false;
        egui::Grid::new("checkout-buttons").spacing([8.0, 8.0]).show(ui, |ui| {
            let charge = ui.add_enabled(ready, big(keys.button_text(Action::Charge, lang)).fill(GREEN));
            if charge.clicked() {
                *submit |= self.charge_key();
            }
            cancel = ui
                .add_enabled(
                    paying || !self.amount_text.is_empty() || !self.scan_text.is_empty(),
                    big(keys.button_text(Action::Cancel, lang)),
                )
                .clicked();
            ui.end_row();
            refund = ui.add_enabled(has_target && !paying, big(keys.button_text(Action::Refund, lang))).clicked();
            query = ui
                .add_enabled(has_target && !paying && !self.querying, big(keys.button_text(Action::Query, lang)))
                .clicked();
            ui.end_row();
        });
        if refund {
            self.refund_key();
        }
        if query {
            self.start_query(ctx, ui.ctx());
        }
        if cancel {
            self.cancel_key();
        }
    }

    /// A keypad for a touch screen: keys of 64 × 52 points, `scale` times that on a large screen.
    fn keypad(&mut self, ui: &mut egui::Ui, scale: f32) {
        let key = |text: &str| {
            egui::Button::new(egui::RichText::new(text).size(24.0 * scale)).min_size(egui::vec2(64.0, 52.0) * scale)
        };
        ui.vertical(|ui| {
            egui::Grid::new("checkout-keypad").spacing([6.0, 6.0]).show(ui, |ui| {
                for row in [["7", "8", "9"], ["4", "5", "6"], ["1", "2", "3"], [".", "0", "00"]] {
                    for k in row {
                        if ui.add(key(k)).clicked() {
                            self.amount_text.push_str(k);
                            self.focus_amount = true;
                        }
                    }
                    ui.end_row();
                }
                if ui.add(key("←")).clicked() {
                    self.amount_text.pop();
                    self.focus_amount = true;
                }
                if ui.add(key("C")).clicked() {
                    self.amount_text.clear();
                    self.focus_amount = true;
                }
                ui.end_row();
            });
        });
    }

    /// Under the banner: the last order's details, what 查单 found.
    fn details(&self, ui: &mut egui::Ui, lang: Lang) {
        if self.querying {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(lang.pick("正在查单…", "Checking the order…"));
            });
        }
        match &self.query {
            Some(Ok(o)) => {
                ui.label(
                    egui::RichText::new(format!(
                        "{} {} ¥{} · {}",
                        lang.pick("查单：", "Order check:"),
                        o.out_trade_no,
                        o.total_amount,
                        o.status.label(lang)
                    ))
                    .size(18.0)
                    .strong(),
                );
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e.get(lang));
            }
            None => {}
        }
        let Some((order, outcome, _)) = &self.last else { return };
        ui.add_space(8.0);
        egui::Grid::new("checkout-result").num_columns(2).show(ui, |ui| {
            if let Some(t) = &order.trade_no {
                ui.label(lang.pick("支付机构单号", "Acquirer's number"));
                ui.monospace(t);
                ui.end_row();
            }
            if let Some(p) = &order.paid_at {
                ui.label(lang.pick("支付时间", "Paid at"));
                ui.label(crate::time::to_china_display(p));
                ui.end_row();
            }
        });
        match outcome {
            Outcome::Failed(f) => {
                let reason = crate::ui::checkout_words::failure_reason(f);
                ui.label(format!("{}{}", lang.pick("原因：", "Reason: "), reason.get(lang)));
                ui.label(lang.pick("请顾客刷新付款码后重试。", "Ask the customer to refresh the code and try again."));
            }
            Outcome::Cancelled { refunded: true } => {
                ui.label(lang.pick("款项已原路退回顾客。", "The money went back to the customer."));
            }
            Outcome::NeedsAttention { .. } => {
                ui.label(lang.pick(
                    "撤销尚未获支付机构确认：TillDesk 会在后台继续撤销，收银可以继续。",
                    "The cancel is not confirmed yet: TillDesk keeps at it in the background; carry on with the next sale.",
                ));
            }
            Outcome::Mismatch(m) => {
                ui.label(mismatch_words(m, lang));
            }
            _ => {}
        }
    }

    fn recent_list(&mut self, ui: &mut egui::Ui, lang: Lang) {
        ui.label(egui::RichText::new(lang.pick("最近收款", "Recent payments")).strong());
        ui.separator();
        if self.recent.is_empty() {
            ui.label(lang.pick("暂无", "None yet"));
        }
        let mut picked = None;
        for o in &self.recent {
            let selected = self.selected.as_deref() == Some(o.out_trade_no.as_str());
            ui.horizontal(|ui| {
                if ui.selectable_label(selected, format!("¥{}", o.total_amount)).clicked() {
                    picked = Some(o.out_trade_no.clone());
                }
                let color = match o.status {
                    OrderStatus::Paid => GREEN,
                    OrderStatus::NeedsAttention | OrderStatus::Failed => ui.visuals().error_fg_color,
                    _ => ui.visuals().text_color(),
                };
                ui.colored_label(color, o.status.label(lang));
            });
            ui.small(format!("{}  {}", crate::time::to_china_display(&o.created_at), o.out_trade_no));
        }
        if let Some(p) = picked {
            self.selected = if self.selected.as_ref() == Some(&p) { None } else { Some(p) };
        }
    }
}

/// The banner's colour and words for how a payment ended, naming the wallet that paid.
fn outcome_title(outcome: &Outcome, wallet: Option<&PaidWith>, lang: Lang) -> (egui::Color32, String) {
    match outcome {
        Outcome::Paid { .. } => {
            let words = lang.pick("收款成功", "Payment received");
            let title = match (wallet, lang) {
                (Some(w), Lang::ZhCn) => format!("{} {words}", wallet_name(w, lang)),
                (Some(w), Lang::En) => format!("{words} · {}", wallet_name(w, lang)),
                (None, _) => words.to_owned(),
            };
            (GREEN, title)
        }
        Outcome::Failed(_) => (RED, lang.pick("收款失败", "Payment failed").into()),
        Outcome::Cancelled { .. } => (RED, lang.pick("已撤销", "Cancelled").into()),
        Outcome::Closed => (RED, lang.pick("交易已关闭", "Closed").into()),
        Outcome::NeedsAttention { .. } => (AMBER, lang.pick("需要处理", "Needs attention").into()),
        Outcome::Mismatch(_) => (AMBER, lang.pick("金额不符，需人工核对", "Figures differ: check by hand").into()),
    }
}

/// A mismatch between the acquirer's account of a payment and the order, in the cashier's language.
pub fn mismatch_words(m: &crate::store::transitions::Mismatch, lang: Lang) -> String {
    use crate::store::transitions::Mismatch;
    match m {
        Mismatch::Amount { order, acquirer: Some(a) } => match lang {
            Lang::ZhCn => format!("支付机构称收款 ¥{a}，订单金额为 ¥{order}。订单未记为已支付，请核对。"),
            Lang::En => {
                format!("The acquirer says ¥{a} was paid; the order is for ¥{order}. Not marked paid: please check.")
            }
        },
        Mismatch::Amount { order, acquirer: None } => match lang {
            Lang::ZhCn => format!("支付机构未告知收款金额（订单 ¥{order}）。订单未记为已支付，请核对。"),
            Lang::En => {
                format!("The acquirer did not say how much was paid (order ¥{order}). Not marked paid: please check.")
            }
        },
        Mismatch::Currency { order, acquirer } => match lang {
            Lang::ZhCn => format!("支付机构称币种为 {acquirer}，订单币种为 {order}。请核对。"),
            Lang::En => format!("The acquirer says the currency is {acquirer}; the order is in {order}. Please check."),
        },
        Mismatch::Merchant { order, acquirer } => match lang {
            Lang::ZhCn => format!("支付机构称收款商户为 {acquirer}，订单发往商户 {order}。请核对。"),
            Lang::En => {
                format!("The acquirer says merchant {acquirer} took it; the order was sent for {order}. Please check.")
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_names_the_wallet_that_paid_in_both_languages() {
        let paid = Outcome::Paid { trade_no: None, paid_at: None };
        let plus = PaidWith::AlipayPlus { name: "Partner 1".into() };
        for (wallet, zh, en) in [
            (PaidWith::Alipay, "支付宝 收款成功", "Payment received · Alipay"),
            (PaidWith::WechatPay, "微信支付 收款成功", "Payment received · WeChat Pay"),
            (plus, "Alipay+ · Partner 1 收款成功", "Payment received · Alipay+ · Partner 1"),
        ] {
            assert_eq!(outcome_title(&paid, Some(&wallet), Lang::ZhCn), (GREEN, zh.to_owned()));
            assert_eq!(outcome_title(&paid, Some(&wallet), Lang::En), (GREEN, en.to_owned()));
        }
        assert_eq!(announced(&PaidWith::AlipayPlus { name: "x".into() }), Announced::AlipayPlus);
        assert_eq!(outcome_title(&Outcome::Closed, None, Lang::En).0, RED);
        let attention = Outcome::NeedsAttention { reason: "x".into() };
        assert_eq!(outcome_title(&attention, None, Lang::ZhCn).0, AMBER);
    }
}
