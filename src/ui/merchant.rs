//! 商户与门店资料: the merchant profile and the stores, edited in place (part of the Acquirers screen). They are
//! read and saved through the command queue; checking that the fonts print the names reads font files, so it runs
//! there too.

use crate::i18n::{Lang, Phrase, Text};
use crate::model::{Merchant, MerchantId, Store as StoreRow, StoreId};
use crate::money::Currency;
use crate::onboarding::{FieldIssue, Problem, validate_merchant, validate_store};
use crate::queue::{QueueError, Ticket, poll_slot};
use crate::store::StoreError;
use crate::ui::Ctx;
use crate::ui::words_setup::{permit_text, store_error_text};

/// The names a form saves that go on every printed stand, by field name (as the validators spell them).
pub(crate) type PrintedNames = Vec<(&'static str, String)>;

pub(crate) fn merchant_names(m: &Merchant) -> PrintedNames {
    vec![("display_name", m.display_name.clone()), ("display_name_zh", m.display_name_zh.clone())]
}

pub(crate) fn store_names(s: &StoreRow) -> PrintedNames {
    vec![("name", s.name.clone()), ("name_zh", s.name_zh.clone())]
}

/// Whether `names` need the full font check: not when the bundled font draws them all (a lookup, no file read).
pub(crate) fn needs_font_check(names: &PrintedNames) -> bool {
    !names.iter().all(|(_, text)| crate::print::fonts::bundled_font_draws(text))
}

/// A check that the fonts on this computer can print some names, on the command queue: the first check reads font
/// files ([`crate::print::fonts::unprintable_chars`]). The form saves only once it came back clean.
#[derive(Debug)]
pub(crate) struct NameCheck {
    pub names: PrintedNames,
    ticket: Ticket<Vec<(&'static str, Vec<char>)>>,
}

impl NameCheck {
    pub fn spawn(names: PrintedNames, queue: &crate::queue::Queue) -> Self {
        let checked = names.clone();
        let ticket = queue.run(move || {
            checked
                .iter()
                .map(|(field, text)| (*field, crate::print::fonts::unprintable_chars(text)))
                .filter(|(_, chars)| !chars.is_empty())
                .collect()
        });
        NameCheck { names, ticket }
    }

    /// `Some` once done: the fields with characters no font can print (empty: every name prints).
    pub fn poll(&mut self) -> Option<Vec<(&'static str, Vec<char>)>> {
        // The check stopped without an answer: nothing to refuse on, the print itself still names any missing
        // character.
        self.ticket.poll().map(Result::unwrap_or_default)
    }
}

/// The field problem for a name with characters no font on this computer can print.
pub(crate) fn unprintable_issue(field: &'static str, chars: &[char]) -> FieldIssue {
    FieldIssue::new(field, Problem::Unprintable(chars.to_vec()))
}

/// A spinner line while the names are checked.
pub(crate) fn show_checking(ui: &mut egui::Ui, lang: Lang) {
    ui.horizontal(|ui| {
        ui.spinner();
        ui.label(lang.pick("正在检查名称能否打印…", "Checking that the names can be printed…"));
    });
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Saving {
    Merchant,
    Store,
}

/// The merchant and its stores, as read on the queue.
type Profile = (Merchant, Vec<StoreRow>);

/// What a save wrote.
#[derive(Debug)]
enum Saved {
    Merchant,
    Store(String),
}

#[derive(Debug, Default)]
pub struct MerchantPanel {
    merchant: Option<Merchant>,
    merchant_issues: Vec<FieldIssue>,
    stores: Vec<StoreRow>,
    /// The store being edited (id 0 = a new one).
    editing: Option<StoreRow>,
    /// The merchant and the stores being read, and the save under way.
    loading: Option<Ticket<Result<Profile, StoreError>>>,
    saving: Option<Ticket<Result<Saved, StoreError>>>,
    store_issues: Vec<FieldIssue>,
    message: Option<Text>,
    /// The printed names being checked before a save, and which save waits for it.
    check: Option<(Saving, NameCheck)>,
    /// Names that passed the check (saved as soon as they are still what the form holds).
    printable: PrintedNames,
}

/// One labelled text field in a two-column grid, with its problems (from the validators) in red below it.
pub(crate) fn field(
    ui: &mut egui::Ui,
    lang: Lang,
    label: &str,
    value: &mut String,
    issues: &[FieldIssue],
    name: &str,
    hint: &str,
) {
    let label = ui.label(label);
    ui.vertical(|ui| {
        ui.add(egui::TextEdit::singleline(value).hint_text(hint).desired_width(260.0)).labelled_by(label.id);
        for i in issues.iter().filter(|i| i.field == name) {
            ui.add(egui::Label::new(egui::RichText::new(i.phrase(lang)).color(ui.visuals().error_fg_color)).wrap());
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
        field(ui, lang, lang.pick("法定名称", "Legal name"), &mut m.legal_name, issues, "legal_name", legal_hint);
        field(
            ui,
            lang,
            lang.pick("英文名称（≤25）", "Latin name (≤25)"),
            &mut m.display_name,
            issues,
            "display_name",
            "ZHANG SAN NOODLES",
        );
        field(
            ui,
            lang,
            lang.pick("中文名称", "Chinese name"),
            &mut m.display_name_zh,
            issues,
            "display_name_zh",
            "张三面馆",
        );
        field(ui, lang, lang.pick("商户类别码 MCC", "MCC"), &mut m.mcc, issues, "mcc", "5812");
        field(ui, lang, lang.pick("国家/地区", "Country"), &mut m.country, issues, "country", "CN");
        field(ui, lang, lang.pick("城市（英文）", "City (Latin)"), &mut m.city, issues, "city", "SHANGHAI");
        field(ui, lang, lang.pick("城市（中文）", "City (Chinese)"), &mut m.city_zh, issues, "city_zh", "上海");
        field(ui, lang, lang.pick("邮政编码", "Postal code"), &mut m.postal_code, issues, "postal_code", "200000");
        let label = ui.label(lang.pick("币种", "Currency"));
        egui::ComboBox::from_id_salt(format!("{id}-currency"))
            .selected_text(m.currency.code())
            .show_ui(ui, |ui| {
                for c in Currency::ALL {
                    ui.selectable_value(&mut m.currency, c, c.code());
                }
            })
            .response
            .labelled_by(label.id);
        ui.end_row();
    });
}

impl MerchantPanel {
    /// Reads the merchant and stores again (on the queue; the answer is taken in [`MerchantPanel::poll`]).
    pub fn reload(&mut self, ctx: &mut Ctx) {
        self.loading = Some(ctx.queue.submit(|q| Ok((q.store.setup_mut().merchant()?, q.store.setup().stores()?))));
    }

    /// Takes the answers that came: the merchant and stores read, a save done (true: something was saved).
    fn poll(&mut self, ctx: &mut Ctx) -> bool {
        let failed = |ctx: &mut Ctx, e: QueueError| ctx.error = Some(e.text());
        match poll_slot(&mut self.loading) {
            Some(Ok(Ok((merchant, stores)))) => {
                self.merchant = Some(merchant);
                self.stores = stores;
            }
            Some(Ok(Err(e))) => ctx.error = Some(store_error_text(&e)),
            Some(Err(e)) => failed(ctx, e),
            None => {}
        }
        match poll_slot(&mut self.saving) {
            Some(Ok(Ok(saved))) => {
                let store_saved = matches!(saved, Saved::Store(_));
                self.message = Some(match saved {
                    Saved::Merchant => Text::new("商户资料已保存", "Merchant profile saved"),
                    Saved::Store(code) => Text::new(format!("已保存门店 {code}"), format!("Saved store {code}")),
                });
                if store_saved {
                    self.editing = None;
                }
                return true;
            }
            Some(Ok(Err(e))) => ctx.error = Some(store_error_text(&e)),
            Some(Err(e)) => failed(ctx, e),
            None => {}
        }
        false
    }

    /// Picks up a finished name check: refuses the names no font prints, or saves what waited for it.
    fn poll_check(&mut self, ctx: &mut Ctx) {
        let Some((saving, check)) = &mut self.check else { return };
        let Some(refused) = check.poll() else { return };
        let (saving, names) = (*saving, check.names.clone());
        self.check = None;
        if !refused.is_empty() {
            let issues = refused.iter().map(|(field, chars)| unprintable_issue(field, chars)).collect();
            match saving {
                Saving::Merchant => self.merchant_issues = issues,
                Saving::Store => self.store_issues = issues,
            }
            self.message = Some(Text::new("请修正标红的字段", "Fix the fields marked in red"));
            return;
        }
        self.printable = names;
        match saving {
            Saving::Merchant => self.save_merchant(ctx),
            Saving::Store => self.save_store(ctx),
        }
    }

    /// Saves the merchant profile (on the queue) if it is valid and its names print (else starts the check).
    fn save_merchant(&mut self, ctx: &mut Ctx) {
        let Some(m) = self.merchant.as_ref() else { return };
        self.merchant_issues = validate_merchant(m);
        if let Err(refused) = permit_text(ctx, crate::store::operators::Permission::ChangeSettings) {
            self.message = Some(refused);
        } else if !self.merchant_issues.is_empty() {
            self.message = Some(Text::new("请修正标红的字段", "Fix the fields marked in red"));
        } else if self.printable != merchant_names(m) && needs_font_check(&merchant_names(m)) {
            self.check = Some((Saving::Merchant, NameCheck::spawn(merchant_names(m), &ctx.queue)));
        } else {
            let m = m.clone();
            self.saving = Some(
                ctx.queue.submit(move |q| q.store.setup_mut().update_merchant(&m, None).map(|()| Saved::Merchant)),
            );
        }
    }

    /// Saves the store being edited (on the queue) if it is valid and its names print (else starts the check).
    fn save_store(&mut self, ctx: &mut Ctx) {
        let Some(s) = self.editing.as_ref() else { return };
        self.store_issues = validate_store(s, &self.stores);
        if let Err(refused) = permit_text(ctx, crate::store::operators::Permission::ChangeSettings) {
            self.message = Some(refused);
        } else if !self.store_issues.is_empty() {
            self.message = Some(Text::new("请修正标红的字段", "Fix the fields marked in red"));
        } else if self.printable != store_names(s) && needs_font_check(&store_names(s)) {
            self.check = Some((Saving::Store, NameCheck::spawn(store_names(s), &ctx.queue)));
        } else {
            let s = s.clone();
            self.saving = Some(ctx.queue.submit(move |q| {
                if s.id.0 == 0 {
                    q.store.setup_mut().add_store(&s, None)?;
                } else {
                    q.store.setup_mut().update_store(&s, None)?;
                }
                Ok(Saved::Store(s.store_code))
            }));
        }
    }

    /// Returns true when something was saved (the caller reloads what depends on it).
    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) -> bool {
        let lang = ctx.lang;
        if self.merchant.is_none() && self.loading.is_none() {
            self.reload(ctx);
        }
        let saved = self.poll(ctx);
        self.poll_check(ctx);
        let checking = self.check.is_some() || self.saving.is_some();
        if self.merchant.is_none() {
            // Nothing to edit or add before the merchant and its stores have been read (a new store needs its
            // merchant), and no button whose place moves when they arrive.
            ui.label(lang.pick("正在读取商户与门店…", "Reading the merchant and stores…"));
            return saved;
        }
        if let Some(m) = self.merchant.as_mut() {
            merchant_fields(ui, lang, "merchant-profile", m, &self.merchant_issues, "");
            if ui
                .add_enabled(!checking, egui::Button::new(lang.pick("保存商户资料", "Save merchant profile")))
                .clicked()
            {
                self.save_merchant(ctx);
            }
            if matches!(self.check, Some((Saving::Merchant, _))) {
                show_checking(ui, lang);
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
            let merchant_id = self.merchant.as_ref().map(|m| m.id).unwrap_or(MerchantId(1));
            self.editing = Some(StoreRow {
                id: StoreId(0),
                merchant_id,
                store_code: String::new(),
                name: String::new(),
                name_zh: String::new(),
                address: String::new(),
                contact: String::new(),
            });
        }
        if self.editing.is_some() {
            let (mut save, mut discard) = (false, false);
            let checking_store = matches!(self.check, Some((Saving::Store, _)));
            if let Some(s) = self.editing.as_mut() {
                ui.group(|ui| {
                    egui::Grid::new("store-form").num_columns(2).spacing([16.0, 6.0]).show(ui, |ui| {
                        let issues = &self.store_issues;
                        field(
                            ui,
                            lang,
                            lang.pick("门店编号", "Store number"),
                            &mut s.store_code,
                            issues,
                            "store_code",
                            "S002",
                        );
                        field(
                            ui,
                            lang,
                            lang.pick("英文门店名", "Store name (Latin)"),
                            &mut s.name,
                            issues,
                            "name",
                            "People's Square",
                        );
                        field(
                            ui,
                            lang,
                            lang.pick("中文门店名", "Chinese store name"),
                            &mut s.name_zh,
                            issues,
                            "name_zh",
                            "人民广场店",
                        );
                        field(ui, lang, lang.pick("地址", "Address"), &mut s.address, issues, "address", "");
                        field(ui, lang, lang.pick("联系人", "Contact"), &mut s.contact, issues, "contact", "");
                    });
                    ui.horizontal(|ui| {
                        save =
                            ui.add_enabled(!checking, egui::Button::new(lang.pick("保存门店", "Save store"))).clicked();
                        discard = ui.button(lang.pick("取消编辑", "Discard")).clicked();
                    });
                    if checking_store {
                        show_checking(ui, lang);
                    }
                });
            }
            if save {
                self.save_store(ctx);
            }
            if discard {
                self.editing = None;
                self.check = None;
                self.store_issues.clear();
            }
        }
        if let Some(m) = &self.message {
            ui.label(m.get(lang));
        }
        if saved {
            self.reload(ctx);
        }
        saved
    }
}
