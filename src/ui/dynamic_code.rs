//! 动态码 Dynamic code (主扫): a full-screen panel with the amount, a QR code the customer scans, the time left and
//! the result; Esc cancels (the trade is closed at the acquirer; a payment made meanwhile still counts). Optionally
//! a second window faces the customer ("TillDesk 顾客显示": amount, code, result), off by default.
//!
//! The checkout screen owns a [`DynamicHook`] and calls [`DynamicHook::show`] once a frame: it draws the "动态码 F2"
//! button, starts a sale on F2, and takes the whole screen while a code is up. The sale runs on the counter's engine
//! on the queue ([`Counter::start_dynamic`]); the QR image is drawn there too, and the UI only uploads it as a
//! texture.

use std::time::Duration;

use crate::checkout::{DynamicInput, DynamicProgress, DynamicSale, Outcome};
use crate::i18n::{Lang, Text};
use crate::model::{Order, Wallet};
use crate::money::Amount;
use crate::queue::{Counter, DynamicEvent, DynamicRun, Ticket, poll_slot};
use crate::store::StoreError;
use crate::ui::Ctx;
use crate::ui::checkout_words::checkout_error_words;

/// The setting that turns the customer-facing window on ("on"); off when unset.
pub const CUSTOMER_DISPLAY_KEY: &str = "ui.customer_display";
/// The customer-facing window's title.
pub const CUSTOMER_TITLE: &str = "TillDesk 顾客显示";

enum Stage {
    Requesting,
    Waiting { sale: Box<DynamicSale>, left: Option<Duration>, closing: bool },
    Done(Box<(Order, Outcome)>),
    Error(Text),
}

/// One dynamic-code sale on screen.
pub struct DynamicCode {
    amount: Amount,
    stage: Stage,
    run: DynamicRun<egui::ColorImage>,
    image: Option<egui::ColorImage>,
    texture: Option<egui::TextureHandle>,
    customer_display: bool,
    /// The customer display setting, being read on the queue when the sale starts.
    display_setting: Option<Ticket<Result<Option<String>, StoreError>>>,
    /// Whose code it is, once shown (named with the result).
    wallet: Option<Wallet>,
    /// The order just paid, until the checkout takes it (for the receipt).
    paid_out: Option<String>,
}

impl std::fmt::Debug for DynamicCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamicCode").field("amount", &self.amount).finish_non_exhaustive()
    }
}

impl DynamicCode {
    /// Starts a dynamic sale on the counter's engine: the order is written ahead, the store's acquirer makes the
    /// code (drawn as a picture off the UI thread), and the engine waits for the customer until paid, expired or
    /// cancelled. None before the engine is built. The customer display setting is read on the queue meanwhile.
    pub fn start(counter: &Counter, ctx: &Ctx, input: DynamicInput) -> Option<DynamicCode> {
        let amount = input.amount;
        // 8 pixels a module, off the UI thread.
        let run = counter.start_dynamic(input, |code| crate::ui::store_codes::qr_image(code, 8).ok())?;
        // Read when a sale starts, so a change in Settings applies to the next code.
        let display_setting = Some(ctx.queue.submit(|s| s.store.setting(CUSTOMER_DISPLAY_KEY)));
        Some(DynamicCode {
            amount,
            stage: Stage::Requesting,
            run,
            image: None,
            texture: None,
            customer_display: false,
            display_setting,
            wallet: None,
            paid_out: None,
        })
    }

    fn drain(&mut self) {
        if let Some(answer) = poll_slot(&mut self.display_setting) {
            self.customer_display = matches!(answer, Ok(Ok(Some(v))) if v == "on");
        }
        for event in self.run.poll() {
            match event {
                DynamicEvent::Shown(sale, image) => {
                    self.image = image;
                    self.wallet = Some(sale.wallet);
                    self.stage = Stage::Waiting { sale, left: None, closing: false };
                }
                DynamicEvent::Progress(p) => {
                    if let Stage::Waiting { left, closing, .. } = &mut self.stage {
                        match p {
                            DynamicProgress::Waiting { left: l, .. } => *left = Some(l),
                            DynamicProgress::Closing { .. } => *closing = true,
                        }
                    }
                }
                DynamicEvent::Done(result) => {
                    self.stage = match *result {
                        Ok(done) => {
                            if matches!(done.1, Outcome::Paid { .. }) {
                                self.paid_out = Some(done.0.out_trade_no.clone());
                            }
                            Stage::Done(Box::new(done))
                        }
                        Err(e) => Stage::Error(checkout_error_words(&e)),
                    };
                }
            }
        }
    }

    /// Whether the sale has ended (the result, or an error, is on screen).
    pub fn is_finished(&self) -> bool {
        matches!(self.stage, Stage::Done(_) | Stage::Error(_))
    }

    /// Draws the panel over the whole area. Returns `Some(paid)` when the cashier dismisses the result (Enter or
    /// Esc, or the button).
    pub fn ui(&mut self, ui: &mut egui::Ui, lang: Lang) -> Option<bool> {
        self.drain();
        if !self.is_finished() {
            ui.ctx().request_repaint_after(Duration::from_millis(200));
        }
        if self.texture.is_none()
            && let Some(image) = self.image.take()
        {
            self.texture = Some(ui.ctx().load_texture("dynamic-code-qr", image, egui::TextureOptions::NEAREST));
        }
        let (esc, enter) = ui.input(|i| (i.key_pressed(egui::Key::Escape), i.key_pressed(egui::Key::Enter)));
        let mut dismissed = None;
        egui::CentralPanel::default().show(ui, |ui| {
            ui.vertical_centered(|ui| {
                dismissed = self.contents(ui, lang, esc, enter, false);
            });
        });
        if self.customer_display {
            self.customer_window(ui.ctx());
        }
        dismissed
    }

    /// The panel's contents (the cashier's, or with `customer` the customer-facing window's: no buttons).
    fn contents(&self, ui: &mut egui::Ui, lang: Lang, esc: bool, enter: bool, customer: bool) -> Option<bool> {
        let big = |t: String| egui::RichText::new(t).size(44.0).strong();
        ui.add_space(8.0);
        ui.label(egui::RichText::new(lang.pick("动态码收款", "Dynamic code")).size(22.0));
        ui.label(big(format!("¥{}", self.amount)));
        let side = (ui.available_height() - 170.0).clamp(160.0, 420.0);
        match &self.stage {
            Stage::Requesting => {
                ui.add_space(20.0);
                ui.spinner();
                ui.label(lang.pick("正在生成收款码…", "Making the code…"));
                if !customer && esc {
                    self.run.cancel();
                }
            }
            Stage::Waiting { sale, left, closing } => {
                ui.label(egui::RichText::new(wallet_words(sale.wallet, lang)).size(20.0));
                match &self.texture {
                    Some(t) => {
                        ui.add(egui::Image::new(t).fit_to_exact_size(egui::vec2(side, side)).alt_text(&sale.code));
                    }
                    None => {
                        ui.spinner();
                    }
                }
                if !customer {
                    ui.small(egui::RichText::new(&sale.code).monospace());
                }
                if *closing {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label(lang.pick("正在关闭订单…", "Closing the order…"));
                    });
                } else {
                    let secs = left.map(|l| l.as_secs());
                    let text = match secs {
                        Some(s) => format!(
                            "{} {}:{:02}",
                            lang.pick("等待顾客扫码付款，剩余", "Waiting for the customer; time left"),
                            s / 60,
                            s % 60
                        ),
                        None => lang.pick("等待顾客扫码付款…", "Waiting for the customer…").to_owned(),
                    };
                    ui.label(egui::RichText::new(text).size(18.0));
                }
                if !customer {
                    ui.add_space(6.0);
                    let cancel = ui.add_sized([200.0, 44.0], egui::Button::new(lang.pick("取消 Esc", "Cancel Esc")));
                    if esc || cancel.clicked() {
                        self.run.cancel();
                    }
                }
            }
            Stage::Done(done) => {
                let (order, outcome) = &**done;
                let (title, color) = outcome_words(outcome, lang, ui.visuals());
                ui.add_space(16.0);
                ui.label(egui::RichText::new(title).size(40.0).strong().color(color));
                if let (Some(wallet), Outcome::Paid { .. }) = (self.wallet, outcome) {
                    ui.label(egui::RichText::new(wallet.label(lang)).size(24.0).color(color));
                }
                if !customer {
                    ui.label(format!("{} {}", lang.pick("商户订单号", "Order number"), order.out_trade_no));
                    if let Outcome::Failed(f) = outcome {
                        ui.label(crate::ui::checkout_words::failure_reason(f).get(lang));
                    }
                    if let Outcome::NeedsAttention { .. } = outcome {
                        ui.label(lang.pick(
                            "关单未获确认：TillDesk 会在后台与支付机构核对，收到的款项不会丢失。",
                            "The close is not confirmed: TillDesk settles it with the acquirer in the background; a \
                             payment is never lost.",
                        ));
                    }
                    ui.add_space(8.0);
                    let next = ui.add_sized([200.0, 44.0], egui::Button::new(lang.pick("继续 Enter", "Next Enter")));
                    if enter || esc || next.clicked() {
                        return Some(matches!(outcome, Outcome::Paid { .. }));
                    }
                }
            }
            Stage::Error(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e.get(lang));
                if !customer {
                    let back = ui.add_sized([200.0, 44.0], egui::Button::new(lang.pick("返回 Esc", "Back Esc")));
                    if enter || esc || back.clicked() {
                        return Some(false);
                    }
                }
            }
        }
        None
    }

    /// The customer-facing window (an egui viewport of its own).
    fn customer_window(&self, ctx: &egui::Context) {
        let builder = egui::ViewportBuilder::default().with_title(CUSTOMER_TITLE).with_inner_size([520.0, 680.0]);
        ctx.show_viewport_immediate(egui::ViewportId::from_hash_of("tilldesk-customer-display"), builder, |ui, _| {
            egui::CentralPanel::default().show(ui, |ui| {
                ui.vertical_centered(|ui| {
                    // Both languages: the customer may read either.
                    self.contents(ui, Lang::ZhCn, false, false, true);
                });
            });
        });
    }
}

fn wallet_words(wallet: Wallet, lang: Lang) -> String {
    match wallet {
        Wallet::Alipay => lang.pick("请用支付宝扫码付款", "Scan with Alipay to pay").to_owned(),
        Wallet::WechatPay => lang.pick("请用微信扫码付款", "Scan with WeChat to pay").to_owned(),
    }
}

fn outcome_words(outcome: &Outcome, lang: Lang, visuals: &egui::Visuals) -> (String, egui::Color32) {
    let green = egui::Color32::from_rgb(60, 170, 90);
    let (text, color) = match outcome {
        Outcome::Paid { .. } => (lang.pick("收款成功", "Payment received"), green),
        Outcome::Closed | Outcome::Cancelled { .. } => {
            (lang.pick("已取消，订单已关闭", "Cancelled: the order is closed"), visuals.warn_fg_color)
        }
        Outcome::Failed(_) => (lang.pick("收款失败", "Payment failed"), visuals.error_fg_color),
        Outcome::NeedsAttention { .. } => (lang.pick("需要处理", "Needs attention"), visuals.error_fg_color),
        Outcome::Mismatch(_) => {
            (lang.pick("金额不符，需人工核对", "Figures differ: check by hand"), visuals.error_fg_color)
        }
    };
    (text.to_owned(), color)
}

/// The checkout screen's part: the "动态码 F2" button and the sale it starts.
#[derive(Debug, Default)]
pub struct DynamicHook {
    active: Option<DynamicCode>,
    message: Option<Text>,
    /// The out_trade_no of a sale paid through the code, until the checkout takes it ([`DynamicHook::take_paid`]).
    paid: Option<String>,
}

impl DynamicHook {
    /// The order a dynamic code was just paid for, once (the checkout prints its receipt).
    pub fn take_paid(&mut self) -> Option<String> {
        self.paid.take()
    }

    /// Call once a frame before drawing the checkout. Returns true when the dynamic code has the whole screen this
    /// frame (draw nothing else). `ready`: the till may take a payment now. A paid sale clears `amount_text`.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        ctx: &Ctx,
        counter: Option<&Counter>,
        amount_text: &mut String,
        ready: bool,
    ) -> bool {
        let lang = ctx.lang;
        if let Some(active) = &mut self.active {
            let finished = active.ui(ui, lang);
            if let Some(out) = active.paid_out.take() {
                self.paid = Some(out);
            }
            if let Some(paid) = finished {
                if paid {
                    amount_text.clear();
                }
                self.active = None;
            }
            return true;
        }
        // F2 unless the cashier bound 动态码 to another key in Settings.
        let f2 = ctx.keys.pressed(ui.ctx(), crate::ui::hotkeys::Action::DynamicCode);
        let mut start = false;
        egui::Panel::bottom("dynamic-code-bar").show(ui, |ui| {
            ui.horizontal(|ui| {
                let button = egui::Button::new(ctx.keys.button_text(crate::ui::hotkeys::Action::DynamicCode, lang))
                    .min_size(egui::vec2(158.0, 48.0));
                start = ui.add_enabled(ready, button).clicked() || (ready && f2);
                if let Some(m) = &self.message {
                    ui.colored_label(ui.visuals().error_fg_color, m.get(lang));
                }
            });
        });
        if !start {
            return false;
        }
        let amount = match Amount::parse(amount_text) {
            Ok(a) if a.fen() > 0 => a,
            Ok(_) => {
                self.message = Some(Text::new("金额必须大于 0.00", "The amount must be more than 0.00"));
                return false;
            }
            Err(e) => {
                self.message = Some(crate::ui::checkout_words::amount_words(&e));
                return false;
            }
        };
        let input = DynamicInput {
            amount,
            subject: "TillDesk".into(),
            store_id: ctx.till.store_id,
            wallet: None,
            operator_id: ctx.operator_id(),
            terminal_id: ctx.till.terminal_id.clone(),
        };
        let Some(active) = counter.and_then(|c| DynamicCode::start(c, ctx, input)) else {
            self.message =
                Some(Text::new("收款需要网络：收单通道尚未就绪", "Payments need the network: no channel is ready"));
            return false;
        };
        self.message = None;
        self.active = Some(active);
        true
    }
}

/// The customer display switch as Settings shows it: read on the queue when first drawn, written on the queue when
/// changed. Kept in egui's memory (the row belongs to no screen state of its own).
#[derive(Default)]
struct DisplaySwitch {
    on: Option<bool>,
    reading: Option<Ticket<Result<Option<String>, StoreError>>>,
    writing: Option<Ticket<Result<(), StoreError>>>,
}

type SharedSwitch = std::sync::Arc<std::sync::Mutex<DisplaySwitch>>;

/// Settings → the customer display switch (one row).
pub fn customer_display_setting(ui: &mut egui::Ui, ctx: &mut Ctx) {
    let lang = ctx.lang;
    let id = egui::Id::unique("customer-display-switch");
    let shared: SharedSwitch = ui.data_mut(|d| d.get_temp_mut_or_default::<SharedSwitch>(id).clone());
    let mut switch = shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(answer) = poll_slot(&mut switch.reading) {
        match answer {
            Ok(Ok(value)) => switch.on = Some(value.is_some_and(|v| v == "on")),
            Ok(Err(e)) => ctx.error = Some(crate::ui::checkout_words::store_words(&e)),
            Err(e) => tracing::warn!(error = %e, "the customer display setting"),
        }
    }
    if let Some(answer) = poll_slot(&mut switch.writing) {
        match answer {
            Ok(Ok(())) => {}
            Ok(Err(e)) => ctx.error = Some(crate::ui::checkout_words::store_words(&e)),
            Err(e) => tracing::warn!(error = %e, "the customer display setting"),
        }
        // What the database holds now.
        switch.on = None;
    }
    if switch.on.is_none() && switch.reading.is_none() && switch.writing.is_none() {
        switch.reading = Some(ctx.queue.submit(|s| s.store.setting(CUSTOMER_DISPLAY_KEY)));
    }
    let mut on = switch.on.unwrap_or(false);
    let label =
        lang.pick("顾客显示屏（动态码时打开第二个窗口）", "Customer display (a second window for dynamic codes)");
    let settled = switch.on.is_some() && switch.writing.is_none();
    if ui.add_enabled(settled, egui::Checkbox::new(&mut on, label)).changed() {
        switch.on = Some(on);
        let value = if on { "on" } else { "off" };
        switch.writing = Some(ctx.queue.submit(move |s| s.store.set_setting(CUSTOMER_DISPLAY_KEY, value, None)));
    }
}
