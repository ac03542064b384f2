//! 交接班 (Shifts): the signed-in cashier's open shift with its running figures, 交班 (close it: F10, then Enter),
//! the frozen handover summary afterwards with 打印 and 导出, the past shifts and day closes with reprint, and 日结
//! (owner or back office). Every read and write goes through the command queue (`crate::queue`), off the UI thread.

use std::path::PathBuf;

use crate::config::ThisTill;
use crate::i18n::{Lang, Phrase, Text};
use crate::queue::{CoreSession, Ticket};
use crate::receipt::Printed;
use crate::receipt::handover::{self, Slip};
use crate::shifts::{self, DayLine, DayPlan, DaySummary, Figures, OpenOrder, ShiftError, ShiftLine, ShiftSummary};
use crate::ui::Ctx;
use crate::ui::hotkeys::Action;
use crate::ui::path_field::{PathField, Pick};
use crate::ui::words_shifts::{change_words, wallet_name, yuan};

/// What a job brings back.
enum Done {
    Loaded(Box<Loaded>),
    Closed(Box<ShiftSummary>),
    DayClosed(i64, Box<DaySummary>),
    ShowShift(Box<ShiftSummary>),
    ShowDay(i64, Box<DaySummary>),
    Printed(Printed),
    Exported(PathBuf),
    Reopened(String),
}

struct Loaded {
    /// The signed-in operator's open shift at this till, computed now.
    mine: Option<ShiftSummary>,
    shifts: Vec<ShiftLine>,
    days: Vec<DayLine>,
    plan: Option<DayPlan>,
}

/// The summary on show.
#[derive(Clone)]
enum Shown {
    Shift(Box<ShiftSummary>),
    Day(i64, Box<DaySummary>),
}

/// What a job is asked to do.
enum Work {
    Load { day: Option<time::Date> },
    Close,
    CloseId(i64),
    DayClose { day: time::Date },
    ReopenDay { day: time::Date },
    ShowShift(i64),
    ShowDay(i64),
    Print(Shown, PathBuf),
    Export(Figures, PathBuf),
}

type Outcome = Result<Done, Text>;

/// The 交接班 screen.
pub struct ShiftsScreen {
    load: Option<Ticket<Outcome>>,
    action: Option<Ticket<Outcome>>,
    loaded: Option<Loaded>,
    /// Loaded for this operator (reload when someone else signs in).
    loaded_for: Option<Option<String>>,
    shown: Option<Shown>,
    message: Option<(bool, Text)>,
    /// 交班 asked (F10 or the button): the confirmation is showing.
    confirm_close: bool,
    /// 日结 asked for a day with shifts still open: they are listed before going on.
    confirm_day: bool,
    day: String,
    export: PathField,
    /// Every till's shifts at the merchant backend (a till enrolled with one).
    tills: crate::ui::shifts_remote::TillsPanel,
}

impl Default for ShiftsScreen {
    fn default() -> Self {
        ShiftsScreen {
            load: None,
            action: None,
            loaded: None,
            loaded_for: None,
            shown: None,
            message: None,
            confirm_close: false,
            confirm_day: false,
            day: shifts::day_text(shifts::today()),
            export: PathField::new(Pick::Save, "CSV", &["csv"]),
            tills: crate::ui::shifts_remote::TillsPanel::default(),
        }
    }
}

impl ShiftsScreen {
    /// Reads everything again on the next frame (the screen was opened, a sale was taken meanwhile).
    pub fn invalidate(&mut self) {
        self.loaded_for = None;
    }

    /// 交班 (F10 from anywhere): shows the confirmation.
    pub fn ask_close(&mut self) {
        self.confirm_close = true;
        self.invalidate();
    }

    fn start(&mut self, ctx: &Ctx, work: Work, is_load: bool) {
        let operator = ctx.operator.clone();
        let till = ctx.till.clone();
        let ticket = ctx.queue.submit(move |s| run(s, operator.as_deref(), &till, work));
        if is_load {
            self.load = Some(ticket);
        } else {
            self.action = Some(ticket);
        }
    }

    fn poll(&mut self, ctx: &mut Ctx) {
        // A command that stopped without an answer says so like a failed one.
        let answer = |a: Result<Outcome, crate::queue::QueueError>| a.unwrap_or_else(|e| Err(e.text()));
        if let Some(done) = crate::queue::poll_slot(&mut self.load).map(answer) {
            match done {
                Ok(Done::Loaded(l)) => self.loaded = Some(*l),
                Ok(_) => {}
                Err(e) => self.message = Some((false, e)),
            }
        }
        let Some(done) = crate::queue::poll_slot(&mut self.action).map(answer) else { return };
        self.invalidate();
        // At a till enrolled with a merchant backend, what was just closed goes up with a sync pass now (not at the
        // next one, up to a minute away).
        if matches!(done, Ok(Done::Closed(_) | Done::DayClosed(..)))
            && ctx.backend_url.is_some()
            && let Some(services) = &ctx.services
        {
            services.handle().sync_now();
        }
        match done {
            Ok(Done::Closed(s)) => {
                self.message = Some((
                    true,
                    Text::new(format!("班次 {} 已交班", s.shift_id), format!("Shift {} closed", s.shift_id)),
                ));
                self.shown = Some(Shown::Shift(s));
            }
            Ok(Done::DayClosed(id, d)) => {
                self.message =
                    Some((true, Text::new(format!("{} 已日结", d.business_day), format!("{} closed", d.business_day))));
                self.shown = Some(Shown::Day(id, d));
            }
            Ok(Done::ShowShift(s)) => self.shown = Some(Shown::Shift(s)),
            Ok(Done::ShowDay(id, d)) => self.shown = Some(Shown::Day(id, d)),
            Ok(Done::Printed(Printed::Printer(p))) => {
                self.message = Some((true, Text::new(format!("已打印到 {p}"), format!("Printed on {p}"))));
            }
            Ok(Done::Printed(Printed::Pdf(p))) => {
                let p = p.display().to_string();
                self.message = Some((
                    true,
                    Text::new(format!("未设置小票打印机：已保存为 {p}"), format!("No receipt printer: saved {p}")),
                ));
            }
            Ok(Done::Exported(p)) => {
                crate::ui::path_field::remember_folder(ctx, &p);
                let p = p.display().to_string();
                self.message = Some((true, Text::new(format!("已导出 {p}"), format!("Exported {p}"))));
            }
            Ok(Done::Reopened(day)) => {
                self.message = Some((
                    true,
                    Text::new(
                        format!("{day} 已重新打开，可再次日结"),
                        format!("{day} reopened: it can be closed again"),
                    ),
                ));
            }
            Ok(Done::Loaded(_)) => {}
            Err(e) => self.message = Some((false, e)),
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        self.poll(ctx);
        if self.loaded_for.as_ref() != Some(&ctx.operator) && self.load.is_none() {
            self.loaded_for = Some(ctx.operator.clone());
            let day = shifts::parse_day(&self.day).ok();
            self.start(ctx, Work::Load { day }, true);
        }
        if self.confirm_close && self.action.is_none() {
            if ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                self.confirm_close = false;
                self.start(ctx, Work::Close, false);
            } else if ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                self.confirm_close = false;
            }
        }
        egui::ScrollArea::vertical().id_salt("shifts-scroll").auto_shrink(false).show(ui, |ui| {
            if let Some((ok, text)) = &self.message {
                let color = if *ok { ui.visuals().text_color() } else { ui.visuals().error_fg_color };
                ui.colored_label(color, text.get(lang));
                ui.add_space(4.0);
            }
            if self.action.is_some() {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(lang.pick("正在处理…", "Working…"));
                });
            }
            let wide = ui.available_width() >= 1200.0;
            if wide {
                ui.columns(2, |cols| {
                    self.current(&mut cols[0], ctx);
                    self.history(&mut cols[1], ctx);
                });
            } else {
                ui.set_max_width(ui.available_width().min(900.0));
                self.current(ui, ctx);
                ui.separator();
                self.history(ui, ctx);
            }
            if ctx.backend_url.is_some() {
                ui.separator();
                ui.push_id("tills", |ui| self.tills.ui(ui, ctx));
            }
        });
    }

    /// The open shift (or the summary on show) with its actions.
    fn current(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        if let Some(shown) = self.shown.clone() {
            ui.group(|ui| {
                ui.set_width(ui.available_width());
                match &shown {
                    Shown::Shift(s) => summary_ui(ui, lang, s),
                    Shown::Day(id, d) => day_ui(ui, lang, *id, d),
                }
                ui.add_space(6.0);
                self.slip_actions(ui, ctx, &shown);
            });
            ui.add_space(8.0);
            return;
        }
        ui.heading(lang.pick("当前班次", "Current shift"));
        let Some(loaded) = &self.loaded else {
            ui.spinner();
            return;
        };
        match (&ctx.operator, &loaded.mine) {
            (None, _) => {
                ui.label(lang.pick(
                    "未登录：收款照常记录（不计入任何班次，只计入日结）。以收银员身份登录即开班（设置 → 员工）。",
                    "Nobody is signed in: sales are recorded without an operator (in no shift, only in the day close). Signing in as a cashier opens a shift (Settings → Staff).",
                ));
            }
            (Some(name), None) => {
                ui.label(match lang {
                    Lang::ZhCn => format!("{name} 在这台收银机上没有未交班的班次"),
                    Lang::En => format!("{name} has no open shift at this till"),
                });
            }
            (Some(_), Some(s)) => {
                let s = s.clone();
                ui.group(|ui| {
                    ui.set_width(ui.available_width());
                    summary_ui(ui, lang, &s);
                    ui.add_space(6.0);
                    if self.confirm_close {
                        ui.label(egui::RichText::new(lang.pick(
                            "交班前请清点并核对以上金额。确认交班？（Enter 确认，Esc 取消）",
                            "Count the money against the figures above. Close the shift? (Enter closes, Esc cancels)",
                        )).strong());
                        ui.horizontal(|ui| {
                            if ui.button(lang.pick("确认交班", "Close the shift")).clicked() {
                                self.confirm_close = false;
                                self.start(ctx, Work::Close, false);
                            }
                            if ui.button(lang.pick("取消", "Cancel")).clicked() {
                                self.confirm_close = false;
                            }
                        });
                    } else if ui.button(ctx.keys.button_text(Action::CloseShift, lang)).clicked() {
                        self.confirm_close = true;
                    }
                });
            }
        }
    }

    /// 打印 and 导出 for the summary on show.
    fn slip_actions(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx, shown: &Shown) {
        let lang = ctx.lang;
        let (name, figures) = match shown {
            Shown::Shift(s) => (format!("shift-{}", s.shift_id), s.figures.clone()),
            Shown::Day(_, d) => (format!("day-{}-{}", d.store_code, d.business_day), d.figures.clone()),
        };
        let busy = self.action.is_some();
        if self.export.text.is_empty() {
            let folder = crate::ui::path_field::recent_folders(ctx)
                .into_iter()
                .next()
                .unwrap_or_else(|| ctx.home.dir.join("exports"));
            self.export.text = folder.join(format!("{name}.csv")).display().to_string();
        }
        let chosen = self.export.show(ui, ctx, lang.pick("导出到（CSV）", "Export to (CSV)"));
        let mut export = chosen.is_some();
        ui.horizontal_wrapped(|ui| {
            let size = egui::vec2(120.0, 36.0);
            if ui.add_enabled(!busy, egui::Button::new(lang.pick("打印", "Print")).min_size(size)).clicked() {
                let fallback = ctx.home.dir.join("slips").join(format!("{name}.pdf"));
                self.start(ctx, Work::Print(shown.clone(), fallback), false);
            }
            export |= ui.add_enabled(!busy, egui::Button::new(lang.pick("导出", "Export")).min_size(size)).clicked();
            if ui.add(egui::Button::new(lang.pick("返回", "Back")).min_size(size)).clicked() {
                self.shown = None;
            }
        });
        if export {
            match self.export.path() {
                Some(path) => self.start(ctx, Work::Export(figures, path), false),
                None => {
                    self.message =
                        Some((false, Text::new("请填写导出文件的路径", "Type where to save the file first")));
                }
            }
        }
    }

    /// Past shifts and day closes, and 日结.
    fn history(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        ui.heading(lang.pick("日结", "Day close"));
        let changed = ui
            .horizontal(|ui| {
                let label = ui.label(lang.pick("营业日（YYYY-MM-DD）", "Business day (YYYY-MM-DD)"));
                ui.add(egui::TextEdit::singleline(&mut self.day).desired_width(120.0)).labelled_by(label.id).changed()
            })
            .inner;
        if changed {
            self.confirm_day = false;
            if shifts::parse_day(&self.day).is_ok() {
                self.invalidate();
            }
        }
        // Owner or back office (the roles that reconcile); the refusal says what 日结 needs.
        let allowed = ctx
            .permit(crate::store::operators::Permission::Reconcile)
            .map_err(|_| ShiftError::DayCloseNotAllowed.text());
        let open_shifts: Vec<ShiftLine> =
            self.loaded.as_ref().and_then(|l| l.plan.as_ref()).map(|p| p.open_shifts.clone()).unwrap_or_default();
        let closed = self.loaded.as_ref().and_then(|l| l.plan.as_ref()).and_then(|p| p.closed.clone());
        if let Some(c) = &closed {
            ui.label(match lang {
                Lang::ZhCn => format!("该日已于 {} 日结", crate::time::to_china_display(&c.closed_at)),
                Lang::En => format!("This day was closed at {}", crate::time::to_china_display(&c.closed_at)),
            });
        }
        if self.confirm_day {
            ui.label(
                egui::RichText::new(lang.pick(
                    "以下班次尚未交班，日结时将先为其交班：",
                    "These shifts are still open; the day close closes them first:",
                ))
                .strong(),
            );
            for s in &open_shifts {
                ui.label(format!("{} {} · {}", lang.pick("班次", "Shift"), s.id, s.operator));
            }
        }
        ui.horizontal_wrapped(|ui| {
            let busy = self.action.is_some();
            let text = if self.confirm_day {
                lang.pick("交班并日结", "Close them and the day")
            } else {
                lang.pick("日结", "Close the day")
            };
            if ui.add_enabled(!busy && closed.is_none(), egui::Button::new(text)).clicked() {
                match (&allowed, shifts::parse_day(&self.day)) {
                    (Err(refused), _) => self.message = Some((false, refused.clone())),
                    (_, Err(e)) => self.message = Some((false, e.text())),
                    (Ok(()), Ok(_)) if !open_shifts.is_empty() && !self.confirm_day => self.confirm_day = true,
                    (Ok(()), Ok(day)) => {
                        self.confirm_day = false;
                        self.start(ctx, Work::DayClose { day }, false);
                    }
                }
            }
            if self.confirm_day && ui.button(lang.pick("取消", "Cancel")).clicked() {
                self.confirm_day = false;
            }
            // An owner may reopen a closed day (the core refuses anyone else, in words).
            if closed.is_some()
                && ui
                    .add_enabled(!busy, egui::Button::new(lang.pick("重新打开该日（店主）", "Reopen the day (owner)")))
                    .clicked()
                && let Ok(day) = shifts::parse_day(&self.day)
            {
                self.start(ctx, Work::ReopenDay { day }, false);
            }
        });
        if let Err(refused) = &allowed {
            ui.weak(refused.get(lang));
        }
        ui.add_space(8.0);
        ui.heading(lang.pick("班次记录", "Past shifts"));
        let Some(loaded) = &self.loaded else {
            ui.spinner();
            return;
        };
        let mut pick = None;
        let mut close_id = None;
        if loaded.shifts.is_empty() {
            ui.weak(lang.pick("该日没有班次", "No shifts that day"));
        }
        for s in &loaded.shifts {
            ui.horizontal_wrapped(|ui| {
                let closed = s
                    .closed_at
                    .as_deref()
                    .map_or_else(|| lang.pick("当班中", "open").to_owned(), crate::time::to_china_display);
                ui.label(format!(
                    "{} {} · {} · {} → {} · {} {} · {} {}",
                    lang.pick("班次", "Shift"),
                    s.id,
                    s.operator,
                    crate::time::to_china_display(&s.opened_at),
                    closed,
                    lang.pick("收款", "paid"),
                    yuan(s.figures.paid_fen),
                    lang.pick("净额", "net"),
                    yuan(s.figures.net_fen)
                ));
                let view = if s.closed_at.is_some() {
                    lang.pick("查看/重打", "View / reprint")
                } else {
                    lang.pick("查看", "View")
                };
                if ui.small_button(view).on_hover_text(format!("{} {}", lang.pick("班次", "Shift"), s.id)).clicked() {
                    pick = Some(Work::ShowShift(s.id));
                }
                if s.closed_at.is_none()
                    && allowed.is_ok()
                    && ctx.operator.as_deref() != Some(s.operator.as_str())
                    && ui.small_button(lang.pick("代为交班", "Close it")).clicked()
                {
                    close_id = Some(s.id);
                }
            });
        }
        ui.add_space(8.0);
        ui.heading(lang.pick("日结记录", "Day closes"));
        if loaded.days.is_empty() {
            ui.weak(lang.pick("该日没有日结", "No day close that day"));
        }
        for d in &loaded.days {
            ui.horizontal_wrapped(|ui| {
                let reopened =
                    if d.reopened_at.is_some() { lang.pick("（已重新打开）", " (reopened)") } else { "" };
                ui.label(format!(
                    "{} {}{reopened} · {} {} · {} {}",
                    d.store_code,
                    d.business_day,
                    lang.pick("收款", "paid"),
                    yuan(d.figures.paid_fen),
                    lang.pick("净额", "net"),
                    yuan(d.figures.net_fen)
                ));
                if ui.small_button(lang.pick("查看/重打", "View / reprint")).clicked() {
                    pick = Some(Work::ShowDay(d.id));
                }
            });
        }
        if let Some(work) = pick {
            self.export.text.clear();
            self.start(ctx, work, false);
        }
        if let Some(id) = close_id {
            self.start(ctx, Work::CloseId(id), false);
        }
    }
}

/// A shift's summary: who, when, the figures per wallet, the open orders, the previous close's changes.
fn summary_ui(ui: &mut egui::Ui, lang: Lang, s: &ShiftSummary) {
    let title = if s.closed {
        lang.pick("交接班汇总", "Handover summary")
    } else {
        lang.pick("当班小计", "Shift so far")
    };
    ui.label(
        egui::RichText::new(format!("{title} · {} {}", lang.pick("班次", "Shift"), s.shift_id)).strong().size(18.0),
    );
    let till = if s.terminal_id.is_empty() { "—" } else { s.terminal_id.as_str() };
    ui.label(format!(
        "{}{} · {} {} · {}{till}",
        lang.pick("收银员：", "Cashier: "),
        s.operator,
        lang.pick("门店", "Store"),
        s.store_code,
        lang.pick("收银台：", "Till: ")
    ));
    ui.label(format!(
        "{}{} · {}{}",
        lang.pick("开班：", "Opened: "),
        crate::time::to_china_display(&s.opened_at),
        if s.closed { lang.pick("交班：", "Closed: ") } else { lang.pick("截至：", "As of: ") },
        crate::time::to_china_display(&s.closed_at)
    ));
    figures_ui(ui, lang, &s.figures, &format!("shift-{}-{}", s.shift_id, s.closed));
    open_orders_ui(ui, lang, &s.open_orders);
    if let Some(prev) = &s.previous {
        ui.add_space(4.0);
        let head = match lang {
            Lang::ZhCn => format!("与上一班（班次 {}，{}）交班时相比：", prev.shift_id, prev.operator),
            Lang::En => format!("Since the previous close (shift {}, {}):", prev.shift_id, prev.operator),
        };
        ui.label(head);
        if prev.changes.is_empty() {
            ui.label(lang.pick("无变化", "nothing changed"));
        }
        for c in &prev.changes {
            ui.label(change_words(c, lang));
        }
    }
}

fn day_ui(ui: &mut egui::Ui, lang: Lang, id: i64, d: &DaySummary) {
    let title = format!("{} {id} · {} {}", lang.pick("日结汇总", "Day close"), d.store_code, d.business_day);
    ui.label(egui::RichText::new(title).strong().size(18.0));
    ui.label(format!(
        "{}{} · {}{}",
        lang.pick("日结：", "Closed: "),
        crate::time::to_china_display(&d.closed_at),
        lang.pick("日结人：", "By: "),
        d.closed_by
    ));
    figures_ui(ui, lang, &d.figures, &format!("day-{}", d.business_day));
    ui.label(format!(
        "{}{} · {} {}",
        lang.pick("未登录收款：", "Sales with nobody signed in: "),
        d.no_operator.paid_count,
        lang.pick("净额", "net"),
        yuan(d.no_operator.net_fen)
    ));
    for s in &d.shifts {
        ui.label(format!(
            "{} {} · {} · {} {}",
            lang.pick("班次", "Shift"),
            s.shift_id,
            s.operator,
            lang.pick("净额", "net"),
            yuan(s.net_fen)
        ));
    }
    if !d.closed_shifts.is_empty() {
        let ids: Vec<String> = d.closed_shifts.iter().map(i64::to_string).collect();
        ui.label(format!("{}{}", lang.pick("日结时代为交班：", "Closed by the day close: "), ids.join(", ")));
    }
    open_orders_ui(ui, lang, &d.open_orders);
}

/// The per-wallet table (each cell its own label, so a screen reader reads the row in order).
fn figures_ui(ui: &mut egui::Ui, lang: Lang, f: &Figures, salt: &str) {
    egui::Grid::new(("figures", salt)).striped(true).num_columns(6).spacing([18.0, 4.0]).show(ui, |ui| {
        for h in [
            lang.pick("钱包", "Wallet"),
            lang.pick("收款笔数", "Payments"),
            lang.pick("收款金额", "Paid"),
            lang.pick("退款笔数", "Refunds"),
            lang.pick("退款金额", "Refunded"),
            lang.pick("净额", "Net"),
        ] {
            ui.label(egui::RichText::new(h).strong());
        }
        ui.end_row();
        let total = f.total_line();
        for w in f.wallets.iter().chain(std::iter::once(&total)) {
            let strong = w.kind().is_none();
            let cell = |ui: &mut egui::Ui, text: String| {
                if strong {
                    ui.label(egui::RichText::new(text).strong());
                } else {
                    ui.label(text);
                }
            };
            cell(ui, wallet_name(w, lang));
            cell(ui, w.paid_count.to_string());
            cell(ui, yuan(w.paid_fen));
            cell(ui, w.refund_count.to_string());
            cell(ui, yuan(w.refund_fen));
            cell(ui, yuan(w.net_fen));
            ui.end_row();
        }
    });
}

fn open_orders_ui(ui: &mut egui::Ui, lang: Lang, open: &[OpenOrder]) {
    if open.is_empty() {
        return;
    }
    ui.colored_label(
        ui.visuals().warn_fg_color,
        match lang {
            Lang::ZhCn => format!("未完成订单 {} 笔（请下一班跟进）：", open.len()),
            Lang::En => format!("{} open order(s) for the next cashier to follow up:", open.len()),
        },
    );
    for o in open {
        let status = o.status().map_or(o.status.clone(), |s| s.label(lang).to_owned());
        ui.label(format!("{} · {} · {status}", o.out_trade_no, yuan(o.amount_fen)));
    }
}

/// The signed-in operator, read again by the command's own connection.
fn operator(session: &CoreSession, name: Option<&str>) -> Result<Option<crate::model::Operator>, ShiftError> {
    match name {
        Some(n) => Ok(session.store.staff().operator_by_name(n)?.filter(|o| o.active)),
        None => Ok(None),
    }
}

/// Why a job failed: a shift kind, or words already in both languages.
enum Failure {
    Shift(ShiftError),
    Words(Text),
}

impl From<ShiftError> for Failure {
    fn from(e: ShiftError) -> Self {
        Failure::Shift(e)
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Self {
        Failure::Shift(e.into())
    }
}

/// A command's work, on the queue's connection (blocking: never on the UI thread).
fn run(session: &mut CoreSession, name: Option<&str>, till: &ThisTill, work: Work) -> Outcome {
    let result = (|| -> Result<Done, Failure> {
        let now = crate::time::now_utc();
        let me = operator(session, name)?;
        let db = &mut session.store;
        Ok(match work {
            Work::Load { day } => {
                let mine = match &me {
                    Some(op) => match shifts::open_shift_of(db, till, op.id)? {
                        Some(row) => Some(shifts::summary_of(db, row.id, &now)?),
                        None => None,
                    },
                    None => None,
                };
                let day = day.unwrap_or_else(shifts::today);
                Done::Loaded(Box::new(Loaded {
                    mine,
                    shifts: shifts::list(db, Some(till.store_id), Some(day), &now)?,
                    days: shifts::list_days(db, Some(till.store_id), Some(day))?,
                    plan: Some(shifts::day_plan(db, till.store_id, day, &now)?),
                }))
            }
            Work::Close => {
                let op = me.ok_or(ShiftError::NotSignedIn)?;
                Done::Closed(Box::new(shifts::close_mine(db, till, &op, &now)?))
            }
            Work::CloseId(id) => Done::Closed(Box::new(shifts::close(db, id, me.as_ref(), &now)?)),
            Work::DayClose { day } => {
                let (id, d) = shifts::close_day(db, till.store_id, day, me.as_ref(), &now)?;
                Done::DayClosed(id, Box::new(d))
            }
            Work::ReopenDay { day } => {
                let op = me.ok_or(ShiftError::ReopenNotAllowed)?;
                shifts::reopen_day(db, till.store_id, day, &op, &now)?;
                Done::Reopened(shifts::day_text(day))
            }
            Work::ShowShift(id) => Done::ShowShift(Box::new(shifts::summary_of(db, id, &now)?)),
            Work::ShowDay(id) => Done::ShowDay(id, Box::new(shifts::day_summary(db, id)?)),
            Work::Print(shown, fallback) => {
                let slip = match &shown {
                    Shown::Shift(s) => Slip::Shift(s),
                    Shown::Day(_, d) => Slip::Day(d),
                };
                Done::Printed(handover::print_slip(db, slip, &fallback).map_err(|e| Failure::Words(receipt_words(&e)))?)
            }
            Work::Export(figures, path) => {
                if let Err(e) = shifts::export::write_csv(&figures, &path) {
                    let p = path.display();
                    return Err(Failure::Words(Text::new(
                        format!("无法写入 {p}：{e}"),
                        format!("Cannot write {p}: {e}"),
                    )));
                }
                Done::Exported(path)
            }
        })
    })();
    result.map_err(|e| match e {
        Failure::Shift(e) => {
            tracing::warn!("shifts: {e}");
            e.text()
        }
        Failure::Words(t) => t,
    })
}

/// A printing failure in both languages (the printer's own words are technical detail).
fn receipt_words(e: &crate::receipt::ReceiptError) -> Text {
    use crate::receipt::ReceiptError as E;
    tracing::warn!("shift slip: {e}");
    match e {
        E::Unreachable { address, .. } | E::Send { address, .. } => {
            Text::new(format!("无法连接小票打印机 {address}"), format!("Cannot reach the receipt printer at {address}"))
        }
        E::Cups { queue, .. } => {
            Text::new(format!("无法打印到 CUPS 队列 {queue}"), format!("Cannot print to the CUPS queue {queue}"))
        }
        E::Write { path, .. } => {
            let p = path.display();
            Text::new(format!("无法写入 {p}"), format!("Cannot write {p}"))
        }
        _ => Text::new("无法生成小票（详见日志）", "Cannot make the slip (see the log)"),
    }
}
