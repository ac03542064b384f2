//! The orders screen's detail panel: the order, its timeline phrased in the UI's language, its refunds, fee and
//! failure, and what is left to refund (read through the queue, [`read_selected`]).

use super::*;

impl OrdersScreen {
    pub(super) fn detail(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        let Some(sel) = &self.selected else { return };
        let o = &sel.order;
        let acquirer = acquirer_words_of(&self.acquirers, o.acquirer_id, lang);
        let store = self.stores.iter().find(|s| s.id == o.store_id).map_or_else(String::new, |s| {
            let name = if lang == Lang::ZhCn && !s.name_zh.trim().is_empty() { &s.name_zh } else { &s.name };
            format!("{} {name}", s.store_code)
        });
        let cashier = o.operator_id.and_then(|id| self.operators.iter().find(|p| p.id == id)).map(|p| p.name.clone());
        egui::Grid::new("order-detail-grid").num_columns(2).show(ui, |ui| {
            let mut line = |k: &str, v: String| {
                ui.label(k);
                ui.add(egui::Label::new(v).wrap());
                ui.end_row();
            };
            line(lang.pick("商户订单号", "out_trade_no"), o.out_trade_no.clone());
            line(lang.pick("支付机构单号", "trade_no"), o.trade_no.clone().unwrap_or_else(|| "—".into()));
            line(lang.pick("钱包", "Wallet"), acquirer);
            line(lang.pick("门店", "Store"), store);
            line(
                lang.pick("收款员", "Taken by"),
                cashier.unwrap_or_else(|| lang.pick("未登录", "no one signed in").into()),
            );
            line(lang.pick("来源", "Source"), o.source.phrase(lang));
            line(lang.pick("商品", "Subject"), o.subject.clone());
            ui.label(lang.pick("状态", "Status"));
            status_tag(ui, o.status, lang);
            ui.end_row();
            let mut line = |k: &str, v: String| {
                ui.label(k);
                ui.add(egui::Label::new(v).wrap());
                ui.end_row();
            };
            if let Some(f) = &sel.extras.failure {
                line(
                    lang.pick("失败原因", "Why it failed"),
                    acquirer_words::reason(&f.code, &f.message).get(lang).to_owned(),
                );
            }
            line(lang.pick("订单金额", "Total"), format!("¥{}", o.total_amount));
            let paid = if matches!(o.status, OrderStatus::Paid | OrderStatus::PartiallyRefunded | OrderStatus::Refunded)
            {
                o.total_amount
            } else {
                Amount::ZERO
            };
            line(lang.pick("实收", "Paid"), format!("¥{paid}"));
            line(lang.pick("已退款", "Refunded"), format!("¥{}", o.refunded_amount));
            line(lang.pick("可退款", "Refundable"), format!("¥{}", sel.refundable));
            line(
                lang.pick("手续费", "Fee"),
                sel.extras.fee.map_or_else(|| lang.pick("待对账单", "after the bill").to_owned(), |f| format!("¥{f}")),
            );
            line(lang.pick("付款码", "Payment code"), o.auth_code_masked.clone().unwrap_or_else(|| "—".into()));
            line(lang.pick("创建时间（北京）", "Created (China)"), crate::time::to_china_display(&o.created_at));
            if let Some(p) = &o.paid_at {
                line(lang.pick("支付时间（北京）", "Paid at (China)"), crate::time::to_china_display(p));
            }
        });
        let out_trade_no = o.out_trade_no.clone();
        let reprint = ui.add_enabled(
            !self.receipts.is_busy(),
            egui::Button::new(lang.pick("重打小票 F9", "Reprint receipt F9")).min_size(egui::vec2(0.0, 32.0)),
        );
        let f9 = ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::F9));
        if (reprint.clicked() || f9) && !self.receipts.is_busy() {
            self.receipts.print(ctx, &out_trade_no, None);
        }
        self.receipts.show(ui, ctx);
        let Some(sel) = &self.selected else { return };
        ui.separator();
        ui.strong(lang.pick("时间线", "Timeline"));
        for e in &sel.events {
            let words = event_words(&e.kind, &e.detail);
            let r = ui
                .add(egui::Label::new(format!("{}  {}", crate::time::to_china_display(&e.at), words.get(lang))).wrap());
            if !e.detail.is_empty() {
                r.on_hover_text(format!("{} {}", lang.pick("记录原文：", "As recorded:"), e.detail));
            }
        }
        if !sel.refunds.is_empty() {
            ui.separator();
            ui.strong(lang.pick("退款记录", "Refunds"));
            for r in &sel.refunds {
                let who = r
                    .operator_id
                    .and_then(|id| self.operators.iter().find(|p| p.id == id))
                    .map_or("—", |p| p.name.as_str());
                ui.add(
                    egui::Label::new(format!(
                        "{}  ¥{}  {}  {}  {}",
                        r.out_request_no,
                        r.refund_amount,
                        r.status.label(lang),
                        who,
                        r.reason
                    ))
                    .wrap(),
                );
            }
        }
        let can_refund =
            sel.refundable.fen() > 0 && matches!(sel.order.status, OrderStatus::Paid | OrderStatus::PartiallyRefunded);
        if can_refund {
            ui.separator();
            self.refund_form(ui, ctx);
        }
    }
}

/// What the detail shows of `order`: its timeline, its refunds, what is left to refund and its fee and failure.
pub(super) fn read_selected(session: &crate::queue::CoreSession, order: Order) -> Result<Selected, StoreError> {
    let store = &session.store;
    let events = store.orders().order_events(order.id)?;
    let refunds = store.refunds().refunds_of(order.id)?;
    // Only a paid order has anything to refund (a failed or closed one's total was never taken).
    let refundable = match order.status {
        OrderStatus::Paid | OrderStatus::PartiallyRefunded => store.refunds().refundable(&order)?.remaining(),
        _ => Amount::ZERO,
    };
    let extras = store.orders().order_list_extras(&[order.id])?.remove(&order.id).unwrap_or_default();
    Ok(Selected { order, events, refunds, refundable, extras })
}
