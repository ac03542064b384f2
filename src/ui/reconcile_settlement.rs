//! The 对账 screen's settlement card (结算核对): fetch the day's Alipay account bill (账务明细) and check that the
//! trade bill's net arrived in the balance. The work runs on the command queue ([`crate::queue`]) with its own
//! connection; the card polls for the result each frame.

use std::sync::Arc;

use crate::channel::Channel;
use crate::i18n::{Lang, Phrase, Text};
use crate::model::AcquirerId;
use crate::queue::{CoreSession, Ticket, poll_slot};
use crate::recon::settlement::{AccountImport, Issue, SettlementCheck, check};
use crate::recon::{self, ReconError};
use crate::store::operators::Permission;
use crate::ui::Ctx;

enum Done {
    Fetched(Box<AccountImport>, Box<SettlementCheck>),
    Checked(Box<SettlementCheck>),
}

/// The settlement card's state.
#[derive(Default)]
pub struct SettlementCard {
    job: Option<Ticket<Result<Done, Text>>>,
    check: Option<SettlementCheck>,
    /// (is an error, text)
    status: Option<(bool, Text)>,
}

impl std::fmt::Debug for SettlementCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SettlementCard").field("check", &self.check.is_some()).finish_non_exhaustive()
    }
}

/// A settlement error in both languages (the core gives kinds and values; see `ui::words_recon`).
fn words(e: &ReconError) -> Text {
    let one = |lang: Lang| match e {
        ReconError::NoBill { date, .. } => lang
            .pick(
                &format!("还没有 {date} 的支付宝业务账单：请先导入或下载。"),
                &format!("There is no Alipay trade bill for {date}: import or fetch it first."),
            )
            .to_owned(),
        ReconError::NoBillAtAcquirer { date, .. } => lang
            .pick(&format!("支付宝没有 {date} 的账务明细。"), &format!("Alipay has no account bill for {date}."))
            .to_owned(),
        ReconError::Settlement(recon::settlement::SettlementError::NoAccountBill { date }) => lang
            .pick(
                &format!("还没有 {date} 的支付宝账务明细：请先下载账务明细。"),
                &format!("There is no Alipay account bill for {date}: fetch it first."),
            )
            .to_owned(),
        other => other.phrase(lang),
    };
    Text::new(one(Lang::ZhCn), one(Lang::En))
}

impl SettlementCard {
    /// The card, for the day `date` (None: not a valid date); `channel` gives the Alipay account and its client
    /// (None: not set up), asked only when the account bill is to be fetched.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        ctx: &Ctx,
        date: Option<time::Date>,
        channel: &dyn Fn() -> Option<(AcquirerId, Arc<dyn Channel>)>,
    ) {
        let lang = ctx.lang;
        self.poll();
        egui::Frame::group(ui.style()).inner_margin(egui::Margin::symmetric(10, 6)).show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.strong(lang.pick("结算核对（支付宝账务明细）", "Settlement (Alipay account bill)"));
                let busy = self.job.is_some();
                let fetch = ui.add_enabled(
                    !busy && date.is_some(),
                    egui::Button::new(lang.pick("下载账务明细", "Fetch account bill")),
                );
                if fetch.clicked()
                    && let Some(date) = date
                {
                    self.start_fetch(ctx, date, channel());
                }
                let run = ui
                    .add_enabled(!busy && date.is_some(), egui::Button::new(lang.pick("核对结算", "Check settlement")));
                if run.clicked()
                    && let Some(date) = date
                {
                    self.start_check(ctx, date);
                }
                if busy {
                    ui.spinner();
                }
            });
            if let Some((is_error, text)) = &self.status {
                let color = if *is_error { ui.visuals().error_fg_color } else { ui.visuals().text_color() };
                ui.add(egui::Label::new(egui::RichText::new(text.get(lang)).color(color)).wrap());
            }
            if let Some(c) = &self.check {
                check_ui(ui, c, lang);
            }
        });
    }

    fn poll(&mut self) {
        let Some(answer) = poll_slot(&mut self.job) else { return };
        match answer {
            Ok(Ok(Done::Fetched(imported, c))) => {
                self.status = Some((false, Text::new(imported.message(Lang::ZhCn), imported.message(Lang::En))));
                self.check = Some(*c);
            }
            Ok(Ok(Done::Checked(c))) => {
                self.status = None;
                self.check = Some(*c);
            }
            Ok(Err(message)) => {
                self.status = Some((true, message));
                self.check = None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "the settlement check");
                self.status = Some((true, e.text()));
            }
        }
    }

    /// Runs `work` on the command queue for a clerk who may reconcile.
    fn spawn(&mut self, ctx: &Ctx, work: impl FnOnce(&mut CoreSession) -> Result<Done, Text> + Send + 'static) {
        if let Err(refused) = ctx.permit_text(Permission::Reconcile) {
            self.status = Some((true, refused));
            return;
        }
        self.status = None;
        self.job = Some(ctx.queue.submit(work));
    }

    fn start_check(&mut self, ctx: &Ctx, date: time::Date) {
        self.spawn(ctx, move |s| {
            let account = alipay_account(s)?;
            check(&s.store, account, date).map(|c| Done::Checked(Box::new(c))).map_err(|e| words(&e))
        });
    }

    fn start_fetch(&mut self, ctx: &Ctx, date: time::Date, channel: Option<(AcquirerId, Arc<dyn Channel>)>) {
        let (Some((account, channel)), Some(runtime)) = (channel, ctx.runtime.clone()) else {
            self.status = Some((
                true,
                Text::new(
                    "支付宝接口尚未配置，无法下载账务明细。",
                    "The Alipay client is not set up, so the account bill cannot be fetched.",
                ),
            ));
            return;
        };
        let data_dir = ctx.home.dir.clone();
        self.spawn(ctx, move |s| {
            let store = &mut s.store;
            // The download is network work: the command's blocking thread waits for it on the app's runtime.
            let bill =
                runtime.block_on(recon::settlement::fetch_account(channel.as_ref(), date)).map_err(|e| words(&e))?;
            let imported = recon::settlement::save_and_import_account(store, &data_dir, account, date, &bill)
                .map_err(|e| words(&e))?;
            let c = check(store, account, date).map_err(|e| words(&e))?;
            Ok(Done::Fetched(Box::new(imported), Box::new(c)))
        });
    }
}

/// The Alipay account whose settlement is checked (read on the queue).
fn alipay_account(s: &CoreSession) -> Result<AcquirerId, Text> {
    let all = s.store.setup().acquirers().map_err(|e| crate::ui::words_backoffice::store_error(&e))?;
    all.into_iter()
        .find(|a| a.kind == crate::model::AcquirerKind::Alipay)
        .map(|a| a.id)
        .ok_or_else(|| Text::new("没有支付宝收单账户", "There is no Alipay account"))
}

fn check_ui(ui: &mut egui::Ui, c: &SettlementCheck, lang: Lang) {
    ui.label(format!(
        "{} {} · {} {} · {} {} · {} {}",
        lang.pick("业务账单净额", "Trade bill net"),
        c.trade_net,
        lang.pick("已到账", "arrived"),
        c.arrived,
        lang.pick("相符", "matching rows"),
        c.matched,
        lang.pick("其他资金变动", "other movements"),
        c.other_amount
    ));
    if c.ok() {
        ui.label(lang.pick("当日净额已全部到账。", "The day's net arrived in full."));
        return;
    }
    ui.colored_label(ui.visuals().warn_fg_color, lang.pick("结算有差异：", "Settlement differences:"));
    let amount = |a: Option<crate::money::Amount>| a.map(|a| a.to_string()).unwrap_or_else(|| "—".into());
    egui::Grid::new("settlement_items").striped(true).show(ui, |ui| {
        for h in [
            lang.pick("问题", "Issue"),
            lang.pick("类型", "Movement"),
            lang.pick("商户订单号", "out_trade_no"),
            lang.pick("应到", "Expected"),
            lang.pick("实到", "Found"),
        ] {
            ui.strong(h);
        }
        ui.end_row();
        for i in &c.items {
            let issue = match (i.issue, &i.found_out_trade_no) {
                (Issue::Different, Some(other)) => match lang {
                    Lang::ZhCn => format!("账务明细订单号不同（{other}）"),
                    Lang::En => format!("different out_trade_no ({other})"),
                },
                (issue, _) => issue.name(lang).to_owned(),
            };
            ui.label(issue);
            ui.label(i.movement.name(lang));
            ui.label(i.out_trade_no.as_str());
            ui.label(amount(i.expected));
            ui.label(amount(i.found));
            ui.end_row();
        }
    });
}
