//! 订单 Orders: filters (China business days with presets, wallet, store, cashier, status, amounts, a search of
//! subjects and numbers), counts and totals from the running totals, a virtual table that reads only the rows on
//! screen (a window anywhere in a million orders without a long scan), driven by the keyboard (↑/↓, PageUp/PageDown,
//! Home/End, Enter opens), and a detail panel with the timeline phrased in the UI's language and the refund form
//! (PIN asked again), also opened from a row's "Refund…" button.

use std::collections::HashMap;
use std::sync::Arc;

use crate::checkout::SystemClock;
use crate::dashboard::Period;
use crate::i18n::{Lang, Phrase, Text};
use crate::model::{Acquirer, Order, OrderId, OrderStatus, Refund};
use crate::money::Amount;
use crate::queue::{Job, Ticket};
use crate::refund::{RefundDesk, RefundSettings};
use crate::store::StoreError;
use crate::store::order_query::{OrderExtras, OrderFilter, OrderSort, OrderTotals, PageKey};
use crate::store::orders::OrderEvent;
use crate::ui::Ctx;
use crate::ui::acquirer_words;
use crate::ui::words_orders::{acquirer_words_of, refund_error_text};
pub use crate::ui::words_orders::{event_words, status_tag};

const PAGE: u64 = 100;
const ROW_HEIGHT: f32 = 24.0;
/// What a filter drop-down takes (egui's combo width and its arrow).
const COMBO_WIDTH: f32 = 130.0;

/// A refund run off the UI thread, finished.
type RefundDone = Result<Refund, RefundFailed>;

/// The names the list and the detail show beside ids, read with each reload.
struct Lists {
    acquirers: Vec<Acquirer>,
    stores: Vec<crate::model::Store>,
    operators: Vec<crate::model::Operator>,
}

/// The order opened in the detail (None: no such order).
type Opened = Result<Option<Selected>, StoreError>;

/// One page of rows with their fees and failures.
type Page = (Vec<Order>, HashMap<OrderId, OrderExtras>);

/// Why a refund from the detail panel did not go through: the PIN (the form stays as typed) or the refund itself.
enum RefundFailed {
    Pin(Text),
    Refund(Text),
}

/// What the filter bar holds as typed text (checked when applied).
#[derive(Debug, Default, Clone)]
struct FilterForm {
    /// None: every day.
    period: Option<Period>,
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
    message: Option<(bool, Text)>,
    /// Focus the amount on the next frame (opened with F3 from the counter, or a row's "Refund…").
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
    /// Fee and acquirer's failure of the rows read so far.
    extras: HashMap<OrderId, OrderExtras>,
    acquirers: Vec<Acquirer>,
    stores: Vec<crate::model::Store>,
    operators: Vec<crate::model::Operator>,
    /// Set when the signed-in cashier may see only their own orders.
    own_only: Option<crate::model::OperatorId>,
    filter_error: Option<Text>,
    selected: Option<Selected>,
    /// The row the keyboard is on (↑/↓, PageUp/PageDown, Home/End; Enter opens it).
    cursor: Option<u64>,
    /// Bring this row into view on the next frame.
    scroll_to: Option<u64>,
    /// Rows that fit in the table, for PageUp/PageDown.
    rows_per_page: u64,
    refund: RefundForm,
    refunding: Option<Job<RefundDone, ()>>,
    loaded: bool,
    export: crate::ui::export::Exporter,
    /// The filter's count and sums, being counted through the queue.
    counting: Option<Ticket<Result<OrderTotals, StoreError>>>,
    /// The names of acquirers, stores and operators, being read.
    listing: Option<Ticket<Result<Lists, StoreError>>>,
    /// Pages of rows being read, by page number.
    fetching: HashMap<u64, Ticket<Result<Page, StoreError>>>,
    /// The order being opened in the detail (its timeline, refunds and what is left to refund), and whether its
    /// refund form takes the focus.
    opening: Option<(Ticket<Opened>, bool)>,
    /// Enter on a row whose page was still being read: opened when it arrives.
    open_row: Option<u64>,
    /// Receipts printed from the detail (重打小票 F9) and after a refund.
    receipts: ReceiptPrinter,
}

struct Selected {
    order: Order,
    events: Vec<OrderEvent>,
    refunds: Vec<Refund>,
    refundable: Amount,
    extras: OrderExtras,
}

impl std::fmt::Debug for OrdersScreen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrdersScreen").field("filter", &self.filter).finish_non_exhaustive()
    }
}

fn parse_amount_opt(text: &str, what: (&str, &str)) -> Result<Option<Amount>, Text> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    Amount::parse(t).map(Some).map_err(|_| {
        Text::new(
            format!("{}：{t} 不是金额，如 12.50", what.0),
            format!("{}: {t:?} is not an amount like 12.50", what.1),
        )
    })
}

/// In a wrapping bar: starts a new row unless `caption` and a control `control_width` wide fit on this one, so
/// a caption is never left at the end of a row with its field or drop-down on the next.
pub(crate) fn room_for(ui: &mut egui::Ui, caption: &str, control_width: f32) {
    let text = egui::WidgetText::from(caption).into_galley(
        ui,
        Some(egui::TextWrapMode::Extend),
        f32::INFINITY,
        egui::TextStyle::Body,
    );
    let needed = text.size().x + control_width + 3.0 * ui.spacing().item_spacing.x;
    if ui.available_size_before_wrap().x < needed {
        ui.end_row();
    }
}

/// A typed China day ("2026-11-25"), or None when empty; `what` names the field in both languages.
pub(crate) fn parse_day_opt(text: &str, what: (&str, &str)) -> Result<Option<time::Date>, Text> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(t, &format).map(Some).map_err(|_| {
        Text::new(
            format!("{}：{t} 不是日期，如 2026-11-25", what.0),
            format!("{}: {t:?} is not a date like 2026-11-25", what.1),
        )
    })
}

/// What `permit` says, in both languages (it words its refusal in the current one).
pub(crate) fn permit_text(ctx: &mut Ctx, permission: crate::store::operators::Permission) -> Result<(), Text> {
    ctx.permit_text(permission)
}

/// Which columns fit: status and amount always; the rest go as the table narrows (the detail open at 1024×600).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Time,
    Number,
    Wallet,
    Amount,
    Status,
    Fee,
    Code,
    Action,
    Subject,
}

fn columns_for(width: f32) -> &'static [Col] {
    use Col::*;
    if width >= 1180.0 {
        &[Time, Number, Wallet, Amount, Status, Fee, Code, Action, Subject]
    } else if width >= 860.0 {
        &[Time, Number, Wallet, Amount, Status, Action, Subject]
    } else if width >= 600.0 {
        &[Time, Number, Amount, Status, Subject]
    } else {
        &[Number, Amount, Status, Subject]
    }
}

impl OrdersScreen {
    /// Drops cached rows and counts the filter again, off the UI thread.
    fn reload(&mut self, ctx: &mut Ctx) {
        self.forget_rows();
        self.totals = None;
        self.listing = Some(ctx.queue.submit(|s| {
            Ok(Lists { acquirers: s.store.acquirers()?, stores: s.store.stores()?, operators: s.store.operators()? })
        }));
        // A cashier sees their own orders only, whatever the form says.
        let own_only = ctx.own_orders_only();
        if own_only.is_some() {
            self.filter.operator = own_only;
        } else if self.own_only.is_some() {
            // The cashier signed out: back to what the form asks for.
            self.filter.operator = self.form.operator;
        }
        self.own_only = own_only;
        let filter = self.filter.clone();
        self.counting = Some(ctx.queue.submit(move |s| s.store.order_totals(&filter)));
        self.loaded = true;
    }

    /// Picks up the count, the names and the pages of rows that have been read.
    fn poll_totals(&mut self, ui: &egui::Ui, ctx: &mut Ctx) {
        let failed = |ctx: &mut Ctx, e: &dyn std::fmt::Display| {
            tracing::warn!(error = %e, "orders list");
            ctx.error = Some(Text::new("无法读取订单", "Cannot read the orders"));
        };
        if let Some(answer) = crate::queue::poll_slot(&mut self.listing) {
            match answer {
                Ok(Ok(lists)) => {
                    self.acquirers = lists.acquirers;
                    self.stores = lists.stores;
                    self.operators = lists.operators;
                }
                Ok(Err(e)) => failed(ctx, &e),
                Err(e) => failed(ctx, &e),
            }
        }
        if let Some(answer) = crate::queue::poll_slot(&mut self.counting) {
            match answer {
                Ok(Ok(t)) => {
                    self.totals = Some(t);
                    if self.cursor.is_some_and(|c| c >= t.count.max(0) as u64) {
                        self.cursor = None;
                    }
                }
                Ok(Err(e)) => failed(ctx, &e),
                Err(e) => failed(ctx, &e),
            }
        }
        let arrived: Vec<u64> = self.fetching.keys().copied().collect();
        for page in arrived {
            let Some(answer) = self.fetching.get_mut(&page).and_then(Ticket::poll) else { continue };
            self.fetching.remove(&page);
            // A page that could not be read shows empty rows (as before: a row is never made up).
            let (rows, extras) = match answer {
                Ok(Ok(page)) => page,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "orders page");
                    Default::default()
                }
                Err(e) => {
                    tracing::warn!(error = %e, "orders page");
                    Default::default()
                }
            };
            if let Some(last) = rows.last() {
                self.keys.insert(page, PageKey::of(last, self.sort));
            }
            self.extras.extend(extras);
            self.pages.insert(page, rows);
        }
        if let Some(answer) = self.opening.as_mut().and_then(|(ticket, _)| ticket.poll()) {
            let focus = self.opening.take().is_some_and(|(_, focus)| focus);
            match answer {
                Ok(Ok(Some(selected))) => {
                    self.selected = Some(selected);
                    self.refund.focus = focus;
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => failed(ctx, &e),
                Err(e) => failed(ctx, &e),
            }
        }
        if let Some(i) = self.open_row
            && let Some(order) = self.row(ctx, i).cloned()
        {
            self.open_row = None;
            self.select(ctx, order);
        }
        if self.counting.is_some() || self.listing.is_some() || !self.fetching.is_empty() || self.opening.is_some() {
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(15));
        }
    }

    fn apply_filter(&mut self, ctx: &mut Ctx) {
        let built = (|| -> Result<OrderFilter, Text> {
            let mut f = OrderFilter::default();
            if let Some(period) = self.form.period {
                let (from, to) = crate::dashboard::china_days_bounds(
                    period.days(time::OffsetDateTime::now_utc()).0,
                    period.days(time::OffsetDateTime::now_utc()).1,
                );
                f.from = Some(from);
                f.to = Some(to);
            }
            f.min_amount = parse_amount_opt(&self.form.min_amount, ("最小金额", "Min"))?;
            f.max_amount = parse_amount_opt(&self.form.max_amount, ("最大金额", "Max"))?;
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
                self.cursor = None;
                self.reload(ctx);
            }
            Err(e) => self.filter_error = Some(e),
        }
    }

    /// The custom days typed in From/To as the period (one day when only one is typed).
    fn custom_period(&mut self) -> Result<Option<Period>, Text> {
        let from = parse_day_opt(&self.form.from, ("从", "From"))?;
        let to = parse_day_opt(&self.form.to, ("到", "To"))?;
        Ok(match (from, to) {
            (Some(a), Some(b)) => Some(Period::Custom(a, b)),
            (Some(a), None) | (None, Some(a)) => Some(Period::Custom(a, a)),
            (None, None) => None,
        })
    }

    /// The order at row `i` once its page has been read; asks the queue for the page when it has not (by keyset
    /// after the previous page when known, else a window from the running totals, see `Store::orders_window`).
    fn row(&mut self, ctx: &Ctx, i: u64) -> Option<&Order> {
        let page = i / PAGE;
        if !self.pages.contains_key(&page) && !self.fetching.contains_key(&page) {
            let total = self.totals.map_or(0, |t| t.count.max(0) as u64);
            let key = if page == 0 { None } else { self.keys.get(&(page - 1)).cloned() };
            let (filter, sort) = (self.filter.clone(), self.sort);
            let ticket = ctx.queue.submit(move |s| {
                let rows = match (page, &key) {
                    (0, _) => s.store.orders_page(&filter, sort, None, PAGE as u32)?.0,
                    (_, Some(key)) => s.store.orders_page(&filter, sort, Some(key), PAGE as u32)?.0,
                    (_, None) => s.store.orders_window(&filter, sort, page * PAGE, PAGE as u32, total)?,
                };
                let ids: Vec<OrderId> = rows.iter().map(|o| o.id).collect();
                let extras = s.store.order_list_extras(&ids).unwrap_or_default();
                Ok((rows, extras))
            });
            self.fetching.insert(page, ticket);
        }
        self.pages.get(&page).and_then(|rows| rows.get((i % PAGE) as usize))
    }

    /// Opens `order` in the detail once its timeline, refunds and what is left to refund have been read.
    fn select(&mut self, ctx: &mut Ctx, order: Order) {
        self.refund = RefundForm { operator: std::mem::take(&mut self.refund.operator), ..Default::default() };
        self.opening = Some((ctx.queue.submit(move |s| read_selected(s, order).map(Some)), false));
    }

    /// Shows the orders of these China days (the dashboard's "Show in Orders"), other filters cleared.
    pub fn show_days(&mut self, ctx: &mut Ctx, first: time::Date, last: time::Date) {
        self.form = FilterForm {
            period: Some(Period::Custom(first, last)),
            from: first.to_string(),
            to: last.to_string(),
            ..Default::default()
        };
        self.selected = None;
        self.apply_filter(ctx);
    }

    /// Forgets the rows read so far (they are read again when drawn); the benchmarks time a cold jump with it.
    pub fn forget_rows(&mut self) {
        self.pages.clear();
        self.keys.clear();
        self.extras.clear();
        // Pages being read for the old rows are dropped with their tickets: their answers are not wanted.
        self.fetching.clear();
    }

    /// Whether rows (or the detail) are still being read.
    pub fn is_reading(&self) -> bool {
        !self.fetching.is_empty() || self.opening.is_some() || self.listing.is_some()
    }

    /// The row the keyboard is on.
    pub fn cursor(&self) -> Option<u64> {
        self.cursor
    }

    /// How many rows PageUp/PageDown move (the rows that fit in the table).
    pub fn rows_per_page(&self) -> u64 {
        self.rows_per_page
    }

    /// The out_trade_no of the order open in the detail panel.
    pub fn selected_out_trade_no(&self) -> Option<String> {
        self.selected.as_ref().map(|s| s.order.out_trade_no.clone())
    }

    /// Whether the filter's totals are still being counted.
    pub fn is_counting(&self) -> bool {
        self.counting.is_some()
    }

    /// Data may have changed elsewhere (a payment, a refund): read again on next show.
    pub fn invalidate(&mut self) {
        self.loaded = false;
    }

    /// Opens an order by its out_trade_no (the checkout screen's "recent payments" and the Refunds screen use this).
    pub fn open(&mut self, ctx: &mut Ctx, out_trade_no: &str) {
        self.open_as(ctx, out_trade_no, false);
    }

    /// Opens an order with the focus in its refund form's amount (F3 at the counter, a row's "Refund…").
    pub fn open_for_refund(&mut self, ctx: &mut Ctx, out_trade_no: &str) {
        self.open_as(ctx, out_trade_no, true);
    }

    fn open_as(&mut self, ctx: &mut Ctx, out_trade_no: &str, focus: bool) {
        self.refund = RefundForm { operator: std::mem::take(&mut self.refund.operator), ..Default::default() };
        let out_trade_no = out_trade_no.to_owned();
        let ticket = ctx.queue.submit(move |s| match s.store.order_by_out_trade_no(&out_trade_no)? {
            Some(order) => read_selected(s, order).map(Some),
            None => Ok(None),
        });
        self.opening = Some((ticket, focus));
    }

    /// ↑/↓, PageUp/PageDown, Home/End move the row the keyboard is on; Enter opens it. Not while a field is typed in.
    fn keyboard(&mut self, ui: &egui::Ui, ctx: &mut Ctx) {
        let total = self.totals.map_or(0, |t| t.count.max(0) as u64);
        if total == 0 || ui.ctx().egui_wants_keyboard_input() {
            return;
        }
        let page = self.rows_per_page.max(1);
        let last = total - 1;
        let at = self.cursor;
        let moved = ui.input_mut(|i| {
            let mut to = None;
            if i.consume_key(egui::Modifiers::NONE, egui::Key::ArrowDown) {
                to = Some(at.map_or(0, |c| (c + 1).min(last)));
            }
            if i.consume_key(egui::Modifiers::NONE, egui::Key::ArrowUp) {
                to = Some(at.map_or(0, |c| c.saturating_sub(1)));
            }
            if i.consume_key(egui::Modifiers::NONE, egui::Key::PageDown) {
                to = Some(at.map_or(0, |c| (c + page).min(last)));
            }
            if i.consume_key(egui::Modifiers::NONE, egui::Key::PageUp) {
                to = Some(at.map_or(0, |c| c.saturating_sub(page)));
            }
            if i.consume_key(egui::Modifiers::NONE, egui::Key::Home) {
                to = Some(0);
            }
            if i.consume_key(egui::Modifiers::NONE, egui::Key::End) {
                to = Some(last);
            }
            to
        });
        if let Some(to) = moved {
            self.cursor = Some(to);
            self.scroll_to = Some(to);
        }
        let enter = self.cursor.is_some() && ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Enter));
        if enter && let Some(c) = self.cursor {
            match self.row(ctx, c).cloned() {
                Some(order) => self.select(ctx, order),
                None => self.open_row = Some(c),
            }
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        if !self.loaded {
            self.reload(ctx);
        }
        self.poll_totals(ui, ctx);
        self.drain(ctx);
        self.filter_bar(ui, ctx);
        self.keyboard(ui, ctx);
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
        let detail_width = 400.0_f32.min(area.width() * 0.5);
        let split = area.max.x - detail_width;
        let table_rect = egui::Rect::from_min_max(area.min, egui::pos2(split - 8.0, area.max.y));
        let detail_rect = egui::Rect::from_min_max(egui::pos2(split, area.min.y), area.max);
        ui.scope_builder(egui::UiBuilder::new().max_rect(detail_rect), |ui| {
            // The title and Close stay on top; the rest scrolls.
            let mut close = false;
            ui.horizontal(|ui| {
                ui.heading(lang.pick("订单详情", "Order detail"));
                close = ui.button(lang.pick("关闭", "Close")).clicked();
            });
            if close || ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Escape)) {
                self.selected = None;
                return;
            }
            egui::ScrollArea::vertical()
                .id_salt("order-detail")
                .auto_shrink([false, false])
                .show(ui, |ui| self.detail(ui, ctx));
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
        let mut reset = false;
        // The days: every day, a preset, or typed (China business days).
        ui.horizontal_wrapped(|ui| {
            ui.label(lang.pick("日期", "Days"));
            if ui.selectable_label(self.form.period.is_none(), lang.pick("全部日期", "All days")).clicked() {
                self.form.period = None;
                self.form.from.clear();
                self.form.to.clear();
                apply = true;
            }
            for p in Period::PRESETS {
                if ui.selectable_label(self.form.period == Some(p), p.label(lang)).clicked() {
                    self.form.period = Some(p);
                    self.form.from.clear();
                    self.form.to.clear();
                    apply = true;
                }
            }
            let mut typed = false;
            for (caption, text) in
                [(lang.pick("从", "From"), &mut self.form.from), (lang.pick("到", "To"), &mut self.form.to)]
            {
                let l = ui.label(caption);
                let r = ui.add(egui::TextEdit::singleline(text).desired_width(90.0).hint_text("2026-11-25"));
                let r = r.labelled_by(l.id);
                typed |= r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            }
            if typed {
                match self.custom_period() {
                    Ok(p) => {
                        self.form.period = p;
                        apply = true;
                    }
                    Err(e) => self.filter_error = Some(e),
                }
            }
            ui.label(lang.pick("（北京时间）", "(China time)"));
        });
        ui.horizontal_wrapped(|ui| {
            // Each caption stays with its field or drop-down when the bar wraps.
            let field = |ui: &mut egui::Ui, label: &str, text: &mut String, width: f32| {
                room_for(ui, label, width + 8.0);
                ui.horizontal(|ui| {
                    let l = ui.label(label);
                    let r = ui.add(egui::TextEdit::singleline(text).desired_width(width)).labelled_by(l.id);
                    r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter))
                })
                .inner
            };
            apply |= field(ui, lang.pick("搜索", "Search"), &mut self.form.search, 170.0);
            apply |= field(ui, lang.pick("最小金额", "Min"), &mut self.form.min_amount, 60.0);
            apply |= field(ui, lang.pick("最大金额", "Max"), &mut self.form.max_amount, 60.0);
            // Labels before their drop-downs; each drop-down is named by its label and shows its chosen value.
            let combo = |ui: &mut egui::Ui, id: &str, caption: &str, chosen: String| {
                let l = ui.label(caption);
                (egui::ComboBox::from_id_salt(id).selected_text(chosen), l.id)
            };
            let status_text = self.form.status.map_or(lang.pick("全部状态", "All statuses"), |s| s.label(lang));
            room_for(ui, lang.pick("状态", "Status"), COMBO_WIDTH);
            ui.horizontal(|ui| {
                let (c, label) = combo(ui, "orders-status", lang.pick("状态", "Status"), status_text.to_owned());
                let r = c.show_ui(ui, |ui| {
                    apply |= ui
                        .selectable_value(&mut self.form.status, None, lang.pick("全部状态", "All statuses"))
                        .clicked();
                    for s in OrderStatus::ALL {
                        apply |= ui.selectable_value(&mut self.form.status, Some(*s), s.label(lang)).clicked();
                    }
                });
                r.response.labelled_by(label);
            });
            let acquirers = self.acquirers.clone();
            let acq_text = self.form.acquirer.map_or(lang.pick("全部钱包", "All wallets").to_owned(), |id| {
                acquirer_words_of(&acquirers, id, lang)
            });
            room_for(ui, lang.pick("钱包", "Wallet"), COMBO_WIDTH);
            ui.horizontal(|ui| {
                let (c, label) = combo(ui, "orders-acquirer", lang.pick("钱包", "Wallet"), acq_text);
                let r = c.show_ui(ui, |ui| {
                    apply |= ui
                        .selectable_value(&mut self.form.acquirer, None, lang.pick("全部钱包", "All wallets"))
                        .clicked();
                    for a in &acquirers {
                        let words = acquirer_words_of(&acquirers, a.id, lang);
                        apply |= ui.selectable_value(&mut self.form.acquirer, Some(a.id), words).clicked();
                    }
                });
                r.response.labelled_by(label);
            });
            let store_name = |s: &crate::model::Store| {
                let name = if lang == Lang::ZhCn && !s.name_zh.trim().is_empty() { &s.name_zh } else { &s.name };
                format!("{} {name}", s.store_code)
            };
            let store_text = self
                .form
                .store
                .and_then(|id| self.stores.iter().find(|s| s.id == id))
                .map_or(lang.pick("全部门店", "All stores").to_owned(), store_name);
            room_for(ui, lang.pick("门店", "Store"), COMBO_WIDTH);
            ui.horizontal(|ui| {
                let (c, label) = combo(ui, "orders-store", lang.pick("门店", "Store"), store_text);
                let r = c.show_ui(ui, |ui| {
                    apply |=
                        ui.selectable_value(&mut self.form.store, None, lang.pick("全部门店", "All stores")).clicked();
                    for s in &self.stores {
                        apply |= ui.selectable_value(&mut self.form.store, Some(s.id), store_name(s)).clicked();
                    }
                });
                r.response.labelled_by(label);
            });
            if self.own_only.is_none() {
                let op_text = self
                    .form
                    .operator
                    .and_then(|id| self.operators.iter().find(|o| o.id == id))
                    .map_or(lang.pick("全部收款员", "All cashiers").to_owned(), |o| o.name.clone());
                room_for(ui, lang.pick("收款员", "Taken by"), COMBO_WIDTH);
                ui.horizontal(|ui| {
                    let (c, label) = combo(ui, "orders-operator", lang.pick("收款员", "Taken by"), op_text);
                    let r = c.show_ui(ui, |ui| {
                        apply |= ui
                            .selectable_value(&mut self.form.operator, None, lang.pick("全部收款员", "All cashiers"))
                            .clicked();
                        for o in &self.operators {
                            apply |=
                                ui.selectable_value(&mut self.form.operator, Some(o.id), o.name.as_str()).clicked();
                        }
                    });
                    r.response.labelled_by(label);
                });
            } else {
                ui.label(lang.pick("（仅显示本人收款）", "(your own payments only)"));
            }
            let sort_before = self.sort;
            room_for(ui, lang.pick("排序", "Sort"), COMBO_WIDTH);
            ui.horizontal(|ui| {
                let (c, label) =
                    combo(ui, "orders-sort", lang.pick("排序", "Sort"), sort_label(self.sort, lang).to_owned());
                let r = c.show_ui(ui, |ui| {
                    for s in [
                        OrderSort::NewestFirst,
                        OrderSort::OldestFirst,
                        OrderSort::LargestFirst,
                        OrderSort::SmallestFirst,
                    ] {
                        ui.selectable_value(&mut self.sort, s, sort_label(s, lang));
                    }
                });
                r.response.labelled_by(label);
            });
            apply |= self.sort != sort_before;
            apply |= ui.button(lang.pick("查询", "Apply")).clicked();
            reset = ui.button(lang.pick("重置", "Reset")).clicked();
            if let Some(format) = self.export.buttons(ui, lang) {
                let (filter, sort) = (self.filter.clone(), self.sort);
                self.export.start(
                    ctx,
                    "orders",
                    format,
                    Box::new(move |s, path, progress, cancel| {
                        crate::export::export_orders(&s.store, &filter, sort, path, lang, progress, cancel)
                    }),
                );
            }
        });
        self.export.show(ui, ctx);
        if let Some(e) = &self.filter_error {
            ui.colored_label(ui.visuals().error_fg_color, e.get(lang));
        }
        if reset {
            self.form = FilterForm::default();
            self.sort = OrderSort::default();
            self.selected = None;
            apply = true;
        }
        if apply {
            if self.form.period.is_some_and(|p| matches!(p, Period::Custom(..))) {
                match self.custom_period() {
                    Ok(p) => self.form.period = p,
                    Err(e) => {
                        self.filter_error = Some(e);
                        return;
                    }
                }
            }
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
        let cols = columns_for(ui.available_width());
        self.rows_per_page = (((ui.available_height() - ROW_HEIGHT) / ROW_HEIGHT).floor().max(1.0)) as u64;
        let mut clicked: Option<Order> = None;
        let mut refund: Option<Order> = None;
        let mut cursor_to: Option<u64> = None;
        let mut builder =
            egui_extras::TableBuilder::new(ui).striped(true).sense(egui::Sense::click()).auto_shrink([false, false]);
        for col in cols {
            let c = match col {
                Col::Time => egui_extras::Column::exact(140.0),
                Col::Number => egui_extras::Column::initial(180.0).at_least(120.0).clip(true),
                Col::Wallet => egui_extras::Column::exact(150.0).clip(true),
                Col::Amount => egui_extras::Column::exact(80.0),
                Col::Status => egui_extras::Column::exact(104.0).clip(true),
                Col::Fee => egui_extras::Column::exact(60.0),
                Col::Code => egui_extras::Column::initial(170.0).at_least(80.0).clip(true),
                Col::Action => egui_extras::Column::exact(84.0),
                Col::Subject => egui_extras::Column::remainder().at_least(60.0).clip(true),
            };
            builder = builder.column(c);
        }
        // Scrolled to once the row's page has been read (an empty row would land the scroll short of it).
        if let Some(row) = self.scroll_to
            && self.row(ctx, row).is_some()
        {
            self.scroll_to = None;
            builder = builder.scroll_to_row(row as usize, None);
        }
        builder
            .header(22.0, |mut h| {
                for col in cols {
                    let title = match col {
                        Col::Time => lang.pick("时间（北京）", "Time (China)"),
                        Col::Number => lang.pick("商户订单号", "out_trade_no"),
                        Col::Wallet => lang.pick("钱包", "Wallet"),
                        Col::Amount => lang.pick("金额", "Amount"),
                        Col::Status => lang.pick("状态", "Status"),
                        Col::Fee => lang.pick("手续费", "Fee"),
                        Col::Code => lang.pick("失败原因", "Failure"),
                        Col::Action => "",
                        Col::Subject => lang.pick("商品", "Subject"),
                    };
                    h.col(|ui| {
                        ui.strong(title);
                    });
                }
            })
            .body(|body| {
                body.rows(ROW_HEIGHT, total, |mut row| {
                    let i = row.index() as u64;
                    let Some(order) = self.row(ctx, i).cloned() else { return };
                    row.set_selected(self.cursor == Some(i));
                    let extras = self.extras.get(&order.id).cloned().unwrap_or_default();
                    for col in cols {
                        row.col(|ui| match col {
                            Col::Time => {
                                ui.label(crate::time::to_china_display(&order.created_at));
                            }
                            Col::Number => {
                                if ui.link(&order.out_trade_no).clicked() {
                                    clicked = Some(order.clone());
                                }
                            }
                            Col::Wallet => {
                                ui.label(acquirer_words_of(&self.acquirers, order.acquirer_id, lang));
                            }
                            Col::Amount => {
                                ui.label(format!("¥{}", order.total_amount));
                            }
                            Col::Status => {
                                status_tag(ui, order.status, lang);
                            }
                            Col::Fee => {
                                ui.label(extras.fee.map_or_else(|| "—".to_owned(), |f| format!("¥{f}")));
                            }
                            Col::Code => {
                                if let Some(f) = &extras.failure {
                                    // The reason in the UI's words when the code is a common one, else the code;
                                    // the whole reason (with the code) on hover.
                                    let short = acquirer_words::known(&f.code)
                                        .map_or(f.code.clone(), |t| t.get(lang).to_owned());
                                    let words = acquirer_words::reason(&f.code, &f.message);
                                    ui.add(egui::Label::new(short).truncate()).on_hover_text(words.get(lang));
                                }
                            }
                            Col::Action => {
                                let refundable =
                                    matches!(order.status, OrderStatus::Paid | OrderStatus::PartiallyRefunded);
                                if refundable && ui.small_button(lang.pick("退款…", "Refund…")).clicked() {
                                    refund = Some(order.clone());
                                }
                            }
                            Col::Subject => {
                                ui.add(egui::Label::new(&order.subject).truncate()).on_hover_text(&order.subject);
                            }
                        });
                    }
                    let response = row.response();
                    if response.double_clicked() {
                        clicked = Some(order.clone());
                    } else if response.clicked() {
                        cursor_to = Some(i);
                    }
                });
            });
        if let Some(i) = cursor_to {
            self.cursor = Some(i);
        }
        if let Some(order) = refund {
            self.cursor = cursor_to.or(self.cursor);
            self.open_for_refund(ctx, &order.out_trade_no);
        } else if let Some(order) = clicked {
            self.select(ctx, order);
        }
    }

    fn detail(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        let Some(sel) = &self.selected else { return };
        let o = &sel.order;
        let acquirer = acquirer_words_of(&self.acquirers, o.acquirer_id, lang);
        let store = self.stores.iter().find(|s| s.id == o.store_id).map_or_else(String::new, |s| {
            let name = if lang == Lang::ZhCn && !s.name_zh.trim().is_empty() { &s.name_zh } else { &s.name };
            format!("{} {name}", s.store_code)
        });
        let cashier = o.operator_id.and_then(|id| self.operators.iter().find(|p| p.id == id)).map(|p| p.name.clone());
        egui::Grid::new("order-detail-grid").num_columns(2).show(ui, |ui| {
            let mut line = |k: &str, v: String| {
                ui.label(k);
                ui.add(egui::Label::new(v).wrap());
                ui.end_row();
            };
            line(lang.pick("商户订单号", "out_trade_no"), o.out_trade_no.clone());
            line(lang.pick("支付机构单号", "trade_no"), o.trade_no.clone().unwrap_or_else(|| "—".into()));
            line(lang.pick("钱包", "Wallet"), acquirer);
            line(lang.pick("门店", "Store"), store);
            line(
                lang.pick("收款员", "Taken by"),
                cashier.unwrap_or_else(|| lang.pick("未登录", "no one signed in").into()),
            );
            line(lang.pick("来源", "Source"), o.source.phrase(lang));
            line(lang.pick("商品", "Subject"), o.subject.clone());
            ui.label(lang.pick("状态", "Status"));
            status_tag(ui, o.status, lang);
            ui.end_row();
            let mut line = |k: &str, v: String| {
                ui.label(k);
                ui.add(egui::Label::new(v).wrap());
                ui.end_row();
            };
            if let Some(f) = &sel.extras.failure {
                line(
                    lang.pick("失败原因", "Why it failed"),
                    acquirer_words::reason(&f.code, &f.message).get(lang).to_owned(),
                );
            }
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
            line(
                lang.pick("手续费", "Fee"),
                sel.extras.fee.map_or_else(|| lang.pick("待对账单", "after the bill").to_owned(), |f| format!("¥{f}")),
            );
            line(lang.pick("付款码", "Payment code"), o.auth_code_masked.clone().unwrap_or_else(|| "—".into()));
            line(lang.pick("创建时间（北京）", "Created (China)"), crate::time::to_china_display(&o.created_at));
            if let Some(p) = &o.paid_at {
                line(lang.pick("支付时间（北京）", "Paid at (China)"), crate::time::to_china_display(p));
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
        let Some(sel) = &self.selected else { return };
        ui.separator();
        ui.strong(lang.pick("时间线", "Timeline"));
        for e in &sel.events {
            let words = event_words(&e.kind, &e.detail);
            let r = ui
                .add(egui::Label::new(format!("{}  {}", crate::time::to_china_display(&e.at), words.get(lang))).wrap());
            if !e.detail.is_empty() {
                r.on_hover_text(format!("{} {}", lang.pick("记录原文：", "As recorded:"), e.detail));
            }
        }
        if !sel.refunds.is_empty() {
            ui.separator();
            ui.strong(lang.pick("退款记录", "Refunds"));
            for r in &sel.refunds {
                let who = r
                    .operator_id
                    .and_then(|id| self.operators.iter().find(|p| p.id == id))
                    .map_or("—", |p| p.name.as_str());
                ui.add(
                    egui::Label::new(format!(
                        "{}  ¥{}  {}  {}  {}",
                        r.out_request_no,
                        r.refund_amount,
                        r.status.label(lang),
                        who,
                        r.reason
                    ))
                    .wrap(),
                );
            }
        }
        let can_refund =
            sel.refundable.fen() > 0 && matches!(sel.order.status, OrderStatus::Paid | OrderStatus::PartiallyRefunded);
        if can_refund {
            ui.separator();
            self.refund_form(ui, ctx);
        }
    }

    fn refund_form(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        ui.strong(lang.pick("退款", "Refund"));
        // Refunds need a signed-in operator who may refund; the form then asks for their PIN again.
        if let Err(refused) = permit_text(ctx, crate::store::operators::Permission::Refund) {
            ui.colored_label(ui.visuals().error_fg_color, refused.get(lang));
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
                amount.scroll_to_me(Some(egui::Align::Center));
            }
            let mut fields = vec![amount];
            fields.push(field(ui, lang.pick("退款原因", "Reason"), &mut f.reason, false));
            fields.push(field(ui, lang.pick("操作员", "Operator"), &mut f.operator, false));
            fields.push(field(ui, "PIN", &mut f.pin, true));
            entered = fields.iter().any(|r| r.lost_focus()) && ui.input(|i| i.key_pressed(egui::Key::Enter));
        });
        if let Some((ok, text)) = &f.message {
            let color = if *ok { egui::Color32::from_rgb(60, 170, 90) } else { egui::Color32::from_rgb(200, 60, 60) };
            ui.add(egui::Label::new(egui::RichText::new(text.get(lang)).color(color)).wrap());
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
        let Some(sel) = &self.selected else { return };
        let out_trade_no = sel.order.out_trade_no.clone();
        let refundable = sel.refundable;
        let amount = match Amount::parse(self.refund.amount.trim()) {
            Ok(a) => a,
            Err(_) => {
                let t = self.refund.amount.trim().to_owned();
                self.refund.message = Some((
                    false,
                    Text::new(
                        format!("退款金额：{t} 不是金额，如 12.50"),
                        format!("Refund amount: {t:?} is not an amount like 12.50"),
                    ),
                ));
                return;
            }
        };
        if amount > refundable {
            self.refund.message = Some((
                false,
                Text::new(format!("超过可退金额 ¥{refundable}"), format!("More than can be refunded: ¥{refundable}")),
            ));
            return;
        }
        if let Err(refused) = permit_text(ctx, crate::store::operators::Permission::Refund) {
            self.refund.message = Some((false, refused));
            return;
        }
        if let (Some(zh), Some(en)) =
            (ctx.money_path.elsewhere_words(Lang::ZhCn), ctx.money_path.elsewhere_words(Lang::En))
        {
            self.refund.message = Some((false, Text::new(zh, en)));
            return;
        }
        let f = &mut self.refund;
        // The PIN is asked again for every refund, and checked off the UI thread (Argon2 is slow on purpose).
        let (name, pin) = (f.operator.clone(), std::mem::take(&mut f.pin));
        // The router is built with the job's connection, off the UI thread.
        let routes = match ctx.channels() {
            Ok(channels) => ctx.queue.routes(channels),
            Err(why) => {
                f.message = Some((false, why));
                return;
            }
        };
        let reason = f.reason.clone();
        let database_error =
            || Text::new("读写数据库出错，请重试", "The database could not be read or written: try again");
        let job =
            ctx.queue.start_with_store(move |mut store, _progress: crate::queue::Reporter<()>, _cancel| async move {
                let checked = tokio::task::spawn_blocking(move || {
                    let operator = store.verify_pin(&name, &pin).map_err(|e| {
                        RefundFailed::Pin(Text::new(
                            crate::ui::staff::verify_words(Lang::ZhCn, &e),
                            crate::ui::staff::verify_words(Lang::En, &e),
                        ))
                    })?;
                    let router = routes
                        .build(&store)
                        .map_err(|e| RefundFailed::Refund(crate::ui::words_backend::channels_error(&e)))?;
                    Ok::<_, RefundFailed>((store, operator, router))
                })
                .await
                .map_err(|_| RefundFailed::Refund(database_error()))?;
                let (store, operator, router) = checked?;
                let desk = RefundDesk::new(store, router, Arc::new(SystemClock), RefundSettings::default());
                desk.refund(&operator, &out_trade_no, amount, &reason).await.map_err(|e| {
                    tracing::warn!(error = %e, "refund from the orders screen");
                    RefundFailed::Refund(refund_error_text(&e))
                })
            });
        match job {
            Ok(job) => {
                f.running = true;
                f.message = None;
                self.refunding = Some(job);
            }
            Err(_) => f.message = Some((false, Text::new("收单通道未连接", "The acquirers are not connected"))),
        }
    }

    fn drain(&mut self, ctx: &mut Ctx) {
        let Some(answer) = self.refunding.as_mut().and_then(Job::poll) else { return };
        self.refunding = None;
        let database_error =
            || Text::new("读写数据库出错，请重试", "The database could not be read or written: try again");
        {
            let result = answer.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "refund from the orders screen");
                Err(RefundFailed::Refund(database_error()))
            });
            self.refund.running = false;
            if let Err(RefundFailed::Pin(text)) = result {
                // Nothing was sent: the form stays as typed, for the right PIN.
                self.refund.message = Some((false, text));
                return;
            }
            if let (Ok(r), Some(sel)) = (&result, &self.selected)
                && matches!(r.status, crate::model::RefundStatus::Success)
            {
                // After a refund: its receipt, as the receipt settings say (always / ask / never).
                self.receipts.after_sale(ctx, &sel.order.out_trade_no.clone(), Some(&r.out_request_no));
            }
            self.refund.message = Some(match result {
                Ok(r) => {
                    let say = |l: Lang| {
                        format!(
                            "{} {} ¥{} {}",
                            l.pick("退款", "Refund"),
                            r.out_request_no,
                            r.refund_amount,
                            r.status.label(l)
                        )
                    };
                    (true, Text::new(say(Lang::ZhCn), say(Lang::En)))
                }
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
    running: Option<Ticket<Result<ReceiptDone, crate::receipt::ReceiptError>>>,
    /// Mode "ask": the receipt the cashier may print (out_trade_no, refund).
    offer: Option<(String, Option<String>)>,
    message: Option<(bool, Text)>,
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
        work: impl FnOnce(&crate::queue::CoreSession) -> Result<ReceiptDone, crate::receipt::ReceiptError> + Send + 'static,
    ) {
        self.running = Some(ctx.queue.submit(move |s| work(s)));
        self.message = None;
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
        self.spawn(ctx, move |s| {
            crate::receipt::print_receipt(&s.store, &out, refund.as_deref(), reprint, &folder.join(name))
                .map(ReceiptDone::Printed)
        });
    }

    /// After a payment or a refund has gone through: prints its receipt when the settings say "always", offers a
    /// button when they say "ask", does nothing when "never" (or no printer is set). The checkout calls this with
    /// the paid order's out_trade_no.
    pub fn after_sale(&mut self, ctx: &Ctx, out_trade_no: &str, refund: Option<&str>) {
        let (out, refund) = (out_trade_no.to_owned(), refund.map(str::to_owned));
        self.spawn(ctx, move |s| {
            crate::receipt::after_sale(&s.store, &out, refund.as_deref()).map(|a| ReceiptDone::After(a, out, refund))
        });
    }

    /// Picks up a finished job and shows the result (and the "print receipt" button in mode ask).
    pub fn show(&mut self, ui: &mut egui::Ui, ctx: &Ctx) {
        let lang = ctx.lang;
        match crate::queue::poll_slot(&mut self.running) {
            Some(Ok(done)) => self.finish(done),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "receipt");
                self.message = Some((false, Text::new("无法开始打印", "Cannot start printing")));
            }
            None if self.running.is_some() => {
                ui.ctx().request_repaint_after(std::time::Duration::from_millis(30));
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(lang.pick("正在打印小票…", "Printing the receipt…"));
                });
            }
            None => {}
        }
        if let Some((out, refund)) = self.offer.clone()
            && ui.button(lang.pick("打印小票", "Print receipt")).clicked()
        {
            self.print_as(ctx, &out, refund.as_deref(), false);
        }
        if let Some((ok, text)) = &self.message {
            let color = if *ok { egui::Color32::from_rgb(60, 170, 90) } else { ui.visuals().error_fg_color };
            ui.colored_label(color, text.get(lang));
        }
    }

    fn finish(&mut self, done: Result<ReceiptDone, crate::receipt::ReceiptError>) {
        use crate::receipt::{AfterSale, Printed, ReceiptError};
        self.message = match done {
            Ok(ReceiptDone::Printed(Printed::Printer(at)) | ReceiptDone::After(AfterSale::Printed(at), ..)) => {
                Some((true, Text::new(format!("小票已打印：{at}"), format!("Receipt printed on {at}"))))
            }
            Ok(ReceiptDone::Printed(Printed::Pdf(path))) => Some((
                true,
                Text::new(
                    format!("未设置小票打印机，已存为 PDF：{}", path.display()),
                    format!("No receipt printer set; saved as PDF: {}", path.display()),
                ),
            )),
            Ok(ReceiptDone::After(AfterSale::Skipped, ..)) => None,
            Ok(ReceiptDone::After(AfterSale::Ask, out, refund)) => {
                self.offer = Some((out, refund));
                None
            }
            Err(ReceiptError::Unreachable { address, .. } | ReceiptError::Send { address, .. }) => Some((
                false,
                Text::new(
                    format!("小票打印机无法连接：{address}"),
                    format!("Cannot reach the receipt printer at {address}"),
                ),
            )),
            Err(ReceiptError::UnknownOrder { out_trade_no }) => {
                Some((false, Text::new(format!("找不到订单 {out_trade_no}"), format!("No such order {out_trade_no}"))))
            }
            Err(e) => {
                tracing::warn!(error = %e, "receipt");
                Some((false, Text::new("小票打印失败", "The receipt was not printed")))
            }
        };
    }
}

/// What the detail shows of `order`: its timeline, its refunds, what is left to refund and its fee and failure.
fn read_selected(session: &crate::queue::CoreSession, order: Order) -> Result<Selected, StoreError> {
    let store = &session.store;
    let events = store.order_events(order.id)?;
    let refunds = store.refunds_of(order.id)?;
    // Only a paid order has anything to refund (a failed or closed one's total was never taken).
    let refundable = match order.status {
        OrderStatus::Paid | OrderStatus::PartiallyRefunded => store.refundable(&order)?.remaining(),
        _ => Amount::ZERO,
    };
    let extras = store.order_list_extras(&[order.id])?.remove(&order.id).unwrap_or_default();
    Ok(Selected { order, events, refunds, refundable, extras })
}
