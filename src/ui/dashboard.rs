//! 概览 Dashboard: today or this week at a glance (gross, refunds, net, count, average ticket), by acquirer and by
//! hour as charts, and "Show in Orders" to open the same filter on the Orders screen, where the totals are the same.
//!
//! The figures are read on a background thread with their own connection (a busy week over a million orders must not
//! stall the window) and refreshed when the screen is shown, every 30 seconds, or on "Refresh".

use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, Instant};

use crate::dashboard::{Dashboard, Period, dashboard};
use crate::i18n::Lang;
use crate::money::Amount;
use crate::store::Store;
use crate::ui::Ctx;

const REFRESH_EVERY: Duration = Duration::from_secs(30);
const BAR_COLOR: egui::Color32 = egui::Color32::from_rgb(66, 133, 214);

#[derive(Default)]
pub struct DashboardScreen {
    period: Period,
    data: Option<Dashboard>,
    as_of: Option<String>,
    error: Option<String>,
    loading: Option<Receiver<Result<Dashboard, String>>>,
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

    fn load(&mut self, ctx: &Ctx, egui_ctx: &egui::Context) {
        if self.loading.is_some() {
            return;
        }
        let (tx, rx) = mpsc::channel();
        let (db_path, period, repaint) = (ctx.home.store.path().to_owned(), self.period, egui_ctx.clone());
        let offset = crate::time::local_offset();
        let spawned = std::thread::Builder::new().name("dashboard".into()).spawn(move || {
            let result = Store::open(&db_path)
                .and_then(|db| dashboard(&db, period, time::OffsetDateTime::now_utc(), offset))
                .map_err(|e| e.to_string());
            let _ = tx.send(result);
            repaint.request_repaint();
        });
        match spawned {
            Ok(_) => {
                self.loading = Some(rx);
                self.last_load = Some(Instant::now());
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    fn poll(&mut self) {
        if let Some(rx) = &self.loading {
            match rx.try_recv() {
                Ok(Ok(d)) => {
                    self.data = Some(d);
                    self.error = None;
                    self.as_of = Some(crate::time::to_local_display(&crate::time::now_utc()));
                    self.loading = None;
                }
                Ok(Err(e)) => {
                    self.error = Some(e);
                    self.loading = None;
                }
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => self.loading = None,
            }
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        let frame = ui.ctx().cumulative_frame_nr();
        let reshown = frame > self.last_frame + 1;
        self.last_frame = frame;
        if reshown || self.last_load.is_none_or(|t| t.elapsed() >= REFRESH_EVERY) {
            self.load(ctx, ui.ctx());
        }
        self.poll();
        if self.loading.is_some() {
            ui.ctx().request_repaint_after(Duration::from_millis(50));
        } else {
            ui.ctx().request_repaint_after(REFRESH_EVERY);
        }

        ui.horizontal(|ui| {
            for p in Period::ALL {
                if ui.selectable_label(self.period == p, p.label(lang)).clicked() && self.period != p {
                    self.period = p;
                    self.data = None;
                    self.loading = None;
                    self.load(ctx, ui.ctx());
                }
            }
            ui.separator();
            if ui.button(lang.pick("刷新", "Refresh")).clicked() {
                self.loading = None;
                self.load(ctx, ui.ctx());
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
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        let Some(d) = &self.data else {
            ui.label(lang.pick("正在统计…", "Counting…"));
            return;
        };
        ui.add_space(6.0);
        cards(ui, lang, d);
        ui.add_space(10.0);
        if d.paid_count() == 0 {
            ui.label(match d.period {
                Period::Today => lang.pick("今天还没有收款。", "No payments yet today."),
                Period::ThisWeek => lang.pick("本周还没有收款。", "No payments yet this week."),
            });
            return;
        }
        egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
            ui.columns(2, |cols| {
                by_acquirer(&mut cols[0], lang, d);
                by_hour(&mut cols[1], lang, d);
            });
        });
    }
}

/// The five figures as cards.
fn cards(ui: &mut egui::Ui, lang: Lang, d: &Dashboard) {
    let average = d.average_ticket().map_or_else(|| "—".to_owned(), yuan);
    let figures = [
        (lang.pick("营业额", "Gross"), yuan(d.gross())),
        (lang.pick("退款", "Refunds"), yuan(d.refunds())),
        (lang.pick("净收入", "Net"), yuan(d.net())),
        (lang.pick("笔数", "Payments"), d.paid_count().to_string()),
        (lang.pick("客单价", "Average ticket"), average),
    ];
    ui.horizontal_wrapped(|ui| {
        for (title, value) in figures {
            egui::Frame::group(ui.style()).inner_margin(egui::Margin::symmetric(14, 10)).show(ui, |ui| {
                ui.set_min_width(150.0);
                ui.vertical(|ui| {
                    ui.label(egui::RichText::new(title).weak());
                    ui.label(egui::RichText::new(value).size(24.0).strong());
                });
            });
        }
    });
}

fn by_acquirer(ui: &mut egui::Ui, lang: Lang, d: &Dashboard) {
    ui.strong(lang.pick("按收单机构", "By acquirer"));
    let bars: Vec<egui_plot::Bar> = d
        .by_acquirer
        .iter()
        .enumerate()
        .map(|(i, a)| egui_plot::Bar::new(i as f64, plot_height(a.gross)).name(&a.name).width(0.6))
        .collect();
    let names: Vec<String> = d.by_acquirer.iter().map(|a| a.name.clone()).collect();
    egui_plot::Plot::new("dashboard-by-acquirer")
        .height(220.0)
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
    egui::Grid::new("dashboard-acquirers").num_columns(5).striped(true).spacing([14.0, 4.0]).show(ui, |ui| {
        for h in [
            lang.pick("收单机构", "Acquirer"),
            lang.pick("笔数", "Payments"),
            lang.pick("营业额", "Gross"),
            lang.pick("退款", "Refunds"),
            lang.pick("净收入", "Net"),
        ] {
            ui.strong(h);
        }
        ui.end_row();
        for a in &d.by_acquirer {
            ui.label(&a.name);
            ui.label(a.count.to_string());
            ui.label(yuan(a.gross));
            ui.label(yuan(a.refunded));
            ui.label(yuan(a.net()));
            ui.end_row();
        }
    });
}

fn by_hour(ui: &mut egui::Ui, lang: Lang, d: &Dashboard) {
    ui.strong(lang.pick("按小时（本地时间）", "By hour (local time)"));
    let bars: Vec<egui_plot::Bar> = d
        .by_hour
        .iter()
        .enumerate()
        .filter(|(_, h)| h.count > 0)
        .map(|(hour, h)| {
            egui_plot::Bar::new(hour as f64, plot_height(h.gross)).name(format!("{hour:02}:00")).width(0.8)
        })
        .collect();
    egui_plot::Plot::new("dashboard-by-hour")
        .height(220.0)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .include_x(-0.5)
        .include_x(23.5)
        .show_grid([false, true])
        .x_axis_formatter(|mark, _| {
            let h = mark.value.round();
            if (mark.value - h).abs() < 1e-6 && (0.0..24.0).contains(&h) { format!("{h:02}") } else { String::new() }
        })
        .y_axis_formatter(|mark, _| format!("¥{}", mark.value))
        .show(ui, |plot| plot.bar_chart(egui_plot::BarChart::new(lang.pick("营业额", "Gross"), bars).color(BAR_COLOR)));
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
