//! The orders screen's refund form: amount and reason, the operator's PIN asked again, the refund run as a network
//! job on the queue, and its outcome.

use super::*;

impl OrdersScreen {
    pub(super) fn refund_form(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        ui.strong(lang.pick("退款", "Refund"));
        // Refunds need a signed-in operator who may refund; the form then asks for their PIN again.
        if let Err(refused) = permit_text(ctx, crate::store::operators::Permission::Refund) {
            ui.colored_label(ui.visuals().error_fg_color, refused.get(lang));
            return;
        }
        let f = &mut self.refund;
        if f.operator.is_empty()
            && let Some(me) = &ctx.operator
        {
            f.operator = me.clone();
        }
        // Enter in any field submits the form (as the button does).
        let mut entered = false;
        egui::Grid::new("refund-form").num_columns(2).show(ui, |ui| {
            let field = |ui: &mut egui::Ui, label: &str, text: &mut String, password: bool| {
                let l = ui.label(label);
                let r =
                    ui.add(egui::TextEdit::singleline(text).password(password).desired_width(160.0)).labelled_by(l.id);
                ui.end_row();
                r
            };
            let amount = field(ui, lang.pick("退款金额", "Refund amount"), &mut f.amount, false);
            if std::mem::take(&mut f.focus) {
                amount.request_focus();
                amount.scroll_to_me(Some(egui::Align::Center));
            }
            let mut fields = vec![amount];
            fields.push(field(ui, lang.pick("退款原因", "Reason"), &mut f.reason, false));
            fields.push(field(ui, lang.pick("操作员", "Operator"), &mut f.operator, false));
            fields.push(field(ui, "PIN", &mut f.pin, true));
            entered = fields.iter().any(|r| r.lost_focus()) && ui.input(|i| i.key_pressed(egui::Key::Enter));
        });
        if let Some((ok, text)) = &f.message {
            let color = if *ok { egui::Color32::from_rgb(60, 170, 90) } else { egui::Color32::from_rgb(200, 60, 60) };
            ui.add(egui::Label::new(egui::RichText::new(text.get(lang)).color(color)).wrap());
        }
        if f.running {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(lang.pick("正在退款…", "Refunding…"));
            });
        } else if ui.button(lang.pick("确认退款", "Confirm refund")).clicked() || entered {
            self.start_refund(ctx);
        }
    }

    pub(super) fn start_refund(&mut self, ctx: &mut Ctx) {
        let Some(sel) = &self.selected else { return };
        let out_trade_no = sel.order.out_trade_no.clone();
        let refundable = sel.refundable;
        let amount = match Amount::parse(self.refund.amount.trim()) {
            Ok(a) => a,
            Err(_) => {
                let t = self.refund.amount.trim().to_owned();
                self.refund.message = Some((
                    false,
                    Text::new(
                        format!("退款金额：{t} 不是金额，如 12.50"),
                        format!("Refund amount: {t:?} is not an amount like 12.50"),
                    ),
                ));
                return;
            }
        };
        if amount > refundable {
            self.refund.message = Some((
                false,
                Text::new(format!("超过可退金额 ¥{refundable}"), format!("More than can be refunded: ¥{refundable}")),
            ));
            return;
        }
        if let Err(refused) = permit_text(ctx, crate::store::operators::Permission::Refund) {
            self.refund.message = Some((false, refused));
            return;
        }
        if let (Some(zh), Some(en)) =
            (ctx.money_path.elsewhere_words(Lang::ZhCn), ctx.money_path.elsewhere_words(Lang::En))
        {
            self.refund.message = Some((false, Text::new(zh, en)));
            return;
        }
        let f = &mut self.refund;
        // The PIN is asked again for every refund, and checked off the UI thread (Argon2 is slow on purpose).
        let (name, pin) = (f.operator.clone(), std::mem::take(&mut f.pin));
        // The router is built with the job's connection, off the UI thread.
        let routes = match ctx.channels() {
            Ok(channels) => ctx.queue.routes(channels),
            Err(why) => {
                f.message = Some((false, why));
                return;
            }
        };
        // At a till enrolled with a merchant backend the staff live there: the PIN is checked there.
        let backend = match crate::ui::staff::backend_token(ctx) {
            Ok(token) => token,
            Err(why) => {
                f.message = Some((false, why));
                return;
            }
        };
        let reason = f.reason.clone();
        let database_error =
            || Text::new("读写数据库出错，请重试", "The database could not be read or written: try again");
        let job =
            ctx.queue.start_with_store(move |mut store, _progress: crate::queue::Reporter<()>, _cancel| async move {
                let at_backend = match backend {
                    Some(token) => {
                        use crate::i18n::Phrase as _;
                        let said = |e: crate::routing::backend::StaffError| {
                            RefundFailed::Pin(Text::new(e.phrase(Lang::ZhCn), e.phrase(Lang::En)))
                        };
                        let client = crate::routing::backend::joined_client(&store, token).map_err(said)?;
                        let operator = crate::routing::backend::verify_with(&mut store, &client, &name, &pin)
                            .await
                            .map_err(said)?;
                        Some(operator)
                    }
                    None => None,
                };
                let checked = tokio::task::spawn_blocking(move || {
                    let operator = match at_backend {
                        Some(operator) => operator,
                        None => store.staff_mut().verify_pin(&name, &pin).map_err(|e| {
                            RefundFailed::Pin(Text::new(
                                crate::ui::staff::verify_words(Lang::ZhCn, &e),
                                crate::ui::staff::verify_words(Lang::En, &e),
                            ))
                        })?,
                    };
                    let router = routes
                        .build(&store)
                        .map_err(|e| RefundFailed::Refund(crate::ui::words_backend::channels_error(&e)))?;
                    Ok::<_, RefundFailed>((store, operator, router))
                })
                .await
                .map_err(|_| RefundFailed::Refund(database_error()))?;
                let (store, operator, router) = checked?;
                let desk = RefundDesk::new(store, router, Arc::new(SystemClock), RefundSettings::default());
                desk.refund(&operator, &out_trade_no, amount, &reason).await.map_err(|e| {
                    tracing::warn!(error = %e, "refund from the orders screen");
                    RefundFailed::Refund(refund_error_text(&e))
                })
            });
        match job {
            Ok(job) => {
                f.running = true;
                f.message = None;
                self.refunding = Some(job);
            }
            Err(_) => f.message = Some((false, Text::new("收单通道未连接", "The acquirers are not connected"))),
        }
    }

    pub(super) fn drain(&mut self, ctx: &mut Ctx) {
        let Some(answer) = self.refunding.as_mut().and_then(Job::poll) else { return };
        self.refunding = None;
        let database_error =
            || Text::new("读写数据库出错，请重试", "The database could not be read or written: try again");
        {
            let result = answer.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "refund from the orders screen");
                Err(RefundFailed::Refund(database_error()))
            });
            self.refund.running = false;
            if let Err(RefundFailed::Pin(text)) = result {
                // Nothing was sent: the form stays as typed, for the right PIN.
                self.refund.message = Some((false, text));
                return;
            }
            if let (Ok(r), Some(sel)) = (&result, &self.selected)
                && matches!(r.status, crate::model::RefundStatus::Success)
            {
                // After a refund: its receipt, as the receipt settings say (always / ask / never).
                self.receipts.after_sale(ctx, &sel.order.out_trade_no.clone(), Some(&r.out_request_no));
            }
            self.refund.message = Some(match result {
                Ok(r) => {
                    let say = |l: Lang| {
                        format!(
                            "{} {} ¥{} {}",
                            l.pick("退款", "Refund"),
                            r.out_request_no,
                            r.refund_amount,
                            r.status.label(l)
                        )
                    };
                    (true, Text::new(say(Lang::ZhCn), say(Lang::En)))
                }
                Err(RefundFailed::Refund(e) | RefundFailed::Pin(e)) => (false, e),
            });
            self.refund.amount.clear();
            self.refund.reason.clear();
            let message = self.refund.message.take();
            if let Some(out) = self.selected.as_ref().map(|s| s.order.out_trade_no.clone()) {
                self.reload(ctx);
                self.open(ctx, &out);
            }
            self.refund.message = message;
        }
    }
}
