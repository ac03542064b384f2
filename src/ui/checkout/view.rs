//! How the 收银 Checkout screen draws: the status line, the full-width result banner, the amount and scan fields,
//! the function buttons, the keypad, the last order's details and the recent payments. The screen's state and the
//! commands it sends to the counter's engine are in `ui/checkout.rs`.

use super::{AMBER, AMOUNT_ID, CheckoutScreen, GREEN, Phase, RED, SCAN_ID, wallet_name};
use crate::checkout::{Outcome, Progress};
use crate::i18n::Lang;
use crate::model::{OrderStatus, PaidWith};
use crate::money::Amount;
use crate::ui::Ctx;
use crate::ui::hotkeys::Action;

impl CheckoutScreen {
    pub(super) fn status_line(&self, ui: &mut egui::Ui, lang: Lang) {
        match &self.phase {
            Phase::Offline => {
                match &self.offline_reason {
                    Some(reason) => {
                        ui.colored_label(ui.visuals().warn_fg_color, reason.get(lang));
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
    pub(super) fn banner(&self, ui: &mut egui::Ui, lang: Lang) {
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
    pub(super) fn entry(&mut self, ui: &mut egui::Ui, ctx: &Ctx) -> bool {
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
    pub(super) fn buttons(&mut self, ui: &mut egui::Ui, ctx: &Ctx, submit: &mut bool) {
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
                .add_enabled(has_target && !paying && !self.querying(), big(keys.button_text(Action::Query, lang)))
                .clicked();
            ui.end_row();
        });
        if refund {
            self.refund_key();
        }
        if query {
            self.start_query(ctx);
        }
        if cancel {
            self.cancel_key();
        }
    }

    /// A keypad for a touch screen: keys of 64 × 52 points, `scale` times that on a large screen.
    pub(super) fn keypad(&mut self, ui: &mut egui::Ui, scale: f32) {
        let key = |text: &str| {
            egui::Button::new(egui::RichText::new(text).size(24.0 * scale)).min_size(egui::vec2(64.0, 52.0) * scale)
        };
        ui.vertical(|ui| {
            egui::Grid::new("checkout-keypad").spacing([6.0, 6.0]).show(ui, |ui| {
                for row in [["7", "8", "9"], ["4", "5", "6"], ["1", "2", "3"], [".", "0", "00"]] {
                    for k in row {
                        if ui.add(key(k)).clicked() {
                            keypad_press(&mut self.amount_text, k);
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
    pub(super) fn details(&self, ui: &mut egui::Ui, lang: Lang) {
        if self.querying() {
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

    pub(super) fn recent_list(&mut self, ui: &mut egui::Ui, lang: Lang) {
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
pub(super) fn outcome_title(outcome: &Outcome, wallet: Option<&PaidWith>, lang: Lang) -> (egui::Color32, String) {
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
    use super::super::announced;
    use super::*;
    use crate::sound::Announced;

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

/// A keypad key on the amount: a key that would make it unreadable (a second point, a third decimal) does nothing,
/// as on a calculator; what is typed with the keyboard is left as typed and refused on Enter with its reason.
fn keypad_press(amount: &mut String, key: &str) {
    for c in key.chars() {
        let decimals = amount.split_once('.').map(|(_, d)| d.chars().count());
        match (c, decimals) {
            ('.', Some(_)) => {}
            ('.', None) if amount.is_empty() => amount.push_str("0."),
            (_, Some(d)) if d >= 2 && c.is_ascii_digit() => {}
            _ => amount.push(c),
        }
    }
}

#[cfg(test)]
mod keypad_tests {
    use super::keypad_press;

    #[test]
    fn the_keypad_never_makes_an_amount_unreadable() {
        let typed = |keys: &[&str]| {
            let mut amount = String::new();
            for k in keys {
                keypad_press(&mut amount, k);
            }
            amount
        };
        assert_eq!(typed(&["1", "2", ".", "3", "4"]), "12.34");
        assert_eq!(typed(&["1", ".", "5", "0", "0"]), "1.50", "no third decimal");
        assert_eq!(typed(&["1", ".", "5", "00"]), "1.50", "00 stops at two decimals");
        assert_eq!(typed(&["1", ".", ".", "5"]), "1.5", "one point");
        assert_eq!(typed(&[".", "5"]), "0.5");
        assert_eq!(typed(&["1", "00"]), "100");
    }
}
