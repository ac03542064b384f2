//! Staff (员工) in Settings: the first run creates the owner; operators sign in with their PIN (and out); anyone
//! signed in changes their own PIN; the owner adds staff and reads the append-only audit log.
//!
//! Argon2 is slow on purpose, so every PIN hash and check runs on a background thread with its own database
//! connection ([`Background`]); the panel shows a spinner until it reports back.

use crate::i18n::{Lang, Phrase, Text};
use crate::model::{AuditEntry, Operator, Role};
use crate::routing::backend::{self, StaffError};
use crate::store::operators::{AddOperatorError, AuthError, Permission, VerifyError, require};
use crate::ui::jobs::{Background, BackgroundError};
use crate::ui::{Ctx, role_label};

/// What the panel is waiting for.
enum Pending {
    CreateOwner(Background<Result<Operator, AddOperatorError>>),
    SignIn(Background<Result<Operator, StaffError>>),
    Add(Background<Result<Operator, StaffError>>),
    ChangePin(Background<Result<(), ChangePinError>>),
}

/// Changing one's own PIN: the current one is checked first.
#[derive(Debug, thiserror::Error)]
enum ChangePinError {
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Change(#[from] AddOperatorError),
}

#[derive(Default)]
pub struct StaffPanel {
    name: String,
    pin: String,
    new_name: String,
    new_pin: String,
    new_role: Option<Role>,
    old_pin: String,
    changed_pin: String,
    message: Option<(bool, Text)>,
    signed_in: Option<Operator>,
    audit: Vec<AuditEntry>,
    pending: Option<Pending>,
}

impl std::fmt::Debug for StaffPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffPanel").field("signed_in", &self.signed_in).finish_non_exhaustive()
    }
}

impl Phrase for AuthError {
    fn phrase(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::ZhCn, AuthError::NameOrPin) => "姓名或 PIN 不正确".into(),
            (Lang::ZhCn, AuthError::LockedOut { name, seconds }) => {
                format!("{name} 的 PIN 错误次数过多，已锁定：请 {seconds} 秒后再试")
            }
            (Lang::ZhCn, AuthError::PinFormat { min, .. }) => format!("PIN 须为 {min} 到 12 位数字"),
            (Lang::ZhCn, AuthError::NameFormat) => "姓名须为 1 到 32 个字符".into(),
            (Lang::ZhCn, AuthError::NotAllowed { name, .. }) => {
                format!("{name} 无权进行此操作，请换有权限的人员登录")
            }
            (Lang::En, e) => e.to_string(),
        }
    }
}

impl Phrase for AddOperatorError {
    fn phrase(&self, lang: Lang) -> String {
        match self {
            AddOperatorError::Auth(a) => a.phrase(lang),
            AddOperatorError::Taken(name) => match lang {
                Lang::ZhCn => format!("已有名为 {name} 的操作员"),
                Lang::En => self.to_string(),
            },
            AddOperatorError::Store(s) => crate::ui::words_backoffice::store_error_words(s, lang),
        }
    }
}

impl Phrase for VerifyError {
    fn phrase(&self, lang: Lang) -> String {
        match self {
            VerifyError::Auth(a) => a.phrase(lang),
            VerifyError::Store(s) => crate::ui::words_backoffice::store_error_words(s, lang),
        }
    }
}

impl Phrase for BackgroundError {
    fn phrase(&self, lang: Lang) -> String {
        match self {
            BackgroundError::Store(s) => crate::ui::words_backoffice::store_error_words(s, lang),
            BackgroundError::Died => {
                lang.pick("后台任务意外结束", "the background work stopped without an answer").into()
            }
        }
    }
}

/// A refused PIN or operator, in the interface language.
pub fn auth_words(lang: Lang, e: &AuthError) -> String {
    e.phrase(lang)
}

/// A refused new operator or PIN, in the interface language.
pub fn add_words(lang: Lang, e: &AddOperatorError) -> String {
    e.phrase(lang)
}

/// A refused PIN check, in the interface language.
pub fn verify_words(lang: Lang, e: &VerifyError) -> String {
    e.phrase(lang)
}

/// "林 (店主)" in both languages.
fn named(verb_zh: &str, verb_en: &str, op: &Operator) -> Text {
    let role = |lang| role_label(lang, op.role);
    Text::new(
        format!("{verb_zh} {}（{}）", op.name, role(Lang::ZhCn)),
        format!("{verb_en} {} ({})", op.name, role(Lang::En)),
    )
}

impl StaffPanel {
    /// Whether a PIN is being hashed or checked.
    pub fn busy(&self) -> bool {
        self.pending.is_some()
    }

    /// Picks up finished PIN work.
    fn poll(&mut self, ctx: &mut Ctx) {
        let Some(pending) = self.pending.as_mut() else { return };
        let (ok, text) = match pending {
            Pending::Add(job) => {
                let Some(answer) = job.poll() else { return };
                match answer {
                    Ok(Ok(op)) => (true, named("已添加", "Added", &op)),
                    Ok(Err(e)) => (false, e.text()),
                    Err(e) => (false, e.text()),
                }
            }
            Pending::CreateOwner(job) => {
                let Some(answer) = job.poll() else { return };
                match answer {
                    Ok(Ok(op)) => {
                        let text = named("已添加", "Added", &op);
                        ctx.sign_in(Some(&op));
                        self.signed_in = Some(op);
                        (true, text)
                    }
                    Ok(Err(e)) => (false, e.text()),
                    Err(e) => (false, e.text()),
                }
            }
            Pending::SignIn(job) => {
                let Some(answer) = job.poll() else { return };
                match answer {
                    Ok(Ok(op)) => {
                        let text = named("已登录", "Signed in:", &op);
                        ctx.sign_in(Some(&op));
                        self.signed_in = Some(op);
                        (true, text)
                    }
                    Ok(Err(e)) => (false, e.text()),
                    Err(e) => (false, e.text()),
                }
            }
            Pending::ChangePin(job) => {
                let Some(answer) = job.poll() else { return };
                match answer {
                    Ok(Ok(())) => (true, Text::new("PIN 已更改", "PIN changed")),
                    Ok(Err(ChangePinError::Verify(e))) => (false, e.text()),
                    Ok(Err(ChangePinError::Change(e))) => (false, e.text()),
                    Err(e) => (false, e.text()),
                }
            }
        };
        self.pending = None;
        self.message = Some((ok, text));
        self.audit.clear();
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        self.poll(ctx);
        // Someone signed in elsewhere (the first-run wizard signs in the owner it creates): show them as signed in.
        if self.signed_in.as_ref().map(|o| o.name.as_str()) != ctx.operator.as_deref() {
            self.signed_in = ctx.operator.as_deref().and_then(|n| ctx.home.store.operator_by_name(n).ok().flatten());
            self.audit.clear();
        }
        ui.heading(lang.pick("员工", "Staff"));
        let has_owner = ctx.home.store.has_owner().unwrap_or(false);
        let field = |ui: &mut egui::Ui, label: &str, text: &mut String, password: bool| {
            let l = ui.label(label);
            ui.add(egui::TextEdit::singleline(text).password(password).desired_width(160.0)).labelled_by(l.id);
        };
        let db = ctx.home.store.path().to_owned();
        let me_id = ctx.operator_id();
        let busy = self.busy();
        if !has_owner {
            ui.label(lang.pick(
                "首次使用：请创建店主账号（拥有全部权限，PIN 为 6 到 12 位数字）。",
                "First run: create the owner (allowed everything; the PIN is 6 to 12 digits).",
            ));
            ui.horizontal(|ui| {
                field(ui, lang.pick("店主姓名", "Owner name"), &mut self.name, false);
                field(ui, lang.pick("店主 PIN", "Owner PIN"), &mut self.pin, true);
                if ui.add_enabled(!busy, egui::Button::new(lang.pick("创建店主", "Create owner"))).clicked() {
                    let (name, pin) = (self.name.clone(), std::mem::take(&mut self.pin));
                    self.pending =
                        Some(Pending::CreateOwner(Background::spawn(db.clone(), me_id, ui.ctx(), move |s| {
                            s.add_operator(&name, Role::Owner, &pin, None)
                        })));
                }
            });
        } else {
            ui.horizontal(|ui| {
                field(ui, lang.pick("操作员", "Operator"), &mut self.name, false);
                field(ui, "PIN", &mut self.pin, true);
                if ui.add_enabled(!busy, egui::Button::new(lang.pick("登录 / 切换", "Sign in / switch"))).clicked()
                {
                    let (name, pin) = (self.name.clone(), std::mem::take(&mut self.pin));
                    // Staff of a till enrolled with a merchant backend sign in there.
                    match backend_client(ctx) {
                        Err(text) => self.message = Some((false, text)),
                        Ok(client) => {
                            self.pending =
                                Some(Pending::SignIn(Background::spawn(db.clone(), me_id, ui.ctx(), move |s| {
                                    match &client {
                                        Some(c) => backend::block_on(backend::sign_in_with(s, c, &name, &pin))
                                            .map(|(op, _session)| op),
                                        None => s.verify_pin(&name, &pin).map_err(StaffError::from),
                                    }
                                })));
                        }
                    }
                }
                if ctx.operator.is_some()
                    && ui.add_enabled(!busy, egui::Button::new(lang.pick("退出登录", "Sign out"))).clicked()
                {
                    ctx.sign_in(None);
                    self.signed_in = None;
                    self.message = Some((true, Text::new("已退出登录", "Signed out")));
                }
            });
        }
        if let Some(pending) = &self.pending {
            let started = match pending {
                Pending::CreateOwner(j) => j.started,
                Pending::SignIn(j) | Pending::Add(j) => j.started,
                Pending::ChangePin(j) => j.started,
            };
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!(
                    "{} ({} s)",
                    lang.pick("正在核对 PIN…", "Checking the PIN…"),
                    started.elapsed().as_secs()
                ));
            });
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(100));
        }
        if let Some((ok, text)) = &self.message {
            let color = if *ok { ok_color(ui) } else { ui.visuals().error_fg_color };
            ui.colored_label(color, text.get(lang));
        }
        let Some(me) = self.signed_in.clone() else { return };
        ui.separator();
        ui.strong(lang.pick("更改我的 PIN", "Change my PIN"));
        ui.horizontal(|ui| {
            field(ui, lang.pick("当前 PIN", "Current PIN"), &mut self.old_pin, true);
            field(ui, lang.pick("新的 PIN", "New PIN for me"), &mut self.changed_pin, true);
            if ui.add_enabled(!busy, egui::Button::new(lang.pick("更改 PIN", "Change PIN"))).clicked() {
                let (old, new) = (std::mem::take(&mut self.old_pin), std::mem::take(&mut self.changed_pin));
                let name = me.name.clone();
                self.pending = Some(Pending::ChangePin(Background::spawn(db.clone(), me_id, ui.ctx(), move |s| {
                    let op = s.verify_pin(&name, &old)?;
                    s.change_pin(op.id, &new, Some(op.id))?;
                    Ok(())
                })));
            }
        });
        if require(&me, Permission::ManageStaff).is_ok() {
            ui.separator();
            ui.strong(lang.pick("添加员工", "Add an operator"));
            ui.label(lang.pick(
                "PIN：店主与财务 6 到 12 位数字，收银员 4 到 12 位。",
                "PINs: 6 to 12 digits for the owner and back office, 4 to 12 for cashiers.",
            ));
            if ctx.backend_url.is_some() {
                ui.label(lang.pick(
                    "员工添加在商户后台：请在上方“当前 PIN”中输入您的 PIN 以确认。",
                    "Staff are added at the merchant backend: type your PIN in \"Current PIN\" above to confirm.",
                ));
            }
            ui.horizontal(|ui| {
                field(ui, lang.pick("姓名", "Name"), &mut self.new_name, false);
                field(ui, lang.pick("新 PIN", "New PIN"), &mut self.new_pin, true);
                let role_text =
                    self.new_role.map_or(lang.pick("选择角色", "Choose a role"), |r| role_label(lang, r));
                // The caption before the list, and the list named by it (its value is the chosen role).
                let caption = ui.label(lang.pick("角色", "Role"));
                egui::ComboBox::from_id_salt("staff-role")
                    .selected_text(role_text)
                    .show_ui(ui, |ui| {
                        for role in [Role::Owner, Role::BackOffice, Role::Cashier] {
                            ui.selectable_value(&mut self.new_role, Some(role), role_label(lang, role));
                        }
                    })
                    .response
                    .labelled_by(caption.id);
                if ui.add_enabled(!busy, egui::Button::new(lang.pick("添加", "Add"))).clicked() {
                    match self.new_role {
                        None => self.message = Some((false, Text::new("请选择角色", "Choose a role"))),
                        Some(role) => {
                            let (name, pin) = (self.new_name.clone(), std::mem::take(&mut self.new_pin));
                            let by = me.id;
                            // At a merchant backend the owner's PIN is checked there: asked in the PIN field above.
                            let owner = (me.name.clone(), self.old_pin.clone());
                            match backend_client(ctx) {
                                Err(text) => self.message = Some((false, text)),
                                Ok(client) => {
                                    self.pending =
                                        Some(Pending::Add(Background::spawn(db.clone(), me_id, ui.ctx(), move |s| {
                                            match &client {
                                                Some(c) => backend::block_on(backend::add_operator(
                                                    s,
                                                    c,
                                                    Some((&owner.0, &owner.1)),
                                                    &name,
                                                    role,
                                                    &pin,
                                                )),
                                                None => s.add_operator(&name, role, &pin, Some(by)).map_err(Into::into),
                                            }
                                        })));
                                }
                            }
                        }
                    }
                }
            });
            if let Ok(ops) = ctx.home.store.operators() {
                for op in ops {
                    ui.label(format!("{} · {}", op.name, role_label(lang, op.role)));
                }
            }
        }
        if require(&me, Permission::ViewAudit).is_ok() {
            ui.separator();
            ui.strong(lang.pick("审计日志（只增不改，北京时间）", "Audit log (append-only, China time)"));
            if self.audit.is_empty() {
                self.audit = ctx.home.store.audit_page(None, 200).unwrap_or_default();
            }
            let names: Vec<(crate::model::OperatorId, String)> =
                ctx.home.store.operators().unwrap_or_default().into_iter().map(|o| (o.id, o.name)).collect();
            egui::ScrollArea::vertical().max_height(240.0).min_scrolled_height(200.0).id_salt("audit").show(ui, |ui| {
                audit_list(ui, &self.audit, &names, lang);
            });
        }
    }
}

/// The audit entries, phrased, each with its raw record on hover (for support).
pub fn audit_list(ui: &mut egui::Ui, entries: &[AuditEntry], names: &[(crate::model::OperatorId, String)], lang: Lang) {
    use crate::ui::words_backoffice::{audit_line, audit_raw};
    for e in entries {
        let who = e.operator_id.and_then(|id| names.iter().find(|(o, _)| *o == id)).map(|(_, n)| n.as_str());
        ui.label(audit_line(e, who, lang)).on_hover_text(audit_raw(e));
    }
}

/// The colour of a message saying something went well, readable on the light and the dark theme.
pub fn ok_color(ui: &egui::Ui) -> egui::Color32 {
    if ui.visuals().dark_mode { egui::Color32::from_rgb(60, 170, 90) } else { egui::Color32::from_rgb(20, 120, 50) }
}

/// The merchant backend's client when this till is enrolled with one (its staff live there), None when not; the
/// words to show when the vault holding the till's token is locked.
fn backend_client(ctx: &Ctx) -> Result<Option<crate::channel::backend::BackendClient>, Text> {
    if ctx.backend_url.is_none() {
        return Ok(None);
    }
    let Some(vault) = &ctx.vault else { return Err(crate::ui::words_backend::unlock_first()) };
    backend::client(&ctx.home.store, vault).map_err(|e| crate::ui::words_backend::link_error(&e))
}
