//! The orders screen's filter bar: the period presets and custom days, wallet, store, cashier, status, amounts,
//! the search and the sort; applying it reads the list again through the queue.

use super::*;

impl OrdersScreen {
    pub(super) fn filter_bar(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        let mut apply = false;
        let mut reset = false;
        // The days: every day, a preset, or typed (China business days).
        ui.horizontal_wrapped(|ui| {
            ui.label(lang.pick("日期", "Days"));
            if ui.selectable_label(self.form.period.is_none(), lang.pick("全部日期", "All days")).clicked() {
                self.form.period = None;
                self.form.from.clear();
                self.form.to.clear();
                apply = true;
            }
            for p in Period::PRESETS {
                if ui.selectable_label(self.form.period == Some(p), p.label(lang)).clicked() {
                    self.form.period = Some(p);
                    self.form.from.clear();
                    self.form.to.clear();
                    apply = true;
                }
            }
            let mut typed = false;
            for (caption, text) in
                [(lang.pick("从", "From"), &mut self.form.from), (lang.pick("到", "To"), &mut self.form.to)]
            {
                let l = ui.label(caption);
                let r = ui.add(egui::TextEdit::singleline(text).desired_width(90.0).hint_text("2026-11-25"));
                let r = r.labelled_by(l.id);
                typed |= r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            }
            if typed {
                match self.custom_period() {
                    Ok(p) => {
                        self.form.period = p;
                        apply = true;
                    }
                    Err(e) => self.filter_error = Some(e),
                }
            }
            ui.label(lang.pick("（北京时间）", "(China time)"));
        });
        ui.horizontal_wrapped(|ui| {
            // Each caption stays with its field or drop-down when the bar wraps.
            let field = |ui: &mut egui::Ui, label: &str, text: &mut String, width: f32| {
                room_for(ui, label, width + 8.0);
                ui.horizontal(|ui| {
                    let l = ui.label(label);
                    let r = ui.add(egui::TextEdit::singleline(text).desired_width(width)).labelled_by(l.id);
                    r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter))
                })
                .inner
            };
            apply |= field(ui, lang.pick("搜索", "Search"), &mut self.form.search, 170.0);
            apply |= field(ui, lang.pick("最小金额", "Min"), &mut self.form.min_amount, 60.0);
            apply |= field(ui, lang.pick("最大金额", "Max"), &mut self.form.max_amount, 60.0);
            // Labels before their drop-downs; each drop-down is named by its label and shows its chosen value.
            let combo = |ui: &mut egui::Ui, id: &str, caption: &str, chosen: String| {
                let l = ui.label(caption);
                (egui::ComboBox::from_id_salt(id).selected_text(chosen), l.id)
            };
            let status_text = self.form.status.map_or(lang.pick("全部状态", "All statuses"), |s| s.label(lang));
            room_for(ui, lang.pick("状态", "Status"), COMBO_WIDTH);
            ui.horizontal(|ui| {
                let (c, label) = combo(ui, "orders-status", lang.pick("状态", "Status"), status_text.to_owned());
                let r = c.show_ui(ui, |ui| {
                    apply |= ui
                        .selectable_value(&mut self.form.status, None, lang.pick("全部状态", "All statuses"))
                        .clicked();
                    for s in OrderStatus::ALL {
                        apply |= ui.selectable_value(&mut self.form.status, Some(*s), s.label(lang)).clicked();
                    }
                });
                r.response.labelled_by(label);
            });
            let acquirers = self.acquirers.clone();
            let acq_text = self.form.acquirer.map_or(lang.pick("全部钱包", "All wallets").to_owned(), |id| {
                acquirer_words_of(&acquirers, id, lang)
            });
            room_for(ui, lang.pick("钱包", "Wallet"), COMBO_WIDTH);
            ui.horizontal(|ui| {
                let (c, label) = combo(ui, "orders-acquirer", lang.pick("钱包", "Wallet"), acq_text);
                let r = c.show_ui(ui, |ui| {
                    apply |= ui
                        .selectable_value(&mut self.form.acquirer, None, lang.pick("全部钱包", "All wallets"))
                        .clicked();
                    for a in &acquirers {
                        let words = acquirer_words_of(&acquirers, a.id, lang);
                        apply |= ui.selectable_value(&mut self.form.acquirer, Some(a.id), words).clicked();
                    }
                });
                r.response.labelled_by(label);
            });
            let store_name = |s: &crate::model::Store| {
                let name = if lang == Lang::ZhCn && !s.name_zh.trim().is_empty() { &s.name_zh } else { &s.name };
                format!("{} {name}", s.store_code)
            };
            let store_text = self
                .form
                .store
                .and_then(|id| self.stores.iter().find(|s| s.id == id))
                .map_or(lang.pick("全部门店", "All stores").to_owned(), store_name);
            room_for(ui, lang.pick("门店", "Store"), COMBO_WIDTH);
            ui.horizontal(|ui| {
                let (c, label) = combo(ui, "orders-store", lang.pick("门店", "Store"), store_text);
                let r = c.show_ui(ui, |ui| {
                    apply |=
                        ui.selectable_value(&mut self.form.store, None, lang.pick("全部门店", "All stores")).clicked();
                    for s in &self.stores {
                        apply |= ui.selectable_value(&mut self.form.store, Some(s.id), store_name(s)).clicked();
                    }
                });
                r.response.labelled_by(label);
            });
            if self.own_only.is_none() {
                let op_text = self
                    .form
                    .operator
                    .and_then(|id| self.operators.iter().find(|o| o.id == id))
                    .map_or(lang.pick("全部收款员", "All cashiers").to_owned(), |o| o.name.clone());
                room_for(ui, lang.pick("收款员", "Taken by"), COMBO_WIDTH);
                ui.horizontal(|ui| {
                    let (c, label) = combo(ui, "orders-operator", lang.pick("收款员", "Taken by"), op_text);
                    let r = c.show_ui(ui, |ui| {
                        apply |= ui
                            .selectable_value(&mut self.form.operator, None, lang.pick("全部收款员", "All cashiers"))
                            .clicked();
                        for o in &self.operators {
                            apply |=
                                ui.selectable_value(&mut self.form.operator, Some(o.id), o.name.as_str()).clicked();
                        }
                    });
                    r.response.labelled_by(label);
                });
            } else {
                ui.label(lang.pick("（仅显示本人收款）", "(your own payments only)"));
            }
            let sort_before = self.sort;
            room_for(ui, lang.pick("排序", "Sort"), COMBO_WIDTH);
            ui.horizontal(|ui| {
                let (c, label) =
                    combo(ui, "orders-sort", lang.pick("排序", "Sort"), sort_label(self.sort, lang).to_owned());
                let r = c.show_ui(ui, |ui| {
                    for s in [
                        OrderSort::NewestFirst,
                        OrderSort::OldestFirst,
                        OrderSort::LargestFirst,
                        OrderSort::SmallestFirst,
                    ] {
                        ui.selectable_value(&mut self.sort, s, sort_label(s, lang));
                    }
                });
                r.response.labelled_by(label);
            });
            apply |= self.sort != sort_before;
            apply |= ui.button(lang.pick("查询", "Apply")).clicked();
            reset = ui.button(lang.pick("重置", "Reset")).clicked();
            if let Some(format) = self.export.buttons(ui, lang) {
                let (filter, sort) = (self.filter.clone(), self.sort);
                self.export.start(
                    ctx,
                    "orders",
                    format,
                    Box::new(move |s, path, progress, cancel| {
                        crate::export::export_orders(&s.store, &filter, sort, path, lang, progress, cancel)
                    }),
                );
            }
        });
        self.export.show(ui, ctx);
        if let Some(e) = &self.filter_error {
            ui.colored_label(ui.visuals().error_fg_color, e.get(lang));
        }
        if reset {
            self.form = FilterForm::default();
            self.sort = OrderSort::default();
            self.selected = None;
            apply = true;
        }
        if apply {
            if self.form.period.is_some_and(|p| matches!(p, Period::Custom(..))) {
                match self.custom_period() {
                    Ok(p) => self.form.period = p,
                    Err(e) => {
                        self.filter_error = Some(e);
                        return;
                    }
                }
            }
            self.apply_filter(ctx);
        }
    }
}

pub(super) fn sort_label(sort: OrderSort, lang: Lang) -> &'static str {
    match sort {
        OrderSort::NewestFirst => lang.pick("最新在前", "Newest first"),
        OrderSort::OldestFirst => lang.pick("最早在前", "Oldest first"),
        OrderSort::LargestFirst => lang.pick("金额从大到小", "Largest first"),
        OrderSort::SmallestFirst => lang.pick("金额从小到大", "Smallest first"),
    }
}
