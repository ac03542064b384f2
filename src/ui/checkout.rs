//! 收银 Checkout: amount, scan, live status, result. Keyboard only is enough: type the amount, Enter, scan
//! (the USB scanner types digits and Enter), and the payment runs off the UI thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};

use crate::checkout::{Checkout, CheckoutSettings, Outcome, PaymentInput, Progress, SystemClock};
use crate::i18n::Lang;
use crate::model::{Order, OrderStatus};
use crate::money::Amount;
use crate::ui::Ctx;

enum Event {
    Ready(Result<Arc<Checkout>, String>),
    Recovered(Result<usize, String>),
    Progress(Progress),
    Done(Box<Result<(Order, Outcome), String>>),
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
    last: Option<(Order, Outcome)>,
    message: Option<String>,
    recent: Vec<Order>,
    recent_loaded: bool,
    focus_scan: bool,
    recovered: Option<usize>,
    /// `Ctx::channel_generation` the engine was built for: a newer one (mode, keys) rebuilds it between payments.
    built_for: u64,
    /// Why there is no engine yet (live mode without keys, the sandbox still starting).
    offline_reason: Option<String>,
    /// 动态码 F2: the dynamic-code sale (button, key, full-screen panel).
    dynamic: crate::ui::dynamic_code::DynamicHook,
}

impl std::fmt::Debug for CheckoutScreen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckoutScreen").field("amount_text", &self.amount_text).finish_non_exhaustive()
    }
}

const AMOUNT_ID: &str = "checkout-amount";
const SCAN_ID: &str = "checkout-scan";

impl CheckoutScreen {
    fn sender(&mut self) -> Sender<Event> {
        let (tx, _) = self.events.get_or_insert_with(std::sync::mpsc::channel);
        tx.clone()
    }

    /// Builds the engine once the channels exist (the embedded sandbox listens, or the live keys are unlocked), then
    /// runs crash recovery before taking payments. A change of mode or keys rebuilds it between payments.
    fn ensure_engine(&mut self, ctx: &Ctx) {
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
        self.phase = Phase::Starting;
        runtime.spawn(async move {
            let built = crate::store::Store::open(&db)
                .map(|store| Arc::new(Checkout::new(store, router, Arc::new(SystemClock), settings)))
                .map_err(|e| e.to_string());
            let engine = built.clone();
            let _ = tx.send(Event::Ready(built));
            if let Ok(engine) = engine {
                let recovered = engine.recover_crashed().await.map(|r| r.len()).map_err(|e| e.to_string());
                let _ = tx.send(Event::Recovered(recovered));
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
                }
                Event::Progress(p) => {
                    if let Phase::Paying { progress, .. } = &mut self.phase {
                        *progress = Some(p);
                    }
                }
                Event::Done(result) => {
                    self.phase = Phase::Ready;
                    match *result {
                        Ok(done) => {
                            self.last = Some(done);
                            self.message = None;
                        }
                        Err(e) => self.message = Some(e),
                    }
                    zeroize::Zeroize::zeroize(&mut self.scan_text);
                    self.recent_loaded = false;
                }
            }
        }
    }

    fn start_payment(&mut self, ctx: &Ctx) {
        let lang = ctx.lang;
        let amount = match Amount::parse(&self.amount_text) {
            Ok(a) if a.fen() > 0 => a,
            Ok(_) => {
                self.message = Some(lang.pick("金额必须大于 0.00", "the amount must be more than 0.00").into());
                return;
            }
            Err(e) => {
                self.message = Some(e.to_string());
                return;
            }
        };
        let code = crate::channel::AuthCode::new(&self.scan_text);
        if let Err(e) = crate::channel::router::route_auth_code(code.expose()) {
            self.message = Some(e.to_string());
            zeroize::Zeroize::zeroize(&mut self.scan_text);
            return;
        }
        let (Some(engine), Some(runtime)) = (self.engine.clone(), ctx.runtime.clone()) else {
            self.message = Some(
                lang.pick("收款需要网络：收单通道尚未就绪", "payments need the network: no channel is ready").into(),
            );
            return;
        };
        let cancel = Arc::new(AtomicBool::new(false));
        self.phase = Phase::Paying { cancel: cancel.clone(), progress: None, amount };
        self.last = None;
        self.message = None;
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
        let progress_tx = Mutex::new(tx.clone());
        runtime.spawn(async move {
            let report = move |p: Progress| {
                if let Ok(tx) = progress_tx.lock() {
                    let _ = tx.send(Event::Progress(p));
                }
            };
            let result = engine.pay(input, cancel, &report).await.map_err(|e| e.to_string());
            let _ = tx.send(Event::Done(Box::new(result)));
        });
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        self.ensure_engine(ctx);
        self.drain(ctx);
        let ready = matches!(self.phase, Phase::Ready) && !ctx.offline();
        if self.dynamic.show(ui, ctx, self.engine.clone(), &mut self.amount_text, ready) {
            self.recent_loaded = false;
            return;
        }
        if !self.recent_loaded {
            self.recent = ctx.home.store.recent_orders(12).unwrap_or_default();
            self.recent_loaded = true;
        }
        if matches!(self.phase, Phase::Paying { .. } | Phase::Starting | Phase::Recovering) {
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(100));
        }
        let lang = ctx.lang;
        egui::Panel::right("checkout-recent").resizable(false).default_size(300.0).show(ui, |ui| {
            self.recent_list(ui, lang);
        });
        egui::CentralPanel::default().show(ui, |ui| {
            if ctx.offline() {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    lang.pick(
                        "离线：收款需要网络。订单、退款记录和报表仍可查看；网络恢复后自动同步。",
                        "Offline: payments need the network. Orders, refunds and reports still work; TillDesk catches \
                         up by itself when the network is back.",
                    ),
                );
            }
            self.status_line(ui, lang);
            ui.add_space(8.0);
            self.entry(ui, ctx);
            ui.add_space(12.0);
            self.result_panel(ui, lang);
        });
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
            Phase::Paying { progress, amount, .. } => {
                let text = match progress {
                    None | Some(Progress::Sending { .. }) => {
                        format!("{} ¥{amount}", lang.pick("正在请求收款", "Requesting payment of"))
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
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(text);
                });
            }
        }
    }

    fn entry(&mut self, ui: &mut egui::Ui, ctx: &Ctx) {
        let lang = ctx.lang;
        let paying = matches!(self.phase, Phase::Paying { .. });
        let mut submit = false;
        egui::Grid::new("checkout-entry").num_columns(2).spacing([16.0, 10.0]).show(ui, |ui| {
            let label = ui.label(lang.pick("金额（元）", "Amount (CNY)"));
            let amount = ui
                .add_enabled(
                    !paying,
                    egui::TextEdit::singleline(&mut self.amount_text)
                        .id(egui::Id::unique(AMOUNT_ID))
                        .hint_text("0.00")
                        .desired_width(200.0)
                        .font(egui::TextStyle::Heading),
                )
                .labelled_by(label.id);
            if amount.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                self.focus_scan = true;
            }
            if !paying && self.amount_text.is_empty() && !amount.has_focus() && ui.memory(|m| m.focused().is_none()) {
                amount.request_focus();
            }
            ui.end_row();

            let label = ui.label(lang.pick("备注", "Note"));
            ui.add_enabled(!paying, egui::TextEdit::singleline(&mut self.subject).desired_width(200.0))
                .labelled_by(label.id);
            ui.end_row();

            let label = ui.label(lang.pick("付款码", "Payment code"));
            let scan = ui
                .add_enabled(
                    !paying,
                    egui::TextEdit::singleline(&mut self.scan_text)
                        .id(egui::Id::unique(SCAN_ID))
                        .hint_text(lang.pick("扫描顾客付款码", "scan the customer's code"))
                        .desired_width(260.0),
                )
                .labelled_by(label.id);
            if self.focus_scan {
                scan.request_focus();
                self.focus_scan = false;
            }
            if scan.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) && !self.scan_text.trim().is_empty() {
                submit = true;
            }
            ui.end_row();
        });
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            let ready = matches!(self.phase, Phase::Ready) && !ctx.offline();
            if ui
                .add_enabled(ready && !self.scan_text.trim().is_empty(), egui::Button::new(lang.pick("收款", "Charge")))
                .clicked()
            {
                submit = true;
            }
            if let Phase::Paying { cancel, .. } = &self.phase
                && ui.button(lang.pick("取消收款", "Cancel payment")).clicked()
            {
                cancel.store(true, Ordering::SeqCst);
            }
        });
        if !paying {
            self.keypad(ui);
        }
        if submit && matches!(self.phase, Phase::Ready) && !ctx.offline() {
            self.start_payment(ctx);
        }
        if let Some(m) = &self.message {
            ui.colored_label(ui.visuals().error_fg_color, m);
        }
    }

    fn keypad(&mut self, ui: &mut egui::Ui) {
        ui.add_space(6.0);
        egui::Grid::new("checkout-keypad").spacing([6.0, 6.0]).show(ui, |ui| {
            for row in [["7", "8", "9"], ["4", "5", "6"], ["1", "2", "3"], [".", "0", "00"]] {
                for key in row {
                    if ui.add(egui::Button::new(key).min_size(egui::vec2(48.0, 36.0))).clicked() {
                        self.amount_text.push_str(key);
                    }
                }
                ui.end_row();
            }
        });
        ui.horizontal(|ui| {
            if ui.add(egui::Button::new("←").min_size(egui::vec2(48.0, 30.0))).clicked() {
                self.amount_text.pop();
            }
            if ui.add(egui::Button::new("C").min_size(egui::vec2(48.0, 30.0))).clicked() {
                self.amount_text.clear();
            }
        });
    }

    fn result_panel(&self, ui: &mut egui::Ui, lang: Lang) {
        let Some((order, outcome)) = &self.last else { return };
        ui.separator();
        let (title, color) = match outcome {
            Outcome::Paid { .. } => (lang.pick("收款成功", "Payment received"), egui::Color32::from_rgb(60, 170, 90)),
            Outcome::Failed(_) => (lang.pick("收款失败", "Payment failed"), ui.visuals().error_fg_color),
            Outcome::Cancelled { .. } => (lang.pick("已撤销", "Cancelled"), ui.visuals().warn_fg_color),
            Outcome::Closed => (lang.pick("交易已关闭", "Closed"), ui.visuals().warn_fg_color),
            Outcome::NeedsAttention { .. } => (lang.pick("需要处理", "Needs attention"), ui.visuals().error_fg_color),
            Outcome::Mismatch(_) => {
                (lang.pick("金额不符，需人工核对", "Figures differ: check by hand"), ui.visuals().error_fg_color)
            }
        };
        ui.label(egui::RichText::new(title).heading().color(color));
        egui::Grid::new("checkout-result").num_columns(2).show(ui, |ui| {
            ui.label(lang.pick("金额", "Amount"));
            ui.label(format!("¥{}", order.total_amount));
            ui.end_row();
            ui.label(lang.pick("商户订单号", "out_trade_no"));
            ui.monospace(&order.out_trade_no);
            ui.end_row();
            if let Some(t) = &order.trade_no {
                ui.label(lang.pick("支付机构单号", "trade_no"));
                ui.monospace(t);
                ui.end_row();
            }
            if let Some(p) = &order.paid_at {
                ui.label(lang.pick("支付时间", "Paid at"));
                ui.label(crate::time::to_local_display(p));
                ui.end_row();
            }
        });
        match outcome {
            Outcome::Failed(f) => {
                ui.label(format!("{}{}", lang.pick("原因：", "Reason: "), f.message));
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

    fn recent_list(&self, ui: &mut egui::Ui, lang: Lang) {
        ui.label(egui::RichText::new(lang.pick("最近收款", "Recent payments")).strong());
        ui.separator();
        if self.recent.is_empty() {
            ui.label(lang.pick("暂无", "None yet"));
        }
        for o in &self.recent {
            ui.horizontal(|ui| {
                ui.label(format!("¥{}", o.total_amount));
                let color = match o.status {
                    OrderStatus::Paid => egui::Color32::from_rgb(60, 170, 90),
                    OrderStatus::NeedsAttention | OrderStatus::Failed => ui.visuals().error_fg_color,
                    _ => ui.visuals().text_color(),
                };
                ui.colored_label(color, o.status.label(lang));
            });
            ui.small(format!("{}  {}", crate::time::to_local_display(&o.created_at), o.out_trade_no));
        }
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
