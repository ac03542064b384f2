//! 订单 Orders: filters (China business days with presets, wallet, store, cashier, status, amounts, a search of
//! subjects and numbers), counts and totals from the running totals, a virtual table that reads only the rows on
//! screen (a window anywhere in a million orders without a long scan), driven by the keyboard (↑/↓, PageUp/PageDown,
//! Home/End, Enter opens), and a detail panel with the timeline phrased in the UI's language and the refund form
//! (PIN asked again), also opened from a row's "Refund…" button.

mod detail;
mod filters;
mod receipt;
mod refund;
mod table;

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
pub use receipt::ReceiptPrinter;

use detail::read_selected;

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

impl OrdersScreen {
    /// Drops cached rows and counts the filter again, off the UI thread.
    fn reload(&mut self, ctx: &mut Ctx) {
        self.forget_rows();
        self.totals = None;
        self.listing = Some(ctx.queue.submit(|s| {
            Ok(Lists {
                acquirers: s.store.setup().acquirers()?,
                stores: s.store.setup().stores()?,
                operators: s.store.staff().operators()?,
            })
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
        self.counting = Some(ctx.queue.submit(move |s| s.store.orders().order_totals(&filter)));
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
    /// after the previous page when known, else a window from the running totals, see `Orders::orders_window`).
    fn row(&mut self, ctx: &Ctx, i: u64) -> Option<&Order> {
        let page = i / PAGE;
        if !self.pages.contains_key(&page) && !self.fetching.contains_key(&page) {
            let total = self.totals.map_or(0, |t| t.count.max(0) as u64);
            let key = if page == 0 { None } else { self.keys.get(&(page - 1)).cloned() };
            let (filter, sort) = (self.filter.clone(), self.sort);
            let ticket = ctx.queue.submit(move |s| {
                let rows = match (page, &key) {
                    (0, _) => s.store.orders().orders_page(&filter, sort, None, PAGE as u32)?.0,
                    (_, Some(key)) => s.store.orders().orders_page(&filter, sort, Some(key), PAGE as u32)?.0,
                    (_, None) => s.store.orders().orders_window(&filter, sort, page * PAGE, PAGE as u32, total)?,
                };
                let ids: Vec<OrderId> = rows.iter().map(|o| o.id).collect();
                let extras = s.store.orders().order_list_extras(&ids).unwrap_or_default();
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
        let ticket = ctx.queue.submit(move |s| match s.store.orders().order_by_out_trade_no(&out_trade_no)? {
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
}
