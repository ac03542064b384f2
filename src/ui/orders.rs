//! 订单 Orders: filters, counts and totals, a virtual table that reads only the rows on screen (so a million
//! orders scroll smoothly), and a detail panel with the timeline and the refund form (PIN asked again).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};

use crate::checkout::SystemClock;
use crate::i18n::Lang;
use crate::model::{Acquirer, Order, OrderStatus, Refund};
use crate::money::Amount;
use crate::refund::{RefundDesk, RefundSettings};
use crate::store::order_query::{OrderFilter, OrderSort, OrderTotals, PageKey};
use crate::store::orders::OrderEvent;
use crate::ui::Ctx;

const PAGE: u64 = 200;

/// A refund run off the UI thread, finished.
type RefundDone = Result<Refund, RefundFailed>;

/// Why a refund from the detail panel did not go through: the PIN (the form stays as typed) or the refund itself.
enum RefundFailed {
    Pin(String),
    Refund(String),
}

/// What the filter bar holds as typed text (checked when applied).
#[derive(Debug, Default, Clone)]
struct FilterForm {
    from: String,
    to: String,
    status: Option<OrderStatus>,
    acquirer: Option<crate::model::AcquirerId>,
    store: Option<crate::model::StoreId>,
    operator: Option<crate::model::OperatorId>,
    min_amount: String,
    max_amount: String,
    search: String,
}

#[derive(Debug, Default)]
struct RefundForm {
    amount: String,
    reason: String,
    operator: String,
    pin: String,
    running: bool,
    message: Option<(bool, String)>,
    /// Focus the amount on the next frame (opened with F3 from the counter).
    focus: bool,
}

#[derive(Default)]
pub struct OrdersScreen {
    form: FilterForm,
    filter: OrderFilter,
    sort: OrderSort,
    totals: Option<OrderTotals>,
    pages: HashMap<u64, Vec<Order>>,
    keys: HashMap<u64, PageKey>,
    acquirers: Vec<Acquirer>,
    stores: Vec<crate::model::Store>,
    operators: Vec<crate::model::Operator>,
    /// Set when the signed-in cashier may see only their own orders.
    own_only: Option<crate::model::OperatorId>,
    filter_error: Option<String>,
    selected: Option<Selected>,
    refund: RefundForm,
    events: Option<(Sender<RefundDone>, Receiver<RefundDone>)>,
    loaded: bool,
    export: crate::ui::export::Exporter,
    /// The filter's count and sums, being computed on their own thread (a full pass over a million orders).
    counting: Option<Receiver<Result<OrderTotals, String>>>,
    /// Receipts printed from the detail (重打小票 F9) and after a refund.
    receipts: ReceiptPrinter,
}

struct Selected {
    order: Order,
    events: Vec<OrderEvent>,
    refunds: Vec<Refund>,
    refundable: Amount,
}

impl std::fmt::Debug for OrdersScreen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrdersScreen").field("filter", &self.filter).finish_non_exhaustive()
    }
}

fn parse_amount_opt(text: &str, what: &str) -> Result<Option<Amount>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    Amount::parse(t).map(Some).map_err(|e| format!("{what}: {e}"))
}

/// A typed local day ("2026-11-25"), or None when empty.
pub(crate) fn parse_day_opt(text: &str, what: &str) -> Result<Option<time::Date>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(t, &format).map(Some).map_err(|_| format!("{what}: {t:?} is not a date like 2026-11-25"))
}

impl OrdersScreen {
    /// Drops cached rows and counts the filter again, off the UI thread (a million orders take a few hundred ms).
    fn reload(&mut self, ctx: &mut Ctx) {
        self.pages.clear();
        self.keys.clear();
        self.totals = None;
        if let Ok(a) = ctx.home.store.acquirers() {
            self.acquirers = a;
        }
        self.stores = ctx.home.store.stores().unwrap_or_default();
        self.operators = ctx.home.store.operators().unwrap_or_default();
        // A cashier sees their own orders only, whatever the form says.
        let own_only = ctx.own_orders_only();
        if own_only.is_some() {
            self.filter.operator = own_only;
        } else if self.own_only.is_some() {
            // The cashier signed out: back to what the form asks for.
            self.filter.operator = self.form.operator;
        }
        self.own_only = own_only;
        let (tx, rx) = std::sync::mpsc::channel();
        let (db, filter) = (ctx.home.store.path().to_owned(), self.filter.clone());
        let spawned = std::thread::Builder::new().name("order-totals".into()).spawn(move || {
            let totals =
                crate::store::Store::open(&db).and_then(|s| s.order_totals(&filter)).map_err(|e| e.to_string());
            let _ = tx.send(totals);
        });
        match spawned {
            Ok(_) => self.counting = Some(rx),
            Err(_) => match ctx.home.store.order_totals(&self.filter) {
                Ok(t) => self.totals = Some(t),
                Err(e) => ctx.error = Some(crate::i18n::Text::untranslated(e.to_string())),
            },
        }
        self.loaded = true;
    }

    /// Picks up the count when it is ready.
    fn poll_totals(&mut self, ui: &egui::Ui, ctx: &mut Ctx) {
        let Some(rx) = &self.counting else { return };
        match rx.try_recv() {
            Ok(Ok(t)) => {
                self.totals = Some(t);
                self.counting = None;
            }
            Ok(Err(e)) => {
                ctx.error = Some(crate::i18n::Text::untranslated(e));
                self.counting = None;
            }
            Err(std::sync::mpsc::TryRecvError::Empty) => {
                ui.ctx().request_repaint_after(std::time::Duration::from_millis(30));
            }
            Err(std::sync::mpsc::TryRecvError::Disconnected) => self.counting = None,
        }
    }

    fn apply_filter(&mut self, ctx: &mut Ctx) {
        let offset = crate::time::local_offset();
        let built = (|| -> Result<OrderFilter, String> {
            let mut f = OrderFilter::default();
            if let Some(d) = parse_day_opt(&self.form.from, "from")? {
                f.from = Some(crate::time::local_day_bounds(d, offset).0);
            }
            if let Some(d) = parse_day_opt(&self.form.to, "to")? {
                f.to = Some(crate::time::local_day_bounds(d, offset).1);
            }
            f.min_amount = parse_amount_opt(&self.form.min_amount, "min")?;
            f.max_amount = parse_amount_opt(&self.form.max_amount, "max")?;
            f.statuses = self.form.status.into_iter().collect();
            f.acquirer = self.form.acquirer;
            f.store = self.form.store;
            f.operator = self.form.operator;
            let s = self.form.search.trim();
            f.search = (!s.is_empty()).then(|| s.to_owned());
            Ok(f)
        })();
        match built {
            Ok(f) => {
                self.filter = f;
                self.filter_error = None;
                self.reload(ctx);
            }
            Err(e) => self.filter_error = Some(e),
        }
    }

    /// The order at row `i`, fetching its page (keyset after the previous page when known, else by offset).
    fn row(&mut self, ctx: &Ctx, i: u64) -> Option<&Order> {
        let page = i / PAGE;
        if !self.pages.contains_key(&page) {
            let fetched = if page == 0 {
                ctx.home.store.orders_page(&self.filter, self.sort, None, PAGE as u32).map(|(rows, _)| rows)
            } else if let Some(key) = self.keys.get(&(page - 1)) {
                ctx.home.store.orders_page(&self.filter, self.sort, Some(key), PAGE as u32).map(|(rows, _)| rows)
            } else {
                ctx.home.store.orders_page_at(&self.filter, self.sort, page * PAGE, PAGE as u32)
            };
            let rows = fetched.unwrap_or_default();
            if let Some(last) = rows.last() {
                self.keys.insert(page, PageKey::of(last, self.sort));
            }
            self.pages.insert(page, rows);
        }
        self.pages.get(&page).and_then(|rows| rows.get((i % PAGE) as usize))
    }

    fn select(&mut self, ctx: &mut Ctx, order: Order) {
        let store = &ctx.home.store;
        let events = store.order_events(order.id).unwrap_or_default();
        let refunds = store.refunds_of(order.id).unwrap_or_default();
        let refundable = store.refundable(&order).map(|r| r.remaining()).unwrap_or(Amount::ZERO);
        self.refund = RefundForm { operator: std::mem::take(&mut self.refund.operator), ..Default::default() };
        self.selected = Some(Selected { order, events, refunds, refundable });
    }

    /// Shows the orders of these local days (the dashboard's "Show in Orders"), other filters cleared.
    pub fn show_days(&mut self, ctx: &mut Ctx, first: time::Date, last: time::Date) {
        self.form = FilterForm { from: first.to_string(), to: last.to_string(), ..Default::default() };
        self.selected = None;
        self.apply_filter(ctx);
    }

    /// Whether the filter's totals are still being counted.
    pub fn is_counting(&self) -> bool {
        self.counting.is_some()
    }

    /// Data may have changed elsewhere (a payment, a refund): read again on next show.
    pub fn invalidate(&mut self) {
        self.loaded = false;
    }

    /// Opens an order by its out_trade_no (the checkout screen's "recent payments" use this).
    pub fn open(&mut self, ctx: &mut Ctx, out_trade_no: &str) {
        if let Ok(Some(order)) = ctx.home.store.order_by_out_trade_no(out_trade_no) {
            self.select(ctx, order);
        }
    }

    /// Opens an order with the focus in its refund form's amount (F3 at the counter).
    pub fn open_for_refund(&mut self, ctx: &mut Ctx, out_trade_no: &str) {
        self.open(ctx, out_trade_no);
        self.refund.focus = true;
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        if !self.loaded {
            self.reload(ctx);
        }
        self.poll_totals(ui, ctx);
        self.drain(ctx);
        self.filter_bar(ui, ctx);
        if self.counting.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(lang.pick("正在统计…", "Counting…"));
            });
        }
        if let Some(t) = self.totals {
            ui.label(format!(
                "{} {}   ·   {} ¥{} ({})   ·   {} ¥{}   ·   {} ¥{}",
                lang.pick("订单数", "Orders"),
                t.count,
                lang.pick("已收", "Paid"),
                t.paid_amount,
                t.paid_count,
                lang.pick("已退", "Refunded"),
                t.refunded_amount,
                lang.pick("净额", "Net"),
                t.net()
            ));
        }
        ui.separator();
        if self.selected.is_none() {
            self.table(ui, ctx);
            return;
        }
        // The detail on the right, the table in what is left: two rectangles, so neither draws over the other.
        let area = ui.available_rect_before_wrap();
        let detail_width = 390.0_f32.min(area.width() * 0.5);
        let split = area.max.x - detail_width;
        let table_rect = egui::Rect::from_min_max(area.min, egui::pos2(split - 8.0, area.max.y));
        let detail_rect = egui::Rect::from_min_max(egui::pos2(split, area.min.y), area.max);
        ui.scope_builder(egui::UiBuilder::new().max_rect(detail_rect), |ui| {
            egui::ScrollArea::vertical().id_salt("order-detail").show(ui, |ui| self.detail(ui, ctx));
        });
        ui.scope_builder(egui::UiBuilder::new().max_rect(table_rect), |ui| {
            ui.set_clip_rect(table_rect.intersect(ui.clip_rect()));
            self.table(ui, ctx);
        });
        ui.advance_cursor_after_rect(area);
    }

    fn filter_bar(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        let mut apply = false;
        ui.horizontal_wrapped(|ui| {
            let field = |ui: &mut egui::Ui, label: &str, text: &mut String, width: f32| {
                let l = ui.label(label);
                let r = ui.add(egui::TextEdit::singleline(text).desired_width(width)).labelled_by(l.id);
                r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter))
            };
            apply |= field(ui, lang.pick("从", "From"), &mut self.form.from, 90.0);
            apply |= field(ui, lang.pick("到", "To"), &mut self.form.to, 90.0);
            apply |= field(ui, lang.pick("最小金额", "Min"), &mut self.form.min_amount, 60.0);
            apply |= field(ui, lang.pick("最大金额", "Max"), &mut self.form.max_amount, 60.0);
            apply |= field(ui, lang.pick("搜索", "Search"), &mut self.form.search, 160.0);
            let status_text = self.form.status.map_or(lang.pick("全部状态", "All statuses"), |s| s.label(lang));
            egui::ComboBox::new("orders-status", lang.pick("状态", "Status")).selected_text(status_text).show_ui(
                ui,
                |ui| {
                    apply |= ui
                        .selectable_value(&mut self.form.status, None, lang.pick("全部状态", "All statuses"))
                        .clicked();
                    for s in OrderStatus::ALL {
                        apply |= ui.selectable_value(&mut self.form.status, Some(*s), s.label(lang)).clicked();
                    }
                },
            );
            let acq_text = self
                .form
                .acquirer
                .and_then(|id| self.acquirers.iter().find(|a| a.id == id))
                .map_or(lang.pick("全部机构", "All acquirers").to_owned(), |a| a.name.clone());
            egui::ComboBox::new("orders-acquirer", lang.pick("机构", "Acquirer")).selected_text(acq_text).show_ui(
                ui,
                |ui| {
                    apply |= ui
                        .selectable_value(&mut self.form.acquirer, None, lang.pick("全部机构", "All acquirers"))
                        .clicked();
                    for a in &self.acquirers {
                        apply |= ui.selectable_value(&mut self.form.acquirer, Some(a.id), a.name.as_str()).clicked();
                    }
                },
            );
            let store_text = self
                .form
                .store
                .and_then(|id| self.stores.iter().find(|s| s.id == id))
                .map_or(lang.pick("全部门店", "All stores").to_owned(), |s| format!("{} {}", s.store_code, s.name));
            egui::ComboBox::new("orders-store", lang.pick("门店", "Store")).selected_text(store_text).show_ui(
                ui,
                |ui| {
                    apply |=
                        ui.selectable_value(&mut self.form.store, None, lang.pick("全部门店", "All stores")).clicked();
                    for s in &self.stores {
                        let label = format!("{} {}", s.store_code, s.name);
                        apply |= ui.selectable_value(&mut self.form.store, Some(s.id), label).clicked();
                    }
                },
            );
            if self.own_only.is_none() {
                let op_text = self
                    .form
                    .operator
                    .and_then(|id| self.operators.iter().find(|o| o.id == id))
                    .map_or(lang.pick("全部操作员", "All operators").to_owned(), |o| o.name.clone());
                egui::ComboBox::new("orders-operator", lang.pick("收款员", "Taken by")).selected_text(op_text).show_ui(
                    ui,
                    |ui| {
                        apply |= ui
                            .selectable_value(&mut self.form.operator, None, lang.pick("全部操作员", "All operators"))
                            .clicked();
                        for o in &self.operators {
                            apply |=
                                ui.selectable_value(&mut self.form.operator, Some(o.id), o.name.as_str()).clicked();
                        }
                    },
                );
            } else {
                ui.label(lang.pick("（仅显示本人收款）", "(your own payments only)"));
            }
            let sort_before = self.sort;
            egui::ComboBox::new("orders-sort", lang.pick("排序", "Sort"))
                .selected_text(sort_label(self.sort, lang))
                .show_ui(ui, |ui| {
                    for s in [
                        OrderSort::NewestFirst,
                        OrderSort::OldestFirst,
                        OrderSort::LargestFirst,
                        OrderSort::SmallestFirst,
                    ] {
                        ui.selectable_value(&mut self.sort, s, sort_label(s, lang));
                    }
                });
            apply |= self.sort != sort_before;
            apply |= ui.button(lang.pick("查询", "Apply")).clicked();
            if let Some(format) = self.export.buttons(ui, lang) {
                let (filter, sort) = (self.filter.clone(), self.sort);
                self.export.start(
                    ctx,
                    ui.ctx(),
                    "orders",
                    format,
                    Box::new(move |db, path, progress, cancel| {
                        crate::export::export_orders(db, &filter, sort, path, lang, progress, cancel)
                    }),
                );
            }
        });
        self.export.show(ui, lang);
        if let Some(e) = &self.filter_error {
            ui.colored_label(egui::Color32::from_rgb(200, 60, 60), e);
        }
        if apply {
            self.apply_filter(ctx);
        }
    }

    fn table(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        let Some(totals) = self.totals else { return };
        let total = totals.count.max(0) as usize;
        if total == 0 {
            ui.label(lang.pick("没有符合条件的订单", "No orders match the filter"));
            return;
        }
        let mut clicked: Option<Order> = None;
        // Fixed starting widths and clipped cells: a narrow space (the detail open) truncates, never overflows.
        egui_extras::TableBuilder::new(ui)
            .striped(true)
            .column(egui_extras::Column::initial(150.0).at_least(120.0).clip(true))
            .column(egui_extras::Column::initial(220.0).at_least(120.0).clip(true))
            .column(egui_extras::Column::initial(90.0).at_least(70.0).clip(true))
            .column(egui_extras::Column::initial(100.0).at_least(70.0).clip(true))
            .column(egui_extras::Column::remainder().at_least(60.0).clip(true))
            .header(22.0, |mut h| {
                for title in [
                    lang.pick("时间", "Time"),
                    lang.pick("商户订单号", "out_trade_no"),
                    lang.pick("金额", "Amount"),
                    lang.pick("状态", "Status"),
                    lang.pick("商品", "Subject"),
                ] {
                    h.col(|ui| {
                        ui.strong(title);
                    });
                }
            })
            .body(|body| {
                body.rows(22.0, total, |mut row| {
                    let i = row.index() as u64;
                    let Some(order) = self.row(ctx, i).cloned() else { return };
                    row.col(|ui| {
                        ui.label(crate::time::to_local_display(&order.created_at));
                    });
                    row.col(|ui| {
                        if ui.link(&order.out_trade_no).clicked() {
                            clicked = Some(order.clone());
                        }
                    });
                    row.col(|ui| {
                        ui.label(format!("¥{}", order.total_amount));
                    });
                    row.col(|ui| {
                        ui.label(order.status.label(lang));
                    });
                    row.col(|ui| {
                        ui.label(&order.subject);
                    });
                });
            });
        if let Some(order) = clicked {
            self.select(ctx, order);
        }
    }

    fn detail(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        let mut close = false;
        ui.horizontal(|ui| {
            ui.heading(lang.pick("订单详情", "Order detail"));
            close = ui.button(lang.pick("关闭", "Close")).clicked();
        });
        if close {
            self.selected = None;
        }
        let Some(sel) = &self.selected else { return };
        let o = &sel.order;
        let acquirer = self.acquirers.iter().find(|a| a.id == o.acquirer_id).map_or("?", |a| a.name.as_str());
        egui::Grid::new("order-detail-grid").num_columns(2).show(ui, |ui| {
            let mut line = |k: &str, v: String| {
                ui.label(k);
                ui.label(v);
                ui.end_row();
            };
            line(lang.pick("商户订单号", "out_trade_no"), o.out_trade_no.clone());
            line(lang.pick("支付机构单号", "trade_no"), o.trade_no.clone().unwrap_or_else(|| "—".into()));
            line(lang.pick("收单机构", "Acquirer"), acquirer.to_owned());
            line(lang.pick("来源", "Source"), o.source.as_str().to_owned());
            line(lang.pick("状态", "Status"), o.status.label(lang).to_owned());
            line(lang.pick("订单金额", "Total"), format!("¥{}", o.total_amount));
            let paid = if matches!(o.status, OrderStatus::Paid | OrderStatus::PartiallyRefunded | OrderStatus::Refunded)
            {
                o.total_amount
            } else {
                Amount::ZERO
            };
            line(lang.pick("实收", "Paid"), format!("¥{paid}"));
            line(lang.pick("已退款", "Refunded"), format!("¥{}", o.refunded_amount));
            line(lang.pick("可退款", "Refundable"), format!("¥{}", sel.refundable));
            line(lang.pick("付款码", "Payment code"), o.auth_code_masked.clone().unwrap_or_else(|| "—".into()));
            line(lang.pick("创建时间", "Created"), crate::time::to_local_display(&o.created_at));
            if let Some(p) = &o.paid_at {
                line(lang.pick("支付时间", "Paid at"), crate::time::to_local_display(p));
            }
        });
        let out_trade_no = o.out_trade_no.clone();
        let reprint = ui.add_enabled(
            !self.receipts.is_busy(),
            egui::Button::new(lang.pick("重打小票 F9", "Reprint receipt F9")).min_size(egui::vec2(0.0, 32.0)),
        );
        let f9 = ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::F9));
        if (reprint.clicked() || f9) && !self.receipts.is_busy() {
            self.receipts.print(ctx, &out_trade_no, None);
        }
        self.receipts.show(ui, ctx);
        ui.separator();
        ui.strong(lang.pick("时间线", "Timeline"));
        for e in &sel.events {
            ui.label(format!("{}  {}  {}", crate::time::to_local_display(&e.at), e.kind, e.detail));
        }
        if !sel.refunds.is_empty() {
            ui.separator();
            ui.strong(lang.pick("退款记录", "Refunds"));
            for r in &sel.refunds {
                ui.label(format!("{}  ¥{}  {}  {}", r.out_request_no, r.refund_amount, r.status.label(lang), r.reason));
            }
        }
        let can_refund =
            sel.refundable.fen() > 0 && matches!(o.status, OrderStatus::Paid | OrderStatus::PartiallyRefunded);
        if can_refund {
            ui.separator();
            self.refund_form(ui, ctx);
        }
    }

    fn refund_form(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        ui.strong(lang.pick("退款", "Refund"));
        // Refunds need a signed-in operator who may refund; the form then asks for their PIN again.
        if let Err(refused) = ctx.permit(crate::store::operators::Permission::Refund) {
            ui.colored_label(ui.visuals().error_fg_color, refused);
            return;
        }
        let f = &mut self.refund;
        if f.operator.is_empty()
            && let Some(me) = &ctx.operator
        {
            f.operator = me.clone();
        }
        // Enter in any field submits the form (as the button does).
        let mut entered = false;
        egui::Grid::new("refund-form").num_columns(2).show(ui, |ui| {
            let field = |ui: &mut egui::Ui, label: &str, text: &mut String, password: bool| {
                let l = ui.label(label);
                let r =
                    ui.add(egui::TextEdit::singleline(text).password(password).desired_width(160.0)).labelled_by(l.id);
                ui.end_row();
                r
            };
            let amount = field(ui, lang.pick("退款金额", "Refund amount"), &mut f.amount, false);
            if std::mem::take(&mut f.focus) {
                amount.request_focus();
            }
            let mut fields = vec![amount];
            fields.push(field(ui, lang.pick("退款原因", "Reason"), &mut f.reason, false));
            fields.push(field(ui, lang.pick("操作员", "Operator"), &mut f.operator, false));
            fields.push(field(ui, "PIN", &mut f.pin, true));
            entered = fields.iter().any(|r| r.lost_focus()) && ui.input(|i| i.key_pressed(egui::Key::Enter));
        });
        if let Some((ok, text)) = &f.message {
            let color = if *ok { egui::Color32::from_rgb(60, 170, 90) } else { egui::Color32::from_rgb(200, 60, 60) };
            ui.colored_label(color, text);
        }
        if f.running {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(lang.pick("正在退款…", "Refunding…"));
            });
        } else if ui.button(lang.pick("确认退款", "Confirm refund")).clicked() || entered {
            self.start_refund(ctx);
        }
    }

    fn start_refund(&mut self, ctx: &mut Ctx) {
        let lang = ctx.lang;
        let Some(sel) = &self.selected else { return };
        let out_trade_no = sel.order.out_trade_no.clone();
        let f = &mut self.refund;
        let amount = match Amount::parse(f.amount.trim()) {
            Ok(a) => a,
            Err(e) => {
                f.message = Some((false, format!("{}: {e}", lang.pick("退款金额", "Refund amount"))));
                return;
            }
        };
        if amount > sel.refundable {
            f.message = Some((
                false,
                format!("{} ¥{}", lang.pick("超过可退金额", "More than can be refunded:"), sel.refundable),
            ));
            return;
        }
        if let Err(refused) = ctx.permit(crate::store::operators::Permission::Refund) {
            f.message = Some((false, refused));
            return;
        }
        if let Some(words) = ctx.money_path.elsewhere_words(lang) {
            f.message = Some((false, words));
            return;
        }
        // The PIN is asked again for every refund, and checked off the UI thread (Argon2 is slow on purpose).
        let (name, pin) = (f.operator.clone(), std::mem::take(&mut f.pin));
        let (Some(runtime), Ok(router)) = (ctx.runtime.clone(), ctx.router()) else {
            f.message = Some((false, lang.pick("收单通道未连接", "The acquirers are not connected").into()));
            return;
        };
        let db = ctx.home.store.path().to_owned();
        let reason = f.reason.clone();
        f.running = true;
        f.message = None;
        let (tx, _) = self.events.get_or_insert_with(std::sync::mpsc::channel);
        let tx = tx.clone();
        runtime.spawn(async move {
            let result = async {
                let checked = tokio::task::spawn_blocking(move || {
                    let mut store = crate::store::Store::open(&db).map_err(|e| RefundFailed::Refund(e.to_string()))?;
                    let operator = store
                        .verify_pin(&name, &pin)
                        .map_err(|e| RefundFailed::Pin(crate::ui::staff::verify_words(lang, &e)))?;
                    Ok::<_, RefundFailed>((store, operator))
                })
                .await
                .map_err(|e| RefundFailed::Refund(e.to_string()))?;
                let (store, operator) = checked?;
                let desk = RefundDesk::new(store, router, Arc::new(SystemClock), RefundSettings::default());
                desk.refund(&operator, &out_trade_no, amount, &reason)
                    .await
                    .map_err(|e| RefundFailed::Refund(e.to_string()))
            }
            .await;
            let _ = tx.send(result);
        });
    }

    fn drain(&mut self, ctx: &mut Ctx) {
        let Some((_, rx)) = &self.events else { return };
        let mut done = Vec::new();
        while let Ok(r) = rx.try_recv() {
            done.push(r);
        }
        for result in done {
            self.refund.running = false;
            let lang = ctx.lang;
            if let Err(RefundFailed::Pin(text)) = result {
                // Nothing was sent: the form stays as typed, for the right PIN.
                self.refund.message = Some((false, text));
                continue;
            }
            if let (Ok(r), Some(sel)) = (&result, &self.selected)
                && matches!(r.status, crate::model::RefundStatus::Success)
            {
                // After a refund: its receipt, as the receipt settings say (always / ask / never).
                self.receipts.after_sale(ctx, &sel.order.out_trade_no.clone(), Some(&r.out_request_no));
            }
            self.refund.message = Some(match result {
                Ok(r) => (
                    true,
                    format!(
                        "{} {} ¥{} {}",
                        lang.pick("退款", "Refund"),
                        r.out_request_no,
                        r.refund_amount,
                        r.status.label(lang)
                    ),
                ),
                Err(RefundFailed::Refund(e) | RefundFailed::Pin(e)) => (false, e),
            });
            self.refund.amount.clear();
            self.refund.reason.clear();
            let message = self.refund.message.take();
            if let Some(out) = self.selected.as_ref().map(|s| s.order.out_trade_no.clone()) {
                self.reload(ctx);
                self.open(ctx, &out);
            }
            self.refund.message = message;
        }
    }
}

fn sort_label(sort: OrderSort, lang: Lang) -> &'static str {
    match sort {
        OrderSort::NewestFirst => lang.pick("最新在前", "Newest first"),
        OrderSort::OldestFirst => lang.pick("最早在前", "Oldest first"),
        OrderSort::LargestFirst => lang.pick("金额从大到小", "Largest first"),
        OrderSort::SmallestFirst => lang.pick("金额从小到大", "Smallest first"),
    }
}

/// What a receipt job came back with.
enum ReceiptDone {
    Printed(crate::receipt::Printed),
    After(crate::receipt::AfterSale, String, Option<String>),
}

/// Prints receipts off the UI thread and shows how it went in the UI's language: the order detail's 重打小票 (F9),
/// the receipt after a refund, and the checkout's receipt after a payment ([`ReceiptPrinter::after_sale`]). With no
/// printer configured a reprint is saved as a PDF under the data folder's `receipts/`. It never takes the keyboard
/// focus, so the next scan goes where it went.
#[derive(Default)]
pub struct ReceiptPrinter {
    running: Option<Receiver<Result<ReceiptDone, crate::receipt::ReceiptError>>>,
    /// Mode "ask": the receipt the cashier may print (out_trade_no, refund).
    offer: Option<(String, Option<String>)>,
    message: Option<(bool, String)>,
}

impl std::fmt::Debug for ReceiptPrinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiptPrinter").field("running", &self.running.is_some()).finish_non_exhaustive()
    }
}

impl ReceiptPrinter {
    pub fn is_busy(&self) -> bool {
        self.running.is_some()
    }

    fn spawn(
        &mut self,
        ctx: &Ctx,
        work: impl FnOnce(&crate::store::Store) -> Result<ReceiptDone, crate::receipt::ReceiptError> + Send + 'static,
    ) {
        let db = ctx.home.store.path().to_owned();
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new().name("receipt".into()).spawn(move || {
            let done =
                crate::store::Store::open(&db).map_err(crate::receipt::ReceiptError::from).and_then(|s| work(&s));
            let _ = tx.send(done);
        });
        match spawned {
            Ok(_) => {
                self.running = Some(rx);
                self.message = None;
            }
            Err(e) => self.message = Some((false, e.to_string())),
        }
    }

    /// Prints the receipt of `out_trade_no` (of its refund `refund`) as a reprint: on the configured printer, or
    /// saved as a PDF when none is configured.
    pub fn print(&mut self, ctx: &Ctx, out_trade_no: &str, refund: Option<&str>) {
        self.print_as(ctx, out_trade_no, refund, true);
    }

    fn print_as(&mut self, ctx: &Ctx, out_trade_no: &str, refund: Option<&str>, reprint: bool) {
        let safe =
            |t: &str| t.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')).collect::<String>();
        let name = match refund {
            Some(r) => format!("receipt-{}-{}.pdf", safe(out_trade_no), safe(r)),
            None => format!("receipt-{}.pdf", safe(out_trade_no)),
        };
        let folder = ctx.home.dir.join("receipts");
        let (out, refund) = (out_trade_no.to_owned(), refund.map(str::to_owned));
        self.offer = None;
        self.spawn(ctx, move |db| {
            crate::receipt::print_receipt(db, &out, refund.as_deref(), reprint, &folder.join(name))
                .map(ReceiptDone::Printed)
        });
    }

    /// After a payment or a refund has gone through: prints its receipt when the settings say "always", offers a
    /// button when they say "ask", does nothing when "never" (or no printer is set). The checkout calls this with
    /// the paid order's out_trade_no.
    pub fn after_sale(&mut self, ctx: &Ctx, out_trade_no: &str, refund: Option<&str>) {
        let (out, refund) = (out_trade_no.to_owned(), refund.map(str::to_owned));
        self.spawn(ctx, move |db| {
            crate::receipt::after_sale(db, &out, refund.as_deref()).map(|a| ReceiptDone::After(a, out, refund))
        });
    }

    /// Picks up a finished job and shows the result (and the "print receipt" button in mode ask).
    pub fn show(&mut self, ui: &mut egui::Ui, ctx: &Ctx) {
        let lang = ctx.lang;
        if let Some(rx) = &self.running {
            match rx.try_recv() {
                Ok(done) => {
                    self.running = None;
                    self.finish(done, lang);
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => {
                    ui.ctx().request_repaint_after(std::time::Duration::from_millis(30));
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label(lang.pick("正在打印小票…", "Printing the receipt…"));
                    });
                }
                Err(std::sync::mpsc::TryRecvError::Disconnected) => self.running = None,
            }
        }
        if let Some((out, refund)) = self.offer.clone()
            && ui.button(lang.pick("打印小票", "Print receipt")).clicked()
        {
            self.print_as(ctx, &out, refund.as_deref(), false);
        }
        if let Some((ok, text)) = &self.message {
            let color = if *ok { egui::Color32::from_rgb(60, 170, 90) } else { ui.visuals().error_fg_color };
            ui.colored_label(color, text);
        }
    }

    fn finish(&mut self, done: Result<ReceiptDone, crate::receipt::ReceiptError>, lang: Lang) {
        use crate::receipt::{AfterSale, Printed, ReceiptError};
        self.message = match done {
            Ok(ReceiptDone::Printed(Printed::Printer(at)) | ReceiptDone::After(AfterSale::Printed(at), ..)) => {
                Some((true, format!("{} {at}", lang.pick("小票已打印：", "Receipt printed on"))))
            }
            Ok(ReceiptDone::Printed(Printed::Pdf(path))) => Some((
                true,
                format!(
                    "{} {}",
                    lang.pick("未设置小票打印机，已存为 PDF：", "No receipt printer set; saved as PDF:"),
                    path.display()
                ),
            )),
            Ok(ReceiptDone::After(AfterSale::Skipped, ..)) => None,
            Ok(ReceiptDone::After(AfterSale::Ask, out, refund)) => {
                self.offer = Some((out, refund));
                None
            }
            Err(ReceiptError::Unreachable { address, .. } | ReceiptError::Send { address, .. }) => Some((
                false,
                format!("{} {address}", lang.pick("小票打印机无法连接：", "Cannot reach the receipt printer at")),
            )),
            Err(ReceiptError::UnknownOrder { out_trade_no }) => {
                Some((false, format!("{} {out_trade_no}", lang.pick("找不到订单", "No such order"))))
            }
            Err(e) => Some((false, format!("{} {e}", lang.pick("小票打印失败：", "The receipt was not printed:")))),
        };
    }
}
