//! Receipts from the orders screen and the counter: reprints (F9), the slip after a refund, the receipt after a
//! sale, printed or saved off the UI thread ([`ReceiptPrinter`]).

use super::*;

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
