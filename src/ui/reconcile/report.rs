//! The 对账 screen's report: the summary cards, the day's figures, the filters and the table of differences with
//! each row's actions (query the acquirer, adopt, resolve or reopen). Draws what the screen holds; the actions go
//! back to the screen, which sends them through the command queue.

use crate::i18n::Lang;
use crate::model::{DiscrepancyId, DiscrepancyKind};
use crate::money::Amount;
use crate::recon::Report;
use crate::recon::report::{CountAmount, Item, field_advice, field_label, field_value, kind_label};
use crate::ui::Ctx;
use crate::ui::words_recon::{acquirer_words, fee_label, fee_text, fee_text_of};

use super::ReconcileScreen;

fn amount_or_dash(a: Option<Amount>) -> String {
    a.map(|a| a.to_string()).unwrap_or_else(|| "—".into())
}

impl ReconcileScreen {
    pub(super) fn report_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx, report: &Report) {
        let lang = ctx.lang;
        ui.horizontal_wrapped(|ui| {
            ui.strong(format!(
                "{} {} · {}",
                acquirer_words(report.acquirer, lang),
                report.bill_date,
                lang.pick("对账结果", "reconciliation")
            ));
            ui.weak(format!("#{}", report.run_id));
        });
        // The bills whose own totals do not add up (imported flagged): named here, the detail on hover.
        for b in report.bills.iter().filter(|b| b.totals_mismatch.is_some()) {
            let text = match lang {
                Lang::ZhCn => format!("注意：{} 自身的合计与明细不符", b.source_name),
                Lang::En => format!("Warning: {}: the bill's own totals do not match its rows", b.source_name),
            };
            ui.colored_label(ui.visuals().warn_fg_color, text)
                .on_hover_text(b.totals_mismatch.as_deref().unwrap_or_default());
        }
        if let Some(update) = self.resolve.ui(ui, ctx, report) {
            self.status = Some(update.status);
            self.report = update.report;
        }
        // Summary cards: a row that wraps whole cards, top-aligned.
        ui.with_layout(egui::Layout::left_to_right(egui::Align::TOP).with_main_wrap(true), |ui| {
            card(
                ui,
                lang.pick("已匹配", "Matched"),
                &format!("{}", report.matched.count),
                &report.matched.amount.to_string(),
            );
            for k in &report.kinds {
                let value = format!(
                    "{} {} / {} {}",
                    lang.pick("账单", "bill"),
                    k.bill_amount,
                    lang.pick("本地", "local"),
                    k.local_amount
                );
                card(ui, kind_label(k.kind, lang), &k.count.to_string(), &value);
            }
            card(
                ui,
                lang.pick("跨日待核", "Waiting (midnight)"),
                &report.pending.count.to_string(),
                &report.pending.amount.to_string(),
            );
            card(
                ui,
                lang.pick("自前日顺延", "Carried in"),
                &report.carry.in_matched.count.to_string(),
                &report.carry.in_matched.amount.to_string(),
            );
            let f = &report.fees;
            let exact = format!("{}{}", lang.pick("账单中的精确值：", "Exact value in the bill: "), f.fee);
            card(
                ui,
                lang.pick("手续费", "Fees"),
                &fee_text(f.fee_fen),
                &format!("{} {}", lang.pick("净额", "net"), f.net),
            )
            .on_hover_text(exact);
        });
        let f = &report.fees;
        ui.horizontal_wrapped(|ui| {
            ui.spacing_mut().item_spacing.x = 4.0;
            let weak = |ui: &mut egui::Ui, t: String| {
                ui.weak(t);
            };
            weak(
                ui,
                format!(
                    "{} {}: {} {} ({}) · {} {} ({}) · {}",
                    lang.pick("当日汇总", "Day summary"),
                    f.bill_date,
                    lang.pick("收款", "payments"),
                    f.payments.count,
                    f.payments.amount,
                    lang.pick("退款", "refunds"),
                    f.refunds.count,
                    f.refunds.amount,
                    lang.pick("手续费", "fees"),
                ),
            );
            fee_label(ui, f.fee_fen, &f.fee, lang);
            weak(
                ui,
                format!(
                    "· {} {} · {} {}",
                    lang.pick("优惠", "discounts"),
                    f.discounts,
                    lang.pick("净额", "net"),
                    f.net
                ),
            );
        });

        let c = &report.carry;
        let n = |x: &CountAmount| format!("{} ({})", x.count, x.amount);
        ui.weak(format!(
            "{} {}: {} {} · {} {} · {} {}; {}: {} {} · {} {}; {} {}",
            lang.pick("跨日顺延，截止时间", "Carry-over, cut-off"),
            report.cutoff,
            lang.pick("转出 待次日账单", "out: waiting for the next day's bill"),
            n(&c.out_waiting),
            lang.pick("次日账单已列", "listed by it"),
            n(&c.out_matched),
            lang.pick("次日账单仍缺", "missing there too"),
            n(&c.out_missing),
            lang.pick("转入", "in"),
            lang.pick("已匹配", "matched"),
            n(&c.in_matched),
            lang.pick("两日账单均无", "in neither bill"),
            n(&c.in_missing),
            lang.pick("待前日账单", "waiting for the previous day's bill"),
            n(&c.back_waiting),
        ));
        ui.weak(format!(
            "{}{}{}{}",
            lang.pick(
                "逐笔核对：订单金额、状态、退款金额、收款时间（容差 ",
                "Compared per row: order amount, status, refund amount, payment time (within ",
            ),
            report.time_tolerance_minutes,
            lang.pick(" 分钟）、商户号（账单有时）；手续费：", " min), merchant id (where the bill names one); fee: "),
            match &report.fee_rate {
                Some(rate) => format!("{}{rate}", lang.pick("按账户费率 ", "against the account's rate ")),
                None => lang
                    .pick(
                        "未核对（订单不记手续费，账户未设费率）",
                        "not compared (orders carry no fee and the account has no fee rate)",
                    )
                    .to_owned(),
            }
        ));

        // Filters and export.
        ui.horizontal_wrapped(|ui| {
            ui.label(lang.pick("筛选", "Filter"));
            if ui.selectable_label(self.filter.is_none(), lang.pick("全部", "All")).clicked() {
                self.filter = None;
            }
            for kind in DiscrepancyKind::ALL {
                if ui.selectable_label(self.filter == Some(*kind), kind_label(*kind, lang)).clicked() {
                    self.filter = Some(*kind);
                }
            }
            ui.checkbox(&mut self.show_resolved, lang.pick("显示已处理", "show resolved"));
            let label = ui.label(lang.pick("搜索订单号", "Search order no."));
            ui.add(egui::TextEdit::singleline(&mut self.search).desired_width(140.0)).labelled_by(label.id);
            ui.separator();
            if ui.button(lang.pick("导出 CSV", "Export CSV")).clicked() {
                self.export(ctx, report, "csv");
            }
            if ui.button(lang.pick("导出 Excel", "Export Excel")).clicked() {
                self.export(ctx, report, "xlsx");
            }
        });

        let search = self.search.trim().to_owned();
        let items: Vec<&Item> = report
            .discrepancies
            .iter()
            .filter(|d| self.filter.is_none_or(|k| d.kind == k))
            .filter(|d| self.show_resolved || !d.resolved)
            .filter(|d| {
                search.is_empty()
                    || d.out_trade_no.as_deref().is_some_and(|n| n.contains(&search))
                    || d.out_request_no.as_deref().is_some_and(|n| n.contains(&search))
            })
            .collect();
        if items.is_empty() {
            ui.label(lang.pick("没有需要处理的差异。", "No differences to work on."));
            return;
        }
        let mut action: Option<RowAction> = None;
        egui::ScrollArea::both().max_height(300.0).auto_shrink([false, true]).show(ui, |ui| {
            egui::Grid::new("discrepancies").striped(true).num_columns(6).spacing([12.0, 6.0]).show(ui, |ui| {
                for h in [
                    lang.pick("类型", "Kind"),
                    lang.pick("商户订单号", "out_trade_no"),
                    lang.pick("本地", "Local"),
                    lang.pick("账单", "Bill"),
                    lang.pick("说明与建议", "Explanation and suggestion"),
                    lang.pick("操作", "Actions"),
                ] {
                    ui.strong(h);
                }
                ui.end_row();
                for d in items {
                    ui.label(kind_label(d.kind, lang));
                    ui.vertical(|ui| {
                        ui.monospace(d.out_trade_no.as_deref().unwrap_or("—"));
                        if let Some(r) = &d.out_request_no {
                            ui.weak(format!("{}{r}", lang.pick("退款单号 ", "refund ")));
                        }
                    });
                    ui.label(format!(
                        "{}\n{}",
                        amount_or_dash(d.local_amount),
                        d.local_status.as_deref().unwrap_or("")
                    ));
                    ui.label(format!("{}\n{}", amount_or_dash(d.bill_amount), d.bill_status.as_deref().unwrap_or("")));
                    ui.vertical(|ui| {
                        ui.set_max_width(380.0);
                        ui.label(d.reason.explanation(lang));
                        ui.weak(format!("{}{}", lang.pick("建议：", "Suggested: "), d.reason.action(lang)));
                        for f in &d.fields {
                            // Fees by the one rule: fen on screen, the exact values on hover.
                            let value = |v: &str| match f.field {
                                crate::recon::report::DiffField::Fee if !v.is_empty() => fee_text_of(v),
                                _ => field_value(f.field, v),
                            };
                            let line = ui.label(format!(
                                "{}{} {}{} {}",
                                field_label(f.field, lang),
                                lang.pick("：账单", ": bill"),
                                value(&f.bill),
                                lang.pick("，本地", ", till"),
                                value(&f.local),
                            ));
                            if f.field == crate::recon::report::DiffField::Fee {
                                line.on_hover_text(format!(
                                    "{}{} / {}",
                                    lang.pick("精确值：账单 / 本地 ", "Exact values: bill / till "),
                                    f.bill,
                                    f.local
                                ));
                            }
                            if let Some(advice) = field_advice(f, lang) {
                                ui.weak(advice);
                            }
                        }
                        if d.resolved {
                            ui.label(format!(
                                "{}{}",
                                lang.pick("已处理：", "Resolved: "),
                                d.note.as_deref().unwrap_or("")
                            ));
                        }
                    });
                    ui.vertical(|ui| {
                        if d.out_trade_no.is_some()
                            && ui.small_button(lang.pick("查询收单机构", "Query acquirer")).clicked()
                        {
                            action = Some(RowAction::Query(Box::new(d.clone())));
                        }
                        if !d.resolved
                            && d.reason.can_adopt()
                            && ui.small_button(lang.pick("补录为本地订单", "Adopt as local order")).clicked()
                        {
                            action = Some(RowAction::Adopt(d.id));
                        }
                        let open =
                            if d.resolved { ("重新打开", "Reopen") } else { ("标记已处理", "Mark resolved") };
                        if ui.small_button(lang.pick(open.0, open.1)).clicked() {
                            action = Some(RowAction::Resolve(Box::new(d.clone())));
                        }
                    });
                    ui.end_row();
                }
            });
        });
        if let Some(action) = action {
            self.apply(ctx, report, action);
        }
    }

    fn apply(&mut self, ctx: &mut Ctx, report: &Report, action: RowAction) {
        match action {
            RowAction::Query(item) => self.query_acquirer(ctx, report.acquirer, &item),
            RowAction::Resolve(item) => self.resolve.open(&item),
            RowAction::Adopt(id) => {
                if let Some(update) = self.resolve.adopt(ctx, report, id) {
                    self.status = Some(update.status);
                }
            }
        }
    }
}

enum RowAction {
    Query(Box<Item>),
    Adopt(DiscrepancyId),
    /// Open the resolve (or reopen) dialog.
    Resolve(Box<Item>),
}

/// The width of a summary card: fixed, so that a row of cards wraps to the next line as a whole card instead of
/// squeezing (and cutting) the last one on a narrow window.
const CARD_WIDTH: f32 = 150.0;

fn card(ui: &mut egui::Ui, title: &str, big: &str, small: &str) -> egui::Response {
    let size = egui::vec2(CARD_WIDTH, 0.0);
    ui.allocate_ui(size, |ui| {
        egui::Frame::group(ui.style())
            .inner_margin(egui::Margin::symmetric(10, 6))
            .show(ui, |ui| {
                let inner = CARD_WIDTH - 20.0;
                ui.set_width(inner);
                ui.set_min_height(64.0);
                ui.vertical(|ui| {
                    ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Wrap);
                    ui.weak(title);
                    ui.heading(big);
                    ui.label(small);
                });
            })
            .response
    })
    .inner
}
