//! Staff (员工) in Settings: the first run creates the owner; operators sign in with their PIN (and out); anyone
//! signed in changes their own PIN; the owner adds staff and reads the append-only audit log.
//!
//! Argon2 is slow on purpose, so every PIN hash and check — and every read of the staff and the audit log — goes
//! through the command queue ([`crate::queue`]); the panel shows a spinner until the answer comes back.

use std::time::Instant;

use crate::i18n::{Lang, Phrase, Text};
use crate::model::{AuditEntry, Operator, Role};
use crate::queue::Ticket;
use crate::routing::backend::{self, StaffError};
use crate::store::StoreError;
use crate::store::operators::{AddOperatorError, AuthError, Permission, SetActiveError, VerifyError, require};
use crate::ui::{Ctx, role_label};

/// What the panel is waiting for.
enum Pending {
    CreateOwner(Ticket<Result<Operator, StaffError>>),
    SignIn(Ticket<Result<Operator, StaffError>>),
    /// A sign-out at the merchant backend (a till enrolled with one): the till forgot the session already.
    SignOut(Ticket<Result<(), StaffError>>),
    Add(Ticket<Result<Operator, StaffError>>),
    ChangePin(Ticket<Result<(), StaffError>>),
    /// Deactivating (false) or reactivating (true) an operator.
    SetActive(bool, Ticket<Result<Operator, StaffError>>),
}

/// The staff and the newest audit entries, as last read.
struct Roster {
    operators: Vec<Operator>,
    audit: Vec<AuditEntry>,
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
    /// None: to be read (again).
    roster: Option<Roster>,
    reading: Option<Ticket<Result<Roster, StoreError>>>,
    pending: Option<Pending>,
    /// When the pending work was sent.
    started: Option<Instant>,
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

impl Phrase for SetActiveError {
    fn phrase(&self, lang: Lang) -> String {
        match self {
            SetActiveError::Unknown(name) => match lang {
                Lang::ZhCn => format!("没有名为 {name} 的操作员"),
                Lang::En => self.to_string(),
            },
            SetActiveError::LastOwner(name) => match lang {
                Lang::ZhCn => format!("{name} 是唯一在职的店主，不能停用：请先添加另一位店主"),
                Lang::En => {
                    format!("{name} is the only active owner and cannot be deactivated: add another owner first")
                }
            },
            SetActiveError::Store(s) => crate::ui::words_backoffice::store_error_words(s, lang),
        }
    }
}

/// A refused deactivation or reactivation, in the interface language.
pub fn active_words(lang: Lang, e: &SetActiveError) -> String {
    e.phrase(lang)
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
            Pending::SignOut(job) => {
                let Some(answer) = job.poll() else { return };
                match answer {
                    Ok(Ok(())) => (true, Text::new("已退出登录", "Signed out")),
                    Ok(Err(e)) => (false, e.text()),
                    Err(e) => (false, e.text()),
                }
            }
            Pending::ChangePin(job) => {
                let Some(answer) = job.poll() else { return };
                match answer {
                    Ok(Ok(())) => (true, Text::new("PIN 已更改", "PIN changed")),
                    Ok(Err(e)) => (false, e.text()),
                    Err(e) => (false, e.text()),
                }
            }
            Pending::SetActive(active, job) => {
                let active = *active;
                let Some(answer) = job.poll() else { return };
                match answer {
                    Ok(Ok(op)) if active => (true, named("已重新启用", "Reactivated", &op)),
                    Ok(Ok(op)) => (true, named("已停用", "Deactivated", &op)),
                    Ok(Err(e)) => (false, e.text()),
                    Err(e) => (false, e.text()),
                }
            }
        };
        self.pending = None;
        self.started = None;
        self.message = Some((ok, text));
        self.roster = None;
        ctx.staff_changed();
    }

    /// Sends `pending` and notes when.
    fn send(&mut self, pending: Pending) {
        self.pending = Some(pending);
        self.started = Some(Instant::now());
    }

    /// Reads the staff and the audit log when they are not known, and takes them when they arrive.
    fn read_roster(&mut self, ctx: &mut Ctx) {
        if let Some(answer) = crate::queue::poll_slot(&mut self.reading) {
            match answer.map_err(|e| e.text()).and_then(|r| r.map_err(|e| crate::ui::words_backoffice::store_error(&e)))
            {
                Ok(roster) => self.roster = Some(roster),
                Err(text) => ctx.error = Some(text),
            }
        }
        if self.roster.is_none() && self.reading.is_none() {
            self.reading = Some(ctx.queue.submit(|s| {
                Ok(Roster { operators: s.store.staff().operators()?, audit: s.store.staff().audit_page(None, 200)? })
            }));
        }
    }

    /// The staff, each with Deactivate (or Reactivate): for an owner. At a merchant backend the owner's PIN is asked
    /// in "Current PIN", as for adding; the last active owner stays (the store or the backend refuses).
    fn roster_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx, me: &Operator, busy: bool) {
        let lang = ctx.lang;
        let Some(roster) = &self.roster else { return };
        let mut wanted: Option<(String, bool)> = None;
        egui::Grid::new("staff-roster").num_columns(4).spacing([16.0, 4.0]).show(ui, |ui| {
            for op in &roster.operators {
                ui.label(&op.name);
                ui.label(role_label(lang, op.role));
                ui.label(if op.active { lang.pick("在职", "active") } else { lang.pick("已停用", "deactivated") });
                if op.id != me.id {
                    let (verb, to) = if op.active {
                        (lang.pick("停用", "Deactivate"), false)
                    } else {
                        (lang.pick("重新启用", "Reactivate"), true)
                    };
                    let button = egui::Button::new(verb);
                    let hint = format!("{verb} {}", op.name);
                    if ui.add_enabled(!busy, button).on_hover_text(&hint).clicked() {
                        wanted = Some((op.name.clone(), to));
                    }
                } else {
                    ui.label("");
                }
                ui.end_row();
            }
        });
        let Some((name, active)) = wanted else { return };
        // The confirming PIN is used once (as every PIN field here is).
        let (by, by_pin, by_id) = (me.name.clone(), std::mem::take(&mut self.old_pin), me.id);
        match backend_token(ctx) {
            Err(text) => self.message = Some((false, text)),
            Ok(token) => self.send(Pending::SetActive(
                active,
                ctx.queue.submit(move |cs| {
                    let s = &mut cs.store;
                    let Some(token) = token else {
                        return Ok(s.staff_mut().set_active(&name, active, Some(by_id))?);
                    };
                    let c = backend::joined_client(s, token)?;
                    backend::block_on(backend::set_operator_active(s, &c, (&by, &by_pin), &name, active))
                }),
            )),
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        self.poll(ctx);
        // Someone signed in elsewhere (the first-run wizard signs in the owner it creates): show them as signed in.
        if self.signed_in.as_ref().map(|o| o.name.as_str()) != ctx.operator.as_deref() {
            self.signed_in = ctx.signed_in().cloned();
            self.roster = None;
        }
        self.read_roster(ctx);
        ui.heading(lang.pick("员工", "Staff"));
        let has_owner = ctx.has_owner();
        // Each field with an id of its own (its label), so that it keeps the focus while lines above it come and go.
        let field = |ui: &mut egui::Ui, label: &str, text: &mut String, password: bool| {
            let l = ui.label(label);
            let edit = egui::TextEdit::singleline(text).id_salt(label).password(password).desired_width(160.0);
            ui.add(edit).labelled_by(l.id);
        };
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
                    // At a till enrolled with a merchant backend the owner is the backend's first one (and signs in
                    // there); a backend that has an owner already refuses, and the till learns its staff.
                    match backend_token(ctx) {
                        Err(text) => self.message = Some((false, text)),
                        Ok(token) => self.send(Pending::CreateOwner(ctx.queue.submit(move |cs| {
                            let s = &mut cs.store;
                            let Some(token) = token else {
                                return s.staff_mut().add_operator(&name, Role::Owner, &pin, None).map_err(Into::into);
                            };
                            let c = backend::joined_client(s, token)?;
                            match backend::block_on(backend::add_operator(s, &c, None, &name, Role::Owner, &pin)) {
                                Ok(_) => backend::block_on(backend::sign_in_with(s, &c, &name, &pin)).map(|(op, _)| op),
                                Err(refused) => {
                                    if let Err(e) = backend::block_on(backend::refresh_operators(&c, s)) {
                                        tracing::warn!(error = %e, "cannot read the merchant backend's staff");
                                    }
                                    Err(refused)
                                }
                            }
                        }))),
                    }
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
                    match backend_token(ctx) {
                        Err(text) => self.message = Some((false, text)),
                        Ok(token) => {
                            self.send(Pending::SignIn(ctx.queue.submit(move |cs| {
                                let s = &mut cs.store;
                                match token {
                                    Some(token) => {
                                        let c = backend::joined_client(s, token)?;
                                        backend::block_on(backend::sign_in_with(s, &c, &name, &pin))
                                            .map(|(op, _session)| op)
                                    }
                                    None => s.staff_mut().verify_pin(&name, &pin).map_err(StaffError::from),
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
                    // At a till enrolled with a merchant backend the session ends there too (the till forgets it
                    // first, so nothing after speaks for the operator who left).
                    // With the vault locked the till still forgets it; the backend lets it expire.
                    let token = match backend_token(ctx) {
                        Ok(None) => None,
                        Ok(Some(token)) => Some(token),
                        Err(_) => Some(None),
                    };
                    if let Some(token) = token {
                        self.send(Pending::SignOut(ctx.queue.submit(move |cs| {
                            let s = &mut cs.store;
                            let client = match token {
                                Some(token) => backend::client_with_token(s, Some(token))?,
                                None => None,
                            };
                            backend::block_on(backend::sign_out(s, client.as_ref()))
                        })));
                    }
                }
            });
        }
        if self.pending.is_some() {
            let started = self.started.unwrap_or_else(Instant::now);
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
                // At a till enrolled with a merchant backend the PIN lives there: checked and changed there.
                match backend_token(ctx) {
                    Err(text) => self.message = Some((false, text)),
                    Ok(token) => self.send(Pending::ChangePin(ctx.queue.submit(move |cs| {
                        let s = &mut cs.store;
                        let Some(token) = token else {
                            let op = s.staff_mut().verify_pin(&name, &old)?;
                            return Ok(s.staff_mut().change_pin(op.id, &new, Some(op.id))?);
                        };
                        let c = backend::joined_client(s, token)?;
                        backend::block_on(backend::change_pin(s, &c, (&name, &old), &name, &new)).map(|_| ())
                    }))),
                }
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
                    "员工在商户后台添加和停用：请在上方“当前 PIN”中输入您的 PIN 以确认。",
                    "Staff are added and deactivated at the merchant backend: type your PIN in \"Current PIN\" above \
                     to confirm.",
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
                            let owner = (me.name.clone(), std::mem::take(&mut self.old_pin));
                            match backend_token(ctx) {
                                Err(text) => self.message = Some((false, text)),
                                Ok(token) => {
                                    self.send(Pending::Add(ctx.queue.submit(move |cs| {
                                        let s = &mut cs.store;
                                        match token {
                                            Some(token) => {
                                                let c = backend::joined_client(s, token)?;
                                                backend::block_on(backend::add_operator(
                                                    s,
                                                    &c,
                                                    Some((&owner.0, &owner.1)),
                                                    &name,
                                                    role,
                                                    &pin,
                                                ))
                                            }
                                            None => s
                                                .staff_mut()
                                                .add_operator(&name, role, &pin, Some(by))
                                                .map_err(Into::into),
                                        }
                                    })));
                                }
                            }
                        }
                    }
                }
            });
            self.roster_ui(ui, ctx, &me, busy);
        }
        if require(&me, Permission::ViewAudit).is_ok() {
            ui.separator();
            ui.strong(lang.pick("审计日志（只增不改，北京时间）", "Audit log (append-only, China time)"));
            let Some(roster) = &self.roster else {
                ui.spinner();
                return;
            };
            let names: Vec<(crate::model::OperatorId, String)> =
                roster.operators.iter().map(|o| (o.id, o.name.clone())).collect();
            egui::ScrollArea::vertical().max_height(240.0).min_scrolled_height(200.0).id_salt("audit").show(ui, |ui| {
                audit_list(ui, &roster.audit, &names, lang);
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

/// The till's token for the merchant backend when this till is enrolled with one (its staff live there): `Some`
/// (the token as the unlocked vault holds it, perhaps none) when enrolled, None when not; the words to show when the
/// vault holding the token is locked. The client is made from it on the queue ([`backend::client_with_token`]).
#[allow(clippy::type_complexity)]
pub(crate) fn backend_token(ctx: &Ctx) -> Result<Option<Option<crate::secrets::Secret>>, Text> {
    if ctx.backend_url.is_none() {
        return Ok(None);
    }
    let vault = ctx.queue.vault();
    let Some(vault) = vault.as_ref() else { return Err(crate::ui::words_backend::unlock_first()) };
    Ok(Some(vault.secret(backend::SECRET_TOKEN)))
}
