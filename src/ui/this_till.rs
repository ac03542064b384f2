//! 本机 This till (in Settings): which store this till takes payments for, and its terminal id. Every payment
//! taken here is recorded for that store and sent with that terminal id. The stores are read, and the choice saved,
//! through the command queue.

use crate::config::{self, ConfigError};
use crate::i18n::Lang;
use crate::model::Store as StoreRow;
use crate::store::operators::Permission;
use crate::ui::Ctx;

#[derive(Debug, Default)]
pub struct ThisTillPanel {
    loaded: bool,
    stores: Vec<StoreRow>,
    /// The store number chosen in the picker.
    store_code: String,
    terminal: String,
    /// (saved, words) after Save.
    message: Option<(bool, crate::i18n::Text)>,
    reading: Option<crate::queue::Ticket<Result<Vec<StoreRow>, crate::store::StoreError>>>,
    saving: Option<crate::queue::Ticket<Result<config::ThisTill, ConfigError>>>,
}

/// A store as the picker shows it: its number and its name in the current language.
pub fn store_label(lang: Lang, s: &StoreRow) -> String {
    let name = match lang {
        Lang::ZhCn if !s.name_zh.trim().is_empty() => &s.name_zh,
        Lang::En if !s.name.trim().is_empty() => &s.name,
        _ if s.name.trim().is_empty() => &s.name_zh,
        _ => &s.name,
    };
    format!("{} {}", s.store_code, name.trim())
}

/// `set_this_till`'s refusal in words.
pub fn error_words(lang: Lang, e: &ConfigError) -> String {
    match e {
        ConfigError::UnknownStore(code) => match lang {
            Lang::ZhCn => format!("没有门店“{code}”，请从列表中选择门店"),
            Lang::En => format!("there is no store \"{code}\"; choose one from the list"),
        },
        ConfigError::TerminalId(t) => match lang {
            Lang::ZhCn => format!("终端号“{t}”不可用：只能包含字母、数字、- 和 _，最多 32 个字符"),
            Lang::En => {
                format!("the terminal id \"{t}\" cannot be used: letters, digits, - and _ only, at most 32 characters")
            }
        },
        ConfigError::Store(e) => format!(
            "{}{}",
            lang.pick("保存失败：", "could not save: "),
            crate::ui::words_setup::store_error_words(e, lang)
        ),
        other => match lang {
            Lang::ZhCn => {
                tracing::warn!(error = %other, "could not save this till");
                "保存失败：无法写入数据文件夹（详情见日志）".to_owned()
            }
            Lang::En => format!("could not save: {other}"),
        },
    }
}

/// The status bar's words for this till: "门店 S002 · 终端 T01".
pub fn status_words(lang: Lang, till: &config::ThisTill) -> String {
    let terminal = till.terminal_id.as_deref().unwrap_or(lang.pick("未设置", "not set"));
    match lang {
        Lang::ZhCn => format!("门店 {} · 终端 {terminal}", till.store_code),
        Lang::En => format!("Store {} · Terminal {terminal}", till.store_code),
    }
}

impl ThisTillPanel {
    /// Reads the stores and this till's setting again (when Settings is opened: stores may have been added).
    pub fn invalidate(&mut self) {
        self.loaded = false;
    }

    fn reload(&mut self, ctx: &mut Ctx) {
        self.loaded = true;
        self.reading = Some(ctx.queue.submit(|s| s.store.setup().stores()));
        self.store_code = ctx.till.store_code.clone();
        self.terminal = ctx.till.terminal_id.clone().unwrap_or_default();
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        if !self.loaded {
            self.reload(ctx);
        }
        self.poll(ctx);
        ui.label(egui::RichText::new(lang.pick("本机", "This till")).strong());
        ui.label(lang.pick(
            "本机收款记入所选门店，终端号随每笔收款发送给收单机构。",
            "Payments taken here are recorded for the chosen store; the terminal id goes to the acquirer with each.",
        ));
        egui::Grid::new("this-till-grid").num_columns(2).spacing([24.0, 8.0]).show(ui, |ui| {
            let picker_label = ui.label(lang.pick("本机门店", "Store of this till"));
            let selected = self
                .stores
                .iter()
                .find(|s| s.store_code == self.store_code)
                .map(|s| store_label(lang, s))
                .unwrap_or_else(|| self.store_code.clone());
            egui::ComboBox::from_id_salt("this-till-store")
                .selected_text(selected)
                .width(240.0)
                .show_ui(ui, |ui| {
                    for s in &self.stores {
                        ui.selectable_value(&mut self.store_code, s.store_code.clone(), store_label(lang, s));
                    }
                })
                .response
                .labelled_by(picker_label.id);
            ui.end_row();

            let terminal_label = ui.label(lang.pick("终端号", "Terminal id"));
            ui.add(
                egui::TextEdit::singleline(&mut self.terminal)
                    .desired_width(160.0)
                    .char_limit(64)
                    .hint_text(lang.pick("例如 T01", "e.g. T01")),
            )
            .labelled_by(terminal_label.id);
            ui.end_row();
        });
        ui.horizontal_wrapped(|ui| {
            if self.saving.is_some() {
                ui.spinner();
            } else if ui.button(lang.pick("保存本机设置", "Save this till")).clicked() {
                self.save(ctx);
            }
            if let Some((ok, text)) = &self.message {
                let color = if *ok { egui::Color32::from_rgb(0, 140, 60) } else { ui.visuals().error_fg_color };
                ui.colored_label(color, text.get(lang));
            }
        });
    }

    fn save(&mut self, ctx: &mut Ctx) {
        if let Err(e) = crate::ui::words_setup::permit_text(ctx, Permission::ChangeSettings) {
            self.message = Some((false, e));
            return;
        }
        let operator = ctx.operator_id();
        let (code, terminal) = (self.store_code.clone(), self.terminal.clone());
        self.saving = Some(ctx.queue.submit(move |s| config::set_this_till(&mut s.store, &code, &terminal, operator)));
        self.message = None;
    }

    /// Takes the stores and the outcome of Save when they arrive.
    fn poll(&mut self, ctx: &mut Ctx) {
        let store_text = |e: &crate::store::StoreError| crate::ui::words_setup::store_error_text(e);
        match crate::queue::poll_slot(&mut self.reading) {
            Some(Ok(Ok(stores))) => self.stores = stores,
            Some(Ok(Err(e))) => self.message = Some((false, store_text(&e))),
            Some(Err(e)) => self.message = Some((false, crate::i18n::Phrase::text(&e))),
            None => {}
        }
        let saved = match crate::queue::poll_slot(&mut self.saving) {
            None => return,
            Some(Err(e)) => {
                self.message = Some((false, crate::i18n::Phrase::text(&e)));
                return;
            }
            Some(Ok(saved)) => saved,
        };
        match saved {
            Ok(till) => {
                self.message = Some((
                    true,
                    crate::i18n::Text::new(
                        format!("已保存：{}", status_words(Lang::ZhCn, &till)),
                        format!("Saved: {}", status_words(Lang::En, &till)),
                    ),
                ));
                self.store_code = till.store_code.clone();
                self.terminal = till.terminal_id.clone().unwrap_or_default();
                ctx.till = till;
                // The checkout builds its engine for this till: rebuild it before the next payment.
                ctx.channels_changed();
            }
            Err(e) => {
                self.message =
                    Some((false, crate::i18n::Text::new(error_words(Lang::ZhCn, &e), error_words(Lang::En, &e))))
            }
        }
    }
}
