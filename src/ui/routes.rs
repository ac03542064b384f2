//! 收款路由 Routing (on the Acquirers screen): for every store and wallet, which acquirer takes the wallet's codes
//! there, as which merchant; the owner chooses when two acquirers could, or routes a wallet nobody takes yet. The
//! same rules as `tilldesk acquirers route`: an acquirer takes only the wallet of its protocol, and choosing an
//! acquirer the store is onboarded with uses that onboarding's merchant id (source: chosen). Read and changed
//! through the command queue.

use crate::i18n::{Lang, Phrase, Text};
use crate::model::{AcquirerId, BindingStatus, Route, RouteSource, Store as StoreRow, StoreId, Wallet};
use crate::queue::Ticket;
use crate::store::StoreError;
use crate::store::onboarding::OnboardingAcquirer;
use crate::store::operators::Permission;
use crate::store::routing::RouteView;
use crate::ui::Ctx;
use crate::ui::words_setup::{code_name, permit_text, store_error_text};

/// An acquirer the store is actively onboarded with, that could take a wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Candidate {
    acquirer_id: AcquirerId,
    code: String,
    merchant_id: Option<String>,
}

/// One line of the table: a store and a wallet.
#[derive(Debug, Clone)]
struct Row {
    store_id: StoreId,
    store_code: String,
    wallet: Wallet,
    route: Option<RouteView>,
    candidates: Vec<Candidate>,
}

/// What the owner asked for this frame.
#[derive(Debug, Clone)]
enum Change {
    Choose { store_id: StoreId, store_code: String, wallet: Wallet, to: Candidate },
    Stop { store_id: StoreId, store_code: String, wallet: Wallet },
}

/// The routes and each store's bindings, as read.
type Read = Result<(Vec<RouteView>, Vec<(StoreId, Vec<crate::model::AcquirerBinding>)>), StoreError>;

/// A change being saved, with the words for its success and its failure's prefix.
type Saving = (Ticket<Result<(), StoreError>>, Text, Text);

#[derive(Default)]
pub struct RoutesPanel {
    loaded: bool,
    rows: Vec<Row>,
    reading: Option<Ticket<Read>>,
    /// A change being saved, and its words (success, failure's prefix).
    saving: Option<Saving>,
    /// (done, words) after a change.
    message: Option<(bool, Text)>,
    /// The row whose "stop taking" waits for a confirmation.
    confirm_stop: Option<(StoreId, Wallet)>,
}

impl std::fmt::Debug for RoutesPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoutesPanel").field("rows", &self.rows).finish_non_exhaustive()
    }
}

/// A route's onboarding status (`RouteView::status`) in words.
pub fn route_status_label(lang: Lang, status: &str) -> String {
    match BindingStatus::parse(status) {
        Some(BindingStatus::Active) => lang.pick("已生效", "active").to_owned(),
        Some(BindingStatus::PendingVerification) => lang.pick("待审核", "pending verification").to_owned(),
        Some(BindingStatus::Failed) => lang.pick("入驻失败", "onboarding failed").to_owned(),
        None if status == "direct" => lang.pick("直连", "direct").to_owned(),
        None => format!("{}{status}", lang.pick("未知状态：", "unknown status: ")),
    }
}

fn source_label(lang: Lang, source: RouteSource) -> &'static str {
    match source {
        RouteSource::Onboarding => lang.pick("入驻时设定", "set by onboarding"),
        RouteSource::Chosen => lang.pick("店主选择", "chosen by the owner"),
        RouteSource::Direct => lang.pick("直连合同", "direct contract"),
    }
}

impl RoutesPanel {
    /// Reads the routes again on the next frame.
    pub fn invalidate(&mut self) {
        self.loaded = false;
    }

    /// Reads the routes again and forgets a "stop taking" that waited for its confirmation (the screen was opened
    /// again). A re-read in the background ([`RoutesPanel::invalidate`]) keeps the question on screen.
    pub fn reopen(&mut self) {
        self.invalidate();
        self.confirm_stop = None;
    }

    /// Reads the routes and every store's active bindings (when the screen opens or after a change).
    fn reload(&mut self, ctx: &mut Ctx, stores: &[StoreRow]) {
        self.loaded = true;
        let ids: Vec<StoreId> = stores.iter().map(|s| s.id).collect();
        self.reading = Some(ctx.queue.submit(move |s| {
            let views = s.store.setup().route_views()?;
            let bindings = ids
                .into_iter()
                .map(|id| Ok((id, s.store.setup().bindings_for_store(id)?)))
                .collect::<Result<_, StoreError>>()?;
            Ok((views, bindings))
        }));
    }

    /// Builds the table from what was read, once it is there; takes the answer to a change.
    fn poll(&mut self, ctx: &mut Ctx, stores: &[StoreRow], acquirers: &[OnboardingAcquirer]) {
        if let Some((ticket, done, failed)) = &mut self.saving
            && let Some(answer) = ticket.poll()
        {
            self.message = Some(match answer.map_err(|e| e.text()).and_then(|r| r.map_err(|e| store_error_text(&e))) {
                Ok(()) => (true, done.clone()),
                Err(why) => (false, Text::new(format!("{}{}", failed.zh, why.zh), format!("{}{}", failed.en, why.en))),
            });
            self.saving = None;
            self.reload(ctx, stores);
        }
        let Some(answer) = crate::queue::poll_slot(&mut self.reading) else { return };
        let (views, bindings) = match answer.map_err(|e| e.text()).and_then(|r| r.map_err(|e| store_error_text(&e))) {
            Ok(read) => read,
            Err(why) => {
                self.message = Some((false, why));
                return;
            }
        };
        self.rows.clear();
        for s in stores {
            let none = Vec::new();
            let bindings = bindings.iter().find(|(id, _)| *id == s.id).map_or(&none, |(_, b)| b);
            for &wallet in Wallet::ALL {
                let candidates = bindings
                    .iter()
                    .filter(|b| b.status == BindingStatus::Active)
                    .filter_map(|b| {
                        let a = acquirers.iter().find(|a| a.acquirer.id == b.acquirer_id)?;
                        (a.acquirer.kind.protocol() == wallet.protocol()).then(|| Candidate {
                            acquirer_id: a.acquirer.id,
                            code: a.onboarding_code.clone(),
                            merchant_id: b.merchant_id_at_acquirer.clone(),
                        })
                    })
                    .collect();
                let route = views.iter().find(|v| v.store_id == s.id && v.wallet == wallet).cloned();
                self.rows.push(Row { store_id: s.id, store_code: s.store_code.clone(), wallet, route, candidates });
            }
        }
        // A confirmation waits only while its route is there to stop.
        if let Some(key) = self.confirm_stop
            && !self.rows.iter().any(|r| (r.store_id, r.wallet) == key && r.route.is_some())
        {
            self.confirm_stop = None;
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx, stores: &[StoreRow], acquirers: &[OnboardingAcquirer]) {
        let lang = ctx.lang;
        if !self.loaded {
            self.reload(ctx, stores);
        }
        self.poll(ctx, stores, acquirers);
        ui.label(
            egui::RichText::new(
                lang.pick("收款路由 — 各门店的钱包由哪家收单机构收取", "Routing — who takes each wallet"),
            )
            .strong(),
        );
        if let Some((ok, text)) = &self.message {
            let color = if *ok { egui::Color32::from_rgb(0, 140, 60) } else { ui.visuals().error_fg_color };
            ui.add(egui::Label::new(egui::RichText::new(text.get(lang)).color(color)).wrap());
        }
        if self.rows.is_empty() {
            if self.reading.is_some() {
                ui.spinner();
            } else {
                ui.label(lang.pick("还没有门店", "No stores yet"));
            }
            return;
        }
        let mut change = None;
        let confirm_stop = &mut self.confirm_stop;
        let known = acquirers;
        egui::Grid::new("routes").num_columns(6).striped(true).spacing([16.0, 6.0]).show(ui, |ui| {
            ui.strong(lang.pick("门店", "Store"));
            ui.strong(lang.pick("钱包", "Wallet"));
            ui.strong(lang.pick("收单机构", "Acquirer"));
            ui.strong(lang.pick("商户号", "Merchant id"));
            ui.strong(lang.pick("状态", "Status"));
            ui.label("");
            ui.end_row();
            for row in &self.rows {
                ui.monospace(&row.store_code);
                ui.label(row.wallet.label(lang));
                match &row.route {
                    Some(route) => {
                        acquirer_cell(ui, lang, row, route, known, &mut change);
                        ui.monospace(route.merchant_id.as_deref().unwrap_or("—"));
                        ui.label(route_status_label(lang, &route.status))
                            .on_hover_text(source_label(lang, route.source));
                        stop_cell(ui, lang, row, confirm_stop, &mut change);
                    }
                    None => {
                        ui.colored_label(ui.visuals().weak_text_color(), lang.pick("不收此钱包", "not taken"));
                        ui.label("—");
                        ui.label("—");
                        ui.horizontal(|ui| {
                            for c in &row.candidates {
                                let text = match lang {
                                    Lang::ZhCn => format!("由 {} 收取", c.code),
                                    Lang::En => format!("Route to {}", c.code),
                                };
                                if ui.button(text).on_hover_text(code_name(&c.code, known, lang)).clicked() {
                                    change = Some(Change::Choose {
                                        store_id: row.store_id,
                                        store_code: row.store_code.clone(),
                                        wallet: row.wallet,
                                        to: c.clone(),
                                    });
                                }
                            }
                        });
                    }
                }
                ui.end_row();
            }
        });
        if let Some(change) = change {
            self.apply(ctx, change);
        }
    }

    fn apply(&mut self, ctx: &mut Ctx, change: Change) {
        if let Err(e) = permit_text(ctx, Permission::ChangeSettings) {
            self.message = Some((false, e));
            return;
        }
        self.confirm_stop = None;
        let operator = ctx.operator_id();
        let (ticket, done, failed) = match change {
            Change::Choose { store_id, store_code, wallet, to } => {
                let route = Route {
                    store_id,
                    wallet,
                    acquirer_id: to.acquirer_id,
                    merchant_id: to.merchant_id.clone(),
                    source: RouteSource::Chosen,
                };
                (
                    ctx.queue.submit(move |s| s.store.setup_mut().set_route(&route, operator)),
                    Text::new(
                        format!("{store_code} 的{}现由 {} 收取", wallet.label(Lang::ZhCn), to.code),
                        format!("{store_code} now takes {} codes through {}", wallet.label(Lang::En), to.code),
                    ),
                    Text::new("保存路由失败：", "could not save the route: "),
                )
            }
            Change::Stop { store_id, store_code, wallet } => (
                ctx.queue.submit(move |s| s.store.setup_mut().remove_route(store_id, wallet, operator).map(|_| ())),
                Text::new(
                    format!("{store_code} 不再收取{}", wallet.label(Lang::ZhCn)),
                    format!("{store_code} no longer takes {} codes", wallet.label(Lang::En)),
                ),
                Text::new("删除路由失败：", "could not remove the route: "),
            ),
        };
        self.saving = Some((ticket, done, failed));
    }
}

/// The acquirer: a choice when the store could route the wallet to another acquirer it is onboarded with.
fn acquirer_cell(
    ui: &mut egui::Ui,
    lang: Lang,
    row: &Row,
    route: &RouteView,
    known: &[OnboardingAcquirer],
    change: &mut Option<Change>,
) {
    let full_name = code_name(&route.acquirer, known, lang);
    let others = row.candidates.iter().filter(|c| c.acquirer_id != route.acquirer_id).count();
    if others == 0 {
        ui.label(&route.acquirer).on_hover_text(full_name);
        return;
    }
    let name = match lang {
        Lang::ZhCn => format!("{} {} 收单机构", row.store_code, row.wallet.label(lang)),
        Lang::En => format!("Acquirer for {} {}", row.store_code, row.wallet.label(lang)),
    };
    egui::ComboBox::from_id_salt(("route", row.store_id.0, row.wallet.as_str()))
        .selected_text(&route.acquirer)
        .width(120.0)
        .show_ui(ui, |ui| {
            for c in &row.candidates {
                let text = format!(
                    "{} · {}{}",
                    c.code,
                    lang.pick("商户号 ", "merchant "),
                    c.merchant_id.as_deref().unwrap_or("—")
                );
                if ui
                    .selectable_label(c.acquirer_id == route.acquirer_id, text)
                    .on_hover_text(code_name(&c.code, known, lang))
                    .clicked()
                    && c.acquirer_id != route.acquirer_id
                {
                    *change = Some(Change::Choose {
                        store_id: row.store_id,
                        store_code: row.store_code.clone(),
                        wallet: row.wallet,
                        to: c.clone(),
                    });
                }
            }
        })
        .response
        .accessible_name(name)
        .on_hover_text(full_name);
}

/// "Stop taking": asks once more before the store refuses the wallet's codes.
fn stop_cell(
    ui: &mut egui::Ui,
    lang: Lang,
    row: &Row,
    confirm_stop: &mut Option<(StoreId, Wallet)>,
    change: &mut Option<Change>,
) {
    let key = (row.store_id, row.wallet);
    ui.horizontal(|ui| {
        if *confirm_stop == Some(key) {
            let confirm = match lang {
                Lang::ZhCn => format!("确认 {} 停收{}", row.store_code, row.wallet.label(lang)),
                Lang::En => format!("Confirm: {} stops taking {}", row.store_code, row.wallet.label(lang)),
            };
            if ui.button(egui::RichText::new(confirm).color(ui.visuals().error_fg_color)).clicked() {
                *change = Some(Change::Stop {
                    store_id: row.store_id,
                    store_code: row.store_code.clone(),
                    wallet: row.wallet,
                });
            }
            if ui.button(lang.pick("取消", "Cancel")).clicked() {
                *confirm_stop = None;
            }
        } else {
            let text = match lang {
                Lang::ZhCn => format!("{} 停收{}", row.store_code, row.wallet.label(lang)),
                Lang::En => format!("{}: stop taking {}", row.store_code, row.wallet.label(lang)),
            };
            if ui.small_button(text).clicked() {
                *confirm_stop = Some(key);
            }
        }
    });
}
