//! 商户与门店资料: the merchant profile and the stores, edited in place (part of the Acquirers screen).

use crate::model::{Merchant, Store, StoreId};
use crate::money::Currency;
use crate::onboarding::{FieldIssue, validate_merchant, validate_store};
use crate::ui::Ctx;

#[derive(Debug, Default)]
pub struct MerchantPanel {
    merchant: Option<Merchant>,
    merchant_issues: Vec<FieldIssue>,
    stores: Vec<Store>,
    /// The store being edited (id 0 = a new one).
    editing: Option<Store>,
    store_issues: Vec<FieldIssue>,
    message: Option<String>,
}

/// One labelled text field in a two-column grid, with its problems (from the validators) in red below it.
pub(crate) fn field(ui: &mut egui::Ui, label: &str, value: &mut String, issues: &[FieldIssue], name: &str, hint: &str) {
    let label = ui.label(label);
    ui.vertical(|ui| {
        ui.add(egui::TextEdit::singleline(value).hint_text(hint).desired_width(260.0)).labelled_by(label.id);
        for i in issues.iter().filter(|i| i.field == name) {
            ui.colored_label(ui.visuals().error_fg_color, &i.message);
        }
    });
    ui.end_row();
}

/// The merchant profile's fields as a two-column grid, each with its validation message (the Merchant screen and
/// the first-run wizard). `legal_hint` is the legal name's placeholder.
pub(crate) fn merchant_fields(
    ui: &mut egui::Ui,
    lang: crate::i18n::Lang,
    id: &str,
    m: &mut crate::model::Merchant,
    issues: &[FieldIssue],
    legal_hint: &str,
) {
    egui::Grid::new(id).num_columns(2).spacing([16.0, 6.0]).show(ui, |ui| {
        field(ui, lang.pick("法定名称", "Legal name"), &mut m.legal_name, issues, "legal_name", legal_hint);
        field(
            ui,
            lang.pick("英文名称（≤25）", "Latin name (≤25)"),
            &mut m.display_name,
            issues,
            "display_name",
            "ZHANG SAN NOODLES",
        );
        field(ui, lang.pick("中文名称", "Chinese name"), &mut m.display_name_zh, issues, "display_name_zh", "张三面馆");
        field(ui, lang.pick("商户类别码 MCC", "MCC"), &mut m.mcc, issues, "mcc", "5812");
        field(ui, lang.pick("国家/地区", "Country"), &mut m.country, issues, "country", "CN");
        field(ui, lang.pick("城市（英文）", "City (Latin)"), &mut m.city, issues, "city", "SHANGHAI");
        field(ui, lang.pick("城市（中文）", "City (Chinese)"), &mut m.city_zh, issues, "city_zh", "上海");
        field(ui, lang.pick("邮政编码", "Postal code"), &mut m.postal_code, issues, "postal_code", "200000");
        ui.label(lang.pick("币种", "Currency"));
        egui::ComboBox::from_id_salt(format!("{id}-currency")).selected_text(m.currency.code()).show_ui(ui, |ui| {
            for c in Currency::ALL {
                ui.selectable_value(&mut m.currency, c, c.code());
            }
        });
        ui.end_row();
    });
}

impl MerchantPanel {
    /// Re-reads the merchant and stores from the database.
    pub fn reload(&mut self, ctx: &mut Ctx) {
        match ctx.home.store.merchant() {
            Ok(m) => self.merchant = Some(m),
            Err(e) => ctx.error = Some(e.to_string()),
        }
        match ctx.home.store.stores() {
            Ok(s) => self.stores = s,
            Err(e) => ctx.error = Some(e.to_string()),
        }
    }

    /// Returns true when something was saved (the caller reloads what depends on it).
    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) -> bool {
        let lang = ctx.lang;
        if self.merchant.is_none() {
            self.reload(ctx);
        }
        let mut saved = false;
        if let Some(m) = self.merchant.as_mut() {
            merchant_fields(ui, lang, "merchant-profile", m, &self.merchant_issues, "");
            if ui.button(lang.pick("保存商户资料", "Save merchant profile")).clicked() {
                self.merchant_issues = validate_merchant(m);
                if let Err(refused) = ctx.permit(crate::store::operators::Permission::ChangeSettings) {
                    self.message = Some(refused);
                } else if self.merchant_issues.is_empty() {
                    match ctx.home.store.update_merchant(m, None) {
                        Ok(()) => {
                            self.message = Some(lang.pick("商户资料已保存", "Merchant profile saved").into());
                            saved = true;
                        }
                        Err(e) => ctx.error = Some(e.to_string()),
                    }
                } else {
                    self.message = Some(lang.pick("请修正标红的字段", "Fix the fields marked in red").into());
                }
            }
        }
        ui.add_space(8.0);
        ui.label(egui::RichText::new(lang.pick("门店", "Stores")).strong());
        let mut edit = None;
        egui::Grid::new("store-list").num_columns(4).striped(true).spacing([16.0, 4.0]).show(ui, |ui| {
            for s in &self.stores {
                ui.monospace(&s.store_code);
                ui.label(format!("{} {}", s.name, s.name_zh));
                ui.label(&s.address);
                if ui.small_button(format!("{} {}", lang.pick("编辑", "Edit"), s.store_code)).clicked() {
                    edit = Some(s.clone());
                }
                ui.end_row();
            }
        });
        if let Some(s) = edit {
            self.editing = Some(s);
            self.store_issues.clear();
        }
        if self.editing.is_none() && ui.button(lang.pick("新增门店", "Add store")).clicked() {
            let merchant_id = self.merchant.as_ref().map(|m| m.id).unwrap_or(crate::model::MerchantId(1));
            self.editing = Some(Store {
                id: StoreId(0),
                merchant_id,
                store_code: String::new(),
                name: String::new(),
                name_zh: String::new(),
                address: String::new(),
                contact: String::new(),
            });
        }
        if let Some(mut editing) = self.editing.take() {
            let s = &mut editing;
            let mut keep = true;
            ui.group(|ui| {
                egui::Grid::new("store-form").num_columns(2).spacing([16.0, 6.0]).show(ui, |ui| {
                    let issues = &self.store_issues;
                    field(ui, lang.pick("门店编号", "Store number"), &mut s.store_code, issues, "store_code", "S002");
                    field(ui, lang.pick("门店名称", "Store name"), &mut s.name, issues, "name", "People's Square");
                    field(ui, lang.pick("中文门店名", "Chinese name"), &mut s.name_zh, issues, "name_zh", "人民广场店");
                    field(ui, lang.pick("地址", "Address"), &mut s.address, issues, "address", "");
                    field(ui, lang.pick("联系人", "Contact"), &mut s.contact, issues, "contact", "");
                });
                ui.horizontal(|ui| {
                    if ui.button(lang.pick("保存门店", "Save store")).clicked() {
                        self.store_issues = validate_store(s, &self.stores);
                        if let Err(refused) = ctx.permit(crate::store::operators::Permission::ChangeSettings) {
                            self.message = Some(refused);
                        } else if self.store_issues.is_empty() {
                            let result = if s.id.0 == 0 {
                                ctx.home.store.add_store(s, None).map(|_| ())
                            } else {
                                ctx.home.store.update_store(s, None)
                            };
                            match result {
                                Ok(()) => {
                                    self.message =
                                        Some(format!("{} {}", lang.pick("已保存门店", "Saved store"), s.store_code));
                                    keep = false;
                                    saved = true;
                                }
                                Err(e) => ctx.error = Some(e.to_string()),
                            }
                        }
                    }
                    if ui.button(lang.pick("取消编辑", "Discard")).clicked() {
                        keep = false;
                    }
                });
            });
            if keep {
                self.editing = Some(editing);
            }
        }
        if let Some(m) = &self.message {
            ui.label(m);
        }
        if saved {
            self.reload(ctx);
        }
        saved
    }
}
