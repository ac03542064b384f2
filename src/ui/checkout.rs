//! 收银 Checkout: scan and charge.

use crate::ui::Ctx;

#[derive(Debug, Default)]
pub struct CheckoutScreen {}

impl CheckoutScreen {
    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        super::coming_soon(ui, ctx.lang);
    }
}
