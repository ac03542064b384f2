//! 概览 Dashboard: a span of China business days at a glance (gross, refunds, net, count, average ticket) compared
//! with the day before and the same weekday a week before, then by hour and by wallet as charts (their figures also
//! as a table: a screen reader reads those), and by store and cashier; "Show in Orders" opens the same days on the
//! Orders screen, where the totals are the same.
//!
//! The figures are read through the command queue (the totals come from the running totals, the hours from the
//! period's orders) and refreshed when the screen is shown, every 30 seconds, or on "Refresh".

use std::time::{Duration, Instant};

use crate::dashboard::{Dashboard, Period, Share, ShareKey, change_permille, dashboard};
use crate::i18n::{Lang, Text};
use crate::money::Amount;
use crate::queue::Ticket;
use crate::recon::backend::{self as remote, RemoteError};
use crate::store::StoreError;
use crate::ui::Ctx;

const REFRESH_EVERY: Duration = Duration::from_secs(30);
const BAR_COLOR: egui::Color32 = egui::Color32::from_rgb(66, 133, 214);

#[derive(Default)]
pub struct DashboardScreen {
    period: Period,
    /// The custom span as typed (China days, "2026-11-25").
    from: String,
    to: String,
    /// Show the charts' figures as tables.
    as_table: bool,
    data: Option<Dashboard>,
    as_of: Option<String>,
    /// Whose figures `data` are, as the screen says it.
    note: Note,
    error: Option<Text>,
    loading: Option<Ticket<Result<Loaded, StoreError>>>,
    /// The operator the figures were read for (read again when someone else signs in).
    read_for: Option<Option<String>>,
    last_load: Option<Instant>,
    last_frame: u64,
    /// Set when "Show in Orders" is clicked: the shell opens the Orders screen on these local days (first, last).
    pub open_orders: Option<(time::Date, time::Date)>,
}

impl std::fmt::Debug for DashboardScreen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DashboardScreen").field("period", &self.period).finish_non_exhaustive()
    }
}

/// Where the figures come from.
#[derive(Debug)]
enum Source {
    /// This till's database (a till that is not enrolled with a merchant backend).
    ThisTill,
    /// Added up at the merchant backend over every till's orders, at `as_of` (UTC).
    Backend { as_of: String },
    /// This till's copy, because the backend could not answer (or nobody is signed in to ask it as).
    ThisTillBecause(RemoteError),
}

/// What the screen says about whose figures it shows (phrased once, when they come; drawn every frame).
#[derive(Debug, Default)]
enum Note {
    /// A till on its own: nothing to say.
    #[default]
    None,
    Backend,
    /// This till's copy, and why.
    OwnBecause(Text),
}

struct Loaded {
    dashboard: Dashboard,
    source: Source,
}

/// The figures of `period`: from the merchant backend when the till is enrolled and someone is signed in at the
/// window, else (or when the backend cannot answer) from this till's database.
fn figures(
    s: &mut crate::queue::CoreSession,
    core: &crate::queue::Core,
    period: Period,
    ask: bool,
) -> Result<Loaded, StoreError> {
    let now = time::OffsetDateTime::now_utc();
    let fallback = if ask {
        let remote = remote::client_of(&s.store, core.vault().as_ref())
            .and_then(|client| remote::block_on(crate::dashboard::backend::figures(&client, period, now, None)));
        match remote {
            Ok((dashboard, as_of)) => return Ok(Loaded { dashboard, source: Source::Backend { as_of } }),
            Err(e) => Some(e),
        }
    } else {
        None
    };
    let dashboard = dashboard(&s.store, period, now)?;
    Ok(Loaded { dashboard, source: fallback.map_or(Source::ThisTill, Source::ThisTillBecause) })
}

fn yuan(a: Amount) -> String {
    format!("¥{a}")
}

/// A plot coordinate for an amount (charts only: every figure shown as text is the exact `Amount`).
#[allow(clippy::cast_precision_loss)]
fn plot_height(a: Amount) -> f64 {
    a.fen() as f64 / 100.0
}

impl DashboardScreen {
    /// Reads the figures again on the next frame.
    pub fn invalidate(&mut self) {
        self.last_load = None;
    }

    fn load(&mut self, ctx: &Ctx) {
        if self.loading.is_some() {
            return;
        }
        let period = self.period;
        if ctx.backend_url.is_some() && ctx.operator.is_none() {
            // The backend's session kept from an earlier sign-in is not whoever is at the window.
            self.loading = Some(ctx.queue.submit(move |s| {
                let dashboard = dashboard(&s.store, period, time::OffsetDateTime::now_utc())?;
                Ok(Loaded { dashboard, source: Source::ThisTillBecause(RemoteError::SignInRequired) })
            }));
        } else {
            let ask = ctx.backend_url.is_some();
            self.loading = Some(ctx.queue.submit_with_core(move |s, core| figures(s, core, period, ask)));
        }
        self.read_for = Some(ctx.operator.clone());
        self.last_load = Some(Instant::now());
    }

    fn poll(&mut self) {
        let Some(answer) = crate::queue::poll_slot(&mut self.loading) else { return };
        match answer.map_err(|e| e.to_string()).and_then(|r| r.map_err(|e| e.to_string())) {
            Ok(Loaded { dashboard, source }) => {
                self.data = Some(dashboard);
                self.error = None;
                self.as_of = Some(crate::time::to_china_display(&match &source {
                    Source::Backend { as_of } => as_of.clone(),
                    _ => crate::time::now_utc(),
                }));
                self.note = match source {
                    Source::ThisTill => Note::None,
                    Source::Backend { .. } => Note::Backend,
                    Source::ThisTillBecause(e) => Note::OwnBecause(why_words(&e)),
                };
            }
            Err(e) => {
                tracing::warn!(error = %e, "dashboard figures");
                self.error = Some(Text::new("无法读取数据库，请稍后刷新", "Cannot read the database: refresh shortly"));
            }
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        let frame = ui.ctx().cumulative_frame_nr();
        let reshown = frame > self.last_frame + 1;
        self.last_frame = frame;
        let someone_else = self.read_for.as_ref().is_some_and(|o| *o != ctx.operator);
        if reshown || someone_else || self.last_load.is_none_or(|t| t.elapsed() >= REFRESH_EVERY) {
            self.load(ctx);
        }
        self.poll();
        if self.loading.is_some() {
            ui.ctx().request_repaint_after(Duration::from_millis(50));
        } else {
            ui.ctx().request_repaint_after(REFRESH_EVERY);
        }

        let mut reload = false;
        ui.horizontal_wrapped(|ui| {
            for p in Period::PRESETS {
                if ui.selectable_label(self.period == p, p.label(lang)).clicked() && self.period != p {
                    self.period = p;
                    reload = true;
                }
            }
            ui.separator();
            let mut entered = false;
            for (caption, text) in [(lang.pick("从", "From"), &mut self.from), (lang.pick("到", "To"), &mut self.to)]
            {
                let l = ui.label(caption);
                let r = ui.add(egui::TextEdit::singleline(text).desired_width(90.0).hint_text("2026-11-25"));
                let r = r.labelled_by(l.id);
                entered |= r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            }
            if ui.button(lang.pick("查看自定义日期", "Show these days")).clicked() || entered {
                let from = crate::ui::orders::parse_day_opt(&self.from, ("从", "From"));
                let to = crate::ui::orders::parse_day_opt(&self.to, ("到", "To"));
                match (from, to) {
                    (Ok(Some(a)), Ok(b)) | (Ok(b), Ok(Some(a))) => {
                        self.period = Period::Custom(a, b.unwrap_or(a));
                        self.error = None;
                        reload = true;
                    }
                    (Ok(None), Ok(None)) => {
                        self.error = Some(Text::new("请输入日期，如 2026-11-25", "Type a day like 2026-11-25"))
                    }
                    (Err(e), _) | (_, Err(e)) => self.error = Some(e),
                }
            }
            ui.separator();
            if ui.button(lang.pick("刷新", "Refresh")).clicked() {
                reload = true;
            }
            if self.loading.is_some() {
                ui.spinner();
            }
            if let Some(t) = &self.as_of {
                ui.label(format!("{}{t}", lang.pick("更新于 ", "as of ")));
            }
            if let Some(d) = &self.data
                && ui.button(lang.pick("在订单中查看", "Show in Orders")).clicked()
            {
                self.open_orders = Some(d.days);
            }
        });
        if reload {
            if !matches!(self.period, Period::Custom(..)) {
                self.from.clear();
                self.to.clear();
            }
            self.data = None;
            self.loading = None;
            self.load(ctx);
        }
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e.get(lang));
        }
        let Some(d) = &self.data else {
            ui.label(lang.pick("正在统计…", "Counting…"));
            return;
        };
        note_ui(ui, lang, &self.note);
        let (first, last) = d.days;
        ui.label(if first == last {
            format!("{} {first}", lang.pick("营业日（北京时间）", "Business day (China time)"))
        } else {
            format!("{} {first} – {last}", lang.pick("营业日（北京时间）", "Business days (China time)"))
        });
        let as_table = &mut self.as_table;
        egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
            cards(ui, lang, d);
            ui.add_space(10.0);
            if d.totals.count == 0 {
                ui.label(lang.pick("这段时间没有订单。", "No orders in these days."));
                return;
            }
            ui.checkbox(as_table, lang.pick("图表数据以表格显示", "Show the charts as tables"));
            // Side by side when there is room, one above the other at 1024×600.
            if ui.available_width() >= 900.0 {
                ui.columns(2, |cols| {
                    by_hour(&mut cols[0], lang, d, *as_table);
                    by_wallet(&mut cols[1], lang, d, *as_table);
                });
            } else {
                by_hour(ui, lang, d, *as_table);
                ui.add_space(8.0);
                by_wallet(ui, lang, d, *as_table);
            }
            ui.add_space(10.0);
            shares(ui, lang, "dashboard-stores", lang.pick("按门店", "By store"), &d.by_store);
            ui.add_space(10.0);
            shares(ui, lang, "dashboard-cashiers", lang.pick("按收款员", "By cashier"), &d.by_cashier);
        });
    }
}

/// Says whose figures these are on an enrolled till: the merchant backend's (all tills), or this till's copy and why.
fn note_ui(ui: &mut egui::Ui, lang: Lang, note: &Note) {
    match note {
        Note::None => {}
        Note::Backend => {
            ui.label(lang.pick(
                "商户后台统计：所有收银台的订单（按登录人员的权限）",
                "Added up at the merchant backend: every till's orders (as far as the signed-in operator may see)",
            ));
        }
        Note::OwnBecause(why) => {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!(
                    "{} {}",
                    lang.pick("以下仅为本收银台已同步的订单。", "These are only the orders this till holds."),
                    why.get(lang)
                ),
            );
        }
    }
}

/// Why the figures are the till's own, in both languages (logged once when it is not plain).
fn why_words(e: &RemoteError) -> Text {
    match e {
        RemoteError::SignInRequired => {
            Text::new("登录后显示商户后台的统计", "Sign in to see the merchant backend's figures")
        }
        RemoteError::VaultLocked => crate::ui::words_backend::unlock_first(),
        RemoteError::Link(l) => crate::ui::words_backend::link_error(l),
        RemoteError::Unreachable(_) => Text::new(
            "无法连接商户后台：请检查网络后点“刷新”",
            "The merchant backend cannot be reached: check the network and press Refresh",
        ),
        other => {
            tracing::warn!(error = %other, "the merchant backend's dashboard");
            Text::new("商户后台没有给出统计（详情见日志）", "The merchant backend gave no figures (the log says why)")
        }
    }
}

/// A percentage change, signed, to one decimal ("+12.5%"); "—" when there was nothing to compare with.
fn change_text(now: i64, before: i64) -> String {
    match change_permille(now, before) {
        Some(p) => format!("{}{}.{}%", if p < 0 { "−" } else { "+" }, p.abs() / 10, p.abs() % 10),
        None => "—".to_owned(),
    }
}

/// The five figures as cards that wrap, and how gross and count moved against the day before and a week before.
fn cards(ui: &mut egui::Ui, lang: Lang, d: &Dashboard) {
    let average = d.average_ticket().map_or_else(|| "—".to_owned(), yuan);
    let c = &d.compare;
    let previous = if c.previous_days == 1 {
        lang.pick("比昨天", "vs the day before").to_owned()
    } else {
        format!("{} {} {}", lang.pick("比前", "vs the"), c.previous_days, lang.pick("天", "days before"))
    };
    let week = lang.pick("比上周同期", "vs a week before");
    let gross_cmp = format!(
        "{previous} {} · {week} {}",
        change_text(d.gross().fen(), c.previous.paid_amount.fen()),
        change_text(d.gross().fen(), c.last_week.paid_amount.fen())
    );
    let count_cmp = format!(
        "{previous} {} · {week} {}",
        change_text(d.paid_count(), c.previous.paid_count),
        change_text(d.paid_count(), c.last_week.paid_count)
    );
    let figures = [
        (lang.pick("营业额", "Gross"), yuan(d.gross()), Some(gross_cmp)),
        (lang.pick("退款", "Refunds"), yuan(d.refunds()), None),
        (lang.pick("净收入", "Net"), yuan(d.net()), None),
        (lang.pick("笔数", "Payments"), d.paid_count().to_string(), Some(count_cmp)),
        (lang.pick("客单价", "Average ticket"), average, None),
    ];
    // Cards of one width, as many to a row as fit: they wrap at 1024×600 instead of running off the edge.
    // A card is its content plus 2 × 12 margin and the frame's stroke.
    const FRAME: f32 = 28.0;
    let gap = ui.spacing().item_spacing.x;
    let available = ui.available_width() - 4.0;
    let per_row = (((available + gap) / (130.0 + FRAME + gap)).floor() as usize).clamp(1, figures.len());
    let width = ((available + gap) / per_row as f32 - gap - FRAME).min(260.0);
    for row in figures.chunks(per_row) {
        ui.horizontal(|ui| {
            for (title, value, compare) in row {
                egui::Frame::group(ui.style()).inner_margin(egui::Margin::symmetric(12, 8)).show(ui, |ui| {
                    ui.set_width(width);
                    ui.vertical(|ui| {
                        ui.label(egui::RichText::new(*title).weak());
                        ui.label(egui::RichText::new(value).size(22.0).strong());
                        if let Some(compare) = compare {
                            ui.add(egui::Label::new(egui::RichText::new(compare).small()).wrap());
                        }
                    });
                });
            }
        });
    }
}

fn share_name(lang: Lang, s: &Share) -> String {
    match s.key {
        ShareKey::Wallet(kind) => crate::ui::acquirer_words::wallet_name(kind, lang).to_owned(),
        ShareKey::Cashier(None) => lang.pick("未登录收款", "No one signed in").to_owned(),
        ShareKey::Store(_) if lang == Lang::ZhCn && !s.name_zh.trim().is_empty() => s.name_zh.clone(),
        _ => s.name.clone(),
    }
}

/// A table of shares: name, payments, gross, refunds, net.
fn shares(ui: &mut egui::Ui, lang: Lang, id: &str, title: &str, rows: &[Share]) {
    ui.strong(title);
    egui::Grid::new(id).num_columns(5).striped(true).spacing([14.0, 4.0]).show(ui, |ui| {
        for h in [
            "",
            lang.pick("笔数", "Payments"),
            lang.pick("营业额", "Gross"),
            lang.pick("退款", "Refunds"),
            lang.pick("净收入", "Net"),
        ] {
            ui.strong(h);
        }
        ui.end_row();
        for s in rows {
            ui.label(share_name(lang, s));
            ui.label(s.totals.paid_count.to_string());
            ui.label(yuan(s.totals.paid_amount));
            ui.label(yuan(s.totals.refunded_amount));
            ui.label(yuan(s.totals.net()));
            ui.end_row();
        }
    });
}

fn chart_height(ui: &egui::Ui) -> f32 {
    (ui.available_height() * 0.45).clamp(140.0, 220.0)
}

fn by_wallet(ui: &mut egui::Ui, lang: Lang, d: &Dashboard, as_table: bool) {
    ui.strong(lang.pick("按钱包", "By wallet"));
    if as_table {
        shares(ui, lang, "dashboard-wallets", "", &d.by_wallet);
        return;
    }
    let bars: Vec<egui_plot::Bar> = d
        .by_wallet
        .iter()
        .enumerate()
        .map(|(i, s)| {
            egui_plot::Bar::new(i as f64, plot_height(s.totals.paid_amount)).name(share_name(lang, s)).width(0.6)
        })
        .collect();
    let names: Vec<String> = d.by_wallet.iter().map(|s| share_name(lang, s)).collect();
    let summary = d
        .by_wallet
        .iter()
        .map(|s| format!("{} {}", share_name(lang, s), yuan(s.totals.paid_amount)))
        .collect::<Vec<_>>()
        .join(" · ");
    let plot = egui_plot::Plot::new("dashboard-by-wallet")
        .height(chart_height(ui))
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .show_grid([false, true])
        .x_axis_formatter(move |mark, _| {
            let i = mark.value.round();
            if (mark.value - i).abs() < 1e-6 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_axis_formatter(|mark, _| format!("¥{}", mark.value))
        .show(ui, |plot| plot.bar_chart(egui_plot::BarChart::new(lang.pick("营业额", "Gross"), bars).color(BAR_COLOR)));
    // The chart's values as its accessible description.
    let label = format!("{}: {summary}", lang.pick("按钱包营业额", "Gross by wallet"));
    plot.response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &label));
}

fn by_hour(ui: &mut egui::Ui, lang: Lang, d: &Dashboard, as_table: bool) {
    ui.strong(lang.pick("按小时（北京时间）", "By hour (China time)"));
    if as_table {
        egui::Grid::new("dashboard-hours").num_columns(3).striped(true).spacing([14.0, 2.0]).show(ui, |ui| {
            for h in [lang.pick("时段", "Hour"), lang.pick("笔数", "Payments"), lang.pick("营业额", "Gross")] {
                ui.strong(h);
            }
            ui.end_row();
            for (hour, s) in d.by_hour.iter().enumerate().filter(|(_, s)| s.count > 0) {
                ui.label(format!("{hour:02}:00–{:02}:00", (hour + 1) % 24));
                ui.label(s.count.to_string());
                ui.label(yuan(s.gross));
                ui.end_row();
            }
        });
    } else {
        let bars: Vec<egui_plot::Bar> = d
            .by_hour
            .iter()
            .enumerate()
            .filter(|(_, h)| h.count > 0)
            .map(|(hour, h)| {
                egui_plot::Bar::new(hour as f64, plot_height(h.gross)).name(format!("{hour:02}:00")).width(0.8)
            })
            .collect();
        let summary = d
            .by_hour
            .iter()
            .enumerate()
            .filter(|(_, h)| h.count > 0)
            .map(|(hour, h)| format!("{hour:02}:00 {}", yuan(h.gross)))
            .collect::<Vec<_>>()
            .join(" · ");
        let plot = egui_plot::Plot::new("dashboard-by-hour")
            .height(chart_height(ui))
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .include_x(-0.5)
            .include_x(23.5)
            .show_grid([false, true])
            .x_axis_formatter(|mark, _| {
                let h = mark.value.round();
                if (mark.value - h).abs() < 1e-6 && (0.0..24.0).contains(&h) {
                    format!("{h:02}")
                } else {
                    String::new()
                }
            })
            .y_axis_formatter(|mark, _| format!("¥{}", mark.value))
            .show(ui, |plot| {
                plot.bar_chart(egui_plot::BarChart::new(lang.pick("营业额", "Gross"), bars).color(BAR_COLOR))
            });
        let label = format!("{}: {summary}", lang.pick("按小时营业额", "Gross by hour"));
        plot.response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &label));
    }
    if let Some((hour, s)) = d.peak_hour() {
        ui.label(format!(
            "{} {hour:02}:00–{:02}:00 · {} {} · {}",
            lang.pick("最忙时段", "Busiest hour"),
            (hour + 1) % 24,
            s.count,
            lang.pick("笔", "payments"),
            yuan(s.gross)
        ));
    }
}
