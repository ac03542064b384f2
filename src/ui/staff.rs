//! Staff (员工) in Settings: the first run creates the owner; operators sign in with their PIN; the owner adds
//! staff and reads the append-only audit log.

use crate::model::{AuditEntry, Operator, Role};
use crate::store::operators::{Permission, require, role_words};
use crate::ui::Ctx;

#[derive(Debug, Default)]
pub struct StaffPanel {
    name: String,
    pin: String,
    new_name: String,
    new_pin: String,
    new_role: Option<Role>,
    message: Option<(bool, String)>,
    signed_in: Option<Operator>,
    audit: Vec<AuditEntry>,
}

impl StaffPanel {
    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
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
        if !has_owner {
            ui.label(lang.pick(
                "首次使用：请创建店主账号（拥有全部权限）。",
                "First run: create the owner (allowed everything).",
            ));
            ui.horizontal(|ui| {
                field(ui, lang.pick("店主姓名", "Owner name"), &mut self.name, false);
                field(ui, lang.pick("店主 PIN", "Owner PIN"), &mut self.pin, true);
                if ui.button(lang.pick("创建店主", "Create owner")).clicked() {
                    match ctx.home.store.add_operator(&self.name, Role::Owner, &self.pin, None) {
                        Ok(op) => {
                            self.message = Some((true, format!("{} {}", lang.pick("已创建", "Created"), op.name)));
                            ctx.operator = Some(op.name.clone());
                            self.signed_in = Some(op);
                        }
                        Err(e) => self.message = Some((false, e.to_string())),
                    }
                    self.pin.clear();
                }
            });
        } else {
            ui.horizontal(|ui| {
                field(ui, lang.pick("操作员", "Operator"), &mut self.name, false);
                field(ui, "PIN", &mut self.pin, true);
                if ui.button(lang.pick("登录 / 切换", "Sign in / switch")).clicked() {
                    match ctx.home.store.verify_pin(&self.name, &self.pin) {
                        Ok(op) => {
                            ctx.operator = Some(op.name.clone());
                            self.message = Some((true, format!("{} ({})", op.name, role_words(op.role))));
                            self.signed_in = Some(op);
                            self.audit.clear();
                        }
                        Err(e) => self.message = Some((false, e.to_string())),
                    }
                    self.pin.clear();
                }
            });
        }
        if let Some((ok, text)) = &self.message {
            let color = if *ok { egui::Color32::from_rgb(60, 170, 90) } else { ui.visuals().error_fg_color };
            ui.colored_label(color, text);
        }
        let Some(me) = self.signed_in.clone() else { return };
        if require(&me, Permission::ManageStaff).is_ok() {
            ui.separator();
            ui.strong(lang.pick("添加员工", "Add an operator"));
            ui.horizontal(|ui| {
                field(ui, lang.pick("姓名", "Name"), &mut self.new_name, false);
                field(ui, lang.pick("新 PIN", "New PIN"), &mut self.new_pin, true);
                let role_text = self.new_role.map_or(lang.pick("选择角色", "Choose a role"), role_words);
                egui::ComboBox::new("staff-role", lang.pick("角色", "Role")).selected_text(role_text).show_ui(
                    ui,
                    |ui| {
                        for role in [Role::Owner, Role::BackOffice, Role::Cashier] {
                            ui.selectable_value(&mut self.new_role, Some(role), role_words(role));
                        }
                    },
                );
                if ui.button(lang.pick("添加", "Add")).clicked() {
                    self.message = Some(match self.new_role {
                        None => (false, lang.pick("请选择角色", "Choose a role").into()),
                        Some(role) => {
                            match ctx.home.store.add_operator(&self.new_name, role, &self.new_pin, Some(me.id)) {
                                Ok(op) => (
                                    true,
                                    format!("{} {} ({})", lang.pick("已添加", "Added"), op.name, role_words(op.role)),
                                ),
                                Err(e) => (false, e.to_string()),
                            }
                        }
                    });
                    self.new_pin.clear();
                    self.audit.clear();
                }
            });
            if let Ok(ops) = ctx.home.store.operators() {
                for op in ops {
                    ui.label(format!("{} · {}", op.name, role_words(op.role)));
                }
            }
        }
        if require(&me, Permission::ViewAudit).is_ok() {
            ui.separator();
            ui.strong(lang.pick("审计日志（只增不改）", "Audit log (append-only)"));
            if self.audit.is_empty() {
                self.audit = ctx.home.store.audit_page(None, 200).unwrap_or_default();
            }
            egui::ScrollArea::vertical().max_height(240.0).id_salt("audit").show(ui, |ui| {
                for e in &self.audit {
                    ui.label(format!(
                        "{}  #{}  {}  {}  {} → {}",
                        crate::time::to_local_display(&e.at),
                        e.operator_id.map_or("-".to_owned(), |o| o.0.to_string()),
                        e.action,
                        e.subject,
                        e.before.as_deref().unwrap_or("—"),
                        e.after.as_deref().unwrap_or("—"),
                    ));
                }
            });
        }
    }
}
